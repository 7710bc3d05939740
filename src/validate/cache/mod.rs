//! [`CachedValidator`]: a bounded cache of verified tokens in front of a
//! [`JwtValidator`] or a [`JwksValidator`](super::JwksValidator)
//! ([`CachedValidator::jwks`]), for asymmetric algorithms (RS/PS/ES/EdDSA), whose
//! signature checks cost tens to hundreds of microseconds.
//!
//! - Keyed by the whole token, stored and compared byte for byte on a hit: a token that
//!   differs in any byte misses, and no hash collision can ever return another
//!   token's claims. (The table's hash only places entries; only verified tokens are
//!   ever inserted, so a client cannot flood it.)
//! - Only tokens that passed every check of the validator are stored.
//! - Each entry expires with its token's `exp` (plus the validator's leeway), and `exp`
//!   and `nbf` are checked again on every hit.
//! - Bounded both in entries and in (estimated) memory, in shards with a lock each;
//!   a full shard first drops tokens past their `exp`, then entries in hash order
//!   (effectively at random). A hit hashes only the token's last 32 bytes.
//! - A validator with only HMAC keys bypasses the cache unless
//!   [`cache_hmac`](CachedValidator::cache_hmac) is called: a hit saves only a few
//!   hundred nanoseconds over the HMAC check, while every token seen once pays an
//!   insert and holds memory until it expires (see `BENCHMARKS.md`).
//! - In front of a JWK set, each entry remembers the generation of the key set that
//!   verified it; a hit under another generation (the set changed: a key left, or
//!   was added) is verified again. A refresh that fetches the same document keeps
//!   the generation, so the cache survives periodic refreshes.
//! - The cache holds the tokens themselves (in memory only, like the requests that
//!   carried them), not just a digest: that is what makes a hit exact.

mod table;

use std::fmt;
use std::future::Ready;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use table::{Entry, Table};

#[cfg(feature = "jwks-core")]
use super::jwks::Timed;
use super::jwt::{now, Times};
#[cfg(feature = "jwks-core")]
use super::{BoxedValidation, JwksValidator};
use super::{JwtValidator, TokenValidator, Validation};
use crate::claims::Claims;
use crate::error::{AuthError, InvalidToken};

/// Default memory budget per entry, on average, in bytes.
pub const DEFAULT_BYTES_PER_ENTRY: u64 = 2 * 1024;

/// Rough per-entry bookkeeping of the table itself, in bytes.
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
pub struct CachedValidator<T = Claims, V = JwtValidator<T>> {
    validator: V,
    cache: Option<Arc<Table<T>>>,
    max_entries: u64,
    max_bytes: u64,
    cache_hmac: bool,
    clock: fn() -> i64,
    /// The validator's settings the cache needs.
    leeway: i64,
    max_token_len: usize,
    hmac_only: bool,
}

impl<T, V: Clone> Clone for CachedValidator<T, V> {
    fn clone(&self) -> Self {
        Self {
            validator: self.validator.clone(),
            cache: self.cache.clone(),
            max_entries: self.max_entries,
            max_bytes: self.max_bytes,
            cache_hmac: self.cache_hmac,
            clock: self.clock,
            leeway: self.leeway,
            max_token_len: self.max_token_len,
            hmac_only: self.hmac_only,
        }
    }
}

impl<T, V: fmt::Debug> fmt::Debug for CachedValidator<T, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedValidator")
            .field("validator", &self.validator)
            .field("enabled", &self.cache.is_some())
            .field("max_entries", &self.max_entries)
            .field("max_bytes", &self.max_bytes)
            .field("entries", &self.cache.as_ref().map(|table| table.len()))
            .finish_non_exhaustive()
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
        let (leeway, max_token_len, hmac_only) = (
            validator.leeway_secs(),
            validator.max_token_len(),
            validator.hmac_only(),
        );
        CachedValidator::with_parts(validator, max_entries, leeway, max_token_len, hmac_only)
    }
}

#[cfg(feature = "jwks-core")]
impl<T> CachedValidator<T, JwksValidator<T>>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Caches up to `max_entries` tokens verified by the JWK set of `validator`, as
    /// [`new`](CachedValidator::new) does for static keys. An entry ends at its token's
    /// `exp`, and is verified again once the key set changed; a token whose `kid` is
    /// unknown goes to `validator` (refresh and cool-down as without a cache).
    ///
    /// ```no_run
    /// # #[cfg(feature = "jwks")]
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_bearer::validate::{HttpFetcher, JwksValidator};
    /// use tower_bearer::{BearerAuthLayer, CachedValidator};
    ///
    /// let jwks = JwksValidator::builder()
    ///     .with_audience("my-api")?
    ///     .discover(HttpFetcher::new(), "http://127.0.0.1:8000")
    ///     .await?;
    /// let layer = BearerAuthLayer::new(CachedValidator::jwks(jwks, 10_000));
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn jwks(validator: JwksValidator<T>, max_entries: u64) -> Self {
        let template = validator.template();
        let (leeway, max_token_len) = (template.leeway_secs(), template.max_token_len());
        Self::with_parts(validator, max_entries, leeway, max_token_len, false)
    }
}

