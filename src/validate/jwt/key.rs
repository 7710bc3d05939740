//! One verifying key: its `kid`, its algorithm and the keyed verifier.

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use sha2::{Sha256, Sha384, Sha512};

use super::{base64url, crypto_provider};
use crate::error::{ConfigError, InvalidToken};

#[derive(Clone)]
pub(super) struct VerifyingKey {
    pub(super) kid: Option<Box<str>>,
    pub(super) algorithm: Algorithm,
    verifier: Verifier,
}

/// HMAC keys are keyed once here; each request clones the keyed state instead of
/// running the key schedule again.
#[derive(Clone)]
pub(super) enum Verifier {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
    Public(DecodingKey),
}

pub(super) fn hmac_min_len(algorithm: Algorithm) -> usize {
    match algorithm {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

impl VerifyingKey {
    pub(super) fn new(
        kid: Option<&str>,
        algorithm: Algorithm,
        key: &DecodingKey,
        check_length: bool,
    ) -> Result<Self, ConfigError> {
        if algorithm.family() != key.family() {
            return Err(ConfigError::KeyAlgorithmMismatch);
        }
        let verifier = if algorithm.family() == AlgorithmFamily::Hmac {
            let DecodingKeyKind::SecretOrDer(secret) = key.kind() else {
                return Err(ConfigError::KeyAlgorithmMismatch);
            };
            if secret.is_empty() {
                return Err(ConfigError::HmacKeyTooShort { minimum: 1 });
            }
            let minimum = hmac_min_len(algorithm);
            if check_length && secret.len() < minimum {
                return Err(ConfigError::HmacKeyTooShort { minimum });
            }
            let invalid = |_| ConfigError::InvalidKey("unusable HMAC secret".into());
            match algorithm {
                Algorithm::HS256 => Verifier::Hs256(Hmac::new_from_slice(secret).map_err(invalid)?),
                Algorithm::HS384 => Verifier::Hs384(Hmac::new_from_slice(secret).map_err(invalid)?),
                _ => Verifier::Hs512(Hmac::new_from_slice(secret).map_err(invalid)?),
            }
        } else {
            // Build a verifier once so that a bad key fails here, not on a request.
            (crypto_provider().verifier_factory)(&algorithm, key)
                .map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
            Verifier::Public(key.clone())
        };
        Ok(Self {
            kid: kid.map(Into::into),
            algorithm,
            verifier,
        })
    }

    /// Verifies `signature` (base64url) over `signing_input`; an ECDSA signature with a
    /// high `s` is refused if `require_low_s`.
    pub(super) fn verify(
        &self,
        signing_input: &[u8],
        signature: &[u8],
        require_low_s: bool,
    ) -> Result<(), InvalidToken> {
        fn mac<M: Mac + Clone>(
            keyed: &M,
            input: &[u8],
            signature: &[u8],
        ) -> Result<(), InvalidToken> {
            let mut mac = keyed.clone();
            mac.update(input);
            // Constant-time, against the tag's one strict encoding: a truncated,
            // padded or stray-bit signature does not match.
            base64url::encodes(&mac.finalize().into_bytes(), signature)
                .then_some(())
                .ok_or(InvalidToken::BadSignature)
        }
        match &self.verifier {
            Verifier::Hs256(keyed) => mac(keyed, signing_input, signature),
            Verifier::Hs384(keyed) => mac(keyed, signing_input, signature),
            Verifier::Hs512(keyed) => mac(keyed, signing_input, signature),
            Verifier::Public(key) => {
                let signature =
                    base64url::decode_to_vec(signature).ok_or(InvalidToken::BadSignature)?;
                if require_low_s && crate::keys::low_s::is_high_s(self.algorithm, &signature) {
                    return Err(InvalidToken::BadSignature);
                }
                let verifier = (crypto_provider().verifier_factory)(&self.algorithm, key)
                    .map_err(|_| InvalidToken::UnknownKey)?;
                verifier
                    .verify(signing_input, &signature)
                    .map_err(|_| InvalidToken::BadSignature)
            }
        }
    }
}
