//! [`RedisConfig`] and the crate-private `RedisConnection`: one connection type over a single Redis
//! server (a self-reconnecting multiplexed connection) or a Redis Cluster (the `redis`
//! crate's cluster client, which follows `MOVED`/`ASK` and re-reads the slot map after
//! a failover), so every store runs the same code on both.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use super::StoreError;

/// Default time to open a connection: 2 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default time to wait for one reply: 2 s.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Default number of retries of a failed command (reconnects, cluster redirections).
pub const DEFAULT_RETRIES: u32 = 3;
/// Default longest wait between retries: 250 ms.
pub const DEFAULT_MAX_RETRY_WAIT: Duration = Duration::from_millis(250);
/// Default time a rotation or revocation waits for its replica acknowledgements (when
/// [`RedisConfig::with_replica_acks`] asks for any): 200 ms.
pub const DEFAULT_REPLICA_ACK_TIMEOUT: Duration = Duration::from_millis(200);

/// Where the stores connect and how patiently.
///
/// ```no_run
/// use std::time::Duration;
/// use tower_bearer::store::{RedisConfig, RedisStore};
///
/// # async fn f() -> Result<(), tower_bearer::store::StoreError> {
/// let config = RedisConfig::cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
///     .with_response_timeout(Duration::from_millis(500))
///     .with_replica_acks(1, Duration::from_millis(200));
/// let store = RedisStore::connect_with(&config).await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    pub(crate) urls: Vec<String>,
    pub(crate) cluster: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) max_retry_wait: Duration,
    pub(crate) replica_acks: u32,
    pub(crate) replica_ack_timeout: Duration,
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // URLs may carry passwords: only their count is shown.
        f.debug_struct("RedisConfig")
            .field("urls", &self.urls.len())
            .field("cluster", &self.cluster)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("retries", &self.retries)
            .field("max_retry_wait", &self.max_retry_wait)
            .field("replica_acks", &self.replica_acks)
            .field("replica_ack_timeout", &self.replica_ack_timeout)
            .finish()
    }
}

impl RedisConfig {
    fn new(urls: Vec<String>, cluster: bool) -> Self {
        Self {
            urls,
            cluster,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            retries: DEFAULT_RETRIES,
            max_retry_wait: DEFAULT_MAX_RETRY_WAIT,
            replica_acks: 0,
            replica_ack_timeout: DEFAULT_REPLICA_ACK_TIMEOUT,
        }
    }

    /// One Redis server (or a primary): `redis://[user:password@]host:port/db`.
    #[must_use]
    pub fn single(url: &str) -> Self {
        Self::new(vec![url.to_owned()], false)
    }

    /// A Redis Cluster, found through one or more seed nodes (`redis://host:port`);
    /// the rest of the cluster is discovered from them.
    #[must_use]
    pub fn cluster<I, U>(seeds: I) -> Self
    where
        I: IntoIterator<Item = U>,
        U: AsRef<str>,
    {
        Self::new(
            seeds.into_iter().map(|u| u.as_ref().to_owned()).collect(),
            true,
        )
    }

    /// A cluster from a comma-separated seed list (`redis://h1:p1,redis://h2:p2`), as
    /// the demo's `REDIS_CLUSTER` holds it. Blank entries are skipped.
    #[must_use]
    pub fn cluster_from_list(list: &str) -> Self {
        Self::cluster(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// Time to open a connection (default 2 s).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time to wait for one reply (default 2 s).
    #[must_use]
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How often a failed command is retried, and the longest wait between two tries
    /// (defaults 3 and 250 ms). On a cluster this covers the time a failover takes to
    /// be noticed; commands that still fail answer [`StoreError`] (`503`), and later
    /// commands find the promoted replica.
    #[must_use]
    pub fn with_retries(mut self, retries: u32, max_wait: Duration) -> Self {
        self.retries = retries;
        self.max_retry_wait = max_wait;
        self
    }

    /// After each refresh-token rotation and revocation, waits (Redis `WAIT`) until
    /// `replicas` replicas have the write, at most `timeout`; if fewer of the
    /// connected replicas confirm, the operation answers [`StoreError`] instead of
    /// handing out a successor token. A primary with no connected replica (after a
    /// failover, until a new replica joins) is not waited for beyond `timeout`. Off
    /// (`0`) by default; set it to `1` on a cluster or primary with replicas so a
    /// rotation the client saw survives the primary's failure (see SECURITY.md).
    #[must_use]
    pub fn with_replica_acks(mut self, replicas: u32, timeout: Duration) -> Self {
        self.replica_acks = replicas;
        self.replica_ack_timeout = timeout;
        self
    }

    /// Whether this is a cluster configuration.
    #[must_use]
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// The server URL or the cluster seeds.
    #[must_use]
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// Opens the connection the stores share.
    pub(crate) async fn open(&self) -> Result<RedisConnection, StoreError> {
        if self.urls.is_empty() {
            return Err(StoreError::Backend("no Redis URL".into()));
        }
        if self.cluster {
            let wait_ms = u64::try_from(self.max_retry_wait.as_millis()).unwrap_or(u64::MAX);
            let client = ClusterClientBuilder::new(self.urls.clone())
                .connection_timeout(self.connect_timeout)
                .response_timeout(self.response_timeout)
                .retries(self.retries)
                .min_retry_wait(wait_ms.min(10))
                .max_retry_wait(wait_ms)
                .build()
                .map_err(|e| backend(&e))?;
            let conn = tokio::time::timeout(
                self.connect_timeout.saturating_mul(2),
                client.get_async_connection(),
            )
            .await
            .map_err(|_| StoreError::Backend("timed out connecting to the cluster".into()))?
            .map_err(|e| backend(&e))?;
            Ok(RedisConnection(Kind::Cluster(conn)))
        } else {
            let client = redis::Client::open(self.urls[0].as_str()).map_err(|e| backend(&e))?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(self.connect_timeout)
                .set_response_timeout(self.response_timeout)
                .set_factor(1)
                .set_max_delay(u64::try_from(self.max_retry_wait.as_millis()).unwrap_or(u64::MAX))
                .set_number_of_retries(usize::try_from(self.retries).unwrap_or(usize::MAX));
            let conn = ConnectionManager::new_with_config(client, config)
                .await
                .map_err(|e| backend(&e))?;
            Ok(RedisConnection(Kind::Single(conn)))
        }
    }
}

pub(crate) fn backend(e: &redis::RedisError) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A shared, cheaply cloned connection to one Redis server or a Redis Cluster; it
/// implements the `redis` crate's `aio::ConnectionLike`, so any command or script runs
/// on it. Built by `RedisConfig::open`.
#[derive(Clone)]
pub(crate) struct RedisConnection(Kind);

#[derive(Clone)]
enum Kind {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::Single(_) => "RedisConnection::Single",
            Kind::Cluster(_) => "RedisConnection::Cluster",
        })
    }
}

impl RedisConnection {
    /// Wraps a single-server connection manager.
    pub(crate) fn from_manager(conn: ConnectionManager) -> Self {
        Self(Kind::Single(conn))
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match &mut self.0 {
            Kind::Single(c) => c.req_packed_command(cmd),
            Kind::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match &mut self.0 {
            Kind::Single(c) => c.req_packed_commands(cmd, offset, count),
            Kind::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.0 {
            Kind::Single(c) => c.get_db(),
            Kind::Cluster(c) => c.get_db(),
        }
    }
}
