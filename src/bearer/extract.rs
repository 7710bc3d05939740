//! Where the bearer token is read from ([`TokenSources`]), per RFC 6750 §2.
//!
//! By default only the `Authorization: Bearer` header is read. A cookie, a custom
//! header and the `access_token` query parameter are opt-in; OAuth 2.1 forbids query
//! tokens, so that one stays off unless asked for. Whatever is enabled, a token found
//! in more than one place is `400 invalid_request` (RFC 6750 §2: one method per
//! request); the `access_token` query parameter counts as a place even when it is not
//! an enabled source, so a request cannot smuggle a second token past the layer.
//!
//! The form-body parameter (RFC 6750 §2.2) needs the body, so it is read by a
//! [`FormTokenLayer`](crate::FormTokenLayer) in front of the bearer layer.

use std::borrow::Cow;

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName, Request, Uri};

use crate::bearer::csrf::CsrfGuard;
use crate::bearer::form_token::FormBodyToken;
use crate::error::{AuthError, ConfigError, InvalidRequest, InvalidToken};

/// The query and form parameter name of RFC 6750 §2.2 and §2.3.
pub(crate) const ACCESS_TOKEN_PARAM: &str = "access_token";

/// Default upper bound on the credentials read from a request, in bytes; see
/// [`TokenSources::with_max_len`].
pub const DEFAULT_MAX_CREDENTIALS_LEN: usize = 16 * 1024;

/// Which parts of a request may carry the bearer token.
#[derive(Debug, Clone)]
pub struct TokenSources {
    authorization: bool,
    header: Option<HeaderName>,
    cookie: Option<Box<str>>,
    csrf: Option<CsrfGuard>,
    query: bool,
    max_len: usize,
}

impl Default for TokenSources {
    fn default() -> Self {
        Self {
            authorization: true,
            header: None,
            cookie: None,
            csrf: None,
            query: false,
            max_len: DEFAULT_MAX_CREDENTIALS_LEN,
        }
    }
}

impl TokenSources {
    /// Only the `Authorization: Bearer` header (the default).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops reading the `Authorization` header (for example, cookie-only sessions).
    #[must_use]
    pub fn without_authorization_header(mut self) -> Self {
        self.authorization = false;
        self
    }

    /// Also reads the raw token (no scheme) from a header such as `x-access-token`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidHeaderName`] for an invalid name or `authorization`.
    pub fn with_header(mut self, name: &str) -> Result<Self, ConfigError> {
        let name = HeaderName::try_from(name).map_err(|_| ConfigError::InvalidHeaderName)?;
        if name == AUTHORIZATION || name == COOKIE {
            return Err(ConfigError::InvalidHeaderName);
        }
        self.header = Some(name);
        Ok(self)
    }

