//! [`WellKnownService`]: one JSON document (or one per path) served as an HTTP answer,
//! with the same headers, caching and method handling for every document this crate
//! publishes.

use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Ready};
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use jsonwebtoken::jwk::JwkSet;

use super::{AuthorizationServerMetadata, ProtectedResourceMetadata};
use crate::error::ConfigError;
use crate::keys::{serialize_set, SigningKeys};

/// Default `Cache-Control: max-age` of the published documents.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

const JSON: &str = "application/json";
/// RFC 7517 §8.5.
const JWK_SET: &str = "application/jwk-set+json";

/// Serves a JSON document at whatever path it is mounted on, conventionally a
/// `/.well-known/` one: a JWK set ([`jwks`](Self::jwks),
/// [`jwks_from_signing_keys`](Self::jwks_from_signing_keys)), an OpenID configuration
/// ([`openid_configuration`](Self::openid_configuration)), RFC 8414 metadata
/// ([`authorization_server`](Self::authorization_server)), or RFC 9728 documents, each
/// at its own path ([`protected_resources`](Self::protected_resources)).
///
/// `GET`/`HEAD` → `200` with the document's content type and `Cache-Control: public,
/// max-age=300` (see [`with_max_age`](Self::with_max_age)); other methods → `405` with
/// `Allow: GET, HEAD`; for [`protected_resources`](Self::protected_resources), a path
/// with no document → `404`.
///
/// Clones share the document: [`set_keys`](Self::set_keys) on one (rotation) changes
/// what all of them serve.
///
/// ```
/// use http::{Request, StatusCode};
/// use jsonwebtoken::{jwk::JwkSet, Algorithm};
/// use tower::ServiceExt;
/// use tower_bearer::keys::public_jwk;
/// use tower_bearer::metadata::WellKnownService;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/ed_public.pem"))?;
/// let set = JwkSet { keys: vec![public_jwk("k1", Algorithm::EdDSA, &pem)?] };
/// let jwks = WellKnownService::jwks(&set)?;
///
/// let response = jwks.clone().oneshot(Request::get("/.well-known/jwks.json").body(())?).await?;
/// assert_eq!(response.status(), StatusCode::OK);
/// assert_eq!(response.headers()["content-type"], "application/jwk-set+json");
/// assert_eq!(response.headers()["cache-control"], "public, max-age=300");
///
/// let response = jwks.oneshot(Request::post("/.well-known/jwks.json").body(())?).await?;
/// assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct WellKnownService {
    documents: Documents,
    content_type: &'static str,
    cache: HeaderValue,
}

/// Where the served bytes come from.
#[derive(Clone)]
enum Documents {
    /// One fixed document.
    Fixed(Bytes),
    /// One document that [`WellKnownService::set_keys`] may replace.
    Replaceable(Arc<RwLock<Bytes>>),
    /// The published set of rotating signing keys, read on each request.
    SigningKeys(SigningKeys),
    /// One document per path; other paths are `404`.
    ByPath(Arc<[(String, Bytes)]>),
}

impl fmt::Debug for WellKnownService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WellKnownService")
            .field("content_type", &self.content_type)
            .field("cache_control", &self.cache)
            .finish_non_exhaustive()
    }
}

impl WellKnownService {
    fn serving(documents: Documents, content_type: &'static str) -> Self {
        Self {
            documents,
            content_type,
            cache: cache_control(DEFAULT_MAX_AGE),
        }
    }

    /// Serves a JWK set (RFC 7517 §5) as `application/jwk-set+json`, conventionally at
    /// `/.well-known/jwks.json`. Only public keys can be served, and
    /// [`Jwk`](jsonwebtoken::jwk::Jwk) has no place for private members, so the
    /// document never carries any.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] if a member is a symmetric (`oct`) or unknown key.
    pub fn jwks(set: &JwkSet) -> Result<Self, ConfigError> {
        let document = Arc::new(RwLock::new(serialize_set(set)?));
        Ok(Self::serving(Documents::Replaceable(document), JWK_SET))
    }

    /// Serves the published set of `keys` as [`jwks`](Self::jwks) does, following every
    /// rotation and retirement (read on each request; no copy to keep in sync).
    #[must_use]
    pub fn jwks_from_signing_keys(keys: &SigningKeys) -> Self {
        Self::serving(Documents::SigningKeys(keys.clone()), JWK_SET)
    }

    /// Serves `configuration` (metadata made an OpenID Provider configuration with
    /// [`with_openid`](AuthorizationServerMetadata::with_openid)), conventionally at
    /// `/.well-known/openid-configuration`.
    #[must_use]
    pub fn openid_configuration(configuration: &AuthorizationServerMetadata) -> Self {
        Self::from_json(configuration.to_json())
    }

