//! Property tests (the stable-toolchain fuzzers) for token extraction: arbitrary bytes
//! as the `Authorization` value, a cookie, a token header and the query, through
//! [`TokenSources::extract`] and [`parse_authorization`].
//!
//! Invariants: never a panic; `Ok(Some(t))` only when `t` is an RFC 6750 `b64token`
//! within the length limit; `parse_authorization` agrees with a reference model of
//! RFC 6750 §2.1 on every input.
//!
//! Cases: `PROPTEST_CASES` (scripts/test.sh sets 256); a longer run:
//! `PROPTEST_CASES=100000 cargo test --all-features --release --test fuzz_header`.

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use proptest::prelude::*;
use tower_bearer::bearer::DEFAULT_MAX_CREDENTIALS_LEN;
use tower_bearer::fuzzing::parse_authorization;
use tower_bearer::{AuthError, InvalidRequest, InvalidToken, TokenSources};

/// RFC 6750 §2.1 `b64token`, written independently of the crate's.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The reference model: `Bearer` (any case), one space, optional spaces/tabs, the
/// token, optional spaces/tabs. Anything else with the scheme is malformed; another
/// scheme or no token is "no credentials".
fn model(value: &[u8]) -> Result<Option<String>, ()> {
    if value.len() < 7 || !value[..6].eq_ignore_ascii_case(b"bearer") || value[6] != b' ' {
        return Ok(None);
    }
    let rest = &value[7..];
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = rest.iter().position(|b| !is_ws(b)).unwrap_or(rest.len());
    let end = rest
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    let token = &rest[start..end];
    if token.is_empty() {
        return Ok(None);
    }
    match std::str::from_utf8(token) {
        Ok(t) if is_b64token(t) => Ok(Some(t.to_owned())),
        _ => Err(()),
    }
}

fn token_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::ranges(vec!['a'..='z', 'A'..='Z', '0'..='9'].into()),
        3 => proptest::sample::select(vec!['-', '.', '_', '~', '+', '/', '=']),
        1 => proptest::sample::select(vec![' ', '\t', ',', ';', '"', '\\', '%', '\u{0}', '\u{7f}', '\u{e9}', '\u{a0}']),
        1 => any::<char>(),
    ]
}

fn authorization_value() -> impl Strategy<Value = Vec<u8>> {
    let scheme = proptest::sample::select(vec![
        "Bearer ",
        "bearer ",
        "BEARER ",
        "BeArEr   ",
        "Bearer",
        "Bearer\t",
        "Basic ",
        " Bearer ",
        "Bearer  \t",
        "",
        "Bearer,",
        "Bearerx ",
    ]);
    (scheme, proptest::collection::vec(token_char(), 0..48)).prop_map(|(scheme, body)| {
        let mut value = scheme.as_bytes().to_vec();
        value.extend(body.into_iter().collect::<String>().into_bytes());
        value
    })
}

fn check_extracted(result: &Result<Option<std::borrow::Cow<'_, str>>, AuthError>, max: usize) {
    if let Ok(Some(token)) = result {
        assert!(is_b64token(token), "{token:?}");
        assert!(token.len() <= max);
    }
    if let Err(error) = result {
        assert!(matches!(
            error,
            AuthError::InvalidToken(InvalidToken::Malformed | InvalidToken::TooLong)
                | AuthError::InvalidRequest(
                    InvalidRequest::DuplicateAuthorizationHeader
                        | InvalidRequest::MultipleTokenSources
                        | InvalidRequest::DuplicateTokenParameter
                )
        ));
    }
}

fn all_sources() -> TokenSources {
    TokenSources::new()
        .with_cookie("t")
        .unwrap()
        .with_header("x-access-token")
        .unwrap()
        .insecure_with_query()
}

proptest! {
    #[test]
    fn parse_authorization_matches_the_model_on_structured_values(value in authorization_value()) {
        let got = parse_authorization(&value);
        let expected = model(&value);
        match (&got, &expected) {
            (Ok(got), Ok(expected)) => prop_assert_eq!(got.map(str::to_owned), expected.clone()),
            (Err(AuthError::InvalidToken(InvalidToken::Malformed)), Err(())) => {}
            _ => prop_assert!(false, "{:?}: got {:?}, model {:?}", value, got, expected),
        }
    }

    #[test]
    fn parse_authorization_matches_the_model_on_arbitrary_bytes(value in proptest::collection::vec(any::<u8>(), 0..300)) {
        let got = parse_authorization(&value);
        match (&got, model(&value)) {
            (Ok(got), Ok(expected)) => prop_assert_eq!(got.map(str::to_owned), expected),
            (Err(AuthError::InvalidToken(InvalidToken::Malformed)), Err(())) => {}
            (got, expected) => prop_assert!(false, "{:?}: got {:?}, model {:?}", value, got, expected),
        }
    }

    #[test]
    fn extract_never_panics_and_yields_only_b64tokens(
        authorization in proptest::option::of(authorization_value()),
        second_authorization in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        cookie in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..120)),
        header in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..120)),
        query in proptest::option::of("[a-z_%=&+0-9A-F.~-]{0,80}"),
        max in prop_oneof![Just(DEFAULT_MAX_CREDENTIALS_LEN), 0usize..40],
    ) {
        let mut headers = HeaderMap::new();
        let mut insert = |name: HeaderName, bytes: Option<Vec<u8>>| {
            if let Some(value) = bytes.and_then(|b| HeaderValue::from_bytes(&b).ok()) {
                headers.append(name, value);
            }
        };
        insert(AUTHORIZATION, authorization);
        insert(AUTHORIZATION, second_authorization);
        insert(COOKIE, cookie.map(|c| [b"t=".as_slice(), &c].concat()));
        insert(HeaderName::from_static("x-access-token"), header);
        let uri: Uri = match query {
            Some(q) => format!("/?{q}").parse().unwrap_or_else(|_| Uri::from_static("/")),
            None => Uri::from_static("/"),
        };
        for sources in [TokenSources::new(), all_sources()] {
            let sources = sources.with_max_len(max);
            let result = sources.extract(&headers, &uri);
            check_extracted(&result, max);
        }
    }

    #[test]
    fn arbitrary_cookie_headers_never_panic(cookies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..4)) {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            if let Ok(value) = HeaderValue::from_bytes(&cookie) {
                headers.append(COOKIE, value);
            }
        }
        let sources = TokenSources::new().without_authorization_header().with_cookie("t").unwrap();
        check_extracted(&sources.extract(&headers, &Uri::from_static("/")), DEFAULT_MAX_CREDENTIALS_LEN);
    }

    #[test]
    fn arbitrary_queries_never_panic(query in proptest::collection::vec(any::<u8>(), 0..200)) {
        let encoded: String = query
            .iter()
            .map(|&b| if b.is_ascii_alphanumeric() || b"=&_%+.-~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        let uri: Uri = format!("/?access_token={encoded}").parse().unwrap();
        for sources in [TokenSources::new(), TokenSources::new().insecure_with_query()] {
            check_extracted(&sources.extract(&HeaderMap::new(), &uri), DEFAULT_MAX_CREDENTIALS_LEN);
        }
    }
}
