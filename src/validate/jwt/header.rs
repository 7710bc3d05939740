//! The JOSE header: the pre-encoded forms common issuers emit, and the parsed header
//! of any other token.

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::Algorithm;
use serde::de::{self, IgnoredAny};
use serde::Deserialize;

use super::json::JsonStr;
use super::key::VerifyingKey;
use crate::keys::algorithm;

/// A header segment in a form common issuers emit, pre-encoded for the configured keys.
/// A token whose header segment is byte-for-byte one of these has exactly this `alg`
/// and `kid` and no `crit`, so it skips decoding and parsing the header.
#[derive(Clone)]
pub(super) struct KnownHeader {
    pub(super) segment: Box<[u8]>,
    pub(super) algorithm: Algorithm,
    pub(super) kid: Option<Box<str>>,
}

/// The usual header forms for `keys`: `alg` with or without `typ: JWT`, in either
/// order, plus the same with the key's `kid` when it needs no JSON escaping. With
/// `at_jwt` (RFC 9068), only forms with `typ: at+jwt`.
pub(super) fn known_headers(keys: &[VerifyingKey], at_jwt: bool) -> Vec<KnownHeader> {
    let typ = if at_jwt { "at+jwt" } else { "JWT" };
    let mut known = Vec::new();
    for key in keys {
        let Some(alg) = algorithm::name(key.algorithm) else {
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

#[derive(Deserialize)]
pub(super) struct Header<'a> {
    #[serde(borrow)]
    pub(super) alg: JsonStr<'a>,
    #[serde(default, borrow)]
    pub(super) kid: Option<JsonStr<'a>>,
    #[serde(default, borrow, deserialize_with = "typ_string")]
    pub(super) typ: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) crit: bool,
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
pub(super) fn is_access_token_type(typ: &str) -> bool {
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
