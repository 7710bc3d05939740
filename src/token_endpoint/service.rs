//! [`TokenEndpoint`]: the Tower service answering `POST /token`.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::{json_response, TokenError};
use super::form::{self, TokenForm};
use super::issuer::TokenIssuer;
use super::password::{PasswordHasher, VerifyError};
use super::users::UserStore;
use crate::error::{is_scope_token, ConfigError};
use crate::store::{
    client_id_eq, client_key, narrow_scopes, session_revocation_until, Client, ClientStore,
    LoginThrottle, RefreshError, RefreshRecord, RefreshTokenStore, RevocationStore, Session,
};

mod builder;
mod grants;
mod request;

pub use builder::TokenEndpointBuilder;
use request::parse_scope;
pub(crate) use request::{
    authenticated_client, client_identity, declared_length, presented_client, read_body,
    read_urlencoded_form, single_authorization,
};

/// Default upper bound on the request body: 16 KiB.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024;
/// Default time allowed to receive a request body: a client that stalls mid-body is
/// answered `408` instead of holding the request open.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The OAuth2 token endpoint (RFC 6749 §4.3 password grant, §5.1 and §5.2 answers) as
/// a Tower service. See the [module docs](super) for when to use the password grant.
///
/// Mount it at `POST /token` under hyper, axum or a gateway. Built with
/// [`TokenEndpoint::builder`]. Cloning is cheap (one `Arc`).
pub struct TokenEndpoint<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for TokenEndpoint<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for TokenEndpoint<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("TokenEndpoint")
            .field("issuer", &inner.issuer)
            .field("hasher", &inner.hasher)
            .field(
                "clients",
                &inner.clients.as_ref().map(|c| c.keys().collect::<Vec<_>>()),
            )
            .field("lenient_grant_type", &inner.lenient_grant_type)
            .field("max_body", &inner.max_body)
            .field("body_timeout", &inner.body_timeout)
            .field("store", &std::any::type_name::<S>())
            .finish()
    }
}

struct Inner<S> {
    issuer: TokenIssuer,
    store: S,
    hasher: PasswordHasher,
    clients: Option<HashMap<String, ClientSecret>>,
    password_grant: bool,
    refresh: Option<RefreshConfig>,
    client_store: Option<Arc<dyn ClientStore>>,
    revocations: Option<Arc<dyn RevocationStore>>,
    lenient_grant_type: bool,
    max_body: usize,
    body_timeout: Duration,
    dpop: Option<crate::dpop::Dpop>,
    throttle: Option<Arc<dyn LoginThrottle>>,
}

#[derive(Clone)]
struct RefreshConfig {
    store: Arc<dyn RefreshTokenStore>,
    lifetime: Duration,
}

#[derive(Clone)]
enum ClientSecret {
    Public,
    /// SHA-256 of the secret, compared in constant time.
    Confidential([u8; 32]),
}

post_only_service!(TokenEndpoint<S> where [S: UserStore,], |this, request| {
    let inner = Arc::clone(&this.inner);
    async move {
        inner
            .handle(request)
            .await
            .unwrap_or_else(|error| inner.refusal(error))
    }
});

#[derive(serde::Serialize)]
struct Success<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
}

