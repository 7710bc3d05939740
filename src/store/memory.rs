//! In-memory stores: for tests, examples and single-process services. Every operation
//! runs under one mutex, so rotation is atomic by construction. State is lost on restart
//! and not shared between processes; use the Redis stores for that.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::feed::{RevocationFeed, JTI_KEY_PREFIX, SID_KEY_PREFIX};

use super::refresh::{
    token_hash, FamilyId, RefreshRecord, RefreshToken, RefreshTokenStore, RotateError, Rotated,
    Session,
};
use super::revocation::RevocationStore;
use super::{now, BoxFuture, StoreError};
use crate::error::ConfigError;

/// Expired entries are swept every this many writes.
const SWEEP_EVERY: u32 = 256;

/// Default bound on the refresh-token families (sessions) a [`MemoryRefreshStore`]
/// keeps; see [`MemoryRefreshStore::with_max_families`].
pub const DEFAULT_MAX_FAMILIES: usize = 100_000;

/// Default bound on the sessions (refresh-token families) one subject may hold; see
/// [`MemoryRefreshStore::with_max_sessions_per_subject`] (the Redis store has the same).
pub const DEFAULT_MAX_SESSIONS_PER_SUBJECT: usize = 16;

/// How many spent tokens of a family are remembered for reuse detection. An older one
/// is then refused as unknown (`invalid_grant`), without revoking the family.
pub const REMEMBERED_SPENT_TOKENS: usize = 64;

/// An in-memory [`RefreshTokenStore`]. Clones share the same state.
///
/// Bounded: at most [`with_max_sessions_per_subject`](Self::with_max_sessions_per_subject)
/// sessions per user ([`DEFAULT_MAX_SESSIONS_PER_SUBJECT`] by default: a user's next
/// login ends that user's oldest session), at most
/// [`with_max_families`](Self::with_max_families) sessions in all
/// ([`DEFAULT_MAX_FAMILIES`] by default; when full, a new login first sweeps the expired
/// ones, then ends the same user's oldest session, and only when that user has none the
/// session closest to its expiry), and per session the current token plus the last
/// [`REMEMBERED_SPENT_TOKENS`] spent ones.
#[derive(Clone)]
pub struct MemoryRefreshStore {
    state: Arc<Mutex<RefreshState>>,
}

impl Default for MemoryRefreshStore {
    fn default() -> Self {
        Self::new()
    }
}

struct RefreshState {
    /// Token hash -> family id, for current and remembered spent tokens alike (reuse
    /// detection).
    tokens: HashMap<String, FamilyId>,
    families: HashMap<FamilyId, Family>,
    /// Subject -> its families, oldest login first.
    subjects: HashMap<String, VecDeque<FamilyId>>,
    max_families: usize,
    max_per_subject: usize,
    writes: u32,
}

struct Family {
    session: Session,
    current: String,
    /// Spent token hashes, oldest first.
    spent: VecDeque<String>,
    revoked: bool,
}

impl fmt::Debug for MemoryRefreshStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("MemoryRefreshStore")
            .field("families", &state.families.len())
            .field("tokens", &state.tokens.len())
            .finish()
    }
}

