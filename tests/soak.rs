//! Soak: many hostile and valid requests through the layer over TCP, checking every
//! answer and that memory stays flat. CI runs a short pass (2,000 requests); a real soak:
//!
//! ```sh
//! SOAK_REQUESTS=200000 cargo test --release --all-features --test soak -- --nocapture
//! ```

mod common;

use std::time::Instant;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tower::ServiceBuilder;
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_hostile_and_valid_requests() {
    let total: usize = std::env::var("SOAK_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let inner = EchoClaims::<Claims>::new();
    let service = ServiceBuilder::new()
        .layer(
            BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
                .with_realm(REALM)
                .unwrap(),
        )
        .service(inner.clone());
    let server = serve(service).await;
    let exp = now() + 3600;
    let good = hs256(&json!({ "sub": "u", "exp": exp, "scope": "me" }));
    let (input, sig) = good.rsplit_once('.').unwrap();
    let deep = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    // (Authorization value, expected status)
    let cases: Vec<(String, u16)> = vec![
        (format!("Bearer {good}"), 200),
        (format!("Bearer {input}.{}", &sig[..sig.len() - 1]), 401),
        (format!("Bearer {good}.x"), 401),
        (
            format!(
                "Bearer {}",
                raw_hs256(r#"{"alg":"none"}"#, &format!(r#"{{"exp":{exp}}}"#), SECRET)
            ),
            401,
        ),
        (
            format!(
                "Bearer {}",
                raw_hs256(
                    r#"{"alg":"HS256"}"#,
                    &format!(r#"{{"exp":{exp},"x":{deep}}}"#),
                    SECRET
                )
            ),
            200,
        ),
        (format!("Bearer {}", "a".repeat(20 * 1024)), 401),
        ("Bearer a,b".to_owned(), 401),
        ("Basic dXNlcjpwYXNz".to_owned(), 401),
        (
            format!(
                "Bearer {}",
                raw_hs256(r#"{"alg":"HS256"}"#, r#"{"exp":"x"}"#, SECRET)
            ),
            401,
        ),
    ];
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let url = server.url("/");
    let tasks = 8;
    let start = Instant::now();
    let mut rss_after_warmup = 0;
    let per_task = total / tasks;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (client, url, cases) = (client.clone(), url.clone(), cases.clone());
        // The first task says when it has warmed up (a quarter of its requests).
        let (warm_tx, warm_rx) = tokio::sync::oneshot::channel::<()>();
        let mut warm_tx = (t == 0).then_some(warm_tx);
        handles.push(tokio::spawn(async move {
            for i in 0..per_task {
                let (value, status) = &cases[(i + t) % cases.len()];
                let request = Request::get(&url)
                    .header("authorization", value)
                    .body(Full::default())
                    .unwrap();
                let response = client.request(request).await.expect("request");
                assert_eq!(response.status().as_u16(), *status, "{value:.60}");
                response.into_body().collect().await.unwrap();
                if i + 1 >= (per_task / 4).max(1) {
                    if let Some(warm) = warm_tx.take() {
                        let _ = warm.send(());
                    }
                }
            }
        }));
        if t == 0 {
            // The baseline is taken once the first task has warmed up.
            let warmed = tokio::time::timeout(std::time::Duration::from_secs(120), warm_rx).await;
            assert!(matches!(warmed, Ok(Ok(()))), "no warm-up within 120 s");
            rss_after_warmup = rss_kib();
        }
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let elapsed = start.elapsed();
    let rss_end = rss_kib();
    let sent = per_task * tasks;
    eprintln!(
        "soak: {sent} requests in {elapsed:?} ({:.0} req/s), inner calls {}, RSS after warm-up {} KiB, at end {} KiB",
        sent as f64 / elapsed.as_secs_f64(),
        inner.calls(),
        rss_after_warmup,
        rss_end
    );
    assert_eq!(
        inner.calls(),
        (0..tasks)
            .map(|t| (0..per_task)
                .filter(|i| cases[(i + t) % cases.len()].1 == 200)
                .count())
            .sum::<usize>()
    );
    assert!(
        rss_end < rss_after_warmup + 64 * 1024,
        "RSS grew from {rss_after_warmup} KiB to {rss_end} KiB"
    );
}
