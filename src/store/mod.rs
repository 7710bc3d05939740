//! Server-side state for refresh tokens, revocation and client credentials, behind
//! traits: in-memory stores for tests and single-node examples, Redis stores (feature
//! `redis`) once a service runs on several nodes.
//!
//! What lives here is the part of the `refresh_token` (RFC 6749 §6) and
//! `client_credentials` (§4.4) grants and of token revocation (RFC 7009) that needs
//! state; a token endpoint calls it and renders the answers.
//!
//! ```
//! use tower_bearer::store::{refresh, MemoryStore, RefreshError, RefreshTokenStore, Session};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let exp = jsonwebtoken::get_current_timestamp() as i64 + 3600;
//! let first = store.issue(&Session::new("alice", "web", "me items", exp)).await?;
//!
//! // Each use rotates: a new token, the same session, scopes only narrowed.
//! let (next, scope) = refresh(&store, first.as_str(), "web", Some("me")).await?;
//! assert_eq!(scope, "me");
//! assert_eq!(next.record.session.scope, "me items");
//!
//! // Presenting the old token again is reuse: refused, and the whole family is revoked.
//! let reused = refresh(&store, first.as_str(), "web", None).await;
//! assert!(matches!(reused, Err(RefreshError::Reused)));
//! let newest = refresh(&store, next.token.as_str(), "web", None).await;
//! assert!(matches!(newest, Err(RefreshError::InvalidGrant)));
//! # Ok(())
//! # }
//! ```
//!
//! # Refresh-token rotation (RFC 9700 §4.14.2)
//!
//! Refresh tokens are opaque: 256 random bits from the operating system, base64url
//! (43 characters; the Redis store puts the family id and a dot in front, so the token
//! names the keys it lives under on a Redis Cluster). Stores keep only the SHA-256 of a token, never the token, so a
//! leaked store dump holds nothing that can be presented.
//!
//! Every token belongs to a *family*: the chain of tokens born from one grant (one
//! login). Exactly one token of a family is current. [`RefreshTokenStore::rotate`]
//! atomically checks that the presented token is current, marks it used and makes its
//! successor current. Presenting a used token again means two parties hold it (the
//! client and an attacker, RFC 9700 §4.14.2): the store revokes the whole family, so
//! the newest token dies too, and answers [`RefreshError::Reused`]. Concurrent uses of
//! the same token therefore succeed at most once, on every backend.
//!
//! A family has a fixed absolute expiry set when it is issued; rotation does not
//! extend it (no sliding sessions), so a stolen family cannot be kept alive forever.
//!
//! # Scopes
//!
//! A refresh request may only narrow the scopes (RFC 6749 §6): see [`narrow_scopes`].
//! The family keeps its original scopes; only the new access token gets the narrowed
//! set, as §6 requires ("the refresh token scope MUST be identical").
//!
//! # Client credentials
//!
//! `client_credentials` tokens (RFC 6749 §4.4) speak for a client, not a user. There is
//! no end user, so such an access token's `sub` is the **client id** (as RFC 9068 §2.2
//! suggests) and its `client_id` claim says so; it must not be read as a user name. The
//! rule ([`SubjectClaims::is_client_token`](crate::SubjectClaims::is_client_token)): a
//! token with a `client_id` and no `sub`, or `sub` equal to `client_id`, speaks for a
//! client; the current-user layer refuses it. No refresh token is issued with them
//! (§4.4.3). See [`MemoryStore`]'s `with_clients` (feature `token-endpoint`).
//!
//! # Revocation
//!
//! [`RevocationStore`] records revoked access-token ids (`jti`) until the tokens would
//! have expired anyway; [`RevocationCheck`](crate::validate::RevocationCheck) consults it
//! from [`BearerAuthLayer`](crate::BearerAuthLayer) through a short-lived local cache.
//! [`revoke_token`] is the logic of an RFC 7009 endpoint.
//!
//! # Futures
//!
//! Store methods return boxed futures ([`BoxFuture`]) so the traits are dyn-compatible:
//! a server can hold an `Arc<dyn RefreshTokenStore>` and pick the in-memory or Redis
//! store at start-up (the demo server does, on `REDIS_URL`). Every call is I/O-bound
//! and off the per-request hot path (the revocation check boxes only on a cache miss),
//! so the allocation does not matter.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

#[cfg(feature = "token-endpoint")]
mod client;
mod feed;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_conn;
#[cfg(feature = "redis")]
mod redis_feed;
#[cfg(all(feature = "redis", feature = "token-endpoint"))]
mod redis_throttle;
mod refresh;
mod revocation;
#[cfg(feature = "token-endpoint")]
mod throttle;

pub use crate::scopes::{narrow_scopes, InvalidScope};
#[cfg(feature = "token-endpoint")]
pub use client::{Client, ClientStore};
pub use feed::{RevocationFeed, RevocationListener, JTI_KEY_PREFIX, SID_KEY_PREFIX};
pub use memory::{
    MemoryStore, DEFAULT_MAX_FAMILIES, DEFAULT_MAX_SESSIONS_PER_SUBJECT, REMEMBERED_SPENT_TOKENS,
};
#[cfg(feature = "redis")]
pub use redis::{RedisStore, DEFAULT_PREFIX};
#[cfg(feature = "redis")]
pub use redis_conn::{
    RedisConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RETRY_WAIT, DEFAULT_REPLICA_ACK_TIMEOUT,
    DEFAULT_RESPONSE_TIMEOUT, DEFAULT_RETRIES,
};
pub use refresh::{
    refresh, RefreshError, RefreshRecord, RefreshToken, RefreshTokenStore, Rotated, Session,
};
#[cfg(feature = "token-endpoint")]
pub(crate) use revocation::session_revocation_until;
pub use revocation::{revoke_token, RevocationStore, RevokeOutcome, TokenTypeHint};
#[cfg(feature = "token-endpoint")]
pub use throttle::{
    client_key, LoginThrottle, LoginThrottleConfig, DEFAULT_ADDRESS_LIMIT, DEFAULT_USERNAME_LIMIT,
    DEFAULT_WINDOW,
};

/// The future every store method returns: boxed and `Send`, so the store traits can be
/// used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A store could not answer: its backend is unreachable or answered nonsense.
///
/// Never caused by what a client sent. Token endpoints answer it with `503` (or RFC
/// 6749's `temporarily_unavailable`), the bearer layer with
/// [`AuthError::Unavailable`](crate::AuthError::Unavailable).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed; the text is for logs, never for clients.
    Backend(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Backend(why) => write!(f, "token store unavailable: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

pub(crate) use crate::clock::now;

/// `n` random bytes from the operating system, base64url without padding.
pub(crate) fn random_b64<const N: usize>() -> Result<String, StoreError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| StoreError::Backend(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Compares client ids without an early exit on the first differing byte.
pub(crate) fn client_id_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
