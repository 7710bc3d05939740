//! `/docs` for a bearer-protected API: Swagger UI whose **Authorize** button gets a
//! token from the password grant, and routes behind [`BearerAuthLayer`] and
//! [`RequireScopesLayer`] whose OpenAPI security requirements come from those layers.
//!
//! The token endpoint here is a small stand-in (RFC 6749 §4.3 and §5, one user
//! `johndoe` / `secret`; `alice` / `secretalice` is disabled) until the crate's own
//! `TokenEndpoint` is wired in.
//!
//! ```text
//! cargo run --example docs_server --features openapi
//! # then open http://127.0.0.1:8000/docs, Authorize as johndoe / secret, try GET /users/me
//! curl -s -X POST http://127.0.0.1:8000/token -d grant_type=password -d username=johndoe -d password=secret
//! curl -s http://127.0.0.1:8000/users/me -H "Authorization: Bearer $TOKEN"
//! ```
//!
//! Environment: `BIND` (default `127.0.0.1:8000`), `JWT_SECRET` (HS256 key; a built-in
//! development secret when unset). Prints `listening on http://ADDR` once it accepts.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use subtle::ConstantTimeEq;
use tower::util::BoxCloneService;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_bearer::openapi::{DocsService, OpenApiSecurity};
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator, RequireScopesLayer};
use utoipa::openapi::{HttpMethod, OpenApi as Document};
use utoipa::{OpenApi, ToSchema};

/// The HS256 key used when `JWT_SECRET` is unset. Development only.
pub const DEV_SECRET: &str = "development-secret-change-me-0123456789";
const REALM: &str = "tower-bearer-demo";
const TOKEN_LIFETIME: u64 = 1800;
const MAX_FORM: usize = 16 * 1024;

type Body = BoxBody<Bytes, Infallible>;
type Route = BoxCloneService<Request<Incoming>, Response<Body>, Infallible>;

/// The user record `GET /users/me` answers with.
#[derive(Serialize, ToSchema)]
pub struct User {
    username: String,
    full_name: String,
    email: String,
    disabled: bool,
}

/// One of the user's items.
#[derive(Serialize, ToSchema)]
pub struct Item {
    item_id: String,
    owner: String,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    access_token: String,
    token_type: String,
    expires_in: u64,
    scope: String,
}

/// The password-grant form (RFC 6749 §4.3.2).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// Must be `password`.
    grant_type: String,
    username: String,
    password: String,
    /// Space-separated scopes; all the user may have when absent.
    scope: Option<String>,
}

/// An OAuth2 error body (RFC 6749 §5.2, RFC 6750 §3).
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: String,
    error_description: String,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "tower-bearer docs demo", version = "0.1.0"),
    paths(root, status, users_me, users_me_items, token)
)]
struct ApiDoc;

/// The OAuth2 password flow as the document shows it.
pub fn security() -> OpenApiSecurity {
    OpenApiSecurity::password("/token")
        .and_then(|s| s.with_scope("me", "Read information about the current user"))
        .and_then(|s| s.with_scope("items", "Read the current user's items"))
        .expect("static configuration is valid")
}

/// The whole application: docs, token endpoint and the protected routes.
#[derive(Clone)]
pub struct App {
    docs: DocsService,
    root: Route,
    status: Route,
    users_me: Route,
    users_me_items: Route,
    token: Route,
}

impl App {
    /// Builds the application signing and checking tokens with `secret`.
    ///
    /// # Panics
    ///
    /// If `secret` is shorter than 32 bytes.
    pub fn new(secret: &[u8]) -> Self {
        // With both of jsonwebtoken's backends enabled (`--all-features`) it has no
        // process default for `encode`; pick one (already installed is fine too).
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let bearer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(secret).expect("secret"))
            .with_realm(REALM)
            .expect("realm");
        let me = RequireScopesLayer::<Claims>::new(["me"])
            .with_realm(REALM)
            .expect("realm");
        let items = RequireScopesLayer::<Claims>::new(["me", "items"])
            .with_realm(REALM)
            .expect("realm");

