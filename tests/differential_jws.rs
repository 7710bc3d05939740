//! Differential test: our JWS verification ([`JwtValidator`]) against
//! `jsonwebtoken::decode` on generated tokens (valid, tampered header / payload /
//! signature, every claim rule: `exp`, `nbf`, `iss`, `aud`, `alg`, missing `exp`,
//! wrong types), HS256 and ES256.
//!
//! jsonwebtoken is configured as close to our defaults as it goes: the same key and
//! algorithm, 60 s leeway, `nbf` checked, `exp` required, and `iss` / `aud` required
//! once configured. Wherever both define the answer, both must accept or both refuse.
//! The deliberate differences are listed in [`Stricter`] (we refuse, jsonwebtoken may
//! accept) and [`Lenient`] (we read a value jsonwebtoken refuses), and asserted as such:
//! a stricter case must be refused by us; a lenient case must be refused by
//! jsonwebtoken and answered by us exactly as both answer the same token with that
//! member made neutral.
//!
//! Times are generated at least 30 s away from every boundary (`exp` = now − leeway,
//! `nbf` = now + leeway): the two libraries read the clock separately, and at the exact
//! second we (RFC 7519 §4.1.4: "the current time MUST be before exp") refuse where
//! jsonwebtoken still accepts.
//!
//! `PROPTEST_CASES` sets the number of cases (256 in `scripts/test.sh`).

mod common;

use std::sync::LazyLock;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use proptest::prelude::*;
use serde_json::Value;
use tower_bearer::JwtValidator;

use common::{b64, install_crypto_provider, key_file, now, SECRET};

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "api";

/// Deliberate differences where we refuse and jsonwebtoken may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stricter {
    /// A `crit` header parameter (RFC 7515 §4.1.11: extensions we do not implement
    /// MUST make the token invalid); jsonwebtoken ignores `crit`.
    Crit,
    /// `iss` that is not a string (RFC 7519 §4.1.1: a StringOrURI); jsonwebtoken also
    /// takes an array of issuers, and ignores a wrongly typed `iss` when no issuer is
    /// configured.
    IssType,
    /// `aud` that is neither a string nor an array of strings, with no audience
    /// configured; jsonwebtoken then ignores it.
    AudType,
    /// `iat`, `sub`, `jti` or `scope` of the wrong JSON type: we enforce the registered
    /// claims' types whether or not we check their values; jsonwebtoken does not read
    /// them.
    ClaimType,
    /// `scope` as an array of strings, refused unless `allow_scope_array()` is set
    /// (RFC 8693 §4.2 / RFC 9068 define a space-separated string).
    ScopeArray,
}

