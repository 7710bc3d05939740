//! Why a DPoP request was refused: [`DpopError`].

use crate::error::InvalidToken;

/// Why a DPoP request was refused (RFC 9449 §7.1): each variant is one answer, its
/// [`code`](Self::code) `invalid_dpop_proof` (the proof), `use_dpop_nonce` (the
/// nonce) or `invalid_token` (the token or its binding).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopError {
    /// No `DPoP` header (`invalid_dpop_proof`).
    Missing,
    /// More than one `DPoP` header (`invalid_dpop_proof`).
    Multiple,
    /// Longer than the configured limit (`invalid_dpop_proof`).
    TooLong,
    /// Not a compact JWS with JSON header and claims (`invalid_dpop_proof`).
    Malformed,
    /// `typ` is not `dpop+jwt` (`invalid_dpop_proof`).
    WrongType,
    /// `alg` is not one of the accepted asymmetric algorithms (`invalid_dpop_proof`).
    UnsupportedAlgorithm,
    /// The header lists a critical extension (`invalid_dpop_proof`).
    UnsupportedCriticalHeader,
    /// No `jwk` header (`invalid_dpop_proof`).
    MissingKey,
    /// The `jwk` has private key members (`invalid_dpop_proof`).
    PrivateKey,
    /// The `jwk` is not a usable public key (`invalid_dpop_proof`).
    InvalidKey,
    /// The `jwk` does not fit `alg` (`invalid_dpop_proof`).
    KeyAlgorithmMismatch,
    /// The signature does not verify with the `jwk` (`invalid_dpop_proof`).
    BadSignature,
    /// A required claim is absent (`invalid_dpop_proof`).
    MissingClaim(&'static str),
    /// A claim has an unusable value (`invalid_dpop_proof`).
    InvalidClaim(&'static str),
    /// `htm` is not the request method (`invalid_dpop_proof`).
    WrongMethod,
    /// `htu` is not the request URI (`invalid_dpop_proof`).
    WrongUri,
    /// `iat` is outside the accepted window (`invalid_dpop_proof`).
    Stale,
    /// `ath` is not the hash of the access token (`invalid_dpop_proof`).
    WrongAccessTokenHash,
    /// The proof was used before (`invalid_dpop_proof`).
    Replayed,
    /// The proof does not carry the current server nonce (`use_dpop_nonce`).
    UseNonce,
    /// The token sent with the `DPoP` scheme was refused (`invalid_token`).
    InvalidToken(InvalidToken),
    /// The token is not bound to the proof's key (`invalid_token`).
    KeyMismatch,
    /// A DPoP-bound token was sent with the `Bearer` scheme (`invalid_token`).
    BoundTokenAsBearer,
}

impl DpopError {
    /// The `error` code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::UseNonce => "use_dpop_nonce",
            Self::InvalidToken(_) | Self::KeyMismatch | Self::BoundTokenAsBearer => "invalid_token",
            _ => "invalid_dpop_proof",
        }
    }

    /// The fixed `error_description`.
    #[must_use]
    pub fn description(&self) -> &str {
        match self {
            Self::UseNonce => "A DPoP proof with the server nonce is required",
            Self::InvalidToken(reason) => reason.description(),
            Self::KeyMismatch => "Invalid DPoP key binding",
            Self::BoundTokenAsBearer => {
                "The access token is DPoP-bound and must be sent with the DPoP scheme"
            }
            _ => self.proof_description(),
        }
    }

    /// The description of an `invalid_dpop_proof` reason; for the other variants, the
    /// one of [`Malformed`](Self::Malformed) (the token endpoint has no token to refuse).
    pub(crate) fn proof_description(&self) -> &'static str {
        match self {
            Self::Missing => "A DPoP proof is required",
            Self::Multiple => "More than one DPoP header",
            Self::TooLong => "The DPoP proof is too long",
            Self::WrongType => "The DPoP proof typ must be dpop+jwt",
            Self::UnsupportedAlgorithm => "The DPoP proof algorithm is not accepted",
            Self::UnsupportedCriticalHeader => "The DPoP proof has an unsupported critical header",
            Self::MissingKey => "The DPoP proof has no jwk header",
            Self::PrivateKey => "The DPoP proof jwk contains private key material",
            Self::InvalidKey => "The DPoP proof jwk is not a usable public key",
            Self::KeyAlgorithmMismatch => "The DPoP proof jwk does not fit its algorithm",
            Self::BadSignature => "The DPoP proof signature is invalid",
            Self::MissingClaim("ath") => "The DPoP proof has no ath claim",
            Self::MissingClaim("jti") => "The DPoP proof has no jti claim",
            Self::MissingClaim("htm") => "The DPoP proof has no htm claim",
            Self::MissingClaim("htu") => "The DPoP proof has no htu claim",
            Self::MissingClaim("iat") => "The DPoP proof has no iat claim",
            Self::MissingClaim(_) => "The DPoP proof lacks a required claim",
            Self::InvalidClaim("jti") => "The DPoP proof jti claim is invalid",
            Self::InvalidClaim("iat") => "The DPoP proof iat claim is invalid",
            Self::InvalidClaim(_) => "A DPoP proof claim is invalid",
            Self::WrongMethod => "The DPoP proof htm does not match the request method",
            Self::WrongUri => "The DPoP proof htu does not match the request URI",
            Self::Stale => "The DPoP proof iat is outside the accepted window",
            Self::WrongAccessTokenHash => "The DPoP proof ath does not match the access token",
            Self::Replayed => "The DPoP proof was already used",
            Self::Malformed
            | Self::UseNonce
            | Self::InvalidToken(_)
            | Self::KeyMismatch
            | Self::BoundTokenAsBearer => "The DPoP proof is malformed",
        }
    }
}
