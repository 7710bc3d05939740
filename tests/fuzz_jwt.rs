//! Property tests (the stable-toolchain fuzzers) for the JWT fast path,
//! [`JwtValidator::verify`].
//!
//! Invariants: never a panic, on arbitrary strings or on tokens built from arbitrary
//! JSON; any mutation of a valid signed token is refused (base64url decoding is strict
//! and canonical, so no other string has the same meaning); a token built from
//! arbitrary header and claims JSON is accepted only if an independent reading of the
//! rules accepts it.
//!
//! Cases: `PROPTEST_CASES` (scripts/test.sh sets 256); a longer run:
//! `PROPTEST_CASES=100000 cargo test --all-features --release --test fuzz_jwt`.

mod common;

use common::*;
use jsonwebtoken::{Algorithm, DecodingKey};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tower_bearer::{AuthError, Claims, JwtValidator};

const KID_SECRET: &[u8] = b"kid-secret-for-the-fuzz-run-32-bytes-long";

fn validators() -> Vec<JwtValidator<Claims>> {
    let plain = JwtValidator::<Claims>::hs256(SECRET).unwrap();
    let configured = plain
        .clone()
        .with_key(
            "k1",
            Algorithm::HS256,
            &DecodingKey::from_secret(KID_SECRET),
        )
        .unwrap()
        .with_issuer("iss")
        .unwrap()
        .with_audience("api")
        .unwrap()
        .allow_scope_array();
    vec![plain, configured]
}

fn valid_token() -> String {
    raw_hs256(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &json!({ "sub": "u", "exp": now() + 3600, "scope": "a b" }).to_string(),
        SECRET,
    )
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
    Truncate(usize),
    SwapSegments(usize, usize),
    DuplicateSegment(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let c = prop_oneof![
        4 => proptest::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".chars().collect::<Vec<_>>()
        ),
        1 => proptest::sample::select(vec!['.', '=', '+', '/', ' ', '~', '%']),
        1 => any::<char>(),
    ];
    let i = 0usize..400;
    prop_oneof![
        (i.clone(), c.clone()).prop_map(|(i, c)| Mutation::Replace(i, c)),
        (i.clone(), c).prop_map(|(i, c)| Mutation::Insert(i, c)),
        i.clone().prop_map(Mutation::Delete),
        i.prop_map(Mutation::Truncate),
        (0usize..3, 0usize..3).prop_map(|(a, b)| Mutation::SwapSegments(a, b)),
        (0usize..3).prop_map(Mutation::DuplicateSegment),
    ]
}

