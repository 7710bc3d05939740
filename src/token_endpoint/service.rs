//! [`TokenEndpoint`]: the Tower service answering `POST /token`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_service::Service;

use super::error::{json_response, BadRequest, TokenError};
use super::form::{self, TokenForm};
use super::issuer::TokenIssuer;
use super::password::{PasswordHasher, VerifyError};
use super::users::UserStore;
use crate::error::{is_scope_token, ConfigError};
use crate::store::{
    client_id_eq, client_key, narrow_scopes, session_revocation_until, ClientStore, LoginThrottle,
    RefreshRecord, RefreshTokenStore, RevocationStore, RotateError, Session,
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

/// Builds a [`TokenEndpoint`]. Nothing is enabled until you choose a grant.
#[must_use]
pub struct TokenEndpointBuilder<S> {
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

impl<S> fmt::Debug for TokenEndpointBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpointBuilder")
            .field("issuer", &self.issuer)
            .field("password_grant", &self.password_grant)
            .field("refresh_tokens", &self.refresh.as_ref().map(|r| r.lifetime))
            .field("client_credentials", &self.client_store.is_some())
            .field("lenient_grant_type", &self.lenient_grant_type)
            .field("max_body", &self.max_body)
            .field("body_timeout", &self.body_timeout)
            .finish_non_exhaustive()
    }
}

impl<S: UserStore> TokenEndpoint<S> {
    /// Starts a builder issuing tokens with `issuer` for users of `store`.
    pub fn builder(issuer: TokenIssuer, store: S) -> TokenEndpointBuilder<S> {
        TokenEndpointBuilder {
            issuer,
            store,
            hasher: PasswordHasher::new(),
            clients: None,
            password_grant: false,
            refresh: None,
            client_store: None,
            revocations: None,
            lenient_grant_type: false,
            max_body: DEFAULT_MAX_BODY,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            dpop: None,
            throttle: None,
        }
    }

    /// The user store.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The password hasher (hash passwords for the store with the same parameters).
    #[must_use]
    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }
}

impl<S: UserStore> TokenEndpointBuilder<S> {
    /// Enables the resource owner password credentials grant (RFC 6749 §4.3).
    ///
    /// RFC 9700 (OAuth 2.0 Security BCP, §2.4) says this grant MUST NOT be used: the
    /// client sees the user's password, and it cannot carry multi-factor or federated
    /// login. It stays reasonable for a first-party app whose own login form talks to
    /// its own API (the FastAPI tutorial setup), and for migrating such apps; for
    /// third-party clients use the authorization code grant with PKCE from a real
    /// authorization server.
    pub fn allow_password_grant(mut self) -> Self {
        self.password_grant = true;
        self
    }

    /// Enables refresh tokens (RFC 6749 §6), off by default.
    ///
    /// Password-grant answers then carry a `refresh_token` valid for `lifetime`, and
    /// `grant_type=refresh_token` is accepted. Refresh tokens are rotated on every use
    /// and a reused one revokes its whole family, as RFC 9700 §4.14.2 asks for public
    /// clients; a refreshed token can only narrow the original scope (RFC 6749 §6).
    /// Access tokens get a `jti` so they can be revoked (see
    /// [`RevocationEndpoint`](super::RevocationEndpoint)).
    pub fn with_refresh_tokens(
        mut self,
        store: Arc<dyn RefreshTokenStore>,
        lifetime: Duration,
    ) -> Self {
        self.refresh = Some(RefreshConfig { store, lifetime });
        self
    }

    /// Enables the client credentials grant (RFC 6749 §4.4), off by default.
    ///
    /// The client authenticates with HTTP Basic (id and secret form-urlencoded, RFC
    /// 6749 §2.3.1) or `client_id`/`client_secret` in the body; failures are `401
    /// invalid_client` (with `WWW-Authenticate: Basic` when Basic was used). The
    /// token's `sub` is the client id and its scope is narrowed from the client's
    /// registered scope. No refresh token is issued (RFC 6749 §4.4.3). RFC 9700 §2.5
    /// prefers asymmetric client authentication (mTLS, `private_key_jwt`) over shared
    /// secrets where you can.
    pub fn with_client_credentials(mut self, clients: Arc<dyn ClientStore>) -> Self {
        self.client_store = Some(clients);
        self
    }

