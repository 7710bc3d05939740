//! Proof checks against proofs signed here with jsonwebtoken (third-party proofs are
//! in `tests/dpop.rs`).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Method};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::*;
use crate::keys::public_jwk_from_private;

const NOW: i64 = 1_800_000_000;
const BASE: &str = "https://api.example.com";
const TOKEN: &str = "an.access.token";

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(include_bytes!("../../tests/keys/ec_private.pem")).unwrap()
}

fn ed_key() -> EncodingKey {
    EncodingKey::from_ed_pem(include_bytes!("../../tests/keys/ed_private.pem")).unwrap()
}

fn public_jwk(algorithm: Algorithm, key: &EncodingKey) -> Value {
    let jwk = public_jwk_from_private("k", algorithm, key).unwrap();
    let mut jwk = serde_json::to_value(jwk).unwrap();
    let members = jwk.as_object_mut().unwrap();
    for extra in ["kid", "alg", "use", "key_ops"] {
        members.remove(extra);
    }
    jwk
}

/// A proof with `header` and `claims` (JSON objects) signed by `key`.
fn sign(header: &Value, claims: &Value, algorithm: Algorithm, key: &EncodingKey) -> String {
    #[cfg(all(feature = "aws-lc", feature = "rust-crypto"))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    let mut jose = Header::new(algorithm);
    jose.typ = header["typ"].as_str().map(str::to_owned);
    jose.jwk = header
        .get("jwk")
        .map(|jwk| serde_json::from_value(jwk.clone()).unwrap());
    jsonwebtoken::encode(&jose, claims, key).unwrap()
}

fn claims() -> Value {
    json!({
        "jti": "proof-1",
        "htm": "GET",
        "htu": "https://api.example.com/users/me",
        "iat": NOW,
        "ath": ath_of(TOKEN),
    })
}

fn proof_with(claims: &Value) -> String {
    let key = ec_key();
    let header = json!({"typ": "dpop+jwt", "jwk": public_jwk(Algorithm::ES256, &key)});
    sign(&header, claims, Algorithm::ES256, &key)
}

fn headers(proof: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(&DPOP, HeaderValue::try_from(proof).unwrap());
    headers
}

fn check(dpop: &Dpop, proof: &str) -> Result<Proof, DpopError> {
    dpop.check_at(&headers(proof), &Method::GET, "/users/me", Some(TOKEN), NOW)
}

fn dpop() -> Dpop {
    Dpop::new(BASE).unwrap()
}

#[test]
fn valid_proofs_ok() {
    let proof = check(&dpop(), &proof_with(&claims())).unwrap();
    let jwk = public_jwk(Algorithm::ES256, &ec_key());
    assert_eq!(
        Some(proof.jkt()),
        jwk_thumbprint(jwk.as_object().unwrap()).as_deref()
    );
    assert_eq!(proof.ttl, Duration::from_secs(61));

    let ed = ed_key();
    let header = json!({"typ": "dpop+jwt", "jwk": public_jwk(Algorithm::EdDSA, &ed)});
    let proof = sign(&header, &claims(), Algorithm::EdDSA, &ed);
    check(&dpop(), &proof).unwrap();

    // Equivalent URIs, a fractional iat, a query in htu.
    let mut equivalent = claims();
    equivalent["htu"] = json!("HTTPS://API.example.com:443/users/./me?x=1");
    equivalent["iat"] = json!(NOW as f64 + 0.5);
    check(&dpop(), &proof_with(&equivalent)).unwrap();

    // A base URL with a path prefix.
    let prefixed = Dpop::new("https://api.example.com/v1/").unwrap();
    let mut claims = claims();
    claims["htu"] = json!("https://api.example.com/v1/users/me");
    check(&prefixed, &proof_with(&claims)).unwrap();
}

fn refused(claims: &Value) -> DpopError {
    check(&dpop(), &proof_with(claims)).unwrap_err()
}

#[test]
fn wrong_claims_fail() {
    let cases: [(&str, Value, DpopError); 9] = [
        ("htm", json!("POST"), DpopError::WrongMethod),
        ("htm", json!("get"), DpopError::WrongMethod),
        (
            "htu",
            json!("https://api.example.com/users"),
            DpopError::WrongUri,
        ),
        (
            "htu",
            json!("http://api.example.com/users/me"),
            DpopError::WrongUri,
        ),
        ("iat", json!(NOW - 61), DpopError::Stale),
        ("iat", json!(NOW + 6), DpopError::Stale),
        ("iat", json!("now"), DpopError::InvalidClaim("iat")),
        (
            "ath",
            json!(ath_of("another.token")),
            DpopError::WrongAccessTokenHash,
        ),
        ("jti", json!(""), DpopError::InvalidClaim("jti")),
    ];
    for (claim, value, expected) in cases {
        let mut claims = claims();
        claims[claim] = value;
        assert_eq!(refused(&claims), expected, "{claim}");
    }
    for claim in ["jti", "htm", "htu", "iat", "ath"] {
        let mut claims = claims();
        claims.as_object_mut().unwrap().remove(claim);
        let error = refused(&claims);
        assert!(
            matches!(error, DpopError::MissingClaim(_)),
            "{claim}: {error:?}"
        );
    }
}

