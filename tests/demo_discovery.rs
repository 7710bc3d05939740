//! The demo server's discovery documents (RFC 8414, RFC 9728), the `resource_metadata`
//! pointer in its `401` challenges, and its RFC 7662 `POST /introspect`, over TCP
//! against the real binary.

mod common;
#[path = "common/demo.rs"]
mod demo;

use base64::Engine as _;
use common::*;
use demo::{start, start_with, Demo};
use http::StatusCode;

const DEMO_SECRET: &str = "demo-server-test-secret-of-at-least-32-bytes";

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn introspect(demo: &Demo, form: &str, credentials: Option<(&str, &str)>) -> Answer {
    let authorization = credentials.map(|(id, secret)| basic(id, secret));
    let headers: Vec<(&str, &str)> = authorization
        .as_deref()
        .map(|value| vec![("authorization", value)])
        .unwrap_or_default();
    post(
        &demo.url("/introspect"),
        Some(FORM),
        form.to_owned(),
        &headers,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_both_documents_in_hs256_mode_ok() {
    let demo = start(Some(DEMO_SECRET));
    let server = get(&demo.url("/.well-known/oauth-authorization-server"), &[]).await;
    assert_eq!(server.status, StatusCode::OK);
    assert_eq!(server.headers["content-type"], "application/json");
    let server = server.json();
    assert_eq!(server["issuer"], demo.base.as_str());
    assert_eq!(server["token_endpoint"], demo.url("/token"));
    assert_eq!(server["revocation_endpoint"], demo.url("/revoke"));
    assert_eq!(server["introspection_endpoint"], demo.url("/introspect"));
    assert!(server["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&"password".into()));
    assert!(server["token_endpoint_auth_methods_supported"].is_array());
    assert_eq!(
        server["scopes_supported"],
        serde_json::json!(["me", "items"])
    );
    // HMAC keys are secret: nothing to publish.
    assert!(server.get("jwks_uri").is_none(), "{server}");

    let metadata_url = demo.url("/.well-known/oauth-protected-resource");
    let resource = get(&metadata_url, &[]).await;
    assert_eq!(resource.status, StatusCode::OK);
    let resource = resource.json();
    assert_eq!(resource["resource"], demo.base.as_str());
    assert_eq!(
        resource["authorization_servers"],
        serde_json::json!([demo.base])
    );
    assert_eq!(
        resource["bearer_methods_supported"],
        serde_json::json!(["header"])
    );
    assert_eq!(
        resource["scopes_supported"],
        serde_json::json!(["me", "items"])
    );
    // The demo accepts DPoP proofs beside bearer tokens (RFC 9449 §5.1).
    let algs = resource["dpop_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.iter().any(|a| a == "ES256"), "{resource}");
    assert!(
        algs.iter().all(|a| a != "none" && a != "HS256"),
        "{resource}"
    );
    assert_eq!(resource["dpop_bound_access_tokens_required"], false);

    // Every 401 points at the document; 403s and 400s do not need to.
    let pointer = format!(r#"resource_metadata="{metadata_url}""#);
    let missing = get(&demo.url("/users/me"), &[]).await;
    missing.assert_bearer_rejection(401, None);
    assert!(
        missing.challenge().ends_with(&pointer),
        "{}",
        missing.challenge()
    );
    let bad = get_with_token(&demo.url("/status"), "not.a.token").await;
    bad.assert_bearer_rejection(401, Some("invalid_token"));
    assert!(bad.challenge().ends_with(&pointer), "{}", bad.challenge());

    // Other methods on a document: 405.
    let posted = post(&metadata_url, Some(FORM), "", &[]).await;
    assert_eq!(posted.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_publishes_jwks_uri_only_in_asymmetric_modes_ok() {
    let demo = start_with(&[("JWT_ALG", "EdDSA")]);
    let server = get(&demo.url("/.well-known/oauth-authorization-server"), &[]).await;
    assert_eq!(server.status, StatusCode::OK);
    let server = server.json();
    assert_eq!(server["jwks_uri"], demo.url("/.well-known/jwks.json"));
    let keys = get(server["jwks_uri"].as_str().unwrap(), &[]).await;
    assert_eq!(keys.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_introspects_its_own_tokens_for_demo_client_only_ok() {
    let demo = start(Some(DEMO_SECRET));
    let login = post_form(
        &demo.url("/token"),
        "grant_type=password&username=johndoe&password=secret",
    )
    .await;
    assert_eq!(login.status, StatusCode::OK);
    let login = login.json();
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().map(str::to_owned);
    let client = Some(("demo-client", "demo-secret"));

    // Clients must authenticate (RFC 7662 §2.1).
    for credentials in [
        None,
        Some(("demo-client", "wrong")),
        Some(("nobody", "demo-secret")),
    ] {
        let refused = introspect(&demo, &format!("token={access}"), credentials).await;
        assert_oauth_error(&refused, 401, "invalid_client");
    }

    let answer = introspect(&demo, &format!("token={access}"), client).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let body = answer.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], "johndoe");
    assert_eq!(body["scope"], "me items");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["exp"].as_i64().unwrap() > now());

    // Garbage, a forged token: inactive and nothing else.
    let forged = raw_hs256(
        r#"{"alg":"HS256"}"#,
        r#"{"sub":"johndoe","exp":9999999999}"#,
        b"not-the-demo-secret-not-the-demo-secret",
    );
    for token in ["garbage", forged.as_str()] {
        let answer = introspect(&demo, &format!("token={token}"), client).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json(), serde_json::json!({"active": false}));
    }
    let missing = introspect(&demo, "token_type_hint=access_token", client).await;
    assert_oauth_error(&missing, 400, "invalid_request");

    if let Some(refresh) = refresh {
        let answer = introspect(
            &demo,
            &format!("token={refresh}&token_type_hint=refresh_token"),
            client,
        )
        .await;
        let body = answer.json();
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["token_type"], "refresh_token");
        assert_eq!(body["sub"], "johndoe");
        // Revoking the session makes the refresh token inactive.
        let revoked = post_form(&demo.url("/revoke"), &format!("token={refresh}")).await;
        assert_eq!(revoked.status, StatusCode::OK);
        let answer = introspect(&demo, &format!("token={refresh}"), client).await;
        assert_eq!(answer.json(), serde_json::json!({"active": false}));
    }

    // A revoked access token is inactive.
    let revoked = post_form(
        &demo.url("/revoke"),
        &format!("token={access}&token_type_hint=access_token"),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let answer = introspect(&demo, &format!("token={access}"), client).await;
    assert_eq!(answer.json(), serde_json::json!({"active": false}));
}
