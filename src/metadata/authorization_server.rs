//! RFC 8414 authorization-server metadata.

use bytes::Bytes;
use serde::Serialize;

use super::{check_url, strings, well_known};
use crate::error::{is_scope_token, ConfigError};

/// RFC 8414 metadata of an authorization server that has a token endpoint and no
/// authorization endpoint (this crate's [`TokenEndpoint`](crate::token_endpoint)).
///
/// Emits `issuer`, `token_endpoint`, `response_types_supported` (`[]`: no
/// authorization endpoint), `grant_types_supported` (default `["password"]`),
/// `token_endpoint_auth_methods_supported` (default `["client_secret_basic",
/// "client_secret_post"]`), and when set: `jwks_uri`, `revocation_endpoint`,
/// `introspection_endpoint` (each with its auth methods) and `scopes_supported`.
///
/// Set `jwks_uri` only when tokens are signed with public-key algorithms: with an HMAC
/// secret there is nothing a client may fetch, and the document says so by omission.
#[derive(Clone, Debug, Serialize)]
pub struct AuthorizationServerMetadata {
    issuer: String,
    token_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    introspection_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    response_types_supported: Vec<String>,
    grant_types_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
}

fn client_auth_methods() -> Vec<String> {
    strings(["client_secret_basic", "client_secret_post"])
}

impl AuthorizationServerMetadata {
    /// Metadata for `issuer` (an `https` URL, or `http` for development; no query or
    /// fragment, RFC 8414 §2) with its token endpoint.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for a URL that is not absolute `http(s)`, or an
    /// issuer with a query.
    pub fn new(issuer: &str, token_endpoint: &str) -> Result<Self, ConfigError> {
        check_url(issuer, "issuer")?;
        if issuer.contains('?') {
            return Err(ConfigError::InvalidValue("issuer"));
        }
        check_url(token_endpoint, "token_endpoint")?;
        Ok(Self {
            issuer: issuer.to_owned(),
            token_endpoint: token_endpoint.to_owned(),
            jwks_uri: None,
            revocation_endpoint: None,
            revocation_endpoint_auth_methods_supported: None,
            introspection_endpoint: None,
            introspection_endpoint_auth_methods_supported: None,
            response_types_supported: Vec::new(),
            grant_types_supported: strings(["password"]),
            token_endpoint_auth_methods_supported: client_auth_methods(),
            scopes_supported: Vec::new(),
        })
    }

    /// Sets `jwks_uri`: only for public-key signing algorithms.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for a URL that is not absolute `http(s)`.
    pub fn with_jwks_uri(mut self, jwks_uri: &str) -> Result<Self, ConfigError> {
        check_url(jwks_uri, "jwks_uri")?;
        self.jwks_uri = Some(jwks_uri.to_owned());
        Ok(self)
    }

    /// Sets `revocation_endpoint` (RFC 7009), authenticated by `client_secret_basic` or
    /// `client_secret_post` (`revocation_endpoint_auth_methods_supported`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for a URL that is not absolute `http(s)`.
    pub fn with_revocation_endpoint(mut self, url: &str) -> Result<Self, ConfigError> {
        check_url(url, "revocation_endpoint")?;
        self.revocation_endpoint = Some(url.to_owned());
        self.revocation_endpoint_auth_methods_supported = Some(client_auth_methods());
        Ok(self)
    }

    /// Sets `introspection_endpoint` (RFC 7662), authenticated by `client_secret_basic`
    /// or `client_secret_post` (`introspection_endpoint_auth_methods_supported`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for a URL that is not absolute `http(s)`.
    pub fn with_introspection_endpoint(mut self, url: &str) -> Result<Self, ConfigError> {
        check_url(url, "introspection_endpoint")?;
        self.introspection_endpoint = Some(url.to_owned());
        self.introspection_endpoint_auth_methods_supported = Some(client_auth_methods());
        Ok(self)
    }

    /// Replaces `grant_types_supported` (default `["password"]`).
    #[must_use]
    pub fn with_grant_types<I, S>(mut self, grants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.grant_types_supported = strings(grants);
        self
    }

    /// Replaces `token_endpoint_auth_methods_supported` (default
    /// `["client_secret_basic", "client_secret_post"]`).
    #[must_use]
    pub fn with_token_endpoint_auth_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.token_endpoint_auth_methods_supported = strings(methods);
        self
    }

    /// Sets `scopes_supported` (omitted by default).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScope`] for a value that is not a scope-token.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes = strings(scopes);
        if scopes.iter().any(|s| !is_scope_token(s)) {
            return Err(ConfigError::InvalidScope);
        }
        self.scopes_supported = scopes;
        Ok(self)
    }

    /// The issuer identifier.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where RFC 8414 §3.1 puts this document, as a path on the issuer's host:
    /// `/.well-known/oauth-authorization-server` plus the issuer's path, if any.
    #[must_use]
    pub fn well_known_path(&self) -> String {
        self.issuer.parse::<http::Uri>().map_or_else(
            |_| "/.well-known/oauth-authorization-server".to_owned(),
            |uri| well_known(&uri, "oauth-authorization-server").1,
        )
    }

    /// The document as JSON.
    #[must_use]
    pub fn to_json(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("strings and arrays serialize"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_issuer_has_no_jwks_uri_ok() {
        let metadata =
            AuthorizationServerMetadata::new("https://as.example", "https://as.example/token")
                .unwrap()
                .with_introspection_endpoint("https://as.example/introspect")
                .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&metadata.to_json()).unwrap();
        assert!(json.get("jwks_uri").is_none());
        assert_eq!(
            json["introspection_endpoint"],
            "https://as.example/introspect"
        );
        assert_eq!(json["response_types_supported"], serde_json::json!([]));
        assert_eq!(
            metadata.well_known_path(),
            "/.well-known/oauth-authorization-server"
        );
        let tenant = AuthorizationServerMetadata::new(
            "https://as.example/t1/",
            "https://as.example/t1/token",
        )
        .unwrap();
        assert_eq!(
            tenant.well_known_path(),
            "/.well-known/oauth-authorization-server/t1"
        );
    }

    #[test]
    fn bad_urls_fail() {
        for (issuer, token) in [
            ("as.example", "https://as.example/token"),
            ("https://as.example?x=1", "https://as.example/token"),
            ("https://as.example", "ftp://as.example/token"),
            ("https://as.example#f", "https://as.example/token"),
        ] {
            assert!(
                AuthorizationServerMetadata::new(issuer, token).is_err(),
                "{issuer}"
            );
        }
    }
}
