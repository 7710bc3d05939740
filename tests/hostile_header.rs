//! Hostile `Authorization` (and other token source) syntax over real TCP: RFC 9110
//! §11.4 credentials, RFC 6750 §2.1 `b64token`, RFC 6750 §2 one-method-per-request.
//!
//! Every case goes through the layer over TCP, asserts the exact status and challenge
//! `error`, and that the inner service was never called for a rejection. Bytes the hyper
//! client refuses to send (control characters, obs-fold) go over a raw `TcpStream`.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{HeaderValue, Request};
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceBuilder;
use tower_bearer::bearer::DEFAULT_MAX_CREDENTIALS_LEN;
use tower_bearer::{validate_fn, AuthError, BearerAuthLayer, TokenSources};

/// Prints the number of cases of a class (visible with `--nocapture`), for the report.
fn tally(class: &str, cases: usize) {
    eprintln!("hostile_header class {class}: {cases} cases");
}

/// A server whose validator accepts any token it is given and whose inner service
/// echoes it: what reaches the validator is exactly what the extraction produced.
async fn echo_server(sources: TokenSources) -> (TestServer, EchoClaims<String>) {
    let inner = EchoClaims::<String>::new();
    let validator = validate_fn(|token: &str| {
        let token = token.to_owned();
        async move { Ok::<_, AuthError>(token) }
    });
    let service = ServiceBuilder::new()
        .layer(
            BearerAuthLayer::new(validator)
                .with_realm(REALM)
                .unwrap()
                .with_sources(sources),
        )
        .service(inner.clone());
    (serve(service).await, inner)
}

/// `GET /` with raw header values (obs-text allowed; the hyper client sends them).
async fn get_raw_values(server: &TestServer, headers: &[(&str, &[u8])]) -> Answer {
    let mut builder = Request::get(server.url("/"));
    for (name, value) in headers {
        builder = builder.header(*name, HeaderValue::from_bytes(value).unwrap());
    }
    send(builder.body(Full::<Bytes>::default()).unwrap()).await
}

/// Sends `head` (request line and headers, CRLF-separated, without the final blank
/// line) on a raw connection and reads the answer: status, header block, body.
async fn raw_http(addr: SocketAddr, head: &[u8]) -> Option<(u16, String, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = head.to_vec();
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    // The server may close early on an oversize head; that is fine.
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers or closes within 10 s");
    if read.is_err() && answer.is_empty() {
        return None; // reset without an answer
    }
    if answer.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Some((status, head.to_ascii_lowercase(), body.as_bytes().to_vec()))
}

fn with_token(value: &[u8]) -> Vec<u8> {
    let mut head = b"GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: ".to_vec();
    head.extend_from_slice(value);
    head
}

// ---------------------------------------------------------------------------------
// The scheme (RFC 9110 §11.1: case-insensitive token; §11.4: `auth-scheme 1*SP token68`).

#[tokio::test]
async fn scheme_variants_that_are_not_bearer_syntax_are_no_credentials() {
    let (server, inner) = echo_server(TokenSources::new()).await;
    let cases: [&[u8]; 16] = [
        b"Bearer",
        b"Bearer ",
        b"Bearer      ",
        b"Bearerabc",
        b"Bearer-abc",
        b"Bearer\tabc",
        b"Bearer,abc",
        b"Bearer=abc",
        b"Bear er abc",
        b"Beare abc",
        b"Bearers abc",
        b"Basic dXNlcjpwYXNz",
        b"Token abc",
        b"B\xc3\xa9arer abc", // non-ASCII lookalike
        b"\xd0\x92earer abc", // Cyrillic capital Ve
        b"Bearer\xc2\xa0abc", // no-break space
    ];
    for value in cases {
        let answer = get_raw_values(&server, &[("authorization", value)]).await;
        answer.assert_bearer_rejection(401, None);
        assert_eq!(
            answer.challenge(),
            format!("Bearer realm=\"{REALM}\""),
            "{value:?}"
        );
    }
    assert_eq!(inner.calls(), 0);
    tally("scheme variants (no credentials)", cases.len());
}

