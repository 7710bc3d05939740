//! [`RequireScopesLayer`]: `403 insufficient_scope` unless the token grants every
//! listed scope (RFC 6750 §3.1), or one of them ([`RequireScopesLayer::any_of`]). For
//! rules on other claims see [`Policy`](crate::Policy).
//!
//! Put it inside a [`BearerAuthLayer`](crate::BearerAuthLayer) (for axum, per route
//! with `route_layer`). It reads the claims the bearer layer inserted; a request with
//! none (the bearer layer is missing or optional and no token came) is `401`.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::{Claims, RequireScopesLayer, Scope};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = ServiceBuilder::new()
//!     .layer(RequireScopesLayer::<Claims>::new(["items:write"]))
//!     .service(service_fn(|_req: Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default()))
//!     }));
//!
//! let mut request = Request::new(Full::default());
//! request.extensions_mut().insert(Claims {
//!     sub: Some("alice".into()), exp: i64::MAX, iat: None, nbf: None, iss: None,
//!     aud: None, jti: None, scope: Some(Scope::new("items:read")), sid: None, client_id: None,
//! });
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     r#"Bearer error="insufficient_scope", error_description="The token lacks the scopes this resource requires", scope="items:write""#,
//! );
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::bearer::body::AuthBody;
use crate::bearer::challenge::Challenge;
use crate::bearer::rejection::{DefaultRejection, OnRejection};
use crate::bearer::{reject, Anonymous};
use crate::claims::{Claims, ScopeClaims};
use crate::error::{AuthError, ConfigError, RequiredScopes};

/// Checks that `claims` grant every scope in `required`.
///
/// The per-handler form of [`RequireScopesLayer`].
///
/// # Errors
///
/// [`AuthError::InsufficientScope`] naming all the required scopes.
pub fn check_scopes<C: ScopeClaims + ?Sized>(
    claims: &C,
    required: &RequiredScopes,
) -> Result<(), AuthError> {
    if required.iter().all(|scope| claims.has_scope(scope)) {
        Ok(())
    } else {
        Err(AuthError::InsufficientScope(required.clone()))
    }
}

/// Checks that `claims` grant at least one scope in `required`.
///
/// # Errors
///
/// [`AuthError::InsufficientScope`] naming all the alternatives.
pub fn check_any_scope<C: ScopeClaims + ?Sized>(
    claims: &C,
    required: &RequiredScopes,
) -> Result<(), AuthError> {
    if required.iter().any(|scope| claims.has_scope(scope)) {
        Ok(())
    } else {
        Err(AuthError::InsufficientScope(required.clone()))
    }
}

/// Applies [`RequireScopes`]. `C` is the claims type the bearer layer inserts.
#[must_use]
pub struct RequireScopesLayer<C = Claims, R = DefaultRejection> {
    required: RequiredScopes,
    any: bool,
    challenge: Arc<Challenge>,
    on_rejection: R,
    claims: PhantomData<fn() -> C>,
}

impl<C, R: Clone> Clone for RequireScopesLayer<C, R> {
    fn clone(&self) -> Self {
        Self {
            required: self.required.clone(),
            any: self.any,
            challenge: Arc::clone(&self.challenge),
            on_rejection: self.on_rejection.clone(),
            claims: PhantomData,
        }
    }
}

impl<C, R: fmt::Debug> fmt::Debug for RequireScopesLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopesLayer")
            .field("required", &self.required.as_str())
            .field("any", &self.any)
            .field("challenge", &self.challenge)
            .field("on_rejection", &self.on_rejection)
            .field("claims", &std::any::type_name::<C>())
            .finish()
    }
}

impl<C> RequireScopesLayer<C> {
    /// Requires every scope in `scopes`.
    ///
    /// # Panics
    ///
    /// If a scope is not an RFC 6749 scope-token or none is given; see
    /// [`try_new`](Self::try_new) for the fallible form.
    pub fn new<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        match Self::try_new(scopes) {
            Ok(layer) => layer,
            Err(error) => panic!("invalid scope requirement: {error}"),
        }
    }

    /// Requires every scope in `scopes`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScope`] or [`ConfigError::NoScopes`].
    pub fn try_new<I, S>(scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(Self {
            required: RequiredScopes::new(scopes)?,
            any: false,
            challenge: Arc::new(Challenge::default()),
            on_rejection: DefaultRejection,
            claims: PhantomData,
        })
    }
}

impl<C> RequireScopesLayer<C> {
    /// Requires at least one scope in `scopes` (a refusal's challenge lists them all
    /// as `scope="..."`, the alternatives).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScope`] or [`ConfigError::NoScopes`].
    pub fn any_of<I, S>(scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut layer = Self::try_new(scopes)?;
        layer.any = true;
        Ok(layer)
    }
}

impl<C, R> RequireScopesLayer<C, R> {
    /// Sets the challenge's `realm` (use the same as the bearer layer's, or build this
    /// layer with [`BearerAuthLayer::require_scopes`](crate::BearerAuthLayer::require_scopes),
    /// which copies it).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRealm`].
    pub fn with_realm(mut self, realm: &str) -> Result<Self, ConfigError> {
        self.challenge = Arc::new(Challenge::with_realm(realm)?);
        Ok(self)
    }

    /// Answers with `challenge` (the bearer layer's realm and parameters).
    pub(crate) fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Arc::new(challenge);
        self
    }

    /// Replaces the rejection response.
    pub fn on_rejection<R2: OnRejection>(self, on_rejection: R2) -> RequireScopesLayer<C, R2> {
        RequireScopesLayer {
            required: self.required,
            any: self.any,
            challenge: self.challenge,
            on_rejection,
            claims: PhantomData,
        }
    }

    /// The required scopes.
    pub fn required(&self) -> &RequiredScopes {
        &self.required
    }
}

impl<S, C, R: Clone> Layer<S> for RequireScopesLayer<C, R> {
    type Service = RequireScopes<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopes {
            inner,
            layer: self.clone(),
        }
    }
}

/// Middleware answering `403 insufficient_scope` when the claims lack a scope.
pub struct RequireScopes<S, C = Claims, R = DefaultRejection> {
    inner: S,
    layer: RequireScopesLayer<C, R>,
}

impl<S: Clone, C, R: Clone> Clone for RequireScopes<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, C, R: fmt::Debug> fmt::Debug for RequireScopes<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopes")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, C, R> RequireScopes<S, C, R> {
    inner_service_accessors!();
}

impl<S, C, R, B, ResBody> Service<Request<B>> for RequireScopes<S, C, R>
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
        let outcome = match request.extensions().get::<C>() {
            Some(claims) if self.layer.any => check_any_scope(claims, &self.layer.required),
            Some(claims) => check_scopes(claims, &self.layer.required),
            // An anonymous request from an optional bearer layer: refuse it with that
            // layer's own answer (its realm and rejection handler).
            None => match request.extensions().get::<Anonymous>() {
                Some(anonymous) => {
                    let response = anonymous.reject(AuthError::MissingToken, request.headers());
                    return ResponseFuture::rejected(response);
                }
                None => Err(AuthError::MissingToken),
            },
        };
        match outcome {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(error) => ResponseFuture::rejected(reject(
                &self.layer.on_rejection,
                error,
                request.headers(),
                &self.layer.challenge,
            )),
        }
    }
}

pin_project! {
    /// Response future of [`RequireScopes`]: the inner service's, or a ready rejection.
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<Bytes>> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn rejected(response: Response<Bytes>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
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
        }
    }
}
