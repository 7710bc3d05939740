//! RFC 9728 protected-resource metadata and its path-aware well-known URL.

use bytes::Bytes;
use serde::Serialize;

use super::{check_url, well_known};
use crate::error::{is_scope_token, ConfigError};

/// RFC 9728 metadata of a protected resource (an API behind
/// [`BearerAuthLayer`](crate::BearerAuthLayer)).
///
/// Emits `resource`, `bearer_methods_supported` (default `["header"]`: the
/// `Authorization` header only), and when set: `authorization_servers`,
/// `scopes_supported`, `resource_name`, `dpop_signing_alg_values_supported` and
/// `dpop_bound_access_tokens_required`.
#[derive(Clone, Debug, Serialize)]
pub struct ProtectedResourceMetadata {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_bound_access_tokens_required: Option<bool>,
    #[serde(skip)]
    metadata_url: String,
    #[serde(skip)]
    metadata_path: String,
}

impl ProtectedResourceMetadata {
    /// Metadata for the resource identified by `resource`: an absolute `https` URL
    /// (`http` for development) without query or fragment (RFC 9728 §2).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] otherwise.
    pub fn new(resource: &str) -> Result<Self, ConfigError> {
        let uri = check_url(resource, "resource")?;
        if uri.query().is_some() || resource.contains('"') || resource.contains('\\') {
            return Err(ConfigError::InvalidUrl("resource"));
        }
        let (metadata_url, metadata_path) = well_known(&uri, "oauth-protected-resource");
        Ok(Self {
            resource: resource.to_owned(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: None,
            dpop_signing_alg_values_supported: None,
            dpop_bound_access_tokens_required: None,
            metadata_url,
            metadata_path,
        })
    }

    /// Sets `authorization_servers`: the issuer identifiers whose tokens the resource
    /// accepts.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] for an issuer that is not an absolute `http(s)`
    /// URL.
    pub fn with_authorization_servers<I, S>(mut self, issuers: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let issuers: Vec<String> = issuers.into_iter().map(Into::into).collect();
        for issuer in &issuers {
            check_url(issuer, "authorization_servers")?;
        }
        self.authorization_servers = issuers;
        Ok(self)
    }

    /// Sets `scopes_supported`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScope`] for a value that is not a scope-token.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        if scopes.iter().any(|s| !is_scope_token(s)) {
            return Err(ConfigError::InvalidScope);
        }
        self.scopes_supported = scopes;
        Ok(self)
    }

    /// Replaces `bearer_methods_supported` (default `["header"]`; RFC 9728 also names
    /// `body` and `query`, for APIs that enabled those token sources).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for another method.
    pub fn with_bearer_methods<I, S>(mut self, methods: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let methods: Vec<String> = methods.into_iter().map(Into::into).collect();
        if methods
            .iter()
            .any(|m| !matches!(m.as_str(), "header" | "body" | "query"))
        {
            return Err(ConfigError::InvalidString("bearer_methods_supported"));
        }
        self.bearer_methods_supported = methods;
        Ok(self)
    }

    /// Sets `resource_name`, a human-readable name.
    #[must_use]
    pub fn with_name(mut self, name: &str) -> Self {
        self.resource_name = Some(name.to_owned());
        self
    }

    /// Announces DPoP (RFC 9449 §5.1 members of RFC 9728): the proof algorithms the
    /// resource accepts and whether it accepts only DPoP-bound tokens.
    #[must_use]
    pub fn with_dpop<I, S>(mut self, algorithms: I, bound_tokens_required: bool) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dpop_signing_alg_values_supported =
            Some(algorithms.into_iter().map(Into::into).collect());
        self.dpop_bound_access_tokens_required = Some(bound_tokens_required);
        self
    }

    /// The resource identifier.
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The URL of this document (RFC 9728 §3.1): the resource's host, then
    /// `/.well-known/oauth-protected-resource`, then the resource's path. Give it to
    /// [`BearerAuthLayer::with_resource_metadata`](crate::BearerAuthLayer::with_resource_metadata).
    #[must_use]
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The path part of [`metadata_url`](Self::metadata_url), which
    /// [`WellKnownService::protected_resources`](super::WellKnownService::protected_resources) answers.
    #[must_use]
    pub fn metadata_path(&self) -> &str {
        &self.metadata_path
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
    fn metadata_url_is_path_aware_ok() {
        for (resource, url) in [
            (
                "https://api.example",
                "https://api.example/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example/",
                "https://api.example/.well-known/oauth-protected-resource",
            ),
            (
                "http://127.0.0.1:8000",
                "http://127.0.0.1:8000/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example/v1/",
                "https://api.example/.well-known/oauth-protected-resource/v1",
            ),
            (
                "https://api.example/a/b",
                "https://api.example/.well-known/oauth-protected-resource/a/b",
            ),
        ] {
            assert_eq!(
                ProtectedResourceMetadata::new(resource)
                    .unwrap()
                    .metadata_url(),
                url
            );
        }
        for bad in [
            "api.example",
            "https://api.example/?q=1",
            "https://api.example/#x",
            "ftp://api.example",
        ] {
            assert!(ProtectedResourceMetadata::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dpop_members_only_when_set_ok() {
        let plain = ProtectedResourceMetadata::new("https://api.example").unwrap();
        let json: serde_json::Value = serde_json::from_slice(&plain.to_json()).unwrap();
        assert!(json.get("dpop_signing_alg_values_supported").is_none());
        assert!(json.get("dpop_bound_access_tokens_required").is_none());
        assert!(json.get("metadata_url").is_none());
        let dpop = plain.with_dpop(["ES256"], true);
        let json: serde_json::Value = serde_json::from_slice(&dpop.to_json()).unwrap();
        assert_eq!(
            json["dpop_signing_alg_values_supported"],
            serde_json::json!(["ES256"])
        );
        assert_eq!(json["dpop_bound_access_tokens_required"], true);
    }
}
