//! [`RedisStore`]: refresh-token families and revoked token ids on a Redis server or a
//! Redis Cluster (feature `redis`), shared by every node of a service.
//!
//! # Keys
//!
//! All keys start with a configurable prefix (default `tower-bearer:`). Every key of
//! one family carries the family id as its hash tag (`{...}`), so on a cluster they sit
//! in one slot and each operation is one command or script on one node:
//!
//! | key | type | holds | expires |
//! |---|---|---|---|
//! | `{prefix}fam:{family}` | hash | `sub`, `client`, `scope`, `exp`, `cur` (hash of the current token), `state` (`active`/`revoked`) | at `exp` |
//! | `{prefix}spent:{family}` | set | hashes of the family's used tokens | at `exp` |
//! | `{prefix}jti:{jti}` | string | `1` | at the token's `exp` |
//!
//! A refresh token is `<family>.<256 random bits>` (base64url), so the family, and with
//! it every key an operation touches, is known from the token before Redis is asked;
//! scripts get all their keys in `KEYS` and never build or parse one.
//!
//! # Atomicity
//!
//! Issuing, rotation and revocation run as Lua scripts, which Redis executes
//! atomically: between reading `cur` and writing the successor no other command runs,
//! so of any number of concurrent rotations of one token exactly one sees it current.
//!
//! # Push
//!
//! Revocations are published on the channel `{prefix}revoked` (a Redis Cluster
//! broadcasts ordinary `PUBLISH` to every node). Each store subscribes (to the server,
//! or to one cluster seed after the other) and hands what it hears to its
//! [`RevocationFeed`]: a [`RevocationCheck`](crate::validate::RevocationCheck) on this
//! store learns of a revocation at once on the revoking node and within one pub/sub
//! hop elsewhere. While the subscription is down the check falls back to polling.

use std::fmt;
use std::sync::Arc;

use redis::{AsyncCommands as _, FromRedisValue, Script};

use super::feed::{RevocationFeed, JTI_KEY_PREFIX};
use super::redis_conn::{backend, RedisConfig, RedisConnection};
use super::refresh::{
    token_hash, FamilyId, RefreshRecord, RefreshToken, RefreshTokenStore, RotateError, Rotated,
    Session,
};
use super::revocation::RevocationStore;
use super::{now, BoxFuture, StoreError};

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "tower-bearer:";

/// KEYS: family, spent. ARGV: sub, client, scope, exp, hash of the first token.
const ISSUE: &str = r"
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'client', ARGV[2], 'scope', ARGV[3],
  'exp', ARGV[4], 'cur', ARGV[5], 'state', 'active')
redis.call('EXPIREAT', KEYS[1], ARGV[4])
redis.call('DEL', KEYS[2])
return 1
";

/// KEYS: family, spent. ARGV: presented hash.
/// Returns {state, exp, sub, client, scope} if the token is current or spent, else {}.
const LOOKUP: &str = r"
local f = redis.call('HMGET', KEYS[1], 'cur', 'state', 'exp', 'sub', 'client', 'scope')
if not f[1] then return {} end
if f[1] ~= ARGV[1] and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {} end
return {f[2], f[3], f[4], f[5], f[6]}
";

/// KEYS: family, spent. ARGV: now, presented hash, successor hash.
/// Returns {"ok", sub, client, scope, exp} | {"invalid"} | {"reused"}.
const ROTATE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'cur', 'state', 'exp', 'sub', 'client', 'scope')
if not f[1] or f[2] ~= 'active' or tonumber(f[3]) <= tonumber(ARGV[1]) then
  return {'invalid'}
end
if f[1] ~= ARGV[2] then
  if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then
    redis.call('HSET', KEYS[1], 'state', 'revoked')
    return {'reused'}
  end
  return {'invalid'}
end
redis.call('HSET', KEYS[1], 'cur', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('EXPIREAT', KEYS[2], f[3])
return {'ok', f[4], f[5], f[6], f[3]}
";

/// KEYS: family, spent. ARGV: presented hash. Returns 1 if a family was revoked.
const REVOKE: &str = r"
local cur = redis.call('HGET', KEYS[1], 'cur')
if not cur then return 0 end
if cur ~= ARGV[1] and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'revoked')
return 1
";

/// KEYS: family. Returns 1 if it existed.
const REVOKE_FAMILY: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'revoked')
return 1
";

/// The family a token names (`<family>.<random>`), if it is shaped like ours.
fn family_of(token: &str) -> Option<FamilyId> {
    let (family, secret) = token.split_once('.')?;
    let b64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (family.len() == 22 && secret.len() == 43 && b64url(family) && b64url(secret))
        .then(|| FamilyId(family.to_owned()))
}

