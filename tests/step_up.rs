//! RFC 9470 step-up over TCP: a `Policy` with `acr` / `max_age` inside a `BearerAuthLayer`, tokens with
//! and without a strong enough or recent enough authentication, HTTP and gRPC shapes,
//! and RFC 9728's `resource_metadata` in the challenges.

mod common;

use std::time::Duration;

use common::*;
use http::StatusCode;
use serde_json::json;
use tower::ServiceBuilder;
use tower_bearer::{BearerAuthLayer, GuardLayer, JwtValidator, Policy, StepUpClaims};

const METADATA: &str = "https://api.example/.well-known/oauth-protected-resource";

async fn api(step_up: Policy<StepUpClaims>) -> TestServer {
    let bearer = BearerAuthLayer::new(JwtValidator::<StepUpClaims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap()
        .with_resource_metadata(METADATA)
        .unwrap();
    let step_up = GuardLayer::new(step_up).with_challenge(bearer.challenge().clone());
    serve(
        ServiceBuilder::new()
            .layer(bearer)
            .layer(step_up)
            .service(EchoClaims::<StepUpClaims>::new()),
    )
    .await
}

fn token(acr: Option<&str>, auth_time: Option<i64>) -> String {
    let mut claims = json!({"sub": "alice", "exp": now() + 600, "scope": "pay"});
    if let Some(acr) = acr {
        claims["acr"] = acr.into();
    }
    if let Some(auth_time) = auth_time {
        claims["auth_time"] = auth_time.into();
    }
    hs256(&claims)
}

#[tokio::test]
async fn acr_rule_refuses_weaker_logins_with_acr_values_ok() {
    let server = api(Policy::new().acr(["phrh", "phr"]).unwrap()).await;
    let url = server.url("/pay");

    let strong = get_with_token(&url, &token(Some("phr"), None)).await;
    assert_eq!(strong.status, StatusCode::OK, "{:?}", strong.body);
    let claims = strong.json();
    assert_eq!(claims["acr"], "phr");
    assert_eq!(claims["sub"], "alice");

    for weak in [
        token(Some("pwd"), None),
        token(None, None),
        token(Some("phrhx"), None),
    ] {
        let answer = get_with_token(&url, &weak).await;
        answer.assert_bearer_rejection(401, Some("insufficient_user_authentication"));
        assert_eq!(
            answer.challenge(),
            format!(
                r#"Bearer realm="{REALM}", error="insufficient_user_authentication", error_description="A different or more recent user authentication is required", acr_values="phrh phr", resource_metadata="{METADATA}""#
            )
        );
        let body = answer.json();
        assert_eq!(body["acr_values"], "phrh phr");
        assert!(body.get("max_age").is_none());
    }
}

#[tokio::test]
async fn max_age_rule_refuses_old_or_missing_auth_time_ok() {
    let server = api(Policy::new().max_age(Duration::from_secs(300))).await;
    let url = server.url("/pay");

    let fresh = get_with_token(&url, &token(None, Some(now() - 10))).await;
    assert_eq!(fresh.status, StatusCode::OK);

    for stale in [
        token(None, Some(now() - 3600)),
        token(Some("phr"), None),
        // Far in the future: a clock that lies is no recent login.
        token(None, Some(now() + 3600)),
    ] {
        let answer = get_with_token(&url, &stale).await;
        answer.assert_bearer_rejection(401, Some("insufficient_user_authentication"));
        assert!(
            answer.challenge().contains(r#"max_age="300""#),
            "{}",
            answer.challenge()
        );
        assert!(!answer.challenge().contains("acr_values"));
        assert_eq!(answer.json()["max_age"], 300);
    }

    // Both rules: both announced.
    let both = api(Policy::new()
        .acr(["mfa"])
        .unwrap()
        .max_age(Duration::from_secs(60)))
    .await;
    let answer = get_with_token(&both.url("/"), &token(Some("mfa"), Some(now() - 600))).await;
    answer.assert_bearer_rejection(401, Some("insufficient_user_authentication"));
    assert!(answer
        .challenge()
        .contains(r#"acr_values="mfa", max_age="60""#));
    let ok = get_with_token(&both.url("/"), &token(Some("mfa"), Some(now() - 5))).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn invalid_tokens_are_still_invalid_token_and_grpc_gets_status_16_ok() {
    let server = api(Policy::new().acr(["mfa"]).unwrap()).await;
    let url = server.url("/pay");
    let bad = get_with_token(&url, "not.a.jwt").await;
    bad.assert_bearer_rejection(401, Some("invalid_token"));
    assert!(bad
        .challenge()
        .ends_with(&format!(r#"resource_metadata="{METADATA}""#)));

    let weak = token(Some("pwd"), None);
    let grpc = post(
        &url,
        Some("application/grpc"),
        "",
        &[("authorization", &format!("Bearer {weak}"))],
    )
    .await;
    assert_eq!(grpc.status, StatusCode::OK);
    assert_eq!(grpc.headers["grpc-status"], "16");
    assert!(grpc
        .challenge()
        .contains(r#"error="insufficient_user_authentication""#));
    assert!(grpc.body.is_empty());
}

#[test]
fn bad_acr_values_are_refused_when_built() {
    assert!(Policy::<StepUpClaims>::new().acr(["has space"]).is_err());
    assert!(Policy::<StepUpClaims>::new().acr(["quote\""]).is_err());
    assert!(Policy::<StepUpClaims>::new()
        .acr(Vec::<&str>::new())
        .is_err());
    assert!(
        BearerAuthLayer::new(JwtValidator::<StepUpClaims>::hs256(SECRET).unwrap())
            .with_resource_metadata("https://a.example/x\"y")
            .is_err()
    );
    assert!(
        BearerAuthLayer::new(JwtValidator::<StepUpClaims>::hs256(SECRET).unwrap())
            .with_resource_metadata("/relative")
            .is_err()
    );
}
