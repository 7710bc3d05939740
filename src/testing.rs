//! Tokens for your own tests (feature `test-util`): [`TestTokens`] mints signed JWTs,
//! valid or deliberately not, with the key your [`JwtValidator`](crate::JwtValidator)
//! checks, without the token endpoint.
//!
//! Enable it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! tower-bearer = { version = "0.1", features = ["test-util"] }
//! ```
//!
//! ```
//! use std::time::Duration;
//! use tower_bearer::testing::TestTokens;
//! use tower_bearer::{AuthError, Claims, InvalidToken, JwtValidator};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! const SECRET: &[u8] = b"a-test-secret-of-at-least-32-bytes";
//! let validator = JwtValidator::<Claims>::hs256(SECRET)?
//!     .with_issuer("https://auth.example")?
//!     .with_audience("my-api")?;
//! // Every token gets these claims unless a test changes them.
//! let tokens = TestTokens::hs256(SECRET)?
//!     .with_issuer("https://auth.example")
//!     .with_audience("my-api");
//!
//! let valid = tokens.token("alice").scope("items:read").sign();
//! assert_eq!(validator.verify(&valid)?.sub.as_deref(), Some("alice"));
//!
//! let expired = tokens.token("alice").expired().sign();
//! assert_eq!(validator.verify(&expired), Err(AuthError::InvalidToken(InvalidToken::Expired)));
//!
//! let elsewhere = tokens.token("alice").audience("another-api").sign();
//! assert_eq!(validator.verify(&elsewhere), Err(AuthError::InvalidToken(InvalidToken::WrongAudience)));
//!
//! let no_exp = tokens.token("alice").without("exp").sign();
//! assert_eq!(validator.verify(&no_exp), Err(AuthError::InvalidToken(InvalidToken::MissingClaim("exp"))));
//!
//! // Custom claims: any JSON value, or a whole serializable struct with `.claims(&value)`.
//! let admin = tokens
//!     .token("alice")
//!     .claim("roles", serde_json::json!(["admin"]))
//!     .expires_in(Duration::from_secs(60))
//!     .sign();
//! assert!(validator.verify(&admin).is_ok());
//! # Ok(())
//! # }
//! ```
//!
//! Not for production: the key is whatever you hand it, nothing is logged or checked
//! beyond what signing needs, and [`TestToken::sign`] panics if the backend fails.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::keys::SignerKey;

/// How long a token from [`TestTokens::token`] lives by default: 10 minutes.
pub const DEFAULT_TEST_TTL: Duration = Duration::from_secs(600);

/// Mints test tokens with one key and default claims. See the [module docs](self).
#[derive(Clone)]
pub struct TestTokens {
    key: SignerKey,
    defaults: Map<String, Value>,
}

impl fmt::Debug for TestTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestTokens")
            .field("algorithm", &self.key.algorithm())
            .field("kid", &self.key.kid())
            .field("defaults", &self.defaults)
            .finish_non_exhaustive()
    }
}

impl TestTokens {
    /// Signs with `key` using `algorithm` (an RSA/EC/Ed private key for asymmetric
    /// validators: `EncodingKey::from_rsa_pem`, `from_ec_pem`, `from_ed_pem`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::KeyAlgorithmMismatch`] if the key does not fit the algorithm,
    /// [`ConfigError::HmacKeyTooShort`] for an empty HMAC secret,
    /// [`ConfigError::InvalidKey`] if the backend refuses the key.
    pub fn new(algorithm: Algorithm, key: &EncodingKey) -> Result<Self, ConfigError> {
        // Short HMAC secrets are allowed: tests may check that a validator refuses them.
        Ok(Self {
            key: SignerKey::new(algorithm, key, None, false)?,
            defaults: Map::new(),
        })
    }

