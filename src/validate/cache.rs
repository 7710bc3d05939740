//! [`CachedValidator`]: a bounded cache of verified tokens in front of a
//! [`JwtValidator`], for asymmetric algorithms (RS/PS/ES/EdDSA), whose signature checks
//! cost tens to hundreds of microseconds.
//!
//! - Keyed by the whole token, stored and compared byte for byte on a hit: a token that
//!   differs in any byte misses, and no hash collision can ever return another
//!   token's claims. (The table's hash only places entries; only verified tokens are
//!   ever inserted, so a client cannot flood it.)
//! - Only tokens that passed every check of the validator are stored.
//! - Each entry expires with its token's `exp` (plus the validator's leeway), and `exp`
//!   and `nbf` are checked again on every hit.
//! - Bounded both in entries and in (estimated) memory; eviction is moka's
//!   TinyLFU policy.
//! - A validator with only HMAC keys bypasses the cache unless
//!   [`cache_hmac`](CachedValidator::cache_hmac) is called: a hit saves only a few
//!   hundred nanoseconds over the HMAC check, while every token seen once pays an
//!   insert and holds memory until it expires (see `BENCHMARKS.md`).
//! - The cache holds the tokens themselves (in memory only, like the requests that
//!   carried them), not just a digest: that is what makes a hit exact.

use std::fmt;
use std::future::Ready;
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;
use moka::sync::Cache;
use moka::Expiry;
use serde::de::DeserializeOwned;

use super::jwt::{now, Times};
use super::{JwtValidator, TokenValidator, Validation};
use crate::claims::Claims;
use crate::error::{AuthError, InvalidToken};

/// Default memory budget per entry, on average, in bytes.
pub const DEFAULT_BYTES_PER_ENTRY: u64 = 2 * 1024;

/// Rough per-entry bookkeeping of the cache itself (key, node, timers), in bytes.
const ENTRY_OVERHEAD: usize = 128;

/// A [`JwtValidator`] with a bounded cache of verified tokens.
///
/// ```
/// use tower_bearer::jsonwebtoken::{Algorithm, DecodingKey};
/// use tower_bearer::{CachedValidator, Claims, JwtValidator};
///
/// # let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/rsa_public.pem")).unwrap();
/// let key = DecodingKey::from_rsa_pem(&pem).unwrap();
/// let validator = JwtValidator::<Claims>::new(Algorithm::RS256, &key)?.with_audience("api")?;
/// // At most 10 000 tokens, and about 20 MiB.
/// let cached = CachedValidator::new(validator, 10_000).with_max_bytes(20 << 20);
/// assert!(cached.verify("not.a.jwt").is_err());
/// # Ok::<_, tower_bearer::ConfigError>(())
/// ```
pub struct CachedValidator<T = Claims> {
    validator: JwtValidator<T>,
    cache: Option<Cache<Box<str>, Entry<T>, RandomState>>,
    max_entries: u64,
    max_bytes: u64,
    cache_hmac: bool,
    clock: fn() -> i64,
}

#[derive(Clone)]
struct Entry<T> {
    claims: T,
    times: Times,
    weight: u32,
}

impl<T> Clone for CachedValidator<T> {
    fn clone(&self) -> Self {
        Self {
            validator: self.validator.clone(),
            cache: self.cache.clone(),
            max_entries: self.max_entries,
            max_bytes: self.max_bytes,
            cache_hmac: self.cache_hmac,
            clock: self.clock,
        }
    }
}

impl<T> fmt::Debug for CachedValidator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedValidator")
            .field("validator", &self.validator)
            .field("enabled", &self.cache.is_some())
            .field("max_entries", &self.max_entries)
            .field("max_bytes", &self.max_bytes)
            .field("entries", &self.cache.as_ref().map(Cache::entry_count))
            .finish_non_exhaustive()
    }
}

/// Expires each entry when its token expires (`exp` + leeway).
struct ExpireWithToken {
    leeway: i64,
    clock: fn() -> i64,
}

impl<T> Expiry<Box<str>, Entry<T>> for ExpireWithToken {
    fn expire_after_create(&self, _: &Box<str>, entry: &Entry<T>, _: Instant) -> Option<Duration> {
        let left = entry
            .times
            .exp
            .saturating_add(self.leeway)
            .saturating_sub((self.clock)());
        Some(Duration::from_secs(u64::try_from(left).unwrap_or(0)))
    }
}

