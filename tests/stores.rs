//! Refresh-token, revocation and client stores, in memory and against a real
//! `redis-server` (started per test on a free loopback port; see `common/redis.rs`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{get_with_token, now, raw_hs256, serve, EchoClaims, SECRET};
use serde_json::json;
use tower::ServiceBuilder;
use tower_bearer::store::{
    narrow_scopes, refresh, revoke_token, InvalidScope, MemoryStore, RefreshError,
    RefreshTokenStore, RevocationStore, RevokeOutcome, Session, StoreError, TokenTypeHint,
};
use tower_bearer::{
    AuthError, BearerAuthLayer, Claims, InvalidToken, JwtValidator, RevocationCheck,
    TokenValidator, Validation,
};

type Refresh = Arc<dyn RefreshTokenStore>;
type Revocations = Arc<dyn RevocationStore>;

fn session(exp_in: i64) -> Session {
    Session::new("alice", "web", "me items", now() + exp_in)
}

/// Runs a test against the in-memory stores and against a fresh redis-server.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn memory() {
                super::$name(Arc::new(MemoryStore::new()), Arc::new(MemoryStore::new())).await;
            }

            #[cfg(feature = "redis")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn redis() {
                let Some(server) = common::redis::start() else { return };
                let store = tower_bearer::store::RedisStore::connect(&server.url()).await.unwrap();
                super::$name(Arc::new(store.clone()), Arc::new(store)).await;
            }
        }
    )*};
}

on_both!(
    refresh_rotation_chain_ok,
    refresh_dpop_binding_kept_ok,
    refresh_reuse_revokes_family,
    refresh_concurrent_rotation_succeeds_once,
    refresh_expired_refused,
    refresh_revoke_revokes_family,
    refresh_wrong_client_or_wide_scope_not_spent,
    revoke_endpoint_logic_ok,
    revocation_check_refuses_revoked_jti,
);

async fn refresh_rotation_chain_ok(store: Refresh, _: Revocations) {
    let first = store.issue(&session(3600)).await.unwrap();
    // 256 random bits, base64url; the Redis store puts the family id (the subject's
    // hash tag and 128 bits) and a dot in front, so that all of a subject's keys share
    // one cluster hash tag.
    let secret = first.as_str().rsplit('.').next().unwrap();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    let second = store.rotate(first.as_str()).await.unwrap();
    assert_ne!(second.token, first);
    assert_eq!(second.record.session, session(3600));
    let third = store.rotate(second.token.as_str()).await.unwrap();
    assert_eq!(third.record.family, second.record.family);
    let looked_up = store.lookup(third.token.as_str()).await.unwrap().unwrap();
    assert_eq!(looked_up, third.record);
    assert_eq!(format!("{:?}", third.token), "RefreshToken(<redacted>)");
}

/// A session's DPoP key (RFC 9449 §5) comes back from lookup and every rotation.
async fn refresh_dpop_binding_kept_ok(store: Refresh, _: Revocations) {
    let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    let bound = session(3600).with_dpop_key(jkt);
    let first = store.issue(&bound).await.unwrap();
    let looked_up = store.lookup(first.as_str()).await.unwrap().unwrap();
    assert_eq!(looked_up.session.dpop_jkt.as_deref(), Some(jkt));
    let second = store.rotate(first.as_str()).await.unwrap();
    assert_eq!(second.record.session, bound);
    let third = store.rotate(second.token.as_str()).await.unwrap();
    assert_eq!(third.record.session.dpop_jkt.as_deref(), Some(jkt));
    // An unbound session stays unbound.
    let plain = store.issue(&session(3600)).await.unwrap();
    let rotated = store.rotate(plain.as_str()).await.unwrap();
    assert_eq!(rotated.record.session.dpop_jkt, None);
}

