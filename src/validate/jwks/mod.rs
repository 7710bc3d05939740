//! [`JwksValidator`]: tokens checked against a remote JWK set that is refreshed in the
//! background.
//!
//! - `fetcher`: the [`JwksFetcher`] trait and the bounds put around every fetch;
//!   `fetch`: [`HttpFetcher`], its HTTPS implementation (feature `jwks`).
//! - `builder`: [`JwksValidatorBuilder`], the settings and the first fetch.
//! - `discovery`: an issuer's `jwks_uri` from its metadata.
//! - `refresh`: the shared state, single-flight refresh, cool-down, background task.
//! - here: the validator itself, the hot path first.

use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::Uri;
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{BoxedValidation, TokenValidator, Validation};

mod builder;
mod discovery;
mod error;
#[cfg(feature = "jwks")]
mod fetch;
mod fetcher;
mod refresh;

use crate::claims::Claims;
use crate::error::{AuthError, InvalidToken};
pub use builder::{
    JwksValidatorBuilder, DEFAULT_COOLDOWN, DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_DOCUMENT_LEN,
    DEFAULT_MAX_REFRESH, DEFAULT_MIN_REFRESH, DEFAULT_REFRESH_INTERVAL,
};
pub use error::JwksError;
#[cfg(feature = "jwks")]
pub use fetch::{HttpFetcher, HttpFetcherBuilder};
pub use fetcher::{max_age_from_headers, FetchedDocument, JwksFetcher};
use refresh::{Loaded, Shared};

/// Validates JWTs against a remote JWK set.
///
/// - **Happy path**: the current keys are an immutable
///   [`JwtValidator`](super::JwtValidator) behind an atomic pointer (`arc-swap`):
///   loading it takes no lock and validation answers synchronously
///   ([`Validation::Ready`]), exactly like a static [`JwtValidator`](super::JwtValidator).
/// - **Background refresh**: every `Cache-Control: max-age` of the last answer,
///   clamped to [`with_refresh_bounds`](JwksValidatorBuilder::with_refresh_bounds)
///   (default: 5 minutes when the answer has none, within 1 minute .. 1 hour); after a
///   failure, again after the lower bound. The task stops when the last clone of the
///   validator is dropped.
/// - **Unknown `kid`**: a token naming a `kid` the set does not have (with an
///   asymmetric `alg`) starts one refresh, at most once per cool-down (default 30 s),
///   and waits for it. Refreshes are single-flight: requests arriving while one runs
///   wait for that one. Inside the cool-down the token is refused at once
///   (`invalid_token`) without any fetch, so a flood of made-up `kid`s costs at most
///   one fetch per cool-down.
/// - **Failures keep the keys**: an unreachable identity provider, a non-200 answer, a
///   document over the size bound (default 256 KiB), garbage or a set with more than
///   100 keys leave the current keys in place; the error is kept
///   ([`last_error`](Self::last_error)) and logged with the `tracing` feature.
/// - **Keys without `kid`** in the set match tokens of their algorithm whose `kid` is
///   unknown, so such tokens are checked against them instead of triggering a refresh.
/// - **Only the configured URL is fetched**: `jku`, `x5u` and every other header of a
///   token are never used to fetch anything.
/// - **Before the first successful fetch** (only with
///   [`start_empty`](JwksValidatorBuilder::start_empty)) requests get `503`, after
///   triggering a refresh under the same cool-down.
///
/// Clones share the keys, the refresh task and its state.
///
/// ```no_run
/// # #[cfg(feature = "jwks")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_bearer::validate::{HttpFetcher, JwksValidator};
/// use tower_bearer::{BearerAuthLayer, Claims};
///
/// let validator = JwksValidator::<Claims>::builder()
///     .with_audience("my-api")?
///     .discover(HttpFetcher::new(), "http://127.0.0.1:8000")
///     .await?;
/// let layer = BearerAuthLayer::new(validator);
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
pub struct JwksValidator<T = Claims> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for JwksValidator<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for JwksValidator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksValidator")
            .field("url", &self.shared.url)
            .field("kids", &self.shared.loaded.load().kids)
            .field("cooldown", &self.shared.cooldown)
            .finish_non_exhaustive()
    }
}

/// The `alg` and `kid` of a token's header, read only when its `kid` was not found.
fn header_kid(token: &str) -> Option<(Algorithm, String)> {
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        kid: Option<String>,
    }
    let header = token.split('.').next()?;
    let json = URL_SAFE_NO_PAD.decode(header).ok()?;
    let header: Header = serde_json::from_slice(&json).ok()?;
    let algorithm: Algorithm = header.alg.parse().ok()?;
    Some((algorithm, header.kid?))
}

