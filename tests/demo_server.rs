//! Runs the real `examples/demo_server.rs` binary and checks the demo server contract
//! of DESIGN.md over TCP, then stops it with SIGTERM and expects exit code 0.

mod common;
#[path = "common/demo.rs"]
mod demo;

use bytes::Bytes;
use common::*;
use demo::{start, start_with, Demo};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tower_bearer::JwtValidator;

const DEMO_SECRET: &str = "demo-server-test-secret-of-at-least-32-bytes";
const REALM: &str = "tower-bearer-demo";

async fn token(demo: &Demo, form: &str) -> String {
    let answer = post_form(&demo.url("/token"), form).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.json()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_contract_ok() {
    let demo = start(Some(DEMO_SECRET));
    let login = "grant_type=password&username=johndoe&password=secret";

    // Public root.
    let root = get(&demo.url("/"), &[]).await;
    assert_eq!(root.status, StatusCode::OK);
    assert!(root.json().is_object());

    // Login: §5.1 shape; HS256 token with sub, iat, exp = iat + 1800, scope.
    let answer = post_form(&demo.url("/token"), login).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert_eq!(answer.headers["content-type"], "application/json");
    let body = answer.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1800);
    assert_eq!(body["scope"], "me items");
    let full = body["access_token"].as_str().unwrap().to_owned();
    let claims = JwtValidator::<Value>::hs256(DEMO_SECRET)
        .unwrap()
        .verify(&full)
        .unwrap();
    assert_eq!(claims["sub"], "johndoe");
    assert_eq!(claims["scope"], "me items");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1800
    );

    // Protected routes.
    let status = get_with_token(&demo.url("/status"), &full).await;
    assert_eq!(
        (status.status, status.json()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let me = get_with_token(&demo.url("/users/me"), &full).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        me.json(),
        json!({"username": "johndoe", "full_name": "John Doe", "email": "johndoe@example.com", "disabled": false})
    );
    let items = get_with_token(&demo.url("/users/me/items"), &full).await;
    assert_eq!(
        (items.status, items.json()),
        (
            StatusCode::OK,
            json!([{"item_id": "Foo", "owner": "johndoe"}])
        )
    );

    // Scopes: a token with `me` only.
    let me_only = token(&demo, &format!("{login}&scope=me")).await;
    assert_eq!(
        get_with_token(&demo.url("/users/me"), &me_only)
            .await
            .status,
        StatusCode::OK
    );
    let refused = get_with_token(&demo.url("/users/me/items"), &me_only).await;
    refused.assert_bearer_rejection(403, Some("insufficient_scope"));
    assert!(
        refused.challenge().contains(r#"scope="me items""#),
        "{}",
        refused.challenge()
    );
    assert!(refused.challenge().contains(&format!(r#"realm="{REALM}""#)));
    let anything = token(&demo, &format!("{login}&scope=items")).await;
    get_with_token(&demo.url("/users/me"), &anything)
        .await
        .assert_bearer_rejection(403, Some("insufficient_scope"));

    // Token endpoint errors.
    let url = demo.url("/token");
    let wrong = post_form(&url, "grant_type=password&username=johndoe&password=nope").await;
    let unknown = post_form(&url, "grant_type=password&username=nobody&password=secret").await;
    let alice = post_form(
        &url,
        "grant_type=password&username=alice&password=secretalice",
    )
    .await;
    for answer in [&wrong, &unknown, &alice] {
        assert_oauth_error(answer, 400, "invalid_grant");
        assert_eq!(answer.body, wrong.body);
    }
    assert_oauth_error(
        &post_form(&url, &format!("{login}&scope=admin")).await,
        400,
        "invalid_scope",
    );
    assert_oauth_error(
        &post_form(&url, "grant_type=password&username=johndoe").await,
        400,
        "invalid_request",
    );
    assert_oauth_error(
        &post_form(&url, "grant_type=authorization_code&code=x").await,
        400,
        "unsupported_grant_type",
    );
    // client_credentials is served (contract addition), for an authenticated client.
    assert_oauth_error(
        &post_form(&url, "grant_type=client_credentials").await,
        401,
        "invalid_client",
    );
    let json_body = post(
        &url,
        Some("application/json"),
        r#"{"username":"johndoe"}"#,
        &[],
    )
    .await;
    assert_oauth_error(&json_body, 415, "invalid_request");
    let big = format!("{login}&pad={}", "a".repeat(17 * 1024));
    assert_oauth_error(&post_form(&url, &big).await, 413, "invalid_request");
    let get_token = get(&url, &[]).await;
    assert_oauth_error(&get_token, 405, "invalid_request");
    assert_eq!(get_token.headers["allow"], "POST");

    // No bearer credentials: 401, realm, no error.
    let no_credentials = format!(
        r#"Bearer realm="{REALM}", resource_metadata="{}""#,
        demo.url("/.well-known/oauth-protected-resource")
    );
    for headers in [
        vec![],
        vec![("authorization", "Basic Og==")],
        vec![("authorization", "Bearer")],
        vec![("authorization", "Bearer ")],
    ] {
        let answer = get(&demo.url("/users/me"), &headers).await;
        answer.assert_bearer_rejection(401, None);
        assert_eq!(answer.challenge(), no_credentials);
    }
    let query_only = get(&demo.url(&format!("/users/me?access_token={full}")), &[]).await;
    query_only.assert_bearer_rejection(401, None);

    // Malformed requests: 400 invalid_request.
    let bearer = format!("Bearer {full}");
    let two = get(
        &demo.url("/status"),
        &[("authorization", &bearer), ("authorization", &bearer)],
    )
    .await;
    two.assert_bearer_rejection(400, Some("invalid_request"));
    let both = get(
        &demo.url(&format!("/status?access_token={full}")),
        &[("authorization", &bearer)],
    )
    .await;
    both.assert_bearer_rejection(400, Some("invalid_request"));

    // Bad tokens: 401 invalid_token.
    let secret = DEMO_SECRET.as_bytes();
    let exp = now() + 600;
    let bad_tokens = [
        "not-a-jwt".to_owned(),
        format!("{full}x"),
        raw_hs256(
            r#"{"alg":"HS256"}"#,
            &format!(r#"{{"sub":"johndoe","exp":{exp},"scope":"me"}}"#),
            b"another-secret-of-32-bytes-or-more!!",
        ),
        format!(
            "{}.{}.",
            b64(br#"{"alg":"none"}"#),
            b64(format!(r#"{{"sub":"johndoe","exp":{exp},"scope":"me"}}"#).as_bytes())
        ),
        raw_hs256(
            r#"{"alg":"HS256"}"#,
            &format!(r#"{{"sub":"johndoe","exp":{},"scope":"me"}}"#, now() - 3600),
            secret,
        ),
        raw_hs256(
            r#"{"alg":"HS256"}"#,
            &format!(
                r#"{{"sub":"johndoe","exp":{exp},"nbf":{},"scope":"me"}}"#,
                now() + 3600
            ),
            secret,
        ),
        raw_hs256(
            r#"{"alg":"HS256"}"#,
            r#"{"sub":"johndoe","scope":"me"}"#,
            secret,
        ),
        raw_hs256(
            r#"{"alg":"HS256"}"#,
            &format!(r#"{{"sub":"johndoe","exp":"{exp}","scope":"me"}}"#),
            secret,
        ),
        raw_hs256(
            r#"{"alg":"HS384"}"#,
            &format!(r#"{{"sub":"johndoe","exp":{exp},"scope":"me"}}"#),
            secret,
        ),
    ];
    for bad in &bad_tokens {
        get_with_token(&demo.url("/users/me"), bad)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }

    // A token minted elsewhere with JWT_SECRET and no jti is valid: 200, and 403 where
    // it lacks the route's scope (not a 401 for the missing jti).
    let minted = raw_hs256(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &format!(r#"{{"sub":"johndoe","exp":{exp},"scope":"me"}}"#),
        secret,
    );
    assert_eq!(
        get_with_token(&demo.url("/users/me"), &minted).await.status,
        StatusCode::OK
    );
    get_with_token(&demo.url("/users/me/items"), &minted)
        .await
        .assert_bearer_rejection(403, Some("insufficient_scope"));

    // Unknown path: 404 JSON.
    let missing = get(&demo.url("/nope"), &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.json()["error"].is_string());

    // HTTP/2 cleartext (prior knowledge).
    let h2 = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let request = Request::get(demo.url("/users/me"))
        .header("authorization", &bearer)
        .body(Full::default())
        .unwrap();
    let response = h2.request(request).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    let _ = response.into_body().collect().await.unwrap();

    demo.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_without_secret_warns_and_serves() {
    let mut demo = start(None);
    let answer = post_form(
        &demo.url("/token"),
        "grant_type=password&username=johndoe&password=secret",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let mut stderr = demo.child.stderr.take().unwrap();
    demo.terminate();
    let mut warning = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut warning).unwrap();
    assert!(
        warning.contains("WARNING") && warning.contains("JWT_SECRET"),
        "{warning}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_short_secret_accepted_with_warning() {
    let mut demo = start(Some("short"));
    let token = token(
        &demo,
        "grant_type=password&username=johndoe&password=secret",
    )
    .await;
    assert_eq!(
        get_with_token(&demo.url("/status"), &token).await.status,
        StatusCode::OK
    );
    let mut stderr = demo.child.stderr.take().unwrap();
    demo.terminate();
    let mut warning = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut warning).unwrap();
    assert!(warning.contains("shorter than 32 bytes"), "{warning}");
}

const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";

/// The decoded JOSE header of `token`.
fn jose_header(token: &str) -> Value {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// An asymmetric mode: login, `/users/me`, the token header's `kid` in a JWK set of
/// public members only, the discovery document, and an HS256 token refused.
async fn check_asymmetric(env: &[(&str, &str)], alg: &str, kty: &str) -> Demo {
    let demo = start_with(env);
    let token = token(&demo, LOGIN).await;
    let header = jose_header(&token);
    assert_eq!(header["alg"], alg, "{header}");
    let kid = header["kid"].as_str().expect("kid in the token header");

    let me = get_with_token(&demo.url("/users/me"), &token).await;
    assert_eq!(
        (me.status, me.json()),
        (
            StatusCode::OK,
            json!({"username": "johndoe", "full_name": "John Doe", "email": "johndoe@example.com", "disabled": false})
        )
    );

    let jwks = get(&demo.url("/.well-known/jwks.json"), &[]).await;
    assert_eq!(jwks.status, StatusCode::OK);
    let keys = jwks.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = keys[0].as_object().unwrap();
    assert_eq!(key["kid"], kid);
    assert_eq!(key["alg"], alg);
    assert_eq!(key["kty"], kty);
    let public = ["kty", "kid", "alg", "use", "crv", "x", "y", "n", "e"];
    for member in key.keys() {
        assert!(public.contains(&member.as_str()), "private member {member}");
    }

    let configuration = get(&demo.url("/.well-known/openid-configuration"), &[]).await;
    assert_eq!(configuration.status, StatusCode::OK);
    let configuration = configuration.json();
    let issuer = configuration["issuer"].as_str().unwrap().to_owned();
    assert_eq!(
        configuration["jwks_uri"],
        format!("{issuer}/.well-known/jwks.json")
    );
    assert_eq!(configuration["token_endpoint"], format!("{issuer}/token"));
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], issuer.as_str());

    // No HS256 fallback: a token MACed with the JWT_SECRET-less dev secret is refused.
    let forged = raw_hs256(
        &format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#),
        &format!(
            r#"{{"sub":"johndoe","exp":{},"scope":"me","iss":"{issuer}"}}"#,
            now() + 600
        ),
        b"tower-bearer-demo-development-secret-do-not-use",
    );
    get_with_token(&demo.url("/users/me"), &forged)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    demo
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_es256_key_file_publishes_jwks_ok() {
    let demo = check_asymmetric(
        &[
            ("JWT_ALG", "ES256"),
            ("JWT_KEY_FILE", "tests/keys/ec_private.pem"),
        ],
        "ES256",
        "EC",
    )
    .await;
    // The published key is the file's public half: ec_public.pem verifies the token.
    let token = token(&demo, LOGIN).await;
    let validator = JwtValidator::<Value>::new(
        jsonwebtoken::Algorithm::ES256,
        &jsonwebtoken::DecodingKey::from_ec_pem(&key_file("ec_public.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(validator.verify(&token).unwrap()["sub"], "johndoe");
    demo.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_rs256_and_eddsa_modes_ok() {
    check_asymmetric(
        &[
            ("JWT_ALG", "RS256"),
            ("JWT_KEY_FILE", "tests/keys/rsa_private.pem"),
        ],
        "RS256",
        "RSA",
    )
    .await
    .terminate();
    check_asymmetric(
        &[
            ("JWT_ALG", "EdDSA"),
            ("JWT_KEY_FILE", "tests/keys/ed_private.pem"),
        ],
        "EdDSA",
        "OKP",
    )
    .await
    .terminate();
    // No key file: a key generated at startup; ISSUER names the issuer.
    let demo = check_asymmetric(
        &[("JWT_ALG", "EdDSA"), ("ISSUER", "http://issuer.invalid")],
        "EdDSA",
        "OKP",
    )
    .await;
    let configuration = get(&demo.url("/.well-known/openid-configuration"), &[]).await;
    assert_eq!(configuration.json()["issuer"], "http://issuer.invalid");
    demo.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_bad_mode_fails_to_start() {
    for env in [
        &[("JWT_ALG", "none")][..],
        &[("JWT_ALG", "RS512")][..],
        &[
            ("JWT_ALG", "ES256"),
            ("JWT_KEY_FILE", "tests/keys/missing.pem"),
        ][..],
        &[
            ("JWT_ALG", "ES256"),
            ("JWT_KEY_FILE", "tests/keys/rsa_private.pem"),
        ][..],
    ] {
        let mut command = std::process::Command::new(demo::demo_binary());
        command
            .env("BIND", "127.0.0.1:0")
            .env_remove("JWKS_URL")
            .env_remove("OIDC_ISSUER")
            .env_remove("JWT_KEY_FILE")
            .envs(env.iter().copied())
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        let output = command.output().unwrap();
        assert!(!output.status.success(), "{env:?} started");
        assert!(output.stdout.is_empty(), "{env:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_validates_another_issuers_tokens_ok() {
    let issuer = start_with(&[
        ("JWT_ALG", "ES256"),
        ("JWT_KEY_FILE", "tests/keys/ec_private.pem"),
    ]);
    let from_issuer = token(&issuer, LOGIN).await;
    let jwks_url = issuer.url("/.well-known/jwks.json");
    for env in [
        [("JWKS_URL", jwks_url.as_str()), ("JWT_SECRET", DEMO_SECRET)],
        [
            ("OIDC_ISSUER", issuer.base.as_str()),
            ("JWT_SECRET", DEMO_SECRET),
        ],
    ] {
        let relying = start_with(&env);
        let me = get_with_token(&relying.url("/users/me"), &from_issuer).await;
        assert_eq!(me.status, StatusCode::OK, "{env:?}: {:?}", me.body);
        assert_eq!(me.json()["username"], "johndoe");
        let items = get_with_token(&relying.url("/users/me/items"), &from_issuer).await;
        assert_eq!(items.status, StatusCode::OK);
        // Its own /token still issues HS256 tokens, which it does not accept.
        let own = token(&relying, LOGIN).await;
        get_with_token(&relying.url("/users/me"), &own)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
        relying.terminate();
    }
    issuer.terminate();
}

/// Basic credentials of the demo's one client.
fn demo_client_basic(secret: &str) -> String {
    use base64::Engine as _;
    let pair = format!("demo-client:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_users_sessions_and_clients_contract_ok() {
    let demo = start(Some(DEMO_SECRET));
    let sign = |claims: serde_json::Value| {
        install_crypto_provider();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(DEMO_SECRET.as_bytes()),
        )
        .unwrap()
    };

    // User routes: a valid token whose subject is disabled (alice) or unknown is 401
    // invalid_token, on both routes, with the demo's realm.
    for sub in ["alice", "nobody"] {
        let token = sign(json!({"sub": sub, "exp": now() + 600, "scope": "me items"}));
        for path in ["/users/me", "/users/me/items"] {
            let answer = get_with_token(&demo.url(path), &token).await;
            answer.assert_bearer_rejection(401, Some("invalid_token"));
            assert!(answer.challenge().contains(REALM), "{}", answer.challenge());
        }
    }

    // client_credentials for demo-client: HTTP Basic or form credentials.
    let basic = post(
        &demo.url("/token"),
        Some(FORM),
        "grant_type=client_credentials",
        &[("authorization", &demo_client_basic("demo-secret"))],
    )
    .await;
    assert_eq!(basic.status, StatusCode::OK, "{:?}", basic.body);
    let client_token = basic.json()["access_token"].as_str().unwrap().to_owned();
    let claims = JwtValidator::<Value>::hs256(DEMO_SECRET)
        .unwrap()
        .verify(&client_token)
        .unwrap();
    assert_eq!(claims["client_id"], "demo-client");
    assert_eq!(claims["sub"], "demo-client");
    assert!(basic.json().get("refresh_token").is_none());
    let form = post_form(
        &demo.url("/token"),
        "grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret",
    )
    .await;
    assert_eq!(form.status, StatusCode::OK, "{:?}", form.body);
    let wrong = post(
        &demo.url("/token"),
        Some(FORM),
        "grant_type=client_credentials",
        &[("authorization", &demo_client_basic("nope"))],
    )
    .await;
    assert_oauth_error(&wrong, 401, "invalid_client");
    // Its tokens are not users.
    assert_eq!(
        get_with_token(&demo.url("/status"), &client_token)
            .await
            .status,
        StatusCode::OK
    );
    for path in ["/users/me", "/users/me/items"] {
        get_with_token(&demo.url(path), &client_token)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }
    // Revoking a client's token takes its credentials.
    let anonymous = post_form(&demo.url("/revoke"), &format!("token={client_token}")).await;
    assert_oauth_error(&anonymous, 401, "invalid_client");
    assert_eq!(
        get_with_token(&demo.url("/status"), &client_token)
            .await
            .status,
        StatusCode::OK
    );
    let revoked = post(
        &demo.url("/revoke"),
        Some(FORM),
        format!("token={client_token}"),
        &[("authorization", &demo_client_basic("demo-secret"))],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    get_with_token(&demo.url("/status"), &client_token)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));

    // Sessions: revoking the refresh token (no client authentication: the password
    // grant issued it without a client) ends its access tokens.
    let login = post_form(
        &demo.url("/token"),
        "grant_type=password&username=johndoe&password=secret",
    )
    .await;
    assert_eq!(login.status, StatusCode::OK);
    let access = login.json()["access_token"].as_str().unwrap().to_owned();
    let refresh = login.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get_with_token(&demo.url("/users/me"), &access).await.status,
        StatusCode::OK
    );
    let answer = post_form(&demo.url("/revoke"), &format!("token={refresh}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    for path in ["/users/me", "/users/me/items", "/status"] {
        get_with_token(&demo.url(path), &access)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }

    // A parameter repeated with one empty copy is a repeat (RFC 6749 §3.1).
    for form in [
        "grant_type=password&username=johndoe&username=&password=secret",
        "grant_type=password&username=&username=johndoe&password=secret",
    ] {
        assert_oauth_error(
            &post_form(&demo.url("/token"), form).await,
            400,
            "invalid_request",
        );
    }
    demo.terminate();
}
