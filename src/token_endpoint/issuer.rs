//! [`TokenIssuer`]: signs the JWT access tokens the endpoint hands out, with the same
//! key types [`JwtValidator`](crate::JwtValidator) accepts.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value};

use super::TokenError;
use crate::error::ConfigError;
use crate::keys::{SignerKey, SigningKeys};

/// Default token lifetime: 30 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1800);

/// A signed access token and its lifetime.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Signs JWT access tokens: claims `sub`, `iat`, `exp` (now + TTL), `scope`, and
/// optionally `iss`, `aud`, `jti`, plus extra claims from the user store.
///
/// A token it issues validates with a [`JwtValidator`](crate::JwtValidator) built
/// from the matching key:
///
/// ```
/// use tower_bearer::{Claims, JwtValidator};
/// use tower_bearer::token_endpoint::TokenIssuer;
///
/// const SECRET: &[u8] = b"a-secret-of-at-least-32-bytes!!!";
/// let issuer = TokenIssuer::hs256(SECRET)?.with_issuer("https://auth.example")?;
/// let issued = issuer.issue("alice", "read", serde_json::Map::new())?;
/// let validator = JwtValidator::<Claims>::hs256(SECRET)?.with_issuer("https://auth.example")?;
/// let claims = validator.verify(&issued.token)?;
/// assert_eq!(claims.sub.as_deref(), Some("alice"));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TokenIssuer {
    signing: Signing,
    issuer: Option<String>,
    audience: Vec<String>,
    ttl: Duration,
    jti: bool,
    typ: Option<String>,
    client_id: Option<String>,
}

/// One fixed key, or an issuer's rotating keys.
#[derive(Clone)]
enum Signing {
    Fixed(SignerKey),
    Rotating(SigningKeys),
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (algorithm, kid) = match &self.signing {
            Signing::Fixed(key) => (key.algorithm(), key.kid().map(str::to_owned)),
            Signing::Rotating(keys) => (keys.active_algorithm(), Some(keys.active_kid())),
        };
        f.debug_struct("TokenIssuer")
            .field("algorithm", &algorithm)
            .field("key", &"<redacted>")
            .field("kid", &kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .field("jti", &self.jti)
            .field("typ", &self.typ)
            .field("client_id", &self.client_id)
            .finish()
    }
}

impl TokenIssuer {
    /// An issuer signing with `key` using `algorithm`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::KeyAlgorithmMismatch`] if the key does not fit the algorithm,
    /// [`ConfigError::HmacKeyTooShort`] for an HMAC secret shorter than the hash output
    /// (RFC 7518 §3.2), [`ConfigError::InvalidKey`] if the backend refuses the key.
    pub fn new(algorithm: Algorithm, key: &EncodingKey) -> Result<Self, ConfigError> {
        Self::build(algorithm, key, true)
    }

