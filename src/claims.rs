//! The default [`Claims`] type, the [`ScopeClaims`] trait scope checks rely on, and
//! your own claims type.
//!
//! # Your own claims type
//!
//! [`JwtValidator<T>`](crate::JwtValidator) takes any
//! `T: DeserializeOwned + Clone + Send + Sync + 'static`. The validator checks the
//! registered claims on the token itself whatever `T` is (`exp`, `nbf`, `iss`, `aud`,
//! and the JSON types of `iat`, `sub`, `jti`, `scope`), so `T` holds only what your
//! handlers read. It costs about what [`Claims`] costs: the validator reads the payload
//! once, and your type's `Deserialize` is driven from that reading (no second JSON
//! parse). Serde's rules make members required or optional:
//!
//! - a plain field (`sub: String`) is required: a token without it is refused;
//! - `Option<_>` is `None` when absent, `#[serde(default)]` gives the default (`[]`);
//! - [`Audience`] reads `aud` as one string or an array (a `String` field would
//!   refuse the array form); [`Scope`] reads `scope` as a space-separated string, and,
//!   for a claim other than `scope` such as Azure's `scp`, also as an array.
//!
//! Implement [`ScopeClaims`] to use the type with
//! [`RequireScopes`](crate::RequireScopes),
//! [`BearerAuthLayer::require_scopes`](crate::BearerAuthLayer::require_scopes) and
//! [`PathScopes`](crate::PathScopes): it says whether the token grants a
//! scope, wherever your issuer puts scopes.
//!
//! A token whose claims do not fit `T` is `401 invalid_token`, and the
//! `error_description` names the member that failed, never its value: `The token
//! roles claim is invalid`, `The token has no sub claim`. (A member that cannot be
//! named, such as a key of a `#[serde(flatten)]`ed map, gives the generic `The token
//! claims do not have the expected shape`.)
//!
//! ```
//! use serde::Deserialize;
//! use tower_bearer::{Audience, AuthError, JwtValidator, Scope, ScopeClaims};
//!
//! #[derive(Debug, Clone, Deserialize)]
//! struct MyClaims {
//!     sub: String,                  // required
//!     aud: Option<Audience>,        // "api" or ["api", "admin-api"]
//!     #[serde(alias = "scp")]       // `scope` or `scp`, string or array
//!     scope: Option<Scope>,
//!     #[serde(default)]
//!     roles: Vec<String>,           // [] when absent
//!     tenant: Option<String>,       // None when absent
//! }
//!
//! impl ScopeClaims for MyClaims {
//!     fn has_scope(&self, scope: &str) -> bool {
//!         self.scope.as_ref().is_some_and(|granted| granted.contains(scope))
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
//! const SECRET: &[u8] = b"a-secret-of-at-least-32-bytes!!!";
//! let validator = JwtValidator::<MyClaims>::hs256(SECRET)?.with_audience("api")?;
//! let sign = |claims: serde_json::Value| {
//!     let key = jsonwebtoken::EncodingKey::from_secret(SECRET);
//!     jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key)
//! };
//! let exp = jsonwebtoken::get_current_timestamp() + 600;
//!
//! let token = sign(serde_json::json!({
//!     "sub": "alice", "exp": exp, "aud": ["api", "admin-api"],
//!     "scp": ["items:read", "items:write"], "roles": ["admin"],
//! }))?;
//! let claims = validator.verify(&token)?;
//! assert!(claims.has_scope("items:write"));
//! assert_eq!(claims.roles, ["admin"]);
//! assert_eq!(claims.tenant, None);
//!
//! // `roles` as a string: refused, naming the claim (not its value).
//! let token = sign(serde_json::json!({ "sub": "alice", "exp": exp, "aud": "api", "roles": "admin" }))?;
//! let AuthError::InvalidToken(reason) = validator.verify(&token).unwrap_err() else { panic!() };
//! assert_eq!(reason.description(), "The token roles claim is invalid");
//!
//! // No `sub`:
//! let token = sign(serde_json::json!({ "exp": exp, "aud": "api" }))?;
//! let AuthError::InvalidToken(reason) = validator.verify(&token).unwrap_err() else { panic!() };
//! assert_eq!(reason.description(), "The token has no sub claim");
//! # Ok(())
//! # }
//! ```
//!
//! Put the type into the layer as `BearerAuthLayer::new(validator)`; handlers read
//! `req.extensions().get::<MyClaims>()` (with the `axum` feature: `Auth<MyClaims>`, or
//! `Option<Auth<MyClaims>>` behind an [`optional`](crate::BearerAuthLayer::optional)
//! layer).

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::validate::jwt::json::{numeric_date, optional_numeric_date};

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
    /// Session id: the refresh-token family the token was issued from (ending the
    /// session revokes every access token carrying it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The client the token was issued to (RFC 9068 §2.2). A token whose `client_id`
    /// equals its `sub` (or that has no `sub`) speaks for a client, not a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The `aud` claim: a single string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
        Ok(
            match deserializer.deserialize_any(StringOrList("a scope string or array"))? {
                Audience::One(joined) => Self(joined),
                Audience::Many(list) => Self(list.join(" ")),
            },
        )
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StringOrList("a string or an array of strings"))
    }
}

/// Reads a string or an array of strings straight from the deserializer (serde's
/// untagged enums first buffer the value, on every token).
struct StringOrList(&'static str);

impl<'de> Visitor<'de> for StringOrList {
    type Value = Audience;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Audience, E> {
        Ok(Audience::One(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Audience, E> {
        Ok(Audience::One(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(value) = seq.next_element::<String>()? {
            list.push(value);
        }
        Ok(Audience::Many(list))
    }
}

/// Claims that carry granted scopes, for [`RequireScopes`](crate::RequireScopes),
/// [`PathScopes`](crate::PathScopes) and [`check_scopes`](crate::check_scopes).
/// Implement it for your own claims type (see the [module docs](self)).
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

    /// The session (refresh-token family) the token belongs to, if any: revoking the
    /// session revokes the token.
    fn sid(&self) -> Option<&str> {
        None
    }

    /// The client the token was issued to (`client_id`, RFC 9068 §2.2), if any: only
    /// that client may revoke it once clients authenticate.
    fn client_id(&self) -> Option<&str> {
        None
    }
}

/// Claims that name who a token speaks for, for
/// [`UserLookup`](crate::current_user::UserLookup).
pub trait SubjectClaims {
    /// The subject (`sub`), if any.
    fn subject(&self) -> Option<&str>;

    /// The client the token was issued to (`client_id`), if any.
    fn client_id(&self) -> Option<&str> {
        None
    }

    /// `true` if the token speaks for a client rather than a user: it names a client
    /// and either has no subject or its subject is that client (the
    /// `client_credentials` grant, RFC 9068 §2.2). Such a token is never taken for a
    /// user.
    fn is_client_token(&self) -> bool {
        match (self.client_id(), self.subject()) {
            (Some(_), None) => true,
            (Some(client), Some(subject)) => client == subject,
            (None, _) => false,
        }
    }
}

impl SubjectClaims for Claims {
    fn subject(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}

impl HasJti for Claims {
    fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    fn expires_at(&self) -> Option<i64> {
        Some(self.exp)
    }
}
