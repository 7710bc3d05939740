//! The JWT fast path: arbitrary input as a token, and arbitrary header and payload
//! bytes signed with the right key (so that the fuzzer reaches the JSON parsing behind
//! the signature check). No panic; an accepted token's header and payload really are
//! UTF-8 JSON objects with `alg` `HS256`, no `crit`, and a live numeric `exp`.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde::Deserialize;
use sha2::Sha256;
use tower_bearer::{Claims, JwtValidator};

const SECRET: &[u8] = b"fuzzing-secret-that-is-at-least-32-bytes";

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

#[derive(Deserialize)]
struct Payload {
    exp: f64,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

/// What must hold of an accepted token, read independently. Validity is checked
/// against the JSON grammar only (`IgnoredAny`): RFC 8259 §6 lets implementations limit
/// the range of numbers, so a member the validator does not read may hold `1e3033`,
/// which `serde_json::Value` would refuse (found by this target; see
/// `tests/hostile_jws.rs` `out_of_range_numbers_in_unread_members_follow_the_grammar`).
fn check_accepted(header: &[u8], payload: &[u8]) {
    std::str::from_utf8(header).expect("accepted header is UTF-8");
    std::str::from_utf8(payload).expect("accepted payload is UTF-8");
    serde_json::from_slice::<IgnoredAny>(header).expect("accepted header is JSON");
    serde_json::from_slice::<IgnoredAny>(payload).expect("accepted payload is JSON");
    let header: Header = serde_json::from_slice(header).expect("accepted header has alg");
    let payload: Payload = serde_json::from_slice(payload).expect("accepted payload has exp");
    assert_eq!(header.alg, "HS256");
    assert!(!header.crit);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(payload.exp > now - 61.0);
}

fuzz_target!(|data: &[u8]| {
    let validator = JwtValidator::<Claims>::hs256(SECRET).unwrap();
    // 1. The input as a token.
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = validator.verify(token);
    }
    // 2. The input as header '\n' payload, correctly signed.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (header, payload) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(input.as_bytes());
    let token = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    if validator.verify(&token).is_ok() {
        check_accepted(header, payload);
    }
});
