//! Scope narrowing for the `refresh_token` and `client_credentials` grants.

use std::fmt;

use crate::error::is_scope_token;

/// A requested scope is malformed or not within what may be granted
/// (RFC 6749 §5.2 `invalid_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidScope;

impl InvalidScope {
    /// The RFC 6749 §5.2 error code, `invalid_scope`.
    #[must_use]
    pub fn code(self) -> &'static str {
        "invalid_scope"
    }
}

impl fmt::Display for InvalidScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the requested scope is invalid or exceeds the granted scope")
    }
}

impl std::error::Error for InvalidScope {}

/// The scopes to grant when `requested` (a `scope` form parameter) asks for a subset of
/// `original` (space-separated).
///
/// - No request, or an empty one (RFC 6749 §3.1: a parameter without a value counts as
///   omitted), grants `original` as it is (§6: "treated as equal to the scope
///   originally granted").
/// - Otherwise every requested scope must be an RFC 6749 §3.3 scope-token present in
///   `original`; the result lists them once each, in the order requested.
///
/// ```
/// use tower_bearer::store::{narrow_scopes, InvalidScope};
///
/// assert_eq!(narrow_scopes("me items", None).unwrap(), "me items");
/// assert_eq!(narrow_scopes("me items", Some("items me items")).unwrap(), "items me");
/// assert_eq!(narrow_scopes("me", Some("me admin")), Err(InvalidScope));
/// ```
///
/// # Errors
///
/// [`InvalidScope`] if a requested scope is malformed or was not originally granted.
pub fn narrow_scopes(original: &str, requested: Option<&str>) -> Result<String, InvalidScope> {
    let granted = || original.split(' ').filter(|s| !s.is_empty());
    let requested = match requested {
        Some(r) if !r.is_empty() => r,
        _ => return Ok(granted().collect::<Vec<_>>().join(" ")),
    };
    let mut narrowed: Vec<&str> = Vec::new();
    for scope in requested.split(' ') {
        if scope.is_empty() {
            // Extra separators are tolerated, as in the scope claim.
            continue;
        }
        if !is_scope_token(scope) || !granted().any(|g| g == scope) {
            return Err(InvalidScope);
        }
        if !narrowed.contains(&scope) {
            narrowed.push(scope);
        }
    }
    if narrowed.is_empty() {
        return Err(InvalidScope);
    }
    Ok(narrowed.join(" "))
}