async fn refresh_reuse_revokes_family(store: Refresh, _: Revocations) {
    let other = store.issue(&session(3600)).await.unwrap();
    let first = store.issue(&session(3600)).await.unwrap();
    let second = store.rotate(first.as_str()).await.unwrap();
    assert_eq!(
        store.rotate(first.as_str()).await,
        Err(RefreshError::Reused)
    );
    // The whole family is gone, the newest token included.
    assert_eq!(
        store.rotate(second.token.as_str()).await,
        Err(RefreshError::InvalidGrant)
    );
    assert_eq!(store.lookup(second.token.as_str()).await.unwrap(), None);
    // Other families are untouched.
    assert!(store.rotate(other.as_str()).await.is_ok());
}

async fn refresh_concurrent_rotation_succeeds_once(store: Refresh, _: Revocations) {
    let token = store.issue(&session(3600)).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, barrier, token) = (store.clone(), barrier.clone(), token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.rotate(token.as_str()).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(RefreshError::Reused | RefreshError::InvalidGrant) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one concurrent rotation succeeds");
}

async fn refresh_expired_refused(store: Refresh, _: Revocations) {
    let already = store.issue(&session(-10)).await.unwrap();
    assert_eq!(
        store.rotate(already.as_str()).await,
        Err(RefreshError::InvalidGrant)
    );

    let short = store.issue(&session(1)).await.unwrap();
    assert!(store.lookup(short.as_str()).await.unwrap().is_some());
    let expires_at = session(1).expires_at;
    while now() < expires_at {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.lookup(short.as_str()).await.unwrap(), None);
    assert_eq!(
        store.rotate(short.as_str()).await,
        Err(RefreshError::InvalidGrant)
    );
}

async fn refresh_revoke_revokes_family(store: Refresh, _: Revocations) {
    let first = store.issue(&session(3600)).await.unwrap();
    let second = store.rotate(first.as_str()).await.unwrap();
    // Revoking any token of the family (even a used one) revokes the family.
    assert!(store.revoke(first.as_str()).await.unwrap());
    assert_eq!(
        store.rotate(second.token.as_str()).await,
        Err(RefreshError::InvalidGrant)
    );
    assert!(!store.revoke("never-issued").await.unwrap());

    let other = store.issue(&session(3600)).await.unwrap();
    let family = store.lookup(other.as_str()).await.unwrap().unwrap().family;
    assert!(store.revoke_family(&family).await.unwrap());
    assert_eq!(
        store.rotate(other.as_str()).await,
        Err(RefreshError::InvalidGrant)
    );
}

async fn refresh_wrong_client_or_wide_scope_not_spent(store: Refresh, _: Revocations) {
    let token = store.issue(&session(3600)).await.unwrap();
    let wrong_client = refresh(&*store, token.as_str(), "mobile", None).await;
    assert_eq!(wrong_client, Err(RefreshError::InvalidGrant));
    assert_eq!(wrong_client.unwrap_err().code(), "invalid_grant");
    let too_wide = refresh(&*store, token.as_str(), "web", Some("me admin")).await;
    assert_eq!(too_wide, Err(RefreshError::InvalidScope));
    assert_eq!(too_wide.unwrap_err().code(), "invalid_scope");
    // Neither spent the token.
    let (narrowed, narrowed_scope) = refresh(&*store, token.as_str(), "web", Some("items"))
        .await
        .unwrap();
    assert_eq!(narrowed_scope, "items");
    assert_eq!(
        narrowed.record.session.scope, "me items",
        "the family keeps its scopes"
    );
    let (_, full_scope) = refresh(&*store, narrowed.token.as_str(), "web", None)
        .await
        .unwrap();
    assert_eq!(full_scope, "me items");
    assert_eq!(
        refresh(&*store, token.as_str(), "web", None).await,
        Err(RefreshError::Reused)
    );
    assert_eq!(
        refresh(&*store, "unknown", "web", None).await,
        Err(RefreshError::InvalidGrant)
    );
}

fn access_token(jti: Option<&str>) -> String {
    let mut claims = json!({ "sub": "alice", "exp": now() + 600, "scope": "me" });
    if let Some(jti) = jti {
        claims["jti"] = jti.into();
    }
    // Signed by hand: with every feature on, jsonwebtoken has two crypto backends and
    // its own encoder refuses to pick one.
    raw_hs256(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &claims.to_string(),
        SECRET,
    )
}

