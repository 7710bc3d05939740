//! Why a request was refused ([`AuthError`]) and why a configuration was refused
//! ([`ConfigError`]).
//!
//! Every [`AuthError`] maps to exactly one answer: one status, one `error` code, one
//! fixed `error_description`. Descriptions are static text chosen by this crate, so
//! nothing a client sends is ever reflected into a response header.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::StatusCode;

/// Why a request was refused by [`BearerAuth`](crate::BearerAuth) or
/// [`RequireScopes`](crate::RequireScopes).
///
/// Each variant maps to exactly one HTTP answer (see [`AuthError::status`]). A rejection
/// handler sees it ([`Rejection::error`](crate::Rejection::error));
/// [`WithErrorExtension`](crate::WithErrorExtension) also leaves it in the response's
/// extensions for outer layers.
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
    /// The validator could not reach what it needs (a key server, a database). `503`.
    /// Never caused by the token itself.
    Unavailable,
    /// A DPoP request (RFC 9449) was refused: `401` with a `WWW-Authenticate: DPoP`
    /// challenge (see [`dpop`](crate::dpop)).
    Dpop(crate::dpop::DpopRefusal),
}

impl AuthError {
    /// The HTTP status of this rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken(_) | Self::Dpop(_) => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The RFC 6750 `error` code placed in the `WWW-Authenticate` challenge, if any.
    ///
    /// A request without credentials gets no code (RFC 6750 §3.1), and a `503` is no
    /// bearer error at all.
    #[must_use]
    pub fn challenge_code(&self) -> Option<&'static str> {
        match self {
            Self::MissingToken | Self::Unavailable => None,
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
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::Unavailable => "temporarily_unavailable",
            Self::Dpop(refusal) => refusal.error().code(),
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
            Self::Unavailable => "Token validation is temporarily unavailable",
            Self::Dpop(refusal) => refusal.error().description(),
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

    /// The DPoP refusal, whose challenge uses the `DPoP` scheme.
    #[must_use]
    pub fn dpop(&self) -> Option<&crate::dpop::DpopRefusal> {
        match self {
            Self::Dpop(refusal) => Some(refusal),
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
            | Self::Dpop(_) => 16,
            Self::InsufficientScope(_) => 7,
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

/// Why a request is malformed (`400 invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// More than one `Authorization` header.
    DuplicateAuthorizationHeader,
    /// The token was sent in more than one place (RFC 6750 §2: one method per request).
    MultipleTokenSources,
    /// A configured token header or cookie appears more than once.
    DuplicateTokenParameter,
}

impl InvalidRequest {
    /// The fixed `error_description` for this reason.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::DuplicateAuthorizationHeader => "More than one Authorization header",
            Self::MultipleTokenSources => "The access token was sent in more than one place",
            Self::DuplicateTokenParameter => "The access token parameter appears more than once",
        }
    }
}

/// Why a token was refused (`401 invalid_token`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidToken {
    /// Not a well-formed token: wrong characters, wrong number of segments, bad
    /// base64url, a header or payload that is not a JSON object.
    Malformed,
    /// Longer than the configured limit.
    TooLong,
    /// The `alg` is not one this validator accepts (including `none`).
    UnsupportedAlgorithm,
    /// No configured key matches the token's `kid`/`alg`.
    UnknownKey,
    /// The header lists a critical extension (`crit`) this validator does not implement.
    UnsupportedCriticalHeader,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// A required claim is absent.
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an unusable value.
    InvalidClaim(&'static str),
    /// `iss` is not an accepted issuer.
    WrongIssuer,
    /// `aud` does not name this resource server.
    WrongAudience,
    /// The claims do not deserialize into the application's claims type.
    ClaimsShape,
    /// The token was revoked.
    Revoked,
    /// Refused by a custom validator, with a description of its own (sanitized to
    /// RFC 6750 §3's character set when rendered).
    Other(Cow<'static, str>),
}

impl InvalidToken {
    /// The `error_description` for this reason.
    #[must_use]
    pub fn description(&self) -> &str {
        match self {
            Self::Malformed => "The access token is malformed",
            Self::TooLong => "The access token is too long",
            Self::UnsupportedAlgorithm => "The token algorithm is not accepted",
            Self::UnknownKey => "No key matches the token",
            Self::UnsupportedCriticalHeader => "The token has an unsupported critical header",
            Self::BadSignature => "The token signature is invalid",
            Self::Expired => "The access token expired",
            Self::NotYetValid => "The access token is not yet valid",
            Self::MissingClaim(claim) => missing_claim_description(claim),
            Self::InvalidClaim(claim) => invalid_claim_description(claim),
            Self::WrongIssuer => "The token issuer is not accepted",
            Self::WrongAudience => "The token audience is not accepted",
            Self::ClaimsShape => "The token claims do not have the expected shape",
            Self::Revoked => "The access token was revoked",
            Self::Other(text) => text,
        }
    }
}

fn missing_claim_description(claim: &str) -> &'static str {
    match claim {
        "exp" => "The token has no exp claim",
        "iss" => "The token has no iss claim",
        "aud" => "The token has no aud claim",
        "sub" => "The token has no sub claim",
        "jti" => "The token has no jti claim",
        _ => "The token lacks a required claim",
    }
}

fn invalid_claim_description(claim: &str) -> &'static str {
    match claim {
        "exp" => "The token exp claim is invalid",
        "nbf" => "The token nbf claim is invalid",
        "iat" => "The token iat claim is invalid",
        "iss" => "The token iss claim is invalid",
        "aud" => "The token aud claim is invalid",
        "sub" => "The token sub claim is invalid",
        "jti" => "The token jti claim is invalid",
        "scope" => "The token scope claim is invalid",
        _ => "A token claim is invalid",
    }
}

