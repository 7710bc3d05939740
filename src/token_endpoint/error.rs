//! [`TokenError`]: why the token endpoint refused a request (RFC 6749 §5.2).

use std::fmt;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

/// Why the token endpoint refused a request.
///
/// Each variant maps to exactly one answer: one status, one RFC 6749 §5.2 `error` code
/// and one fixed `error_description` chosen by this crate (never client input, never a
/// parser message), within §5.2's character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// `400 invalid_request`: a parameter appears more than once (RFC 6749 §3.2).
    DuplicateParameter,
    /// `400 invalid_request`: `grant_type` is missing (strict mode).
    MissingGrantType,
    /// `400 invalid_request`: `username` is missing.
    MissingUsername,
    /// `400 invalid_request`: `password` is missing.
    MissingPassword,
    /// `400 invalid_request`: the body could not be read or decoded (bad chunking,
    /// truncated, broken multipart).
    MalformedBody,
    /// `400 invalid_request`: the client authenticated in more than one way, or named
    /// two different ids (RFC 6749 §2.3).
    MultipleClientAuthentication,
    /// `400 invalid_request`: more than one `Authorization` header.
    DuplicateAuthorizationHeader,
    /// `400 invalid_request`: `grant_type=refresh_token` without a `refresh_token`
    /// parameter.
    MissingRefreshToken,
    /// `400 invalid_request`: a revocation or introspection request without a `token`
    /// parameter (RFC 7009 §2.1).
    MissingToken,
    /// `400 invalid_request`: a parameter is not UTF-8 once percent-decoded.
    InvalidEncoding,
    /// Client authentication failed (`401 invalid_client`). `basic` is `true` when the
    /// client tried HTTP Basic, and the answer then carries `WWW-Authenticate: Basic`
    /// (§5.2).
    InvalidClient {
        /// The client used the `Authorization: Basic` header.
        basic: bool,
    },
    /// The resource owner's credentials are wrong, the user is unknown or disabled
    /// (`400 invalid_grant`). The answer is the same byte for byte in every case.
    InvalidGrant,
    /// `invalid_grant` for a refresh token (unknown, expired, revoked, reused) or, at
    /// the revocation endpoint, a refresh token issued to another client.
    InvalidRefreshToken,
    /// The client may not use this grant type (`400 unauthorized_client`).
    UnauthorizedClient,
    /// The grant type is not supported (`400 unsupported_grant_type`).
    UnsupportedGrantType,
    /// The requested scope is invalid or exceeds what the user may have
    /// (`400 invalid_scope`).
    InvalidScope,
    /// Not a `POST` (`405`, `Allow: POST`, error `invalid_request`).
    MethodNotAllowed,
    /// The body is larger than the configured bound (`413`, error `invalid_request`).
    PayloadTooLarge,
    /// The body did not arrive within the configured time (`408`, error
    /// `invalid_request`).
    RequestTimeout,
    /// The body is not `application/x-www-form-urlencoded` or `multipart/form-data`
    /// (`415`, error `invalid_request`).
    UnsupportedMediaType,
    /// The user store or the hashing pool failed (`503 temporarily_unavailable`). Never
    /// caused by what the client sent.
    TemporarilyUnavailable,
    /// Too many logins wait for a password verification (the queue is full or the
    /// wait ran out): `503 temporarily_unavailable` with `Retry-After: retry_after`.
    /// See [`PasswordHasher::with_max_wait`](super::PasswordHasher::with_max_wait).
    Overloaded {
        /// Seconds announced in `Retry-After`.
        retry_after: u32,
    },
    /// The request's DPoP proof is invalid (`400 invalid_dpop_proof`, RFC 9449 §5),
    /// with the fixed description of why (a proof reason of
    /// [`DpopError`](crate::dpop::DpopError)).
    InvalidDpopProof(&'static str),
    /// The DPoP proof lacks the current server nonce (`400 use_dpop_nonce`, with a
    /// `DPoP-Nonce` header, RFC 9449 §8).
    UseDpopNonce,
    /// Too many failed logins for this username or from this client address (`429`,
    /// error `slow_down`, `Retry-After: <retry_after>`); see
    /// [`TokenEndpointBuilder::with_login_throttle`](super::TokenEndpointBuilder::with_login_throttle).
    TooManyAttempts {
        /// Seconds until a login may be tried again (at least 1).
        retry_after: u32,
    },
}

