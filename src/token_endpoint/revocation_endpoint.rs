//! [`RevocationEndpoint`]: the RFC 7009 token revocation endpoint as a Tower service.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;

use super::error::{json_response, TokenError};
use super::service::{authenticated_client, client_identity, read_urlencoded_form};
use crate::claims::HasJti;
use crate::store::{
    revoke_token, ClientStore, RefreshTokenStore, RevocationStore, RevokeOutcome, TokenTypeHint,
};
use crate::validate::TokenValidator;

/// RFC 7009 token revocation (`POST /revoke`, form `token` and optional
/// `token_type_hint`) as a Tower service.
///
/// A refresh token revokes its whole rotation family; an access token (validated with
/// the same validator the API uses, so its `jti` and `exp` are trusted) is put on the
/// [`RevocationStore`] until it expires, where a
/// [`RevocationCheck`](crate::validate::RevocationCheck) in front of the API finds it.
/// Unknown, expired or foreign-format tokens answer `200` with an empty body (§2.2);
/// a refresh token of another client is `400 invalid_grant`; a store failure is `503`.
///
/// With [`with_clients`](Self::with_clients) the client must authenticate (HTTP Basic
/// or body credentials, §2.1); without it, the `client_id` the request names (or none)
/// is used to match refresh tokens. With
/// [`with_optional_clients`](Self::with_optional_clients), tokens issued without a
/// client are revoked by anyone holding them, and tokens issued to a client (a refresh
/// session of that client, an access token with its `client_id`) only by that client,
/// authenticated (`401 invalid_client` without credentials).
///
/// Revoking a refresh token also ends its session: access tokens whose `sid` is its
/// family are refused by a [`RevocationCheck`](crate::validate::RevocationCheck) on the
/// same revocation store (at once on this node when given the check's
/// [`local_revocations`](crate::validate::RevocationCheck::local_revocations)).
pub struct RevocationEndpoint<V> {
    inner: Arc<Inner<V>>,
    clients: Option<Arc<dyn ClientStore>>,
    optional_clients: bool,
}

struct Inner<V> {
    validator: V,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    revocations: Arc<dyn RevocationStore>,
}

impl<V> Clone for RevocationEndpoint<V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            clients: self.clients.clone(),
            optional_clients: self.optional_clients,
        }
    }
}

impl<V> fmt::Debug for RevocationEndpoint<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationEndpoint")
            .field("client_authentication", &self.clients.is_some())
            .finish_non_exhaustive()
    }
}

impl<V> RevocationEndpoint<V>
where
    V: TokenValidator + Send + Sync + 'static,
    V::Claims: HasJti,
{
    /// An endpoint validating access tokens with `validator`, revoking refresh-token
    /// families in `refresh_tokens` and access-token ids in `revocations`.
    pub fn new(
        validator: V,
        refresh_tokens: Arc<dyn RefreshTokenStore>,
        revocations: Arc<dyn RevocationStore>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                validator,
                refresh_tokens,
                revocations,
            }),
            clients: None,
            optional_clients: false,
        }
    }

    /// Requires client authentication against `clients` (RFC 7009 §2.1).
    #[must_use]
    pub fn with_clients(self, clients: Arc<dyn ClientStore>) -> Self {
        Self {
            clients: Some(clients),
            optional_clients: false,
            ..self
        }
    }

    /// Authenticates clients against `clients` when a request carries client
    /// credentials (wrong ones are `401 invalid_client`), and lets requests without
    /// any revoke the tokens issued without a client. A token issued to a client is
    /// revoked only by that client, authenticated.
    #[must_use]
    pub fn with_optional_clients(self, clients: Arc<dyn ClientStore>) -> Self {
        Self {
            clients: Some(clients),
            optional_clients: true,
            ..self
        }
    }
}

post_only_service!(RevocationEndpoint<V> where [
    V: TokenValidator + Send + Sync + 'static,
    V::Claims: HasJti,
], |this, request| {
    let inner = Arc::clone(&this.inner);
    let clients = this.clients.clone();
    let optional = this.optional_clients;
    async move {
        inner
            .handle(request, clients.as_deref(), optional)
            .await
            .unwrap_or_else(TokenError::into_response)
    }
});

impl<V> Inner<V>
where
    V: TokenValidator + Send + Sync + 'static,
    V::Claims: HasJti,
{
    async fn handle<B>(
        &self,
        request: Request<B>,
        clients: Option<&dyn ClientStore>,
        optional: bool,
    ) -> Result<Response<Full<Bytes>>, TokenError>
    where
        B: Body + Send,
        B::Data: Send,
    {
        let (parts, body) = request.into_parts();
        let headers = &parts.headers;
        let form = read_urlencoded_form(headers, body).await?;
        let client_id = match clients {
            Some(_) if optional && !names_client(headers, &form) => String::new(),
            Some(clients) => authenticated_client(clients, headers, &form)
                .await?
                .id()
                .to_owned(),
            None => client_identity(headers, &form),
        };
        let token = form.token.as_deref().ok_or(TokenError::MissingToken)?;
        let hint = form
            .token_type_hint
            .as_deref()
            .and_then(TokenTypeHint::parse);
        let outcome = revoke_token(
            token,
            hint,
            &client_id,
            &self.validator,
            &*self.refresh_tokens,
            &*self.revocations,
        )
        .await
        .map_err(|_| TokenError::TemporarilyUnavailable)?;
        match outcome {
            RevokeOutcome::WrongClient | RevokeOutcome::WrongClientAccessToken
                if optional && client_id.is_empty() =>
            {
                // A client's token: that client must authenticate.
                Err(TokenError::InvalidClient { basic: false })
            }
            RevokeOutcome::WrongClient | RevokeOutcome::WrongClientAccessToken => {
                Err(TokenError::InvalidRefreshToken)
            }
            _ => Ok(json_response(StatusCode::OK, Vec::new())),
        }
    }
}

/// `true` if the request names a client: HTTP Basic with a non-empty id (Swagger UI's
/// empty `Basic Og==` names none), or `client_id` / `client_secret` in the body.
fn names_client(headers: &http::HeaderMap, form: &super::form::TokenForm) -> bool {
    form.client_id.is_some()
        || form.client_secret.is_some()
        || !client_identity(headers, form).is_empty()
}