/// A [`RefreshTokenStore`] and [`RevocationStore`] on one Redis server or a Redis
/// Cluster. Clones share one multiplexed, self-reconnecting connection (a pool of them,
/// one per node, on a cluster) and one revocation subscription.
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
    conn: RedisConnection,
    prefix: Arc<str>,
    shared: Arc<Shared>,
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
    subscription: Option<(Vec<String>, std::time::Duration)>,
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

    /// The connection, for commands of your own.
    #[must_use]
    pub fn connection(&self) -> &RedisConnection {
        &self.conn
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

    /// Announces that `key` (`<kind>:<id>`, for example `jti:<jti>`) was revoked: to
    /// this process's feed at once, then to every node through Redis. Call it after the
    /// revocation is stored.
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

    fn family_key(&self, family: &FamilyId) -> String {
        format!("{}fam:{{{}}}", self.prefix, family.as_str())
    }

    fn spent_key(&self, family: &FamilyId) -> String {
        format!("{}spent:{{{}}}", self.prefix, family.as_str())
    }

    fn jti_key(&self, jti: &str) -> String {
        format!("{}jti:{{{jti}}}", self.prefix)
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
}

impl RefreshTokenStore for RedisStore {
    fn issue<'a>(
        &'a self,
        session: &'a Session,
    ) -> BoxFuture<'a, Result<RefreshToken, StoreError>> {
        Box::pin(async move {
            let family = FamilyId::generate()?;
            let token = RefreshToken::generate_in(&family)?;
            let hash = token.hash();
            let exp = session.expires_at.to_string();
            let family_key = self.family_key(&family);
            let spent_key = self.spent_key(&family);
            let _: i64 = self
                .run(
                    &self.shared.issue,
                    ISSUE,
                    &[&family_key, &spent_key],
                    &[
                        &session.subject,
                        &session.client_id,
                        &session.scope,
                        &exp,
                        &hash,
                    ],
                    false,
                )
                .await?;
            Ok(token)
        })
    }

    fn lookup<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshRecord>, StoreError>> {
        Box::pin(async move {
            let Some(family) = family_of(token) else {
                return Ok(None);
            };
            let fields: Vec<Option<String>> = self
                .run(
                    &self.shared.lookup,
                    LOOKUP,
                    &[&self.family_key(&family), &self.spent_key(&family)],
                    &[&token_hash(token)],
                    false,
                )
                .await?;
            let [Some(state), Some(exp), Some(subject), Some(client_id), Some(scope)] =
                <[Option<String>; 5]>::try_from(fields).unwrap_or_default()
            else {
                return Ok(None);
            };
            let expires_at: i64 = exp.parse().map_err(|_| bad_reply())?;
            if state != "active" || expires_at <= now() {
                return Ok(None);
            }
            Ok(Some(RefreshRecord {
                family,
                session: Session {
                    subject,
                    client_id,
                    scope,
                    expires_at,
                },
            }))
        })
    }

    fn rotate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Rotated, RotateError>> {
        Box::pin(async move {
            let Some(family) = family_of(token) else {
                return Err(RotateError::Invalid);
            };
            let successor = RefreshToken::generate_in(&family)?;
            let reply: Vec<String> = self
                .run(
                    &self.shared.rotate,
                    ROTATE,
                    &[&self.family_key(&family), &self.spent_key(&family)],
                    &[&now().to_string(), &token_hash(token), &successor.hash()],
                    true,
                )
                .await?;
            match reply.as_slice() {
                [ok, subject, client_id, scope, exp] if ok == "ok" => Ok(Rotated {
                    token: successor,
                    record: RefreshRecord {
                        family,
                        session: Session {
                            subject: subject.clone(),
                            client_id: client_id.clone(),
                            scope: scope.clone(),
                            expires_at: exp.parse().map_err(|_| bad_reply())?,
                        },
                    },
                }),
                [reused] if reused == "reused" => Err(RotateError::Reused),
                [invalid] if invalid == "invalid" => Err(RotateError::Invalid),
                _ => Err(bad_reply().into()),
            }
        })
    }

    fn revoke<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let Some(family) = family_of(token) else {
                return Ok(false);
            };
            let revoked: i64 = self
                .run(
                    &self.shared.revoke,
                    REVOKE,
                    &[&self.family_key(&family), &self.spent_key(&family)],
                    &[&token_hash(token)],
                    true,
                )
                .await?;
            Ok(revoked == 1)
        })
    }

    fn revoke_family<'a>(
        &'a self,
        family: &'a FamilyId,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let revoked: i64 = self
                .run(
                    &self.shared.revoke_family,
                    REVOKE_FAMILY,
                    &[&self.family_key(family)],
                    &[],
                    true,
                )
                .await?;
            Ok(revoked == 1)
        })
    }
}

fn bad_reply() -> StoreError {
    StoreError::Backend("unexpected reply from Redis".into())
}

impl RevocationStore for RedisStore {
    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let remaining = until.saturating_sub(now());
            if remaining <= 0 {
                return Ok(());
            }
            let mut conn = self.conn.clone();
            // Revoking twice writes the same deadline: a token's exp is fixed.
            let mut pipe = redis::pipe();
            pipe.set_ex(
                self.jti_key(jti),
                1,
                u64::try_from(remaining).unwrap_or(u64::MAX),
            )
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
            self.announce(&format!("{JTI_KEY_PREFIX}{jti}")).await
        })
    }

    fn is_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            conn.exists(self.jti_key(jti))
                .await
                .map_err(|e| backend(&e))
        })
    }

    fn feed(&self) -> Option<RevocationFeed> {
        Some(self.shared.feed.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_family() {
        let family = FamilyId::generate().unwrap();
        let token = RefreshToken::generate_in(&family).unwrap();
        assert_eq!(family_of(token.as_str()), Some(family));
        for bad in ["", ".", "abc", "a.b", &format!("{}.", "A".repeat(22))] {
            assert_eq!(family_of(bad), None, "{bad}");
        }
        let braces = format!("{}.{}", "{".repeat(22), "A".repeat(43));
        assert_eq!(family_of(&braces), None);
    }
}
