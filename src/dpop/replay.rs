//! Remembering the proofs already used (RFC 9449 §11.1): [`ReplayStore`], in memory
//! ([`MemoryReplayStore`]) or on Redis (`RedisStore`, feature `redis`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::error::ConfigError;
use crate::store::{BoxFuture, StoreError};

/// Default bound on the proofs a [`MemoryReplayStore`] remembers.
pub const DEFAULT_MAX_PROOFS: usize = 100_000;

/// A proof's id in lowercase hex (64 characters): Redis keys, logs.
pub(crate) fn id_hex(id: &[u8; 32]) -> String {
    use fmt::Write as _;
    let mut hex = String::with_capacity(64);
    for b in id {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Where used proofs are remembered until they would be refused as stale anyway.
///
/// One method, atomic: several nodes (or requests) presenting the same proof at once
/// see `true` exactly once.
pub trait ReplayStore: Send + Sync + 'static {
    /// Records the proof `id` for `ttl`. `id` is the SHA-256 of the proof key's
    /// thumbprint and its `jti`, so clients cannot collide with each other's ids, and
    /// every entry has the same small size whatever the client sent. `Ok(true)` if it was not there (first use: accept the
    /// proof), `Ok(false)` if it was (a replay).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot answer; the request is then refused with
    /// `503`, never accepted.
    fn first_use(
        &self,
        id: [u8; 32],
        ttl: Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>>;
}

impl<T: ReplayStore + ?Sized> ReplayStore for Arc<T> {
    fn first_use(
        &self,
        id: [u8; 32],
        ttl: Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        (**self).first_use(id, ttl)
    }
}

/// A [`ReplayStore`] in process memory, for one node. Clones share the state.
///
/// Bounded: at most [`with_max_proofs`](Self::with_max_proofs) live entries
/// ([`DEFAULT_MAX_PROOFS`] by default). A full store first forgets expired entries;
/// if all are live it answers [`StoreError`] (a `503`) rather than forget one early
/// and let it be replayed. Entries only come from requests whose token and proof were
/// otherwise valid.
#[derive(Clone)]
pub struct MemoryReplayStore {
    state: Arc<Mutex<State>>,
}

struct State {
    /// Id -> expiry (seconds since the epoch).
    seen: HashMap<[u8; 32], i64>,
    max: usize,
}

impl fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("MemoryReplayStore")
            .field("entries", &state.seen.len())
            .field("max", &state.max)
            .finish()
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryReplayStore {
    /// An empty store remembering at most [`DEFAULT_MAX_PROOFS`] proofs.
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                seen: HashMap::new(),
                max: DEFAULT_MAX_PROOFS,
            })),
        }
    }

    /// Remembers at most `max` live proofs.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for `0`.
    pub fn with_max_proofs(self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::OutOfRange("max_proofs"));
        }
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .max = max;
        Ok(self)
    }

    /// Records `id` at `now` (seconds) for `ttl`; the synchronous core of
    /// [`ReplayStore::first_use`].
    fn record(&self, id: [u8; 32], ttl: Duration, now: i64) -> Result<bool, StoreError> {
        let expires = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX).max(1));
        // Every critical section leaves the map consistent, so a poisoned lock is safe.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&until) = state.seen.get(&id) {
            if until > now {
                return Ok(false);
            }
        }
        if state.seen.len() >= state.max && !state.seen.contains_key(&id) {
            state.seen.retain(|_, until| *until > now);
            if state.seen.len() >= state.max {
                return Err(StoreError::Backend("DPoP replay store full".into()));
            }
        }
        state.seen.insert(id, expires);
        Ok(true)
    }
}

impl ReplayStore for MemoryReplayStore {
    fn first_use(
        &self,
        id: [u8; 32],
        ttl: Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        let outcome = self.record(id, ttl, crate::store::now());
        Box::pin(std::future::ready(outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_refused_until_expiry_ok() {
        let store = MemoryReplayStore::new();
        let id = [1; 32];
        let ttl = Duration::from_secs(10);
        assert_eq!(store.record(id, ttl, 100), Ok(true));
        assert_eq!(store.record(id, ttl, 105), Ok(false));
        assert_eq!(store.record(id, ttl, 109), Ok(false));
        assert_eq!(store.record([2; 32], ttl, 109), Ok(true));
        // Once its proof would be stale anyway, the entry may go.
        assert_eq!(store.record(id, ttl, 110), Ok(true));
    }

    #[test]
    fn full_store_sweeps_then_refuses_fails() {
        let store = MemoryReplayStore::new().with_max_proofs(2).unwrap();
        let ttl = Duration::from_secs(10);
        assert_eq!(store.record([1; 32], ttl, 100), Ok(true));
        assert_eq!(store.record([2; 32], ttl, 100), Ok(true));
        assert!(store.record([3; 32], ttl, 105).is_err());
        // A replay is still recognised when full.
        assert_eq!(store.record([1; 32], ttl, 105), Ok(false));
        // Expired entries make room.
        assert_eq!(store.record([3; 32], ttl, 111), Ok(true));
    }
}