        // The document: operations from the handlers' annotations, security
        // requirements from the very layers that guard them.
        let security = security();
        let mut document: Document = ApiDoc::openapi();
        security
            .secure_authenticated(&mut document, "/status", HttpMethod::Get)
            .expect("documented");
        security
            .secure(&mut document, "/users/me", HttpMethod::Get, me.required())
            .expect("documented");
        security
            .secure(
                &mut document,
                "/users/me/items",
                HttpMethod::Get,
                items.required(),
            )
            .expect("documented");

        let secret = secret.to_vec();
        Self {
            docs: DocsService::new(document, &security),
            root: boxed(service_fn(root)),
            status: boxed(
                ServiceBuilder::new()
                    .layer(bearer.clone())
                    .service_fn(status),
            ),
            users_me: boxed(
                ServiceBuilder::new()
                    .layer(bearer.clone())
                    .layer(me)
                    .service_fn(users_me),
            ),
            users_me_items: boxed(
                ServiceBuilder::new()
                    .layer(bearer)
                    .layer(items)
                    .service_fn(users_me_items),
            ),
            token: boxed(service_fn(move |request| token(request, secret.clone()))),
        }
    }
}

fn boxed<S, B>(service: S) -> Route
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes, Error = Infallible> + Send + Sync + 'static,
{
    BoxCloneService::new(service.map_response(|response| response.map(BodyExt::boxed)))
}

impl tower::Service<Request<Incoming>> for App {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let path = request.uri().path();
        if self.docs.handles(path) {
            let response = self.docs.clone().oneshot(request);
            return Box::pin(async move { Ok(response.await?.map(BodyExt::boxed)) });
        }
        let route = match path {
            "/" => &self.root,
            "/status" => &self.status,
            "/users/me" => &self.users_me,
            "/users/me/items" => &self.users_me_items,
            "/token" => &self.token,
            _ => {
                let response = json(
                    StatusCode::NOT_FOUND,
                    &error_body("not_found", "No such route"),
                );
                return Box::pin(async move { Ok(response.map(BodyExt::boxed)) });
            }
        };
        if path != "/token" && request.method() != Method::GET {
            let mut response = json(
                StatusCode::METHOD_NOT_ALLOWED,
                &error_body("method_not_allowed", "Use GET"),
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET"));
            return Box::pin(async move { Ok(response.map(BodyExt::boxed)) });
        }
        Box::pin(route.clone().oneshot(request))
    }
}

/// Public greeting.
#[utoipa::path(get, path = "/", responses((status = 200, description = "Public greeting")))]
async fn root(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "message": "tower-bearer docs demo: see /docs" }),
    ))
}

/// Answers for any valid token.
#[utoipa::path(get, path = "/status", responses((status = 200, description = "The server is up")))]
async fn status(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(json(StatusCode::OK, &serde_json::json!({ "status": "ok" })))
}

/// The token's user (scope `me`).
#[utoipa::path(get, path = "/users/me", responses((status = 200, description = "The current user", body = User)))]
async fn users_me(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let username = subject(&request);
    Ok(json(
        StatusCode::OK,
        &User {
            full_name: "John Doe".into(),
            email: format!("{username}@example.com"),
            username,
            disabled: false,
        },
    ))
}

/// The token user's items (scopes `me` and `items`).
#[utoipa::path(get, path = "/users/me/items", responses((status = 200, description = "The current user's items", body = [Item])))]
async fn users_me_items(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let owner = subject(&request);
    Ok(json(
        StatusCode::OK,
        &[Item {
            item_id: "Foo".into(),
            owner,
        }],
    ))
}

fn subject(request: &Request<Incoming>) -> String {
    request
        .extensions()
        .get::<Claims>()
        .and_then(|claims| claims.sub.clone())
        .unwrap_or_default()
}

/// OAuth2 password grant (stand-in): form `grant_type=password`, `username`, `password`,
/// optional `scope`. Client authentication: none, or HTTP Basic with an empty client id
/// and secret (`Basic Og==`, as Swagger UI sends).
#[utoipa::path(
    post,
    path = "/token",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, invalid_scope or unsupported_grant_type", body = ErrorBody),
        (status = 401, description = "invalid_client", body = ErrorBody),
    )
)]
async fn token(
    request: Request<Incoming>,
    secret: Vec<u8>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match grant(request, &secret).await {
        Ok(response) => json(StatusCode::OK, &response),
        Err(rejection) => rejection,
    })
}

