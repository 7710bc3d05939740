//! Turning an [`AuthError`] into a response: the default HTTP and gRPC shapes, and the
//! [`OnRejection`] hook to replace them.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use crate::bearer::challenge::{sanitized, Challenge};
use crate::error::AuthError;

/// What a rejection handler is given: the error, the request's headers and the
/// configured challenge.
#[derive(Debug, Clone, Copy)]
pub struct Rejection<'a> {
    error: &'a AuthError,
    request_headers: &'a HeaderMap,
    challenge: &'a Challenge,
}

impl<'a> Rejection<'a> {
    pub(crate) fn new(
        error: &'a AuthError,
        request_headers: &'a HeaderMap,
        challenge: &'a Challenge,
    ) -> Self {
        Self {
            error,
            request_headers,
            challenge,
        }
    }

    /// Why the request was refused.
    #[must_use]
    pub fn error(&self) -> &'a AuthError {
        self.error
    }

    /// The refused request's headers.
    #[must_use]
    pub fn request_headers(&self) -> &'a HeaderMap {
        self.request_headers
    }

    /// The `WWW-Authenticate` value for this error, with the configured realm.
    #[must_use]
    pub fn challenge(&self) -> HeaderValue {
        self.challenge.render(self.error)
    }

    /// `true` if the request is a gRPC call (`content-type: application/grpc*`).
    #[must_use]
    pub fn is_grpc(&self) -> bool {
        is_grpc(self.request_headers)
    }

    /// The answer the crate gives by default: gRPC-shaped for gRPC calls, else the
    /// RFC 6750 HTTP answer with a small JSON body.
    #[must_use]
    pub fn default_response(&self) -> Response<Bytes> {
        if self.is_grpc() {
            grpc_response(self.error, self.challenge())
        } else if let AuthError::MissingToken = self.error {
            // The most common refusal: the same answer as `http_response`, prebuilt.
            let mut response = Response::new(json_body(self.error));
            *response.status_mut() = self.error.status();
            *response.headers_mut() = self.challenge.missing_headers().clone();
            response
        } else {
            http_response(self.error, self.challenge())
        }
    }
}

/// Builds the response for a refused request.
///
/// Implemented for [`DefaultRejection`] and for closures
/// `Fn(Rejection<'_>) -> Response<Bytes>`.
pub trait OnRejection: Clone + Send + Sync + 'static {
    /// Builds the response.
    fn on_rejection(&self, rejection: Rejection<'_>) -> Response<Bytes>;
}

impl<F> OnRejection for F
where
    F: Fn(Rejection<'_>) -> Response<Bytes> + Clone + Send + Sync + 'static,
{
    fn on_rejection(&self, rejection: Rejection<'_>) -> Response<Bytes> {
        self(rejection)
    }
}

/// The default rejection: [`Rejection::default_response`], optionally with the
/// [`AuthError`] in the response's extensions
/// ([`with_error_extension`](Self::with_error_extension)).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection {
    error_extension: bool,
}

impl DefaultRejection {
    /// The RFC 6750 answer (the layers' default).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            error_extension: false,
        }
    }

    /// Also puts the [`AuthError`] into the response's extensions, for outer layers
    /// (logging, metrics) to read why a request was refused. The answer itself is
    /// unchanged. (A closure handler does the same with
    /// `response.extensions_mut().insert(rejection.error().clone())`.)
    ///
    /// Not the default: it costs three allocations per refusal, and refusals are the
    /// traffic a client controls.
    ///
    /// ```
    /// use tower_bearer::{BearerAuthLayer, Claims, DefaultRejection, JwtValidator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let validator = JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")?;
    /// let layer = BearerAuthLayer::new(validator)
    ///     .on_rejection(DefaultRejection::new().with_error_extension());
    /// // An outer layer then reads `response.extensions().get::<tower_bearer::AuthError>()`.
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub const fn with_error_extension(mut self) -> Self {
        self.error_extension = true;
        self
    }
}

impl OnRejection for DefaultRejection {
    fn on_rejection(&self, rejection: Rejection<'_>) -> Response<Bytes> {
        let mut response = rejection.default_response();
        if self.error_extension {
            response.extensions_mut().insert(rejection.error().clone());
        }
        response
    }
}

pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|ct| {
        ct.as_bytes().len() >= 16 && ct.as_bytes()[..16].eq_ignore_ascii_case(b"application/grpc")
    })
}

pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The RFC 6750 answer: status, `WWW-Authenticate` (omitted for `503`), JSON body
/// `{"error","error_description"}`.
#[must_use]
pub fn http_response(error: &AuthError, challenge: HeaderValue) -> Response<Bytes> {
    let mut response = Response::new(json_body(error));
    *response.status_mut() = error.status();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, APPLICATION_JSON);
    if error.status() != StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(WWW_AUTHENTICATE, challenge);
    }
    insert_dpop_nonce(error, headers);
    response
}

