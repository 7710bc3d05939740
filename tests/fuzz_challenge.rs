//! Property tests (the stable-toolchain fuzzer) for the `WWW-Authenticate` renderer:
//! arbitrary realms, descriptions and scopes through [`Challenge`].
//!
//! Invariants: `Challenge::with_realm` refuses exactly the realms with characters
//! outside visible ASCII and space; what it renders is only visible ASCII and space,
//! parses back as `Bearer` followed by RFC 9110 §11.2 auth-params whose values are
//! quoted-strings (§5.6.4), gives back the realm unchanged, keeps `error_description`
//! within RFC 6750 §3's character set and `scope` within RFC 6749 §3.3's.
//!
//! Cases: `PROPTEST_CASES` (scripts/test.sh sets 256); a longer run:
//! `PROPTEST_CASES=100000 cargo test --all-features --release --test fuzz_challenge`.

use std::borrow::Cow;

use proptest::prelude::*;
use tower_bearer::fuzzing::{grpc_response, http_response, sanitize_description, Challenge};
use tower_bearer::{AuthError, InvalidRequest, InvalidToken, RequiredScopes};

/// Parses `Bearer [ param *( OWS "," OWS param ) ]` with `param = token "=" quoted-string`
/// (the only form this crate emits), unescaping quoted-pairs.
fn parse_challenge(value: &str) -> Result<Vec<(String, String)>, String> {
    let rest = value.strip_prefix("Bearer").ok_or("no Bearer scheme")?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut rest = rest.strip_prefix(' ').ok_or("no space after the scheme")?;
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let mut params = Vec::new();
    loop {
        let eq = rest.find('=').ok_or("no '='")?;
        let name = &rest[..eq];
        if name.is_empty() || !name.chars().all(is_tchar) {
            return Err(format!("bad param name {name:?}"));
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("value is not a quoted-string".into());
        }
        let mut value = String::new();
        let end = loop {
            let (i, c) = chars.next().ok_or("unterminated quoted-string")?;
            match c {
                '"' => break eq + 1 + i + 1,
                '\\' => {
                    let (_, escaped) = chars.next().ok_or("dangling backslash")?;
                    // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                    if !(escaped == '\t' || (' '..='~').contains(&escaped)) {
                        return Err("bad quoted-pair".into());
                    }
                    value.push(escaped);
                }
                // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                c if c == '\t'
                    || c == ' '
                    || c == '!'
                    || ('#'..='[').contains(&c)
                    || (']'..='~').contains(&c) =>
                {
                    value.push(c)
                }
                c => return Err(format!("bad qdtext {c:?}")),
            }
        };
        params.push((name.to_owned(), value));
        rest = &rest[end..];
        if rest.is_empty() {
            return Ok(params);
        }
        rest = rest
            .strip_prefix(", ")
            .ok_or("params not separated by ', '")?;
    }
}

fn in_description_charset(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

fn realm() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        "[ -~\"\\\\]{0,40}",
        any::<String>(),
        proptest::collection::vec(any::<char>(), 0..20).prop_map(|c| c.into_iter().collect()),
    ]
}

fn errors(description: String, scopes: Vec<String>) -> Vec<AuthError> {
    let mut errors = vec![
        AuthError::MissingToken,
        AuthError::Unavailable,
        AuthError::InvalidRequest(InvalidRequest::MultipleTokenSources),
        AuthError::InvalidToken(InvalidToken::Malformed),
        AuthError::InvalidToken(InvalidToken::MissingClaim("exp")),
        AuthError::InvalidToken(InvalidToken::Other(Cow::Owned(description))),
    ];
    if let Ok(required) = RequiredScopes::new(&scopes) {
        errors.push(AuthError::InsufficientScope(required));
    }
    errors
}

proptest! {
    #[test]
    fn rendered_challenges_parse_back(
        realm in realm(),
        description in any::<String>(),
        scopes in proptest::collection::vec(prop_oneof!["[!-~]{1,12}", any::<String>()], 0..4),
    ) {
        let valid_realm = realm.bytes().all(|b| (0x20..=0x7E).contains(&b));
        let challenge = Challenge::with_realm(&realm);
        prop_assert_eq!(challenge.is_ok(), valid_realm);
        let challenges = match challenge {
            Ok(with_realm) => vec![(Some(realm.clone()), with_realm), (None, Challenge::default())],
            Err(_) => vec![(None, Challenge::default())],
        };
        let scopes_ok = !scopes.is_empty() && scopes.iter().all(|s| is_scope_token(s));
        prop_assert_eq!(RequiredScopes::new(&scopes).is_ok(), scopes_ok);
        for (expected_realm, challenge) in challenges {
            for error in errors(description.clone(), scopes.clone()) {
                let value = challenge.render(&error);
                let text = value.to_str().expect("visible ASCII");
                prop_assert!(text.bytes().all(|b| (0x20..=0x7E).contains(&b)), "{:?}", text);
                let params = parse_challenge(text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
                let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
                prop_assert_eq!(get("realm"), expected_realm.clone());
                let code = get("error");
                prop_assert_eq!(code.as_deref(), error.challenge_code());
                if let Some(description) = get("error_description") {
                    prop_assert!(in_description_charset(&description), "{:?}", description);
                }
                match error.required_scopes() {
                    Some(required) => {
                        let scope = get("scope").expect("scope param");
                        prop_assert_eq!(scope.as_str(), required.as_str());
                        prop_assert!(scope.split(' ').all(is_scope_token));
                    }
                    None => prop_assert!(get("scope").is_none()),
                }
                // Parameters are never repeated.
                let mut names: Vec<_> = params.iter().map(|(n, _)| n.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                prop_assert_eq!(names.len(), params.len());
            }
        }
    }

    #[test]
    fn sanitized_descriptions_stay_in_the_charset(text in any::<String>()) {
        let clean = sanitize_description(&text);
        prop_assert!(in_description_charset(&clean));
        prop_assert_eq!(clean.chars().count(), text.chars().count());
        if in_description_charset(&text) {
            prop_assert_eq!(clean, text);
        }
    }

    #[test]
    fn full_rejections_stay_well_formed(description in any::<String>(), realm in "[ -~]{0,20}") {
        let challenge = Challenge::with_realm(&realm).unwrap();
        let error = AuthError::InvalidToken(InvalidToken::Other(Cow::Owned(description.clone())));
        let response = http_response(&error, challenge.render(&error));
        prop_assert_eq!(response.status().as_u16(), 401);
        let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON body");
        prop_assert_eq!(&body["error"], "invalid_token");
        let text = body["error_description"].as_str().expect("description");
        prop_assert!(in_description_charset(text), "{:?}", text);
        // gRPC: the message is percent-encoded visible ASCII and decodes back exactly.
        let response = grpc_response(&error, challenge.render(&error));
        let message = response.headers()["grpc-message"].to_str().expect("visible ASCII");
        let mut decoded = Vec::new();
        let mut bytes = message.bytes();
        while let Some(b) = bytes.next() {
            if b == b'%' {
                let hex: String = [bytes.next().unwrap(), bytes.next().unwrap()].iter().map(|&c| c as char).collect();
                decoded.push(u8::from_str_radix(&hex, 16).unwrap());
            } else {
                decoded.push(b);
            }
        }
        prop_assert_eq!(String::from_utf8(decoded).unwrap(), format!("invalid_token: {description}"));
    }
}
