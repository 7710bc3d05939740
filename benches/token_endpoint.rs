//! Token endpoint cost: Argon2id verification alone, full logins over loopback for 1,
//! 2 and 4 concurrent clients, failed logins for an unknown user vs a wrong password
//! (user enumeration by timing: the unknown user is checked against a dummy hash), and
//! protected-route latency (p50/p99) idle vs during a login storm.
//!
//! ```text
//! cargo bench --bench token_endpoint -- --measurement-time 5 --warm-up-time 1
//! cargo bench --bench token_endpoint -- login_   # the enumeration rows and their ratio
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use http::{Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_bearer::token_endpoint::{
    hash_password, InMemoryUserStore, PasswordHasher, TokenEndpoint, TokenIssuer, User,
};
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};

const SECRET: &[u8] = b"bench-secret-that-is-at-least-32-bytes-long";
const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";

type Body = BoxBody<Bytes, Infallible>;
type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// `/token` and a protected `/status`, served on 127.0.0.1 (HTTP/1.1 keep-alive).
async fn serve() -> SocketAddr {
    let store = Arc::new(
        InMemoryUserStore::new()
            .with_user(User::new("johndoe", hash_password("secret").unwrap()).with_scopes(["me"])),
    );
    let endpoint = TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), store)
        .allow_password_grant()
        .build()
        .unwrap();
    let status = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap()).layer(
        service_fn(|_req: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                b"{\"status\":\"ok\"}",
            ))))
        }),
    );
    let app = service_fn(move |req: Request<Incoming>| {
        let endpoint = endpoint.clone();
        let mut status = status.clone();
        async move {
            let response: Response<Body> = if req.uri().path() == "/token" {
                endpoint.oneshot(req).await?.map(BodyExt::boxed)
            } else {
                status.ready().await?.call(req).await?.map(BodyExt::boxed)
            };
            Ok::<_, Infallible>(response)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Posts `form` to `/token`, checks the status, and returns the body.
async fn post_token(
    client: &HttpClient,
    addr: SocketAddr,
    form: &'static str,
    expected: StatusCode,
) -> Bytes {
    let request = Request::post(format!("http://{addr}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(form.as_bytes())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), expected);
    response.into_body().collect().await.unwrap().to_bytes()
}

async fn login(client: &HttpClient, addr: SocketAddr) -> String {
    let body = post_token(client, addr, LOGIN, StatusCode::OK).await;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json["access_token"].as_str().unwrap().to_owned()
}

/// A failed login; returns once the `400 invalid_grant` answer is read.
async fn failed_login(client: &HttpClient, addr: SocketAddr, form: &'static str) {
    post_token(client, addr, form, StatusCode::BAD_REQUEST).await;
}

const WRONG_PASSWORD: &str = "grant_type=password&username=johndoe&password=not-the-secret";
const UNKNOWN_USER: &str = "grant_type=password&username=nobody&password=not-the-secret";

/// `login_wrong_password` and `login_unknown_user` as criterion rows, then the same two
/// interleaved (rounds of each in turn) with the median ratio of the rounds: the
/// steadier figure on a shared machine.
fn bench_enumeration(c: &mut Criterion, rt: &tokio::runtime::Runtime, addr: SocketAddr) {
    let client = client();
    let mut group = c.benchmark_group("token_endpoint");
    for (name, form) in [
        ("login_wrong_password", WRONG_PASSWORD),
        ("login_unknown_user", UNKNOWN_USER),
    ] {
        group.bench_function(name, |b| {
            b.to_async(rt).iter(|| failed_login(&client, addr, form));
        });
    }
    group.finish();

    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"login_unknown_user login_wrong_password".contains(&f)) {
        return;
    }
    let time = |form: &'static str| {
        let start = Instant::now();
        rt.block_on(async {
            for _ in 0..10 {
                failed_login(&client, addr, form).await;
            }
        });
        start.elapsed()
    };
    let mut ratios: Vec<f64> = (0..15)
        .map(|_| time(UNKNOWN_USER).as_secs_f64() / time(WRONG_PASSWORD).as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "paired: unknown user / wrong password, median of 15 rounds of 10 logins each: {:.2}",
        ratios[ratios.len() / 2]
    );
}

async fn status(client: &HttpClient, addr: SocketAddr, token: &str) {
    let request = Request::get(format!("http://{addr}/status"))
        .header("authorization", format!("Bearer {token}"))
        .body(Full::default())
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let _ = response.into_body().collect().await.unwrap();
}

fn bench_verify(c: &mut Criterion) {
    let hasher = PasswordHasher::new();
    let hash = hasher.hash("secret").unwrap();
    assert!(hasher.verify_blocking("secret", &hash));
    let mut group = c.benchmark_group("token_endpoint");
    group.throughput(Throughput::Elements(1));
    group.bench_function("argon2id_verify", |b| {
        b.iter(|| hasher.verify_blocking("secret", &hash))
    });
    group.finish();
}

fn bench_logins(c: &mut Criterion, rt: &tokio::runtime::Runtime, addr: SocketAddr) {
    let mut group = c.benchmark_group("token_endpoint");
    group.throughput(Throughput::Elements(1));
    for clients in [1usize, 2, 4] {
        let pool: Vec<HttpClient> = (0..clients).map(|_| client()).collect();
        rt.block_on(login(&pool[0], addr));
        group.bench_function(format!("login/{clients}"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let next = Arc::new(AtomicU64::new(0));
                    let start = Instant::now();
                    let tasks: Vec<_> = pool
                        .iter()
                        .cloned()
                        .map(|client| {
                            let next = Arc::clone(&next);
                            tokio::spawn(async move {
                                while next.fetch_add(1, Ordering::Relaxed) < iters {
                                    login(&client, addr).await;
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99))
}

/// p50/p99 of `/status` over `count` sequential requests (bounded by `limit`).
async fn latency(
    client: &HttpClient,
    addr: SocketAddr,
    token: &str,
    count: usize,
    limit: Duration,
) -> Vec<Duration> {
    let deadline = Instant::now() + limit;
    let mut samples = Vec::with_capacity(count);
    while samples.len() < count && Instant::now() < deadline {
        let start = Instant::now();
        status(client, addr, token).await;
        samples.push(start.elapsed());
    }
    samples
}

fn latency_report(rt: &tokio::runtime::Runtime, addr: SocketAddr) {
    rt.block_on(async {
        let probe = client();
        let token = login(&probe, addr).await;
        let _ = latency(&probe, addr, &token, 200, Duration::from_secs(5)).await;
        let idle = latency(&probe, addr, &token, 3000, Duration::from_secs(20)).await;

        let storm_clients = 4 * std::thread::available_parallelism().map_or(1, usize::from);
        let stop = Arc::new(AtomicBool::new(false));
        let logins = Arc::new(AtomicU64::new(0));
        let storm: Vec<_> = (0..storm_clients)
            .map(|_| {
                let (stop, logins, client) = (Arc::clone(&stop), Arc::clone(&logins), client());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        login(&client, addr).await;
                        logins.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let storm_start = (Instant::now(), logins.load(Ordering::Relaxed));
        let during = latency(&probe, addr, &token, 3000, Duration::from_secs(20)).await;
        let storm_rate = (logins.load(Ordering::Relaxed) - storm_start.1) as f64 / storm_start.0.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for task in storm {
            task.await.unwrap();
        }

        let (idle50, idle99) = percentiles(idle.clone());
        let (storm50, storm99) = percentiles(during.clone());
        println!("token_endpoint/protected_route_latency");
        println!("  idle:  n={} p50={idle50:?} p99={idle99:?}", idle.len());
        println!(
            "  storm: n={} p50={storm50:?} p99={storm99:?} ({storm_clients} login clients, {storm_rate:.1} logins/s)",
            during.len()
        );
        println!("  p99 storm/idle = {:.2}", storm99.as_secs_f64() / idle99.as_secs_f64());
    });
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = rt.block_on(serve());
    let mut c = Criterion::default().configure_from_args();
    bench_verify(&mut c);
    bench_logins(&mut c, &rt, addr);
    bench_enumeration(&mut c, &rt, addr);
    c.final_summary();
    latency_report(&rt, addr);
}
