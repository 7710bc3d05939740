//! `CachedValidator::jwks`: verified JWK-set tokens are cached until their `exp`, and
//! verified again once the key set changed; a token whose key left the set is refused
//! even though it was cached.
#![cfg(all(feature = "cache", feature = "jwks-core"))]

mod common;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Uri;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tower::Layer;
use tower_bearer::keys::public_jwk;
use tower_bearer::validate::{FetchedDocument, JwksError, JwksValidatorBuilder};
use tower_bearer::{
    AuthError, BearerAuthLayer, CachedValidator, Claims, InvalidToken, JwksFetcher, JwksValidator,
    TokenValidator, Validation,
};

#[derive(Clone, Default)]
struct InMemory {
    document: Arc<Mutex<Bytes>>,
    fetches: Arc<AtomicUsize>,
}

impl InMemory {
    fn publish(&self, keys: &[(&str, Algorithm)]) {
        let set = JwkSet {
            keys: keys
                .iter()
                .map(|(kid, alg)| public_jwk(kid, *alg, &key_file(&public_pem(*alg))).unwrap())
                .collect(),
        };
        *self.document.lock().unwrap() = serde_json::to_vec(&set).unwrap().into();
    }
}

impl JwksFetcher for InMemory {
    async fn fetch(&self, _: &Uri, _: usize) -> Result<FetchedDocument, JwksError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        Ok(FetchedDocument::new(self.document.lock().unwrap().clone()))
    }
}

fn public_pem(alg: Algorithm) -> String {
    match alg {
        Algorithm::RS256 => "rsa_public.pem".into(),
        _ => "ec_public.pem".into(),
    }
}

fn token(kid: &str, alg: Algorithm) -> String {
    let (file, key): (_, fn(&[u8]) -> _) = match alg {
        Algorithm::RS256 => ("rsa_private.pem", EncodingKey::from_rsa_pem),
        _ => ("ec_private.pem", EncodingKey::from_ec_pem),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    install_crypto_provider();
    let claims = json!({ "sub": "alice", "exp": now() + 600 });
    jsonwebtoken::encode(&header, &claims, &key(&key_file(file)).unwrap()).unwrap()
}

async fn build(fetcher: &InMemory) -> JwksValidator<Claims> {
    JwksValidatorBuilder::<Claims>::new()
        .with_cooldown(Duration::from_secs(3600))
        .build(fetcher.clone(), "http://idp.invalid/jwks".parse().unwrap())
        .await
        .unwrap()
}

/// The decision, waiting for a refresh if the validator started one.
async fn decide<V: TokenValidator>(validator: &V, token: &str) -> Result<V::Claims, AuthError> {
    match validator.validate(token) {
        Validation::Ready(outcome) => outcome,
        Validation::Pending(future) => future.await,
    }
}

/// The cache's own clock (its `exp`/`nbf` re-checks on a hit), moved by the test: a
/// clock far ahead makes a hit answer `Expired` while a fresh verification (on the real
/// clock) succeeds, which tells hits from misses.
static AHEAD: AtomicI64 = AtomicI64::new(0);

fn clock() -> i64 {
    now() + AHEAD.load(Ordering::SeqCst)
}

#[tokio::test]
async fn cached_until_the_key_set_changes_and_refused_once_the_key_left() {
    let fetcher = InMemory::default();
    fetcher.publish(&[("a", Algorithm::RS256), ("b", Algorithm::ES256)]);
    let jwks = build(&fetcher).await;
    let cached = CachedValidator::jwks(jwks.clone(), 100).with_clock(clock);
    assert!(cached.is_enabled());
    let rsa = token("a", Algorithm::RS256);
    let is_hit = || {
        AHEAD.store(10_000, Ordering::SeqCst);
        let outcome = cached.validate(&rsa);
        AHEAD.store(0, Ordering::SeqCst);
        match outcome {
            Validation::Ready(Err(AuthError::InvalidToken(InvalidToken::Expired))) => true,
            Validation::Ready(Ok(_)) => false,
            other => panic!("{other:?}"),
        }
    };

    // Verified once, then answered from the cache.
    assert_eq!(
        decide(&cached, &rsa).await.unwrap().sub.as_deref(),
        Some("alice")
    );
    assert!(is_hit());
    // (The expired hit removed the entry: stored again.)
    assert!(!is_hit());
    assert!(decide(&cached, &rsa).await.is_ok());
    assert!(is_hit());
    assert!(decide(&cached, &rsa).await.is_ok());

    // A refresh that fetches the same document keeps the entries.
    jwks.refresh().await.unwrap();
    assert!(is_hit());
    assert!(decide(&cached, &rsa).await.is_ok());

    // A changed set (a key added): verified again.
    fetcher.publish(&[
        ("a", Algorithm::RS256),
        ("b", Algorithm::ES256),
        ("c", Algorithm::ES256),
    ]);
    jwks.refresh().await.unwrap();
    assert!(!is_hit());
    assert!(is_hit());
    assert!(decide(&cached, &rsa).await.is_ok());

    // The key left the set: the cached token is refused.
    fetcher.publish(&[("b", Algorithm::ES256)]);
    jwks.refresh().await.unwrap();
    let refused = decide(&cached, &rsa).await.unwrap_err();
    assert_eq!(refused.code(), "invalid_token");
    assert!(decide(&cached, &token("b", Algorithm::ES256)).await.is_ok());
}

#[tokio::test]
async fn only_verified_tokens_enter_and_unknown_kids_still_refresh() {
    let fetcher = InMemory::default();
    fetcher.publish(&[("a", Algorithm::RS256)]);
    let cached = CachedValidator::jwks(build(&fetcher).await, 100);
    let good = token("a", Algorithm::RS256);
    let forged = {
        let (head, _) = good.rsplit_once('.').unwrap();
        let other = hs256(&json!({ "sub": "mallory", "exp": now() + 600 }));
        format!("{head}.{}", other.rsplit_once('.').unwrap().1)
    };
    for _ in 0..3 {
        let refused = decide(&cached, &forged).await.unwrap_err();
        assert_eq!(refused, AuthError::InvalidToken(InvalidToken::BadSignature));
    }
    cached.run_pending_tasks();
    assert_eq!(cached.entry_count(), 0);
    assert!(decide(&cached, &good).await.is_ok());
    cached.run_pending_tasks();
    assert_eq!(cached.entry_count(), 1);

    // A token of a new kid goes to the JWK-set validator: one refresh, then accepted
    // (and cached).
    assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 1);
    fetcher.publish(&[("a", Algorithm::RS256), ("n", Algorithm::ES256)]);
    let new = token("n", Algorithm::ES256);
    assert!(matches!(cached.validate(&new), Validation::Pending(_)));
    assert!(decide(&cached, &new).await.is_ok());
    assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 2);
    assert!(matches!(cached.validate(&new), Validation::Ready(Ok(_))));
    cached.run_pending_tasks();
    assert_eq!(cached.entry_count(), 2);
}

#[tokio::test]
async fn cached_jwks_validator_behind_the_layer_over_tcp() {
    let fetcher = InMemory::default();
    fetcher.publish(&[("a", Algorithm::RS256)]);
    let cached = CachedValidator::jwks(build(&fetcher).await, 100);
    let echo = EchoClaims::<Claims>::new();
    let server = serve(BearerAuthLayer::new(cached).layer(echo.clone())).await;
    let good = token("a", Algorithm::RS256);
    for _ in 0..3 {
        let answer = get_with_token(&server.url("/"), &good).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["sub"], "alice");
    }
    let answer = get_with_token(&server.url("/"), "not.a.token").await;
    answer.assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(echo.calls(), 3);
}
