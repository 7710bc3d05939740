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
//! use tower_bearer::{BearerAuthLayer, Claims, GuardLayer, JwtValidator, RequireScopes};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // With the `aws-lc` feature both jsonwebtoken backends are compiled in, and its
//! # // `encode` then needs a process default.
//! # #[cfg(feature = "rust-crypto")]
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
//!     .layer(GuardLayer::new(RequireScopes::<Claims>::new(["greet"])))
//!     .service(hello);
//!
//! // A token as a token endpoint would issue it.
//! # // With both jsonwebtoken backends enabled (`--all-features`), signing needs a default.
//! # #[cfg(feature = "rust-crypto")]
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
//! | valid token refused by another [`Policy`] rule (role, tenant, ...) | 403 | `realm="..."` (no `error`; body `error`: `forbidden`) |
//! | login too weak or too old for the route ([`Policy::acr`], [`Policy::max_age`]) | 401 | `error="insufficient_user_authentication", acr_values="...", max_age="..."` |
//! | with [`with_dpop`](BearerAuthLayer::with_dpop): bad DPoP proof, bound token as `Bearer` | 401 | `DPoP error="invalid_dpop_proof"` / `"invalid_token"`, `algs="..."` ([`dpop`]) |
//!
//! The body is always JSON `{"error": ..., "error_description": ...}`. gRPC calls
//! (`content-type: application/grpc*`) get the gRPC shape instead: HTTP 200 with
//! `grpc-status` 16 or 7. Replace either with [`BearerAuthLayer::on_rejection`].
//!
//! # Module map
//!
//! | side | module | what it holds |
//! |---|---|---|
//! | resource server | [`bearer`] | the layer, its service and future, token extraction, form-body tokens, cookie CSRF guard, the refusal (challenge + body) |
//! | resource server | [`scopes`] | authorization on verified claims: one guard middleware ([`GuardLayer`]) and its checks: fixed and any-of scopes, claim policies, per-path / per-gRPC-method rules, RFC 9470 step-up |
//! | resource server | [`validate`] | [`TokenValidator`]; JWT verification, remote JWK sets and several issuers, RFC 7662 introspection, the verified-token cache, the revocation check |
//! | resource server | [`dpop`] | RFC 9449 proofs: checked by the bearer layer, bound into tokens by the token endpoint |
//! | authorization server | `token_endpoint`, `current_user` | grants, client authentication, password hashing and login bounds, the issuer, revocation and introspection endpoints; the current-user layer (feature `token-endpoint`) |
//! | both | [`claims`], [`error`], [`keys`], [`metadata`], [`store`] | claim types, error enums, JWK / PEM keys and their publication, RFC 8414 / RFC 9728 documents, shared state (memory, Redis) |
//! | integrations | `axum`, `openapi`, [`forward`], `testing` | axum extractors, OpenAPI + Swagger UI, claims forwarded as headers by a gateway, test tokens (`test-util`) |
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(
    missing_debug_implementations,
    unreachable_pub,
    clippy::missing_errors_doc
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "rust-crypto", feature = "aws-lc")))]
compile_error!("tower-bearer needs a crypto backend: enable `aws-lc` (default) or `rust-crypto`");

#[macro_use]
mod macros;
mod clock;
mod json_error;

#[cfg(feature = "axum")]
pub mod axum;
pub mod bearer;
pub mod claims;
#[cfg(feature = "token-endpoint")]
pub mod current_user;
pub mod dpop;
pub mod error;
pub mod forward;
pub mod keys;
pub mod metadata;
#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod scopes;
pub mod store;
#[cfg(feature = "test-util")]
pub mod testing;
#[cfg(feature = "token-endpoint")]
pub mod token_endpoint;
pub mod validate;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use bearer::{
    Anonymous, AuthBody, BearerAuth, BearerAuthLayer, CsrfGuard, DefaultRejection, FormTokenLayer,
    OnRejection, Rejection, TokenSources,
};
pub use claims::{Audience, Claims, HasJti, Scope, ScopeClaims, SubjectClaims};
pub use dpop::Dpop;
pub use error::{
    AuthError, ConfigError, InvalidRequest, InvalidToken, RequiredScopes, StepUpRequirement,
};
pub use forward::{ClaimsToHeaders, ClaimsToHeadersLayer};
pub use scopes::{
    check_any_scope, check_scopes, Check, ClaimValues, Guard, GuardLayer, PathScopes, Policy,
    RequireScopes,
};
pub use scopes::{check_step_up, AuthenticationClaims, StepUpClaims};
#[cfg(feature = "cache")]
pub use validate::CachedValidator;
#[cfg(feature = "jwks")]
pub use validate::HttpFetcher;
#[cfg(all(feature = "introspection", feature = "jwks"))]
pub use validate::HttpIntrospectionClient;
pub use validate::{validate_fn, JwtValidator, RevocationCheck, TokenValidator, Validation};
#[cfg(feature = "introspection")]
pub use validate::{IntrospectionClient, IntrospectionValidator};
#[cfg(feature = "jwks-core")]
pub use validate::{JwksFetcher, JwksValidator, MultiIssuerValidator};

pub use jsonwebtoken;
