//! Authorization on verified claims: one middleware, [`GuardLayer`], and the checks it
//! runs.
//!
//! - [`RequireScopes`]: fixed scopes, all or any of them (per route in axum with
//!   `route_layer`).
//! - [`PathScopes`]: scopes per request path or gRPC method, for routers you cannot
//!   wrap route by route.
//! - [`Policy`]: any-of scopes, rules on other claims (roles, groups, tenant), your
//!   own predicate, and RFC 9470 step-up (rules on `acr` and `auth_time`).
//! - your own [`Check`].
//! - [`narrow_scopes`]: the token endpoint's rule for a requested scope that may only
//!   narrow what was granted.
//!
//! A guard sits inside a [`BearerAuthLayer`](crate::BearerAuthLayer) and answers with
//! its realm and rejection handler when built with [`GuardLayer::like`]:
//! `403 insufficient_scope` with the needed `scope` in the challenge for scopes.

mod claim_values;
pub mod guard;
mod narrow;
pub mod path;
pub mod policy;
pub mod require;
pub mod step_up;

pub use guard::{Check, Guard, GuardLayer, RunCheck};
pub use narrow::{narrow_scopes, InvalidScope};
pub use path::PathScopes;
pub use policy::{ClaimValues, Policy};
pub use require::{check_any_scope, check_scopes, RequireScopes};
pub use step_up::{check_step_up, AuthenticationClaims, StepUpClaims, DEFAULT_AUTH_TIME_LEEWAY};
