//! [`IntrospectionValidator`]: opaque access tokens checked at the authorization
//! server's RFC 7662 introspection endpoint, with a bounded local cache.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Uri};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::{TokenValidator, Validation};
use crate::claims::Claims;
use crate::error::{AuthError, ConfigError, InvalidToken};

/// Default upper bound on how long an introspection answer is reused.
pub const DEFAULT_INTROSPECTION_TTL: Duration = Duration::from_secs(60);
/// Default upper bound on the number of cached answers.
pub const DEFAULT_INTROSPECTION_CACHE_ENTRIES: usize = 10_000;
/// Default bound on an introspection response body, in bytes.
pub const DEFAULT_MAX_INTROSPECTION_RESPONSE: usize = 64 * 1024;
/// Default time limit of one introspection request.
pub const DEFAULT_INTROSPECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// Default bound on the length of a token sent for introspection.
pub const DEFAULT_MAX_OPAQUE_TOKEN_LEN: usize = 4096;

/// Why an [`IntrospectionClient`] got no response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// No complete answer within the time limit.
    Timeout,
    /// The body is longer than the bound.
    TooLarge,
    /// Connecting, sending or receiving failed; the text is for logs.
    Transport(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timed out"),
            Self::TooLarge => f.write_str("response too large"),
            Self::Transport(why) => write!(f, "transport error: {why}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Sends the introspection request: the HTTP client behind an
/// [`IntrospectionValidator`].
///
/// The validator builds the whole request (method, URL, `Authorization`, form body);
/// the client sends it as is, follows no redirect, and reads at most `max_len` bytes
/// of the response body. Implement it over the client your application already has
/// (TLS, proxies); with the `jwks` feature, [`HttpIntrospectionClient`](super::HttpIntrospectionClient)
/// is a plain-HTTP default over hyper-util.
pub trait IntrospectionClient: Send + Sync + 'static {
    /// Sends `request`, returning the response with its body read.
    fn send(
        &self,
        request: Request<Bytes>,
        max_len: usize,
    ) -> impl Future<Output = Result<Response<Bytes>, ClientError>> + Send;
}

/// The future of a validation that had to ask the introspection endpoint (boxed: only
/// cache misses get one).
pub type IntrospectionFuture<C> = Pin<Box<dyn Future<Output = Result<C, AuthError>> + Send>>;

type Key = [u8; 32];
type Outcome<C> = Result<C, AuthError>;

/// Checks opaque tokens with RFC 7662 token introspection.
///
/// - **Client authentication**: HTTP Basic with the resource server's client id and
///   secret (RFC 6749 §2.3.1, form-encoded before base64).
/// - **Answers**: `"active": true` → the response object deserialized into `C` (the
///   default [`Claims`] need `exp`); `"active": false`, an `exp` in the past, a
///   refresh token or a sender-constrained (`cnf`) token → `401 invalid_token`. The
///   endpoint unreachable, slow, answering non-`200` or something that is not an
///   introspection response → `503`, never `401`: an outage is not the token's fault.
/// - **Cache**: answers are kept for at most [`with_cache_ttl`](IntrospectionValidatorBuilder::with_cache_ttl)
///   and never past the token's `exp`, in a bounded map keyed by the SHA-256 of the
///   token (the token itself is not kept). A hit answers at once with no network call.
///   Failures to reach the endpoint are not cached.
/// - **One request per token**: concurrent misses for the same token wait for a
///   single introspection request.
///
/// A revoked token stays accepted until its cached answer expires: choose the TTL as
/// the longest revocation delay you accept (`Duration::ZERO` disables the cache).
pub struct IntrospectionValidator<C = Claims, H = DefaultClient> {
    inner: Arc<Inner<C, H>>,
}

#[cfg(feature = "jwks")]
type DefaultClient = super::HttpIntrospectionClient;
#[cfg(not(feature = "jwks"))]
type DefaultClient = NoClient;

/// Placeholder default client type when the `jwks` feature (hyper-util) is off: bring
/// your own [`IntrospectionClient`].
#[cfg(not(feature = "jwks"))]
#[derive(Debug, Clone, Copy)]
pub struct NoClient;

#[cfg(not(feature = "jwks"))]
impl IntrospectionClient for NoClient {
    async fn send(&self, _: Request<Bytes>, _: usize) -> Result<Response<Bytes>, ClientError> {
        Err(ClientError::Transport("no HTTP client configured".into()))
    }
}

impl<C, H> Clone for IntrospectionValidator<C, H> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C, H> fmt::Debug for IntrospectionValidator<C, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionValidator")
            .field("endpoint", &self.inner.endpoint)
            .field("ttl", &self.inner.ttl)
            .field("cached", &self.inner.cache.len())
            .finish_non_exhaustive()
    }
}