/// The `DPoP-Nonce` header of a `use_dpop_nonce` refusal (RFC 9449 §9).
fn insert_dpop_nonce(error: &AuthError, headers: &mut HeaderMap) {
    if let AuthError::Dpop {
        nonce: Some(nonce), ..
    } = error
    {
        headers.insert(crate::dpop::DPOP_NONCE.clone(), nonce.clone());
    }
}

/// The JSON body of a rejection. Static text only: codes and descriptions never contain
/// characters that need JSON escaping beyond what [`sanitize_description`](crate::bearer::challenge::sanitize_description) keeps.
#[must_use]
pub fn json_body(error: &AuthError) -> Bytes {
    match error {
        AuthError::MissingToken => Bytes::from_static(
            br#"{"error":"unauthorized","error_description":"Bearer token required"}"#,
        ),
        _ => match error.step_up() {
            Some(step_up) => step_up_body(error, step_up),
            None => crate::json_error::error_body(
                error.code(),
                &sanitized(error.description()),
                error.required_scopes().map(|scopes| scopes.as_str()),
            ),
        },
    }
}

/// The RFC 9470 refusal's body: the challenge's `acr_values` and `max_age` beside
/// `error` and `error_description`.
#[cold]
fn step_up_body(error: &AuthError, step_up: &crate::error::StepUpRequirement) -> Bytes {
    let mut body = serde_json::Map::new();
    if let Some(acr_values) = step_up.acr_values() {
        body.insert("acr_values".into(), acr_values.into());
    }
    body.insert("error".into(), error.code().into());
    body.insert(
        "error_description".into(),
        sanitized(error.description()).into_owned().into(),
    );
    if let Some(max_age) = step_up.max_age() {
        body.insert("max_age".into(), max_age.as_secs().into());
    }
    Bytes::from(serde_json::Value::Object(body).to_string())
}

static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
static GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

/// The gRPC answer (a trailers-only response): HTTP `200`,
/// `content-type: application/grpc`, `grpc-status` 16/7/14, a percent-encoded
/// `grpc-message`, the `WWW-Authenticate` challenge, and an empty body.
#[must_use]
pub fn grpc_response(error: &AuthError, challenge: HeaderValue) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(GRPC_STATUS.clone(), HeaderValue::from(error.grpc_status()));
    let message = grpc_percent_encode(&format!("{}: {}", error.code(), error.description()));
    if let Ok(value) = HeaderValue::try_from(message) {
        headers.insert(GRPC_MESSAGE.clone(), value);
    }
    if error.status() != StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(WWW_AUTHENTICATE, challenge);
    }
    insert_dpop_nonce(error, headers);
    response
}

/// Percent-encodes per the gRPC HTTP/2 spec: everything outside `%x20-%x7E`, and `%`.
fn grpc_percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..=0x7E).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{InvalidRequest, InvalidToken, RequiredScopes};

    #[test]
    fn json_body_matches_serde_json_value_ok() {
        let errors = [
            AuthError::MissingToken,
            AuthError::InvalidRequest(InvalidRequest::DuplicateAuthorizationHeader),
            AuthError::InvalidToken(InvalidToken::Malformed),
            AuthError::InvalidToken(InvalidToken::BadSignature),
            AuthError::InvalidToken(InvalidToken::MissingClaim("exp")),
            AuthError::InsufficientScope(RequiredScopes::new(["read", "write"]).unwrap()),
        ];
        for error in &errors {
            let body: serde_json::Value = serde_json::from_slice(&json_body(error)).unwrap();
            if matches!(error, AuthError::MissingToken) {
                continue;
            }
            let mut expected = serde_json::json!({
                "error": error.code(),
                "error_description": crate::bearer::challenge::sanitize_description(error.description()),
            });
            if let Some(scopes) = error.required_scopes() {
                expected["scope"] = scopes.as_str().into();
            }
            assert_eq!(body, expected);
            assert_eq!(json_body(error), Bytes::from(expected.to_string()));
        }
    }

    #[test]
    fn prebuilt_missing_answer_is_the_general_one() {
        for challenge in [Challenge::default(), Challenge::with_realm("api").unwrap()] {
            let headers = HeaderMap::new();
            let error = AuthError::MissingToken;
            let prebuilt = Rejection::new(&error, &headers, &challenge).default_response();
            let general = http_response(&error, challenge.render(&error));
            assert_eq!(prebuilt.status(), general.status());
            assert_eq!(prebuilt.headers(), general.headers());
            assert_eq!(prebuilt.body(), general.body());
            assert_eq!(prebuilt.headers().len(), 2);
        }
    }
}
