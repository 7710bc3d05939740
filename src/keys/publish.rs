//! The issuer side: public JWKs, `/.well-known/jwks.json` and
//! `/.well-known/openid-configuration`.

use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Ready};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, JwkSet, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
    RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKeyKind, EncodingKey};
use serde::Serialize;

use super::key::ValidationKey;
use super::rotation::SigningKeys;
use crate::error::ConfigError;
use crate::validate::crypto_provider;

/// Default `Cache-Control: max-age` of the published documents.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

fn invalid_key(e: impl fmt::Display) -> ConfigError {
    ConfigError::InvalidKey(e.to_string())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn common(kid: &str, algorithm: Algorithm) -> Result<CommonParameters, ConfigError> {
    if kid.is_empty() {
        return Err(ConfigError::InvalidValue("kid"));
    }
    Ok(CommonParameters {
        public_key_use: Some(PublicKeyUse::Signature),
        key_algorithm: Some(algorithm.into()),
        key_id: Some(kid.to_owned()),
        ..CommonParameters::default()
    })
}

fn curve_of(algorithm: Algorithm) -> EllipticCurve {
    match algorithm {
        Algorithm::ES256 => EllipticCurve::P256,
        _ => EllipticCurve::P384,
    }
}

fn ec_params(algorithm: Algorithm, point: &[u8]) -> Result<AlgorithmParameters, ConfigError> {
    let half = match (algorithm, point.len()) {
        (Algorithm::ES256, 65) => 32,
        (Algorithm::ES384, 97) => 48,
        _ => return Err(ConfigError::KeyAlgorithmMismatch),
    };
    if point[0] != 4 {
        return Err(invalid_key("not an uncompressed EC point"));
    }
    let (x, y) = point[1..].split_at(half);
    Ok(AlgorithmParameters::EllipticCurve(
        EllipticCurveKeyParameters {
            key_type: EllipticCurveKeyType::EC,
            curve: curve_of(algorithm),
            x: b64(x),
            y: b64(y),
        },
    ))
}

fn ed_params(x: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
        key_type: OctetKeyPairType::OctetKeyPair,
        curve: EllipticCurve::Ed25519,
        x: b64(x),
    })
}

fn rsa_params(n: &[u8], e: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::RSA(RSAKeyParameters {
        key_type: RSAKeyType::RSA,
        n: b64(n),
        e: b64(e),
    })
}

