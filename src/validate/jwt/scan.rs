//! A single-pass reader for the payloads most issuers send: one flat JSON object whose
//! members are strings without escapes, plain integers, literals or arrays of such
//! strings. It finds the registered claims (and `iat`, `scope`) with no allocation
//! beyond an `aud` array, and answers `None` for anything else (escapes, fractions,
//! nested objects, a registered claim of an unexpected type, a duplicate), which sends
//! the payload to the serde path: that path then decides, with the same result the fast
//! path would have given. `tests/fuzz_jwt.rs` checks the two agree.

use smallvec::SmallVec;

use super::json::JsonStr;
use super::reader::{borrowed, Reader};
use super::registered::{Audiences, Registered};
use crate::claims::{Audience, Claims, Scope};

/// What the fast path read: the registered claims the validator checks, plus the
/// members [`Claims`] needs besides them.
#[derive(Debug, Default)]
pub(crate) struct FlatClaims<'a> {
    pub(crate) registered: Registered<'a>,
    pub(crate) iat: Option<i64>,
    pub(crate) scope: Option<&'a str>,
    pub(crate) sid: Option<&'a str>,
    pub(crate) client_id: Option<&'a str>,
}

impl FlatClaims<'_> {
    /// The default claims type, built from what was read (the payload is not parsed
    /// again).
    #[inline]
    pub(crate) fn to_claims(&self) -> Option<Claims> {
        let owned = |s: &Option<JsonStr<'_>>| s.as_ref().map(|s| String::from(&**s));
        let registered = &self.registered;
        Some(Claims {
            sub: owned(&registered.sub),
            exp: registered.exp?,
            iat: self.iat,
            nbf: registered.nbf,
            iss: owned(&registered.iss),
            aud: registered.aud.as_ref().map(|aud| match aud {
                Audiences::One(one) => Audience::One(String::from(&**one)),
                Audiences::Many(many) => {
                    Audience::Many(many.iter().map(|a| String::from(&**a)).collect())
                }
            }),
            jti: owned(&registered.jti),
            scope: self.scope.map(Scope::new),
            sid: self.sid.map(String::from),
            client_id: self.client_id.map(String::from),
        })
    }
}

/// Reads `json` into `claims` if it is in the flat form; `None` sends it to the serde
/// path (and leaves `claims` partly filled). Written in place: the struct is large and
/// returning it cost a copy per request.
#[cfg(test)]
pub(crate) fn scan<'a>(json: &'a str, claims: &mut FlatClaims<'a>) -> Option<()> {
    scan_with(json, claims, None, &mut ())
}

/// The most members a payload may have for [`Members`] to record it; one with more
/// takes the serde path.
pub(crate) const MAX_MEMBERS: usize = 48;

/// Nested values deeper than this take the serde path (well inside serde_json's own
/// recursion limit, so reading a nested value on its own never meets that limit).
pub(super) const MAX_DEPTH: u8 = 16;

/// What a recorded member's value is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool,
    /// A non-negative integer of at most 18 digits, no leading zero.
    Int,
    /// Any other number (sign, fraction, exponent, more digits), valid JSON.
    Number,
    /// A string without escapes.
    Str,
    /// A string with (valid) escapes.
    EscapedStr,
    /// An array of strings without escapes.
    StrArray,
    /// Any other array, or an object: valid JSON, at most [`MAX_DEPTH`] deep.
    Nested,
}

/// One top-level member: its name (between the quotes) and its value (the whole JSON
/// text, quotes included), borrowed from the payload.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Member<'a> {
    pub(crate) key: &'a str,
    pub(crate) value: &'a str,
    pub(crate) kind: Kind,
}

/// Every top-level member of a payload, in order, for reading it into a claims type of
/// the application's own without parsing it again ([`super::scanned`]).
#[derive(Debug)]
pub(crate) struct Members<'a> {
    // Inline and left uninitialized until pushed (zeroing 48 members cost more than
    // reading a whole payload).
    list: SmallVec<[Member<'a>; MAX_MEMBERS]>,
}

impl<'a> Members<'a> {
    pub(crate) fn new() -> Self {
        Self {
            list: SmallVec::new(),
        }
    }

    pub(crate) fn as_slice(&self) -> &[Member<'a>] {
        &self.list
    }
}

/// What the scan keeps of each member besides the claims it reads: nothing (`()`, for
/// the default [`Claims`]), or every member ([`Members`]).
pub(crate) trait Record<'a> {
    /// `true` if members are recorded; then any valid JSON value is read (within
    /// bounds), not only the flat ones.
    const ON: bool;
    /// Keeps the member whose name and value are at these byte ranges of `text`;
    /// `None` when full.
    fn push(
        &mut self,
        text: &'a str,
        key: (usize, usize),
        value: (usize, usize),
        kind: Kind,
    ) -> Option<()>;
}