fn jwt() -> JwtValidator<Claims> {
    JwtValidator::<Claims>::hs256(SECRET).unwrap()
}

async fn revoke_endpoint_logic_ok(store: Refresh, revocations: Revocations) {
    let validator = jwt();
    let refresh_token = store.issue(&session(3600)).await.unwrap();
    let revoke = |token: String, hint, client: &'static str| {
        let (validator, store, revocations) =
            (validator.clone(), store.clone(), revocations.clone());
        async move { revoke_token(&token, hint, client, &validator, &*store, &*revocations).await }
    };

    let outcome = revoke(refresh_token.as_str().into(), None, "mobile").await;
    assert_eq!(outcome, Ok(RevokeOutcome::WrongClient));
    assert!(store
        .lookup(refresh_token.as_str())
        .await
        .unwrap()
        .is_some());
    let outcome = revoke(
        refresh_token.as_str().into(),
        Some(TokenTypeHint::AccessToken),
        "web",
    )
    .await;
    assert_eq!(outcome, Ok(RevokeOutcome::RefreshFamilyRevoked));
    assert_eq!(store.lookup(refresh_token.as_str()).await.unwrap(), None);

    let outcome = revoke(access_token(Some("jti-1")), None, "web").await;
    assert_eq!(outcome, Ok(RevokeOutcome::AccessTokenRevoked));
    assert!(revocations.is_revoked("jti-1").await.unwrap());
    assert!(!revocations.is_revoked("jti-2").await.unwrap());

    for unknown in ["garbage".to_owned(), access_token(None)] {
        let outcome = revoke(unknown, Some(TokenTypeHint::RefreshToken), "web").await;
        assert_eq!(outcome, Ok(RevokeOutcome::Unknown));
    }
    assert_eq!(
        TokenTypeHint::parse("refresh_token"),
        Some(TokenTypeHint::RefreshToken)
    );
    assert_eq!(TokenTypeHint::parse("id_token"), None);
}

async fn validate<V: TokenValidator>(validator: &V, token: &str) -> Result<V::Claims, AuthError> {
    match validator.validate(token) {
        Validation::Ready(result) => result,
        Validation::Pending(future) => future.await,
    }
}

async fn revocation_check_refuses_revoked_jti(_: Refresh, revocations: Revocations) {
    let check = RevocationCheck::new(jwt(), revocations.clone())
        .with_not_revoked_ttl(Duration::from_millis(200));
    let token = access_token(Some("jti-a"));
    assert!(validate(&check, &token).await.is_ok());
    // The second look is served from the cache, synchronously.
    assert!(matches!(check.validate(&token), Validation::Ready(Ok(_))));

    revocations.revoke_jti("jti-a", now() + 600).await.unwrap();
    let started = Instant::now();
    common::eventually(
        "the revoked token still accepted",
        started,
        Duration::from_secs(1),
        || async { validate(&check, &token).await.is_err().then_some(()) },
    )
    .await;
    assert_eq!(
        validate(&check, &token).await.unwrap_err(),
        AuthError::InvalidToken(InvalidToken::Revoked)
    );
    // A revoked answer is cached: no Pending any more.
    assert!(matches!(check.validate(&token), Validation::Ready(Err(_))));

    assert_eq!(
        validate(&check, &access_token(None)).await.unwrap_err(),
        AuthError::InvalidToken(InvalidToken::MissingClaim("jti"))
    );
    // Invalid tokens are refused by the inner validator before any store call.
    assert!(matches!(check.validate("a.b.c"), Validation::Ready(Err(_))));
    // A past deadline records nothing.
    revocations.revoke_jti("jti-old", now() - 1).await.unwrap();
    assert!(!revocations.is_revoked("jti-old").await.unwrap());
}

/// A revocation store that is down.
#[derive(Clone)]
struct Down;

impl RevocationStore for Down {
    fn revoke_jti<'a>(
        &'a self,
        _: &'a str,
        _: i64,
    ) -> tower_bearer::store::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Err(StoreError::Backend("down".into())) })
    }
    fn is_revoked<'a>(
        &'a self,
        _: &'a str,
    ) -> tower_bearer::store::BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async { Err(StoreError::Backend("down".into())) })
    }
}

