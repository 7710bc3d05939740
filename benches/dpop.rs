//! Per-request cost of DPoP (RFC 9449) in the bearer layer, next to the plain HS256
//! bearer row, in one run.
//!
//! Rows drive a ready service directly (`poll_ready`, `call`, polls of the response
//! future with a no-op waker), as `benches/layer.rs` does:
//! - `hs256/bearer_layer`: the layer without DPoP (the `Bearer` hot path);
//! - `hs256/bearer_layer_dpop_on`: an unbound `Bearer` token through a layer with DPoP
//!   on (the extra read of the payload for `cnf.jkt`);
//! - `dpop/es256_proof`, `dpop/eddsa_proof`: `Authorization: DPoP` with an HS256 token
//!   bound to the key and a fresh proof each request (a new `jti`, so the in-memory
//!   replay store records each one); the proofs are signed outside the timed part.
//!
//! ```text
//! cargo bench --bench dpop -- --warm-up-time 1 --measurement-time 3
//! ```

mod common;

use common::{call_now, now, Ok200, Req, SECRET};
use std::time::Duration;

use criterion::{BatchSize, Criterion};
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Empty;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tower::Layer;
use tower_bearer::dpop::{ath_of, jwk_thumbprint, Dpop, MemoryReplayStore};
use tower_bearer::keys::public_jwk_from_private;
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};

const BASE: &str = "https://api.example.com";
const PATH: &str = "/users/me";

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn hs256(claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn request(authorization: &HeaderValue, proof: Option<HeaderValue>) -> Req {
    let mut request = Request::get(PATH).body(Empty::new()).unwrap();
    request
        .headers_mut()
        .insert(AUTHORIZATION, authorization.clone());
    if let Some(proof) = proof {
        request.headers_mut().insert("dpop", proof);
    }
    request
}

/// Signs proofs for GET `PATH` with one key, a new `jti` each.
struct Prover {
    algorithm: Algorithm,
    key: EncodingKey,
    header: Header,
    jkt: String,
    counter: u64,
}

impl Prover {
    fn new(algorithm: Algorithm, key: EncodingKey) -> Self {
        let jwk = public_jwk_from_private("bench", algorithm, &key).unwrap();
        let jkt = jwk_thumbprint(serde_json::to_value(&jwk).unwrap().as_object().unwrap()).unwrap();
        let mut header = Header::new(algorithm);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(jwk);
        Self {
            algorithm,
            key,
            header,
            jkt,
            counter: 0,
        }
    }

    fn proof(&mut self, token: &str) -> HeaderValue {
        self.counter += 1;
        let claims = json!({
            "jti": format!("bench-{:?}-{}", self.algorithm, self.counter),
            "htm": "GET",
            "htu": format!("{BASE}{PATH}"),
            "iat": now(),
            "ath": ath_of(token),
        });
        let proof = jsonwebtoken::encode(&self.header, &claims, &self.key).unwrap();
        HeaderValue::try_from(proof).unwrap()
    }
}

fn main() {
    // Both backends on (--all-features): jsonwebtoken's own encode needs one chosen.
    #[cfg(all(feature = "aws-lc", feature = "rust-crypto"))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();

    let validator = JwtValidator::<Claims>::hs256(SECRET).unwrap();
    let exp = now() + 24 * 3600;
    let plain = hs256(&json!({"sub": "user-1234", "exp": exp, "scope": "read write"}));
    let plain_header = HeaderValue::try_from(format!("Bearer {plain}")).unwrap();
    let dpop = Dpop::new(BASE)
        .unwrap()
        .with_max_age(Duration::from_secs(3600))
        .with_replay_store(
            MemoryReplayStore::new()
                .with_max_proofs(10_000_000)
                .unwrap(),
        );

    let mut without = BearerAuthLayer::new(validator.clone()).layer(Ok200);
    let mut with = BearerAuthLayer::new(validator).with_dpop(dpop).layer(Ok200);
    assert_eq!(
        call_now(&mut without, request(&plain_header, None)),
        StatusCode::OK
    );
    assert_eq!(
        call_now(&mut with, request(&plain_header, None)),
        StatusCode::OK
    );

    let mut criterion = Criterion::default().configure_from_args();
    criterion.bench_function("hs256/bearer_layer", |b| {
        b.iter(|| call_now(&mut without, request(&plain_header, None)));
    });
    criterion.bench_function("hs256/bearer_layer_dpop_on", |b| {
        b.iter(|| call_now(&mut with, request(&plain_header, None)));
    });

    let provers = [
        (
            "dpop/es256_proof",
            Prover::new(
                Algorithm::ES256,
                EncodingKey::from_ec_pem(&key_file("ec_private.pem")).unwrap(),
            ),
        ),
        (
            "dpop/eddsa_proof",
            Prover::new(
                Algorithm::EdDSA,
                EncodingKey::from_ed_pem(&key_file("ed_private.pem")).unwrap(),
            ),
        ),
    ];
    for (id, mut prover) in provers {
        let bound = hs256(&json!({
            "sub": "user-1234", "exp": exp, "scope": "read write",
            "cnf": {"jkt": prover.jkt},
        }));
        let authorization = HeaderValue::try_from(format!("DPoP {bound}")).unwrap();
        let proof = prover.proof(&bound);
        assert_eq!(
            call_now(&mut with, request(&authorization, Some(proof.clone()))),
            StatusCode::OK
        );
        // The replay store remembers it.
        assert_eq!(
            call_now(&mut with, request(&authorization, Some(proof))),
            StatusCode::UNAUTHORIZED
        );
        criterion.bench_function(id, |b| {
            b.iter_batched(
                || request(&authorization, Some(prover.proof(&bound))),
                |request| {
                    let status = call_now(&mut with, request);
                    assert_eq!(status, StatusCode::OK);
                    status
                },
                BatchSize::SmallInput,
            );
        });
    }
    criterion.final_summary();
}
