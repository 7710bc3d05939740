//! [`InvalidToken`]: why a token was refused, and the fixed description of each reason.

use std::borrow::Cow;

/// Why a token was refused (`401 invalid_token`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidToken {
    /// Not a well-formed token: wrong characters, wrong number of segments, bad
    /// base64url, a header or payload that is not a JSON object.
    Malformed,
    /// Longer than the configured limit.
    TooLong,
    /// The `alg` is not one this validator accepts (including `none`).
    UnsupportedAlgorithm,
    /// No configured key matches the token's `kid`/`alg`.
    UnknownKey,
    /// The header lists a critical extension (`crit`) this validator does not implement.
    UnsupportedCriticalHeader,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// A required claim is absent: a registered claim the validator requires, or a
    /// member your claims type requires (its name from the type, never from the token).
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an unusable value (a registered claim, or a
    /// member of your claims type, named as in the type).
    InvalidClaim(&'static str),
    /// `iss` is not an accepted issuer.
    WrongIssuer,
    /// `aud` does not name this resource server.
    WrongAudience,
    /// The claims do not deserialize into the application's claims type, and the
    /// failing member cannot be named (a `flatten`ed map, an unknown member refused by
    /// `deny_unknown_fields`, a type that is not a struct).
    ClaimsShape,
    /// The token was revoked.
    Revoked,
    /// The header's `typ` is not the one required (RFC 9068 `at+jwt`): an ID token, a
    /// refresh token or another JWT presented as an access token.
    WrongType,
    /// Refused by a custom validator, with a description of its own (sanitized to
    /// RFC 6750 §3's character set when rendered).
    Other(Cow<'static, str>),
}

impl InvalidToken {
    /// The `error_description` for this reason.
    #[must_use]
    pub fn description(&self) -> &str {
        match self {
            Self::Malformed => "The access token is malformed",
            Self::TooLong => "The access token is too long",
            Self::UnsupportedAlgorithm => "The token algorithm is not accepted",
            Self::UnknownKey => "No key matches the token",
            Self::UnsupportedCriticalHeader => "The token has an unsupported critical header",
            Self::BadSignature => "The token signature is invalid",
            Self::Expired => "The access token expired",
            Self::NotYetValid => "The access token is not yet valid",
            Self::MissingClaim(claim) => missing_claim_description(claim),
            Self::InvalidClaim(claim) => invalid_claim_description(claim),
            Self::WrongIssuer => "The token issuer is not accepted",
            Self::WrongAudience => "The token audience is not accepted",
            Self::ClaimsShape => "The token claims do not have the expected shape",
            Self::Revoked => "The access token was revoked",
            Self::WrongType => "The token is not an access token",
            Self::Other(text) => text,
        }
    }
}

fn missing_claim_description(claim: &'static str) -> &'static str {
    match claim {
        "exp" => "The token has no exp claim",
        "iss" => "The token has no iss claim",
        "aud" => "The token has no aud claim",
        "sub" => "The token has no sub claim",
        "jti" => "The token has no jti claim",
        _ => other_claim_description(claim, true).unwrap_or("The token lacks a required claim"),
    }
}

fn invalid_claim_description(claim: &'static str) -> &'static str {
    match claim {
        "exp" => "The token exp claim is invalid",
        "nbf" => "The token nbf claim is invalid",
        "iat" => "The token iat claim is invalid",
        "iss" => "The token iss claim is invalid",
        "aud" => "The token aud claim is invalid",
        "sub" => "The token sub claim is invalid",
        "jti" => "The token jti claim is invalid",
        "scope" => "The token scope claim is invalid",
        _ => other_claim_description(claim, false).unwrap_or("A token claim is invalid"),
    }
}

/// The description naming an application's own claim (`claim` is a field name from
/// its claims type, never client input), made once per name and kept: the set of such
/// names is fixed by the program, and capped here besides. `None` for a name outside
/// RFC 6750's `error_description` characters or over 64 bytes.
#[cold]
fn other_claim_description(claim: &'static str, missing: bool) -> Option<&'static str> {
    use std::sync::{Mutex, PoisonError};
    type Texts = Vec<(&'static str, bool, &'static str)>;
    static TEXTS: Mutex<Texts> = Mutex::new(Vec::new());
    const MAX_TEXTS: usize = 128;

    let printable = |c: char| c == '!' || matches!(c, '#'..='[' | ']'..='~');
    if claim.is_empty() || claim.len() > 64 || !claim.chars().all(printable) {
        return None;
    }
    let mut texts = TEXTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&(_, _, text)) = texts.iter().find(|(n, m, _)| *n == claim && *m == missing) {
        return Some(text);
    }
    if texts.len() >= MAX_TEXTS {
        return None;
    }
    let text: &'static str = Box::leak(
        if missing {
            format!("The token has no {claim} claim")
        } else {
            format!("The token {claim} claim is invalid")
        }
        .into_boxed_str(),
    );
    texts.push((claim, missing, text));
    Some(text)
}
