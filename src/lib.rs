//! OAuth2 bearer-token authentication (RFC 6750) for any Tower stack.
//!
//! [`BearerAuthLayer`] wraps any `tower::Service<http::Request<B>>` (hyper, axum,
//! tonic): it reads the bearer token, validates it ([`JwtValidator`] or your own
//! [`TokenValidator`]), puts the claims into the request extensions, and otherwise
//! answers `401` with a `WWW-Authenticate: Bearer` challenge without calling the inner
//! service.
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{header, Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use jsonwebtoken::{encode, EncodingKey, Header};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::{BearerAuthLayer, Claims, JwtValidator, RequireScopesLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // With the `aws-lc` feature both jsonwebtoken backends are compiled in, and its
//! # // `encode` then needs a process default.
//! # let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
//! const SECRET: &[u8] = b"change-me-to-32-or-more-random-bytes";
//!
//! // The protected service reads the claims the layer inserted.
//! let hello = service_fn(|req: Request<Full<Bytes>>| async move {
//!     let claims = req.extensions().get::<Claims>().unwrap();
//!     let body = format!("hello {}", claims.sub.as_deref().unwrap_or("?"));
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
//! });
//! let app = ServiceBuilder::new()
//!     .layer(BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET)?))
//!     .layer(RequireScopesLayer::<Claims>::new(["greet"]))
//!     .service(hello);
//!
//! // A token as a token endpoint would issue it.
//! # // With both jsonwebtoken backends enabled (`--all-features`), signing needs a default.
//! # let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
//! let exp = jsonwebtoken::get_current_timestamp() + 600;
//! let claims = serde_json::json!({ "sub": "alice", "exp": exp, "scope": "greet" });
//! let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(SECRET))?;
//!
//! let request = Request::get("/")
//!     .header(header::AUTHORIZATION, format!("Bearer {token}"))
//!     .body(Full::default())?;
//! let response = app.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(response.into_body().collect().await?.to_bytes(), "hello alice");
//!
//! // Without a token: 401 and the challenge; the service never runs.
//! let response = app.oneshot(Request::new(Full::default())).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
//! # Ok(())
//! # }
//! ```
//!
//! # Answers
//!
//! | situation | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no bearer credentials | 401 | `Bearer realm="..."` (no `error`) |
//! | two `Authorization` headers, token in two places | 400 | `error="invalid_request"` |
//! | malformed, forged, expired ... token | 401 | `error="invalid_token"` |
//! | valid token without the needed scopes | 403 | `error="insufficient_scope", scope="..."` |
//! | with [`with_dpop`](BearerAuthLayer::with_dpop): bad DPoP proof, bound token as `Bearer` | 401 | `DPoP error="invalid_dpop_proof"` / `"invalid_token"`, `algs="..."` ([`dpop`]) |
//!
//! The body is always JSON `{"error": ..., "error_description": ...}`. gRPC calls
//! (`content-type: application/grpc*`) get the gRPC shape instead: HTTP 200 with
//! `grpc-status` 16 or 7. Replace either with [`BearerAuthLayer::on_rejection`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(
    missing_debug_implementations,
    unreachable_pub,
    clippy::missing_errors_doc
)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(not(any(feature = "rust-crypto", feature = "aws-lc")))]
compile_error!("tower-bearer needs a crypto backend: enable `rust-crypto` (default) or `aws-lc`");

#[cfg(feature = "axum")]
pub mod axum;
pub mod bearer;
pub mod body;
pub mod challenge;
pub mod claims;
pub mod dpop;
pub mod error;
pub mod form;
pub mod forward;
pub mod keys;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod path_scopes;
pub mod rejection;
pub mod scope;
pub mod store;
pub mod token;
#[cfg(feature = "token-endpoint")]
pub mod token_endpoint;
pub mod validate;

pub use bearer::{Anonymous, BearerAuth, BearerAuthLayer};
pub use body::AuthBody;
pub use claims::{Audience, Claims, HasJti, Scope, ScopeClaims};
pub use dpop::Dpop;
pub use error::{AuthError, ConfigError, InvalidRequest, InvalidToken, RequiredScopes};
pub use form::FormTokenLayer;
pub use forward::{ClaimsToHeaders, ClaimsToHeadersLayer};
pub use path_scopes::{PathScopes, PathScopesLayer};
pub use rejection::{DefaultRejection, OnRejection, Rejection, WithErrorExtension};
pub use scope::{check_scopes, RequireScopes, RequireScopesLayer};
pub use token::TokenSources;
#[cfg(feature = "cache")]
pub use validate::CachedValidator;
#[cfg(feature = "jwks")]
pub use validate::HttpFetcher;
pub use validate::{validate_fn, JwtValidator, RevocationCheck, TokenValidator, Validation};
#[cfg(feature = "jwks-core")]
pub use validate::{JwksFetcher, JwksValidator};

pub use jsonwebtoken;
