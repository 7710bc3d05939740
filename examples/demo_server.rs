//! The FastAPI OAuth2 tutorial app, rebuilt on tower-bearer, with Swagger UI at `/docs`.
//!
//! Dependencies (the default features; the `cargo run` line below uses exactly these):
//!
//! ```toml
//! [dependencies]
//! tower-bearer = "0.1"
//! bytes = "1"
//! getrandom = "0.2"
//! http = "1"
//! http-body = "1"
//! http-body-util = "0.1"
//! hyper = { version = "1", features = ["server", "http1", "http2"] }
//! hyper-util = { version = "0.1", features = ["server-auto", "server-graceful", "service", "tokio"] }
//! jsonwebtoken = { version = "11", features = ["rust_crypto"] }
//! p256 = { version = "0.13", features = ["pkcs8"] }
//! rsa = { version = "0.9", features = ["getrandom"] }
//! serde = { version = "1", features = ["derive"] }
//! serde_json = "1"
//! tokio = { version = "1", features = ["full"] }
//! tower = { version = "0.5", features = ["util"] }
//! utoipa = { version = "6", features = ["macros"] }
//! ```
//!
//! ```text
//! cargo run --release --example demo_server
//! TOKEN=$(curl -s -d 'grant_type=password&username=johndoe&password=secret' \
//!     http://127.0.0.1:8000/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/users/me
//! # or open http://127.0.0.1:8000/docs, Authorize as johndoe / secret, try GET /users/me
//! ```
//!
//! Environment: `BIND` (default `127.0.0.1:8000`), `JWT_SECRET` (HS256 key; a
//! development secret when unset).
//!
//! `/users/me` and `/users/me/items` resolve the token's subject in the user store
//! (`401 invalid_token` for an unknown or disabled user, or a client's token).
//! `POST /token` also serves `client_credentials` for `demo-client` / `demo-secret`
//! (its tokens carry `client_id` and are no user's). Access tokens carry `sid`, their
//! login session: `POST /revoke` of the refresh token (or a reused refresh token) ends
//! them. Beyond the fixed contract:
//! - `JWT_ALG` = `HS256` (default) | `RS256` | `ES256` | `EdDSA`: asymmetric modes sign
//!   with the PKCS#8 PEM private key in `JWT_KEY_FILE` (a key is generated at startup
//!   when unset: RSA 2048, P-256 or Ed25519), put `kid` `demo-1` in the
//!   token header and `iss` in the claims, and serve `/.well-known/jwks.json` and
//!   `/.well-known/openid-configuration` (issuer `ISSUER`, default `http://<BIND>`).
//! - `JWKS_URL` or `OIDC_ISSUER`: tokens are checked against that issuer's JWK set
//!   (fetched over HTTPS, or plain HTTP to loopback, and refreshed) instead of this
//!   server's own key; `/token` still issues this server's tokens, which are then not
//!   accepted here: get tokens from that issuer. `OIDC_ISSUER` may name several
//!   issuers separated by spaces (each found by discovery, each token checked only
//!   with its own issuer's keys); HTTPS trusts the OS roots plus `SSL_CERT_FILE` /
//!   `SSL_CERT_DIR`.
//! - `JWT_AUDIENCE`: in every mode, a token's `aud` must contain it (and this server's
//!   own tokens carry it).
//! - Discovery in every mode: `/.well-known/oauth-authorization-server` (RFC 8414) and
//!   `/.well-known/oauth-protected-resource` (RFC 9728), which every `401` challenge
//!   points at (`resource_metadata`); `POST /introspect` (RFC 7662) for `demo-client` /
//!   `demo-secret`.
//! - DPoP (RFC 9449): a login with a `DPoP` proof header (`htu` `http://<BIND>/token`)
//!   gets a DPoP-bound token (`token_type: DPoP`), usable only as
//!   `Authorization: DPoP <token>` with a fresh proof per request.
//! - `REDIS_URL` (one server) or `REDIS_CLUSTER` (`redis://h1:p1,redis://h2:p2,...`,
//!   cluster seeds): refresh tokens, sessions, revocations (pushed to every node), DPoP
//!   proofs seen and login throttling shared by every node; on a cluster each rotation
//!   and revocation waits for one replica (`REDIS_WAIT_REPLICAS`, default 1).
//!   `LOGIN_LIMIT=N`: more than N failed logins for one username (10 × N for one
//!   client address) in 60 s are answered `429`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::{conn::auto, graceful::GracefulShutdown};
use hyper_util::service::TowerToHyperService;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::Serialize;
use serde_json::{json, Value};
use tower::{service_fn, util::BoxCloneService, Layer, Service, ServiceExt};
use tower_bearer::current_user::{CurrentUser, UserLookup};
use tower_bearer::dpop::ReplayStore;
use tower_bearer::keys::{public_jwk_from_private, JwkOptions, KeySet};
use tower_bearer::metadata::{
    AuthorizationServerMetadata, ProtectedResourceMetadata, WellKnownService,
};
use tower_bearer::openapi::{DocsService, OpenApiSecurity};
use tower_bearer::store::{
    Client, ClientStore, LoginThrottle, LoginThrottleConfig, MemoryStore, RefreshTokenStore,
    RevocationStore,
};
use tower_bearer::token_endpoint::{
    hash_password, InMemoryUserStore, IntrospectionEndpoint, RevocationEndpoint, TokenEndpoint,
    TokenIssuer, User,
};
use tower_bearer::{
    BearerAuthLayer, Claims, Dpop, GuardLayer, HttpFetcher, JwksValidator, JwtValidator,
    MultiIssuerValidator, RequireScopes, RevocationCheck, TokenValidator,
};
use utoipa::openapi::HttpMethod;
use utoipa::{OpenApi, ToSchema};

