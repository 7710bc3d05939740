//! Two demo server processes sharing one real redis-server (`REDIS_URL`): refresh-token
//! reuse, access-token revocation and concurrent refreshes are seen across nodes.
//! Skipped when `redis-server` is missing, unless `REQUIRE_REDIS=1`.
#![cfg(feature = "redis")]

mod common;
#[path = "common/demo.rs"]
mod demo;

use std::time::{Duration, Instant};

use common::*;
use demo::{start_with, Demo};

const JWT: &str = "demo-redis-test-secret-of-at-least-32-bytes";
const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";

fn two_demos(url: &str) -> (Demo, Demo) {
    let env = [("REDIS_URL", url), ("JWT_SECRET", JWT)];
    (start_with(&env), start_with(&env))
}

fn field(answer: &Answer, name: &str) -> String {
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.json()[name].as_str().expect(name).to_owned()
}

async fn refresh(demo: &Demo, token: &str) -> Answer {
    post_form(
        &demo.url("/token"),
        &format!("grant_type=refresh_token&refresh_token={token}"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_redis_old_refresh_token_refused_on_other_node() {
    let Some(redis) = common::redis::start() else {
        return;
    };
    let (a, b) = two_demos(&redis.url());
    let first = field(&post_form(&a.url("/token"), LOGIN).await, "refresh_token");
    let second = field(&refresh(&a, &first).await, "refresh_token");
    assert_oauth_error(&refresh(&b, &first).await, 400, "invalid_grant");
    // Reuse revoked the family everywhere.
    assert_oauth_error(&refresh(&b, &second).await, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_redis_access_token_revoked_on_a_refused_on_b_within_1s() {
    let Some(redis) = common::redis::start() else {
        return;
    };
    let (a, b) = two_demos(&redis.url());
    let access = field(&post_form(&a.url("/token"), LOGIN).await, "access_token");
    assert_eq!(
        get_with_token(&b.url("/users/me"), &access).await.status,
        200
    );

    let answer = post_form(
        &a.url("/revoke"),
        &format!("token={access}&token_type_hint=access_token"),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    refused_within(
        &b.url("/users/me"),
        &access,
        Instant::now(),
        Duration::from_secs(1),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_redis_concurrent_refresh_succeeds_at_most_once() {
    let Some(redis) = common::redis::start() else {
        return;
    };
    let (a, b) = two_demos(&redis.url());
    let token = field(&post_form(&a.url("/token"), LOGIN).await, "refresh_token");
    let mut tasks = Vec::new();
    for i in 0..10 {
        let url = if i % 2 == 0 {
            a.url("/token")
        } else {
            b.url("/token")
        };
        let form = format!("grant_type=refresh_token&refresh_token={token}");
        tasks.push(tokio::spawn(async move { post_form(&url, &form).await }));
    }
    let mut ok = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status.as_u16() {
            200 => ok += 1,
            _ => assert_oauth_error(&answer, 400, "invalid_grant"),
        }
    }
    assert!(ok <= 1, "{ok} concurrent refreshes succeeded");
}
