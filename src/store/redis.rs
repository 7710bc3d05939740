//! [`RedisStore`]: refresh-token families, revoked token ids, ended sessions and seen
//! DPoP proofs on a Redis server or a Redis Cluster (feature `redis`), shared by every
//! node of a service.
//!
//! # Keys
//!
//! All keys start with a configurable prefix (default `tower-bearer:`). A subject's
//! families and its session index carry one hash tag (`{...}`, eight characters derived
//! from the subject), so on a cluster they sit in one slot and each operation is one
//! command or script on one node:
//!
//! | key | type | holds | expires |
//! |---|---|---|---|
//! | `{prefix}fam:{tag}{rest}` | hash | `sub`, `client`, `scope`, `exp`, `cur` (hash of the current token), `state` (`active`/`revoked`) | at `exp` |
//! | `{prefix}spent:{tag}{rest}` | set | hashes of the family's used tokens | at `exp` |
//! | `{prefix}sub:{tag}{subject}` | sorted set | the subject's family ids, scored by login time (µs) | with its longest-lived family |
//! | `{prefix}jti:{jti}` | string | `1` | at the token's `exp` |
//! | `{prefix}sid:{family}` | string | `1` (the session was ended) | a day past the family's `exp` |
//! | `{prefix}dpop:{id}` | string | `1`: a DPoP proof seen (hex SHA-256 of key and `jti`) | when the proof goes stale |
//!
//! A family id is the subject's tag followed by 128 random bits (30 base64url
//! characters), and a refresh token is `<family>.<256 random bits>`: the family, and
//! with it every key an operation touches, is known from the token before Redis is
//! asked. Scripts get all their keys in `KEYS` and never build or parse one. The other
//! keys are touched one command at a time and need no tag.
//!
//! # Bounds
//!
//! A subject holds at most [`with_max_sessions_per_subject`](RedisStore::with_max_sessions_per_subject)
//! families ([`DEFAULT_MAX_SESSIONS_PER_SUBJECT`] by default): the login that would
//! exceed it ends that subject's oldest family (its keys are deleted, so its refresh
//! token is refused as unknown), atomically with the new family's creation: the login
//! first reads the subject's index and passes every family key it names to the script.
//! Only a session that a racing login of the same subject added in between, and that
//! is already the oldest beyond the cap, is taken out of the index in the script and
//! its keys deleted right after it. Other subjects' sessions are never touched by it. There is no global cap in the store: bound Redis with
//! `maxmemory` and the `noeviction` policy, so a full Redis refuses new logins (`503`)
//! rather than dropping arbitrary sessions.
//!
//! # Atomicity
//!
//! Issuing, rotation and revocation run as Lua scripts, which Redis executes
//! atomically: between reading `cur` and writing the successor no other command runs,
//! so of any number of concurrent rotations of one token exactly one sees it current.
//!
//! # Push
//!
//! Revocations (`jti:<jti>`, and `sid:<sid>` for ended sessions) are published on the
//! channel `{prefix}revoked` (a Redis Cluster broadcasts ordinary `PUBLISH` to every
//! node). Each store subscribes (to the server, or to one cluster seed after the other)
//! and hands what it hears to its [`RevocationFeed`]: a
//! [`RevocationCheck`](crate::validate::RevocationCheck) on this store learns of a
//! revocation at once on the revoking node and within one pub/sub hop elsewhere. While
//! the subscription is down the check falls back to polling.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use redis::{AsyncCommands as _, FromRedisValue, Script};
use sha2::{Digest as _, Sha256};

use super::feed::{RevocationFeed, JTI_KEY_PREFIX, SID_KEY_PREFIX};
use super::memory::DEFAULT_MAX_SESSIONS_PER_SUBJECT;
use super::redis_conn::{backend, RedisConfig, RedisConnection};
use super::refresh::{
    token_hash, RefreshError, RefreshRecord, RefreshToken, RefreshTokenStore, Rotated, Session,
};
use super::revocation::RevocationStore;
use super::{now, random_b64, BoxFuture, StoreError};

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "tower-bearer:";

/// Length of a subject's hash tag (base64url of 48 bits of its SHA-256).
const TAG_LEN: usize = 8;
/// Length of a family id: the tag and 128 random bits.
const FAMILY_LEN: usize = TAG_LEN + 22;

