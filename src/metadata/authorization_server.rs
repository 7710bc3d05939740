//! RFC 8414 authorization-server metadata, and the OpenID Provider configuration
//! (OpenID Connect Discovery 1.0 §3) that extends it.

use bytes::Bytes;
use jsonwebtoken::Algorithm;
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
///
/// The same document, with [`with_openid`](Self::with_openid), is a minimal OpenID
/// Provider configuration (OpenID Connect Discovery 1.0 §3, which builds on RFC 8414):
/// served at `/.well-known/openid-configuration`
/// ([`WellKnownService::openid_configuration`](super::WellKnownService::openid_configuration)).
///
/// ```
/// use tower_bearer::jsonwebtoken::Algorithm;
/// use tower_bearer::metadata::AuthorizationServerMetadata;
///
/// let oauth = AuthorizationServerMetadata::new("https://auth.example.com", "https://auth.example.com/token")?
///     .with_revocation_endpoint("https://auth.example.com/revoke")?;
/// assert_eq!(oauth.well_known_path(), "/.well-known/oauth-authorization-server");
///
/// let openid = AuthorizationServerMetadata::openid_for_issuer("https://auth.example.com", &[Algorithm::RS256])?;
/// let json: serde_json::Value = serde_json::from_slice(&openid.to_json()).unwrap();
/// assert_eq!(json["jwks_uri"], "https://auth.example.com/.well-known/jwks.json");
/// assert_eq!(json["id_token_signing_alg_values_supported"][0], "RS256");
/// # Ok::<_, tower_bearer::ConfigError>(())
/// ```
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
    /// OpenID Connect Discovery 1.0 §3 (with [`with_openid`](Self::with_openid)).
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_types_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token_signing_alg_values_supported: Option<Vec<String>>,
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
    /// [`ConfigError::InvalidUrl`] for a URL that is not absolute `http(s)`, or an
    /// issuer with a query.
    pub fn new(issuer: &str, token_endpoint: &str) -> Result<Self, ConfigError> {
        check_url(issuer, "issuer")?;
        if issuer.contains('?') {
            return Err(ConfigError::InvalidUrl("issuer"));
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
            subject_types_supported: None,
            id_token_signing_alg_values_supported: None,
            grant_types_supported: strings(["password"]),
            token_endpoint_auth_methods_supported: client_auth_methods(),
            scopes_supported: Vec::new(),
        })
    }

    /// Sets `jwks_uri`: only for public-key signing algorithms.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] for a URL that is not absolute `http(s)`.
    pub fn with_jwks_uri(mut self, jwks_uri: &str) -> Result<Self, ConfigError> {
        check_url(jwks_uri, "jwks_uri")?;
        self.jwks_uri = Some(jwks_uri.to_owned());
        Ok(self)
    }

    /// Makes this an OpenID Provider configuration (OpenID Connect Discovery 1.0 §3):
    /// adds `subject_types_supported` (`["public"]`) and
    /// `id_token_signing_alg_values_supported` (`algorithms`, those of the published
    /// keys). Needs [`with_jwks_uri`](Self::with_jwks_uri) first: §3 requires `jwks_uri`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`] without a `jwks_uri`, [`ConfigError::NoKeys`] for
    /// no algorithm.
    pub fn with_openid(mut self, algorithms: &[Algorithm]) -> Result<Self, ConfigError> {
        if self.jwks_uri.is_none() {
            return Err(ConfigError::Missing(
                "jwks_uri: an OpenID configuration needs one",
            ));
        }
        let names: Vec<String> = algorithms
            .iter()
            .filter_map(|a| crate::keys::algorithm::name(*a))
            .map(str::to_owned)
            .collect();
        if names.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        self.subject_types_supported = Some(strings(["public"]));
        self.id_token_signing_alg_values_supported = Some(names);
        Ok(self)
    }

    /// An OpenID Provider configuration for `issuer` with the token endpoint at
    /// `{issuer}/token` and the JWK set at `{issuer}/.well-known/jwks.json`, signing
    /// with `algorithms`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new) and [`with_openid`](Self::with_openid).
    pub fn openid_for_issuer(issuer: &str, algorithms: &[Algorithm]) -> Result<Self, ConfigError> {
        let base = issuer.trim_end_matches('/');
        Self::new(issuer, &format!("{base}/token"))?
            .with_jwks_uri(&format!("{base}/.well-known/jwks.json"))?
            .with_openid(algorithms)
    }

    /// Sets `revocation_endpoint` (RFC 7009), authenticated by `client_secret_basic` or
    /// `client_secret_post` (`revocation_endpoint_auth_methods_supported`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] for a URL that is not absolute `http(s)`.
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
    /// [`ConfigError::InvalidUrl`] for a URL that is not absolute `http(s)`.
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
    fn openid_configuration_needs_a_jwks_uri_and_an_algorithm_fails() {
        let plain =
            AuthorizationServerMetadata::new("https://as.example", "https://as.example/token")
                .unwrap();
        assert_eq!(
            plain.clone().with_openid(&[Algorithm::RS256]).unwrap_err(),
            ConfigError::Missing("jwks_uri: an OpenID configuration needs one")
        );
        let with_keys = plain.with_jwks_uri("https://as.example/jwks").unwrap();
        assert_eq!(with_keys.with_openid(&[]).unwrap_err(), ConfigError::NoKeys);
    }

    #[test]
    fn openid_configuration_adds_its_members_ok() {
        let openid = AuthorizationServerMetadata::openid_for_issuer(
            "https://as.example/",
            &[Algorithm::RS256, Algorithm::EdDSA],
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&openid.to_json()).unwrap();
        assert_eq!(json["token_endpoint"], "https://as.example/token");
        assert_eq!(json["jwks_uri"], "https://as.example/.well-known/jwks.json");
        assert_eq!(
            json["subject_types_supported"],
            serde_json::json!(["public"])
        );
        assert_eq!(
            json["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256", "EdDSA"])
        );
        // Plain RFC 8414 metadata has neither.
        let plain =
            AuthorizationServerMetadata::new("https://as.example", "https://as.example/token")
                .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&plain.to_json()).unwrap();
        assert!(json.get("subject_types_supported").is_none());
        assert!(json.get("id_token_signing_alg_values_supported").is_none());
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
