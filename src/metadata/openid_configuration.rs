//! A minimal OpenID Provider configuration (OpenID Connect Discovery 1.0 §3), served
//! at `/.well-known/openid-configuration`.

use bytes::Bytes;
use jsonwebtoken::Algorithm;
use serde::Serialize;

use super::{check_url, strings};
use crate::error::ConfigError;

/// A minimal OpenID Provider / OAuth 2.0 authorization server metadata document
/// (OpenID Connect Discovery 1.0 §3, RFC 8414 §2) for an issuer with a token endpoint
/// and no authorization endpoint.
///
/// Emits `issuer`, `token_endpoint`, `jwks_uri`, `grant_types_supported` (default
/// `["password"]`), `response_types_supported` (default `[]`: no authorization
/// endpoint), `subject_types_supported` (`["public"]`),
/// `id_token_signing_alg_values_supported` (the algorithms of the published keys),
/// `token_endpoint_auth_methods_supported` (default
/// `["client_secret_basic", "client_secret_post"]`), and `scopes_supported` when set.
#[derive(Clone, Debug, Serialize)]
pub struct OpenIdConfiguration {
    issuer: String,
    token_endpoint: String,
    jwks_uri: String,
    grant_types_supported: Vec<String>,
    response_types_supported: Vec<String>,
    subject_types_supported: Vec<String>,
    id_token_signing_alg_values_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
}

impl OpenIdConfiguration {
    /// Metadata for `issuer` (an `https` URL, or `http` for development; no query or
    /// fragment, RFC 8414 §2) with its token endpoint and JWK set URLs, signing with
    /// `algorithms`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for a URL that is not absolute `http(s)`, or an
    /// issuer with a query.
    pub fn new(
        issuer: &str,
        token_endpoint: &str,
        jwks_uri: &str,
        algorithms: &[Algorithm],
    ) -> Result<Self, ConfigError> {
        check_url(issuer, "issuer")?;
        if issuer.contains('?') {
            return Err(ConfigError::InvalidValue("issuer"));
        }
        check_url(token_endpoint, "token_endpoint")?;
        check_url(jwks_uri, "jwks_uri")?;
        if algorithms.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            token_endpoint: token_endpoint.to_owned(),
            jwks_uri: jwks_uri.to_owned(),
            grant_types_supported: strings(["password"]),
            response_types_supported: Vec::new(),
            subject_types_supported: strings(["public"]),
            id_token_signing_alg_values_supported: algorithms
                .iter()
                .map(|a| format!("{a:?}"))
                .collect(),
            token_endpoint_auth_methods_supported: strings([
                "client_secret_basic",
                "client_secret_post",
            ]),
            scopes_supported: Vec::new(),
        })
    }

    /// [`new`](Self::new) with `{issuer}/token` and `{issuer}/.well-known/jwks.json`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn for_issuer(issuer: &str, algorithms: &[Algorithm]) -> Result<Self, ConfigError> {
        let base = issuer.trim_end_matches('/');
        Self::new(
            issuer,
            &format!("{base}/token"),
            &format!("{base}/.well-known/jwks.json"),
            algorithms,
        )
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
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = strings(scopes);
        self
    }

    /// The issuer identifier.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The JWK set URL.
    #[must_use]
    pub fn jwks_uri(&self) -> &str {
        &self.jwks_uri
    }

    /// The document as JSON.
    #[must_use]
    pub fn to_json(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("strings and arrays serialize"))
    }
}
