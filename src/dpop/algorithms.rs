//! The proof algorithms: which are accepted by default, their JWS names, and the
//! challenge's `algs` value.

use std::sync::Arc;

use jsonwebtoken::Algorithm;

/// The algorithms accepted by default.
pub(super) const DEFAULT_ALGORITHMS: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::ES384,
    Algorithm::PS256,
    Algorithm::RS256,
];

pub(super) fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        _ => "",
    }
}

pub(super) fn parse_algorithm(name: &str) -> Option<Algorithm> {
    // Case-sensitive (RFC 7515 §4.1.1): `none` and the HMAC names are not here.
    Some(match name {
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        // RFC 9864's fully-specified name, which newer clients send.
        "EdDSA" | "Ed25519" => Algorithm::EdDSA,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        _ => return None,
    })
}

pub(super) fn join_algs(algorithms: &[Algorithm]) -> Arc<str> {
    algorithms
        .iter()
        .map(|a| match a {
            Algorithm::EdDSA => "EdDSA Ed25519",
            other => algorithm_name(*other),
        })
        .collect::<Vec<_>>()
        .join(" ")
        .into()
}
