//! [`DocsService`]: serves the OpenAPI document and a vendored Swagger UI.

use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower_service::Service;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::{oauth, Config};

use super::OpenApiSecurity;
use crate::error::ConfigError;

const INITIALIZER: &str = "swagger-initializer.js";
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const ASSET_CACHE: HeaderValue = HeaderValue::from_static("public, max-age=3600");

/// The Content-Security-Policy of every answer: Swagger UI's own scripts and styles
/// only (its React components set `style` attributes, hence `'unsafe-inline'` for
/// styles, never for scripts), its inline SVG icons as `data:` images, requests to
/// this origin only, and no framing.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
font-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; \
object-src 'none'; frame-ancestors 'none'";

/// A Tower service answering `GET /openapi.json` with the document and `GET /docs/`
/// with Swagger UI, its OAuth2 password flow wired to the document's token endpoint.
///
/// The Swagger UI files are compiled into the binary (from `utoipa-swagger-ui`'s
/// vendored archive): nothing is fetched at build or run time, and the UI's online
/// validator badge is off. `/docs` redirects to `/docs/` so the page's relative asset
/// URLs resolve. Other paths answer `404`, other methods `405`: route only
/// [`handles`](Self::handles) paths here.
///
/// Every answer carries [`DOCS_CSP`] as `Content-Security-Policy`,
/// `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and
/// `X-Content-Type-Options: nosniff`. The UI keeps the bearer token in the page (and
/// in `localStorage`, see below), so no other origin may frame it or run script in it.
/// The page itself (`/docs`, `/docs/`, `/docs/index.html`), its configuration script,
/// the OAuth2 redirect page, the document and errors are `Cache-Control: no-store`;
/// only the versioned static assets (scripts, styles, icons) may be cached for an hour.
///
/// Swagger UI is configured with an empty `clientId`, so its password flow sends
/// `Authorization: Basic Og==` (empty client id and secret) with the form, which the
/// token endpoint reads as "no client"; and `persistAuthorization`, so a reload keeps
/// the token.
#[derive(Clone)]
pub struct DocsService {
    openapi_path: Arc<str>,
    docs_path: Arc<str>,
    openapi_json: Bytes,
    initializer: Bytes,
    config: Arc<Config<'static>>,
}

impl fmt::Debug for DocsService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocsService")
            .field("openapi_path", &self.openapi_path)
            .field("docs_path", &self.docs_path)
            .field("openapi_json_len", &self.openapi_json.len())
            .finish_non_exhaustive()
    }
}

impl DocsService {
    /// Serves `openapi` (with `security`'s scheme registered) at `/openapi.json` and
    /// Swagger UI at `/docs/`.
    ///
    /// # Panics
    ///
    /// Never in practice: only if the document could not be serialized to JSON.
    pub fn new(mut openapi: OpenApi, security: &OpenApiSecurity) -> Self {
        security.register(&mut openapi);
        let openapi_json = serde_json::to_vec(&openapi).expect("an OpenAPI document serializes");
        let mut service = Self {
            openapi_path: "/openapi.json".into(),
            docs_path: "/docs".into(),
            openapi_json: Bytes::from(openapi_json),
            initializer: Bytes::new(),
            config: Arc::new(Config::default()),
        };
        service.configure();
        service
    }

    /// Serves the document at `path` instead of `/openapi.json`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPath`] unless `path` starts with `/`, does not end with
    /// `/`, and has no whitespace, control characters, `?` or `#`.
    pub fn with_openapi_path(mut self, path: &str) -> Result<Self, ConfigError> {
        if !is_route_path(path) {
            return Err(ConfigError::InvalidPath("openapi_path"));
        }
        self.openapi_path = path.into();
        self.configure();
        Ok(self)
    }

    /// Serves Swagger UI under `path` (and `path/`) instead of `/docs`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPath`] unless `path` starts with `/`, does not end with
    /// `/`, and has no whitespace, control characters, `?` or `#`.
    pub fn with_docs_path(mut self, path: &str) -> Result<Self, ConfigError> {
        if !is_route_path(path) {
            return Err(ConfigError::InvalidPath("docs_path"));
        }
        self.docs_path = path.into();
        self.configure();
        Ok(self)
    }

    /// The document's path (`/openapi.json` by default).
    #[must_use]
    pub fn openapi_path(&self) -> &str {
        &self.openapi_path
    }

