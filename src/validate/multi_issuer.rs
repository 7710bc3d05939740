//! [`MultiIssuerValidator`]: tokens from several issuers, each checked only with its
//! own keys.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock};

use memchr::memmem;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::jwt::json::JsonStr;
use super::jwt::DEFAULT_MAX_TOKEN_LEN;
use super::jwt::{base64url, scan, verify};
use super::{BoxedValidation, JwksValidator, JwtValidator, TokenValidator, Validation};
use crate::claims::Claims;
use crate::error::{AuthError, ConfigError, InvalidToken};

/// Payloads up to this size (decoded) are read on the stack.
const STACK_PAYLOAD: usize = 2048;

/// Where one issuer's keys come from.
enum Source<T> {
    /// Keys configured in place.
    Keys(JwtValidator<T>),
    /// A JWK set fetched by URL or found by discovery, refreshed.
    Jwks(JwksValidator<T>),
}

impl<T> Clone for Source<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Keys(v) => Self::Keys(v.clone()),
            Self::Jwks(v) => Self::Jwks(v.clone()),
        }
    }
}

struct Issuers<T> {
    entries: Vec<(Box<str>, Source<T>)>,
    max_token_len: usize,
}

/// Validates tokens from several issuers, each bound to its own key source: keys
/// configured in place ([`with_keys`](Self::with_keys)), or a JWK set by URL or by
/// discovery ([`with_jwks`](Self::with_jwks)).
///
/// - The token's `iss` picks the source **before any signature check**: it is read
///   from the payload (bounded by the token length limit, 8 KiB by default) without
///   trusting it, by the same bounded, allocation-free reader that reads verified
///   payloads; the source then verifies the signature with its keys only, and only
///   then builds the claims and checks `iss` again, exactly. So a key of issuer A never verifies a token claiming issuer
///   B, even when both use the same algorithm or `kid`.
/// - A token whose `iss` is not configured (or absent) is refused
///   (`invalid_token`, [`InvalidToken::WrongIssuer`] / `MissingClaim("iss")`) with no
///   fetch: only a configured issuer's JWK set is ever refreshed.
/// - Each source keeps its own settings (audience, leeway, `typ`, ...): configure them
///   on the [`JwtValidator`] or [`JwksValidatorBuilder`](super::JwksValidatorBuilder)
///   before adding it. Each must accept exactly one issuer, the one it is bound to.
///
/// ```no_run
/// # #[cfg(feature = "jwks")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_bearer::validate::{HttpFetcher, JwksValidator, MultiIssuerValidator};
/// use tower_bearer::{Claims, JwtValidator};
///
/// let fetcher = HttpFetcher::new();
/// let mut validator = MultiIssuerValidator::<Claims>::new();
/// for issuer in ["https://login.example.com", "https://idp.partner.example"] {
///     let source = JwksValidator::<Claims>::builder()
///         .with_audience("my-api")?
///         .discover(fetcher.clone(), issuer)
///         .await?;
///     validator = validator.with_jwks(source)?;
/// }
/// let internal = JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")?
///     .with_issuer("internal")?
///     .with_audience("my-api")?;
/// let validator = validator.with_keys(internal)?;
/// # let _ = validator;
/// # Ok(())
/// # }
/// ```
pub struct MultiIssuerValidator<T = Claims> {
    inner: Arc<Issuers<T>>,
}

impl<T> Clone for MultiIssuerValidator<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> fmt::Debug for MultiIssuerValidator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let issuers: Vec<_> = self
            .inner
            .entries
            .iter()
            .map(|(issuer, source)| {
                let kind = match source {
                    Source::Keys(_) => "keys",
                    Source::Jwks(_) => "jwks",
                };
                (&**issuer, kind)
            })
            .collect();
        f.debug_struct("MultiIssuerValidator")
            .field("issuers", &issuers)
            .field("max_token_len", &self.inner.max_token_len)
            .finish()
    }
}

impl<T> Default for MultiIssuerValidator<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The one issuer `issuers` accepts.
fn single_issuer(issuers: &[Box<str>]) -> Result<Box<str>, ConfigError> {
    match issuers {
        [one] => Ok(one.clone()),
        _ => Err(ConfigError::Conflict(
            "issuer: a source must accept exactly one issuer",
        )),
    }
}

