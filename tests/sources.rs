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

mod form {
    use super::*;
    use bytes::Bytes;
    use http::{Request, Response};
    use http_body_util::{BodyExt, Either, Full};
    use tower::{service_fn, ServiceBuilder};
    use tower_bearer::FormTokenLayer;

    const FORM: &str = "application/x-www-form-urlencoded";

    /// Form layer, bearer layer, then a service echoing the subject and the body it got.
    async fn server(limit: usize) -> TestServer {
        let echo = service_fn(
            |request: Request<Either<hyper::body::Incoming, Full<Bytes>>>| async move {
                let sub = request
                    .extensions()
                    .get::<Claims>()
                    .and_then(|c| c.sub.clone());
                let body = request
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let echo = json!({ "sub": sub, "body": String::from_utf8_lossy(&body) });
                Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
                    echo.to_string(),
                ))))
            },
        );
        let bearer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
            .with_realm(REALM)
            .unwrap();
        serve(
            ServiceBuilder::new()
                .layer(FormTokenLayer::new().with_limit(limit))
                .layer(bearer)
                .service(echo),
        )
        .await
    }

    async fn post(
        server: &TestServer,
        content_type: &str,
        body: String,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut builder = Request::post(server.url("/")).header("content-type", content_type);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        send(builder.body(Full::new(Bytes::from(body))).unwrap()).await
    }

    #[tokio::test]
    async fn form_token_accepted_body_kept() {
        let server = server(16 * 1024).await;
        let body = format!("item=Foo&access_token={}", token("ivy"));
        let answer = post(&server, FORM, body.clone(), &[]).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.json()["sub"], "ivy");
        assert_eq!(answer.json()["body"], body);
        let answer = post(
            &server,
            "Application/X-WWW-Form-Urlencoded; charset=utf-8",
            body,
            &[],
        )
        .await;
        assert_eq!(answer.json()["sub"], "ivy");
    }

    #[tokio::test]
    async fn form_and_header_bad_request() {
        let server = server(16 * 1024).await;
        let t = token("ivy");
        let bearer = format!("Bearer {t}");
        let answer = post(
            &server,
            FORM,
            format!("access_token={t}"),
            &[("authorization", &bearer)],
        )
        .await;
        answer.assert_bearer_rejection(400, Some("invalid_request"));
        let answer = post(
            &server,
            FORM,
            format!("access_token={t}&access_token={t}"),
            &[],
        )
        .await;
        answer.assert_bearer_rejection(400, Some("invalid_request"));
    }

    #[tokio::test]
    async fn form_malformed_token_invalid_token() {
        let server = server(16 * 1024).await;
        let answer = post(&server, FORM, "access_token=%21%21".into(), &[]).await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
    }

    #[tokio::test]
    async fn form_without_token_header_accepted_body_kept() {
        let server = server(16 * 1024).await;
        let bearer = format!("Bearer {}", token("jo"));
        let answer = post(
            &server,
            FORM,
            "a=1&access_token=".into(),
            &[("authorization", &bearer)],
        )
        .await;
        assert_eq!(answer.json()["sub"], "jo");
        assert_eq!(answer.json()["body"], "a=1&access_token=");
    }

    #[tokio::test]
    async fn other_content_type_or_get_not_read() {
        let server = server(16 * 1024).await;
        let body = format!("access_token={}", token("kim"));
        post(&server, "text/plain", body.clone(), &[])
            .await
            .assert_bearer_rejection(401, None);
        let request = Request::get(server.url("/"))
            .header("content-type", FORM)
            .body(Full::new(Bytes::from(body)));
        send(request.unwrap())
            .await
            .assert_bearer_rejection(401, None);
    }

    #[tokio::test]
    async fn form_over_limit_payload_too_large() {
        let server = server(64).await;
        let body = format!("pad={}&access_token={}", "x".repeat(100), token("kim"));
        let answer = post(&server, FORM, body, &[]).await;
        assert_eq!(answer.status, 413);
        assert_eq!(answer.json()["error"], "invalid_request");
        // Bodies that are not forms are never buffered, whatever their size.
        let bearer = format!("Bearer {}", token("kim"));
        let answer = post(
            &server,
            "text/plain",
            "y".repeat(1000),
            &[("authorization", &bearer)],
        )
        .await;
        assert_eq!(answer.json()["body"].as_str().unwrap().len(), 1000);
    }
}
