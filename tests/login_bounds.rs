//! Bounded logins over TCP: a full verification queue answers `503
//! temporarily_unavailable` with `Retry-After` at once, and a flood of failing logins
//! does not keep a valid login from succeeding.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tower_bearer::token_endpoint::{
    InMemoryUserStore, PasswordHasher, TokenEndpoint, TokenIssuer, User,
};

const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";

/// A server whose user `slow` has a hash that takes long to verify (Argon2id, 32 MiB,
/// 20 passes), and `johndoe` a cheap one.
async fn server(hasher: PasswordHasher) -> TestServer {
    let cheap = PasswordHasher::new().with_params(256, 1, 1).unwrap();
    let slow = PasswordHasher::new().with_params(32 * 1024, 20, 1).unwrap();
    let store = InMemoryUserStore::new()
        .with_user(User::new("johndoe", cheap.hash("secret").unwrap()).with_scopes(["me"]))
        .with_user(User::new("slow", slow.hash("slow").unwrap()));
    let issuer = TokenIssuer::hs256(SECRET).unwrap();
    let endpoint = TokenEndpoint::builder(issuer, store)
        .allow_password_grant()
        .with_hasher(hasher)
        .build()
        .unwrap();
    serve(endpoint).await
}

fn assert_overloaded(answer: &Answer, retry_after: &str) {
    assert_oauth_error(answer, 503, "temporarily_unavailable");
    assert_eq!(answer.headers["retry-after"], retry_after);
    assert_eq!(answer.headers["pragma"], "no-cache");
}

#[tokio::test]
async fn full_queue_answers_503_with_retry_after() {
    let hasher = PasswordHasher::new()
        .with_params(256, 1, 1)
        .unwrap()
        .with_max_concurrency(1)
        .unwrap()
        .with_max_waiting(0)
        .unwrap()
        .with_max_wait(Duration::from_millis(1500))
        .unwrap();
    let server = server(hasher).await;
    let url = server.url("/token");
    // `slow` holds the only verification slot for a long while (retrying if a login
    // of the poller below held it when it came).
    let slow = tokio::spawn({
        let url = url.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let answer =
                    post_form(&url, "grant_type=password&username=slow&password=slow").await;
                if answer.status != 503 || Instant::now() > deadline {
                    return answer;
                }
            }
        }
    });
    // Poll until a login finds the slot taken (bounded: 30 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = loop {
        assert!(Instant::now() < deadline, "no login was ever refused");
        let answer = post_form(&url, LOGIN).await;
        if answer.status == 503 {
            break answer;
        }
        assert_eq!(answer.status, 200, "{answer:?}");
        tokio::task::yield_now().await;
    };
    // Retry-After: the longest wait rounded up to whole seconds.
    assert_overloaded(&refused, "2");
    let body = refused.json();
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    // The slow login itself completes normally, and the slot comes back.
    assert_eq!(slow.await.unwrap().status, 200);
    assert_eq!(post_form(&url, LOGIN).await.status, 200);
}

#[tokio::test]
async fn valid_logins_succeed_during_a_flood_of_bad_ones() {
    // One slot, eight waiting at most in each lane; a generous
    // wait so the outcome does not depend on the machine's speed.
    let hasher = PasswordHasher::new()
        .with_params(4 * 1024, 2, 1)
        .unwrap()
        .with_max_concurrency(1)
        .unwrap()
        .with_max_waiting(8)
        .unwrap()
        .with_max_wait(Duration::from_secs(60))
        .unwrap();
    let server = server(hasher).await;
    let url = server.url("/token");

    // The flood guesses passwords for one account: its first failure marks it.
    let first = post_form(&url, "grant_type=password&username=mallory&password=guess").await;
    assert_oauth_error(&first, 400, "invalid_grant");

    const WORKERS: usize = 64;
    const PER_WORKER: usize = 8;
    let wrong = Arc::new(AtomicUsize::new(0));
    let busy = Arc::new(AtomicUsize::new(0));
    let mut flood = Vec::new();
    for worker in 0..WORKERS {
        let (url, wrong, busy) = (url.clone(), Arc::clone(&wrong), Arc::clone(&busy));
        flood.push(tokio::spawn(async move {
            for attempt in 0..PER_WORKER {
                let form = format!(
                    "grant_type=password&username=mallory&password=guess-{worker}-{attempt}"
                );
                let answer = post_form(&url, &form).await;
                match answer.status.as_u16() {
                    400 => {
                        assert_oauth_error(&answer, 400, "invalid_grant");
                        wrong.fetch_add(1, Ordering::SeqCst);
                    }
                    503 => {
                        assert_overloaded(&answer, "60");
                        busy.fetch_add(1, Ordering::SeqCst);
                    }
                    other => panic!("flood answer {other}: {answer:?}"),
                }
            }
        }));
    }
    // Meanwhile johndoe logs in, one login after the other: every one succeeds.
    for _ in 0..10 {
        let answer = post_form(&url, LOGIN).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.json()["token_type"], "bearer");
    }
    for worker in flood {
        worker.await.unwrap();
    }
    let (wrong, busy) = (wrong.load(Ordering::SeqCst), busy.load(Ordering::SeqCst));
    assert_eq!(wrong + busy, WORKERS * PER_WORKER);
    // The suspect lane is capped: part of the flood was turned away without hashing.
    assert!(busy > 0, "wrong {wrong}, busy {busy}");
    eprintln!("flood: {wrong} verified and refused, {busy} turned away with 503");
}

#[test]
fn queue_bounds_are_validated() {
    let hasher = PasswordHasher::new();
    assert!(hasher.clone().with_max_wait(Duration::ZERO).is_err());
    assert!(hasher
        .clone()
        .with_max_wait(Duration::from_secs(7200))
        .is_err());
    assert!(hasher.clone().with_max_waiting(2_000_000).is_err());
    assert!(hasher.clone().with_max_concurrency(0).is_err());
    assert!(hasher.with_max_waiting(0).is_ok());
}
