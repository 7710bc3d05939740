//! What a `403` challenge announces: the [`RequiredScopes`] of a resource and the
//! [`StepUpRequirement`] of a route (RFC 9470).

use std::sync::Arc;

use super::ConfigError;

/// The scopes a resource requires, as announced in a `403` challenge's `scope`
/// parameter. Every entry is a valid RFC 6749 §3.3 scope-token (checked when built).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredScopes {
    joined: Arc<str>,
}

impl RequiredScopes {
    /// Builds the set from scope tokens.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScope`] if a scope is empty or has characters outside
    /// RFC 6749 §3.3's `scope-token` (`%x21 / %x23-5B / %x5D-7E`), and
    /// [`ConfigError::NoScopes`] if there are none.
    pub fn new<I, S>(scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut joined = String::new();
        for scope in scopes {
            let scope = scope.as_ref();
            if !is_scope_token(scope) {
                return Err(ConfigError::InvalidScope);
            }
            if joined.split(' ').any(|known| known == scope) {
                continue;
            }
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(scope);
        }
        if joined.is_empty() {
            return Err(ConfigError::NoScopes);
        }
        Ok(Self {
            joined: joined.into(),
        })
    }

    /// The scopes, space-separated (the value of the challenge's `scope` parameter).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.joined
    }

    /// Iterates over the individual scopes.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.joined.split(' ')
    }
}

/// What a route demands of the user's authentication (RFC 9470): an authentication
/// context class among `acr_values`, and/or an authentication no older than `max_age`.
/// Built by [`Policy::acr`](crate::Policy::acr) and
/// [`Policy::max_age`](crate::Policy::max_age); every `acr` value is checked to be a
/// scope-token-like string when built, so the challenge never needs escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUpRequirement {
    pub(crate) acr_values: Option<Arc<str>>,
    pub(crate) max_age: Option<std::time::Duration>,
}

impl StepUpRequirement {
    /// A requirement on `acr` (any of `acr_values`, in order of preference) and/or on
    /// the age of the authentication.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] if an `acr` value is empty or has characters
    /// outside `%x21 / %x23-5B / %x5D-7E`, [`ConfigError::Missing`] if neither rule is
    /// given.
    pub fn new<I, S>(
        acr_values: Option<I>,
        max_age: Option<std::time::Duration>,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let acr_values = match acr_values {
            None => None,
            Some(values) => {
                let mut joined = String::new();
                for value in values {
                    let value = value.as_ref();
                    if !is_scope_token(value) {
                        return Err(ConfigError::InvalidString("acr_values"));
                    }
                    if !joined.is_empty() {
                        joined.push(' ');
                    }
                    joined.push_str(value);
                }
                if joined.is_empty() {
                    return Err(ConfigError::InvalidString("acr_values"));
                }
                Some(Arc::from(joined))
            }
        };
        if acr_values.is_none() && max_age.is_none() {
            return Err(ConfigError::Missing("step-up requirement"));
        }
        Ok(Self {
            acr_values,
            max_age,
        })
    }

    /// The accepted `acr` values, space-separated (the challenge's `acr_values`).
    #[must_use]
    pub fn acr_values(&self) -> Option<&str> {
        self.acr_values.as_deref()
    }

    /// The maximum age of the authentication (the challenge's `max_age`, in seconds).
    #[must_use]
    pub fn max_age(&self) -> Option<std::time::Duration> {
        self.max_age
    }

    /// `true` if `acr` is one of the accepted values (always, without an `acr` rule).
    #[must_use]
    pub fn accepts_acr(&self, acr: Option<&str>) -> bool {
        match &self.acr_values {
            None => true,
            Some(values) => acr.is_some_and(|acr| values.split(' ').any(|v| v == acr)),
        }
    }

    /// `true` if an authentication at `auth_time` (seconds since the epoch) is recent
    /// enough at `now` (always, without a `max_age` rule). An `auth_time` in the future
    /// beyond `leeway` seconds is refused.
    #[must_use]
    pub fn accepts_auth_time(&self, auth_time: Option<i64>, now: i64, leeway: i64) -> bool {
        match self.max_age {
            None => true,
            Some(max_age) => auth_time.is_some_and(|at| {
                let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
                at <= now.saturating_add(leeway) && now.saturating_sub(at) <= max_age
            }),
        }
    }
}

/// `true` if `scope` is a non-empty RFC 6749 §3.3 `scope-token`.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}
