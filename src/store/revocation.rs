//! Revoked access tokens ([`RevocationStore`]) and the logic of an RFC 7009
//! revocation endpoint ([`revoke_token`]).

use std::sync::Arc;

use super::feed::RevocationFeed;
use super::refresh::RefreshTokenStore;
use super::{client_id_eq, now, BoxFuture, StoreError};
use crate::claims::HasJti;
use crate::validate::{TokenValidator, Validation};

/// How long a revoked access token without `exp` stays on the list: one day.
pub(crate) const NO_EXP_REVOCATION_SECS: i64 = 24 * 60 * 60;

/// Where revoked access-token ids (`jti`) are kept until the tokens expire.
///
/// Read by [`RevocationCheck`](crate::validate::RevocationCheck) on a local cache miss.
/// `Arc<S>` implements the trait when `S` does.
pub trait RevocationStore: Send + Sync {
    /// Marks `jti` revoked until `until` (seconds since the epoch, normally the token's
    /// `exp`); after that the token is refused for being expired anyway, so the entry
    /// may go. A past `until` does nothing.
    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>>;

    /// `true` if `jti` is revoked.
    fn is_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Where this store pushes the revocations it learns of (its own at once, other
    /// nodes' through a push channel), if it does: a
    /// [`RevocationCheck`](crate::validate::RevocationCheck) built on the store listens
    /// there. `None` (the default): the check polls.
    fn feed(&self) -> Option<RevocationFeed> {
        None
    }
}

impl<S: RevocationStore + ?Sized> RevocationStore for Arc<S> {
    fn revoke_jti<'a>(&'a self, jti: &'a str, until: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).revoke_jti(jti, until)
    }
    fn is_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).is_revoked(jti)
    }
    fn feed(&self) -> Option<RevocationFeed> {
        (**self).feed()
    }
}

/// The RFC 7009 §2.1 `token_type_hint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    /// `access_token`
    AccessToken,
    /// `refresh_token`
    RefreshToken,
}

impl TokenTypeHint {
    /// Parses the form value; unknown values give `None`, which RFC 7009 lets a server
    /// treat as no hint (the search then covers both kinds anyway).
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "access_token" => Some(Self::AccessToken),
            "refresh_token" => Some(Self::RefreshToken),
            _ => None,
        }
    }
}

/// What [`revoke_token`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokeOutcome {
    /// A refresh token's family was revoked.
    RefreshFamilyRevoked,
    /// An access token's `jti` was put on the revocation list.
    AccessTokenRevoked,
    /// Not a token this server knows (unknown, expired, invalid, or an access token
    /// without `jti`). RFC 7009 §2.2: answer `200` all the same.
    Unknown,
    /// A live refresh token of *another* client; nothing was revoked. RFC 7009 §2.1
    /// says to refuse the request: answer `400` with RFC 6749 §5.2 `invalid_grant`
    /// ("issued to another client").
    WrongClient,
}

/// The logic of an RFC 7009 revocation endpoint, for the authenticated `client_id`.
///
/// Looks `token` up as a refresh token (revoking its whole family, §2.1) and, failing
/// that, validates it as an access token with `validator` and revokes its `jti` until
/// its `exp`. The hint only chooses which is tried first (§2.1). Refresh tokens are
/// checked against `client_id`; access tokens are not (anyone holding a valid access
/// token may as well get it revoked).
///
/// The endpoint answers `200` for every outcome but
/// [`WrongClient`](RevokeOutcome::WrongClient) (see there).
///
/// # Errors
///
/// [`StoreError`] if a store failed: answer `503` (RFC 7009 §2.2.1), the client retries.
pub async fn revoke_token<V, R, Q>(
    token: &str,
    hint: Option<TokenTypeHint>,
    client_id: &str,
    validator: &V,
    refresh_tokens: &R,
    revocations: &Q,
) -> Result<RevokeOutcome, StoreError>
where
    V: TokenValidator,
    V::Claims: HasJti,
    R: RefreshTokenStore + ?Sized,
    Q: RevocationStore + ?Sized,
{
    let refresh_first = hint != Some(TokenTypeHint::AccessToken);
    if refresh_first {
        if let Some(outcome) = revoke_refresh(token, client_id, refresh_tokens).await? {
            return Ok(outcome);
        }
    }
    let claims = match validator.validate(token) {
        Validation::Ready(result) => result,
        Validation::Pending(future) => future.await,
    };
    if let Ok(claims) = claims {
        if let Some(jti) = claims.jti() {
            let until = claims
                .expires_at()
                .unwrap_or_else(|| now().saturating_add(NO_EXP_REVOCATION_SECS));
            revocations.revoke_jti(jti, until).await?;
            return Ok(RevokeOutcome::AccessTokenRevoked);
        }
    }
    if !refresh_first {
        if let Some(outcome) = revoke_refresh(token, client_id, refresh_tokens).await? {
            return Ok(outcome);
        }
    }
    Ok(RevokeOutcome::Unknown)
}

async fn revoke_refresh<R: RefreshTokenStore + ?Sized>(
    token: &str,
    client_id: &str,
    store: &R,
) -> Result<Option<RevokeOutcome>, StoreError> {
    let Some(record) = store.lookup(token).await? else {
        return Ok(None);
    };
    if !client_id_eq(&record.session.client_id, client_id) {
        return Ok(Some(RevokeOutcome::WrongClient));
    }
    store.revoke_family(&record.family).await?;
    Ok(Some(RevokeOutcome::RefreshFamilyRevoked))
}
