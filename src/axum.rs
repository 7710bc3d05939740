//! axum 0.8 extractors for the claims the [`BearerAuthLayer`](crate::BearerAuthLayer)
//! inserted (feature `axum`).
//!
//! - [`Auth<T>`]: the claims, or the layer's own `401` if there are none.
//! - `Option<Auth<T>>`: the claims if the request had a token; `None` for an anonymous
//!   request passed on by an [`optional`](crate::BearerAuthLayer::optional) layer. An
//!   invalid token never gets this far: the layer refuses it.
//! - Scopes per route: a [`GuardLayer`](crate::GuardLayer) with
//!   [`RequireScopes`](crate::RequireScopes) and `route_layer`, or [`check_scopes`](crate::check_scopes) in the handler.
//!
//! Rejections answer exactly as the layer does: same status, `WWW-Authenticate`
//! challenge (with the layer's realm and [`OnRejection`](crate::OnRejection) when the
//! layer is optional), JSON body, gRPC shape for gRPC calls.
//!
//! ```
//! use axum::{routing::get, Router};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_bearer::axum::Auth;
//! use tower_bearer::{BearerAuthLayer, Claims, GuardLayer, JwtValidator, RequireScopes};
//!
//! async fn me(Auth(claims): Auth<Claims>) -> String {
//!     claims.sub.unwrap_or_default()
//! }
//!
//! async fn home(user: Option<Auth<Claims>>) -> &'static str {
//!     if user.is_some() { "welcome back" } else { "hello, stranger" }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")?;
//! let app = Router::new()
//!     .route("/me", get(me))
//!     .route("/items", get(me).route_layer(GuardLayer::new(RequireScopes::<Claims>::new(["items"]))))
//!     .route("/", get(home))
//!     .layer(BearerAuthLayer::new(validator).with_realm("api")?.optional());
//!
//! let response = app.clone().oneshot(Request::get("/").body(axum::body::Body::empty())?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let response = app.oneshot(Request::get("/me").body(axum::body::Body::empty())?).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="api""#);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::ops::{Deref, DerefMut};

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use http::StatusCode;

use crate::bearer::Anonymous;
use crate::claims::Claims;
use crate::error::AuthError;

/// Extracts the claims of type `T` that the bearer layer inserted.
///
/// Without claims (no layer in front, or an optional layer and no token) it refuses
/// the request with [`AuthRejection`], which answers as the layer would.
///
/// Works beside `State`, in `from_fn` middleware, and as `Option<Auth<T>>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth<T = Claims>(pub T);

impl<T> Deref for Auth<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Auth<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<S, T> FromRequestParts<S> for Auth<T>
where
    S: Send + Sync,
    T: Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<T>() {
            Some(claims) => Ok(Self(claims.clone())),
            None => Err(AuthRejection::new(AuthError::MissingToken, parts)),
        }
    }
}

impl<S, T> OptionalFromRequestParts<S> for Auth<T>
where
    S: Send + Sync,
    T: Clone + Send + Sync + 'static,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<T>().cloned().map(Self))
    }
}

/// A refused extraction: the response the bearer layer gives for the same error.
///
/// Build one in your own extractors with [`AuthRejection::new`] to refuse a request
/// the way the layer does (for example, a token whose subject is no known user).
pub struct AuthRejection {
    error: AuthError,
    response: http::Response<Bytes>,
}

impl AuthRejection {
    /// The layer's answer to `error` for this request: with the optional layer's realm
    /// and rejection handler if it left its mark, else the default answer.
    #[must_use]
    pub fn new(error: AuthError, parts: &Parts) -> Self {
        let response = match parts.extensions.get::<Anonymous>() {
            Some(anonymous) => anonymous.reject(error.clone(), &parts.headers),
            None => Anonymous::reject_without_layer(error.clone(), &parts.headers),
        };
        Self { error, response }
    }

    /// Why the request was refused.
    #[must_use]
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// The status of the response.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("error", &self.error)
            .field("status", &self.response.status())
            .finish()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.response.map(Body::from)
    }
}
