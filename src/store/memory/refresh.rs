//! The refresh-token side of [`MemoryStore`]: families, their current and spent tokens,
//! and the per-subject and global caps.

use std::collections::{HashMap, VecDeque};

use super::super::refresh::{
    token_hash, RefreshError, RefreshRecord, RefreshToken, RefreshTokenStore, Rotated, Session,
};
use super::super::{now, random_b64, BoxFuture, StoreError};
use super::{
    locked, MemoryStore, DEFAULT_MAX_FAMILIES, DEFAULT_MAX_SESSIONS_PER_SUBJECT,
    REMEMBERED_SPENT_TOKENS, SWEEP_EVERY,
};

pub(super) struct Families {
    /// Token hash -> family id, for current and remembered spent tokens alike (reuse
    /// detection).
    pub(super) tokens: HashMap<String, String>,
    pub(super) families: HashMap<String, Family>,
    /// Subject -> its families, oldest login first.
    subjects: HashMap<String, VecDeque<String>>,
    pub(super) max_families: usize,
    pub(super) max_per_subject: usize,
    writes: u32,
}

pub(super) struct Family {
    session: Session,
    current: String,
    /// Spent token hashes, oldest first.
    spent: VecDeque<String>,
    revoked: bool,
}

impl Families {
    pub(super) fn new() -> Self {
        Self {
            tokens: HashMap::new(),
            families: HashMap::new(),
            subjects: HashMap::new(),
            max_families: DEFAULT_MAX_FAMILIES,
            max_per_subject: DEFAULT_MAX_SESSIONS_PER_SUBJECT,
            writes: 0,
        }
    }

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

    fn remove_family(&mut self, id: &str) {
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
    fn live(&self, hash: &str, now: i64) -> Option<(&String, &Family)> {
        let id = self.tokens.get(hash)?;
        let family = self.families.get(id)?;
        (!family.revoked && family.session.expires_at > now).then_some((id, family))
    }
}

impl RefreshTokenStore for MemoryStore {
    fn issue<'a>(
        &'a self,
        session: &'a Session,
    ) -> BoxFuture<'a, Result<RefreshToken, StoreError>> {
        Box::pin(async move {
            let token = RefreshToken::generate()?;
            let id = random_b64::<16>()?;
            let hash = token.hash();
            let now = now();
            let mut state = locked(&self.refresh);
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
            let state = locked(&self.refresh);
            Ok(state.live(&hash, now()).map(|(id, family)| RefreshRecord {
                family: id.clone(),
                session: family.session.clone(),
            }))
        })
    }

    fn rotate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Rotated, RefreshError>> {
        Box::pin(async move {
            let hash = token_hash(token);
            let successor = RefreshToken::generate()?;
            let now = now();
            let mut state = locked(&self.refresh);
            let id = match state.live(&hash, now) {
                Some((id, _)) => id.clone(),
                None => return Err(RefreshError::InvalidGrant),
            };
            let family = state
                .families
                .get_mut(&id)
                .ok_or(RefreshError::InvalidGrant)?;
            if family.current != hash {
                family.revoked = true;
                return Err(RefreshError::Reused);
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
            let mut state = locked(&self.refresh);
            let Some(id) = state.tokens.get(&hash).cloned() else {
                return Ok(false);
            };
            Ok(state.families.get_mut(&id).is_some_and(|family| {
                family.revoked = true;
                true
            }))
        })
    }

    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut state = locked(&self.refresh);
            Ok(state.families.get_mut(family).is_some_and(|family| {
                family.revoked = true;
                true
            }))
        })
    }
}
