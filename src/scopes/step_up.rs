//! RFC 9470 step-up authentication, the [`acr`](crate::Policy::acr) and
//! [`max_age`](crate::Policy::max_age) rules of a [`Policy`](crate::Policy). A route that needs a stronger or
//! more recent login answers `401`, `error="insufficient_user_authentication"` with
//! `acr_values` and/or `max_age` in the challenge, and the client sends the user back
//! to the authorization server with those parameters.
//!
//! Run the policy with a [`GuardLayer`](crate::GuardLayer) inside a
//! [`BearerAuthLayer`](crate::BearerAuthLayer), like
//! [`RequireScopes`](crate::RequireScopes). It reads the token's `acr` and
//! `auth_time` through [`AuthenticationClaims`]; the default [`Claims`]
//! carry neither, so use [`StepUpClaims`] (the default claims plus those two), a
//! `serde_json::Value`, or your own type.
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::{GuardLayer, Policy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = ServiceBuilder::new()
//!     .layer(GuardLayer::new(Policy::<serde_json::Value>::new().acr(["phr", "phrh"])?.max_age(Duration::from_secs(300))))
//!     .service(service_fn(|_req: Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default()))
//!     }));
//!
//! // Claims as a bearer layer would insert them: a password-only login an hour ago.
//! let now = jsonwebtoken::get_current_timestamp() as i64;
//! let mut request = Request::new(Full::default());
//! request.extensions_mut().insert(serde_json::json!({"sub": "alice", "acr": "pwd", "auth_time": now - 3600}));
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     r#"Bearer error="insufficient_user_authentication", error_description="A different or more recent user authentication is required", acr_values="phr phrh", max_age="300""#,
//! );
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::claims::{Claims, HasJti, ScopeClaims};
use crate::error::{AuthError, StepUpRequirement};
use crate::validate::jwt::json::optional_numeric_date;

/// Claims that tell how and when the user authenticated (OpenID Connect Core §2:
/// `acr`, `auth_time`; RFC 9068 §2.2.1 carries them into access tokens).
pub trait AuthenticationClaims {
    /// The authentication context class reference, if the token has one.
    fn acr(&self) -> Option<&str>;
    /// When the user authenticated, seconds since the epoch, if the token says.
    fn auth_time(&self) -> Option<i64>;
}

impl AuthenticationClaims for serde_json::Value {
    fn acr(&self) -> Option<&str> {
        self.get("acr").and_then(serde_json::Value::as_str)
    }

    fn auth_time(&self) -> Option<i64> {
        self.get("auth_time").and_then(serde_json::Value::as_i64)
    }
}

/// The default [`Claims`] plus `acr` and `auth_time`: the claims type for APIs with
/// step-up rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUpClaims {
    /// The registered claims and `scope`.
    #[serde(flatten)]
    pub claims: Claims,
    /// Authentication context class reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Time of the user's authentication, seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "optional_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_time: Option<i64>,
}

impl AuthenticationClaims for StepUpClaims {
    fn acr(&self) -> Option<&str> {
        self.acr.as_deref()
    }

    fn auth_time(&self) -> Option<i64> {
        self.auth_time
    }
}

impl ScopeClaims for StepUpClaims {
    fn has_scope(&self, scope: &str) -> bool {
        self.claims.has_scope(scope)
    }
}

impl HasJti for StepUpClaims {
    fn jti(&self) -> Option<&str> {
        self.claims.jti()
    }

    fn expires_at(&self) -> Option<i64> {
        self.claims.expires_at()
    }
}

/// Checks `claims` against `requirement` at the current time, allowing `leeway`
/// seconds of clock skew on an `auth_time` in the future.
///
/// The per-handler form of [`Policy::acr`](crate::Policy::acr) and
/// [`Policy::max_age`](crate::Policy::max_age).
///
/// # Errors
///
/// [`AuthError::InsufficientUserAuthentication`] with the requirement.
pub fn check_step_up<C: AuthenticationClaims + ?Sized>(
    claims: &C,
    requirement: &StepUpRequirement,
    leeway: Duration,
) -> Result<(), AuthError> {
    let leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
    let now = crate::store::now();
    if requirement.accepts_acr(claims.acr())
        && requirement.accepts_auth_time(claims.auth_time(), now, leeway)
    {
        Ok(())
    } else {
        Err(AuthError::InsufficientUserAuthentication(
            requirement.clone(),
        ))
    }
}

/// Default tolerance for an `auth_time` slightly in the future (clock skew).
pub const DEFAULT_AUTH_TIME_LEEWAY: Duration = Duration::from_secs(60);