#[tokio::test]
async fn scheme_case_and_whitespace_around_the_token() {
    let (server, inner) = echo_server(TokenSources::new()).await;
    // Optional whitespace around a field value is not part of it (RFC 9110 §5.5); any
    // number of spaces separate the scheme from the token.
    let cases: [(&[u8], &str); 8] = [
        (b"bEARER abc", "abc"),
        (b"BEARER  abc", "abc"),
        (b" Bearer abc", "abc"),
        (b"\tBearer abc", "abc"),
        (b"Bearer abc ", "abc"),
        (b"Bearer abc\t", "abc"),
        (b"Bearer \t abc", "abc"),
        (b"  Bearer   abc  ", "abc"),
    ];
    for (i, (value, token)) in cases.iter().enumerate() {
        let answer = get_raw_values(&server, &[("authorization", value)]).await;
        assert_eq!(answer.status, 200, "{value:?}");
        assert_eq!(answer.json(), *token);
        assert_eq!(inner.calls(), i + 1);
    }
    tally("scheme case and whitespace (accepted)", cases.len());
}

// ---------------------------------------------------------------------------------
// The token: RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"="`.

#[tokio::test]
async fn b64token_grammar_is_enforced_exactly() {
    let (server, inner) = echo_server(TokenSources::new()).await;
    let accepted = [
        "abc",
        "abc=",
        "abc==",
        "abc=====",
        "a=",
        "0",
        "~",
        "+/",
        "-._~+/",
        "A-._~+/z0=",
        "eyJhbGciOiJIUzI1NiJ9.e30.sig",
    ];
    for (i, token) in accepted.iter().enumerate() {
        let answer = get_with_token(&server.url("/"), token).await;
        assert_eq!(answer.status, 200, "{token}");
        assert_eq!(answer.json(), *token);
        assert_eq!(inner.calls(), i + 1);
    }
    let calls = inner.calls();
    let mut malformed: Vec<Vec<u8>> = [
        "ab=c",
        "=abc",
        "=",
        "==",
        "a=b=",
        "a b",
        "a\tb",
        "a,b",
        "a;b",
        "a\"b",
        "a'b",
        "a(b",
        "a)b",
        "a<b",
        "a>b",
        "a@b",
        "a:b",
        "a\\b",
        "a[b",
        "a]b",
        "a?b",
        "a{b",
        "a}b",
        "a%20b",
        "a!b",
        "a#b",
        "a$b",
        "a&b",
        "a*b",
        "a^b",
        "a`b",
        "a|b",
        "\"abc\"",
        "abc,",
        "token=\"abc\"", // auth-param form: not RFC 6750's token68 form
        "realm=\"x\", token=\"abc\"",
        "abc, Bearer def", // two credentials in one field
        "abc,Bearer def",
        "abc Bearer def",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    // Non-ASCII (obs-text) bytes: sent as is by the hyper client.
    for bytes in [
        &b"t\xc3\xb6k\xc3\xa9n"[..],
        b"abc\x80",
        b"\xff\xfe",
        b"abc\xc2\xa0",
        b"\xe2\x80\x8babc", // zero-width space
    ] {
        malformed.push(bytes.to_vec());
    }
    for token in &malformed {
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(token);
        let answer = get_raw_values(&server, &[("authorization", &value)]).await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
        assert!(answer.challenge().contains("malformed"), "{token:?}");
    }
    assert_eq!(inner.calls(), calls);
    tally("b64token accepted", accepted.len());
    tally(
        "b64token malformed (incl. separators, obs-text)",
        malformed.len(),
    );
}

// ---------------------------------------------------------------------------------
// Bytes the hyper client will not send: control characters, DEL, bare CR, obs-fold,
// malformed field lines. Hyper answers 400 itself or the layer answers 401; never a
// 5xx, and the inner service never runs.

#[tokio::test]
async fn control_bytes_and_broken_field_lines_never_reach_inner() {
    let (server, inner) = echo_server(TokenSources::new()).await;
    let mut heads: Vec<Vec<u8>> = Vec::new();
    for byte in (0u8..0x20).chain([0x7f]) {
        if byte == b'\t' {
            continue;
        }
        heads.push(with_token(
            &[b"Bearer ab".as_slice(), &[byte], b"c"].concat(),
        ));
        heads.push(with_token(
            &[b"Bearer".as_slice(), &[byte], b"abc"].concat(),
        ));
    }
    heads.extend([
        // obs-fold (RFC 9112 §5.2)
        b"GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer\r\n abc".to_vec(),
        b"GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer abc\r\n\tdef".to_vec(),
        // whitespace before the colon (RFC 9112 §5.1: MUST be rejected with 400)
        b"GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization : Bearer abc".to_vec(),
        // no colon
        b"GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization Bearer abc".to_vec(),
        // a NUL in the field name
        b"GET / HTTP/1.1\r\nHost: localhost\r\nAuthori\x00zation: Bearer abc".to_vec(),
    ]);
    let mut statuses = std::collections::BTreeMap::new();
    for head in &heads {
        let answer = raw_http(server.addr, head).await;
        if let Some((status, headers, body)) = &answer {
            assert!(*status < 500, "{head:?} -> {status}");
            assert!(*status == 400 || *status == 401, "{head:?} -> {status}");
            if *status == 401 {
                // The layer answered: a proper bearer rejection.
                assert!(headers.contains("www-authenticate: bearer"), "{headers}");
                let json: serde_json::Value = serde_json::from_slice(body).unwrap();
                assert!(json["error"].is_string());
            }
            *statuses.entry(*status).or_insert(0) += 1;
        }
    }
    assert_eq!(inner.calls(), 0);
    eprintln!("control bytes: statuses {statuses:?}");
    tally("control bytes / broken field lines (raw TCP)", heads.len());
}

#[tokio::test]
async fn header_name_case_and_leading_whitespace_over_raw_tcp() {
    let (server, inner) = echo_server(TokenSources::new()).await;
    let heads: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\nHost: localhost\r\nauthorization: Bearer abc",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nAUTHORIZATION: Bearer abc",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization:Bearer abc",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: \t Bearer abc \t ",
    ];
    for head in heads {
        let (status, _, body) = raw_http(server.addr, head).await.unwrap();
        assert_eq!(status, 200, "{head:?}");
        assert_eq!(body, br#""abc""#);
    }
    assert_eq!(inner.calls(), heads.len());
    // Two field lines differing only in case are two Authorization headers.
    let (status, headers, _) = raw_http(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nauthorization: Bearer abc\r\nAUTHORIZATION: Bearer abc",
    )
    .await
    .unwrap();
    assert_eq!(status, 400);
    assert!(headers.contains("error=\"invalid_request\""), "{headers}");
    assert_eq!(inner.calls(), heads.len());
    tally("header name case (raw TCP)", heads.len() + 1);
}

// ---------------------------------------------------------------------------------
// Duplicates and several places (RFC 6750 §2: one method per request).

#[tokio::test]
async fn duplicate_and_multiple_credentials_are_invalid_request() {
    let sources = TokenSources::new()
        .with_cookie("t")
        .unwrap()
        .with_header("x-access-token")
        .unwrap();
    let (server, inner) = echo_server(sources).await;
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("authorization", "Basic dXNlcjpwYXNz"),
            ("authorization", "Bearer abc"),
        ],
        vec![
            ("authorization", "Bearer abc"),
            ("authorization", "Basic dXNlcjpwYXNz"),
        ],
        vec![("authorization", "Bearer abc"), ("authorization", "")],
        vec![
            ("authorization", "Bearer abc"),
            ("authorization", "Bearer abc"),
            ("authorization", "Bearer abc"),
        ],
        vec![("authorization", "Bearer abc"), ("cookie", "t=abc")],
        vec![("authorization", "Bearer abc"), ("x-access-token", "abc")],
        vec![("cookie", "t=abc"), ("x-access-token", "abc")],
        vec![("cookie", "t=abc; t=abc")],
        vec![("cookie", "t=abc"), ("cookie", "t=def")],
        vec![("cookie", "a=1; t=abc; b=2; t=\"abc\"")],
        vec![("x-access-token", "abc"), ("x-access-token", "abc")],
    ];
    for headers in &cases {
        let answer = get(&server.url("/"), headers).await;
        answer.assert_bearer_rejection(400, Some("invalid_request"));
    }
    // The access_token query parameter counts as a place even when it is not a source,
    // including with a percent-encoded name.
    let queries = [
        "/?access_token=abc",
        "/?access%5Ftoken=abc",
        "/?%61ccess_token=abc",
        "/?x=1&access_token=abc&y=2",
    ];
    for query in queries {
        let answer = get_with_token(&server.url(query), "abc").await;
        answer.assert_bearer_rejection(400, Some("invalid_request"));
    }
    assert_eq!(inner.calls(), 0);
    // Sent with no value, the parameter is absent (RFC 6749 §3.1).
    let answer = get_with_token(&server.url("/?access_token="), "abc").await;
    assert_eq!(answer.status, 200);
    tally(
        "duplicates / several places",
        cases.len() + queries.len() + 1,
    );
}

