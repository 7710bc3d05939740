//! Discovery documents: what clients read before they talk to you.
//!
//! - [`AuthorizationServerMetadata`] (RFC 8414): the token endpoint's side —
//!   `issuer`, `token_endpoint`, `revocation_endpoint`, `introspection_endpoint`, the
//!   grants, client authentication methods and scopes, and `jwks_uri` only when the
//!   signing keys are public (never for HMAC). Served by
//!   [`WellKnownService::authorization_server`] at
//!   [`well_known_path`](AuthorizationServerMetadata::well_known_path), conventionally
//!   `/.well-known/oauth-authorization-server`.
//! - [`ProtectedResourceMetadata`] (RFC 9728): the API's side — its `resource`
//!   identifier, the `authorization_servers` it trusts, `scopes_supported`,
//!   `bearer_methods_supported`, and the DPoP members when set.
//!   [`WellKnownService::protected_resources`] serves one or several such documents at
//!   their path-aware well-known URLs (RFC 9728 §3.1), and
//!   [`BearerAuthLayer::with_resource_metadata`](crate::BearerAuthLayer::with_resource_metadata)
//!   points every `401` challenge at the document.
//! - The same [`AuthorizationServerMetadata`] with
//!   [`with_openid`](AuthorizationServerMetadata::with_openid): a minimal OpenID
//!   Provider configuration ([`WellKnownService::openid_configuration`]), and the JWK
//!   set itself ([`WellKnownService::jwks`]): what OpenID Connect clients read.
//!
//! [`WellKnownService`] answers every one of them the same way: `GET`/`HEAD` with the
//! document and `Cache-Control`, `405` for other methods.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use tower::ServiceExt;
//! use tower_bearer::metadata::{ProtectedResourceMetadata, WellKnownService};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let api = ProtectedResourceMetadata::new("https://api.example.com/v1")?
//!     .with_authorization_servers(["https://login.example.com"])?
//!     .with_scopes(["items:read"])?;
//! assert_eq!(api.metadata_url(), "https://api.example.com/.well-known/oauth-protected-resource/v1");
//!
//! let service = WellKnownService::protected_resources([api]);
//! let request = Request::get("/.well-known/oauth-protected-resource/v1").body(Full::<Bytes>::default())?;
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! let document: serde_json::Value = serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
//! assert_eq!(document["resource"], "https://api.example.com/v1");
//! assert_eq!(document["bearer_methods_supported"], serde_json::json!(["header"]));
//! # Ok(())
//! # }
//! ```

mod authorization_server;
mod protected_resource;
mod service;

pub use authorization_server::AuthorizationServerMetadata;
pub use protected_resource::ProtectedResourceMetadata;
pub use service::{WellKnownService, DEFAULT_MAX_AGE};

use crate::error::ConfigError;

/// An absolute `http(s)` URL without a fragment (RFC 8414 §2, RFC 9728 §2).
pub(crate) fn check_url(url: &str, what: &'static str) -> Result<http::Uri, ConfigError> {
    let uri: http::Uri = url.parse().map_err(|_| ConfigError::InvalidUrl(what))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("https" | "http"));
    if !scheme_ok || uri.host().is_none() || url.contains('#') {
        return Err(ConfigError::InvalidUrl(what));
    }
    Ok(uri)
}

/// `https://host/a/b` → `https://host/.well-known/{suffix}/a/b` (RFC 8414 §3.1, RFC 9728
/// §3.1: the well-known segment goes between the host and the path, a trailing `/` of
/// the path dropped). Returns the URL and its path.
pub(crate) fn well_known(uri: &http::Uri, suffix: &str) -> (String, String) {
    let path = uri.path().trim_end_matches('/');
    let path = format!("/.well-known/{suffix}{path}");
    let scheme = uri.scheme_str().unwrap_or("https");
    let authority = uri.authority().map_or("", http::uri::Authority::as_str);
    (format!("{scheme}://{authority}{path}"), path)
}

/// The values as owned strings.
pub(crate) fn strings<I, S>(values: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    values.into_iter().map(Into::into).collect()
}
