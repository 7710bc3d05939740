//! The gateway example over TCP: client -> gateway -> a real upstream server.
mod common;

#[allow(dead_code)]
#[path = "../examples/gateway.rs"]
mod gateway;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use tower::{service_fn, ServiceExt};
use tower_bearer::{Claims, ClaimsToHeadersLayer, ConfigError, JwtValidator};

/// An upstream that answers with the headers it received, or a fixed odd answer on
/// `/teapot`, and counts its calls.
async fn upstream() -> (TestServer, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if request.uri().path() == "/teapot" {
                let response = Response::builder()
                    .status(418)
                    .header("x-upstream", "kettle")
                    .header("set-cookie", "a=1")
                    .header("set-cookie", "b=2")
                    .body(Full::new(Bytes::from_static(b"short and stout")))
                    .unwrap();
                return Ok::<_, Infallible>(response);
            }
            let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (name, value) in request.headers() {
                let value = value.to_str().unwrap_or("<binary>").to_owned();
                headers.entry(name.to_string()).or_default().push(value);
            }
            let path = request.uri().path_and_query().map(|p| p.to_string());
            let body = request.into_body().collect().await.unwrap().to_bytes();
            let echo =
                json!({ "headers": headers, "path": path, "body": String::from_utf8_lossy(&body) });
            Ok(Response::new(Full::new(Bytes::from(echo.to_string()))))
        }
    });
    (serve(service).await, calls)
}

async fn gateway_to(upstream: &TestServer) -> TestServer {
    let uri = format!("http://{}", upstream.addr).parse().unwrap();
    serve(gateway::gateway(uri, JwtValidator::<Claims>::hs256(SECRET).unwrap()).unwrap()).await
}

fn token() -> String {
    hs256(&json!({ "sub": "alice", "exp": now() + 600, "scope": "read write" }))
}

