//! [`MemoryStore`]: every store trait in this process's memory, for tests, examples and
//! single-node services; the memory twin of the Redis store. Each part runs under its
//! own mutex, so rotation is atomic by construction. State is lost on restart and not
//! shared between processes; use the Redis store for that.
//!
//! The parts live in their own files: refresh-token families (`refresh.rs`), revoked
//! token ids and ended sessions (`revocation.rs`), confidential clients (`clients.rs`)
//! and failed-login counters (`throttle.rs`).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::feed::RevocationFeed;
use crate::error::ConfigError;

#[cfg(feature = "token-endpoint")]
mod clients;
mod refresh;
mod revocation;
#[cfg(feature = "token-endpoint")]
mod throttle;

/// Expired entries are swept every this many writes.
const SWEEP_EVERY: u32 = 256;

/// Default bound on the refresh-token families (sessions) a [`MemoryStore`] keeps; see
/// [`MemoryStore::with_max_families`].
pub const DEFAULT_MAX_FAMILIES: usize = 100_000;

/// Default bound on the sessions (refresh-token families) one subject may hold; see
/// [`MemoryStore::with_max_sessions_per_subject`] (the Redis store has the same).
pub const DEFAULT_MAX_SESSIONS_PER_SUBJECT: usize = 16;

/// How many spent tokens of a family are remembered for reuse detection. An older one
/// is then refused as unknown (`invalid_grant`), without revoking the family.
pub const REMEMBERED_SPENT_TOKENS: usize = 64;

/// Refresh-token families, revocations, confidential clients and failed-login counters
/// in memory: a [`RefreshTokenStore`](super::RefreshTokenStore) and a
/// [`RevocationStore`](super::RevocationStore), and with the feature `token-endpoint` a
/// [`ClientStore`](super::ClientStore) and a [`LoginThrottle`](super::LoginThrottle).
/// Clones share the same state; configure it before cloning.
///
/// ```
/// use tower_bearer::store::{MemoryStore, RefreshTokenStore, RevocationStore, Session};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new().with_max_sessions_per_subject(4)?;
/// let exp = jsonwebtoken::get_current_timestamp() as i64 + 3600;
/// let token = store.issue(&Session::new("alice", "web", "me", exp)).await?;
/// assert!(store.lookup(token.as_str()).await?.is_some());
/// store.revoke_jti("token-id", exp).await?;
/// assert!(store.is_revoked("token-id").await?);
/// # Ok(())
/// # }
/// ```
///
/// # Refresh tokens
///
/// Bounded: at most [`with_max_sessions_per_subject`](Self::with_max_sessions_per_subject)
/// sessions per user ([`DEFAULT_MAX_SESSIONS_PER_SUBJECT`] by default: a user's next
/// login ends that user's oldest session), at most
/// [`with_max_families`](Self::with_max_families) sessions in all
/// ([`DEFAULT_MAX_FAMILIES`] by default; when full, a new login first sweeps the expired
/// ones, then ends the same user's oldest session, and only when that user has none the
/// session closest to its expiry), and per session the current token plus the last
/// [`REMEMBERED_SPENT_TOKENS`] spent ones.
///
/// # Revocation
///
/// Its revocations reach a [`RevocationCheck`](crate::validate::RevocationCheck) built
/// on it at once (its [`feed`](super::RevocationStore::feed) is always live).
///
/// # Clients (feature `token-endpoint`)
///
/// The clients given to `with_clients`; secrets are verified with Argon2id on the
/// blocking thread pool (`tokio::task::spawn_blocking`), at most as many at once as
/// there are CPUs. Unknown client ids are verified against a dummy hash, so timing does
/// not reveal which ids exist.
///
/// # Login throttling (feature `token-endpoint`)
///
/// Counts in this process only: for a single node, with the `LoginThrottleConfig`
/// given to `with_login_throttle` (the defaults otherwise). At most 100,000 counters are
/// kept; past that, expired ones are dropped, and new names are not counted until room
/// frees up (the address count still applies to them).
#[derive(Clone)]
pub struct MemoryStore {
    refresh: Arc<Mutex<refresh::Families>>,
    revoked: Arc<Mutex<revocation::Revoked>>,
    feed: RevocationFeed,
    #[cfg(feature = "token-endpoint")]
    clients: clients::Clients,
    #[cfg(feature = "token-endpoint")]
    throttle: throttle::Counters,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("MemoryStore");
        {
            let families = locked(&self.refresh);
            out.field("families", &families.families.len())
                .field("tokens", &families.tokens.len());
        }
        out.field("revoked", &locked(&self.revoked).until.len());
        #[cfg(feature = "token-endpoint")]
        out.field("clients", &self.clients.ids())
            .field("login_throttle", &self.throttle.config);
        out.finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store keeping at most [`DEFAULT_MAX_FAMILIES`] sessions, no clients, and
    /// the default login-throttle limits.
    #[must_use]
    pub fn new() -> Self {
        Self {
            refresh: Arc::new(Mutex::new(refresh::Families::new())),
            revoked: Arc::new(Mutex::new(revocation::Revoked::default())),
            feed: RevocationFeed::local(),
            #[cfg(feature = "token-endpoint")]
            clients: clients::Clients::default(),
            #[cfg(feature = "token-endpoint")]
            throttle: throttle::Counters::default(),
        }
    }

    /// Keeps at most `max` refresh-token families (one per login). When a login finds
    /// the store full, expired families are swept, and if none expired the family
    /// closest to its expiry is ended: its refresh token is then refused as unknown and
    /// that client must log in again. Memory stays bounded whatever clients do.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for `0`.
    pub fn with_max_families(self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::OutOfRange("max_families"));
        }
        locked(&self.refresh).max_families = max;
        Ok(self)
    }

    /// Keeps at most `max` sessions per subject (user): a login beyond it ends that
    /// user's oldest session (its refresh token is then refused as unknown). One user
    /// logging in in a loop so never pushes out other users' sessions. Default
    /// [`DEFAULT_MAX_SESSIONS_PER_SUBJECT`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for `0`.
    pub fn with_max_sessions_per_subject(self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::OutOfRange("max_sessions_per_subject"));
        }
        locked(&self.refresh).max_per_subject = max;
        Ok(self)
    }
}

/// Locks a part of the store. Every critical section leaves its maps consistent, so a
/// poisoned lock is safe to use.
fn locked<T>(part: &Mutex<T>) -> MutexGuard<'_, T> {
    part.lock().unwrap_or_else(PoisonError::into_inner)
}
