//! [`ClaimValues`]: the claims a [`Policy`](crate::Policy) reads by name, for the default
//! [`Claims`], JSON claims and a type of your own.

use crate::claims::{Audience, Claims, ScopeClaims};

/// Claims whose values a [`Policy`](crate::Policy) can read by name.
///
/// Implement it for your own claims type with a `match` on the names you keep:
///
/// ```
/// use tower_bearer::ClaimValues;
///
/// #[derive(Clone, serde::Deserialize)]
/// struct MyClaims { tid: String, roles: Vec<String> }
///
/// impl ClaimValues for MyClaims {
///     fn claim_str(&self, name: &str) -> Option<&str> {
///         match name {
///             "tid" => Some(&self.tid),
///             _ => None,
///         }
///     }
///     fn claim_contains(&self, name: &str, value: &str) -> bool {
///         match name {
///             "roles" => self.roles.iter().any(|role| role == value),
///             _ => self.claim_str(name) == Some(value),
///         }
///     }
/// }
/// ```
pub trait ClaimValues {
    /// The claim `name` if it is a single string; `None` if absent or of another type.
    fn claim_str(&self, name: &str) -> Option<&str>;

    /// `true` if the claim `name` is the string `value` or an array holding it.
    /// By default, the string case only.
    fn claim_contains(&self, name: &str, value: &str) -> bool {
        self.claim_str(name) == Some(value)
    }
}

impl ClaimValues for Claims {
    fn claim_str(&self, name: &str) -> Option<&str> {
        match name {
            "sub" => self.sub.as_deref(),
            "iss" => self.iss.as_deref(),
            "jti" => self.jti.as_deref(),
            "aud" => match &self.aud {
                Some(Audience::One(one)) => Some(one),
                _ => None,
            },
            "scope" => self.scope.as_ref().map(|scope| scope.as_str()),
            _ => None,
        }
    }

    fn claim_contains(&self, name: &str, value: &str) -> bool {
        match name {
            "aud" => self.aud.as_ref().is_some_and(|aud| aud.contains(value)),
            "scope" => self.has_scope(value),
            _ => self.claim_str(name) == Some(value),
        }
    }
}

impl ClaimValues for serde_json::Map<String, serde_json::Value> {
    fn claim_str(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_str()
    }

    fn claim_contains(&self, name: &str, value: &str) -> bool {
        match self.get(name) {
            Some(serde_json::Value::String(one)) => one == value,
            Some(serde_json::Value::Array(many)) => many.iter().any(|v| v.as_str() == Some(value)),
            _ => false,
        }
    }
}

impl ClaimValues for serde_json::Value {
    fn claim_str(&self, name: &str) -> Option<&str> {
        self.as_object()?.claim_str(name)
    }

    fn claim_contains(&self, name: &str, value: &str) -> bool {
        self.as_object()
            .is_some_and(|claims| claims.claim_contains(name, value))
    }
}

/// `scope` read as the default claims do: a space-separated string, or an array of
/// strings.
impl ScopeClaims for serde_json::Value {
    fn has_scope(&self, scope: &str) -> bool {
        match self.get("scope") {
            Some(serde_json::Value::String(joined)) => joined.split(' ').any(|s| s == scope),
            Some(serde_json::Value::Array(many)) => many.iter().any(|s| s.as_str() == Some(scope)),
            _ => false,
        }
    }
}
