//! The opt-in CSRF guard for cookie tokens, over TCP: unsafe requests whose token came
//! from the cookie must come from the same origin (`Sec-Fetch-Site`, `Origin`) or a
//! trusted one; header tokens and safe methods are never checked.
mod common;

use bytes::Bytes;
use common::*;
use http::{Method, Request};
use http_body_util::Full;
use serde_json::json;
use tower::Layer;
use tower_bearer::{BearerAuthLayer, Claims, CsrfGuard, JwtValidator, TokenSources};

fn token() -> String {
    hs256(&json!({ "sub": "alice", "exp": now() + 600 }))
}

async fn server(guard: Option<CsrfGuard>) -> (TestServer, EchoClaims<Claims>) {
    let mut sources = TokenSources::new().with_cookie("__Host-token").unwrap();
    if let Some(guard) = guard {
        sources = sources.with_csrf_guard(guard);
    }
    let echo = EchoClaims::<Claims>::new();
    let layer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap()
        .with_sources(sources);
    (serve(layer.layer(echo.clone())).await, echo)
}

async fn request(server: &TestServer, method: Method, headers: &[(&str, &str)]) -> Answer {
    let mut builder = Request::builder().method(method).uri(server.url("/things"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(builder.body(Full::new(Bytes::new())).unwrap()).await
}

fn guard() -> CsrfGuard {
    CsrfGuard::new()
        .with_trusted_origin("https://app.example")
        .unwrap()
}

#[tokio::test]
async fn cross_site_cookie_requests_refused() {
    let (server, echo) = server(Some(guard())).await;
    let cookie = format!("__Host-token={}", token());
    let host = server.addr.to_string();
    let own_origin = format!("http://{host}");
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        for headers in [
            vec![("sec-fetch-site", "cross-site")],
            vec![("sec-fetch-site", "same-site")],
            vec![("origin", "https://evil.example")],
            vec![("origin", "null")],
            // Sec-Fetch-Site decides over a matching Origin.
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", own_origin.as_str()),
            ],
        ] {
            let mut headers = headers.clone();
            headers.push(("cookie", &cookie));
            let answer = request(&server, method.clone(), &headers).await;
            answer.assert_bearer_rejection(400, Some("invalid_request"));
            assert_eq!(
                answer.json()["error_description"],
                "A cookie token may not be used from another site"
            );
        }
    }
    assert_eq!(echo.calls(), 0);
}

#[tokio::test]
async fn same_origin_trusted_and_safe_requests_pass() {
    let (server, echo) = server(Some(guard())).await;
    let cookie = format!("__Host-token={}", token());
    let own_origin = format!("http://{}", server.addr);
    let cases: Vec<(Method, Vec<(&str, &str)>)> = vec![
        (Method::POST, vec![("sec-fetch-site", "same-origin")]),
        (Method::POST, vec![("sec-fetch-site", "none")]),
        (Method::POST, vec![("origin", own_origin.as_str())]),
        (
            Method::DELETE,
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://app.example"),
            ],
        ),
        // No browser header at all: a non-browser client.
        (Method::POST, vec![]),
        // Safe methods are never checked.
        (Method::GET, vec![("sec-fetch-site", "cross-site")]),
        (Method::HEAD, vec![("origin", "https://evil.example")]),
        (Method::OPTIONS, vec![("sec-fetch-site", "cross-site")]),
    ];
    for (method, mut headers) in cases {
        headers.push(("cookie", &cookie));
        let answer = request(&server, method.clone(), &headers).await;
        assert_eq!(answer.status, 200, "{method} {headers:?}: {answer:?}");
    }
    assert_eq!(echo.calls(), 8);
}

#[tokio::test]
async fn header_tokens_are_not_checked() {
    let (server, echo) = server(Some(guard())).await;
    let bearer = format!("Bearer {}", token());
    let answer = request(
        &server,
        Method::POST,
        &[("authorization", &bearer), ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(echo.calls(), 1);
}

#[tokio::test]
async fn strict_guard_wants_a_browser_header_off_by_default() {
    let (strict, _) = server(Some(guard().require_browser_headers())).await;
    let cookie = format!("__Host-token={}", token());
    request(&strict, Method::POST, &[("cookie", &cookie)])
        .await
        .assert_bearer_rejection(400, Some("invalid_request"));
    // Without the guard (the default) the cookie works from anywhere: opt-in.
    let (open, _) = server(None).await;
    let answer = request(
        &open,
        Method::POST,
        &[("cookie", &cookie), ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
}