impl<T> JwksValidator<T> {
    /// The issuers its tokens may name.
    pub(crate) fn issuers(&self) -> &[Box<str>] {
        self.shared.template.issuers()
    }
}

impl<T> JwksValidator<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// A validator with the default settings over the JWK set at `jwks_url`; see
    /// [`JwksValidatorBuilder::build`].
    ///
    /// # Errors
    ///
    /// The first fetch's error.
    pub async fn new<F: JwksFetcher>(fetcher: F, jwks_url: Uri) -> Result<Self, JwksError> {
        JwksValidatorBuilder::new().build(fetcher, jwks_url).await
    }

    /// A validator with the default settings for `issuer`, by OpenID Connect Discovery;
    /// see [`JwksValidatorBuilder::discover`].
    ///
    /// # Errors
    ///
    /// As [`JwksValidatorBuilder::discover`].
    pub async fn discover<F: JwksFetcher>(fetcher: F, issuer: &str) -> Result<Self, JwksError> {
        JwksValidatorBuilder::new().discover(fetcher, issuer).await
    }

    /// The error of the last refresh, if it failed (cleared by a successful one).
    #[must_use]
    pub fn last_error(&self) -> Option<JwksError> {
        self.shared.status().last_error.clone()
    }

    /// When keys were last fetched successfully.
    #[must_use]
    pub fn last_refresh(&self) -> Option<SystemTime> {
        self.shared.status().last_success
    }

    /// How many fetches of the JWK set were started.
    #[must_use]
    pub fn fetch_count(&self) -> u64 {
        self.shared.status().fetches
    }

    /// The `kid`s of the keys in use.
    #[must_use]
    pub fn kids(&self) -> Vec<String> {
        self.shared
            .loaded
            .load()
            .kids
            .iter()
            .map(|k| k.to_string())
            .collect()
    }

    /// The URL of the JWK set.
    #[must_use]
    pub fn url(&self) -> &Uri {
        &self.shared.url
    }

    /// Refreshes now (or waits for the refresh already running), whatever the
    /// cool-down.
    ///
    /// # Errors
    ///
    /// The refresh's error (the current keys stay in use).
    pub async fn refresh(&self) -> Result<(), JwksError> {
        let shared = &self.shared;
        let mut waiter = shared.done.subscribe();
        let seen = *waiter.borrow_and_update();
        match shared.try_begin() {
            Some(guard) => shared.refresh(guard).await.map(|_| ()),
            None => {
                let _ = waiter.wait_for(|n| *n != seen).await;
                self.last_error().map_or(Ok(()), Err)
            }
        }
    }

    /// The token's `kid` is not in the set: wait for a refresh (running, or started
    /// here if the cool-down allows), or refuse at once.
    fn on_unknown(
        &self,
        token: &str,
        loaded: &Arc<Loaded<T>>,
        refusal: AuthError,
    ) -> Validation<T, BoxedValidation<T>> {
        let shared = &self.shared;
        let mut waiter = shared.done.subscribe();
        let seen = *waiter.borrow_and_update();
        let current = shared.loaded.load_full();
        if !Arc::ptr_eq(&current, loaded) {
            // New keys arrived meanwhile: judge by them, without another fetch.
            return Validation::Ready(verify_with(&current, token));
        }
        let running = shared.in_flight.load(Ordering::SeqCst);
        if !running {
            if !shared.cooldown_allows() {
                // A refresh may have finished between the two loads above and the
                // `in_flight` read: its keys are published before the flag clears.
                let latest = shared.loaded.load_full();
                if !Arc::ptr_eq(&latest, loaded) {
                    return Validation::Ready(verify_with(&latest, token));
                }
                return Validation::Ready(Err(refusal));
            }
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return Validation::Ready(Err(refusal));
            };
            if let Some(guard) = shared.try_begin() {
                // A task of its own: the refresh outlives a request that stops waiting.
                let owned = Arc::clone(shared);
                runtime.spawn(async move {
                    let _ = owned.refresh(guard).await;
                });
            }
        }
        let shared = Arc::clone(shared);
        let token = token.to_owned();
        let limit = shared.fetch_timeout + Duration::from_secs(1);
        pending(async move {
            let _ = tokio::time::timeout(limit, waiter.wait_for(|n| *n != seen)).await;
            verify_with(&shared.loaded.load(), &token)
        })
    }
}