#[tokio::test]
async fn revocation_check_store_down_unavailable() {
    let check = RevocationCheck::new(jwt(), Down);
    let err = validate(&check, &access_token(Some("x")))
        .await
        .unwrap_err();
    assert_eq!(err, AuthError::Unavailable);
    assert_eq!(err.status(), 503);
}

#[test]
fn narrow_scopes_cases() {
    assert_eq!(narrow_scopes("me items", None).unwrap(), "me items");
    assert_eq!(narrow_scopes("me items", Some("")).unwrap(), "me items");
    assert_eq!(narrow_scopes("me  items", None).unwrap(), "me items");
    assert_eq!(narrow_scopes("me items", Some("items")).unwrap(), "items");
    assert_eq!(
        narrow_scopes("me items", Some("items me me")).unwrap(),
        "items me"
    );
    assert_eq!(narrow_scopes("me items", Some("admin")), Err(InvalidScope));
    assert_eq!(
        narrow_scopes("me items", Some("me admin")),
        Err(InvalidScope)
    );
    assert_eq!(narrow_scopes("me items", Some("   ")), Err(InvalidScope));
    assert_eq!(narrow_scopes("me items", Some("m\"e")), Err(InvalidScope));
    assert_eq!(narrow_scopes("", Some("me")), Err(InvalidScope));
    assert_eq!(InvalidScope.code(), "invalid_scope");
}

#[cfg(feature = "token-endpoint")]
mod clients {
    use tower_bearer::store::{Client, ClientStore, MemoryStore};
    use tower_bearer::ConfigError;

    use super::*;

    #[tokio::test]
    async fn client_credentials_verify_ok_wrong_unknown() {
        let client = Client::new("svc-a", "s3cret-a", "items:read items:write").unwrap();
        assert!(!format!("{client:?}").contains("argon2"), "hash redacted");
        let store = MemoryStore::new().with_clients([client.clone()]);
        assert_eq!(
            store.authenticate("svc-a", "s3cret-a").await.unwrap(),
            Some(client.clone())
        );
        assert_eq!(store.authenticate("svc-a", "s3cret-b").await.unwrap(), None);
        assert_eq!(store.authenticate("svc-a", "").await.unwrap(), None);
        assert_eq!(store.authenticate("svc-b", "s3cret-a").await.unwrap(), None);

        // Unknown ids cost one Argon2 verification too (the dummy hash).
        let timed = |id: &'static str| {
            let store = store.clone();
            async move {
                let started = Instant::now();
                store.authenticate(id, "wrong").await.unwrap();
                started.elapsed()
            }
        };
        // The fastest of five, interleaved: a busy machine only ever adds time.
        let (mut known, mut unknown) = (Duration::MAX, Duration::MAX);
        for _ in 0..5 {
            known = known.min(timed("svc-a").await);
            unknown = unknown.min(timed("nobody").await);
        }
        assert!(
            unknown * 3 > known && known * 3 > unknown,
            "known {known:?} vs unknown {unknown:?}"
        );

