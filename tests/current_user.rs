//! The current-user layer (FastAPI's `get_current_active_user`) over TCP: a token's
//! subject is resolved through the `UserStore`; unknown and disabled users, and
//! client tokens, are refused as every bearer refusal is (401 `invalid_token`, the
//! bearer layer's realm and rejection handler); a store failure is 503.
#![cfg(feature = "token-endpoint")]

mod common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;
use tower::{service_fn, ServiceBuilder};
use tower_bearer::current_user::{CurrentUser, UserLookup, MAX_USER_CACHE_TTL};
use tower_bearer::store::StoreError;
use tower_bearer::token_endpoint::{User, UserStore};
use tower_bearer::{BearerAuthLayer, Claims, ConfigError, GuardLayer, JwtValidator, Rejection};

/// A user store the test can change while the server runs, counting lookups.
#[derive(Clone, Default)]
struct Users {
    users: Arc<Mutex<HashMap<String, User<String>>>>,
    lookups: Arc<AtomicUsize>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Users {
    fn with(self, name: &str, email: &str, disabled: bool) -> Self {
        let user = User::new(name, "$argon2id$unused");
        let user = if disabled { user.disabled() } else { user };
        self.users
            .lock()
            .unwrap()
            .insert(name.to_owned(), user.with_profile(email.to_owned()));
        self
    }

    fn disable(&self, name: &str) {
        let mut users = self.users.lock().unwrap();
        let email = users[name].profile().clone();
        users.insert(
            name.to_owned(),
            User::new(name, "$argon2id$unused")
                .disabled()
                .with_profile(email),
        );
    }
}

impl UserStore for Users {
    type Profile = String;

    fn find_user(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User<String>>, StoreError>> + Send {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let answer = if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Backend("the user database is down".into()))
        } else {
            Ok(self.users.lock().unwrap().get(username).cloned())
        };
        std::future::ready(answer)
    }
}

fn users() -> Users {
    Users::default()
        .with("johndoe", "johndoe@example.com", false)
        .with("alice", "alice@example.com", true)
}

/// bearer (realm) -> current user (like the bearer layer) -> echo of the user.
async fn server(users: Users) -> TestServer {
    let bearer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap();
    let current = GuardLayer::new(UserLookup::<_, Claims>::new(users)).like(&bearer);
    let service = ServiceBuilder::new()
        .layer(bearer)
        .layer(current)
        .service(service_fn(
            |req: Request<hyper::body::Incoming>| async move {
                let user = req.extensions().get::<CurrentUser<String>>().unwrap();
                let body = json!({"username": user.username(), "email": user.profile()});
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body.to_string()))))
            },
        ));
    serve(service).await
}

fn token_for(sub: Option<&str>, client_id: Option<&str>) -> String {
    let mut claims = json!({"exp": now() + 600, "scope": "me"});
    if let Some(sub) = sub {
        claims["sub"] = sub.into();
    }
    if let Some(client_id) = client_id {
        claims["client_id"] = client_id.into();
    }
    hs256(&claims)
}

#[tokio::test]
async fn current_user_resolves_active_users_and_refuses_the_rest() {
    let users = users();
    let server = server(users.clone()).await;
    let url = server.url("/me");

    let ok = get_with_token(&url, &token_for(Some("johndoe"), None)).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(
        ok.json(),
        json!({"username": "johndoe", "email": "johndoe@example.com"})
    );
    // A user token issued through a client stays the user's.
    let via_client = get_with_token(&url, &token_for(Some("johndoe"), Some("web"))).await;
    assert_eq!(via_client.status, StatusCode::OK);

    for (what, token) in [
        ("disabled user", token_for(Some("alice"), None)),
        ("unknown user", token_for(Some("nobody"), None)),
        ("no subject", token_for(None, None)),
        ("client token", token_for(Some("svc"), Some("svc"))),
        ("client token without sub", token_for(None, Some("svc"))),
    ] {
        let answer = get_with_token(&url, &token).await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
        assert!(
            answer.challenge().contains(&format!("realm=\"{REALM}\"")),
            "{what}: {}",
            answer.challenge()
        );
    }
    // No token at all: the bearer layer's own answer, never the store.
    let before = users.lookups.load(Ordering::SeqCst);
    get(&url, &[]).await.assert_bearer_rejection(401, None);
    assert_eq!(users.lookups.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn current_user_disabled_later_is_refused_within_the_cache_ttl() {
    let users = users();
    let server = server(users.clone()).await;
    let url = server.url("/me");
    let token = token_for(Some("johndoe"), None);
    assert_eq!(get_with_token(&url, &token).await.status, StatusCode::OK);

    users.disable("johndoe");
    // The bound is the cache TTL (500 ms by default); the deadline only keeps a broken
    // build from hanging.
    refused_within(&url, &token, Instant::now(), Duration::from_secs(10)).await;
}

#[tokio::test]
async fn current_user_store_down_is_503_and_not_cached() {
    let users = users();
    let server = server(users.clone()).await;
    let url = server.url("/me");
    users.down.store(true, Ordering::SeqCst);
    let answer = get_with_token(&url, &token_for(Some("johndoe"), None)).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json()["error"], "temporarily_unavailable");
    users.down.store(false, Ordering::SeqCst);
    let answer = get_with_token(&url, &token_for(Some("johndoe"), None)).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn current_user_refuses_with_the_bearer_layers_rejection_handler() {
    let bearer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap()).on_rejection(
        |rejection: Rejection<'_>| {
            let mut response = rejection.default_response();
            response
                .headers_mut()
                .insert("x-refused-by", "custom".parse().unwrap());
            response
        },
    );
    let current = GuardLayer::new(UserLookup::<_, Claims>::new(users())).like(&bearer);
    let service = ServiceBuilder::new()
        .layer(bearer)
        .layer(current)
        .service(service_fn(|_req: Request<hyper::body::Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        }));
    let server = serve(service).await;
    let answer = get_with_token(&server.url("/"), &token_for(Some("alice"), None)).await;
    answer.assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(answer.headers["x-refused-by"], "custom");
}

#[test]
fn current_user_cache_ttl_is_bounded_by_the_revocation_bound() {
    let layer = UserLookup::<_, Claims>::new(users());
    assert!(layer.with_cache_ttl(MAX_USER_CACHE_TTL).is_ok());
    let layer = UserLookup::<_, Claims>::new(users());
    assert_eq!(
        layer
            .with_cache_ttl(MAX_USER_CACHE_TTL + Duration::from_millis(1))
            .unwrap_err(),
        ConfigError::OutOfRange("user cache ttl")
    );
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn current_user_axum_extractor() {
    use axum::routing::get as route_get;
    use axum::Router;

    async fn me(user: CurrentUser<String>) -> String {
        user.username().to_owned()
    }

    let bearer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap();
    let current = GuardLayer::new(UserLookup::<_, Claims>::new(users())).like(&bearer);
    let app = Router::new()
        .route("/me", route_get(me).route_layer(current))
        // The extractor without the layer in front: refused as the bearer layer would.
        .route("/bare", route_get(me))
        .layer(bearer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = |path: &str| format!("http://{addr}{path}");

    let ok = get_with_token(&url("/me"), &token_for(Some("johndoe"), None)).await;
    assert_eq!((ok.status, &ok.body[..]), (StatusCode::OK, &b"johndoe"[..]));
    get_with_token(&url("/me"), &token_for(Some("alice"), None))
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    get_with_token(&url("/bare"), &token_for(Some("johndoe"), None))
        .await
        .assert_bearer_rejection(401, None);
}
