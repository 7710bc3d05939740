//! Per-request cost of bearer authentication, side by side in one run.
//!
//! Every row drives a ready service directly (`poll_ready`, `call`, one poll of an
//! immediately-ready future with a no-op waker: no runtime in the loop) and builds the
//! same kind of request, so `row - hs256/bare` is the layer's overhead.
//!
//! ```text
//! cargo bench --bench layer --features cache -- --warm-up-time 1 --measurement-time 3
//! # Interleaved paired differences (rounds of every row in turn; medians of rounds):
//! BENCH_PAIRED=1 cargo bench --bench layer --features cache
//! # One row N times (for callgrind instruction counts):
//! BENCH_ROW=hs256/bearer_layer BENCH_ITERS=10000 valgrind --tool=callgrind target/release/deps/layer-*
//! ```
//!
//! aws-lc is the default backend. With `--features rust-crypto` both jsonwebtoken
//! backends are on, so the bench installs the RustCrypto provider as jsonwebtoken's
//! process default before minting tokens (the `jsonwebtoken_decode` and
//! `handwritten_layer` rows then use RustCrypto's HMAC); our validator uses aws-lc for
//! RSA/EC/Ed whenever the `aws-lc` feature is on. The RustCrypto-only numbers:
//! `--no-default-features --features rust-crypto,jwks,cache`.

mod common;

use common::{bearer, call_now, now, request, Ok200, Req, SECRET};
use std::convert::Infallible;
use std::fmt::Debug;
use std::future::{ready, Ready};
use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::Criterion;
use hmac::{Hmac, Mac};
use http::header::AUTHORIZATION;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Empty;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use tower::{Layer, Service};
use tower_bearer::{Audience, BearerAuthLayer, Claims, JwtValidator};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "api";

// ----- a hand-written minimal jsonwebtoken layer, as a user would write it -----

#[derive(Clone)]
struct HandwrittenLayer {
    key: Arc<DecodingKey>,
    validation: Arc<jsonwebtoken::Validation>,
}

#[derive(Clone)]
struct Handwritten<S> {
    inner: S,
    layer: HandwrittenLayer,
}

impl<S> Layer<S> for HandwrittenLayer {
    type Service = Handwritten<S>;
    fn layer(&self, inner: S) -> Handwritten<S> {
        Handwritten {
            inner,
            layer: self.clone(),
        }
    }
}

impl<S> Service<Req> for Handwritten<S>
where
    S: Service<
        Req,
        Response = Response<Empty<Bytes>>,
        Error = Infallible,
        Future = Ready<Result<Response<Empty<Bytes>>, Infallible>>,
    >,
{
    type Response = Response<Empty<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Req) -> Self::Future {
        let claims = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .and_then(|token| {
                jsonwebtoken::decode::<Claims>(token, &self.layer.key, &self.layer.validation).ok()
            });
        match claims {
            Some(data) => {
                request.extensions_mut().insert(data.claims);
                self.inner.call(request)
            }
            None => {
                let mut response = Response::new(Empty::new());
                *response.status_mut() = StatusCode::UNAUTHORIZED;
                ready(Ok(response))
            }
        }
    }
}

// ----- tokens and keys -----

/// The claims every token of these rows carries. `BENCH_CLAIMS=plain` leaves out
/// `roles`, for comparing with builds from before the `hs256/user_claims` row existed
/// (their tokens had no `roles`).
fn claims() -> serde_json::Value {
    let now = now();
    let mut claims = json!({
        "sub": "user-1234",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now + 24 * 3600,
        "iat": now,
        "scope": "read write",
        "roles": ["reader", "editor"],
    });
    if std::env::var("BENCH_CLAIMS").as_deref() == Ok("plain") {
        claims.as_object_mut().unwrap().remove("roles");
    }
    claims
}