impl MemoryRefreshStore {
    /// An empty store keeping at most [`DEFAULT_MAX_FAMILIES`] sessions.
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(RefreshState {
                tokens: HashMap::new(),
                families: HashMap::new(),
                subjects: HashMap::new(),
                max_families: DEFAULT_MAX_FAMILIES,
                max_per_subject: DEFAULT_MAX_SESSIONS_PER_SUBJECT,
                writes: 0,
            })),
        }
    }

    /// Keeps at most `max` refresh-token families (one per login). When a login finds
    /// the store full, expired families are swept, and if none expired the family
    /// closest to its expiry is ended: its refresh token is then refused as unknown and
    /// that client must log in again. Memory stays bounded whatever clients do.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for `0`.
    pub fn with_max_families(self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::InvalidValue("max_families"));
        }
        self.lock().max_families = max;
        Ok(self)
    }

    /// Keeps at most `max` sessions per subject (user): a login beyond it ends that
    /// user's oldest session (its refresh token is then refused as unknown). One user
    /// logging in in a loop so never pushes out other users' sessions. Default
    /// [`DEFAULT_MAX_SESSIONS_PER_SUBJECT`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for `0`.
    pub fn with_max_sessions_per_subject(self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::InvalidValue("max_sessions_per_subject"));
        }
        self.lock().max_per_subject = max;
        Ok(self)
    }

    fn lock(&self) -> MutexGuard<'_, RefreshState> {
        // Every critical section leaves the maps consistent, so a poisoned lock is safe.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RefreshState {
    fn wrote(&mut self, now: i64) {
        self.writes = self.writes.wrapping_add(1);
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            self.sweep(now);
        }
    }

    fn sweep(&mut self, now: i64) {
        self.families.retain(|_, f| f.session.expires_at > now);
        let families = &self.families;
        self.tokens.retain(|_, id| families.contains_key(id));
        self.subjects.retain(|_, ids| {
            ids.retain(|id| families.contains_key(id));
            !ids.is_empty()
        });
    }

    /// Room for one more family of `subject`: beyond the per-subject cap, that
    /// subject's oldest family goes. When the store is full, expired ones go first,
    /// then the subject's own oldest, and only if it has none the one that would
    /// expire soonest.
    fn make_room(&mut self, subject: &str, now: i64) {
        while self
            .subjects
            .get(subject)
            .is_some_and(|ids| ids.len() >= self.max_per_subject)
        {
            self.end_oldest_of(subject);
        }
        if self.families.len() < self.max_families {
            return;
        }
        self.sweep(now);
        while self.families.len() >= self.max_families {
            if self.subjects.contains_key(subject) {
                self.end_oldest_of(subject);
                continue;
            }
            let Some(oldest) = self
                .families
                .iter()
                .min_by_key(|(_, family)| family.session.expires_at)
                .map(|(id, _)| id.clone())
            else {
                return;
            };
            self.remove_family(&oldest);
        }
    }

    fn end_oldest_of(&mut self, subject: &str) {
        let oldest = self.subjects.get_mut(subject).and_then(VecDeque::pop_front);
        if self.subjects.get(subject).is_some_and(VecDeque::is_empty) {
            self.subjects.remove(subject);
        }
        if let Some(oldest) = oldest {
            self.remove_family(&oldest);
        }
    }

    fn remove_family(&mut self, id: &FamilyId) {
        let Some(family) = self.families.remove(id) else {
            return;
        };
        self.tokens.remove(&family.current);
        for spent in &family.spent {
            self.tokens.remove(spent);
        }
        let subject = &family.session.subject;
        if let Some(ids) = self.subjects.get_mut(subject) {
            ids.retain(|other| other != id);
            if ids.is_empty() {
                self.subjects.remove(subject);
            }
        }
    }

    /// The live family of a token hash.
    fn live(&self, hash: &str, now: i64) -> Option<(&FamilyId, &Family)> {
        let id = self.tokens.get(hash)?;
        let family = self.families.get(id)?;
        (!family.revoked && family.session.expires_at > now).then_some((id, family))
    }
}

