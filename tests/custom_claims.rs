//! Custom claims types over a real server: refusals name the claim that failed (never
//! its value, in header and body), for the default `Claims` and for a type of one's
//! own; `BearerAuthLayer::require_scopes` answers with the bearer layer's realm and
//! rejection handler. A type of one's own with roles, nested and escaped members is
//! read on the validator's one-pass path with the same claims and refusals.

mod common;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::json;
use tower::{service_fn, ServiceBuilder};
use tower_bearer::{
    Audience, BearerAuthLayer, Claims, JwtValidator, Rejection, Scope, ScopeClaims,
};

use common::{get_with_token, hs256, now, serve, Answer, EchoClaims, REALM, SECRET};

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
struct MyClaims {
    sub: String,
    aud: Option<Audience>,
    #[serde(alias = "scp")]
    scope: Option<Scope>,
    #[serde(default)]
    roles: Vec<String>,
    tenant: Option<String>,
}

impl ScopeClaims for MyClaims {
    fn has_scope(&self, scope: &str) -> bool {
        self.scope.as_ref().is_some_and(|s| s.contains(scope))
    }
}

/// Asserts a `401 invalid_token` whose description (body and challenge) is `expected`
/// and contains none of `secrets`.
fn assert_names(answer: &Answer, expected: &str, secrets: &[&str]) {
    answer.assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(answer.json()["error_description"], expected);
    let challenge = answer.challenge();
    assert!(
        challenge.contains(&format!("error_description=\"{expected}\"")),
        "{challenge}"
    );
    let body = String::from_utf8_lossy(&answer.body);
    for secret in secrets {
        assert!(!challenge.contains(secret), "{challenge}");
        assert!(!body.contains(secret), "{body}");
    }
}

#[tokio::test]
async fn own_claims_type_refusals_name_the_member_not_the_value() {
    let validator = JwtValidator::<MyClaims>::hs256(SECRET)
        .unwrap()
        .with_audience("b")
        .unwrap();
    let server = serve(
        ServiceBuilder::new()
            .layer(BearerAuthLayer::new(validator))
            .service(EchoClaims::<MyClaims>::new()),
    )
    .await;
    let url = server.url("/");
    let exp = now() + 600;

    let ok = get_with_token(
        &url,
        &hs256(&json!({"sub": "alice", "exp": exp, "aud": ["a", "b"], "scp": ["x", "y"], "roles": ["admin"]})),
    )
    .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.json()["roles"], json!(["admin"]));
    assert_eq!(ok.json()["scope"], "x y");

    let roles = get_with_token(
        &url,
        &hs256(&json!({"sub": "alice", "exp": exp, "aud": "b", "roles": "admin-Sup3rSecret"})),
    )
    .await;
    assert_names(&roles, "The token roles claim is invalid", &["Sup3rSecret"]);

    let tenant = get_with_token(
        &url,
        &hs256(&json!({"sub": "alice", "exp": exp, "aud": "b", "tenant": {"id": "T0pSecret"}})),
    )
    .await;
    assert_names(&tenant, "The token tenant claim is invalid", &["T0pSecret"]);

    let missing = get_with_token(&url, &hs256(&json!({"exp": exp, "aud": "b"}))).await;
    assert_names(&missing, "The token has no sub claim", &[]);

    // An `aud` array is fine for `Audience` (above); a number is refused by the
    // validator's own check of the registered claim, named the same way.
    let aud = get_with_token(&url, &hs256(&json!({"sub": "alice", "exp": exp, "aud": 7}))).await;
    assert_names(&aud, "The token aud claim is invalid", &[]);
}

#[tokio::test]
async fn default_claims_refusals_name_the_claim() {
    let validator = JwtValidator::<Claims>::hs256(SECRET).unwrap();
    let server = serve(
        ServiceBuilder::new()
            .layer(BearerAuthLayer::new(validator))
            .service(EchoClaims::<Claims>::new()),
    )
    .await;
    let url = server.url("/");
    let exp = now() + 600;
    for (claims, expected) in [
        (
            json!({"sub": 42, "exp": exp}),
            "The token sub claim is invalid",
        ),
        (
            json!({"sub": "a", "exp": exp, "iat": "S3cretIat"}),
            "The token iat claim is invalid",
        ),
        (
            json!({"sub": "a", "exp": exp, "scope": 5}),
            "The token scope claim is invalid",
        ),
        (json!({"sub": "a"}), "The token has no exp claim"),
    ] {
        let answer = get_with_token(&url, &hs256(&claims)).await;
        assert_names(&answer, expected, &["S3cretIat"]);
    }
}

