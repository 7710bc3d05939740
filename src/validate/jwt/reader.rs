//! The byte-level reading under the one-pass scan: JSON strings, dates, numbers and
//! nested values, eight bytes at a time where it pays.

use super::registered::Audiences;
use std::borrow::Cow;

use super::json::JsonStr;
use super::scan::{Kind, MAX_DEPTH};

/// The bytes that end a string the fast path reads: its closing quote, or what only
/// the serde path handles (an escape, a control character, which JSON forbids).
pub(super) const STOP: [bool; 256] = {
    let mut stop = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        stop[b] = true;
        b += 1;
    }
    stop[b'"' as usize] = true;
    stop[b'\\' as usize] = true;
    stop
};

/// The position of the first [`STOP`] byte, eight bytes at a time: a byte loop spent
/// more time here than the rest of the payload's reading.
#[inline]
pub(super) fn first_stop(bytes: &[u8]) -> Option<usize> {
    first_flagged(bytes, stop_bytes, |b| STOP[usize::from(b)])
}

/// The position of the first byte `flags` marks (it sets that byte's high bit, exactly
/// for the lowest one), eight bytes at a time; `flagged` decides the last few bytes one
/// by one.
#[inline(always)]
fn first_flagged(
    bytes: &[u8],
    flags: impl Fn(u64) -> u64,
    flagged: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let marked = flags(u64::from_le_bytes(word.try_into().ok()?));
        if marked != 0 {
            return Some(at + marked.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| flagged(b)).map(|i| at + i)
}

/// The high bit of each byte of `word` that is a `"`, a `\\` or below `0x20`. Exact
/// for the lowest such byte (a borrow only runs upwards from a flagged byte), which is
/// the only one read.
#[inline]
fn stop_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

/// The length of the run of ASCII digits `bytes` starts with, eight bytes at a time
/// (dates are ten digits).
#[inline]
pub(super) fn digit_run(bytes: &[u8]) -> usize {
    first_flagged(bytes, non_digits, |b| !b.is_ascii_digit()).unwrap_or(bytes.len())
}

/// The high bit of each byte of `word` that is not an ASCII digit. Exact for the
/// lowest such byte, the only one read: below `'0'` the subtraction borrows, above `'9'`
/// the addition carries, and either runs only upwards from that byte.
#[inline]
fn non_digits(word: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let digits = word.wrapping_sub(0x3030_3030_3030_3030);
    (digits | digits.wrapping_add(0x7676_7676_7676_7676)) & HIGH
}

pub(super) struct Reader<'a> {
    pub(super) text: &'a str,
    pub(super) bytes: &'a [u8],
    pub(super) at: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline]
    pub(super) fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    #[inline]
    pub(super) fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// JSON whitespace (RFC 8259 §2): space, tab, line feed, carriage return.
    #[inline]
    pub(super) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The bit of a member name the fast path reads (`"exp"`, `"nbf"`, `"iat"`,
    /// `"iss"`, `"aud"`, `"sub"`, `"jti"`, `"scope"`), matched in place; `None` (and
    /// the reader unmoved) for any other text.
    #[inline]
    pub(super) fn registered_name(&mut self) -> Option<u16> {
        let (bit, len) = match self.bytes.get(self.at..)? {
            [b'"', b'e', b'x', b'p', b'"', ..] => (1, 5),
            [b'"', b'n', b'b', b'f', b'"', ..] => (2, 5),
            [b'"', b'i', b'a', b't', b'"', ..] => (4, 5),
            [b'"', b'i', b's', b's', b'"', ..] => (8, 5),
            [b'"', b'a', b'u', b'd', b'"', ..] => (16, 5),
            [b'"', b's', b'u', b'b', b'"', ..] => (32, 5),
            [b'"', b'j', b't', b'i', b'"', ..] => (64, 5),
            [b'"', b's', b'c', b'o', b'p', b'e', b'"', ..] => (128, 7),
            [b'"', b's', b'i', b'd', b'"', ..] => (256, 5),
            [b'"', b'c', b'l', b'i', b'e', b'n', b't', b'_', b'i', b'd', b'"', ..] => (512, 11),
            _ => return None,
        };
        self.at += len;
        Some(bit)
    }

    /// A string without escapes or control characters. The text is valid UTF-8 and
    /// both quotes are ASCII, so the slice between them is on character boundaries.
    #[inline]
    pub(super) fn string(&mut self) -> Option<&'a str> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.at + 1;
        let end = start + first_stop(self.bytes.get(start..)?)?;
        if self.bytes.get(end) != Some(&b'"') {
            return None;
        }
        self.at = end + 1;
        self.text.get(start..end)
    }

    /// A NumericDate written as a non-negative integer that fits an `i64`. Fractions,
    /// exponents, signs and longer numbers go to the serde path, which knows them all.
    #[inline]
    pub(super) fn date(&mut self) -> Option<i64> {
        let start = self.at;
        self.at += digit_run(&self.bytes[start..]);
        let digits = &self.bytes[start..self.at];
        let leading_zero = digits.len() > 1 && digits[0] == b'0';
        if digits.is_empty() || digits.len() > 18 || leading_zero {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0i64, |n, d| n * 10 + i64::from(d - b'0')),
        )
    }

    /// `aud`: a string or an array of strings (RFC 7519 §4.1.3).
    #[inline]
    pub(super) fn audiences(&mut self) -> Option<Audiences<'a>> {
        if self.peek() == Some(b'[') {
            let mut all = Vec::new();
            self.strings(|s| all.push(borrowed(s)))?;
            Some(Audiences::Many(all))
        } else {
            Some(Audiences::One(borrowed(self.string()?)))
        }
    }

    /// `[` strings `]`, each handed to `each`.
    #[inline]
    pub(super) fn strings(&mut self, mut each: impl FnMut(&'a str)) -> Option<()> {
        self.expect(b'[')?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Some(());
        }
        loop {
            each(self.string()?);
            self.skip_ws();
            match self.next()? {
                b',' => self.skip_ws(),
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// The value of a member the validator does not read: a string, an integer, a
    /// literal or an array of strings. Anything else (objects, other arrays, numbers
    /// with fractions or exponents) goes to the serde path.
    #[inline]
    pub(super) fn skip_scalar_or_strings(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'[' => self.strings(drop),
            b'-' | b'0'..=b'9' => {
                if self.peek() == Some(b'-') {
                    self.at += 1;
                }
                self.date().map(drop)
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => None,
        }
    }

    #[inline]
    pub(super) fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at.checked_add(word.len())?;
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// Any JSON value serde_json accepts (nested at most [`MAX_DEPTH`] deep), and what
    /// it is; `None` for anything else.
    #[inline]
    pub(super) fn any_value(&mut self) -> Option<Kind> {
        match self.peek()? {
            b'"' => self
                .any_string()
                .map(|escaped| if escaped { Kind::EscapedStr } else { Kind::Str }),
            b'[' => {
                let start = self.at;
                if self.strings(drop).is_some() {
                    return Some(Kind::StrArray);
                }
                self.at = start;
                self.nested(0).map(|()| Kind::Nested)
            }
            b'{' => self.nested(0).map(|()| Kind::Nested),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true").map(|()| Kind::Bool),
            b'f' => self.literal(b"false").map(|()| Kind::Bool),
            b'n' => self.literal(b"null").map(|()| Kind::Null),
            _ => None,
        }
    }

    /// A string, escapes allowed when valid (RFC 8259 §7: `\"`, `\\`, `\/`, `\b`,
    /// `\f`, `\n`, `\r`, `\t`, `\u` and four hex digits); `Some(true)` if it has any.
    /// Control characters are refused.
    #[inline]
    pub(super) fn any_string(&mut self) -> Option<bool> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let mut at = self.at + 1;
        let mut escaped = false;
        loop {
            at += first_stop(self.bytes.get(at..)?)?;
            match self.bytes[at] {
                b'"' => {
                    self.at = at + 1;
                    return Some(escaped);
                }
                b'\\' => {
                    escaped = true;
                    match self.bytes.get(at + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                        b'u' => {
                            let hex = self.bytes.get(at + 2..at + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            at += 6;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// A JSON number (RFC 8259 §6): [`Kind::Int`] for a non-negative integer of at
    /// most 18 digits, [`Kind::Number`] for any other.
    #[inline]
    pub(super) fn number(&mut self) -> Option<Kind> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let digits = digit_run(self.bytes.get(self.at..)?);
        if digits == 0 || (digits > 1 && self.bytes[self.at] == b'0') {
            return None;
        }
        self.at += digits;
        let mut plain = !negative && digits <= 18;
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits()?;
            plain = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.some_digits()?;
            plain = false;
        }
        Some(if plain { Kind::Int } else { Kind::Number })
    }

    #[inline]
    pub(super) fn some_digits(&mut self) -> Option<()> {
        let digits = digit_run(self.bytes.get(self.at..)?);
        self.at += digits;
        (digits > 0).then_some(())
    }

    /// An array or object, valid JSON, nested at most [`MAX_DEPTH`] deep.
    pub(super) fn nested(&mut self, depth: u8) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let close = match self.next()? {
            b'[' => b']',
            b'{' => b'}',
            _ => return None,
        };
        self.skip_ws();
        if self.peek() == Some(close) {
            self.at += 1;
            return Some(());
        }
        loop {
            if close == b'}' {
                self.any_string()?;
                self.skip_ws();
                self.expect(b':')?;
                self.skip_ws();
            }
            match self.peek()? {
                b'[' | b'{' => self.nested(depth + 1)?,
                _ => {
                    self.any_value()?;
                }
            }
            self.skip_ws();
            match self.next()? {
                b',' => self.skip_ws(),
                b if b == close => return Some(()),
                _ => return None,
            }
        }
    }
}

#[inline]
pub(super) fn borrowed(s: &str) -> JsonStr<'_> {
    JsonStr(Cow::Borrowed(s))
}
