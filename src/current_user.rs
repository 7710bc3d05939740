//! [`UserLookup`]: FastAPI's `get_current_active_user` as a check for a
//! [`GuardLayer`](crate::GuardLayer) (feature `token-endpoint`, where [`UserStore`] lives).
//!
//! Put the guard inside a [`BearerAuthLayer`](crate::BearerAuthLayer): it reads the claims the
//! bearer layer inserted, looks the token's subject up in the same [`UserStore`] the
//! token endpoint uses, and puts a [`CurrentUser`] into the request extensions. It
//! refuses, with the bearer layer's own answer (`401`, `WWW-Authenticate: Bearer
//! error="invalid_token"` and the JSON body; same realm and rejection handler when
//! built with [`like`](crate::GuardLayer::like)):
//!
//! - a subject the store does not know, or a disabled user;
//! - a token without `sub`;
//! - a token that speaks for a client, not a user: one with a `client_id` claim and no
//!   `sub`, or `sub` equal to `client_id` (what the `client_credentials` grant issues,
//!   RFC 9068 §2.2; see [`SubjectClaims::is_client_token`]). A user whose name equals
//!   a client id therefore cannot use tokens issued to that client.
//!
//! A store failure is `503` (never a client's doing). Lookups are cached, bounded
//! ([`DEFAULT_USER_CACHE_CAPACITY`] subjects) and short-lived (at most
//! [`MAX_USER_CACHE_TTL`], the revocation bound): a user disabled in the store is
//! refused everywhere within that time. A cache hit costs a read lock and a hash
//! lookup, with no allocation beyond the extension's `Arc` clone; a miss boxes one
//! store call.
//!
//! ```
//! use bytes::Bytes;
//! use http::{header, Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::current_user::{CurrentUser, UserLookup};
//! use tower_bearer::token_endpoint::{hash_password, InMemoryUserStore, TokenIssuer, User};
//! use tower_bearer::{BearerAuthLayer, Claims, GuardLayer, JwtValidator};
//! use std::sync::Arc;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! const SECRET: &[u8] = b"a-secret-of-at-least-32-bytes!!!";
//! let users = Arc::new(
//!     InMemoryUserStore::new()
//!         .with_user(User::new("johndoe", hash_password("secret")?))
//!         .with_user(User::new("alice", hash_password("secretalice")?).disabled()),
//! );
//! let bearer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET)?).with_realm("api")?;
//! let app = ServiceBuilder::new()
//!     .layer(bearer.clone())
//!     .layer(GuardLayer::new(UserLookup::<_, Claims>::new(users)).like(&bearer))
//!     .service(service_fn(|req: Request<Full<Bytes>>| async move {
//!         let user = req.extensions().get::<CurrentUser>().expect("set by the layer");
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
//!             user.username().to_owned(),
//!         ))))
//!     }));
//!
//! let issuer = TokenIssuer::hs256(SECRET)?;
//! for (name, status) in [("johndoe", StatusCode::OK), ("alice", StatusCode::UNAUTHORIZED)] {
//!     let token = issuer.issue(name, "", serde_json::Map::new())?.token;
//!     let request = Request::get("/me")
//!         .header(header::AUTHORIZATION, format!("Bearer {token}"))
//!         .body(Full::default())?;
//!     let response = app.clone().oneshot(request).await?;
//!     assert_eq!(response.status(), status);
//! }
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use http::{HeaderMap, Request};
use tower_service::Service;

use crate::claims::{Claims, SubjectClaims};
use crate::error::{AuthError, ConfigError, InvalidToken};
use crate::scopes::guard::{claims, RunCheck};
use crate::token_endpoint::{User, UserStore};
use crate::validate::DEFAULT_NOT_REVOKED_TTL;

/// Default time a user lookup is trusted: the revocation check's 500 ms.
pub const DEFAULT_USER_CACHE_TTL: Duration = DEFAULT_NOT_REVOKED_TTL;
/// The longest allowed user cache time to live: 1 s, the bound within which a
/// revocation (or a disabled user) takes effect on every node.
pub const MAX_USER_CACHE_TTL: Duration = Duration::from_secs(1);
/// Default bound on cached subjects.
pub const DEFAULT_USER_CACHE_CAPACITY: usize = 10_000;

