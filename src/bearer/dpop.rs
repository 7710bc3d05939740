//! The bearer layer with DPoP on ([`BearerAuthLayer::with_dpop`](super::BearerAuthLayer::with_dpop)):
//! the `DPoP` scheme with its proof, and the binding check on `Bearer` tokens.

use http::header::AUTHORIZATION;
use http::Request;
use tower_service::Service;

use super::future::{Checks, Validating, Waiting};
use super::{reject, BearerAuth, ResponseFuture, SharedSettings};
use crate::bearer::extract::{b64token, has_query_token, Syntax};
use crate::bearer::rejection::OnRejection;
use crate::dpop::{Dpop, DpopError};
use crate::error::{AuthError, InvalidRequest, InvalidToken};
use crate::validate::{TokenValidator, Validation};

/// `Authorization: DPoP <token68>` (RFC 9449 §7.1): the token, or `None` for another
/// scheme. The scheme is case-insensitive and followed by one or more spaces.
fn dpop_credentials(value: &[u8], max: usize) -> Result<Option<&str>, AuthError> {
    const SCHEME: &[u8] = b"dpop";
    if value.len() <= SCHEME.len()
        || !value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME)
        || value[SCHEME.len()] != b' '
    {
        return Ok(None);
    }
    let rest = &value[SCHEME.len() + 1..];
    if rest.len() > max {
        return Err(InvalidToken::TooLong.into());
    }
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let end = rest
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    let token = &rest[start..end.max(start)];
    if token.is_empty() {
        // The scheme without credentials: a DPoP request with nothing to check.
        return Err(InvalidToken::Malformed.into());
    }
    b64token(token).map(Some)
}

/// A token refused by the validator on a DPoP request answers with the DPoP challenge.
fn token_refusal(dpop: &Dpop, error: AuthError) -> AuthError {
    match error {
        AuthError::InvalidToken(reason) => dpop.refusal(DpopError::InvalidToken(reason)),
        other => other,
    }
}

/// The one `Authorization` header's `DPoP` token, if it has that scheme.
fn single_dpop_token<B>(request: &Request<B>, max: usize) -> Result<Option<&str>, AuthError> {
    let mut values = request.headers().get_all(AUTHORIZATION).iter();
    let first = values.next();
    if first.is_some() && values.next().is_some() {
        // Two Authorization headers: two schemes, or one twice.
        return Err(InvalidRequest::DuplicateAuthorizationHeader.into());
    }
    match first {
        Some(value) => dpop_credentials(value.as_bytes(), max),
        None => Ok(None),
    }
}

