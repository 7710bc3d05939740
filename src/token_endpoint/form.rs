//! Decoding the token request body: `application/x-www-form-urlencoded` and
//! `multipart/form-data`, as FastAPI's `OAuth2PasswordRequestForm` accepts both.
//!
//! A known parameter sent twice is `invalid_request` (RFC 6749 §3.2); a parameter with
//! an empty value counts as omitted (§3.1); unknown parameters are ignored (§3.2).

use std::convert::Infallible;

use bytes::Bytes;

use super::error::TokenError;

/// The parameters of a token request, decoded and de-duplicated.
#[derive(Default, Clone, PartialEq, Eq)]
pub(crate) struct TokenForm {
    pub(crate) grant_type: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) token_type_hint: Option<String>,
    /// Which known parameters were sent (empty or not), one bit each in
    /// [`fields_mut`](Self::fields_mut) order: a repeat is refused even when a copy is
    /// empty (RFC 6749 §3.1).
    seen: u16,
}

impl std::fmt::Debug for TokenForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenForm")
            .field("grant_type", &self.grant_type)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_type_hint", &self.token_type_hint)
            .finish()
    }
}

impl TokenForm {
    /// Every parameter the endpoint reads, by name: the one list `set` and
    /// [`decode_form`] both go through.
    fn fields_mut(&mut self) -> [(&'static str, &mut Option<String>); 9] {
        [
            ("grant_type", &mut self.grant_type),
            ("username", &mut self.username),
            ("password", &mut self.password),
            ("scope", &mut self.scope),
            ("client_id", &mut self.client_id),
            ("client_secret", &mut self.client_secret),
            ("refresh_token", &mut self.refresh_token),
            ("token", &mut self.token),
            ("token_type_hint", &mut self.token_type_hint),
        ]
    }

    /// Records one parameter. Empty values count as omitted, but a parameter sent
    /// twice is refused even if one copy is empty (RFC 6749 §3.1: a layer in front that
    /// keeps the last copy must not see another request than this one). Unknown names
    /// are ignored.
    fn set(&mut self, name: &str, value: String) -> Result<(), TokenError> {
        let Some(index) = self
            .fields_mut()
            .iter()
            .position(|(known, _)| *known == name)
        else {
            return Ok(());
        };
        let bit = 1u16 << index;
        if self.seen & bit != 0 {
            return Err(TokenError::DuplicateParameter);
        }
        self.seen |= bit;
        if !value.is_empty() {
            if let Some((_, slot)) = self.fields_mut().into_iter().nth(index) {
                *slot = Some(value);
            }
        }
        Ok(())
    }
}

/// The body encodings the endpoint accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Encoding {
    UrlEncoded,
    Multipart { boundary: String },
}

/// Matches the media type case-insensitively, ignoring parameters other than the
/// multipart boundary (`application/x-www-form-urlencoded;charset=UTF-8` is fine).
///
/// # Errors
///
/// [`TokenError::UnsupportedMediaType`] for anything else, or no content type at all.
pub(crate) fn encoding(content_type: Option<&[u8]>) -> Result<Encoding, TokenError> {
    let value = content_type
        .and_then(|v| std::str::from_utf8(v).ok())
        .ok_or(TokenError::UnsupportedMediaType)?;
    let essence = value.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(Encoding::UrlEncoded)
    } else if essence.eq_ignore_ascii_case("multipart/form-data") {
        let boundary = multer::parse_boundary(value).map_err(|_| TokenError::MalformedBody)?;
        Ok(Encoding::Multipart { boundary })
    } else {
        Err(TokenError::UnsupportedMediaType)
    }
}

/// Decodes an `application/x-www-form-urlencoded` body.
///
/// serde_urlencoded would silently keep the last of duplicate parameters, so the pairs
/// are walked here and duplicates refused. Decoding follows the WHATWG urlencoded
/// parser (`+` is a space, a `%` not followed by two hex digits stays literal), except
/// that bytes which are not UTF-8 after percent-decoding are refused instead of
/// replaced by U+FFFD: two different passwords must never decode to the same one.
pub(crate) fn parse_urlencoded(body: &[u8]) -> Result<TokenForm, TokenError> {
    let mut form = TokenForm::default();
    for pair in body.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        form.set(&decode_component(name)?, decode_component(value)?)?;
    }
    Ok(form)
}

