//! [`ValidationKey`] and [`KeySet`]: public keys with a `kid` and an algorithm.

use std::fmt;

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use super::jwk::KeySetError;
use crate::error::ConfigError;
use crate::validate::{crypto_provider, JwtValidator};

/// A key that verifies token signatures: its `kid` (if any), the one algorithm it is
/// used with, and the key itself.
///
/// Built keys have been checked with the crate's crypto backend, so a key that cannot
/// verify anything is refused here and never reaches a request.
#[derive(Clone)]
pub struct ValidationKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
    /// Further algorithms of the same family the key verifies (an RSA JWK without
    /// `alg`, read with [`JwkOptions::with_rsa_default_algorithms`](super::JwkOptions::with_rsa_default_algorithms)).
    pub(crate) also: Vec<Algorithm>,
}

impl fmt::Debug for ValidationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidationKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// `true` when the label of the first PEM block names a private key.
fn pem_is_private(pem: &[u8]) -> bool {
    let text = String::from_utf8_lossy(pem);
    text.lines()
        .find_map(|line| line.trim().strip_prefix("-----BEGIN "))
        .is_some_and(|label| label.contains("PRIVATE"))
}

impl ValidationKey {
    /// A key for `algorithm`, selected by `kid` when one is given.
    ///
    /// # Errors
    ///
    /// [`ConfigError::KeyAlgorithmMismatch`] if the key's family is not the
    /// algorithm's (an EC key for `RS256`, a P-384 point for `ES256`),
    /// [`ConfigError::InvalidKey`] if the backend cannot use the key,
    /// [`ConfigError::InvalidKeyId`] for an empty `kid`.
    pub fn new(
        kid: Option<&str>,
        algorithm: Algorithm,
        key: DecodingKey,
    ) -> Result<Self, ConfigError> {
        if kid.is_some_and(str::is_empty) {
            return Err(ConfigError::InvalidKeyId);
        }
        if key.family() != algorithm.family() {
            return Err(ConfigError::KeyAlgorithmMismatch);
        }
        if algorithm.family() == AlgorithmFamily::Ec {
            // An uncompressed point: 0x04 || x || y, 32-byte coordinates for P-256, 48 for P-384.
            let expected = match algorithm {
                Algorithm::ES256 => 65,
                _ => 97,
            };
            let point = key
                .try_get_as_bytes()
                .map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
            if point.len() != expected {
                return Err(ConfigError::KeyAlgorithmMismatch);
            }
        }
        if algorithm.family() != AlgorithmFamily::Hmac {
            (crypto_provider().verifier_factory)(&algorithm, &key)
                .map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
        }
        Ok(Self {
            kid: kid.map(str::to_owned),
            algorithm,
            key,
            also: Vec::new(),
        })
    }

    /// A public key in PEM: SPKI (`PUBLIC KEY`) for every family, or PKCS#1
    /// (`RSA PUBLIC KEY`) for RSA.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] for a private key (only public keys belong in a
    /// validator), an unparsable PEM, or an HMAC algorithm; otherwise as
    /// [`new`](Self::new).
    pub fn from_pem(
        kid: Option<&str>,
        algorithm: Algorithm,
        pem: &[u8],
    ) -> Result<Self, ConfigError> {
        if pem_is_private(pem) {
            return Err(ConfigError::InvalidKey(
                "a private key where a public key is expected".into(),
            ));
        }
        let key = match algorithm.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => {
                return Err(ConfigError::InvalidKey(
                    "HMAC secrets have no PEM form".into(),
                ))
            }
        }
        .map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
        Self::new(kid, algorithm, key)
    }

    /// A public key in the binary forms `jsonwebtoken` reads: PKCS#1 `RSAPublicKey` DER
    /// for RSA, the uncompressed SEC1 point for EC, the 32 raw bytes for Ed25519.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] for an HMAC algorithm; otherwise as [`new`](Self::new).
    pub fn from_der(
        kid: Option<&str>,
        algorithm: Algorithm,
        der: &[u8],
    ) -> Result<Self, ConfigError> {
        let key = match algorithm.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_der(der),
            AlgorithmFamily::Ec => DecodingKey::from_ec_der(der),
            AlgorithmFamily::Ed => DecodingKey::from_ed_der(der),
            AlgorithmFamily::Hmac => {
                return Err(ConfigError::InvalidKey(
                    "use JwtValidator::new for HMAC".into(),
                ))
            }
        };
        Self::new(kid, algorithm, key)
    }

    /// The key id, matched against the token's `kid` header.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key.
    #[must_use]
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }
}

/// Several [`ValidationKey`]s at once, each selected by its `kid` (rotation: the new key
/// and the old one side by side).
///
/// Built by hand ([`with_key`](Self::with_key)) or from a JWK set
/// ([`from_json`](Self::from_json), [`from_jwk_set`](Self::from_jwk_set)). A `kid`
/// appears at most once.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    pub(super) keys: Vec<ValidationKey>,
    pub(super) skipped: Vec<(Option<String>, KeySetError)>,
}

impl KeySet {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKeyId`] (`"kid"`) if a key with the same `kid` is already
    /// in the set.
    pub fn with_key(mut self, key: ValidationKey) -> Result<Self, ConfigError> {
        if key.kid.is_some() && self.keys.iter().any(|k| k.kid == key.kid) {
            return Err(ConfigError::InvalidKeyId);
        }
        self.keys.push(key);
        Ok(self)
    }

    /// The keys.
    #[must_use]
    pub fn keys(&self) -> &[ValidationKey] {
        &self.keys
    }

    /// The `kid`s of the keys that have one.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(ValidationKey::kid)
    }

    /// `true` if a key has this `kid`.
    #[must_use]
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.kids().any(|known| known == kid)
    }

    /// How many keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// `true` if there are no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The members of a JWK set that were left out: each one's `kid` (if it had a string
    /// one) and why, one of the per-member variants of [`KeySetError`] (empty for sets
    /// built by hand).
    #[must_use]
    pub fn skipped(&self) -> &[(Option<String>, KeySetError)] {
        &self.skipped
    }

    /// A validator with the default settings and these keys.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoKeys`] for an empty set.
    pub fn to_validator<T>(&self) -> Result<JwtValidator<T>, ConfigError> {
        self.apply_to(&JwtValidator::keyless())
    }

    /// A validator with `template`'s settings (issuers, audiences, leeway, ...) and these
    /// keys in place of the template's.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoKeys`] for an empty set.
    pub fn apply_to<T>(&self, template: &JwtValidator<T>) -> Result<JwtValidator<T>, ConfigError> {
        template.with_keys_replaced(self.keys.iter().flat_map(|k| {
            std::iter::once(k.algorithm)
                .chain(k.also.iter().copied())
                .map(|algorithm| (k.kid.as_deref(), algorithm, &k.key))
        }))
    }
}
