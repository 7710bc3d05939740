//! Users' claims types on the fast path (`scan` recording members, `scanned` reading
//! them): every payload gets the claims, or the refusal reason, the serde path gives.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::Sha256;

use super::scan::{self, FlatClaims, Members};
use super::{now, scanned, JwtValidator};
use crate::claims::{Audience, Scope};
use crate::error::InvalidToken;

const SECRET: &[u8] = b"a-secret-of-at-least-32-bytes!!!";

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Tenant {
    id: u32,
    name: String,
}

/// A claims type as users write it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct UserClaims {
    sub: String,
    exp: i64,
    iat: Option<i64>,
    iss: Option<String>,
    aud: Option<Audience>,
    scope: Option<Scope>,
    #[serde(default)]
    roles: Vec<String>,
    name: Option<String>,
    tenant: Option<Tenant>,
}

/// Everything optional but `exp`, so that most generated payloads deserialize.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Loose {
    exp: i64,
    sub: Option<String>,
    aud: Option<Audience>,
    #[serde(default)]
    roles: Vec<String>,
    name: Option<String>,
    n: Option<f64>,
    big: Option<u64>,
    flag: Option<bool>,
    tenant: Option<serde_json::Value>,
}

type AnyMap = HashMap<String, serde_json::Value>;

fn token(payload: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{signature}")
}

fn validator<T>() -> JwtValidator<T> {
    JwtValidator::<T>::hs256(SECRET).unwrap()
}

/// `true` if the scan records `payload` (the fast path reads it).
fn recorded(payload: &str) -> bool {
    let mut flat = FlatClaims::default();
    scan::scan_with(payload, &mut flat, None, &mut Members::new()).is_some()
}

/// The fast path's answer for `payload`, asserted equal to the serde path's.
fn fast_and_serde<T>(validator: &JwtValidator<T>, payload: &str) -> Result<T, InvalidToken>
where
    T: DeserializeOwned + PartialEq + std::fmt::Debug + 'static,
{
    let fast = validator
        .verify_timed(&token(payload))
        .map(|(claims, _)| claims);
    let serde = validator
        .read_with_serde(payload.as_bytes(), payload, None)
        .map(|(claims, _)| claims);
    assert_eq!(fast, serde, "{payload}");
    fast
}

fn exp() -> i64 {
    now() + 600
}

#[test]
fn user_struct_with_roles_is_read_on_the_fast_path() {
    let payload = format!(
        r#"{{"sub":"alice","exp":{},"iat":1700000000,"iss":"https://i","aud":["api","x"],"scope":"read write","roles":["admin","reader"],"name":"Alice"}}"#,
        exp()
    );
    assert!(recorded(&payload));
    let validator = validator::<UserClaims>().with_audience("api").unwrap();
    let claims = fast_and_serde(&validator, &payload).unwrap();
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.iat, Some(1_700_000_000));
    assert_eq!(
        claims.aud,
        Some(Audience::Many(vec!["api".into(), "x".into()]))
    );
    assert_eq!(claims.scope.as_ref().map(Scope::as_str), Some("read write"));
    assert_eq!(claims.roles, ["admin", "reader"]);
    assert_eq!(claims.name.as_deref(), Some("Alice"));
}

#[test]
fn nested_objects_are_read_on_the_fast_path() {
    let payload = format!(
        r#"{{"sub":"a","exp":{},"tenant":{{"id":7,"name":"acme"}},"realm_access":{{"roles":["x"],"n":[1,2.5,{{"k":null}}]}}}}"#,
        exp()
    );
    assert!(recorded(&payload));
    let claims = fast_and_serde(&validator::<UserClaims>(), &payload).unwrap();
    assert_eq!(
        claims.tenant,
        Some(Tenant {
            id: 7,
            name: "acme".into()
        })
    );
    let map = fast_and_serde(&validator::<AnyMap>(), &payload).unwrap();
    assert_eq!(map["realm_access"]["n"][2]["k"], serde_json::Value::Null);
}