#[test]
fn wrong_headers_fail() {
    let key = ec_key();
    let jwk = public_jwk(Algorithm::ES256, &key);
    let check_header = |header: &Value| {
        let proof = sign(header, &claims(), Algorithm::ES256, &key);
        check(&dpop(), &proof).unwrap_err()
    };
    assert_eq!(
        check_header(&json!({"typ": "JWT", "jwk": jwk})),
        DpopError::WrongType
    );
    assert_eq!(check_header(&json!({"jwk": jwk})), DpopError::WrongType);
    assert_eq!(
        check_header(&json!({"typ": "dpop+jwt"})),
        DpopError::MissingKey
    );
    // The key of another algorithm.
    let ed = public_jwk(Algorithm::EdDSA, &ed_key());
    assert_eq!(
        check_header(&json!({"typ": "dpop+jwt", "jwk": ed})),
        DpopError::KeyAlgorithmMismatch
    );
    // Signed by another key than the one in the header.
    let other =
        EncodingKey::from_ec_pem(include_bytes!("../../tests/keys/ec_private_2.pem")).unwrap();
    let header = json!({"typ": "dpop+jwt", "jwk": jwk});
    let forged = sign(&header, &claims(), Algorithm::ES256, &other);
    assert_eq!(
        check(&dpop(), &forged).unwrap_err(),
        DpopError::BadSignature
    );
}

/// Hand-built proofs: algorithms no signer offers.
#[test]
fn none_and_hmac_fail() {
    let jwk = public_jwk(Algorithm::ES256, &ec_key());
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    for alg in ["none", "HS256", "NONE", "es256"] {
        let header = encode(&json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk}));
        let proof = format!("{header}.{}.c2ln", encode(&claims()));
        assert_eq!(
            check(&dpop(), &proof).unwrap_err(),
            DpopError::UnsupportedAlgorithm,
            "{alg}"
        );
    }
    let header = encode(&json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk, "crit": ["x"]}));
    let proof = format!("{header}.{}.c2ln", encode(&claims()));
    assert_eq!(
        check(&dpop(), &proof).unwrap_err(),
        DpopError::UnsupportedCriticalHeader
    );
    for malformed in ["", "a.b", "a.b.c.d", "!!.b.c", "..", "e30.e30.e30"] {
        assert!(
            matches!(
                check(&dpop(), malformed).unwrap_err(),
                DpopError::Malformed | DpopError::WrongType
            ),
            "{malformed:?}"
        );
    }
    assert!(Dpop::new(BASE)
        .unwrap()
        .with_algorithms([Algorithm::HS256])
        .is_err());
}

#[test]
fn header_count_and_size_fail() {
    let proof = proof_with(&claims());
    let none = HeaderMap::new();
    assert_eq!(
        dpop()
            .check_at(&none, &Method::GET, "/users/me", Some(TOKEN), NOW)
            .unwrap_err(),
        DpopError::Missing
    );
    let mut two = headers(&proof);
    two.append(&DPOP, HeaderValue::try_from(proof.as_str()).unwrap());
    assert_eq!(
        dpop()
            .check_at(&two, &Method::GET, "/users/me", Some(TOKEN), NOW)
            .unwrap_err(),
        DpopError::Multiple
    );
    let small = dpop().with_max_proof_len(100);
    assert_eq!(check(&small, &proof).unwrap_err(), DpopError::TooLong);
}

#[test]
fn nonces_required_when_on() {
    let dpop = dpop()
        .with_nonces(&[9; 32], Duration::from_secs(300))
        .unwrap();
    assert_eq!(
        check(&dpop, &proof_with(&claims())).unwrap_err(),
        DpopError::UseNonce
    );
    let refusal = dpop.refusal(DpopError::UseNonce);
    assert_eq!(refusal.code(), "use_dpop_nonce");
    assert!(matches!(refusal, AuthError::Dpop { nonce: Some(_), .. }));

    let nonce = dpop.inner.nonces.as_ref().unwrap().current(NOW);
    let mut with_nonce = claims();
    with_nonce["nonce"] = json!(nonce);
    check(&dpop, &proof_with(&with_nonce)).unwrap();
    with_nonce["nonce"] = json!("forged");
    assert_eq!(
        check(&dpop, &proof_with(&with_nonce)).unwrap_err(),
        DpopError::UseNonce
    );
}

#[tokio::test]
async fn replayed_proof_fails() {
    let dpop = dpop();
    let proof = proof_with(&claims());
    check(&dpop, &proof).unwrap().record().await.unwrap();
    let again = check(&dpop, &proof).unwrap().record().await;
    assert!(matches!(again, Err(Ok(DpopError::Replayed))));
    // Another jti from the same key is a new proof.
    let mut next = claims();
    next["jti"] = json!("proof-2");
    check(&dpop, &proof_with(&next))
        .unwrap()
        .record()
        .await
        .unwrap();
}

#[test]
fn token_binding_read_ok() {
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let token = |payload: &Value| {
        format!(
            "{}.{}.sig",
            encode(&json!({"alg": "HS256"})),
            encode(payload)
        )
    };
    assert_eq!(
        token_jkt(&token(&json!({"cnf": {"jkt": "abc"}}))).as_deref(),
        Some("abc")
    );
    assert_eq!(token_jkt(&token(&json!({"sub": "x"}))), None);
    assert_eq!(
        token_jkt(&token(&json!({"cnf": {"x5t#S256": "abc"}}))),
        None
    );
    assert_eq!(
        token_jkt(&token(&json!({"cnf": {"jkt": 1}}))).as_deref(),
        Some("")
    );
    assert_eq!(token_jkt("opaque-token"), None);
}