impl RefreshTokenStore for MemoryRefreshStore {
    fn issue<'a>(
        &'a self,
        session: &'a Session,
    ) -> BoxFuture<'a, Result<RefreshToken, StoreError>> {
        Box::pin(async move {
            let token = RefreshToken::generate()?;
            let id = FamilyId::generate()?;
            let hash = token.hash();
            let now = now();
            let mut state = self.lock();
            state.make_room(&session.subject, now);
            state
                .subjects
                .entry(session.subject.clone())
                .or_default()
                .push_back(id.clone());
            state.tokens.insert(hash.clone(), id.clone());
            state.families.insert(
                id,
                Family {
                    session: session.clone(),
                    current: hash,
                    spent: VecDeque::new(),
                    revoked: false,
                },
            );
            state.wrote(now);
            Ok(token)
        })
    }

    fn lookup<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshRecord>, StoreError>> {
        Box::pin(async move {
            let hash = token_hash(token);
            let state = self.lock();
            Ok(state.live(&hash, now()).map(|(id, family)| RefreshRecord {
                family: id.clone(),
                session: family.session.clone(),
            }))
        })
    }

    fn rotate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Rotated, RotateError>> {
        Box::pin(async move {
            let hash = token_hash(token);
            let successor = RefreshToken::generate()?;
            let now = now();
            let mut state = self.lock();
            let id = match state.live(&hash, now) {
                Some((id, _)) => id.clone(),
                None => return Err(RotateError::Invalid),
            };
            let family = state.families.get_mut(&id).ok_or(RotateError::Invalid)?;
            if family.current != hash {
                family.revoked = true;
                return Err(RotateError::Reused);
            }
            let spent = std::mem::replace(&mut family.current, successor.hash());
            family.spent.push_back(spent);
            let forgotten = if family.spent.len() > REMEMBERED_SPENT_TOKENS {
                family.spent.pop_front()
            } else {
                None
            };
            let session = family.session.clone();
            let current = family.current.clone();
            if let Some(forgotten) = forgotten {
                state.tokens.remove(&forgotten);
            }
            state.tokens.insert(current, id.clone());
            state.wrote(now);
            Ok(Rotated {
                token: successor,
                record: RefreshRecord {
                    family: id,
                    session,
                },
            })
        })
    }

    fn revoke<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let hash = token_hash(token);
            let mut state = self.lock();
            let Some(id) = state.tokens.get(&hash).cloned() else {
                return Ok(false);
            };
            Ok(state.families.get_mut(&id).is_some_and(|family| {
                family.revoked = true;
                true
            }))
        })
    }

    fn revoke_family<'a>(
        &'a self,
        family: &'a FamilyId,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            Ok(state.families.get_mut(family).is_some_and(|family| {
                family.revoked = true;
                true
            }))
        })
    }
}

/// An in-memory [`RevocationStore`]. Clones share the same state. Its revocations reach
/// a [`RevocationCheck`](crate::validate::RevocationCheck) built on it at once (its
/// [`feed`](RevocationStore::feed) is always live).
#[derive(Clone, Default)]
pub struct MemoryRevocationStore {
    state: Arc<Mutex<RevokedJtis>>,
    feed: LocalFeed,
}

#[derive(Clone)]
struct LocalFeed(RevocationFeed);

impl Default for LocalFeed {
    fn default() -> Self {
        Self(RevocationFeed::local())
    }
}

#[derive(Default)]
struct RevokedJtis {
    until: HashMap<String, i64>,
    /// Ended sessions (refresh-token family ids), apart from the token ids.
    sessions: HashMap<String, i64>,
    writes: u32,
}

impl RevokedJtis {
    fn revoke(&mut self, session: bool, id: &str, until: i64, now: i64) {
        let map = if session {
            &mut self.sessions
        } else {
            &mut self.until
        };
        let entry = map.entry(id.to_owned()).or_insert(until);
        *entry = (*entry).max(until);
        self.writes = self.writes.wrapping_add(1);
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            self.until.retain(|_, until| *until > now);
            self.sessions.retain(|_, until| *until > now);
        }
    }
}

impl fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("revoked", &self.lock().until.len())
            .finish()
    }
}

impl MemoryRevocationStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, RevokedJtis> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RevocationStore for MemoryRevocationStore {
    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let now = now();
            if until > now {
                self.lock().revoke(false, jti, until, now);
                self.feed.0.notify(&format!("{JTI_KEY_PREFIX}{jti}"));
            }
            Ok(())
        })
    }

    fn is_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.lock().until.get(jti).is_some_and(|u| *u > now())) })
    }

    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let now = now();
            if until > now {
                self.lock().revoke(true, sid, until, now);
                self.feed.0.notify(&format!("{SID_KEY_PREFIX}{sid}"));
            }
            Ok(())
        })
    }

    fn is_session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.lock().sessions.get(sid).is_some_and(|u| *u > now())) })
    }

    fn feed(&self) -> Option<RevocationFeed> {
        Some(self.feed.0.clone())
    }
}