mod families;

use families::{bad_reply, subject_tag, tagged, ISSUE, LOOKUP, REVOKE, REVOKE_FAMILY, ROTATE};
#[cfg(test)]
use families::{family_of, new_family};

/// A [`RefreshTokenStore`], [`RevocationStore`], DPoP [`ReplayStore`](crate::dpop::ReplayStore)
/// and (feature `token-endpoint`) [`LoginThrottle`](super::LoginThrottle) on one Redis
/// server or a Redis Cluster.
/// Clones share one multiplexed, self-reconnecting connection (a pool of them, one per
/// node, on a cluster) and one revocation subscription.
///
/// ```no_run
/// use tower_bearer::store::{RedisConfig, RedisStore};
///
/// # async fn f() -> Result<(), tower_bearer::store::StoreError> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?.with_prefix("myapp:auth:");
/// let cluster = RedisStore::connect_with(&RedisConfig::cluster_from_list(
///     "redis://10.0.0.1:7000,redis://10.0.0.2:7000",
/// ))
/// .await?;
/// # let _ = (store, cluster); Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    pub(super) conn: RedisConnection,
    pub(super) prefix: Arc<str>,
    max_per_subject: usize,
    shared: Arc<Shared>,
    #[cfg(feature = "token-endpoint")]
    pub(super) throttle: super::redis_throttle::Throttle,
}

struct Shared {
    issue: Script,
    lookup: Script,
    rotate: Script,
    revoke: Script,
    revoke_family: Script,
    feed: RevocationFeed,
    replica_acks: u32,
    replica_ack_timeout_ms: u64,
    subscriber: Option<tokio::task::JoinHandle<()>>,
    subscription: Option<(Vec<String>, Duration)>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = &self.subscriber {
            task.abort();
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("max_per_subject", &self.max_per_subject)
            .field("connection", &self.conn)
            .field("push_live", &self.shared.feed.is_live())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to one server at `url` (`redis://[user:password@]host:port/db`, or
    /// `rediss://` if the `redis` crate is built with TLS) with the default
    /// [`RedisConfig`]: commands time out after 2 s; the connection is re-established
    /// in the background when it drops (3 tries, at most 250 ms apart).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(&RedisConfig::single(url)).await
    }

    /// Connects as `config` says (one server or a cluster), and subscribes to the
    /// revocation channel in a background task (call it within a Tokio runtime).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if a URL is invalid or no server can be reached.
    pub async fn connect_with(config: &RedisConfig) -> Result<Self, StoreError> {
        let conn = config.open().await?;
        let mut store = Self::build(conn, config);
        store.subscribe(config);
        Ok(store)
    }

    /// A store over an existing single-server connection manager, without a push
    /// subscription (revocations made elsewhere are polled).
    #[must_use]
    pub fn from_connection(conn: redis::aio::ConnectionManager) -> Self {
        Self::build(
            RedisConnection::from_manager(conn),
            &RedisConfig::single(""),
        )
    }

    fn build(conn: RedisConnection, config: &RedisConfig) -> Self {
        Self {
            conn,
            prefix: DEFAULT_PREFIX.into(),
            max_per_subject: DEFAULT_MAX_SESSIONS_PER_SUBJECT,
            shared: Arc::new(Shared {
                issue: Script::new(ISSUE),
                lookup: Script::new(LOOKUP),
                rotate: Script::new(ROTATE),
                revoke: Script::new(REVOKE),
                revoke_family: Script::new(REVOKE_FAMILY),
                feed: RevocationFeed::new(),
                replica_acks: config.replica_acks,
                replica_ack_timeout_ms: u64::try_from(config.replica_ack_timeout.as_millis())
                    .unwrap_or(u64::MAX),
                subscriber: None,
                subscription: None,
            }),
            #[cfg(feature = "token-endpoint")]
            throttle: super::redis_throttle::Throttle::default(),
        }
    }

    fn subscribe(&mut self, config: &RedisConfig) {
        let task = super::redis_feed::spawn(
            config.urls.clone(),
            self.channel(),
            self.shared.feed.clone(),
            config.connect_timeout,
        );
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.subscriber = Some(task);
            shared.subscription = Some((config.urls.clone(), config.connect_timeout));
        }
    }

