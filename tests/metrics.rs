//! The `metrics` feature: with a recorder installed, requests over TCP move the
//! accepted / refused-by-reason counters and the validation-time histogram, JWK-set
//! fetches and failures are counted, and so are the cache's hits and misses.
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::*;
use http::Uri;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::json;
use tower::ServiceBuilder;
use tower_bearer::keys::public_jwk;
use tower_bearer::validate::{FetchedDocument, JwksError, JwksValidatorBuilder};
use tower_bearer::{
    BearerAuthLayer, CachedValidator, Claims, GuardLayer, JwksFetcher, RequireScopes,
};

#[derive(Clone, Default)]
struct InMemory {
    document: Arc<Mutex<Bytes>>,
    down: Arc<AtomicBool>,
}

impl JwksFetcher for InMemory {
    async fn fetch(&self, _: &Uri, _: usize) -> Result<FetchedDocument, JwksError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(JwksError::Status(http::StatusCode::SERVICE_UNAVAILABLE));
        }
        Ok(FetchedDocument::new(self.document.lock().unwrap().clone()))
    }
}

/// Every counter and histogram recorded so far, by name and sorted labels.
fn snapshot(snapshotter: &Snapshotter) -> HashMap<String, (u64, usize)> {
    let mut out = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let mut name = key.name().to_owned();
        for label in key.labels() {
            name.push_str(&format!(",{}={}", label.key(), label.value()));
        }
        let entry = match value {
            DebugValue::Counter(n) => (n, 0),
            DebugValue::Histogram(samples) => (0, samples.len()),
            DebugValue::Gauge(_) => (0, 0),
        };
        out.insert(name, entry);
    }
    out
}

#[tokio::test]
async fn counters_and_histogram_move() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    let fetcher = InMemory::default();
    let set = JwkSet {
        keys: vec![public_jwk("a", Algorithm::RS256, &key_file("rsa_public.pem")).unwrap()],
    };
    *fetcher.document.lock().unwrap() = serde_json::to_vec(&set).unwrap().into();
    let jwks = JwksValidatorBuilder::<Claims>::new()
        .build(fetcher.clone(), "http://idp.invalid/jwks".parse().unwrap())
        .await
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(BearerAuthLayer::new(CachedValidator::jwks(
            jwks.clone(),
            100,
        )))
        .layer(GuardLayer::new(RequireScopes::<Claims>::new(["read"])))
        .service(EchoClaims::<Claims>::new());
    let server = serve(service).await;

    let sign = |scope: &str| {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("a".into());
        install_crypto_provider();
        let key = EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).unwrap();
        let claims = json!({ "sub": "alice", "exp": now() + 600, "scope": scope });
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let url = server.url("/");
    let read = sign("read");
    for _ in 0..3 {
        assert_eq!(get_with_token(&url, &read).await.status, 200);
    }
    assert_eq!(get_with_token(&url, &sign("write")).await.status, 403);
    assert_eq!(get_with_token(&url, "garbage").await.status, 401);
    assert_eq!(get(&url, &[]).await.status, 401);

    jwks.refresh().await.unwrap();
    fetcher.down.store(true, Ordering::SeqCst);
    assert!(jwks.refresh().await.is_err());

    let seen = snapshot(&snapshotter);
    let counter = |name: &str| seen.get(name).map_or(0, |(n, _)| *n);
    // Three reads and the token without the scope passed the bearer layer.
    assert_eq!(
        counter("tower_bearer_requests_accepted_total"),
        4,
        "{seen:?}"
    );
    assert_eq!(
        counter("tower_bearer_requests_refused_total,reason=insufficient_scope"),
        1
    );
    assert_eq!(
        counter("tower_bearer_requests_refused_total,reason=invalid_token"),
        1
    );
    assert_eq!(
        counter("tower_bearer_requests_refused_total,reason=unauthorized"),
        1
    );
    // Every token the layer validated (not the request without one).
    assert_eq!(seen["tower_bearer_validation_seconds"].1, 5);
    // The first fetch, the refresh, the failed refresh.
    assert_eq!(counter("tower_bearer_jwks_fetches_total"), 3);
    assert_eq!(counter("tower_bearer_jwks_fetch_failures_total"), 1);
    // `read` verified once then twice from the cache; `write` and `garbage` verified.
    assert_eq!(counter("tower_bearer_cache_hits_total"), 2);
    assert_eq!(counter("tower_bearer_cache_misses_total"), 3);
}
