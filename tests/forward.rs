//! `ClaimsToHeadersLayer` header hygiene over TCP: every client header that folds to a
//! forwarded name (case, `_` for `-`) is removed; claim values that are not plain
//! printable ASCII (control characters, outer whitespace, commas, non-ASCII, empty)
//! are refused: the header is not sent.
mod common;

use std::collections::BTreeMap;
use std::convert::Infallible;

use bytes::Bytes;
use common::*;
use http::{Request, Response};
use http_body_util::Full;
use serde_json::{json, Value};
use tower::{service_fn, ServiceBuilder};
use tower_bearer::{BearerAuthLayer, ClaimsToHeadersLayer, ConfigError, JwtValidator};

/// Claims as free JSON, so tokens can carry any value.
type Free = Value;

/// Bearer layer, then the forwarding layer, then an upstream that answers with the
/// headers it received (every value of every name, as sent).
async fn gateway() -> TestServer {
    let upstream = service_fn(|request: Request<hyper::body::Incoming>| async move {
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in request.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers.entry(name.to_string()).or_default().push(value);
        }
        let body = serde_json::to_vec(&headers).unwrap();
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
    });
    let forward = ClaimsToHeadersLayer::<Free>::new()
        .with_claim("name", "x-user")
        .unwrap()
        .with_claim("roles", "x-roles")
        .unwrap()
        .with_claim("/org/name", "x-org")
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(BearerAuthLayer::new(
            JwtValidator::<Free>::hs256(SECRET).unwrap(),
        ))
        .layer(forward)
        .service(upstream);
    serve(service).await
}

fn token(claims: Value) -> String {
    let mut claims = claims;
    claims["exp"] = json!(now() + 600);
    hs256(&claims)
}

#[tokio::test]
async fn headers_folding_to_forwarded_names_are_stripped() {
    let server = gateway().await;
    let bearer = format!(
        "Bearer {}",
        token(json!({ "sub": "u1", "name": "alice", "roles": ["a", "b"] }))
    );
    let answer = get(
        &server.url("/"),
        &[
            ("authorization", &bearer),
            ("x_user", "admin"),
            ("X_User", "root"),
            ("X-USER", "root"),
            ("x-user", "root"),
            ("x_roles", "superuser"),
            ("X_ORG", "evil corp"),
            ("x-org", "evil corp"),
            ("x_other", "kept"),
            ("x-users", "kept"),
        ],
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let headers = answer.json();
    assert_eq!(headers["x-user"], json!(["alice"]));
    assert_eq!(headers["x-roles"], json!(["a,b"]));
    // No org claim: every spelling of the header is gone, none is set.
    assert!(
        headers.get("x-org").is_none() && headers.get("x_org").is_none(),
        "{headers}"
    );
    assert!(
        headers.get("x_user").is_none() && headers.get("x_roles").is_none(),
        "{headers}"
    );
    assert_eq!(headers["x_other"], json!(["kept"]));
    assert_eq!(headers["x-users"], json!(["kept"]));
}

#[tokio::test]
async fn unsafe_claim_values_are_not_forwarded() {
    let server = gateway().await;
    let refused = [
        json!(" alice"),
        json!("alice "),
        json!("alice\t"),
        json!("al\u{7f}ice"),
        json!("alice,admin"),
        json!("alice\r\nx-admin: 1"),
        json!("caf\u{e9}"),
        json!(""),
        json!([]),
        json!(["a", "b,c"]),
        json!(["a", " b"]),
        json!(["a", ""]),
        json!({ "nested": 1 }),
        Value::Null,
    ];
    for value in refused {
        let bearer = format!(
            "Bearer {}",
            token(json!({ "sub": "u1", "name": value, "roles": value, "org": { "name": value } }))
        );
        let answer = get(
            &server.url("/"),
            &[("authorization", &bearer), ("x_user", "spoof")],
        )
        .await;
        assert_eq!(answer.status, 200, "{value}: {answer:?}");
        let headers = answer.json();
        for name in ["x-user", "x_user", "x-roles", "x-org"] {
            assert!(headers.get(name).is_none(), "{value}: {name} in {headers}");
        }
    }
    // Inner spaces, punctuation, numbers and booleans are fine.
    let bearer = format!(
        "Bearer {}",
        token(
            json!({ "sub": "u1", "name": "Alice O'Neil (ops)", "roles": [1, true, "r/w"], "org": { "name": 7 } })
        )
    );
    let headers = get(&server.url("/"), &[("authorization", &bearer)])
        .await
        .json();
    assert_eq!(headers["x-user"], json!(["Alice O'Neil (ops)"]));
    assert_eq!(headers["x-roles"], json!(["1,true,r/w"]));
    assert_eq!(headers["x-org"], json!(["7"]));
}

#[test]
fn forwarded_names_that_fold_together_are_refused() {
    let layer = ClaimsToHeadersLayer::<Free>::new()
        .with_claim("sub", "x-user")
        .unwrap();
    for clash in ["x_user", "X-User", "X_USER", "x-user"] {
        let error = layer.clone().with_claim("name", clash).unwrap_err();
        assert_eq!(error, ConfigError::InvalidHeaderName, "{clash}");
    }
    assert!(layer.with_claim("name", "x-user-name").is_ok());
}
