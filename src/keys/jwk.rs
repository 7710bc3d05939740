//! Reading a JWK set (RFC 7517 §5) into a [`KeySet`]: the rules are in the
//! [`keys`](crate::keys#reading-a-jwk-set) module docs.

use std::fmt;

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;

use super::key::{KeySet, ValidationKey};
use crate::error::ConfigError;

/// Default bound on the number of members of a JWK set.
pub const DEFAULT_MAX_KEYS: usize = 100;

/// Members that only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2).
const SECRET_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Shortest RSA modulus accepted from a JWK set (RFC 7518 §3.3: 2048 bits or larger).
const MIN_RSA_BITS: usize = 2048;

/// The size in bits of a base64url-encoded big-endian modulus (0 if undecodable).
fn rsa_modulus_bits(n: &str) -> usize {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(n.trim_end_matches('=')) else {
        return 0;
    };
    let Some(first) = bytes.iter().position(|b| *b != 0) else {
        return 0;
    };
    (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize
}

/// Longest `kid` kept, in bytes.
const MAX_KID_LEN: usize = 256;

/// How a JWK set is read: see the [rules](crate::keys#reading-a-jwk-set).
#[derive(Clone, Debug)]
pub struct JwkOptions {
    max_keys: usize,
    rsa_default: Option<Algorithm>,
    rsa_also: Vec<Algorithm>,
}

impl Default for JwkOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl JwkOptions {
    /// The strict defaults: at most [`DEFAULT_MAX_KEYS`] members, RSA keys must state
    /// their `alg`.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_keys: DEFAULT_MAX_KEYS,
            rsa_default: None,
            rsa_also: Vec::new(),
        }
    }

    /// Refuses documents with more than `max` members (default [`DEFAULT_MAX_KEYS`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] for `0`.
    pub fn with_max_keys(mut self, max: usize) -> Result<Self, ConfigError> {
        if max == 0 {
            return Err(ConfigError::OutOfRange("max_keys"));
        }
        self.max_keys = max;
        Ok(self)
    }

    /// Uses RSA keys without an `alg` member with `algorithm` (for identity providers
    /// that omit it), instead of skipping them.
    ///
    /// # Errors
    ///
    /// [`ConfigError::KeyAlgorithmMismatch`] if `algorithm` is not an RSA algorithm.
    pub fn with_rsa_default_algorithm(mut self, algorithm: Algorithm) -> Result<Self, ConfigError> {
        if algorithm.family() != AlgorithmFamily::Rsa {
            return Err(ConfigError::KeyAlgorithmMismatch);
        }
        self.rsa_default = Some(algorithm);
        Ok(self)
    }

    /// Uses RSA keys without an `alg` member with each of `algorithms` (for identity
    /// providers that omit it and sign with several, e.g. `RS256` and `PS256`): the
    /// token's `alg` picks among them.
    ///
    /// # Errors
    ///
    /// [`ConfigError::KeyAlgorithmMismatch`] if one is not an RSA algorithm,
    /// [`ConfigError::Missing`] if there are none.
    pub fn with_rsa_default_algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, ConfigError> {
        let mut algorithms: Vec<Algorithm> = algorithms.into_iter().collect();
        if algorithms
            .iter()
            .any(|a| a.family() != AlgorithmFamily::Rsa)
        {
            return Err(ConfigError::KeyAlgorithmMismatch);
        }
        algorithms.dedup();
        if algorithms.is_empty() {
            return Err(ConfigError::Missing("rsa algorithms"));
        }
        self.rsa_default = Some(algorithms.remove(0));
        self.rsa_also = algorithms;
        Ok(self)
    }

    /// The bound on the number of members.
    #[must_use]
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }
}

/// Why a JWK set document was refused as a whole (the first three variants), or why one
/// of its members was left out (the others; see [`KeySet::skipped`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySetError {
    /// Not a JSON object with a `keys` array.
    Malformed(String),
    /// More members than the configured bound.
    TooManyKeys {
        /// Members in the document.
        found: usize,
        /// The bound.
        limit: usize,
    },
    /// No member is usable; see `skipped`.
    NoUsableKeys {
        /// The members left out: each one's `kid` (if it had a string one) and why.
        skipped: Vec<(Option<String>, KeySetError)>,
    },
    /// A member: `use` is not `sig`, or `key_ops` does not list `verify`.
    NotForSignatures,
    /// A member has private or secret key material.
    SecretMaterial,
    /// A member's `kty` (or curve) is not one of RSA, EC P-256/P-384, OKP Ed25519.
    UnsupportedKeyType,
    /// A member's `alg` is not a JWS algorithm this crate verifies.
    UnsupportedAlgorithm,
    /// A member's `alg` does not fit the key type or curve.
    AlgorithmMismatch,
    /// A member has no `alg`, and none can be inferred safely (RSA).
    MissingAlgorithm,
    /// An earlier member has the same `kid`.
    DuplicateKid,
    /// A member's `kid` is empty or longer than 256 bytes.
    InvalidKid,
    /// A member is not a JWK object, or its key material is unusable.
    InvalidKey(String),
}