#[tokio::test]
async fn valid_token_forwards_claims_headers() {
    let (upstream, calls) = upstream().await;
    let gateway = gateway_to(&upstream).await;
    let answer = get_with_token(&gateway.url("/api/items?page=2"), &token()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let echo = answer.json();
    assert_eq!(echo["path"], "/api/items?page=2");
    assert_eq!(echo["headers"]["x-user"], json!(["alice"]));
    assert_eq!(echo["headers"]["x-scopes"], json!(["read write"]));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn spoofed_headers_stripped() {
    let (upstream, _) = upstream().await;
    let gateway = gateway_to(&upstream).await;
    let bearer = format!("Bearer {}", token());
    let answer = get(
        &gateway.url("/"),
        &[
            ("authorization", &bearer),
            ("x-user", "admin"),
            ("x-user", "root"),
            ("X-Scopes", "everything"),
            ("x-other", "kept"),
        ],
    )
    .await;
    let echo = answer.json();
    assert_eq!(echo["headers"]["x-user"], json!(["alice"]));
    assert_eq!(echo["headers"]["x-scopes"], json!(["read write"]));
    assert_eq!(echo["headers"]["x-other"], json!(["kept"]));
}

#[tokio::test]
async fn authorization_stripped() {
    let (upstream, _) = upstream().await;
    let gateway = gateway_to(&upstream).await;
    let echo = get_with_token(&gateway.url("/"), &token()).await.json();
    assert!(echo["headers"].get("authorization").is_none(), "{echo}");
}

#[tokio::test]
async fn request_body_forwarded() {
    let (upstream, _) = upstream().await;
    let gateway = gateway_to(&upstream).await;
    let request = Request::post(gateway.url("/submit"))
        .header("authorization", format!("Bearer {}", token()))
        .body(Full::new(Bytes::from_static(b"payload")))
        .unwrap();
    assert_eq!(send(request).await.json()["body"], "payload");
}

#[tokio::test]
async fn upstream_response_passed_through_untouched() {
    let (upstream, _) = upstream().await;
    let gateway = gateway_to(&upstream).await;
    let answer = get_with_token(&gateway.url("/teapot"), &token()).await;
    assert_eq!(answer.status, 418);
    assert_eq!(answer.headers["x-upstream"], "kettle");
    let cookies: Vec<_> = answer.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(answer.body, "short and stout");
    assert!(answer.headers.get("www-authenticate").is_none());
}

#[tokio::test]
async fn rejected_requests_never_reach_upstream() {
    let (upstream, calls) = upstream().await;
    let gateway = gateway_to(&upstream).await;
    let answer = get(&gateway.url("/"), &[("x-user", "admin")]).await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(answer.challenge(), r#"Bearer realm="gateway""#);
    get_with_token(&gateway.url("/"), "forged.token.here")
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    let expired = hs256(&json!({ "sub": "alice", "exp": now() - 3600 }));
    get_with_token(&gateway.url("/"), &expired)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn upstream_down_bad_gateway() {
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gateway = serve(
        gateway::gateway(
            format!("http://{closed}").parse().unwrap(),
            JwtValidator::<Claims>::hs256(SECRET).unwrap(),
        )
        .unwrap(),
    )
    .await;
    assert_eq!(
        get_with_token(&gateway.url("/"), &token()).await.status,
        502
    );
}

/// The layer alone: odd claim values are dropped, never a panic.
#[tokio::test]
async fn claims_to_headers_odd_values_dropped() {
    #[derive(Clone, serde::Serialize)]
    struct Odd {
        sub: String,
        n: u64,
        admin: bool,
        groups: Vec<String>,
        nested: Value,
        missing: Option<String>,
    }
    let layer = ClaimsToHeadersLayer::<Odd>::new()
        .with_claim("sub", "x-sub")
        .unwrap()
        .with_claim("n", "x-n")
        .unwrap()
        .with_claim("admin", "x-admin")
        .unwrap()
        .with_claim("groups", "x-groups")
        .unwrap()
        .with_claim("nested", "x-nested")
        .unwrap()
        .with_claim("/nested/team", "x-team")
        .unwrap()
        .with_claim("missing", "x-missing")
        .unwrap();
    let service =
        tower::ServiceBuilder::new()
            .layer(layer)
            .service_fn(|request: Request<()>| async move {
                let headers: BTreeMap<String, String> = request
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                    .collect();
                Ok::<_, Infallible>(headers)
            });
    let mut request = Request::new(());
    request
        .headers_mut()
        .insert("x-missing", "spoof".parse().unwrap());
    request.extensions_mut().insert(Odd {
        sub: "line\nbreak".into(),
        n: 42,
        admin: true,
        groups: vec!["a".into(), "b".into()],
        nested: json!({ "team": "blue" }),
        missing: None,
    });
    let headers = service.oneshot(request).await.unwrap();
    let expected: BTreeMap<String, String> = [
        ("x-n", "42"),
        ("x-admin", "true"),
        ("x-groups", "a,b"),
        ("x-team", "blue"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(headers, expected);
}

#[test]
fn claims_to_headers_reserved_names_config_error() {
    for name in [
        "authorization",
        "Cookie",
        "host",
        "content-length",
        "bad name",
    ] {
        let error = ClaimsToHeadersLayer::<Claims>::new()
            .with_claim("sub", name)
            .unwrap_err();
        assert_eq!(error, ConfigError::InvalidHeaderName, "{name}");
    }
    let error = ClaimsToHeadersLayer::<Claims>::new()
        .with_claim("", "x-user")
        .unwrap_err();
    assert_eq!(error, ConfigError::InvalidString("claim"));
}

#[tokio::test]
async fn claims_to_headers_keeps_authorization_unless_asked() {
    let echo = |request: Request<()>| async move {
        Ok::<_, Infallible>(request.headers().get("authorization").cloned())
    };
    let mut request = Request::new(());
    request
        .headers_mut()
        .insert("authorization", "Bearer abc".parse().unwrap());
    let kept = tower::ServiceBuilder::new()
        .layer(
            ClaimsToHeadersLayer::<Claims>::new()
                .with_claim("sub", "x-user")
                .unwrap(),
        )
        .service_fn(echo)
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(kept.unwrap(), "Bearer abc");
    let mut request = Request::new(());
    request
        .headers_mut()
        .insert("authorization", "Bearer abc".parse().unwrap());
    let stripped = tower::ServiceBuilder::new()
        .layer(ClaimsToHeadersLayer::<Claims>::new().strip_authorization())
        .service_fn(echo)
        .oneshot(request)
        .await
        .unwrap();
    assert!(stripped.is_none());
}

/// `JWKS_URL` mode: the gateway checks tokens against a real issuer's JWK set served on
/// 127.0.0.1, and forwards the subject of a token signed by the issuer's key only.
#[cfg(feature = "jwks")]
#[tokio::test]
async fn jwks_mode_accepts_issuer_tokens_refuses_forged() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use tower_bearer::keys::SigningKeys;
    use tower_bearer::metadata::WellKnownService;
    use tower_bearer::{HttpFetcher, JwksValidator};

    install_crypto_provider();
    let ec = |name: &str| EncodingKey::from_ec_pem(&key_file(name)).unwrap();
    let keys = SigningKeys::new("issuer-1", Algorithm::ES256, &ec("ec_private.pem")).unwrap();
    let issuer = serve(WellKnownService::jwks_from_signing_keys(&keys)).await;
    let validator = JwksValidator::<Claims>::new(
        HttpFetcher::new(),
        issuer.url("/.well-known/jwks.json").parse().unwrap(),
    )
    .await
    .unwrap();

    let (upstream, calls) = upstream().await;
    let uri = format!("http://{}", upstream.addr).parse().unwrap();
    let gateway = serve(gateway::gateway(uri, validator).unwrap()).await;

    let claims = json!({ "sub": "carol", "exp": now() + 600, "scope": "read" });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("issuer-1".into());
    let signed = jsonwebtoken::encode(&header, &claims, &ec("ec_private.pem")).unwrap();
    let answer = get_with_token(&gateway.url("/api"), &signed).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json()["headers"]["x-user"], json!(["carol"]));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Same kid, another key: refused at the gateway, upstream never called.
    let forged = jsonwebtoken::encode(&header, &claims, &ec("ec_private_2.pem")).unwrap();
    get_with_token(&gateway.url("/api"), &forged)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    // An HS256 token: the JWK set has no HMAC key, so no algorithm confusion.
    let confused = hs256(&claims);
    get_with_token(&gateway.url("/api"), &confused)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
