//! Which claim made a verified payload fail to deserialize into the application's
//! claims type: its name for the `error_description`, never the client's value.
//!
//! Runs only on that failure (cold path). The name is reported only when it is one of
//! the type's own field names as serde's derive lists them (`&'static str` from the
//! application's code), so a client can never choose the text: a key of a `flatten`ed
//! map or an unknown member stays the generic [`InvalidToken::ClaimsShape`].

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_path_to_error::Segment;

use crate::error::InvalidToken;

/// The reason for a payload (a JSON object whose registered claims already passed)
/// that does not deserialize into `T`.
#[cold]
pub(crate) fn shape_error<T: DeserializeOwned>(payload: &str) -> InvalidToken {
    let Some(fields) = struct_fields::<T>() else {
        return InvalidToken::ClaimsShape;
    };
    let mut de = serde_json::Deserializer::from_str(payload);
    let Err(error) = serde_path_to_error::deserialize::<_, T>(&mut de) else {
        return InvalidToken::ClaimsShape;
    };
    let own_field = |name: &str| fields.iter().copied().find(|field| *field == name);
    match error.path().iter().next() {
        // Inside a member: that claim has the wrong type or an unusable value.
        Some(Segment::Map { key }) => {
            own_field(key).map_or(InvalidToken::ClaimsShape, InvalidToken::InvalidClaim)
        }
        Some(_) => InvalidToken::ClaimsShape,
        // At the top level: a required member is missing, or one came twice. serde
        // names the field (from the type, not the input) between backticks.
        None => {
            let message = error.inner().to_string();
            if let Some(name) = quoted_after(&message, "missing field `") {
                own_field(name).map_or(InvalidToken::ClaimsShape, InvalidToken::MissingClaim)
            } else if let Some(name) = quoted_after(&message, "duplicate field `") {
                own_field(name).map_or(InvalidToken::ClaimsShape, InvalidToken::InvalidClaim)
            } else {
                InvalidToken::ClaimsShape
            }
        }
    }
}

/// The text between `prefix` (which ends with a backtick) and the next backtick.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(name, _)| name)
}

/// The field names of `T` when it deserializes as a struct (serde's derive passes them
/// to `deserialize_struct`); `None` for maps, `flatten`ed structs and other shapes.
fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only records the field list it is asked for, then stops.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Self
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = Some(fields);
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[allow(dead_code)]
    #[derive(Deserialize)]
    struct App {
        sub: String,
        #[serde(default)]
        roles: Vec<String>,
        #[serde(rename = "https://example.com/tenant")]
        tenant: Option<u32>,
    }

    #[test]
    fn missing_member_is_named() {
        assert_eq!(
            shape_error::<App>(r#"{"exp":1}"#),
            InvalidToken::MissingClaim("sub")
        );
    }

    #[test]
    fn wrong_type_is_named_without_the_value() {
        let reason = shape_error::<App>(r#"{"sub":"a","roles":"admin-secret"}"#);
        assert_eq!(reason, InvalidToken::InvalidClaim("roles"));
        assert!(!reason.description().contains("admin-secret"));
        assert_eq!(
            shape_error::<App>(r#"{"sub":"a","https://example.com/tenant":"x"}"#),
            InvalidToken::InvalidClaim("https://example.com/tenant")
        );
    }

    #[test]
    fn duplicate_member_is_named() {
        assert_eq!(
            shape_error::<App>(r#"{"sub":"a","roles":[],"roles":[]}"#),
            InvalidToken::InvalidClaim("roles")
        );
    }

    #[test]
    fn map_keys_are_never_named() {
        // A map's keys are the client's: never reported.
        type Map = std::collections::HashMap<String, u32>;
        assert_eq!(
            shape_error::<Map>(r#"{"chosen-by-client":"x"}"#),
            InvalidToken::ClaimsShape
        );
        #[allow(dead_code)]
        #[derive(Deserialize)]
        struct Flat {
            sub: String,
            #[serde(flatten)]
            rest: std::collections::HashMap<String, u32>,
        }
        assert_eq!(
            shape_error::<Flat>(r#"{"sub":"a","chosen-by-client":"x"}"#),
            InvalidToken::ClaimsShape
        );
    }
}
