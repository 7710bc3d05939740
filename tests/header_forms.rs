//! Common header forms skip decoding and parsing (pre-encoded per key); the outcome must
//! be the same as parsing them: same key, same refusals.

mod common;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::json;
use tower_bearer::{AuthError, Claims, InvalidToken, JwtValidator};

use common::{now, raw_hs256, SECRET};

const OTHER: &[u8] = b"another-secret-that-is-at-least-32-bytes";

fn payload() -> String {
    json!({ "sub": "alice", "exp": now() + 600 }).to_string()
}

fn reason(result: Result<Claims, AuthError>) -> Option<InvalidToken> {
    match result {
        Ok(_) => None,
        Err(AuthError::InvalidToken(reason)) => Some(reason),
        Err(other) => panic!("{other:?}"),
    }
}

#[test]
fn header_forms_without_kid_ok() {
    let validator = JwtValidator::<Claims>::hs256(SECRET).unwrap();
    for header in [
        r#"{"typ":"JWT","alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"JWT"}"#,
        r#"{"alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"JWT","cty":"x"}"#,
        r#"{ "alg": "HS256" }"#,
        r#"{"alg":"HS256","kid":"unknown"}"#,
    ] {
        let good = raw_hs256(header, &payload(), SECRET);
        assert_eq!(reason(validator.verify(&good)), None, "{header}");
        let forged = raw_hs256(header, &payload(), OTHER);
        // An unknown kid whose kid-less fallback fails counts as an unknown key (a JWK
        // set refreshes on it); a forged token without a kid is a bad signature.
        let expected = if header.contains("\"kid\"") {
            InvalidToken::UnknownKey
        } else {
            InvalidToken::BadSignature
        };
        assert_eq!(
            reason(validator.verify(&forged)),
            Some(expected),
            "{header}"
        );
    }
}

#[test]
fn header_forms_refused_fails() {
    let validator = JwtValidator::<Claims>::hs256(SECRET).unwrap();
    let cases = [
        (
            r#"{"typ":"JWT","alg":"HS256","crit":["x"]}"#,
            InvalidToken::UnsupportedCriticalHeader,
        ),
        (
            r#"{"typ":"JWT","alg":"HS384"}"#,
            InvalidToken::UnsupportedAlgorithm,
        ),
        (r#"{"alg":"none"}"#, InvalidToken::UnsupportedAlgorithm),
        (r#"{"alg":"hs256"}"#, InvalidToken::UnsupportedAlgorithm),
        (r#"["alg","HS256"]"#, InvalidToken::Malformed),
    ];
    for (header, expected) in cases {
        let token = raw_hs256(header, &payload(), SECRET);
        assert_eq!(reason(validator.verify(&token)), Some(expected), "{header}");
    }
}

#[test]
fn header_forms_with_kid_select_key_ok() {
    let validator = JwtValidator::<Claims>::hs256(SECRET)
        .unwrap()
        .with_key("k1", Algorithm::HS256, &DecodingKey::from_secret(OTHER))
        .unwrap();
    for header in [
        r#"{"typ":"JWT","alg":"HS256","kid":"k1"}"#,
        r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#,
        r#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#,
        r#"{"typ":"JWT","kid":"k1","alg":"HS256"}"#,
        r#"{"kid":"k1","alg":"HS256","typ":"JWT"}"#,
        r#"{"alg":"HS256","kid":"k1"}"#,
        r#"{"kid":"k1","alg":"HS256"}"#,
        r#"{"alg":"HS256","kid":"k1","extra":true}"#,
    ] {
        let good = raw_hs256(header, &payload(), OTHER);
        assert_eq!(reason(validator.verify(&good)), None, "{header}");
        // The kid names the other key: the default key's signature is refused.
        let wrong = raw_hs256(header, &payload(), SECRET);
        assert_eq!(
            reason(validator.verify(&wrong)),
            Some(InvalidToken::BadSignature),
            "{header}"
        );
    }
    // A kid-named key with another algorithm is refused, parsed or not.
    for header in [
        r#"{"typ":"JWT","alg":"HS384","kid":"k1"}"#,
        r#"{"alg":"HS384","kid":"k1"}"#,
    ] {
        let token = raw_hs256(header, &payload(), OTHER);
        assert_eq!(
            reason(validator.verify(&token)),
            Some(InvalidToken::UnsupportedAlgorithm),
            "{header}"
        );
    }
}