const REALM: &str = "tower-bearer-demo";
const DEV_SECRET: &str = "tower-bearer-demo-development-secret-do-not-use";
const KID: &str = "demo-1";
/// The one client of the `client_credentials` grant (HTTP Basic or form credentials).
const DEMO_CLIENT: &str = "demo-client";
const DEMO_CLIENT_SECRET: &str = "demo-secret";

#[derive(Clone)]
struct Profile {
    full_name: &'static str,
    email: &'static str,
}

type Store = Arc<InMemoryUserStore<Profile>>;
type User_ = CurrentUser<Profile>;
type Body = BoxBody<Bytes, Infallible>;
type Route = BoxCloneService<Request<Incoming>, Response<Body>, Infallible>;
type Error = Box<dyn std::error::Error>;

/// The current user.
#[derive(Serialize, ToSchema)]
struct UserInfo {
    username: String,
    full_name: String,
    email: String,
    disabled: bool,
}

/// One of the user's items.
#[derive(Serialize, ToSchema)]
struct Item {
    item_id: String,
    owner: String,
}

/// The password-grant form (RFC 6749 §4.3.2).
#[derive(ToSchema)]
#[allow(dead_code)]
struct TokenForm {
    /// Must be `password`.
    grant_type: String,
    username: String,
    password: String,
    /// Space-separated scopes; all the user may have when absent.
    scope: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "tower-bearer demo", version = "0.1.0"),
    paths(root, status, users_me, users_me_items, token)
)]
struct ApiDoc;

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap_or_default()
}

fn boxed<S>(service: S) -> Route
where
    S: Service<Request<Incoming>, Response = Response<Full<Bytes>>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    service
        .map_response(|r| r.map(BodyExt::boxed))
        .boxed_clone()
}

fn box_route<S, B>(service: S) -> Route
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes, Error = Infallible> + Send + Sync + 'static,
{
    service
        .map_response(|r| r.map(BodyExt::boxed))
        .boxed_clone()
}