    /// Ends sessions in `revocations` when the refresh grant finds one must end: a
    /// spent refresh token presented again (reuse, RFC 9700 §4.14.2), or a user who is
    /// gone or disabled. Every access token of that session (its `sid` claim) is then
    /// refused by a [`RevocationCheck`](crate::RevocationCheck) on the same store; give
    /// it the check's [`local_revocations`](crate::RevocationCheck::local_revocations)
    /// so that this node refuses them at once.
    pub fn with_revocations(mut self, revocations: Arc<dyn RevocationStore>) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Accepts requests without `grant_type` as password grants, as FastAPI's
    /// non-strict `OAuth2PasswordRequestForm` does. A `grant_type` other than
    /// `password` is still refused.
    pub fn lenient_grant_type(mut self) -> Self {
        self.lenient_grant_type = true;
        self
    }

    /// Throttles password logins (off by default): failed logins are counted per
    /// username and per client address in a sliding window; over the limit, a login
    /// is answered `429` with `Retry-After` and the RFC 6749 §5.2-shaped error
    /// `slow_down` before the password is checked (right or wrong). Unknown usernames
    /// count like known ones; a successful login clears the username's count.
    ///
    /// The client address is the [`SocketAddr`](std::net::SocketAddr) in the request
    /// extensions: insert the peer address there in your accept loop (hyper), or the
    /// real client's address when behind a trusted proxy. Without it only the
    /// username is counted. If the throttle's store fails, logins answer `503`.
    pub fn with_login_throttle(mut self, throttle: Arc<dyn LoginThrottle>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Replaces the password hasher (parameters, concurrency bound).
    pub fn with_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = hasher;
        self
    }

    /// Largest accepted request body, in bytes (default 16 KiB); larger is `413`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for `0`.
    pub fn with_max_body(mut self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::InvalidValue("max_body"));
        }
        self.max_body = max;
        Ok(self)
    }

    /// Longest time to receive the whole request body (default
    /// [`DEFAULT_BODY_TIMEOUT`]); a slower body is `408`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for zero.
    pub fn with_body_timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        if timeout.is_zero() {
            return Err(ConfigError::InvalidValue("body_timeout"));
        }
        self.body_timeout = timeout;
        Ok(self)
    }

    /// Issues DPoP-bound access tokens (RFC 9449 §5) to token requests that carry a
    /// valid `DPoP` proof (`htm` `POST`, `htu` this endpoint's URL under the
    /// [`Dpop`](crate::dpop::Dpop)'s public base URL): the token gets `cnf.jkt`, the
    /// answer `token_type: DPoP`. An invalid proof is `400 invalid_dpop_proof`; a
    /// request without one gets a bearer token as before. A login with a proof also binds
    /// its refresh token (the session, [`Session::dpop_jkt`]) to that key: a refresh
    /// without a proof, or with a proof by another key, is `400 invalid_grant` and does
    /// not spend the token. Refreshing an unbound session with a proof binds only the
    /// new access token.
    pub fn with_dpop(mut self, dpop: crate::dpop::Dpop) -> Self {
        self.dpop = Some(dpop);
        self
    }

    /// Registers a confidential client. Once any client is registered, every request
    /// must authenticate one (RFC 6749 §2.3.1: HTTP Basic, or `client_id` and
    /// `client_secret` in the body); without registered clients, client
    /// identification is accepted and ignored.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for an empty id or secret.
    pub fn with_client(mut self, id: &str, secret: &str) -> Result<Self, ConfigError> {
        if id.is_empty() || secret.is_empty() {
            return Err(ConfigError::InvalidValue("client"));
        }
        let digest = Sha256::digest(secret.as_bytes()).into();
        self.clients
            .get_or_insert_with(HashMap::new)
            .insert(id.to_owned(), ClientSecret::Confidential(digest));
        Ok(self)
    }

    /// Registers a public client: identified by `client_id` alone, with no secret.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for an empty id.
    pub fn with_public_client(mut self, id: &str) -> Result<Self, ConfigError> {
        if id.is_empty() {
            return Err(ConfigError::InvalidValue("client"));
        }
        self.clients
            .get_or_insert_with(HashMap::new)
            .insert(id.to_owned(), ClientSecret::Public);
        Ok(self)
    }

    /// Builds the endpoint. With the password grant on, this also makes the
    /// hasher's dummy hash for unknown users ([`PasswordHasher::warm_up`]: one Argon2id
    /// hash, tens of milliseconds in an optimized build), so the very first
    /// unknown-user login costs what a wrong password costs.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] if no grant was enabled (call
    /// [`allow_password_grant`](Self::allow_password_grant) or
    /// [`with_client_credentials`](Self::with_client_credentials)).
    pub fn build(self) -> Result<TokenEndpoint<S>, ConfigError> {
        if !self.password_grant && self.client_store.is_none() {
            return Err(ConfigError::InvalidValue("grant types (none enabled)"));
        }
        if self.password_grant {
            self.hasher.warm_up();
        }
        let issuer = if self.refresh.is_some() || self.client_store.is_some() {
            self.issuer.with_jti()
        } else {
            self.issuer
        };
        Ok(TokenEndpoint {
            inner: Arc::new(Inner {
                issuer,
                store: self.store,
                hasher: self.hasher,
                clients: self.clients,
                password_grant: self.password_grant,
                refresh: self.refresh,
                client_store: self.client_store,
                revocations: self.revocations,
                lenient_grant_type: self.lenient_grant_type,
                max_body: self.max_body,
                body_timeout: self.body_timeout,
                dpop: self.dpop,
                throttle: self.throttle,
            }),
        })
    }
}

