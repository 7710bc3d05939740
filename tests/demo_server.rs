//! Runs the real `examples/demo_server.rs` binary and checks the demo server contract
//! of DESIGN.md over TCP, then stops it with SIGTERM and expects exit code 0.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tower_bearer::JwtValidator;

const DEMO_SECRET: &str = "demo-server-test-secret-of-at-least-32-bytes";
const REALM: &str = "tower-bearer-demo";

/// Builds the example once per test process, with this test's features and profile.
fn demo_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(build_demo).clone()
}

fn build_demo() -> PathBuf {
    let mut features = vec!["token-endpoint"];
    for (on, name) in [
        (cfg!(feature = "aws-lc"), "aws-lc"),
        (cfg!(feature = "axum"), "axum"),
        (cfg!(feature = "tracing"), "tracing"),
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

struct Demo {
    child: Child,
    base: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the demo on an ephemeral port and waits (bounded) for `listening on`.
fn start(secret: Option<&str>) -> Demo {
    let mut command = Command::new(demo_binary());
    command
        .env("BIND", "127.0.0.1:0")
        .env_remove("JWT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(secret) = secret {
        command.env("JWT_SECRET", secret);
    }
    let mut child = command.spawn().expect("spawn demo_server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("no `listening on` line within 60 s");
    let base = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    Demo { child, base }
}

impl Demo {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits (bounded) for exit code 0.
    fn terminate(mut self) {
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

async fn token(demo: &Demo, form: &str) -> String {
    let answer = post_form(&demo.url("/token"), form).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.json()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_contract_ok() {
    let demo = start(Some(DEMO_SECRET));
    let login = "grant_type=password&username=johndoe&password=secret";

    // Public root.
    let root = get(&demo.url("/"), &[]).await;
    assert_eq!(root.status, StatusCode::OK);
    assert!(root.json().is_object());

    // Login: §5.1 shape; HS256 token with sub, iat, exp = iat + 1800, scope.
    let answer = post_form(&demo.url("/token"), login).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert_eq!(answer.headers["content-type"], "application/json");
    let body = answer.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1800);
    assert_eq!(body["scope"], "me items");
    let full = body["access_token"].as_str().unwrap().to_owned();
    let claims = JwtValidator::<Value>::hs256(DEMO_SECRET)
        .unwrap()
        .verify(&full)
        .unwrap();
    assert_eq!(claims["sub"], "johndoe");
    assert_eq!(claims["scope"], "me items");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1800
    );

    // Protected routes.
    let status = get_with_token(&demo.url("/status"), &full).await;
    assert_eq!(
        (status.status, status.json()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let me = get_with_token(&demo.url("/users/me"), &full).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        me.json(),
        json!({"username": "johndoe", "full_name": "John Doe", "email": "johndoe@example.com", "disabled": false})
    );
    let items = get_with_token(&demo.url("/users/me/items"), &full).await;
    assert_eq!(
        (items.status, items.json()),
        (
            StatusCode::OK,
            json!([{"item_id": "Foo", "owner": "johndoe"}])
        )
    );

    // Scopes: a token with `me` only.
    let me_only = token(&demo, &format!("{login}&scope=me")).await;
    assert_eq!(
        get_with_token(&demo.url("/users/me"), &me_only)
            .await
            .status,
        StatusCode::OK
    );
    let refused = get_with_token(&demo.url("/users/me/items"), &me_only).await;
    refused.assert_bearer_rejection(403, Some("insufficient_scope"));
    assert!(
        refused.challenge().contains(r#"scope="me items""#),
        "{}",
        refused.challenge()
    );
    assert!(refused.challenge().contains(&format!(r#"realm="{REALM}""#)));
    let anything = token(&demo, &format!("{login}&scope=items")).await;
    get_with_token(&demo.url("/users/me"), &anything)
        .await
        .assert_bearer_rejection(403, Some("insufficient_scope"));

    // Token endpoint errors.
    let url = demo.url("/token");
    let wrong = post_form(&url, "grant_type=password&username=johndoe&password=nope").await;
    let unknown = post_form(&url, "grant_type=password&username=nobody&password=secret").await;
    let alice = post_form(
        &url,
        "grant_type=password&username=alice&password=secretalice",
    )
    .await;
    for answer in [&wrong, &unknown, &alice] {
        assert_oauth_error(answer, 400, "invalid_grant");
        assert_eq!(answer.body, wrong.body);
    }
    assert_oauth_error(
        &post_form(&url, &format!("{login}&scope=admin")).await,
        400,
        "invalid_scope",
    );
    assert_oauth_error(
        &post_form(&url, "grant_type=password&username=johndoe").await,
        400,
        "invalid_request",
    );
    assert_oauth_error(
        &post_form(&url, "grant_type=client_credentials").await,
        400,
        "unsupported_grant_type",
    );
    let json_body = post(
        &url,
        Some("application/json"),
        r#"{"username":"johndoe"}"#,
        &[],
    )
    .await;
    assert_oauth_error(&json_body, 415, "invalid_request");
    let big = format!("{login}&pad={}", "a".repeat(17 * 1024));
    assert_oauth_error(&post_form(&url, &big).await, 413, "invalid_request");
    let get_token = get(&url, &[]).await;
    assert_oauth_error(&get_token, 405, "invalid_request");
    assert_eq!(get_token.headers["allow"], "POST");

    // No bearer credentials: 401, realm, no error.
    let no_credentials = format!(r#"Bearer realm="{REALM}""#);
    for headers in [
        vec![],
        vec![("authorization", "Basic Og==")],
        vec![("authorization", "Bearer")],
        vec![("authorization", "Bearer ")],
    ] {
        let answer = get(&demo.url("/users/me"), &headers).await;
        answer.assert_bearer_rejection(401, None);
        assert_eq!(answer.challenge(), no_credentials);
    }
    let query_only = get(&demo.url(&format!("/users/me?access_token={full}")), &[]).await;
    query_only.assert_bearer_rejection(401, None);

    // Malformed requests: 400 invalid_request.
    let bearer = format!("Bearer {full}");
    let two = get(
        &demo.url("/status"),
        &[("authorization", &bearer), ("authorization", &bearer)],
    )
    .await;
    two.assert_bearer_rejection(400, Some("invalid_request"));
    let both = get(
        &demo.url(&format!("/status?access_token={full}")),
        &[("authorization", &bearer)],
    )
    .await;
    both.assert_bearer_rejection(400, Some("invalid_request"));

    // Bad tokens: 401 invalid_token.
    let secret = DEMO_SECRET.as_bytes();
    let exp = now() + 600;
    let bad_tokens = [
        "not-a-jwt".to_owned(),
        format!("{full}x"),
        raw_hs256(
            r#"{"alg":"HS256"}"#,
            &format!(r#"{{"sub":"johndoe","exp":{exp},"scope":"me"}}"#),
            b"another-secret-of-32-bytes-or-more!!",
        ),
        format!(
            "{}.{}.",
            b64(br#"{"alg":"none"}"#),
            b64(format!(r#"{{"sub":"johndoe","exp":{exp},"scope":"me"}}"#).as_bytes())
        ),
        raw_hs256(
            r#"{"alg":"HS256"}"#,
            &format!(r#"{{"sub":"johndoe","exp":{},"scope":"me"}}"#, now() - 3600),
            secret,
        ),
        raw_hs256(
            r#"{"alg":"HS256"}"#,
            &format!(
                r#"{{"sub":"johndoe","exp":{exp},"nbf":{},"scope":"me"}}"#,
                now() + 3600
            ),
            secret,
        ),
        raw_hs256(
            r#"{"alg":"HS256"}"#,
            r#"{"sub":"johndoe","scope":"me"}"#,
            secret,
        ),
        raw_hs256(
            r#"{"alg":"HS256"}"#,
            &format!(r#"{{"sub":"johndoe","exp":"{exp}","scope":"me"}}"#),
            secret,
        ),
        raw_hs256(
            r#"{"alg":"HS384"}"#,
            &format!(r#"{{"sub":"johndoe","exp":{exp},"scope":"me"}}"#),
            secret,
        ),
    ];
    for bad in &bad_tokens {
        get_with_token(&demo.url("/users/me"), bad)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }

    // Unknown path: 404 JSON.
    let missing = get(&demo.url("/nope"), &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.json()["error"].is_string());

    // HTTP/2 cleartext (prior knowledge).
    let h2 = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let request = Request::get(demo.url("/users/me"))
        .header("authorization", &bearer)
        .body(Full::default())
        .unwrap();
    let response = h2.request(request).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    let _ = response.into_body().collect().await.unwrap();

    demo.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_without_secret_warns_and_serves() {
    let mut demo = start(None);
    let answer = post_form(
        &demo.url("/token"),
        "grant_type=password&username=johndoe&password=secret",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let mut stderr = demo.child.stderr.take().unwrap();
    demo.terminate();
    let mut warning = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut warning).unwrap();
    assert!(
        warning.contains("WARNING") && warning.contains("JWT_SECRET"),
        "{warning}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_short_secret_accepted_with_warning() {
    let mut demo = start(Some("short"));
    let token = token(
        &demo,
        "grant_type=password&username=johndoe&password=secret",
    )
    .await;
    assert_eq!(
        get_with_token(&demo.url("/status"), &token).await.status,
        StatusCode::OK
    );
    let mut stderr = demo.child.stderr.take().unwrap();
    demo.terminate();
    let mut warning = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut warning).unwrap();
    assert!(warning.contains("shorter than 32 bytes"), "{warning}");
}
