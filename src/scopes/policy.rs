//! [`Policy`]: authorization rules on a verified token's claims, a [`Check`] to run
//! per route with a [`GuardLayer`](crate::GuardLayer)
//! ([`PathScopes::with_path_policy`](crate::PathScopes::with_path_policy) applies one
//! per path or gRPC method).
//!
//! A policy is a list of rules, all of which must hold:
//! - [`all_scopes`](Policy::all_scopes): every listed scope is granted;
//! - [`any_scope`](Policy::any_scope): at least one listed scope is granted;
//! - [`claim_equals`](Policy::claim_equals): a claim is this string (a tenant, `azp`);
//! - [`claim_contains`](Policy::claim_contains): a claim is this string or an array
//!   holding it (`roles`, `groups`);
//! - [`require`](Policy::require): a predicate of yours on the claims;
//! - [`acr`](Policy::acr), [`max_age`](Policy::max_age): RFC 9470 step-up, one rule
//!   on the token's `acr` and `auth_time` (see [`step_up`](crate::scopes::step_up)).
//!
//! Rules are checked in order; the first that fails decides the answer:
//!
//! | failed rule | status | `WWW-Authenticate` | body `error` |
//! |---|---|---|---|
//! | a scope rule | 403 | `Bearer error="insufficient_scope", ..., scope="..."` | `insufficient_scope` |
//! | the step-up rule | 401 | `Bearer error="insufficient_user_authentication", ..., acr_values="...", max_age="..."` | `insufficient_user_authentication` |
//! | any other rule | 403 | `Bearer realm="..."` (no `error`) | `forbidden` |
//!
//! Only scope refusals use RFC 6750's `insufficient_scope`: that code and its `scope`
//! parameter tell the client which token to ask for, and for a missing role or a wrong
//! tenant no scope would help (RFC 6750 registers no other code for `403`). For
//! [`any_scope`](Policy::any_scope) the `scope` parameter lists the alternatives.
//! gRPC calls get status 7 (permission denied) in both cases.
//!
//! Where the scopes are read: [`ScopeClaims`]. For the default [`Claims`], the
//! validator fills [`Claims::scope`] from the claim named by
//! [`JwtValidator::scope_claim`](crate::JwtValidator::scope_claim) (`scp` for Entra ID
//! and Okta). Other claims are read through [`ClaimValues`], implemented for
//! [`Claims`] (its registered string claims, `aud` and `scope`), for
//! `serde_json::Value` and `serde_json::Map` (any claim), and by your own claims type.
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::{GuardLayer, Policy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // With `JwtValidator::<serde_json::Value>`, every claim is readable.
//! let policy = Policy::<serde_json::Value>::new()
//!     .any_scope(["orders:read", "orders:admin"])?
//!     .claim_equals("tid", "tenant-a")?
//!     .claim_contains("roles", "clerk")?;
//! let service = ServiceBuilder::new()
//!     .layer(GuardLayer::new(policy))
//!     .service(service_fn(|_req: Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(()))
//!     }));
//!
//! let claims = serde_json::json!({
//!     "exp": 0, "scp": "orders:read", "scope": "orders:read",
//!     "tid": "tenant-a", "roles": ["auditor"],
//! });
//! let mut request = Request::new(());
//! request.extensions_mut().insert(claims);
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! assert_eq!(response.headers()["www-authenticate"], "Bearer");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Request;

use crate::claims::{Claims, ScopeClaims};
use crate::error::{AuthError, ConfigError, RequiredScopes, StepUpRequirement};
pub use crate::scopes::claim_values::ClaimValues;
use crate::scopes::guard::{claims, Check};
use crate::scopes::step_up::{check_step_up, AuthenticationClaims, DEFAULT_AUTH_TIME_LEEWAY};

type Predicate<C> = Arc<dyn Fn(&C) -> bool + Send + Sync>;

enum Rule<C> {
    AllScopes {
        scopes: RequiredScopes,
        has: fn(&C, &str) -> bool,
    },
    AnyScope {
        scopes: RequiredScopes,
        has: fn(&C, &str) -> bool,
    },
    Claim {
        name: Box<str>,
        value: Box<str>,
        contains: bool,
        test: fn(&C, &str, &str) -> bool,
    },
    Predicate(Predicate<C>),
    StepUp {
        requirement: StepUpRequirement,
        leeway: Duration,
        check: StepUpCheck<C>,
    },
}

type StepUpCheck<C> = fn(&C, &StepUpRequirement, Duration) -> Result<(), AuthError>;

impl<C> Clone for Rule<C> {
    fn clone(&self) -> Self {
        match self {
            Self::AllScopes { scopes, has } => Self::AllScopes {
                scopes: scopes.clone(),
                has: *has,
            },
            Self::AnyScope { scopes, has } => Self::AnyScope {
                scopes: scopes.clone(),
                has: *has,
            },
            Self::Claim {
                name,
                value,
                contains,
                test,
            } => Self::Claim {
                name: name.clone(),
                value: value.clone(),
                contains: *contains,
                test: *test,
            },
            Self::Predicate(predicate) => Self::Predicate(Arc::clone(predicate)),
            Self::StepUp {
                requirement,
                leeway,
                check,
            } => Self::StepUp {
                requirement: requirement.clone(),
                leeway: *leeway,
                check: *check,
            },
        }
    }
}

impl<C> fmt::Debug for Rule<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AllScopes { scopes, .. } => write!(f, "all_scopes({:?})", scopes.as_str()),
            Self::AnyScope { scopes, .. } => write!(f, "any_scope({:?})", scopes.as_str()),
            Self::Claim {
                name,
                value,
                contains,
                ..
            } => {
                let op = if *contains { "contains" } else { "equals" };
                write!(f, "claim_{op}({name:?}, {value:?})")
            }
            Self::Predicate(_) => f.write_str("require(..)"),
            Self::StepUp {
                requirement,
                leeway,
                ..
            } => write!(f, "step_up({requirement:?}, leeway {leeway:?})"),
        }
    }
}