struct Inner<C, H> {
    client: H,
    endpoint: Uri,
    authorization: HeaderValue,
    ttl: Duration,
    inactive_ttl: Duration,
    timeout: Duration,
    max_response: usize,
    max_token_len: usize,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: i64,
    cache: Cache<C>,
    in_flight: InFlight<C>,
}

/// Builds an [`IntrospectionValidator`].
#[must_use]
pub struct IntrospectionValidatorBuilder<C, H> {
    client: H,
    endpoint: Uri,
    authorization: HeaderValue,
    ttl: Duration,
    inactive_ttl: Option<Duration>,
    timeout: Duration,
    max_entries: usize,
    max_response: usize,
    max_token_len: usize,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Duration,
    claims: PhantomData<fn() -> C>,
}

impl<C, H> fmt::Debug for IntrospectionValidatorBuilder<C, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionValidatorBuilder")
            .field("endpoint", &self.endpoint)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// RFC 6749 §2.3.1: id and secret form-encoded, joined by `:`, base64.
fn basic_authorization(client_id: &str, secret: &str) -> Result<HeaderValue, ConfigError> {
    if client_id.is_empty() {
        return Err(ConfigError::InvalidValue("client_id"));
    }
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(secret));
    let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials)))
        .map_err(|_| ConfigError::InvalidValue("client credentials"))?;
    value.set_sensitive(true);
    Ok(value)
}

impl<C> IntrospectionValidator<C, DefaultClient> {
    /// A validator asking `endpoint` (absolute `http(s)` URL) over `client`,
    /// authenticating as `client_id` / `client_secret`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for an unusable URL or client id.
    pub fn builder<H: IntrospectionClient>(
        client: H,
        endpoint: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<IntrospectionValidatorBuilder<C, H>, ConfigError> {
        let uri: Uri = endpoint
            .parse()
            .map_err(|_| ConfigError::InvalidValue("introspection endpoint"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(ConfigError::InvalidValue("introspection endpoint"));
        }
        Ok(IntrospectionValidatorBuilder {
            client,
            endpoint: uri,
            authorization: basic_authorization(client_id, client_secret)?,
            ttl: DEFAULT_INTROSPECTION_TTL,
            inactive_ttl: None,
            timeout: DEFAULT_INTROSPECTION_TIMEOUT,
            max_entries: DEFAULT_INTROSPECTION_CACHE_ENTRIES,
            max_response: DEFAULT_MAX_INTROSPECTION_RESPONSE,
            max_token_len: DEFAULT_MAX_OPAQUE_TOKEN_LEN,
            issuer: None,
            audience: None,
            leeway: super::DEFAULT_LEEWAY,
            claims: PhantomData,
        })
    }
}

impl<C, H> IntrospectionValidatorBuilder<C, H>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    H: IntrospectionClient,
{
    /// The longest an active answer is reused (default 60 s; never past the token's
    /// `exp`). `Duration::ZERO`: every request asks the endpoint.
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The longest an inactive answer is reused (default: the cache TTL).
    pub fn with_inactive_ttl(mut self, ttl: Duration) -> Self {
        self.inactive_ttl = Some(ttl);
        self
    }

    /// The bound on cached answers (default 10 000).
    pub fn with_max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries.max(1);
        self
    }

    /// Time limit of one introspection request (default 5 s); past it, `503`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Requires `iss` in the introspection response to equal `issuer`.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// Requires `aud` in the introspection response to contain `audience`.
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.audience = Some(audience.to_owned());
        self
    }

