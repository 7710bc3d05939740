//! Authorization beyond all-of `scope`, over TCP: the scope claim under another name
//! (`scp`, string or array), any-of scope sets, rules on other claims (equals,
//! contains, a predicate), per route and per path / gRPC method.
mod common;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use serde_json::{json, Value};
use tower::{Layer, ServiceBuilder};
use tower_bearer::{
    BearerAuthLayer, ClaimValues, Claims, GuardLayer, JwtValidator, PathScopes, Policy,
    RequireScopes,
};

fn bearer<C>(validator: JwtValidator<C>) -> BearerAuthLayer<JwtValidator<C>>
where
    C: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    BearerAuthLayer::new(validator).with_realm(REALM).unwrap()
}

fn token(claims: Value) -> String {
    let mut claims = claims;
    claims["exp"] = json!(now() + 600);
    hs256(&claims)
}

/// A 403 whose challenge has no `error` and whose body says `forbidden`: the answer to
/// a claim rule other than scopes.
fn assert_forbidden(answer: &Answer) {
    answer.assert_bearer_rejection(403, None);
    assert_eq!(answer.challenge(), format!(r#"Bearer realm="{REALM}""#));
    assert_eq!(answer.json()["error"], "forbidden");
    assert_eq!(answer.headers["content-type"], "application/json");
}

fn assert_insufficient_scope(answer: &Answer, scope: &str) {
    answer.assert_bearer_rejection(403, Some("insufficient_scope"));
    assert!(
        answer
            .challenge()
            .ends_with(&format!(r#", scope="{scope}""#)),
        "{}",
        answer.challenge()
    );
    assert_eq!(answer.json()["scope"], scope);
}

#[tokio::test]
async fn scp_claim_string_or_array_grants_scopes_and_scope_is_ignored() {
    let validator = JwtValidator::<Claims>::hs256(SECRET)
        .unwrap()
        .scope_claim("scp")
        .unwrap();
    let echo = EchoClaims::<Claims>::new();
    let service = ServiceBuilder::new()
        .layer(bearer(validator))
        .layer(
            GuardLayer::new(RequireScopes::<Claims>::new(["orders.read"]))
                .with_realm(REALM)
                .unwrap(),
        )
        .service(echo.clone());
    let server = serve(service).await;
    let url = server.url("/orders");

    // Entra ID's form: a space-separated string.
    let answer = get_with_token(&url, &token(json!({ "sub": "a", "scp": "x orders.read" }))).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["scope"], "x orders.read");
    // Okta's form: an array (the serde path); an escaped member name forces that path
    // for the string form too.
    let answer = get_with_token(&url, &token(json!({ "sub": "a", "scp": ["orders.read"] }))).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["scope"], "orders.read");
    let escaped = raw_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(
            r#"{{"n\u0061me":"x","exp":{},"scp":"orders.read"}}"#,
            now() + 600
        ),
        SECRET,
    );
    let answer = get_with_token(&url, &escaped).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["scope"], "orders.read");

    // `scope` is no longer read: it grants nothing, on either path.
    for claims in [
        json!({ "sub": "a", "scope": "orders.read", "scp": "other" }),
        json!({ "sub": "a", "scope": "orders.read", "nested": { "x": 1 } }),
    ] {
        let answer = get_with_token(&url, &token(claims)).await;
        assert_insufficient_scope(&answer, "orders.read");
    }
    // A `scp` of another type is an invalid token, on either path.
    for claims in [
        json!({ "sub": "a", "scp": 7 }),
        json!({ "sub": "a", "scp": 7, "nested": { "x": 1 } }),
    ] {
        let answer = get_with_token(&url, &token(claims)).await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
    }
    assert_eq!(echo.calls(), 3);
}

#[tokio::test]
async fn any_of_scopes_pass_with_one_and_announce_all() {
    let echo = EchoClaims::<Claims>::new();
    let service = ServiceBuilder::new()
        .layer(bearer(JwtValidator::<Claims>::hs256(SECRET).unwrap()))
        .layer(
            GuardLayer::new(RequireScopes::<Claims>::any_of(["admin", "orders:write"]).unwrap())
                .with_realm(REALM)
                .unwrap(),
        )
        .service(echo.clone());
    let server = serve(service).await;
    for scope in ["admin", "orders:write", "x orders:write y"] {
        let answer = get_with_token(&server.url("/"), &token(json!({ "scope": scope }))).await;
        assert_eq!(answer.status, 200, "{scope}");
    }
    for scope in ["", "orders:read", "adminx"] {
        let answer = get_with_token(&server.url("/"), &token(json!({ "scope": scope }))).await;
        assert_insufficient_scope(&answer, "admin orders:write");
    }
    assert_eq!(echo.calls(), 3);
}

