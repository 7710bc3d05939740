//! The public key in a proof's `jwk` header: checked strictly, turned into a verifying
//! key, and hashed into its RFC 7638 thumbprint.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::DpopError;

/// Members only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2): a proof carrying one leaks its key and is refused.
const SECRET_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Shortest RSA modulus accepted (RFC 7518 §3.3).
const MIN_RSA_BITS: usize = 2048;
/// Longest RSA modulus accepted: bounds the work an unauthenticated proof can cause.
const MAX_RSA_BITS: usize = 8192;

/// A proof key: what verifies the proof, and its thumbprint.
pub(crate) struct ProofKey {
    pub(crate) key: DecodingKey,
    pub(crate) thumbprint: String,
}

/// Reads the `jwk` header for a proof signed with `algorithm` (already one of the
/// accepted asymmetric algorithms).
pub(crate) fn proof_key(
    jwk: &Map<String, Value>,
    algorithm: Algorithm,
) -> Result<ProofKey, DpopError> {
    if SECRET_MEMBERS
        .iter()
        .any(|member| jwk.contains_key(*member))
    {
        return Err(DpopError::PrivateKey);
    }
    let member = |name: &str| -> Result<&str, DpopError> {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or(DpopError::InvalidKey)
    };
    let kty = member("kty")?;
    let (key, canonical) = match (kty, algorithm.family()) {
        ("EC", AlgorithmFamily::Ec) => ec_key(&member, algorithm)?,
        ("OKP", AlgorithmFamily::Ed) => okp_key(&member)?,
        ("RSA", AlgorithmFamily::Rsa) => rsa_key(&member)?,
        ("EC" | "OKP" | "RSA", _) => return Err(DpopError::KeyAlgorithmMismatch),
        _ => return Err(DpopError::InvalidKey),
    };
    // The key must be usable by the backend (an EC point on its curve, ...).
    (crate::validate::crypto_provider().verifier_factory)(&algorithm, &key)
        .map_err(|_| DpopError::InvalidKey)?;
    Ok(ProofKey {
        key,
        thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())),
    })
}

/// A key and the canonical JSON of its RFC 7638 thumbprint.
type KeyAndCanonical = (DecodingKey, String);

/// An EC key on the curve of `algorithm`.
fn ec_key<'a>(
    member: &impl Fn(&str) -> Result<&'a str, DpopError>,
    algorithm: Algorithm,
) -> Result<KeyAndCanonical, DpopError> {
    let (crv, size) = match algorithm {
        Algorithm::ES256 => ("P-256", 32),
        Algorithm::ES384 => ("P-384", 48),
        _ => return Err(DpopError::KeyAlgorithmMismatch),
    };
    if member("crv")? != crv {
        return Err(DpopError::KeyAlgorithmMismatch);
    }
    let (x, y) = (member("x")?, member("y")?);
    decoded_len(x, size)?;
    decoded_len(y, size)?;
    let key = DecodingKey::from_ec_components(x, y).map_err(|_| DpopError::InvalidKey)?;
    Ok((
        key,
        format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#),
    ))
}