impl<S, V, R> BearerAuth<S, V, R> {
    /// [`call`](Service::call) when DPoP is on.
    #[cold]
    pub(super) fn call_dpop<B>(
        &mut self,
        mut request: Request<B>,
        dpop: Dpop,
    ) -> ResponseFuture<S::Future, Validating<S, B, V, R>>
    where
        S: Service<Request<B>> + Clone,
        V: TokenValidator,
        R: OnRejection,
    {
        let settings = SharedSettings::clone(&self.settings);
        let checks: Checks<V::Claims> =
            match single_dpop_token(&request, settings.sources.max_len()) {
                Err(error) => return self.refuse(&request, error, &settings),
                Ok(Some(token)) => match self.dpop_checks(&request, token, dpop, &settings) {
                    Ok(checks) => checks,
                    Err(error) => return self.refuse(&request, error, &settings),
                },
                Ok(None) => match self.bearer_checks(&request, dpop, &settings) {
                    None => {
                        if let Some(anonymous) = &self.anonymous {
                            request.extensions_mut().insert(anonymous.clone());
                        }
                        return ResponseFuture::inner(self.inner.call(request));
                    }
                    Some(Validation::Ready(Ok(claims))) => {
                        request.extensions_mut().insert(claims);
                        return ResponseFuture::inner(self.inner.call(request));
                    }
                    Some(Validation::Ready(Err(error))) => {
                        return self.refuse(&request, error, &settings)
                    }
                    Some(Validation::Pending(checks)) => checks,
                },
            };
        // Take the service that was polled ready; leave a fresh clone behind.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let waiting = Waiting::new(
            ready,
            request,
            self.on_rejection.clone(),
            settings,
            #[cfg(feature = "metrics")]
            std::time::Instant::now(),
        );
        ResponseFuture::waiting(Validating::checks(checks, waiting))
    }

    /// The rejection of `request` for `error`.
    fn refuse<B>(
        &self,
        request: &Request<B>,
        error: AuthError,
        settings: &SharedSettings,
    ) -> ResponseFuture<S::Future, Validating<S, B, V, R>>
    where
        S: Service<Request<B>>,
        V: TokenValidator,
        R: OnRejection,
    {
        ResponseFuture::rejected(reject(
            &self.on_rejection,
            error,
            request.headers(),
            &settings.challenge,
        ))
    }

    /// The `DPoP` scheme: no token elsewhere, a valid proof, then (possibly later) a
    /// valid token bound to the proof's key and a proof never seen before.
    fn dpop_checks<B>(
        &self,
        request: &Request<B>,
        token: &str,
        dpop: Dpop,
        settings: &SharedSettings,
    ) -> Result<Checks<V::Claims>, AuthError>
    where
        V: TokenValidator,
    {
        // One method per request (RFC 6750 §2): no token anywhere else.
        let elsewhere = settings
            .sources
            .extract_from(request, Syntax::Check)?
            .is_some();
        let unread_query = request.uri().query().is_some_and(has_query_token);
        if elsewhere || unread_query {
            return Err(InvalidRequest::MultipleTokenSources.into());
        }
        let proof = dpop
            .check(
                request.headers(),
                request.method(),
                request.uri().path(),
                Some(token),
            )
            .map_err(|error| dpop.refusal(error))?;
        let validation = self.validator.validate(token);
        let validator = self.validator.clone();
        let token = token.to_owned();
        Ok(Box::pin(async move {
            let claims = match validation {
                Validation::Ready(outcome) => outcome,
                Validation::Pending(future) => future.await,
            }
            .map_err(|error| token_refusal(&dpop, error))?;
            let bound = validator
                .dpop_jkt(&token, &claims)
                .is_some_and(|jkt| proof.binds(&jkt));
            if !bound {
                return Err(dpop.refusal(DpopError::KeyMismatch));
            }
            match proof.record().await {
                Ok(()) => Ok(claims),
                Err(Ok(error)) => Err(dpop.refusal(error)),
                Err(Err(_)) => Err(AuthError::Unavailable),
            }
        }))
    }

    /// The `Bearer` path, refusing tokens bound to a key; `None` when there is no token
    /// and the layer is optional (the request passes through).
    fn bearer_checks<B>(
        &self,
        request: &Request<B>,
        dpop: Dpop,
        settings: &SharedSettings,
    ) -> Option<Validation<V::Claims, Checks<V::Claims>>>
    where
        V: TokenValidator,
    {
        let token = match settings.sources.extract_from(request, Syntax::Check) {
            Ok(Some(token)) => token,
            Ok(None) if settings.optional => return None,
            Ok(None) => return Some(Validation::Ready(Err(AuthError::MissingToken))),
            Err(error) => return Some(Validation::Ready(Err(error))),
        };
        Some(match self.validator.validate(&token) {
            Validation::Ready(Ok(claims)) => {
                if self.validator.dpop_jkt(&token, &claims).is_some() {
                    Validation::Ready(Err(dpop.refusal(DpopError::BoundTokenAsBearer)))
                } else {
                    Validation::Ready(Ok(claims))
                }
            }
            Validation::Ready(Err(error)) => Validation::Ready(Err(error)),
            Validation::Pending(future) => {
                let validator = self.validator.clone();
                let token = token.into_owned();
                Validation::Pending(Box::pin(async move {
                    let claims = future.await?;
                    match validator.dpop_jkt(&token, &claims) {
                        Some(_) => Err(dpop.refusal(DpopError::BoundTokenAsBearer)),
                        None => Ok(claims),
                    }
                }) as Checks<V::Claims>)
            }
        })
    }
}
