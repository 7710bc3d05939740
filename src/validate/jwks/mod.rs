//! [`JwksValidator`]: tokens checked against a remote JWK set that is refreshed in the
//! background.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Uri};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::Digest as _;
use tokio::sync::{oneshot, watch};

use super::{JwtValidator, TokenValidator, Validation};

#[cfg(feature = "jwks")]
mod fetch;
use crate::claims::Claims;
use crate::error::{AuthError, ConfigError, InvalidToken};
use crate::keys::{JwkOptions, KeySet, KeySetError};
#[cfg(feature = "jwks")]
pub use fetch::{DefaultConnector, HttpFetcher, HttpFetcherBuilder, TlsConfigError};

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

/// A document fetched by a [`JwksFetcher`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FetchedDocument {
    /// The response body.
    pub body: Bytes,
    /// The freshness lifetime the server announced (`Cache-Control: max-age`), if any.
    pub max_age: Option<Duration>,
}

impl FetchedDocument {
    /// A document without freshness information.
    #[must_use]
    pub fn new(body: Bytes) -> Self {
        Self {
            body,
            max_age: None,
        }
    }

    /// Sets the announced freshness lifetime.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }
}

/// Why a fetch failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// The server answered with a status other than `200`.
    Status(http::StatusCode),
    /// The body is longer than the bound.
    TooLarge {
        /// The bound, in bytes.
        limit: usize,
    },
    /// No complete answer within the time limit.
    Timeout,
    /// Connecting, sending or receiving failed.
    Transport(String),
    /// The URL is not one the fetcher may use: plain `http://` to a host other than
    /// loopback without the insecure opt-in, or another scheme.
    InsecureUrl,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "unexpected status {status}"),
            Self::TooLarge { limit } => write!(f, "document larger than {limit} bytes"),
            Self::Timeout => f.write_str("timed out"),
            Self::Transport(why) => write!(f, "transport error: {why}"),
            Self::InsecureUrl => f.write_str("refused URL: plain http to a non-loopback host"),
        }
    }
}

impl std::error::Error for FetchError {}

/// Fetches a document (a JWK set, an OpenID configuration) over HTTP.
///
/// Implement it over the HTTP client your application already has (TLS, proxies,
/// retries are yours); with the `jwks` feature, `HttpFetcher` is an HTTPS default.
/// Implementations should stop reading past `max_len` bytes and answer
/// [`FetchError::TooLarge`]; the validator checks the length again either way, and
/// bounds every fetch with its own timeout. Redirects should not be followed.
///
/// ```
/// use bytes::Bytes;
/// use http::Uri;
/// use tower_bearer::validate::{FetchError, FetchedDocument, JwksFetcher};
///
/// /// Serves a fixed document (tests, air-gapped set-ups).
/// struct Fixed(Bytes);
///
/// impl JwksFetcher for Fixed {
///     async fn fetch(&self, _url: &Uri, max_len: usize) -> Result<FetchedDocument, FetchError> {
///         if self.0.len() > max_len {
///             return Err(FetchError::TooLarge { limit: max_len });
///         }
///         Ok(FetchedDocument::new(self.0.clone()))
///     }
/// }
/// ```
pub trait JwksFetcher: Send + Sync + 'static {
    /// `GET url`, reading at most `max_len` bytes of body.
    fn fetch(
        &self,
        url: &Uri,
        max_len: usize,
    ) -> impl Future<Output = Result<FetchedDocument, FetchError>> + Send;
}

type BoxFuture<'a, O> = Pin<Box<dyn Future<Output = O> + Send + 'a>>;

/// [`JwksFetcher`] made object-safe (its futures boxed: one box per fetch, never per
/// request).
pub(crate) trait ErasedFetcher: Send + Sync + 'static {
    fn fetch_boxed<'a>(
        &'a self,
        url: &'a Uri,
        max_len: usize,
    ) -> BoxFuture<'a, Result<FetchedDocument, FetchError>>;
}

impl<F: JwksFetcher> ErasedFetcher for F {
    fn fetch_boxed<'a>(
        &'a self,
        url: &'a Uri,
        max_len: usize,
    ) -> BoxFuture<'a, Result<FetchedDocument, FetchError>> {
        Box::pin(self.fetch(url, max_len))
    }
}

