//! Hostile input against the token endpoint and the revocation endpoint, over real TCP
//! on 127.0.0.1, by attack class. Every answer is checked for the RFC 6749 §5.2 shape
//! (JSON `error` code, `Cache-Control: no-store`, a fixed description in §5.2's
//! character set) and never a 5xx.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tower_bearer::store::{Client, MemoryStore};
use tower_bearer::token_endpoint::{
    InMemoryUserStore, PasswordHasher, RevocationEndpoint, TokenEndpoint, TokenIssuer, User,
    DEFAULT_MAX_BODY,
};
use tower_bearer::{Claims, JwtValidator};

const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";
const BODY_TIMEOUT: Duration = Duration::from_millis(300);

fn hasher() -> PasswordHasher {
    PasswordHasher::new().with_params(256, 1, 1).unwrap()
}

/// The token endpoint with every grant, a short body timeout.
async fn token_server() -> TestServer {
    let users = InMemoryUserStore::new()
        .with_user(User::new("johndoe", hasher().hash("secret").unwrap()).with_scopes(["me"]))
        // "josé" in NFC, password "sécret" in NFC.
        .with_user(User::new(
            "jos\u{e9}",
            hasher().hash("s\u{e9}cret").unwrap(),
        ));
    let clients =
        Arc::new(MemoryStore::new().with_clients([Client::new("svc", "s3cret", "read").unwrap()]));
    let endpoint = TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), users)
        .with_hasher(hasher())
        .allow_password_grant()
        .with_refresh_tokens(Arc::new(MemoryStore::new()), Duration::from_secs(3600))
        .with_client_credentials(clients)
        .with_body_timeout(BODY_TIMEOUT)
        .unwrap()
        .build()
        .unwrap();
    serve(endpoint).await
}

async fn revoke_server() -> TestServer {
    serve(RevocationEndpoint::new(
        JwtValidator::<Claims>::hs256(SECRET).unwrap(),
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryStore::new()),
    ))
    .await
}

/// The status line and the JSON body of a raw answer.
fn raw_status(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

fn raw_error(answer: &str) -> String {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    json["error"].as_str().unwrap_or_default().to_owned()
}

fn head(path: &str, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: t\r\ncontent-type: application/x-www-form-urlencoded\r\n{extra}\r\n"
    )
}

// ---- slow bodies (RFC 9110 §15.5.9: 408 when the body does not arrive in time) ------

#[tokio::test]
async fn slow_body_with_length_times_out_408() {
    let server = token_server().await;
    // Ten bytes of a declared hundred, then silence.
    let request = format!("{}grant_type", head("/token", "content-length: 100\r\n"));
    let answer = raw(server.addr, request.as_bytes(), false).await;
    assert_eq!(raw_status(&answer), 408, "{answer}");
    assert_eq!(raw_error(&answer), "invalid_request");
}

#[tokio::test]
async fn slow_chunked_body_times_out_408() {
    let server = token_server().await;
    let request = format!(
        "{}a\r\ngrant_type\r\n",
        head("/token", "transfer-encoding: chunked\r\n")
    );
    let answer = raw(server.addr, request.as_bytes(), false).await;
    assert_eq!(raw_status(&answer), 408, "{answer}");
}

#[test]
fn body_timeout_zero_is_a_config_error() {
    let users = InMemoryUserStore::<()>::new();
    let builder = TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), users);
    assert!(builder.with_body_timeout(Duration::ZERO).is_err());
}

// ---- oversize bodies (bounded before and while reading) -----------------------------

#[tokio::test]
async fn oversize_bodies_413_on_both_endpoints() {
    let (token, revoke) = (token_server().await, revoke_server().await);
    let big = format!("{LOGIN}&pad={}", "a".repeat(DEFAULT_MAX_BODY));
    for (server, path) in [(&token, "/token"), (&revoke, "/revoke")] {
        let answer = post_form(&server.url(path), &big).await;
        assert_oauth_error(&answer, 413, "invalid_request");
        // Chunked, with no length to refuse up front: cut off while reading.
        let chunk = "a".repeat(4096);
        let mut request = head(path, "transfer-encoding: chunked\r\n");
        for _ in 0..(DEFAULT_MAX_BODY / 4096 + 2) {
            request.push_str(&format!("1000\r\n{chunk}\r\n"));
        }
        request.push_str("0\r\n\r\n");
        let answer = raw(server.addr, request.as_bytes(), false).await;
        assert_eq!(raw_status(&answer), 413, "{path}");
    }
}