impl TokenError {
    /// The HTTP status.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TemporarilyUnavailable | Self::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The RFC 6749 §5.2 `error` code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::DuplicateParameter
            | Self::MissingGrantType
            | Self::MissingUsername
            | Self::MissingPassword
            | Self::MalformedBody
            | Self::MultipleClientAuthentication
            | Self::DuplicateAuthorizationHeader
            | Self::MissingRefreshToken
            | Self::MissingToken
            | Self::InvalidEncoding
            | Self::MethodNotAllowed
            | Self::PayloadTooLarge
            | Self::RequestTimeout
            | Self::UnsupportedMediaType => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant | Self::InvalidRefreshToken => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::TemporarilyUnavailable | Self::Overloaded { .. } => "temporarily_unavailable",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            // RFC 8628 §3.5's code (in the OAuth Extensions Error registry): "wait,
            // then try again", as opposed to the 503's server-side outage.
            Self::TooManyAttempts { .. } => "slow_down",
        }
    }

    /// The fixed `error_description`.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::DuplicateParameter => "A request parameter appears more than once",
            Self::MissingGrantType => "The grant_type parameter is missing",
            Self::MissingUsername => "The username parameter is missing",
            Self::MissingPassword => "The password parameter is missing",
            Self::MalformedBody => "The request body could not be read or decoded",
            Self::MultipleClientAuthentication => "The client authenticated in more than one way",
            Self::DuplicateAuthorizationHeader => "More than one Authorization header",
            Self::MissingRefreshToken => "The refresh_token parameter is missing",
            Self::MissingToken => "The token parameter is missing",
            Self::InvalidEncoding => "A request parameter is not valid UTF-8",
            Self::InvalidClient { .. } => "Client authentication failed",
            Self::InvalidGrant => "Incorrect username or password",
            Self::InvalidRefreshToken => {
                "The refresh token is invalid, expired, revoked or issued to another client"
            }
            Self::UnauthorizedClient => "The client may not use this grant type",
            Self::UnsupportedGrantType => "The grant type is not supported",
            Self::InvalidScope => "The requested scope is invalid or not allowed",
            Self::MethodNotAllowed => "The token endpoint only accepts POST",
            Self::PayloadTooLarge => "The request body is too large",
            Self::RequestTimeout => "The request body did not arrive in time",
            Self::UnsupportedMediaType => {
                "The body must be application/x-www-form-urlencoded or multipart/form-data"
            }
            Self::TemporarilyUnavailable => "The token endpoint is temporarily unavailable",
            Self::Overloaded { .. } => "Too many logins are waiting, retry later",
            Self::InvalidDpopProof(description) => description,
            Self::UseDpopNonce => "A DPoP proof with the server nonce is required",
            Self::TooManyAttempts { .. } => "Too many failed login attempts; try again later",
        }
    }

    /// The §5.2 answer: JSON `{"error","error_description"}`, `Cache-Control: no-store`,
    /// plus `Allow: POST` (405), `WWW-Authenticate: Basic` (401 after Basic) or
    /// `Retry-After` ([`Overloaded`](Self::Overloaded),
    /// [`TooManyAttempts`](Self::TooManyAttempts)). The
    /// error is kept in the response extensions.
    #[must_use]
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let body = crate::json_error::error_body(self.code(), self.description(), None);
        let mut response = json_response(self.status(), body);
        let headers = response.headers_mut();
        match self {
            Self::MethodNotAllowed => {
                headers.insert(ALLOW, HeaderValue::from_static("POST"));
            }
            Self::InvalidClient { basic: true } => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"token\", charset=\"UTF-8\""),
                );
            }
            Self::Overloaded { retry_after } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(retry_after));
            }
            Self::TooManyAttempts { retry_after } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            }
            _ => {}
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// A JSON response that must not be cached (RFC 6749 §5.1).
pub(crate) fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl std::error::Error for TokenError {}

impl From<crate::dpop::DpopError> for TokenError {
    /// Token-endpoint answers to a proof refusal (the token errors do not occur there).
    fn from(error: crate::dpop::DpopError) -> Self {
        match error {
            crate::dpop::DpopError::UseNonce => Self::UseDpopNonce,
            other => Self::InvalidDpopProof(other.proof_description()),
        }
    }
}