/// The freshness lifetime in `Cache-Control` (`max-age=N`; `no-cache`/`no-store`
/// count as `0`), for [`JwksFetcher`] implementations.
#[must_use]
pub fn max_age_from_headers(headers: &HeaderMap) -> Option<Duration> {
    let mut found = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let lower = directive.to_ascii_lowercase();
            if lower == "no-cache" || lower == "no-store" {
                return Some(Duration::ZERO);
            }
            if let Some(seconds) = lower.strip_prefix("max-age=") {
                if let Ok(seconds) = seconds.trim_matches('"').parse::<u64>() {
                    found = Some(Duration::from_secs(seconds));
                }
            }
        }
    }
    found
}

/// Why the JWK set (or the discovery document) could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksError {
    /// The fetch failed.
    Fetch(FetchError),
    /// The document is not a usable JWK set.
    KeySet(KeySetError),
    /// The OpenID configuration is unusable: not JSON, no `jwks_uri`, or an `issuer`
    /// other than the configured one (OpenID Connect Discovery §4.3).
    Discovery(String),
    /// A setting is invalid.
    Config(ConfigError),
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fetch(e) => write!(f, "fetching failed: {e}"),
            Self::KeySet(e) => e.fmt(f),
            Self::Discovery(why) => write!(f, "discovery failed: {why}"),
            Self::Config(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for JwksError {}

impl From<FetchError> for JwksError {
    fn from(e: FetchError) -> Self {
        Self::Fetch(e)
    }
}

impl From<KeySetError> for JwksError {
    fn from(e: KeySetError) -> Self {
        Self::KeySet(e)
    }
}

impl From<ConfigError> for JwksError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

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
    /// [`ConfigError::InvalidValue`] for an empty issuer.
    pub fn with_issuer(mut self, issuer: &str) -> Result<Self, ConfigError> {
        self.template = self.template.with_issuer(issuer)?;
        Ok(self)
    }

    /// Accepts tokens for `audience` and makes `aud` required (as
    /// [`JwtValidator::with_audience`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for an empty audience.
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
    /// [`ConfigError::InvalidValue`] if `min` is zero or above `max`.
    pub fn with_refresh_bounds(
        mut self,
        min: Duration,
        max: Duration,
    ) -> Result<Self, ConfigError> {
        if min.is_zero() || min > max {
            return Err(ConfigError::InvalidValue("refresh bounds"));
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
    /// [`ConfigError::InvalidValue`] for `0`.
    pub fn with_max_document_len(mut self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::InvalidValue("max_document_len"));
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

/// The two metadata locations of `issuer`: OpenID Connect Discovery's, then RFC 8414's
/// (`/.well-known/oauth-authorization-server` between the authority and the path).
fn metadata_urls(issuer: &str) -> Option<[Uri; 2]> {
    let parsed: Uri = issuer.parse().ok()?;
    let scheme = parsed.scheme_str()?;
    let authority = parsed.authority()?;
    if parsed.query().is_some() || issuer.contains('#') {
        return None;
    }
    let path = parsed.path().trim_end_matches('/');
    let oidc = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let rfc8414 = format!("{scheme}://{authority}/.well-known/oauth-authorization-server{path}");
    Some([oidc.parse().ok()?, rfc8414.parse().ok()?])
}

/// Finds `issuer`'s `jwks_uri` by discovery (see [`JwksValidatorBuilder::discover`]).
pub(crate) async fn discover_jwks_uri<F: ErasedFetcher + ?Sized>(
    fetcher: &F,
    issuer: &str,
    max_len: usize,
    timeout: Duration,
) -> Result<Uri, JwksError> {
    #[derive(Deserialize)]
    struct Metadata {
        issuer: String,
        jwks_uri: String,
    }
    let discovery = |why: &str| JwksError::Discovery(why.to_owned());
    let [oidc, rfc8414] =
        metadata_urls(issuer).ok_or_else(|| discovery("the issuer is not a URL"))?;
    if !matches!(oidc.scheme_str(), Some("http" | "https")) {
        return Err(discovery("the issuer is not an http(s) URL"));
    }
    let document = match fetch_bounded(fetcher, &oidc, max_len, timeout).await {
        // No OpenID configuration: an OAuth 2.0 server's metadata (RFC 8414).
        Err(FetchError::Status(_)) => fetch_bounded(fetcher, &rfc8414, max_len, timeout).await?,
        other => other?,
    };
    let metadata: Metadata = serde_json::from_slice(&document.body)
        .map_err(|_| discovery("the configuration is not JSON with issuer and jwks_uri"))?;
    if metadata.issuer != issuer {
        return Err(discovery("the configuration names another issuer"));
    }
    let jwks_url: Uri = metadata
        .jwks_uri
        .parse()
        .map_err(|_| discovery("jwks_uri is not a URL"))?;
    let scheme_ok = matches!(
        (oidc.scheme_str(), jwks_url.scheme_str()),
        (Some("https"), Some("https")) | (Some("http"), Some("http" | "https"))
    );
    if !scheme_ok || jwks_url.host().is_none() {
        return Err(discovery("jwks_uri is not an acceptable http(s) URL"));
    }
    Ok(jwks_url)
}

async fn fetch_bounded<F: ErasedFetcher + ?Sized>(
    fetcher: &F,
    url: &Uri,
    max_len: usize,
    timeout: Duration,
) -> Result<FetchedDocument, FetchError> {
    let document = tokio::time::timeout(timeout, fetcher.fetch_boxed(url, max_len))
        .await
        .map_err(|_| FetchError::Timeout)??;
    if document.body.len() > max_len {
        return Err(FetchError::TooLarge { limit: max_len });
    }
    Ok(document)
}

/// Validates JWTs against a remote JWK set.
///
/// - **Happy path**: the current keys are an immutable [`JwtValidator`] behind an
///   atomic pointer (`arc-swap`): loading it takes no lock and validation answers
///   synchronously ([`Validation::Ready`]), exactly like a static [`JwtValidator`].
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

/// The keys in use: a validator (none before the first successful fetch) and the
/// `kid`s it knows.
struct Loaded<T> {
    validator: Option<JwtValidator<T>>,
    kids: Vec<Box<str>>,
    /// Unique to this key set among all loaded by this process (0: none yet): a cached
    /// token verified under another generation is verified again.
    #[cfg_attr(not(feature = "cache"), allow(dead_code))]
    generation: u64,
    /// SHA-256 of the document the keys came from: an unchanged document keeps the
    /// loaded keys, and their generation.
    fingerprint: [u8; 32],
}

impl<T> Default for Loaded<T> {
    fn default() -> Self {
        Self {
            validator: None,
            kids: Vec::new(),
            generation: 0,
            fingerprint: [0; 32],
        }
    }
}

/// The source of [`Loaded::generation`].
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Default)]
struct Status {
    last_error: Option<JwksError>,
    last_success: Option<SystemTime>,
    fetches: u64,
}

struct Shared<T> {
    loaded: ArcSwap<Loaded<T>>,
    template: JwtValidator<T>,
    jwk: JwkOptions,
    fetcher: Box<dyn ErasedFetcher>,
    url: Uri,
    interval: Duration,
    min_refresh: Duration,
    max_refresh: Duration,
    cooldown: Duration,
    max_document_len: usize,
    fetch_timeout: Duration,
    /// A refresh is running (single flight).
    in_flight: AtomicBool,
    /// Counts finished refreshes; waiters watch it change.
    done: watch::Sender<u64>,
    /// When the last refresh triggered by a token started.
    last_triggered: Mutex<Option<Instant>>,
    status: Mutex<Status>,
    /// Dropped with the last validator: stops the background task.
    _stop: oneshot::Sender<()>,
}

/// Ends the refresh it was handed out for, however that ends (success, failure,
/// cancellation): clears `in_flight`, then wakes the waiters.
struct InFlight<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Drop for InFlight<T> {
    fn drop(&mut self) {
        self.shared.in_flight.store(false, Ordering::SeqCst);
        self.shared.done.send_modify(|n| *n += 1);
    }
}

impl<T> Shared<T> {
    fn try_begin(self: &Arc<Self>) -> Option<InFlight<T>> {
        self.in_flight
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .ok()
            .map(|_| InFlight {
                shared: Arc::clone(self),
            })
    }

    fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fetches and installs the key set; returns the delay until the next refresh.
    async fn refresh(&self, _in_flight: InFlight<T>) -> Result<Duration, JwksError> {
        self.status().fetches += 1;
        #[cfg(feature = "metrics")]
        crate::metrics::jwks_fetch();
        let outcome = self.fetch_keys().await;
        let mut status = self.status();
        match outcome {
            Ok((loaded, max_age)) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(url = %self.url, keys = loaded.kids.len(), "JWK set refreshed");
                let current = self.loaded.load();
                if current.validator.is_none() || current.fingerprint != loaded.fingerprint {
                    self.loaded.store(Arc::new(loaded));
                }
                status.last_success = Some(SystemTime::now());
                status.last_error = None;
                let delay = max_age.unwrap_or(self.interval);
                Ok(delay.clamp(self.min_refresh, self.max_refresh))
            }
            Err(error) => {
                #[cfg(feature = "tracing")]
                tracing::warn!(url = %self.url, %error, "JWK set refresh failed; keeping the current keys");
                #[cfg(feature = "metrics")]
                crate::metrics::jwks_fetch_failed();
                status.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    async fn fetch_keys(&self) -> Result<(Loaded<T>, Option<Duration>), JwksError> {
        let document = fetch_bounded(
            &*self.fetcher,
            &self.url,
            self.max_document_len,
            self.fetch_timeout,
        )
        .await?;
        let set = KeySet::from_json(&document.body, &self.jwk)?;
        let validator = set.apply_to(&self.template)?;
        let loaded = Loaded {
            validator: Some(validator),
            kids: set.kids().map(Into::into).collect(),
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
            fingerprint: sha2::Sha256::digest(&document.body).into(),
        };
        Ok((loaded, document.max_age))
    }

    /// Claims the token-triggered refresh slot if the cool-down allows.
    fn cooldown_allows(&self) -> bool {
        let mut last = self
            .last_triggered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.cooldown) {
            return false;
        }
        *last = Some(now);
        true
    }
}

async fn background<T>(weak: Weak<Shared<T>>, mut stop: oneshot::Receiver<()>, mut delay: Duration)
where
    T: Send + Sync + 'static,
{
    loop {
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(delay) => {}
        }
        let Some(shared) = weak.upgrade() else { return };
        delay = match shared.try_begin() {
            Some(guard) => shared.refresh(guard).await.unwrap_or(shared.min_refresh),
            // A token-triggered refresh is running: it does this one's work.
            None => shared.min_refresh,
        };
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
    ) -> Validation<T, JwksFuture<T>> {
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
        JwksFuture::pending(async move {
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
    type Future = JwksFuture<T>;

    fn validate(&self, token: &str) -> Validation<T, JwksFuture<T>> {
        // A guard, not a clone of the `Arc`: no reference-count traffic on the hot path.
        let loaded = self.shared.loaded.load();
        let Some(validator) = &loaded.validator else {
            return self.on_unknown(token, &loaded, AuthError::Unavailable);
        };
        match validator.verify(token) {
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

/// The future of a [`JwksValidator`] that waits for a refresh (unknown `kid` only).
pub struct JwksFuture<T> {
    inner: BoxFuture<'static, Result<T, AuthError>>,
}

impl<T> JwksFuture<T> {
    fn pending(
        future: impl Future<Output = Result<T, AuthError>> + Send + 'static,
    ) -> Validation<T, Self> {
        Validation::Pending(Self {
            inner: Box::pin(future),
        })
    }
}

impl<T> fmt::Debug for JwksFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksFuture").finish_non_exhaustive()
    }
}

impl<T> Future for JwksFuture<T> {
    type Output = Result<T, AuthError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
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
    pub(crate) fn template(&self) -> &JwtValidator<T> {
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
    Uncached(Validation<T, JwksFuture<T>>),
}
