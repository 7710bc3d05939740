//! Arbitrary bytes as a token-endpoint body, urlencoded and multipart, and as the
//! content type: no panic; what decodes has each parameter once, none empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_bearer::fuzzing::decode_form;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the content type: the two the endpoint reads, or the rest
    // of the input up to a newline as a content type of its own.
    let (content_type, body): (&[u8], &[u8]) = match data.split_first() {
        Some((0, rest)) => (b"application/x-www-form-urlencoded", rest),
        Some((1, rest)) => (b"multipart/form-data; boundary=XyZ", rest),
        Some((_, rest)) => match rest.iter().position(|&b| b == b'\n') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &[][..]),
        },
        None => return,
    };
    if let Ok(fields) = decode_form(Some(content_type), body) {
        let mut names: Vec<_> = fields.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), fields.len());
        assert!(fields.iter().all(|(_, value)| !value.is_empty()));
    }
});