/// Roles, groups and tenant rules on JSON claims, per route: the scope rule answers
/// `insufficient_scope`, the others `forbidden`, and the service runs only when all hold.
#[tokio::test]
async fn claim_rules_on_json_claims_per_route() {
    let policy = Policy::<Value>::new()
        .all_scopes(["orders"])
        .unwrap()
        .claim_equals("tid", "tenant-a")
        .unwrap()
        .claim_contains("roles", "clerk")
        .unwrap()
        .require(|claims: &Value| claims["email_verified"] == true);
    let echo = EchoClaims::<Value>::new();
    let service = ServiceBuilder::new()
        .layer(bearer(JwtValidator::<Value>::hs256(SECRET).unwrap()))
        .layer(GuardLayer::new(policy).with_realm(REALM).unwrap())
        .service(echo.clone());
    let server = serve(service).await;
    let url = server.url("/orders");
    let good = json!({
        "sub": "alice", "scope": "orders", "tid": "tenant-a",
        "roles": ["auditor", "clerk"], "email_verified": true,
    });
    let answer = get_with_token(&url, &token(good.clone())).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["sub"], "alice");

    let mut no_scope = good.clone();
    no_scope["scope"] = json!("other");
    assert_insufficient_scope(&get_with_token(&url, &token(no_scope)).await, "orders");

    let changes = [
        ("tid", json!("tenant-b")),
        ("tid", json!(["tenant-a"])),
        ("tid", Value::Null),
        ("roles", json!(["auditor"])),
        ("roles", json!("clerks")),
        ("roles", json!(1)),
        ("email_verified", json!(false)),
    ];
    for (name, value) in changes {
        let mut claims = good.clone();
        claims[name] = value.clone();
        let answer = get_with_token(&url, &token(claims)).await;
        assert_forbidden(&answer);
        assert_eq!(
            answer.json()["error_description"],
            "The token does not grant access to this resource",
            "{name}: {value}"
        );
    }
    // A single-string `roles` holding the role counts as containing it.
    let mut one_role = good.clone();
    one_role["roles"] = json!("clerk");
    assert_eq!(get_with_token(&url, &token(one_role)).await.status, 200);
    // Without a token the answer is the bearer layer's 401, as before.
    get(&url, &[]).await.assert_bearer_rejection(401, None);
    assert_eq!(echo.calls(), 2);
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct MyClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    scp: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

impl tower_bearer::ScopeClaims for MyClaims {
    fn has_scope(&self, scope: &str) -> bool {
        self.scp.iter().any(|s| s == scope)
    }
}

impl ClaimValues for MyClaims {
    fn claim_str(&self, name: &str) -> Option<&str> {
        (name == "sub").then_some(&*self.sub)
    }

    fn claim_contains(&self, name: &str, value: &str) -> bool {
        match name {
            "groups" => self.groups.iter().any(|g| g == value),
            _ => self.claim_str(name) == Some(value),
        }
    }
}

/// Per gRPC method (and per path for plain HTTP), with the user's own claims type:
/// gRPC refusals are status 7 for both kinds of rule; other methods pass untouched.
#[tokio::test]
async fn path_policies_per_grpc_method_with_own_claims() {
    let admin = Policy::<MyClaims>::new()
        .any_scope(["admin", "root"])
        .unwrap()
        .claim_contains("groups", "ops")
        .unwrap();
    let layer = GuardLayer::new(
        PathScopes::<MyClaims>::new()
            .with_path_policy("/shop.Orders/Delete", admin)
            .unwrap()
            .with_path("/shop.Orders/Create", ["orders.write"])
            .unwrap(),
    )
    .with_realm(REALM)
    .unwrap();
    assert!(PathScopes::<MyClaims>::new()
        .with_path_policy("no-slash", Policy::new())
        .is_err());
    let echo = EchoClaims::<MyClaims>::new();
    let service =
        bearer(JwtValidator::<MyClaims>::hs256(SECRET).unwrap()).layer(layer.layer(echo.clone()));
    let server = serve(service).await;

    let grpc = |path: &str, token: &str| {
        Request::post(server.url(path))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("authorization", format!("Bearer {token}"))
            .body(Full::<Bytes>::default())
            .unwrap()
    };
    let ops_admin = token(json!({ "sub": "a", "scp": ["admin"], "groups": ["ops"] }));
    let dev_admin = token(json!({ "sub": "a", "scp": ["root"], "groups": ["dev"] }));
    let ops_reader = token(json!({ "sub": "a", "scp": ["read"], "groups": ["ops"] }));

    let answer = send(grpc("/shop.Orders/Delete", &ops_admin)).await;
    assert_eq!(answer.status, 200);
    assert!(answer.headers.get("grpc-status").is_none());
    assert_eq!(answer.json()["sub"], "a");

    let answer = send(grpc("/shop.Orders/Delete", &dev_admin)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["grpc-status"], "7");
    assert_eq!(
        answer.headers["grpc-message"],
        "forbidden: The token does not grant access to this resource"
    );
    assert_eq!(
        answer.headers["www-authenticate"],
        format!(r#"Bearer realm="{REALM}""#)
    );

    let answer = send(grpc("/shop.Orders/Delete", &ops_reader)).await;
    assert_eq!(answer.headers["grpc-status"], "7");
    assert!(answer.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains(r#"error="insufficient_scope""#));

    // The scopes-only path and an unlisted method.
    let answer = send(grpc("/shop.Orders/Create", &ops_admin)).await;
    assert_eq!(answer.headers["grpc-status"], "7");
    let answer = send(grpc("/shop.Orders/List", &ops_reader)).await;
    assert_eq!(answer.status, 200);
    assert!(answer.headers.get("grpc-status").is_none());

    // The same rules over plain HTTP: 403 forbidden / insufficient_scope.
    let url = server.url("/shop.Orders/Delete");
    assert_forbidden(&get_with_token(&url, &dev_admin).await);
    assert_insufficient_scope(&get_with_token(&url, &ops_reader).await, "admin root");
    assert_eq!(echo.calls(), 2);
}

#[test]
fn scope_claim_names_the_validator_reads_itself_are_refused() {
    for name in ["", "exp", "iss", "aud", "sub", "jti", "nbf", "iat"] {
        assert!(
            JwtValidator::<Claims>::hs256(SECRET)
                .unwrap()
                .scope_claim(name)
                .is_err(),
            "{name}"
        );
    }
}