/// A claims type of the application's own, as users write it: the rows
/// `hs256/bearer_layer` (default [`Claims`]) and `hs256/user_claims` verify the same token.
#[derive(Clone, Deserialize)]
#[allow(dead_code)]
struct UserClaims {
    sub: String,
    exp: i64,
    iat: i64,
    iss: String,
    aud: Audience,
    scope: String,
    #[serde(default)]
    roles: Vec<String>,
}

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn mint(algorithm: Algorithm, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), &claims(), key).unwrap()
}

fn ours(algorithm: Algorithm, key: &DecodingKey) -> JwtValidator<Claims> {
    JwtValidator::<Claims>::new(algorithm, key)
        .unwrap()
        .with_issuer(ISSUER)
        .unwrap()
        .with_audience(AUDIENCE)
        .unwrap()
}

// ----- rows -----

struct Row {
    id: &'static str,
    expect: StatusCode,
    run: Box<dyn FnMut() -> StatusCode>,
}

fn row<S, B>(
    id: &'static str,
    expect: StatusCode,
    mut service: S,
    authorization: Option<HeaderValue>,
) -> Row
where
    S: Service<Req, Response = Response<B>> + 'static,
    S::Error: Debug,
{
    Row {
        id,
        expect,
        run: Box::new(move || call_now(&mut service, request(authorization.as_ref()))),
    }
}

