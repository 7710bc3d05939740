//! The issuer side's public JWKs: the public half of a key, in the JWK form
//! validators read (RFC 7517), and the JWK-set document they fetch.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, JwkSet, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
    RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKeyKind, EncodingKey};

use super::key::ValidationKey;
use crate::error::ConfigError;
use crate::validate::crypto_provider;

fn invalid_key(e: impl fmt::Display) -> ConfigError {
    ConfigError::InvalidKey(e.to_string())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn common(kid: &str, algorithm: Algorithm) -> Result<CommonParameters, ConfigError> {
    if kid.is_empty() {
        return Err(ConfigError::InvalidKeyId);
    }
    Ok(CommonParameters {
        public_key_use: Some(PublicKeyUse::Signature),
        key_algorithm: Some(algorithm.into()),
        key_id: Some(kid.to_owned()),
        ..CommonParameters::default()
    })
}

fn curve_of(algorithm: Algorithm) -> EllipticCurve {
    match algorithm {
        Algorithm::ES256 => EllipticCurve::P256,
        _ => EllipticCurve::P384,
    }
}

fn ec_params(algorithm: Algorithm, point: &[u8]) -> Result<AlgorithmParameters, ConfigError> {
    let half = match (algorithm, point.len()) {
        (Algorithm::ES256, 65) => 32,
        (Algorithm::ES384, 97) => 48,
        _ => return Err(ConfigError::KeyAlgorithmMismatch),
    };
    if point[0] != 4 {
        return Err(invalid_key("not an uncompressed EC point"));
    }
    let (x, y) = point[1..].split_at(half);
    Ok(AlgorithmParameters::EllipticCurve(
        EllipticCurveKeyParameters {
            key_type: EllipticCurveKeyType::EC,
            curve: curve_of(algorithm),
            x: b64(x),
            y: b64(y),
        },
    ))
}

fn ed_params(x: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
        key_type: OctetKeyPairType::OctetKeyPair,
        curve: EllipticCurve::Ed25519,
        x: b64(x),
    })
}

fn rsa_params(n: &[u8], e: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::RSA(RSAKeyParameters {
        key_type: RSAKeyType::RSA,
        n: b64(n),
        e: b64(e),
    })
}