impl Record<'_> for () {
    const ON: bool = false;
    #[inline(always)]
    fn push(&mut self, _: &str, _: (usize, usize), _: (usize, usize), _: Kind) -> Option<()> {
        Some(())
    }
}

impl<'a> Record<'a> for Members<'a> {
    const ON: bool = true;
    #[inline]
    fn push(
        &mut self,
        text: &'a str,
        key: (usize, usize),
        value: (usize, usize),
        kind: Kind,
    ) -> Option<()> {
        if self.list.len() == MAX_MEMBERS {
            return None;
        }
        self.list.push(Member {
            key: text.get(key.0..key.1)?,
            value: text.get(value.0..value.1)?,
            kind,
        });
        Some(())
    }
}

/// [`scan`], with the scope claim read from the member `scope_name` when given
/// (`"scope"` is then a member like any other), and each member handed to `record`.
/// With [`Members`], a member the validator does not read may hold any JSON value
/// (nested, escaped, fractional), checked as serde_json would check it.
pub(crate) fn scan_with<'a, R: Record<'a>>(
    json: &'a str,
    claims: &mut FlatClaims<'a>,
    scope_name: Option<&str>,
    record: &mut R,
) -> Option<()> {
    let mut reader = Reader {
        text: json,
        bytes: json.as_bytes(),
        at: 0,
    };
    let mut seen = 0u16;
    reader.skip_ws();
    reader.expect(b'{')?;
    reader.skip_ws();
    if reader.peek() == Some(b'}') {
        reader.at += 1;
    } else {
        loop {
            let key_start = reader.at + 1;
            let bit = member_bit(&mut reader, scope_name)?;
            let key_end = reader.at - 1;
            reader.skip_ws();
            reader.expect(b':')?;
            reader.skip_ws();
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            let value_start = reader.at;
            let kind = read_value::<R>(&mut reader, claims, bit)?;
            record.push(json, (key_start, key_end), (value_start, reader.at), kind)?;
            reader.skip_ws();
            match reader.next()? {
                b',' => reader.skip_ws(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    reader.skip_ws();
    (reader.at == reader.bytes.len()).then_some(())
}

/// The member's bit in the registered-claims set (0 for any other member), reading its
/// name. A registered name is always written plainly (no escapes take this path), so
/// any other name is one the validator does not read.
#[inline(always)]
fn member_bit(reader: &mut Reader<'_>, scope_name: Option<&str>) -> Option<u16> {
    Some(match reader.registered_name() {
        Some(128) if scope_name.is_some() => 0,
        Some(bit) => bit,
        None => {
            let name = reader.string()?;
            if scope_name == Some(name) {
                128
            } else {
                0
            }
        }
    })
}

/// Reads the value of the member `bit` names into `claims`; any other member's value
/// is checked (and kept by `R` when it records).
#[inline(always)]
fn read_value<'a, R: Record<'a>>(
    reader: &mut Reader<'a>,
    claims: &mut FlatClaims<'a>,
    bit: u16,
) -> Option<Kind> {
    Some(match bit {
        1 => {
            claims.registered.exp = Some(reader.date()?);
            Kind::Int
        }
        2 => {
            claims.registered.nbf = Some(reader.date()?);
            Kind::Int
        }
        4 => {
            claims.iat = Some(reader.date()?);
            Kind::Int
        }
        8 => {
            claims.registered.iss = Some(borrowed(reader.string()?));
            Kind::Str
        }
        16 => {
            let aud = reader.audiences()?;
            let kind = match aud {
                Audiences::One(_) => Kind::Str,
                Audiences::Many(_) => Kind::StrArray,
            };
            claims.registered.aud = Some(aud);
            kind
        }
        32 => {
            claims.registered.sub = Some(borrowed(reader.string()?));
            Kind::Str
        }
        64 => {
            claims.registered.jti = Some(borrowed(reader.string()?));
            Kind::Str
        }
        128 => {
            claims.scope = Some(reader.string()?);
            Kind::Str
        }
        256 => {
            claims.sid = Some(reader.string()?);
            Kind::Str
        }
        512 => {
            claims.client_id = Some(reader.string()?);
            Kind::Str
        }
        _ if R::ON => reader.any_value()?,
        _ => {
            reader.skip_scalar_or_strings()?;
            Kind::Null
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::reader::{digit_run, first_stop, STOP};
    use super::*;

    fn flat(json: &str) -> Option<FlatClaims<'_>> {
        let mut claims = FlatClaims::default();
        scan(json, &mut claims).map(|()| claims)
    }

    fn read(json: &str) -> Option<Claims> {
        flat(json)?.to_claims()
    }

    #[test]
    fn digit_run_stops_at_the_first_other_byte() {
        for len in 0..20 {
            for other in (0..=255u8).filter(|b| !b.is_ascii_digit()) {
                let mut bytes = vec![b'7'; len];
                assert_eq!(digit_run(&bytes), len);
                bytes.push(other);
                bytes.extend_from_slice(b"123456789");
                assert_eq!(digit_run(&bytes), len, "{len} digits then {other:#x}");
            }
        }
        // Every digit, at every place in a word.
        let all: Vec<u8> = (0..24).map(|i| b'0' + (i % 10) as u8).collect();
        assert_eq!(digit_run(&all), 24);
    }

    #[test]
    fn reads_the_usual_payload() {
        let claims = read(
            r#"{"sub":"alice","exp":2000000000,"iat":1999999000,"iss":"https://i","aud":["api","x"],"jti":"j1","scope":"read write","name":"Alice","admin":true,"n":-3,"tags":["a"],"z":null}"#,
        )
        .unwrap();
        assert_eq!(claims.sub.as_deref(), Some("alice"));
        assert_eq!(claims.exp, 2_000_000_000);
        assert_eq!(claims.iat, Some(1_999_999_000));
        assert_eq!(claims.iss.as_deref(), Some("https://i"));
        assert_eq!(
            claims.aud,
            Some(Audience::Many(vec!["api".into(), "x".into()]))
        );
        assert_eq!(claims.jti.as_deref(), Some("j1"));
        assert_eq!(claims.scope.as_ref().map(Scope::as_str), Some("read write"));
    }

    #[test]
    fn leaves_the_rest_to_serde() {
        for json in [
            r#"{"exp":1.5}"#,
            r#"{"exp":1e9}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":01}"#,
            r#"{"exp":"1"}"#,
            r#"{"exp":1234567890123456789}"#,
            r#"{"exp":1,"exp":2}"#,
            r#"{"sub":"a\"b","exp":1}"#,
            r#"{"\u0065xp":1}"#,
            r#"{"exp":1,"scope":["a"]}"#,
            r#"{"exp":1,"x":{"y":1}}"#,
            r#"{"exp":1,"x":[1]}"#,
            r#"{"exp":1,"x":-}"#,
            r#"{"exp":1,"x":tru}"#,
            r#"{"exp":1,}"#,
            r#"{"exp":1} x"#,
            "{\"sub\":\"a\tb\",\"exp\":1}",
            r#"{"exp":1"#,
            r#"["exp",1]"#,
            "",
        ] {
            assert!(flat(json).is_none(), "{json}");
        }
    }

    #[test]
    fn finds_the_first_stop_byte_anywhere() {
        let naive = |bytes: &[u8]| bytes.iter().position(|&b| STOP[usize::from(b)]);
        let fillers: [&[u8]; 3] = [b"a", "é".as_bytes(), b"\x7f"];
        for filler in fillers {
            for len in 0..40 {
                let base: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
                assert_eq!(first_stop(&base), naive(&base));
                for at in 0..len {
                    for stop in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                        let mut bytes = base.clone();
                        bytes[at] = stop;
                        // A second stop later must not matter.
                        bytes.push(b'"');
                        assert_eq!(first_stop(&bytes), naive(&bytes), "{bytes:?}");
                    }
                }
            }
        }
        for b in 0..=255u8 {
            let bytes = [b'x', b'x', b'x', b, b'x', b'x', b'x', b'x', b'x'];
            assert_eq!(first_stop(&bytes), naive(&bytes), "{b}");
        }
    }

    #[test]
    fn accepts_json_whitespace_only() {
        assert!(flat(" \t\r\n{ \"exp\" : 1 , \"aud\" : [ \"a\" , \"b\" ] }\n").is_some());
        assert!(flat("{\u{a0}\"exp\":1}").is_none());
        assert!(flat("{}").is_some_and(|c| c.registered.exp.is_none()));
    }

    mod agrees_with_serde {
        use proptest::prelude::*;

        use super::flat;
        use crate::claims::Claims;
        use crate::validate::jwt::registered::{Audiences, Registered};

        /// Values the fast path reads.
        fn flat_value() -> impl Strategy<Value = String> {
            let plain = "[a-zé /:.]{0,8}";
            prop_oneof![
                (0u64..3_000_000_000).prop_map(|n| n.to_string()),
                plain.prop_map(|s| format!("\"{s}\"")),
                proptest::collection::vec(plain, 0..3).prop_map(|v| {
                    let quoted: Vec<_> = v.iter().map(|s| format!("\"{s}\"")).collect();
                    format!("[{}]", quoted.join(", "))
                }),
                Just("true".to_owned()),
                Just("null".to_owned()),
                Just("-7".to_owned()),
            ]
        }

        /// Values it should leave to serde, valid JSON or not.
        fn odd_value() -> impl Strategy<Value = String> {
            let text = r#"[a-z \\"é\t/\\u0041-]{0,6}"#;
            prop_oneof![
                any::<i64>().prop_map(|n| n.to_string()),
                any::<u64>().prop_map(|n| n.to_string()),
                "-?0[0-9]{1,3}",
                "-?[0-9]{1,3}\\.[0-9]{0,2}",
                "[0-9]e[0-9]",
                text.prop_map(|s| format!("\"{s}\"")),
                proptest::collection::vec(text, 0..3).prop_map(|v| {
                    let quoted: Vec<_> = v.iter().map(|s| format!("\"{s}\"")).collect();
                    format!("[{}]", quoted.join(","))
                }),
                Just("[1]".to_owned()),
                Just("[\"a\",]".to_owned()),
                Just("{\"a\":1}".to_owned()),
                Just("fals".to_owned()),
                Just("-".to_owned()),
                Just("".to_owned()),
            ]
        }

        const KEYS: [&str; 10] = [
            "exp",
            "nbf",
            "iat",
            "iss",
            "aud",
            "sub",
            "jti",
            "scope",
            "name",
            "\\u0065xp",
        ];

        fn member(key: &str, value: &str, ws: &str) -> String {
            format!("\"{key}\"{ws}:{ws}{value}")
        }

        /// Flat members under distinct keys; sometimes one odd member or a duplicate key
        /// among them, sometimes a bad end.
        fn payload() -> impl Strategy<Value = String> {
            let keys = proptest::sample::subsequence(KEYS.to_vec(), 0..=KEYS.len()).prop_shuffle();
            let members = keys.prop_flat_map(|keys| {
                let n = keys.len();
                (Just(keys), proptest::collection::vec(flat_value(), n))
            });
            let extra = proptest::option::weighted(
                0.5,
                (
                    proptest::sample::select(KEYS.to_vec()),
                    prop_oneof![odd_value(), flat_value()],
                    any::<prop::sample::Index>(),
                ),
            );
            let tail = prop_oneof![8 => Just(""), 1 => Just(" "), 1 => Just(","), 1 => Just("}"), 1 => Just("x")];
            (members, extra, "[ \t\n]{0,1}", tail).prop_map(|((keys, values), extra, ws, tail)| {
                let mut members: Vec<String> = keys
                    .iter()
                    .zip(&values)
                    .map(|(k, v)| member(k, v, &ws))
                    .collect();
                if let Some((key, value, at)) = extra {
                    let at = at.index(members.len() + 1);
                    members.insert(at, member(key, &value, &ws));
                }
                format!("{{{}}}{tail}", members.join(","))
            })
        }

        fn same_audiences(a: &Option<Audiences<'_>>, b: &Option<Audiences<'_>>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(Audiences::One(a)), Some(Audiences::One(b))) => a == b,
                (Some(Audiences::Many(a)), Some(Audiences::Many(b))) => a == b,
                _ => false,
            }
        }

        proptest! {
            // Cheap (well under a second in release), and odd members are rare in the
            // generated payloads: run many.
            #![proptest_config(ProptestConfig::with_cases(8192))]

            /// Whenever the fast path reads a payload, the serde path reads it too and
            /// finds the same registered claims and the same `Claims`.
            #[test]
            fn fast_path_matches_serde(json in payload()) {
                if let Some(flat) = flat(&json) {
                    let serde = Registered::parse(json.as_bytes());
                    prop_assert!(serde.is_ok(), "serde refused what the fast path read: {json}");
                    let serde = serde.unwrap();
                    let fast = &flat.registered;
                    prop_assert_eq!(fast.exp, serde.exp);
                    prop_assert_eq!(fast.nbf, serde.nbf);
                    prop_assert_eq!(&fast.iss, &serde.iss);
                    prop_assert_eq!(&fast.sub, &serde.sub);
                    prop_assert_eq!(&fast.jti, &serde.jti);
                    prop_assert!(same_audiences(&fast.aud, &serde.aud), "{json}");
                    prop_assert_eq!(fast.scope_is_array, serde.scope_is_array);
                    let claims = serde_json::from_str::<Claims>(&json).ok();
                    prop_assert_eq!(flat.to_claims(), claims, "{}", json);
                }
            }
        }
    }
}
