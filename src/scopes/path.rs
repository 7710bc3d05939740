//! [`PathScopes`]: scopes per request path, for routers you cannot wrap route by
//! route, such as a generated tonic service (`/package.Service/Method`).
//!
//! Requests to a listed path need every listed scope (`403 insufficient_scope`, or
//! gRPC status 7 for gRPC calls); other paths pass untouched, or, with
//! [`deny_unlisted`](PathScopes::deny_unlisted), are refused (`403`). Run it with a
//! [`GuardLayer`](crate::GuardLayer) inside a [`BearerAuthLayer`](crate::BearerAuthLayer).
//! A listed path can also need a whole [`Policy`] (any-of scopes, roles, tenants;
//! [`with_path_policy`](PathScopes::with_path_policy)).
//!
//! # Matching
//!
//! Routers and proxies disagree on what a path means: some merge `//`, trim a trailing
//! `/`, resolve `..`, or decode `%78` to `x` before routing, others do not. A policy
//! that compared raw text could then be bypassed with `/x/`, `//x` or `/%78` in front
//! of a router that treats them as `/x`. So the layer first requires the path to be
//! **canonical** and answers `400 invalid_request` (gRPC status 16) otherwise, for
//! every request, listed or not. A path is canonical when it
//!
//! - has no empty segment (`//`) and no trailing `/` (the root `/` itself is fine),
//! - has no `.` or `..` segment,
//! - has no percent-escape of an unreserved character (`A-Z a-z 0-9 - . _ ~`), of `/`
//!   or of `\`, no malformed escape, and no raw `\`.
//!
//! Other escapes (`%20`, `%C3%A9`) are kept and compared as written (listed paths
//! must be canonical too, which [`with_path`](PathScopes::with_path) checks). A
//! canonical path then means the same to every router, and is compared exactly. If
//! your router accepts a trailing `/` as the same route, put tower-http's
//! `NormalizePathLayer` in front of this layer.
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::{Claims, GuardLayer, PathScopes};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = ServiceBuilder::new()
//!     .layer(GuardLayer::new(PathScopes::<Claims>::new().with_path("/demo.Greeter/Admin", ["admin"])?))
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

use http::Request;

use crate::claims::{Claims, ScopeClaims};
use crate::error::{AuthError, ConfigError, InvalidRequest, RequiredScopes};
use crate::scopes::guard::{claims, Check};
use crate::scopes::policy::Policy;
use crate::scopes::require::check_scopes;

/// What a listed path needs.
enum Requirement<C> {
    Scopes(RequiredScopes),
    Policy(Policy<C>),
    /// Any valid token (a listed path under `deny_unlisted`).
    Open,
}

impl<C> Clone for Requirement<C> {
    fn clone(&self) -> Self {
        match self {
            Self::Scopes(scopes) => Self::Scopes(scopes.clone()),
            Self::Policy(policy) => Self::Policy(policy.clone()),
            Self::Open => Self::Open,
        }
    }
}

impl<C> fmt::Debug for Requirement<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scopes(scopes) => fmt::Debug::fmt(scopes.as_str(), f),
            Self::Policy(policy) => fmt::Debug::fmt(policy, f),
            Self::Open => f.write_str("Open"),
        }
    }
}

/// A [`Check`]: the scopes (or [`Policy`]) each listed path needs, from the claims of
/// type `C` the bearer layer inserts. Run it with a [`GuardLayer`](crate::GuardLayer).
pub struct PathScopes<C = Claims> {
    paths: Vec<(Box<str>, Requirement<C>)>,
    deny_unlisted: bool,
}

impl<C> Clone for PathScopes<C> {
    fn clone(&self) -> Self {
        Self {
            paths: self.paths.clone(),
            deny_unlisted: self.deny_unlisted,
        }
    }
}

impl<C> fmt::Debug for PathScopes<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<_> = self
            .paths
            .iter()
            .map(|(p, requirement)| (&**p, requirement))
            .collect();
        f.debug_struct("PathScopes")
            .field("paths", &paths)
            .field("deny_unlisted", &self.deny_unlisted)
            .field("claims", &std::any::type_name::<C>())
            .finish()
    }
}