    /// An `HS256` issuer from a shared secret of at least 32 bytes; pair it with
    /// [`JwtValidator::hs256`](crate::JwtValidator::hs256) on the same secret.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HmacKeyTooShort`] for a shorter secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::new(Algorithm::HS256, &EncodingKey::from_secret(secret.as_ref()))
    }

    /// Like [`new`](Self::new) but accepts an HMAC secret shorter than RFC 7518 §3.2
    /// requires. Tokens signed with a short secret let anyone brute-force it offline:
    /// development and interoperability tests only.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), except for the length check (an empty secret is still
    /// refused).
    pub fn insecure_short_hmac_key(
        algorithm: Algorithm,
        key: &EncodingKey,
    ) -> Result<Self, ConfigError> {
        Self::build(algorithm, key, false)
    }

    fn build(
        algorithm: Algorithm,
        key: &EncodingKey,
        check_length: bool,
    ) -> Result<Self, ConfigError> {
        let key = SignerKey::new(algorithm, key, None, check_length)?;
        Ok(Self::with_signing(Signing::Fixed(key)))
    }

    /// An issuer signing with the active key of `keys`, following its rotations: each
    /// token carries the `kid` of the key that signed it.
    #[must_use]
    pub fn from_signing_keys(keys: &SigningKeys) -> Self {
        Self::with_signing(Signing::Rotating(keys.clone()))
    }

    fn with_signing(signing: Signing) -> Self {
        Self {
            signing,
            issuer: None,
            audience: Vec::new(),
            ttl: DEFAULT_TTL,
            jti: false,
            typ: None,
            client_id: None,
        }
    }

    /// Names the key in the header's `kid` (for [`JwtValidator::with_key`](crate::JwtValidator::with_key)
    /// and key rotation).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKeyId`] for an empty `kid`, or on an issuer built with
    /// [`from_signing_keys`](Self::from_signing_keys) (its keys carry their own).
    pub fn with_kid(mut self, kid: &str) -> Result<Self, ConfigError> {
        let Signing::Fixed(key) = &self.signing else {
            return Err(ConfigError::InvalidKeyId);
        };
        let key = key.with_kid(kid)?;
        self.signing = Signing::Fixed(key);
        Ok(self)
    }

    /// Sets the `iss` claim.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty issuer.
    pub fn with_issuer(mut self, issuer: &str) -> Result<Self, ConfigError> {
        if issuer.is_empty() {
            return Err(ConfigError::InvalidString("issuer"));
        }
        self.issuer = Some(issuer.to_owned());
        Ok(self)
    }

    /// Adds an audience to the `aud` claim (a string for one, an array for several).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty audience.
    pub fn with_audience(mut self, audience: &str) -> Result<Self, ConfigError> {
        if audience.is_empty() {
            return Err(ConfigError::InvalidString("audience"));
        }
        self.audience.push(audience.to_owned());
        Ok(self)
    }

    /// Token lifetime (default 30 minutes).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for a zero lifetime.
    pub fn with_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        if ttl.as_secs() == 0 {
            return Err(ConfigError::OutOfRange("ttl"));
        }
        self.ttl = ttl;
        Ok(self)
    }

    /// Adds a random `jti` (16 bytes, base64url) to every token.
    #[must_use]
    pub fn with_jti(mut self) -> Self {
        self.jti = true;
        self
    }

    /// Sets the header's `typ` (default `JWT`). `at+jwt` marks the tokens as RFC 9068
    /// access tokens, for validators with
    /// [`require_access_token_type`](crate::JwtValidator::require_access_token_type).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty value.
    pub fn with_typ(mut self, typ: &str) -> Result<Self, ConfigError> {
        if typ.is_empty() {
            return Err(ConfigError::InvalidString("typ"));
        }
        self.typ = Some(typ.to_owned());
        Ok(self)
    }

    /// Adds the `client_id` claim (RFC 9068 §2.2) to every token that does not carry
    /// one from its `extra` claims (a grant may set its own per token).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty value.
    pub fn with_client_id(mut self, client_id: &str) -> Result<Self, ConfigError> {
        if client_id.is_empty() {
            return Err(ConfigError::InvalidString("client_id"));
        }
        self.client_id = Some(client_id.to_owned());
        Ok(self)
    }

    /// The token lifetime.
    #[must_use]
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs a token for `subject` with `scope` (space-separated) and `extra` claims;
    /// the registered claims win over `extra`.
    ///
    /// # Errors
    ///
    /// [`TokenError::TemporarilyUnavailable`] if the clock, the random generator or the
    /// signing backend fails (never caused by client input; the token endpoint answers
    /// it as is).
    pub fn issue(
        &self,
        subject: &str,
        scope: &str,
        extra: Map<String, Value>,
    ) -> Result<IssuedToken, TokenError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| TokenError::TemporarilyUnavailable)?
            .as_secs();
        let ttl = self.ttl.as_secs();
        let mut claims = extra;
        if let Some(client_id) = &self.client_id {
            claims
                .entry("client_id")
                .or_insert_with(|| client_id.as_str().into());
        }
        claims.insert("sub".into(), subject.into());
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), now.saturating_add(ttl).into());
        claims.insert("scope".into(), scope.into());
        if let Some(issuer) = &self.issuer {
            claims.insert("iss".into(), issuer.as_str().into());
        }
        match self.audience.as_slice() {
            [] => {}
            [one] => {
                claims.insert("aud".into(), one.as_str().into());
            }
            many => {
                claims.insert("aud".into(), many.into());
            }
        }
        if self.jti {
            let mut id = [0u8; 16];
            getrandom::getrandom(&mut id).map_err(|_| TokenError::TemporarilyUnavailable)?;
            claims.insert("jti".into(), URL_SAFE_NO_PAD.encode(id).into());
        }
        let payload = serde_json::to_vec(&Value::Object(claims))
            .map_err(|_| TokenError::TemporarilyUnavailable)?;
        let typ = self.typ.as_deref();
        let token = match &self.signing {
            Signing::Fixed(key) => key.sign_typed(&payload, typ),
            Signing::Rotating(keys) => keys.sign_typed(&payload, typ),
        }
        .ok_or(TokenError::TemporarilyUnavailable)?;
        Ok(IssuedToken {
            token,
            expires_in: ttl,
        })
    }
}
