use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use tower_service::Service;

use super::{reject, ResponseFuture, SharedSettings};
use crate::body::AuthBody;
use crate::error::AuthError;
use crate::rejection::OnRejection;
use crate::validate::{TokenValidator, Validation};

/// Middleware that authenticates requests with a bearer token. Built by
/// [`BearerAuthLayer`](super::BearerAuthLayer).
#[derive(Debug)]
pub struct BearerAuth<S, V, R> {
    inner: S,
    validator: V,
    settings: SharedSettings,
    on_rejection: R,
}

impl<S: Clone, V: Clone, R: Clone> Clone for BearerAuth<S, V, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            validator: self.validator.clone(),
            settings: SharedSettings::clone(&self.settings),
            on_rejection: self.on_rejection.clone(),
        }
    }
}

impl<S, V, R> BearerAuth<S, V, R> {
    pub(crate) fn from_parts(
        inner: S,
        validator: V,
        settings: SharedSettings,
        on_rejection: R,
    ) -> Self {
        Self {
            inner,
            validator,
            settings,
            on_rejection,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the middleware, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, V, R, B, ResBody> Service<Request<B>> for BearerAuth<S, V, R>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone,
    V: TokenValidator,
    R: OnRejection,
    ResBody: http_body::Body<Data = Bytes>,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, B, V, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let settings = &*self.settings;
        let validation = match settings.sources.extract(request.headers(), request.uri()) {
            Ok(Some(token)) => self.validator.validate(&token),
            Ok(None) if settings.optional => {
                return ResponseFuture::inner(self.inner.call(request))
            }
            Ok(None) => Validation::Ready(Err(AuthError::MissingToken)),
            Err(error) => Validation::Ready(Err(error)),
        };
        match validation {
            Validation::Ready(Ok(claims)) => {
                request.extensions_mut().insert(claims);
                ResponseFuture::inner(self.inner.call(request))
            }
            Validation::Ready(Err(error)) => ResponseFuture::rejected(reject(
                &self.on_rejection,
                error,
                request.headers(),
                &settings.challenge,
            )),
            Validation::Pending(future) => {
                // Take the service that was polled ready; leave a fresh clone behind.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::validating(
                    future,
                    ready,
                    request,
                    self.on_rejection.clone(),
                    SharedSettings::clone(&self.settings),
                )
            }
        }
    }
}
