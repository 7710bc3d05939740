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
    /// RFC 9728 §5.1: where the protected resource's metadata is, announced in `401`s.
    resource_metadata: Option<Box<str>>,
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
        let missing = render(Some(&realm), None, &AuthError::MissingToken);
        Ok(Self::from_parts(Some(realm), missing))
    }

    /// Adds RFC 9728's `resource_metadata` parameter to every `401` challenge: the URL
    /// of the protected resource's metadata document, for example
    /// `https://api.example.com/.well-known/oauth-protected-resource`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] unless `url` is an absolute `http(s)` URL without a
    /// fragment, made only of visible ASCII other than `"` and `\`.
    pub fn with_resource_metadata(self, url: &str) -> Result<Self, ConfigError> {
        check_metadata_url(url)?;
        let resource_metadata: Box<str> = url.into();
        let missing = render(
            self.realm.as_deref(),
            Some(&resource_metadata),
            &AuthError::MissingToken,
        );
        let mut challenge = Self::from_parts(self.realm, missing);
        challenge.resource_metadata = Some(resource_metadata);
        Ok(challenge)
    }

    fn from_parts(realm: Option<Box<str>>, missing: HeaderValue) -> Self {
        let mut missing_headers = HeaderMap::with_capacity(2);
        missing_headers.insert(CONTENT_TYPE, crate::bearer::rejection::APPLICATION_JSON);
        missing_headers.insert(WWW_AUTHENTICATE, missing.clone());
        Self {
            realm,
            resource_metadata: None,
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
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The configured `resource_metadata` URL (RFC 9728), if any.
    #[must_use]
    pub fn resource_metadata(&self) -> Option<&str> {
        self.resource_metadata.as_deref()
    }

    /// Renders the challenge for `error`: the realm, then `error`, `error_description`
    /// and `scope` (or RFC 9470's `acr_values` and `max_age`) where the error has them,
    /// then `resource_metadata` on a `401` when configured.
    #[must_use]
    pub fn render(&self, error: &AuthError) -> HeaderValue {
        match error {
            AuthError::MissingToken => self.missing.clone(),
            _ => render(
                self.realm.as_deref(),
                self.resource_metadata.as_deref(),
                error,
            ),
        }
    }
}

/// An absolute `http(s)` URL whose every byte may stand in a quoted-string unescaped.
fn check_metadata_url(url: &str) -> Result<(), ConfigError> {
    let invalid = ConfigError::InvalidUrl("resource_metadata");
    if url.is_empty()
        || url.contains('#')
        || !url
            .bytes()
            .all(|b| (0x21..=0x7E).contains(&b) && b != b'"' && b != b'\\')
    {
        return Err(invalid);
    }
    let uri: http::Uri = url.parse().map_err(|_| invalid.clone())?;
    if !matches!(uri.scheme_str(), Some("https" | "http")) || uri.host().is_none() {
        return Err(invalid);
    }
    Ok(())
}

fn render(realm: Option<&str>, resource_metadata: Option<&str>, error: &AuthError) -> HeaderValue {
    let mut params: Vec<(&str, &str)> = Vec::with_capacity(6);
    let description;
    let max_age;
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
        if let Some(step_up) = error.step_up() {
            if let Some(acr_values) = step_up.acr_values() {
                params.push(("acr_values", acr_values));
            }
            max_age = step_up.max_age().map(|age| age.as_secs().to_string());
            if let Some(max_age) = &max_age {
                params.push(("max_age", max_age));
            }
        }
    }
    if let Some(url) = resource_metadata {
        if error.status() == http::StatusCode::UNAUTHORIZED {
            params.push(("resource_metadata", url));
        }
    }
    // RFC 9449 §7.1: DPoP refusals name the DPoP scheme and the accepted algorithms.
    let scheme = match error {
        AuthError::Dpop { algs, .. } => {
            params.push(("algs", algs));
            "DPoP"
        }
        _ => "Bearer",
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
#[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_with_quotes_is_escaped_and_controls_refused() {
        let challenge = Challenge::with_realm(r#"say "hi" \ bye"#).unwrap();
        assert_eq!(
            challenge.render(&AuthError::MissingToken),
            r#"Bearer realm="say \"hi\" \\ bye""#
        );
        assert_eq!(
            Challenge::with_realm("a\r\nb").unwrap_err(),
            ConfigError::InvalidRealm
        );
        assert_eq!(
            Challenge::with_realm("é").unwrap_err(),
            ConfigError::InvalidRealm
        );
    }
}
