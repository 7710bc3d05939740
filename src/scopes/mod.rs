//! Authorization on verified claims: which scopes a request needs.
//!
//! - [`RequireScopesLayer`]: fixed scopes for everything behind it (per route in axum
//!   with `route_layer`).
//! - [`PathScopesLayer`]: scopes per request path or gRPC method, for routers you
//!   cannot wrap route by route.
//! - [`narrow_scopes`]: the token endpoint's rule for a requested scope that may only
//!   narrow what was granted.
//!
//! Both layers sit inside a [`BearerAuthLayer`](crate::BearerAuthLayer) and answer
//! `403 insufficient_scope` with the needed `scope` in the challenge.

mod narrow;
mod path;
mod require;

pub use narrow::{narrow_scopes, InvalidScope};
pub use path::{PathScopes, PathScopesLayer};
pub use require::{check_scopes, RequireScopes, RequireScopesLayer, ResponseFuture};