impl<T, V> CachedValidator<T, V>
where
    T: Clone + Send + Sync + 'static,
{
    fn with_parts(
        validator: V,
        max_entries: u64,
        leeway: i64,
        max_token_len: usize,
        hmac_only: bool,
    ) -> Self {
        let mut this = Self {
            validator,
            cache: None,
            max_entries: max_entries.max(1),
            max_bytes: max_entries.max(1).saturating_mul(DEFAULT_BYTES_PER_ENTRY),
            cache_hmac: false,
            clock: now,
            leeway,
            max_token_len,
            hmac_only,
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
        if self.hmac_only && !self.cache_hmac {
            self.cache = None;
            return;
        }
        self.cache = Some(Arc::new(Table::new(self.max_entries, self.max_bytes)));
    }

    /// The wrapped validator.
    pub fn validator(&self) -> &V {
        &self.validator
    }

    /// `true` unless the cache is bypassed (an HMAC-only validator).
    pub fn is_enabled(&self) -> bool {
        self.cache.is_some()
    }

    /// The number of cached tokens, expired ones not yet removed included (see
    /// [`run_pending_tasks`](Self::run_pending_tasks)).
    pub fn entry_count(&self) -> u64 {
        self.cache.as_ref().map_or(0, |table| table.len())
    }

    /// Removes the tokens past their `exp` now (the cache otherwise removes them when
    /// they are presented again or when their shard is full; an expired entry is never
    /// served).
    pub fn run_pending_tasks(&self) {
        if let Some(cache) = &self.cache {
            cache.remove_all_expired((self.clock)(), self.leeway);
        }
    }

    /// The cached claims of `token` if it was verified under `generation` and is still
    /// within `exp`/`nbf`; `None` (the token is then verified) otherwise.
    #[inline]
    fn lookup(
        cache: &Table<T>,
        token: &str,
        generation: u64,
        now: i64,
        leeway: i64,
    ) -> Option<Result<T, InvalidToken>> {
        // After a change of the key set, an entry misses: the token is verified again
        // (and its entry replaced).
        let hit = cache.get(token, generation);
        #[cfg(feature = "metrics")]
        crate::metrics::cache(hit.is_some());
        let (claims, times) = hit?;
        Some(match times.check(now, leeway) {
            Ok(()) => Ok(claims),
            Err(error) => {
                cache.remove(token);
                Err(error)
            }
        })
    }

    fn store(&self, cache: &Table<T>, token: &str, claims: &T, times: Times, generation: u64) {
        let estimate = token.len() + std::mem::size_of::<Entry<T>>() + ENTRY_OVERHEAD;
        let entry = Entry {
            token: token.into(),
            claims: claims.clone(),
            times,
            generation,
            weight: u64::try_from(estimate).unwrap_or(u64::MAX),
        };
        cache.insert(entry, (self.clock)(), self.leeway);
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
        if token.len() > self.max_token_len {
            return Err(InvalidToken::TooLong);
        }
        if let Some(hit) = Self::lookup(cache, token, 0, (self.clock)(), self.leeway) {
            return hit;
        }
        let (claims, times) = self.validator.verify_timed(token)?;
        self.store(cache, token, &claims, times, 0);
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

#[cfg(feature = "jwks-core")]
impl<T> TokenValidator for CachedValidator<T, JwksValidator<T>>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Claims = T;
    type Future = BoxedValidation<T>;

    fn validate(&self, token: &str) -> Validation<T, BoxedValidation<T>> {
        let Some(cache) = &self.cache else {
            return self.validator.validate(token);
        };
        if token.len() > self.max_token_len {
            return Validation::Ready(Err(InvalidToken::TooLong.into()));
        }
        let generation = self.validator.generation();
        if let Some(hit) = Self::lookup(cache, token, generation, (self.clock)(), self.leeway) {
            return Validation::Ready(hit.map_err(AuthError::InvalidToken));
        }
        match self.validator.validate_timed(token) {
            Timed::Verified(claims, times, generation) => {
                self.store(cache, token, &claims, times, generation);
                Validation::Ready(Ok(claims))
            }
            Timed::Uncached(validation) => validation,
        }
    }

    /// Hits are tokens the JWT validator accepted; misses go to it.
    fn accepts_only_b64token(&self, _: super::sealed::Internal) -> bool {
        true
    }
}
