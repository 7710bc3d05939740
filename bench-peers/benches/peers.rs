//! Peers that need other crate versions, paired with our layer in one run: each
//! framework's bare one-route router vs the same router behind an auth layer.
//!
//! ```text
//! cd bench-peers && cargo bench --bench peers -- --warm-up-time 1 --measurement-time 3
//! BENCH_PAIRED=1 cargo bench --bench peers   # interleaved rounds, medians of rounds
//! ```

use std::fmt::Debug;
use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::Criterion;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response, StatusCode};
use jwt_authorizer::{IntoLayer, JwtAuthorizer, Validation};
use tower::Service;
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};

const SECRET: &str = "bench-secret-that-is-at-least-32-bytes-long";
const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "api";

fn call_now<S, B>(service: &mut S, request: Request<String>) -> StatusCode
where
    S: Service<Request<String>, Response = Response<B>>,
    S::Error: Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    match service.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        _ => panic!("service not ready"),
    }
    let mut future = std::pin::pin!(service.call(request));
    loop {
        if let Poll::Ready(response) = future.as_mut().poll(&mut cx) {
            return response.expect("service error").status();
        }
    }
}

struct Row {
    id: &'static str,
    run: Box<dyn FnMut() -> StatusCode>,
}

fn row<S, B>(id: &'static str, mut service: S, authorization: HeaderValue) -> Row
where
    S: Service<Request<String>, Response = Response<B>> + 'static,
    S::Error: Debug,
{
    Row {
        id,
        run: Box::new(move || {
            let mut request = Request::new(String::new());
            request
                .headers_mut()
                .insert(AUTHORIZATION, authorization.clone());
            call_now(&mut service, request)
        }),
    }
}

fn rows() -> Vec<Row> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "sub": "user-1234", "iss": ISSUER, "aud": AUDIENCE,
        "exp": now + 24 * 3600, "iat": now, "scope": "read write",
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let header = HeaderValue::try_from(format!("Bearer {token}")).unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let authorizer = runtime
        .block_on(
            JwtAuthorizer::<Claims>::from_secret(SECRET)
                .validation(Validation::new().iss(&[ISSUER]).aud(&[AUDIENCE]))
                .build(),
        )
        .unwrap();

    let router07 = axum07::Router::new().route("/", axum07::routing::get(|| async { "ok" }));
    let router08 = axum08::Router::new().route("/", axum08::routing::get(|| async { "ok" }));
    let ours = JwtValidator::<Claims>::hs256(SECRET)
        .unwrap()
        .with_issuer(ISSUER)
        .unwrap()
        .with_audience(AUDIENCE)
        .unwrap();

    let mut rows = vec![
        row("axum07/bare_router", router07.clone(), header.clone()),
        row(
            "axum07/jwt_authorizer",
            router07.layer([authorizer].into_layer()),
            header.clone(),
        ),
        row("axum08/bare_router", router08.clone(), header.clone()),
        row(
            "axum08/bearer_layer",
            router08.layer(BearerAuthLayer::new(ours)),
            header,
        ),
    ];
    for row in &mut rows {
        assert_eq!((row.run)(), StatusCode::OK, "{}", row.id);
    }
    rows
}

fn paired(mut rows: Vec<Row>) {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(31);
    let iters: Vec<u64> = rows
        .iter_mut()
        .map(|row| {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < Duration::from_millis(20) {
                black_box((row.run)());
                n += 1;
            }
            n
        })
        .collect();
    let mut samples = vec![Vec::new(); rows.len()];
    for _ in 0..rounds {
        for (i, row) in rows.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..iters[i] {
                black_box((row.run)());
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / iters[i] as f64);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Rows come in (bare, layered) pairs.
    println!(
        "{:<24} {:>10} {:>18}",
        "row", "median ns", "paired - bare ns"
    );
    for pair in 0..rows.len() / 2 {
        let (b, l) = (2 * pair, 2 * pair + 1);
        let diff = median(
            samples[l]
                .iter()
                .zip(&samples[b])
                .map(|(x, y)| x - y)
                .collect(),
        );
        println!("{:<24} {:>10.1}", rows[b].id, median(samples[b].clone()));
        println!(
            "{:<24} {:>10.1} {:>18.1}",
            rows[l].id,
            median(samples[l].clone()),
            diff
        );
    }
}

fn main() {
    let rows = rows();
    if std::env::var_os("BENCH_PAIRED").is_some() {
        paired(rows);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    for mut row in rows {
        criterion.bench_function(row.id, |b| b.iter(|| (row.run)()));
    }
    criterion.final_summary();
}