    /// Also reads the token from the cookie `name`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidCookieName`] if `name` is not an RFC 6265 cookie name.
    pub fn with_cookie(mut self, name: &str) -> Result<Self, ConfigError> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
        if !valid {
            return Err(ConfigError::InvalidCookieName);
        }
        self.cookie = Some(name.into());
        Ok(self)
    }

    /// Guards the cookie source against cross-site request forgery: an unsafe request
    /// (not `GET`, `HEAD`, `OPTIONS`, `TRACE`) whose token came from the
    /// [cookie](Self::with_cookie) must pass `guard` (same origin by `Sec-Fetch-Site` or
    /// `Origin`, or a trusted origin), else `400 invalid_request`. Off by default; turn
    /// it on whenever browsers send the cookie. See [`CsrfGuard`] for the rules. Checked
    /// by the bearer layer (the method is needed), not by [`extract`](Self::extract).
    #[must_use]
    pub fn with_csrf_guard(mut self, guard: CsrfGuard) -> Self {
        self.csrf = Some(guard);
        self
    }

    /// Also reads the `access_token` URI query parameter (RFC 6750 §2.3).
    ///
    /// Tokens in URLs leak into logs, history and `Referer` headers; RFC 6750 advises
    /// against it and OAuth 2.1 forbids it. Use it only for clients that cannot set
    /// headers (e.g. browser `EventSource`/WebSocket) and with short-lived tokens.
    #[must_use]
    pub fn insecure_with_query(mut self) -> Self {
        self.query = true;
        self
    }

    /// Longest credentials read, in bytes (default [`DEFAULT_MAX_CREDENTIALS_LEN`],
    /// 16 KiB): what follows `Bearer ` in the `Authorization` header, a token header's
    /// value, the cookie's value, the decoded `access_token` parameter. Longer ones are
    /// refused as `invalid_token` (too long) before their characters are even looked at,
    /// whatever validator follows. [`JwtValidator`](crate::JwtValidator) has its own,
    /// smaller limit (8 KiB by default).
    #[must_use]
    pub fn with_max_len(mut self, max: usize) -> Self {
        self.max_len = max;
        self
    }

    /// The longest credentials read, in bytes.
    pub(crate) fn max_len(&self) -> usize {
        self.max_len
    }

    /// Finds the request's bearer token.
    ///
    /// `Ok(None)` means the request has no bearer credentials at all.
    ///
    /// # Errors
    ///
    /// `invalid_request` for duplicate headers or a token in more than one place;
    /// `invalid_token` for a token with characters outside RFC 6750's `b64token` or
    /// longer than the [limit](Self::with_max_len).
    pub fn extract<'a>(
        &self,
        headers: &'a HeaderMap,
        uri: &'a Uri,
    ) -> Result<Option<Cow<'a, str>>, AuthError> {
        self.extract_with(headers, uri, Syntax::Check)
    }

    fn extract_with<'a>(
        &self,
        headers: &'a HeaderMap,
        uri: &'a Uri,
        syntax: Syntax,
    ) -> Result<Option<Cow<'a, str>>, AuthError> {
        let mut found: Option<Cow<'a, str>> = None;
        let mut place = |token: Option<Cow<'a, str>>| -> Result<(), AuthError> {
            match (token, found.is_some()) {
                (Some(_), true) => Err(InvalidRequest::MultipleTokenSources.into()),
                (Some(token), false) => {
                    found = Some(token);
                    Ok(())
                }
                (None, _) => Ok(()),
            }
        };

        if self.authorization {
            let mut values = headers.get_all(AUTHORIZATION).iter();
            if let Some(value) = values.next() {
                if values.next().is_some() {
                    return Err(InvalidRequest::DuplicateAuthorizationHeader.into());
                }
                place(parse_bearer(value.as_bytes(), self.max_len, syntax)?.map(Cow::Borrowed))?;
            }
        }
        if let Some(name) = &self.header {
            let mut values = headers.get_all(name).iter();
            if let Some(value) = values.next() {
                if values.next().is_some() {
                    return Err(InvalidRequest::DuplicateTokenParameter.into());
                }
                place(raw_token(value.as_bytes(), self.max_len, syntax)?.map(Cow::Borrowed))?;
            }
        }
        if let Some(name) = &self.cookie {
            place(cookie_token(headers, name, self.max_len, syntax)?.map(Cow::Borrowed))?;
        }
        if let Some(query) = uri.query() {
            if self.query {
                place(query_token(query, self.max_len, syntax)?)?;
            } else if found.is_some() && has_query_token(query) {
                // Not a source we read, but still a second method of sending a token.
                // Its value is never parsed: a query we do not read cannot fail the
                // request on its own.
                return Err(InvalidRequest::MultipleTokenSources.into());
            }
        }
        Ok(found)
    }
}

