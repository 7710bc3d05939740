//! Discovery: an issuer's `jwks_uri` from its OpenID configuration or its RFC 8414
//! metadata.

use std::time::Duration;

use http::Uri;
use serde::Deserialize;

use super::fetcher::{fetch_bounded, ErasedFetcher};
use super::JwksError;

/// The two metadata locations of `issuer`: OpenID Connect Discovery's, then RFC 8414's
/// (`/.well-known/oauth-authorization-server` between the authority and the path).
fn metadata_urls(issuer: &str) -> Option<[Uri; 2]> {
    let parsed: Uri = issuer.parse().ok()?;
    let scheme = parsed.scheme_str()?;
    let authority = parsed.authority()?;
    if parsed.query().is_some() || issuer.contains('#') {
        return None;
    }
    let path = parsed.path().trim_end_matches('/');
    let oidc = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let rfc8414 = format!("{scheme}://{authority}/.well-known/oauth-authorization-server{path}");
    Some([oidc.parse().ok()?, rfc8414.parse().ok()?])
}

/// Finds `issuer`'s `jwks_uri` by discovery (see [`JwksValidatorBuilder::discover`]).
pub(super) async fn discover_jwks_uri<F: ErasedFetcher + ?Sized>(
    fetcher: &F,
    issuer: &str,
    max_len: usize,
    timeout: Duration,
) -> Result<Uri, JwksError> {
    #[derive(Deserialize)]
    struct Metadata {
        issuer: String,
        jwks_uri: String,
    }
    let discovery = |why: &str| JwksError::Discovery(why.to_owned());
    let [oidc, rfc8414] =
        metadata_urls(issuer).ok_or_else(|| discovery("the issuer is not a URL"))?;
    if !matches!(oidc.scheme_str(), Some("http" | "https")) {
        return Err(discovery("the issuer is not an http(s) URL"));
    }
    let document = match fetch_bounded(fetcher, &oidc, max_len, timeout).await {
        // No OpenID configuration: an OAuth 2.0 server's metadata (RFC 8414).
        Err(JwksError::Status(_)) => fetch_bounded(fetcher, &rfc8414, max_len, timeout).await?,
        other => other?,
    };
    let metadata: Metadata = serde_json::from_slice(&document.body)
        .map_err(|_| discovery("the configuration is not JSON with issuer and jwks_uri"))?;
    if metadata.issuer != issuer {
        return Err(discovery("the configuration names another issuer"));
    }
    let jwks_url: Uri = metadata
        .jwks_uri
        .parse()
        .map_err(|_| discovery("jwks_uri is not a URL"))?;
    let scheme_ok = matches!(
        (oidc.scheme_str(), jwks_url.scheme_str()),
        (Some("https"), Some("https")) | (Some("http"), Some("http" | "https"))
    );
    if !scheme_ok || jwks_url.host().is_none() {
        return Err(discovery("jwks_uri is not an acceptable http(s) URL"));
    }
    Ok(jwks_url)
}
