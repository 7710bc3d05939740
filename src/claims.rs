//! The default [`Claims`] type and the [`ScopeClaims`] trait scope checks rely on.

use serde::{Deserialize, Deserializer, Serialize};

use crate::validate::json::{numeric_date, optional_numeric_date};

/// The registered JWT claims (RFC 7519 §4.1) plus `scope` (RFC 8693 §4.2, RFC 9068).
///
/// Use it as is, or bring your own `T: DeserializeOwned` type to the validator; the
/// validator checks the registered claims itself either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: who the token is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Expiry, seconds since the epoch.
    #[serde(deserialize_with = "numeric_date")]
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "optional_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<i64>,
    /// Not before, seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "optional_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<i64>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience: one string or several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// The OAuth client the token was issued to (RFC 9068 §2.2, RFC 8693 §4.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The `aud` claim: a single string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "api"`
    One(String),
    /// `"aud": ["api", "other"]`
    Many(Vec<String>),
}

impl Audience {
    /// `true` if `audience` is among the values.
    #[must_use]
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// The `scope` claim: space-separated scope-tokens (RFC 6749 §3.3, RFC 8693 §4.2).
///
/// Some issuers send an array instead; [`JwtValidator`](crate::JwtValidator) refuses
/// that form unless [`allow_scope_array`](crate::JwtValidator::allow_scope_array) is set,
/// and this type then accepts both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Scope(String);

impl Scope {
    /// A scope claim from space-separated scopes.
    #[must_use]
    pub fn new(scopes: impl Into<String>) -> Self {
        Self(scopes.into())
    }

    /// The scopes, space-separated.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Iterates over the individual scopes.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').filter(|s| !s.is_empty())
    }

    /// `true` if `scope` was granted.
    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        self.iter().any(|granted| granted == scope)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Joined(String),
            List(Vec<String>),
        }
        Ok(match Form::deserialize(deserializer)? {
            Form::Joined(joined) => Self(joined),
            Form::List(list) => Self(list.join(" ")),
        })
    }
}

/// Claims that carry granted scopes, for [`RequireScopes`](crate::RequireScopes) and the
/// scope extractors.
pub trait ScopeClaims {
    /// `true` if the token grants `scope`.
    fn has_scope(&self, scope: &str) -> bool;
}

impl ScopeClaims for Claims {
    fn has_scope(&self, scope: &str) -> bool {
        self.scope
            .as_ref()
            .is_some_and(|granted| granted.contains(scope))
    }
}

/// Claims that carry a token id (`jti`) and expiry, for revocation
/// ([`RevocationCheck`](crate::validate::RevocationCheck),
/// [`revoke_token`](crate::store::revoke_token)).
pub trait HasJti {
    /// The token id, if the token has one.
    fn jti(&self) -> Option<&str>;

    /// The token's `exp`, seconds since the epoch: how long a revocation must be kept.
    fn expires_at(&self) -> Option<i64> {
        None
    }
}

impl HasJti for Claims {
    fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    fn expires_at(&self) -> Option<i64> {
        Some(self.exp)
    }
}