impl<S, B> Service<Request<B>> for TokenEndpoint<S>
where
    S: UserStore,
    B: Body + Send + 'static,
    B::Data: Send,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> ResponseFuture {
        if request.method() != Method::POST {
            return ResponseFuture::ready(TokenError::MethodNotAllowed.into_response());
        }
        let inner = Arc::clone(&self.inner);
        ResponseFuture {
            kind: Kind::Pending(Box::pin(async move {
                inner
                    .handle(request)
                    .await
                    .unwrap_or_else(|error| inner.refusal(error))
            })),
        }
    }
}

/// Response future of [`TokenEndpoint`]: ready for refusals decided from the request
/// line, else the boxed login (Argon2 dominates its cost, not the box).
pub struct ResponseFuture {
    kind: Kind,
}

enum Kind {
    Ready(Option<Response<Full<Bytes>>>),
    Pending(Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>),
}

impl ResponseFuture {
    pub(crate) fn pending(
        future: impl Future<Output = Response<Full<Bytes>>> + Send + 'static,
    ) -> Self {
        Self {
            kind: Kind::Pending(Box::pin(future)),
        }
    }

    pub(crate) fn ready(response: Response<Full<Bytes>>) -> Self {
        Self {
            kind: Kind::Ready(Some(response)),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Full<Bytes>>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.kind {
            Kind::Ready(response) => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
            Kind::Pending(future) => future.as_mut().poll(cx).map(Ok),
        }
    }
}

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
            None if !self.password_grant => Err(BadRequest::MissingGrantType.into()),
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
        let issued = self
            .issuer
            .issue(subject, scope, extra)
            .map_err(|_| TokenError::TemporarilyUnavailable)?;
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

