//! The registered-claim rules, one case per test, next to the code that checks them
//! (`check_registered`, `Times::check`). Named `<claim>_<case>_ok` / `_fails`.

use std::time::Duration;

use super::registered::Registered;
use super::{now, JwtValidator, Times};
use crate::error::InvalidToken;
use crate::Claims;

fn validator() -> JwtValidator<Claims> {
    JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")
        .unwrap()
        .with_leeway(Duration::from_secs(60))
}

fn check(
    validator: &JwtValidator<Claims>,
    payload: &serde_json::Value,
) -> Result<(), InvalidToken> {
    let payload = payload.to_string();
    let registered = Registered::parse(payload.as_bytes())?;
    validator.check_registered(&registered).map(|_| ())
}

fn in_(seconds: i64) -> i64 {
    now() + seconds
}

#[test]
fn exp_in_the_future_ok() {
    assert_eq!(
        check(&validator(), &serde_json::json!({ "exp": in_(600) })),
        Ok(())
    );
}

#[test]
fn exp_past_the_leeway_fails() {
    let payload = serde_json::json!({ "exp": in_(-61) });
    assert_eq!(check(&validator(), &payload), Err(InvalidToken::Expired));
}

#[test]
fn exp_within_the_leeway_ok() {
    assert_eq!(
        check(&validator(), &serde_json::json!({ "exp": in_(-30) })),
        Ok(())
    );
}

#[test]
fn exp_equal_to_now_fails() {
    // RFC 7519 §4.1.4: the current time must be before `exp`.
    let times = Times {
        exp: 1_000,
        nbf: None,
    };
    assert_eq!(times.check(1_000, 0), Err(InvalidToken::Expired));
    assert_eq!(times.check(999, 0), Ok(()));
}

#[test]
fn exp_missing_fails() {
    let payload = serde_json::json!({ "sub": "alice" });
    assert_eq!(
        check(&validator(), &payload),
        Err(InvalidToken::MissingClaim("exp"))
    );
}

#[test]
fn exp_as_a_string_fails() {
    let payload = serde_json::json!({ "exp": in_(600).to_string() });
    assert_eq!(
        check(&validator(), &payload),
        Err(InvalidToken::InvalidClaim("exp"))
    );
}

#[test]
fn nbf_in_the_past_ok() {
    let payload = serde_json::json!({ "exp": in_(600), "nbf": in_(-10) });
    assert_eq!(check(&validator(), &payload), Ok(()));
}

#[test]
fn nbf_past_the_leeway_fails() {
    let payload = serde_json::json!({ "exp": in_(600), "nbf": in_(61) });
    assert_eq!(
        check(&validator(), &payload),
        Err(InvalidToken::NotYetValid)
    );
}

#[test]
fn nbf_within_the_leeway_ok() {
    let payload = serde_json::json!({ "exp": in_(600), "nbf": in_(30) });
    assert_eq!(check(&validator(), &payload), Ok(()));
}

#[test]
fn iss_accepted_ok() {
    let validator = validator().with_issuer("https://idp.example").unwrap();
    let payload = serde_json::json!({ "exp": in_(600), "iss": "https://idp.example" });
    assert_eq!(check(&validator, &payload), Ok(()));
}

#[test]
fn iss_other_fails() {
    let validator = validator().with_issuer("https://idp.example").unwrap();
    let payload = serde_json::json!({ "exp": in_(600), "iss": "https://idp.example/" });
    assert_eq!(check(&validator, &payload), Err(InvalidToken::WrongIssuer));
}

#[test]
fn iss_missing_when_configured_fails() {
    let validator = validator().with_issuer("https://idp.example").unwrap();
    let payload = serde_json::json!({ "exp": in_(600) });
    assert_eq!(
        check(&validator, &payload),
        Err(InvalidToken::MissingClaim("iss"))
    );
}

#[test]
fn iss_anything_when_not_configured_ok() {
    let payload = serde_json::json!({ "exp": in_(600), "iss": "https://anyone" });
    assert_eq!(check(&validator(), &payload), Ok(()));
}

#[test]
fn aud_string_accepted_ok() {
    let validator = validator().with_audience("api").unwrap();
    let payload = serde_json::json!({ "exp": in_(600), "aud": "api" });
    assert_eq!(check(&validator, &payload), Ok(()));
}

#[test]
fn aud_array_containing_ours_ok() {
    let validator = validator().with_audience("api").unwrap();
    let payload = serde_json::json!({ "exp": in_(600), "aud": ["other", "api"] });
    assert_eq!(check(&validator, &payload), Ok(()));
}

#[test]
fn aud_other_fails() {
    let validator = validator().with_audience("api").unwrap();
    let payload = serde_json::json!({ "exp": in_(600), "aud": ["other", "apis"] });
    assert_eq!(
        check(&validator, &payload),
        Err(InvalidToken::WrongAudience)
    );
}

#[test]
fn aud_missing_when_configured_fails() {
    let validator = validator().with_audience("api").unwrap();
    let payload = serde_json::json!({ "exp": in_(600) });
    assert_eq!(
        check(&validator, &payload),
        Err(InvalidToken::MissingClaim("aud"))
    );
}

#[test]
fn scope_array_fails() {
    let payload = serde_json::json!({ "exp": in_(600), "scope": ["me", "items"] });
    assert_eq!(
        check(&validator(), &payload),
        Err(InvalidToken::InvalidClaim("scope"))
    );
}

#[test]
fn scope_array_when_allowed_ok() {
    let validator = validator().allow_scope_array();
    let payload = serde_json::json!({ "exp": in_(600), "scope": ["me", "items"] });
    assert_eq!(check(&validator, &payload), Ok(()));
}

#[test]
fn sub_missing_when_required_fails() {
    let validator = validator().require_sub();
    let payload = serde_json::json!({ "exp": in_(600) });
    assert_eq!(
        check(&validator, &payload),
        Err(InvalidToken::MissingClaim("sub"))
    );
}

#[test]
fn jti_missing_when_required_fails() {
    let validator = validator().require_jti();
    let payload = serde_json::json!({ "exp": in_(600), "sub": "alice" });
    assert_eq!(
        check(&validator, &payload),
        Err(InvalidToken::MissingClaim("jti"))
    );
}

#[test]
fn jti_present_when_required_ok() {
    let validator = validator().require_jti();
    let payload = serde_json::json!({ "exp": in_(600), "jti": "j-1" });
    assert_eq!(check(&validator, &payload), Ok(()));
}
