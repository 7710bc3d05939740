//! The login-throttle side of [`MemoryStore`] (feature `token-endpoint`): failed
//! logins counted per username and per client address in a sliding window, in this
//! process only.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::super::throttle::{counter_key, LoginThrottle, LoginThrottleConfig};
use super::super::{BoxFuture, StoreError};
use super::{locked, MemoryStore};

/// Most counters a [`MemoryStore`] keeps: 100,000.
const MEMORY_CAPACITY: usize = 100_000;

/// The limits, and the failure times of each counter, oldest first.
#[derive(Clone, Default)]
pub(super) struct Counters {
    pub(super) config: LoginThrottleConfig,
    times: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl Counters {
    fn with_counters<R>(&self, f: impl FnOnce(&mut HashMap<String, VecDeque<Instant>>) -> R) -> R {
        f(&mut locked(&self.times))
    }
}

impl MemoryStore {
    /// Counts failed logins with `config` when the store serves as a
    /// [`LoginThrottle`] (the defaults otherwise: 5 failures per username and 50 per
    /// address in 60 s). Feature `token-endpoint`.
    #[must_use]
    pub fn with_login_throttle(mut self, config: LoginThrottleConfig) -> Self {
        self.throttle.config = config;
        self
    }
}

/// Drops the failures older than `window` from the front.
fn expire(failures: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while failures
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        failures.pop_front();
    }
}

impl LoginThrottle for MemoryStore {
    fn check<'a>(
        &'a self,
        username: &'a str,
        client: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        let keys = self.throttle.config.keys(username, client);
        let window = self.throttle.config.window();
        let now = Instant::now();
        let answer = self.throttle.with_counters(|counters| {
            let mut longest: Option<Duration> = None;
            for (key, limit) in &keys {
                let Some(failures) = counters.get_mut(key) else {
                    continue;
                };
                expire(failures, now, window);
                let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
                if failures.len() >= limit {
                    // The lock lifts when the failure that makes the count reach the
                    // limit leaves the window.
                    let oldest = failures[failures.len() - limit];
                    let wait = (oldest + window).saturating_duration_since(now);
                    longest = Some(longest.map_or(wait, |w| w.max(wait)));
                }
            }
            longest.map(|wait| wait.max(Duration::from_secs(1)))
        });
        Box::pin(std::future::ready(Ok(answer)))
    }

    fn failed<'a>(
        &'a self,
        username: &'a str,
        client: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let keys = self.throttle.config.keys(username, client);
        let window = self.throttle.config.window();
        let now = Instant::now();
        self.throttle.with_counters(|counters| {
            for (key, limit) in keys {
                if !counters.contains_key(&key) && counters.len() >= MEMORY_CAPACITY {
                    counters.retain(|_, failures| {
                        expire(failures, now, window);
                        !failures.is_empty()
                    });
                    if counters.len() >= MEMORY_CAPACITY {
                        continue;
                    }
                }
                let failures = counters.entry(key).or_default();
                expire(failures, now, window);
                failures.push_back(now);
                let limit = usize::try_from(limit).unwrap_or(usize::MAX);
                while failures.len() > limit {
                    failures.pop_front();
                }
            }
        });
        Box::pin(std::future::ready(Ok(())))
    }

    fn succeeded<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let key = counter_key("u", username);
        self.throttle
            .with_counters(|counters| counters.remove(&key));
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sliding_window_per_username_and_address() {
        let throttle = MemoryStore::new().with_login_throttle(
            LoginThrottleConfig::new()
                .with_username_limit(3)
                .with_address_limit(5),
        );
        for _ in 0..3 {
            assert_eq!(throttle.check("bob", Some("1.2.3.4")).await.unwrap(), None);
            throttle.failed("bob", Some("1.2.3.4")).await.unwrap();
            tokio::time::advance(Duration::from_secs(10)).await;
        }
        // Three failures at t = 0, 10, 20; now t = 30: locked until t = 60.
        let locked = throttle.check("bob", None).await.unwrap().unwrap();
        assert_eq!(locked, Duration::from_secs(30));
        // Another username from the same address still passes (3 < 5)...
        assert_eq!(throttle.check("eve", Some("1.2.3.4")).await.unwrap(), None);
        throttle.failed("eve", Some("1.2.3.4")).await.unwrap();
        throttle.failed("zed", Some("1.2.3.4")).await.unwrap();
        // ...until the address reaches its own limit.
        assert!(throttle
            .check("carol", Some("1.2.3.4"))
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            throttle.check("carol", Some("5.6.7.8")).await.unwrap(),
            None
        );
        // The window slides: at t = 60 the first failure is gone.
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(throttle.check("bob", None).await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn success_resets_the_username_only() {
        let throttle = MemoryStore::new().with_login_throttle(LoginThrottleConfig::per_username(1));
        throttle.failed("bob", Some("a")).await.unwrap();
        assert!(throttle.check("bob", None).await.unwrap().is_some());
        throttle.succeeded("bob").await.unwrap();
        assert_eq!(throttle.check("bob", None).await.unwrap(), None);
    }
}
