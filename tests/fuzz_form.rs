//! Property tests (the stable-toolchain fuzzers) for the token endpoint's form decoder:
//! arbitrary and near-valid urlencoded and multipart bodies through `decode_form`, the
//! function the endpoint itself uses.
//!
//! Invariants: never a panic; a generated form round-trips through both encodings;
//! a repeated parameter is always refused; bytes that are not UTF-8 after decoding are
//! always refused, never replaced.
//!
//! Cases: `PROPTEST_CASES` (scripts/test.sh sets 256); a longer run:
//! `PROPTEST_CASES=100000 cargo test --all-features --release --test fuzz_form`.
#![cfg(feature = "token-endpoint")]

use std::collections::BTreeMap;

use proptest::prelude::*;
use tower_bearer::fuzzing::decode_form;
use tower_bearer::token_endpoint::TokenError;

const URLENCODED: &[u8] = b"application/x-www-form-urlencoded";
const MULTIPART: &[u8] = b"multipart/form-data; boundary=XyZ";

const NAMES: [&str; 9] = [
    "grant_type",
    "username",
    "password",
    "scope",
    "client_id",
    "client_secret",
    "refresh_token",
    "token",
    "token_type_hint",
];

/// A form of known parameters with non-empty values: any text but the multipart
/// delimiter (which a client's encoder would have picked to avoid).
fn form() -> impl Strategy<Value = BTreeMap<&'static str, String>> {
    proptest::collection::btree_map(
        proptest::sample::select(NAMES.to_vec()),
        "\\PC{1,12}".prop_filter("no delimiter", |v| !v.contains("XyZ")),
        0..6,
    )
}

fn urlencode(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish().into_bytes()
}

fn multipart(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in pairs {
        body.push_str(&format!(
            "--XyZ\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str("--XyZ--\r\n");
    body.into_bytes()
}

fn decoded(content_type: &[u8], body: &[u8]) -> Result<BTreeMap<&'static str, String>, TokenError> {
    decode_form(Some(content_type), body).map(|fields| fields.into_iter().collect())
}

proptest! {
    #[test]
    fn arbitrary_bodies_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        content_type in proptest::collection::vec(any::<u8>(), 0..48),
    ) {
        for content_type in [URLENCODED, MULTIPART, &content_type[..]] {
            if let Ok(fields) = decode_form(Some(content_type), &body) {
                // Each name at most once, each value non-empty.
                let names: std::collections::BTreeSet<_> = fields.iter().map(|(n, _)| n).collect();
                prop_assert_eq!(names.len(), fields.len());
                prop_assert!(fields.iter().all(|(_, v)| !v.is_empty()));
            }
        }
    }

    #[test]
    fn near_valid_multipart_never_panics(
        fields in form(),
        cut in any::<prop::sample::Index>(),
        noise in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let pairs: Vec<_> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let mut body = multipart(&pairs);
        let at = cut.index(body.len() + 1);
        body.splice(at..at, noise);
        let _ = decode_form(Some(MULTIPART), &body);
        body.truncate(at);
        let _ = decode_form(Some(MULTIPART), &body);
    }

    #[test]
    fn forms_round_trip_in_both_encodings(fields in form()) {
        let pairs: Vec<_> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        prop_assert_eq!(decoded(URLENCODED, &urlencode(&pairs)).unwrap(), fields.clone());
        prop_assert_eq!(decoded(MULTIPART, &multipart(&pairs)).unwrap(), fields);
    }

    #[test]
    fn a_repeated_parameter_is_refused(
        fields in form().prop_filter("non-empty", |f| !f.is_empty()),
        which in any::<prop::sample::Index>(),
        extra in "\\PC{1,8}".prop_filter("no delimiter", |v| !v.contains("XyZ")),
    ) {
        let mut pairs: Vec<_> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let name = pairs[which.index(pairs.len())].0;
        pairs.push((name, &extra));
        let duplicate = TokenError::DuplicateParameter;
        prop_assert_eq!(decoded(URLENCODED, &urlencode(&pairs)), Err(duplicate));
        prop_assert_eq!(decoded(MULTIPART, &multipart(&pairs)), Err(duplicate));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused(
        prefix in "[a-z]{0,4}",
        bad in prop_oneof![
            Just(vec![0xFFu8]),
            Just(vec![0xC3]),
            Just(vec![0xC0, 0xAF]),
            Just(vec![0xED, 0xA0, 0x80]),
            Just(vec![0xF4, 0x90, 0x80, 0x80]),
        ],
        name in proptest::sample::select(NAMES.to_vec()),
    ) {
        let encoded: String = bad.iter().map(|b| format!("%{b:02X}")).collect();
        let body = format!("{name}={prefix}{encoded}");
        let refused = TokenError::InvalidEncoding;
        prop_assert_eq!(decoded(URLENCODED, body.as_bytes()), Err(refused));
        let mut raw = format!("--XyZ\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{prefix}").into_bytes();
        raw.extend_from_slice(&bad);
        raw.extend_from_slice(b"\r\n--XyZ--\r\n");
        prop_assert_eq!(decoded(MULTIPART, &raw), Err(refused));
    }
}