#[allow(clippy::too_many_lines)]
fn rows() -> Vec<Row> {
    #[cfg(all(feature = "aws-lc", feature = "rust-crypto"))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();

    let hs_token = mint(Algorithm::HS256, &EncodingKey::from_secret(SECRET));
    let hs_header = bearer(&hs_token);
    let hs_key = DecodingKey::from_secret(SECRET);
    let layer = BearerAuthLayer::new(ours(Algorithm::HS256, &hs_key));

    let mut rows = vec![row(
        "hs256/bare",
        StatusCode::OK,
        Ok200,
        Some(hs_header.clone()),
    )];

    // HMAC floor: HMAC-SHA256 over the same signing input, keyed once.
    let signing_input = hs_token.as_bytes()[..hs_token.rfind('.').unwrap()].to_vec();
    let keyed = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    rows.push(Row {
        id: "hs256/hmac_floor",
        expect: StatusCode::OK,
        run: Box::new(move || {
            let mut mac = keyed.clone();
            mac.update(black_box(&signing_input));
            black_box(mac.finalize().into_bytes());
            StatusCode::OK
        }),
    });

    let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    {
        let (token, key, validation) = (hs_token.clone(), hs_key.clone(), validation.clone());
        rows.push(Row {
            id: "hs256/jsonwebtoken_decode",
            expect: StatusCode::OK,
            run: Box::new(move || {
                match jsonwebtoken::decode::<Claims>(black_box(&token), &key, &validation) {
                    Ok(data) => {
                        black_box(data);
                        StatusCode::OK
                    }
                    Err(_) => StatusCode::UNAUTHORIZED,
                }
            }),
        });
    }
    let handwritten = HandwrittenLayer {
        key: Arc::new(hs_key.clone()),
        validation: Arc::new(validation),
    };
    rows.push(row(
        "hs256/handwritten_layer",
        StatusCode::OK,
        handwritten.layer(Ok200),
        Some(hs_header.clone()),
    ));
    #[allow(deprecated)]
    let static_bearer = tower_http::validate_request::ValidateRequestHeaderLayer::bearer(&hs_token);
    rows.push(row(
        "hs256/tower_http_bearer",
        StatusCode::OK,
        static_bearer.layer(Ok200),
        Some(hs_header.clone()),
    ));
    rows.push(row(
        "hs256/bearer_layer",
        StatusCode::OK,
        layer.layer(Ok200),
        Some(hs_header.clone()),
    ));
    // The same token, its claims read into the application's own type.
    rows.push(row(
        "hs256/user_claims",
        StatusCode::OK,
        BearerAuthLayer::new(ours(Algorithm::HS256, &hs_key).with_claims::<UserClaims>())
            .layer(Ok200),
        Some(hs_header.clone()),
    ));
    // Several issuers: the token's `iss` picks its source (here the last of three),
    // then the same validation as the row above.
    #[cfg(feature = "jwks-core")]
    {
        let mut issuers = tower_bearer::MultiIssuerValidator::<Claims>::new();
        for other in [
            "https://login.other.example",
            "https://tenant-2.other.example",
        ] {
            let validator = JwtValidator::<Claims>::hs256(b"another-secret-of-at-least-32-bytes!")
                .unwrap()
                .with_issuer(other)
                .unwrap();
            issuers = issuers.with_keys(validator).unwrap();
        }
        let issuers = issuers.with_keys(ours(Algorithm::HS256, &hs_key)).unwrap();
        rows.push(row(
            "hs256/multi_issuer_layer",
            StatusCode::OK,
            BearerAuthLayer::new(issuers).layer(Ok200),
            Some(hs_header.clone()),
        ));
    }
    #[cfg(feature = "cache")]
    {
        let cached = tower_bearer::CachedValidator::new(ours(Algorithm::HS256, &hs_key), 10_000)
            .cache_hmac();
        cached.verify(&hs_token).unwrap();
        rows.push(row(
            "hs256/cached",
            StatusCode::OK,
            BearerAuthLayer::new(cached).layer(Ok200),
            Some(hs_header.clone()),
        ));
    }

    // 401 paths of our layer.
    rows.push(row(
        "reject/missing",
        StatusCode::UNAUTHORIZED,
        layer.layer(Ok200),
        None,
    ));
    rows.push(row(
        "reject/malformed",
        StatusCode::UNAUTHORIZED,
        layer.layer(Ok200),
        Some(bearer("not-a-jwt")),
    ));
    let mut tampered = hs_token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    rows.push(row(
        "reject/bad_signature",
        StatusCode::UNAUTHORIZED,
        layer.layer(Ok200),
        Some(bearer(std::str::from_utf8(&tampered).unwrap())),
    ));

    // Asymmetric: cold (every request verified) and cached (a warm verified-token cache).
    let asymmetric = [
        (
            "rs256/cold",
            "rs256/cached",
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).unwrap(),
            DecodingKey::from_rsa_pem(&key_file("rsa_public.pem")).unwrap(),
        ),
        (
            "es256/cold",
            "es256/cached",
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&key_file("ec_private.pem")).unwrap(),
            DecodingKey::from_ec_pem(&key_file("ec_public.pem")).unwrap(),
        ),
        (
            "eddsa/cold",
            "eddsa/cached",
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(&key_file("ed_private.pem")).unwrap(),
            DecodingKey::from_ed_pem(&key_file("ed_public.pem")).unwrap(),
        ),
    ];
    for (cold, _cached, algorithm, encoding, decoding) in asymmetric {
        let token = mint(algorithm, &encoding);
        let header = bearer(&token);
        let validator = ours(algorithm, &decoding);
        rows.push(row(
            cold,
            StatusCode::OK,
            BearerAuthLayer::new(validator.clone()).layer(Ok200),
            Some(header.clone()),
        ));
        #[cfg(feature = "cache")]
        {
            let cached = tower_bearer::CachedValidator::new(validator, 10_000);
            cached.verify(&token).unwrap();
            rows.push(row(
                _cached,
                StatusCode::OK,
                BearerAuthLayer::new(cached).layer(Ok200),
                Some(header),
            ));
        }
    }

    // A JWK set (one RS256 key, fetched once from memory): every request verified, and
    // with a warm verified-token cache.
    #[cfg(feature = "jwks-core")]
    {
        let encoding = EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).unwrap();
        let jwk =
            tower_bearer::keys::public_jwk("k1", Algorithm::RS256, &key_file("rsa_public.pem"))
                .unwrap();
        let document = serde_json::to_vec(&json!({ "keys": [jwk] })).unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("k1".into());
        let token = jsonwebtoken::encode(&header, &claims(), &encoding).unwrap();
        // The validator's refresh task lives on this runtime, idle while the rows run.
        let runtime = Box::leak(Box::new(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        ));
        let jwks = runtime
            .block_on(
                tower_bearer::JwksValidator::<Claims>::builder()
                    .with_issuer(ISSUER)
                    .unwrap()
                    .with_audience(AUDIENCE)
                    .unwrap()
                    .build(
                        InMemoryJwks(document.into()),
                        "http://idp.invalid/jwks".parse().unwrap(),
                    ),
            )
            .unwrap();
        rows.push(row(
            "jwks_rs256/cold",
            StatusCode::OK,
            BearerAuthLayer::new(jwks.clone()).layer(Ok200),
            Some(bearer(&token)),
        ));
        #[cfg(feature = "cache")]
        rows.push(row(
            "jwks_rs256/cached",
            StatusCode::OK,
            BearerAuthLayer::new(tower_bearer::CachedValidator::jwks(jwks, 10_000)).layer(Ok200),
            Some(bearer(&token)),
        ));
    }

    // axum 0.8: a one-route router, bare and behind our layer.
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    rows.push(row(
        "axum/bare_router",
        StatusCode::OK,
        router.clone(),
        Some(hs_header.clone()),
    ));
    rows.push(row(
        "axum/bearer_layer",
        StatusCode::OK,
        router.layer(BearerAuthLayer::new(ours(Algorithm::HS256, &hs_key))),
        Some(hs_header),
    ));

    // Each row answers as expected before it is timed.
    for row in &mut rows {
        assert_eq!((row.run)(), row.expect, "{}", row.id);
    }
    rows
}

