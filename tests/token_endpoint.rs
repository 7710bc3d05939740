//! The token endpoint over real TCP: RFC 6749 §4.3 password grant, §5.1, §5.2, form
//! decoding rules, client authentication, body bounds, hostile input, concurrency.

mod common;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use http::StatusCode;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{json, Map, Value};
use tower::Layer as _;
use tower_bearer::store::StoreError;
use tower_bearer::token_endpoint::{
    InMemoryUserStore, PasswordHasher, TokenEndpoint, TokenEndpointBuilder, TokenIssuer, User,
    UserStore,
};
use tower_bearer::{BearerAuthLayer, Claims, ConfigError, JwtValidator};

const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";

/// Argon2id with tiny parameters: the rules under test do not depend on the cost.
fn hasher() -> PasswordHasher {
    PasswordHasher::new().with_params(256, 1, 1).unwrap()
}

/// A store whose users carry an email, put into tokens by the extra-claims hook.
#[derive(Clone)]
struct Store(Arc<InMemoryUserStore<String>>);

impl UserStore for Store {
    type Profile = String;

    fn find_user(
        &self,
        username: &str,
    ) -> impl std::future::Future<Output = Result<Option<User<String>>, StoreError>> + Send {
        self.0.find_user(username)
    }

    fn extra_claims(&self, user: &User<String>) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("email".into(), user.profile().clone().into());
        claims.insert("sub".into(), "spoofed".into());
        claims
    }
}

fn store() -> Store {
    let h = hasher();
    Store(Arc::new(
        InMemoryUserStore::new()
            .with_user(
                User::new("johndoe", h.hash("secret").unwrap())
                    .with_scopes(["me", "items"])
                    .with_profile("johndoe@example.com".to_owned()),
            )
            .with_user(
                User::new("alice", h.hash("secretalice").unwrap())
                    .with_scopes(["me"])
                    .disabled()
                    .with_profile("alice@example.com".to_owned()),
            ),
    ))
}

fn builder() -> TokenEndpointBuilder<Store> {
    TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), store())
        .with_hasher(hasher())
        .allow_password_grant()
}

async fn server(builder: TokenEndpointBuilder<Store>) -> TestServer {
    serve(builder.build().unwrap()).await
}

async fn login(form: &str) -> Answer {
    let server = server(builder()).await;
    post_form(&server.url("/token"), form).await
}

fn validator() -> JwtValidator<Value> {
    JwtValidator::<Value>::hs256(SECRET).unwrap()
}

// ---- §5.1 success -------------------------------------------------------------------

#[tokio::test]
async fn login_valid_credentials_returns_bearer_token() {
    let answer = login(LOGIN).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.headers["cache-control"], "no-store");
    let body = answer.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "me items");
    assert!(
        body["expires_in"].is_u64(),
        "expires_in must be an integer: {body}"
    );
    assert_eq!(body["expires_in"], 1800);
    let claims = validator()
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims["sub"], "johndoe");
    assert_eq!(claims["scope"], "me items");
    assert_eq!(claims["email"], "johndoe@example.com");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 1800);
    assert!((iat - now()).abs() <= 5);
}

#[tokio::test]
async fn login_token_accepted_by_bearer_layer_ok() {
    let body = login(LOGIN).await.json();
    let token = body["access_token"].as_str().unwrap();
    let api = serve(
        BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
            .layer(EchoClaims::<Claims>::new()),
    )
    .await;
    let answer = get_with_token(&api.url("/"), token).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["sub"], "johndoe");
}

#[tokio::test]
async fn login_requested_subset_scope_grants_only_it() {
    let body = login(&format!("{LOGIN}&scope=items")).await.json();
    assert_eq!(body["scope"], "items");
    let claims = validator()
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims["scope"], "items");
}

#[tokio::test]
async fn login_scope_beyond_user_invalid_scope() {
    assert_oauth_error(
        &login(&format!("{LOGIN}&scope=me+admin")).await,
        400,
        "invalid_scope",
    );
}

#[tokio::test]
async fn login_scope_bad_characters_invalid_scope() {
    assert_oauth_error(
        &login(&format!("{LOGIN}&scope=me%22x")).await,
        400,
        "invalid_scope",
    );
}

// ---- invalid_grant: one answer for every failure --------------------------------------

