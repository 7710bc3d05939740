//! [`RedisLoginThrottle`]: failed logins counted in Redis, shared by every node.
//!
//! One sorted set per counter, `{prefix}login:{<kind>:<hash>}` (its own hash tag, so
//! every script touches exactly one key, on one cluster node), holding the times of the
//! recent failures (at most `limit` of them), expiring one window after the last. Times
//! come from the Redis server's clock (`TIME`), so nodes with skewed clocks agree.

use std::fmt;
use std::time::Duration;

use redis::Script;

use super::redis_conn::{backend, RedisConnection};
use super::throttle::{counter_key, LoginThrottle, LoginThrottleConfig, Throttled};
use super::{random_b64, BoxFuture, StoreError};

/// KEYS: counter. ARGV: window ms, limit. Returns the ms until the count is below the
/// limit, or 0.
const CHECK: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local since = now - tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local n = redis.call('ZCOUNT', KEYS[1], '(' .. since, '+inf')
if n < limit then return 0 end
local at = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. since, '+inf', 'WITHSCORES', 'LIMIT', n - limit, 1)
local wait = tonumber(at[2]) + tonumber(ARGV[1]) - now
if wait < 1 then return 1 end
return wait
";

/// KEYS: counter. ARGV: window ms, limit, unique member. Records a failure now.
const FAILED: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
local n = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[2])
if n > limit then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - limit - 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
";

/// A [`LoginThrottle`] in Redis (one server or a cluster): the counts are shared by
/// every node that uses the same Redis and prefix.
///
/// ```no_run
/// use tower_bearer::store::{LoginThrottleConfig, RedisLoginThrottle, RedisStore};
///
/// # async fn f() -> Result<(), tower_bearer::store::StoreError> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// let throttle = RedisLoginThrottle::new(store.connection().clone(), LoginThrottleConfig::new());
/// # let _ = throttle; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisLoginThrottle {
    conn: RedisConnection,
    config: LoginThrottleConfig,
    prefix: String,
    check: Script,
    failed: Script,
}

impl fmt::Debug for RedisLoginThrottle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLoginThrottle")
            .field("config", &self.config)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLoginThrottle {
    /// Counts with `config` on `conn`, under the default prefix `tower-bearer:`.
    #[must_use]
    pub fn new(conn: RedisConnection, config: LoginThrottleConfig) -> Self {
        Self {
            conn,
            config,
            prefix: super::DEFAULT_PREFIX.to_owned(),
            check: Script::new(CHECK),
            failed: Script::new(FAILED),
        }
    }

    /// Puts the counters under `prefix` (no braces in it, see
    /// [`RedisStore::with_prefix`](super::RedisStore::with_prefix)).
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.prefix);
        self
    }

    fn key(&self, counter: &str) -> String {
        format!("{}login:{{{counter}}}", self.prefix)
    }

    fn window_ms(&self) -> u64 {
        u64::try_from(self.config.window().as_millis()).unwrap_or(u64::MAX)
    }
}

impl LoginThrottle for RedisLoginThrottle {
    fn check<'a>(
        &'a self,
        username: &'a str,
        client: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<Throttled>, StoreError>> {
        Box::pin(async move {
            let mut waits = Vec::with_capacity(2);
            for (counter, limit) in self.config.keys(username, client) {
                let mut conn = self.conn.clone();
                let wait: u64 = self
                    .check
                    .key(self.key(&counter))
                    .arg(self.window_ms())
                    .arg(limit)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(|e| backend(&e))?;
                waits.push(wait);
            }
            Ok(waits
                .into_iter()
                .max()
                .filter(|ms| *ms > 0)
                .map(|ms| Throttled {
                    retry_after: Duration::from_millis(ms).max(Duration::from_secs(1)),
                }))
        })
    }

    fn failed<'a>(
        &'a self,
        username: &'a str,
        client: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let member = random_b64::<12>()?;
            for (counter, limit) in self.config.keys(username, client) {
                let mut conn = self.conn.clone();
                let _: i64 = self
                    .failed
                    .key(self.key(&counter))
                    .arg(self.window_ms())
                    .arg(limit)
                    .arg(&member)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(|e| backend(&e))?;
            }
            Ok(())
        })
    }

    fn succeeded<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            redis::cmd("DEL")
                .arg(self.key(&counter_key("u", username)))
                .query_async::<i64>(&mut conn)
                .await
                .map(drop)
                .map_err(|e| backend(&e))
        })
    }
}