/// A protected route: `bearer`, then the current user (if `user`), then `scopes` (if
/// any), then `handler`.
fn protected<V, F>(
    bearer: &BearerAuthLayer<V>,
    user: Option<&GuardLayer<UserLookup<Store, Claims>>>,
    scopes: Option<&GuardLayer<RequireScopes<Claims>>>,
    handler: F,
) -> Route
where
    V: TokenValidator<Claims = Claims>,
    F: Fn(Claims, Option<User_>) -> Response<Body> + Clone + Send + Sync + 'static,
{
    let handler = service_fn(move |req: Request<Incoming>| {
        let claims = req.extensions().get::<Claims>().cloned();
        let user = req.extensions().get::<User_>().cloned();
        let handler = handler.clone();
        async move {
            Ok::<_, Infallible>(match claims {
                Some(claims) => handler(claims, user),
                None => json_response(StatusCode::UNAUTHORIZED, &json!({})),
            })
        }
    });
    let mut route: Route = handler.boxed_clone();
    if let Some(scopes) = scopes {
        route = box_route(scopes.clone().layer(route));
    }
    if let Some(user) = user {
        route = box_route(user.clone().layer(route));
    }
    box_route(bearer.clone().layer(route))
}

/// Public greeting.
#[utoipa::path(get, path = "/", responses((status = 200, description = "Public greeting")))]
fn root() -> Response<Body> {
    json_response(
        StatusCode::OK,
        &json!({"message": "tower-bearer demo: POST /token, then GET /users/me; see /docs"}),
    )
}

/// Answers for any valid token.
#[utoipa::path(get, path = "/status", responses((status = 200, description = "The server is up")))]
fn status(_claims: Claims, _user: Option<User_>) -> Response<Body> {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

/// The token's user (scope `me`); an unknown or disabled user is `401 invalid_token`.
#[utoipa::path(get, path = "/users/me", responses((status = 200, description = "The current user", body = UserInfo)))]
fn users_me(_claims: Claims, user: Option<User_>) -> Response<Body> {
    match user {
        Some(user) => json_response(
            StatusCode::OK,
            &json!(UserInfo {
                username: user.username().to_owned(),
                full_name: user.profile().full_name.to_owned(),
                email: user.profile().email.to_owned(),
                disabled: false,
            }),
        ),
        // Not reached: the current-user layer refuses first.
        None => json_response(StatusCode::UNAUTHORIZED, &json!({})),
    }
}

/// The token user's items (scopes `me` and `items`).
#[utoipa::path(get, path = "/users/me/items", responses((status = 200, description = "The current user's items", body = [Item])))]
fn users_me_items(_claims: Claims, user: Option<User_>) -> Response<Body> {
    let owner = user.map(|u| u.username().to_owned()).unwrap_or_default();
    json_response(
        StatusCode::OK,
        &json!([Item {
            item_id: "Foo".into(),
            owner
        }]),
    )
}

/// OAuth2 password grant (RFC 6749 §4.3): no client, or Swagger UI's empty
/// `Basic Og==` client. Also `client_credentials` (RFC 6749 §4.4) for `demo-client`.
#[utoipa::path(
    post,
    path = "/token",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token (RFC 6749 §5.1)"),
        (status = 400, description = "invalid_request, invalid_grant, invalid_scope or unsupported_grant_type"),
        (status = 401, description = "invalid_client"),
    )
)]
fn token(
    issuer: TokenIssuer,
    store: &Store,
    refresh: Arc<dyn RefreshTokenStore>,
    clients: Arc<dyn ClientStore>,
    revocations: Arc<dyn RevocationStore>,
    dpop: Dpop,
    throttle: Option<Arc<dyn LoginThrottle>>,
) -> Result<Route, Error> {
    let mut endpoint = TokenEndpoint::builder(issuer, Arc::clone(store))
        .allow_password_grant()
        .with_refresh_tokens(refresh, Duration::from_secs(14 * 24 * 3600))
        .with_client_credentials(clients)
        .with_revocations(revocations)
        .with_dpop(dpop);
    if let Some(throttle) = throttle {
        endpoint = endpoint.with_login_throttle(throttle);
    }
    let endpoint = endpoint.build()?;
    Ok(
        ServiceExt::<Request<Incoming>>::map_response(endpoint, |r| r.map(BodyExt::boxed))
            .boxed_clone(),
    )
}

