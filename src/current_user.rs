//! [`CurrentUserLayer`]: FastAPI's `get_current_active_user` as a Tower layer (feature
//! `token-endpoint`, where [`UserStore`] lives).
//!
//! Put it inside a [`BearerAuthLayer`]: it reads the claims the
//! bearer layer inserted, looks the token's subject up in the same [`UserStore`] the
//! token endpoint uses, and puts a [`CurrentUser`] into the request extensions. It
//! refuses, with the bearer layer's own answer (`401`, `WWW-Authenticate: Bearer
//! error="invalid_token"` and the JSON body; same realm and rejection handler when
//! built with [`like`](CurrentUserLayer::like)):
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
//! use tower_bearer::current_user::{CurrentUser, CurrentUserLayer};
//! use tower_bearer::token_endpoint::{hash_password, InMemoryUserStore, TokenIssuer, User};
//! use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};
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
//!     .layer(CurrentUserLayer::<_, Claims>::new(users).like(&bearer))
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
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::bearer::body::AuthBody;
use crate::bearer::challenge::Challenge;
use crate::bearer::rejection::{DefaultRejection, OnRejection};
use crate::bearer::{reject, Anonymous, BearerAuthLayer};
use crate::claims::{Claims, SubjectClaims};
use crate::error::{AuthError, ConfigError, InvalidToken};
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

/// Applies [`CurrentUserService`]. `U` is the user store, `C` the claims type the bearer
/// layer inserts.
#[must_use]
pub struct CurrentUserLayer<U: UserStore, C = Claims, R = DefaultRejection> {
    shared: Arc<Shared<U>>,
    challenge: Arc<Challenge>,
    on_rejection: R,
    claims: PhantomData<fn() -> C>,
}

struct Shared<U: UserStore> {
    store: U,
    cache: UserCache<U::Profile>,
}

impl<U: UserStore, C, R: Clone> Clone for CurrentUserLayer<U, C, R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            challenge: Arc::clone(&self.challenge),
            on_rejection: self.on_rejection.clone(),
            claims: PhantomData,
        }
    }
}

impl<U: UserStore, C, R> fmt::Debug for CurrentUserLayer<U, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentUserLayer")
            .field("store", &std::any::type_name::<U>())
            .field("cache_ttl", &self.shared.cache.ttl)
            .field("cache_capacity", &self.shared.cache.capacity)
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl<U: UserStore, C> CurrentUserLayer<U, C> {
    /// Resolves token subjects through `store`, with the default cache
    /// ([`DEFAULT_USER_CACHE_TTL`], [`DEFAULT_USER_CACHE_CAPACITY`]) and the default
    /// rejection without a realm; see [`like`](Self::like).
    pub fn new(store: U) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                cache: UserCache::new(DEFAULT_USER_CACHE_TTL, DEFAULT_USER_CACHE_CAPACITY),
            }),
            challenge: Arc::new(Challenge::default()),
            on_rejection: DefaultRejection,
            claims: PhantomData,
        }
    }
}

impl<U: UserStore, C, R> CurrentUserLayer<U, C, R> {
    /// Refuses as `bearer` does: its realm and its rejection handler.
    pub fn like<V, R2: OnRejection>(
        self,
        bearer: &BearerAuthLayer<V, R2>,
    ) -> CurrentUserLayer<U, C, R2> {
        CurrentUserLayer {
            shared: self.shared,
            challenge: Arc::new(bearer.challenge().clone()),
            on_rejection: bearer.rejection().clone(),
            claims: PhantomData,
        }
    }

    /// Sets the challenge's `realm` (use the bearer layer's, or [`like`](Self::like)).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRealm`].
    pub fn with_realm(mut self, realm: &str) -> Result<Self, ConfigError> {
        self.challenge = Arc::new(Challenge::with_realm(realm)?);
        Ok(self)
    }

    /// Replaces the rejection response.
    pub fn on_rejection<R2: OnRejection>(self, on_rejection: R2) -> CurrentUserLayer<U, C, R2> {
        CurrentUserLayer {
            shared: self.shared,
            challenge: self.challenge,
            on_rejection,
            claims: PhantomData,
        }
    }

    /// How long a lookup is trusted (default [`DEFAULT_USER_CACHE_TTL`]);
    /// `Duration::ZERO` asks the store on every request.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] above [`MAX_USER_CACHE_TTL`]: a disabled user must
    /// be refused within the revocation bound.
    pub fn with_cache_ttl(self, ttl: Duration) -> Result<Self, ConfigError> {
        if ttl > MAX_USER_CACHE_TTL {
            return Err(ConfigError::InvalidValue("user cache ttl"));
        }
        let capacity = self.shared.cache.capacity;
        self.with_cache(ttl, capacity)
    }

    /// The most subjects kept (default [`DEFAULT_USER_CACHE_CAPACITY`]); past it,
    /// expired entries are dropped, and if that is not enough, all of them.
    ///
    /// # Errors
    ///
    /// Never today; kept fallible beside [`with_cache_ttl`](Self::with_cache_ttl).
    pub fn with_cache_capacity(self, capacity: usize) -> Result<Self, ConfigError> {
        let ttl = self.shared.cache.ttl;
        self.with_cache(ttl, capacity)
    }

