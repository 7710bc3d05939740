//! A bounded load tool: a flood of failing logins against `POST /token`, and meanwhile
//! valid logins and a protected route, with their latency percentiles. Loopback only.
//!
//! Dependencies (the `cargo run` lines below build it in this repository with exactly
//! these features):
//!
//! ```toml
//! [dependencies]
//! tower-bearer = { version = "0.1", default-features = false, features = ["aws-lc", "token-endpoint"] }
//! bytes = "1"
//! http = "1"
//! http-body = "1"
//! http-body-util = "0.1"
//! hyper = { version = "1", features = ["server", "http1"] }
//! hyper-util = { version = "0.1", features = ["client-legacy", "http1", "tokio"] }
//! serde_json = "1"
//! tokio = { version = "1", features = ["full"] }
//! tower = { version = "0.5", features = ["util"] }
//! ```
//!
//! ```text
//! # against a running demo server (recommended: the server is its own process)
//! cargo run --release --example demo_server &
//! BASE_URL=http://127.0.0.1:8000 cargo run --release --example login_flood --no-default-features --features aws-lc,token-endpoint
//! # or against a server started inside this process (same routes, same users)
//! cargo run --release --example login_flood --no-default-features --features aws-lc,token-endpoint
//! ```
//!
//! Environment: `BASE_URL` (must be `http://127.0.0.1:...` or `http://localhost:...`),
//! `WORKERS` (concurrent bad-login clients, default 64), `FLOOD_SECS` (default 15),
//! `FLOOD_USERS` (distinct usernames the flood cycles through, default 64, each wrong
//! password; `0` = a new username for every attempt), `IDLE_PROBES` (default 2000).
//! Everything stops after `FLOOD_SECS` plus at most 30 s of draining.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use tower::{Layer as _, ServiceExt as _};
use tower_bearer::token_endpoint::{
    hash_password, InMemoryUserStore, TokenEndpoint, TokenIssuer, User,
};
use tower_bearer::{BearerAuthLayer, Claims, GuardLayer, JwtValidator, RequireScopes};

