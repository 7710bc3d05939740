//! The proof algorithms: which are accepted by default, their JWS names, and the
//! challenge's `algs` value.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, AlgorithmFamily};

use crate::keys::algorithm;

/// The algorithms accepted by default.
pub(super) const DEFAULT_ALGORITHMS: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::ES384,
    Algorithm::PS256,
    Algorithm::RS256,
];

/// A proof's `alg`: an asymmetric algorithm of the crate's one table, or RFC 9864's
/// fully-specified `Ed25519`, which newer clients send. HMAC is not a proof algorithm.
pub(super) fn parse_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "Ed25519" => Some(Algorithm::EdDSA),
        name => algorithm::parse(name).filter(|a| a.family() != AlgorithmFamily::Hmac),
    }
}

pub(super) fn join_algs(algorithms: &[Algorithm]) -> Arc<str> {
    algorithms
        .iter()
        .map(|a| match a {
            Algorithm::EdDSA => "EdDSA Ed25519",
            other => algorithm::name(*other).unwrap_or_default(),
        })
        .collect::<Vec<_>>()
        .join(" ")
        .into()
}
