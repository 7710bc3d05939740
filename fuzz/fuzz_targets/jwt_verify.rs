//! The JWT fast path: arbitrary input as a token, and arbitrary header and payload
//! bytes signed with the right key (so that the fuzzer reaches the JSON parsing behind
//! the signature check). No panic; an accepted token's header and payload really are
//! UTF-8 JSON objects with `alg` `HS256`, no `crit`, and a live numeric `exp`.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sha2::Sha256;
use tower_bearer::{Claims, JwtValidator};

const SECRET: &[u8] = b"fuzzing-secret-that-is-at-least-32-bytes";

fn check_accepted(header: &[u8], payload: &[u8]) {
    let header: Value = serde_json::from_slice(header).expect("accepted header is JSON");
    let payload: Value = serde_json::from_slice(payload).expect("accepted payload is JSON");
    assert_eq!(header["alg"], "HS256");
    assert!(header.get("crit").is_none());
    let exp = payload["exp"].as_f64().expect("numeric exp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(exp > now - 61.0);
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
