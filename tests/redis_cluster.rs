//! The Redis stores on a real Redis Cluster (three primaries, three replicas, started by
//! the test): every store operation (refresh families, per-subject caps, revocations of
//! tokens and sessions, login throttling), pushed revocations between
//! two stores, a failover under the stores, and two demo server processes
//! (`REDIS_CLUSTER`) that keep working after a primary is killed and its replica
//! promoted. Skipped when `redis-server` is missing, unless `REQUIRE_REDIS=1`.
#![cfg(all(feature = "redis", feature = "token-endpoint"))]

#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/demo.rs"]
mod demo;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use demo::{start_with, Demo};
use tower_bearer::store::{
    refresh, LoginThrottle, LoginThrottleConfig, RedisConfig, RedisStore, RefreshError,
    RefreshTokenStore, RevocationListener, RevocationStore, Session, DEFAULT_REPLICA_ACK_TIMEOUT,
};

const JWT: &str = "redis-cluster-test-secret-of-at-least-32-bytes";
const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";

fn session() -> Session {
    user_session("alice")
}

fn user_session(subject: &str) -> Session {
    Session::new(subject, "web", "me items", now() + 3600)
}

async fn store(cluster: &cluster::RedisCluster) -> RedisStore {
    RedisStore::connect_with(&RedisConfig::cluster_from_list(&cluster.seeds()))
        .await
        .expect("connecting to the cluster")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_stores_rotate_revoke_reuse_and_throttle() {
    let Some(cluster) = cluster::start(3) else {
        return;
    };
    let (a, b) = (store(&cluster).await, store(&cluster).await);

    // Many subjects, so their keys spread over the slots of all three primaries.
    for i in 0..30 {
        let subject = format!("user-{i}");
        let first = a.issue(&user_session(&subject)).await.unwrap();
        let found = b
            .lookup(first.as_str())
            .await
            .unwrap()
            .expect("a live family");
        assert_eq!(found.session.subject, subject);
        let (second, _) = refresh(&b, first.as_str(), "web", None).await.unwrap();
        assert_eq!(second.record.family, found.family);
        // The spent token is still known (lookup), but using it again is reuse...
        assert!(a.lookup(first.as_str()).await.unwrap().is_some());
        assert_eq!(
            refresh(&a, first.as_str(), "web", None).await,
            Err(RefreshError::Reused)
        );
        // ...which revoked the whole family, the newest token too.
        assert_eq!(
            refresh(&b, second.token.as_str(), "web", None).await,
            Err(RefreshError::InvalidGrant)
        );
    }
    // Revoking by token and by family.
    let token = a.issue(&session()).await.unwrap();
    assert!(b.revoke(token.as_str()).await.unwrap());
    assert!(a.lookup(token.as_str()).await.unwrap().is_none());
    let token = a.issue(&session()).await.unwrap();
    let family = a.lookup(token.as_str()).await.unwrap().unwrap().family;
    assert!(b.revoke_family(&family).await.unwrap());
    assert_eq!(
        refresh(&a, token.as_str(), "web", None).await,
        Err(RefreshError::InvalidGrant)
    );
    // Tokens that are not ours, or forged for a known family, are simply unknown.
    assert!(a.lookup("not-a-token").await.unwrap().is_none());
    let forged = format!("{}.{}", family.as_str(), "A".repeat(43));
    assert!(a.lookup(&forged).await.unwrap().is_none());
    assert!(!a.revoke(&forged).await.unwrap());

    // Concurrent rotations of one token on two connections: exactly one wins.
    for _ in 0..3 {
        let token = a.issue(&session()).await.unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let node = if i % 2 == 0 { a.clone() } else { b.clone() };
                let token = token.clone();
                tokio::spawn(async move { refresh(&node, token.as_str(), "web", None).await })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            ok += usize::from(task.await.unwrap().is_ok());
        }
        assert_eq!(ok, 1);
    }

    // Revoked access-token ids and ended sessions.
    a.revoke_jti("cluster-jti", now() + 600).await.unwrap();
    assert!(b.is_revoked("cluster-jti").await.unwrap());
    assert!(!b.is_revoked("other-jti").await.unwrap());
    a.revoke_session(family.as_str(), now() + 600)
        .await
        .unwrap();
    assert!(b.is_session_revoked(family.as_str()).await.unwrap());
    assert!(!b.is_session_revoked("other-sid").await.unwrap());

    // Per-subject cap (one script over the subject's index and families, one slot):
    // the fourth login ends the oldest session, another subject's is untouched, and
    // logins of one subject racing on two connections never exceed the cap.
    let (ca, cb) = (
        a.clone().with_max_sessions_per_subject(3).unwrap(),
        b.clone().with_max_sessions_per_subject(3).unwrap(),
    );
    let other = ca.issue(&user_session("capped-other")).await.unwrap();
    let mut capped = Vec::new();
    for i in 0..4 {
        let node = if i % 2 == 0 { &ca } else { &cb };
        capped.push(node.issue(&user_session("capped")).await.unwrap());
    }
    assert!(cb.lookup(capped[0].as_str()).await.unwrap().is_none());
    for token in &capped[1..] {
        assert!(ca.lookup(token.as_str()).await.unwrap().is_some());
    }
    assert!(cb.lookup(other.as_str()).await.unwrap().is_some());
    let racing: Vec<_> = (0..12)
        .map(|i| {
            let node = if i % 2 == 0 { ca.clone() } else { cb.clone() };
            tokio::spawn(async move { node.issue(&user_session("racing")).await.unwrap() })
        })
        .collect();
    // Every login first: a session counted alive while later logins still run may be
    // ended by one of them.
    let mut tokens = Vec::new();
    for task in racing {
        tokens.push(task.await.unwrap());
    }
    let mut alive = 0;
    for token in &tokens {
        alive += usize::from(ca.lookup(token.as_str()).await.unwrap().is_some());
    }
    assert_eq!(alive, 3, "exactly the cap of racing sessions survives");

    // Login throttling shared by two connections.
    let config = LoginThrottleConfig::per_username(3);
    let (ta, tb) = (
        RedisStore::clone(&a).with_login_throttle(config),
        RedisStore::clone(&b).with_login_throttle(config),
    );
    for i in 0..3 {
        let node = if i % 2 == 0 { &ta } else { &tb };
        assert_eq!(node.check("mallory", Some("10.0.0.1")).await.unwrap(), None);
        node.failed("mallory", Some("10.0.0.1")).await.unwrap();
    }
    let retry_after = tb.check("mallory", None).await.unwrap().expect("throttled");
    assert!(retry_after > Duration::ZERO && retry_after <= config.window());
    assert_eq!(ta.check("someone-else", None).await.unwrap(), None);
    ta.succeeded("mallory").await.unwrap();
    assert_eq!(tb.check("mallory", None).await.unwrap(), None);
}