async fn grant(
    request: Request<Incoming>,
    secret: &[u8],
) -> Result<TokenResponse, Response<Full<Bytes>>> {
    let bad = |code: &str, description: &str| {
        json(StatusCode::BAD_REQUEST, &error_body(code, description))
    };
    if request.method() != Method::POST {
        let mut response = json(
            StatusCode::METHOD_NOT_ALLOWED,
            &error_body("invalid_request", "Use POST"),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(response);
    }
    if !no_client(request.headers()) {
        let mut response = json(
            StatusCode::UNAUTHORIZED,
            &error_body("invalid_client", "Unknown client"),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="token""#),
        );
        return Err(response);
    }
    let form_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(bad("invalid_request", "The body must be a form"));
    }
    let body = match Limited::new(request.into_body(), MAX_FORM).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return Err(json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &error_body("invalid_request", "The form is too large"),
            ))
        }
    };
    let mut fields = std::collections::BTreeMap::<String, String>::new();
    for (name, value) in form_urlencoded::parse(&body) {
        if value.is_empty() {
            continue; // RFC 6749 §3.1: no value is the same as omitted.
        }
        if fields
            .insert(name.into_owned(), value.into_owned())
            .is_some()
        {
            return Err(bad("invalid_request", "A parameter is repeated"));
        }
    }
    let (Some(grant_type), Some(username), Some(password)) = (
        fields.get("grant_type"),
        fields.get("username"),
        fields.get("password"),
    ) else {
        return Err(bad("invalid_request", "A required parameter is missing"));
    };
    if grant_type != "password" {
        return Err(bad(
            "unsupported_grant_type",
            "Only the password grant is supported",
        ));
    }
    // The one enabled user; `alice` exists but is disabled.
    let valid = username.as_bytes().ct_eq(b"johndoe").unwrap_u8()
        & password.as_bytes().ct_eq(b"secret").unwrap_u8();
    if valid != 1 {
        return Err(bad("invalid_grant", "Incorrect username or password"));
    }
    const ALLOWED: [&str; 2] = ["me", "items"];
    let scope = match fields.get("scope") {
        None => ALLOWED.join(" "),
        Some(requested) => {
            let requested: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
            if requested.iter().any(|s| !ALLOWED.contains(s)) {
                return Err(bad("invalid_scope", "A requested scope is not allowed"));
            }
            requested.join(" ")
        }
    };
    let now = jsonwebtoken::get_current_timestamp();
    let claims = serde_json::json!({
        "sub": username, "iat": now, "exp": now + TOKEN_LIFETIME, "scope": scope,
    });
    let access_token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .map_err(|_| bad("invalid_request", "The token could not be issued"))?;
    Ok(TokenResponse {
        access_token,
        token_type: "bearer".into(),
        expires_in: TOKEN_LIFETIME,
        scope,
    })
}

/// `true` when the request names no client: no `Authorization`, or HTTP Basic with an
/// empty client id and secret.
fn no_client(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return true;
    };
    if values.next().is_some() {
        return false;
    }
    let Some((scheme, credentials)) = value.to_str().ok().and_then(|v| v.split_once(' ')) else {
        return false;
    };
    scheme.eq_ignore_ascii_case("basic")
        && STANDARD
            .decode(credentials.trim())
            .is_ok_and(|decoded| decoded == b":")
}

fn error_body(code: &str, description: &str) -> ErrorBody {
    ErrorBody {
        error: code.into(),
        error_description: description.into(),
    }
}

fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;

    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8000".into());
    let secret = std::env::var("JWT_SECRET").unwrap_or_else(|_| {
        eprintln!("WARNING: JWT_SECRET is unset; using the built-in development secret");
        DEV_SECRET.into()
    });
    let app = App::new(secret.as_bytes());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let service = TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
    Ok(())
}