fn secret() -> Vec<u8> {
    match std::env::var("JWT_SECRET") {
        Ok(secret) if !secret.is_empty() => {
            if secret.len() < 32 {
                eprintln!("WARNING: JWT_SECRET is shorter than 32 bytes; tokens can be brute-forced offline");
            }
            secret.into_bytes()
        }
        _ => {
            eprintln!("**********************************************************************");
            eprintln!("WARNING: JWT_SECRET is not set: using a built-in DEVELOPMENT secret.");
            eprintln!("Anyone can forge tokens for this server. Never use it in production.");
            eprintln!("**********************************************************************");
            DEV_SECRET.as_bytes().to_vec()
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The signing key of an asymmetric mode: `JWT_KEY_FILE`, or a fresh key.
fn signing_key(algorithm: Algorithm) -> Result<EncodingKey, Error> {
    let Some(path) = env("JWT_KEY_FILE") else {
        if algorithm == Algorithm::RS256 {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)?;
            eprintln!("JWT_KEY_FILE is not set: signing with an RSA key generated at startup");
            return Ok(EncodingKey::from_rsa_der(key.to_pkcs1_der()?.as_bytes()));
        }
        if algorithm == Algorithm::ES256 {
            use p256::pkcs8::EncodePrivateKey;
            let key = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
            eprintln!("JWT_KEY_FILE is not set: signing with a P-256 key generated at startup");
            return Ok(EncodingKey::from_ec_der(key.to_pkcs8_der()?.as_bytes()));
        }
        // PKCS#8 v1 of an Ed25519 seed (RFC 8410): a fixed prefix, then 32 random bytes.
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)?;
        der.extend_from_slice(&seed);
        eprintln!("JWT_KEY_FILE is not set: signing with an Ed25519 key generated at startup");
        return Ok(EncodingKey::from_ed_der(&der));
    };
    let pem = std::fs::read(&path).map_err(|e| format!("JWT_KEY_FILE {path}: {e}"))?;
    Ok(match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem)?,
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem)?,
        _ => EncodingKey::from_ed_pem(&pem)?,
    })
}

