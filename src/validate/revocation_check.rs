//! [`RevocationCheck`]: refuses tokens whose `jti` is on a [`RevocationStore`], or whose
//! session (`sid`) was ended, with a short-lived local cache in front of the store.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::{BoxedValidation, TokenValidator, Validation};
use crate::claims::HasJti;
use crate::error::{AuthError, InvalidToken};
use crate::store::{
    BoxFuture, RevocationFeed, RevocationListener, RevocationStore, StoreError, JTI_KEY_PREFIX,
    SID_KEY_PREFIX,
};

mod local_cache;

use local_cache::{JtiCache, Kind};

/// How long a "not revoked" answer is trusted locally by default: 500 ms, so a token
/// revoked on one node is refused everywhere within half a second (plus one store
/// round trip).
pub const DEFAULT_NOT_REVOKED_TTL: Duration = Duration::from_millis(500);
/// How long a "revoked" answer is kept locally by default. Revocation is permanent, so
/// this only bounds memory: 60 s.
pub const DEFAULT_REVOKED_TTL: Duration = Duration::from_secs(60);
/// Default bound on locally cached token ids.
pub const DEFAULT_CACHE_CAPACITY: usize = 100_000;
/// How long a "not revoked" answer is trusted locally by default while the store's
/// push channel is live (every revocation then reaches this node's cache within one
/// pub/sub hop): 10 s. It bounds how stale a node can be when a notification is lost
/// without the channel noticing (a cluster bus partition).
pub const DEFAULT_PUSHED_NOT_REVOKED_TTL: Duration = Duration::from_secs(10);

/// Wraps a validator: a token it accepts is then refused if its `jti` was revoked
/// (RFC 7009), as recorded in a [`RevocationStore`] shared by every node.
///
/// Off unless you wrap your validator in it. When on:
///
/// - **Hot path**: a local cache answers most requests without any network call. A
///   cache hit costs a read lock and a hash lookup, answered synchronously
///   ([`Validation::Ready`]), no allocation.
/// - **Pushed revocations**: when the store pushes them ([`RevocationStore::feed`]:
///   the in-memory store, and the Redis store over pub/sub), a revocation of a `jti` or
///   of a session (`sid`) reaches the cache at once on the node that made it and
///   within one pub/sub hop on the others; an id found not revoked is then trusted for
///   [`DEFAULT_PUSHED_NOT_REVOKED_TTL`].
/// - **Polling** (no push, or the push channel is down): an id found not revoked is
///   trusted for [`DEFAULT_NOT_REVOKED_TTL`] (500 ms), so a revocation on another node
///   takes effect here within that time.
/// - **Miss**: one store call (a Redis `EXISTS`), boxed as [`Validation::Pending`].
/// - **Store down**: the request is refused with `503`
///   ([`AuthError::Unavailable`]): fail closed.
/// - **No `jti`**: refused as `invalid_token` (a token that cannot be revoked is not
///   accepted where revocation is enforced); use
///   [`JwtValidator::require_jti`](crate::JwtValidator::require_jti) to say so up front.
///
/// ```
/// use tower_bearer::store::MemoryStore;
/// use tower_bearer::{BearerAuthLayer, Claims, JwtValidator, RevocationCheck};
///
/// let jwt = JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")?.require_jti();
/// let layer = BearerAuthLayer::new(RevocationCheck::new(jwt, MemoryStore::new()));
/// # let _ = layer;
/// # Ok::<_, tower_bearer::ConfigError>(())
/// ```
pub struct RevocationCheck<V, S> {
    inner: V,
    store: S,
    cache: Arc<JtiCache>,
    allow_missing_jti: bool,
    feed: Option<RevocationFeed>,
}

impl<V: Clone, S: Clone> Clone for RevocationCheck<V, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            store: self.store.clone(),
            cache: Arc::clone(&self.cache),
            allow_missing_jti: self.allow_missing_jti,
            feed: self.feed.clone(),
        }
    }
}

impl<V: fmt::Debug, S> fmt::Debug for RevocationCheck<V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationCheck")
            .field("inner", &self.inner)
            .field("store", &std::any::type_name::<S>())
            .field("not_revoked_ttl", &self.cache.not_revoked_ttl)
            .field("pushed_not_revoked_ttl", &self.cache.pushed_ttl)
            .field(
                "push_live",
                &self.feed.as_ref().map(RevocationFeed::is_live),
            )
            .field("revoked_ttl", &self.cache.revoked_ttl)
            .field("capacity", &self.cache.capacity)
            .finish_non_exhaustive()
    }
}

