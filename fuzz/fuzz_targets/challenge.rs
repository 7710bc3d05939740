//! The `WWW-Authenticate` renderer: arbitrary realms, descriptions and scopes. No
//! panic; a realm is refused exactly when it is not visible ASCII and space; what is
//! rendered is visible ASCII and space, starts with `Bearer`, and its quotes balance.
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use tower_bearer::fuzzing::Challenge;
use tower_bearer::{AuthError, InvalidToken, RequiredScopes};

/// Every `"` that is not escaped opens or closes a quoted-string; escapes only occur
/// inside them.
fn quotes_balance(text: &str) -> bool {
    let mut inside = false;
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'"' => inside = !inside,
            b'\\' if inside => {
                if bytes.next().is_none() {
                    return false;
                }
            }
            b'\\' => return false,
            _ => {}
        }
    }
    !inside
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{0}');
    let realm = parts.next().unwrap_or_default();
    let description = parts.next().unwrap_or_default().to_owned();
    let scopes: Vec<&str> = parts.next().unwrap_or_default().split(' ').collect();

    let challenge = Challenge::with_realm(realm);
    assert_eq!(
        challenge.is_ok(),
        realm.bytes().all(|b| (0x20..=0x7E).contains(&b))
    );
    let challenge = challenge.unwrap_or_default();
    let mut errors = vec![
        AuthError::MissingToken,
        AuthError::InvalidToken(InvalidToken::Other(Cow::Owned(description))),
    ];
    if let Ok(required) = RequiredScopes::new(&scopes) {
        errors.push(AuthError::InsufficientScope(required));
    }
    for error in &errors {
        let value = challenge.render(error);
        let rendered = value.to_str().expect("visible ASCII");
        assert!(rendered.bytes().all(|b| (0x20..=0x7E).contains(&b)));
        assert!(rendered.starts_with("Bearer"));
        assert!(quotes_balance(rendered), "{rendered}");
    }
});