impl<T> MultiIssuerValidator<T> {
    /// No issuer yet (refuses every token).
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Issuers {
                entries: Vec::new(),
                max_token_len: DEFAULT_MAX_TOKEN_LEN,
            }),
        }
    }

    fn with_source(self, issuer: Box<str>, source: Source<T>) -> Result<Self, ConfigError> {
        if self.inner.entries.iter().any(|(known, _)| *known == issuer) {
            return Err(ConfigError::Conflict("issuer: configured twice"));
        }
        let mut entries: Vec<_> = self
            .inner
            .entries
            .iter()
            .map(|(i, s)| (i.clone(), s.clone()))
            .collect();
        entries.push((issuer, source));
        Ok(Self {
            inner: Arc::new(Issuers {
                entries,
                max_token_len: self.inner.max_token_len,
            }),
        })
    }

    /// Adds an issuer whose keys are configured in place: `validator` must accept
    /// exactly one issuer ([`JwtValidator::with_issuer`] called once).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Conflict`] if it accepts no issuer or several, or if that
    /// issuer is already configured here.
    pub fn with_keys(self, validator: JwtValidator<T>) -> Result<Self, ConfigError> {
        let issuer = single_issuer(validator.issuers())?;
        self.with_source(issuer, Source::Keys(validator))
    }

    /// Adds an issuer whose keys come from a JWK set: `validator` must accept exactly
    /// one issuer (as [`JwksValidatorBuilder::discover`](super::JwksValidatorBuilder::discover)
    /// sets, or [`with_issuer`](super::JwksValidatorBuilder::with_issuer) before
    /// [`build`](super::JwksValidatorBuilder::build)).
    ///
    /// # Errors
    ///
    /// As [`with_keys`](Self::with_keys).
    pub fn with_jwks(self, validator: JwksValidator<T>) -> Result<Self, ConfigError> {
        let issuer = single_issuer(validator.issuers())?;
        self.with_source(issuer, Source::Jwks(validator))
    }

    /// Longest token accepted, in bytes (default 8 KiB): longer tokens are refused
    /// before `iss` is looked for. Each source applies its own limit as well.
    #[must_use]
    pub fn with_max_token_len(self, max: usize) -> Self {
        let entries = self
            .inner
            .entries
            .iter()
            .map(|(i, s)| (i.clone(), s.clone()))
            .collect();
        Self {
            inner: Arc::new(Issuers {
                entries,
                max_token_len: max,
            }),
        }
    }

    /// The configured issuers, in the order they were added.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.entries.iter().map(|(issuer, _)| &**issuer)
    }

    fn source(&self, issuer: &str) -> Option<&Source<T>> {
        self.inner
            .entries
            .iter()
            .find(|(known, _)| **known == *issuer)
            .map(|(_, source)| source)
    }
}

/// What the quick look at the payload found.
enum Quick<'a> {
    /// Exactly one plain `"iss": "..."` member, at whatever depth.
    One(&'a str),
    /// None, several, or one with escapes: the exact (serde) reading decides.
    Unsure,
}

/// Looks for `"iss"` members in the decoded payload without parsing it. One plain
/// member is taken as the token's issuer *for routing only*: the source re-checks the
/// top-level `iss` exactly after verifying the signature.
#[inline]
fn quick_issuer(json: &[u8]) -> Quick<'_> {
    // Built once: building a finder cost more than the search itself.
    static ISS: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new("\"iss\""));
    let mut found = None;
    for at in ISS.find_iter(json) {
        if at > 0 && json[at - 1] == b'\\' {
            return Quick::Unsure;
        }
        let mut i = at + 5;
        let skip_ws = |i: &mut usize| {
            while json
                .get(*i)
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                *i += 1;
            }
        };
        skip_ws(&mut i);
        if json.get(i) != Some(&b':') {
            // A value "iss", not a member name.
            continue;
        }
        i += 1;
        skip_ws(&mut i);
        if json.get(i) != Some(&b'"') || found.is_some() {
            return Quick::Unsure;
        }
        let start = i + 1;
        let Some(len) = memchr::memchr2(b'"', b'\\', &json[start..]) else {
            return Quick::Unsure;
        };
        if json[start + len] != b'"' {
            return Quick::Unsure;
        }
        match std::str::from_utf8(&json[start..start + len]) {
            Ok(issuer) => found = Some(issuer),
            Err(_) => return Quick::Unsure,
        }
    }
    found.map_or(Quick::Unsure, Quick::One)
}

/// The top-level `iss`, read exactly (escapes, duplicates and all, as serde_json does).
#[cold]
fn exact_issuer(json: &[u8]) -> Result<Option<Cow<'_, str>>, InvalidToken> {
    #[derive(Deserialize)]
    struct Iss<'a> {
        #[serde(default, borrow)]
        iss: Option<JsonStr<'a>>,
    }
    let parsed: Iss<'_> = serde_json::from_slice(json).map_err(|_| InvalidToken::Malformed)?;
    Ok(parsed.iss.map(|JsonStr(iss)| iss))
}

