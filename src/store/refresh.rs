//! Refresh tokens: the [`RefreshTokenStore`] trait, its records, and [`refresh`], the
//! store side of the `refresh_token` grant.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{random_b64, BoxFuture, StoreError};
use crate::scopes::narrow_scopes;

/// An opaque refresh token: 256 random bits, base64url (43 characters); the Redis store
/// puts its family id and a dot in front (`<family>.<random>`).
///
/// This is the only place the token exists in clear: stores keep its SHA-256. `Debug`
/// redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// A fresh random token.
    pub(crate) fn generate() -> Result<Self, StoreError> {
        random_b64::<32>().map(Self)
    }

    /// A fresh token that names its family in clear (`<family>.<random>`), so that a
    /// store can find the family's keys without a lookup (Redis Cluster hash tags).
    /// The family id is not a secret; the 256 random bits are.
    #[cfg(feature = "redis")]
    pub(crate) fn generate_in(family: &str) -> Result<Self, StoreError> {
        Ok(Self(format!("{}.{}", family, random_b64::<32>()?)))
    }

    /// The token, to send to the client.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token as an owned string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }

    /// The store key of this token (see [`token_hash`]).
    pub(crate) fn hash(&self) -> String {
        token_hash(&self.0)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// SHA-256 of a presented token, base64url: what stores use as its key. A plain hash is
/// enough: the token has 256 bits of entropy, so there is nothing to brute-force.
pub(crate) fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// What a refresh-token family stands for: fixed when the first token is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user (resource owner) the tokens act for; becomes the access tokens' `sub`.
    pub subject: String,
    /// The client the tokens were issued to; only it may use them (RFC 6749 §6).
    pub client_id: String,
    /// The granted scopes, space-separated. Refreshes may narrow the access token's
    /// scopes, never this.
    pub scope: String,
    /// Absolute expiry of the whole family, seconds since the epoch. Rotation does not
    /// extend it.
    pub expires_at: i64,
    /// The JWK SHA-256 thumbprint (RFC 7638) of the DPoP key the session is bound to
    /// (RFC 9449 §5): every refresh must carry a proof signed with that key. `None`: a
    /// plain bearer session.
    pub dpop_jkt: Option<String>,
}

impl Session {
    /// A session for `subject` and `client_id` with `scope`, expiring at `expires_at`
    /// (seconds since the epoch).
    pub fn new(
        subject: impl Into<String>,
        client_id: impl Into<String>,
        scope: impl Into<String>,
        expires_at: i64,
    ) -> Self {
        Self {
            subject: subject.into(),
            client_id: client_id.into(),
            scope: scope.into(),
            expires_at,
            dpop_jkt: None,
        }
    }

    /// The session bound to the DPoP key with thumbprint `jkt` (RFC 9449 §5).
    #[must_use]
    pub fn with_dpop_key(mut self, jkt: impl Into<String>) -> Self {
        self.dpop_jkt = Some(jkt.into());
        self
    }
}

/// A live family as a store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// The family's id, for [`RefreshTokenStore::revoke_family`]: 128 random bits,
    /// base64url (the Redis store puts a tag of the subject in front). Not a secret, it
    /// cannot be presented as a token.
    pub family: String,
    /// What the family stands for.
    pub session: Session,
}

/// A successful rotation: the successor token and the family it continues. Returned by
/// [`RefreshTokenStore::rotate`] and, with the new access token's scope, by [`refresh`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// The new current token of the family; give it to the client.
    pub token: RefreshToken,
    /// The family.
    pub record: RefreshRecord,
}

/// Where refresh-token families live. Implementations must make
/// [`rotate`](Self::rotate) atomic: under any number of concurrent calls with the same
/// token, at most one succeeds.
///
/// Methods return [`BoxFuture`]s so that `dyn RefreshTokenStore` works; `Arc<S>`
/// implements the trait when `S` does.
pub trait RefreshTokenStore: Send + Sync {
    /// Starts a new family for `session` and returns its first token.
    fn issue<'a>(&'a self, session: &'a Session)
        -> BoxFuture<'a, Result<RefreshToken, StoreError>>;