/// An Ed25519 key.
fn okp_key<'a>(
    member: &impl Fn(&str) -> Result<&'a str, DpopError>,
) -> Result<KeyAndCanonical, DpopError> {
    if member("crv")? != "Ed25519" {
        return Err(DpopError::KeyAlgorithmMismatch);
    }
    let x = member("x")?;
    decoded_len(x, 32)?;
    let key = DecodingKey::from_ed_components(x).map_err(|_| DpopError::InvalidKey)?;
    Ok((key, format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#)))
}

/// An RSA key of an accepted size, minimally encoded.
fn rsa_key<'a>(
    member: &impl Fn(&str) -> Result<&'a str, DpopError>,
) -> Result<KeyAndCanonical, DpopError> {
    let (n, e) = (member("n")?, member("e")?);
    let modulus = strict_decode(n)?;
    let bits = significant_bits(&modulus);
    // A leading zero octet is not the minimal encoding (RFC 7518 §6.3.1.1), and
    // would give the same key two thumbprints.
    if modulus.first() == Some(&0) || !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(DpopError::InvalidKey);
    }
    let exponent = strict_decode(e)?;
    if exponent.is_empty() || exponent.len() > 8 || exponent[0] == 0 {
        return Err(DpopError::InvalidKey);
    }
    let key = DecodingKey::from_rsa_components(n, e).map_err(|_| DpopError::InvalidKey)?;
    Ok((key, format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#)))
}

/// The RFC 7638 JWK SHA-256 thumbprint of a public JWK (EC, OKP or RSA), base64url;
/// `None` for other key types or missing members. This is the `jkt` a DPoP-bound token
/// carries (RFC 9449 §6.1).
///
/// ```
/// // RFC 7638 §3.1's example key.
/// let jwk = serde_json::json!({
///     "kty": "RSA",
///     "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
///     "e": "AQAB",
///     "alg": "RS256",
///     "kid": "2011-04-29"
/// });
/// assert_eq!(
///     tower_bearer::dpop::jwk_thumbprint(jwk.as_object().unwrap()).as_deref(),
///     Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
/// );
/// ```
#[must_use]
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    // Members are written as given; their values never need JSON escaping when they
    // are base64url or curve names, and anything else is refused.
    let plain = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    };
    let canonical = match member("kty")? {
        "EC" => {
            let (crv, x, y) = (member("crv")?, member("x")?, member("y")?);
            [crv, x, y]
                .iter()
                .all(|s| plain(s))
                .then(|| format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#))?
        }
        "OKP" => {
            let (crv, x) = (member("crv")?, member("x")?);
            [crv, x]
                .iter()
                .all(|s| plain(s))
                .then(|| format!(r#"{{"crv":"{crv}","kty":"OKP","x":"{x}"}}"#))?
        }
        "RSA" => {
            let (n, e) = (member("n")?, member("e")?);
            [n, e]
                .iter()
                .all(|s| plain(s))
                .then(|| format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#))?
        }
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

fn strict_decode(text: &str) -> Result<Vec<u8>, DpopError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| DpopError::InvalidKey)
}

/// Checks that `text` is the strict base64url of exactly `len` bytes.
fn decoded_len(text: &str, len: usize) -> Result<(), DpopError> {
    if strict_decode(text)?.len() == len {
        Ok(())
    } else {
        Err(DpopError::InvalidKey)
    }
}

fn significant_bits(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        Some(first) => (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1.
    #[test]
    fn rfc7638_example_thumbprint_ok() {
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let jwk = jwk.as_object().unwrap();
        let expected = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        assert_eq!(jwk_thumbprint(jwk).as_deref(), Some(expected));
        // The proof path computes the same value from the same key.
        let key = proof_key(jwk, Algorithm::RS256).ok().unwrap();
        assert_eq!(key.thumbprint, expected);
        // Member order and extra members do not matter.
        let reordered = serde_json::json!({"e": "AQAB", "use": "sig", "n": jwk["n"], "kty": "RSA"});
        assert_eq!(
            jwk_thumbprint(reordered.as_object().unwrap()).as_deref(),
            Some(expected)
        );
    }

    /// RFC 8037 Appendix A.3: the Ed25519 example key's thumbprint.
    #[test]
    fn rfc8037_okp_thumbprint_ok() {
        let jwk = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        });
        let jwk = jwk.as_object().unwrap();
        let expected = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
        assert_eq!(jwk_thumbprint(jwk).as_deref(), Some(expected));
        assert_eq!(
            proof_key(jwk, Algorithm::EdDSA).ok().unwrap().thumbprint,
            expected
        );
    }

    #[test]
    fn private_and_mismatched_keys_fail() {
        let private = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
        });
        assert!(matches!(
            proof_key(private.as_object().unwrap(), Algorithm::EdDSA),
            Err(DpopError::PrivateKey)
        ));
        let okp = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        });
        assert!(matches!(
            proof_key(okp.as_object().unwrap(), Algorithm::ES256),
            Err(DpopError::KeyAlgorithmMismatch)
        ));
        let short = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"});
        assert!(matches!(
            proof_key(short.as_object().unwrap(), Algorithm::EdDSA),
            Err(DpopError::InvalidKey)
        ));
        let oct = serde_json::json!({"kty": "oct", "k": "c2VjcmV0"});
        assert!(proof_key(oct.as_object().unwrap(), Algorithm::ES256).is_err());
        assert_eq!(jwk_thumbprint(oct.as_object().unwrap()), None);
    }
}