impl<S: UserStore> Inner<S> {
    async fn handle<B>(&self, request: Request<B>) -> Result<Response<Full<Bytes>>, TokenError>
    where
        B: Body + Send,
        B::Data: Send,
    {
        let (parts, body) = request.into_parts();
        let headers = &parts.headers;
        let address = parts
            .extensions
            .get::<SocketAddr>()
            .map(|a| client_key(a.ip()));
        if declared_length(headers).is_some_and(|len| len > self.max_body as u64) {
            return Err(TokenError::PayloadTooLarge);
        }
        let mut content_types = headers.get_all(CONTENT_TYPE).iter();
        let content_type = content_types.next().map(|v| v.as_bytes());
        if content_types.next().is_some() {
            return Err(TokenError::UnsupportedMediaType);
        }
        let encoding = form::encoding(content_type)?;
        let proof = self.dpop_proof(&parts).await?;
        let jkt = proof.as_ref().map(crate::dpop::Proof::jkt);
        let bytes = read_body(body, self.max_body, self.body_timeout).await?;
        let form = form::decode(encoding, bytes).await?;
        self.authenticate_client(headers, &form)?;
        match form.grant_type.as_deref() {
            Some("refresh_token") if self.refresh.is_some() => {
                let client_id = client_identity(headers, &form);
                self.refresh_grant(form, &client_id, jkt).await
            }
            Some("client_credentials") if self.client_store.is_some() => {
                self.client_credentials_grant(headers, form, jkt).await
            }
            Some("password") | None if self.password_grant => {
                let client_id = client_identity(headers, &form);
                self.password_grant(form, &client_id, jkt, address.as_deref())
                    .await
            }
            None if !self.password_grant => Err(TokenError::MissingGrantType),
            _ => Err(TokenError::UnsupportedGrantType),
        }
    }

    /// The request's DPoP proof, checked and recorded; `None` without one (or with DPoP
    /// off).
    async fn dpop_proof(
        &self,
        parts: &http::request::Parts,
    ) -> Result<Option<crate::dpop::Proof>, TokenError> {
        let Some(dpop) = &self.dpop else {
            return Ok(None);
        };
        if !parts.headers.contains_key(&crate::dpop::DPOP) {
            return Ok(None);
        }
        let proof = dpop
            .check(&parts.headers, &parts.method, parts.uri.path(), None)
            .map_err(TokenError::from)?;
        match proof.record().await {
            Ok(()) => Ok(Some(proof)),
            Err(Ok(error)) => Err(error.into()),
            Err(Err(_)) => Err(TokenError::TemporarilyUnavailable),
        }
    }

    /// The §5.2 answer, with a fresh `DPoP-Nonce` for `use_dpop_nonce`.
    fn refusal(&self, error: TokenError) -> Response<Full<Bytes>> {
        let mut response = error.into_response();
        if error == TokenError::UseDpopNonce {
            let nonce = self
                .dpop
                .as_ref()
                .and_then(crate::dpop::Dpop::current_nonce);
            if let Some(nonce) = nonce.and_then(|n| http::HeaderValue::try_from(n).ok()) {
                response
                    .headers_mut()
                    .insert(crate::dpop::DPOP_NONCE.clone(), nonce);
            }
        }
        response
    }

    fn success(
        &self,
        subject: &str,
        scope: &str,
        mut extra: serde_json::Map<String, serde_json::Value>,
        refresh_token: Option<&str>,
        jkt: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, TokenError> {
        if let Some(jkt) = jkt {
            // RFC 9449 §6.1: the token is bound to the proof's key.
            extra.insert("cnf".into(), serde_json::json!({ "jkt": jkt }));
        }
        let issued = self.issuer.issue(subject, scope, extra)?;
        let body = serde_json::to_vec(&Success {
            access_token: &issued.token,
            token_type: if jkt.is_some() { "DPoP" } else { "bearer" },
            expires_in: issued.expires_in,
            scope,
            refresh_token,
        })
        .map_err(|_| TokenError::TemporarilyUnavailable)?;
        Ok(json_response(StatusCode::OK, body))
    }
}

#[cfg(test)]
mod tests {
    use super::request::{parse_basic, Basic};
    use super::*;

    #[test]
    fn basic_form_encoded_ok() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:p%3Ass+word"));
        match parse_basic(header.as_bytes()) {
            Basic::Credentials(id, secret) => {
                assert_eq!(id, "my app");
                assert_eq!(secret, "p:ss word");
            }
            _ => panic!("not parsed"),
        }
        assert!(matches!(parse_basic(b"Basic !!!"), Basic::Malformed));
        assert!(matches!(parse_basic(b"Bearer x"), Basic::OtherScheme));
    }

    #[test]
    fn scope_invalid_token_fails() {
        assert_eq!(parse_scope("a  b a").unwrap(), ["a", "b"]);
        assert_eq!(parse_scope("a\"b").unwrap_err(), TokenError::InvalidScope);
    }
}
