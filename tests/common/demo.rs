//! The real `examples/demo_server.rs` binary, built once per test process and run on an
//! ephemeral port (included with `#[path]` by the tests that need it).
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Builds the example once per test process, with this test's features and profile.
pub fn demo_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(build_demo).clone()
}

fn build_demo() -> PathBuf {
    let mut features = vec!["token-endpoint", "openapi", "jwks"];
    for (on, name) in [
        (cfg!(feature = "aws-lc"), "aws-lc"),
        (cfg!(feature = "axum"), "axum"),
        (cfg!(feature = "tracing"), "tracing"),
        (cfg!(feature = "cache"), "cache"),
        (cfg!(feature = "redis"), "redis"),
    ] {
        if on {
            features.push(name);
        }
    }
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--example", "demo_server", "--features"])
        .arg(features.join(","))
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build.status().expect("cargo build --example demo_server");
    assert!(status.success(), "building the demo server failed");
    // <target>/<profile>/deps/<this test> -> <target>/<profile>/examples/demo_server
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    profile_dir
        .join("examples")
        .join(format!("demo_server{}", std::env::consts::EXE_SUFFIX))
}

/// A running demo server; killed when dropped.
pub struct Demo {
    pub child: Child,
    pub base: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the demo with `JWT_SECRET` = `secret` (unset when `None`).
pub fn start(secret: Option<&str>) -> Demo {
    match secret {
        Some(secret) => start_with(&[("JWT_SECRET", secret)]),
        None => start_with(&[]),
    }
}

/// Starts the demo on an ephemeral port with `env` (and none of the demo's other
/// variables from this process) and waits (bounded) for `listening on`.
pub fn start_with(env: &[(&str, &str)]) -> Demo {
    let mut command = Command::new(demo_binary());
    command.env("BIND", "127.0.0.1:0");
    for name in [
        "JWT_SECRET",
        "JWT_ALG",
        "JWT_KEY_FILE",
        "ISSUER",
        "JWKS_URL",
        "OIDC_ISSUER",
        "JWT_AUDIENCE",
        "REDIS_URL",
        "REDIS_CLUSTER",
        "REDIS_WAIT_REPLICAS",
        "LOGIN_LIMIT",
    ] {
        command.env_remove(name);
    }
    command
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn demo_server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
        let _ = child.kill();
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr);
        panic!("no `listening on` line within 60 s; stderr:\n{stderr}");
    };
    let base = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    Demo { child, base }
}

impl Demo {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits (bounded) for exit code 0.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert_eq!(status.code(), Some(0), "demo server exit status");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "demo server did not exit within 15 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