#[tokio::test]
async fn login_wrong_unknown_disabled_identical_invalid_grant() {
    let server = server(builder()).await;
    let url = server.url("/token");
    let wrong = post_form(&url, "grant_type=password&username=johndoe&password=nope").await;
    let unknown = post_form(&url, "grant_type=password&username=nobody&password=secret").await;
    let disabled = post_form(
        &url,
        "grant_type=password&username=alice&password=secretalice",
    )
    .await;
    assert_oauth_error(&wrong, 400, "invalid_grant");
    for other in [&unknown, &disabled] {
        assert_eq!(other.status, wrong.status);
        assert_eq!(other.body, wrong.body, "answers differ byte for byte");
        let mut a = other.headers.clone();
        let mut b = wrong.headers.clone();
        a.remove("date");
        b.remove("date");
        assert_eq!(a, b);
    }
}

#[tokio::test]
async fn login_overlong_password_invalid_grant() {
    let form = format!(
        "grant_type=password&username=johndoe&password={}",
        "x".repeat(2000)
    );
    assert_oauth_error(&login(&form).await, 400, "invalid_grant");
}

// ---- grant_type ---------------------------------------------------------------------

#[tokio::test]
async fn login_missing_grant_type_strict_invalid_request() {
    assert_oauth_error(
        &login("username=johndoe&password=secret").await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn login_missing_grant_type_lenient_ok() {
    let server = server(builder().lenient_grant_type()).await;
    let answer = post_form(&server.url("/token"), "username=johndoe&password=secret").await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = post_form(&server.url("/token"), "grant_type=client_credentials").await;
    assert_oauth_error(&answer, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn login_other_grant_type_unsupported_grant_type() {
    assert_oauth_error(
        &login("grant_type=authorization_code&code=x").await,
        400,
        "unsupported_grant_type",
    );
    assert_oauth_error(
        &login("grant_type=Password&username=johndoe&password=secret").await,
        400,
        "unsupported_grant_type",
    );
}

#[test]
fn builder_without_password_grant_fails() {
    let result = TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), store()).build();
    assert!(matches!(result, Err(ConfigError::Missing(_))));
}

// ---- §3.1 / §3.2 parameters ---------------------------------------------------------

#[tokio::test]
async fn login_missing_username_invalid_request() {
    assert_oauth_error(
        &login("grant_type=password&password=secret").await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn login_missing_password_invalid_request() {
    assert_oauth_error(
        &login("grant_type=password&username=johndoe").await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn login_duplicate_parameter_invalid_request() {
    for form in [
        "grant_type=password&username=johndoe&password=secret&password=secret",
        "grant_type=password&grant_type=password&username=johndoe&password=secret",
        "grant_type=password&username=johndoe&username=alice&password=secret",
        "grant_type=password&username=johndoe&password=secret&scope=me&scope=items",
        "grant_type=password&username=johndoe&password=secret&client_id=a&client_id=b",
    ] {
        assert_oauth_error(&login(form).await, 400, "invalid_request");
    }
}

#[tokio::test]
async fn login_empty_values_count_as_omitted() {
    // An empty scope is no scope: the user's scopes are granted.
    let answer = login(&format!("{LOGIN}&scope=&client_id=")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["scope"], "me items");
    // An empty username is a missing username.
    assert_oauth_error(
        &login("grant_type=password&username=&password=secret").await,
        400,
        "invalid_request",
    );
    // A bare name is a missing value too.
    assert_oauth_error(
        &login("grant_type=password&username=johndoe&password").await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn login_unknown_parameters_ignored_ok() {
    assert_eq!(
        login(&format!("{LOGIN}&foo=1&foo=2&redirect_uri=x"))
            .await
            .status,
        StatusCode::OK
    );
}

// ---- what real clients send -----------------------------------------------------------

#[tokio::test]
async fn login_swagger_basic_og_ok() {
    let server = server(builder()).await;
    let answer = post(
        &server.url("/token"),
        Some(FORM),
        LOGIN,
        &[("authorization", "Basic Og==")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn login_requests_oauthlib_basic_id_only_ok() {
    let server = server(builder()).await;
    let basic = format!("Basic {}", STANDARD.encode("my-app:"));
    let answer = post(
        &server.url("/token"),
        Some(FORM),
        LOGIN,
        &[("authorization", &basic)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn login_authlib_client_id_none_in_body_ok() {
    let server = server(builder()).await;
    let content_type = "application/x-www-form-urlencoded;charset=UTF-8";
    let answer = post(
        &server.url("/token"),
        Some(content_type),
        format!("{LOGIN}&client_id=None"),
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn login_content_type_case_and_params_ok() {
    let server = server(builder()).await;
    for content_type in [
        "Application/X-WWW-Form-URLEncoded; Charset=utf-8",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        "application/x-www-form-urlencoded ;charset=UTF-8",
    ] {
        let answer = post(&server.url("/token"), Some(content_type), LOGIN, &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{content_type}");
    }
}

fn multipart(fields: &[(&str, &str)]) -> (String, String) {
    let boundary = "----tower-bearer-boundary-7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn login_multipart_form_ok() {
    let server = server(builder()).await;
    let (content_type, body) = multipart(&[
        ("grant_type", "password"),
        ("username", "johndoe"),
        ("password", "secret"),
        ("scope", "me"),
    ]);
    let answer = post(&server.url("/token"), Some(&content_type), body, &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.json()["scope"], "me");
}

#[tokio::test]
async fn login_multipart_duplicate_invalid_request() {
    let server = server(builder()).await;
    let (content_type, body) = multipart(&[
        ("grant_type", "password"),
        ("username", "johndoe"),
        ("password", "secret"),
        ("password", "x"),
    ]);
    let answer = post(&server.url("/token"), Some(&content_type), body, &[]).await;
    assert_oauth_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn login_multipart_broken_invalid_request() {
    let server = server(builder()).await;
    let url = server.url("/token");
    let answer = post(
        &url,
        Some("multipart/form-data; boundary=abc"),
        "--abc\r\nno headers end",
        &[],
    )
    .await;
    assert_oauth_error(&answer, 400, "invalid_request");
    let answer = post(&url, Some("multipart/form-data"), "whatever", &[]).await;
    assert_oauth_error(&answer, 400, "invalid_request");
}

// ---- content type, method, size -------------------------------------------------------

#[tokio::test]
async fn login_json_content_type_unsupported_media_type() {
    let server = server(builder()).await;
    let body =
        json!({"grant_type": "password", "username": "johndoe", "password": "secret"}).to_string();
    let answer = post(&server.url("/token"), Some("application/json"), body, &[]).await;
    assert_oauth_error(&answer, 415, "invalid_request");
    let answer = post(&server.url("/token"), None, LOGIN, &[]).await;
    assert_oauth_error(&answer, 415, "invalid_request");
}

#[tokio::test]
async fn token_other_methods_method_not_allowed() {
    let server = server(builder()).await;
    for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let request = http::Request::builder()
            .method(method)
            .uri(server.url("/token"))
            .body(http_body_util::Full::default())
            .unwrap();
        let answer = send(request).await;
        assert_oauth_error(&answer, 405, "invalid_request");
        assert_eq!(answer.headers["allow"], "POST");
    }
}

#[tokio::test]
async fn login_body_over_limit_content_length_payload_too_large() {
    let server = server(builder()).await;
    let body = format!("{LOGIN}&pad={}", "a".repeat(16 * 1024));
    assert_oauth_error(
        &post_form(&server.url("/token"), &body).await,
        413,
        "invalid_request",
    );
    // A declared length over the bound is refused before any byte is read.
    let head = format!(
        "POST /token HTTP/1.1\r\nhost: x\r\ncontent-type: {FORM}\r\ncontent-length: 1000000000\r\n\r\n{LOGIN}"
    );
    let answer = raw(server.addr, head.as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn login_body_at_limit_ok() {
    let server = server(builder()).await;
    let prefix = format!("{LOGIN}&pad=");
    let body = format!("{prefix}{}", "a".repeat(16 * 1024 - prefix.len()));
    assert_eq!(body.len(), 16 * 1024);
    assert_eq!(
        post_form(&server.url("/token"), &body).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn login_chunked_body_over_limit_payload_too_large() {
    let server = server(builder()).await;
    let mut request = format!("POST /token HTTP/1.1\r\nhost: x\r\ncontent-type: {FORM}\r\ntransfer-encoding: chunked\r\n\r\n");
    let chunk = "a".repeat(4096);
    for _ in 0..5 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let answer = raw(server.addr, request.as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");
}

#[tokio::test]
async fn login_chunked_body_within_limit_ok() {
    let server = server(builder()).await;
    let (a, b) = LOGIN.split_at(10);
    let request = format!(
        "POST /token HTTP/1.1\r\nhost: x\r\ncontent-type: {FORM}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let answer = raw(server.addr, request.as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn login_bad_chunking_bad_request() {
    let server = server(builder()).await;
    let request = format!(
        "POST /token HTTP/1.1\r\nhost: x\r\ncontent-type: {FORM}\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{LOGIN}\r\n0\r\n\r\n"
    );
    let answer = raw(server.addr, request.as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

#[tokio::test]
async fn login_body_shorter_than_content_length_bad_request() {
    let server = server(builder()).await;
    let request = format!("POST /token HTTP/1.1\r\nhost: x\r\ncontent-type: {FORM}\r\ncontent-length: 500\r\n\r\n{LOGIN}");
    let answer = raw(server.addr, request.as_bytes(), true).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");
}

// ---- hostile form bodies ----------------------------------------------------------------

#[tokio::test]
async fn login_hostile_bodies_never_5xx() {
    let server = server(builder()).await;
    let url = server.url("/token");
    let many = "a=1&".repeat(4000);
    let bodies: Vec<Vec<u8>> = vec![
        b"%zz%%%&&&===".to_vec(),
        b"grant_type=password&username=\xff\xfe&password=\x00\x01".to_vec(),
        b"grant_type=password&username=%FF%FE&password=%00".to_vec(),
        b"grant_type=password&username=john%0d%0aSet-Cookie:x&password=secret".to_vec(),
        b"=&=&=&grant_type".to_vec(),
        many.into_bytes(),
        b"grant_type=password&username=johndoe&password=secret&scope=%E2%98%83".to_vec(),
        vec![b'&'; 16 * 1024],
    ];
    for body in bodies {
        let answer = post(&url, Some(FORM), body.clone(), &[]).await;
        assert!(
            answer.status.is_client_error(),
            "{body:?} -> {}",
            answer.status
        );
        let code = answer.json()["error"].as_str().unwrap().to_owned();
        assert_oauth_error(&answer, answer.status.as_u16(), &code);
    }
}

// ---- registered clients (§2.3.1) --------------------------------------------------------

async fn client_server() -> TestServer {
    server(
        builder()
            .with_client("web", "s3cr:et")
            .unwrap()
            .with_public_client("spa")
            .unwrap(),
    )
    .await
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

#[tokio::test]
async fn client_basic_correct_secret_ok() {
    let server = client_server().await;
    // The secret is form-urlencoded inside Basic (":" becomes %3A).
    let auth = basic("web", "s3cr%3Aet");
    let answer = post(
        &server.url("/token"),
        Some(FORM),
        LOGIN,
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn client_basic_wrong_secret_invalid_client_with_challenge() {
    let server = client_server().await;
    for auth in [
        basic("web", "nope"),
        basic("ghost", "x"),
        "Basic !!!".to_owned(),
        "Basic Og==".to_owned(),
    ] {
        let answer = post(
            &server.url("/token"),
            Some(FORM),
            LOGIN,
            &[("authorization", &auth)],
        )
        .await;
        assert_oauth_error(&answer, 401, "invalid_client");
        assert!(
            answer.challenge().starts_with("Basic "),
            "{}",
            answer.challenge()
        );
    }
}

#[tokio::test]
async fn client_body_credentials_ok_and_wrong_invalid_client() {
    let server = client_server().await;
    let url = server.url("/token");
    let ok = post_form(
        &url,
        &format!("{LOGIN}&client_id=web&client_secret=s3cr%3Aet"),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    let public = post_form(&url, &format!("{LOGIN}&client_id=spa")).await;
    assert_eq!(public.status, StatusCode::OK);
    let wrong = post_form(&url, &format!("{LOGIN}&client_id=web&client_secret=nope")).await;
    assert_oauth_error(&wrong, 401, "invalid_client");
    assert!(wrong.headers.get("www-authenticate").is_none());
    let none = post_form(&url, LOGIN).await;
    assert_oauth_error(&none, 401, "invalid_client");
}

#[tokio::test]
async fn client_two_methods_invalid_request() {
    let server = client_server().await;
    let auth = basic("web", "s3cr%3Aet");
    let form = format!("{LOGIN}&client_id=web&client_secret=s3cr%3Aet");
    let answer = post(
        &server.url("/token"),
        Some(FORM),
        form,
        &[("authorization", &auth)],
    )
    .await;
    assert_oauth_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn login_two_authorization_headers_invalid_request() {
    let server = server(builder()).await;
    let answer = post(
        &server.url("/token"),
        Some(FORM),
        LOGIN,
        &[
            ("authorization", "Basic Og=="),
            ("authorization", "Basic Og=="),
        ],
    )
    .await;
    assert_oauth_error(&answer, 400, "invalid_request");
}

// ---- concurrency ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_concurrent_storm_all_succeed() {
    // Room for every login to wait, even in the lane for recently failed usernames
    // (johndoe's bad passwords put its logins there): the bounds are tested in
    // tests/login_bounds.rs.
    let hasher = hasher()
        .with_max_concurrency(2)
        .unwrap()
        .with_max_waiting(128)
        .unwrap()
        .with_max_wait(std::time::Duration::from_secs(60))
        .unwrap();
    let server = server(builder().with_hasher(hasher)).await;
    let url = server.url("/token");
    let logins = (0..32).map(|i| {
        let url = url.clone();
        tokio::spawn(async move {
            let form = if i % 4 == 0 {
                "grant_type=password&username=johndoe&password=bad"
            } else {
                LOGIN
            };
            (i, post_form(&url, form).await.status)
        })
    });
    for login in logins {
        let (i, status) = login.await.unwrap();
        let expected = if i % 4 == 0 {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected);
    }
}

// ---- issuer -----------------------------------------------------------------------------

#[test]
fn issuer_short_hmac_secret_fails_unless_insecure() {
    assert_eq!(
        TokenIssuer::hs256(b"short").unwrap_err(),
        ConfigError::HmacKeyTooShort { minimum: 32 }
    );
    let key = EncodingKey::from_secret(b"short");
    assert!(TokenIssuer::insecure_short_hmac_key(Algorithm::HS256, &key).is_ok());
    assert!(
        TokenIssuer::insecure_short_hmac_key(Algorithm::HS256, &EncodingKey::from_secret(b""))
            .is_err()
    );
    assert_eq!(
        TokenIssuer::new(Algorithm::RS256, &key).unwrap_err(),
        ConfigError::KeyAlgorithmMismatch
    );
}

#[test]
fn issuer_registered_claims_validate_ok() {
    let issuer = TokenIssuer::hs256(SECRET)
        .unwrap()
        .with_issuer("https://auth.example")
        .unwrap()
        .with_audience("api")
        .unwrap()
        .with_kid("k1")
        .unwrap()
        .with_jti();
    let issued = issuer.issue("johndoe", "me", Map::new()).unwrap();
    let validator = JwtValidator::<Value>::new(Algorithm::HS256, &DecodingKey::from_secret(SECRET))
        .unwrap()
        .with_issuer("https://auth.example")
        .unwrap()
        .with_audience("api")
        .unwrap()
        .require_jti();
    let claims = validator.verify(&issued.token).unwrap();
    assert_eq!(claims["iss"], "https://auth.example");
    assert_eq!(claims["aud"], "api");
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
    let other = issuer.issue("johndoe", "me", Map::new()).unwrap();
    assert_ne!(
        claims["jti"],
        validator.verify(&other.token).unwrap()["jti"]
    );
}

#[test]
fn issuer_asymmetric_keys_validate_ok() {
    for (algorithm, private, public) in [
        (Algorithm::RS256, "rsa_private.pem", "rsa_public.pem"),
        (Algorithm::ES256, "ec_private.pem", "ec_public.pem"),
        (Algorithm::ES384, "ec384_private.pem", "ec384_public.pem"),
        (Algorithm::EdDSA, "ed_private.pem", "ed_public.pem"),
    ] {
        let encoding = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&key_file(private)).unwrap(),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&key_file(private)).unwrap(),
            _ => EncodingKey::from_ec_pem(&key_file(private)).unwrap(),
        };
        let decoding = match algorithm {
            Algorithm::RS256 => DecodingKey::from_rsa_pem(&key_file(public)).unwrap(),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(&key_file(public)).unwrap(),
            _ => DecodingKey::from_ec_pem(&key_file(public)).unwrap(),
        };
        let issued = TokenIssuer::new(algorithm, &encoding)
            .unwrap()
            .issue("u", "s", Map::new())
            .unwrap();
        let claims: Claims = JwtValidator::new(algorithm, &decoding)
            .unwrap()
            .verify(&issued.token)
            .unwrap();
        assert_eq!(claims.sub.as_deref(), Some("u"), "{algorithm:?}");
    }
}

#[test]
fn issuer_debug_redacts_key() {
    let debug = format!("{:?}", TokenIssuer::hs256(SECRET).unwrap());
    assert!(
        !debug.contains(std::str::from_utf8(SECRET).unwrap()),
        "{debug}"
    );
}