fn verify_with<T: DeserializeOwned + 'static>(
    loaded: &Loaded<T>,
    token: &str,
) -> Result<T, AuthError> {
    match &loaded.validator {
        Some(validator) => validator.verify(token),
        None => Err(AuthError::Unavailable),
    }
}

impl<T> TokenValidator for JwksValidator<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Claims = T;
    type Future = BoxedValidation<T>;

    fn validate(&self, token: &str) -> Validation<T, BoxedValidation<T>> {
        self.validate_with(token, |validator| validator.verify(token))
    }
}

impl<T> JwksValidator<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// As [`validate`](TokenValidator::validate), `json` being `token`'s payload
    /// already decoded (by the multi-issuer routing).
    pub(crate) fn validate_decoded(
        &self,
        token: &str,
        json: &[u8],
    ) -> Validation<T, BoxedValidation<T>> {
        self.validate_with(token, |validator| {
            validator
                .verify_decoded(token, json)
                .map(|(claims, _)| claims)
                .map_err(AuthError::InvalidToken)
        })
    }

    /// As [`validate_decoded`](Self::validate_decoded), the payload also scanned
    /// (see [`JwtValidator::verify_scanned`](super::JwtValidator)).
    pub(crate) fn validate_scanned(
        &self,
        token: &str,
        text: &str,
        flat: &super::jwt::scan::FlatClaims<'_>,
    ) -> Validation<T, BoxedValidation<T>> {
        self.validate_with(token, |validator| {
            validator
                .verify_scanned(token, text, flat)
                .map(|(claims, _)| claims)
                .map_err(AuthError::InvalidToken)
        })
    }

    /// Verifies with the keys in use; an unknown key refreshes the set.
    #[inline]
    fn validate_with(
        &self,
        token: &str,
        verify: impl FnOnce(&super::JwtValidator<T>) -> Result<T, AuthError>,
    ) -> Validation<T, BoxedValidation<T>> {
        // A guard, not a clone of the `Arc`: no reference-count traffic on the hot path.
        let loaded = self.shared.loaded.load();
        let Some(validator) = &loaded.validator else {
            return self.on_unknown(token, &loaded, AuthError::Unavailable);
        };
        match verify(validator) {
            Err(AuthError::InvalidToken(
                InvalidToken::UnknownKey | InvalidToken::UnsupportedAlgorithm,
            )) if header_kid(token).is_some_and(|(alg, kid)| {
                alg.family() != AlgorithmFamily::Hmac
                    && !loaded.kids.iter().any(|known| **known == *kid)
            }) =>
            {
                self.on_unknown(token, &loaded, InvalidToken::UnknownKey.into())
            }
            outcome => Validation::Ready(outcome),
        }
    }
}

/// A [`JwksValidator`] that waits for a refresh (unknown `kid` only).
fn pending<T>(
    future: impl Future<Output = Result<T, AuthError>> + Send + 'static,
) -> Validation<T, BoxedValidation<T>> {
    Validation::Pending(Box::pin(future))
}

/// For [`CachedValidator`](super::CachedValidator): the keys' generation and the
/// token's times on success.
#[cfg(feature = "cache")]
impl<T> JwksValidator<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// The generation of the keys in use; it changes whenever the key set does.
    pub(crate) fn generation(&self) -> u64 {
        self.shared.loaded.load().generation
    }

    /// The settings the keys are used with.
    pub(crate) fn template(&self) -> &super::JwtValidator<T> {
        &self.shared.template
    }

    /// Verifies `token` with the keys in use; anything but a success or a plain
    /// refusal (an unknown key, no keys yet) goes through [`validate`] as without a
    /// cache, and what it accepts is not cached.
    ///
    /// [`validate`]: TokenValidator::validate
    pub(crate) fn validate_timed(&self, token: &str) -> Timed<T> {
        let loaded = self.shared.loaded.load();
        if let Some(validator) = &loaded.validator {
            match validator.verify_timed(token) {
                Ok((claims, times)) => return Timed::Verified(claims, times, loaded.generation),
                Err(InvalidToken::UnknownKey | InvalidToken::UnsupportedAlgorithm) => {}
                Err(reason) => return Timed::Uncached(Validation::Ready(Err(reason.into()))),
            }
        }
        drop(loaded);
        Timed::Uncached(self.validate(token))
    }
}

/// What [`JwksValidator::validate_timed`] decided.
#[cfg(feature = "cache")]
pub(crate) enum Timed<T> {
    /// Verified by the keys of this generation.
    Verified(T, super::jwt::Times, u64),
    /// Decided without the times: not to be cached.
    Uncached(Validation<T, BoxedValidation<T>>),
}