    /// Swagger UI's path (`/docs` by default).
    #[must_use]
    pub fn docs_path(&self) -> &str {
        &self.docs_path
    }

    /// The served document, as JSON.
    #[must_use]
    pub fn openapi_json(&self) -> &Bytes {
        &self.openapi_json
    }

    /// `true` if this service answers `path`: the document, the docs path, or anything
    /// under it. Route those here and everything else to your application.
    #[must_use]
    pub fn handles(&self, path: &str) -> bool {
        path == &*self.openapi_path || self.docs_tail(path).is_some()
    }

    /// The part of `path` under the docs path: `Some("")` for the docs path itself
    /// (redirected), `Some("/...")` below it.
    fn docs_tail<'p>(&self, path: &'p str) -> Option<&'p str> {
        let tail = path.strip_prefix(&*self.docs_path)?;
        (tail.is_empty() || tail.starts_with('/')).then_some(tail)
    }

    /// Renders Swagger UI's configuration into its initializer script.
    fn configure(&mut self) {
        let oauth = oauth::Config::new().client_id("");
        let config = Config::with_oauth_config([self.openapi_path.to_string()], oauth)
            .oauth2_redirect_url(format!("{}/oauth2-redirect.html", self.docs_path))
            .persist_authorization(true)
            .validator_url("none");
        let config = Arc::new(config);
        let initializer = match utoipa_swagger_ui::serve(INITIALIZER, Arc::clone(&config)) {
            Ok(Some(file)) => Bytes::from(file.bytes.into_owned()),
            // The vendored archive always has the initializer, and rendering a
            // configuration of strings and booleans does not fail.
            Ok(None) | Err(_) => Bytes::new(),
        };
        self.config = config;
        self.initializer = initializer;
    }

    fn answer(&self, method: &Method, path: &str) -> Response<Full<Bytes>> {
        if !self.handles(path) {
            return error(StatusCode::NOT_FOUND, "not_found", "No such document");
        }
        if method != Method::GET && method != Method::HEAD {
            let mut response = error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Use GET or HEAD",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        if path == &*self.openapi_path {
            return file(self.openapi_json.clone(), "application/json", NO_STORE);
        }
        match self.docs_tail(path) {
            Some("") => {
                // Relative, so that it also works behind a path prefix.
                let last = self.docs_path.rsplit('/').next().unwrap_or_default();
                let location = format!("{last}/");
                let mut response = file(Bytes::new(), "text/plain; charset=utf-8", NO_STORE);
                *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
                if let Ok(value) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(header::LOCATION, value);
                }
                response
            }
            Some(tail) => self.asset(tail.trim_start_matches('/')),
            None => error(StatusCode::NOT_FOUND, "not_found", "No such document"),
        }
    }

    fn asset(&self, name: &str) -> Response<Full<Bytes>> {
        if name == INITIALIZER {
            return file(
                self.initializer.clone(),
                "application/javascript; charset=utf-8",
                NO_STORE,
            );
        }
        let found = utoipa_swagger_ui::serve(name, Arc::clone(&self.config))
            .ok()
            .flatten();
        let Some(found) = found else {
            return error(StatusCode::NOT_FOUND, "not_found", "No such file");
        };
        let body = match found.bytes {
            std::borrow::Cow::Borrowed(bytes) => Bytes::from_static(bytes),
            std::borrow::Cow::Owned(bytes) => Bytes::from(bytes),
        };
        let content_type = HeaderValue::from_str(&found.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        // The page (served for `""` and `index.html`) and the redirect page are never
        // stored; the bundles, styles and icons are static for a given build.
        let static_asset = [".js", ".css", ".png"]
            .iter()
            .any(|ext| name.ends_with(ext));
        let cache = if static_asset { ASSET_CACHE } else { NO_STORE };
        let mut response = file(body, "application/octet-stream", cache);
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
        if found.gzpipped {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }
}

impl<B> Service<Request<B>> for DocsService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.answer(request.method(), request.uri().path())))
    }
}

fn file(body: Bytes, content_type: &'static str, cache: HeaderValue) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, cache);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn error(status: StatusCode, code: &str, description: &str) -> Response<Full<Bytes>> {
    let body = crate::json_error::error_body(code, description, None);
    let mut response = file(body, "application/json", NO_STORE);
    *response.status_mut() = status;
    response
}

fn is_route_path(path: &str) -> bool {
    path.len() > 1
        && path.starts_with('/')
        && !path.ends_with('/')
        && !path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
}