    /// The family of `token` if the token is known (current *or* already used), the
    /// family is not revoked and not expired. Reads only: it neither consumes the token
    /// nor detects reuse. Lets a token endpoint check the client and the requested
    /// scopes before [`rotate`](Self::rotate) spends the token.
    fn lookup<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshRecord>, StoreError>>;

    /// Atomically spends `token`: if it is the current token of a live family, marks
    /// it used and returns its successor; if it was used before, revokes the family and
    /// answers [`RefreshError::Reused`]; otherwise [`RefreshError::InvalidGrant`]
    /// (never [`RefreshError::InvalidScope`]: rotation does not look at scopes).
    fn rotate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Rotated, RefreshError>>;

    /// Revokes the family of `token` (RFC 7009 §2.1: revoking a refresh token revokes
    /// the grant). `Ok(false)` if the token is unknown.
    fn revoke<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Revokes a family by id (logout). `Ok(false)` if it is unknown.
    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
}

impl<S: RefreshTokenStore + ?Sized> RefreshTokenStore for Arc<S> {
    fn issue<'a>(
        &'a self,
        session: &'a Session,
    ) -> BoxFuture<'a, Result<RefreshToken, StoreError>> {
        (**self).issue(session)
    }
    fn lookup<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<RefreshRecord>, StoreError>> {
        (**self).lookup(token)
    }
    fn rotate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Rotated, RefreshError>> {
        (**self).rotate(token)
    }
    fn revoke<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).revoke(token)
    }
    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).revoke_family(family)
    }
}

/// Why a refresh token could not be used, by [`refresh`] or
/// [`RefreshTokenStore::rotate`], with the RFC 6749 §5.2 code to answer (one per
/// variant, see [`code`](Self::code)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshError {
    /// Unknown, expired or revoked token, or a token issued to another client:
    /// `invalid_grant`.
    InvalidGrant,
    /// A used token was presented again; the family is revoked: `invalid_grant`. Worth
    /// a security log line (without the token).
    Reused,
    /// The requested scopes exceed the granted ones: `invalid_scope`. The token was not
    /// spent.
    InvalidScope,
    /// The store failed: answer `503` / `temporarily_unavailable`.
    Store(StoreError),
}

impl RefreshError {
    /// The RFC 6749 §5.2 `error` code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidGrant | Self::Reused => "invalid_grant",
            Self::InvalidScope => "invalid_scope",
            Self::Store(_) => "temporarily_unavailable",
        }
    }
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidGrant => f.write_str("refresh token is invalid, expired or revoked"),
            Self::Reused => f.write_str("refresh token was reused; its family is revoked"),
            Self::InvalidScope => f.write_str("requested scope exceeds the granted scope"),
            Self::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RefreshError {}

impl From<StoreError> for RefreshError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// The state side of the `refresh_token` grant (RFC 6749 §6) for an authenticated
/// `client_id`: checks that the token belongs to that client and that `requested_scope`
/// only narrows, then rotates.
///
/// Neither a token of another client nor a scope request that is too wide spends the
/// token. Returns the rotation and the new access token's scope (the requested subset,
/// space-separated): the token endpoint then signs an access token for
/// `record.session.subject` with that scope, and returns the rotation's `token` as
/// `refresh_token` alongside.
///
/// # Errors
///
/// See [`RefreshError`]; each maps to one RFC 6749 §5.2 code.
pub async fn refresh<S: RefreshTokenStore + ?Sized>(
    store: &S,
    token: &str,
    client_id: &str,
    requested_scope: Option<&str>,
) -> Result<(Rotated, String), RefreshError> {
    let record = store
        .lookup(token)
        .await
        .map_err(RefreshError::Store)?
        .ok_or(RefreshError::InvalidGrant)?;
    if !crate::store::client_id_eq(&record.session.client_id, client_id) {
        return Err(RefreshError::InvalidGrant);
    }
    let scope = narrow_scopes(&record.session.scope, requested_scope)
        .map_err(|_| RefreshError::InvalidScope)?;
    // The family's client and scopes never change, so the checks above still hold;
    // whether the token is still current is decided atomically here.
    let rotated = store.rotate(token).await?;
    Ok((rotated, scope))
}
