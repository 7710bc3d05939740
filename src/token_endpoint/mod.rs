//! The OAuth2 token endpoint: `POST /token` with the resource owner password grant
//! (RFC 6749 §4.3), the endpoint FastAPI users write by hand around
//! `OAuth2PasswordRequestForm`, as a Tower service.
//!
//! - [`TokenEndpoint`]: decodes the form (`application/x-www-form-urlencoded` or
//!   `multipart/form-data`, duplicates refused, empty values omitted, body bounded),
//!   authenticates the client when clients are registered, checks the password and
//!   answers RFC 6749 §5.1 (`200` JSON, `Cache-Control: no-store`) or §5.2
//!   ([`TokenError`]).
//! - [`UserStore`]: your database behind an async trait; [`InMemoryUserStore`] for
//!   examples and tests.
//! - [`PasswordHasher`] / [`hash_password`]: Argon2id with OWASP parameters, verified on
//!   the blocking pool under a concurrency bound, a dummy hash for unknown users.
//! - [`TokenIssuer`]: signs the JWTs that [`BearerAuthLayer`](crate::BearerAuthLayer)
//!   with a [`JwtValidator`](crate::JwtValidator) on the same key accepts.
//!
//! # Should you use the password grant?
//!
//! RFC 9700 (OAuth 2.0 Security Best Current Practice) says the password grant MUST NOT
//! be used, and OAuth 2.1 drops it: the client handles the user's password, and the
//! grant cannot do multi-factor, consent or federated login. Hence
//! [`allow_password_grant`](TokenEndpointBuilder::allow_password_grant) is an explicit
//! choice. It remains a sensible tool when the client *is* the application, a
//! first-party login form talking to its own API (the FastAPI tutorial setup), or while
//! migrating such an application towards an authorization server. For third-party
//! clients, or once you need MFA or single sign-on, run an authorization server with
//! the authorization code grant and PKCE, and keep only the
//! [`BearerAuthLayer`](crate::BearerAuthLayer) side of this crate.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use http::{header, Request, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use tower::ServiceExt;
//! use tower_bearer::token_endpoint::{
//!     hash_password, InMemoryUserStore, TokenEndpoint, TokenIssuer, User,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = InMemoryUserStore::new()
//!     .with_user(User::new("johndoe", hash_password("secret")?).with_scopes(["me"]));
//! let issuer = TokenIssuer::hs256(b"change-me-to-32-or-more-random-bytes")?;
//! let endpoint = TokenEndpoint::builder(issuer, store).allow_password_grant().build()?;
//!
//! let login = |form: &'static str| {
//!     Request::post("/token")
//!         .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
//!         .body(Full::new(Bytes::from_static(form.as_bytes())))
//! };
//!
//! let response = endpoint.clone().oneshot(login("grant_type=password&username=johndoe&password=secret")?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
//! let body: serde_json::Value = serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
//! assert_eq!(body["token_type"], "bearer");
//! assert_eq!(body["scope"], "me");
//!
//! let response = endpoint.oneshot(login("grant_type=password&username=johndoe&password=nope")?).await?;
//! assert_eq!(response.status(), StatusCode::BAD_REQUEST);
//! let body: serde_json::Value = serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
//! assert_eq!(body["error"], "invalid_grant");
//! # Ok(())
//! # }
//! ```

mod error;
mod form;
mod introspection;
mod issuer;
mod password;
mod pool;
mod revocation;
mod service;
mod users;

pub use error::{BadRequest, TokenError};
#[doc(hidden)]
pub use form::decode_form;
pub use introspection::IntrospectionEndpoint;
pub use issuer::{IssueError, IssuedToken, TokenIssuer, DEFAULT_TTL};
pub use password::{
    hash_password, HashError, PasswordHasher, DEFAULT_MAX_PASSWORD_LEN, OWASP_ITERATIONS,
    OWASP_MEMORY_KIB, OWASP_PARALLELISM,
};
pub use revocation::RevocationEndpoint;
pub use service::{
    ResponseFuture, TokenEndpoint, TokenEndpointBuilder, DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY,
};
pub use users::{InMemoryUserStore, User, UserStore, UserStoreError};