    /// Clock tolerance for `exp` and `nbf` (default
    /// [`DEFAULT_LEEWAY`](super::DEFAULT_LEEWAY)).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The validator.
    #[must_use]
    pub fn build(self) -> IntrospectionValidator<C, H> {
        IntrospectionValidator {
            inner: Arc::new(Inner {
                client: self.client,
                endpoint: self.endpoint,
                authorization: self.authorization,
                ttl: self.ttl,
                inactive_ttl: self.inactive_ttl.unwrap_or(self.ttl),
                timeout: self.timeout,
                max_response: self.max_response,
                max_token_len: self.max_token_len,
                issuer: self.issuer,
                audience: self.audience,
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
                cache: Cache::new(self.max_entries),
                in_flight: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl<C, H> IntrospectionValidator<C, H> {
    /// The number of cached answers (expired ones included until evicted).
    #[must_use]
    pub fn cached(&self) -> usize {
        self.inner.cache.len()
    }
}

impl<C, H> TokenValidator for IntrospectionValidator<C, H>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    H: IntrospectionClient,
{
    type Claims = C;
    type Future = IntrospectionFuture<C>;

    fn validate(&self, token: &str) -> Validation<C, Self::Future> {
        if token.len() > self.inner.max_token_len {
            return Validation::Ready(Err(InvalidToken::TooLong.into()));
        }
        let key: Key = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = self.inner.cache.get(&key, Instant::now()) {
            return Validation::Ready(hit);
        }
        let inner = Arc::clone(&self.inner);
        let token = token.to_owned();
        Validation::Pending(Box::pin(async move { inner.miss(key, token).await }))
    }
}

impl<C, H> Inner<C, H>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    H: IntrospectionClient,
{
    /// One request per token: the first miss asks, later ones wait for its answer.
    async fn miss(&self, key: Key, token: String) -> Outcome<C> {
        // Leaves the in-flight map when this wait ends, even cancelled (a client gone
        // before the answer): no entry outlives its waiters.
        let flight = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Flight {
                map: &self.in_flight,
                key,
                cell: Arc::clone(in_flight.entry(key).or_default()),
            }
        };
        flight
            .cell
            .get_or_init(|| async {
                // A flight that ended between the cache miss and here left its answer.
                if let Some(hit) = self.cache.get(&key, Instant::now()) {
                    return hit;
                }
                let (outcome, ttl) = self.introspect(&token).await;
                if !ttl.is_zero() {
                    self.cache
                        .insert(key, outcome.clone(), Instant::now() + ttl);
                }
                outcome
            })
            .await
            .clone()
    }

    /// Asks the endpoint; the answer and how long it may be reused.
    async fn introspect(&self, token: &str) -> (Outcome<C>, Duration) {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.endpoint.clone())
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .header(header::ACCEPT, HeaderValue::from_static("application/json"))
            .body(Bytes::from(body));
        let Ok(request) = request else {
            return (Err(AuthError::Unavailable), Duration::ZERO);
        };
        let sent =
            tokio::time::timeout(self.timeout, self.client.send(request, self.max_response)).await;
        let response = match sent {
            Ok(Ok(response)) if response.status() == StatusCode::OK => response,
            _unreachable_or_refused => {
                #[cfg(feature = "tracing")]
                tracing::warn!("introspection endpoint unavailable");
                return (Err(AuthError::Unavailable), Duration::ZERO);
            }
        };
        if response.body().len() > self.max_response {
            return (Err(AuthError::Unavailable), Duration::ZERO);
        }
        self.decide(response.body(), crate::store::now())
    }

    /// Reads an introspection response at `now` (seconds since the epoch).
    fn decide(&self, body: &[u8], now: i64) -> (Outcome<C>, Duration) {
        let inactive = |reason: InvalidToken| (Err(reason.into()), self.inactive_ttl);
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return (Err(AuthError::Unavailable), Duration::ZERO);
        };
        match map.get("active") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => {
                return inactive(InvalidToken::Other("The access token is not active".into()))
            }
            _ => return (Err(AuthError::Unavailable), Duration::ZERO),
        }
        let exp = match map.get("exp") {
            None => None,
            Some(exp) => match exp.as_i64() {
                Some(exp) => Some(exp),
                None => return inactive(InvalidToken::InvalidClaim("exp")),
            },
        };
        if exp.is_some_and(|exp| exp <= now.saturating_sub(self.leeway)) {
            return inactive(InvalidToken::Expired);
        }
        if let Some(nbf) = map.get("nbf") {
            match nbf.as_i64() {
                Some(nbf) if nbf > now.saturating_add(self.leeway) => {
                    // Not valid yet: decided again once it may be.
                    return (Err(InvalidToken::NotYetValid.into()), Duration::ZERO);
                }
                Some(_) => {}
                None => return inactive(InvalidToken::InvalidClaim("nbf")),
            }
        }
        if let Err(reason) = self.check_binding_and_audience(&map) {
            return inactive(reason);
        }
        let ttl = cache_ttl(self.ttl, exp, now);
        match C::deserialize(Value::Object(map)) {
            Ok(claims) => (Ok(claims), ttl),
            Err(_) => inactive(InvalidToken::ClaimsShape),
        }
    }

    fn check_binding_and_audience(&self, map: &Map<String, Value>) -> Result<(), InvalidToken> {
        // Only bearer access tokens: not a refresh token, not a token bound to a key
        // or certificate the request cannot prove here (RFC 9449, RFC 8705).
        let token_type = map.get("token_type").and_then(Value::as_str);
        if token_type.is_some_and(|t| {
            t.eq_ignore_ascii_case("refresh_token") || t.eq_ignore_ascii_case("DPoP")
        }) || map.contains_key("cnf")
        {
            return Err(InvalidToken::Other(
                "The token is not a bearer access token".into(),
            ));
        }
        if let Some(issuer) = &self.issuer {
            match map.get("iss").and_then(Value::as_str) {
                Some(iss) if iss == issuer => {}
                Some(_) => return Err(InvalidToken::WrongIssuer),
                None => return Err(InvalidToken::MissingClaim("iss")),
            }
        }
        if let Some(audience) = &self.audience {
            let contains = match map.get("aud") {
                Some(Value::String(one)) => one == audience,
                Some(Value::Array(many)) => many.iter().any(|a| a.as_str() == Some(audience)),
                Some(_) => return Err(InvalidToken::InvalidClaim("aud")),
                None => return Err(InvalidToken::MissingClaim("aud")),
            };
            if !contains {
                return Err(InvalidToken::WrongAudience);
            }
        }
        Ok(())
    }
}

type InFlight<C> = Mutex<HashMap<Key, Arc<OnceCell<Outcome<C>>>>>;

/// One waiter of an introspection in flight.
struct Flight<'a, C> {
    map: &'a InFlight<C>,
    key: Key,
    cell: Arc<OnceCell<Outcome<C>>>,
}