impl TokenSources {
    /// [`extract`](Self::extract), plus the form-body token a
    /// [`FormTokenLayer`](crate::FormTokenLayer) in front may have found: one more
    /// place, so a token there and anywhere else is `invalid_request`.
    ///
    /// With [`Syntax::Defer`] the found token's `b64token` syntax is left unchecked;
    /// any error is then the one checking first gives (extraction runs again), so only
    /// a token that is returned can differ.
    pub(crate) fn extract_from<'a, B>(
        &self,
        request: &'a Request<B>,
        syntax: Syntax,
    ) -> Result<Option<Cow<'a, str>>, AuthError> {
        let found = match self.extract_request(request, syntax) {
            Err(_) if matches!(syntax, Syntax::Defer) => {
                self.extract_request(request, Syntax::Check)
            }
            found => found,
        };
        if let (Ok(Some(_)), Some(guard)) = (&found, &self.csrf) {
            self.check_csrf(guard, request)?;
        }
        found
    }

    /// The CSRF check, when the token found came from the cookie (a token in any
    /// other place too would have been refused already).
    #[cold]
    fn check_csrf<B>(&self, guard: &CsrfGuard, request: &Request<B>) -> Result<(), AuthError> {
        let Some(name) = &self.cookie else {
            return Ok(());
        };
        let from_cookie = matches!(
            cookie_token(request.headers(), name, self.max_len, Syntax::Defer),
            Ok(Some(_))
        );
        if from_cookie {
            guard.check(request.method(), request.uri(), request.headers())
        } else {
            Ok(())
        }
    }

    fn extract_request<'a, B>(
        &self,
        request: &'a Request<B>,
        syntax: Syntax,
    ) -> Result<Option<Cow<'a, str>>, AuthError> {
        let found = self.extract_with(request.headers(), request.uri(), syntax)?;
        let Some(form) = request.extensions().get::<FormBodyToken>() else {
            return Ok(found);
        };
        let token = match form {
            FormBodyToken::Duplicate => return Err(InvalidRequest::DuplicateTokenParameter.into()),
            FormBodyToken::One(token) => token,
        };
        let unread_query = !self.query && request.uri().query().is_some_and(has_query_token);
        if found.is_some() || unread_query {
            return Err(InvalidRequest::MultipleTokenSources.into());
        }
        token_text(token.as_bytes(), syntax).map(|token| Some(Cow::Borrowed(token)))
    }
}

/// Parses `Authorization: Bearer <b64token>` (RFC 6750 §2.1, RFC 9110 §11.4).
///
/// The scheme is case-insensitive and followed by one or more spaces. Another scheme,
/// or the scheme with no token, is "no bearer credentials" (`Ok(None)`).
///
/// # Errors
///
/// `invalid_token` if the token has characters outside `b64token`.
#[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
pub fn parse_authorization(value: &[u8]) -> Result<Option<&str>, AuthError> {
    parse_bearer(value, usize::MAX, Syntax::Check)
}

/// [`parse_authorization`] refusing more than `max` bytes after the scheme and its space.
fn parse_bearer(value: &[u8], max: usize, syntax: Syntax) -> Result<Option<&str>, AuthError> {
    const SCHEME: &[u8] = b"bearer";
    if value.len() < SCHEME.len() || !value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return Ok(None);
    }
    let rest = &value[SCHEME.len()..];
    match rest.first() {
        None => return Ok(None),
        Some(b' ') => {}
        // "BearerX ..." is another scheme; "Bearer\t..." is not the bearer syntax.
        Some(_) => return Ok(None),
    }
    // Bounded before the token is scanned: what follows the scheme and its space.
    if rest.len() - 1 > max {
        return Err(InvalidToken::TooLong.into());
    }
    let token = trim_spaces(rest);
    if token.is_empty() {
        return Ok(None);
    }
    token_text(token, syntax).map(Some)
}

fn trim_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

/// A header or cookie value holding the bare token.
fn raw_token(value: &[u8], max: usize, syntax: Syntax) -> Result<Option<&str>, AuthError> {
    if value.len() > max {
        return Err(InvalidToken::TooLong.into());
    }
    let token = trim_spaces(value);
    if token.is_empty() {
        return Ok(None);
    }
    token_text(token, syntax).map(Some)
}

/// Whether extraction checks a token's `b64token` syntax, or leaves it to a validator
/// that accepts nothing else
/// ([`TokenValidator::accepts_only_b64token`](crate::TokenValidator::accepts_only_b64token)).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Syntax {
    Check,
    Defer,
}

/// The token as text: checked as a `b64token`, or (deferred) only as UTF-8.
fn token_text(token: &[u8], syntax: Syntax) -> Result<&str, AuthError> {
    match syntax {
        Syntax::Check => b64token(token),
        Syntax::Defer => std::str::from_utf8(token).map_err(|_| InvalidToken::Malformed.into()),
    }
}

