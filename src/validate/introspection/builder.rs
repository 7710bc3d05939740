//! [`IntrospectionValidatorBuilder`]: the endpoint, the client's credentials, and the
//! cache and claim settings of an [`IntrospectionValidator`].

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{HeaderValue, Uri};
use serde::de::DeserializeOwned;

use super::cache::Cache;
use super::client::DefaultClient;
use super::{
    Inner, IntrospectionClient, IntrospectionValidator, DEFAULT_INTROSPECTION_CACHE_ENTRIES,
    DEFAULT_INTROSPECTION_TIMEOUT, DEFAULT_INTROSPECTION_TTL, DEFAULT_MAX_INTROSPECTION_RESPONSE,
    DEFAULT_MAX_OPAQUE_TOKEN_LEN,
};
use crate::error::ConfigError;

/// Builds an [`IntrospectionValidator`].
#[must_use]
pub struct IntrospectionValidatorBuilder<C, H> {
    client: H,
    endpoint: Uri,
    authorization: HeaderValue,
    ttl: Duration,
    inactive_ttl: Option<Duration>,
    timeout: Duration,
    max_entries: usize,
    max_response: usize,
    max_token_len: usize,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Duration,
    claims: PhantomData<fn() -> C>,
}

impl<C, H> fmt::Debug for IntrospectionValidatorBuilder<C, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionValidatorBuilder")
            .field("endpoint", &self.endpoint)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// RFC 6749 §2.3.1: id and secret form-encoded, joined by `:`, base64.
pub(super) fn basic_authorization(
    client_id: &str,
    secret: &str,
) -> Result<HeaderValue, ConfigError> {
    if client_id.is_empty() {
        return Err(ConfigError::InvalidString("client_id"));
    }
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(secret));
    let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials)))
        .map_err(|_| ConfigError::InvalidSecret("client credentials"))?;
    value.set_sensitive(true);
    Ok(value)
}

impl<C> IntrospectionValidator<C, DefaultClient> {
    /// A validator asking `endpoint` (absolute `http(s)` URL) over `client`,
    /// authenticating as `client_id` / `client_secret`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] for an unusable URL or client id.
    pub fn builder<H: IntrospectionClient>(
        client: H,
        endpoint: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<IntrospectionValidatorBuilder<C, H>, ConfigError> {
        let uri: Uri = endpoint
            .parse()
            .map_err(|_| ConfigError::InvalidUrl("introspection endpoint"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(ConfigError::InvalidUrl("introspection endpoint"));
        }
        Ok(IntrospectionValidatorBuilder {
            client,
            endpoint: uri,
            authorization: basic_authorization(client_id, client_secret)?,
            ttl: DEFAULT_INTROSPECTION_TTL,
            inactive_ttl: None,
            timeout: DEFAULT_INTROSPECTION_TIMEOUT,
            max_entries: DEFAULT_INTROSPECTION_CACHE_ENTRIES,
            max_response: DEFAULT_MAX_INTROSPECTION_RESPONSE,
            max_token_len: DEFAULT_MAX_OPAQUE_TOKEN_LEN,
            issuer: None,
            audience: None,
            leeway: crate::validate::DEFAULT_LEEWAY,
            claims: PhantomData,
        })
    }
}

impl<C, H> IntrospectionValidatorBuilder<C, H>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    H: IntrospectionClient,
{
    /// The longest an active answer is reused (default 60 s; never past the token's
    /// `exp`). `Duration::ZERO`: every request asks the endpoint.
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The longest an inactive answer is reused (default: the cache TTL).
    pub fn with_inactive_ttl(mut self, ttl: Duration) -> Self {
        self.inactive_ttl = Some(ttl);
        self
    }

    /// The bound on cached answers (default 10 000).
    pub fn with_max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries.max(1);
        self
    }

    /// Time limit of one introspection request (default 5 s); past it, `503`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Requires `iss` in the introspection response to equal `issuer`.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// Requires `aud` in the introspection response to contain `audience`.
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.audience = Some(audience.to_owned());
        self
    }

    /// Clock tolerance for `exp` and `nbf` (default
    /// [`DEFAULT_LEEWAY`](crate::validate::DEFAULT_LEEWAY)).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The validator.
    #[must_use]
    pub fn build(self) -> IntrospectionValidator<C, H> {
        IntrospectionValidator {
            inner: Arc::new(Inner {
                client: self.client,
                endpoint: self.endpoint,
                authorization: self.authorization,
                ttl: self.ttl,
                inactive_ttl: self.inactive_ttl.unwrap_or(self.ttl),
                timeout: self.timeout,
                max_response: self.max_response,
                max_token_len: self.max_token_len,
                issuer: self.issuer,
                audience: self.audience,
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
                cache: Cache::new(self.max_entries),
                in_flight: Mutex::new(HashMap::new()),
            }),
        }
    }
}