/// Authorization rules on a verified token's claims, all of which must hold. See the
/// [module docs](self).
pub struct Policy<C = Claims> {
    rules: Vec<Rule<C>>,
}

impl<C> Clone for Policy<C> {
    fn clone(&self) -> Self {
        Self {
            rules: self.rules.clone(),
        }
    }
}

impl<C> fmt::Debug for Policy<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("rules", &self.rules)
            .finish()
    }
}

impl<C> Default for Policy<C> {
    fn default() -> Self {
        Self::new()
    }
}

fn claim_name(name: &str) -> Result<Box<str>, ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::InvalidString("claim name"));
    }
    Ok(name.into())
}

impl<C> Policy<C> {
    /// A policy with no rule yet (any valid token passes).
    #[must_use]
    pub fn new() -> Self {
        Self { rules: Vec::new() }
    }

    /// Requires every scope in `scopes`; a refusal is `403 insufficient_scope` with
    /// `scope="<all of them>"`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScope`] or [`ConfigError::NoScopes`].
    pub fn all_scopes<I, S>(mut self, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
        C: ScopeClaims,
    {
        self.rules.push(Rule::AllScopes {
            scopes: RequiredScopes::new(scopes)?,
            has: |claims, scope| claims.has_scope(scope),
        });
        Ok(self)
    }

    /// Requires at least one scope in `scopes`; a refusal is `403 insufficient_scope`
    /// with `scope="<the alternatives>"`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScope`] or [`ConfigError::NoScopes`].
    pub fn any_scope<I, S>(mut self, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
        C: ScopeClaims,
    {
        self.rules.push(Rule::AnyScope {
            scopes: RequiredScopes::new(scopes)?,
            has: |claims, scope| claims.has_scope(scope),
        });
        Ok(self)
    }

    /// Requires the claim `name` to be the string `value` (compared exactly); a refusal
    /// is `403 forbidden`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty name.
    pub fn claim_equals(mut self, name: &str, value: &str) -> Result<Self, ConfigError>
    where
        C: ClaimValues,
    {
        self.rules.push(Rule::Claim {
            name: claim_name(name)?,
            value: value.into(),
            contains: false,
            test: |claims, name, value| claims.claim_str(name) == Some(value),
        });
        Ok(self)
    }

    /// Requires the claim `name` to be the string `value` or an array holding it
    /// (roles, groups); a refusal is `403 forbidden`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty name.
    pub fn claim_contains(mut self, name: &str, value: &str) -> Result<Self, ConfigError>
    where
        C: ClaimValues,
    {
        self.rules.push(Rule::Claim {
            name: claim_name(name)?,
            value: value.into(),
            contains: true,
            test: |claims, name, value| claims.claim_contains(name, value),
        });
        Ok(self)
    }

    /// Requires `predicate` to answer `true` for the claims; a refusal is
    /// `403 forbidden`. It runs on every request the policy covers: keep it cheap and
    /// free of I/O.
    pub fn require<F>(mut self, predicate: F) -> Self
    where
        F: Fn(&C) -> bool + Send + Sync + 'static,
    {
        self.rules.push(Rule::Predicate(Arc::new(predicate)));
        self
    }

    /// Requires an authentication context class (`acr`) among `acr_values`, in order
    /// of preference as announced (RFC 9470 step-up); a refusal is
    /// `401 insufficient_user_authentication` with `acr_values` (and the
    /// [`max_age`](Self::max_age), if set) in the challenge.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] if a value is empty or not a scope-token-like
    /// string, or none is given.
    pub fn acr<I, S>(mut self, acr_values: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
        C: AuthenticationClaims,
    {
        let acr = StepUpRequirement::new(Some(acr_values), None)?;
        self.step_up().0.acr_values = acr.acr_values;
        Ok(self)
    }

    /// Requires an `auth_time` no older than `max_age` (whole seconds, RFC 9470
    /// step-up); a refusal is `401 insufficient_user_authentication` with `max_age`
    /// (and the [`acr`](Self::acr) values, if set) in the challenge.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self
    where
        C: AuthenticationClaims,
    {
        self.step_up().0.max_age = Some(Duration::from_secs(max_age.as_secs()));
        self
    }

    /// Tolerance for an `auth_time` in the future, for [`acr`](Self::acr) and
    /// [`max_age`](Self::max_age) (default [`DEFAULT_AUTH_TIME_LEEWAY`]).
    #[must_use]
    pub fn with_auth_time_leeway(mut self, leeway: Duration) -> Self
    where
        C: AuthenticationClaims,
    {
        *self.step_up().1 = leeway;
        self
    }

    /// The step-up requirement, added as a rule on first use.
    fn step_up(&mut self) -> (&mut StepUpRequirement, &mut Duration)
    where
        C: AuthenticationClaims,
    {
        let at = match self
            .rules
            .iter()
            .position(|rule| matches!(rule, Rule::StepUp { .. }))
        {
            Some(at) => at,
            None => {
                self.rules.push(Rule::StepUp {
                    requirement: StepUpRequirement {
                        acr_values: None,
                        max_age: None,
                    },
                    leeway: DEFAULT_AUTH_TIME_LEEWAY,
                    check: |claims, requirement, leeway| check_step_up(claims, requirement, leeway),
                });
                self.rules.len() - 1
            }
        };
        match &mut self.rules[at] {
            Rule::StepUp {
                requirement,
                leeway,
                ..
            } => (requirement, leeway),
            _ => unreachable!("the position of a step-up rule"),
        }
    }

    /// The step-up requirement of [`acr`](Self::acr) and [`max_age`](Self::max_age),
    /// if the policy has one.
    #[must_use]
    pub fn step_up_requirement(&self) -> Option<&StepUpRequirement> {
        self.rules.iter().find_map(|rule| match rule {
            Rule::StepUp { requirement, .. } => Some(requirement),
            _ => None,
        })
    }

    /// Checks `claims` against every rule, in order.
    ///
    /// # Errors
    ///
    /// [`AuthError::InsufficientScope`] when a scope rule fails,
    /// [`AuthError::InsufficientUserAuthentication`] when the step-up rule does,
    /// [`AuthError::Forbidden`] when another rule does.
    pub fn check(&self, claims: &C) -> Result<(), AuthError> {
        for rule in &self.rules {
            let passed = match rule {
                Rule::AllScopes { scopes, has } => scopes.iter().all(|s| has(claims, s)),
                Rule::AnyScope { scopes, has } => scopes.iter().any(|s| has(claims, s)),
                Rule::Claim {
                    name, value, test, ..
                } => test(claims, name, value),
                Rule::Predicate(predicate) => predicate(claims),
                Rule::StepUp {
                    requirement,
                    leeway,
                    check,
                } => {
                    check(claims, requirement, *leeway)?;
                    true
                }
            };
            if !passed {
                return Err(match rule {
                    Rule::AllScopes { scopes, .. } | Rule::AnyScope { scopes, .. } => {
                        AuthError::InsufficientScope(scopes.clone())
                    }
                    _ => AuthError::Forbidden,
                });
            }
        }
        Ok(())
    }
}

impl<C: Send + Sync + 'static> Check for Policy<C> {
    fn check_request<B>(&self, request: &Request<B>) -> Result<(), AuthError> {
        self.check(claims::<C, B>(request)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Audience;
    use crate::claims::Scope;

    fn claims(scope: &str) -> Claims {
        Claims {
            sub: Some("alice".into()),
            exp: 0,
            iat: None,
            nbf: None,
            iss: Some("https://issuer".into()),
            aud: Some(Audience::Many(vec!["api".into(), "other".into()])),
            jti: None,
            scope: Some(Scope::new(scope)),
            sid: None,
            client_id: None,
        }
    }

    #[test]
    fn rules_hold_in_order_and_the_first_failure_decides() {
        let policy = Policy::<Claims>::new()
            .any_scope(["a", "b"])
            .unwrap()
            .all_scopes(["c"])
            .unwrap()
            .claim_contains("aud", "api")
            .unwrap()
            .claim_equals("iss", "https://issuer")
            .unwrap()
            .require(|c| c.sub.as_deref() == Some("alice"));
        assert_eq!(policy.check(&claims("b c")), Ok(()));
        let any = RequiredScopes::new(["a", "b"]).unwrap();
        assert_eq!(
            policy.check(&claims("c")),
            Err(AuthError::InsufficientScope(any))
        );
        let all = RequiredScopes::new(["c"]).unwrap();
        assert_eq!(
            policy.check(&claims("a")),
            Err(AuthError::InsufficientScope(all))
        );
        let mut other_sub = claims("a c");
        other_sub.sub = Some("bob".into());
        assert_eq!(policy.check(&other_sub), Err(AuthError::Forbidden));
        let mut other_iss = claims("a c");
        other_iss.iss = None;
        assert_eq!(policy.check(&other_iss), Err(AuthError::Forbidden));
        let mut other_aud = claims("a c");
        other_aud.aud = Some(Audience::One("apis".into()));
        assert_eq!(policy.check(&other_aud), Err(AuthError::Forbidden));
    }

    #[test]
    fn acr_and_max_age_are_one_step_up_rule_checked_in_order() {
        let policy = Policy::<serde_json::Value>::new()
            .all_scopes(["pay"])
            .unwrap()
            .acr(["mfa"])
            .unwrap()
            .max_age(Duration::from_millis(60_900));
        let requirement = StepUpRequirement::new(Some(["mfa"]), Some(Duration::from_secs(60)));
        assert_eq!(policy.step_up_requirement(), requirement.as_ref().ok());
        let now = crate::store::now();
        let fresh = serde_json::json!({"scope": "pay", "acr": "mfa", "auth_time": now});
        assert_eq!(policy.check(&fresh), Ok(()));
        let old = serde_json::json!({"scope": "pay", "acr": "mfa", "auth_time": now - 600});
        assert_eq!(
            policy.check(&old),
            Err(AuthError::InsufficientUserAuthentication(
                requirement.unwrap()
            ))
        );
        // The scope rule comes first, so it decides.
        let weak = serde_json::json!({"acr": "pwd", "auth_time": now});
        assert!(matches!(
            policy.check(&weak),
            Err(AuthError::InsufficientScope(_))
        ));
        assert!(Policy::<serde_json::Value>::new().acr(["a b"]).is_err());
        assert!(Policy::<serde_json::Value>::new()
            .step_up_requirement()
            .is_none());
    }

    #[test]
    fn json_claims_strings_and_arrays() {
        let value = serde_json::json!({
            "tid": "t1", "roles": ["admin", "x"], "n": 3, "scope": ["read", "write"],
        });
        assert_eq!(value.claim_str("tid"), Some("t1"));
        assert_eq!(value.claim_str("roles"), None);
        assert_eq!(value.claim_str("n"), None);
        assert!(value.claim_contains("roles", "admin"));
        assert!(value.claim_contains("tid", "t1"));
        assert!(!value.claim_contains("roles", "adm"));
        assert!(!value.claim_contains("missing", "x"));
        assert!(value.has_scope("write"));
        assert!(!value.has_scope("read write"));
        assert!(Policy::<serde_json::Value>::new()
            .claim_equals("", "x")
            .is_err());
    }
}
