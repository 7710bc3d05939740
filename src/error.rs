//! Why a request was refused ([`AuthError`]) and why a configuration was refused
//! ([`ConfigError`]).
//!
//! Every [`AuthError`] maps to exactly one answer: one status, one `error` code, one
//! fixed `error_description`. Descriptions are static text chosen by this crate, so
//! nothing a client sends is ever reflected into a response header.

use std::fmt;

use http::StatusCode;

mod config;
mod invalid_request;
mod invalid_token;
mod requirements;

pub use config::ConfigError;
pub use invalid_request::InvalidRequest;
pub use invalid_token::InvalidToken;
pub(crate) use requirements::is_scope_token;
pub use requirements::{RequiredScopes, StepUpRequirement};

/// Why a request was refused by [`BearerAuth`](crate::BearerAuth) or
/// a [`Guard`](crate::Guard).
///
/// Each variant maps to exactly one HTTP answer (see [`AuthError::status`]). A rejection
/// handler sees it ([`Rejection::error`](crate::Rejection::error));
/// [`DefaultRejection::with_error_extension`](crate::DefaultRejection::with_error_extension)
/// also leaves it in the response's extensions for outer layers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// The request carries no bearer credentials (RFC 6750 §3.1: no `error` code in the
    /// challenge). `401`.
    MissingToken,
    /// The request is malformed (RFC 6750 §3.1 `invalid_request`). `400`.
    InvalidRequest(InvalidRequest),
    /// The token is malformed, expired, forged or otherwise unacceptable
    /// (RFC 6750 §3.1 `invalid_token`). `401`.
    InvalidToken(InvalidToken),
    /// The token is valid but lacks scopes the resource needs (RFC 6750 §3.1
    /// `insufficient_scope`). `403`, with the needed scopes in the challenge.
    InsufficientScope(RequiredScopes),
    /// The token is valid but a claim rule other than scopes refused it (a role, a
    /// group, a tenant, a predicate of yours; see [`Policy`](crate::Policy)). `403`.
    ///
    /// The challenge carries no `error` code: RFC 6750 registers only
    /// `insufficient_scope` for `403`, and that code tells the client to ask for more
    /// scope, which would not help here. The body's `error` is `forbidden`.
    Forbidden,
    /// The token is valid but the user's authentication is too weak or too old for the
    /// resource (RFC 9470 `insufficient_user_authentication`). `401`, with `acr_values`
    /// and/or `max_age` in the challenge.
    InsufficientUserAuthentication(StepUpRequirement),
    /// The validator could not reach what it needs (a key server, a database). `503`.
    /// Never caused by the token itself.
    Unavailable,
    /// No token may access this path: a [`PathScopes`](crate::PathScopes) check in
    /// deny-by-default mode found it unlisted. `403`, `insufficient_scope` with no
    /// `scope` parameter (no scope would do).
    PathNotAllowed,
    /// A DPoP request (RFC 9449) was refused: `401` with a `WWW-Authenticate: DPoP`
    /// challenge (see [`dpop`](crate::dpop)).
    Dpop {
        /// Why.
        error: crate::dpop::DpopError,
        /// The challenge's `algs` value: the accepted proof algorithms.
        algs: std::sync::Arc<str>,
        /// The `DPoP-Nonce` header to send, with `use_dpop_nonce`.
        nonce: Option<http::HeaderValue>,
    },
}

impl AuthError {
    /// The HTTP status of this rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken
            | Self::InvalidToken(_)
            | Self::InsufficientUserAuthentication(_)
            | Self::Dpop { .. } => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::InsufficientScope(_) | Self::PathNotAllowed | Self::Forbidden => {
                StatusCode::FORBIDDEN
            }
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The RFC 6750 `error` code placed in the `WWW-Authenticate` challenge, if any.
    ///
    /// A request without credentials gets no code (RFC 6750 §3.1), a `503` is no
    /// bearer error at all, and [`Forbidden`](Self::Forbidden) has no registered code.
    #[must_use]
    pub fn challenge_code(&self) -> Option<&'static str> {
        match self {
            Self::MissingToken | Self::Unavailable | Self::Forbidden => None,
            _ => Some(self.code()),
        }
    }

    /// The `error` code of the JSON body. Equal to [`challenge_code`](Self::challenge_code)
    /// whenever the challenge has one.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "unauthorized",
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidToken(_) => "invalid_token",
            Self::InsufficientScope(_) | Self::PathNotAllowed => "insufficient_scope",
            Self::Forbidden => "forbidden",
            Self::InsufficientUserAuthentication(_) => "insufficient_user_authentication",
            Self::Unavailable => "temporarily_unavailable",
            Self::Dpop { error, .. } => error.code(),
        }
    }

    /// A short human-readable description, within RFC 6750 §3's character set.
    #[must_use]
    pub fn description(&self) -> &str {
        match self {
            Self::MissingToken => "Bearer token required",
            Self::InvalidRequest(reason) => reason.description(),
            Self::InvalidToken(reason) => reason.description(),
            Self::InsufficientScope(_) => "The token lacks the scopes this resource requires",
            Self::Forbidden => "The token does not grant access to this resource",
            Self::InsufficientUserAuthentication(_) => {
                "A different or more recent user authentication is required"
            }
            Self::Unavailable => "Token validation is temporarily unavailable",
            Self::PathNotAllowed => "No token grants access to this path",
            Self::Dpop { error, .. } => error.description(),
        }
    }

    /// The scopes to announce in the challenge's `scope` parameter (`403` only).
    #[must_use]
    pub fn required_scopes(&self) -> Option<&RequiredScopes> {
        match self {
            Self::InsufficientScope(scopes) => Some(scopes),
            _ => None,
        }
    }

    /// The step-up requirement to announce (`acr_values`, `max_age`; RFC 9470 §3).
    #[must_use]
    pub fn step_up(&self) -> Option<&StepUpRequirement> {
        match self {
            Self::InsufficientUserAuthentication(requirement) => Some(requirement),
            _ => None,
        }
    }

    /// Why a DPoP request was refused, for a refusal whose challenge uses the `DPoP`
    /// scheme.
    #[must_use]
    pub fn dpop(&self) -> Option<&crate::dpop::DpopError> {
        match self {
            Self::Dpop { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The gRPC status code for the gRPC-shaped answer: `16` (unauthenticated) for
    /// `400`/`401`, `7` (permission denied) for `403`, `14` (unavailable) for `503`.
    #[must_use]
    pub fn grpc_status(&self) -> u16 {
        match self {
            Self::MissingToken
            | Self::InvalidRequest(_)
            | Self::InvalidToken(_)
            | Self::InsufficientUserAuthentication(_)
            | Self::Dpop { .. } => 16,
            Self::InsufficientScope(_) | Self::PathNotAllowed | Self::Forbidden => 7,
            Self::Unavailable => 14,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl std::error::Error for AuthError {}

impl From<InvalidToken> for AuthError {
    fn from(reason: InvalidToken) -> Self {
        Self::InvalidToken(reason)
    }
}

impl From<InvalidRequest> for AuthError {
    fn from(reason: InvalidRequest) -> Self {
        Self::InvalidRequest(reason)
    }
}