    /// Puts all keys under `prefix` instead of `tower-bearer:` (several services or
    /// environments on one Redis). Avoid braces in it: a `{...}` in the prefix would
    /// become every key's hash tag and put all of them in one cluster slot. Call it
    /// before the store is cloned: the subscription follows the new channel name only
    /// then.
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.into();
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            if let Some(task) = shared.subscriber.take() {
                task.abort();
                shared.feed.set_live(false);
                if let Some((urls, timeout)) = shared.subscription.clone() {
                    shared.subscriber = Some(super::redis_feed::spawn(
                        urls,
                        format!("{prefix}revoked"),
                        shared.feed.clone(),
                        timeout,
                    ));
                }
            }
        }
        self
    }

    /// Keeps at most `max` sessions (refresh-token families) per subject: a login
    /// beyond it ends that subject's oldest session. Default
    /// [`DEFAULT_MAX_SESSIONS_PER_SUBJECT`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`](crate::ConfigError::OutOfRange) for `0`.
    pub fn with_max_sessions_per_subject(mut self, max: usize) -> Result<Self, crate::ConfigError> {
        if max == 0 {
            return Err(crate::ConfigError::OutOfRange("max_sessions_per_subject"));
        }
        self.max_per_subject = max;
        Ok(self)
    }

    /// The feed this store's revocations (its own and, while subscribed, every node's)
    /// arrive on.
    #[must_use]
    pub fn revocation_feed(&self) -> &RevocationFeed {
        &self.shared.feed
    }

    /// The pub/sub channel revocations are announced on.
    #[must_use]
    pub fn channel(&self) -> String {
        format!("{}revoked", self.prefix)
    }

    /// Announces that `key` (`<kind>:<id>`, for example `jti:<jti>` or `sid:<sid>`) was
    /// revoked: to this process's feed at once, then to every node through Redis. Call
    /// it after the revocation is stored.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if Redis did not take the message; the revocation is
    /// stored all the same, and other nodes see it when they next poll.
    pub async fn announce(&self, key: &str) -> Result<(), StoreError> {
        self.shared.feed.notify(key);
        let mut conn = self.conn.clone();
        conn.publish::<_, _, i64>(self.channel(), key)
            .await
            .map(drop)
            .map_err(|e| backend(&e))
    }

    /// The subject index's key; `{tag}` first, so it is the hash tag.
    fn subject_key(&self, subject: &str) -> String {
        format!("{}sub:{{{}}}{subject}", self.prefix, subject_tag(subject))
    }

    fn family_key(&self, family: &str) -> String {
        format!("{}fam:{}", self.prefix, tagged(family))
    }

    fn spent_key(&self, family: &str) -> String {
        format!("{}spent:{}", self.prefix, tagged(family))
    }

    fn jti_key(&self, jti: &str) -> String {
        format!("{}jti:{jti}", self.prefix)
    }

    fn sid_key(&self, sid: &str) -> String {
        format!("{}sid:{sid}", self.prefix)
    }

    fn wait_commands(&self, pipe: &mut redis::Pipeline) {
        pipe.cmd("WAIT")
            .arg(self.shared.replica_acks)
            .arg(self.shared.replica_ack_timeout_ms)
            .cmd("ROLE");
    }

    /// Whether a write is as safe as the configuration asks: acknowledged by the
    /// configured number of replicas, or by every connected replica when fewer are
    /// connected (a primary with no replica left after a failover keeps working: no
    /// stale copy of its data can be promoted while none is connected).
    fn check_acks(&self, acks: usize, role: &redis::Value) -> Result<(), StoreError> {
        let wanted = usize::try_from(self.shared.replica_acks).unwrap_or(usize::MAX);
        let connected = match role {
            redis::Value::Array(items) => match items.get(2) {
                Some(redis::Value::Array(replicas)) => replicas.len(),
                _ => 0,
            },
            _ => return Err(bad_reply()),
        };
        if acks >= wanted.min(connected) {
            Ok(())
        } else {
            Err(StoreError::Backend(format!(
                "{acks} of {connected} connected replicas acknowledged the write"
            )))
        }
    }

    /// Runs `script` on `keys` and `args`; for writes that must survive a failover,
    /// then waits for the configured replica acknowledgements.
    async fn run<T: FromRedisValue>(
        &self,
        script: &Script,
        source: &str,
        keys: &[&str],
        args: &[&str],
        durable: bool,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        if !durable || self.shared.replica_acks == 0 {
            let mut invocation = script.prepare_invoke();
            for key in keys {
                invocation.key(*key);
            }
            for arg in args {
                invocation.arg(*arg);
            }
            return invocation
                .invoke_async(&mut conn)
                .await
                .map_err(|e| backend(&e));
        }
        // One pipeline, so `WAIT` (and `ROLE`) go to the node that ran the script.
        let mut pipe = redis::pipe();
        pipe.cmd("EVAL")
            .arg(source)
            .arg(keys.len())
            .arg(keys)
            .arg(args);
        self.wait_commands(&mut pipe);
        let (value, acks, role): (T, usize, redis::Value) =
            pipe.query_async(&mut conn).await.map_err(|e| backend(&e))?;
        self.check_acks(acks, &role)?;
        Ok(value)
    }

    /// Marks `key` (a single key: no tag needed) until `until`, waits for the replica
    /// acknowledgements if configured, then announces `notice` to every node.
    async fn mark_until(&self, key: String, until: i64, notice: String) -> Result<(), StoreError> {
        let remaining = until.saturating_sub(now());
        if remaining <= 0 {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        // Marking twice writes the same deadline: a token's exp is fixed.
        let mut pipe = redis::pipe();
        pipe.set_ex(key, 1, u64::try_from(remaining).unwrap_or(u64::MAX))
            .ignore();
        if self.shared.replica_acks > 0 {
            self.wait_commands(&mut pipe);
            let (acks, role): (usize, redis::Value) =
                pipe.query_async(&mut conn).await.map_err(|e| backend(&e))?;
            self.check_acks(acks, &role)?;
        } else {
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
        }
        self.announce(&notice).await
    }
}

