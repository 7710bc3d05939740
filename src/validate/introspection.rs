//! [`IntrospectionValidator`]: opaque access tokens checked at the authorization
//! server's RFC 7662 introspection endpoint, with a bounded local cache.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, StatusCode, Uri};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{TokenValidator, Validation};
use crate::claims::Claims;
use crate::error::{AuthError, InvalidToken};

mod builder;
mod cache;
mod client;

pub use builder::IntrospectionValidatorBuilder;
use cache::{cache_ttl, Cache, Flight, InFlight};
use client::DefaultClient;
#[cfg(not(feature = "jwks"))]
pub use client::NoClient;
pub use client::{ClientError, IntrospectionClient};

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

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use http::Response;

    use super::builder::basic_authorization;
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