    fn with_cache(self, ttl: Duration, capacity: usize) -> Result<Self, ConfigError> {
        let Ok(shared) = Arc::try_unwrap(self.shared) else {
            // Shared with services already built: configure before layering.
            return Err(ConfigError::InvalidValue(
                "user cache (layer already in use)",
            ));
        };
        Ok(Self {
            shared: Arc::new(Shared {
                store: shared.store,
                cache: UserCache::new(ttl, capacity),
            }),
            challenge: self.challenge,
            on_rejection: self.on_rejection,
            claims: PhantomData,
        })
    }

    /// The user store.
    pub fn store(&self) -> &U {
        &self.shared.store
    }
}

impl<S, U: UserStore, C, R: Clone> Layer<S> for CurrentUserLayer<U, C, R> {
    type Service = CurrentUserService<S, U, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        CurrentUserService {
            inner,
            layer: self.clone(),
        }
    }
}

/// Middleware resolving the token's subject to a [`CurrentUser`]; see
/// [`CurrentUserLayer`].
pub struct CurrentUserService<S, U: UserStore, C = Claims, R = DefaultRejection> {
    inner: S,
    layer: CurrentUserLayer<U, C, R>,
}

impl<S: Clone, U: UserStore, C, R: Clone> Clone for CurrentUserService<S, U, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, U: UserStore, C, R> fmt::Debug for CurrentUserService<S, U, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentUserService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

/// What the claims and the cache decided before any store call.
enum Decision<P> {
    User(CurrentUser<P>),
    Refuse(AuthError),
    Lookup(String),
}

fn refuse(text: &'static str) -> AuthError {
    AuthError::InvalidToken(InvalidToken::Other(Cow::Borrowed(text)))
}

impl<S, U, C, R, B, ResBody> Service<Request<B>> for CurrentUserService<S, U, C, R>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    U: UserStore,
    U::Profile: Send + Sync + 'static,
    C: SubjectClaims + Send + Sync + 'static,
    R: OnRejection,
    B: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let decision = match request.extensions().get::<C>() {
            Some(claims) if claims.is_client_token() => Decision::Refuse(refuse(CLIENT_TOKEN)),
            Some(claims) => match claims.subject() {
                None => Decision::Refuse(InvalidToken::MissingClaim("sub").into()),
                Some(subject) => match self.layer.shared.cache.get(subject) {
                    Some(Some(user)) => Decision::User(user),
                    Some(None) => Decision::Refuse(refuse(UNKNOWN_USER)),
                    None => Decision::Lookup(subject.to_owned()),
                },
            },
            None => match request.extensions().get::<Anonymous>() {
                Some(anonymous) => {
                    let response = anonymous.reject(AuthError::MissingToken, request.headers());
                    return ResponseFuture::rejected(response);
                }
                None => Decision::Refuse(AuthError::MissingToken),
            },
        };
        match decision {
            Decision::User(user) => {
                request.extensions_mut().insert(user);
                ResponseFuture::inner(self.inner.call(request))
            }
            Decision::Refuse(error) => ResponseFuture::rejected(reject(
                &self.layer.on_rejection,
                error,
                request.headers(),
                &self.layer.challenge,
            )),
            Decision::Lookup(subject) => {
                // Drive the service that was polled ready; leave a clone in its place.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let layer = self.layer.clone();
                ResponseFuture::lookup(Box::pin(async move {
                    let found = layer.shared.store.find_user(&subject).await;
                    let user = match found {
                        Ok(user) => {
                            let user = user
                                .filter(|user| !user.is_disabled())
                                .map(CurrentUser::from_user);
                            layer.shared.cache.insert(&subject, user.clone());
                            user
                        }
                        Err(_) => {
                            let response = reject(
                                &layer.on_rejection,
                                AuthError::Unavailable,
                                request.headers(),
                                &layer.challenge,
                            );
                            return Ok(response.map(AuthBody::rejection));
                        }
                    };
                    match user {
                        Some(user) => {
                            request.extensions_mut().insert(user);
                            let response = inner.call(request).await?;
                            Ok(response.map(AuthBody::inner))
                        }
                        None => {
                            let response = reject(
                                &layer.on_rejection,
                                refuse(UNKNOWN_USER),
                                request.headers(),
                                &layer.challenge,
                            );
                            Ok(response.map(AuthBody::rejection))
                        }
                    }
                }))
            }
        }
    }
}

type LookupFuture<ResBody, E> =
    Pin<Box<dyn Future<Output = Result<Response<AuthBody<ResBody>>, E>> + Send>>;

pin_project! {
    /// Response future of [`CurrentUserService`]: the inner service's, a ready
    /// rejection, or a store lookup followed by the inner service.
    pub struct ResponseFuture<F, ResBody, E> {
        #[pin]
        kind: Kind<F, ResBody, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, ResBody, E> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<Bytes>> },
        Lookup { future: LookupFuture<ResBody, E> },
    }
}

impl<F, ResBody, E> ResponseFuture<F, ResBody, E> {
    fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    fn rejected(response: Response<Bytes>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    fn lookup(future: LookupFuture<ResBody, E>) -> Self {
        Self {
            kind: Kind::Lookup { future },
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F, ResBody, E>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<AuthBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(AuthBody::inner)))
            }
            KindProj::Rejected { response } => {
                let response = response.take().expect("polled after completion");
                Poll::Ready(Ok(response.map(AuthBody::rejection)))
            }
            KindProj::Lookup { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, ResBody, E> fmt::Debug for ResponseFuture<F, ResBody, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
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

    /// The user [`CurrentUserLayer`](super::CurrentUserLayer) resolved; without one (no
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