#[tokio::test]
async fn require_scopes_from_the_bearer_layer_shares_realm_and_rejection() {
    let bearer = BearerAuthLayer::new(JwtValidator::<MyClaims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap()
        .on_rejection(|rejection: Rejection<'_>| {
            let mut response = rejection.default_response();
            response
                .headers_mut()
                .insert("x-refused-by", http::HeaderValue::from_static("us"));
            response
        });
    let admin = bearer.require_scopes(["admin"]);
    let server = serve(
        ServiceBuilder::new()
            .layer(bearer)
            .layer(admin)
            .service(service_fn(|_: Request<hyper::body::Incoming>| async {
                Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("in"))))
            })),
    )
    .await;
    let url = server.url("/");
    let exp = now() + 600;

    let reader = get_with_token(
        &url,
        &hs256(&json!({"sub": "a", "exp": exp, "scp": "read"})),
    )
    .await;
    reader.assert_bearer_rejection(403, Some("insufficient_scope"));
    assert_eq!(reader.status, StatusCode::FORBIDDEN);
    let challenge = reader.challenge();
    assert!(
        challenge.starts_with(&format!("Bearer realm=\"{REALM}\"")),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"admin\""), "{challenge}");
    assert_eq!(reader.headers["x-refused-by"], "us");

    let admin = get_with_token(
        &url,
        &hs256(&json!({"sub": "a", "exp": exp, "scope": "admin"})),
    )
    .await;
    assert_eq!(admin.status, 200);
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
struct RealmAccess {
    roles: Vec<String>,
}

/// The members an identity provider such as Keycloak sends, read into a type of one's
/// own: roles, a nested object, an escaped string.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
struct ProviderClaims {
    sub: String,
    exp: i64,
    iat: i64,
    iss: String,
    aud: Audience,
    scope: Scope,
    roles: Vec<String>,
    realm_access: RealmAccess,
    name: Option<String>,
}

#[tokio::test]
async fn own_claims_type_with_roles_and_nested_members_through_the_layer() {
    const ISSUER: &str = "https://idp.example";
    let validator = JwtValidator::<Claims>::hs256(SECRET)
        .unwrap()
        .with_issuer(ISSUER)
        .unwrap()
        .with_audience("api")
        .unwrap()
        .with_claims::<ProviderClaims>();
    let server = serve(
        ServiceBuilder::new()
            .layer(BearerAuthLayer::new(validator))
            .service(EchoClaims::<ProviderClaims>::new()),
    )
    .await;
    let url = server.url("/");
    let (iat, exp) = (now(), now() + 600);
    let claims = json!({
        "sub": "alice", "exp": exp, "iat": iat, "iss": ISSUER, "aud": ["api", "x"],
        "scope": "read write", "roles": ["admin", "reader"],
        "realm_access": {"roles": ["offline_access"], "n": [1, 2.5, null]},
        "name": "Al\"ice \u{e9}\n", "email_verified": true,
    });

    let ok = get_with_token(&url, &hs256(&claims)).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let echoed = ok.json();
    assert_eq!(echoed["sub"], "alice");
    assert_eq!(echoed["iat"], iat);
    assert_eq!(echoed["aud"], json!(["api", "x"]));
    assert_eq!(echoed["scope"], "read write");
    assert_eq!(echoed["roles"], json!(["admin", "reader"]));
    assert_eq!(echoed["realm_access"]["roles"], json!(["offline_access"]));
    assert_eq!(echoed["name"], "Al\"ice \u{e9}\n");

    // The registered claims are checked whatever the type.
    let mut other_issuer = claims.clone();
    other_issuer["iss"] = json!("https://other.example");
    let answer = get_with_token(&url, &hs256(&other_issuer)).await;
    answer.assert_bearer_rejection(401, Some("invalid_token"));

    // Refusals name the member, as serde's reading of the payload does.
    let mut nested = claims.clone();
    nested["realm_access"] = json!({"roles": "offline_access"});
    let answer = get_with_token(&url, &hs256(&nested)).await;
    assert_names(
        &answer,
        "The token realm_access claim is invalid",
        &["offline_access"],
    );

    let mut no_roles = claims.clone();
    no_roles.as_object_mut().unwrap().remove("roles");
    let answer = get_with_token(&url, &hs256(&no_roles)).await;
    assert_names(&answer, "The token has no roles claim", &[]);

    // A duplicated member (JSON text, not a `Value`): refused, named.
    let payload = claims.to_string().replacen(
        "\"roles\":[\"admin\",\"reader\"]",
        "\"roles\":[\"admin\"],\"roles\":[\"reader\"]",
        1,
    );
    assert!(
        payload.contains(r#""roles":["admin"],"roles""#),
        "{payload}"
    );
    let token = hs256_text(&payload);
    let answer = get_with_token(&url, &token).await;
    assert_names(&answer, "The token roles claim is invalid", &[]);
}

/// An HS256 token over the payload text as given (a `Value` cannot hold a duplicate).
fn hs256_text(payload: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    common::install_crypto_provider();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET);
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256).unwrap();
    format!("{input}.{signature}")
}