fn jwk_of(kid: &str, key: &ValidationKey) -> Result<Jwk, ConfigError> {
    let algorithm = key.algorithm();
    let params = match (algorithm.family(), key.decoding_key().kind()) {
        (AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => rsa_params(n, e),
        (AlgorithmFamily::Rsa, DecodingKeyKind::SecretOrDer(der)) => {
            let (n, e) = (crypto_provider()
                .key_utils
                .rsa_pub_components_from_public_key)(der)
            .map_err(invalid_key)?;
            rsa_params(&n, &e)
        }
        (AlgorithmFamily::Ec, DecodingKeyKind::SecretOrDer(point)) => ec_params(algorithm, point)?,
        (AlgorithmFamily::Ed, DecodingKeyKind::SecretOrDer(x)) if x.len() == 32 => ed_params(x),
        _ => return Err(invalid_key("not a public RSA, EC or Ed25519 key")),
    };
    Ok(Jwk {
        common: common(kid, algorithm)?,
        algorithm: params,
    })
}

/// The public JWK of a public key in PEM (SPKI, or PKCS#1 for RSA), with `kid`, `alg`
/// and `use: "sig"`. Only public members are ever emitted.
///
/// # Errors
///
/// As [`ValidationKey::from_pem`] (a private key PEM is refused), and
/// [`ConfigError::InvalidKeyId`] for an empty `kid`.
pub fn public_jwk(kid: &str, algorithm: Algorithm, public_pem: &[u8]) -> Result<Jwk, ConfigError> {
    jwk_of(
        kid,
        &ValidationKey::from_pem(Some(kid), algorithm, public_pem)?,
    )
}

/// The public JWK of a signing key (as loaded with `EncodingKey::from_*_pem`): the
/// public half only, with `kid`, `alg` and `use: "sig"`. HMAC secrets are refused.
///
/// # Errors
///
/// [`ConfigError::KeyAlgorithmMismatch`] if the key is not of the algorithm's family or
/// is an HMAC secret, [`ConfigError::InvalidKey`] if its public half cannot be derived,
/// [`ConfigError::InvalidKeyId`] for an empty `kid`.
pub fn public_jwk_from_private(
    kid: &str,
    algorithm: Algorithm,
    key: &EncodingKey,
) -> Result<Jwk, ConfigError> {
    if key.family() != algorithm.family() || algorithm.family() == AlgorithmFamily::Hmac {
        return Err(ConfigError::KeyAlgorithmMismatch);
    }
    let utils = &crypto_provider().key_utils;
    let params = match algorithm.family() {
        AlgorithmFamily::Rsa => {
            let (n, e) =
                (utils.rsa_pub_components_from_private_key)(key.as_bytes()).map_err(invalid_key)?;
            rsa_params(&n, &e)
        }
        AlgorithmFamily::Ec => {
            let (curve, x, y) =
                (utils.ec_pub_components_from_private_key)(key.as_bytes(), algorithm)
                    .map_err(invalid_key)?;
            if curve != curve_of(algorithm) {
                return Err(ConfigError::KeyAlgorithmMismatch);
            }
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            ec_params(algorithm, &point)?
        }
        _ => {
            let x =
                (utils.ed_pub_components_from_private_key)(key.as_bytes(), &EllipticCurve::Ed25519)
                    .map_err(invalid_key)?;
            ed_params(&x)
        }
    };
    let jwk = Jwk {
        common: common(kid, algorithm)?,
        algorithm: params,
    };
    // Round trip: the derived public key must be usable by a validator.
    ValidationKey::from_jwk(&jwk, &super::JwkOptions::new()).map_err(invalid_key)?;
    Ok(jwk)
}

/// `true` if every member of `set` is a public RSA, EC or OKP key.
fn is_public(set: &JwkSet) -> bool {
    set.keys.iter().all(|jwk| {
        matches!(
            jwk.algorithm,
            AlgorithmParameters::RSA(_)
                | AlgorithmParameters::EllipticCurve(_)
                | AlgorithmParameters::OctetKeyPair(_)
        )
    })
}

/// The JSON of a JWK set of public keys only.
pub(crate) fn serialize_set(set: &JwkSet) -> Result<Bytes, ConfigError> {
    if !is_public(set) {
        return Err(ConfigError::InvalidKey(
            "only public RSA, EC and OKP keys can be published".into(),
        ));
    }
    serde_json::to_vec(set)
        .map(Bytes::from)
        .map_err(|e| ConfigError::InvalidKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn public_jwk_private_pem_fails() {
        let err = public_jwk("k", Algorithm::RS256, &key("rsa_private.pem")).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidKey(_)), "{err:?}");
    }

    #[test]
    fn public_jwk_matches_private_derivation_ok() {
        for (alg, public, private) in [
            (Algorithm::RS256, "rsa_public.pem", "rsa_private.pem"),
            (Algorithm::ES256, "ec_public.pem", "ec_private.pem"),
            (Algorithm::ES384, "ec384_public.pem", "ec384_private.pem"),
            (Algorithm::EdDSA, "ed_public.pem", "ed_private.pem"),
        ] {
            let from_public = public_jwk("k", alg, &key(public)).unwrap();
            let encoding = match alg.family() {
                AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(&key(private)),
                AlgorithmFamily::Ec => EncodingKey::from_ec_pem(&key(private)),
                _ => EncodingKey::from_ed_pem(&key(private)),
            }
            .unwrap();
            let from_private = public_jwk_from_private("k", alg, &encoding).unwrap();
            assert_eq!(from_public, from_private, "{alg:?}");
            let json = serde_json::to_value(&from_public).unwrap();
            assert!(json.get("d").is_none(), "{json}");
            assert_eq!(json["use"], "sig");
        }
    }

    #[test]
    fn public_jwk_wrong_curve_fails() {
        let err = public_jwk("k", Algorithm::ES256, &key("ec384_public.pem")).unwrap_err();
        assert_eq!(err, ConfigError::KeyAlgorithmMismatch);
    }
}