const UNKNOWN_USER: &str = "The token subject is no active user";
const CLIENT_TOKEN: &str = "The token was issued to a client, not a user";

/// The user a request's token speaks for: enabled, found in the [`UserStore`]. Put
/// into the request extensions by [`CurrentUser`]'s layer. Cloning is cheap (one
/// `Arc`); the password hash is not kept.
pub struct CurrentUser<P = ()> {
    inner: Arc<UserData<P>>,
}

struct UserData<P> {
    username: String,
    scopes: Vec<String>,
    profile: P,
}

impl<P> Clone for CurrentUser<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<P: fmt::Debug> fmt::Debug for CurrentUser<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentUser")
            .field("username", &self.inner.username)
            .field("scopes", &self.inner.scopes)
            .field("profile", &self.inner.profile)
            .finish()
    }
}

impl<P> CurrentUser<P> {
    fn from_user(user: User<P>) -> Self {
        let username = user.username().to_owned();
        let scopes = user.scopes().to_vec();
        let profile = user.into_profile();
        Self {
            inner: Arc::new(UserData {
                username,
                scopes,
                profile,
            }),
        }
    }

    /// The username (the token's `sub`).
    #[must_use]
    pub fn username(&self) -> &str {
        &self.inner.username
    }

    /// The scopes the user may be granted now (the token's own may be fewer).
    #[must_use]
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// The profile.
    #[must_use]
    pub fn profile(&self) -> &P {
        &self.inner.profile
    }
}

/// The check behind `GuardLayer::new(UserLookup::new(store))`: resolves the token's
/// subject to a [`CurrentUser`] through `U`, the user store; `C` is the claims type the
/// bearer layer inserts. See the [module docs](self).
pub struct UserLookup<U: UserStore, C = Claims> {
    store: U,
    cache: UserCache<U::Profile>,
    claims: PhantomData<fn() -> C>,
}

impl<U: UserStore, C> fmt::Debug for UserLookup<U, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserLookup")
            .field("store", &std::any::type_name::<U>())
            .field("cache_ttl", &self.cache.ttl)
            .field("cache_capacity", &self.cache.capacity)
            .finish_non_exhaustive()
    }
}

impl<U: UserStore, C> UserLookup<U, C> {
    /// Resolves token subjects through `store`, with the default cache
    /// ([`DEFAULT_USER_CACHE_TTL`], [`DEFAULT_USER_CACHE_CAPACITY`]).
    #[must_use]
    pub fn new(store: U) -> Self {
        Self {
            store,
            cache: UserCache::new(DEFAULT_USER_CACHE_TTL, DEFAULT_USER_CACHE_CAPACITY),
            claims: PhantomData,
        }
    }

    /// How long a lookup is trusted (default [`DEFAULT_USER_CACHE_TTL`]);
    /// `Duration::ZERO` asks the store on every request.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] above [`MAX_USER_CACHE_TTL`]: a disabled user must
    /// be refused within the revocation bound.
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        if ttl > MAX_USER_CACHE_TTL {
            return Err(ConfigError::OutOfRange("user cache ttl"));
        }
        self.cache = UserCache::new(ttl, self.cache.capacity);
        Ok(self)
    }

    /// The most subjects kept (default [`DEFAULT_USER_CACHE_CAPACITY`]); past it,
    /// expired entries are dropped, and if that is not enough, all of them.
    ///
    /// # Errors
    ///
    /// Never today; kept fallible beside [`with_cache_ttl`](Self::with_cache_ttl).
    pub fn with_cache_capacity(mut self, capacity: usize) -> Result<Self, ConfigError> {
        self.cache = UserCache::new(self.cache.ttl, capacity);
        Ok(self)
    }

    /// The user store.
    pub fn store(&self) -> &U {
        &self.store
    }
}