fn apply(token: &str, mutation: &Mutation) -> String {
    let chars: Vec<char> = token.chars().collect();
    if chars.is_empty() {
        return token.to_owned();
    }
    let at = |i: usize| i % (chars.len() + 1);
    match *mutation {
        Mutation::Replace(i, c) => {
            let mut out = chars.clone();
            let i = i % chars.len();
            out[i] = c;
            out.into_iter().collect()
        }
        Mutation::Insert(i, c) => {
            let mut out = chars.clone();
            out.insert(at(i), c);
            out.into_iter().collect()
        }
        Mutation::Delete(i) => {
            let mut out = chars.clone();
            out.remove(i % chars.len());
            out.into_iter().collect()
        }
        Mutation::Truncate(i) => chars[..at(i)].iter().collect(),
        Mutation::SwapSegments(a, b) => {
            let mut parts: Vec<&str> = token.split('.').collect();
            let n = parts.len();
            parts.swap(a % n, b % n);
            parts.join(".")
        }
        Mutation::DuplicateSegment(a) => {
            let mut parts: Vec<&str> = token.split('.').collect();
            let a = a % parts.len();
            parts.insert(a, parts[a]);
            parts.join(".")
        }
    }
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[ -~]{0,8}".prop_map(Value::String),
        proptest::sample::select(vec![
            "HS256", "HS384", "none", "RS256", "hs256", "k1", "api", "iss", "a b"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object whose members are drawn mostly from the names the validator cares
/// about, with values of any type (or, for times, plausible numbers).
fn object(names: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    let now = now();
    let value = prop_oneof![
        3 => json_value(),
        // Plausible times, kept 2 minutes away from the leeway boundaries so that the
        // second ticking between the model and the validator cannot matter.
        1 => (now - 7200..now - 180).prop_map(Value::from),
        1 => (now - 59..now + 59).prop_map(Value::from),
        1 => (now + 180..now + 7200).prop_map(Value::from),
    ];
    proptest::collection::vec((proptest::sample::select(names.to_vec()), value), 0..6).prop_map(
        |members| {
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        },
    )
}

/// The rules, read independently: what must hold for `validator` `i` to accept.
fn should_accept(
    i: usize,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    secret_is_kid: bool,
) -> bool {
    let now = now();
    let string = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let number = |v: &Value| v.as_f64();
    if header.get("alg") != Some(&json!("HS256")) || header.contains_key("crit") {
        return false;
    }
    match header.get("kid") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => return false,
    }
    let kid = string(header.get("kid"));
    // Only the configured validator knows k1; elsewhere any kid falls back to SECRET.
    let signed_with_kid_key = i == 1 && kid.as_deref() == Some("k1");
    if signed_with_kid_key != secret_is_kid {
        return false;
    }
    let Some(exp) = claims.get("exp").and_then(number) else {
        return false;
    };
    if (exp.floor() as i64) <= now - 60 {
        return false;
    }
    for time in ["nbf", "iat"] {
        if let Some(v) = claims.get(time) {
            let Some(t) = number(v) else { return false };
            if time == "nbf" && (t.floor() as i64) > now + 60 {
                return false;
            }
        }
    }
    for text in ["iss", "sub", "jti", "sid", "client_id"] {
        if claims.get(text).is_some_and(|v| !v.is_string()) {
            return false;
        }
    }
    let strings = |v: &Value| match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => None,
    };
    let aud = match claims.get("aud") {
        None => None,
        Some(v) => match strings(v) {
            Some(list) => Some(list),
            None => return false,
        },
    };
    match claims.get("scope") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(_)) if i == 1 => {
            if strings(&claims["scope"]).is_none() {
                return false;
            }
        }
        Some(_) => return false,
    }
    if i == 0 {
        aud.is_none()
    } else {
        aud.is_some_and(|a| a.iter().any(|x| x == "api"))
            && string(claims.get("iss")).as_deref() == Some("iss")
    }
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(token in any::<String>()) {
        for v in validators() {
            prop_assert!(v.verify(&token).is_err());
        }
    }

    #[test]
    fn token_shaped_strings_never_panic(token in "[A-Za-z0-9_=.+/-]{0,300}") {
        for v in validators() {
            let _ = v.verify(&token);
        }
    }

    #[test]
    fn every_mutation_of_a_valid_token_is_refused(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let token = valid_token();
        let v = &validators()[0];
        prop_assert!(v.verify(&token).is_ok());
        let mut mutated = token.clone();
        for m in &mutations {
            mutated = apply(&mutated, m);
        }
        // A mutation that gives back the same string (e.g. replacing a character with
        // itself) is not a mutation; skipped without counting as a proptest reject.
        if mutated == token {
            return Ok(());
        }
        prop_assert!(
            matches!(v.verify(&mutated), Err(AuthError::InvalidToken(_))),
            "{:?} -> {}", mutations, mutated
        );
    }

    /// The layer skips its own `b64token` pass for tokens this validator accepts
    /// (`accepts_only_b64token`), so an accepted token must be one: the signing input
    /// is mutated *before* it is signed, and any character outside base64url must be
    /// refused by the validator itself, with the signature right.
    #[test]
    fn accepted_tokens_are_b64tokens_even_when_correctly_signed(mutations in proptest::collection::vec(mutation(), 1..3)) {
        let token = valid_token();
        let input = &token[..token.rfind('.').unwrap()];
        let mut mutated = input.to_owned();
        for m in &mutations {
            mutated = apply(&mutated, m);
        }
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(SECRET).unwrap();
        hmac::Mac::update(&mut mac, mutated.as_bytes());
        let signed = format!("{mutated}.{}", b64(&hmac::Mac::finalize(mac).into_bytes()));
        let outside_base64url = mutated
            .bytes()
            .any(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
        for v in &validators() {
            let accepted = v.verify(&signed).is_ok();
            prop_assert!(!accepted || tower_bearer::fuzzing::b64token(signed.as_bytes()).is_ok(), "{}", signed);
            prop_assert!(!(accepted && outside_base64url), "{}", signed);
        }
    }

    #[test]
    fn arbitrary_json_tokens_are_accepted_only_by_the_rules(
        mut header in object(&["alg", "kid", "crit", "typ", "jwk", "jku"]),
        mut claims in object(&["exp", "nbf", "iat", "iss", "aud", "sub", "jti", "scope", "sid", "client_id", "x"]),
        (hs256, live, issued, audience) in (proptest::bool::weighted(0.8), proptest::bool::weighted(0.7), any::<bool>(), any::<bool>()),
        use_kid_key in any::<bool>(),
    ) {
        // Bias towards tokens that pass the first checks, so that later rules are reached.
        if hs256 {
            header.insert("alg".into(), json!("HS256"));
        }
        if live {
            claims.insert("exp".into(), json!(now() + 3600));
        }
        if issued {
            claims.insert("iss".into(), json!("iss"));
        }
        if audience {
            claims.insert("aud".into(), json!("api"));
        }
        let secret = if use_kid_key { KID_SECRET } else { SECRET };
        let token = raw_hs256(&Value::Object(header.clone()).to_string(), &Value::Object(claims.clone()).to_string(), secret);
        for (i, v) in validators().iter().enumerate() {
            let got = v.verify(&token);
            let expected = should_accept(i, &header, &claims, use_kid_key);
            prop_assert_eq!(got.is_ok(), expected, "validator {}: {:?} {:?} -> {:?}", i, header, claims, got);
        }
    }

    #[test]
    fn arbitrary_json_values_as_header_and_payload_never_panic(header in json_value(), payload in json_value()) {
        let token = raw_hs256(&header.to_string(), &payload.to_string(), SECRET);
        for v in validators() {
            let _ = v.verify(&token);
        }
    }
}
