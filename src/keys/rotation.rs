//! Issuer-side key rotation: [`SigningKeys`], the set of keys an issuer signs with and
//! publishes, shared by its token issuer and its `/.well-known/jwks.json`.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, AlgorithmFamily, EncodingKey};
use serde_json::{Map, Value};

use super::publish::{public_jwk_from_private, serialize_set};
use crate::error::ConfigError;
use crate::validate::crypto_provider;

/// How long a replaced key stays published by default: the default access-token
/// lifetime (30 minutes) plus the validators' default leeway (60 s) plus the default
/// JWK-set `max-age` (300 s).
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(30 * 60 + 60 + 300);

/// A private key ready to sign: its algorithm, optional `kid`, and the token header
/// encoded once.
// Signing happens in the token endpoint; without it the keys are only published.
#[cfg_attr(not(feature = "token-endpoint"), allow(dead_code))]
#[derive(Clone)]
pub(crate) struct SignerKey {
    algorithm: Algorithm,
    key: EncodingKey,
    kid: Option<String>,
    header: String,
}

fn hmac_min_len(algorithm: Algorithm) -> usize {
    match algorithm {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

#[cfg_attr(not(feature = "token-endpoint"), allow(dead_code))]
impl SignerKey {
    /// Checks that `key` fits `algorithm` and that the backend can sign with it, so an
    /// unusable key fails at configuration, not on a login.
    pub(crate) fn new(
        algorithm: Algorithm,
        key: &EncodingKey,
        kid: Option<&str>,
        check_length: bool,
    ) -> Result<Self, ConfigError> {
        if algorithm.family() != key.family() {
            return Err(ConfigError::KeyAlgorithmMismatch);
        }
        if algorithm.family() == AlgorithmFamily::Hmac {
            let len = key.as_bytes().len();
            if len == 0 {
                return Err(ConfigError::HmacKeyTooShort { minimum: 1 });
            }
            let minimum = hmac_min_len(algorithm);
            if check_length && len < minimum {
                return Err(ConfigError::HmacKeyTooShort { minimum });
            }
        }
        if kid.is_some_and(str::is_empty) {
            return Err(ConfigError::InvalidKeyId);
        }
        let signer = (crypto_provider().signer_factory)(&algorithm, key)
            .map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
        signer
            .try_sign(b"probe")
            .map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
        let mut header = Map::new();
        header.insert(
            "alg".into(),
            serde_json::to_value(algorithm).unwrap_or(Value::Null),
        );
        header.insert("typ".into(), Value::String("JWT".into()));
        if let Some(kid) = kid {
            header.insert("kid".into(), Value::String(kid.to_owned()));
        }
        Ok(Self {
            algorithm,
            key: key.clone(),
            kid: kid.map(str::to_owned),
            header: URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()),
        })
    }

    /// The same key under another `kid`.
    pub(crate) fn with_kid(&self, kid: &str) -> Result<Self, ConfigError> {
        Self::new(self.algorithm, &self.key, Some(kid), false)
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The compact JWS of `payload` (JSON), with the header's `typ` set to `typ` when
    /// given (in place of `JWT`); `None` if the backend fails. ECDSA signatures are
    /// always emitted in their low-`s` form.
    pub(crate) fn sign_typed(&self, payload: &[u8], typ: Option<&str>) -> Option<String> {
        let header = match typ {
            None => None,
            Some(typ) => {
                let mut header = Map::new();
                header.insert("alg".into(), serde_json::to_value(self.algorithm).ok()?);
                header.insert("typ".into(), Value::String(typ.to_owned()));
                if let Some(kid) = &self.kid {
                    header.insert("kid".into(), Value::String(kid.clone()));
                }
                Some(URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()))
            }
        };
        let header = header.as_deref().unwrap_or(&self.header);
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 100);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signer = (crypto_provider().signer_factory)(&self.algorithm, &self.key).ok()?;
        let mut signature = signer.try_sign(token.as_bytes()).ok()?;
        super::low_s::normalize(self.algorithm, &mut signature);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Some(token)
    }
}