impl<C> Drop for Flight<'_, C> {
    fn drop(&mut self) {
        let mut in_flight = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = in_flight.get(&self.key) else {
            return;
        };
        // Answered: later requests read the cache. Not answered (this waiter was
        // cancelled): keep the entry while other waiters remain. Clones of the cell are
        // only made under this lock, so the count (the map's and ours) is exact here.
        let alone = Arc::strong_count(&self.cell) <= 2;
        if Arc::ptr_eq(entry, &self.cell) && (self.cell.initialized() || alone) {
            in_flight.remove(&self.key);
        }
    }
}

/// How long an active answer may be reused: the configured TTL, cut to the token's
/// remaining lifetime.
fn cache_ttl(configured: Duration, exp: Option<i64>, now: i64) -> Duration {
    match exp {
        None => configured,
        Some(exp) => {
            let left = u64::try_from(exp.saturating_sub(now)).unwrap_or(0);
            configured.min(Duration::from_secs(left))
        }
    }
}

/// Answers by token hash, each until its deadline; at most `capacity` of them.
struct Cache<C> {
    entries: RwLock<HashMap<Key, (Outcome<C>, Instant)>>,
    capacity: usize,
}

impl<C> Cache<C> {
    fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl<C: Clone> Cache<C> {
    fn get(&self, key: &Key, now: Instant) -> Option<Outcome<C>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        match entries.get(key) {
            Some((outcome, until)) if *until > now => Some(outcome.clone()),
            _ => None,
        }
    }