/// Fixed routes beyond the protected ones.
struct Extra {
    dpop: Dpop,
    token: Route,
    revoke: Route,
    introspect: Route,
    well_known: Vec<(&'static str, Route)>,
    /// RFC 9728: the URL announced in every 401 challenge.
    resource_metadata: String,
}

/// The application: docs, token endpoint, the protected routes behind `validator`.
fn app<V: TokenValidator<Claims = Claims>>(
    validator: V,
    store: &Store,
    extra: Extra,
) -> Result<
    impl Service<
            Request<Incoming>,
            Response = Response<Body>,
            Error = Infallible,
            Future = RouteFuture,
        > + Clone,
    Error,
> {
    let bearer = BearerAuthLayer::new(validator)
        .with_realm(REALM)?
        .with_resource_metadata(&extra.resource_metadata)?
        .with_dpop(extra.dpop.clone());
    let me = GuardLayer::new(RequireScopes::<Claims>::try_new(["me"])?).with_realm(REALM)?;
    let items =
        GuardLayer::new(RequireScopes::<Claims>::try_new(["me", "items"])?).with_realm(REALM)?;

    // The document: operations from the annotations, security from the layers above.
    let security = OpenApiSecurity::password("/token")?
        .with_scope("me", "Read information about the current user")?
        .with_scope("items", "Read the current user's items")?;
    let mut document = ApiDoc::openapi();
    security.secure_authenticated(&mut document, "/status", HttpMethod::Get)?;
    security.secure(
        &mut document,
        "/users/me",
        HttpMethod::Get,
        me.check().required(),
    )?;
    security.secure(
        &mut document,
        "/users/me/items",
        HttpMethod::Get,
        items.check().required(),
    )?;
    let docs = DocsService::new(document, &security);

    // The user routes resolve the token's subject (FastAPI's get_current_active_user):
    // an unknown or disabled user, or a client's token, is 401 invalid_token.
    let user = GuardLayer::new(UserLookup::<Store, Claims>::new(Arc::clone(store))).like(&bearer);
    let status = protected(&bearer, None, None, status);
    let me = protected(&bearer, Some(&user), Some(&me), users_me);
    let items = protected(&bearer, Some(&user), Some(&items), users_me_items);
    let Extra {
        token,
        revoke,
        introspect,
        well_known,
        ..
    } = extra;

    Ok(service_fn(move |req: Request<Incoming>| {
        let path = req.uri().path();
        if docs.handles(path) {
            let response = docs.clone().oneshot(req);
            return Box::pin(async move { Ok(response.await?.map(BodyExt::boxed)) }) as RouteFuture;
        }
        let mut route = match path {
            "/" => return futures_ready(root()),
            "/token" => token.clone(),
            "/revoke" => revoke.clone(),
            "/introspect" => introspect.clone(),
            "/status" => status.clone(),
            "/users/me" => me.clone(),
            "/users/me/items" => items.clone(),
            _ => match well_known.iter().find(|(known, _)| *known == path) {
                Some((_, route)) => route.clone(),
                None => {
                    return futures_ready(json_response(
                        StatusCode::NOT_FOUND,
                        &json!({"error": "not_found", "error_description": "No such route"}),
                    ))
                }
            },
        };
        Box::pin(async move { route.ready().await?.call(req).await })
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let store: Store = Arc::new(
        InMemoryUserStore::new()
            .with_user(
                User::new("johndoe", hash_password("secret")?)
                    .with_scopes(["me", "items"])
                    .with_profile(Profile {
                        full_name: "John Doe",
                        email: "johndoe@example.com",
                    }),
            )
            .with_user(
                User::new("alice", hash_password("secretalice")?)
                    .with_scopes(["me", "items"])
                    .disabled()
                    .with_profile(Profile {
                        full_name: "Alice Wonderson",
                        email: "alice@example.com",
                    }),
            ),
    );

    let listener = tokio::net::TcpListener::bind(
        std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8000".into()),
    )
    .await?;
    let address = listener.local_addr()?;
    let ttl = Duration::from_secs(1800);

    let algorithm = match env("JWT_ALG").as_deref() {
        None | Some("HS256") => Algorithm::HS256,
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        Some("EdDSA") => Algorithm::EdDSA,
        Some(other) => {
            return Err(format!("JWT_ALG={other}: use HS256, RS256, ES256 or EdDSA").into())
        }
    };
    let audience = env("JWT_AUDIENCE");
    let base = format!("http://{address}");
    let iss = env("ISSUER").unwrap_or_else(|| base.clone());
    let (issuer, own_validator, mut well_known) = if algorithm == Algorithm::HS256 {
        let secret = secret();
        // The short-key constructors accept any non-empty secret; secret() warned above.
        let issuer =
            TokenIssuer::insecure_short_hmac_key(algorithm, &EncodingKey::from_secret(&secret))?
                .with_ttl(ttl)?;
        let validator =
            JwtValidator::insecure_short_hmac_key(algorithm, &DecodingKey::from_secret(&secret))?;
        (issuer, validator, Vec::new())
    } else {
        let key = signing_key(algorithm)?;
        let jwks = JwkSet {
            keys: vec![public_jwk_from_private(KID, algorithm, &key)?],
        };
        let issuer = TokenIssuer::new(algorithm, &key)?
            .with_kid(KID)?
            .with_issuer(&iss)?
            .with_ttl(ttl)?;
        // This server's issuer emits only low-`s` ECDSA signatures: refuse the other form.
        let validator = KeySet::from_jwk_set(&jwks, &JwkOptions::default())?
            .to_validator::<Claims>()?
            .with_issuer(&iss)?
            .require_low_s_ecdsa();
        let configuration = AuthorizationServerMetadata::openid_for_issuer(&iss, &[algorithm])?
            .with_token_endpoint_auth_methods(["none"])
            .with_scopes(["me", "items"])?;
        let well_known = vec![
            (
                "/.well-known/jwks.json",
                boxed(WellKnownService::jwks(&jwks)?),
            ),
            (
                "/.well-known/openid-configuration",
                boxed(WellKnownService::openid_configuration(&configuration)),
            ),
        ];
        (issuer, validator, well_known)
    };
    // JWT_AUDIENCE: this server's tokens carry it, and every token must.
    let (issuer, own_validator) = match &audience {
        Some(audience) => (
            issuer.with_audience(audience)?,
            own_validator.with_audience(audience)?,
        ),
        None => (issuer, own_validator),
    };
    // REDIS_URL / REDIS_CLUSTER: refresh tokens, revocations (pushed to every node),
    // DPoP proofs seen and login throttling (LOGIN_LIMIT) shared through Redis.
    let (refresh, revocations, throttle, replay) = stores().await?;
    // Tokens minted elsewhere with JWT_SECRET may carry no jti: they stay valid.
    let check = RevocationCheck::new(own_validator.clone(), revocations).allow_missing_jti();
    // What this node revokes (a token, a session) it refuses at once; other nodes
    // through Redis pub/sub, or within the check's 500 ms while that is down.
    let revocations: Arc<dyn RevocationStore> = Arc::new(check.local_revocations());
    let clients: Arc<dyn ClientStore> = Arc::new(MemoryStore::new().with_clients([Client::new(
        DEMO_CLIENT,
        DEMO_CLIENT_SECRET,
        "items",
    )?]));
    let revoke =
        RevocationEndpoint::new(own_validator.clone(), refresh.clone(), revocations.clone())
            .with_optional_clients(clients.clone());
    // RFC 7662 for `demo-client`: this server's access tokens (revoked ones inactive)
    // and refresh tokens.
    // The same check as the API's: what this node revoked is inactive at once.
    let introspect = IntrospectionEndpoint::new(check.clone(), clients.clone())
        .with_refresh_tokens(refresh.clone());
    // RFC 8414 in every mode; `jwks_uri` only where the keys are public.
    let mut server_metadata = AuthorizationServerMetadata::new(&iss, &format!("{base}/token"))?
        .with_revocation_endpoint(&format!("{base}/revoke"))?
        .with_introspection_endpoint(&format!("{base}/introspect"))?
        .with_grant_types(["password", "refresh_token", "client_credentials"])
        .with_token_endpoint_auth_methods(["none", "client_secret_basic", "client_secret_post"])
        .with_scopes(["me", "items"])?;
    if algorithm != Algorithm::HS256 {
        server_metadata =
            server_metadata.with_jwks_uri(&format!("{base}/.well-known/jwks.json"))?;
    }
    // RFC 9728: this API, and the issuers whose tokens it accepts.
    let trusted: Vec<String> = match env("OIDC_ISSUER") {
        Some(issuers) => issuers
            .split(' ')
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .collect(),
        None => vec![iss.clone()],
    };
    // DPoP proofs accepted beside bearer tokens (RFC 9449 §5.1 members).
    let dpop = dpop(address, replay)?;
    let resource = ProtectedResourceMetadata::new(&base)?
        .with_authorization_servers(trusted)?
        .with_scopes(["me", "items"])?
        .with_name("tower-bearer demo")
        .with_dpop(dpop.algs().split(' '), false);
    let resource_metadata = resource.metadata_url().to_owned();
    well_known.push((
        "/.well-known/oauth-authorization-server",
        boxed(WellKnownService::authorization_server(&server_metadata)),
    ));
    well_known.push((
        "/.well-known/oauth-protected-resource",
        boxed(WellKnownService::protected_resources([resource])),
    ));
    let extra = Extra {
        dpop: dpop.clone(),
        token: token(
            issuer,
            &store,
            refresh,
            clients,
            revocations,
            dpop,
            throttle,
        )?,
        revoke: ServiceExt::<Request<Incoming>>::map_response(revoke, |r| r.map(BodyExt::boxed))
            .boxed_clone(),
        introspect: ServiceExt::<Request<Incoming>>::map_response(introspect, |r| {
            r.map(BodyExt::boxed)
        })
        .boxed_clone(),
        well_known,
        resource_metadata,
    };

    // Identity providers' keys (ECDSA signatures with any `s`: most providers do not
    // normalize it), JWT_AUDIENCE if set.
    let remote = || -> Result<_, Error> {
        // RSA keys published without `alg` (several providers omit it) serve RS256/PS256.
        let rsa =
            JwkOptions::new().with_rsa_default_algorithms([Algorithm::RS256, Algorithm::PS256])?;
        let mut builder = JwksValidator::<Claims>::builder().with_jwk_options(rsa);
        if let Some(audience) = &audience {
            builder = builder.with_audience(audience)?;
        }
        Ok(builder)
    };
    let fetcher = HttpFetcher::new();
    let app = if let Some(url) = env("JWKS_URL") {
        let validator = remote()?.build(fetcher, url.parse()?).await?;
        eprintln!("validating tokens against {url}; get tokens from that issuer");
        Routed::Jwks(app(validator, &store, extra)?)
    } else if let Some(oidc) = env("OIDC_ISSUER") {
        let mut validator = MultiIssuerValidator::<Claims>::new();
        for issuer in oidc.split_whitespace() {
            let source = remote()?
                .discover(fetcher.clone(), issuer)
                .await
                .map_err(|e| format!("OIDC_ISSUER {issuer}: {e}"))?;
            validator = validator.with_jwks(source)?;
            eprintln!("validating tokens from issuer {issuer}; get tokens from that issuer");
        }
        Routed::Issuers(app(validator, &store, extra)?)
    } else {
        Routed::Own(app(check, &store, extra)?)
    };

    println!("listening on http://{address}");
    std::io::Write::flush(&mut std::io::stdout())?;

    let server = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                // The peer address in every request's extensions: the token endpoint's
                // login throttle counts failures per client address from it.
                let app = tower::ServiceBuilder::new()
                    .map_request(move |mut req: Request<Incoming>| {
                        req.extensions_mut().insert(peer);
                        req
                    })
                    .service(app.clone());
                let connection = server.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(app));
                let connection = graceful.watch(connection.into_owned());
                tokio::spawn(async move { let _ = connection.await; });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    // Finish in-flight requests (bounded), then exit 0.
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    Ok(())
}

type Stores = (
    Arc<dyn RefreshTokenStore>,
    Arc<dyn RevocationStore>,
    Option<Arc<dyn LoginThrottle>>,
    Option<Arc<dyn ReplayStore>>,
);

/// `REDIS_URL` (one server) or `REDIS_CLUSTER` (comma-separated seeds) select the Redis
/// stores (and the DPoP replay store), else memory. `LOGIN_LIMIT=N` throttles logins:
/// N failures per username and 10 × N per client address in 60 s, counted where the
/// stores are.
async fn stores() -> Result<Stores, Error> {
    let limit = match env("LOGIN_LIMIT") {
        Some(n) => Some(LoginThrottleConfig::per_username(
            n.parse()
                .map_err(|_| format!("LOGIN_LIMIT={n}: not a number"))?,
        )),
        None => None,
    };
    #[cfg(feature = "redis")]
    {
        use tower_bearer::store::{RedisConfig, RedisStore, DEFAULT_REPLICA_ACK_TIMEOUT};
        let config = match (env("REDIS_URL"), env("REDIS_CLUSTER")) {
            (Some(_), Some(_)) => return Err("set REDIS_URL or REDIS_CLUSTER, not both".into()),
            (Some(url), None) => Some(RedisConfig::single(&url)),
            (None, Some(seeds)) => {
                // A rotation or revocation is acknowledged only once a replica has it
                // (REDIS_WAIT_REPLICAS=0 for a cluster without replicas).
                let acks = env("REDIS_WAIT_REPLICAS").map_or(Ok(1), |n| n.parse())?;
                Some(
                    RedisConfig::cluster_from_list(&seeds)
                        .with_replica_acks(acks, DEFAULT_REPLICA_ACK_TIMEOUT),
                )
            }
            (None, None) => None,
        };
        if let Some(config) = config {
            let redis = RedisStore::connect_with(&config).await?;
            let redis = Arc::new(match limit {
                Some(limit) => redis.with_login_throttle(limit),
                None => redis,
            });
            let throttle = limit.map(|_| redis.clone() as Arc<dyn LoginThrottle>);
            eprintln!(
                "refresh tokens, revocations, DPoP proofs and login throttling in Redis{}",
                if config.is_cluster() { " Cluster" } else { "" }
            );
            return Ok((redis.clone(), redis.clone(), throttle, Some(redis)));
        }
    }
    #[cfg(not(feature = "redis"))]
    if env("REDIS_URL").is_some() || env("REDIS_CLUSTER").is_some() {
        return Err("REDIS_URL and REDIS_CLUSTER need the `redis` feature".into());
    }
    let memory = Arc::new(match limit {
        Some(limit) => MemoryStore::new().with_login_throttle(limit),
        None => MemoryStore::new(),
    });
    let throttle = limit.map(|_| memory.clone() as Arc<dyn LoginThrottle>);
    Ok((memory.clone(), memory, throttle, None))
}

/// DPoP (RFC 9449) for tokens issued and used at `http://<address>`; proofs
/// remembered in `replay` (Redis when `REDIS_URL` or `REDIS_CLUSTER` is set).
fn dpop(
    address: std::net::SocketAddr,
    replay: Option<Arc<dyn ReplayStore>>,
) -> Result<Dpop, Error> {
    let dpop = Dpop::new(&format!("http://{address}"))?;
    Ok(match replay {
        Some(replay) => dpop.with_replay_store(replay),
        None => dpop,
    })
}

type RouteFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// The application behind this server's own validator, a remote JWK set, or several
/// issuers.
#[derive(Clone)]
enum Routed<A, B, C> {
    Own(A),
    Jwks(B),
    Issuers(C),
}

impl<A, B, C> Service<Request<Incoming>> for Routed<A, B, C>
where
    A: Service<
        Request<Incoming>,
        Response = Response<Body>,
        Error = Infallible,
        Future = RouteFuture,
    >,
    B: Service<
        Request<Incoming>,
        Response = Response<Body>,
        Error = Infallible,
        Future = RouteFuture,
    >,
    C: Service<
        Request<Incoming>,
        Response = Response<Body>,
        Error = Infallible,
        Future = RouteFuture,
    >,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = RouteFuture;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        match self {
            Self::Own(a) => a.poll_ready(cx),
            Self::Jwks(b) => b.poll_ready(cx),
            Self::Issuers(c) => c.poll_ready(cx),
        }
    }

    fn call(&mut self, req: Request<Incoming>) -> RouteFuture {
        match self {
            Self::Own(a) => a.call(req),
            Self::Jwks(b) => b.call(req),
            Self::Issuers(c) => c.call(req),
        }
    }
}

fn futures_ready(response: Response<Body>) -> RouteFuture {
    Box::pin(std::future::ready(Ok(response)))
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = async { match term.as_mut() { Some(term) => { term.recv().await; } None => std::future::pending().await } } => {}
    }
}