#[tokio::test]
async fn query_source_decodes_and_checks_its_token() {
    let (server, inner) = echo_server(TokenSources::new().insecure_with_query()).await;
    let accepted = [
        ("/?access_token=abc", "abc"),
        ("/?access%5Ftoken=abc", "abc"),
        ("/?access_token=a%2Bb%3D", "a+b="),
        ("/?access_token=&access_token=abc", "abc"),
    ];
    for (path, token) in accepted {
        let answer = get(&server.url(path), &[]).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.json(), token);
    }
    let calls = inner.calls();
    let malformed = [
        "/?access_token=a+b",
        "/?access_token=a%20b",
        "/?access_token=a%00b",
        "/?access_token=%FF",
        "/?access_token=%22abc%22",
        "/?access_token=ab%3Dc",
    ];
    for path in malformed {
        let answer = get(&server.url(path), &[]).await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
    }
    for path in [
        "/?access_token=a&access_token=b",
        "/?access_token=a&access%5Ftoken=b",
    ] {
        let answer = get(&server.url(path), &[]).await;
        answer.assert_bearer_rejection(400, Some("invalid_request"));
    }
    assert_eq!(inner.calls(), calls);
    tally("query source", accepted.len() + malformed.len() + 2);
}

#[tokio::test]
async fn cookie_and_custom_header_values_are_checked() {
    let sources = TokenSources::new()
        .without_authorization_header()
        .with_cookie("t")
        .unwrap()
        .with_header("x-access-token")
        .unwrap();
    let (server, inner) = echo_server(sources).await;
    let accepted = [
        ("cookie", "t=abc"),
        ("cookie", "t=\"abc\""),
        ("cookie", "a=1;t=abc;b=2"),
        ("cookie", "tt=1; t=abc=="),
        ("x-access-token", "abc"),
        ("x-access-token", "  abc  "),
    ];
    for (name, value) in accepted {
        let answer = get(&server.url("/"), &[(name, value)]).await;
        assert_eq!(answer.status, 200, "{name}: {value}");
    }
    let calls = inner.calls();
    let malformed = [
        ("cookie", "t=a b"),
        ("cookie", "t=\"abc"),
        ("cookie", "t=a,b"),
        ("cookie", "t=ab=c"),
        ("x-access-token", "Bearer abc"),
        ("x-access-token", "a,b"),
    ];
    for (name, value) in malformed {
        let answer = get(&server.url("/"), &[(name, value)]).await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
    }
    // With the header source off, an Authorization header is not credentials.
    let answer = get_with_token(&server.url("/"), "abc").await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(inner.calls(), calls);
    tally(
        "cookie / custom header",
        accepted.len() + malformed.len() + 1,
    );
}

