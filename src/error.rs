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
/// a [`Guard`](crate::Guard).
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
    Dpop(crate::dpop::DpopRefusal),
}

impl AuthError {
    /// The HTTP status of this rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken
            | Self::InvalidToken(_)
            | Self::InsufficientUserAuthentication(_)
            | Self::Dpop(_) => StatusCode::UNAUTHORIZED,
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
            Self::Forbidden => "The token does not grant access to this resource",
            Self::InsufficientUserAuthentication(_) => {
                "A different or more recent user authentication is required"
            }
            Self::Unavailable => "Token validation is temporarily unavailable",
            Self::PathNotAllowed => "No token grants access to this path",
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

    /// The step-up requirement to announce (`acr_values`, `max_age`; RFC 9470 §3).
    #[must_use]
    pub fn step_up(&self) -> Option<&StepUpRequirement> {
        match self {
            Self::InsufficientUserAuthentication(requirement) => Some(requirement),
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
            | Self::InsufficientUserAuthentication(_)
            | Self::Dpop(_) => 16,
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
    /// The path is not in canonical form (`//`, a trailing `/`, a dot segment, or a
    /// percent-encoded unreserved character, `/` or `\`); see
    /// [`PathScopes`](crate::PathScopes).
    NonCanonicalPath,
    /// A token from a cookie came with an unsafe method from another site; see
    /// [`TokenSources::with_csrf_guard`](crate::TokenSources::with_csrf_guard).
    CrossSiteCookie,
}

impl InvalidRequest {
    /// The fixed `error_description` for this reason.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::DuplicateAuthorizationHeader => "More than one Authorization header",
            Self::MultipleTokenSources => "The access token was sent in more than one place",
            Self::DuplicateTokenParameter => "The access token parameter appears more than once",
            Self::NonCanonicalPath => "The request path is not in canonical form",
            Self::CrossSiteCookie => "A cookie token may not be used from another site",
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
    /// A required claim is absent: a registered claim the validator requires, or a
    /// member your claims type requires (its name from the type, never from the token).
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an unusable value (a registered claim, or a
    /// member of your claims type, named as in the type).
    InvalidClaim(&'static str),
    /// `iss` is not an accepted issuer.
    WrongIssuer,
    /// `aud` does not name this resource server.
    WrongAudience,
    /// The claims do not deserialize into the application's claims type, and the
    /// failing member cannot be named (a `flatten`ed map, an unknown member refused by
    /// `deny_unknown_fields`, a type that is not a struct).
    ClaimsShape,
    /// The token was revoked.
    Revoked,
    /// The header's `typ` is not the one required (RFC 9068 `at+jwt`): an ID token, a
    /// refresh token or another JWT presented as an access token.
    WrongType,
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
            Self::WrongType => "The token is not an access token",
            Self::Other(text) => text,
        }
    }
}

fn missing_claim_description(claim: &'static str) -> &'static str {
    match claim {
        "exp" => "The token has no exp claim",
        "iss" => "The token has no iss claim",
        "aud" => "The token has no aud claim",
        "sub" => "The token has no sub claim",
        "jti" => "The token has no jti claim",
        _ => other_claim_description(claim, true).unwrap_or("The token lacks a required claim"),
    }
}

fn invalid_claim_description(claim: &'static str) -> &'static str {
    match claim {
        "exp" => "The token exp claim is invalid",
        "nbf" => "The token nbf claim is invalid",
        "iat" => "The token iat claim is invalid",
        "iss" => "The token iss claim is invalid",
        "aud" => "The token aud claim is invalid",
        "sub" => "The token sub claim is invalid",
        "jti" => "The token jti claim is invalid",
        "scope" => "The token scope claim is invalid",
        _ => other_claim_description(claim, false).unwrap_or("A token claim is invalid"),
    }
}

/// The description naming an application's own claim (`claim` is a field name from
/// its claims type, never client input), made once per name and kept: the set of such
/// names is fixed by the program, and capped here besides. `None` for a name outside
/// RFC 6750's `error_description` characters or over 64 bytes.
#[cold]
fn other_claim_description(claim: &'static str, missing: bool) -> Option<&'static str> {
    use std::sync::{Mutex, PoisonError};
    type Texts = Vec<(&'static str, bool, &'static str)>;
    static TEXTS: Mutex<Texts> = Mutex::new(Vec::new());
    const MAX_TEXTS: usize = 128;

    let printable = |c: char| c == '!' || matches!(c, '#'..='[' | ']'..='~');
    if claim.is_empty() || claim.len() > 64 || !claim.chars().all(printable) {
        return None;
    }
    let mut texts = TEXTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&(_, _, text)) = texts.iter().find(|(n, m, _)| *n == claim && *m == missing) {
        return Some(text);
    }
    if texts.len() >= MAX_TEXTS {
        return None;
    }
    let text: &'static str = Box::leak(
        if missing {
            format!("The token has no {claim} claim")
        } else {
            format!("The token {claim} claim is invalid")
        }
        .into_boxed_str(),
    );
    texts.push((claim, missing, text));
    Some(text)
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

/// What a route demands of the user's authentication (RFC 9470): an authentication
/// context class among `acr_values`, and/or an authentication no older than `max_age`.
/// Built by [`StepUp`](crate::StepUp); every `acr` value is checked to be a
/// scope-token-like string when built, so the challenge never needs escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUpRequirement {
    pub(crate) acr_values: Option<Arc<str>>,
    pub(crate) max_age: Option<std::time::Duration>,
}

impl StepUpRequirement {
    /// A requirement on `acr` (any of `acr_values`, in order of preference) and/or on
    /// the age of the authentication.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] if an `acr` value is empty or has characters
    /// outside `%x21 / %x23-5B / %x5D-7E`, or if neither rule is given.
    pub fn new<I, S>(
        acr_values: Option<I>,
        max_age: Option<std::time::Duration>,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let acr_values = match acr_values {
            None => None,
            Some(values) => {
                let mut joined = String::new();
                for value in values {
                    let value = value.as_ref();
                    if !is_scope_token(value) {
                        return Err(ConfigError::InvalidValue("acr_values"));
                    }
                    if !joined.is_empty() {
                        joined.push(' ');
                    }
                    joined.push_str(value);
                }
                if joined.is_empty() {
                    return Err(ConfigError::InvalidValue("acr_values"));
                }
                Some(Arc::from(joined))
            }
        };
        if acr_values.is_none() && max_age.is_none() {
            return Err(ConfigError::InvalidValue("step-up requirement"));
        }
        Ok(Self {
            acr_values,
            max_age,
        })
    }

    /// The accepted `acr` values, space-separated (the challenge's `acr_values`).
    #[must_use]
    pub fn acr_values(&self) -> Option<&str> {
        self.acr_values.as_deref()
    }

    /// The maximum age of the authentication (the challenge's `max_age`, in seconds).
    #[must_use]
    pub fn max_age(&self) -> Option<std::time::Duration> {
        self.max_age
    }

    /// `true` if `acr` is one of the accepted values (always, without an `acr` rule).
    #[must_use]
    pub fn accepts_acr(&self, acr: Option<&str>) -> bool {
        match &self.acr_values {
            None => true,
            Some(values) => acr.is_some_and(|acr| values.split(' ').any(|v| v == acr)),
        }
    }

    /// `true` if an authentication at `auth_time` (seconds since the epoch) is recent
    /// enough at `now` (always, without a `max_age` rule). An `auth_time` in the future
    /// beyond `leeway` seconds is refused.
    #[must_use]
    pub fn accepts_auth_time(&self, auth_time: Option<i64>, now: i64, leeway: i64) -> bool {
        match self.max_age {
            None => true,
            Some(max_age) => auth_time.is_some_and(|at| {
                let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
                at <= now.saturating_add(leeway) && now.saturating_sub(at) <= max_age
            }),
        }
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
