//! The one table of JWS algorithm names (RFC 7518 §3.1, RFC 8037 §3.1) this crate
//! verifies and signs: `none` is not in it, in any spelling.

use jsonwebtoken::Algorithm;

/// The JWS name of `algorithm`; `None` for one this crate does not know (jsonwebtoken's
/// `Algorithm` may grow).
pub(crate) fn name(algorithm: Algorithm) -> Option<&'static str> {
    Some(match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// The algorithm named `name`, matched case-sensitively (RFC 7515 §4.1.1).
pub(crate) fn parse(name: &str) -> Option<Algorithm> {
    Some(match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_ok() {
        for algorithm in [
            Algorithm::HS256,
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
        ] {
            assert_eq!(name(algorithm).and_then(parse), Some(algorithm));
        }
    }

    #[test]
    fn none_and_other_spellings_fails() {
        for name in [
            "none", "None", "NONE", "hs256", "Rs256", "ES512", "Ed25519", "",
        ] {
            assert_eq!(parse(name), None, "{name}");
        }
    }
}