fn jwk_of(kid: &str, key: &ValidationKey) -> Result<Jwk, ConfigError> {
    let algorithm = key.algorithm();
    let params = match (algorithm.family(), key.decoding_key().kind()) {
        (AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => rsa_params(n, e),
        (AlgorithmFamily::Rsa, DecodingKeyKind::SecretOrDer(der)) => {
            let (n, e) = (crypto_provider()
                .key_utils
                .rsa_pub_components_from_public_key)(der)
            .map_err(invalid_key)?;
            rsa_params(&n, &e)
        }
        (AlgorithmFamily::Ec, DecodingKeyKind::SecretOrDer(point)) => ec_params(algorithm, point)?,
        (AlgorithmFamily::Ed, DecodingKeyKind::SecretOrDer(x)) if x.len() == 32 => ed_params(x),
        _ => return Err(invalid_key("not a public RSA, EC or Ed25519 key")),
    };
    Ok(Jwk {
        common: common(kid, algorithm)?,
        algorithm: params,
    })
}

/// The public JWK of a public key in PEM (SPKI, or PKCS#1 for RSA), with `kid`, `alg`
/// and `use: "sig"`. Only public members are ever emitted.
///
/// # Errors
///
/// As [`ValidationKey::from_pem`] (a private key PEM is refused), and
/// [`ConfigError::InvalidValue`] for an empty `kid`.
pub fn public_jwk(kid: &str, algorithm: Algorithm, public_pem: &[u8]) -> Result<Jwk, ConfigError> {
    jwk_of(
        kid,
        &ValidationKey::from_pem(Some(kid), algorithm, public_pem)?,
    )
}

/// The public JWK of a signing key (as loaded with `EncodingKey::from_*_pem`): the
/// public half only, with `kid`, `alg` and `use: "sig"`. HMAC secrets are refused.
///
/// # Errors
///
/// [`ConfigError::KeyAlgorithmMismatch`] if the key is not of the algorithm's family or
/// is an HMAC secret, [`ConfigError::InvalidKey`] if its public half cannot be derived,
/// [`ConfigError::InvalidValue`] for an empty `kid`.
pub fn public_jwk_from_private(
    kid: &str,
    algorithm: Algorithm,
    key: &EncodingKey,
) -> Result<Jwk, ConfigError> {
    if key.family() != algorithm.family() || algorithm.family() == AlgorithmFamily::Hmac {
        return Err(ConfigError::KeyAlgorithmMismatch);
    }
    let utils = &crypto_provider().key_utils;
    let params = match algorithm.family() {
        AlgorithmFamily::Rsa => {
            let (n, e) =
                (utils.rsa_pub_components_from_private_key)(key.as_bytes()).map_err(invalid_key)?;
            rsa_params(&n, &e)
        }
        AlgorithmFamily::Ec => {
            let (curve, x, y) =
                (utils.ec_pub_components_from_private_key)(key.as_bytes(), algorithm)
                    .map_err(invalid_key)?;
            if curve != curve_of(algorithm) {
                return Err(ConfigError::KeyAlgorithmMismatch);
            }
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            ec_params(algorithm, &point)?
        }
        _ => {
            let x =
                (utils.ed_pub_components_from_private_key)(key.as_bytes(), &EllipticCurve::Ed25519)
                    .map_err(invalid_key)?;
            ed_params(&x)
        }
    };
    let jwk = Jwk {
        common: common(kid, algorithm)?,
        algorithm: params,
    };
    // Round trip: the derived public key must be usable by a validator.
    ValidationKey::from_jwk(&jwk, &super::JwkOptions::new()).map_err(invalid_key)?;
    Ok(jwk)
}

/// `true` if every member of `set` is a public RSA, EC or OKP key.
fn is_public(set: &JwkSet) -> bool {
    set.keys.iter().all(|jwk| {
        matches!(
            jwk.algorithm,
            AlgorithmParameters::RSA(_)
                | AlgorithmParameters::EllipticCurve(_)
                | AlgorithmParameters::OctetKeyPair(_)
        )
    })
}

pub(crate) fn cache_control(max_age: Duration) -> HeaderValue {
    HeaderValue::try_from(format!("public, max-age={}", max_age.as_secs()))
        .expect("digits are a valid header value")
}

/// A `GET`/`HEAD` answer with `body`, or `405` for other methods.
pub(crate) fn answer<B>(
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
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
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

/// Serves a JWK set (RFC 7517 §5) at whatever path it is mounted on, conventionally
/// `/.well-known/jwks.json`.
///
/// `GET`/`HEAD` → `200`, `Content-Type: application/jwk-set+json` (RFC 7517 §8.5),
/// `Cache-Control: public, max-age=300` (see [`with_max_age`](Self::with_max_age));
/// other methods → `405` with `Allow: GET, HEAD`. Only public keys can be served, and
/// [`Jwk`] has no place for private members, so the document never carries any.
///
/// Clones share the document: [`set_keys`](Self::set_keys) on one (rotation) changes
/// what all of them serve.
///
/// ```
/// use http::{Request, StatusCode};
/// use jsonwebtoken::{jwk::JwkSet, Algorithm};
/// use tower::ServiceExt;
/// use tower_bearer::keys::{public_jwk, JwksService};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/ed_public.pem"))?;
/// let set = JwkSet { keys: vec![public_jwk("k1", Algorithm::EdDSA, &pem)?] };
/// let jwks = JwksService::new(&set)?;
///
/// let response = jwks.clone().oneshot(Request::get("/.well-known/jwks.json").body(())?).await?;
/// assert_eq!(response.status(), StatusCode::OK);
/// assert_eq!(response.headers()["cache-control"], "public, max-age=300");
///
/// let response = jwks.oneshot(Request::post("/.well-known/jwks.json").body(())?).await?;
/// assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct JwksService {
    document: Arc<RwLock<Bytes>>,
    /// Set when the service follows an issuer's rotating keys.
    signing_keys: Option<SigningKeys>,
    cache: HeaderValue,
}

impl fmt::Debug for JwksService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksService")
            .field("cache_control", &self.cache)
            .finish_non_exhaustive()
    }
}

pub(crate) fn serialize_set(set: &JwkSet) -> Result<Bytes, ConfigError> {
    if !is_public(set) {
        return Err(ConfigError::InvalidKey(
            "only public RSA, EC and OKP keys can be published".into(),
        ));
    }
    serde_json::to_vec(set)
        .map(Bytes::from)
        .map_err(|e| ConfigError::InvalidKey(e.to_string()))
}

impl JwksService {
    /// Serves `set`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] if a member is a symmetric (`oct`) or unknown key.
    pub fn new(set: &JwkSet) -> Result<Self, ConfigError> {
        Ok(Self {
            document: Arc::new(RwLock::new(serialize_set(set)?)),
            signing_keys: None,
            cache: cache_control(DEFAULT_MAX_AGE),
        })
    }

    /// Serves the published set of `keys`, following every rotation and retirement
    /// (read on each request; no copy to keep in sync).
    #[must_use]
    pub fn from_signing_keys(keys: &SigningKeys) -> Self {
        Self {
            document: Arc::new(RwLock::new(Bytes::new())),
            signing_keys: Some(keys.clone()),
            cache: cache_control(DEFAULT_MAX_AGE),
        }
    }

