//! The scope claim under another name (`scp`), read for the default claims on the
//! serde path (the one-pass reader reads it itself).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::jwt::json::JsonStr;
use crate::claims::Scope;
use crate::error::InvalidToken;

/// The member `name` of the claims object `text` as a [`Scope`] (a string or an array
/// of strings); `None` when absent.
pub(super) fn read(text: &str, name: &str) -> Result<Option<Scope>, InvalidToken> {
    let mut de = serde_json::Deserializer::from_str(text);
    NamedScope { name }
        .deserialize(&mut de)
        .map_err(|_| InvalidToken::InvalidClaim("scope"))
}

struct NamedScope<'n> {
    name: &'n str,
}

impl<'de> DeserializeSeed<'de> for NamedScope<'_> {
    type Value = Option<Scope>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for NamedScope<'_> {
    type Value = Option<Scope>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut scope = None;
        while let Some(key) = map.next_key::<JsonStr<'de>>()? {
            if *key == *self.name {
                if scope.is_some() {
                    return Err(de::Error::custom("duplicate claim"));
                }
                scope = Some(map.next_value::<Scope>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(scope)
    }
}
