//! The grants: refresh token (RFC 6749 §6), client credentials (§4.4) and password
//! (§4.3), each from a parsed form to a §5.1 answer.

use super::*;
use crate::token_endpoint::User;

impl<S: UserStore> Inner<S> {
    /// The refresh grant (RFC 6749 §6) with the user looked up again: a user who is
    /// gone or disabled ends the session (`invalid_grant`); the scopes are the
    /// requested (or original) ones the user may still have; the user store's extra
    /// claims are applied afresh.
    pub(super) async fn refresh_grant(
        &self,
        form: TokenForm,
        client_id: &str,
        jkt: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, TokenError> {
        let Some(config) = &self.refresh else {
            return Err(TokenError::UnsupportedGrantType);
        };
        let token = form
            .refresh_token
            .as_deref()
            .ok_or(TokenError::MissingRefreshToken)?;
        if let Some(scope) = &form.scope {
            parse_scope(scope)?;
        }
        let record = Self::refresh_record(config, token, client_id, jkt).await?;
        // Neither a foreign token nor a too-wide scope spends the token.
        let narrowed = narrow_scopes(&record.session.scope, form.scope.as_deref())
            .map_err(|_| TokenError::InvalidScope)?;
        let user = self
            .store
            .find_user(&record.session.subject)
            .await
            .map_err(|_| TokenError::TemporarilyUnavailable)?;
        let user = match user {
            Some(user) if !user.is_disabled() => user,
            _ => {
                self.end_session(config, &record).await?;
                return Err(TokenError::InvalidRefreshToken);
            }
        };
        let scope = narrowed
            .split(' ')
            .filter(|s| !s.is_empty() && user.scopes().iter().any(|own| own == s))
            .collect::<Vec<_>>()
            .join(" ");
        let rotated = match config.store.rotate(token).await {
            Ok(rotated) => rotated,
            Err(RefreshError::Reused) => {
                // The store revoked the family; its access tokens end too.
                self.end_session(config, &record).await?;
                return Err(TokenError::InvalidRefreshToken);
            }
            Err(RefreshError::Store(_)) => return Err(TokenError::TemporarilyUnavailable),
            Err(_) => return Err(TokenError::InvalidRefreshToken),
        };
        let mut extra = self.store.extra_claims(&user);
        self.session_claims(&mut extra, &rotated.record, client_id);
        self.success(
            &rotated.record.session.subject,
            &scope,
            extra,
            Some(rotated.token.as_str()),
            jkt,
        )
    }

    /// The session of a refresh token presented by `client_id` (with the DPoP key
    /// `jkt`, if any): unknown tokens, another client's and another key's are all
    /// `invalid_grant` alike, and none of them spends the token.
    async fn refresh_record(
        config: &RefreshConfig,
        token: &str,
        client_id: &str,
        jkt: Option<&str>,
    ) -> Result<RefreshRecord, TokenError> {
        let record = config
            .store
            .lookup(token)
            .await
            .map_err(|_| TokenError::TemporarilyUnavailable)?
            .ok_or(TokenError::InvalidRefreshToken)?;
        if !client_id_eq(&record.session.client_id, client_id)
            || !same_dpop_key(record.session.dpop_jkt.as_deref(), jkt)
        {
            return Err(TokenError::InvalidRefreshToken);
        }
        Ok(record)
    }

    /// Ends a session: its refresh-token family, and (with
    /// [`with_revocations`](TokenEndpointBuilder::with_revocations)) its access tokens.
    pub(super) async fn end_session(
        &self,
        config: &RefreshConfig,
        record: &RefreshRecord,
    ) -> Result<(), TokenError> {
        config
            .store
            .revoke_family(&record.family)
            .await
            .map_err(|_| TokenError::TemporarilyUnavailable)?;
        if let Some(revocations) = &self.revocations {
            revocations
                .revoke_session(record.family.as_str(), session_revocation_until(record))
                .await
                .map_err(|_| TokenError::TemporarilyUnavailable)?;
        }
        Ok(())
    }

    /// `sid` (the refresh family) and, for an authenticated registered client,
    /// `client_id`: set over whatever the user store's extra claims said.
    pub(super) fn session_claims(
        &self,
        extra: &mut serde_json::Map<String, serde_json::Value>,
        record: &RefreshRecord,
        client_id: &str,
    ) {
        extra.insert("sid".into(), record.family.as_str().into());
        self.client_claim(extra, client_id);
    }

    /// `client_id` when the client was authenticated (registered clients), else
    /// removed: an unauthenticated name is no claim (RFC 9068 §2.2).
    pub(super) fn client_claim(
        &self,
        extra: &mut serde_json::Map<String, serde_json::Value>,
        client_id: &str,
    ) {
        if self.clients.is_some() && !client_id.is_empty() {
            extra.insert("client_id".into(), client_id.into());
        } else {
            extra.remove("client_id");
        }
    }

    pub(super) async fn client_credentials_grant(
        &self,
        headers: &HeaderMap,
        form: TokenForm,
        jkt: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, TokenError> {
        let Some(clients) = &self.client_store else {
            return Err(TokenError::UnsupportedGrantType);
        };
        let client = authenticated_client(&**clients, headers, &form).await?;
        if let Some(scope) = &form.scope {
            parse_scope(scope)?;
        }
        let scope = client
            .grant_scope(form.scope.as_deref())
            .map_err(|_| TokenError::InvalidScope)?;
        // RFC 9068 §2.2: `sub` is the client itself, and `client_id` says so.
        let mut extra = serde_json::Map::new();
        extra.insert("client_id".into(), client.id().into());
        self.success(client.id(), &scope, extra, None, jkt)
    }

    pub(super) fn authenticate_client(
        &self,
        headers: &HeaderMap,
        form: &TokenForm,
    ) -> Result<(), TokenError> {
        let Some(clients) = &self.clients else {
            // No registered clients: identification is accepted and ignored.
            single_authorization(headers)?;
            return Ok(());
        };
        let presented = presented_client(headers, form)?;
        let secret = presented.secret.as_deref().unwrap_or_default();
        let ok = match clients.get(&presented.id) {
            Some(ClientSecret::Public) => secret.is_empty(),
            Some(ClientSecret::Confidential(expected)) => {
                let given: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
                bool::from(given.ct_eq(expected))
            }
            None => false,
        };
        if ok {
            Ok(())
        } else {
            Err(presented.refused())
        }
    }

    pub(super) async fn password_grant(
        &self,
        form: TokenForm,
        client_id: &str,
        jkt: Option<&str>,
        address: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, TokenError> {
        match form.grant_type.as_deref() {
            Some("password") => {}
            None if self.lenient_grant_type => {}
            None => return Err(TokenError::MissingGrantType),
            Some(_) => return Err(TokenError::UnsupportedGrantType),
        }
        let username = form.username.ok_or(TokenError::MissingUsername)?;
        let password = form.password.ok_or(TokenError::MissingPassword)?;
        let requested = match &form.scope {
            Some(scope) => Some(parse_scope(scope)?),
            None => None,
        };

        let user = self.authenticate_user(&username, password, address).await?;
        let scope = granted_scope(user.scopes(), requested.as_deref())?;
        let mut extra = self.store.extra_claims(&user);
        self.client_claim(&mut extra, client_id);
        let refresh_token = match &self.refresh {
            Some(config) => Some(
                self.start_session(config, user.username(), client_id, &scope, jkt, &mut extra)
                    .await?,
            ),
            None => None,
        };
        self.success(
            user.username(),
            &scope,
            extra,
            refresh_token.as_deref(),
            jkt,
        )
    }

    /// The user whose password this is, counted by the login throttle; unknown users
    /// cost the same hashing (no enumeration by timing).
    async fn authenticate_user(
        &self,
        username: &str,
        password: String,
        address: Option<&str>,
    ) -> Result<User<S::Profile>, TokenError> {
        if let Some(throttle) = &self.throttle {
            let throttled = throttle
                .check(username, address)
                .await
                .map_err(|_| TokenError::TemporarilyUnavailable)?;
            if let Some(retry_after) = throttled {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                return Err(TokenError::TooManyAttempts {
                    retry_after: u32::try_from(secs).unwrap_or(u32::MAX).max(1),
                });
            }
        }
        let user = self
            .store
            .find_user(username)
            .await
            .map_err(|_| TokenError::TemporarilyUnavailable)?;
        let hash = user.as_ref().map(|u| u.password_hash().to_owned());
        let matches = self
            .hasher
            .verify_login(username, password, hash)
            .await
            .map_err(|e| match e {
                VerifyError::Busy { retry_after } => TokenError::Overloaded { retry_after },
                VerifyError::Unavailable => TokenError::TemporarilyUnavailable,
            })?;
        let user = match user {
            Some(user) if matches && !user.is_disabled() => user,
            _ => {
                if let Some(throttle) = &self.throttle {
                    throttle
                        .failed(username, address)
                        .await
                        .map_err(|_| TokenError::TemporarilyUnavailable)?;
                }
                return Err(TokenError::InvalidGrant);
            }
        };
        if let Some(throttle) = &self.throttle {
            throttle
                .succeeded(username)
                .await
                .map_err(|_| TokenError::TemporarilyUnavailable)?;
        }
        Ok(user)
    }

    /// A new refresh-token session (its family id becomes the access token's `sid`);
    /// the refresh token.
    async fn start_session(
        &self,
        config: &RefreshConfig,
        subject: &str,
        client_id: &str,
        scope: &str,
        jkt: Option<&str>,
        extra: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, TokenError> {
        let lifetime = i64::try_from(config.lifetime.as_secs()).unwrap_or(i64::MAX);
        let mut session = Session::new(
            subject,
            client_id,
            scope,
            crate::store::now().saturating_add(lifetime),
        );
        // RFC 9449 §5: a login with a proof binds its refresh token to that key.
        if let Some(jkt) = jkt {
            session = session.with_dpop_key(jkt);
        }
        let token = config
            .store
            .issue(&session)
            .await
            .map_err(|_| TokenError::TemporarilyUnavailable)?;
        let record = config
            .store
            .lookup(token.as_str())
            .await
            .map_err(|_| TokenError::TemporarilyUnavailable)?
            .ok_or(TokenError::TemporarilyUnavailable)?;
        self.session_claims(extra, &record, client_id);
        Ok(token.into_string())
    }
}

/// The scopes a login gets: the requested ones if the user has them all (else
/// `invalid_scope`), or all of the user's.
fn granted_scope(own: &[String], requested: Option<&[&str]>) -> Result<String, TokenError> {
    match requested {
        Some(requested) if !requested.is_empty() => {
            if requested.iter().all(|s| own.iter().any(|o| o == s)) {
                Ok(requested.join(" "))
            } else {
                Err(TokenError::InvalidScope)
            }
        }
        _ => Ok(own.join(" ")),
    }
}

/// A refresh of a DPoP-bound session needs a proof signed with the session's key (RFC
/// 9449 §5); an unbound session may be refreshed with or without one.
fn same_dpop_key(bound: Option<&str>, presented: Option<&str>) -> bool {
    match (bound, presented) {
        (None, _) => true,
        (Some(bound), Some(presented)) => bound.as_bytes().ct_eq(presented.as_bytes()).into(),
        (Some(_), None) => false,
    }
}