    fn insert(&self, key: Key, outcome: Outcome<C>, until: Instant) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let now = Instant::now();
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= self.capacity {
                // Full of live answers: drop one (the map's order is randomized, so
                // no client can aim at a particular entry).
                if let Some(victim) = entries.keys().next().copied() {
                    entries.remove(&victim);
                }
            }
        }
        entries.insert(key, (outcome, until));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Never;

    impl IntrospectionClient for Never {
        async fn send(&self, _: Request<Bytes>, _: usize) -> Result<Response<Bytes>, ClientError> {
            Err(ClientError::Timeout)
        }
    }

    fn validator() -> IntrospectionValidator<Claims, Never> {
        IntrospectionValidator::<Claims>::builder(Never, "http://as.example/introspect", "rs", "s")
            .unwrap()
            .with_cache_ttl(Duration::from_secs(120))
            .build()
    }

    struct Stall;

    impl IntrospectionClient for Stall {
        async fn send(&self, _: Request<Bytes>, _: usize) -> Result<Response<Bytes>, ClientError> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn cancelled_misses_leave_nothing_in_flight_ok() {
        let v = IntrospectionValidator::<Claims>::builder(Stall, "http://as.example/i", "rs", "s")
            .unwrap()
            .build();
        let in_flight = || v.inner.in_flight.lock().unwrap().len();
        let (Validation::Pending(mut first), Validation::Pending(mut second)) =
            (v.validate("abc"), v.validate("abc"))
        else {
            panic!("misses wait");
        };
        std::future::poll_fn(|cx| {
            assert!(first.as_mut().poll(cx).is_pending());
            assert!(second.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        })
        .await;
        assert_eq!(in_flight(), 1, "one flight for one token");
        drop(first);
        assert_eq!(in_flight(), 1, "the other waiter still waits");
        drop(second);
        assert_eq!(in_flight(), 0);
    }

    #[test]
    fn ttl_is_cut_to_exp_ok() {
        assert_eq!(
            cache_ttl(Duration::from_secs(60), Some(1_010), 1_000),
            Duration::from_secs(10)
        );
        assert_eq!(
            cache_ttl(Duration::from_secs(60), Some(5_000), 1_000),
            Duration::from_secs(60)
        );
        assert_eq!(
            cache_ttl(Duration::from_secs(60), Some(900), 1_000),
            Duration::ZERO
        );
        assert_eq!(
            cache_ttl(Duration::from_secs(60), None, 1_000),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn decide_reads_answers_ok() {
        let v = validator();
        let now = 1_000_000;
        let decide = |body: &str| v.inner.decide(body.as_bytes(), now);
        let (ok, ttl) = decide(r#"{"active":true,"sub":"a","exp":1000030,"scope":"x y"}"#);
        assert_eq!(ok.unwrap().sub.as_deref(), Some("a"));
        assert_eq!(ttl, Duration::from_secs(30));
        for garbage in [
            "",
            "[]",
            "{}",
            r#"{"active":"true"}"#,
            "<html>",
            r#"{"active":1}"#,
        ] {
            assert_eq!(decide(garbage).0, Err(AuthError::Unavailable), "{garbage}");
            assert_eq!(decide(garbage).1, Duration::ZERO);
        }
        for refused in [
            r#"{"active":false}"#,
            r#"{"active":true,"exp":999000}"#,
            r#"{"active":true,"exp":1000030,"token_type":"refresh_token"}"#,
            r#"{"active":true,"exp":1000030,"cnf":{"jkt":"x"}}"#,
            r#"{"active":true,"exp":"soon"}"#,
            r#"{"active":true}"#,
        ] {
            let (outcome, _) = decide(refused);
            assert_eq!(
                outcome.unwrap_err().status(),
                StatusCode::UNAUTHORIZED,
                "{refused}"
            );
        }
    }

    #[test]
    fn cache_is_bounded_ok() {
        let cache = Cache::<u8>::new(3);
        let later = Instant::now() + Duration::from_secs(60);
        for i in 0..10u8 {
            cache.insert([i; 32], Ok(i), later);
            assert!(cache.len() <= 3);
            assert_eq!(cache.get(&[i; 32], Instant::now()), Some(Ok(i)));
        }
        cache.insert([42; 32], Ok(42), Instant::now());
        assert_eq!(
            cache.get(&[42; 32], Instant::now() + Duration::from_millis(1)),
            None
        );
    }

    #[test]
    fn basic_credentials_are_form_encoded_ok() {
        let value = basic_authorization("my client", "p@ss:word").unwrap();
        let encoded = value.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+client:p%40ss%3Aword");
        assert!(value.is_sensitive());
    }
}
