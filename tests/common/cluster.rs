//! A real Redis Cluster for tests: `redis-server --cluster-enabled yes` nodes on free
//! loopback ports, joined with `redis-cli --cluster create ... --cluster-replicas 1`,
//! killed (and their files removed) on drop. Included with `#[path]` next to
//! `common/mod.rs`; skipped like `common::redis` when redis-server is missing.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::redis::{available, free_port, skip_loudly, spawn_answering};

/// One cluster node.
pub struct Node {
    child: Option<Child>,
    pub port: u16,
}

/// A running cluster: `masters` primaries, each with one replica.
pub struct RedisCluster {
    pub nodes: Vec<Node>,
    dir: PathBuf,
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stderr(Stdio::null())
        .output()
        .expect("running redis-cli");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn spawn_node(dir: &std::path::Path) -> (Child, u16) {
    for _ in 0..10 {
        let (port, bus) = (free_port(), free_port());
        if port == bus {
            continue;
        }
        let (bus, config) = (bus.to_string(), format!("nodes-{port}.conf"));
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            &bus,
            "--cluster-config-file",
            &config,
            "--cluster-node-timeout",
            "1000",
        ];
        if let Some(child) = spawn_answering(port, &args, dir) {
            return (child, port);
        }
    }
    panic!("a cluster node did not start");
}

/// Starts `masters` primaries and as many replicas, creates the cluster and waits
/// (bounded) until every node reports `cluster_state:ok` and every replica is in sync.
pub fn start(masters: usize) -> Option<RedisCluster> {
    if !available() {
        skip_loudly();
        return None;
    }
    let dir = std::env::temp_dir().join(format!(
        "tower-bearer-cluster-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("cluster directory");
    let mut cluster = RedisCluster {
        nodes: Vec::new(),
        dir,
    };
    for _ in 0..masters * 2 {
        let (child, port) = spawn_node(&cluster.dir);
        cluster.nodes.push(Node {
            child: Some(child),
            port,
        });
    }
    let addresses: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let status = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "1", "--cluster-yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("redis-cli --cluster create");
    assert!(status.success(), "redis-cli --cluster create failed");
    cluster.wait_healthy(masters, Duration::from_secs(30));
    Some(cluster)
}

impl RedisCluster {
    /// `REDIS_CLUSTER` value: every node as a seed.
    pub fn seeds(&self) -> String {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Ports of the live nodes that are primaries now.
    pub fn masters(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .filter(|n| cli(n.port, &["ROLE"]).lines().next() == Some("master"))
            .map(|n| n.port)
            .collect()
    }

    /// The live primary holding a key that matches `pattern` (`KEYS`), if any.
    pub fn master_holding(&self, pattern: &str) -> Option<u16> {
        self.masters()
            .into_iter()
            .find(|port| !cli(*port, &["KEYS", pattern]).trim().is_empty())
    }

    /// Waits until the live nodes agree the cluster is `ok` with `masters` primaries
    /// and every replica has finished its initial sync.
    pub fn wait_healthy(&self, masters: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let live: Vec<u16> = self
                .nodes
                .iter()
                .filter(|n| n.child.is_some())
                .map(|n| n.port)
                .collect();
            let ok = live.iter().all(|port| {
                let info = cli(*port, &["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
            });
            let synced = live.iter().all(|port| {
                let info = cli(*port, &["INFO", "replication"]);
                !info.contains("role:slave") || info.contains("master_link_status:up")
            });
            if ok && synced && self.masters().len() == masters {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not become healthy within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills (SIGKILL) the node on `port`.
    pub fn kill(&mut self, port: u16) {
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("a node on that port");
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