    /// The refresh grant (RFC 6749 §6) with the user looked up again: a user who is
    /// gone or disabled ends the session (`invalid_grant`); the scopes are the
    /// requested (or original) ones the user may still have; the user store's extra
    /// claims are applied afresh.
    async fn refresh_grant(
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
            .ok_or(BadRequest::MissingRefreshToken)?;
        if let Some(scope) = &form.scope {
            parse_scope(scope)?;
        }
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
            Err(RotateError::Reused) => {
                // The store revoked the family; its access tokens end too.
                self.end_session(config, &record).await?;
                return Err(TokenError::InvalidRefreshToken);
            }
            Err(RotateError::Store(_)) => return Err(TokenError::TemporarilyUnavailable),
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

    /// Ends a session: its refresh-token family, and (with
    /// [`with_revocations`](TokenEndpointBuilder::with_revocations)) its access tokens.
    async fn end_session(
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
    fn session_claims(
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
    fn client_claim(
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

    async fn client_credentials_grant(
        &self,
        headers: &HeaderMap,
        form: TokenForm,
        jkt: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, TokenError> {
        let Some(clients) = &self.client_store else {
            return Err(TokenError::UnsupportedGrantType);
        };
        let (id, secret, basic) = client_credentials(headers, &form)?;
        let client = clients
            .authenticate(&id, &secret)
            .await
            .map_err(|_| TokenError::TemporarilyUnavailable)?
            .ok_or(TokenError::InvalidClient { basic })?;
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

    fn authenticate_client(&self, headers: &HeaderMap, form: &TokenForm) -> Result<(), TokenError> {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let authorization = values.next();
        if values.next().is_some() {
            return Err(BadRequest::DuplicateAuthorizationHeader.into());
        }
        let Some(clients) = &self.clients else {
            // No registered clients: identification is accepted and ignored.
            return Ok(());
        };
        let (id, secret, basic) = match authorization.map(|v| parse_basic(v.as_bytes())) {
            Some(Basic::Credentials(id, secret)) => {
                if form.client_secret.is_some()
                    || form
                        .client_id
                        .as_ref()
                        .is_some_and(|body_id| *body_id != id)
                {
                    return Err(BadRequest::MultipleClientAuthentication.into());
                }
                (id, secret, true)
            }
            Some(Basic::Malformed) => return Err(TokenError::InvalidClient { basic: true }),
            Some(Basic::OtherScheme) | None => {
                let id = form
                    .client_id
                    .clone()
                    .ok_or(TokenError::InvalidClient { basic: false })?;
                (id, form.client_secret.clone().unwrap_or_default(), false)
            }
        };
        let ok = match clients.get(&id) {
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
            Err(TokenError::InvalidClient { basic })
        }
    }

    async fn password_grant(
        &self,
        form: TokenForm,
        client_id: &str,
        jkt: Option<&str>,
        address: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, TokenError> {
        match form.grant_type.as_deref() {
            Some("password") => {}
            None if self.lenient_grant_type => {}
            None => return Err(BadRequest::MissingGrantType.into()),
            Some(_) => return Err(TokenError::UnsupportedGrantType),
        }
        let username = form.username.ok_or(BadRequest::MissingUsername)?;
        let password = form.password.ok_or(BadRequest::MissingPassword)?;
        let requested = match &form.scope {
            Some(scope) => Some(parse_scope(scope)?),
            None => None,
        };

        if let Some(throttle) = &self.throttle {
            let throttled = throttle
                .check(&username, address)
                .await
                .map_err(|_| TokenError::TemporarilyUnavailable)?;
            if let Some(throttled) = throttled {
                let secs = throttled.retry_after.as_secs()
                    + u64::from(throttled.retry_after.subsec_nanos() > 0);
                return Err(TokenError::TooManyAttempts {
                    retry_after: u32::try_from(secs).unwrap_or(u32::MAX).max(1),
                });
            }
        }
        let user = self
            .store
            .find_user(&username)
            .await
            .map_err(|_| TokenError::TemporarilyUnavailable)?;
        let hash = user.as_ref().map(|u| u.password_hash().to_owned());
        let matches = self
            .hasher
            .verify_login(&username, password, hash)
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
                        .failed(&username, address)
                        .await
                        .map_err(|_| TokenError::TemporarilyUnavailable)?;
                }
                return Err(TokenError::InvalidGrant);
            }
        };
        if let Some(throttle) = &self.throttle {
            throttle
                .succeeded(&username)
                .await
                .map_err(|_| TokenError::TemporarilyUnavailable)?;
        }

        let granted: Vec<&str> = match &requested {
            Some(requested) if !requested.is_empty() => {
                if !requested
                    .iter()
                    .all(|s| user.scopes().iter().any(|own| own == s))
                {
                    return Err(TokenError::InvalidScope);
                }
                requested.clone()
            }
            _ => user.scopes().iter().map(String::as_str).collect(),
        };
        let scope = granted.join(" ");
        let mut extra = self.store.extra_claims(&user);
        self.client_claim(&mut extra, client_id);
        let refresh_token = match &self.refresh {
            Some(config) => {
                let lifetime = i64::try_from(config.lifetime.as_secs()).unwrap_or(i64::MAX);
                let mut session = Session::new(
                    user.username(),
                    client_id,
                    scope.as_str(),
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
                // The family id becomes the access token's `sid`.
                let record = config
                    .store
                    .lookup(token.as_str())
                    .await
                    .map_err(|_| TokenError::TemporarilyUnavailable)?
                    .ok_or(TokenError::TemporarilyUnavailable)?;
                self.session_claims(&mut extra, &record, client_id);
                Some(token.into_string())
            }
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

/// The client id a request names (Basic or `client_id`), or `""` for none; used to
/// bind refresh tokens to the client they were issued to.
pub(crate) fn client_identity(headers: &HeaderMap, form: &TokenForm) -> String {
    match headers
        .get(AUTHORIZATION)
        .map(|v| parse_basic(v.as_bytes()))
    {
        Some(Basic::Credentials(id, _)) => id,
        _ => form.client_id.clone().unwrap_or_default(),
    }
}

/// Client id, secret and whether HTTP Basic carried them (RFC 6749 §2.3.1).
pub(crate) fn client_credentials(
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<(String, String, bool), TokenError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let authorization = values.next();
    if values.next().is_some() {
        return Err(BadRequest::DuplicateAuthorizationHeader.into());
    }
    match authorization.map(|v| parse_basic(v.as_bytes())) {
        Some(Basic::Credentials(id, secret)) => {
            if form.client_secret.is_some()
                || form
                    .client_id
                    .as_ref()
                    .is_some_and(|body_id| *body_id != id)
            {
                return Err(BadRequest::MultipleClientAuthentication.into());
            }
            Ok((id, secret, true))
        }
        Some(Basic::Malformed) => Err(TokenError::InvalidClient { basic: true }),
        Some(Basic::OtherScheme) | None => match (&form.client_id, &form.client_secret) {
            (Some(id), Some(secret)) => Ok((id.clone(), secret.clone(), false)),
            _ => Err(TokenError::InvalidClient { basic: false }),
        },
    }
}

/// Splits a requested `scope` into distinct scope-tokens (RFC 6749 §3.3).
fn parse_scope(scope: &str) -> Result<Vec<&str>, TokenError> {
    let mut scopes: Vec<&str> = Vec::new();
    for token in scope.split(' ').filter(|s| !s.is_empty()) {
        if !is_scope_token(token) {
            return Err(TokenError::InvalidScope);
        }
        if !scopes.contains(&token) {
            scopes.push(token);
        }
    }
    Ok(scopes)
}

pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Reads the body, bounded in size and in time (a stalled client gets `408`).
pub(crate) async fn read_body<B>(
    body: B,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, TokenError>
where
    B: Body + Send,
    B::Data: Send,
{
    tokio::time::timeout(timeout, read_bounded(body, limit))
        .await
        .unwrap_or(Err(TokenError::RequestTimeout))
}

/// Reads the body, refusing it as soon as it passes `limit` (chunked bodies too).
async fn read_bounded<B>(body: B, limit: usize) -> Result<Bytes, TokenError>
where
    B: Body + Send,
    B::Data: Send,
{
    let mut body = std::pin::pin!(body);
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.as_mut().frame().await {
        let frame = frame.map_err(|_| BadRequest::MalformedBody)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len().saturating_add(data.remaining()) > limit {
                return Err(TokenError::PayloadTooLarge);
            }
            buffer.put(data);
        }
    }
    Ok(buffer.freeze())
}

enum Basic {
    Credentials(String, String),
    Malformed,
    OtherScheme,
}

/// Parses `Authorization: Basic` client credentials: id and secret are each
/// form-urlencoded before joining with `:` (RFC 6749 §2.3.1).
fn parse_basic(value: &[u8]) -> Basic {
    let Ok(value) = std::str::from_utf8(value) else {
        return Basic::OtherScheme;
    };
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Basic::OtherScheme;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::OtherScheme;
    }
    let Ok(decoded) = STANDARD.decode(rest.trim()) else {
        return Basic::Malformed;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return Basic::Malformed;
    };
    match decoded.split_once(':') {
        Some((id, secret)) => match (form_decode(id), form_decode(secret)) {
            (Some(id), Some(secret)) => Basic::Credentials(id, secret),
            _ => Basic::Malformed,
        },
        None => Basic::Malformed,
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
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