    /// Sets `Cache-Control: public, max-age=N` (default 300 s). Validators refresh about
    /// this often, so keep it well below the time a new key is published before it signs.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.cache = cache_control(max_age);
        self
    }

    /// Replaces the served set, for this service and all its clones (key rotation:
    /// publish the new key before signing with it, keep the old one until its tokens
    /// expired).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), and [`ConfigError::InvalidValue`] for a service built
    /// with [`from_signing_keys`](Self::from_signing_keys) (rotate the keys instead);
    /// the served set is unchanged then.
    pub fn set_keys(&self, set: &JwkSet) -> Result<(), ConfigError> {
        if self.signing_keys.is_some() {
            return Err(ConfigError::InvalidValue("keys"));
        }
        let document = serialize_set(set)?;
        *self
            .document
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = document;
        Ok(())
    }

    /// The served document.
    #[must_use]
    pub fn document(&self) -> Bytes {
        if let Some(keys) = &self.signing_keys {
            return keys.document();
        }
        self.document
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl<B> tower_service::Service<Request<B>> for JwksService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(answer(
            &request,
            self.document(),
            "application/jwk-set+json",
            &self.cache,
        )))
    }
}

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

fn check_url(url: &str, what: &'static str) -> Result<(), ConfigError> {
    let uri: http::Uri = url.parse().map_err(|_| ConfigError::InvalidValue(what))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("https" | "http"));
    if !scheme_ok || uri.host().is_none() || url.contains('#') {
        return Err(ConfigError::InvalidValue(what));
    }
    Ok(())
}

fn strings<I, S>(values: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    values.into_iter().map(Into::into).collect()
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
}

/// Serves an [`OpenIdConfiguration`] at whatever path it is mounted on, conventionally
/// `/.well-known/openid-configuration`: `GET`/`HEAD` → `200 application/json` with
/// `Cache-Control: public, max-age=300`; other methods → `405`, `Allow: GET, HEAD`.
#[derive(Clone, Debug)]
pub struct OpenIdConfigurationService {
    document: Bytes,
    cache: HeaderValue,
}

impl OpenIdConfigurationService {
    /// Serves `configuration`.
    #[must_use]
    pub fn new(configuration: &OpenIdConfiguration) -> Self {
        let document = serde_json::to_vec(configuration).expect("strings and arrays serialize");
        Self {
            document: Bytes::from(document),
            cache: cache_control(DEFAULT_MAX_AGE),
        }
    }

    /// Sets `Cache-Control: public, max-age=N` (default 300 s).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.cache = cache_control(max_age);
        self
    }
}

impl<B> tower_service::Service<Request<B>> for OpenIdConfigurationService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(answer(
            &request,
            self.document.clone(),
            "application/json",
            &self.cache,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::DecodingKey;

    fn key(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn public_jwk_private_pem_fails() {
        let err = public_jwk("k", Algorithm::RS256, &key("rsa_private.pem")).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidKey(_)), "{err:?}");
    }

    #[test]
    fn public_jwk_matches_private_derivation_ok() {
        for (alg, public, private) in [
            (Algorithm::RS256, "rsa_public.pem", "rsa_private.pem"),
            (Algorithm::ES256, "ec_public.pem", "ec_private.pem"),
            (Algorithm::ES384, "ec384_public.pem", "ec384_private.pem"),
            (Algorithm::EdDSA, "ed_public.pem", "ed_private.pem"),
        ] {
            let from_public = public_jwk("k", alg, &key(public)).unwrap();
            let encoding = match alg.family() {
                AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(&key(private)),
                AlgorithmFamily::Ec => EncodingKey::from_ec_pem(&key(private)),
                _ => EncodingKey::from_ed_pem(&key(private)),
            }
            .unwrap();
            let from_private = public_jwk_from_private("k", alg, &encoding).unwrap();
            assert_eq!(from_public, from_private, "{alg:?}");
            let json = serde_json::to_value(&from_public).unwrap();
            assert!(json.get("d").is_none(), "{json}");
            assert_eq!(json["use"], "sig");
        }
    }

    #[test]
    fn public_jwk_wrong_curve_fails() {
        let err = public_jwk("k", Algorithm::ES256, &key("ec384_public.pem")).unwrap_err();
        assert_eq!(err, ConfigError::KeyAlgorithmMismatch);
    }

    #[test]
    fn jwks_service_oct_key_fails() {
        let jwk = Jwk::from_decoding_key(&DecodingKey::from_secret(b"secret"), None).unwrap();
        assert!(JwksService::new(&JwkSet { keys: vec![jwk] }).is_err());
    }
}
