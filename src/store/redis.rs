//! [`RedisStore`]: refresh-token families and revoked token ids on a Redis server
//! (feature `redis`), shared by every node of a service.
//!
//! # Keys
//!
//! All keys start with a configurable prefix (default `tower-bearer:`):
//!
//! | key | type | holds | expires |
//! |---|---|---|---|
//! | `{prefix}rt:{sha256(token)}` | string | the family id, for current and used tokens | with the family |
//! | `{prefix}fam:{family}` | hash | `sub`, `client`, `scope`, `exp`, `cur` (hash of the current token), `state` (`active`/`revoked`) | at `exp` |
//! | `{prefix}jti:{jti}` | string | `1` | at the token's `exp` |
//! | `{prefix}sid:{family}` | string | `1` (the session was ended) | a day past the family's `exp` |
//! | `{prefix}dpop:{id}` | string | `1`: a DPoP proof seen (hex SHA-256 of key and `jti`) | when the proof goes stale |
//! | `{prefix}sub:{subject}` | sorted set | the subject's family ids, scored by login time (µs) | with its longest-lived family |
//!
//! # Bounds
//!
//! A subject holds at most [`with_max_sessions_per_subject`](RedisStore::with_max_sessions_per_subject)
//! families ([`DEFAULT_MAX_SESSIONS_PER_SUBJECT`] by default): the login that would
//! exceed it ends that subject's oldest family (its keys are deleted, so its refresh
//! token is refused as unknown), atomically with the new family's creation. Other
//! subjects' sessions are never touched by it. There is no global cap in the store:
//! bound Redis with `maxmemory` and the `noeviction` policy, so a full Redis refuses
//! new logins (`503`) rather than dropping arbitrary sessions.
//!
//! # Atomicity
//!
//! Rotation and revocation run as Lua scripts (`EVALSHA`, loaded on first use), which
//! Redis executes atomically: between reading `cur` and writing the successor no other
//! command runs, so of any number of concurrent rotations of one token exactly one
//! sees it current. Issuing is a `MULTI`/`EXEC` transaction. The scripts derive the
//! family key from the token key's value, so they are written for a single Redis
//! server (or a primary with replicas), not Redis Cluster.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, Script};

use super::memory::DEFAULT_MAX_SESSIONS_PER_SUBJECT;
use super::refresh::{
    token_hash, FamilyId, RefreshRecord, RefreshToken, RefreshTokenStore, RotateError, Rotated,
    Session,
};
use super::revocation::RevocationStore;
use super::{now, BoxFuture, StoreError};

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "tower-bearer:";

/// KEYS[1] family key, KEYS[2] token key, KEYS[3] subject key. ARGV: prefix, family id,
/// sub, client, scope, exp, token hash, now (s), login time (µs), max per subject.
/// Creates the family, then ends the subject's oldest ones beyond the cap.
const ISSUE: &str = r"
redis.call('HSET', KEYS[1], 'sub', ARGV[3], 'client', ARGV[4], 'scope', ARGV[5],
  'exp', ARGV[6], 'cur', ARGV[7], 'state', 'active')
redis.call('EXPIREAT', KEYS[1], ARGV[6])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('EXPIREAT', KEYS[2], ARGV[6])
for _, fid in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if redis.call('EXISTS', ARGV[1] .. 'fam:' .. fid) == 0 then
    redis.call('ZREM', KEYS[3], fid)
  end
end
redis.call('ZADD', KEYS[3], ARGV[9], ARGV[2])
local ended = 0
while redis.call('ZCARD', KEYS[3]) > tonumber(ARGV[10]) do
  local oldest = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  redis.call('ZREM', KEYS[3], oldest)
  local fkey = ARGV[1] .. 'fam:' .. oldest
  local cur = redis.call('HGET', fkey, 'cur')
  if cur then redis.call('DEL', ARGV[1] .. 'rt:' .. cur) end
  redis.call('DEL', fkey)
  ended = ended + 1
end
local ttl = redis.call('TTL', KEYS[3])
if ttl < 0 or tonumber(ARGV[8]) + ttl < tonumber(ARGV[6]) then
  redis.call('EXPIREAT', KEYS[3], ARGV[6])
