//! Why a DPoP request was refused: [`DpopError`], [`ProofError`], and the
//! [`DpopRefusal`] the bearer layer answers with.

use std::sync::Arc;

use http::HeaderValue;

use crate::error::InvalidToken;

/// Why a DPoP request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopError {
    /// The proof is missing or invalid (`invalid_dpop_proof`).
    InvalidProof(ProofError),
    /// The proof does not carry the current server nonce (`use_dpop_nonce`).
    UseNonce,
    /// The token sent with the `DPoP` scheme was refused (`invalid_token`).
    InvalidToken(InvalidToken),
    /// The token is not bound to the proof's key (`invalid_token`).
    KeyMismatch,
    /// A DPoP-bound token was sent with the `Bearer` scheme (`invalid_token`).
    BoundTokenAsBearer,
}

impl From<ProofError> for DpopError {
    fn from(error: ProofError) -> Self {
        Self::InvalidProof(error)
    }
}

impl DpopError {
    /// The `error` code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidProof(_) => "invalid_dpop_proof",
            Self::UseNonce => "use_dpop_nonce",
            Self::InvalidToken(_) | Self::KeyMismatch | Self::BoundTokenAsBearer => "invalid_token",
        }
    }

    /// The fixed `error_description`.
    #[must_use]
    pub fn description(&self) -> &str {
        match self {
            Self::InvalidProof(reason) => reason.description(),
            Self::UseNonce => "A DPoP proof with the server nonce is required",
            Self::InvalidToken(reason) => reason.description(),
            Self::KeyMismatch => "Invalid DPoP key binding",
            Self::BoundTokenAsBearer => {
                "The access token is DPoP-bound and must be sent with the DPoP scheme"
            }
        }
    }
}

/// Why a proof was refused (`invalid_dpop_proof`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// No `DPoP` header.
    Missing,
    /// More than one `DPoP` header.
    Multiple,
    /// Longer than the configured limit.
    TooLong,
    /// Not a compact JWS with JSON header and claims.
    Malformed,
    /// `typ` is not `dpop+jwt`.
    WrongType,
    /// `alg` is not one of the accepted asymmetric algorithms.
    UnsupportedAlgorithm,
    /// The header lists a critical extension.
    UnsupportedCriticalHeader,
    /// No `jwk` header.
    MissingKey,
    /// The `jwk` has private key members.
    PrivateKey,
    /// The `jwk` is not a usable public key.
    InvalidKey,
    /// The `jwk` does not fit `alg`.
    KeyAlgorithmMismatch,
    /// The signature does not verify with the `jwk`.
    BadSignature,
    /// A required claim is absent.
    MissingClaim(&'static str),
    /// A claim has an unusable value.
    InvalidClaim(&'static str),
    /// `htm` is not the request method.
    WrongMethod,
    /// `htu` is not the request URI.
    WrongUri,
    /// `iat` is outside the accepted window.
    Stale,
    /// `ath` is not the hash of the access token.
    WrongAccessTokenHash,
    /// The proof was used before.
    Replayed,
}

impl ProofError {
    /// The fixed `error_description`.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::Missing => "A DPoP proof is required",
            Self::Multiple => "More than one DPoP header",
            Self::TooLong => "The DPoP proof is too long",
            Self::Malformed => "The DPoP proof is malformed",
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
        }
    }
}

/// A DPoP refusal as the bearer layer answers it: the error, the `algs` to announce,
/// and for `use_dpop_nonce` the nonce for the `DPoP-Nonce` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopRefusal {
    pub(super) error: DpopError,
    pub(super) algs: Arc<str>,
    pub(super) nonce: Option<HeaderValue>,
}

impl DpopRefusal {
    /// Why.
    #[must_use]
    pub fn error(&self) -> &DpopError {
        &self.error
    }

    /// The challenge's `algs` value.
    #[must_use]
    pub fn algs(&self) -> &str {
        &self.algs
    }

    /// The `DPoP-Nonce` to send, for `use_dpop_nonce`.
    #[must_use]
    pub fn nonce(&self) -> Option<&HeaderValue> {
        self.nonce.as_ref()
    }
}
