//! [`BearerAuthLayer`]: bearer-token authentication (RFC 6750) for any Tower service.
//!
//! The layer reads the token ([`TokenSources`]), validates it with
//! a [`TokenValidator`](crate::TokenValidator), inserts the claims into the request
//! extensions and calls the inner service. Otherwise it answers itself, without calling
//! the inner service: `401` with `WWW-Authenticate: Bearer ...`, `400` for malformed
//! requests, gRPC-shaped for gRPC calls.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")?;
//! let service = ServiceBuilder::new()
//!     .layer(BearerAuthLayer::new(validator).with_realm("example")?)
//!     .service(service_fn(|req: Request<Full<Bytes>>| async move {
//!         let claims = req.extensions().get::<Claims>().expect("set by the layer");
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
//!             claims.sub.clone().unwrap_or_default(),
//!         ))))
//!     }));
//!
//! // No token: 401 with the challenge, and the inner service never runs.
//! let response = service.oneshot(Request::new(Full::default())).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="example""#);
//! # Ok(())
//! # }
//! ```

mod anonymous;
pub(crate) mod body;
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub(crate) mod challenge;
pub mod csrf;
mod dpop;
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub(crate) mod extract;
pub mod form_token;
pub(crate) mod future;
mod layer;
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub(crate) mod rejection;
mod service;

pub use anonymous::Anonymous;
pub use body::AuthBody;
pub use challenge::Challenge;
pub use csrf::CsrfGuard;
pub use extract::{TokenSources, DEFAULT_MAX_CREDENTIALS_LEN};
pub use form_token::{FormToken, FormTokenLayer, DEFAULT_FORM_LIMIT};
pub use future::ResponseFuture;
pub use layer::BearerAuthLayer;
pub use rejection::{DefaultRejection, OnRejection, Rejection};
pub use service::BearerAuth;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Response};

use crate::error::AuthError;

/// What the layer and every service it makes share.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub(crate) sources: TokenSources,
    pub(crate) challenge: Challenge,
    pub(crate) optional: bool,
    /// Set by [`BearerAuthLayer::with_dpop`]: the `DPoP` scheme is accepted.
    pub(crate) dpop: Option<crate::dpop::Dpop>,
}

pub(crate) type SharedSettings = Arc<Settings>;

/// Builds the rejection response.
#[cold]
pub(crate) fn reject<R: OnRejection>(
    on_rejection: &R,
    error: AuthError,
    request_headers: &HeaderMap,
    challenge: &Challenge,
) -> Response<Bytes> {
    #[cfg(feature = "tracing")]
    tracing::debug!(reason = %error, "bearer request refused");
    #[cfg(feature = "metrics")]
    crate::metrics::refused(&error);
    on_rejection.on_rejection(Rejection::new(&error, request_headers, challenge))
}
