//! Token sources (RFC 6750 §2) over TCP: header, cookie, custom header, query.
mod common;

use common::*;
use serde_json::json;
use tower::Layer;
use tower_bearer::{BearerAuthLayer, Claims, ConfigError, JwtValidator, TokenSources};

fn token(sub: &str) -> String {
    hs256(&json!({ "sub": sub, "exp": now() + 600 }))
}

async fn server(sources: TokenSources) -> (TestServer, EchoClaims<Claims>) {
    let echo = EchoClaims::<Claims>::new();
    let layer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap()
        .with_sources(sources);
    (serve(layer.layer(echo.clone())).await, echo)
}

fn all_sources() -> TokenSources {
    TokenSources::new()
        .with_cookie("token")
        .unwrap()
        .with_header("x-access-token")
        .unwrap()
        .insecure_with_query()
}

fn assert_sub(answer: &Answer, sub: &str) {
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json()["sub"], sub);
}

#[tokio::test]
async fn default_header_accepted() {
    let (server, _) = server(TokenSources::default()).await;
    assert_sub(
        &get_with_token(&server.url("/"), &token("alice")).await,
        "alice",
    );
}

#[tokio::test]
async fn default_scheme_case_insensitive_accepted() {
    let (server, _) = server(TokenSources::default()).await;
    let header = format!("bEaReR {}", token("alice"));
    assert_sub(
        &get(&server.url("/"), &[("authorization", &header)]).await,
        "alice",
    );
}

#[tokio::test]
async fn default_cookie_and_query_ignored_unauthorized() {
    let (server, echo) = server(TokenSources::default()).await;
    let t = token("alice");
    let answer = get(&server.url("/"), &[("cookie", &format!("token={t}"))]).await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(answer.challenge(), format!("Bearer realm=\"{REALM}\""));
    let answer = get(&server.url(&format!("/?access_token={t}")), &[]).await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(echo.calls(), 0);
}

#[tokio::test]
async fn unread_query_malformed_value_unauthorized_without_error() {
    // A query parameter the layer does not read never fails the request by itself.
    let (server, _) = server(TokenSources::default()).await;
    let answer = get(&server.url("/?access_token=%21%21&access_token=x"), &[]).await;
    answer.assert_bearer_rejection(401, None);
}

#[tokio::test]
async fn header_and_unread_query_bad_request() {
    let (server, echo) = server(TokenSources::default()).await;
    let t = token("alice");
    for query in ["access_token=x", "a=1&access%5Ftoken=x", "access_token=%21"] {
        let answer = get_with_token(&server.url(&format!("/?{query}")), &t).await;
        answer.assert_bearer_rejection(400, Some("invalid_request"));
    }
    assert_eq!(echo.calls(), 0);
}

#[tokio::test]
async fn header_and_empty_query_parameter_accepted() {
    // A parameter with no value counts as omitted (RFC 6749 §3.1).
    let (server, _) = server(TokenSources::default()).await;
    assert_sub(
        &get_with_token(&server.url("/?access_token="), &token("bob")).await,
        "bob",
    );
}

#[tokio::test]
async fn cookie_accepted() {
    let (server, _) = server(TokenSources::new().with_cookie("token").unwrap()).await;
    let t = token("carol");
    let cookie = format!("theme=dark; token={t}; lang=en");
    assert_sub(
        &get(&server.url("/"), &[("cookie", &cookie)]).await,
        "carol",
    );
    let quoted = format!("token=\"{t}\"");
    assert_sub(
        &get(&server.url("/"), &[("cookie", &quoted)]).await,
        "carol",
    );
}

#[tokio::test]
async fn cookie_name_case_sensitive_unauthorized() {
    let (server, _) = server(TokenSources::new().with_cookie("token").unwrap()).await;
    let answer = get(
        &server.url("/"),
        &[("cookie", &format!("Token={}", token("c")))],
    )
    .await;
    answer.assert_bearer_rejection(401, None);
}

#[tokio::test]
async fn cookie_twice_bad_request() {
    let (server, echo) = server(TokenSources::new().with_cookie("token").unwrap()).await;
    let t = token("carol");
    let same_header = format!("token={t}; token={t}");
    get(&server.url("/"), &[("cookie", &same_header)])
        .await
        .assert_bearer_rejection(400, Some("invalid_request"));
    let one = format!("token={t}");
    get(&server.url("/"), &[("cookie", &one), ("cookie", &one)])
        .await
        .assert_bearer_rejection(400, Some("invalid_request"));
    assert_eq!(echo.calls(), 0);
}