/// Deliberate differences where we read a value jsonwebtoken refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lenient {
    /// A negative `nbf` (a NumericDate before 1970, RFC 7519 §2 allows it): in the
    /// past, so no restriction; jsonwebtoken reads dates as `u64` and refuses it.
    NegativeNbf,
    /// `exp` beyond `u64::MAX` (1e20): saturated, so far in the future; jsonwebtoken
    /// refuses it.
    HugeExp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Hs256,
    Es256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderKind {
    Plain,
    NoTyp,
    WithKid,
    UnknownMember,
    /// `jku` naming another key set: ignored by both (never fetched).
    Jku,
    Crit,
    AlgNone,
    AlgOtherHmac,
    AlgRs256,
    AlgLowercase,
    NoAlg,
    NotObject,
    /// For ES256 keys: `alg: HS256`, HMAC-signed with the public key's PEM text.
    Confusion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exp {
    Absent,
    Int(i64),
    Float(i64),
    Text,
    Null,
    Negative,
    Huge,
    Duplicate(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nbf {
    Absent,
    Int(i64),
    Text,
    Negative,
    NegativeFloat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Iss {
    Absent,
    Right,
    Wrong,
    ArrayWithRight,
    Number,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aud {
    Absent,
    Right,
    Wrong,
    ArrayWithRight,
    ArrayWrong,
    EmptyArray,
    Number,
    ArrayOfNumbers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Other {
    /// `iat`, `sub`, `jti`, `scope` all well typed.
    WellTyped,
    IatText,
    SubNumber,
    JtiObject,
    ScopeNumber,
    ScopeArray,
    /// An application claim of any type: not ours to judge.
    CustomArray,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    None,
    Header(usize, char),
    Payload(usize, char),
    Signature(usize, char),
    DropSignature,
    ExtraSegment,
}

#[derive(Debug, Clone, Copy)]
struct Case {
    key: KeyKind,
    issuer_configured: bool,
    audience_configured: bool,
    header: HeaderKind,
    exp: Exp,
    nbf: Nbf,
    iss: Iss,
    aud: Aud,
    other: Other,
    tamper: Tamper,
}

impl Case {
    fn stricter(&self) -> Vec<Stricter> {
        let mut found = Vec::new();
        if self.header == HeaderKind::Crit {
            found.push(Stricter::Crit);
        }
        if matches!(self.iss, Iss::ArrayWithRight | Iss::Number) {
            found.push(Stricter::IssType);
        }
        if !self.audience_configured && matches!(self.aud, Aud::Number | Aud::ArrayOfNumbers) {
            found.push(Stricter::AudType);
        }
        match self.other {
            Other::IatText | Other::SubNumber | Other::JtiObject | Other::ScopeNumber => {
                found.push(Stricter::ClaimType);
            }
            Other::ScopeArray => found.push(Stricter::ScopeArray),
            Other::WellTyped | Other::CustomArray => {}
        }
        found
    }

    fn lenient(&self) -> Vec<Lenient> {
        let mut found = Vec::new();
        if matches!(self.nbf, Nbf::Negative | Nbf::NegativeFloat) {
            found.push(Lenient::NegativeNbf);
        }
        if self.exp == Exp::Huge {
            found.push(Lenient::HugeExp);
        }
        found
    }

    /// The same case with the lenient members made neutral: no `nbf`, a far `exp`.
    fn neutralized(&self) -> Self {
        let mut case = *self;
        if matches!(case.nbf, Nbf::Negative | Nbf::NegativeFloat) {
            case.nbf = Nbf::Absent;
        }
        if case.exp == Exp::Huge {
            case.exp = Exp::Int(10 * 365 * 86_400);
        }
        case
    }

    fn header_json(&self) -> String {
        let alg = match self.key {
            KeyKind::Hs256 => "HS256",
            KeyKind::Es256 => "ES256",
        };
        match self.header {
            HeaderKind::Plain => format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
            HeaderKind::NoTyp => format!(r#"{{"alg":"{alg}"}}"#),
            HeaderKind::WithKid => format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"k1"}}"#),
            HeaderKind::UnknownMember => format!(r#"{{"alg":"{alg}","x-extra":[1,{{}}]}}"#),
            HeaderKind::Jku => format!(r#"{{"alg":"{alg}","jku":"http://127.0.0.1:1/jwks"}}"#),
            HeaderKind::Crit => format!(r#"{{"alg":"{alg}","crit":["exp"]}}"#),
            HeaderKind::AlgNone => r#"{"alg":"none","typ":"JWT"}"#.to_owned(),
            HeaderKind::AlgOtherHmac => r#"{"alg":"HS384","typ":"JWT"}"#.to_owned(),
            HeaderKind::AlgRs256 => r#"{"alg":"RS256","typ":"JWT"}"#.to_owned(),
            HeaderKind::AlgLowercase => format!(r#"{{"alg":"{}"}}"#, alg.to_lowercase()),
            HeaderKind::NoAlg => r#"{"typ":"JWT"}"#.to_owned(),
            HeaderKind::NotObject => format!(r#"["alg","{alg}"]"#),
            HeaderKind::Confusion => r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
        }
    }

    fn payload_json(&self, now: i64) -> String {
        let mut members: Vec<String> = Vec::new();
        match self.exp {
            Exp::Absent => {}
            Exp::Int(offset) => members.push(format!(r#""exp":{}"#, now + offset)),
            Exp::Float(offset) => members.push(format!(r#""exp":{}.5"#, now + offset)),
            Exp::Text => members.push(format!(r#""exp":"{}""#, now + 3600)),
            Exp::Null => members.push(r#""exp":null"#.to_owned()),
            Exp::Negative => members.push(r#""exp":-5"#.to_owned()),
            Exp::Huge => members.push(r#""exp":1e20"#.to_owned()),
            Exp::Duplicate(offset) => {
                members.push(format!(r#""exp":{}"#, now + offset));
                members.push(format!(r#""exp":{}"#, now + 3600));
            }
        }
        match self.nbf {
            Nbf::Absent => {}
            Nbf::Int(offset) => members.push(format!(r#""nbf":{}"#, now + offset)),
            Nbf::Text => members.push(format!(r#""nbf":"{}""#, now - 10)),
            Nbf::Negative => members.push(r#""nbf":-100"#.to_owned()),
            Nbf::NegativeFloat => members.push(r#""nbf":-1.5"#.to_owned()),
        }
        match self.iss {
            Iss::Absent => {}
            Iss::Right => members.push(format!(r#""iss":"{ISSUER}""#)),
            Iss::Wrong => members.push(r#""iss":"https://evil.example""#.to_owned()),
            Iss::ArrayWithRight => members.push(format!(r#""iss":["{ISSUER}"]"#)),
            Iss::Number => members.push(r#""iss":7"#.to_owned()),
        }
        match self.aud {
            Aud::Absent => {}
            Aud::Right => members.push(format!(r#""aud":"{AUDIENCE}""#)),
            Aud::Wrong => members.push(r#""aud":"other-api""#.to_owned()),
            Aud::ArrayWithRight => members.push(format!(r#""aud":["other-api","{AUDIENCE}"]"#)),
            Aud::ArrayWrong => members.push(r#""aud":["other-api","third"]"#.to_owned()),
            Aud::EmptyArray => members.push(r#""aud":[]"#.to_owned()),
            Aud::Number => members.push(r#""aud":1"#.to_owned()),
            Aud::ArrayOfNumbers => members.push(r#""aud":[1,2]"#.to_owned()),
        }
        let (iat, sub, jti, scope) = (
            format!("{}", now - 5),
            r#""alice""#.to_owned(),
            r#""id-1""#.to_owned(),
            r#""read write""#.to_owned(),
        );
        let (iat, sub, jti, scope) = match self.other {
            Other::WellTyped | Other::CustomArray => (iat, sub, jti, scope),
            Other::IatText => (r#""yesterday""#.to_owned(), sub, jti, scope),
            Other::SubNumber => (iat, "42".to_owned(), jti, scope),
            Other::JtiObject => (iat, sub, r#"{"id":1}"#.to_owned(), scope),
            Other::ScopeNumber => (iat, sub, jti, "3".to_owned()),
            Other::ScopeArray => (iat, sub, jti, r#"["read","write"]"#.to_owned()),
        };
        members.push(format!(r#""iat":{iat}"#));
        members.push(format!(r#""sub":{sub}"#));
        members.push(format!(r#""jti":{jti}"#));
        members.push(format!(r#""scope":{scope}"#));
        if self.other == Other::CustomArray {
            members.push(r#""roles":["admin",{"nested":null}]"#.to_owned());
        }
        format!("{{{}}}", members.join(","))
    }

    fn token(&self, now: i64) -> String {
        let signing_input = format!(
            "{}.{}",
            b64(self.header_json().as_bytes()),
            b64(self.payload_json(now).as_bytes())
        );
        let signature = match (self.key, self.header) {
            (KeyKind::Es256, HeaderKind::Confusion) => hmac_sha256(&EC_PUBLIC_PEM, &signing_input),
            (KeyKind::Hs256, _) => hmac_sha256(SECRET, &signing_input),
            (KeyKind::Es256, _) => {
                install_crypto_provider();
                jsonwebtoken::crypto::sign(signing_input.as_bytes(), &EC_SIGNING, Algorithm::ES256)
                    .unwrap()
            }
        };
        let token = format!("{signing_input}.{signature}");
        tamper(&token, self.tamper)
    }
}

static EC_PUBLIC_PEM: LazyLock<Vec<u8>> = LazyLock::new(|| key_file("ec_public.pem"));
static EC_SIGNING: LazyLock<EncodingKey> =
    LazyLock::new(|| EncodingKey::from_ec_pem(&key_file("ec_private.pem")).unwrap());

fn hmac_sha256(secret: &[u8], input: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    b64(&mac.finalize().into_bytes())
}

/// Replaces the character at `index` (modulo the segment's length) of one segment.
fn tamper(token: &str, tamper: Tamper) -> String {
    let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut replace = |segment: usize, index: usize, with: char| {
        let chars: Vec<char> = segments[segment].chars().collect();
        let at = index % chars.len();
        let with = if chars[at] == with { '_' } else { with };
        let with = if chars[at] == with { 'Q' } else { with };
        segments[segment] = chars
            .iter()
            .enumerate()
            .map(|(i, c)| if i == at { with } else { *c })
            .collect();
    };
    match tamper {
        Tamper::None => {}
        Tamper::Header(index, with) => replace(0, index, with),
        Tamper::Payload(index, with) => replace(1, index, with),
        Tamper::Signature(index, with) => replace(2, index, with),
        Tamper::DropSignature => segments[2].clear(),
        Tamper::ExtraSegment => segments.push("AAAA".to_owned()),
    }
    segments.join(".")
}

/// Both verifiers for one configuration.
struct Pair {
    ours: JwtValidator<Value>,
    key: DecodingKey,
    validation: Validation,
}

impl Pair {
    fn new(key: KeyKind, issuer: bool, audience: bool) -> Self {
        let (algorithm, decoding) = match key {
            KeyKind::Hs256 => (Algorithm::HS256, DecodingKey::from_secret(SECRET)),
            KeyKind::Es256 => (
                Algorithm::ES256,
                DecodingKey::from_ec_pem(&EC_PUBLIC_PEM).unwrap(),
            ),
        };
        let mut ours = JwtValidator::<Value>::new(algorithm, &decoding).unwrap();
        let mut validation = Validation::new(algorithm);
        validation.leeway = 60;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if issuer {
            ours = ours.with_issuer(ISSUER).unwrap();
            validation.set_issuer(&[ISSUER]);
            required.push("iss");
        }
        if audience {
            ours = ours.with_audience(AUDIENCE).unwrap();
            validation.set_audience(&[AUDIENCE]);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        Self {
            ours,
            key: decoding,
            validation,
        }
    }

    /// (ours accepts, jsonwebtoken accepts)
    fn verdicts(&self, token: &str) -> (bool, bool) {
        install_crypto_provider();
        let ours = self.ours.verify(token).is_ok();
        let theirs = jsonwebtoken::decode::<Value>(token, &self.key, &self.validation).is_ok();
        (ours, theirs)
    }
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let pair = Pair::new(case.key, case.issuer_configured, case.audience_configured);
    let now = now();
    let token = case.token(now);
    let (ours, theirs) = pair.verdicts(&token);
    let stricter = case.stricter();
    let lenient = case.lenient();
    if case.tamper != Tamper::None || (stricter.is_empty() && lenient.is_empty()) {
        prop_assert_eq!(
            ours,
            theirs,
            "ours vs jsonwebtoken on {:?}: {}",
            case,
            token
        );
        if case.tamper != Tamper::None {
            prop_assert!(!ours, "a tampered token was accepted: {:?}", case);
        }
    } else if !stricter.is_empty() {
        prop_assert!(!ours, "stricter {:?}, yet accepted: {:?}", stricter, case);
    } else {
        prop_assert!(!theirs, "jsonwebtoken accepted {:?}: {:?}", lenient, case);
        let neutral = case.neutralized().token(now);
        let (ours_neutral, theirs_neutral) = pair.verdicts(&neutral);
        prop_assert_eq!(ours_neutral, theirs_neutral, "neutralized {:?}", case);
        prop_assert_eq!(
            ours,
            ours_neutral,
            "{:?} read as neutral: {:?}",
            lenient,
            case
        );
    }
    Ok(())
}

/// Offsets from now for `exp`: at least 30 s from the leeway boundary (now − 60).
fn exp_offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(-86_400i64),
        Just(-3_600),
        Just(-90),
        Just(-30),
        Just(0),
        Just(30),
        Just(3_600),
        Just(86_400 * 365),
    ]
}

/// Offsets from now for `nbf`: at least 30 s from the leeway boundary (now + 60).
fn nbf_offset() -> impl Strategy<Value = i64> {
    prop_oneof![Just(-3_600i64), Just(-10), Just(30), Just(90), Just(3_600)]
}

fn base64url_or_junk() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                .chars()
                .collect::<Vec<_>>()
        ),
        1 => prop::sample::select(vec!['+', '/', '=', '.', ' ', '!', 'é']),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let key = prop_oneof![3 => Just(KeyKind::Hs256), 1 => Just(KeyKind::Es256)];
    let header = prop_oneof![
        10 => Just(HeaderKind::Plain),
        1 => Just(HeaderKind::NoTyp),
        1 => Just(HeaderKind::WithKid),
        1 => Just(HeaderKind::UnknownMember),
        1 => Just(HeaderKind::Jku),
        1 => Just(HeaderKind::Crit),
        1 => Just(HeaderKind::AlgNone),
        1 => Just(HeaderKind::AlgOtherHmac),
        1 => Just(HeaderKind::AlgRs256),
        1 => Just(HeaderKind::AlgLowercase),
        1 => Just(HeaderKind::NoAlg),
        1 => Just(HeaderKind::NotObject),
        1 => Just(HeaderKind::Confusion),
    ];
    let exp = prop_oneof![
        8 => exp_offset().prop_map(Exp::Int),
        1 => Just(Exp::Absent),
        1 => exp_offset().prop_map(Exp::Float),
        1 => Just(Exp::Text),
        1 => Just(Exp::Null),
        1 => Just(Exp::Negative),
        1 => Just(Exp::Huge),
        1 => exp_offset().prop_map(Exp::Duplicate),
    ];
    let nbf = prop_oneof![
        4 => Just(Nbf::Absent),
        4 => nbf_offset().prop_map(Nbf::Int),
        1 => Just(Nbf::Text),
        1 => Just(Nbf::Negative),
        1 => Just(Nbf::NegativeFloat),
    ];
    let iss = prop_oneof![
        3 => Just(Iss::Right),
        2 => Just(Iss::Absent),
        1 => Just(Iss::Wrong),
        1 => Just(Iss::ArrayWithRight),
        1 => Just(Iss::Number),
    ];
    let aud = prop_oneof![
        3 => Just(Aud::Right),
        3 => Just(Aud::Absent),
        1 => Just(Aud::Wrong),
        1 => Just(Aud::ArrayWithRight),
        1 => Just(Aud::ArrayWrong),
        1 => Just(Aud::EmptyArray),
        1 => Just(Aud::Number),
        1 => Just(Aud::ArrayOfNumbers),
    ];
    let other = prop_oneof![
        8 => Just(Other::WellTyped),
        1 => Just(Other::IatText),
        1 => Just(Other::SubNumber),
        1 => Just(Other::JtiObject),
        1 => Just(Other::ScopeNumber),
        1 => Just(Other::ScopeArray),
        2 => Just(Other::CustomArray),
    ];
    let tamper = prop_oneof![
        6 => Just(Tamper::None),
        1 => (any::<usize>(), base64url_or_junk()).prop_map(|(i, c)| Tamper::Header(i, c)),
        2 => (any::<usize>(), base64url_or_junk()).prop_map(|(i, c)| Tamper::Payload(i, c)),
        2 => (any::<usize>(), base64url_or_junk()).prop_map(|(i, c)| Tamper::Signature(i, c)),
        1 => Just(Tamper::DropSignature),
        1 => Just(Tamper::ExtraSegment),
    ];
    (
        key,
        any::<bool>(),
        any::<bool>(),
        header,
        exp,
        nbf,
        iss,
        aud,
        other,
        tamper,
    )
        .prop_map(
            |(
                key,
                issuer_configured,
                audience_configured,
                header,
                exp,
                nbf,
                iss,
                aud,
                other,
                tamper,
            )| {
                Case {
                    key,
                    issuer_configured,
                    audience_configured,
                    header,
                    exp,
                    nbf,
                    iss,
                    aud,
                    other,
                    tamper,
                }
            },
        )
}

proptest! {
    #[test]
    fn same_verdict_as_jsonwebtoken_wherever_both_define_it(case in case()) {
        check(&case)?;
    }
}

/// The generator reaches both answers: a fixed valid token is accepted by both, so the
/// property above is not vacuously comparing refusals.
#[test]
fn a_valid_token_is_accepted_by_both() {
    for key in [KeyKind::Hs256, KeyKind::Es256] {
        for (issuer_configured, audience_configured) in [(false, false), (true, true)] {
            let case = Case {
                key,
                issuer_configured,
                audience_configured,
                header: HeaderKind::Plain,
                exp: Exp::Int(3_600),
                nbf: Nbf::Int(-10),
                iss: Iss::Right,
                aud: if audience_configured {
                    Aud::Right
                } else {
                    Aud::Absent
                },
                other: Other::WellTyped,
                tamper: Tamper::None,
            };
            let pair = Pair::new(key, issuer_configured, audience_configured);
            assert_eq!(pair.verdicts(&case.token(now())), (true, true), "{case:?}");
        }
    }
}

/// Each listed difference, on one token where nothing else is wrong.
#[test]
fn each_deliberate_difference_holds() {
    let valid = Case {
        key: KeyKind::Hs256,
        issuer_configured: false,
        audience_configured: false,
        header: HeaderKind::Plain,
        exp: Exp::Int(3_600),
        nbf: Nbf::Absent,
        iss: Iss::Right,
        aud: Aud::Absent,
        other: Other::WellTyped,
        tamper: Tamper::None,
    };
    let pair = Pair::new(KeyKind::Hs256, false, false);
    let stricter = [
        (
            Stricter::Crit,
            Case {
                header: HeaderKind::Crit,
                ..valid
            },
        ),
        (
            Stricter::IssType,
            Case {
                iss: Iss::ArrayWithRight,
                ..valid
            },
        ),
        (
            Stricter::IssType,
            Case {
                iss: Iss::Number,
                ..valid
            },
        ),
        (
            Stricter::AudType,
            Case {
                aud: Aud::Number,
                ..valid
            },
        ),
        (
            Stricter::ClaimType,
            Case {
                other: Other::IatText,
                ..valid
            },
        ),
        (
            Stricter::ClaimType,
            Case {
                other: Other::SubNumber,
                ..valid
            },
        ),
        (
            Stricter::ClaimType,
            Case {
                other: Other::JtiObject,
                ..valid
            },
        ),
        (
            Stricter::ClaimType,
            Case {
                other: Other::ScopeNumber,
                ..valid
            },
        ),
        (
            Stricter::ScopeArray,
            Case {
                other: Other::ScopeArray,
                ..valid
            },
        ),
    ];
    for (difference, case) in stricter {
        assert_eq!(case.stricter(), [difference]);
        assert_eq!(
            pair.verdicts(&case.token(now())),
            (false, true),
            "{difference:?}"
        );
    }
    let lenient = [
        (
            Lenient::NegativeNbf,
            Case {
                nbf: Nbf::Negative,
                ..valid
            },
        ),
        (
            Lenient::NegativeNbf,
            Case {
                nbf: Nbf::NegativeFloat,
                ..valid
            },
        ),
        (
            Lenient::HugeExp,
            Case {
                exp: Exp::Huge,
                ..valid
            },
        ),
    ];
    for (difference, case) in lenient {
        assert_eq!(case.lenient(), [difference]);
        assert_eq!(
            pair.verdicts(&case.token(now())),
            (true, false),
            "{difference:?}"
        );
    }
}
