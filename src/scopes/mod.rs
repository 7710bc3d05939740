//! Authorization on verified claims: which scopes a request needs.
//!
//! - [`RequireScopesLayer`]: fixed scopes for everything behind it (per route in axum
//!   with `route_layer`).
//! - [`PathScopesLayer`]: scopes per request path or gRPC method, for routers you
//!   cannot wrap route by route.
//! - [`AuthorizeLayer`] with a [`Policy`]: any-of scopes, rules on other claims (roles,
//!   groups, tenant) and your own predicate.
//! - [`StepUpLayer`]: RFC 9470 step-up, rules on `acr` and `auth_time`.
//! - [`narrow_scopes`]: the token endpoint's rule for a requested scope that may only
//!   narrow what was granted.
//!
//! Both layers sit inside a [`BearerAuthLayer`](crate::BearerAuthLayer) and answer
//! `403 insufficient_scope` with the needed `scope` in the challenge.

mod narrow;
pub mod path;
pub mod policy;
pub mod require;
pub mod step_up;

pub use narrow::{narrow_scopes, InvalidScope};
pub use path::{PathScopes, PathScopesLayer};
pub use policy::{Authorize, AuthorizeLayer, ClaimValues, Policy};
pub use require::{
    check_any_scope, check_scopes, RequireScopes, RequireScopesLayer, ResponseFuture,
};
pub use step_up::{
    check_step_up, AuthenticationClaims, StepUp, StepUpClaims, StepUpLayer,
    DEFAULT_AUTH_TIME_LEEWAY,
};