#[tokio::test]
async fn cookie_bad_token_invalid_token() {
    let (server, _) = server(TokenSources::new().with_cookie("token").unwrap()).await;
    get(&server.url("/"), &[("cookie", "token=not.a.jwt")])
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

#[tokio::test]
async fn cookie_only_ignores_authorization_header() {
    let sources = TokenSources::new()
        .without_authorization_header()
        .with_cookie("token")
        .unwrap();
    let (server, _) = server(sources).await;
    get_with_token(&server.url("/"), &token("dave"))
        .await
        .assert_bearer_rejection(401, None);
    let cookie = format!("token={}", token("dave"));
    assert_sub(&get(&server.url("/"), &[("cookie", &cookie)]).await, "dave");
}

#[tokio::test]
async fn custom_header_accepted() {
    let (server, _) = server(TokenSources::new().with_header("x-access-token").unwrap()).await;
    let t = token("erin");
    assert_sub(
        &get(&server.url("/"), &[("x-access-token", &t)]).await,
        "erin",
    );
}

#[tokio::test]
async fn custom_header_twice_bad_request() {
    let (server, _) = server(TokenSources::new().with_header("x-access-token").unwrap()).await;
    let t = token("erin");
    get(
        &server.url("/"),
        &[("x-access-token", &t), ("x-access-token", &t)],
    )
    .await
    .assert_bearer_rejection(400, Some("invalid_request"));
}

#[tokio::test]
async fn custom_header_with_scheme_invalid_token() {
    let (server, _) = server(TokenSources::new().with_header("x-access-token").unwrap()).await;
    let value = format!("Bearer {}", token("erin"));
    get(&server.url("/"), &[("x-access-token", &value)])
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

#[tokio::test]
async fn query_opt_in_accepted() {
    let (server, _) = server(TokenSources::new().insecure_with_query()).await;
    let t = token("frank");
    assert_sub(
        &get(&server.url(&format!("/?page=2&access_token={t}")), &[]).await,
        "frank",
    );
    // The parameter name may be percent-encoded.
    assert_sub(
        &get(&server.url(&format!("/?access%5Ftoken={t}")), &[]).await,
        "frank",
    );
}

#[tokio::test]
async fn query_twice_bad_request() {
    let (server, _) = server(TokenSources::new().insecure_with_query()).await;
    let t = token("frank");
    get(
        &server.url(&format!("/?access_token={t}&access_token={t}")),
        &[],
    )
    .await
    .assert_bearer_rejection(400, Some("invalid_request"));
}

#[tokio::test]
async fn query_malformed_invalid_token() {
    let (server, _) = server(TokenSources::new().insecure_with_query()).await;
    get(&server.url("/?access_token=%21%21"), &[])
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

#[tokio::test]
async fn every_source_alone_accepted() {
    let (server, echo) = server(all_sources()).await;
    let t = token("gina");
    let url = server.url("/");
    assert_sub(&get_with_token(&url, &t).await, "gina");
    assert_sub(
        &get(&url, &[("cookie", &format!("token={t}"))]).await,
        "gina",
    );
    assert_sub(&get(&url, &[("x-access-token", &t)]).await, "gina");
    assert_sub(
        &get(&server.url(&format!("/?access_token={t}")), &[]).await,
        "gina",
    );
    assert_eq!(echo.calls(), 4);
}

#[tokio::test]
async fn token_in_two_places_bad_request() {
    let (server, echo) = server(all_sources()).await;
    let t = token("gina");
    let bearer = format!("Bearer {t}");
    let cookie = format!("token={t}");
    let pairs: [&[(&str, &str)]; 4] = [
        &[("authorization", &bearer), ("cookie", &cookie)],
        &[("authorization", &bearer), ("x-access-token", &t)],
        &[("cookie", &cookie), ("x-access-token", &t)],
        &[
            ("authorization", &bearer),
            ("cookie", &cookie),
            ("x-access-token", &t),
        ],
    ];
    for headers in pairs {
        get(&server.url("/"), headers)
            .await
            .assert_bearer_rejection(400, Some("invalid_request"));
    }
    get_with_token(&server.url(&format!("/?access_token={t}")), &t)
        .await
        .assert_bearer_rejection(400, Some("invalid_request"));
    get(
        &server.url(&format!("/?access_token={t}")),
        &[("cookie", &cookie)],
    )
    .await
    .assert_bearer_rejection(400, Some("invalid_request"));
    assert_eq!(echo.calls(), 0);
}

#[tokio::test]
async fn other_scheme_with_cookie_accepted() {
    // `Authorization: Basic` carries no bearer token, so the cookie is the only one.
    let (server, _) = server(all_sources()).await;
    let cookie = format!("token={}", token("hank"));
    let answer = get(
        &server.url("/"),
        &[("authorization", "Basic dXNlcjpwYXNz"), ("cookie", &cookie)],
    )
    .await;
    assert_sub(&answer, "hank");
}

#[tokio::test]
async fn invalid_source_names_config_error() {
    assert_eq!(
        TokenSources::new()
            .with_header("authorization")
            .unwrap_err(),
        ConfigError::InvalidHeaderName
    );
    assert_eq!(
        TokenSources::new().with_header("cookie").unwrap_err(),
        ConfigError::InvalidHeaderName
    );
    assert_eq!(
        TokenSources::new().with_header("bad header").unwrap_err(),
        ConfigError::InvalidHeaderName
    );
    assert_eq!(
        TokenSources::new().with_cookie("").unwrap_err(),
        ConfigError::InvalidCookieName
    );
    assert_eq!(
        TokenSources::new().with_cookie("a;b").unwrap_err(),
        ConfigError::InvalidCookieName
    );
    assert_eq!(
        TokenSources::new().with_cookie("a b").unwrap_err(),
        ConfigError::InvalidCookieName
    );
}
