//! [`JwksValidatorBuilder`]: the settings of a [`JwksValidator`], its first fetch and
//! the start of its background refresh.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use http::Uri;
use serde::de::DeserializeOwned;
use tokio::sync::{oneshot, watch};

use super::discovery::discover_jwks_uri;
use super::refresh::{background, Loaded, Shared, Status};
use super::{JwksError, JwksFetcher, JwksValidator};
use crate::claims::Claims;
use crate::error::ConfigError;
use crate::keys::JwkOptions;
use crate::validate::JwtValidator;

/// Default refresh interval when the JWK set answer has no `Cache-Control: max-age`.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Default lower bound of the refresh interval (also the retry delay after a failure).
pub const DEFAULT_MIN_REFRESH: Duration = Duration::from_secs(60);
/// Default upper bound of the refresh interval.
pub const DEFAULT_MAX_REFRESH: Duration = Duration::from_secs(3600);
/// Default minimum time between two refreshes triggered by unknown `kid`s.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// Default bound on the size of a fetched document, in bytes.
pub const DEFAULT_MAX_DOCUMENT_LEN: usize = 256 * 1024;
/// Default time limit of one fetch.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of a [`JwksValidator`]; see [`JwksValidator::builder`].
#[must_use]
pub struct JwksValidatorBuilder<T = Claims> {
    template: JwtValidator<T>,
    jwk: JwkOptions,
    interval: Duration,
    min_refresh: Duration,
    max_refresh: Duration,
    cooldown: Duration,
    max_document_len: usize,
    fetch_timeout: Duration,
    start_empty: bool,
}

impl<T> fmt::Debug for JwksValidatorBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksValidatorBuilder")
            .field("template", &self.template)
            .field("jwk", &self.jwk)
            .field("interval", &self.interval)
            .field("min_refresh", &self.min_refresh)
            .field("max_refresh", &self.max_refresh)
            .field("cooldown", &self.cooldown)
            .field("max_document_len", &self.max_document_len)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("start_empty", &self.start_empty)
            .finish()
    }
}