const SECRET: &[u8] = b"login-flood-secret-0123456789abcdef";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = match std::env::var("BASE_URL") {
        Ok(base) => {
            let host = base
                .strip_prefix("http://")
                .ok_or("BASE_URL must be http://")?;
            if !(host.starts_with("127.0.0.1:") || host.starts_with("localhost:")) {
                return Err("BASE_URL must be on the loopback interface".into());
            }
            base.trim_end_matches('/').to_owned()
        }
        Err(_) => start_in_process_server()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime
        .block_on(run(base))
        .map_err(|e| e as Box<dyn std::error::Error>)
}

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn run(base: String) -> Result<(), Error> {
    let workers = env_usize("WORKERS", 64);
    let flood_secs = env_usize("FLOOD_SECS", 15) as u64;
    let flood_users = env_usize("FLOOD_USERS", 64);
    let idle_probes = env_usize("IDLE_PROBES", 2000);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(workers + 8)
        .build_http();

    // A token for the protected route.
    let (status, body, _) = login(&client, &base, "johndoe", "secret").await?;
    if status != StatusCode::OK {
        return Err(format!("login as johndoe failed: {status}").into());
    }
    let json: serde_json::Value = serde_json::from_slice(&body)?;
    let token = json["access_token"]
        .as_str()
        .ok_or("no access_token")?
        .to_owned();
    let me = format!("{base}/users/me");

    // Idle: the protected route alone.
    let mut idle = Vec::with_capacity(idle_probes);
    for _ in 0..idle_probes {
        let started = Instant::now();
        let status = get(&client, &me, &token).await?;
        idle.push(started.elapsed());
        if status != StatusCode::OK {
            return Err(format!("GET /users/me answered {status}").into());
        }
    }

    // Idle: valid logins alone.
    let mut idle_logins = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let (status, _, _) = login(&client, &base, "johndoe", "secret").await?;
        if status == StatusCode::OK {
            idle_logins.push(started.elapsed());
        }
    }

    // The flood.
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new([
        AtomicUsize::new(0), // 400
        AtomicUsize::new(0), // 503
        AtomicUsize::new(0), // other
    ]);
    let fresh = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (client, base, stop, counts, fresh) = (
            client.clone(),
            base.clone(),
            Arc::clone(&stop),
            Arc::clone(&counts),
            Arc::clone(&fresh),
        );
        tasks.push(tokio::spawn(async move {
            let mut attempt = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let user = if flood_users == 0 {
                    format!("fresh{}", fresh.fetch_add(1, Ordering::Relaxed))
                } else {
                    format!("user{}", worker % flood_users)
                };
                let password = format!("wrong-{worker}-{attempt}");
                attempt += 1;
                let slot = match login(&client, &base, &user, &password).await {
                    Ok((StatusCode::BAD_REQUEST, _, _)) => 0,
                    Ok((StatusCode::SERVICE_UNAVAILABLE, _, _)) => 1,
                    _ => 2,
                };
                counts[slot].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Let the flood build up before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let flood_started = Instant::now();
    let deadline = flood_started + Duration::from_secs(flood_secs);

    let valid = Arc::new(Mutex::new((Vec::new(), 0usize, 0usize)));
    let valid_task = {
        let (client, base, valid) = (client.clone(), base.clone(), Arc::clone(&valid));
        tokio::spawn(async move {
            while Instant::now() < deadline {
                let started = Instant::now();
                let outcome = login(&client, &base, "johndoe", "secret").await;
                let elapsed = started.elapsed();
                {
                    let mut valid = valid.lock().unwrap_or_else(|e| e.into_inner());
                    match outcome {
                        Ok((StatusCode::OK, _, _)) => valid.0.push(elapsed),
                        Ok((StatusCode::SERVICE_UNAVAILABLE, _, _)) => valid.1 += 1,
                        _ => valid.2 += 1,
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let mut busy = Vec::new();
    while Instant::now() < deadline {
        let started = Instant::now();
        let status = get(&client, &me, &token).await?;
        busy.push(started.elapsed());
        if status != StatusCode::OK {
            return Err(format!("GET /users/me answered {status} during the flood").into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    valid_task.await?;
    stop.store(true, Ordering::Relaxed);
    let drain = tokio::time::timeout(Duration::from_secs(30), async {
        for task in tasks {
            let _ = task.await;
        }
    })
    .await;

    let (valid_ok, valid_busy, valid_other) = {
        let valid = valid.lock().unwrap_or_else(|e| e.into_inner());
        (valid.0.clone(), valid.1, valid.2)
    };
    println!("server: {base}");
    println!(
        "flood: {workers} workers for {flood_secs} s, usernames: {}",
        if flood_users == 0 {
            "a new one per attempt".to_owned()
        } else {
            format!("{flood_users} cycling")
        }
    );
    println!(
        "flood answers: {} x 400 invalid_grant, {} x 503 temporarily_unavailable, {} other{}",
        counts[0].load(Ordering::Relaxed),
        counts[1].load(Ordering::Relaxed),
        counts[2].load(Ordering::Relaxed),
        if drain.is_err() {
            " (drain timed out)"
        } else {
            ""
        },
    );
    println!(
        "valid logins during the flood: {} x 200, {} x 503, {} other",
        valid_ok.len(),
        valid_busy,
        valid_other
    );
    report("valid login idle", idle_logins);
    report("valid login (200s) during flood", valid_ok);
    report("protected route idle", idle);
    report("protected route during flood", busy);
    Ok(())
}

fn report(name: &str, mut samples: Vec<Duration>) {
    if samples.is_empty() {
        println!("{name}: no samples");
        return;
    }
    samples.sort();
    let at = |q: f64| {
        let index = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index].as_secs_f64() * 1000.0
    };
    println!(
        "{name}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        at(0.50),
        at(0.99),
        at(1.0)
    );
}

async fn login(
    client: &HttpClient,
    base: &str,
    username: &str,
    password: &str,
) -> Result<(StatusCode, Bytes, Duration), Error> {
    let form = format!("grant_type=password&username={username}&password={password}");
    let request = Request::post(format!("{base}/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form)))?;
    let started = Instant::now();
    let response = tokio::time::timeout(REQUEST_TIMEOUT, client.request(request)).await??;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body, started.elapsed()))
}

async fn get(client: &HttpClient, url: &str, token: &str) -> Result<StatusCode, Error> {
    let request = Request::get(url)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Full::default())?;
    let response = tokio::time::timeout(REQUEST_TIMEOUT, client.request(request)).await??;
    let status = response.status();
    let _ = response.into_body().collect().await?;
    Ok(status)
}

/// The demo server's `/token` and `/users/me` (OWASP Argon2id, default login bounds),
/// on its own two-worker runtime and thread, on an ephemeral loopback port.
fn start_in_process_server() -> Result<String, Box<dyn std::error::Error>> {
    let store = InMemoryUserStore::new()
        .with_user(User::new("johndoe", hash_password("secret")?).with_scopes(["me", "items"]));
    let endpoint = TokenEndpoint::builder(TokenIssuer::hs256(SECRET)?, store)
        .allow_password_grant()
        .build()?;
    endpoint.hasher().warm_up();
    let me = tower::service_fn(|_: Request<hyper::body::Incoming>| async {
        let body = Full::new(Bytes::from_static(br#"{"username":"johndoe"}"#));
        Ok::<_, Infallible>(Response::new(body))
    });
    let protected = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET)?)
        .layer(GuardLayer::new(RequireScopes::<Claims>::try_new(["me"])?).layer(me));
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("the listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (endpoint, protected) = (endpoint.clone(), protected.clone());
                let service =
                    hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                        let (endpoint, protected) = (endpoint.clone(), protected.clone());
                        async move {
                            let response = if request.uri().path() == "/token" {
                                collect(endpoint.oneshot(request).await?).await
                            } else {
                                collect(protected.oneshot(request).await?).await
                            };
                            Ok::<_, Infallible>(response)
                        }
                    });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    Ok(format!("http://{addr}"))
}

async fn collect<B>(response: Response<B>) -> Response<Full<Bytes>>
where
    B: http_body::Body,
{
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Response::from_parts(parts, Full::new(bytes))
}