/// Checks RFC 6750 §2.1's `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
/// "/" ) *"="`.
///
/// # Errors
///
/// `invalid_token` (malformed) otherwise.
pub fn b64token(token: &[u8]) -> Result<&str, AuthError> {
    // Trailing `=` padding, then a body of b64token characters only. Equivalent to
    // "body up to the first non-body byte, then only `=`", as `=` is not a body byte.
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..body_len];
    // Sixteen lanes AND-ed in step, which compiles to SIMD compares (tokens are long:
    // RS256 tokens run to several hundred bytes); the short rest byte by byte.
    let chunks = body.chunks_exact(16);
    let rest = chunks.remainder();
    let mut lanes = [true; 16];
    for chunk in chunks {
        for (lane, &b) in lanes.iter_mut().zip(chunk) {
            *lane &= is_b64token_byte(b);
        }
    }
    let valid = !body.is_empty()
        && lanes.iter().all(|&lane| lane)
        && rest.iter().all(|&b| is_b64token_byte(b));
    if !valid {
        return Err(InvalidToken::Malformed.into());
    }
    // All bytes are ASCII.
    std::str::from_utf8(token).map_err(|_| InvalidToken::Malformed.into())
}

/// `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`, without branches.
#[inline(always)]
const fn is_b64token_byte(b: u8) -> bool {
    let alpha = (b | 0x20).wrapping_sub(b'a') < 26;
    // `-`, `.`, `/` and the digits are one run: 0x2D..=0x39.
    let dash_to_nine = b.wrapping_sub(b'-') < 13;
    alpha | dash_to_nine | (b == b'_') | (b == b'~') | (b == b'+')
}

fn cookie_token<'a>(
    headers: &'a HeaderMap,
    name: &str,
    max: usize,
    syntax: Syntax,
) -> Result<Option<&'a str>, AuthError> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&b| b == b';') {
            let pair = trim_spaces(pair);
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            if &pair[..eq] != name.as_bytes() {
                continue;
            }
            if found.is_some() {
                return Err(InvalidRequest::DuplicateTokenParameter.into());
            }
            let mut value = &pair[eq + 1..];
            if value.len() >= 2 && value[0] == b'"' && value[value.len() - 1] == b'"' {
                value = &value[1..value.len() - 1];
            }
            found = Some(value);
        }
    }
    match found {
        Some(value) => raw_token(value, max, syntax),
        None => Ok(None),
    }
}

/// The `access_token` query parameter, form-decoded. A parameter with no value counts as
/// absent (RFC 6749 §3.1).
fn query_token(query: &str, max: usize, syntax: Syntax) -> Result<Option<Cow<'_, str>>, AuthError> {
    if !may_name_access_token(query) {
        return Ok(None);
    }
    let mut found = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != ACCESS_TOKEN_PARAM || value.is_empty() {
            continue;
        }
        if found.is_some() {
            return Err(InvalidRequest::DuplicateTokenParameter.into());
        }
        found = Some(value);
    }
    match found {
        None => Ok(None),
        Some(value) => {
            if value.len() > max {
                return Err(InvalidToken::TooLong.into());
            }
            token_text(value.as_bytes(), syntax)?;
            Ok(Some(value))
        }
    }
}

/// `false` only if no parameter of `query` can decode to `access_token` (the name may be
/// percent-encoded, as in `access%5Ftoken`).
fn may_name_access_token(query: &str) -> bool {
    query.contains(ACCESS_TOKEN_PARAM) || query.contains('%')
}

/// `true` if the query has a non-empty `access_token` parameter, whatever its value.
pub(crate) fn has_query_token(query: &str) -> bool {
    may_name_access_token(query)
        && form_urlencoded::parse(query.as_bytes())
            .any(|(name, value)| name == ACCESS_TOKEN_PARAM && !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain reading of the grammar, to check the vectorizable one against.
    fn reference(token: &[u8]) -> bool {
        let body_len = token
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)))
            .unwrap_or(token.len());
        body_len > 0 && token[body_len..].iter().all(|&b| b == b'=')
    }

    #[test]
    fn b64token_matches_grammar_ok() {
        let mut cases: Vec<Vec<u8>> = vec![vec![], b"=".to_vec(), b"==".to_vec(), b"a=b".to_vec()];
        for b in 0..=255u8 {
            for shape in [
                vec![b],
                vec![b'a', b],
                vec![b, b'='],
                vec![b'x', b, b'=', b'='],
            ] {
                cases.push(shape);
            }
            // Long tokens, the odd byte in each chunk position.
            for at in [0, 31, 32, 33, 63, 64, 99] {
                let mut long = vec![b'A'; 100];
                long[at] = b;
                cases.push(long.clone());
                long.extend_from_slice(b"==");
                cases.push(long);
            }
        }
        for case in cases {
            assert_eq!(b64token(&case).is_ok(), reference(&case), "{case:?}");
        }
    }
}
