//! Rendering the `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).
//!
//! Parameters are quoted-strings (RFC 9110 §5.6.4). The realm comes from configuration
//! and is checked when built; `error_description` is sanitized to RFC 6750 §3's
//! character set; `scope` is built only from validated scope-tokens. No client input
//! ever reaches this header.

use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue};

use crate::error::{AuthError, ConfigError};

/// The `Bearer` challenge of a protected resource: its realm, with the no-credentials
/// challenge rendered once up front so the most common rejection costs no formatting.
#[derive(Debug, Clone)]
pub struct Challenge {
    realm: Option<Box<str>>,
    missing: HeaderValue,
    /// The headers of the default no-credentials answer: cloning them is cheaper than
    /// inserting them one by one on every such request.
    missing_headers: HeaderMap,
}

impl Default for Challenge {
    fn default() -> Self {
        Self::from_parts(None, HeaderValue::from_static("Bearer"))
    }
}

impl Challenge {
    /// A challenge with a `realm` parameter.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRealm`] if the realm has characters outside visible ASCII
    /// and space.
    pub fn with_realm(realm: &str) -> Result<Self, ConfigError> {
        if !realm.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
            return Err(ConfigError::InvalidRealm);
        }
        let realm: Box<str> = realm.into();
        let missing = render(Some(&realm), &AuthError::MissingToken);
        Ok(Self::from_parts(Some(realm), missing))
    }

    fn from_parts(realm: Option<Box<str>>, missing: HeaderValue) -> Self {
        let mut missing_headers = HeaderMap::with_capacity(2);
        missing_headers.insert(CONTENT_TYPE, crate::rejection::APPLICATION_JSON);
        missing_headers.insert(WWW_AUTHENTICATE, missing.clone());
        Self {
            realm,
            missing,
            missing_headers,
        }
    }

    /// The headers of the default HTTP answer to a request without credentials.
    pub(crate) fn missing_headers(&self) -> &HeaderMap {
        &self.missing_headers
    }

    /// The configured realm, if any.
    #[must_use]
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// Renders the challenge for `error`: the realm, then `error`, `error_description`
    /// and `scope` where the error has them.
    #[must_use]
    pub fn render(&self, error: &AuthError) -> HeaderValue {
        match error {
            AuthError::MissingToken => self.missing.clone(),
            _ => render(self.realm.as_deref(), error),
        }
    }
}

fn render(realm: Option<&str>, error: &AuthError) -> HeaderValue {
    let mut params: Vec<(&str, &str)> = Vec::with_capacity(4);
    let description;
    if let Some(realm) = realm {
        params.push(("realm", realm));
    }
    if let Some(code) = error.challenge_code() {
        description = sanitized(error.description());
        params.push(("error", code));
        params.push(("error_description", &description));
        if let Some(scopes) = error.required_scopes() {
            params.push(("scope", scopes.as_str()));
        }
    }
    // RFC 9449 §7.1: DPoP refusals name the DPoP scheme and the accepted algorithms.
    let scheme = match error.dpop() {
        Some(refusal) => {
            params.push(("algs", refusal.algs()));
            "DPoP"
        }
        None => "Bearer",
    };
    let capacity = 16
        + params
            .iter()
            .map(|(name, param)| name.len() + param.len() + 6)
            .sum::<usize>();
    let mut value = String::with_capacity(capacity);
    value.push_str(scheme);
    for (i, (name, param)) in params.into_iter().enumerate() {
        value.push_str(if i == 0 { " " } else { ", " });
        push_param(&mut value, name, param);
    }
    // Every byte pushed is visible ASCII or space, so the conversion cannot fail.
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// Appends `name="value"`, escaping `"` and `\` as quoted-pairs.
fn push_param(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    if value.bytes().any(|b| b == b'"' || b == b'\\') {
        for c in value.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    } else {
        out.push_str(value);
    }
    out.push('"');
}

/// Keeps only RFC 6750 §3's `error_description` characters (`%x20-21 / %x23-5B /
/// %x5D-7E`), replacing anything else with `?`.
#[must_use]
pub fn sanitize_description(text: &str) -> String {
    sanitized(text).into_owned()
}

/// [`sanitize_description`], borrowing when nothing needs replacing (the usual case:
/// the crate's own descriptions are plain ASCII).
pub(crate) fn sanitized(text: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| matches!(c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E);
    if text.chars().all(allowed) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| if allowed(c) { c } else { '?' })
            .collect(),
    )
}