        assert_eq!(client.grant_scope(None).unwrap(), "items:read items:write");
        assert_eq!(
            client.grant_scope(Some("items:read")).unwrap(),
            "items:read"
        );
        assert_eq!(client.grant_scope(Some("admin")), Err(InvalidScope));
        assert_eq!(client.id(), "svc-a");
    }

    #[tokio::test]
    async fn client_credentials_prehashed_ok() {
        let hashed = Client::new("svc-a", "s3cret-a", "x").unwrap();
        let phc = format!("{hashed:?}"); // redacted: rebuild from a known PHC instead
        assert!(phc.contains("<redacted>"));
        assert_eq!(
            Client::from_hash("svc", "not-a-phc-string", "x"),
            Err(ConfigError::InvalidSecret("secret hash"))
        );
        assert_eq!(
            Client::new("", "secret", "x"),
            Err(ConfigError::InvalidString("client id"))
        );
        assert_eq!(
            Client::new("svc", "", "x"),
            Err(ConfigError::InvalidSecret("client secret"))
        );
        assert_eq!(
            Client::new("svc", "secret", "bad\"scope"),
            Err(ConfigError::InvalidScope)
        );
    }

    /// One `MemoryStore` serves every store trait, and its clones share every part.
    #[tokio::test]
    async fn memory_store_clones_share_every_part() {
        use tower_bearer::store::{LoginThrottle, LoginThrottleConfig};
        let store = MemoryStore::new()
            .with_clients([Client::new("svc", "s3cret", "read").unwrap()])
            .with_login_throttle(LoginThrottleConfig::per_username(1));
        let clone = store.clone();
        let token = store.issue(&session(3600)).await.unwrap();
        assert!(clone.lookup(token.as_str()).await.unwrap().is_some());
        clone.rotate(token.as_str()).await.unwrap();
        assert_eq!(
            store.rotate(token.as_str()).await.unwrap_err(),
            RefreshError::Reused
        );
        store.revoke_jti("shared-jti", now() + 60).await.unwrap();
        assert!(clone.is_revoked("shared-jti").await.unwrap());
        assert!(!clone.is_session_revoked("shared-jti").await.unwrap());
        assert_eq!(clone.check("bob", None).await.unwrap(), None);
        store.failed("bob", None).await.unwrap();
        assert!(clone.check("bob", None).await.unwrap().is_some());
        assert_eq!(clone.check("alice", None).await.unwrap(), None);
        assert!(clone.authenticate("svc", "s3cret").await.unwrap().is_some());
        assert!(clone.authenticate("svc", "wrong").await.unwrap().is_none());
        // A separate store shares nothing.
        let other = MemoryStore::new();
        assert!(other.lookup(token.as_str()).await.unwrap().is_none());
        assert!(!other.is_revoked("shared-jti").await.unwrap());
        assert_eq!(other.check("bob", None).await.unwrap(), None);
        assert!(other.authenticate("svc", "s3cret").await.unwrap().is_none());
    }
}

#[cfg(feature = "redis")]
mod redis_nodes {
    use tower_bearer::store::RedisStore;

    use super::*;

