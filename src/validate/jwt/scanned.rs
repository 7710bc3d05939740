//! Serde driven from a scanned payload: a claims type of the application's own is read
//! from the members [`scan`](super::scan) recorded, without tokenizing the payload
//! again.
//!
//! Names and escape-free strings are handed over borrowed, integers parsed from their
//! digits, literals and arrays of plain strings read directly; any other value (nested,
//! escaped, fractional) is read by serde_json from that value's text alone, with the
//! same hint. Every call answers as serde_json over the whole payload would: where that
//! is not certain (a numeric or enum map key, a raw value at the top, a visitor that
//! stops early) this reader fails, and any failure sends the payload to serde_json
//! ([`read`]), so a failure here never changes a token's outcome.

use serde::de::Visitor;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess};
use serde_json::Error;

use super::scan::{Kind, Member, Members};

/// The name serde_json gives its `RawValue` newtype (read only by serde_json).
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// `T` from the recorded `members` of `text`; serde_json's answer over the whole text
/// when this reader declines.
#[inline]
pub(crate) fn read<T: DeserializeOwned>(text: &str, members: &Members<'_>) -> Result<T, Error> {
    match T::deserialize(Payload {
        members: members.as_slice(),
    }) {
        Ok(claims) => Ok(claims),
        Err(_) => declined(text),
    }
}

#[cold]
fn declined<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    serde_json::from_str(text)
}

/// Not read here: serde_json reads the payload.
fn decline() -> Error {
    de::Error::custom("left to serde_json")
}

/// Hints this reader leaves to serde_json.
macro_rules! declined {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(decline())
        }
    )*};
}

/// An enum: left to serde_json.
macro_rules! declined_enum {
    () => {
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            Err(decline())
        }
    };
}

/// As serde_json's object and map key: an option is `Some`, a newtype its content; a
/// `RawValue` is left to serde_json.
macro_rules! present_and_newtype {
    () => {
        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_some(self)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Error> {
            if name == RAW_VALUE {
                return Err(decline());
            }
            visitor.visit_newtype_struct(self)
        }
    };
}

/// The payload: one JSON object.
struct Payload<'de, 'm> {
    members: &'m [Member<'de>],
}

impl<'de> Payload<'de, '_> {
    fn map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let mut map = Entries {
            members: self.members.iter(),
            pending: None,
        };
        let value = visitor.visit_map(&mut map)?;
        // serde_json refuses members left unread.
        if !map.members.as_slice().is_empty() || map.pending.is_some() {
            return Err(decline());
        }
        Ok(value)
    }
}

impl<'de> Deserializer<'de> for Payload<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.map(visitor)
    }

    present_and_newtype!();

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    declined! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_seq deserialize_identifier
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, Error> {
        Err(decline())
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Error> {
        Err(decline())
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, Error> {
        Err(decline())
    }

    declined_enum!();
}

/// The members, in order, as serde_json's map access gives them.
struct Entries<'de, 'm> {
    members: std::slice::Iter<'m, Member<'de>>,
    /// The member whose name was read and whose value was not yet.
    pending: Option<&'m Member<'de>>,
}

impl<'de> MapAccess<'de> for Entries<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.pending.is_some() {
            return Err(decline());
        }
        let Some(member) = self.members.next() else {
            return Ok(None);
        };
        self.pending = Some(member);
        seed.deserialize(Name(member.key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let member = self.pending.take().ok_or_else(decline)?;
        seed.deserialize(Value {
            text: member.value,
            kind: member.kind,
        })
    }
}

/// A member name (no escapes), as serde_json's map keys read: a string for every hint
/// but the numeric, boolean, byte and enum ones, which are left to serde_json.
struct Name<'de>(&'de str);

impl<'de> Deserializer<'de> for Name<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.0)
    }

    present_and_newtype!();

    declined! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_bytes
        deserialize_byte_buf
    }

    declined_enum!();

    serde::forward_to_deserialize_any! {
        char str string unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

/// A member's value: its JSON text and what the scan found it to be.
struct Value<'de> {
    text: &'de str,
    kind: Kind,
}

/// serde_json over the value's text alone, with the same hint.
macro_rules! by_serde_json {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {{
        let mut json = serde_json::Deserializer::from_str($self.text);
        (&mut json).$method($($arg),*)
    }};
}

