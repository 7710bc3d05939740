//! `PathScopes` (a `GuardLayer`) over TCP: non-canonical spellings of a path (`/x/`, `//x`, `/%78`)
//! are refused instead of slipping past the policy, and the deny-by-default mode.
mod common;

use common::*;
use serde_json::json;
use tower::{Layer as _, ServiceBuilder};
use tower_bearer::{BearerAuthLayer, Claims, ConfigError, GuardLayer, JwtValidator, PathScopes};

fn token(scope: &str) -> String {
    hs256(&json!({ "sub": "alice", "exp": now() + 600, "scope": scope }))
}

async fn server(policy: PathScopes<Claims>) -> (TestServer, EchoClaims<Claims>) {
    let echo = EchoClaims::<Claims>::new();
    let bearer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(bearer)
        .layer(GuardLayer::new(policy).with_realm(REALM).unwrap())
        .service(echo.clone());
    (serve(service).await, echo)
}

fn policy() -> PathScopes<Claims> {
    PathScopes::<Claims>::new()
        .with_path("/x", ["admin"])
        .unwrap()
        .with_path("/caf%C3%A9", ["admin"])
        .unwrap()
}

#[tokio::test]
async fn listed_path_needs_its_scopes() {
    let (server, echo) = server(policy()).await;
    let answer = get_with_token(&server.url("/x"), &token("read")).await;
    answer.assert_bearer_rejection(403, Some("insufficient_scope"));
    assert!(answer.challenge().contains("scope=\"admin\""));
    let answer = get_with_token(&server.url("/caf%C3%A9"), &token("read")).await;
    answer.assert_bearer_rejection(403, Some("insufficient_scope"));
    assert_eq!(
        get_with_token(&server.url("/x"), &token("admin"))
            .await
            .status,
        200
    );
    assert_eq!(echo.calls(), 1);
}

/// Each spelling a router might read as `/x` is refused before it reaches the router,
/// even with a token that would be refused on `/x` itself.
#[tokio::test]
async fn non_canonical_spellings_are_refused_with_400() {
    let (server, echo) = server(policy()).await;
    for path in [
        "/x/", "//x", "/%78", "/%2Fx", "/./x", "/y/../x", "/%2e/x", "/X%2f", "/x//", "/%5Cx",
    ] {
        let answer = get_with_token(&server.url(path), &token("read")).await;
        answer.assert_bearer_rejection(400, Some("invalid_request"));
        assert_eq!(
            answer.json()["error_description"],
            "The request path is not in canonical form",
            "{path}"
        );
    }
    // Unlisted canonical paths pass untouched (allow mode), escapes of reserved or
    // non-ASCII characters included.
    for path in ["/", "/y", "/y/z", "/caf%C3%A9x", "/a%20b", "/x.json"] {
        let answer = get_with_token(&server.url(path), &token("read")).await;
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
    }
    assert_eq!(echo.calls(), 6);
}

#[tokio::test]
async fn deny_by_default_refuses_unlisted_paths() {
    let policy = policy().with_open_path("/status").unwrap().deny_unlisted();
    let (server, echo) = server(policy).await;
    for path in ["/", "/y", "/x.json", "/statusx"] {
        let answer = get_with_token(&server.url(path), &token("read admin")).await;
        answer.assert_bearer_rejection(403, Some("insufficient_scope"));
        assert!(
            !answer.challenge().contains("scope="),
            "{}",
            answer.challenge()
        );
        assert_eq!(
            answer.json()["error_description"],
            "No token grants access to this path"
        );
    }
    assert_eq!(echo.calls(), 0);
    // Listed paths: the open one for any valid token, the scoped one with its scope.
    assert_eq!(
        get_with_token(&server.url("/status"), &token("read"))
            .await
            .status,
        200
    );
    get_with_token(&server.url("/x"), &token("read"))
        .await
        .assert_bearer_rejection(403, Some("insufficient_scope"));
    assert_eq!(
        get_with_token(&server.url("/x"), &token("admin"))
            .await
            .status,
        200
    );
    // Non-canonical spellings are still 400, listed or not.
    get_with_token(&server.url("/status/"), &token("read"))
        .await
        .assert_bearer_rejection(400, Some("invalid_request"));
    // No token at all: the bearer layer's 401 comes first.
    get(&server.url("/y"), &[])
        .await
        .assert_bearer_rejection(401, None);
    assert_eq!(echo.calls(), 2);
}

#[tokio::test]
async fn deny_by_default_behind_an_optional_bearer_layer_asks_for_a_token() {
    let echo = EchoClaims::<Claims>::new();
    let bearer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap()
        .optional();
    let policy = PathScopes::<Claims>::new()
        .with_open_path("/status")
        .unwrap()
        .deny_unlisted();
    let server = serve(bearer.layer(GuardLayer::new(policy).layer(echo.clone()))).await;
    get(&server.url("/y"), &[])
        .await
        .assert_bearer_rejection(401, None);
    get(&server.url("/status"), &[])
        .await
        .assert_bearer_rejection(401, None);
    assert_eq!(
        get_with_token(&server.url("/status"), &token(""))
            .await
            .status,
        200
    );
    assert_eq!(echo.calls(), 1);
}

#[test]
fn listed_paths_must_be_canonical() {
    for bad in ["x", "/x/", "//x", "/%78", "/./x", "/x/..", "/a%zz", "/a\\b"] {
        let error = PathScopes::<Claims>::new()
            .with_path(bad, ["admin"])
            .unwrap_err();
        assert_eq!(error, ConfigError::InvalidPath("path"), "{bad}");
        assert!(
            PathScopes::<Claims>::new().with_open_path(bad).is_err(),
            "{bad}"
        );
    }
    assert!(PathScopes::<Claims>::new()
        .with_path("/x", ["a"])
        .unwrap()
        .with_open_path("/x")
        .is_err());
}