impl<T> MultiIssuerValidator<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Picks the source by the payload's `iss` and validates with it.
    #[inline]
    fn route(&self, token: &str, json: &[u8]) -> Validation<T, BoxedValidation<T>> {
        // The usual payload: the validator's own one-pass reader finds `iss`, and what
        // it read is handed on, so the payload is read once in all.
        if let Some(text) = verify::json_object_text(json) {
            let mut flat = scan::FlatClaims::default();
            if scan::scan_with(text, &mut flat, None, &mut ()).is_some() {
                let Some(issuer) = flat.registered.iss.as_ref() else {
                    return refuse(InvalidToken::MissingClaim("iss"));
                };
                return match self.source(&issuer.0) {
                    Some(Source::Keys(validator)) => Validation::Ready(
                        validator
                            .verify_scanned(token, text, &flat)
                            .map(|(claims, _)| claims)
                            .map_err(AuthError::InvalidToken),
                    ),
                    Some(Source::Jwks(validator)) => validator.validate_scanned(token, text, &flat),
                    None => refuse(InvalidToken::WrongIssuer),
                };
            }
        }
        self.route_unusual(token, json)
    }

    /// A payload the one-pass reader does not read (escapes, nesting, duplicates ...):
    /// `iss` from a quick look, or exactly by serde.
    #[cold]
    fn route_unusual(&self, token: &str, json: &[u8]) -> Validation<T, BoxedValidation<T>> {
        let source = match quick_issuer(json) {
            Quick::One(issuer) => self.source(issuer),
            Quick::Unsure => match exact_issuer(json) {
                Ok(Some(issuer)) => self.source(&issuer),
                Ok(None) => return refuse(InvalidToken::MissingClaim("iss")),
                Err(error) => return refuse(error),
            },
        };
        match source {
            // The payload, decoded here to find `iss`, is not decoded again.
            Some(Source::Keys(validator)) => Validation::Ready(
                validator
                    .verify_decoded(token, json)
                    .map(|(claims, _)| claims)
                    .map_err(AuthError::InvalidToken),
            ),
            Some(Source::Jwks(validator)) => validator.validate_decoded(token, json),
            None => refuse(InvalidToken::WrongIssuer),
        }
    }
}

fn refuse<T, F>(reason: InvalidToken) -> Validation<T, F> {
    Validation::Ready(Err(AuthError::InvalidToken(reason)))
}

impl<T> TokenValidator for MultiIssuerValidator<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Claims = T;
    type Future = BoxedValidation<T>;

    fn validate(&self, token: &str) -> Validation<T, BoxedValidation<T>> {
        let bytes = token.as_bytes();
        if bytes.len() > self.inner.max_token_len {
            return refuse(InvalidToken::TooLong);
        }
        let mut dots = memchr::memchr_iter(b'.', bytes);
        let (Some(first), Some(second)) = (dots.next(), dots.next()) else {
            return refuse(InvalidToken::Malformed);
        };
        let payload = &bytes[first + 1..second];
        if payload.len() / 4 * 3 + 3 <= STACK_PAYLOAD {
            let mut buf = base64url::buffer::<STACK_PAYLOAD>();
            match base64url::decode_into(payload, &mut buf) {
                Some(json) => self.route(token, json),
                None => refuse(InvalidToken::Malformed),
            }
        } else {
            match base64url::decode_to_vec(payload) {
                Some(json) => self.route(token, &json),
                None => refuse(InvalidToken::Malformed),
            }
        }
    }

    /// Every source verifies a JWT with [`JwtValidator`], which accepts only
    /// `b64token`s.
    fn accepts_only_b64token(&self, _: super::sealed::Internal) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{quick_issuer, Quick};

    fn quick(json: &str) -> Option<&str> {
        match quick_issuer(json.as_bytes()) {
            Quick::One(issuer) => Some(issuer),
            Quick::Unsure => None,
        }
    }

    #[test]
    fn quick_look_takes_only_one_plain_member() {
        assert_eq!(quick(r#"{"iss":"https://a","exp":1}"#), Some("https://a"));
        assert_eq!(quick(r#"{"sub":"iss", "iss" : "b"}"#), Some("b"));
        assert_eq!(quick(r#"{"x":["iss"],"iss":"b"}"#), Some("b"));
        // Two members (nested or duplicate), escapes, other types: unsure.
        assert_eq!(quick(r#"{"act":{"iss":"a"},"iss":"b"}"#), None);
        assert_eq!(quick(r#"{"iss":"a","iss":"b"}"#), None);
        assert_eq!(quick(r#"{"iss":"a\/b"}"#), None);
        assert_eq!(quick(r#"{"k\"iss":"a"}"#), None);
        assert_eq!(quick(r#"{"iss":5}"#), None);
        assert_eq!(quick(r#"{"\u0069ss":"a"}"#), None);
        assert_eq!(quick(r#"{"iss":"a"#), None);
    }
}