fn refuse(text: &'static str) -> AuthError {
    AuthError::InvalidToken(InvalidToken::Other(Cow::Borrowed(text)))
}

type LookupFuture<T, E> =
    Pin<Box<dyn Future<Output = Result<Result<T, (AuthError, HeaderMap)>, E>> + Send>>;

/// A cache hit or a refusal at once; a cache miss waits for the store (one boxed
/// future: the lookup, then the inner service).
impl<S, B, U, C> RunCheck<S, B> for UserLookup<U, C>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    U: UserStore,
    U::Profile: Send + Sync + 'static,
    C: SubjectClaims + Send + Sync + 'static,
    B: Send + 'static,
{
    type Wait = String;
    type Future = LookupFuture<S::Response, S::Error>;

    fn decide(&self, request: &mut Request<B>) -> Result<Option<String>, AuthError> {
        let claims = claims::<C, B>(request)?;
        if claims.is_client_token() {
            return Err(refuse(CLIENT_TOKEN));
        }
        let subject = claims.subject().ok_or(InvalidToken::MissingClaim("sub"))?;
        let user = match self.cache.get(subject) {
            Some(Some(user)) => user,
            Some(None) => return Err(refuse(UNKNOWN_USER)),
            None => return Ok(Some(subject.to_owned())),
        };
        request.extensions_mut().insert(user);
        Ok(None)
    }

    fn wait(this: &Arc<Self>, subject: String, inner: &mut S, request: Request<B>) -> Self::Future {
        // Drive the service that was polled ready; leave a clone in its place.
        let clone = inner.clone();
        let mut inner = std::mem::replace(inner, clone);
        let this = Arc::clone(this);
        Box::pin(async move {
            let mut request = request;
            let user = match this.store.find_user(&subject).await {
                Ok(user) => user
                    .filter(|user| !user.is_disabled())
                    .map(CurrentUser::from_user),
                Err(_) => return Ok(Err((AuthError::Unavailable, take_headers(request)))),
            };
            this.cache.insert(&subject, user.clone());
            match user {
                Some(user) => {
                    request.extensions_mut().insert(user);
                    inner.call(request).await.map(Ok)
                }
                None => Ok(Err((refuse(UNKNOWN_USER), take_headers(request)))),
            }
        })
    }
}

fn take_headers<B>(request: Request<B>) -> HeaderMap {
    request.into_parts().0.headers
}

/// A cached lookup: until when, and the active user (or `None`: unknown or disabled).
type CachedUser<P> = (Instant, Option<CurrentUser<P>>);

/// Subject -> the last lookup, with deadlines.
struct UserCache<P> {
    entries: RwLock<HashMap<Box<str>, CachedUser<P>>>,
    ttl: Duration,
    capacity: usize,
}

impl<P> UserCache<P> {
    fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            ttl,
            capacity,
        }
    }

    /// `Some(answer)` while a lookup is fresh.
    fn get(&self, subject: &str) -> Option<Option<CurrentUser<P>>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let (until, user) = entries.get(subject)?;
        (Instant::now() < *until).then(|| user.clone())
    }

    fn insert(&self, subject: &str, user: Option<CurrentUser<P>>) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(subject) {
            entries.retain(|_, (until, _)| *until > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(subject.into(), (now + self.ttl, user));
    }
}

#[cfg(feature = "axum")]
mod extract {
    use axum_core::extract::FromRequestParts;
    use http::request::Parts;

    use super::CurrentUser;
    use crate::axum::AuthRejection;
    use crate::error::AuthError;

    /// The user a [`UserLookup`](super::UserLookup) guard resolved; without one (no
    /// layer in front) the request is refused as the bearer layer would (`401`).
    impl<S, P> FromRequestParts<S> for CurrentUser<P>
    where
        S: Send + Sync,
        P: Send + Sync + 'static,
    {
        type Rejection = AuthRejection;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AuthRejection> {
            match parts.extensions.get::<Self>() {
                Some(user) => Ok(user.clone()),
                None => Err(AuthRejection::new(AuthError::MissingToken, parts)),
            }
        }
    }
}