/// The keys an issuer signs with, for rotation without restart: one active key signs
/// every new token; a key replaced by [`rotate`](Self::rotate) stays published (and so
/// accepted by validators reading the JWK set) for the overlap, then is dropped.
///
/// Clones share the same keys: hand one to the token issuer
/// ([`TokenIssuer::from_signing_keys`](crate::token_endpoint::TokenIssuer::from_signing_keys))
/// and one to the JWK-set endpoint ([`WellKnownService::jwks_from_signing_keys`](crate::metadata::WellKnownService::jwks_from_signing_keys));
/// a rotation switches both at once. Asymmetric keys only: an HMAC secret cannot be
/// published.
///
/// Retirement needs no background task: a replaced key leaves the published set the
/// first time the set is read after its overlap ended.
///
/// ```
/// use jsonwebtoken::{Algorithm, EncodingKey};
/// use tower_bearer::keys::SigningKeys;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/ec_private.pem"))?;
/// let keys = SigningKeys::new("2026-11", Algorithm::ES256, &EncodingKey::from_ec_pem(&pem)?)?;
///
/// // Later: a new key signs from now on, the old one stays published for the overlap.
/// let next = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/ec_private_2.pem"))?;
/// keys.rotate("2026-12", Algorithm::ES256, &EncodingKey::from_ec_pem(&next)?)?;
/// assert_eq!(keys.active_kid(), "2026-12");
/// assert_eq!(keys.jwk_set().keys.len(), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SigningKeys {
    shared: Arc<RwLock<State>>,
}

struct State {
    active: SignerKey,
    overlap: Duration,
    /// Every published key, the active one first; replaced ones with their end.
    published: Vec<(Jwk, Option<Instant>)>,
    document: Bytes,
}

impl State {
    fn set(&self) -> JwkSet {
        JwkSet {
            keys: self.published.iter().map(|(jwk, _)| jwk.clone()).collect(),
        }
    }

    /// Drops the keys whose overlap ended; `true` if any was dropped.
    fn prune(&mut self, now: Instant) -> Result<bool, ConfigError> {
        let before = self.published.len();
        self.published
            .retain(|(_, until)| until.is_none_or(|until| now < until));
        if self.published.len() == before {
            return Ok(false);
        }
        self.document = serialize_set(&self.set())?;
        Ok(true)
    }
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.read();
        let kids: Vec<_> = state
            .published
            .iter()
            .map(|(jwk, _)| jwk.common.key_id.clone())
            .collect();
        f.debug_struct("SigningKeys")
            .field("active", &state.active.kid)
            .field("published", &kids)
            .field("overlap", &state.overlap)
            .finish_non_exhaustive()
    }
}

fn signer_and_jwk(
    kid: &str,
    algorithm: Algorithm,
    key: &EncodingKey,
) -> Result<(SignerKey, Jwk), ConfigError> {
    let jwk = public_jwk_from_private(kid, algorithm, key)?;
    let signer = SignerKey::new(algorithm, key, Some(kid), true)?;
    Ok((signer, jwk))
}

impl SigningKeys {
    /// A set with one active key, published with its `kid`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::KeyAlgorithmMismatch`] for a key not of the algorithm's family or
    /// an HMAC secret, [`ConfigError::InvalidKey`] if the backend cannot use it,
    /// [`ConfigError::InvalidKeyId`] for an empty `kid`.
    pub fn new(kid: &str, algorithm: Algorithm, key: &EncodingKey) -> Result<Self, ConfigError> {
        let (active, jwk) = signer_and_jwk(kid, algorithm, key)?;
        let published = vec![(jwk, None)];
        let document = serialize_set(&JwkSet {
            keys: published.iter().map(|(jwk, _)| jwk.clone()).collect(),
        })?;
        Ok(Self {
            shared: Arc::new(RwLock::new(State {
                active,
                overlap: DEFAULT_OVERLAP,
                published,
                document,
            })),
        })
    }

    /// How long a replaced key stays published (default [`DEFAULT_OVERLAP`]). Make it
    /// at least the access-token lifetime plus the validators' leeway plus the JWK
    /// set's `max-age`, so every token it signed expires before validators drop it.
    #[must_use]
    pub fn with_overlap(self, overlap: Duration) -> Self {
        self.write().overlap = overlap;
        self
    }