/// A JWK set served from memory.
#[cfg(feature = "jwks-core")]
struct InMemoryJwks(Bytes);

#[cfg(feature = "jwks-core")]
impl tower_bearer::JwksFetcher for InMemoryJwks {
    async fn fetch(
        &self,
        _: &http::Uri,
        _: usize,
    ) -> Result<tower_bearer::validate::FetchedDocument, tower_bearer::validate::JwksError> {
        Ok(tower_bearer::validate::FetchedDocument::new(self.0.clone()))
    }
}

fn selected(mut rows: Vec<Row>) -> Vec<Row> {
    match std::env::var("BENCH_ROWS") {
        Ok(filter) => {
            rows.retain(|row| filter.split(',').any(|f| row.id.starts_with(f)));
            rows
        }
        Err(_) => rows,
    }
}

/// Rounds of every row in turn; per row the median of per-round ns/iter, and the median
/// of per-round differences to `hs256/bare` (paired: same round, interleaved).
fn paired(mut rows: Vec<Row>) {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(31);
    let block = Duration::from_millis(20);
    // Iterations per block, calibrated once per row.
    let iters: Vec<u64> = rows
        .iter_mut()
        .map(|row| {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < block {
                black_box((row.run)());
                n += 1;
            }
            n.max(1)
        })
        .collect();
    let mut samples = vec![Vec::with_capacity(rounds); rows.len()];
    for _ in 0..rounds {
        for (i, row) in rows.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..iters[i] {
                black_box((row.run)());
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / iters[i] as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let bare = rows.iter().position(|row| row.id == "hs256/bare");
    println!(
        "{:<28} {:>12} {:>16}",
        "row", "median ns", "paired - bare ns"
    );
    for (i, row) in rows.iter().enumerate() {
        let diff = bare.map(|b| {
            let mut d: Vec<f64> = samples[i]
                .iter()
                .zip(&samples[b])
                .map(|(x, y)| x - y)
                .collect();
            median(&mut d)
        });
        let m = median(&mut samples[i].clone());
        match diff {
            Some(d) => println!("{:<28} {:>12.1} {:>16.1}", row.id, m, d),
            None => println!("{:<28} {:>12.1}", row.id, m),
        }
    }
}

fn main() {
    let rows = selected(rows());
    if let Ok(id) = std::env::var("BENCH_ROW") {
        let iters: u64 = std::env::var("BENCH_ITERS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        let mut row = rows
            .into_iter()
            .find(|row| row.id == id)
            .expect("no such row");
        for _ in 0..iters {
            black_box((row.run)());
        }
        return;
    }
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