#[test]
fn escaped_strings_are_unescaped_once() {
    let payload = format!(
        r#"{{"sub":"a","exp":{},"name":"Al\"ice \u00e9\/\\","roles":["a\nb"]}}"#,
        exp()
    );
    assert!(recorded(&payload));
    let claims = fast_and_serde(&validator::<UserClaims>(), &payload).unwrap();
    assert_eq!(claims.name.as_deref(), Some("Al\"ice é/\\"));
    assert_eq!(claims.roles, ["a\nb"]);
    // An escaped registered claim or name is left to serde, with the same result.
    for payload in [
        format!(r#"{{"sub":"a\u0062","exp":{}}}"#, exp()),
        format!(r#"{{"sub":"a","\u0065xp":{}}}"#, exp()),
    ] {
        assert!(!recorded(&payload));
        fast_and_serde(&validator::<UserClaims>(), &payload).unwrap();
    }
    // A lone surrogate: refused as serde refuses it, naming the claim.
    let payload = format!(r#"{{"sub":"a","exp":{},"name":"\ud800"}}"#, exp());
    assert!(recorded(&payload));
    assert_eq!(
        fast_and_serde(&validator::<UserClaims>(), &payload),
        Err(InvalidToken::InvalidClaim("name"))
    );
}

#[test]
fn duplicate_members_give_the_serde_reasons() {
    let v = validator::<UserClaims>();
    let payload = format!(
        r#"{{"sub":"a","exp":{},"roles":["a"],"roles":["b"]}}"#,
        exp()
    );
    assert!(recorded(&payload));
    assert_eq!(
        fast_and_serde(&v, &payload),
        Err(InvalidToken::InvalidClaim("roles"))
    );
    let payload = format!(r#"{{"sub":"a","exp":{0},"exp":{0}}}"#, exp());
    assert_eq!(
        fast_and_serde(&v, &payload),
        Err(InvalidToken::InvalidClaim("exp"))
    );
    // A map takes the last value, as serde_json does.
    let payload = format!(r#"{{"exp":{},"x":1,"x":[2]}}"#, exp());
    let map = fast_and_serde(&validator::<AnyMap>(), &payload).unwrap();
    assert_eq!(map["x"], serde_json::json!([2]));
}

#[test]
fn missing_members_give_the_serde_reasons() {
    let v = validator::<UserClaims>();
    assert_eq!(
        fast_and_serde(&v, r#"{"sub":"a","roles":[]}"#),
        Err(InvalidToken::MissingClaim("exp"))
    );
    let payload = format!(r#"{{"exp":{},"roles":["admin"]}}"#, exp());
    assert_eq!(
        fast_and_serde(&v, &payload),
        Err(InvalidToken::MissingClaim("sub"))
    );
}

#[test]
fn wrong_types_give_the_serde_reasons() {
    let v = validator::<UserClaims>();
    let exp = exp();
    for (payload, reason) in [
        (
            format!(r#"{{"sub":"a","exp":{exp},"roles":"admin"}}"#),
            InvalidToken::InvalidClaim("roles"),
        ),
        (
            format!(r#"{{"sub":"a","exp":{exp},"roles":["a",1]}}"#),
            InvalidToken::InvalidClaim("roles"),
        ),
        (
            format!(r#"{{"sub":"a","exp":{exp},"tenant":{{"id":"7","name":"x"}}}}"#),
            InvalidToken::InvalidClaim("tenant"),
        ),
        (
            format!(r#"{{"sub":"a","exp":{exp},"tenant":{{"id":-7,"name":"x"}}}}"#),
            InvalidToken::InvalidClaim("tenant"),
        ),
        (
            format!(r#"{{"sub":"a","exp":{exp},"name":5}}"#),
            InvalidToken::InvalidClaim("name"),
        ),
        (
            format!(r#"{{"sub":7,"exp":{exp}}}"#),
            InvalidToken::InvalidClaim("sub"),
        ),
        (
            r#"{"sub":"a","exp":"1"}"#.to_owned(),
            InvalidToken::InvalidClaim("exp"),
        ),
        // Valid NumericDates the registered check takes, but not an `i64` field.
        (
            format!(r#"{{"sub":"a","exp":{exp}.0}}"#),
            InvalidToken::InvalidClaim("exp"),
        ),
        (
            r#"{"sub":"a","exp":1e12}"#.to_owned(),
            InvalidToken::InvalidClaim("exp"),
        ),
        (
            format!(r#"{{"sub":"a","exp":{exp},"iat":"x"}}"#),
            InvalidToken::InvalidClaim("iat"),
        ),
    ] {
        assert_eq!(fast_and_serde(&v, &payload), Err(reason), "{payload}");
    }
}

#[test]
fn odd_but_valid_values_match_serde() {
    let exp = exp();
    for payload in [
        format!(r#"{{"exp":{exp},"n":-0}}"#),
        format!(r#"{{"exp":{exp},"n":-12,"big":18446744073709551615}}"#),
        format!(r#"{{"exp":{exp},"n":1.5e-3,"flag":true}}"#),
        format!(r#"{{"exp":{exp},"big":123456789012345678}}"#),
        format!(r#"{{"exp":{exp},"big":-1}}"#),
        format!(r#"{{"exp":{exp},"n":1e999}}"#),
        format!(r#"{{"exp":{exp},"flag":null,"tenant":[[],{{}},"\u0041"]}}"#),
        format!(r#"{{"exp":{exp},"aud":"api","roles":[]}}"#),
        format!(r#"{{ "exp" : {exp} , "roles" : [ "a" , "b" ] , "tenant" : {{ }} }}"#),
    ] {
        assert!(recorded(&payload), "{payload}");
        let _ = fast_and_serde(&validator::<Loose>(), &payload);
        let _ = fast_and_serde(&validator::<AnyMap>(), &payload);
        let _ = fast_and_serde(&validator::<serde_json::Value>(), &payload);
    }
}

#[test]
fn invalid_json_in_an_unread_member_is_left_to_serde() {
    let exp = exp();
    for payload in [
        format!(r#"{{"exp":{exp},"x":{{"a":1,}}}}"#),
        format!(r#"{{"exp":{exp},"x":[1,]}}"#),
        format!(r#"{{"exp":{exp},"x":{{"a" 1}}}}"#),
        format!(r#"{{"exp":{exp},"x":{{1:1}}}}"#),
        format!(r#"{{"exp":{exp},"x":"\x"}}"#),
        format!(r#"{{"exp":{exp},"x":"\u12"}}"#),
        format!(r#"{{"exp":{exp},"x":01}}"#),
        format!(r#"{{"exp":{exp},"x":1.}}"#),
        format!(r#"{{"exp":{exp},"x":1e}}"#),
        format!(r#"{{"exp":{exp},"x":-}}"#),
        format!(r#"{{"exp":{exp},"x":[nul]}}"#),
        format!("{{\"exp\":{exp},\"x\":[\"a\tb\"]}}"),
        // Deeper than the scan reads: valid, left to serde.
        format!(
            r#"{{"exp":{exp},"x":{}1{}}}"#,
            "[".repeat(20),
            "]".repeat(20)
        ),
    ] {
        assert!(!recorded(&payload), "{payload}");
        let reason = fast_and_serde(&validator::<Loose>(), &payload).err();
        assert!(reason.is_some() || payload.contains("[[[["), "{payload}");
    }
}

#[test]
fn too_many_members_are_left_to_serde() {
    let members: Vec<String> = (0..scan::MAX_MEMBERS)
        .map(|i| format!(r#""m{i}":{i}"#))
        .collect();
    let payload = format!(r#"{{"exp":{},{}}}"#, exp(), members.join(","));
    assert!(!recorded(&payload));
    let map = fast_and_serde(&validator::<AnyMap>(), &payload).unwrap();
    assert_eq!(map.len(), scan::MAX_MEMBERS + 1);
}

#[test]
fn flatten_and_deny_unknown_fields_match_serde() {
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    struct Flattened {
        sub: String,
        #[serde(flatten)]
        rest: HashMap<String, serde_json::Value>,
    }
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        sub: String,
        exp: i64,
    }
    let payload = format!(
        r#"{{"sub":"a","exp":{},"roles":["x"],"t":{{"a":[1]}},"n":-1.5}}"#,
        exp()
    );
    let flattened = fast_and_serde(&validator::<Flattened>(), &payload).unwrap();
    assert_eq!(flattened.rest["t"], serde_json::json!({"a": [1]}));
    assert_eq!(
        fast_and_serde(&validator::<Strict>(), &payload),
        Err(InvalidToken::ClaimsShape)
    );
}

mod agrees_with_serde_json {
    use proptest::prelude::*;

    use super::*;

    fn value() -> impl Strategy<Value = String> {
        let text = r#"[a-zé /\\"]{0,6}|\\u00e9|\\ud800|\\x"#;
        let leaf = prop_oneof![
            (0u64..3_000_000_000).prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            "-?0[0-9]?|-?[0-9]{1,3}\\.[0-9]{0,2}|[0-9]e-?[0-9]{0,2}|-0",
            text.prop_map(|s| format!("\"{s}\"")),
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just("nul".to_owned()),
        ];
        leaf.prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(("[a-z]{1,2}", inner), 0..4).prop_map(|v| {
                    let members: Vec<_> = v.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    const KEYS: [&str; 10] = [
        "exp", "sub", "aud", "roles", "name", "n", "big", "flag", "tenant", "zz",
    ];

    fn payload() -> impl Strategy<Value = String> {
        let keys = proptest::sample::subsequence(KEYS.to_vec(), 1..=KEYS.len()).prop_shuffle();
        keys.prop_flat_map(|keys| {
            let n = keys.len();
            (
                Just(keys),
                proptest::collection::vec(value(), n),
                "[ \n]{0,1}",
            )
        })
        .prop_map(|(keys, values, ws)| {
            let members: Vec<_> = keys
                .iter()
                .zip(&values)
                .map(|(k, v)| format!("\"{k}\"{ws}:{ws}{v}"))
                .collect();
            format!("{{{}}}", members.join(","))
        })
    }

    /// This reader alone (no fallback) never succeeds where serde_json fails, and when
    /// it succeeds gets serde_json's value; with the fallback, always serde_json's
    /// answer.
    fn agree<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
        json: &str,
    ) -> Result<(), TestCaseError> {
        let mut flat = FlatClaims::default();
        let mut members = Members::new();
        if scan::scan_with(json, &mut flat, None, &mut members).is_none() {
            return Ok(());
        }
        let serde = serde_json::from_str::<T>(json).ok();
        if let Ok(here) = scanned::read_here::<T>(&members) {
            prop_assert_eq!(Some(here), serde_json::from_str::<T>(json).ok(), "{}", json);
        }
        prop_assert_eq!(scanned::read::<T>(json, &members).ok(), serde, "{}", json);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn scanned_reading_matches_serde_json(json in payload()) {
            agree::<Loose>(&json)?;
            agree::<UserClaims>(&json)?;
            agree::<AnyMap>(&json)?;
            agree::<serde_json::Value>(&json)?;
        }
    }
}
