//! [`PathScopesLayer`]: scopes per request path, for routers you cannot wrap route by
//! route, such as a generated tonic service (`/package.Service/Method`).
//!
//! Requests to a listed path need every listed scope (`403 insufficient_scope`, or
//! gRPC status 7 for gRPC calls), or satisfy a whole [`Policy`] (any-of scopes, roles,
//! tenants; [`with_path_policy`](PathScopesLayer::with_path_policy)); other paths pass
//! untouched. Paths are compared exactly. Put it inside a
//! [`BearerAuthLayer`](crate::BearerAuthLayer).
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::{Claims, PathScopesLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = ServiceBuilder::new()
//!     .layer(PathScopesLayer::<Claims>::new().with_path("/demo.Greeter/Admin", ["admin"])?)
//!     .service(service_fn(|_req: Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(()))
//!     }));
//!
//! let claims: Claims = serde_json::from_value(serde_json::json!({ "exp": 0, "scope": "read" }))?;
//! let mut request = Request::post("/demo.Greeter/Admin").body(())?;
//! request.extensions_mut().insert(claims.clone());
//! assert_eq!(service.clone().oneshot(request).await?.status(), StatusCode::FORBIDDEN);
//!
//! let mut request = Request::post("/demo.Greeter/SayHello").body(())?;
//! request.extensions_mut().insert(claims);
//! assert_eq!(service.oneshot(request).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::bearer::{reject, Anonymous};
use crate::body::AuthBody;
use crate::challenge::Challenge;
use crate::claims::{Claims, ScopeClaims};
use crate::error::{AuthError, ConfigError, RequiredScopes};
use crate::policy::Policy;
use crate::rejection::{DefaultRejection, OnRejection};
use crate::scope::{check_scopes, ResponseFuture};

struct Settings<C> {
    paths: Vec<(Box<str>, Requirement<C>)>,
    challenge: Challenge,
}

impl<C> Clone for Settings<C> {
    fn clone(&self) -> Self {
        Self {
            paths: self.paths.clone(),
            challenge: self.challenge.clone(),
        }
    }
}

impl<C> Default for Settings<C> {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            challenge: Challenge::default(),
        }
    }
}

/// What a listed path needs.
enum Requirement<C> {
    Scopes(RequiredScopes),
    Policy(Policy<C>),
}

impl<C> Clone for Requirement<C> {
    fn clone(&self) -> Self {
        match self {
            Self::Scopes(scopes) => Self::Scopes(scopes.clone()),
            Self::Policy(policy) => Self::Policy(policy.clone()),
        }
    }
}

impl<C> fmt::Debug for Requirement<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scopes(scopes) => fmt::Debug::fmt(scopes.as_str(), f),
            Self::Policy(policy) => fmt::Debug::fmt(policy, f),
        }
    }
}

/// Applies [`PathScopes`]. `C` is the claims type the bearer layer inserts.
#[must_use]
pub struct PathScopesLayer<C = Claims, R = DefaultRejection> {
    settings: Arc<Settings<C>>,
    on_rejection: R,
    claims: PhantomData<fn() -> C>,
}

impl<C, R: Clone> Clone for PathScopesLayer<C, R> {
    fn clone(&self) -> Self {
        Self {
            settings: Arc::clone(&self.settings),
            on_rejection: self.on_rejection.clone(),
            claims: PhantomData,
        }
    }
}

impl<C, R: fmt::Debug> fmt::Debug for PathScopesLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<_> = self
            .settings
            .paths
            .iter()
            .map(|(p, requirement)| (&**p, requirement))
            .collect();
        f.debug_struct("PathScopesLayer")
            .field("paths", &paths)
            .field("challenge", &self.settings.challenge)
            .field("on_rejection", &self.on_rejection)
            .field("claims", &std::any::type_name::<C>())
            .finish()
    }
}