end
return ended
";

/// KEYS[1] token key. ARGV: prefix, now, successor hash.
/// Returns {"ok", fid, sub, client, scope, exp} | {"invalid"} | {"reused"}.
const ROTATE: &str = r"
local fid = redis.call('GET', KEYS[1])
if not fid then return {'invalid'} end
local fkey = ARGV[1] .. 'fam:' .. fid
local f = redis.call('HMGET', fkey, 'cur', 'state', 'exp', 'sub', 'client', 'scope')
if not f[1] or f[2] ~= 'active' or tonumber(f[3]) <= tonumber(ARGV[2]) then
  return {'invalid'}
end
local presented = string.sub(KEYS[1], string.len(ARGV[1]) + 4)
if f[1] ~= presented then
  redis.call('HSET', fkey, 'state', 'revoked')
  return {'reused'}
end
redis.call('HSET', fkey, 'cur', ARGV[3])
local nkey = ARGV[1] .. 'rt:' .. ARGV[3]
redis.call('SET', nkey, fid)
redis.call('EXPIREAT', nkey, tonumber(f[3]))
return {'ok', fid, f[4], f[5], f[6], f[3]}
";

/// KEYS[1] token key. ARGV: prefix. Returns 1 if a family was revoked, else 0.
const REVOKE: &str = r"
local fid = redis.call('GET', KEYS[1])
if not fid then return 0 end
local fkey = ARGV[1] .. 'fam:' .. fid
if redis.call('EXISTS', fkey) == 0 then return 0 end
redis.call('HSET', fkey, 'state', 'revoked')
return 1
";

/// KEYS[1] family key. Returns 1 if it existed.
const REVOKE_FAMILY: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'revoked')
return 1
";

/// A [`RefreshTokenStore`] and [`RevocationStore`] on Redis. Clones share one
/// multiplexed, self-reconnecting connection.
///
/// ```no_run
/// use tower_bearer::store::RedisStore;
///
/// # async fn f() -> Result<(), tower_bearer::store::StoreError> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?.with_prefix("myapp:auth:");
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
    max_per_subject: usize,
    scripts: Arc<Scripts>,
}

struct Scripts {
    issue: Script,
    rotate: Script,
    revoke: Script,
    revoke_family: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("max_per_subject", &self.max_per_subject)
            .finish_non_exhaustive()
    }
}

fn backend(e: &redis::RedisError) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl RedisStore {
    /// Connects to `url` (`redis://[user:password@]host:port/db`, or `rediss://` if the
    /// `redis` crate is built with TLS). Commands time out after 2 s; the connection is
    /// re-established in the background when it drops (3 tries, at most 250 ms apart).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| backend(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(2))
            .set_factor(1)
            .set_max_delay(250)
            .set_number_of_retries(3);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| backend(&e))?;
        Ok(Self::from_connection(conn))
    }

    /// A store over an existing connection manager.
    #[must_use]
    pub fn from_connection(conn: ConnectionManager) -> Self {
        Self {
            conn,
            prefix: DEFAULT_PREFIX.into(),
            max_per_subject: DEFAULT_MAX_SESSIONS_PER_SUBJECT,
            scripts: Arc::new(Scripts {
                issue: Script::new(ISSUE),
                rotate: Script::new(ROTATE),
                revoke: Script::new(REVOKE),
                revoke_family: Script::new(REVOKE_FAMILY),
            }),
        }
    }

    /// Puts all keys under `prefix` instead of `tower-bearer:` (several services or
    /// environments on one Redis).
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Keeps at most `max` sessions (refresh-token families) per subject: a login
    /// beyond it ends that subject's oldest session. Default
    /// [`DEFAULT_MAX_SESSIONS_PER_SUBJECT`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`](crate::ConfigError::InvalidValue) for `0`.
    pub fn with_max_sessions_per_subject(mut self, max: usize) -> Result<Self, crate::ConfigError> {
        if max == 0 {
            return Err(crate::ConfigError::InvalidValue("max_sessions_per_subject"));
        }
        self.max_per_subject = max;
        Ok(self)
    }

    fn subject_key(&self, subject: &str) -> String {
        format!("{}sub:{subject}", self.prefix)
    }

    fn token_key(&self, hash: &str) -> String {
        format!("{}rt:{hash}", self.prefix)
    }

    fn family_key(&self, family: &FamilyId) -> String {
        format!("{}fam:{}", self.prefix, family.as_str())
    }

    fn jti_key(&self, jti: &str) -> String {
        format!("{}jti:{jti}", self.prefix)
    }

    fn sid_key(&self, sid: &str) -> String {
        format!("{}sid:{sid}", self.prefix)
    }

    async fn mark_until(&self, key: String, until: i64) -> Result<(), StoreError> {
        let remaining = until.saturating_sub(now());
        if remaining <= 0 {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        conn.set_ex::<_, _, ()>(key, 1, u64::try_from(remaining).unwrap_or(u64::MAX))
            .await
            .map_err(|e| backend(&e))
    }
}

