//! Scopes over real TCP: `RequireScopes` (a `GuardLayer`) behind `BearerAuthLayer` (RFC 6750 §3.1
//! `insufficient_scope`), and how the `scope` claim is read.

mod common;

use common::*;
use http::StatusCode;
use serde_json::json;
use tower::ServiceBuilder;
use tower_bearer::{BearerAuthLayer, Claims, GuardLayer, JwtValidator, RequireScopes};

fn validator() -> JwtValidator<Claims> {
    JwtValidator::hs256(SECRET).unwrap()
}

async fn server_with(validator: JwtValidator<Claims>) -> (TestServer, EchoClaims<Claims>) {
    let inner = EchoClaims::<Claims>::new();
    let service = ServiceBuilder::new()
        .layer(BearerAuthLayer::new(validator).with_realm(REALM).unwrap())
        .service(inner.clone());
    (serve(service).await, inner)
}

fn valid_claims() -> serde_json::Value {
    json!({ "sub": "johndoe", "exp": now() + 600, "iat": now(), "scope": "me items" })
}

#[tokio::test]
async fn insufficient_scope_is_403_with_needed_scopes() {
    let inner = EchoClaims::<Claims>::new();
    let service = ServiceBuilder::new()
        .layer(BearerAuthLayer::new(validator()).with_realm(REALM).unwrap())
        .layer(
            GuardLayer::new(RequireScopes::<Claims>::new(["me", "admin"]))
                .with_realm(REALM)
                .unwrap(),
        )
        .service(inner.clone());
    let server = serve(service).await;
    let answer = get_with_token(&server.url("/"), &hs256(&valid_claims())).await;
    answer.assert_bearer_rejection(403, Some("insufficient_scope"));
    assert!(
        answer.challenge().contains("scope=\"me admin\""),
        "{}",
        answer.challenge()
    );
    assert!(answer.challenge().contains(&format!("realm=\"{REALM}\"")));
    assert_eq!(answer.json()["scope"], "me admin");
    assert_eq!(inner.calls(), 0);

    let admin = hs256(&json!({ "exp": now() + 600, "scope": "admin me" }));
    assert_eq!(
        get_with_token(&server.url("/"), &admin).await.status,
        StatusCode::OK
    );
    // A scope that merely contains the needed one as a substring does not count.
    let near = hs256(&json!({ "exp": now() + 600, "scope": "meadmin administrator" }));
    get_with_token(&server.url("/"), &near)
        .await
        .assert_bearer_rejection(403, Some("insufficient_scope"));
}

#[tokio::test]
async fn scope_array_needs_opt_in() {
    let claims = json!({ "exp": now() + 600, "scope": ["me", "items"] });
    let (strict, _) = server_with(validator()).await;
    get_with_token(&strict.url("/"), &hs256(&claims))
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    let (lenient, _) = server_with(validator().allow_scope_array()).await;
    let answer = get_with_token(&lenient.url("/"), &hs256(&claims)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["scope"], "me items");
    // Neither form accepts other types.
    let numeric = json!({ "exp": now() + 600, "scope": 3 });
    get_with_token(&lenient.url("/"), &hs256(&numeric))
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}
