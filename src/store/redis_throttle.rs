//! The login-throttle side of [`RedisStore`] (features `redis` and `token-endpoint`):
//! failed logins counted in Redis, shared by every node that uses the same Redis and
//! key prefix.
//!
//! One sorted set per counter, `{prefix}login:{<kind>:<hash>}` (its own hash tag, so
//! every script touches exactly one key, on one cluster node), holding the times of the
//! recent failures (at most `limit` of them), expiring one window after the last. Times
//! come from the Redis server's clock (`TIME`), so nodes with skewed clocks agree.

use std::sync::Arc;
use std::time::Duration;

use redis::Script;

use super::redis::RedisStore;
use super::redis_conn::backend;
use super::throttle::{counter_key, LoginThrottle, LoginThrottleConfig};
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

/// The limits and the two scripts; part of every [`RedisStore`].
#[derive(Clone)]
pub(super) struct Throttle {
    pub(super) config: LoginThrottleConfig,
    scripts: Arc<[Script; 2]>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            config: LoginThrottleConfig::default(),
            scripts: Arc::new([Script::new(CHECK), Script::new(FAILED)]),
        }
    }
}

impl RedisStore {
    /// Counts failed logins with `config` when the store serves as a
    /// [`LoginThrottle`] (the defaults otherwise: 5 failures per username and 50 per
    /// address in 60 s). The counts are shared by every node that uses the same Redis
    /// and [prefix](Self::with_prefix). Feature `token-endpoint`.
    ///
    /// ```no_run
    /// use tower_bearer::store::{LoginThrottleConfig, RedisStore};
    ///
    /// # async fn f() -> Result<(), tower_bearer::store::StoreError> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379/")
    ///     .await?
    ///     .with_login_throttle(LoginThrottleConfig::per_username(5));
    /// # let _ = store; Ok(()) }
    /// ```
    #[must_use]
    pub fn with_login_throttle(mut self, config: LoginThrottleConfig) -> Self {
        self.throttle.config = config;
        self
    }

    fn throttle_key(&self, counter: &str) -> String {
        format!("{}login:{{{counter}}}", self.prefix)
    }

    fn window_ms(&self) -> u64 {
        u64::try_from(self.throttle.config.window().as_millis()).unwrap_or(u64::MAX)
    }
}

impl LoginThrottle for RedisStore {
    fn check<'a>(
        &'a self,
        username: &'a str,
        client: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        Box::pin(async move {
            let mut waits = Vec::with_capacity(2);
            for (counter, limit) in self.throttle.config.keys(username, client) {
                let mut conn = self.conn.clone();
                let wait: u64 = self.throttle.scripts[0]
                    .key(self.throttle_key(&counter))
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
                .map(|ms| Duration::from_millis(ms).max(Duration::from_secs(1))))
        })
    }

    fn failed<'a>(
        &'a self,
        username: &'a str,
        client: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let member = random_b64::<12>()?;
            for (counter, limit) in self.throttle.config.keys(username, client) {
                let mut conn = self.conn.clone();
                let _: i64 = self.throttle.scripts[1]
                    .key(self.throttle_key(&counter))
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
                .arg(self.throttle_key(&counter_key("u", username)))
                .query_async::<i64>(&mut conn)
                .await
                .map(drop)
                .map_err(|e| backend(&e))
        })
    }
}
