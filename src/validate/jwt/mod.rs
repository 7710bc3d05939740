//! [`JwtValidator`]: signed JWTs (RFC 7519, compact JWS of RFC 7515) checked locally.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::fmt;
use std::future::Ready;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use serde::de::{self, DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use sha2::{Sha256, Sha384, Sha512};

use super::{TokenValidator, Validation};

pub(crate) mod base64url;
pub(crate) mod json;
mod registered;
mod scan;
mod scanned;

use crate::claims::Claims;
use crate::error::{AuthError, ConfigError, InvalidToken};
use json::JsonStr;
use registered::Registered;

/// Default leeway for `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// Default upper bound on a token's length, in bytes.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
/// Segments up to this size are decoded on the stack.
const STACK_SEGMENT: usize = 1024;
/// Segments up to this size (headers, small payloads) use a smaller stack buffer.
const SMALL_SEGMENT: usize = 256;
/// At most this many keys without `kid` are tried for one token.
pub const MAX_KIDLESS_TRIES: usize = 4;

/// The crypto backend of `jsonwebtoken` chosen by this crate's features, used directly
/// so that enabling both backends never leaves `jsonwebtoken` without a default.
pub(crate) fn crypto_provider() -> &'static CryptoProvider {
    #[cfg(feature = "aws-lc")]
    {
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
    {
        &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
    }
}

/// Validates signed JWTs with strict defaults.
///
/// - The algorithm is pinned by the key: a token whose `alg` is not the configured
///   key's algorithm is refused (no `none`, no HMAC/RSA confusion).
/// - `exp` is required; `nbf` is checked when present; both with a leeway (default
///   60 s). `exp`, `nbf`, `iat` must be JSON numbers; `iss`, `sub`, `jti` strings;
///   `aud` a string or array of strings; `scope` a string (an array only after
///   [`allow_scope_array`](Self::allow_scope_array)).
/// - `iss` and `aud` become required when configured. A token with an `aud` is refused
///   when no audience is configured (RFC 7519 §4.1.3).
/// - A `crit` header is refused: this validator implements no JWS extensions
///   (RFC 7515 §4.1.11).
/// - Claims are only parsed after the signature verifies.
///
/// `T` is the claims type inserted into the request: [`Claims`] by default, or any
/// `DeserializeOwned + Clone + Send + Sync` type of yours. Both take the same fast path:
/// the payload is read once, and your type's `Deserialize` is driven from that reading
/// (names and plain strings borrowed, no second JSON parse); only unusual payloads
/// (escaped names or registered claims, nesting deeper than 16, more than 48 members)
/// are parsed again by serde_json, with the same result.
///
/// ```
/// use tower_bearer::{Claims, JwtValidator};
///
/// let validator = JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")?
///     .with_issuer("https://auth.example.com")?
///     .with_audience("api")?;
/// assert!(validator.verify("not.a.jwt").is_err());
/// # Ok::<_, tower_bearer::ConfigError>(())
/// ```
pub struct JwtValidator<T = Claims> {
    inner: Arc<Settings>,
    claims: PhantomData<fn() -> T>,
}

#[derive(Clone)]
struct Settings {
    keys: Vec<VerifyingKey>,
    known_headers: Vec<KnownHeader>,
    issuers: Vec<Box<str>>,
    audiences: Vec<Box<str>>,
    leeway: i64,
    max_token_len: usize,
    allow_scope_array: bool,
    /// The member read as the scope claim, when not `scope`.
    scope_claim: Option<Box<str>>,
    require_sub: bool,
    require_jti: bool,
    /// RFC 9068 §4: the header's `typ` must be `at+jwt` / `application/at+jwt`.
    require_at_jwt: bool,
    /// ECDSA signatures with `s > n/2` refused (only `(r, s)` or `(r, n-s)` valid).
    require_low_s: bool,
}

/// A header segment in a form common issuers emit, pre-encoded for the configured keys.
/// A token whose header segment is byte-for-byte one of these has exactly this `alg`
/// and `kid` and no `crit`, so it skips decoding and parsing the header.
#[derive(Clone)]
struct KnownHeader {
    segment: Box<[u8]>,
    algorithm: Algorithm,
    kid: Option<Box<str>>,
}

fn algorithm_name(algorithm: Algorithm) -> Option<&'static str> {
    Some(match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// The usual header forms for `keys`: `alg` with or without `typ: JWT`, in either
/// order, plus the same with the key's `kid` when it needs no JSON escaping. With
/// `at_jwt` (RFC 9068), only forms with `typ: at+jwt`.
fn known_headers(keys: &[VerifyingKey], at_jwt: bool) -> Vec<KnownHeader> {
    let typ = if at_jwt { "at+jwt" } else { "JWT" };
    let mut known = Vec::new();
    for key in keys {
        let Some(alg) = algorithm_name(key.algorithm) else {
            continue;
        };
        let plain = |kid: &str| {
            kid.bytes()
                .all(|b| (0x20..=0x7E).contains(&b) && b != b'"' && b != b'\\')
        };
        let mut forms: Vec<String> = match key.kid.as_deref() {
            None => vec![
                format!(r#"{{"typ":"{typ}","alg":"{alg}"}}"#),
                format!(r#"{{"alg":"{alg}","typ":"{typ}"}}"#),
            ],
            Some(kid) if plain(kid) => vec![
                format!(r#"{{"typ":"{typ}","alg":"{alg}","kid":"{kid}"}}"#),
                format!(r#"{{"alg":"{alg}","typ":"{typ}","kid":"{kid}"}}"#),
                format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"{typ}"}}"#),
                format!(r#"{{"typ":"{typ}","kid":"{kid}","alg":"{alg}"}}"#),
                format!(r#"{{"kid":"{kid}","alg":"{alg}","typ":"{typ}"}}"#),
            ],
            Some(_) => Vec::new(),
        };
        if !at_jwt {
            match key.kid.as_deref() {
                None => forms.push(format!(r#"{{"alg":"{alg}"}}"#)),
                Some(kid) if plain(kid) => {
                    forms.push(format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#));
                    forms.push(format!(r#"{{"kid":"{kid}","alg":"{alg}"}}"#));
                }
                Some(_) => {}
            }
        }
        for form in forms {
            known.push(KnownHeader {
                segment: URL_SAFE_NO_PAD.encode(form).into_bytes().into(),
                algorithm: key.algorithm,
                kid: key.kid.clone(),
            });
        }
    }
    known
}

#[derive(Clone)]
struct VerifyingKey {
    kid: Option<Box<str>>,
    algorithm: Algorithm,
    verifier: Verifier,
}

/// HMAC keys are keyed once here; each request clones the keyed state instead of
/// running the key schedule again.
#[derive(Clone)]
enum Verifier {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
    Public(DecodingKey),
}

impl<T> Clone for JwtValidator<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            claims: PhantomData,
        }
    }
}

impl<T> fmt::Debug for JwtValidator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<_> = self
            .inner
            .keys
            .iter()
            .map(|k| (k.kid.as_deref(), k.algorithm))
            .collect();
        f.debug_struct("JwtValidator")
            .field("keys", &keys)
            .field("issuers", &self.inner.issuers)
            .field("audiences", &self.inner.audiences)
            .field("leeway", &self.inner.leeway)
            .field("max_token_len", &self.inner.max_token_len)
            .field("allow_scope_array", &self.inner.allow_scope_array)
            .field("claims", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

fn hmac_min_len(algorithm: Algorithm) -> usize {
    match algorithm {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

impl VerifyingKey {
    fn new(
        kid: Option<&str>,
        algorithm: Algorithm,
        key: &DecodingKey,
        check_length: bool,
    ) -> Result<Self, ConfigError> {
        if algorithm.family() != key.family() {
            return Err(ConfigError::KeyAlgorithmMismatch);
        }
        let verifier = if algorithm.family() == AlgorithmFamily::Hmac {
            let DecodingKeyKind::SecretOrDer(secret) = key.kind() else {
                return Err(ConfigError::KeyAlgorithmMismatch);
            };
            if secret.is_empty() {
                return Err(ConfigError::HmacKeyTooShort { minimum: 1 });
            }
            let minimum = hmac_min_len(algorithm);
            if check_length && secret.len() < minimum {
                return Err(ConfigError::HmacKeyTooShort { minimum });
            }
            let invalid = |_| ConfigError::InvalidKey("unusable HMAC secret".into());
            match algorithm {
                Algorithm::HS256 => Verifier::Hs256(Hmac::new_from_slice(secret).map_err(invalid)?),
                Algorithm::HS384 => Verifier::Hs384(Hmac::new_from_slice(secret).map_err(invalid)?),
                _ => Verifier::Hs512(Hmac::new_from_slice(secret).map_err(invalid)?),
            }
        } else {
            // Build a verifier once so that a bad key fails here, not on a request.
            (crypto_provider().verifier_factory)(&algorithm, key)
                .map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
            Verifier::Public(key.clone())
        };
        Ok(Self {
            kid: kid.map(Into::into),
            algorithm,
            verifier,
        })
    }

    /// Verifies `signature` (base64url) over `signing_input`; an ECDSA signature with a
    /// high `s` is refused if `require_low_s`.
    fn verify(
        &self,
        signing_input: &[u8],
        signature: &[u8],
        require_low_s: bool,
    ) -> Result<(), InvalidToken> {
        fn mac<M: Mac + Clone>(
            keyed: &M,
            input: &[u8],
            signature: &[u8],
        ) -> Result<(), InvalidToken> {
            let mut mac = keyed.clone();
            mac.update(input);
            // Constant-time, against the tag's one strict encoding: a truncated,
            // padded or stray-bit signature does not match.
            base64url::encodes(&mac.finalize().into_bytes(), signature)
                .then_some(())
                .ok_or(InvalidToken::BadSignature)
        }
        match &self.verifier {
            Verifier::Hs256(keyed) => mac(keyed, signing_input, signature),
            Verifier::Hs384(keyed) => mac(keyed, signing_input, signature),
            Verifier::Hs512(keyed) => mac(keyed, signing_input, signature),
            Verifier::Public(key) => {
                let signature =
                    base64url::decode_to_vec(signature).ok_or(InvalidToken::BadSignature)?;
                if require_low_s && crate::keys::low_s::is_high_s(self.algorithm, &signature) {
                    return Err(InvalidToken::BadSignature);
                }
                let verifier = (crypto_provider().verifier_factory)(&self.algorithm, key)
                    .map_err(|_| InvalidToken::UnknownKey)?;
                verifier
                    .verify(signing_input, &signature)
                    .map_err(|_| InvalidToken::BadSignature)
            }
        }
    }
}

impl<T> JwtValidator<T> {
    /// A validator for tokens signed with `key` using `algorithm`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::KeyAlgorithmMismatch`] if the key's family does not match the
    /// algorithm, [`ConfigError::HmacKeyTooShort`] for an HMAC secret shorter than the
    /// hash output (RFC 7518 §3.2), [`ConfigError::InvalidKey`] for an unusable key.
    pub fn new(algorithm: Algorithm, key: &DecodingKey) -> Result<Self, ConfigError> {
        Ok(Self::from_key(VerifyingKey::new(
            None, algorithm, key, true,
        )?))
    }

    /// An `HS256` validator from a shared secret of at least 32 bytes.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HmacKeyTooShort`] for a shorter secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::new(Algorithm::HS256, &DecodingKey::from_secret(secret.as_ref()))
    }

    /// Like [`new`](Self::new) but accepts an HMAC secret shorter than RFC 7518 §3.2
    /// requires. Short secrets can be brute-forced offline from any token: use only for
    /// development and interoperability tests.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), except for the length check (an empty secret is still
    /// refused).
    pub fn insecure_short_hmac_key(
        algorithm: Algorithm,
        key: &DecodingKey,
    ) -> Result<Self, ConfigError> {
        Ok(Self::from_key(VerifyingKey::new(
            None, algorithm, key, false,
        )?))
    }

    fn from_key(key: VerifyingKey) -> Self {
        Self {
            inner: Arc::new(Settings {
                known_headers: known_headers(std::slice::from_ref(&key), false),
                keys: vec![key],
                issuers: Vec::new(),
                audiences: Vec::new(),
                leeway: DEFAULT_LEEWAY.as_secs() as i64,
                max_token_len: DEFAULT_MAX_TOKEN_LEN,
                allow_scope_array: false,
                scope_claim: None,
                require_sub: false,
                require_jti: false,
                require_at_jwt: false,
                require_low_s: false,
            }),
            claims: PhantomData,
        }
    }

    fn settings(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.inner)
    }

    /// Adds a key selected by the token's `kid` header (key rotation, several issuers).
    ///
    /// A key added with [`new`](Self::new) has no `kid` and matches any token with its
    /// algorithm; keys added here match only tokens naming their `kid`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_key(
        mut self,
        kid: &str,
        algorithm: Algorithm,
        key: &DecodingKey,
    ) -> Result<Self, ConfigError> {
        let key = VerifyingKey::new(Some(kid), algorithm, key, true)?;
        let settings = self.settings();
        settings.keys.push(key);
        settings.known_headers = known_headers(&settings.keys, settings.require_at_jwt);
        Ok(self)
    }

    /// Accepts tokens from `issuer`, and makes `iss` required. Call again to accept
    /// several issuers.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for an empty issuer.
    pub fn with_issuer(mut self, issuer: &str) -> Result<Self, ConfigError> {
        if issuer.is_empty() {
            return Err(ConfigError::InvalidValue("issuer"));
        }
        self.settings().issuers.push(issuer.into());
        Ok(self)
    }

    /// Accepts tokens whose `aud` names `audience`, and makes `aud` required. Call again
    /// to accept several.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for an empty audience.
    pub fn with_audience(mut self, audience: &str) -> Result<Self, ConfigError> {
        if audience.is_empty() {
            return Err(ConfigError::InvalidValue("audience"));
        }
        self.settings().audiences.push(audience.into());
        Ok(self)
    }

    /// Clock-skew allowance for `exp` and `nbf` (default 60 s).
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.settings().leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// Longest token accepted, in bytes (default 8 KiB). Longer tokens are refused
    /// before any decoding.
    #[must_use]
    pub fn with_max_token_len(mut self, max: usize) -> Self {
        self.settings().max_token_len = max;
        self
    }

    /// Accepts a `scope` claim given as an array of strings, as some issuers send.
    #[must_use]
    pub fn allow_scope_array(mut self) -> Self {
        self.settings().allow_scope_array = true;
        self
    }

    /// Reads the granted scopes from the claim `name` instead of `scope`: `scp` for
    /// Entra ID and Okta. That claim may be a space-separated string or an array of
    /// strings (any other type is an invalid token); the default [`Claims`] get it as
    /// [`Claims::scope`], and a `scope` member is then ignored like any other.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] for an empty name or one of the registered claims
    /// the validator reads itself (`exp`, `nbf`, `iat`, `iss`, `aud`, `sub`, `jti`).
    pub fn scope_claim(mut self, name: &str) -> Result<Self, ConfigError> {
        if name.is_empty() || ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"].contains(&name) {
            return Err(ConfigError::InvalidValue("scope claim"));
        }
        let settings = self.settings();
        if name == "scope" {
            settings.scope_claim = None;
        } else {
            settings.scope_claim = Some(name.into());
            settings.allow_scope_array = true;
        }
        Ok(self)
    }

    /// Makes `sub` required.
    #[must_use]
    pub fn require_sub(mut self) -> Self {
        self.settings().require_sub = true;
        self
    }

    /// Makes `jti` required (e.g. for revocation checks).
    #[must_use]
    pub fn require_jti(mut self) -> Self {
        self.settings().require_jti = true;
        self
    }

    /// RFC 9068 §4: requires the header's `typ` to be `at+jwt` (or `application/at+jwt`,
    /// compared case-insensitively as a media type, RFC 7515 §4.1.9), so that ID tokens,
    /// refresh tokens and other JWTs signed by the same keys are refused as access
    /// tokens ([`InvalidToken::WrongType`]). Off by default: many issuers still send
    /// `typ: JWT` access tokens.
    #[must_use]
    pub fn require_access_token_type(mut self) -> Self {
        let settings = self.settings();
        settings.require_at_jwt = true;
        settings.known_headers = known_headers(&settings.keys, true);
        self
    }

    /// Refuses ES256/ES384 signatures whose `s` is above half the curve order
    /// ([`InvalidToken::BadSignature`]): one token, one valid signature.
    ///
    /// From a valid signature `(r, s)` anyone can make a second one, `(r, n-s)`, so a
    /// token has two valid strings (a cache or deny list keyed by the token string sees
    /// two tokens). Off by default because most signers do not normalize `s`: OpenSSL
    /// (and so Node.js identity providers), Java, Go, aws-lc and `jsonwebtoken` itself
    /// emit a high `s` in about half of their signatures, which this setting refuses.
    /// Turn it on for issuers that emit only low `s`, such as this crate's
    /// [`TokenIssuer`](crate::token_endpoint::TokenIssuer).
    #[must_use]
    pub fn require_low_s_ecdsa(mut self) -> Self {
        self.settings().require_low_s = true;
        self
    }

    /// The issuers accepted (empty: `iss` is not checked).
    #[cfg_attr(not(feature = "jwks-core"), allow(dead_code))]
    pub(crate) fn issuers(&self) -> &[Box<str>] {
        &self.inner.issuers
    }

    /// Returns the same settings with another claims type (your own
    /// `Deserialize` struct: it is read on the same one-pass path as [`Claims`]).
    #[must_use]
    pub fn with_claims<U>(self) -> JwtValidator<U> {
        JwtValidator {
            inner: self.inner,
            claims: PhantomData,
        }
    }
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: JsonStr<'a>,
    #[serde(default, borrow)]
    kid: Option<JsonStr<'a>>,
    #[serde(default, borrow, deserialize_with = "typ_string")]
    typ: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// `typ` when it is a string; any other value is read and dropped (only a validator
/// that requires a `typ` looks at it, and then refuses).
fn typ_string<'de, D: de::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Typ;
    impl<'de> de::Visitor<'de> for Typ {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    deserializer.deserialize_any(Typ)
}

/// RFC 9068 §2.1's `typ`, as a media type (RFC 7515 §4.1.9: `application/` may be
/// omitted; media types compare case-insensitively).
fn is_access_token_type(typ: &str) -> bool {
    let subtype = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    subtype.eq_ignore_ascii_case("at+jwt")
}

/// `true` whenever the member is present, whatever its value (even `null`).
fn present<'de, D: de::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

fn parse_algorithm(alg: &str) -> Option<Algorithm> {
    // Case-sensitive (RFC 7515 §4.1.1); "none" in any spelling is not here.
    Some(match alg {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Decodes a base64url segment (strict: no padding, no stray bits) and hands it to `f`,
/// on the stack when small.
#[inline(always)]
fn with_segment<R>(
    segment: &[u8],
    f: impl FnOnce(&[u8]) -> Result<R, InvalidToken>,
) -> Result<R, InvalidToken> {
    let decoded_max = segment.len() / 4 * 3 + 3;
    if decoded_max <= SMALL_SEGMENT {
        on_stack::<SMALL_SEGMENT, R>(segment, f)
    } else if decoded_max <= STACK_SEGMENT {
        on_stack::<STACK_SEGMENT, R>(segment, f)
    } else {
        let decoded = base64url::decode_to_vec(segment).ok_or(InvalidToken::Malformed)?;
        f(&decoded)
    }
}

/// Decodes into an `N`-byte stack buffer, left uninitialized (sized by the caller:
/// headers and usual payloads fit in the small one).
#[inline(always)]
fn on_stack<const N: usize, R>(
    segment: &[u8],
    f: impl FnOnce(&[u8]) -> Result<R, InvalidToken>,
) -> Result<R, InvalidToken> {
    let mut buf = base64url::buffer::<N>();
    f(base64url::decode_into(segment, &mut buf).ok_or(InvalidToken::Malformed)?)
}

/// `json` as text if it is UTF-8 (RFC 7515 §5.2 steps 3 and 8, RFC 7519 §7.2 step 10)
/// and starts like an object. The UTF-8 check covers the whole text: serde_json skips
/// the strings of ignored members without validating them.
fn json_object_text(json: &[u8]) -> Option<&str> {
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    std::str::from_utf8(json).ok()
}

fn is_json_object(json: &[u8]) -> bool {
    json_object_text(json).is_some()
}

/// The claims as [`Claims`] straight from the fast path's reading, when `T` is
/// [`Claims`]; `None` for any other type, which serde then reads.
#[inline(always)]
fn default_claims<T: 'static>(flat: &scan::FlatClaims<'_>) -> Option<T> {
    let mut slot: Option<T> = None;
    if let Some(claims) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Claims>>() {
        *claims = flat.to_claims();
    }
    slot
}

/// For the default [`Claims`] (which serde reads from `scope`), the scope from the
/// member `name` instead; other types are left as they are.
#[cold]
fn named_scope<T: 'static>(claims: &mut T, text: &str, name: &str) -> Result<(), InvalidToken> {
    if let Some(claims) = (claims as &mut dyn Any).downcast_mut::<Claims>() {
        claims.scope = super::scope_claim::read(text, name)?;
    }
    Ok(())
}

/// The subject of a verified token only; never the token.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
fn trace_accepted(registered: &Registered<'_>) {
    #[cfg(feature = "tracing")]
    tracing::debug!(sub = registered.sub.as_deref(), "bearer token accepted");
}

pub(crate) use crate::clock::now;

impl<T: DeserializeOwned + 'static> JwtValidator<T> {
    /// Validates `token` and returns its claims.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] with the reason the token was refused.
    #[inline]
    pub fn verify(&self, token: &str) -> Result<T, AuthError> {
        self.verify_token(token).map_err(AuthError::InvalidToken)
    }

    #[inline]
    fn verify_token(&self, token: &str) -> Result<T, InvalidToken> {
        self.verify_timed(token).map(|(claims, _)| claims)
    }

    /// Validates `token`, returning its claims and its `exp`/`nbf` (for caches).
    #[inline]
    pub(crate) fn verify_timed(&self, token: &str) -> Result<(T, Times), InvalidToken> {
        let settings = &*self.inner;
        let bytes = token.as_bytes();
        if bytes.len() > settings.max_token_len {
            return Err(InvalidToken::TooLong);
        }
        let mut dots = memchr::memchr_iter(b'.', bytes);
        let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
            return Err(InvalidToken::Malformed);
        };
        let (header, payload, signature) = (
            &bytes[..first],
            &bytes[first + 1..second],
            &bytes[second + 1..],
        );
        if header.is_empty() || payload.is_empty() || signature.is_empty() {
            return Err(InvalidToken::Malformed);
        }

        let known = settings
            .known_headers
            .iter()
            .find(|known| *known.segment == *header);
        let signing_input = &bytes[..second];
        match known {
            Some(known) => self.verify_signature(
                known.algorithm,
                known.kid.as_deref(),
                signing_input,
                signature,
            )?,
            None => self.parse_header(header, signing_input, signature)?,
        }

        with_segment(payload, |json| {
            let text = json_object_text(json).ok_or(InvalidToken::Malformed)?;
            // The usual payload is read once; anything else takes the serde path.
            let mut flat = scan::FlatClaims::default();
            let scope_name = settings.scope_claim.as_deref();
            if TypeId::of::<T>() == TypeId::of::<Claims>() {
                // The default claims are built from the registered claims read.
                if scan::scan_with(text, &mut flat, scope_name, &mut ()).is_none() {
                    return self.read_with_serde(json, text, scope_name);
                }
                let times = self.check_registered(&flat.registered)?;
                let claims = match default_claims(&flat) {
                    Some(claims) => claims,
                    None => serde_json::from_str(text)
                        .map_err(|_| super::shape::shape_error::<T>(text))?,
                };
                trace_accepted(&flat.registered);
                Ok((claims, times))
            } else {
                // Any other type is read from the members the scan recorded.
                let mut members = scan::Members::new();
                if scan::scan_with(text, &mut flat, scope_name, &mut members).is_none() {
                    return self.read_with_serde(json, text, scope_name);
                }
                let times = self.check_registered(&flat.registered)?;
                let claims = scanned::read(text, &members)
                    .map_err(|_| super::shape::shape_error::<T>(text))?;
                trace_accepted(&flat.registered);
                Ok((claims, times))
            }
        })
    }

    /// A payload the scan does not read: serde reads the registered claims, then `T`.
    #[cold]
    fn read_with_serde(
        &self,
        json: &[u8],
        text: &str,
        scope_name: Option<&str>,
    ) -> Result<(T, Times), InvalidToken> {
        let registered = Registered::parse_with(json, scope_name)?;
        let times = self.check_registered(&registered)?;
        let mut claims =
            serde_json::from_str(text).map_err(|_| super::shape::shape_error::<T>(text))?;
        if let Some(name) = scope_name {
            named_scope(&mut claims, text, name)?;
        }
        trace_accepted(&registered);
        Ok((claims, times))
    }

    /// Decodes and parses a header segment, and verifies the signature with the key it
    /// names.
    #[cold]
    fn parse_header(
        &self,
        header: &[u8],
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidToken> {
        with_segment(header, |json| {
            if !is_json_object(json) {
                return Err(InvalidToken::Malformed);
            }
            let header: Header<'_> =
                serde_json::from_slice(json).map_err(|_| InvalidToken::Malformed)?;
            if header.crit {
                return Err(InvalidToken::UnsupportedCriticalHeader);
            }
            let algorithm =
                parse_algorithm(&header.alg).ok_or(InvalidToken::UnsupportedAlgorithm)?;
            if self.inner.require_at_jwt && !header.typ.as_deref().is_some_and(is_access_token_type)
            {
                return Err(InvalidToken::WrongType);
            }
            self.verify_signature(algorithm, header.kid.as_deref(), signing_input, signature)
        })
    }

    /// Verifies with the key named by `kid`; without one (or with a `kid` no key has),
    /// with each key of `algorithm` that has no `kid`, up to [`MAX_KIDLESS_TRIES`]. A
    /// `kid` no key has whose fallback fails is an unknown key (a JWK set refreshes).
    #[inline]
    fn verify_signature(
        &self,
        algorithm: Algorithm,
        kid: Option<&str>,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidToken> {
        let settings = &*self.inner;
        let keys = &settings.keys;
        if let Some(kid) = kid {
            let mut named = keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .peekable();
            if named.peek().is_some() {
                // A `kid` may name one key under several algorithms (an RSA JWK without
                // `alg`); the token's must be one of them.
                return match named.find(|k| k.algorithm == algorithm) {
                    Some(key) => key.verify(signing_input, signature, settings.require_low_s),
                    None => Err(InvalidToken::UnsupportedAlgorithm),
                };
            }
        }
        let mut failed = None;
        for key in keys
            .iter()
            .filter(|k| k.kid.is_none() && k.algorithm == algorithm)
            .take(MAX_KIDLESS_TRIES)
        {
            match key.verify(signing_input, signature, settings.require_low_s) {
                Ok(()) => return Ok(()),
                Err(error) => failed = Some(error),
            }
        }
        match failed {
            Some(_) if kid.is_some() => Err(InvalidToken::UnknownKey),
            Some(error) => Err(error),
            None if keys.iter().any(|k| k.algorithm == algorithm) => Err(InvalidToken::UnknownKey),
            None => Err(InvalidToken::UnsupportedAlgorithm),
        }
    }

    fn check_registered(&self, claims: &Registered<'_>) -> Result<Times, InvalidToken> {
        let settings = &*self.inner;
        let times = Times {
            exp: claims.exp.ok_or(InvalidToken::MissingClaim("exp"))?,
            nbf: claims.nbf,
        };
        times.check(now(), settings.leeway)?;
        if !settings.issuers.is_empty() {
            let iss = claims
                .iss
                .as_deref()
                .ok_or(InvalidToken::MissingClaim("iss"))?;
            if !settings.issuers.iter().any(|accepted| **accepted == *iss) {
                return Err(InvalidToken::WrongIssuer);
            }
        }
        match (&claims.aud, settings.audiences.is_empty()) {
            (None, false) => return Err(InvalidToken::MissingClaim("aud")),
            (Some(aud), _) => {
                if !aud.any(|a| settings.audiences.iter().any(|accepted| **accepted == *a)) {
                    return Err(InvalidToken::WrongAudience);
                }
            }
            (None, true) => {}
        }
        if claims.scope_is_array && !settings.allow_scope_array {
            return Err(InvalidToken::InvalidClaim("scope"));
        }
        if settings.require_sub && claims.sub.is_none() {
            return Err(InvalidToken::MissingClaim("sub"));
        }
        if settings.require_jti && claims.jti.is_none() {
            return Err(InvalidToken::MissingClaim("jti"));
        }
        Ok(times)
    }
}

/// A verified token's time bounds, re-checked whenever a cached token is used again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Times {
    pub(crate) exp: i64,
    pub(crate) nbf: Option<i64>,
}

impl Times {
    /// Checks `exp` and `nbf` at `now` (seconds since the epoch) with `leeway` seconds.
    pub(crate) fn check(self, now: i64, leeway: i64) -> Result<(), InvalidToken> {
        // RFC 7519 §4.1.4: the current time MUST be before exp.
        if now.saturating_sub(leeway) >= self.exp {
            return Err(InvalidToken::Expired);
        }
        if let Some(nbf) = self.nbf {
            if now.saturating_add(leeway) < nbf {
                return Err(InvalidToken::NotYetValid);
            }
        }
        Ok(())
    }
}

#[cfg(feature = "cache")]
impl<T> JwtValidator<T> {
    /// The leeway for `exp` and `nbf`, in seconds.
    pub(crate) fn leeway_secs(&self) -> i64 {
        self.inner.leeway
    }

    /// The longest token accepted, in bytes.
    pub(crate) fn max_token_len(&self) -> usize {
        self.inner.max_token_len
    }

    /// `true` if every key is an HMAC secret.
    pub(crate) fn hmac_only(&self) -> bool {
        self.inner
            .keys
            .iter()
            .all(|k| k.algorithm.family() == AlgorithmFamily::Hmac)
    }
}

impl<T> TokenValidator for JwtValidator<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Claims = T;
    type Future = Ready<Result<T, AuthError>>;

    fn validate(&self, token: &str) -> Validation<T, Self::Future> {
        Validation::Ready(self.verify(token))
    }

    /// A JWT is accepted only if its header is one of the pre-encoded forms or strict
    /// base64url, its payload strict base64url and its signature the strict encoding
    /// of the expected one, between exactly two dots: all `b64token` characters.
    fn accepts_only_b64token(&self, _: crate::validate::sealed::Internal) -> bool {
        true
    }
}

impl<T> JwtValidator<T> {
    /// A validator with this one's settings (issuers, audiences, leeway, limits, claim
    /// rules) and `keys` in place of its keys: for key sets that change at run time
    /// (rotation, a refreshed JWK set). Each entry is `(kid, algorithm, key)`; a key
    /// without a `kid` matches any token of its algorithm that names no known `kid`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new) for each key, and [`ConfigError::NoKeys`] if there are none.
    pub fn with_keys_replaced<'k, I>(&self, keys: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (Option<&'k str>, Algorithm, &'k DecodingKey)>,
    {
        let validator = self.replace_keys(keys)?;
        if validator.inner.keys.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        Ok(validator)
    }

    /// As [`with_keys_replaced`](Self::with_keys_replaced), an empty list allowed.
    pub(crate) fn replace_keys<'k, I>(&self, keys: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (Option<&'k str>, Algorithm, &'k DecodingKey)>,
    {
        let keys = keys
            .into_iter()
            .map(|(kid, algorithm, key)| VerifyingKey::new(kid, algorithm, key, true))
            .collect::<Result<Vec<_>, _>>()?;
        let mut settings = Settings::clone(&self.inner);
        settings.known_headers = known_headers(&keys, settings.require_at_jwt);
        settings.keys = keys;
        Ok(Self {
            inner: Arc::new(settings),
            claims: PhantomData,
        })
    }

    /// Default settings and no key (refuses every token): a template for
    /// [`replace_keys`](Self::replace_keys).
    pub(crate) fn keyless() -> Self {
        let placeholder = DecodingKey::from_secret(&[0; 32]);
        let validator = Self::new(Algorithm::HS256, &placeholder)
            .expect("a 32-byte HS256 secret is always accepted");
        validator
            .replace_keys([])
            .expect("an empty key list is always accepted")
    }
}

#[cfg(test)]
mod claim_rules_tests;
#[cfg(test)]
mod scanned_tests;