/// Times at which a listener heard of a key.
struct Heard(Mutex<Vec<(String, Instant)>>);

impl RevocationListener for Heard {
    fn revoked(&self, key: &str) {
        self.0
            .lock()
            .unwrap()
            .push((key.to_owned(), Instant::now()));
    }
    fn push_lost(&self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_revocation_pushed_to_other_store() {
    let Some(cluster) = cluster::start(3) else {
        return;
    };
    let (a, b) = (store(&cluster).await, store(&cluster).await);
    eventually(
        "the subscriptions not up",
        Instant::now(),
        Duration::from_secs(10),
        || async { (a.revocation_feed().is_live() && b.revocation_feed().is_live()).then_some(()) },
    )
    .await;
    let heard = Arc::new(Heard(Mutex::new(Vec::new())));
    let listener: Arc<dyn RevocationListener> = heard.clone();
    b.revocation_feed().register(Arc::downgrade(&listener));

    let mut latencies = Vec::new();
    for i in 0..20 {
        // Token ids and sessions (`sid`) travel the same way.
        let key = if i % 2 == 0 {
            format!("jti:pushed-{i}")
        } else {
            format!("sid:pushed-{i}")
        };
        let started = Instant::now();
        if i % 2 == 0 {
            a.revoke_jti(&format!("pushed-{i}"), now() + 600).await
        } else {
            a.revoke_session(&format!("pushed-{i}"), now() + 600).await
        }
        .unwrap();
        // The listener records when it heard the key, so the poll's own interval does
        // not count in the latency.
        let at = eventually(
            &format!("{key} not pushed"),
            started,
            Duration::from_secs(1),
            || async {
                let heard = heard.0.lock().unwrap();
                heard.iter().find(|(k, _)| *k == key).map(|(_, at)| *at)
            },
        )
        .await;
        latencies.push(at.saturating_duration_since(started));
    }
    latencies.sort();
    eprintln!(
        "pushed revocation, revoke call start to the other store's feed: median {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}

fn field(answer: &Answer, name: &str) -> String {
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.json()[name].as_str().expect(name).to_owned()
}

async fn refresh_at(demo: &Demo, token: &str) -> Answer {
    post_form(
        &demo.url("/token"),
        &format!("grant_type=refresh_token&refresh_token={token}"),
    )
    .await
}

fn two_demos(seeds: &str, extra: &[(&str, &str)]) -> (Demo, Demo) {
    let mut env = vec![("REDIS_CLUSTER", seeds), ("JWT_SECRET", JWT)];
    env.extend_from_slice(extra);
    (start_with(&env), start_with(&env))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_demo_revocation_pushed_and_login_throttled_across_nodes() {
    let Some(cluster) = cluster::start(3) else {
        return;
    };
    let (a, b) = two_demos(&cluster.seeds(), &[("LOGIN_LIMIT", "3")]);

    // Revocation: refused at once on the revoking node, within 1 s on the other.
    let access = field(&post_form(&a.url("/token"), LOGIN).await, "access_token");
    assert_eq!(get_with_token(&a.url("/status"), &access).await.status, 200);
    assert_eq!(get_with_token(&b.url("/status"), &access).await.status, 200);
    let answer = post_form(
        &a.url("/revoke"),
        &format!("token={access}&token_type_hint=access_token"),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let revoked_at = Instant::now();
    get_with_token(&a.url("/status"), &access)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    refused_within(
        &b.url("/status"),
        &access,
        revoked_at,
        Duration::from_secs(1),
    )
    .await;
    eprintln!(
        "revoked on A, refused by B after {:?}",
        revoked_at.elapsed()
    );

    // Throttling shared by both nodes: three failures (alternating nodes), then 429.
    for (i, user) in ["johndoe", "nobody-here"].iter().enumerate() {
        let wrong = format!("grant_type=password&username={user}&password=wrong");
        for attempt in 0..3 {
            let node = if (attempt + i) % 2 == 0 { &a } else { &b };
            assert_oauth_error(
                &post_form(&node.url("/token"), &wrong).await,
                400,
                "invalid_grant",
            );
        }
        let node = if i == 0 { &a } else { &b };
        assert_throttled(&post_form(&node.url("/token"), &wrong).await);
    }
    // Locked even with the right password, on either node.
    assert_throttled(&post_form(&b.url("/token"), LOGIN).await);
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_demo_survives_master_failover() {
    let Some(mut cluster) = cluster::start(3) else {
        return;
    };
    let (a, b) = two_demos(&cluster.seeds(), &[]);
    let a = Arc::new(a);
    let b = Arc::new(b);

    // Sessions of 24 subjects, spread over all primaries (a subject's keys share one
    // slot; each primary gets some, but with odds of 3 × (2/3)^24 < 0.02 %), each
    // rotated once before the failover, through a store that waits for one replica as
    // the demo's does.
    let config = RedisConfig::cluster_from_list(&cluster.seeds())
        .with_replica_acks(1, DEFAULT_REPLICA_ACK_TIMEOUT);
    let direct = RedisStore::connect_with(&config).await.unwrap();
    let mut sessions = Vec::new();
    for i in 0..24 {
        let first = direct
            .issue(&user_session(&format!("user-{i}")))
            .await
            .unwrap();
        let (second, _) = refresh(&direct, first.as_str(), "web", None).await.unwrap();
        let second = second.token;
        sessions.push((first, second));
    }
    // The demo has one user: its sessions all sit on the primary of johndoe's slot,
    // which is the one to kill.
    field(&post_form(&a.url("/token"), LOGIN).await, "refresh_token");
    let victim = cluster
        .master_holding("tower-bearer:sub:*johndoe")
        .expect("a primary holding johndoe's sessions");

    // Traffic during the failover: logins, refreshes, revocations on both nodes.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server_errors = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..2 {
        let (node, stop, errors, ok) = (
            if w == 0 { a.clone() } else { b.clone() },
            stop.clone(),
            server_errors.clone(),
            ok.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let login = post_form(&node.url("/token"), LOGIN).await;
                let status = login.status.as_u16();
                if status == 200 {
                    let token = login.json()["refresh_token"].as_str().unwrap().to_owned();
                    let next = refresh_at(&node, &token).await;
                    if next.status == 200 {
                        let access = next.json()["access_token"].as_str().unwrap().to_owned();
                        let _ = post_form(&node.url("/revoke"), &format!("token={access}")).await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                } else if status >= 500 && status != 503 {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    cluster.kill(victim);
    let killed_at = Instant::now();

    // Wait (bounded) until the replica is promoted and both demo nodes serve again.
    let deadline = killed_at + Duration::from_secs(30);
    let mut recovered = [false, false];
    while recovered != [true, true] {
        assert!(
            Instant::now() < deadline,
            "operations did not succeed again within 30 s of killing a primary"
        );
        for (i, node) in [&a, &b].into_iter().enumerate() {
            if recovered[i] {
                continue;
            }
            let login = post_form(&node.url("/token"), LOGIN).await;
            if login.status == 200 {
                let token = login.json()["refresh_token"].as_str().unwrap().to_owned();
                recovered[i] = refresh_at(node, &token).await.status == 200;
            } else {
                assert_eq!(login.status, 503, "{:?}", login.body);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "both demo nodes served logins and refreshes again {:?} after the primary was killed",
        killed_at.elapsed()
    );
    cluster.wait_healthy(3, Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    assert_eq!(
        server_errors.load(Ordering::Relaxed),
        0,
        "5xx other than 503"
    );

    // After the failover, for sessions rotated before it on any primary: a spent token
    // stays spent (never mints again), and the newest token still refreshes (WAIT 1: a
    // rotation had reached a replica before the client saw its answer). The store may
    // first need to learn the new slot map: bounded retries on store errors only.
    for (i, (first, second)) in sessions.iter().enumerate() {
        let token = if i % 2 == 0 { first } else { second };
        let deadline = Instant::now() + Duration::from_secs(10);
        let answer = loop {
            match refresh(&direct, token.as_str(), "web", None).await {
                Err(RefreshError::Store(e)) if Instant::now() < deadline => {
                    eprintln!("retrying after a store error: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                answer => break answer,
            }
        };
        if i % 2 == 0 {
            assert!(
                matches!(answer, Err(RefreshError::Reused)),
                "a spent token minted again: {answer:?}"
            );
        } else {
            assert!(answer.is_ok(), "{answer:?}");
        }
    }
    let mut fresh = Vec::new();
    for i in 0..12 {
        let node = if i % 2 == 0 { &a } else { &b };
        let first = field(
            &post_form(&node.url("/token"), LOGIN).await,
            "refresh_token",
        );
        fresh.push(field(&refresh_at(node, &first).await, "refresh_token"));
    }
    for token in &fresh {
        field(&refresh_at(&b, token).await, "refresh_token");
    }
    assert!(ok.load(Ordering::Relaxed) > 0);
}
