//! Per-subject caps on refresh sessions (families), in memory and on a real
//! `redis-server`: a user's login beyond the cap ends that user's oldest session, and a
//! full store ends the same user's sessions before anyone else's.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tower_bearer::store::{
    MemoryStore, RefreshToken, RefreshTokenStore, Session, DEFAULT_MAX_SESSIONS_PER_SUBJECT,
};
use tower_bearer::token_endpoint::{
    InMemoryUserStore, PasswordHasher, TokenEndpoint, TokenIssuer, User,
};

fn session(subject: &str, exp_in: i64) -> Session {
    Session::new(subject, "web", "me", now() + exp_in)
}

async fn live(store: &dyn RefreshTokenStore, token: &RefreshToken) -> bool {
    store.lookup(token.as_str()).await.unwrap().is_some()
}

/// Cap 3: alice's fourth and fifth logins end her two oldest sessions; bob's session,
/// issued first, is untouched.
async fn cap_ends_own_oldest(store: Arc<dyn RefreshTokenStore>) {
    let bob = store.issue(&session("bob", 600)).await.unwrap();
    let mut alice = Vec::new();
    for _ in 0..5 {
        alice.push(store.issue(&session("alice", 600)).await.unwrap());
    }
    let mut alive = Vec::new();
    for token in &alice {
        alive.push(live(&*store, token).await);
    }
    assert_eq!(alive, [false, false, true, true, true]);
    assert!(live(&*store, &bob).await);
    // An ended session's token is refused as unknown, and rotation of a live one works.
    assert!(store.rotate(alice[0].as_str()).await.is_err());
    assert!(store.rotate(alice[4].as_str()).await.is_ok());
}

#[tokio::test]
async fn memory_cap_ends_own_oldest() {
    let store = MemoryStore::new().with_max_sessions_per_subject(3).unwrap();
    cap_ends_own_oldest(Arc::new(store)).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cap_ends_own_oldest() {
    let Some(server) = common::redis::start() else {
        return;
    };
    let store = tower_bearer::store::RedisStore::connect(&server.url())
        .await
        .unwrap()
        .with_max_sessions_per_subject(3)
        .unwrap();
    cap_ends_own_oldest(Arc::new(store)).await;

    // The subject index holds the live families only and expires with the longest. Its
    // key and the families' carry the subject's hash tag: `sub:{tag}alice`.
    let client = ::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let index: Vec<String> = ::redis::cmd("KEYS")
        .arg("tower-bearer:sub:{*}alice")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(index.len(), 1, "{index:?}");
    let index = &index[0];
    let tag = &index["tower-bearer:sub:".len()..index.len() - "alice".len()];
    let members: Vec<String> = ::redis::cmd("ZRANGE")
        .arg(index)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    let ttl: i64 = ::redis::cmd("TTL")
        .arg(index)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=600).contains(&ttl), "{ttl}");
    for member in members {
        let (member_tag, rest) = member.split_at(8);
        assert_eq!(format!("{{{member_tag}}}"), tag, "{member}");
        let exists: bool = ::redis::cmd("EXISTS")
            .arg(format!("tower-bearer:fam:{tag}{rest}"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(exists, "{member}");
    }
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cap_shared_by_two_nodes() {
    let Some(server) = common::redis::start() else {
        return;
    };
    let connect = || async {
        tower_bearer::store::RedisStore::connect(&server.url())
            .await
            .unwrap()
            .with_max_sessions_per_subject(2)
            .unwrap()
    };
    let (a, b) = (connect().await, connect().await);
    let first = a.issue(&session("alice", 600)).await.unwrap();
    let second = b.issue(&session("alice", 600)).await.unwrap();
    let third = a.issue(&session("alice", 600)).await.unwrap();
    assert!(!live(&b, &first).await);
    assert!(live(&a, &second).await && live(&b, &third).await);
}

#[tokio::test]
async fn memory_full_store_ends_own_sessions_before_others() {
    assert!(MemoryStore::new().with_max_sessions_per_subject(0).is_err());
    let store = MemoryStore::new().with_max_families(4).unwrap();
    // Others' sessions expire sooner than alice's: closest-to-expiry alone would pick them.
    let bob = store.issue(&session("bob", 100)).await.unwrap();
    let carol = store.issue(&session("carol", 200)).await.unwrap();
    let alice1 = store.issue(&session("alice", 900)).await.unwrap();
    let alice2 = store.issue(&session("alice", 900)).await.unwrap();
    let alice3 = store.issue(&session("alice", 900)).await.unwrap();
    assert!(live(&store, &bob).await && live(&store, &carol).await);
    assert!(!live(&store, &alice1).await);
    assert!(live(&store, &alice2).await && live(&store, &alice3).await);
    // A subject with no session in a full store: the session closest to expiry ends.
    let dave = store.issue(&session("dave", 900)).await.unwrap();
    assert!(live(&store, &dave).await);
    assert!(!live(&store, &bob).await);
    assert!(live(&store, &carol).await);
    assert!(format!("{store:?}").contains("families: 4"), "{store:?}");
}

#[test]
fn default_cap_is_documented_value() {
    assert_eq!(DEFAULT_MAX_SESSIONS_PER_SUBJECT, 16);
}

/// Over TCP through the token endpoint: logging in in a loop keeps at most the cap of
/// refresh tokens alive; another user's refresh token keeps working.
#[tokio::test]
async fn token_endpoint_login_loop_ends_own_oldest_refresh_token() {
    let hasher = PasswordHasher::new().with_params(256, 1, 1).unwrap();
    let users = InMemoryUserStore::new()
        .with_user(User::new("johndoe", hasher.hash("secret").unwrap()).with_scopes(["me"]))
        .with_user(User::new("jane", hasher.hash("secret").unwrap()).with_scopes(["me"]));
    let refresh = MemoryStore::new().with_max_sessions_per_subject(2).unwrap();
    let endpoint = TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), users)
        .allow_password_grant()
        .with_hasher(hasher)
        .with_refresh_tokens(Arc::new(refresh), Duration::from_secs(600))
        .build()
        .unwrap();
    let server = serve(endpoint).await;
    let url = server.url("/token");
    let login = |user: &'static str| {
        let url = url.clone();
        async move {
            let answer = post_form(
                &url,
                &format!("grant_type=password&username={user}&password=secret"),
            )
            .await;
            assert_eq!(answer.status, 200, "{answer:?}");
            answer.json()["refresh_token"].as_str().unwrap().to_owned()
        }
    };
    let refresh_with = |token: String| {
        let url = url.clone();
        async move {
            post_form(
                &url,
                &format!("grant_type=refresh_token&refresh_token={token}"),
            )
            .await
        }
    };
    let jane = login("jane").await;
    let mut john = Vec::new();
    for _ in 0..4 {
        john.push(login("johndoe").await);
    }
    for old in &john[..2] {
        assert_oauth_error(&refresh_with(old.clone()).await, 400, "invalid_grant");
    }
    for current in &john[2..] {
        assert_eq!(refresh_with(current.clone()).await.status, 200);
    }
    assert_eq!(refresh_with(jane).await.status, 200);
}
