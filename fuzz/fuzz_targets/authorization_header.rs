//! Arbitrary bytes as the `Authorization` value, a cookie, a token header and the
//! query: no panic, and a token comes out only if it is an RFC 6750 `b64token`.
#![no_main]

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;
use tower_bearer::fuzzing::parse_authorization;
use tower_bearer::TokenSources;

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(token)) = parse_authorization(data) {
        assert!(is_b64token(token), "{token:?}");
        assert!(data[..6].eq_ignore_ascii_case(b"bearer") && data[6] == b' ');
    }

    // The same bytes in every place a token may come from.
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(data) {
        headers.append(AUTHORIZATION, value.clone());
        headers.append(HeaderName::from_static("x-access-token"), value);
    }
    if let Ok(value) = HeaderValue::from_bytes(&[b"t=".as_slice(), data].concat()) {
        headers.append(COOKIE, value);
    }
    let uri = std::str::from_utf8(data)
        .ok()
        .and_then(|q| format!("/?{q}").parse::<Uri>().ok())
        .unwrap_or_else(|| Uri::from_static("/"));
    let all = TokenSources::new()
        .with_cookie("t")
        .unwrap()
        .with_header("x-access-token")
        .unwrap()
        .insecure_with_query()
        .with_max_len(64);
    for sources in [TokenSources::new(), all] {
        if let Ok(Some(token)) = sources.extract(&headers, &uri) {
            assert!(is_b64token(&token), "{token:?}");
        }
    }
});
