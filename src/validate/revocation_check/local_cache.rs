//! The check's local cache: the store's answers per `jti` and per session, with
//! deadlines, and the listener of pushed revocations.

use super::*;

/// Which of the cache's two maps.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Jti,
    Sid,
}

/// Local answers of the store, per `jti` and per session (`sid`), each with a deadline;
/// also the listener of the store's [`RevocationFeed`], which marks ids revoked the
/// moment it hears of them.
pub(super) struct JtiCache {
    entries: RwLock<HashMap<Box<str>, Entry>>,
    sessions: RwLock<HashMap<Box<str>, Entry>>,
    pub(super) not_revoked_ttl: Duration,
    pub(super) pushed_ttl: Duration,
    pub(super) revoked_ttl: Duration,
    pub(super) capacity: usize,
    pub(super) feed: Option<RevocationFeed>,
}

#[derive(Clone, Copy)]
struct Entry {
    until: Instant,
    revoked: bool,
}

impl JtiCache {
    pub(super) fn new(
        not_revoked_ttl: Duration,
        pushed_ttl: Duration,
        revoked_ttl: Duration,
        capacity: usize,
        feed: Option<&RevocationFeed>,
    ) -> Arc<Self> {
        let cache = Arc::new(Self {
            entries: RwLock::new(HashMap::new()),
            sessions: RwLock::new(HashMap::new()),
            not_revoked_ttl,
            pushed_ttl,
            revoked_ttl,
            capacity,
            feed: feed.cloned(),
        });
        if let Some(feed) = feed {
            let listener: Arc<dyn RevocationListener> = Arc::clone(&cache) as _;
            feed.register(Arc::downgrade(&listener));
        }
        cache
    }

    pub(super) fn feed_state(&self) -> Option<u64> {
        self.feed.as_ref().map(RevocationFeed::state)
    }

    fn map(&self, kind: Kind) -> &RwLock<HashMap<Box<str>, Entry>> {
        match kind {
            Kind::Jti => &self.entries,
            Kind::Sid => &self.sessions,
        }
    }

    pub(super) fn get(&self, kind: Kind, id: &str) -> Option<bool> {
        let entries = self
            .map(kind)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(id)?;
        (Instant::now() < entry.until).then_some(entry.revoked)
    }

    /// Records an answer; `pushed`: the push channel was live while it was read.
    pub(super) fn insert(&self, kind: Kind, id: &str, revoked: bool, pushed: bool) {
        let ttl = match (revoked, pushed) {
            (true, _) => self.revoked_ttl,
            (false, true) => self.pushed_ttl,
            (false, false) => self.not_revoked_ttl,
        };
        let now = Instant::now();
        let mut entries = self
            .map(kind)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get(id) {
            // A live "revoked" answer is never replaced by a "not revoked" one read
            // from the store before the revocation landed.
            if entry.revoked && !revoked && now < entry.until {
                return;
            }
        }
        if ttl.is_zero() || self.capacity == 0 {
            // Nothing kept; at least no stale "not revoked" answer survives.
            entries.remove(id);
            return;
        }
        if entries.len() >= self.capacity && !entries.contains_key(id) {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            id.into(),
            Entry {
                until: now + ttl,
                revoked,
            },
        );
    }
}

impl RevocationListener for JtiCache {
    fn revoked(&self, key: &str) {
        if let Some(jti) = key.strip_prefix(JTI_KEY_PREFIX) {
            self.insert(Kind::Jti, jti, true, false);
        } else if let Some(sid) = key.strip_prefix(SID_KEY_PREFIX) {
            self.insert(Kind::Sid, sid, true, false);
        }
    }

    fn push_lost(&self) {
        for map in [&self.entries, &self.sessions] {
            let mut entries = map.write().unwrap_or_else(PoisonError::into_inner);
            entries.retain(|_, e| e.revoked);
        }
    }
}