impl<'de> Value<'de> {
    /// The text of a string without escapes.
    fn plain_str(&self) -> &'de str {
        let inner = self.text.len().saturating_sub(1);
        self.text.get(1..inner).unwrap_or_default()
    }

    /// A non-negative integer of at most 18 digits: serde_json's `visit_u64`.
    fn int<V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value, Error> {
        let n = self
            .text
            .bytes()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        visitor.visit_u64(n)
    }

    fn strings<V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value, Error> {
        let mut seq = Strings {
            rest: self.text.get(1..).unwrap_or_default(),
        };
        let value = visitor.visit_seq(&mut seq)?;
        // serde_json refuses elements left unread.
        if seq.next_string().is_some() {
            return Err(decline());
        }
        Ok(value)
    }

    fn number<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.kind {
            Kind::Int => self.int(visitor),
            _ => by_serde_json!(self.deserialize_any(visitor)),
        }
    }
}

macro_rules! numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.kind {
                Kind::Int => self.int(visitor),
                _ => by_serde_json!(self.$method(visitor)),
            }
        }
    )*};
}

macro_rules! strs {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.kind {
                Kind::Str => visitor.visit_borrowed_str(self.plain_str()),
                _ => by_serde_json!(self.$method(visitor)),
            }
        }
    )*};
}

macro_rules! others {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            by_serde_json!(self.$method(visitor))
        }
    )*};
}

impl<'de> Deserializer<'de> for Value<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.kind {
            Kind::Null => visitor.visit_unit(),
            Kind::Bool => visitor.visit_bool(self.text == "true"),
            Kind::Int | Kind::Number => self.number(visitor),
            Kind::Str => visitor.visit_borrowed_str(self.plain_str()),
            Kind::StrArray => self.strings(visitor),
            Kind::EscapedStr | Kind::Nested => by_serde_json!(self.deserialize_any(visitor)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.kind {
            Kind::Bool => visitor.visit_bool(self.text == "true"),
            _ => by_serde_json!(self.deserialize_bool(visitor)),
        }
    }

    numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_f32 deserialize_f64
    }

    strs! { deserialize_str deserialize_string deserialize_identifier }

    others! {
        deserialize_i128 deserialize_u128 deserialize_char deserialize_bytes
        deserialize_byte_buf deserialize_unit deserialize_map
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.kind {
            Kind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == RAW_VALUE {
            return by_serde_json!(self.deserialize_newtype_struct(name, visitor));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.kind {
            Kind::StrArray => self.strings(visitor),
            _ => by_serde_json!(self.deserialize_seq(visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // The scan checked the value is valid JSON, all serde_json asks of an ignored one.
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        by_serde_json!(self.deserialize_unit_struct(name, visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        by_serde_json!(self.deserialize_tuple(len, visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        by_serde_json!(self.deserialize_tuple_struct(name, len, visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        by_serde_json!(self.deserialize_struct(name, fields, visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        by_serde_json!(self.deserialize_enum(name, variants, visitor))
    }
}

/// The elements of an array of strings without escapes: the text after `[` or after
/// the last element read.
struct Strings<'de> {
    rest: &'de str,
}

impl<'de> Strings<'de> {
    /// The next element, quotes included. Between elements are only commas and
    /// whitespace, and no string has an escaped quote, so quotes pair up.
    fn next_string(&mut self) -> Option<&'de str> {
        // Elements are short: a plain loop beats memchr's set-up here.
        let bytes = self.rest.as_bytes();
        let open = bytes.iter().position(|&b| b == b'"')?;
        let close = open + 1 + bytes.get(open + 1..)?.iter().position(|&b| b == b'"')?;
        let string = self.rest.get(open..=close)?;
        self.rest = self.rest.get(close + 1..)?;
        Some(string)
    }
}

impl<'de> SeqAccess<'de> for Strings<'de> {
    type Error = Error;

    /// Exact: every element is a string with two quotes and none inside.
    fn size_hint(&self) -> Option<usize> {
        Some(self.rest.bytes().filter(|&b| b == b'"').count() / 2)
    }

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.next_string() {
            Some(text) => seed
                .deserialize(Value {
                    text,
                    kind: Kind::Str,
                })
                .map(Some),
            None => Ok(None),
        }
    }
}

/// [`read`] without the fallback: what this reader alone answers.
#[cfg(test)]
pub(super) fn read_here<T: DeserializeOwned>(members: &Members<'_>) -> Result<T, Error> {
    T::deserialize(Payload {
        members: members.as_slice(),
    })
}
