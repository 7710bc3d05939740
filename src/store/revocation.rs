//! Revoked access tokens ([`RevocationStore`]) and the logic of an RFC 7009
//! revocation endpoint ([`revoke_token`]).

use std::sync::Arc;

use super::feed::RevocationFeed;
use super::refresh::{RefreshRecord, RefreshTokenStore};
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

    /// Ends session `sid` (a refresh-token family id, the access tokens' `sid` claim)
    /// until `until`: every access token carrying it is refused from then on. By
    /// default kept among the token ids as `sid:{sid}` (the memory and Redis stores
    /// keep sessions apart).
    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.revoke_jti(&format!("sid:{sid}"), until).await })
    }

    /// `true` if session `sid` was ended.
    fn is_session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { self.is_revoked(&format!("sid:{sid}")).await })
    }

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
    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).revoke_session(sid, until)
    }
    fn is_session_revoked<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).is_session_revoked(sid)
    }
    fn feed(&self) -> Option<RevocationFeed> {
        (**self).feed()
    }
}

/// How long an ended session is remembered past the family's own expiry (or past now,
/// if later): access tokens issued from it live at most this much longer. One day, as
/// for revoked access tokens without `exp`; access tokens living longer than a day are
/// not covered past that.
pub(crate) const SESSION_REVOCATION_MARGIN_SECS: i64 = NO_EXP_REVOCATION_SECS;

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
    /// A live access token issued to *another* client (its `client_id` claim); nothing
    /// was revoked. Answered like [`WrongClient`](Self::WrongClient).
    WrongClientAccessToken,
    /// A live refresh token of *another* client; nothing was revoked. RFC 7009 §2.1
    /// says to refuse the request: answer `400` with RFC 6749 §5.2 `invalid_grant`
    /// ("issued to another client").
    WrongClient,
}

/// The logic of an RFC 7009 revocation endpoint, for the authenticated `client_id`.
///
/// Looks `token` up as a refresh token (revoking its whole family, §2.1, and ending the
/// session: every access token whose `sid` is the family is refused from then on) and,
/// failing that, validates it as an access token with `validator` and revokes its `jti`
/// until its `exp`. The hint only chooses which is tried first (§2.1). Refresh tokens are
/// checked against `client_id`; access tokens only when they carry a `client_id` claim
/// (a token issued without a client may be revoked by anyone holding it).
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
        if let Some(outcome) = revoke_refresh(token, client_id, refresh_tokens, revocations).await?
        {
            return Ok(outcome);
        }
    }
    let claims = match validator.validate(token) {
        Validation::Ready(result) => result,
        Validation::Pending(future) => future.await,
    };
    if let Ok(claims) = claims {
        if claims
            .client_id()
            .is_some_and(|owner| !client_id_eq(owner, client_id))
        {
            return Ok(RevokeOutcome::WrongClientAccessToken);
        }
        if let Some(jti) = claims.jti() {
            let until = claims
                .expires_at()
                .unwrap_or_else(|| now().saturating_add(NO_EXP_REVOCATION_SECS));
            revocations.revoke_jti(jti, until).await?;
            return Ok(RevokeOutcome::AccessTokenRevoked);
        }
    }
    if !refresh_first {
        if let Some(outcome) = revoke_refresh(token, client_id, refresh_tokens, revocations).await?
        {
            return Ok(outcome);
        }
    }
    Ok(RevokeOutcome::Unknown)
}

/// Until when an ended session must be remembered (see
/// [`SESSION_REVOCATION_MARGIN_SECS`]).
#[cfg_attr(not(feature = "token-endpoint"), allow(dead_code))]
pub(crate) fn session_revocation_until(record: &RefreshRecord) -> i64 {
    record
        .session
        .expires_at
        .max(now())
        .saturating_add(SESSION_REVOCATION_MARGIN_SECS)
}

async fn revoke_refresh<R, Q>(
    token: &str,
    client_id: &str,
    store: &R,
    revocations: &Q,
) -> Result<Option<RevokeOutcome>, StoreError>
where
    R: RefreshTokenStore + ?Sized,
    Q: RevocationStore + ?Sized,
{
    let Some(record) = store.lookup(token).await? else {
        return Ok(None);
    };
    if !client_id_eq(&record.session.client_id, client_id) {
        return Ok(Some(RevokeOutcome::WrongClient));
    }
    store.revoke_family(&record.family).await?;
    revocations
        .revoke_session(record.family.as_str(), session_revocation_until(&record))
        .await?;
    Ok(Some(RevokeOutcome::RefreshFamilyRevoked))
}
