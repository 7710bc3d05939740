//! Optional authentication over TCP: no credentials pass without claims, bad ones are
//! still refused.
mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::*;
use http::{Request, Response};
use http_body_util::Full;
use serde_json::json;
use tower::{service_fn, Layer, ServiceBuilder};
use tower_bearer::{
    validate_fn, Anonymous, AuthError, BearerAuthLayer, Claims, GuardLayer, InvalidToken,
    JwtValidator, RequireScopes, TokenSources,
};

fn layer() -> BearerAuthLayer<JwtValidator<Claims>> {
    BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap()
        .optional()
}

fn token(sub: &str) -> String {
    hs256(&json!({ "sub": sub, "exp": now() + 600, "scope": "read" }))
}

async fn server() -> (TestServer, EchoClaims<Claims>) {
    let echo = EchoClaims::<Claims>::new();
    (serve(layer().layer(echo.clone())).await, echo)
}

#[tokio::test]
async fn no_token_passes_without_claims() {
    let (server, echo) = server().await;
    let answer = get(&server.url("/"), &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "null");
    assert_eq!(echo.calls(), 1);
}

#[tokio::test]
async fn other_scheme_or_empty_bearer_passes_without_claims() {
    let (server, echo) = server().await;
    for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Digest x"] {
        let answer = get(&server.url("/"), &[("authorization", value)]).await;
        assert_eq!(answer.status, 200, "{value}");
        assert_eq!(answer.body, "null");
    }
    assert_eq!(echo.calls(), 4);
}

#[tokio::test]
async fn valid_token_passes_with_claims() {
    let (server, _) = server().await;
    let answer = get_with_token(&server.url("/"), &token("alice")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["sub"], "alice");
}

#[tokio::test]
async fn invalid_tokens_rejected() {
    let (server, echo) = server().await;
    let expired = hs256(&json!({ "sub": "a", "exp": now() - 3600 }));
    let forged = raw_hs256(
        r#"{"alg":"HS256"}"#,
        r#"{"sub":"a","exp":9999999999}"#,
        b"another-secret-of-32-bytes-or-more!!",
    );
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(br#"{"sub":"a","exp":9999999999}"#)
    );
    for bad in [
        expired.as_str(),
        forged.as_str(),
        none.as_str(),
        "not-a-jwt",
        "a.b.c",
    ] {
        let answer = get_with_token(&server.url("/"), bad).await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
        assert!(answer
            .challenge()
            .starts_with(&format!("Bearer realm=\"{REALM}\"")));
    }
    // Characters outside b64token.
    get(&server.url("/"), &[("authorization", "Bearer a b")])
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(echo.calls(), 0);
}

#[tokio::test]
async fn malformed_request_rejected() {
    let (server, echo) = server().await;
    let bearer = format!("Bearer {}", token("a"));
    get(
        &server.url("/"),
        &[("authorization", &bearer), ("authorization", &bearer)],
    )
    .await
    .assert_bearer_rejection(400, Some("invalid_request"));
    get_with_token(
        &server.url(&format!("/?access_token={}", token("a"))),
        &token("a"),
    )
    .await
    .assert_bearer_rejection(400, Some("invalid_request"));
    assert_eq!(echo.calls(), 0);
}

#[tokio::test]
async fn with_cookie_source_invalid_cookie_rejected() {
    let echo = EchoClaims::<Claims>::new();
    let layer = layer().with_sources(TokenSources::new().with_cookie("token").unwrap());
    let server = serve(layer.layer(echo.clone())).await;
    get(&server.url("/"), &[("cookie", "token=garbage")])
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    let answer = get(&server.url("/"), &[("cookie", "other=1")]).await;
    assert_eq!(answer.body, "null");
}

#[tokio::test]
async fn async_validator_invalid_rejected_absent_passes() {
    let validator = validate_fn(|token: &str| {
        let known = token == "opaque-good";
        async move {
            if known {
                Ok("service-a".to_owned())
            } else {
                Err(AuthError::from(InvalidToken::Revoked))
            }
        }
    });
    let echo = EchoClaims::<String>::new();
    let server = serve(
        BearerAuthLayer::new(validator)
            .optional()
            .layer(echo.clone()),
    )
    .await;
    assert_eq!(
        get_with_token(&server.url("/"), "opaque-good").await.body,
        "\"service-a\""
    );
    get_with_token(&server.url("/"), "opaque-bad")
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(get(&server.url("/"), &[]).await.body, "null");
    assert_eq!(echo.calls(), 2);
}

#[tokio::test]
async fn scopes_behind_optional_layer_anonymous_unauthorized() {
    let echo = EchoClaims::<Claims>::new();
    let service = ServiceBuilder::new()
        .layer(layer())
        .layer(
            GuardLayer::new(RequireScopes::<Claims>::new(["read"]))
                .with_realm(REALM)
                .unwrap(),
        )
        .service(echo.clone());
    let server = serve(service).await;
    let answer = get(&server.url("/"), &[]).await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(answer.challenge(), format!("Bearer realm=\"{REALM}\""));
    assert_eq!(
        get_with_token(&server.url("/"), &token("a")).await.status,
        200
    );
    let no_scope = hs256(&json!({ "sub": "a", "exp": now() + 600 }));
    get_with_token(&server.url("/"), &no_scope)
        .await
        .assert_bearer_rejection(403, Some("insufficient_scope"));
}

#[tokio::test]
async fn anonymous_marker_refuses_like_the_layer() {
    // A handler that needs a user refuses an anonymous request with the layer's answer.
    let handler = service_fn(|request: Request<hyper::body::Incoming>| async move {
        let response = match (
            request.extensions().get::<Claims>(),
            request.extensions().get::<Anonymous>(),
        ) {
            (Some(claims), None) => {
                Response::new(Bytes::from(claims.sub.clone().unwrap_or_default()))
            }
            (None, Some(anonymous)) => anonymous.reject(AuthError::MissingToken, request.headers()),
            _ => panic!("exactly one of claims and the anonymous marker"),
        };
        Ok::<_, Infallible>(response.map(Full::new))
    });
    let server = serve(layer().layer(handler)).await;
    let answer = get(&server.url("/"), &[]).await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(answer.challenge(), format!("Bearer realm=\"{REALM}\""));
    assert_eq!(
        get_with_token(&server.url("/"), &token("zoe")).await.body,
        "zoe"
    );
    // gRPC callers get the gRPC shape from the marker too.
    let answer = get(&server.url("/"), &[("content-type", "application/grpc")]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["grpc-status"], "16");
}

#[tokio::test]
async fn required_mode_sets_no_anonymous_marker() {
    let handler = service_fn(|request: Request<hyper::body::Incoming>| async move {
        assert!(request.extensions().get::<Anonymous>().is_none());
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let layer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap());
    let server = serve(layer.layer(handler)).await;
    assert_eq!(
        get_with_token(&server.url("/"), &token("a")).await.status,
        200
    );
}

#[tokio::test]
async fn scopes_layer_refuses_anonymous_with_bearer_layer_answer() {
    // The scope layer has no realm of its own: the anonymous request still gets the
    // bearer layer's challenge.
    let echo = EchoClaims::<Claims>::new();
    let service = ServiceBuilder::new()
        .layer(layer())
        .layer(GuardLayer::new(RequireScopes::<Claims>::new(["read"])))
        .service(echo.clone());
    let server = serve(service).await;
    let answer = get(&server.url("/"), &[]).await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(answer.challenge(), format!("Bearer realm=\"{REALM}\""));
    assert_eq!(echo.calls(), 0);
}