    /// Signs `HS256` with `secret`, as [`JwtValidator::hs256`](crate::JwtValidator::hs256)
    /// checks.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HmacKeyTooShort`] for an empty secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::new(Algorithm::HS256, &EncodingKey::from_secret(secret.as_ref()))
    }

    /// Puts `kid` into every token's header.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKeyId`] for an empty `kid`.
    pub fn with_kid(mut self, kid: &str) -> Result<Self, ConfigError> {
        self.key = self.key.with_kid(kid)?;
        Ok(self)
    }

    /// Sets `iss` in every token.
    #[must_use]
    pub fn with_issuer(self, issuer: &str) -> Self {
        self.with_claim("iss", issuer)
    }

    /// Sets `aud` in every token (a string; use [`with_claim`](Self::with_claim) with an
    /// array for several).
    #[must_use]
    pub fn with_audience(self, audience: &str) -> Self {
        self.with_claim("aud", audience)
    }

    /// Sets any claim in every token.
    #[must_use]
    pub fn with_claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.defaults.insert(name.to_owned(), value.into());
        self
    }

    /// A token for `subject`: the default claims, `sub`, `iat` = now and `exp` = now +
    /// [`DEFAULT_TEST_TTL`]. Change it with the [`TestToken`] methods, then
    /// [`sign`](TestToken::sign).
    pub fn token(&self, subject: &str) -> TestToken {
        let now = now();
        let mut claims = self.defaults.clone();
        claims.insert("sub".into(), subject.into());
        claims.insert("iat".into(), now.into());
        claims.insert(
            "exp".into(),
            now.saturating_add(secs(DEFAULT_TEST_TTL)).into(),
        );
        TestToken {
            key: self.key.clone(),
            claims,
        }
    }
}

/// One token being minted; [`sign`](Self::sign) makes the compact JWS.
#[derive(Clone)]
#[must_use]
pub struct TestToken {
    key: SignerKey,
    claims: Map<String, Value>,
}

impl fmt::Debug for TestToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestToken")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl TestToken {
    /// Sets `scope` (space-separated scopes).
    pub fn scope(self, scope: &str) -> Self {
        self.claim("scope", scope)
    }

    /// Sets `aud`, replacing the default.
    pub fn audience(self, audience: &str) -> Self {
        self.claim("aud", audience)
    }

    /// Sets `iss`, replacing the default.
    pub fn issuer(self, issuer: &str) -> Self {
        self.claim("iss", issuer)
    }

    /// Sets any claim to any JSON value (`"text"`, `42`, `serde_json::json!([..])`).
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Sets every member of `claims` (a struct of yours that serializes to a JSON
    /// object), replacing claims of the same name.
    ///
    /// # Panics
    ///
    /// If `claims` does not serialize to a JSON object.
    pub fn claims<C: Serialize + ?Sized>(mut self, claims: &C) -> Self {
        match serde_json::to_value(claims) {
            Ok(Value::Object(members)) => self.claims.extend(members),
            _ => panic!("TestToken::claims needs a value that serializes to a JSON object"),
        }
        self
    }

    /// Removes a claim (`"exp"` for a token without expiry, `"sub"`, ...).
    pub fn without(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Expires `ttl` from now.
    pub fn expires_in(self, ttl: Duration) -> Self {
        let exp = now().saturating_add(secs(ttl));
        self.claim("exp", exp)
    }

    /// Expired an hour ago (well past the validators' default 60 s leeway), issued two
    /// hours ago.
    pub fn expired(self) -> Self {
        let now = now();
        self.claim("exp", now - 3600).claim("iat", now - 7200)
    }

    /// Valid only from an hour from now (`nbf`).
    pub fn not_yet_valid(self) -> Self {
        let nbf = now() + 3600;
        self.claim("nbf", nbf)
    }

    /// The claims as they will be signed.
    #[must_use]
    pub fn claims_json(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The signed token (compact JWS).
    ///
    /// # Panics
    ///
    /// If the signing backend fails (a key the backend accepted when
    /// [`TestTokens`] was built does not, in practice).
    #[must_use]
    pub fn sign(&self) -> String {
        let payload = serde_json::to_vec(&self.claims).expect("a JSON object serializes");
        self.key
            .sign_typed(&payload, None)
            .expect("the signing backend refused a key it accepted before")
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, secs)
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