    /// Two "nodes": two stores, each on its own connection to one Redis.
    async fn two_nodes() -> Option<(common::redis::RedisServer, RedisStore, RedisStore)> {
        let server = common::redis::start()?;
        let a = RedisStore::connect(&server.url()).await.unwrap();
        let b = RedisStore::connect(&server.url()).await.unwrap();
        Some((server, a, b))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_rotated_on_one_node_reused_on_other_refused() {
        let Some((_server, a, b)) = two_nodes().await else {
            return;
        };
        let first = a.issue(&session(3600)).await.unwrap();
        let (second, _) = refresh(&a, first.as_str(), "web", None).await.unwrap();
        assert_eq!(
            refresh(&b, first.as_str(), "web", None).await,
            Err(RefreshError::Reused)
        );
        assert_eq!(
            refresh(&a, second.token.as_str(), "web", None).await,
            Err(RefreshError::InvalidGrant)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_concurrent_rotation_across_nodes_succeeds_once() {
        let Some((_server, a, b)) = two_nodes().await else {
            return;
        };
        for _ in 0..5 {
            let token = a.issue(&session(3600)).await.unwrap();
            let barrier = Arc::new(tokio::sync::Barrier::new(20));
            let tasks: Vec<_> = (0..20)
                .map(|i| {
                    let node = if i % 2 == 0 { a.clone() } else { b.clone() };
                    let (barrier, token) = (barrier.clone(), token.clone());
                    tokio::spawn(async move {
                        barrier.wait().await;
                        refresh(&node, token.as_str(), "web", None).await
                    })
                })
                .collect();
            let mut ok = 0;
            for task in tasks {
                if task.await.unwrap().is_ok() {
                    ok += 1;
                }
            }
            assert_eq!(ok, 1);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_keys_hold_hashes_and_expire() {
        let Some(server) = common::redis::start() else {
            return;
        };
        let store = RedisStore::connect(&server.url())
            .await
            .unwrap()
            .with_prefix("app1:");
        let token = store.issue(&session(3600)).await.unwrap();
        let rotated = store.rotate(token.as_str()).await.unwrap();
        store.revoke_jti("jti-k", now() + 600).await.unwrap();

        let client = ::redis::Client::open(server.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .unwrap();
        // One family, its set of spent token hashes, one jti, one subject index.
        assert_eq!(keys.len(), 4, "{keys:?}");
        for key in &keys {
            assert!(key.starts_with("app1:"), "{key}");
            let ttl: i64 = ::redis::cmd("TTL")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(ttl > 0 && ttl <= 3600, "{key}: {ttl}");
            let dump: String = ::redis::cmd("TYPE")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap();
            let values: Vec<String> = if dump == "hash" || dump == "set" {
                ::redis::cmd(if dump == "hash" { "HVALS" } else { "SMEMBERS" })
                    .arg(key)
                    .query_async(&mut conn)
                    .await
                    .unwrap()
            } else if dump == "zset" {
                ::redis::cmd("ZRANGE")
                    .arg(key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut conn)
                    .await
                    .unwrap()
            } else {
                vec![::redis::cmd("GET")
                    .arg(key)
                    .query_async(&mut conn)
                    .await
                    .unwrap()]
            };
            for token in [token.as_str(), rotated.token.as_str()] {
                // The family id before the dot is not secret; the random part is.
                let secret = token.split_once('.').unwrap().1;
                assert!(!key.contains(secret) && !values.iter().any(|v| v.contains(secret)));
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_unreachable_is_store_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = RedisStore::connect(&format!("redis://127.0.0.1:{port}/")).await;
        assert!(matches!(err, Err(StoreError::Backend(_))));
    }

    /// Two HTTP servers (nodes) behind `BearerAuthLayer` + `RevocationCheck`, each with
    /// its own connection and local cache, sharing one Redis.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_revoked_on_one_node_refused_on_other_within_1s() {
        let Some((_server, a, b)) = two_nodes().await else {
            return;
        };
        let node = |store: RedisStore| {
            let check = RevocationCheck::new(jwt().require_jti(), store);
            ServiceBuilder::new()
                .layer(BearerAuthLayer::new(check))
                .service(EchoClaims::<Claims>::new())
        };
        let (node_a, node_b) = (serve(node(a.clone())).await, serve(node(b.clone())).await);
        let token = access_token(Some("jti-shared"));
        // Both nodes accept it and now hold "not revoked" in their caches.
        assert_eq!(get_with_token(&node_a.url("/"), &token).await.status, 200);
        assert_eq!(get_with_token(&node_b.url("/"), &token).await.status, 200);

        // Revoked through node A's revocation endpoint logic.
        let outcome = revoke_token(&token, None, "web", &jwt(), &a, &a)
            .await
            .unwrap();
        assert_eq!(outcome, RevokeOutcome::AccessTokenRevoked);
        let revoked_at = Instant::now();
        common::refused_within(&node_b.url("/"), &token, revoked_at, Duration::from_secs(1)).await;
        let waited = revoked_at.elapsed();
        eprintln!("node B refused the revoked token after {waited:?}");
        assert_eq!(get_with_token(&node_a.url("/"), &token).await.status, 401);
        // Other tokens still pass.
        let other = access_token(Some("jti-other"));
        assert_eq!(get_with_token(&node_b.url("/"), &other).await.status, 200);
    }

    /// An ended session (`sid`) travels over pub/sub like a token id: node B trusts its
    /// "not revoked" answers for a minute when polling, so only the push can make it
    /// refuse within a second.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_ended_session_pushed_to_other_node() {
        let Some((_server, a, b)) = two_nodes().await else {
            return;
        };
        common::eventually(
            "the subscriptions not up",
            Instant::now(),
            Duration::from_secs(10),
            || async {
                (a.revocation_feed().is_live() && b.revocation_feed().is_live()).then_some(())
            },
        )
        .await;
        let check = RevocationCheck::new(jwt().require_jti(), b.clone())
            .with_not_revoked_ttl(Duration::from_secs(60));
        let node_b = serve(
            ServiceBuilder::new()
                .layer(BearerAuthLayer::new(check))
                .service(EchoClaims::<Claims>::new()),
        )
        .await;
        let claims = json!({
            "sub": "alice", "exp": now() + 600, "scope": "me", "jti": "jti-s", "sid": "session-1",
        });
        let token = raw_hs256(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &claims.to_string(),
            SECRET,
        );
        assert_eq!(get_with_token(&node_b.url("/"), &token).await.status, 200);
        a.revoke_session("session-1", now() + 600).await.unwrap();
        // Polling would keep "not revoked" for 60 s: only the push refuses it in time.
        common::refused_within(
            &node_b.url("/"),
            &token,
            Instant::now(),
            Duration::from_secs(1),
        )
        .await;
    }
}

#[tokio::test]
async fn memory_store_keeps_at_most_max_families() {
    assert!(MemoryStore::new().with_max_families(0).is_err());
    let store = MemoryStore::new().with_max_families(3).unwrap();
    let mut tokens = Vec::new();
    // Issued out of expiry order: the full store ends the sessions closest to expiry.
    for exp_in in [900, 600, 1200, 1500, 700] {
        tokens.push(store.issue(&session(exp_in)).await.unwrap());
    }
    let live = |i: usize| {
        let store = store.clone();
        let token = tokens[i].as_str().to_owned();
        async move { store.lookup(&token).await.unwrap().is_some() }
    };
    // 600 ended for the fourth login, 700 replaced 900 at the fifth.
    let alive = [
        live(0).await,
        live(1).await,
        live(2).await,
        live(3).await,
        live(4).await,
    ];
    assert_eq!(alive, [false, false, true, true, true]);
    assert!(format!("{store:?}").contains("families: 3"), "{store:?}");
    // An ended session's token is unknown: refused, nothing revoked or rotated.
    assert_eq!(
        store.rotate(tokens[1].as_str()).await.unwrap_err(),
        RefreshError::InvalidGrant
    );

    // Expired families make room before any live one is ended.
    let store = MemoryStore::new().with_max_families(2).unwrap();
    let expired = store.issue(&session(-10)).await.unwrap();
    let kept = store.issue(&session(600)).await.unwrap();
    let newest = store.issue(&session(300)).await.unwrap();
    assert!(store.lookup(expired.as_str()).await.unwrap().is_none());
    assert!(store.lookup(kept.as_str()).await.unwrap().is_some());
    assert!(store.lookup(newest.as_str()).await.unwrap().is_some());
}

#[tokio::test]
async fn memory_store_remembers_the_last_spent_tokens() {
    use tower_bearer::store::REMEMBERED_SPENT_TOKENS;
    let store = MemoryStore::new();
    let mut chain = vec![store.issue(&session(3600)).await.unwrap().into_string()];
    for _ in 0..REMEMBERED_SPENT_TOKENS + 10 {
        let next = store.rotate(chain.last().unwrap()).await.unwrap();
        chain.push(next.token.into_string());
    }
    // Current token plus the remembered spent ones: the map does not grow with rotations.
    assert!(
        format!("{store:?}").contains(&format!("tokens: {}", REMEMBERED_SPENT_TOKENS + 1)),
        "{store:?}"
    );
    // Too old to remember: unknown, and the family lives on.
    assert_eq!(
        store.rotate(&chain[0]).await.unwrap_err(),
        RefreshError::InvalidGrant
    );
    let current = chain.last().unwrap().clone();
    assert!(store.lookup(&current).await.unwrap().is_some());
    // The oldest one still remembered is reuse: the whole family is revoked.
    let oldest_remembered = &chain[chain.len() - 1 - REMEMBERED_SPENT_TOKENS];
    assert_eq!(
        store.rotate(oldest_remembered).await.unwrap_err(),
        RefreshError::Reused
    );
    assert!(store.lookup(&current).await.unwrap().is_none());
}
