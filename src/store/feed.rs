//! [`RevocationFeed`]: revocations pushed to the local caches of a process, at once for
//! revocations made here and through a push channel (Redis pub/sub) for revocations
//! made on other nodes.
//!
//! A notification carries the revoked *key*, `<kind>:<id>`: `jti:<jti>` for an access
//! token id, `sid:<sid>` for an ended session (a refresh-token family); a listener
//! ignores the kinds it does not know. Listeners are called synchronously and must be quick: a
//! hash-map insert, no I/O.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

/// Prefix of the key of a revoked access-token id in a notification.
pub const JTI_KEY_PREFIX: &str = "jti:";
/// Prefix of the key of an ended session (the access tokens' `sid`) in a notification.
pub const SID_KEY_PREFIX: &str = "sid:";

/// What a [`RevocationFeed`] calls: a local cache of revocation answers.
pub trait RevocationListener: Send + Sync {
    /// `key` (`<kind>:<id>`) was revoked.
    fn revoked(&self, key: &str);

    /// The push channel went down: notifications may have been missed since. Drop the
    /// "not revoked" answers that relied on it.
    fn push_lost(&self);
}

/// A hub between the stores of one process and the caches that want to hear of
/// revocations. Cheap to clone (one `Arc`); clones are the same feed.
///
/// A feed is *live* while every revocation is known to reach it: always for a feed of
/// in-memory stores ([`RevocationFeed::local`]), while the subscription is up for the
/// Redis store's. While live, a cache may trust a "not revoked" answer for long; while
/// not, only for its short polling interval.
#[derive(Clone)]
pub struct RevocationFeed {
    inner: Arc<Inner>,
}

struct Inner {
    listeners: Mutex<Vec<Weak<dyn RevocationListener>>>,
    /// `generation << 1 | live`; the generation grows on every change of `live`.
    state: AtomicU64,
}

impl fmt::Debug for RevocationFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationFeed")
            .field("live", &self.is_live())
            .finish_non_exhaustive()
    }
}

impl Default for RevocationFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl RevocationFeed {
    /// A feed that is not live until its push channel says so
    /// ([`set_live`](Self::set_live)).
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                listeners: Mutex::new(Vec::new()),
                state: AtomicU64::new(0),
            }),
        }
    }

    /// A feed that is always live: for stores whose every revocation passes through
    /// this process (the in-memory stores).
    #[must_use]
    pub fn local() -> Self {
        let feed = Self::new();
        feed.set_live(true);
        feed
    }

    /// Tells every listener that `key` (`<kind>:<id>`) was revoked.
    pub fn notify(&self, key: &str) {
        let listeners = self.listeners();
        for listener in listeners {
            listener.revoked(key);
        }
    }

    /// Whether every revocation currently reaches this feed.
    #[must_use]
    pub fn is_live(&self) -> bool {
        self.state() & 1 == 1
    }

    /// An opaque value that changes whenever the feed goes live or down: a cache reads
    /// it before asking its store and trusts the answer for long only if it is the
    /// same, and live, afterwards.
    #[must_use]
    pub fn state(&self) -> u64 {
        self.inner.state.load(Ordering::Acquire)
    }

    /// Marks the push channel up or down. Going down tells every listener
    /// ([`RevocationListener::push_lost`]).
    pub fn set_live(&self, live: bool) {
        let mut current = self.state();
        loop {
            if (current & 1 == 1) == live {
                return;
            }
            let next = ((current >> 1).wrapping_add(1) << 1) | u64::from(live);
            match self.inner.state.compare_exchange(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(seen) => current = seen,
            }
        }
        if !live {
            for listener in self.listeners() {
                listener.push_lost();
            }
        }
    }

    /// Registers `listener` for as long as it lives.
    pub fn register(&self, listener: Weak<dyn RevocationListener>) {
        self.live_listeners().push(listener);
    }

    fn listeners(&self) -> Vec<Arc<dyn RevocationListener>> {
        self.live_listeners()
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// The registered listeners, dropped ones removed, under the lock.
    fn live_listeners(&self) -> MutexGuard<'_, Vec<Weak<dyn RevocationListener>>> {
        let mut listeners = self
            .inner
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        listeners.retain(|l| l.strong_count() > 0);
        listeners
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Seen(Mutex<Vec<String>>);
    impl RevocationListener for Seen {
        fn revoked(&self, key: &str) {
            self.0.lock().unwrap().push(key.to_owned());
        }
        fn push_lost(&self) {
            self.0.lock().unwrap().push("lost".to_owned());
        }
    }

    #[test]
    fn notifies_live_listeners_and_reports_lost_push() {
        let feed = RevocationFeed::new();
        assert!(!feed.is_live());
        let seen = Arc::new(Seen(Mutex::new(Vec::new())));
        let weak: Weak<dyn RevocationListener> =
            Arc::downgrade(&(Arc::clone(&seen) as Arc<dyn RevocationListener>));
        feed.register(weak);
        let before = feed.state();
        feed.set_live(true);
        assert!(feed.is_live());
        assert_ne!(feed.state(), before);
        feed.notify("jti:a");
        feed.set_live(false);
        assert_eq!(*seen.0.lock().unwrap(), ["jti:a", "lost"]);
        drop(seen);
        feed.notify("jti:b"); // a dropped listener is skipped
    }
}