fn decode_component(raw: &[u8]) -> Result<String, TokenError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(bytes).map_err(|_| TokenError::InvalidEncoding)
}

/// Decodes a body (already read and bounded) in its encoding.
pub(crate) async fn decode(encoding: Encoding, body: Bytes) -> Result<TokenForm, TokenError> {
    match encoding {
        Encoding::UrlEncoded => parse_urlencoded(&body),
        Encoding::Multipart { boundary } => parse_multipart(body, boundary).await,
    }
}

/// Decodes a `multipart/form-data` body (already read and bounded).
async fn parse_multipart(body: Bytes, boundary: String) -> Result<TokenForm, TokenError> {
    let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut form = TokenForm::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(TokenError::MalformedBody),
        };
        let name = field.name().unwrap_or("").to_owned();
        let value = field.bytes().await.map_err(|_| TokenError::MalformedBody)?;
        let value = String::from_utf8(value.into()).map_err(|_| TokenError::InvalidEncoding)?;
        form.set(&name, value)?;
    }
    Ok(form)
}

/// Decodes a token-endpoint body as the endpoint does (content type, urlencoded or
/// multipart, duplicates, UTF-8), returning the parameters it reads. For the fuzz
/// targets and property tests; not part of the stable API.
///
/// # Errors
///
/// The [`TokenError`] the endpoint would answer for this body.
#[doc(hidden)]
#[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
pub fn decode_form(
    content_type: Option<&[u8]>,
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, TokenError> {
    use futures_util::FutureExt as _;
    // One in-memory chunk: the future is ready on its first poll.
    let mut form = decode(encoding(content_type)?, Bytes::copy_from_slice(body))
        .now_or_never()
        .unwrap_or(Err(TokenError::MalformedBody))?;
    Ok(form
        .fields_mut()
        .into_iter()
        .filter_map(|(name, value)| value.take().map(|value| (name, value)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_duplicate_fails() {
        let err = parse_urlencoded(b"username=a&username=b").unwrap_err();
        assert_eq!(err, TokenError::DuplicateParameter);
    }

    #[test]
    fn urlencoded_decoding_follows_whatwg_but_refuses_bad_utf8() {
        let form = parse_urlencoded(b"username=a+b%20c%zz%&password=%C3%A9").unwrap();
        assert_eq!(form.username.as_deref(), Some("a b c%zz%"));
        assert_eq!(form.password.as_deref(), Some("\u{e9}"));
        for body in [
            &b"password=%C3"[..],
            b"password=%FF",
            b"pass%FFword=x",
            b"password=\xff",
        ] {
            assert_eq!(
                parse_urlencoded(body).unwrap_err(),
                TokenError::InvalidEncoding,
                "{body:?}"
            );
        }
        // The same character, written raw or encoded, is the same value.
        let encoded = parse_urlencoded(b"username=%EF%BF%BD").unwrap();
        let raw = parse_urlencoded("username=\u{fffd}".as_bytes()).unwrap();
        assert_eq!(encoded.username, raw.username);
    }

    #[test]
    fn urlencoded_repeat_with_an_empty_copy_fails() {
        for body in [
            &b"username=johndoe&username="[..],
            b"username=&username=johndoe",
            b"username&username=johndoe",
            b"scope=&scope=",
        ] {
            assert_eq!(
                parse_urlencoded(body).unwrap_err(),
                TokenError::DuplicateParameter,
                "{body:?}"
            );
        }
    }

    #[test]
    fn urlencoded_empty_value_is_omitted() {
        let form = parse_urlencoded(b"username=&password=x&scope").unwrap();
        assert_eq!(form.username, None);
        assert_eq!(form.scope, None);
        assert_eq!(form.password.as_deref(), Some("x"));
    }

    #[test]
    fn content_type_charset_case_insensitive_ok() {
        let ct = b"Application/X-WWW-Form-URLEncoded ; charset=UTF-8";
        assert_eq!(encoding(Some(ct)).unwrap(), Encoding::UrlEncoded);
        assert_eq!(
            encoding(Some(b"application/json")).unwrap_err(),
            TokenError::UnsupportedMediaType
        );
        assert_eq!(
            encoding(None).unwrap_err(),
            TokenError::UnsupportedMediaType
        );
    }
}
