//! Login throttling through the real demo server (`LOGIN_LIMIT`): in memory on one node,
//! shared by two nodes through one redis-server (`REDIS_URL`), and off when unset.
#![cfg(feature = "token-endpoint")]

mod common;
#[path = "common/demo.rs"]
mod demo;

use common::*;
use demo::{start_with, Demo};

const JWT: &str = "login-throttle-test-secret-of-at-least-32-bytes";
const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";

fn wrong(user: &str) -> String {
    format!("grant_type=password&username={user}&password=wrong")
}

fn assert_throttled(answer: &Answer) {
    assert_oauth_error(answer, 429, "slow_down");
    let retry: u64 = answer
        .headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
    assert_eq!(answer.headers.get("cache-control").unwrap(), "no-store");
}

async fn login(demo: &Demo, form: &str) -> Answer {
    post_form(&demo.url("/token"), form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_throttle_counts_usernames_known_or_not_and_resets_on_success() {
    let demo = start_with(&[("JWT_SECRET", JWT), ("LOGIN_LIMIT", "2")]);
    // A success in between resets the username's count.
    assert_oauth_error(&login(&demo, &wrong("johndoe")).await, 400, "invalid_grant");
    assert_eq!(login(&demo, LOGIN).await.status, 200);
    for user in ["johndoe", "no-such-user"] {
        for _ in 0..2 {
            assert_oauth_error(&login(&demo, &wrong(user)).await, 400, "invalid_grant");
        }
        // More than LOGIN_LIMIT failures: 429, for a known and an unknown user alike.
        assert_throttled(&login(&demo, &wrong(user)).await);
    }
    // While locked, even the right password is refused (no oracle).
    assert_throttled(&login(&demo, LOGIN).await);
    // Other usernames are not affected (4 failures from this address < 10 × 2).
    assert_oauth_error(&login(&demo, &wrong("alice")).await, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_throttle_per_client_address() {
    let demo = start_with(&[("JWT_SECRET", JWT), ("LOGIN_LIMIT", "1")]);
    // One failure per username, ten usernames: the address reaches 10 × 1.
    for i in 0..10 {
        assert_oauth_error(
            &login(&demo, &wrong(&format!("user{i}"))).await,
            400,
            "invalid_grant",
        );
    }
    assert_throttled(&login(&demo, &wrong("user-fresh")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_login_limit_no_throttling() {
    let demo = start_with(&[("JWT_SECRET", JWT)]);
    for _ in 0..8 {
        assert_oauth_error(&login(&demo, &wrong("johndoe")).await, 400, "invalid_grant");
    }
    assert_eq!(login(&demo, LOGIN).await.status, 200);
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_throttle_shared_by_two_nodes() {
    let Some(redis) = common::redis::start() else {
        return;
    };
    let url = redis.url();
    let env = [
        ("REDIS_URL", url.as_str()),
        ("JWT_SECRET", JWT),
        ("LOGIN_LIMIT", "2"),
    ];
    let (a, b) = (start_with(&env), start_with(&env));
    assert_oauth_error(&login(&a, &wrong("johndoe")).await, 400, "invalid_grant");
    assert_oauth_error(&login(&b, &wrong("johndoe")).await, 400, "invalid_grant");
    // The third failure overall, on either node, is over the limit.
    assert_throttled(&login(&a, &wrong("johndoe")).await);
    assert_throttled(&login(&b, LOGIN).await);
    // Unknown usernames alike.
    assert_oauth_error(&login(&b, &wrong("ghost")).await, 400, "invalid_grant");
    assert_oauth_error(&login(&a, &wrong("ghost")).await, 400, "invalid_grant");
    assert_throttled(&login(&b, &wrong("ghost")).await);
}
