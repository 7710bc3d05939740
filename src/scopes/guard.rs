//! [`GuardLayer`]: the one middleware for every authorization check that runs behind
//! a [`BearerAuthLayer`].
//!
//! A guard reads what the bearer layer put into the request (the claims), runs a
//! [`Check`] and either calls the inner service or answers itself with the bearer
//! layer's kind of refusal: the same challenge (`realm`, `resource_metadata`) and the
//! same [`OnRejection`] handler once built with [`like`](GuardLayer::like) (or
//! [`BearerAuthLayer::require_scopes`](crate::BearerAuthLayer::require_scopes)).
//!
//! The checks that ship:
//!
//! | check | refuses with |
//! |---|---|
//! | [`RequireScopes`](crate::RequireScopes): fixed scopes, all or any of them | `403 insufficient_scope` |
//! | [`Policy`](crate::Policy): scopes and rules on other claims | `403 insufficient_scope` / `403 forbidden` |
//! | [`PathScopes`](crate::PathScopes): per path or gRPC method | as above; `400` for a non-canonical path |
//! | [`Policy::acr`](crate::Policy::acr), [`Policy::max_age`](crate::Policy::max_age): RFC 9470 `acr` / `auth_time` | `401 insufficient_user_authentication` |
//! | `UserLookup` (feature `token-endpoint`): the token's user, from a `UserStore` | `401 invalid_token`, `503` |
//!
//! A request without claims (no bearer layer in front, or an
//! [`optional`](crate::BearerAuthLayer::optional) one and no token) is `401`: with the
//! optional bearer layer's own answer when it passed the request on.
//!
//! Your own check implements [`Check`]:
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::scopes::{Check, GuardLayer};
//! use tower_bearer::{AuthError, Claims};
//!
//! /// Only the subject `admin`.
//! struct AdminOnly;
//!
//! impl Check for AdminOnly {
//!     fn check_request<B>(&self, request: &Request<B>) -> Result<(), AuthError> {
//!         let claims = request.extensions().get::<Claims>().ok_or(AuthError::MissingToken)?;
//!         match claims.sub.as_deref() {
//!             Some("admin") => Ok(()),
//!             _ => Err(AuthError::Forbidden),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = ServiceBuilder::new()
//!     .layer(GuardLayer::new(AdminOnly))
//!     .service(service_fn(|_req: Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(()))
//!     }));
//! let claims: Claims = serde_json::from_value(serde_json::json!({ "exp": 0, "sub": "bob" }))?;
//! let mut request = Request::new(());
//! request.extensions_mut().insert(claims);
//! assert_eq!(service.oneshot(request).await?.status(), StatusCode::FORBIDDEN);
//! # Ok(())
//! # }
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, Pending};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::bearer::body::AuthBody;
use crate::bearer::challenge::Challenge;
use crate::bearer::future::{GuardWaiting, Refusal, ResponseFuture};
use crate::bearer::rejection::{DefaultRejection, OnRejection};
use crate::bearer::{reject, Anonymous, BearerAuthLayer};
use crate::error::{AuthError, ConfigError};

/// An authorization check that decides at once, run by a [`Guard`] on every request.
pub trait Check {
    /// Allows `request` (`Ok`) or refuses it.
    ///
    /// # Errors
    ///
    /// The refusal, answered as the bearer layer answers that [`AuthError`];
    /// [`AuthError::MissingToken`] when the request carries no claims.
    fn check_request<B>(&self, request: &Request<B>) -> Result<(), AuthError>;
}

/// The claims of type `C` the bearer layer inserted, or [`AuthError::MissingToken`].
pub(crate) fn claims<C: Send + Sync + 'static, B>(request: &Request<B>) -> Result<&C, AuthError> {
    request
        .extensions()
        .get::<C>()
        .ok_or(AuthError::MissingToken)
}

/// How a [`Guard`] runs its check over inner service `S`: implemented for every
/// [`Check`], and by checks that may have to wait (the current user's store lookup).
/// Implement [`Check`] for your own checks.
pub trait RunCheck<S, B>
where
    S: Service<Request<B>>,
{
    /// What a check that waits carries from [`decide`](Self::decide) to
    /// [`wait`](Self::wait); [`Infallible`] for checks that never wait.
    type Wait;

    /// A waiting check's future: the inner service's response, or a refusal with the
    /// request's headers.
    type Future: Future<Output = Result<Result<S::Response, (AuthError, HeaderMap)>, S::Error>>;

    /// Allows `request` (`Ok(None)`), refuses it, or asks to wait (`Ok(Some(_))`).
    ///
    /// # Errors
    ///
    /// The refusal.
    fn decide(&self, request: &mut Request<B>) -> Result<Option<Self::Wait>, AuthError>;

    /// Waits, then calls the service `inner` has polled ready with `request` (or
    /// refuses).
    fn wait(this: &Arc<Self>, wait: Self::Wait, inner: &mut S, request: Request<B>)
        -> Self::Future;
}

