//! [`TokenEndpointBuilder`]: which grants, clients, stores and bounds a token endpoint has.

use super::*;

/// Builds a [`TokenEndpoint`]. Nothing is enabled until you choose a grant.
#[must_use]
pub struct TokenEndpointBuilder<S> {
    pub(super) issuer: TokenIssuer,
    pub(super) store: S,
    pub(super) hasher: PasswordHasher,
    pub(super) clients: Option<HashMap<String, ClientSecret>>,
    pub(super) password_grant: bool,
    pub(super) refresh: Option<RefreshConfig>,
    pub(super) client_store: Option<Arc<dyn ClientStore>>,
    pub(super) revocations: Option<Arc<dyn RevocationStore>>,
    pub(super) lenient_grant_type: bool,
    pub(super) max_body: usize,
    pub(super) body_timeout: Duration,
    pub(super) dpop: Option<crate::dpop::Dpop>,
    pub(super) throttle: Option<Arc<dyn LoginThrottle>>,
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
    /// [`RevocationEndpoint`](crate::token_endpoint::RevocationEndpoint)).
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
    /// [`ConfigError::OutOfRange`] for `0`.
    pub fn with_max_body(mut self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::OutOfRange("max_body"));
        }
        self.max_body = max;
        Ok(self)
    }

    /// Longest time to receive the whole request body (default
    /// [`DEFAULT_BODY_TIMEOUT`]); a slower body is `408`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for zero.
    pub fn with_body_timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        if timeout.is_zero() {
            return Err(ConfigError::OutOfRange("body_timeout"));
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
    /// [`ConfigError::InvalidString`] for an empty id or secret.
    pub fn with_client(mut self, id: &str, secret: &str) -> Result<Self, ConfigError> {
        if id.is_empty() || secret.is_empty() {
            return Err(ConfigError::InvalidString("client"));
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
    /// [`ConfigError::InvalidString`] for an empty id.
    pub fn with_public_client(mut self, id: &str) -> Result<Self, ConfigError> {
        if id.is_empty() {
            return Err(ConfigError::InvalidString("client"));
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
    /// [`ConfigError::Missing`] if no grant was enabled (call
    /// [`allow_password_grant`](Self::allow_password_grant) or
    /// [`with_client_credentials`](Self::with_client_credentials)).
    pub fn build(self) -> Result<TokenEndpoint<S>, ConfigError> {
        if !self.password_grant && self.client_store.is_none() {
            return Err(ConfigError::Missing("grant types (none enabled)"));
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
