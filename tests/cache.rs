//! The verified-token cache ([`CachedValidator`]).
#![cfg(feature = "cache")]

mod common;

use std::sync::atomic::{AtomicI64, Ordering};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::json;
use tower_bearer::{AuthError, CachedValidator, Claims, InvalidToken, JwtValidator};

use common::{key_file, now, sign};

/// jsonwebtoken 11 cannot pick a default provider when both backends are enabled
/// (`--all-features`); the helpers below sign through it, so choose one.
fn provider() {
    #[cfg(all(feature = "aws-lc", feature = "rust-crypto"))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

fn validator() -> JwtValidator<Claims> {
    provider();
    let key = DecodingKey::from_ed_pem(&key_file("ed_public.pem")).unwrap();
    JwtValidator::<Claims>::new(Algorithm::EdDSA, &key)
        .unwrap()
        .with_audience("api")
        .unwrap()
        .with_leeway(std::time::Duration::ZERO)
}

fn token(exp: i64, jti: &str) -> String {
    provider();
    let key = EncodingKey::from_ed_pem(&key_file("ed_private.pem")).unwrap();
    sign(
        Algorithm::EdDSA,
        &key,
        &json!({ "sub": "alice", "aud": "api", "exp": exp, "jti": jti, "scope": "read" }),
    )
}

#[test]
fn cache_hit_returns_same_claims_ok() {
    let cached = CachedValidator::new(validator(), 100);
    assert!(cached.is_enabled());
    let token = token(now() + 600, "one");
    let first = cached.verify(&token).unwrap();
    cached.run_pending_tasks();
    assert_eq!(cached.entry_count(), 1);
    let second = cached.verify(&token).unwrap();
    assert_eq!(first, second);
    assert_eq!(second.sub.as_deref(), Some("alice"));
    assert_eq!(second, validator().verify(&token).unwrap());
}

static EXPIRED_OFFSET: AtomicI64 = AtomicI64::new(0);

fn shifted_clock() -> i64 {
    now() + EXPIRED_OFFSET.load(Ordering::SeqCst)
}

#[test]
fn cache_expired_entry_not_served_fails() {
    let cached = CachedValidator::new(validator(), 100).with_clock(shifted_clock);
    let token = token(now() + 30, "short");
    cached.verify(&token).unwrap();
    cached.verify(&token).unwrap();
    // The clock moves past exp: the cached entry must not be served.
    EXPIRED_OFFSET.store(31, Ordering::SeqCst);
    let error = cached.verify(&token).unwrap_err();
    assert!(
        matches!(error, AuthError::InvalidToken(InvalidToken::Expired)),
        "{error:?}"
    );
    cached.run_pending_tasks();
    assert_eq!(cached.entry_count(), 0);
}

#[test]
fn cache_expired_token_never_cached_fails() {
    let cached = CachedValidator::new(validator(), 100);
    let token = token(now() - 5, "old");
    for _ in 0..2 {
        let error = cached.verify(&token).unwrap_err();
        assert!(
            matches!(error, AuthError::InvalidToken(InvalidToken::Expired)),
            "{error:?}"
        );
    }
    cached.run_pending_tasks();
    assert_eq!(cached.entry_count(), 0);
}

#[test]
fn cache_tampered_token_misses_fails() {
    let cached = CachedValidator::new(validator(), 100);
    let token = token(now() + 600, "tamper");
    cached.verify(&token).unwrap();
    let bytes = token.as_bytes();
    for i in 0..bytes.len() {
        let mut tampered = bytes.to_vec();
        tampered[i] = match tampered[i] {
            b'A' => b'B',
            b'.' => b'A',
            _ => b'A',
        };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(
            cached.verify(&tampered).is_err(),
            "byte {i} changed, still accepted"
        );
    }
    // Still a hit for the real token, and nothing else was cached.
    cached.verify(&token).unwrap();
    cached.run_pending_tasks();
    assert_eq!(cached.entry_count(), 1);
}

#[test]
fn cache_capacity_bounded_ok() {
    let cached = CachedValidator::new(validator(), 8);
    let exp = now() + 600;
    for i in 0..64 {
        let token = token(exp, &format!("token-{i}"));
        cached.verify(&token).unwrap();
        cached.verify(&token).unwrap();
    }
    cached.run_pending_tasks();
    assert!(
        cached.entry_count() <= 8,
        "{} entries",
        cached.entry_count()
    );
}

#[test]
fn cache_memory_bounded_ok() {
    // Each entry is estimated at more than the token's length: 4 KiB fits a handful.
    let cached = CachedValidator::new(validator(), 1_000).with_max_bytes(4 * 1024);
    let exp = now() + 600;
    for i in 0..64 {
        let token = token(exp, &format!("token-{i}"));
        cached.verify(&token).unwrap();
        cached.verify(&token).unwrap();
    }
    cached.run_pending_tasks();
    let entry = token(exp, "token-0").len() as u64;
    assert!(
        cached.entry_count() <= 4 * 1024 / entry,
        "{} entries",
        cached.entry_count()
    );
}

#[test]
fn cache_hmac_only_bypassed_ok() {
    let hs = JwtValidator::<Claims>::hs256(common::SECRET).unwrap();
    let cached = CachedValidator::new(hs.clone(), 100);
    assert!(!cached.is_enabled());
    let token = common::hs256(&json!({ "exp": now() + 600 }));
    cached.verify(&token).unwrap();
    assert_eq!(cached.entry_count(), 0);
    let forced = CachedValidator::new(hs, 100).cache_hmac();
    assert!(forced.is_enabled());
    forced.verify(&token).unwrap();
    forced.run_pending_tasks();
    assert_eq!(forced.entry_count(), 1);
}
