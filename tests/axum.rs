//! axum 0.8 integration over TCP: extractors, optional form, per-route scopes, `State`,
//! `from_fn`, and the two FastAPI-shaped examples.
#![cfg(feature = "axum")]

mod common;

#[allow(dead_code)]
#[path = "../examples/axum.rs"]
mod axum_example;

#[allow(dead_code)]
#[path = "../examples/current_user.rs"]
mod current_user;

use axum::extract::{Request, State};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing;
use axum::Router;
use bytes::Bytes;
use common::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_bearer::axum::Auth;
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator, Rejection};

fn token(sub: &str, scope: &str) -> String {
    hs256(&json!({ "sub": sub, "exp": now() + 600, "scope": scope }))
}

fn layer() -> BearerAuthLayer<JwtValidator<Claims>> {
    BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap()
}

async fn sub(Auth(claims): Auth<Claims>) -> String {
    claims.sub.unwrap_or_default()
}

#[tokio::test]
async fn example_me_returns_claims() {
    let server = serve(axum_example::app(SECRET).unwrap()).await;
    let answer = get_with_token(&server.url("/users/me"), &token("johndoe", "me")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["sub"], "johndoe");
    assert_eq!(answer.json()["scope"], "me");
}

#[tokio::test]
async fn example_me_without_token_unauthorized() {
    let server = serve(axum_example::app(SECRET).unwrap()).await;
    let answer = get(&server.url("/users/me"), &[]).await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(answer.challenge(), r#"Bearer realm="axum-demo""#);
}

#[tokio::test]
async fn example_optional_home() {
    let server = serve(axum_example::app(SECRET).unwrap()).await;
    assert_eq!(get(&server.url("/"), &[]).await.body, "hello, stranger");
    let answer = get_with_token(&server.url("/"), &token("ann", "")).await;
    assert_eq!(answer.body, "welcome back, ann");
    // Present but invalid: the layer refuses it even on the optional route.
    get_with_token(&server.url("/"), "not.a.token")
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

#[tokio::test]
async fn example_route_scopes_and_state() {
    let server = serve(axum_example::app(SECRET).unwrap()).await;
    let answer = get_with_token(&server.url("/items"), &token("bo", "me")).await;
    answer.assert_bearer_rejection(403, Some("insufficient_scope"));
    assert!(answer
        .challenge()
        .starts_with(r#"Bearer realm="axum-demo", error="insufficient_scope""#));
    assert!(answer.challenge().ends_with(r#"scope="items""#));
    assert_eq!(answer.json()["scope"], "items");
    let answer = get_with_token(&server.url("/items"), &token("bo", "me items")).await;
    assert_eq!(answer.body, "bo may see Foo, Bar");
    get(&server.url("/items"), &[])
        .await
        .assert_bearer_rejection(401, None);
}

#[tokio::test]
async fn extractor_rejection_equals_layer_rejection() {
    // The same request refused by a required layer and by the extractor behind an
    // optional layer: the same answer, byte for byte.
    let required = serve(Router::new().route("/", routing::get(sub)).layer(layer())).await;
    let optional = serve(
        Router::new()
            .route("/", routing::get(sub))
            .layer(layer().optional()),
    )
    .await;
    let a = get(&required.url("/"), &[]).await;
    let b = get(&optional.url("/"), &[]).await;
    a.assert_bearer_rejection(401, None);
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    for name in ["www-authenticate", "content-type"] {
        assert_eq!(a.headers[name], b.headers[name], "{name}");
    }
    // gRPC callers get the gRPC shape from both.
    let grpc = [("content-type", "application/grpc")];
    let a = get(&required.url("/"), &grpc).await;
    let b = get(&optional.url("/"), &grpc).await;
    for answer in [a, b] {
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["grpc-status"], "16");
        assert_eq!(
            answer.headers["www-authenticate"],
            format!("Bearer realm=\"{REALM}\"")
        );
    }
}

#[tokio::test]
async fn extractor_uses_custom_rejection_of_optional_layer() {
    let custom = |rejection: Rejection<'_>| {
        let mut response =
            http::Response::new(Bytes::from(format!("custom {}", rejection.error().code())));
        *response.status_mut() = rejection.error().status();
        response
            .headers_mut()
            .insert("www-authenticate", rejection.challenge());
        response
    };
    let app = Router::new()
        .route("/", routing::get(sub))
        .layer(layer().optional().on_rejection(custom));
    let server = serve(app).await;
    let answer = get(&server.url("/"), &[]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.body, "custom unauthorized");
    assert_eq!(answer.challenge(), format!("Bearer realm=\"{REALM}\""));
}

#[tokio::test]
async fn extractor_without_layer_unauthorized() {
    let server = serve(Router::new().route("/", routing::get(sub))).await;
    let bearer = format!("Bearer {}", token("x", ""));
    // Without a layer nothing validates the token, so the extractor refuses.
    let answer = get(&server.url("/"), &[("authorization", &bearer)]).await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(answer.challenge(), "Bearer");
}

#[tokio::test]
async fn custom_claims_type_extracted() {
    #[derive(Clone, Serialize, Deserialize)]
    struct Mine {
        sub: String,
        tenant: String,
    }
    async fn tenant(Auth(mine): Auth<Mine>) -> String {
        format!("{}@{}", mine.sub, mine.tenant)
    }
    let validator = JwtValidator::<Claims>::hs256(SECRET)
        .unwrap()
        .with_claims::<Mine>();
    let server = serve(
        Router::new()
            .route("/", routing::get(tenant))
            .layer(BearerAuthLayer::new(validator)),
    )
    .await;
    let t = hs256(&json!({ "sub": "ann", "tenant": "acme", "exp": now() + 600 }));
    assert_eq!(get_with_token(&server.url("/"), &t).await.body, "ann@acme");
    // Valid signature, wrong shape for `Mine`.
    let t = hs256(&json!({ "sub": "ann", "exp": now() + 600 }));
    get_with_token(&server.url("/"), &t)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

/// Hand-written middleware moved to `from_fn`: the extractor replaces the token
/// parsing it used to do.
async fn audit(Auth(claims): Auth<Claims>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let who = claims.sub.unwrap_or_default().parse().unwrap();
    response.headers_mut().insert("x-audited", who);
    response
}

#[tokio::test]
async fn from_fn_middleware_reads_claims() {
    let app = Router::new()
        .route("/", routing::get(sub))
        .layer(from_fn(audit))
        .layer(layer());
    let server = serve(app).await;
    let answer = get_with_token(&server.url("/"), &token("eve", "")).await;
    assert_eq!(answer.headers["x-audited"], "eve");
    assert_eq!(answer.body, "eve");
    get(&server.url("/"), &[])
        .await
        .assert_bearer_rejection(401, None);
}

#[derive(Clone)]
struct Banned(&'static str);

async fn ban(
    State(banned): State<Banned>,
    user: Option<Auth<Claims>>,
    request: Request,
    next: Next,
) -> Response {
    match user {
        Some(Auth(claims)) if claims.sub.as_deref() == Some(banned.0) => {
            (http::StatusCode::FORBIDDEN, "banned").into_response()
        }
        _ => next.run(request).await,
    }
}

#[tokio::test]
async fn from_fn_with_state_and_optional_extractor() {
    let app = Router::new()
        .route("/", routing::get(|| async { "open" }))
        .layer(from_fn_with_state(Banned("mallory"), ban))
        .layer(layer().optional());
    let server = serve(app).await;
    assert_eq!(get(&server.url("/"), &[]).await.body, "open");
    assert_eq!(
        get_with_token(&server.url("/"), &token("ann", ""))
            .await
            .body,
        "open"
    );
    assert_eq!(
        get_with_token(&server.url("/"), &token("mallory", ""))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn current_user_active_ok() {
    let server = serve(current_user::app(SECRET).unwrap()).await;
    let answer = get_with_token(&server.url("/users/me"), &token("johndoe", "me")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        json!({ "username": "johndoe", "full_name": "John Doe", "email": "johndoe@example.com", "disabled": false })
    );
}

#[tokio::test]
async fn current_user_disabled_bad_request() {
    let server = serve(current_user::app(SECRET).unwrap()).await;
    let answer = get_with_token(&server.url("/users/me"), &token("alice", "me")).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json(), json!({ "detail": "Inactive user" }));
}

#[tokio::test]
async fn current_user_unknown_subject_invalid_token() {
    let server = serve(current_user::app(SECRET).unwrap()).await;
    let answer = get_with_token(&server.url("/users/me"), &token("ghost", "me")).await;
    answer.assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(answer.json()["error_description"], "Unknown user");
    get(&server.url("/users/me"), &[])
        .await
        .assert_bearer_rejection(401, None);
    assert_eq!(
        get_with_token(&server.url("/users/count"), &token("x", ""))
            .await
            .body,
        "2"
    );
}
