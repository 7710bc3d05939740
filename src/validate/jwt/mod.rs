//! [`JwtValidator`]: signed JWTs (RFC 7519, compact JWS of RFC 7515) checked locally.

use std::fmt;
use std::future::Ready;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::de::DeserializeOwned;

use super::{TokenValidator, Validation};

pub(crate) mod base64url;
mod header;
pub(crate) mod json;
mod key;
mod reader;
mod registered;
pub(crate) mod scan;
mod scanned;
pub(crate) mod verify;

use crate::claims::Claims;
use crate::error::{AuthError, ConfigError};
use header::{known_headers, KnownHeader};
use key::VerifyingKey;
#[cfg(any(feature = "cache", test))]
pub(crate) use verify::{now, Times};

/// Default leeway for `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// Default upper bound on a token's length, in bytes.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
/// Segments up to this size are decoded on the stack.
const STACK_SEGMENT: usize = 1024;
/// Segments up to this size (headers, small payloads) use a smaller stack buffer.
const SMALL_SEGMENT: usize = 256;
/// At most this many keys without `kid` are tried for one token.
pub const MAX_KIDLESS_TRIES: usize = 4;

/// The crypto backend of `jsonwebtoken` chosen by this crate's features, used directly
/// so that enabling both backends never leaves `jsonwebtoken` without a default.
pub(crate) fn crypto_provider() -> &'static CryptoProvider {
    #[cfg(feature = "aws-lc")]
    {
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
    {
        &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
    }
}

/// Validates signed JWTs with strict defaults.
///
/// - The algorithm is pinned by the key: a token whose `alg` is not the configured
///   key's algorithm is refused (no `none`, no HMAC/RSA confusion).
/// - `exp` is required; `nbf` is checked when present; both with a leeway (default
///   60 s). `exp`, `nbf`, `iat` must be JSON numbers; `iss`, `sub`, `jti` strings;
///   `aud` a string or array of strings; `scope` a string (an array only after
///   [`allow_scope_array`](Self::allow_scope_array)).
/// - `iss` and `aud` become required when configured. A token with an `aud` is refused
///   when no audience is configured (RFC 7519 §4.1.3).
/// - A `crit` header is refused: this validator implements no JWS extensions
///   (RFC 7515 §4.1.11).
/// - Claims are only parsed after the signature verifies.
///
/// `T` is the claims type inserted into the request: [`Claims`] by default, or any
/// `DeserializeOwned + Clone + Send + Sync` type of yours. Both take the same fast path:
/// the payload is read once, and your type's `Deserialize` is driven from that reading
/// (names and plain strings borrowed, no second JSON parse); only unusual payloads
/// (escaped names or registered claims, nesting deeper than 16, more than 48 members)
/// are parsed again by serde_json, with the same result.
///
/// ```
/// use tower_bearer::{Claims, JwtValidator};
///
/// let validator = JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")?
///     .with_issuer("https://auth.example.com")?
///     .with_audience("api")?;
/// assert!(validator.verify("not.a.jwt").is_err());
/// # Ok::<_, tower_bearer::ConfigError>(())
/// ```
pub struct JwtValidator<T = Claims> {
    inner: Arc<Settings>,
    claims: PhantomData<fn() -> T>,
}

#[derive(Clone)]
struct Settings {
    keys: Vec<VerifyingKey>,
    known_headers: Vec<KnownHeader>,
    issuers: Vec<Box<str>>,
    audiences: Vec<Box<str>>,
    leeway: i64,
    max_token_len: usize,
    allow_scope_array: bool,
    /// The member read as the scope claim, when not `scope`.
    scope_claim: Option<Box<str>>,
    require_sub: bool,
    require_jti: bool,
    /// RFC 9068 §4: the header's `typ` must be `at+jwt` / `application/at+jwt`.
    require_at_jwt: bool,
    /// ECDSA signatures with `s > n/2` refused (only `(r, s)` or `(r, n-s)` valid).
    require_low_s: bool,
}

impl<T> Clone for JwtValidator<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            claims: PhantomData,
        }
    }
}

