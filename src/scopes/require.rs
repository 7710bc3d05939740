//! [`RequireScopes`]: `403 insufficient_scope` unless the token grants every listed
//! scope (RFC 6750 §3.1), or one of them ([`RequireScopes::any_of`]). For rules on
//! other claims see [`Policy`](crate::Policy).
//!
//! Run it with a [`GuardLayer`](crate::GuardLayer) inside a
//! [`BearerAuthLayer`](crate::BearerAuthLayer) (for axum, per route with
//! `route_layer`), or build both at once with
//! [`BearerAuthLayer::require_scopes`](crate::BearerAuthLayer::require_scopes). It
//! reads the claims the bearer layer inserted; a request with none (the bearer layer is
//! missing or optional and no token came) is `401`.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::{Claims, GuardLayer, RequireScopes, Scope};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = ServiceBuilder::new()
//!     .layer(GuardLayer::new(RequireScopes::<Claims>::new(["items:write"])))
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
use std::marker::PhantomData;

use http::Request;

use crate::claims::{Claims, ScopeClaims};
use crate::error::{AuthError, ConfigError, RequiredScopes};
use crate::scopes::guard::{claims, Check};

/// Checks that `claims` grant every scope in `required`.
///
/// The per-handler form of [`RequireScopes`].
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

/// A [`Check`]: the claims (of type `C`, as the bearer layer inserts them) grant all the
/// listed scopes, or one of them. Run it with a [`GuardLayer`](crate::GuardLayer).
pub struct RequireScopes<C = Claims> {
    required: RequiredScopes,
    any: bool,
    claims: PhantomData<fn() -> C>,
}

impl<C> Clone for RequireScopes<C> {
    fn clone(&self) -> Self {
        Self {
            required: self.required.clone(),
            any: self.any,
            claims: PhantomData,
        }
    }
}

impl<C> fmt::Debug for RequireScopes<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopes")
            .field("required", &self.required.as_str())
            .field("any", &self.any)
            .field("claims", &std::any::type_name::<C>())
            .finish()
    }
}

impl<C> RequireScopes<C> {
    /// Requires every scope in `scopes`.
    ///
    /// # Panics
    ///
    /// If a scope is not an RFC 6749 scope-token or none is given; see
    /// [`try_new`](Self::try_new) for the fallible form.
    #[must_use]
    pub fn new<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        match Self::try_new(scopes) {
            Ok(check) => check,
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
            claims: PhantomData,
        })
    }

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
        let mut check = Self::try_new(scopes)?;
        check.any = true;
        Ok(check)
    }

    /// The required scopes.
    pub fn required(&self) -> &RequiredScopes {
        &self.required
    }
}

impl<C: ScopeClaims + Send + Sync + 'static> Check for RequireScopes<C> {
    #[inline]
    fn check_request<B>(&self, request: &Request<B>) -> Result<(), AuthError> {
        let claims = claims::<C, B>(request)?;
        if self.any {
            check_any_scope(claims, &self.required)
        } else {
            check_scopes(claims, &self.required)
        }
    }
}