impl fmt::Display for KeySetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "not a JWK set: {why}"),
            Self::TooManyKeys { found, limit } => {
                write!(
                    f,
                    "JWK set has {found} keys, more than the limit of {limit}"
                )
            }
            Self::NoUsableKeys { skipped } => {
                write!(f, "JWK set has no usable key ({} skipped", skipped.len())?;
                for (kid, reason) in skipped.iter().take(3) {
                    write!(f, "; {}: {reason}", kid.as_deref().unwrap_or("-"))?;
                }
                f.write_str(")")
            }
            Self::NotForSignatures => f.write_str("not a signature key"),
            Self::SecretMaterial => f.write_str("has private or secret key material"),
            Self::UnsupportedKeyType => f.write_str("unsupported key type or curve"),
            Self::UnsupportedAlgorithm => f.write_str("unsupported algorithm"),
            Self::AlgorithmMismatch => f.write_str("algorithm does not fit the key"),
            Self::MissingAlgorithm => f.write_str("no alg and none can be inferred"),
            Self::DuplicateKid => f.write_str("duplicate kid"),
            Self::InvalidKid => f.write_str("empty or overlong kid"),
            Self::InvalidKey(why) => write!(f, "invalid key: {why}"),
        }
    }
}

impl std::error::Error for KeySetError {}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Reads a JWK set document (RFC 7517 §5) by the [rules](crate::keys#reading-a-jwk-set).
    ///
    /// # Errors
    ///
    /// [`KeySetError::Malformed`] if `json` is not an object with a `keys` array,
    /// [`KeySetError::TooManyKeys`] past the bound, [`KeySetError::NoUsableKeys`] if
    /// every member was skipped.
    pub fn from_json(json: &[u8], options: &JwkOptions) -> Result<Self, KeySetError> {
        let raw: RawSet =
            serde_json::from_slice(json).map_err(|e| KeySetError::Malformed(e.to_string()))?;
        check_count(raw.keys.len(), options)?;
        let mut set = Self::new();
        for member in raw.keys {
            let kid = member
                .get("kid")
                .and_then(|k| k.as_str())
                .map(str::to_owned);
            let outcome = member
                .as_object()
                .ok_or_else(|| KeySetError::InvalidKey("not a JSON object".into()))
                .and_then(|object| {
                    if SECRET_MEMBERS.iter().any(|name| object.contains_key(*name)) {
                        return Err(KeySetError::SecretMaterial);
                    }
                    serde_json::from_value::<Jwk>(member.clone())
                        .map_err(|e| KeySetError::InvalidKey(e.to_string()))
                })
                .and_then(|jwk| ValidationKey::from_jwk(&jwk, options));
            set.push_checked(kid, outcome);
        }
        set.finish()
    }

    /// Reads an already parsed JWK set by the [rules](crate::keys#reading-a-jwk-set). Private members
    /// are not visible in [`Jwk`]; [`from_json`](Self::from_json) also refuses members
    /// that carry them.
    ///
    /// # Errors
    ///
    /// As [`from_json`](Self::from_json), except `Malformed`.
    pub fn from_jwk_set(set: &JwkSet, options: &JwkOptions) -> Result<Self, KeySetError> {
        check_count(set.keys.len(), options)?;
        let mut out = Self::new();
        for jwk in &set.keys {
            out.push_checked(
                jwk.common.key_id.clone(),
                ValidationKey::from_jwk(jwk, options),
            );
        }
        out.finish()
    }

    fn push_checked(&mut self, kid: Option<String>, outcome: Result<ValidationKey, KeySetError>) {
        let outcome = outcome.and_then(|key| match key.kid() {
            Some(kid) if self.contains_kid(kid) => Err(KeySetError::DuplicateKid),
            _ => Ok(key),
        });
        match outcome {
            Ok(key) => self.keys.push(key),
            Err(reason) => self.skipped.push((kid, reason)),
        }
    }

    fn finish(self) -> Result<Self, KeySetError> {
        if self.keys.is_empty() {
            return Err(KeySetError::NoUsableKeys {
                skipped: self.skipped,
            });
        }
        Ok(self)
    }
}