impl RevocationStore for RedisStore {
    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.mark_until(self.jti_key(jti), until, format!("{JTI_KEY_PREFIX}{jti}")))
    }

    fn is_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            conn.exists(self.jti_key(jti))
                .await
                .map_err(|e| backend(&e))
        })
    }

    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.mark_until(self.sid_key(sid), until, format!("{SID_KEY_PREFIX}{sid}")))
    }

    fn is_session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            conn.exists(self.sid_key(sid))
                .await
                .map_err(|e| backend(&e))
        })
    }

    fn feed(&self) -> Option<RevocationFeed> {
        Some(self.shared.feed.clone())
    }
}

/// DPoP proofs seen (RFC 9449 §11.1): `SET {prefix}dpop:{id} 1 NX EX ttl`, one atomic
/// single-key command (fine on a cluster), so of several nodes seeing one proof exactly
/// one accepts it.
impl crate::dpop::ReplayStore for RedisStore {
    fn first_use(
        &self,
        id: [u8; 32],
        ttl: Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        let mut conn = self.conn.clone();
        let key = format!("{}dpop:{}", self.prefix, crate::dpop::id_hex(&id));
        Box::pin(async move {
            let set: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("NX")
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            Ok(set.is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_family() {
        let family = new_family("alice").unwrap();
        assert_eq!(family.as_str().len(), FAMILY_LEN);
        assert!(family.as_str().starts_with(&subject_tag("alice")));
        let token = RefreshToken::generate_in(&family).unwrap();
        assert_eq!(family_of(token.as_str()), Some(family));
        for bad in [
            "",
            ".",
            "abc",
            "a.b",
            &format!("{}.", "A".repeat(FAMILY_LEN)),
        ] {
            assert_eq!(family_of(bad), None, "{bad}");
        }
        let braces = format!("{}.{}", "{".repeat(FAMILY_LEN), "A".repeat(43));
        assert_eq!(family_of(&braces), None);
    }

    #[test]
    fn a_subjects_keys_share_one_hash_tag() {
        let family = new_family("alice").unwrap();
        let tag = format!("{{{}}}", subject_tag("alice"));
        assert!(tagged(family.as_str()).starts_with(&tag));
        assert_ne!(subject_tag("alice"), subject_tag("bob"));
        // An id from elsewhere is tagged whole, never split.
        assert_eq!(tagged("short"), "{short}");
    }
}