// ---------------------------------------------------------------------------------
// Size limits.

#[tokio::test]
async fn oversize_credentials_are_refused_before_validation() {
    let (server, inner) = echo_server(TokenSources::new()).await;
    let max = DEFAULT_MAX_CREDENTIALS_LEN;
    // At the limit: accepted (the validator here takes anything).
    let at_limit = "a".repeat(max);
    let answer = get_with_token(&server.url("/"), &at_limit).await;
    assert_eq!(answer.status, 200);
    assert_eq!(inner.calls(), 1);
    // One byte over, 64 KiB, and 64 KiB of garbage: refused as too long.
    for token in [
        "a".repeat(max + 1),
        "a".repeat(64 * 1024),
        "%".repeat(64 * 1024),
    ] {
        let answer = get_with_token(&server.url("/"), &token).await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
        assert!(answer.challenge().contains("too long"));
    }
    // Spaces count: the bound is on the bytes after the scheme.
    let padded = format!("Bearer {}abc", " ".repeat(max));
    get(&server.url("/"), &[("authorization", &padded)])
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    // Other sources have the same bound.
    let sources = TokenSources::new()
        .with_cookie("t")
        .unwrap()
        .with_header("x-access-token")
        .unwrap()
        .insecure_with_query();
    let (other, other_inner) = echo_server(sources).await;
    let long = "a".repeat(max + 1);
    for (path, headers) in [
        ("/".to_owned(), vec![("cookie", format!("t={long}"))]),
        ("/".to_owned(), vec![("x-access-token", long.clone())]),
        (format!("/?access_token={long}"), vec![]),
        (format!("/?access_token={}", "%61".repeat(max + 1)), vec![]),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        get(&other.url(&path), &headers)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }
    assert_eq!(other_inner.calls(), 0);
    // A non-bearer scheme is not ours to judge, whatever its size.
    let basic = format!("Basic {}", "a".repeat(64 * 1024));
    get(&server.url("/"), &[("authorization", &basic)])
        .await
        .assert_bearer_rejection(401, None);
    assert_eq!(inner.calls(), 1);
    tally("oversize credentials", 10);
}

