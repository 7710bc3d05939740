//! The answers kept between requests: a bounded cache by token hash, and the one
//! request in flight per token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::{Key, Outcome};

pub(super) type InFlight<C> = Mutex<HashMap<Key, Arc<OnceCell<Outcome<C>>>>>;

/// One waiter of an introspection in flight.
pub(super) struct Flight<'a, C> {
    pub(super) map: &'a InFlight<C>,
    pub(super) key: Key,
    pub(super) cell: Arc<OnceCell<Outcome<C>>>,
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
pub(super) fn cache_ttl(configured: Duration, exp: Option<i64>, now: i64) -> Duration {
    match exp {
        None => configured,
        Some(exp) => {
            let left = u64::try_from(exp.saturating_sub(now)).unwrap_or(0);
            configured.min(Duration::from_secs(left))
        }
    }
}

/// Answers by token hash, each until its deadline; at most `capacity` of them.
pub(super) struct Cache<C> {
    entries: RwLock<HashMap<Key, (Outcome<C>, Instant)>>,
    capacity: usize,
}

impl<C> Cache<C> {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl<C: Clone> Cache<C> {
    pub(super) fn get(&self, key: &Key, now: Instant) -> Option<Outcome<C>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        match entries.get(key) {
            Some((outcome, until)) if *until > now => Some(outcome.clone()),
            _ => None,
        }
    }

    pub(super) fn insert(&self, key: Key, outcome: Outcome<C>, until: Instant) {
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