    /// Makes a new key active: tokens signed from now on carry its `kid`; the
    /// previously active key stays published for the overlap. Publish-before-sign is
    /// left to the caller's timing: validators that refresh on an unknown `kid` (as
    /// [`JwksValidator`](crate::validate) does) pick the new key up on its first token.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), and [`ConfigError::InvalidKeyId`] for a `kid` that is
    /// still published. The set is unchanged on error.
    pub fn rotate(
        &self,
        kid: &str,
        algorithm: Algorithm,
        key: &EncodingKey,
    ) -> Result<(), ConfigError> {
        let (signer, jwk) = signer_and_jwk(kid, algorithm, key)?;
        let mut state = self.write();
        let now = Instant::now();
        state.prune(now)?;
        let in_use = state
            .published
            .iter()
            .any(|(published, _)| published.common.key_id.as_deref() == Some(kid));
        if in_use {
            return Err(ConfigError::InvalidKeyId);
        }
        let until = now.checked_add(state.overlap);
        let mut published = Vec::with_capacity(state.published.len() + 1);
        published.push((jwk, None));
        published.extend(state.published.iter().map(|(jwk, end)| {
            // The key being replaced gets its end; older ones keep theirs.
            (jwk.clone(), end.or(until))
        }));
        let document = serialize_set(&JwkSet {
            keys: published.iter().map(|(jwk, _)| jwk.clone()).collect(),
        })?;
        state.published = published;
        state.document = document;
        state.active = signer;
        Ok(())
    }

    /// The `kid` of the key that signs new tokens.
    #[must_use]
    pub fn active_kid(&self) -> String {
        self.read().active.kid.clone().unwrap_or_default()
    }

    /// The algorithm of the key that signs new tokens.
    #[must_use]
    pub fn active_algorithm(&self) -> Algorithm {
        self.read().active.algorithm
    }

    /// The published set: the active key first, then replaced keys still within their
    /// overlap. Public members only.
    #[must_use]
    pub fn jwk_set(&self) -> JwkSet {
        self.pruned();
        self.read().set()
    }

    /// The published set as served (`application/jwk-set+json`).
    pub(crate) fn document(&self) -> Bytes {
        self.pruned();
        self.read().document.clone()
    }

    /// Signs `payload` with the active key, with the header's `typ` when given.
    #[cfg_attr(not(feature = "token-endpoint"), allow(dead_code))]
    pub(crate) fn sign_typed(&self, payload: &[u8], typ: Option<&str>) -> Option<String> {
        self.read().active.sign_typed(payload, typ)
    }

    fn pruned(&self) {
        let now = Instant::now();
        let due = self
            .read()
            .published
            .iter()
            .any(|(_, until)| until.is_some_and(|until| now >= until));
        if due {
            // Serializing a set that was serialized before cannot fail; on the
            // impossible failure the old document stays.
            let _ = self.write().prune(now);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.shared.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.shared.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> EncodingKey {
        let pem =
            std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        EncodingKey::from_ec_pem(&pem).unwrap()
    }

    fn kids(keys: &SigningKeys) -> Vec<String> {
        keys.jwk_set()
            .keys
            .into_iter()
            .map(|jwk| jwk.common.key_id.unwrap())
            .collect()
    }

    #[test]
    fn rotation_publishes_both_then_retires_the_old_key() {
        let keys = SigningKeys::new("a", Algorithm::ES256, &key("ec_private.pem"))
            .unwrap()
            .with_overlap(Duration::from_millis(200));
        assert_eq!(kids(&keys), ["a"]);
        keys.rotate("b", Algorithm::ES256, &key("ec_private_2.pem"))
            .unwrap();
        assert_eq!(keys.active_kid(), "b");
        assert_eq!(kids(&keys), ["b", "a"]);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(kids(&keys), ["b"]);
        let document: serde_json::Value = serde_json::from_slice(&keys.document()).unwrap();
        assert_eq!(document["keys"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_published_kid_cannot_come_back() {
        let keys = SigningKeys::new("a", Algorithm::ES256, &key("ec_private.pem")).unwrap();
        keys.rotate("b", Algorithm::ES256, &key("ec_private_2.pem"))
            .unwrap();
        for kid in ["a", "b"] {
            assert_eq!(
                keys.rotate(kid, Algorithm::ES256, &key("ec_private.pem")),
                Err(ConfigError::InvalidKeyId)
            );
        }
        assert_eq!(kids(&keys), ["b", "a"]);
    }

    #[test]
    fn refuses_hmac_and_mismatched_keys() {
        let secret = EncodingKey::from_secret(&[7; 32]);
        assert!(SigningKeys::new("h", Algorithm::HS256, &secret).is_err());
        assert!(SigningKeys::new("e", Algorithm::RS256, &key("ec_private.pem")).is_err());
        let keys = SigningKeys::new("a", Algorithm::ES256, &key("ec_private.pem")).unwrap();
        assert!(keys.rotate("h", Algorithm::HS256, &secret).is_err());
        assert_eq!(keys.active_kid(), "a");
    }
}
