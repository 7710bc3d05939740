//! [`IntrospectionEndpoint`]: RFC 7662 token introspection as a Tower service.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::{json_response, TokenError};
use super::service::{authenticated_client, read_urlencoded_form};
use crate::error::AuthError;
use crate::store::{ClientStore, RefreshRecord, RefreshTokenStore, StoreError, TokenTypeHint};
use crate::validate::{TokenValidator, Validation};

/// RFC 7662 token introspection (`POST /introspect`, form `token` and optional
/// `token_type_hint`) for the tokens this server issues.
///
/// Only authenticated clients may ask (§2.1: HTTP Basic or body credentials, checked
/// against the [`ClientStore`]); others get `401 invalid_client`. The answer is `200`
/// JSON with `Cache-Control: no-store`:
/// - an access token the validator accepts (use the one the API uses, with its
///   [`RevocationCheck`](crate::validate::RevocationCheck), so revoked tokens are
///   inactive): its claims, `"active": true`, `"token_type": "Bearer"`;
/// - a refresh token of a live session: `"active": true`, `"token_type":
///   "refresh_token"`, `sub`, `client_id`, `scope`, `exp` (the session's end);
/// - anything else (expired, revoked, ended session, garbage, another server's token):
///   `{"active": false}` and nothing more (§2.2).
///
/// A store or validator that cannot answer is `503`. A refresh token already spent by
/// rotation still reports its session while the session lives (stores look spent
/// tokens up to detect reuse); presenting it at the token endpoint fails.
pub struct IntrospectionEndpoint<V> {
    inner: Arc<Inner<V>>,
}

struct Inner<V> {
    validator: V,
    refresh_tokens: Option<Arc<dyn RefreshTokenStore>>,
    clients: Arc<dyn ClientStore>,
}

impl<V> Clone for IntrospectionEndpoint<V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<V> fmt::Debug for IntrospectionEndpoint<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionEndpoint")
            .field("refresh_tokens", &self.inner.refresh_tokens.is_some())
            .finish_non_exhaustive()
    }
}

impl<V> IntrospectionEndpoint<V>
where
    V: TokenValidator,
    V::Claims: Serialize,
{
    /// An endpoint answering for the access tokens `validator` accepts, to the clients
    /// `clients` authenticates.
    pub fn new(validator: V, clients: Arc<dyn ClientStore>) -> Self {
        Self {
            inner: Arc::new(Inner {
                validator,
                refresh_tokens: None,
                clients,
            }),
        }
    }

    /// Also answers for the refresh tokens in `store`.
    #[must_use]
    pub fn with_refresh_tokens(self, store: Arc<dyn RefreshTokenStore>) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            validator: shared.validator.clone(),
            refresh_tokens: shared.refresh_tokens.clone(),
            clients: Arc::clone(&shared.clients),
        });
        Self {
            inner: Arc::new(Inner {
                refresh_tokens: Some(store),
                ..inner
            }),
        }
    }
}

post_only_service!(IntrospectionEndpoint<V> where [
    V: TokenValidator,
    V::Claims: Serialize,
], |this, request| {
    let inner = Arc::clone(&this.inner);
    async move {
        inner
            .handle(request)
            .await
            .unwrap_or_else(TokenError::into_response)
    }
});

const INACTIVE: &[u8] = br#"{"active":false}"#;

impl<V> Inner<V>
where
    V: TokenValidator,
    V::Claims: Serialize,
{
    async fn handle<B>(&self, request: Request<B>) -> Result<Response<Full<Bytes>>, TokenError>
    where
        B: Body + Send,
        B::Data: Send,
    {
        let (parts, body) = request.into_parts();
        let headers = &parts.headers;
        let form = read_urlencoded_form(headers, body).await?;
        authenticated_client(&*self.clients, headers, &form).await?;
        let token = form.token.as_deref().ok_or(TokenError::MissingToken)?;
        let hint = form
            .token_type_hint
            .as_deref()
            .and_then(TokenTypeHint::parse);
        let unavailable = |_: StoreError| TokenError::TemporarilyUnavailable;
        let refresh_first = hint == Some(TokenTypeHint::RefreshToken);
        if refresh_first {
            if let Some(record) = self.lookup_refresh(token).await.map_err(unavailable)? {
                return Ok(active(refresh_answer(&record)));
            }
        }
        if let Some(answer) = self.access_answer(token).await? {
            return Ok(active(answer));
        }
        if !refresh_first {
            if let Some(record) = self.lookup_refresh(token).await.map_err(unavailable)? {
                return Ok(active(refresh_answer(&record)));
            }
        }
        Ok(json_response(StatusCode::OK, INACTIVE.to_vec()))
    }

    async fn lookup_refresh(&self, token: &str) -> Result<Option<RefreshRecord>, StoreError> {
        match &self.refresh_tokens {
            Some(store) => store.lookup(token).await,
            None => Ok(None),
        }
    }

    async fn access_answer(&self, token: &str) -> Result<Option<Map<String, Value>>, TokenError> {
        let outcome = match self.validator.validate(token) {
            Validation::Ready(outcome) => outcome,
            Validation::Pending(future) => future.await,
        };
        match outcome {
            Ok(claims) => {
                let Ok(Value::Object(mut map)) = serde_json::to_value(&claims) else {
                    return Ok(None);
                };
                map.insert("token_type".into(), "Bearer".into());
                Ok(Some(map))
            }
            Err(AuthError::Unavailable) => Err(TokenError::TemporarilyUnavailable),
            Err(_) => Ok(None),
        }
    }
}

fn refresh_answer(record: &RefreshRecord) -> Map<String, Value> {
    let session = &record.session;
    let mut map = Map::new();
    map.insert("token_type".into(), "refresh_token".into());
    map.insert("sub".into(), session.subject.clone().into());
    if !session.client_id.is_empty() {
        map.insert("client_id".into(), session.client_id.clone().into());
    }
    if !session.scope.is_empty() {
        map.insert("scope".into(), session.scope.clone().into());
    }
    map.insert("exp".into(), session.expires_at.into());
    map
}

fn active(mut answer: Map<String, Value>) -> Response<Full<Bytes>> {
    answer.insert("active".into(), Value::Bool(true));
    let body = serde_json::to_vec(&answer).unwrap_or_else(|_| INACTIVE.to_vec());
    json_response(StatusCode::OK, body)
}
