//! Hostile compact JWS/JWT input for `JwtValidator` (RFC 7515, RFC 7519, and the attack
//! classes of the JWT BCP, RFC 8725): structure, base64url strictness, JSON edge cases,
//! `alg` tricks, key confusion, embedded keys, `kid` and `crit` tricks, claim type
//! confusion, signature tampering, and the RFC 7515 Appendix A.1 vector.
//!
//! Most cases call [`JwtValidator::verify`] and assert the exact refusal reason; one
//! representative of every class also goes through the layer over TCP
//! (`every_class_is_refused_over_tcp_without_calling_inner`).
//!
//! Wycheproof's JWS vectors are not used: they cannot be obtained offline here.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::json;
use sha2::Sha256;
use tower::ServiceBuilder;
use tower_bearer::{AuthError, BearerAuthLayer, Claims, InvalidToken, JwtValidator};

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const ATTACKER: &[u8] = b"attacker-chosen-secret-at-least-32-bytes";

fn validator() -> JwtValidator<Claims> {
    JwtValidator::hs256(SECRET).unwrap()
}

fn payload() -> String {
    json!({ "sub": "johndoe", "exp": now() + 600, "scope": "me" }).to_string()
}

fn good() -> String {
    raw_hs256(HEADER, &payload(), SECRET)
}

/// Prints the number of cases of a class (visible with `--nocapture`), for the report.
fn tally(class: &str, cases: usize) {
    eprintln!("hostile_jws class {class}: {cases} cases");
}

/// HMAC-SHA256 over raw (possibly non-UTF-8) header and payload bytes.
fn raw_bytes_hs256(header: &[u8], payload: &[u8], secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    format!("{input}.{}", mac(input.as_bytes(), secret))
}

fn mac(input: &[u8], secret: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input);
    b64(&mac.finalize().into_bytes())
}

/// A token with an asymmetric signature over raw header and payload JSON.
fn raw_signed(header: &str, payload: &str, key: &EncodingKey, alg: Algorithm) -> String {
    install_crypto_provider();
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{signature}")
}

fn reason<T: std::fmt::Debug>(result: Result<T, AuthError>) -> InvalidToken {
    match result {
        Err(AuthError::InvalidToken(reason)) => reason,
        other => panic!("expected invalid_token, got {other:?}"),
    }
}

/// Asserts every token is refused with `expected`.
fn refused_all<T>(validator: &JwtValidator<T>, tokens: &[String], expected: &InvalidToken)
where
    T: serde::de::DeserializeOwned + std::fmt::Debug + 'static,
{
    for token in tokens {
        let got = reason(validator.verify(token));
        assert_eq!(&got, expected, "token {token:?}");
    }
}

fn pem_body_der(pem: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).unwrap();
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[test]
fn sanity_good_token_is_accepted() {
    let claims = validator().verify(&good()).unwrap();
    assert_eq!(claims.sub.as_deref(), Some("johndoe"));
}

// ---------------------------------------------------------------------------------
// Structure: segment counts (RFC 7515 §7.1: exactly three segments).

#[test]
fn segment_counts_other_than_three_are_malformed() {
    let good = good();
    let (h, rest) = good.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let cases = vec![
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
        h.to_owned(),
        format!("{h}.{p}"),
        format!("{h}.{p}."),
        format!(".{p}.{s}"),
        format!("{h}..{s}"),
        format!("{good}."),
        format!(".{good}"),
        format!("{good}.{s}"),
        format!("{h}.{p}.{s}.{s}.{s}"), // JWE-like five segments
        format!("{h}.{h}.{p}.{s}"),
        format!("{h}..{p}.{s}"),
    ];
    tally("segment counts", cases.len());
    refused_all(&validator(), &cases, &InvalidToken::Malformed);
}

// ---------------------------------------------------------------------------------
// base64url strictness (RFC 7515 §2: base64url without padding; RFC 4648 §3.5 canonical).

/// Replaces the last character of `segment` with one that differs only in the bits
/// that do not encode data (non-canonical encodings of the same bytes).
fn non_canonical_variants(segment: &str) -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let unused_bits = match segment.len() % 4 {
        2 => 4,
        3 => 2,
        _ => return Vec::new(),
    };
    let last = segment.as_bytes()[segment.len() - 1];
    let value = ALPHABET.iter().position(|&c| c == last).unwrap();
    let mask = (1 << unused_bits) - 1;
    (0..=mask)
        .filter(|&low| low != value & mask)
        .map(|low| {
            let c = ALPHABET[(value & !mask) | low] as char;
            format!("{}{c}", &segment[..segment.len() - 1])
        })
        .collect()
}

