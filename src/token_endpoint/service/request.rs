//! Reading a token request: the body (bounded in size and time), HTTP Basic client
//! credentials (RFC 6749 §2.3.1), the requested scope.

use super::*;

/// The client id a request names (Basic or `client_id`), or `""` for none; used to
/// bind refresh tokens to the client they were issued to.
pub(crate) fn client_identity(headers: &HeaderMap, form: &TokenForm) -> String {
    match headers
        .get(AUTHORIZATION)
        .map(|v| parse_basic(v.as_bytes()))
    {
        Some(Basic::Credentials(id, _)) => id,
        _ => form.client_id.clone().unwrap_or_default(),
    }
}

/// The client credentials a request presents (RFC 6749 §2.3.1): HTTP Basic or
/// `client_id` / `client_secret` in the body, never both.
pub(crate) struct Presented {
    pub(crate) id: String,
    /// `None` when the body names a client without a secret (a public client).
    pub(crate) secret: Option<String>,
    /// HTTP Basic carried them (a refusal then answers `WWW-Authenticate: Basic`).
    pub(crate) basic: bool,
}

impl Presented {
    /// `invalid_client`, with the Basic challenge when Basic was used.
    pub(crate) fn refused(&self) -> TokenError {
        TokenError::InvalidClient { basic: self.basic }
    }
}

/// The client credentials of a request: one `Authorization` header at most, Basic and
/// body credentials not mixed; `invalid_client` for a malformed Basic header or when
/// no client id is given.
pub(crate) fn presented_client(
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<Presented, TokenError> {
    let authorization = single_authorization(headers)?;
    match authorization.map(|v| parse_basic(v.as_bytes())) {
        Some(Basic::Credentials(id, secret)) => {
            if form.client_secret.is_some()
                || form
                    .client_id
                    .as_ref()
                    .is_some_and(|body_id| *body_id != id)
            {
                return Err(TokenError::MultipleClientAuthentication);
            }
            Ok(Presented {
                id,
                secret: Some(secret),
                basic: true,
            })
        }
        Some(Basic::Malformed) => Err(TokenError::InvalidClient { basic: true }),
        Some(Basic::OtherScheme) | None => match &form.client_id {
            Some(id) => Ok(Presented {
                id: id.clone(),
                secret: form.client_secret.clone(),
                basic: false,
            }),
            None => Err(TokenError::InvalidClient { basic: false }),
        },
    }
}

/// The request's `Authorization` header, if any; two are `invalid_request`.
pub(crate) fn single_authorization(
    headers: &HeaderMap,
) -> Result<Option<&http::HeaderValue>, TokenError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let authorization = values.next();
    if values.next().is_some() {
        return Err(TokenError::DuplicateAuthorizationHeader);
    }
    Ok(authorization)
}

/// The `application/x-www-form-urlencoded` body of a request to the introspection or
/// revocation endpoint (one `Content-Type`, bounded in size and time).
pub(crate) async fn read_urlencoded_form<B>(
    headers: &HeaderMap,
    body: B,
) -> Result<TokenForm, TokenError>
where
    B: Body + Send,
    B::Data: Send,
{
    if declared_length(headers).is_some_and(|len| len > DEFAULT_MAX_BODY as u64) {
        return Err(TokenError::PayloadTooLarge);
    }
    let mut content_types = headers.get_all(CONTENT_TYPE).iter();
    let content_type = content_types.next().map(|v| v.as_bytes());
    if content_types.next().is_some() {
        return Err(TokenError::UnsupportedMediaType);
    }
    let form::Encoding::UrlEncoded = form::encoding(content_type)? else {
        return Err(TokenError::UnsupportedMediaType);
    };
    let bytes = read_body(body, DEFAULT_MAX_BODY, DEFAULT_BODY_TIMEOUT).await?;
    form::parse_urlencoded(&bytes)
}

/// The client the request authenticates as (HTTP Basic or form credentials, RFC 6749
/// §2.3.1) against `clients`: `invalid_client` for wrong or missing credentials,
/// `temporarily_unavailable` when the store fails. Every grant and endpoint that checks
/// a [`ClientStore`] goes through here.
pub(crate) async fn authenticated_client(
    clients: &dyn ClientStore,
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<Client, TokenError> {
    let presented = presented_client(headers, form)?;
    let Some(secret) = &presented.secret else {
        return Err(presented.refused());
    };
    clients
        .authenticate(&presented.id, secret)
        .await
        .map_err(|_| TokenError::TemporarilyUnavailable)?
        .ok_or_else(|| presented.refused())
}

/// Splits a requested `scope` into distinct scope-tokens (RFC 6749 §3.3).
pub(super) fn parse_scope(scope: &str) -> Result<Vec<&str>, TokenError> {
    let mut scopes: Vec<&str> = Vec::new();
    for token in scope.split(' ').filter(|s| !s.is_empty()) {
        if !is_scope_token(token) {
            return Err(TokenError::InvalidScope);
        }
        if !scopes.contains(&token) {
            scopes.push(token);
        }
    }
    Ok(scopes)
}

pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Reads the body, bounded in size and in time (a stalled client gets `408`).
pub(crate) async fn read_body<B>(
    body: B,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, TokenError>
where
    B: Body + Send,
    B::Data: Send,
{
    tokio::time::timeout(timeout, read_bounded(body, limit))
        .await
        .unwrap_or(Err(TokenError::RequestTimeout))
}

/// Reads the body, refusing it as soon as it passes `limit` (chunked bodies too).
pub(super) async fn read_bounded<B>(body: B, limit: usize) -> Result<Bytes, TokenError>
where
    B: Body + Send,
    B::Data: Send,
{
    let mut body = std::pin::pin!(body);
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.as_mut().frame().await {
        let frame = frame.map_err(|_| TokenError::MalformedBody)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len().saturating_add(data.remaining()) > limit {
                return Err(TokenError::PayloadTooLarge);
            }
            buffer.put(data);
        }
    }
    Ok(buffer.freeze())
}

pub(super) enum Basic {
    Credentials(String, String),
    Malformed,
    OtherScheme,
}

/// Parses `Authorization: Basic` client credentials: id and secret are each
/// form-urlencoded before joining with `:` (RFC 6749 §2.3.1).
pub(super) fn parse_basic(value: &[u8]) -> Basic {
    let Ok(value) = std::str::from_utf8(value) else {
        return Basic::OtherScheme;
    };
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Basic::OtherScheme;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::OtherScheme;
    }
    let Ok(decoded) = STANDARD.decode(rest.trim()) else {
        return Basic::Malformed;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return Basic::Malformed;
    };
    match decoded.split_once(':') {
        Some((id, secret)) => match (form_decode(id), form_decode(secret)) {
            (Some(id), Some(secret)) => Basic::Credentials(id, secret),
            _ => Basic::Malformed,
        },
        None => Basic::Malformed,
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
pub(super) fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}
