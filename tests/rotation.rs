//! Issuer-side key rotation end to end, two real servers on 127.0.0.1: an issuer (the
//! password-grant token endpoint and `/.well-known/jwks.json`, both following one
//! `SigningKeys`) and a gateway (`BearerAuthLayer` + `JwksValidator` reading the
//! issuer's JWK set over HTTP). The issuer rotates without restarting.
#![cfg(all(feature = "jwks", feature = "token-endpoint"))]

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use http::{Request, StatusCode};
use http_body_util::Either;
use jsonwebtoken::{Algorithm, EncodingKey};
use tower::{Service, ServiceBuilder, ServiceExt};
use tower_bearer::keys::SigningKeys;
use tower_bearer::metadata::WellKnownService;
use tower_bearer::token_endpoint::{
    InMemoryUserStore, PasswordHasher, TokenEndpoint, TokenIssuer, User,
};
use tower_bearer::{BearerAuthLayer, Claims, ConfigError, HttpFetcher, JwksValidator};

fn ec_key(name: &str) -> EncodingKey {
    EncodingKey::from_ec_pem(&key_file(name)).unwrap()
}

/// The issuer: `/token` and `/.well-known/jwks.json`, counting JWK-set requests.
async fn issuer(keys: &SigningKeys, fetches: Arc<AtomicUsize>) -> TestServer {
    let hasher = PasswordHasher::new().with_params(256, 1, 1).unwrap();
    let users = InMemoryUserStore::new()
        .with_user(User::new("johndoe", hasher.hash("secret").unwrap()).with_scopes(["me"]));
    let endpoint = TokenEndpoint::builder(TokenIssuer::from_signing_keys(keys), users)
        .with_hasher(hasher)
        .allow_password_grant()
        .build()
        .unwrap();
    let jwks = WellKnownService::jwks_from_signing_keys(keys).with_max_age(Duration::from_secs(0));
    serve(tower::service_fn(
        move |request: Request<hyper::body::Incoming>| {
            let (mut endpoint, mut jwks, fetches) =
                (endpoint.clone(), jwks.clone(), fetches.clone());
            async move {
                Ok::<_, Infallible>(if request.uri().path() == "/.well-known/jwks.json" {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    Service::<Request<hyper::body::Incoming>>::call(&mut jwks, request)
                        .await?
                        .map(Either::Left)
                } else {
                    let response = Service::<Request<hyper::body::Incoming>>::call(
                        ServiceExt::<Request<hyper::body::Incoming>>::ready(&mut endpoint).await?,
                        request,
                    )
                    .await?;
                    response.map(Either::Right)
                })
            }
        },
    ))
    .await
}

async fn login(issuer: &TestServer) -> String {
    let answer = post_form(
        &issuer.url("/token"),
        "grant_type=password&username=johndoe&password=secret",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.json()["access_token"].as_str().unwrap().to_owned()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn published_kids(issuer: &TestServer) -> Vec<String> {
    let answer = get(&issuer.url("/.well-known/jwks.json"), &[]).await;
    answer.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn status(gateway: &TestServer, token: &str) -> StatusCode {
    get_with_token(&gateway.url("/"), token).await.status
}

#[tokio::test]
async fn rotation_without_restart_old_tokens_until_retired_new_kid_in_one_fetch() {
    install_crypto_provider();
    // A short overlap so that retirement happens within the test; in production it is
    // at least the token lifetime plus leeway plus the JWK set's max-age.
    let overlap = Duration::from_millis(1500);
    let keys = SigningKeys::new("2026-11", Algorithm::ES256, &ec_key("ec_private.pem"))
        .unwrap()
        .with_overlap(overlap);
    let fetches = Arc::new(AtomicUsize::new(0));
    let issuer = issuer(&keys, Arc::clone(&fetches)).await;

    let validator = JwksValidator::<Claims>::builder()
        .with_cooldown(Duration::from_millis(200))
        .with_fetch_timeout(Duration::from_secs(5))
        .build(
            HttpFetcher::new(),
            issuer.url("/.well-known/jwks.json").parse().unwrap(),
        )
        .await
        .unwrap();
    let inner = EchoClaims::<Claims>::new();
    let gateway = serve(
        ServiceBuilder::new()
            .layer(BearerAuthLayer::new(validator.clone()))
            .service(inner.clone()),
    )
    .await;

    // Before: tokens of the first key pass.
    let old = login(&issuer).await;
    assert_eq!(kid_of(&old), "2026-11");
    assert_eq!(status(&gateway, &old).await, StatusCode::OK);

    // Rotation, no restart: new tokens carry the new kid at once, both keys published.
    let rotated_at = Instant::now();
    keys.rotate("2026-12", Algorithm::ES256, &ec_key("ec_private_2.pem"))
        .unwrap();
    let new = login(&issuer).await;
    assert_eq!(kid_of(&new), "2026-12");
    assert_eq!(published_kids(&issuer).await, ["2026-12", "2026-11"]);

    // The gateway picks the new kid up with exactly one fetch, and keeps the old one.
    let before = fetches.load(Ordering::SeqCst);
    assert_eq!(status(&gateway, &new).await, StatusCode::OK);
    assert_eq!(fetches.load(Ordering::SeqCst), before + 1);
    assert_eq!(status(&gateway, &old).await, StatusCode::OK);
    assert_eq!(fetches.load(Ordering::SeqCst), before + 1);

    // A kid still published cannot be reused.
    assert_eq!(
        keys.rotate("2026-11", Algorithm::ES256, &ec_key("ec_private.pem")),
        Err(ConfigError::InvalidKeyId)
    );

    // After the overlap the old key leaves the published set by itself ...
    tokio::time::sleep(overlap.saturating_sub(rotated_at.elapsed()) + Duration::from_millis(100))
        .await;
    assert_eq!(published_kids(&issuer).await, ["2026-12"]);
    // ... and once the gateway has refreshed, its tokens are refused; new ones pass.
    validator.refresh().await.unwrap();
    assert_eq!(validator.kids(), ["2026-12"]);
    let refused = get_with_token(&gateway.url("/"), &old).await;
    refused.assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(status(&gateway, &new).await, StatusCode::OK);
    // The inner service saw exactly the accepted requests.
    assert_eq!(inner.calls(), 4);
}

#[tokio::test]
async fn signing_keys_refuse_what_cannot_be_published() {
    install_crypto_provider();
    let secret = EncodingKey::from_secret(&[7; 32]);
    assert!(SigningKeys::new("h", Algorithm::HS256, &secret).is_err());
    let keys = SigningKeys::new("2026-11", Algorithm::ES256, &ec_key("ec_private.pem")).unwrap();
    // An RSA algorithm with an EC key, an empty kid: refused, the active key unchanged.
    assert!(keys
        .rotate("x", Algorithm::RS256, &ec_key("ec_private_2.pem"))
        .is_err());
    assert!(keys
        .rotate("", Algorithm::ES256, &ec_key("ec_private_2.pem"))
        .is_err());
    assert_eq!(keys.active_kid(), "2026-11");
    // A JWK-set service that follows the keys cannot be overwritten behind their back.
    let jwks = WellKnownService::jwks_from_signing_keys(&keys);
    assert_eq!(
        jwks.set_keys(&keys.jwk_set()),
        Err(ConfigError::Conflict("keys"))
    );
}