#[test]
fn header_and_payload_base64url_is_strict() {
    let v = validator();
    let exp = now() + 600;
    // Payloads whose base64url has '-' and '_' and a length that needs padding.
    let mut payload = None;
    for n in 0..10_000 {
        let candidate = format!(r#"{{"exp":{exp},"n":"{n}~~~???>>>"}}"#);
        let encoded = b64(candidate.as_bytes());
        if encoded.contains('-') && encoded.contains('_') && !encoded.len().is_multiple_of(4) {
            payload = Some(candidate);
            break;
        }
    }
    let payload = payload.expect("a payload with - and _");
    let p = b64(payload.as_bytes());
    // 22 bytes: 30 characters, the last with 4 unused bits.
    let h = b64(br#"{"alg":"HS256","x":12}"#);
    assert_eq!(h.len() % 4, 2);
    let signed = |h: &str, p: &str| {
        let input = format!("{h}.{p}");
        format!("{input}.{}", mac(input.as_bytes(), SECRET))
    };
    assert!(v.verify(&signed(&h, &p)).is_ok());

    let pad = |s: &str| format!("{s}{}", "=".repeat((4 - s.len() % 4) % 4));
    let std_alphabet = |s: &str| s.replace('-', "+").replace('_', "/");
    let mut payload_cases = vec![
        signed(&h, &pad(&p)),
        signed(&h, &format!("{p}=")),
        signed(&h, &format!("{p}==")),
        signed(&h, &std_alphabet(&p)),
        signed(&h, &format!("{p}A")), // one character too many: impossible length
        signed(&h, &format!("{}\u{e9}", &p[..p.len() - 1])),
    ];
    for ws in [" ", "\t", "\n", "\r\n"] {
        payload_cases.push(signed(&h, &format!("{}{ws}{}", &p[..4], &p[4..])));
    }
    for variant in non_canonical_variants(&p) {
        payload_cases.push(signed(&h, &variant));
    }
    let odd_header = std_alphabet(&b64(br#"{"alg":"HS256","x":"~~~???>>>"}"#));
    assert!(odd_header.contains('+') && odd_header.contains('/'));
    let mut header_cases = vec![
        signed(&pad(&h), &p),
        signed(&odd_header, &p),
        signed(&format!("{h}A"), &p),
        signed(&format!(" {h}"), &p),
        signed(&format!("{}%3D", h), &p),
    ];
    for variant in non_canonical_variants(&h) {
        header_cases.push(signed(&variant, &p));
    }
    tally(
        "base64url strictness (header+payload)",
        payload_cases.len() + header_cases.len(),
    );
    refused_all(&v, &payload_cases, &InvalidToken::Malformed);
    refused_all(&v, &header_cases, &InvalidToken::Malformed);
}

#[test]
fn signature_base64url_is_strict() {
    let v = validator();
    let good = good();
    let (input, s) = good.rsplit_once('.').unwrap();
    // 32 bytes = 43 characters, the last carrying 2 unused bits.
    assert_eq!(s.len(), 43);
    let mut cases = vec![
        format!("{input}.{s}="),
        format!("{input}.{s}=="),
        format!("{input}.{}", s.replace('-', "+").replace('_', "/")),
        format!("{input}.{s} "),
        format!("{input}.{}\t{}", &s[..10], &s[10..]),
        format!("{input}.{s}A"), // 44 chars: 33 bytes
        format!("{input}.{s}AA"),
    ];
    for variant in non_canonical_variants(s) {
        cases.push(format!("{input}.{variant}"));
    }
    // Only keep the '+'/'/' case if it changed anything.
    cases.retain(|c| c != &good);
    tally("base64url strictness (signature)", cases.len());
    refused_all(&v, &cases, &InvalidToken::BadSignature);
}

// ---------------------------------------------------------------------------------
// JSON: non-object values, syntax outside RFC 8259, duplicates, nesting, UTF-8, numbers.

#[test]
fn header_that_is_not_one_json_object_is_malformed() {
    let p = payload();
    let headers = [
        "",
        " ",
        "null",
        "true",
        "1",
        r#""HS256""#,
        r#"["HS256"]"#,
        r#"[{"alg":"HS256"}]"#,
        "{",
        "{}",
        r#"{"alg":"HS256"}}"#,
        r#"{"alg":"HS256"} {"alg":"HS256"}"#,
        r#"{"alg":"HS256"}x"#,
        "\u{feff}{\"alg\":\"HS256\"}",
        r#"{'alg':'HS256'}"#,
        r#"{alg:"HS256"}"#,
        r#"{"alg":"HS256",}"#,
        r#"/*x*/{"alg":"HS256"}"#,
        "\u{c}{\"alg\":\"HS256\"}",
        r#"{"alg":"HS256","x":NaN}"#,
        r#"{"alg":"HS256","x":01}"#,
        "{\"alg\":\"HS256\",\"x\":\"a\u{1}\"}",
    ];
    let cases: Vec<_> = headers.iter().map(|h| raw_hs256(h, &p, SECRET)).collect();
    tally("non-object/invalid JSON header", cases.len());
    refused_all(&validator(), &cases, &InvalidToken::Malformed);
}

#[test]
fn payload_that_is_not_one_json_object_is_malformed() {
    let exp = now() + 600;
    let payloads = [
        String::new(),
        " ".to_owned(),
        "null".to_owned(),
        "0".to_owned(),
        format!("{exp}"),
        r#""exp""#.to_owned(),
        format!(r#"[{{"exp":{exp}}}]"#),
        "{".to_owned(),
        format!(r#"{{"exp":{exp}}}}}"#),
        format!(r#"{{"exp":{exp}}}{{"exp":{exp}}}"#),
        format!("\u{feff}{{\"exp\":{exp}}}"),
        format!(r#"{{"exp":{exp},}}"#),
        format!(r#"{{'exp':{exp}}}"#),
        format!(r#"{{"exp":{exp},"x":Infinity}}"#),
        format!(r#"{{"exp":{exp},"x":0x10}}"#),
        format!("{{\"exp\":{exp},\"x\":\"\u{0}\"}}"),
    ];
    let cases: Vec<_> = payloads
        .iter()
        .map(|p| raw_hs256(HEADER, p, SECRET))
        .collect();
    tally("non-object/invalid JSON payload", cases.len());
    refused_all(&validator(), &cases, &InvalidToken::Malformed);
}

#[test]
fn duplicate_header_members_are_malformed() {
    let p = payload();
    let headers = [
        r#"{"alg":"HS256","alg":"HS256"}"#,
        r#"{"alg":"none","alg":"HS256"}"#,
        r#"{"alg":"HS256","alg":"none"}"#,
        r#"{"alg":"HS256","\u0061lg":"none"}"#,
        r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
        r#"{"alg":"HS256","kid":null,"kid":"b"}"#,
    ];
    let cases: Vec<_> = headers.iter().map(|h| raw_hs256(h, &p, SECRET)).collect();
    tally("duplicate header members", cases.len() + 1);
    refused_all(&validator(), &cases, &InvalidToken::Malformed);
    // A duplicated `crit` is refused either way.
    let crit = raw_hs256(r#"{"alg":"HS256","crit":[],"crit":[]}"#, &p, SECRET);
    assert!(validator().verify(&crit).is_err());
}

#[test]
fn duplicate_registered_claims_are_invalid_claims() {
    let (late, early) = (now() + 600, now() - 600);
    let cases = [
        (format!(r#"{{"exp":{early},"exp":{late}}}"#), "exp"),
        (format!(r#"{{"exp":{late},"exp":{early}}}"#), "exp"),
        (format!(r#"{{"exp":{early},"\u0065xp":{late}}}"#), "exp"),
        (format!(r#"{{"exp":{late},"nbf":0,"nbf":0}}"#), "nbf"),
        (format!(r#"{{"exp":{late},"iat":0,"iat":0}}"#), "iat"),
        (format!(r#"{{"exp":{late},"iss":"a","iss":"b"}}"#), "iss"),
        (format!(r#"{{"exp":{late},"aud":"a","aud":"b"}}"#), "aud"),
        (
            format!(r#"{{"exp":{late},"sub":"a","sub":"admin"}}"#),
            "sub",
        ),
        (format!(r#"{{"exp":{late},"jti":"a","jti":"b"}}"#), "jti"),
        (
            format!(r#"{{"exp":{late},"scope":"me","scope":"admin"}}"#),
            "scope",
        ),
    ];
    tally("duplicate registered claims", cases.len());
    let v = validator();
    for (payload, claim) in &cases {
        let token = raw_hs256(HEADER, payload, SECRET);
        assert_eq!(
            reason(v.verify(&token)),
            InvalidToken::InvalidClaim(claim),
            "{payload}"
        );
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[allow(dead_code)]
struct RoleClaims {
    exp: i64,
    role: String,
}

#[test]
fn duplicate_application_claim_is_refused_by_a_struct_claims_type() {
    let exp = now() + 600;
    let v = validator().with_claims::<RoleClaims>();
    let once = raw_hs256(HEADER, &format!(r#"{{"exp":{exp},"role":"user"}}"#), SECRET);
    assert_eq!(v.verify(&once).unwrap().role, "user");
    let payloads = [
        format!(r#"{{"exp":{exp},"role":"user","role":"admin"}}"#),
        format!(r#"{{"exp":{exp},"role":"user","\u0072ole":"admin"}}"#),
    ];
    tally("duplicate application claims", payloads.len());
    for p in &payloads {
        let token = raw_hs256(HEADER, p, SECRET);
        // The refusal names the member (from the type's own field list), never a value.
        assert_eq!(
            reason(v.verify(&token)),
            InvalidToken::InvalidClaim("role"),
            "{p}"
        );
    }
}

/// Runs `f` and fails if it takes more than `limit` (a hang guard, not a timing test).
fn bounded<R>(limit: Duration, f: impl FnOnce() -> R) -> R {
    let start = Instant::now();
    let result = f();
    assert!(start.elapsed() < limit, "took {:?}", start.elapsed());
    result
}

#[derive(Debug, Clone, serde::Deserialize)]
#[allow(dead_code)]
struct ValueClaims {
    exp: i64,
    #[serde(default)]
    extra: Option<serde_json::Value>,
}

#[test]
fn deep_nesting_neither_overflows_the_stack_nor_hangs() {
    const DEPTH: usize = 100_000;
    let exp = now() + 600;
    let arrays = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(DEPTH / 2), "}".repeat(DEPTH / 2));
    let unbalanced = "[".repeat(DEPTH);
    let v = validator().with_max_token_len(2 * 1024 * 1024);
    let limit = Duration::from_secs(10);
    let mut cases = 0;

    // Ignored claims and header members are skipped without recursion: the signature is
    // the issuer's, so the token stands.
    for deep in [&arrays, &objects] {
        let token = raw_hs256(HEADER, &format!(r#"{{"exp":{exp},"x":{deep}}}"#), SECRET);
        assert!(bounded(limit, || v.verify(&token)).is_ok());
        let header = format!(r#"{{"alg":"HS256","x":{deep}}}"#);
        let token = raw_hs256(&header, &format!(r#"{{"exp":{exp}}}"#), SECRET);
        assert!(bounded(limit, || v.verify(&token)).is_ok());
        cases += 2;
    }
    // Registered claims must be flat.
    for claim in ["scope", "aud", "exp", "sub"] {
        let token = raw_hs256(
            HEADER,
            &format!(r#"{{"exp":{exp},"{claim}":{arrays}}}"#).replacen(
                &format!(r#""exp":{exp},"exp""#),
                r#""exp""#,
                1,
            ),
            SECRET,
        );
        assert_eq!(
            reason(bounded(limit, || v.verify(&token))),
            InvalidToken::InvalidClaim(claim)
        );
        cases += 1;
    }
    // Unbalanced: malformed.
    for (h, p) in [
        (
            HEADER.to_owned(),
            format!(r#"{{"exp":{exp},"x":{unbalanced}"#),
        ),
        (format!(r#"{{"alg":"HS256","x":{unbalanced}"#), payload()),
    ] {
        let token = raw_hs256(&h, &p, SECRET);
        assert_eq!(
            reason(bounded(limit, || v.verify(&token))),
            InvalidToken::Malformed
        );
        cases += 1;
    }
    // A claims type with a `serde_json::Value` field: serde_json's recursion limit (128)
    // refuses the token instead of recursing 100 000 levels.
    let typed = v.clone().with_claims::<ValueClaims>();
    let ok = raw_hs256(
        HEADER,
        &format!(
            r#"{{"exp":{exp},"extra":{}{}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        ),
        SECRET,
    );
    assert!(typed.verify(&ok).is_ok());
    for deep in [&arrays, &objects] {
        let token = raw_hs256(
            HEADER,
            &format!(r#"{{"exp":{exp},"extra":{deep}}}"#),
            SECRET,
        );
        assert_eq!(
            reason(bounded(limit, || typed.verify(&token))),
            InvalidToken::InvalidClaim("extra")
        );
        cases += 1;
    }
    tally("deep nesting", cases + 1);
}

#[test]
fn invalid_utf8_anywhere_is_malformed() {
    let exp = now() + 600;
    let mut cases = Vec::new();
    let bad_sequences: [&[u8]; 6] = [
        b"\xff",
        b"\xfe\xff",
        b"\xc0\xaf",         // overlong '/'
        b"\xed\xa0\x80",     // UTF-16 surrogate encoded in UTF-8
        b"\xe2\x82",         // truncated sequence
        b"\xf4\x90\x80\x80", // above U+10FFFF
    ];
    for bad in bad_sequences {
        let splice = |prefix: &str, suffix: &str| {
            let mut out = prefix.as_bytes().to_vec();
            out.extend_from_slice(bad);
            out.extend_from_slice(suffix.as_bytes());
            out
        };
        let header = HEADER.as_bytes();
        let payload_known = splice(&format!(r#"{{"exp":{exp},"sub":""#), r#""}"#);
        let payload_ignored = splice(&format!(r#"{{"exp":{exp},"note":""#), r#""}"#);
        let payload_key = splice(&format!(r#"{{"exp":{exp},""#), r#"":1}"#);
        let header_ignored = splice(r#"{"alg":"HS256","note":""#, r#""}"#);
        let header_alg = splice(r#"{"alg":"HS256"#, r#""}"#);
        let p = payload();
        cases.push(raw_bytes_hs256(header, &payload_known, SECRET));
        cases.push(raw_bytes_hs256(header, &payload_ignored, SECRET));
        cases.push(raw_bytes_hs256(header, &payload_key, SECRET));
        cases.push(raw_bytes_hs256(&header_ignored, p.as_bytes(), SECRET));
        cases.push(raw_bytes_hs256(&header_alg, p.as_bytes(), SECRET));
    }
    tally("invalid UTF-8", cases.len());
    refused_all(&validator(), &cases, &InvalidToken::Malformed);
}

#[test]
fn lone_surrogate_escapes_are_refused() {
    let exp = now() + 600;
    let v = validator();
    let known = raw_hs256(
        HEADER,
        &format!(r#"{{"exp":{exp},"sub":"\ud800"}}"#),
        SECRET,
    );
    assert!(v.verify(&known).is_err());
    let pair = raw_hs256(
        HEADER,
        &format!(r#"{{"exp":{exp},"sub":"\ud83d\ude00"}}"#),
        SECRET,
    );
    assert_eq!(v.verify(&pair).unwrap().sub.as_deref(), Some("\u{1f600}"));
    tally("escaped surrogates", 2);
}

#[test]
fn huge_and_odd_numbers_in_time_claims() {
    let v = validator();
    let now = now();
    let huge_int = format!("1{}", "0".repeat(400));
    let accepted = [
        // Far-future expiries saturate: a NumericDate is any JSON number (RFC 7519 §2).
        "1e300".to_owned(),
        "18446744073709551615".to_owned(),
        "99999999999999999999999999".to_owned(),
        format!("{}.999", now + 600),
        format!("{}e0", now + 600),
        format!("{}.0", now + 600),
    ];
    for exp in &accepted {
        let token = raw_hs256(HEADER, &format!(r#"{{"exp":{exp}}}"#), SECRET);
        assert!(v.verify(&token).is_ok(), "exp {exp}");
    }
    let expired = [
        "-1",
        "-0",
        "0",
        "-1e300",
        "-9223372036854775808",
        "-99999999999999999999999999",
    ];
    for exp in expired {
        let token = raw_hs256(HEADER, &format!(r#"{{"exp":{exp}}}"#), SECRET);
        assert_eq!(reason(v.verify(&token)), InvalidToken::Expired, "exp {exp}");
    }
    let out_of_range = ["1e400", "-1e400", huge_int.as_str()];
    for claim in ["exp", "nbf", "iat"] {
        for n in out_of_range {
            let payload = if claim == "exp" {
                format!(r#"{{"exp":{n}}}"#)
            } else {
                format!(r#"{{"exp":{},"{claim}":{n}}}"#, now + 600)
            };
            let token = raw_hs256(HEADER, &payload, SECRET);
            assert_eq!(
                reason(v.verify(&token)),
                InvalidToken::InvalidClaim(claim),
                "{payload}"
            );
        }
    }
    tally(
        "huge/odd numbers",
        accepted.len() + expired.len() + 3 * out_of_range.len(),
    );
}

// ---------------------------------------------------------------------------------
// RFC 8725 §2.1, §3.1: `alg` is pinned by the key; `none` never accepted.

#[test]
fn alg_none_in_every_spelling_is_refused_even_with_a_valid_mac() {
    let p = payload();
    let spellings = [
        "none",
        "None",
        "NONE",
        "nOnE",
        "NoNe",
        "nONE",
        "none ",
        " none",
        "none\\u0000",
        "n\\u006fne",
        "",
    ];
    let mut cases = 0;
    let v = validator();
    for alg in spellings {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let input = format!("{}.{}", b64(header.as_bytes()), b64(p.as_bytes()));
        let signatures = [
            mac(input.as_bytes(), SECRET),
            mac(input.as_bytes(), b""),
            "e30".to_owned(),
            "AA".to_owned(),
        ];
        for signature in &signatures {
            let token = format!("{input}.{signature}");
            assert_eq!(
                reason(v.verify(&token)),
                InvalidToken::UnsupportedAlgorithm,
                "{header} {signature}"
            );
            cases += 1;
        }
        // Unsigned form (empty third segment): refused before the header is read.
        assert_eq!(
            reason(v.verify(&format!("{input}."))),
            InvalidToken::Malformed
        );
        cases += 1;
    }
    tally("alg none", cases);
}

#[test]
fn alg_that_is_not_exactly_a_registered_name_is_refused() {
    let p = payload();
    let v = validator();
    let unsupported = [
        "hs256",
        "Hs256",
        "hS256",
        "HS256 ",
        " HS256",
        "HS256\\u0000",
        "HS256\\n",
        "HS 256",
        "HS-256",
        "HMAC-SHA256",
        "HS2560",
        "HS25",
        "HS",
        "\u{41d}S256", // Cyrillic capital En
        "ＨＳ256",     // full-width
        "HS256\\u200b",
    ];
    for alg in unsupported {
        let token = raw_hs256(&format!(r#"{{"alg":"{alg}"}}"#), &p, SECRET);
        assert_eq!(
            reason(v.verify(&token)),
            InvalidToken::UnsupportedAlgorithm,
            "{alg}"
        );
    }
    let malformed = [
        r#"{"alg":null}"#,
        r#"{"alg":256}"#,
        r#"{"alg":["HS256"]}"#,
        r#"{"alg":{"name":"HS256"}}"#,
        r#"{"alg":true}"#,
        r#"{"typ":"JWT"}"#,
        r#"{"ALG":"HS256"}"#,
    ];
    for header in malformed {
        let token = raw_hs256(header, &p, SECRET);
        assert_eq!(
            reason(v.verify(&token)),
            InvalidToken::Malformed,
            "{header}"
        );
    }
    // An escaped spelling of the same JSON string is the same `alg` (RFC 8259 §7).
    let escaped = raw_hs256(r#"{"alg":"H\u0053256"}"#, &p, SECRET);
    assert!(v.verify(&escaped).is_ok());
    tally("alg variants", unsupported.len() + malformed.len() + 1);
}

#[test]
fn public_key_bytes_as_hmac_secret_are_refused() {
    // RFC 8725 §2.1: an attacker signs HS* with the verifier's public key.
    let p = payload();
    let mut cases = 0;
    let setups = [
        (Algorithm::RS256, "rsa_public.pem"),
        (Algorithm::ES256, "ec_public.pem"),
        (Algorithm::ES384, "ec384_public.pem"),
        (Algorithm::EdDSA, "ed_public.pem"),
    ];
    for (alg, file) in setups {
        let pem = key_file(file);
        let key = match alg {
            Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
            _ => DecodingKey::from_ec_pem(&pem),
        }
        .unwrap();
        let v = JwtValidator::<Claims>::new(alg, &key).unwrap();
        let der = pem_body_der(&pem);
        let trimmed = pem.trim_ascii_end().to_vec();
        let secrets: [&[u8]; 3] = [&pem, &trimmed, &der];
        for secret in secrets {
            for hmac_alg in ["HS256", "HS384", "HS512"] {
                let header = format!(r#"{{"alg":"{hmac_alg}","typ":"JWT"}}"#);
                let hmac = match hmac_alg {
                    "HS256" => Algorithm::HS256,
                    "HS384" => Algorithm::HS384,
                    _ => Algorithm::HS512,
                };
                let token = raw_signed(&header, &p, &EncodingKey::from_secret(secret), hmac);
                assert_eq!(
                    reason(v.verify(&token)),
                    InvalidToken::UnsupportedAlgorithm,
                    "{file} {hmac_alg}"
                );
                cases += 1;
            }
        }
    }
    tally("algorithm/key confusion (public key as HMAC secret)", cases);
}

#[test]
fn a_kid_cannot_pull_a_token_onto_a_key_of_another_algorithm() {
    let pem = key_file("rsa_public.pem");
    let v = validator()
        .with_key(
            "rsa",
            Algorithm::RS256,
            &DecodingKey::from_rsa_pem(&pem).unwrap(),
        )
        .unwrap();
    let p = payload();
    let cases = [
        raw_signed(
            r#"{"alg":"HS256","kid":"rsa"}"#,
            &p,
            &EncodingKey::from_secret(&pem),
            Algorithm::HS256,
        ),
        raw_signed(
            r#"{"alg":"HS256","kid":"rsa"}"#,
            &p,
            &EncodingKey::from_secret(SECRET),
            Algorithm::HS256,
        ),
        // PS256 with the right RSA private key, but the key is pinned to RS256.
        raw_signed(
            r#"{"alg":"PS256","kid":"rsa"}"#,
            &p,
            &EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).unwrap(),
            Algorithm::PS256,
        ),
    ];
    tally("kid across algorithms", cases.len() + 1);
    refused_all(&v, &cases, &InvalidToken::UnsupportedAlgorithm);
    // The genuine RS256 token with that kid passes.
    let genuine = raw_signed(
        r#"{"alg":"RS256","kid":"rsa"}"#,
        &p,
        &EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).unwrap(),
        Algorithm::RS256,
    );
    assert!(v.verify(&genuine).is_ok());
}

#[test]
fn embedded_keys_and_key_urls_are_ignored() {
    // RFC 8725 §3.10: keys named by the token itself are not trusted.
    let p = payload();
    let attacker_k = b64(ATTACKER);
    let headers = [
        format!(r#"{{"alg":"HS256","jwk":{{"kty":"oct","k":"{attacker_k}"}}}}"#),
        format!(
            r#"{{"alg":"HS256","jwk":{{"kty":"oct","k":"{attacker_k}","alg":"HS256"}},"kid":"x"}}"#
        ),
        r#"{"alg":"HS256","jku":"https://attacker.invalid/jwks.json"}"#.to_owned(),
        r#"{"alg":"HS256","jku":"file:///etc/passwd"}"#.to_owned(),
        r#"{"alg":"HS256","x5u":"https://attacker.invalid/cert.pem"}"#.to_owned(),
        r#"{"alg":"HS256","x5c":["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}"#.to_owned(),
        r#"{"alg":"HS256","x5t":"AAAA","x5t#S256":"AAAA"}"#.to_owned(),
    ];
    let v = validator();
    for header in &headers {
        // Signed with the attacker's key: refused.
        let forged = raw_hs256(header, &p, ATTACKER);
        // A `kid` no key has whose kid-less fallback fails is an unknown key.
        let expected = if header.contains("\"kid\"") {
            InvalidToken::UnknownKey
        } else {
            InvalidToken::BadSignature
        };
        assert_eq!(reason(v.verify(&forged)), expected, "{header}");
        // Signed with the configured key: the members change nothing.
        assert!(v.verify(&raw_hs256(header, &p, SECRET)).is_ok(), "{header}");
    }
    // An asymmetric token carrying its own public key, against an HMAC validator.
    let ec = raw_signed(
        r#"{"alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}"#,
        &p,
        &EncodingKey::from_ec_pem(&key_file("ec_private.pem")).unwrap(),
        Algorithm::ES256,
    );
    assert_eq!(reason(v.verify(&ec)), InvalidToken::UnsupportedAlgorithm);
    tally("embedded jwk/jku/x5u/x5c", headers.len() * 2 + 1);
}

#[test]
fn kid_tricks_never_select_another_key() {
    const SECOND: &[u8] = b"second-key-for-kid-k1-at-least-32-bytes";
    let v = validator()
        .with_key("k1", Algorithm::HS256, &DecodingKey::from_secret(SECOND))
        .unwrap();
    let p = payload();
    let long_kid = "k".repeat(4096);
    let kids = [
        "../../../../../../dev/null",
        "/dev/null",
        "..\\\\..\\\\windows\\\\win.ini",
        "' OR '1'='1",
        "k1' --",
        "k1\\\" OR \\\"1\\\"=\\\"1",
        "",
        "k1\\u0000",
        "K1",
        "k1 ",
        " k1",
        "nope",
        &long_kid,
    ];
    let mut cases = 0;
    for kid in kids {
        let header = format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#);
        // The attacker's key, the empty key (/dev/null), the k1 key under a near-miss
        // kid: the token falls back to the kid-less key, fails there, and so names an
        // unknown key.
        for secret in [ATTACKER, b"", SECOND] {
            let token = raw_hs256(&header, &p, secret);
            assert_eq!(
                reason(v.verify(&token)),
                InvalidToken::UnknownKey,
                "{kid:?}"
            );
            cases += 1;
        }
    }
    // Non-string kids are malformed headers; a null kid is the same as no kid.
    for header in [
        r#"{"alg":"HS256","kid":1}"#,
        r#"{"alg":"HS256","kid":["k1"]}"#,
        r#"{"alg":"HS256","kid":{"k1":true}}"#,
        r#"{"alg":"HS256","kid":true}"#,
    ] {
        let token = raw_hs256(header, &p, SECOND);
        assert_eq!(
            reason(v.verify(&token)),
            InvalidToken::Malformed,
            "{header}"
        );
        cases += 1;
    }
    let null_kid = r#"{"alg":"HS256","kid":null}"#;
    assert_eq!(
        reason(v.verify(&raw_hs256(null_kid, &p, SECOND))),
        InvalidToken::BadSignature
    );
    assert!(v.verify(&raw_hs256(null_kid, &p, SECRET)).is_ok());
    // The right kid and key pass; the kid-less key cannot sign for k1.
    let k1 = r#"{"alg":"HS256","kid":"k1"}"#;
    assert!(v.verify(&raw_hs256(k1, &p, SECOND)).is_ok());
    assert_eq!(
        reason(v.verify(&raw_hs256(k1, &p, SECRET))),
        InvalidToken::BadSignature
    );
    cases += 4;

    // With only an HS384 key under k1, an HS256 token naming k1 is refused by algorithm.
    let v384 = validator()
        .with_key(
            "k1",
            Algorithm::HS384,
            &DecodingKey::from_secret(&[7u8; 48]),
        )
        .unwrap();
    assert_eq!(
        reason(v384.verify(&raw_hs256(k1, &p, &[7u8; 48]))),
        InvalidToken::UnsupportedAlgorithm
    );
    cases += 1;
    tally("kid tricks", cases);
}

#[test]
fn crit_in_any_form_is_refused() {
    let p = payload();
    let headers = [
        r#"{"alg":"HS256","crit":"b64"}"#,
        r#"{"alg":"HS256","crit":["unknown-extension"],"unknown-extension":1}"#,
        r#"{"alg":"HS256","crit":["alg"]}"#,
        r#"{"alg":"HS256","crit":{}}"#,
        r#"{"alg":"HS256","crit":[1]}"#,
        r#"{"alg":"HS256","crit":true}"#,
        r#"{"alg":"HS256","crit":0}"#,
        r#"{"alg":"HS256","\u0063rit":["b64"],"b64":false}"#,
        r#"{"crit":["b64"],"alg":"HS256","b64":false}"#,
    ];
    let v = validator();
    for header in headers {
        let token = raw_hs256(header, &p, SECRET);
        assert_eq!(
            reason(v.verify(&token)),
            InvalidToken::UnsupportedCriticalHeader,
            "{header}"
        );
    }
    tally("crit", headers.len());
}

// ---------------------------------------------------------------------------------
// Claim type confusion (RFC 7519 §4.1: NumericDate, StringOrURI).

#[test]
fn claim_type_confusion_is_invalid_claim() {
    let exp = now() + 600;
    let v = validator().with_audience("api").unwrap();
    let wrong_time = [
        r#""1700000000""#,
        r#""tomorrow""#,
        "true",
        "false",
        "null",
        "[1700000000]",
        "{}",
        r#"{"$date":1700000000}"#,
        "1e400",
    ];
    let mut cases = 0;
    for value in wrong_time {
        let payloads = [
            (format!(r#"{{"exp":{value},"aud":"api"}}"#), "exp"),
            (
                format!(r#"{{"exp":{exp},"nbf":{value},"aud":"api"}}"#),
                "nbf",
            ),
            (
                format!(r#"{{"exp":{exp},"iat":{value},"aud":"api"}}"#),
                "iat",
            ),
        ];
        for (payload, claim) in payloads {
            let token = raw_hs256(HEADER, &payload, SECRET);
            assert_eq!(
                reason(v.verify(&token)),
                InvalidToken::InvalidClaim(claim),
                "{payload}"
            );
            cases += 1;
        }
    }
    let others = [
        ("scope", r#"["me"]"#),
        ("scope", "1"),
        ("scope", "null"),
        ("scope", "{}"),
        ("scope", "true"),
        ("aud", "1"),
        ("aud", "{}"),
        ("aud", r#"{"api":true}"#),
        ("aud", r#"["api",1]"#),
        ("aud", r#"["api",null]"#),
        ("aud", r#"[["api"]]"#),
        ("aud", "null"),
        ("aud", "true"),
        ("iss", r#"["https://issuer.example"]"#),
        ("iss", "1"),
        ("iss", "null"),
        ("sub", "1"),
        ("sub", r#"["admin"]"#),
        ("sub", "null"),
        ("jti", "1"),
        ("jti", "{}"),
    ];
    for (claim, value) in others {
        let payload = if claim == "aud" {
            format!(r#"{{"exp":{exp},"aud":{value}}}"#)
        } else {
            format!(r#"{{"exp":{exp},"aud":"api","{claim}":{value}}}"#)
        };
        let token = raw_hs256(HEADER, &payload, SECRET);
        assert_eq!(
            reason(v.verify(&token)),
            InvalidToken::InvalidClaim(claim),
            "{payload}"
        );
        cases += 1;
    }
    // Even with the array opt-in, the array must hold strings.
    let lenient = validator().allow_scope_array();
    for value in [r#"[1]"#, r#"["me",null]"#, r#"[["me"]]"#, "1"] {
        let token = raw_hs256(
            HEADER,
            &format!(r#"{{"exp":{exp},"scope":{value}}}"#),
            SECRET,
        );
        assert_eq!(
            reason(lenient.verify(&token)),
            InvalidToken::InvalidClaim("scope"),
            "{value}"
        );
        cases += 1;
    }
    tally("claim type confusion", cases);
}

/// The current second, read at least 50 ms into it: the validator's clock may lag the
/// precise one by a scheduler tick, which must not move `exp == now` across a second.
fn now_off_second_boundary() -> i64 {
    loop {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        if (50..900).contains(&since_epoch.subsec_millis()) {
            return since_epoch.as_secs() as i64;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn time_claims_at_the_edges() {
    let now = now_off_second_boundary();
    let v = validator().with_leeway(Duration::ZERO);
    let check = |payload: String| v.verify(&raw_hs256(HEADER, &payload, SECRET));
    assert_eq!(
        reason(check(format!(r#"{{"exp":{}}}"#, now - 1))),
        InvalidToken::Expired
    );
    assert_eq!(
        reason(check(format!(r#"{{"exp":{now}}}"#))),
        InvalidToken::Expired
    );
    assert!(check(format!(r#"{{"exp":{}}}"#, now + 60)).is_ok());
    assert_eq!(
        reason(check(format!(
            r#"{{"exp":{},"nbf":{}}}"#,
            now + 600,
            now + 60
        ))),
        InvalidToken::NotYetValid
    );
    assert_eq!(
        reason(check(format!(r#"{{"exp":{},"nbf":1e300}}"#, now + 600))),
        InvalidToken::NotYetValid
    );
    assert!(check(format!(r#"{{"exp":{},"nbf":{}}}"#, now + 600, now - 60)).is_ok());
    assert!(check(format!(r#"{{"exp":{},"nbf":-1e300}}"#, now + 600)).is_ok());
    // `iat` in the future is not checked (RFC 7519 gives it no validation rule).
    assert!(check(format!(r#"{{"exp":{},"iat":{}}}"#, now + 600, now + 3600)).is_ok());
    assert_eq!(
        reason(check("{}".to_owned())),
        InvalidToken::MissingClaim("exp")
    );
    // The leeway is symmetric and saturating.
    let lenient = validator().with_leeway(Duration::from_secs(u64::MAX));
    assert!(lenient
        .verify(&raw_hs256(HEADER, r#"{"exp":0,"nbf":1e300}"#, SECRET))
        .is_ok());
    tally("time edges", 10);
}

// ---------------------------------------------------------------------------------
// Signature tampering (RFC 7515 §5.2 step 8).

#[test]
fn every_signature_character_and_bit_is_checked() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let v = validator();
    let good = good();
    let (input, s) = good.rsplit_once('.').unwrap();
    let mut cases = 0;
    // Every character position replaced by every other base64url character; where
    // that only changes unused bits it is a non-canonical encoding, also refused.
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for i in 0..s.len() {
        for c in ALPHABET.chars() {
            if s[i..].starts_with(c) {
                continue;
            }
            let token = format!("{input}.{}{c}{}", &s[..i], &s[i + 1..]);
            assert_eq!(
                reason(v.verify(&token)),
                InvalidToken::BadSignature,
                "{i}{c}"
            );
            cases += 1;
        }
    }
    // Every bit of the decoded signature.
    let tag = URL_SAFE_NO_PAD.decode(s).unwrap();
    for byte in 0..tag.len() {
        for bit in 0..8 {
            let mut flipped = tag.clone();
            flipped[byte] ^= 1 << bit;
            let token = format!("{input}.{}", b64(&flipped));
            assert_eq!(reason(v.verify(&token)), InvalidToken::BadSignature);
            cases += 1;
        }
    }
    // Truncated and extended tags (RFC 7518 §3.2: the full-length MAC is required).
    for len in 1..tag.len() {
        let token = format!("{input}.{}", b64(&tag[..len]));
        assert_eq!(reason(v.verify(&token)), InvalidToken::BadSignature);
        cases += 1;
    }
    for extra in [&[0u8][..], &[0; 32], &[0; 200]] {
        let mut long = tag.clone();
        long.extend_from_slice(extra);
        let token = format!("{input}.{}", b64(&long));
        assert_eq!(reason(v.verify(&token)), InvalidToken::BadSignature);
        cases += 1;
    }
    // Empty signature.
    assert_eq!(
        reason(v.verify(&format!("{input}."))),
        InvalidToken::Malformed
    );
    // All-zero tag of the right length.
    assert_eq!(
        reason(v.verify(&format!("{input}.{}", b64(&[0; 32])))),
        InvalidToken::BadSignature
    );
    cases += 2;
    tally("signature tampering", cases);
}

#[test]
fn signatures_do_not_transfer_between_tokens_or_parts() {
    let v = validator();
    let a = raw_hs256(HEADER, &payload(), SECRET);
    let admin = json!({ "sub": "admin", "exp": now() + 600, "scope": "admin" }).to_string();
    let b = raw_hs256(HEADER, &admin, SECRET);
    let (a_input, a_sig) = a.rsplit_once('.').unwrap();
    let (b_input, _) = b.rsplit_once('.').unwrap();
    let (a_h, a_p) = a_input.split_once('.').unwrap();
    let bad_sig = [
        // Payload of b with the signature of a.
        format!("{b_input}.{a_sig}"),
        // Header changed (extra member), signature kept.
        format!(
            "{}.{a_p}.{a_sig}",
            b64(br#"{"alg":"HS256","typ":"JWT","x":1}"#)
        ),
        // Signature over the header alone, or the payload alone.
        format!("{a_input}.{}", mac(a_h.as_bytes(), SECRET)),
        format!("{a_input}.{}", mac(a_p.as_bytes(), SECRET)),
        // Signature over the decoded JSON instead of the encoded segments.
        format!(
            "{a_input}.{}",
            mac(format!("{HEADER}.{}", payload()).as_bytes(), SECRET)
        ),
        // Signature with the key as a different encoding (base64url of the secret).
        format!(
            "{a_input}.{}",
            mac(a_input.as_bytes(), b64(SECRET).as_bytes())
        ),
    ];
    for token in &bad_sig {
        assert_eq!(
            reason(v.verify(token)),
            InvalidToken::BadSignature,
            "{token}"
        );
    }
    // Header and payload swapped, with or without a fresh signature: the "header" has
    // no `alg`.
    let swapped_input = format!("{a_p}.{a_h}");
    let swapped = [
        format!("{swapped_input}.{a_sig}"),
        format!("{swapped_input}.{}", mac(swapped_input.as_bytes(), SECRET)),
    ];
    refused_all(&v, &swapped, &InvalidToken::Malformed);
    // HS384 header over an HS256 signature.
    let hs384 = format!("{}.{a_p}.{a_sig}", b64(br#"{"alg":"HS384"}"#));
    assert_eq!(reason(v.verify(&hs384)), InvalidToken::UnsupportedAlgorithm);
    tally("signature transfer/swap", bad_sig.len() + swapped.len() + 1);
}

// ---------------------------------------------------------------------------------
// Public vectors.

/// RFC 7515 Appendix A.1: the HS256 JWS example, verified byte for byte.
#[test]
fn rfc7515_appendix_a1_vector() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    // The JWK of A.1: {"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}
    let key = URL_SAFE_NO_PAD
        .decode(
            "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
        )
        .unwrap();
    let header = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
    let payload =
        "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
                 .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
                 .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    // The vector is self-consistent: same segments, same MAC, computed here.
    assert_eq!(raw_hs256(header, payload, &key), token);

    let v = JwtValidator::<Claims>::hs256(&key).unwrap();
    // exp is 2011-03-22: the signature verifies, the token is only expired.
    assert_eq!(reason(v.verify(token)), InvalidToken::Expired);
    let claims = v
        .clone()
        .with_leeway(Duration::from_secs(u64::MAX))
        .verify(token)
        .unwrap();
    assert_eq!(claims.iss.as_deref(), Some("joe"));
    assert_eq!(claims.exp, 1_300_819_380);
    // One changed bit anywhere in the signature input breaks it.
    let tampered = token.replacen("eyJpc3MiOiJqb2Ui", "eyJpc3MiOiJqb2Ji", 1);
    assert_eq!(reason(v.verify(&tampered)), InvalidToken::BadSignature);
    // The same token against another key.
    assert_eq!(
        reason(validator().verify(token)),
        InvalidToken::BadSignature
    );
    tally("RFC 7515 A.1 vector", 4);
}

// ---------------------------------------------------------------------------------
// Length limit boundaries.

#[test]
fn token_length_limit_boundary() {
    let exp = now() + 600;
    let base = raw_hs256(HEADER, &format!(r#"{{"exp":{exp},"pad":""}}"#), SECRET);
    let target = 1024;
    // Grow the padding until the token is exactly `target` bytes long.
    let mut pad = String::new();
    let token = loop {
        let token = raw_hs256(HEADER, &format!(r#"{{"exp":{exp},"pad":"{pad}"}}"#), SECRET);
        if token.len() >= target {
            break token;
        }
        pad.push('x');
    };
    assert!(base.len() < target);
    let v = validator().with_max_token_len(token.len());
    assert!(v.verify(&token).is_ok());
    let v = validator().with_max_token_len(token.len() - 1);
    assert_eq!(reason(v.verify(&token)), InvalidToken::TooLong);
    // The default limit is 8 KiB.
    let big = raw_hs256(
        HEADER,
        &format!(r#"{{"exp":{exp},"pad":"{}"}}"#, "x".repeat(8 * 1024)),
        SECRET,
    );
    assert_eq!(reason(validator().verify(&big)), InvalidToken::TooLong);
    // Over the limit, even garbage is refused by length first (no decoding).
    let garbage = "%".repeat(8 * 1024 + 1);
    assert_eq!(reason(validator().verify(&garbage)), InvalidToken::TooLong);
    tally("token length", 4);
}

// ---------------------------------------------------------------------------------
// Through the layer over TCP: one case per class, exact answer, inner never called.

#[tokio::test]
async fn every_class_is_refused_over_tcp_without_calling_inner() {
    let inner = EchoClaims::<Claims>::new();
    let service = ServiceBuilder::new()
        .layer(BearerAuthLayer::new(validator()).with_realm(REALM).unwrap())
        .service(inner.clone());
    let server = serve(service).await;
    let good = good();
    let (input, s) = good.rsplit_once('.').unwrap();
    let p = payload();
    let exp = now() + 600;
    let mut bad_utf8 = format!(r#"{{"exp":{exp},"note":""#).into_bytes();
    bad_utf8.extend_from_slice(b"\xff\"}");
    let rsa_pem = key_file("rsa_public.pem");
    let cases: Vec<(String, &str)> = vec![
        (format!("{good}.{s}"), "malformed"),
        (format!("{input}.{s}="), "signature is invalid"),
        (raw_hs256(r#"["HS256"]"#, &p, SECRET), "malformed"),
        (
            raw_hs256(r#"{"alg":"HS256","alg":"none"}"#, &p, SECRET),
            "malformed",
        ),
        (
            raw_hs256(HEADER, &format!(r#"{{"exp":1,"exp":{exp}}}"#), SECRET),
            "exp claim is invalid",
        ),
        (
            raw_bytes_hs256(HEADER.as_bytes(), &bad_utf8, SECRET),
            "malformed",
        ),
        (
            raw_hs256(r#"{"alg":"none"}"#, &p, SECRET),
            "algorithm is not accepted",
        ),
        (
            raw_hs256(r#"{"alg":"HS256 "}"#, &p, SECRET),
            "algorithm is not accepted",
        ),
        (
            raw_signed(
                r#"{"alg":"HS384"}"#,
                &p,
                &EncodingKey::from_secret(&rsa_pem),
                Algorithm::HS384,
            ),
            "algorithm is not accepted",
        ),
        (
            raw_hs256(
                &format!(
                    r#"{{"alg":"HS256","jwk":{{"kty":"oct","k":"{}"}}}}"#,
                    b64(ATTACKER)
                ),
                &p,
                ATTACKER,
            ),
            "signature is invalid",
        ),
        (
            raw_hs256(r#"{"alg":"HS256","kid":"../../dev/null"}"#, &p, b""),
            "No key matches the token",
        ),
        (
            raw_hs256(r#"{"alg":"HS256","crit":["b64"],"b64":false}"#, &p, SECRET),
            "unsupported critical header",
        ),
        (
            raw_hs256(HEADER, r#"{"exp":"9999999999"}"#, SECRET),
            "exp claim is invalid",
        ),
        (
            raw_hs256(
                HEADER,
                &format!(r#"{{"exp":{exp},"scope":["me"]}}"#),
                SECRET,
            ),
            "scope claim is invalid",
        ),
        (
            raw_hs256(
                HEADER,
                &format!(r#"{{"exp":{exp},"nbf":{}}}"#, exp + 3600),
                SECRET,
            ),
            "not yet valid",
        ),
        (
            format!("{input}.{}", &s[..s.len() - 1]),
            "signature is invalid",
        ),
    ];
    for (token, description) in &cases {
        let answer = get_with_token(&server.url("/"), token).await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
        assert!(
            answer.challenge().contains(description),
            "{token}: {}",
            answer.challenge()
        );
        assert!(answer.challenge().contains(&format!("realm=\"{REALM}\"")));
    }
    assert_eq!(inner.calls(), 0);
    let answer = get_with_token(&server.url("/"), &good).await;
    assert_eq!(answer.status, 200);
    assert_eq!(inner.calls(), 1);
    tally("over TCP", cases.len());
}

// ---------------------------------------------------------------------------------
// Asymmetric signature encodings (RFC 7518 §3.4: ES256 is the raw 64-byte R || S, not
// DER), and the classic invalid signatures of the Wycheproof kind, built here by hand:
// all zeros (CVE-2022-21449 "psychic signatures"), R or S zero, wrong lengths.

/// DER `SEQUENCE { INTEGER r, INTEGER s }` from a raw R || S signature.
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
        if v.first().is_none_or(|&b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn asymmetric_signature_encodings_and_degenerate_signatures_are_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let p = payload();
    let mut cases = 0;
    let setups = [
        (
            Algorithm::ES256,
            "ES256",
            DecodingKey::from_ec_pem(&key_file("ec_public.pem")).unwrap(),
            EncodingKey::from_ec_pem(&key_file("ec_private.pem")).unwrap(),
        ),
        (
            Algorithm::ES384,
            "ES384",
            DecodingKey::from_ec_pem(&key_file("ec384_public.pem")).unwrap(),
            EncodingKey::from_ec_pem(&key_file("ec384_private.pem")).unwrap(),
        ),
        (
            Algorithm::RS256,
            "RS256",
            DecodingKey::from_rsa_pem(&key_file("rsa_public.pem")).unwrap(),
            EncodingKey::from_rsa_pem(&key_file("rsa_private.pem")).unwrap(),
        ),
        (
            Algorithm::EdDSA,
            "EdDSA",
            DecodingKey::from_ed_pem(&key_file("ed_public.pem")).unwrap(),
            EncodingKey::from_ed_pem(&key_file("ed_private.pem")).unwrap(),
        ),
    ];
    for (alg, name, public, private) in setups {
        let v = JwtValidator::<Claims>::new(alg, &public).unwrap();
        let good = raw_signed(&format!(r#"{{"alg":"{name}"}}"#), &p, &private, alg);
        assert!(v.verify(&good).is_ok(), "{name}");
        let (input, sig) = good.rsplit_once('.').unwrap();
        let raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let n = raw.len();
        let mut bad: Vec<Vec<u8>> = vec![
            vec![0; n],
            vec![0xff; n],
            raw[..n - 1].to_vec(),
            [raw.as_slice(), &[0]].concat(),
            [&[0], raw.as_slice()].concat(),
            Vec::new(),
        ];
        if matches!(alg, Algorithm::ES256 | Algorithm::ES384) {
            let half = n / 2;
            bad.push(ecdsa_der(&raw));
            // R = 0 or S = 0 with the other half genuine.
            bad.push([vec![0; half], raw[half..].to_vec()].concat());
            bad.push([raw[..half].to_vec(), vec![0; half]].concat());
            // R and S swapped.
            bad.push([raw[half..].to_vec(), raw[..half].to_vec()].concat());
        }
        for signature in &bad {
            let token = format!("{input}.{}", b64(signature));
            let got = reason(v.verify(&token));
            let expected = if signature.is_empty() {
                InvalidToken::Malformed
            } else {
                InvalidToken::BadSignature
            };
            assert_eq!(got, expected, "{name} {signature:?}");
            cases += 1;
        }
    }
    tally("asymmetric signature encodings", cases);
}

/// Regression for the `jwt_verify` fuzz target's first finding (a wrong oracle, not a
/// validator bug): `1e3033` is a JSON number by RFC 8259's grammar, and §6 leaves its
/// range to implementations. A member the validator does not read may hold it; a claim
/// the validator or your claims type reads refuses it.
#[test]
fn out_of_range_numbers_in_unread_members_follow_the_grammar() {
    let exp = now() + 600;
    let v = validator();
    let unread = raw_hs256(
        r#"{"alg":"HS256","x":-1e3033}"#,
        &format!(r#"{{"exp":{exp},"note":1e3033}}"#),
        SECRET,
    );
    assert!(v.verify(&unread).is_ok());
    let typed = v.clone().with_claims::<ValueClaims>();
    let read = raw_hs256(
        HEADER,
        &format!(r#"{{"exp":{exp},"extra":1e3033}}"#),
        SECRET,
    );
    assert_eq!(
        reason(typed.verify(&read)),
        InvalidToken::InvalidClaim("extra")
    );
    let registered = raw_hs256(HEADER, r#"{"exp":1e3033}"#, SECRET);
    assert_eq!(
        reason(v.verify(&registered)),
        InvalidToken::InvalidClaim("exp")
    );
    // Malformed numbers are refused wherever they are.
    for bad in ["1e", "-", "01", "1.", ".5", "+1", "0x1", "1e+", "--1"] {
        let token = raw_hs256(HEADER, &format!(r#"{{"exp":{exp},"note":{bad}}}"#), SECRET);
        assert_eq!(reason(v.verify(&token)), InvalidToken::Malformed, "{bad}");
    }
    tally("number range vs grammar", 12);
}