// ---- percent-encoding (WHATWG urlencoded; strict UTF-8 after decoding) --------------

#[tokio::test]
async fn bad_percent_encoding_and_utf8() {
    let server = token_server().await;
    let url = server.url("/token");
    // Not UTF-8 once decoded: refused, never replaced by U+FFFD.
    for form in [
        "grant_type=password&username=johndoe&password=%C3",
        "grant_type=password&username=johndoe&password=%FF%FE",
        "grant_type=password&username=%C0%AFjohndoe&password=secret",
        "grant_type=password&username=johndoe&password=secret&sc%E9pe=x",
        "grant_type=refresh_token&refresh_token=%80",
    ] {
        let answer = post_form(&url, form).await;
        assert_oauth_error(&answer, 400, "invalid_request");
        assert!(answer.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("UTF-8"));
    }
    // A `%` without two hex digits stays literal (WHATWG): just a wrong password.
    for form in [
        "grant_type=password&username=johndoe&password=secret%zz",
        "grant_type=password&username=johndoe&password=secret%",
        "grant_type=password&username=johndoe&password=secret%4",
    ] {
        assert_oauth_error(&post_form(&url, form).await, 400, "invalid_grant");
    }
    // Correct encodings of the right password still log in.
    let answer = post_form(
        &url,
        "grant_type=password&username=john%64oe&password=s%65cret",
    )
    .await;
    assert_eq!(answer.status, 200);
}

// ---- duplicate parameters (RFC 6749 §3.2: MUST NOT be included more than once) ------

#[tokio::test]
async fn duplicate_parameters_invalid_request() {
    let (token, revoke) = (token_server().await, revoke_server().await);
    for form in [
        "grant_type=password&grant_type=password&username=johndoe&password=secret",
        "grant_type=password&username=johndoe&password=secret&password=secret",
        "grant_type=password&username=johndoe&username=johndoe&password=secret",
        "grant_type=password&username=johndoe&password=secret&scope=me&scope=me",
        // The same name, encoded differently, is the same parameter.
        "grant_type=password&username=johndoe&password=secret&pass%77ord=x",
        "grant_type=refresh_token&refresh_token=a&refresh_token=a",
        "grant_type=client_credentials&client_id=svc&client_id=svc&client_secret=s3cret",
    ] {
        assert_oauth_error(
            &post_form(&token.url("/token"), form).await,
            400,
            "invalid_request",
        );
    }
    let answer = post_form(&revoke.url("/revoke"), "token=a&token=b").await;
    assert_oauth_error(&answer, 400, "invalid_request");
}

// ---- multipart (RFC 7578) -------------------------------------------------------------