impl<T> fmt::Debug for JwtValidator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<_> = self
            .inner
            .keys
            .iter()
            .map(|k| (k.kid.as_deref(), k.algorithm))
            .collect();
        f.debug_struct("JwtValidator")
            .field("keys", &keys)
            .field("issuers", &self.inner.issuers)
            .field("audiences", &self.inner.audiences)
            .field("leeway", &self.inner.leeway)
            .field("max_token_len", &self.inner.max_token_len)
            .field("allow_scope_array", &self.inner.allow_scope_array)
            .field("claims", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl<T> JwtValidator<T> {
    /// A validator for tokens signed with `key` using `algorithm`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::KeyAlgorithmMismatch`] if the key's family does not match the
    /// algorithm, [`ConfigError::HmacKeyTooShort`] for an HMAC secret shorter than the
    /// hash output (RFC 7518 §3.2), [`ConfigError::InvalidKey`] for an unusable key.
    pub fn new(algorithm: Algorithm, key: &DecodingKey) -> Result<Self, ConfigError> {
        Ok(Self::from_key(VerifyingKey::new(
            None, algorithm, key, true,
        )?))
    }

    /// An `HS256` validator from a shared secret of at least 32 bytes.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HmacKeyTooShort`] for a shorter secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::new(Algorithm::HS256, &DecodingKey::from_secret(secret.as_ref()))
    }

    /// Like [`new`](Self::new) but accepts an HMAC secret shorter than RFC 7518 §3.2
    /// requires. Short secrets can be brute-forced offline from any token: use only for
    /// development and interoperability tests.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), except for the length check (an empty secret is still
    /// refused).
    pub fn insecure_short_hmac_key(
        algorithm: Algorithm,
        key: &DecodingKey,
    ) -> Result<Self, ConfigError> {
        Ok(Self::from_key(VerifyingKey::new(
            None, algorithm, key, false,
        )?))
    }

    fn from_key(key: VerifyingKey) -> Self {
        Self {
            inner: Arc::new(Settings {
                known_headers: known_headers(std::slice::from_ref(&key), false),
                keys: vec![key],
                issuers: Vec::new(),
                audiences: Vec::new(),
                leeway: DEFAULT_LEEWAY.as_secs() as i64,
                max_token_len: DEFAULT_MAX_TOKEN_LEN,
                allow_scope_array: false,
                scope_claim: None,
                require_sub: false,
                require_jti: false,
                require_at_jwt: false,
                require_low_s: false,
            }),
            claims: PhantomData,
        }
    }

    fn settings(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.inner)
    }

    /// Adds a key selected by the token's `kid` header (key rotation, several issuers).
    ///
    /// A key added with [`new`](Self::new) has no `kid` and matches any token with its
    /// algorithm; keys added here match only tokens naming their `kid`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_key(
        mut self,
        kid: &str,
        algorithm: Algorithm,
        key: &DecodingKey,
    ) -> Result<Self, ConfigError> {
        let key = VerifyingKey::new(Some(kid), algorithm, key, true)?;
        let settings = self.settings();
        settings.keys.push(key);
        settings.known_headers = known_headers(&settings.keys, settings.require_at_jwt);
        Ok(self)
    }

    /// Accepts tokens from `issuer`, and makes `iss` required. Call again to accept
    /// several issuers.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty issuer.
    pub fn with_issuer(mut self, issuer: &str) -> Result<Self, ConfigError> {
        if issuer.is_empty() {
            return Err(ConfigError::InvalidString("issuer"));
        }
        self.settings().issuers.push(issuer.into());
        Ok(self)
    }

    /// Accepts tokens whose `aud` names `audience`, and makes `aud` required. Call again
    /// to accept several.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty audience.
    pub fn with_audience(mut self, audience: &str) -> Result<Self, ConfigError> {
        if audience.is_empty() {
            return Err(ConfigError::InvalidString("audience"));
        }
        self.settings().audiences.push(audience.into());
        Ok(self)
    }

    /// Clock-skew allowance for `exp` and `nbf` (default 60 s).
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.settings().leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// Longest token accepted, in bytes (default 8 KiB). Longer tokens are refused
    /// before any decoding.
    #[must_use]
    pub fn with_max_token_len(mut self, max: usize) -> Self {
        self.settings().max_token_len = max;
        self
    }

    /// Accepts a `scope` claim given as an array of strings, as some issuers send.
    #[must_use]
    pub fn allow_scope_array(mut self) -> Self {
        self.settings().allow_scope_array = true;
        self
    }

    /// Reads the granted scopes from the claim `name` instead of `scope`: `scp` for
    /// Entra ID and Okta. That claim may be a space-separated string or an array of
    /// strings (any other type is an invalid token); the default [`Claims`] get it as
    /// [`Claims::scope`], and a `scope` member is then ignored like any other.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty name or one of the registered claims
    /// the validator reads itself (`exp`, `nbf`, `iat`, `iss`, `aud`, `sub`, `jti`).
    pub fn scope_claim(mut self, name: &str) -> Result<Self, ConfigError> {
        if name.is_empty() || ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"].contains(&name) {
            return Err(ConfigError::InvalidString("scope claim"));
        }
        let settings = self.settings();
        if name == "scope" {
            settings.scope_claim = None;
        } else {
            settings.scope_claim = Some(name.into());
            settings.allow_scope_array = true;
        }
        Ok(self)
    }

    /// Makes `sub` required.
    #[must_use]
    pub fn require_sub(mut self) -> Self {
        self.settings().require_sub = true;
        self
    }

    /// Makes `jti` required (e.g. for revocation checks).
    #[must_use]
    pub fn require_jti(mut self) -> Self {
        self.settings().require_jti = true;
        self
    }

    /// RFC 9068 §4: requires the header's `typ` to be `at+jwt` (or `application/at+jwt`,
    /// compared case-insensitively as a media type, RFC 7515 §4.1.9), so that ID tokens,
    /// refresh tokens and other JWTs signed by the same keys are refused as access
    /// tokens ([`InvalidToken::WrongType`](crate::InvalidToken::WrongType)). Off by default: many issuers still send
    /// `typ: JWT` access tokens.
    #[must_use]
    pub fn require_access_token_type(mut self) -> Self {
        let settings = self.settings();
        settings.require_at_jwt = true;
        settings.known_headers = known_headers(&settings.keys, true);
        self
    }

    /// Refuses ES256/ES384 signatures whose `s` is above half the curve order
    /// ([`InvalidToken::BadSignature`](crate::InvalidToken::BadSignature)): one token, one valid signature.
    ///
    /// From a valid signature `(r, s)` anyone can make a second one, `(r, n-s)`, so a
    /// token has two valid strings (a cache or deny list keyed by the token string sees
    /// two tokens). Off by default because most signers do not normalize `s`: OpenSSL
    /// (and so Node.js identity providers), Java, Go, aws-lc and `jsonwebtoken` itself
    /// emit a high `s` in about half of their signatures, which this setting refuses.
    /// Turn it on for issuers that emit only low `s`, such as this crate's
    /// [`TokenIssuer`](crate::token_endpoint::TokenIssuer).
    #[must_use]
    pub fn require_low_s_ecdsa(mut self) -> Self {
        self.settings().require_low_s = true;
        self
    }

    /// The issuers accepted (empty: `iss` is not checked).
    #[cfg_attr(not(feature = "jwks-core"), allow(dead_code))]
    pub(crate) fn issuers(&self) -> &[Box<str>] {
        &self.inner.issuers
    }

    /// Returns the same settings with another claims type (your own
    /// `Deserialize` struct: it is read on the same one-pass path as [`Claims`]).
    #[must_use]
    pub fn with_claims<U>(self) -> JwtValidator<U> {
        JwtValidator {
            inner: self.inner,
            claims: PhantomData,
        }
    }
}

