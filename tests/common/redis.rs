//! A real `redis-server` for tests: found on PATH (or installed with apt-get when
//! running as root), started on a free loopback port, killed on drop.
//!
//! When it cannot be had, [`start`] prints a loud message and returns `None`, and the
//! test returns early: the only skip allowed. Set `REQUIRE_REDIS=1` (CI does) to make
//! that a failure instead.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running `redis-server`, killed when dropped.
pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `redis-server`, and `redis-cli` (which creates the clusters of `common/cluster.rs`).
fn has_redis_server() -> bool {
    ["redis-server", "redis-cli"].iter().all(|program| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Whether `redis-server` is available, installing it once per test binary if we can.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        if has_redis_server() {
            return true;
        }
        if is_root() {
            eprintln!("redis-server not found; installing it with apt-get");
            let installed = Command::new("sh")
                .args([
                    "-c",
                    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools",
                ])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if installed && has_redis_server() {
                return true;
            }
        }
        false
    })
}

pub fn skip_loudly() -> Option<RedisServer> {
    let message = "\n\
        ************************************************************************\n\
        *  SKIPPED: redis-server is not installed and could not be installed.  *\n\
        *  The Redis store tests did NOT run. Install the distribution's       *\n\
        *  redis-server package (apt-get install redis-server) and rerun.      *\n\
        ************************************************************************\n";
    if std::env::var_os("REQUIRE_REDIS").is_some_and(|v| v == "1") {
        panic!("{message}REQUIRE_REDIS=1: failing instead of skipping");
    }
    eprintln!("{message}");
    None
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// Starts a fresh `redis-server` on a free loopback port, or `None` (after a loud
/// message) if there is none to be had.
pub fn start() -> Option<RedisServer> {
    if !available() {
        return skip_loudly();
    }
    // The port is free when chosen but could be taken before redis binds it: retry.
    for _ in 0..5 {
        let port = free_port();
        if let Some(child) = spawn_answering(port, &[], &std::env::temp_dir()) {
            return Some(RedisServer { child, port });
        }
    }
    panic!("redis-server is installed but did not start answering PING");
}

/// Starts `redis-server` on `port` with `extra` arguments and files in `dir`, and waits
/// (bounded) until it answers `PING`; `None` if it exited or never answered (most
/// likely the port was taken).
pub fn spawn_answering(port: u16, extra: &[&str], dir: &std::path::Path) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(extra)
        .args(["--dir", &dir.to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if answers_ping(port) {
            return Some(child);
        }
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