    /// Serves RFC 8414 `metadata`, at its
    /// [`well_known_path`](AuthorizationServerMetadata::well_known_path).
    #[must_use]
    pub fn authorization_server(metadata: &AuthorizationServerMetadata) -> Self {
        Self::from_json(metadata.to_json())
    }

    /// Serves RFC 9728 `documents`, each at its own well-known path (RFC 9728 §3.1:
    /// `/.well-known/oauth-protected-resource` for a resource at the root of its host,
    /// `/.well-known/oauth-protected-resource/v1` for `https://host/v1`); a later one
    /// with the same path replaces an earlier one. Route
    /// `/.well-known/oauth-protected-resource` and everything below it here: an
    /// unknown path is answered `404`.
    #[must_use]
    pub fn protected_resources(
        documents: impl IntoIterator<Item = ProtectedResourceMetadata>,
    ) -> Self {
        let mut served: Vec<(String, Bytes)> = Vec::new();
        for document in documents {
            let path = document.metadata_path().to_owned();
            served.retain(|(known, _)| *known != path);
            served.push((path, document.to_json()));
        }
        Self::serving(Documents::ByPath(served.into()), JSON)
    }

    /// Serves a JSON document built elsewhere, as `application/json`.
    #[must_use]
    pub fn from_json(document: Bytes) -> Self {
        Self::serving(Documents::Fixed(document), JSON)
    }

    /// Sets `Cache-Control: public, max-age=N` (default 300 s). A JWK set's validators
    /// refresh about this often, so keep it well below the time a new key is published
    /// before it signs.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.cache = cache_control(max_age);
        self
    }

    /// Replaces the served JWK set, for this service and all its clones (key rotation:
    /// publish the new key before signing with it, keep the old one until its tokens
    /// expired).
    ///
    /// # Errors
    ///
    /// As [`jwks`](Self::jwks), and [`ConfigError::Conflict`] for a service not
    /// built with [`jwks`](Self::jwks) (for
    /// [`jwks_from_signing_keys`](Self::jwks_from_signing_keys), rotate the keys
    /// instead); the served document is unchanged then.
    pub fn set_keys(&self, set: &JwkSet) -> Result<(), ConfigError> {
        let Documents::Replaceable(document) = &self.documents else {
            return Err(ConfigError::Conflict("keys"));
        };
        let serialized = serialize_set(set)?;
        *document.write().unwrap_or_else(PoisonError::into_inner) = serialized;
        Ok(())
    }

    /// `true` if `path` is one this service answers: every path, but for
    /// [`protected_resources`](Self::protected_resources) only their paths.
    #[must_use]
    pub fn handles(&self, path: &str) -> bool {
        match &self.documents {
            Documents::ByPath(documents) => documents.iter().any(|(known, _)| known == path),
            _ => true,
        }
    }

    /// The document for `path`, if any.
    fn document(&self, path: &str) -> Option<Bytes> {
        match &self.documents {
            Documents::Fixed(document) => Some(document.clone()),
            Documents::Replaceable(document) => Some(
                document
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone(),
            ),
            Documents::SigningKeys(keys) => Some(keys.document()),
            Documents::ByPath(documents) => documents
                .iter()
                .find(|(known, _)| known == path)
                .map(|(_, document)| document.clone()),
        }
    }
}

impl<B> tower_service::Service<Request<B>> for WellKnownService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(match self.document(request.uri().path()) {
            Some(document) => answer(&request, document, self.content_type, &self.cache),
            None => not_found(),
        }))
    }
}

fn cache_control(max_age: Duration) -> HeaderValue {
    HeaderValue::try_from(format!("public, max-age={}", max_age.as_secs()))
        .expect("digits are a valid header value")
}

/// A `GET`/`HEAD` answer with `body`, or `405` for other methods.
fn answer<B>(
    request: &Request<B>,
    body: Bytes,
    content_type: &'static str,
    cache: &HeaderValue,
) -> Response<Full<Bytes>> {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        let mut response = Response::new(Full::new(crate::json_error::error_body(
            "method_not_allowed",
            "Only GET and HEAD are allowed",
            None,
        )));
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        let headers = response.headers_mut();
        headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        return response;
    }
    let length = body.len();
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        body
    };
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, cache.clone());
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

fn not_found() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(
        br#"{"error":"not_found","error_description":"No metadata for this resource"}"#,
    )));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::DecodingKey;

    #[test]
    fn jwks_service_oct_key_fails() {
        let jwk = Jwk::from_decoding_key(&DecodingKey::from_secret(b"secret"), None).unwrap();
        assert!(WellKnownService::jwks(&JwkSet { keys: vec![jwk] }).is_err());
    }
}
