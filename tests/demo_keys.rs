//! The demo server's generated RS256 / ES256 keys (no `JWT_KEY_FILE`) and
//! `JWT_AUDIENCE` in every mode, over TCP against the real binary.
#![cfg(all(feature = "jwks", feature = "token-endpoint", feature = "openapi"))]

mod common;
#[path = "common/demo.rs"]
mod demo;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use demo::{start_with, Demo};
use http::StatusCode;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{json, Value};
use tower_bearer::{Claims, JwtValidator};

const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";
const SECRET_TEXT: &str = "demo-keys-test-secret-of-at-least-32-bytes!";

async fn login(demo: &Demo) -> String {
    let answer = post_form(&demo.url("/token"), LOGIN).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.json()["access_token"].as_str().unwrap().to_owned()
}

fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_and_es256_generate_a_key_at_start() {
    for (alg, kty) in [("RS256", "RSA"), ("ES256", "EC")] {
        let demo = start_with(&[("JWT_ALG", alg)]);
        let token = login(&demo).await;
        let header = segment(&token, 0);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["kid"], "demo-1");
        let me = get_with_token(&demo.url("/users/me"), &token).await;
        assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
        assert_eq!(me.json()["username"], "johndoe");

        // The published key verifies the token; a second start has another key.
        let jwks = get(&demo.url("/.well-known/jwks.json"), &[]).await.json();
        assert_eq!(jwks["keys"][0]["kty"], kty);
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
        let algorithm = if alg == "RS256" {
            Algorithm::RS256
        } else {
            Algorithm::ES256
        };
        let validator =
            JwtValidator::<Claims>::new(algorithm, &DecodingKey::from_jwk(&jwk).unwrap())
                .unwrap()
                .require_low_s_ecdsa();
        validator.verify(&token).unwrap();
        demo.terminate();

        let again = start_with(&[("JWT_ALG", alg)]);
        let other = get(&again.url("/.well-known/jwks.json"), &[]).await.json();
        assert_ne!(other["keys"][0], jwks["keys"][0]);
        again.terminate();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_audience_applies_in_the_default_hs256_mode() {
    let demo = start_with(&[("JWT_SECRET", SECRET_TEXT), ("JWT_AUDIENCE", "demo-api")]);
    // The server's own tokens carry it and pass.
    let token = login(&demo).await;
    assert_eq!(segment(&token, 1)["aud"], "demo-api");
    let status = demo.url("/status");
    assert_eq!(get_with_token(&status, &token).await.status, StatusCode::OK);

    let now = now();
    let signed = |claims: Value| {
        sign(
            Algorithm::HS256,
            &jsonwebtoken::EncodingKey::from_secret(SECRET_TEXT.as_bytes()),
            &claims,
        )
    };
    let base = json!({"sub": "johndoe", "iat": now, "exp": now + 600, "scope": "me items"});
    let mut with_list = base.clone();
    with_list["aud"] = json!(["other", "demo-api"]);
    assert_eq!(
        get_with_token(&status, &signed(with_list)).await.status,
        StatusCode::OK
    );
    // Without `aud`, or for another audience: 401 invalid_token.
    let mut wrong = base.clone();
    wrong["aud"] = json!("other-api");
    for claims in [base, wrong] {
        get_with_token(&status, &signed(claims))
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }
    demo.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_audience_applies_with_generated_keys() {
    let demo = start_with(&[("JWT_ALG", "ES256"), ("JWT_AUDIENCE", "demo-api")]);
    let token = login(&demo).await;
    assert_eq!(segment(&token, 1)["aud"], "demo-api");
    let me = get_with_token(&demo.url("/users/me"), &token).await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    demo.terminate();
}