impl<C> Default for PathScopes<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> PathScopes<C> {
    /// No path needs scopes yet; add them with [`with_path`](Self::with_path).
    #[must_use]
    pub fn new() -> Self {
        Self {
            paths: Vec::new(),
            deny_unlisted: false,
        }
    }

    /// Requests to `path` (exactly, see [Matching](self#matching)) need every scope in
    /// `scopes`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPath`] if `path` is not canonical (see
    /// [Matching](self#matching)) or is already listed; [`ConfigError::InvalidScope`]
    /// or [`ConfigError::NoScopes`].
    pub fn with_path<I, S>(self, path: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = RequiredScopes::new(scopes)?;
        self.push(path, Requirement::Scopes(scopes))
    }

    /// Lists `path` as open to any valid token, with no scope needed: only useful
    /// with [`deny_unlisted`](Self::deny_unlisted).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPath`] if `path` is not canonical or is already listed.
    pub fn with_open_path(self, path: &str) -> Result<Self, ConfigError> {
        self.push(path, Requirement::Open)
    }

    /// Requests to `path` (exactly) must satisfy `policy`: scope refusals are
    /// `403 insufficient_scope`, other refusals `403 forbidden` (gRPC status 7 for
    /// both).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPath`] if `path` is not canonical or is already listed.
    pub fn with_path_policy(self, path: &str, policy: Policy<C>) -> Result<Self, ConfigError> {
        self.push(path, Requirement::Policy(policy))
    }

    fn push(mut self, path: &str, requirement: Requirement<C>) -> Result<Self, ConfigError> {
        if !is_canonical(path) || self.paths.iter().any(|(p, _)| **p == *path) {
            return Err(ConfigError::InvalidPath("path"));
        }
        self.paths.push((path.into(), requirement));
        Ok(self)
    }

    /// Deny by default: a request to a path that is not listed is refused with `403
    /// insufficient_scope` (no `scope` parameter: no token would do; gRPC status 7),
    /// or `401` without a token behind an optional bearer layer. List the paths any
    /// valid token may reach with [`with_open_path`](Self::with_open_path).
    #[must_use]
    pub fn deny_unlisted(mut self) -> Self {
        self.deny_unlisted = true;
        self
    }
}

impl<C: ScopeClaims + Send + Sync + 'static> Check for PathScopes<C> {
    fn check_request<B>(&self, request: &Request<B>) -> Result<(), AuthError> {
        let path = request.uri().path();
        if !is_canonical(path) {
            return Err(InvalidRequest::NonCanonicalPath.into());
        }
        let listed = self.paths.iter().find(|(p, _)| **p == *path);
        if listed.is_none() && !self.deny_unlisted {
            return Ok(());
        }
        let claims = claims::<C, B>(request)?;
        match listed {
            Some((_, Requirement::Scopes(scopes))) => check_scopes(claims, scopes),
            Some((_, Requirement::Policy(policy))) => policy.check(claims),
            Some((_, Requirement::Open)) => Ok(()),
            None => Err(AuthError::PathNotAllowed),
        }
    }
}

/// See [Matching](self#matching).
fn is_canonical(path: &str) -> bool {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return false;
    }
    if bytes.len() == 1 {
        return true;
    }
    let mut segments = path[1..].split('/');
    if !segments.all(|segment| !matches!(segment, "" | "." | "..")) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => return false,
            b'%' => {
                let Some(value) = bytes
                    .get(i + 1..i + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                else {
                    return false;
                };
                if value.is_ascii_alphanumeric() || b"-._~/\\".contains(&value) {
                    return false;
                }
                i += 3;
            }
            _ => i += 1,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::is_canonical;

    #[test]
    fn canonical_paths() {
        for path in [
            "/",
            "/x",
            "/x/y",
            "/a%20b",
            "/caf%C3%A9",
            "/pkg.Service/Method",
            "/x.y",
        ] {
            assert!(is_canonical(path), "{path}");
        }
        for path in [
            "",
            "x",
            "//",
            "//x",
            "/x/",
            "/x//y",
            "/./x",
            "/x/..",
            "/%78",
            "/%2e%2e/x",
            "/a%2Fb",
            "/a%2fb",
            "/a%5Cb",
            "/a\\b",
            "/a%",
            "/a%4",
            "/a%zz",
            "/%7E",
        ] {
            assert!(!is_canonical(path), "{path}");
        }
    }
}