impl<T> JwksValidatorBuilder<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Accepts tokens from `issuer` and makes `iss` required (as
    /// [`JwtValidator::with_issuer`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty issuer.
    pub fn with_issuer(mut self, issuer: &str) -> Result<Self, ConfigError> {
        self.template = self.template.with_issuer(issuer)?;
        Ok(self)
    }

    /// Accepts tokens for `audience` and makes `aud` required (as
    /// [`JwtValidator::with_audience`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty audience.
    pub fn with_audience(mut self, audience: &str) -> Result<Self, ConfigError> {
        self.template = self.template.with_audience(audience)?;
        Ok(self)
    }

    /// Any other claim rule of [`JwtValidator`] (leeway, `require_sub`, ...), applied
    /// to a validator without keys. Keys added here are dropped: the JWK set is the only
    /// source of keys.
    ///
    /// # Errors
    ///
    /// The error of `configure`.
    pub fn configure<F>(mut self, configure: F) -> Result<Self, ConfigError>
    where
        F: FnOnce(JwtValidator<T>) -> Result<JwtValidator<T>, ConfigError>,
    {
        self.template = configure(self.template)?.replace_keys([])?;
        Ok(self)
    }

    /// How the JWK set is read (key count bound, RSA keys without `alg`).
    pub fn with_jwk_options(mut self, options: JwkOptions) -> Self {
        self.jwk = options;
        self
    }

    /// Refresh interval when the answer has no `max-age` (default 5 minutes).
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Bounds of the refresh interval (default 1 minute .. 1 hour): an announced
    /// `max-age` is clamped to them; the lower bound is also the retry delay after a
    /// failed refresh.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] if `min` is zero or above `max`.
    pub fn with_refresh_bounds(
        mut self,
        min: Duration,
        max: Duration,
    ) -> Result<Self, ConfigError> {
        if min.is_zero() || min > max {
            return Err(ConfigError::OutOfRange("refresh bounds"));
        }
        self.min_refresh = min;
        self.max_refresh = max;
        Ok(self)
    }

    /// Minimum time between two refreshes triggered by unknown `kid`s (default 30 s).
    pub fn with_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Largest document read, in bytes (default 256 KiB).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for `0`.
    pub fn with_max_document_len(mut self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::OutOfRange("max_document_len"));
        }
        self.max_document_len = max;
        Ok(self)
    }

    /// Time limit of one fetch (default 10 s).
    pub fn with_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// Starts even if the first fetch fails: requests get `503` until keys arrive.
    pub fn start_empty(mut self) -> Self {
        self.start_empty = true;
        self
    }

    /// Fetches `jwks_url` once and starts the background refresh.
    ///
    /// # Errors
    ///
    /// The first fetch's error, unless [`start_empty`](Self::start_empty).
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (the background refresh is a Tokio task).
    pub async fn build<F: JwksFetcher>(
        self,
        fetcher: F,
        jwks_url: Uri,
    ) -> Result<JwksValidator<T>, JwksError> {
        let (stop, stopped) = oneshot::channel();
        let (done, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            loaded: ArcSwap::from_pointee(Loaded::default()),
            template: self.template,
            jwk: self.jwk,
            fetcher: Box::new(fetcher),
            url: jwks_url,
            interval: self.interval,
            min_refresh: self.min_refresh,
            max_refresh: self.max_refresh,
            cooldown: self.cooldown,
            max_document_len: self.max_document_len,
            fetch_timeout: self.fetch_timeout,
            in_flight: AtomicBool::new(false),
            done,
            last_triggered: Mutex::new(None),
            status: Mutex::new(Status::default()),
            _stop: stop,
        });
        let guard = shared.try_begin().expect("no refresh runs yet");
        let first = shared.refresh(guard).await;
        let delay = match first {
            Ok(delay) => delay,
            Err(error) if !self.start_empty => return Err(error),
            Err(_) => shared.min_refresh,
        };
        tokio::spawn(background(Arc::downgrade(&shared), stopped, delay));
        Ok(JwksValidator { shared })
    }

    /// Discovery: fetches `{issuer}/.well-known/openid-configuration` (OpenID Connect
    /// Discovery), or when that answers with an error status the RFC 8414 document
    /// `/.well-known/oauth-authorization-server` (inserted before the issuer's path);
    /// checks that its `issuer` is exactly `issuer` (OIDC Discovery §4.3, RFC 8414
    /// §3.3), requires `iss` to be `issuer` in tokens, and [`build`](Self::build)s from
    /// its `jwks_uri`. An `https` issuer must name an `https` `jwks_uri`.
    ///
    /// # Errors
    ///
    /// [`JwksError::Discovery`] for an unusable configuration document, otherwise as
    /// [`build`](Self::build).
    pub async fn discover<F: JwksFetcher>(
        mut self,
        fetcher: F,
        issuer: &str,
    ) -> Result<JwksValidator<T>, JwksError> {
        let jwks_url =
            discover_jwks_uri(&fetcher, issuer, self.max_document_len, self.fetch_timeout).await?;
        self.template = self.template.with_issuer(issuer)?;
        self.build(fetcher, jwks_url).await
    }
}

impl JwksValidator<Claims> {
    /// A builder with the strict defaults, for the crate's [`Claims`]; use
    /// [`JwksValidatorBuilder::new`] for claims of your own.
    pub fn builder() -> JwksValidatorBuilder<Claims> {
        JwksValidatorBuilder::new()
    }
}

impl<T> JwksValidatorBuilder<T> {
    /// The strict defaults (those of [`JwtValidator`] for the claims, this module's for
    /// fetching).
    pub fn new() -> Self {
        Self {
            template: JwtValidator::keyless(),
            jwk: JwkOptions::new(),
            interval: DEFAULT_REFRESH_INTERVAL,
            min_refresh: DEFAULT_MIN_REFRESH,
            max_refresh: DEFAULT_MAX_REFRESH,
            cooldown: DEFAULT_COOLDOWN,
            max_document_len: DEFAULT_MAX_DOCUMENT_LEN,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            start_empty: false,
        }
    }
}

impl<T> Default for JwksValidatorBuilder<T> {
    fn default() -> Self {
        Self::new()
    }
}