#[tokio::test]
async fn the_credentials_limit_is_configurable() {
    let (small, small_inner) = echo_server(TokenSources::new().with_max_len(16)).await;
    assert_eq!(
        get_with_token(&small.url("/"), &"a".repeat(16))
            .await
            .status,
        200
    );
    get_with_token(&small.url("/"), &"a".repeat(17))
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(small_inner.calls(), 1);
    let (large, large_inner) = echo_server(TokenSources::new().with_max_len(128 * 1024)).await;
    let token = "a".repeat(100 * 1024);
    let answer = get_with_token(&large.url("/"), &token).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json().as_str().map(str::len), Some(token.len()));
    assert_eq!(large_inner.calls(), 1);
    tally("configurable limit", 3);
}

#[tokio::test]
async fn huge_heads_get_no_5xx_and_never_reach_inner() {
    let (server, inner) = echo_server(TokenSources::new().with_max_len(usize::MAX)).await;
    let mut cases = 0;
    let mut statuses = Vec::new();
    // 1 MiB Authorization value: beyond hyper's buffer, hyper answers 431 or closes.
    for size in [512 * 1024, 1024 * 1024] {
        let head = with_token(format!("Bearer {}", "a".repeat(size)).as_bytes());
        let answer = raw_http(server.addr, &head).await;
        if let Some((status, _, _)) = answer {
            assert!(status < 500 && status != 200, "{size}: {status}");
            statuses.push(status);
        }
        cases += 1;
    }
    // Thousands of Authorization field lines: hyper's header count limit.
    let mut head = b"GET / HTTP/1.1\r\nHost: localhost".to_vec();
    for _ in 0..2000 {
        head.extend_from_slice(b"\r\nAuthorization: Bearer abc");
    }
    if let Some((status, _, _)) = raw_http(server.addr, &head).await {
        assert!(status < 500 && status != 200, "{status}");
        statuses.push(status);
    }
    cases += 1;
    // 90 Authorization field lines, under hyper's limit: the layer's duplicate rule.
    let mut head = b"GET / HTTP/1.1\r\nHost: localhost".to_vec();
    for _ in 0..90 {
        head.extend_from_slice(b"\r\nAuthorization: Bearer abc");
    }
    let (status, headers, _) = raw_http(server.addr, &head).await.unwrap();
    assert_eq!(status, 400);
    assert!(headers.contains("error=\"invalid_request\""));
    cases += 1;
    assert_eq!(inner.calls(), 0);
    eprintln!("huge heads: statuses {statuses:?}");
    tally("huge heads (raw TCP)", cases);
}