impl<V, S> RevocationCheck<V, S> {
    /// Checks tokens accepted by `inner` against `store`, with the default cache. If
    /// the store pushes revocations ([`RevocationStore::feed`]), the cache listens:
    /// revocations reach it at once (made here) or within one pub/sub hop (made
    /// elsewhere).
    pub fn new(inner: V, store: S) -> Self
    where
        S: RevocationStore,
    {
        let feed = store.feed();
        Self {
            inner,
            store,
            cache: JtiCache::new(
                DEFAULT_NOT_REVOKED_TTL,
                DEFAULT_PUSHED_NOT_REVOKED_TTL,
                DEFAULT_REVOKED_TTL,
                DEFAULT_CACHE_CAPACITY,
                feed.as_ref(),
            ),
            allow_missing_jti: false,
            feed,
        }
    }

    /// Lets tokens without a `jti` through unchecked (they cannot be revoked one by
    /// one), for services that also accept tokens from issuers that set none. Off by
    /// default: such tokens are refused.
    #[must_use]
    pub fn allow_missing_jti(mut self) -> Self {
        self.allow_missing_jti = true;
        self
    }

    /// How long a "not revoked" answer is trusted locally while the store does not
    /// push revocations (or its push channel is down): the upper bound on how late a
    /// revocation made elsewhere is noticed here. `Duration::ZERO` asks the store on
    /// every request.
    #[must_use]
    pub fn with_not_revoked_ttl(self, ttl: Duration) -> Self {
        let c = &self.cache;
        let (pushed, revoked, capacity) = (c.pushed_ttl, c.revoked_ttl, c.capacity);
        self.with_cache(ttl, pushed, revoked, capacity)
    }

    /// How long a "not revoked" answer is trusted locally while the store's push
    /// channel is live (default [`DEFAULT_PUSHED_NOT_REVOKED_TTL`]).
    #[must_use]
    pub fn with_pushed_not_revoked_ttl(self, ttl: Duration) -> Self {
        let c = &self.cache;
        let (not_revoked, revoked, capacity) = (c.not_revoked_ttl, c.revoked_ttl, c.capacity);
        self.with_cache(not_revoked, ttl, revoked, capacity)
    }

    /// How long a "revoked" answer is kept locally.
    #[must_use]
    pub fn with_revoked_ttl(self, ttl: Duration) -> Self {
        let c = &self.cache;
        let (not_revoked, pushed, capacity) = (c.not_revoked_ttl, c.pushed_ttl, c.capacity);
        self.with_cache(not_revoked, pushed, ttl, capacity)
    }

    /// The most token ids kept locally; past it, expired entries are dropped, and if
    /// that is not enough, all of them.
    #[must_use]
    pub fn with_cache_capacity(self, capacity: usize) -> Self {
        let c = &self.cache;
        let (not_revoked, pushed, revoked) = (c.not_revoked_ttl, c.pushed_ttl, c.revoked_ttl);
        self.with_cache(not_revoked, pushed, revoked, capacity)
    }

    fn with_cache(
        self,
        not_revoked: Duration,
        pushed: Duration,
        revoked: Duration,
        capacity: usize,
    ) -> Self {
        let cache = JtiCache::new(not_revoked, pushed, revoked, capacity, self.feed.as_ref());
        Self { cache, ..self }
    }

    /// The wrapped validator.
    pub fn get_ref(&self) -> &V {
        &self.inner
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl<V, S: Clone> RevocationCheck<V, S> {
    /// The store, wrapped so that what it revokes is refused by this check (and its
    /// clones) **at once**, without waiting for the local "not revoked" answers to
    /// expire. Give it to the endpoints that revoke on this node
    /// ([`RevocationEndpoint`](crate::token_endpoint::RevocationEndpoint), the token
    /// endpoint's [`with_revocations`](crate::token_endpoint::TokenEndpointBuilder::with_revocations));
    /// other nodes notice within the "not revoked" time to live, or through the
    /// store's push channel if it has one. Take it after the cache is configured: the
    /// `with_*` settings start a new cache.
    pub fn local_revocations(&self) -> LocalRevocations<S> {
        LocalRevocations {
            store: self.store.clone(),
            cache: Arc::clone(&self.cache),
        }
    }
}

/// A [`RevocationStore`] that also marks what it revokes in a [`RevocationCheck`]'s
/// local cache; see [`RevocationCheck::local_revocations`].
#[derive(Clone)]
pub struct LocalRevocations<S> {
    store: S,
    cache: Arc<JtiCache>,
}

impl<S> fmt::Debug for LocalRevocations<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRevocations")
            .field("store", &std::any::type_name::<S>())
            .finish_non_exhaustive()
    }
}

