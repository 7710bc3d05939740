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
//!
//! # Argon2 in debug builds
//!
//! Unoptimized, one Argon2id verification at OWASP's parameters takes most of a
//! second, and hashing your users at start-up several seconds. Optimize the hashing
//! crates even in the dev profile of *your* `Cargo.toml` (release builds need nothing):
//!
//! ```toml
//! [profile.dev.package.argon2]
//! opt-level = 3
//!
//! [profile.dev.package.blake2]
//! opt-level = 3
//! ```
//!
//! [`TokenEndpointBuilder::build`] also makes the dummy hash that unknown usernames are
//! checked against (one hash, [`PasswordHasher::warm_up`]), so the first login after
//! start-up takes as long for an unknown user as for a wrong password.
//!
//! # Mounting
//!
//! [`TokenEndpoint`] and [`RevocationEndpoint`] are plain Tower services (`Error =
//! Infallible`); route `POST /token` (and `/revoke`) to them **outside** the
//! [`BearerAuthLayer`](crate::BearerAuthLayer): a client asking for a token has none
//! yet. In axum, `Router::layer` wraps only the routes added before it:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//! use tower_bearer::store::MemoryStore;
//! use tower_bearer::token_endpoint::{
//!     hash_password, InMemoryUserStore, RevocationEndpoint, TokenEndpoint, TokenIssuer, User,
//! };
//! use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! const SECRET: &[u8] = b"change-me-to-32-or-more-random-bytes";
//! let users = InMemoryUserStore::new()
//!     .with_user(User::new("alice", hash_password("wonderland")?).with_scopes(["me"]));
//! // One store for refresh-token sessions and revoked access tokens.
//! let store = Arc::new(MemoryStore::new());
//! let token = TokenEndpoint::builder(TokenIssuer::hs256(SECRET)?, users)
//!     .allow_password_grant()
//!     .with_refresh_tokens(store.clone(), Duration::from_secs(14 * 24 * 3600))
//!     .build()?;
//! let validator = JwtValidator::<Claims>::hs256(SECRET)?;
//! let revoke = RevocationEndpoint::new(validator.clone(), store.clone(), store);
//!
//! let app = Router::new()
//!     .route("/users/me", get(|| async { "me" }))
//!     .layer(BearerAuthLayer::new(validator)) // the routes above only
//!     .route_service("/token", token)
//!     .route_service("/revoke", revoke);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! With hyper (or any Tower stack), pick the route before the bearer layer:
//!
//! ```no_run
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
//! use hyper::body::Incoming;
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use hyper_util::service::TowerToHyperService;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::token_endpoint::{hash_password, InMemoryUserStore, TokenEndpoint, TokenIssuer, User};
//! use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};
//!
//! type Body = UnsyncBoxBody<Bytes, Infallible>;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! const SECRET: &[u8] = b"change-me-to-32-or-more-random-bytes";
//! let users = InMemoryUserStore::new().with_user(User::new("alice", hash_password("wonderland")?));
//! let token = TokenEndpoint::builder(TokenIssuer::hs256(SECRET)?, users)
//!     .allow_password_grant()
//!     .build()?;
//! let api = ServiceBuilder::new()
//!     .layer(BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET)?))
//!     .service(service_fn(|request: Request<Incoming>| async move {
//!         let sub = request.extensions().get::<Claims>().and_then(|c| c.sub.clone());
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(sub.unwrap_or_default()))))
//!     }));
//! let app = service_fn(move |request: Request<Incoming>| {
//!     let (token, api) = (token.clone(), api.clone());
//!     async move {
//!         let response: Response<Body> = match request.uri().path() {
//!             "/token" => token.oneshot(request).await?.map(BodyExt::boxed_unsync),
//!             _ => api.oneshot(request).await?.map(BodyExt::boxed_unsync),
//!         };
//!         Ok::<_, Infallible>(response)
//!     }
//! });
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     let service = TowerToHyperService::new(app.clone());
//!     tokio::spawn(async move {
//!         let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
//!         let _ = builder.serve_connection(TokioIo::new(stream), service).await;
//!     });
//! }
//! # }
//! ```
//!
//! The same with `tower::steer::Steer` (tower feature `steer`): box both services to
//! one type, naming the request type for the endpoint, which takes any body
//! (`ServiceExt::<Request<Incoming>>::map_response(token, |r| r.map(BodyExt::boxed_unsync)).boxed_clone()`),
//! then `Steer::new([token, api], |request: &Request<Incoming>, _: &[_]| usize::from(request.uri().path() != "/token"))`.

#[macro_use]
mod post_only;
mod admission;
mod error;
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub(crate) mod form;
mod introspection;
mod issuer;
mod password;
mod pool;
mod revocation_endpoint;
mod service;
mod users;

pub use error::TokenError;
pub use introspection::IntrospectionEndpoint;
pub use issuer::{IssuedToken, TokenIssuer, DEFAULT_TTL};
pub use password::{
    hash_password, PasswordHasher, DEFAULT_MAX_PASSWORD_LEN, DEFAULT_MAX_WAIT,
    DEFAULT_WAITING_PER_SLOT, OWASP_ITERATIONS, OWASP_MEMORY_KIB, OWASP_PARALLELISM,
};
pub use post_only::ResponseFuture;
pub use revocation_endpoint::RevocationEndpoint;
pub use service::{TokenEndpoint, TokenEndpointBuilder, DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY};
pub use users::{InMemoryUserStore, User, UserStore};