impl<T> CachedValidator<T>
where
    T: Clone + Send + Sync + 'static,
{
    /// Caches up to `max_entries` verified tokens of `validator`, within a memory budget
    /// of [`DEFAULT_BYTES_PER_ENTRY`] per entry on average (see
    /// [`with_max_bytes`](Self::with_max_bytes)).
    pub fn new(validator: JwtValidator<T>, max_entries: u64) -> Self {
        let mut this = Self {
            validator,
            cache: None,
            max_entries: max_entries.max(1),
            max_bytes: max_entries.max(1).saturating_mul(DEFAULT_BYTES_PER_ENTRY),
            cache_hmac: false,
            clock: now,
        };
        this.rebuild();
        this
    }

    /// Bounds the cache's estimated memory (tokens, claims and bookkeeping) to `bytes`.
    /// An entry is estimated at the token's length plus the claims type's size plus
    /// 128 bytes; the claims' own heap data is assumed no larger than the token.
    #[must_use]
    pub fn with_max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes.max(1);
        self.rebuild();
        self
    }

    /// Caches tokens even when every key is an HMAC secret (off by default: a hit saves
    /// a few hundred nanoseconds, a miss costs an insert and memory; it pays only when
    /// clients reuse their tokens for many requests).
    #[must_use]
    pub fn cache_hmac(mut self) -> Self {
        self.cache_hmac = true;
        self.rebuild();
        self
    }

    /// Replaces the clock used for the cache's own `exp`/`nbf` checks (tests only).
    #[doc(hidden)]
    #[must_use]
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self.rebuild();
        self
    }

    fn rebuild(&mut self) {
        if self.validator.hmac_only() && !self.cache_hmac {
            self.cache = None;
            return;
        }
        // Every entry weighs at least `floor`, so `max_bytes / floor = max_entries`
        // bounds the count while the weights bound the memory.
        let floor = (self.max_bytes / self.max_entries).max(1);
        self.cache = Some(
            Cache::builder()
                .max_capacity(self.max_bytes)
                .weigher(move |_, entry: &Entry<T>| {
                    u32::try_from(u64::from(entry.weight).max(floor)).unwrap_or(u32::MAX)
                })
                .expire_after(ExpireWithToken {
                    leeway: self.validator.leeway_secs(),
                    clock: self.clock,
                })
                .build_with_hasher(RandomState::default()),
        );
    }

    /// The wrapped validator.
    pub fn validator(&self) -> &JwtValidator<T> {
        &self.validator
    }

    /// `true` unless the cache is bypassed (an HMAC-only validator).
    pub fn is_enabled(&self) -> bool {
        self.cache.is_some()
    }

    /// Approximate number of cached tokens (pending evictions may not be counted yet;
    /// see [`run_pending_tasks`](Self::run_pending_tasks)).
    pub fn entry_count(&self) -> u64 {
        self.cache.as_ref().map_or(0, Cache::entry_count)
    }

    /// Applies pending evictions and expirations now (the cache otherwise does so as
    /// it is used).
    pub fn run_pending_tasks(&self) {
        if let Some(cache) = &self.cache {
            cache.run_pending_tasks();
        }
    }
}

impl<T> CachedValidator<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Validates `token` and returns its claims, from the cache when it was verified
    /// before and is still within `exp`/`nbf`.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] with the reason the token was refused.
    pub fn verify(&self, token: &str) -> Result<T, AuthError> {
        self.verify_token(token).map_err(AuthError::InvalidToken)
    }

    fn verify_token(&self, token: &str) -> Result<T, InvalidToken> {
        let Some(cache) = &self.cache else {
            return self.validator.verify_timed(token).map(|(claims, _)| claims);
        };
        if token.len() > self.validator.max_token_len() {
            return Err(InvalidToken::TooLong);
        }
        if let Some(entry) = cache.get(token) {
            return match entry
                .times
                .check((self.clock)(), self.validator.leeway_secs())
            {
                Ok(()) => Ok(entry.claims),
                Err(error) => {
                    cache.invalidate(token);
                    Err(error)
                }
            };
        }
        let (claims, times) = self.validator.verify_timed(token)?;
        let estimate = token.len() + std::mem::size_of::<Entry<T>>() + ENTRY_OVERHEAD;
        let entry = Entry {
            claims: claims.clone(),
            times,
            weight: u32::try_from(estimate).unwrap_or(u32::MAX),
        };
        cache.insert(token.into(), entry);
        Ok(claims)
    }
}

impl<T> TokenValidator for CachedValidator<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Claims = T;
    type Future = Ready<Result<T, AuthError>>;

    fn validate(&self, token: &str) -> Validation<T, Self::Future> {
        Validation::Ready(self.verify(token))
    }

    /// Hits are tokens the JWT validator accepted; misses go to it.
    fn accepts_only_b64token(&self, _: super::sealed::Internal) -> bool {
        true
    }
}