impl RefreshTokenStore for RedisStore {
    fn issue<'a>(
        &'a self,
        session: &'a Session,
    ) -> BoxFuture<'a, Result<RefreshToken, StoreError>> {
        Box::pin(async move {
            let token = RefreshToken::generate()?;
            let family = FamilyId::generate()?;
            let hash = token.hash();
            let mut conn = self.conn.clone();
            let login_micros = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros());
            self.scripts
                .issue
                .key(self.family_key(&family))
                .key(self.token_key(&hash))
                .key(self.subject_key(&session.subject))
                .arg(&*self.prefix)
                .arg(family.as_str())
                .arg(&session.subject)
                .arg(&session.client_id)
                .arg(&session.scope)
                .arg(session.expires_at)
                .arg(&hash)
                .arg(now())
                .arg(login_micros.to_string())
                .arg(self.max_per_subject)
                .invoke_async::<i64>(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            Ok(token)
        })
    }

    fn lookup<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshRecord>, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let family: Option<String> = conn
                .get(self.token_key(&token_hash(token)))
                .await
                .map_err(|e| backend(&e))?;
            let Some(family) = family.map(FamilyId) else {
                return Ok(None);
            };
            let fields: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(self.family_key(&family))
                .arg(&["state", "exp", "sub", "client", "scope"])
                .query_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
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
            let successor = RefreshToken::generate()?;
            let mut conn = self.conn.clone();
            let reply: Vec<String> = self
                .scripts
                .rotate
                .key(self.token_key(&token_hash(token)))
                .arg(&*self.prefix)
                .arg(now())
                .arg(successor.hash())
                .invoke_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            match reply.as_slice() {
                [ok, family, subject, client_id, scope, exp] if ok == "ok" => Ok(Rotated {
                    token: successor,
                    record: RefreshRecord {
                        family: FamilyId(family.clone()),
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
            let mut conn = self.conn.clone();
            let revoked: i64 = self
                .scripts
                .revoke
                .key(self.token_key(&token_hash(token)))
                .arg(&*self.prefix)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            Ok(revoked == 1)
        })
    }

    fn revoke_family<'a>(
        &'a self,
        family: &'a FamilyId,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let revoked: i64 = self
                .scripts
                .revoke_family
                .key(self.family_key(family))
                .invoke_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
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
            conn.set_ex::<_, _, ()>(
                self.jti_key(jti),
                1,
                u64::try_from(remaining).unwrap_or(u64::MAX),
            )
            .await
            .map_err(|e| backend(&e))
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

    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.mark_until(self.sid_key(sid), until))
    }

    fn is_session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            conn.exists(self.sid_key(sid))
                .await
                .map_err(|e| backend(&e))
        })
    }
}

/// DPoP proofs seen (RFC 9449 §11.1): `SET {prefix}dpop:{id} 1 NX EX ttl`, one atomic
/// command, so of several nodes seeing one proof exactly one accepts it.
impl crate::dpop::ReplayStore for RedisStore {
    fn first_use(
        &self,
        id: crate::dpop::ProofId,
        ttl: Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        let mut conn = self.conn.clone();
        let key = format!("{}dpop:{}", self.prefix, id.to_hex());
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
