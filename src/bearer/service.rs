use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use tower_service::Service;

use super::{reject, Anonymous, ResponseFuture, SharedSettings};
use crate::bearer::body::AuthBody;
use crate::bearer::extract::{b64token, Syntax};
use crate::bearer::future::{Validating, Waiting};
use crate::bearer::rejection::OnRejection;
use crate::error::{AuthError, InvalidToken};
use crate::validate::{TokenValidator, Validation};

/// Middleware that authenticates requests with a bearer token. Built by
/// [`BearerAuthLayer`](super::BearerAuthLayer).
#[derive(Debug)]
pub struct BearerAuth<S, V, R> {
    pub(super) inner: S,
    pub(super) validator: V,
    pub(super) settings: SharedSettings,
    pub(super) on_rejection: R,
    /// Set in optional mode: what an anonymous request carries.
    pub(super) anonymous: Option<Anonymous>,
}

impl<S: Clone, V: Clone, R: Clone> Clone for BearerAuth<S, V, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            validator: self.validator.clone(),
            settings: SharedSettings::clone(&self.settings),
            on_rejection: self.on_rejection.clone(),
            anonymous: self.anonymous.clone(),
        }
    }
}

impl<S, V, R: OnRejection> BearerAuth<S, V, R> {
    pub(crate) fn from_parts(
        inner: S,
        validator: V,
        settings: SharedSettings,
        on_rejection: R,
    ) -> Self {
        let anonymous = settings
            .optional
            .then(|| Anonymous::new(on_rejection.clone(), SharedSettings::clone(&settings)));
        Self {
            inner,
            validator,
            settings,
            on_rejection,
            anonymous,
        }
    }
}

impl<S, V, R> BearerAuth<S, V, R> {
    inner_service_accessors!();
}

impl<S, V: TokenValidator, R> BearerAuth<S, V, R> {
    /// The request's token validated; `None` when it carries none and the layer is
    /// optional (the request then passes on as anonymous).
    #[inline(always)]
    fn validate_request<B>(
        &self,
        request: &Request<B>,
        #[cfg(feature = "metrics")] started: std::time::Instant,
    ) -> Option<Validation<V::Claims, V::Future>> {
        let settings = &*self.settings;
        let syntax = if self
            .validator
            .accepts_only_b64token(crate::validate::sealed::Internal)
        {
            Syntax::Defer
        } else {
            Syntax::Check
        };
        Some(match settings.sources.extract_from(request, syntax) {
            Ok(Some(token)) => {
                let validation = match self.validator.validate(&token) {
                    accepted @ Validation::Ready(Ok(_)) => accepted,
                    // The answer checking first would have given.
                    _ if matches!(syntax, Syntax::Defer) && b64token(token.as_bytes()).is_err() => {
                        Validation::Ready(Err(InvalidToken::Malformed.into()))
                    }
                    other => other,
                };
                #[cfg(feature = "metrics")]
                if let Validation::Ready(_) = &validation {
                    crate::metrics::validated(started);
                }
                validation
            }
            Ok(None) if settings.optional => return None,
            Ok(None) => Validation::Ready(Err(AuthError::MissingToken)),
            Err(error) => Validation::Ready(Err(error)),
        })
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
    type Future = ResponseFuture<S::Future, Validating<S, B, V, R>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if let Some(dpop) = &self.settings.dpop {
            let dpop = dpop.clone();
            return self.call_dpop(request, dpop);
        }
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        let Some(validation) = self.validate_request(
            &request,
            #[cfg(feature = "metrics")]
            started,
        ) else {
            #[cfg(feature = "tracing")]
            tracing::debug!("no bearer credentials, passing on as anonymous");
            if let Some(anonymous) = &self.anonymous {
                request.extensions_mut().insert(anonymous.clone());
            }
            return ResponseFuture::inner(self.inner.call(request));
        };
        match validation {
            Validation::Ready(Ok(claims)) => {
                #[cfg(feature = "tracing")]
                tracing::trace!("bearer request accepted");
                #[cfg(feature = "metrics")]
                crate::metrics::accepted();
                request.extensions_mut().insert(claims);
                ResponseFuture::inner(self.inner.call(request))
            }
            Validation::Ready(Err(error)) => ResponseFuture::rejected(reject(
                &self.on_rejection,
                error,
                request.headers(),
                &self.settings.challenge,
            )),
            Validation::Pending(future) => {
                // Take the service that was polled ready; leave a fresh clone behind.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                let waiting = Waiting::new(
                    ready,
                    request,
                    self.on_rejection.clone(),
                    SharedSettings::clone(&self.settings),
                    #[cfg(feature = "metrics")]
                    started,
                );
                ResponseFuture::waiting(Validating::validation(future, waiting))
            }
        }
    }
}