#[tokio::test]
async fn malformed_multipart_refused() {
    let server = token_server().await;
    let url = server.url("/token");
    let part = |name: &str, value: &str| {
        format!("--B\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
    };
    let good = format!(
        "{}{}{}--B--\r\n",
        part("grant_type", "password"),
        part("username", "johndoe"),
        part("password", "secret")
    );
    let multipart = |body: String| {
        let url = url.clone();
        async move { post(&url, Some("multipart/form-data; boundary=B"), body, &[]).await }
    };
    assert_eq!(multipart(good.clone()).await.status, 200);
    // Unterminated (no closing delimiter), garbage, a part without headers end.
    for body in [
        good.trim_end_matches("--B--\r\n").to_owned(),
        "not multipart at all".to_owned(),
        "--B\r\ncontent-disposition: form-data; name=\"username\"".to_owned(),
        format!(
            "{}--B--\r\n",
            part("password", "\u{0}\u{1}").replace('\u{1}', "\u{ff}")
        ),
    ] {
        let answer = multipart(body).await;
        assert!(answer.status.is_client_error(), "{:?}", answer.status);
        assert_ne!(answer.status, 200);
    }
    // Huge part headers, within the body limit: decoded or refused, never a 5xx.
    let huge = format!(
        "--B\r\ncontent-disposition: form-data; name=\"x\"\r\nx-pad: {}\r\n\r\nv\r\n{}--B--\r\n",
        "p".repeat(8000),
        part("grant_type", "password")
    );
    let answer = multipart(huge).await;
    assert!(answer.status.is_client_error(), "{:?}", answer.status);
    // A part whose value is not UTF-8.
    let mut bytes = part("grant_type", "password").into_bytes();
    bytes.extend_from_slice(
        b"--B\r\ncontent-disposition: form-data; name=\"username\"\r\n\r\n\xff\xfe\r\n--B--\r\n",
    );
    let answer = post(
        &server.url("/token"),
        Some("multipart/form-data; boundary=B"),
        bytes,
        &[],
    )
    .await;
    assert_oauth_error(&answer, 400, "invalid_request");
    // No boundary parameter: not a usable multipart type.
    let answer = post(
        &server.url("/token"),
        Some("multipart/form-data"),
        good,
        &[],
    )
    .await;
    assert!(answer.status.is_client_error());
    assert_eq!(answer.json()["error"], "invalid_request");
}

// ---- huge passwords (bounded work: refused before hashing) ----------------------------

#[tokio::test]
async fn huge_passwords_refused_as_wrong_credentials() {
    let server = token_server().await;
    for len in [1025, 8 * 1024, DEFAULT_MAX_BODY - 100] {
        let form = format!(
            "grant_type=password&username=johndoe&password={}",
            "x".repeat(len)
        );
        // The same answer as a wrong password: nothing tells the client about limits.
        assert_oauth_error(
            &post_form(&server.url("/token"), &form).await,
            400,
            "invalid_grant",
        );
    }
}

// ---- unicode (exact bytes: no normalization, no truncation at NUL) --------------------

#[tokio::test]
async fn unicode_credentials_compared_exactly() {
    let server = token_server().await;
    let url = server.url("/token");
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let login = |user: &str, password: &str| {
        format!(
            "grant_type=password&username={}&password={}",
            encode(user),
            encode(password)
        )
    };
    // NFC as stored: accepted.
    assert_eq!(
        post_form(&url, &login("jos\u{e9}", "s\u{e9}cret"))
            .await
            .status,
        200
    );
    // NFD spellings of the same text, a NUL, a right-to-left override: different bytes.
    for (user, password) in [
        ("jose\u{301}", "s\u{e9}cret"),
        ("jos\u{e9}", "se\u{301}cret"),
        ("johndoe", "secret\u{0}"),
        ("johndoe\u{0}", "secret"),
        ("\u{202e}johndoe", "secret"),
    ] {
        assert_oauth_error(
            &post_form(&url, &login(user, password)).await,
            400,
            "invalid_grant",
        );
    }
}

// ---- methods, media types (RFC 6749 §3.2: POST; §4.3.2 urlencoded) -------------------

#[tokio::test]
async fn wrong_methods_405_with_allow() {
    let (token, revoke) = (token_server().await, revoke_server().await);
    for (server, path) in [(&token, "/token"), (&revoke, "/revoke")] {
        for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let request = http::Request::builder()
                .method(method)
                .uri(server.url(path))
                .body(http_body_util::Full::new(bytes::Bytes::from(LOGIN)))
                .unwrap();
            let answer = send(request).await;
            assert_oauth_error(&answer, 405, "invalid_request");
            assert_eq!(answer.headers["allow"], "POST", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn wrong_or_missing_content_type_415() {
    let server = token_server().await;
    let url = server.url("/token");
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/json"),
        Some("application/x-www-form-urlencodedX"),
    ] {
        assert_oauth_error(
            &post(&url, content_type, LOGIN, &[]).await,
            415,
            "invalid_request",
        );
    }
    // Two Content-Type headers are ambiguous.
    let request = format!(
        "POST /token HTTP/1.1\r\nhost: t\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{LOGIN}",
        LOGIN.len()
    );
    assert_eq!(
        raw_status(&raw(server.addr, request.as_bytes(), false).await),
        415
    );
    // An empty body: no grant_type.
    assert_oauth_error(&post_form(&url, "").await, 400, "invalid_request");
}

// ---- grant types (RFC 6749 §5.2) -------------------------------------------------------

#[tokio::test]
async fn grant_type_missing_unknown_or_miscased() {
    let server = token_server().await;
    let url = server.url("/token");
    assert_oauth_error(
        &post_form(&url, "username=johndoe&password=secret").await,
        400,
        "invalid_request",
    );
    assert_oauth_error(
        &post_form(&url, "grant_type=&username=johndoe&password=secret").await,
        400,
        "invalid_request",
    );
    for grant in [
        "authorization_code",
        "PASSWORD",
        "password%20",
        "implicit",
        "urn:x",
    ] {
        let form = format!("grant_type={grant}&username=johndoe&password=secret");
        assert_oauth_error(&post_form(&url, &form).await, 400, "unsupported_grant_type");
    }
}

// ---- refresh_token and client_credentials forms ---------------------------------------

#[tokio::test]
async fn refresh_and_client_credentials_hostile_forms() {
    let server = token_server().await;
    let url = server.url("/token");
    assert_oauth_error(
        &post_form(&url, "grant_type=refresh_token").await,
        400,
        "invalid_request",
    );
    for token in ["x", &"A".repeat(10_000), "..", "%2E%2E%2F"] {
        let form = format!("grant_type=refresh_token&refresh_token={token}");
        assert_oauth_error(&post_form(&url, &form).await, 400, "invalid_grant");
    }
    for form in [
        "grant_type=client_credentials",
        "grant_type=client_credentials&client_id=svc",
        "grant_type=client_credentials&client_id=svc&client_secret=wrong",
        "grant_type=client_credentials&client_id=nobody&client_secret=s3cret",
    ] {
        assert_oauth_error(&post_form(&url, form).await, 401, "invalid_client");
    }
    for value in [
        "Basic",
        "Basic !!!",
        "Basic Og",
        "Basic c3ZjOnMzY3JldA==extra",
    ] {
        let headers = [("authorization", value)];
        let answer = post(&url, Some(FORM), "grant_type=client_credentials", &headers).await;
        assert!(
            answer.status == 400 || answer.status == 401,
            "{value}: {:?}",
            answer.status
        );
        assert_ne!(answer.status, 200);
    }
}

// ---- revocation forms (RFC 7009) -------------------------------------------------------

#[tokio::test]
async fn revocation_hostile_forms() {
    let server = revoke_server().await;
    let url = server.url("/revoke");
    assert_oauth_error(&post_form(&url, "").await, 400, "invalid_request");
    assert_oauth_error(
        &post_form(&url, "token_type_hint=access_token").await,
        400,
        "invalid_request",
    );
    assert_oauth_error(&post_form(&url, "token=%FF").await, 400, "invalid_request");
    // §2.2: an invalid token is not an error (nothing to revoke), whatever its shape.
    for form in [
        "token=garbage",
        "token=a.b.c",
        "token=garbage&token_type_hint=refresh_token",
        "token=garbage&token_type_hint=something_else",
    ] {
        let answer = post_form(&url, form).await;
        assert_eq!(answer.status, 200, "{form}: {:?}", answer.body);
    }
    assert_oauth_error(
        &post(&url, Some("text/plain"), "token=x", &[]).await,
        415,
        "invalid_request",
    );
}

// ---- every limit is configurable -------------------------------------------------------

#[tokio::test]
async fn configured_limits_apply() {
    let users =
        InMemoryUserStore::new().with_user(User::new("johndoe", hasher().hash("secret").unwrap()));
    let endpoint = TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), users)
        .with_hasher(hasher().with_max_password_len(8).unwrap())
        .allow_password_grant()
        .with_max_body(200)
        .unwrap()
        .build()
        .unwrap();
    let server = serve(endpoint).await;
    let url = server.url("/token");
    assert_eq!(post_form(&url, LOGIN).await.status, 200);
    // Body limit: 200 bytes.
    let padded = format!("{LOGIN}&pad={}", "a".repeat(200 - LOGIN.len() - 5 + 1));
    assert_eq!(padded.len(), 201);
    assert_oauth_error(&post_form(&url, &padded).await, 413, "invalid_request");
    assert_eq!(post_form(&url, &padded[..200]).await.status, 200);
    // Password length limit: 8 bytes; a longer one is a wrong password, unhashed.
    let long = "grant_type=password&username=johndoe&password=secret123";
    assert_oauth_error(&post_form(&url, long).await, 400, "invalid_grant");
    assert!(PasswordHasher::new().with_max_password_len(0).is_err());
}
