//! The revocation side of [`MemoryStore`]: revoked access-token ids and ended sessions,
//! each kept until the tokens would have expired anyway, pushed to the store's feed.

use std::collections::HashMap;

use super::super::feed::{JTI_KEY_PREFIX, SID_KEY_PREFIX};
use super::super::revocation::RevocationStore;
use super::super::{now, BoxFuture, RevocationFeed, StoreError};
use super::{locked, MemoryStore, SWEEP_EVERY};

#[derive(Default)]
pub(super) struct Revoked {
    pub(super) until: HashMap<String, i64>,
    /// Ended sessions (refresh-token family ids), apart from the token ids.
    sessions: HashMap<String, i64>,
    writes: u32,
}

impl Revoked {
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

impl RevocationStore for MemoryStore {
    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let now = now();
            if until > now {
                locked(&self.revoked).revoke(false, jti, until, now);
                self.feed.notify(&format!("{JTI_KEY_PREFIX}{jti}"));
            }
            Ok(())
        })
    }

    fn is_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            Ok(locked(&self.revoked)
                .until
                .get(jti)
                .is_some_and(|u| *u > now()))
        })
    }

    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let now = now();
            if until > now {
                locked(&self.revoked).revoke(true, sid, until, now);
                self.feed.notify(&format!("{SID_KEY_PREFIX}{sid}"));
            }
            Ok(())
        })
    }

    fn is_session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            Ok(locked(&self.revoked)
                .sessions
                .get(sid)
                .is_some_and(|u| *u > now()))
        })
    }

    fn feed(&self) -> Option<RevocationFeed> {
        Some(self.feed.clone())
    }
}