fn check_count(found: usize, options: &JwkOptions) -> Result<(), KeySetError> {
    if found > options.max_keys {
        return Err(KeySetError::TooManyKeys {
            found,
            limit: options.max_keys,
        });
    }
    Ok(())
}

fn algorithm_of(key_algorithm: KeyAlgorithm) -> Result<Algorithm, KeySetError> {
    Algorithm::try_from(key_algorithm).map_err(|_| KeySetError::UnsupportedAlgorithm)
}

/// The algorithm and verifying key of a JWK's key members (rules 3 to 5), `stated`
/// being its `alg`, if any.
fn key_material(
    parameters: &AlgorithmParameters,
    stated: Option<Algorithm>,
    options: &JwkOptions,
) -> Result<(Algorithm, DecodingKey), KeySetError> {
    let invalid = |e: jsonwebtoken::errors::Error| KeySetError::InvalidKey(e.to_string());
    match parameters {
        AlgorithmParameters::RSA(rsa) => {
            let algorithm = stated
                .or(options.rsa_default)
                .ok_or(KeySetError::MissingAlgorithm)?;
            if algorithm.family() != AlgorithmFamily::Rsa {
                return Err(KeySetError::AlgorithmMismatch);
            }
            if rsa_modulus_bits(&rsa.n) < MIN_RSA_BITS {
                return Err(KeySetError::InvalidKey(
                    "RSA modulus shorter than 2048 bits".into(),
                ));
            }
            let key = DecodingKey::from_rsa_components(&rsa.n, &rsa.e).map_err(invalid)?;
            Ok((algorithm, key))
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let fixed = match ec.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return Err(KeySetError::UnsupportedKeyType),
            };
            if stated.is_some_and(|alg| alg != fixed) {
                return Err(KeySetError::AlgorithmMismatch);
            }
            let key = DecodingKey::from_ec_components(&ec.x, &ec.y).map_err(invalid)?;
            Ok((fixed, key))
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            if okp.curve != EllipticCurve::Ed25519 {
                return Err(KeySetError::UnsupportedKeyType);
            }
            if stated.is_some_and(|alg| alg != Algorithm::EdDSA) {
                return Err(KeySetError::AlgorithmMismatch);
            }
            let key = DecodingKey::from_ed_components(&okp.x).map_err(invalid)?;
            Ok((Algorithm::EdDSA, key))
        }
        AlgorithmParameters::OctetKey(_) => Err(KeySetError::SecretMaterial),
        _ => Err(KeySetError::UnsupportedKeyType),
    }
}

impl ValidationKey {
    /// A key from one JWK by the [rules](crate::keys#reading-a-jwk-set) 1 and 3 to 5 (rule 2 needs
    /// the raw JSON: see [`KeySet::from_json`]).
    ///
    /// # Errors
    ///
    /// The [`KeySetError`] of the first rule the JWK fails.
    pub fn from_jwk(jwk: &Jwk, options: &JwkOptions) -> Result<Self, KeySetError> {
        let common = &jwk.common;
        if common
            .public_key_use
            .as_ref()
            .is_some_and(|u| *u != PublicKeyUse::Signature)
        {
            return Err(KeySetError::NotForSignatures);
        }
        if common
            .key_operations
            .as_ref()
            .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
        {
            return Err(KeySetError::NotForSignatures);
        }
        let kid = common.key_id.as_deref();
        if kid.is_some_and(|k| k.is_empty() || k.len() > MAX_KID_LEN) {
            return Err(KeySetError::InvalidKid);
        }
        let stated = common.key_algorithm.map(algorithm_of).transpose()?;
        let (algorithm, key) = key_material(&jwk.algorithm, stated, options)?;
        let mut key = Self::new(kid, algorithm, key).map_err(|e| match e {
            ConfigError::KeyAlgorithmMismatch => KeySetError::AlgorithmMismatch,
            other => KeySetError::InvalidKey(other.to_string()),
        })?;
        if stated.is_none() && algorithm.family() == AlgorithmFamily::Rsa {
            key.also.clone_from(&options.rsa_also);
        }
        Ok(key)
    }
}