impl<S: RevocationStore> RevocationStore for LocalRevocations<S> {
    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            // Marked here even if the store failed: refusing is the safe side.
            let stored = self.store.revoke_jti(jti, until).await;
            self.cache.insert(Kind::Jti, jti, true, false);
            stored
        })
    }

    fn is_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.store.is_revoked(jti)
    }

    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let stored = self.store.revoke_session(sid, until).await;
            self.cache.insert(Kind::Sid, sid, true, false);
            stored
        })
    }

    fn is_session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.store.is_session_revoked(sid)
    }

    fn feed(&self) -> Option<RevocationFeed> {
        self.store.feed()
    }
}

/// What the local cache decided about a token.
enum Local {
    Accept,
    Refuse(AuthError),
    /// Ask the store about the token id and/or the session.
    Ask {
        jti: bool,
        sid: bool,
    },
}

fn local<C: HasJti>(cache: &JtiCache, allow_missing_jti: bool, claims: &C) -> Local {
    let mut ask_jti = false;
    match claims.jti() {
        None if !allow_missing_jti => return Local::Refuse(missing_jti()),
        None => {}
        Some(jti) => match cache.get(Kind::Jti, jti) {
            Some(true) => return Local::Refuse(InvalidToken::Revoked.into()),
            Some(false) => {}
            None => ask_jti = true,
        },
    }
    let mut ask_sid = false;
    if let Some(sid) = claims.sid() {
        match cache.get(Kind::Sid, sid) {
            Some(true) => return Local::Refuse(InvalidToken::Revoked.into()),
            Some(false) => {}
            None => ask_sid = true,
        }
    }
    if ask_jti || ask_sid {
        Local::Ask {
            jti: ask_jti,
            sid: ask_sid,
        }
    } else {
        Local::Accept
    }
}

impl<V, S> TokenValidator for RevocationCheck<V, S>
where
    V: TokenValidator,
    V::Claims: HasJti,
    S: RevocationStore + Clone + 'static,
{
    type Claims = V::Claims;
    type Future = BoxedValidation<V::Claims>;

    /// Accepts at once only what the inner validator accepted at once.
    fn accepts_only_b64token(&self, internal: super::sealed::Internal) -> bool {
        self.inner.accepts_only_b64token(internal)
    }

    fn validate(&self, token: &str) -> Validation<V::Claims, Self::Future> {
        match self.inner.validate(token) {
            Validation::Ready(Ok(claims)) => {
                match local(&self.cache, self.allow_missing_jti, &claims) {
                    Local::Accept => Validation::Ready(Ok(claims)),
                    Local::Refuse(error) => Validation::Ready(Err(error)),
                    Local::Ask { jti, sid } => Validation::Pending(Box::pin(ask_store(
                        claims,
                        self.store.clone(),
                        Arc::clone(&self.cache),
                        jti,
                        sid,
                    ))),
                }
            }
            Validation::Ready(Err(e)) => Validation::Ready(Err(e)),
            Validation::Pending(future) => {
                let store = self.store.clone();
                let cache = Arc::clone(&self.cache);
                let allow_missing_jti = self.allow_missing_jti;
                Validation::Pending(Box::pin(async move {
                    let claims = future.await?;
                    match local(&cache, allow_missing_jti, &claims) {
                        Local::Accept => Ok(claims),
                        Local::Refuse(error) => Err(error),
                        Local::Ask { jti, sid } => ask_store(claims, store, cache, jti, sid).await,
                    }
                }))
            }
        }
    }
}

fn missing_jti() -> AuthError {
    InvalidToken::MissingClaim("jti").into()
}

async fn ask_store<C: HasJti, S: RevocationStore>(
    claims: C,
    store: S,
    cache: Arc<JtiCache>,
    ask_jti: bool,
    ask_sid: bool,
) -> Result<C, AuthError> {
    // Read before asking: the answers may be trusted for long only if the push channel
    // was live all along, so no revocation between the read and now was missed.
    let before = cache.feed_state();
    let pushed =
        |cache: &JtiCache| before.is_some_and(|s| s & 1 == 1 && cache.feed_state() == Some(s));
    if ask_jti {
        let jti = claims.jti().unwrap_or_default();
        let revoked = store
            .is_revoked(jti)
            .await
            .map_err(|_| AuthError::Unavailable)?;
        cache.insert(Kind::Jti, jti, revoked, pushed(&cache));
        if revoked {
            return Err(InvalidToken::Revoked.into());
        }
    }
    if ask_sid {
        let sid = claims.sid().unwrap_or_default();
        let revoked = store
            .is_session_revoked(sid)
            .await
            .map_err(|_| AuthError::Unavailable)?;
        cache.insert(Kind::Sid, sid, revoked, pushed(&cache));
        if revoked {
            return Err(InvalidToken::Revoked.into());
        }
    }
    Ok(claims)
}