impl<C> Default for PathScopesLayer<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> PathScopesLayer<C> {
    /// No path needs scopes yet; add them with [`with_path`](Self::with_path).
    pub fn new() -> Self {
        Self {
            settings: Arc::default(),
            on_rejection: DefaultRejection,
            claims: PhantomData,
        }
    }
}

impl<C, R> PathScopesLayer<C, R> {
    /// Requests to `path` (exactly) need every scope in `scopes`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] if `path` does not start with `/` or is already
    /// listed; [`ConfigError::InvalidScope`] or [`ConfigError::NoScopes`].
    pub fn with_path<I, S>(self, path: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = RequiredScopes::new(scopes)?;
        self.push(path, Requirement::Scopes(scopes))
    }

    /// Requests to `path` (exactly) must satisfy `policy`: scope refusals are
    /// `403 insufficient_scope`, other refusals `403 forbidden` (gRPC status 7 for
    /// both).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] if `path` does not start with `/` or is already
    /// listed.
    pub fn with_path_policy(self, path: &str, policy: Policy<C>) -> Result<Self, ConfigError> {
        self.push(path, Requirement::Policy(policy))
    }

    fn push(mut self, path: &str, requirement: Requirement<C>) -> Result<Self, ConfigError> {
        let settings = Arc::make_mut(&mut self.settings);
        if !path.starts_with('/') || settings.paths.iter().any(|(p, _)| **p == *path) {
            return Err(ConfigError::InvalidValue("path"));
        }
        settings.paths.push((path.into(), requirement));
        Ok(self)
    }

    /// Sets the challenge's `realm` (use the same as the bearer layer's).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRealm`].
    pub fn with_realm(mut self, realm: &str) -> Result<Self, ConfigError> {
        Arc::make_mut(&mut self.settings).challenge = Challenge::with_realm(realm)?;
        Ok(self)
    }

    /// Replaces the rejection response.
    pub fn on_rejection<R2: OnRejection>(self, on_rejection: R2) -> PathScopesLayer<C, R2> {
        PathScopesLayer {
            settings: self.settings,
            on_rejection,
            claims: PhantomData,
        }
    }
}

impl<S, C, R: Clone> Layer<S> for PathScopesLayer<C, R> {
    type Service = PathScopes<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        PathScopes {
            inner,
            layer: self.clone(),
        }
    }
}

/// Middleware answering `403 insufficient_scope` when a listed path's scopes are not
/// granted. Built by [`PathScopesLayer`].
pub struct PathScopes<S, C = Claims, R = DefaultRejection> {
    inner: S,
    layer: PathScopesLayer<C, R>,
}

impl<S: Clone, C, R: Clone> Clone for PathScopes<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, C, R: fmt::Debug> fmt::Debug for PathScopes<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathScopes")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, C, R> PathScopes<S, C, R> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the middleware, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, C, R, B, ResBody> Service<Request<B>> for PathScopes<S, C, R>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    C: ScopeClaims + Send + Sync + 'static,
    R: OnRejection,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let settings = &*self.layer.settings;
        let path = request.uri().path();
        let outcome = match settings.paths.iter().find(|(p, _)| **p == *path) {
            None => Ok(()),
            Some((_, required)) => match request.extensions().get::<C>() {
                Some(claims) => match required {
                    Requirement::Scopes(scopes) => check_scopes(claims, scopes),
                    Requirement::Policy(policy) => policy.check(claims),
                },
                // An anonymous request from an optional bearer layer: refuse it with that
                // layer's own answer (its realm and rejection handler).
                None => match request.extensions().get::<Anonymous>() {
                    Some(anonymous) => {
                        let response = anonymous.reject(AuthError::MissingToken, request.headers());
                        return ResponseFuture::rejected(response);
                    }
                    None => Err(AuthError::MissingToken),
                },
            },
        };
        match outcome {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(error) => ResponseFuture::rejected(reject(
                &self.layer.on_rejection,
                error,
                request.headers(),
                &settings.challenge,
            )),
        }
    }
}
