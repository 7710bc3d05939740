//! Login throttling: failed password logins counted per username and per client
//! address in a sliding window ([`LoginThrottle`]), in memory for one node
//! ([`MemoryStore`](super::MemoryStore)) or in Redis for all nodes (`RedisStore`,
//! feature `redis`).
//!
//! The token endpoint asks [`LoginThrottle::check`] before it verifies a password (so a
//! throttled guess costs no Argon2 run and reveals nothing), records every failure with
//! [`LoginThrottle::failed`] and clears the username's count on success with
//! [`LoginThrottle::succeeded`]. Unknown usernames are counted exactly like known ones:
//! the answers do not tell which exist. See
//! [`TokenEndpointBuilder::with_login_throttle`](crate::token_endpoint::TokenEndpointBuilder::with_login_throttle).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{BoxFuture, StoreError};

/// Default failed logins allowed per username in one window: 5.
pub const DEFAULT_USERNAME_LIMIT: u32 = 5;
/// Default failed logins allowed per client address in one window: 50 (ten times the
/// username limit, as several users may share an address).
pub const DEFAULT_ADDRESS_LIMIT: u32 = 50;
/// Default window: 60 s.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// How many failed logins are allowed in how long.
///
/// A username (or address) with `limit` failures within the last `window` is refused
/// (`429`) until the oldest of them is `window` old: a sliding window. A limit of `0`
/// turns that count off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottleConfig {
    username_limit: u32,
    address_limit: u32,
    window: Duration,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        Self {
            username_limit: DEFAULT_USERNAME_LIMIT,
            address_limit: DEFAULT_ADDRESS_LIMIT,
            window: DEFAULT_WINDOW,
        }
    }
}

impl LoginThrottleConfig {
    /// The defaults: 5 failures per username and 50 per address in 60 s.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// `limit` failures per username and `10 × limit` per address in 60 s.
    #[must_use]
    pub fn per_username(limit: u32) -> Self {
        Self {
            username_limit: limit,
            address_limit: limit.saturating_mul(10),
            window: DEFAULT_WINDOW,
        }
    }

    /// Failures allowed per username in one window (`0`: not counted).
    #[must_use]
    pub fn with_username_limit(mut self, limit: u32) -> Self {
        self.username_limit = limit;
        self
    }

    /// Failures allowed per client address in one window (`0`: not counted).
    #[must_use]
    pub fn with_address_limit(mut self, limit: u32) -> Self {
        self.address_limit = limit;
        self
    }

    /// The window (at least one second is used).
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window.max(Duration::from_secs(1));
        self
    }

    /// Failures allowed per username.
    #[must_use]
    pub fn username_limit(&self) -> u32 {
        self.username_limit
    }

    /// Failures allowed per client address.
    #[must_use]
    pub fn address_limit(&self) -> u32 {
        self.address_limit
    }

    /// The window.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The counters a login touches, with their limits: the username's, then the
    /// address's (when known and counted).
    pub(crate) fn keys(&self, username: &str, client: Option<&str>) -> Vec<(String, u32)> {
        let mut keys = Vec::with_capacity(2);
        if self.username_limit > 0 {
            keys.push((counter_key("u", username), self.username_limit));
        }
        if let (Some(client), true) = (client, self.address_limit > 0) {
            keys.push((counter_key("a", client), self.address_limit));
        }
        keys
    }
}

/// A fixed-size, non-reversible key for a counter: usernames and addresses never appear
/// in clear in the store.
pub(crate) fn counter_key(kind: &str, value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(kind.as_bytes())
        .chain_update([0])
        .chain_update(value.as_bytes())
        .finalize();
    let mut key = String::with_capacity(kind.len() + 1 + 32);
    key.push_str(kind);
    key.push(':');
    for byte in &digest[..16] {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

/// The address a client is counted under: an IPv4 address as is, an IPv6 address by
/// its /64 prefix (one host usually owns a whole /64), an IPv4-mapped IPv6 address as
/// the IPv4 address.
#[must_use]
pub fn client_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Counts failed logins. `Arc<T>` implements it when `T` does.
pub trait LoginThrottle: Send + Sync {
    /// Whether a login for `username` from `client` (a [`client_key`], `None` when the
    /// address is unknown) must be refused now: `Some(retry_after)`, the wait until the
    /// oldest counted failure leaves the window (at least one second), or `None`.
    fn check<'a>(
        &'a self,
        username: &'a str,
        client: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>>;

    /// Counts a failed login (wrong password, unknown or disabled user).
    fn failed<'a>(
        &'a self,
        username: &'a str,
        client: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// A successful login: clears the username's count (the address's stays).
    fn succeeded<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl<T: LoginThrottle + ?Sized> LoginThrottle for Arc<T> {
    fn check<'a>(
        &'a self,
        username: &'a str,
        client: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        (**self).check(username, client)
    }
    fn failed<'a>(
        &'a self,
        username: &'a str,
        client: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).failed(username, client)
    }
    fn succeeded<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).succeeded(username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_keys() {
        assert_eq!(client_key("10.0.0.1".parse().unwrap()), "10.0.0.1");
        assert_eq!(client_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
        assert_eq!(
            client_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            client_key("2001:db8:1:2:ffff::1".parse().unwrap())
        );
    }

    #[test]
    fn zero_limits_count_nothing() {
        let config = LoginThrottleConfig::new()
            .with_username_limit(0)
            .with_address_limit(0);
        assert!(config.keys("bob", Some("a")).is_empty());
    }
}
