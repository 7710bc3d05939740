//! The registered claims (RFC 7519 §4.1) and `scope`, read in one pass with their JSON
//! types enforced: a claim of the wrong type is an invalid token, never a skipped check.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::json::{JsonStr, NumericDate};
use crate::error::InvalidToken;

/// The claims the validator checks itself, borrowed from the decoded payload.
#[derive(Debug, Default)]
pub(crate) struct Registered<'a> {
    pub(crate) exp: Option<i64>,
    pub(crate) nbf: Option<i64>,
    pub(crate) iss: Option<JsonStr<'a>>,
    pub(crate) aud: Option<Audiences<'a>>,
    pub(crate) sub: Option<JsonStr<'a>>,
    pub(crate) jti: Option<JsonStr<'a>>,
    pub(crate) scope_is_array: bool,
}

/// The `aud` claim's values.
#[derive(Debug)]
pub(crate) enum Audiences<'a> {
    One(JsonStr<'a>),
    Many(Vec<JsonStr<'a>>),
}

impl Audiences<'_> {
    pub(crate) fn any(&self, mut f: impl FnMut(&str) -> bool) -> bool {
        match self {
            Self::One(one) => f(one),
            Self::Many(many) => many.iter().any(|a| f(a)),
        }
    }
}

impl<'a> Registered<'a> {
    /// Parses the payload, which must be exactly one JSON object.
    #[cfg(test)]
    pub(crate) fn parse(payload: &'a [u8]) -> Result<Self, InvalidToken> {
        Self::parse_with(payload, None)
    }

    /// [`parse`](Self::parse), with the scope claim read from the member `scope_name`
    /// when given (`"scope"` is then a member like any other).
    #[cold]
    pub(crate) fn parse_with(
        payload: &'a [u8],
        scope_name: Option<&str>,
    ) -> Result<Self, InvalidToken> {
        let mut reason = None;
        let mut de = serde_json::Deserializer::from_slice(payload);
        let parsed = RegisteredSeed {
            reason: &mut reason,
            scope_name,
        }
        .deserialize(&mut de)
        .and_then(|registered| de.end().map(|()| registered));
        parsed.map_err(|_| reason.unwrap_or(InvalidToken::Malformed))
    }
}

struct RegisteredSeed<'r> {
    reason: &'r mut Option<InvalidToken>,
    scope_name: Option<&'r str>,
}

impl<'de> DeserializeSeed<'de> for RegisteredSeed<'_> {
    type Value = Registered<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RegisteredSeed<'_> {
    type Value = Registered<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut claims = Registered::default();
        let mut seen = 0u8;
        let reason = self.reason;
        while let Some(key) = map.next_key::<JsonStr<'de>>()? {
            let Some((bit, name)) = registered_claim(&key, self.scope_name) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if seen & bit != 0 {
                // A duplicated registered claim is ambiguous (RFC 7519 §4: MUST reject
                // or take the last; rejecting is the safe reading).
                *reason = Some(InvalidToken::InvalidClaim(name));
                return Err(de::Error::custom("duplicate claim"));
            }
            seen |= bit;
            read_claim(&mut map, &mut claims, name)
                .inspect_err(|_| *reason = Some(InvalidToken::InvalidClaim(name)))?;
        }
        Ok(claims)
    }
}

/// The bit and name of the registered claim the member `key` holds; `None` for a
/// member the validator does not read. With `scope_name`, that member is the scope
/// and `scope` is not.
fn registered_claim(key: &str, scope_name: Option<&str>) -> Option<(u8, &'static str)> {
    let key = match scope_name {
        Some(scope) if key == scope => "scope",
        // The empty name is no claim the validator reads.
        Some(_) if key == "scope" => "",
        _ => key,
    };
    Some(match key {
        "exp" => (1, "exp"),
        "nbf" => (2, "nbf"),
        "iat" => (4, "iat"),
        "iss" => (8, "iss"),
        "aud" => (16, "aud"),
        "sub" => (32, "sub"),
        "jti" => (64, "jti"),
        "scope" => (128, "scope"),
        _ => return None,
    })
}

/// Reads the value of the registered claim `name` into `claims`.
fn read_claim<'de, A: MapAccess<'de>>(
    map: &mut A,
    claims: &mut Registered<'de>,
    name: &str,
) -> Result<(), A::Error> {
    match name {
        "exp" => claims.exp = Some(map.next_value::<NumericDate>()?.0),
        "nbf" => claims.nbf = Some(map.next_value::<NumericDate>()?.0),
        "iat" => {
            map.next_value::<NumericDate>()?;
        }
        "iss" => claims.iss = Some(map.next_value()?),
        "sub" => claims.sub = Some(map.next_value()?),
        "jti" => claims.jti = Some(map.next_value()?),
        "aud" => claims.aud = Some(map.next_value::<AudSeedless<'de>>()?.0),
        _ => claims.scope_is_array = map.next_value::<ScopeForm>()?.0,
    }
    Ok(())
}

struct AudSeedless<'a>(Audiences<'a>);

impl<'de> de::Deserialize<'de> for AudSeedless<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudVisitor;
        impl<'de> Visitor<'de> for AudVisitor {
            type Value = AudSeedless<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(AudSeedless(Audiences::One(JsonStr(v.into()))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AudSeedless(Audiences::One(JsonStr(v.to_owned().into()))))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(one) = seq.next_element::<JsonStr<'de>>()? {
                    all.push(one);
                }
                Ok(AudSeedless(Audiences::Many(all)))
            }
        }
        deserializer.deserialize_any(AudVisitor)
    }
}

/// `scope`: a string (`false`) or an array of strings (`true`).
struct ScopeForm(bool);

impl<'de> de::Deserialize<'de> for ScopeForm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScopeVisitor;
        impl<'de> Visitor<'de> for ScopeVisitor {
            type Value = ScopeForm;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a space-separated string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ScopeForm(false))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<JsonStr<'de>>()?.is_some() {}
                Ok(ScopeForm(true))
            }
        }
        deserializer.deserialize_any(ScopeVisitor)
    }
}