impl<G, S, B> RunCheck<S, B> for G
where
    G: Check,
    S: Service<Request<B>>,
{
    type Wait = Infallible;
    type Future = Pending<Result<Result<S::Response, (AuthError, HeaderMap)>, S::Error>>;

    #[inline]
    fn decide(&self, request: &mut Request<B>) -> Result<Option<Infallible>, AuthError> {
        self.check_request(request).map(|()| None)
    }

    fn wait(_: &Arc<Self>, wait: Infallible, _: &mut S, _: Request<B>) -> Self::Future {
        match wait {}
    }
}

/// Applies [`Guard`]: runs the check `G` on every request and refuses with `R`.
#[must_use]
pub struct GuardLayer<G, R = DefaultRejection> {
    check: Arc<G>,
    challenge: Arc<Challenge>,
    on_rejection: R,
}

impl<G, R: Clone> Clone for GuardLayer<G, R> {
    fn clone(&self) -> Self {
        Self {
            check: Arc::clone(&self.check),
            challenge: Arc::clone(&self.challenge),
            on_rejection: self.on_rejection.clone(),
        }
    }
}

impl<G: fmt::Debug, R: fmt::Debug> fmt::Debug for GuardLayer<G, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardLayer")
            .field("check", &self.check)
            .field("challenge", &self.challenge)
            .field("on_rejection", &self.on_rejection)
            .finish()
    }
}

impl<G> GuardLayer<G> {
    /// Runs `check` on every request; refusals get the default answer without a realm
    /// (see [`like`](Self::like)).
    pub fn new(check: G) -> Self {
        Self {
            check: Arc::new(check),
            challenge: Arc::new(Challenge::default()),
            on_rejection: DefaultRejection::new(),
        }
    }
}

impl<G, R> GuardLayer<G, R> {
    /// Refuses as `bearer` does: its challenge (realm, `resource_metadata`) and its
    /// rejection handler.
    pub fn like<V, R2: OnRejection>(self, bearer: &BearerAuthLayer<V, R2>) -> GuardLayer<G, R2> {
        self.with_challenge(bearer.challenge().clone())
            .on_rejection(bearer.rejection().clone())
    }

    /// Sets the challenge's `realm` (use the bearer layer's, or [`like`](Self::like)).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRealm`].
    pub fn with_realm(mut self, realm: &str) -> Result<Self, ConfigError> {
        self.challenge = Arc::new(Challenge::with_realm(realm)?);
        Ok(self)
    }

    /// Sets the challenge (realm, `resource_metadata`): use the bearer layer's.
    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Arc::new(challenge);
        self
    }

    /// Replaces the rejection response.
    pub fn on_rejection<R2: OnRejection>(self, on_rejection: R2) -> GuardLayer<G, R2> {
        GuardLayer {
            check: self.check,
            challenge: self.challenge,
            on_rejection,
        }
    }

    /// The check.
    pub fn check(&self) -> &G {
        &self.check
    }
}

impl<G, R: OnRejection> GuardLayer<G, R> {
    /// The answer to `error` for `request`: an optional bearer layer's own when the
    /// request is anonymous.
    #[cold]
    fn refuse<B>(&self, error: AuthError, request: &Request<B>) -> Response<Bytes> {
        if let (AuthError::MissingToken, Some(anonymous)) =
            (&error, request.extensions().get::<Anonymous>())
        {
            return anonymous.reject(error, request.headers());
        }
        reject(
            &self.on_rejection,
            error,
            request.headers(),
            &self.challenge,
        )
    }
}

impl<S, G, R: Clone> Layer<S> for GuardLayer<G, R> {
    type Service = Guard<S, G, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            layer: self.clone(),
        }
    }
}

/// Middleware that runs a check and calls the inner service or refuses. Built by
/// [`GuardLayer`].
pub struct Guard<S, G, R = DefaultRejection> {
    inner: S,
    layer: GuardLayer<G, R>,
}

impl<S: Clone, G, R: Clone> Clone for Guard<S, G, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, G: fmt::Debug, R: fmt::Debug> fmt::Debug for Guard<S, G, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, G, R> Guard<S, G, R> {
    inner_service_accessors!();
}

impl<S, G, R, B, ResBody> Service<Request<B>> for Guard<S, G, R>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    G: RunCheck<S, B>,
    R: OnRejection,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, GuardWaiting<S::Future, G::Future, R>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        match self.layer.check.decide(&mut request) {
            Ok(None) => ResponseFuture::inner(self.inner.call(request)),
            Err(error) => ResponseFuture::rejected(self.layer.refuse(error, &request)),
            Ok(Some(wait)) => {
                let refusal = Refusal {
                    on_rejection: self.layer.on_rejection.clone(),
                    challenge: Arc::clone(&self.layer.challenge),
                };
                let future = G::wait(&self.layer.check, wait, &mut self.inner, request);
                ResponseFuture::waiting(GuardWaiting::new(future, refusal))
            }
        }
    }
}