/// The scopes a resource requires, as announced in a `403` challenge's `scope`
/// parameter. Every entry is a valid RFC 6749 §3.3 scope-token (checked when built).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredScopes {
    joined: Arc<str>,
}

impl RequiredScopes {
    /// Builds the set from scope tokens.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScope`] if a scope is empty or has characters outside
    /// RFC 6749 §3.3's `scope-token` (`%x21 / %x23-5B / %x5D-7E`), and
    /// [`ConfigError::NoScopes`] if there are none.
    pub fn new<I, S>(scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut joined = String::new();
        for scope in scopes {
            let scope = scope.as_ref();
            if !is_scope_token(scope) {
                return Err(ConfigError::InvalidScope);
            }
            if joined.split(' ').any(|known| known == scope) {
                continue;
            }
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(scope);
        }
        if joined.is_empty() {
            return Err(ConfigError::NoScopes);
        }
        Ok(Self {
            joined: joined.into(),
        })
    }

    /// The scopes, space-separated (the value of the challenge's `scope` parameter).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.joined
    }

    /// Iterates over the individual scopes.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.joined.split(' ')
    }
}

/// `true` if `scope` is a non-empty RFC 6749 §3.3 `scope-token`.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Why a configuration was refused when it was built.
///
/// Configuration is checked once, up front, so that no request can hit a
/// misconfiguration and turn it into a `5xx`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A scope is empty or has characters outside RFC 6749 §3.3's `scope-token`.
    InvalidScope,
    /// A scope requirement lists no scopes.
    NoScopes,
    /// The realm has characters that cannot appear in a quoted-string header parameter.
    InvalidRealm,
    /// The key's family does not match the algorithm (e.g. an RSA key for `HS256`).
    KeyAlgorithmMismatch,
    /// The key could not be used (unparsable, wrong format).
    InvalidKey(String),
    /// An HMAC secret is shorter than the hash output (RFC 7518 §3.2).
    HmacKeyTooShort {
        /// The minimum length in bytes for the algorithm.
        minimum: usize,
    },
    /// A validator was given no keys.
    NoKeys,
    /// A header name is not a valid HTTP header name.
    InvalidHeaderName,
    /// A cookie name is not a valid RFC 6265 cookie name.
    InvalidCookieName,
    /// An issuer, audience or other string setting is empty or unusable.
    InvalidValue(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidScope => f.write_str("scope is not a valid RFC 6749 scope-token"),
            Self::NoScopes => f.write_str("at least one scope is required"),
            Self::InvalidRealm => f.write_str("realm has characters not allowed in a header"),
            Self::KeyAlgorithmMismatch => f.write_str("key does not match the algorithm"),
            Self::InvalidKey(why) => write!(f, "invalid key: {why}"),
            Self::HmacKeyTooShort { minimum } => {
                write!(f, "HMAC secret must be at least {minimum} bytes")
            }
            Self::NoKeys => f.write_str("no keys configured"),
            Self::InvalidHeaderName => f.write_str("invalid header name"),
            Self::InvalidCookieName => f.write_str("invalid cookie name"),
            Self::InvalidValue(what) => write!(f, "invalid value for {what}"),
        }
    }
}

impl std::error::Error for ConfigError {}