#[cfg(feature = "cache")]
impl<T> JwtValidator<T> {
    /// The leeway for `exp` and `nbf`, in seconds.
    pub(crate) fn leeway_secs(&self) -> i64 {
        self.inner.leeway
    }

    /// The longest token accepted, in bytes.
    pub(crate) fn max_token_len(&self) -> usize {
        self.inner.max_token_len
    }

    /// `true` if every key is an HMAC secret.
    pub(crate) fn hmac_only(&self) -> bool {
        self.inner
            .keys
            .iter()
            .all(|k| k.algorithm.family() == jsonwebtoken::AlgorithmFamily::Hmac)
    }
}

impl<T> TokenValidator for JwtValidator<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Claims = T;
    type Future = Ready<Result<T, AuthError>>;

    fn validate(&self, token: &str) -> Validation<T, Self::Future> {
        Validation::Ready(self.verify(token))
    }

    /// A JWT is accepted only if its header is one of the pre-encoded forms or strict
    /// base64url, its payload strict base64url and its signature the strict encoding
    /// of the expected one, between exactly two dots: all `b64token` characters.
    fn accepts_only_b64token(&self, _: crate::validate::sealed::Internal) -> bool {
        true
    }
}

impl<T> JwtValidator<T> {
    /// A validator with this one's settings (issuers, audiences, leeway, limits, claim
    /// rules) and `keys` in place of its keys: for key sets that change at run time
    /// (rotation, a refreshed JWK set). Each entry is `(kid, algorithm, key)`; a key
    /// without a `kid` matches any token of its algorithm that names no known `kid`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new) for each key, and [`ConfigError::NoKeys`] if there are none.
    pub fn with_keys_replaced<'k, I>(&self, keys: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (Option<&'k str>, Algorithm, &'k DecodingKey)>,
    {
        let validator = self.replace_keys(keys)?;
        if validator.inner.keys.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        Ok(validator)
    }

    /// As [`with_keys_replaced`](Self::with_keys_replaced), an empty list allowed.
    pub(crate) fn replace_keys<'k, I>(&self, keys: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (Option<&'k str>, Algorithm, &'k DecodingKey)>,
    {
        let keys = keys
            .into_iter()
            .map(|(kid, algorithm, key)| VerifyingKey::new(kid, algorithm, key, true))
            .collect::<Result<Vec<_>, _>>()?;
        let mut settings = Settings::clone(&self.inner);
        settings.known_headers = known_headers(&keys, settings.require_at_jwt);
        settings.keys = keys;
        Ok(Self {
            inner: Arc::new(settings),
            claims: PhantomData,
        })
    }

    /// Default settings and no key (refuses every token): a template for
    /// [`replace_keys`](Self::replace_keys).
    pub(crate) fn keyless() -> Self {
        let placeholder = DecodingKey::from_secret(&[0; 32]);
        let validator = Self::new(Algorithm::HS256, &placeholder)
            .expect("a 32-byte HS256 secret is always accepted");
        validator
            .replace_keys([])
            .expect("an empty key list is always accepted")
    }
}

#[cfg(test)]
mod claim_rules_tests;
#[cfg(test)]
mod scanned_tests;
