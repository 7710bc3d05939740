//! Per-request cost of an `IntrospectionValidator` cache hit, next to the bare service
//! and the HS256 layer, in one run. A hit makes no network call: the cache was filled
//! once (through a client that answers from memory) before measuring.
//!
//! ```text
//! cargo bench --bench introspection --features introspection -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Every row drives a ready service directly (`poll_ready`, `call`, one poll of an
//! immediately-ready future with a no-op waker), so `row - bare` is the layer's cost.

mod common;

use common::{bearer, call_now, now, request, Ok200, SECRET};
use std::time::Duration;

use bytes::Bytes;
use criterion::Criterion;
use http::{Request, Response, StatusCode};
use jsonwebtoken::{EncodingKey, Header};
use tower::Layer;
use tower_bearer::validate::ClientError;
use tower_bearer::{
    BearerAuthLayer, Claims, IntrospectionClient, IntrospectionValidator, JwtValidator,
    TokenValidator, Validation,
};

/// An opaque token as providers issue them: 256 bits, base64url.
const OPAQUE: &str = "iwqgeum3Z5le08md71DqvkcIDVdhXSfzlMXBjIOKnLI";

/// Answers every introspection request from memory (used once, to fill the cache).
struct Canned(Bytes);

impl IntrospectionClient for Canned {
    async fn send(&self, _: Request<Bytes>, _: usize) -> Result<Response<Bytes>, ClientError> {
        Ok(Response::new(self.0.clone()))
    }
}

fn main() {
    // Both backends on (--all-features): jsonwebtoken's own encode needs one chosen.
    #[cfg(all(feature = "aws-lc", feature = "rust-crypto"))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    let exp = now() + 3600;
    let answer = serde_json::json!({
        "active": true, "client_id": "app", "sub": "svc", "scope": "api:read",
        "iss": "https://as.example", "exp": exp, "iat": exp - 600,
    });
    let validator = IntrospectionValidator::<Claims>::builder(
        Canned(Bytes::from(answer.to_string())),
        "https://as.example/token/introspection",
        "rs",
        "rs-secret",
    )
    .unwrap()
    .with_cache_ttl(Duration::from_secs(3600))
    .build();
    // Fill the cache: the one miss.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    match validator.validate(OPAQUE) {
        Validation::Pending(future) => runtime.block_on(future).expect("active"),
        Validation::Ready(_) => panic!("the first validation must miss"),
    };
    assert!(matches!(
        validator.validate(OPAQUE),
        Validation::Ready(Ok(_))
    ));

    let opaque = bearer(OPAQUE);
    let claims = serde_json::json!({"sub": "svc", "exp": exp, "scope": "api:read"});
    let jwt = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let jwt = bearer(&jwt);

    let mut bare = Ok200;
    let mut cached = BearerAuthLayer::new(validator).layer(Ok200);
    let mut hs256 =
        BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap()).layer(Ok200);
    assert_eq!(
        call_now(&mut cached, request(Some(&opaque))),
        StatusCode::OK
    );
    assert_eq!(call_now(&mut hs256, request(Some(&jwt))), StatusCode::OK);

    let mut criterion = Criterion::default().configure_from_args();
    criterion.bench_function("bare", |b| {
        b.iter(|| call_now(&mut bare, request(Some(&opaque))))
    });
    criterion.bench_function("introspection/cache_hit", |b| {
        b.iter(|| call_now(&mut cached, request(Some(&opaque))))
    });
    criterion.bench_function("hs256/bearer_layer", |b| {
        b.iter(|| call_now(&mut hs256, request(Some(&jwt))))
    });
    criterion.final_summary();
}
