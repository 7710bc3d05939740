//! [`ClaimsToHeadersLayer`]: forwards selected claims to an upstream as request
//! headers, for gateways and reverse proxies.
//!
//! Put it inside a [`BearerAuthLayer`](crate::BearerAuthLayer). For every request it
//! first **removes** each configured header the client sent (all values), so a client
//! can never spoof them, then sets them from the verified claims. Optionally it also
//! removes `Authorization`, so the upstream never sees the token.
//!
//! # Header names that fold together
//!
//! CGI, WSGI, Rack and PHP turn header names into `HTTP_X_USER`-style variables, so
//! `x-user`, `X-User` and `x_user` all land in the same place upstream (and some
//! frameworks keep the client's copy). The layer therefore removes every incoming
//! header whose name equals a forwarded name once ASCII case is ignored and `_` is read
//! as `-`; header names are already lowercase in `http`, so `X_USER`, `x_user` and
//! `x-user` all go. Two forwarded names that fold to the same one are refused at
//! configuration.
//!
//! # Claim values
//!
//! A claim is named by its top-level name (`sub`) or a JSON pointer (`/realm/roles`).
//! Strings are sent as they are, numbers and booleans as text, arrays of those joined
//! with `,`. Values are **refused, never encoded**: a claim is not sent (its header
//! stays removed, as for an absent claim) when it is absent, `null`, an object, empty,
//! or when a string (or an array item) holds anything but printable ASCII and inner
//! spaces: control characters, non-ASCII, leading or trailing whitespace, or a comma
//! (which would split into two values upstream, RFC 9110 §5.3). An upstream must
//! therefore treat a missing header as "no such claim", never as a default.
//!
//! ```
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::{ClaimsToHeadersLayer, Claims};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let upstream = service_fn(|req: Request<()>| async move {
//!     let user = req.headers().get("x-user").map(|v| v.to_str().unwrap().to_owned());
//!     Ok::<_, std::convert::Infallible>(Response::new(user))
//! });
//! let service = ServiceBuilder::new()
//!     .layer(ClaimsToHeadersLayer::<Claims>::new().with_claim("sub", "x-user")?)
//!     .service(upstream);
//!
//! // The layer found no claims (no bearer layer in front): a spoofed header is dropped.
//! let request = Request::get("/").header("x-user", "admin").body(())?;
//! assert_eq!(service.oneshot(request).await?.into_body(), None);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{AUTHORIZATION, CONNECTION, CONTENT_LENGTH, COOKIE, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use serde::Serialize;
use serde_json::Value;
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::Claims;
use crate::error::ConfigError;

/// One claim and the header it is forwarded as.
#[derive(Debug, Clone)]
struct Mapping {
    claim: Box<str>,
    header: HeaderName,
}

#[derive(Debug, Clone, Default)]
struct Settings {
    mappings: Vec<Mapping>,
    strip_authorization: bool,
}

/// Applies [`ClaimsToHeaders`]. `C` is the claims type the bearer layer inserts; it is
/// read through its `Serialize` implementation.
#[must_use]
pub struct ClaimsToHeadersLayer<C = Claims> {
    settings: Arc<Settings>,
    claims: PhantomData<fn() -> C>,
}

impl<C> Clone for ClaimsToHeadersLayer<C> {
    fn clone(&self) -> Self {
        Self {
            settings: Arc::clone(&self.settings),
            claims: PhantomData,
        }
    }
}

impl<C> fmt::Debug for ClaimsToHeadersLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimsToHeadersLayer")
            .field("mappings", &self.settings.mappings)
            .field("strip_authorization", &self.settings.strip_authorization)
            .field("claims", &std::any::type_name::<C>())
            .finish()
    }
}

impl<C> Default for ClaimsToHeadersLayer<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> ClaimsToHeadersLayer<C> {
    /// Forwards nothing yet; add claims with [`with_claim`](Self::with_claim).
    pub fn new() -> Self {
        Self {
            settings: Arc::default(),
            claims: PhantomData,
        }
    }

    /// Forwards `claim` (a top-level name or a JSON pointer starting with `/`) as the
    /// request header `header`, after removing any `header` the client sent.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidHeaderName`] for an invalid header name, one the
    /// transport or the bearer layer owns (`authorization`, `cookie`, `host`,
    /// `content-length`, `transfer-encoding`, `connection`), or one that folds to an
    /// already forwarded name (`x_user` after `x-user`);
    /// [`ConfigError::InvalidString`] for an empty claim name.
    pub fn with_claim(mut self, claim: &str, header: &str) -> Result<Self, ConfigError> {
        let header = HeaderName::try_from(header).map_err(|_| ConfigError::InvalidHeaderName)?;
        let reserved = [
            AUTHORIZATION,
            COOKIE,
            HOST,
            CONTENT_LENGTH,
            TRANSFER_ENCODING,
            CONNECTION,
        ];
        if reserved.contains(&header)
            || self
                .settings
                .mappings
                .iter()
                .any(|m| folds_to(&m.header, header.as_str()))
        {
            return Err(ConfigError::InvalidHeaderName);
        }
        if claim.is_empty() || claim == "/" {
            return Err(ConfigError::InvalidString("claim"));
        }
        Arc::make_mut(&mut self.settings).mappings.push(Mapping {
            claim: claim.into(),
            header,
        });
        Ok(self)
    }

    /// Also removes the `Authorization` header, so the upstream never sees the token.
    pub fn strip_authorization(mut self) -> Self {
        Arc::make_mut(&mut self.settings).strip_authorization = true;
        self
    }
}

impl<S, C> Layer<S> for ClaimsToHeadersLayer<C> {
    type Service = ClaimsToHeaders<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        ClaimsToHeaders {
            inner,
            layer: self.clone(),
        }
    }
}

/// Middleware that replaces the configured request headers with claim values. Built by
/// [`ClaimsToHeadersLayer`].
pub struct ClaimsToHeaders<S, C = Claims> {
    inner: S,
    layer: ClaimsToHeadersLayer<C>,
}

impl<S: Clone, C> Clone for ClaimsToHeaders<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for ClaimsToHeaders<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimsToHeaders")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, C> ClaimsToHeaders<S, C> {
    inner_service_accessors!();
}

impl<S, C, B> Service<Request<B>> for ClaimsToHeaders<S, C>
where
    S: Service<Request<B>>,
    C: Serialize + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let settings = &*self.layer.settings;
        let (mut parts, body) = request.into_parts();
        for mapping in &settings.mappings {
            parts.headers.remove(&mapping.header);
        }
        strip_folded(&mut parts.headers, &settings.mappings);
        if settings.strip_authorization {
            parts.headers.remove(AUTHORIZATION);
        }
        if let Some(claims) = parts.extensions.get::<C>() {
            set_headers(&mut parts.headers, &settings.mappings, claims);
        }
        self.inner.call(Request::from_parts(parts, body))
    }
}

fn set_headers<C: Serialize>(headers: &mut HeaderMap, mappings: &[Mapping], claims: &C) {
    let Ok(json) = serde_json::to_value(claims) else {
        return;
    };
    for mapping in mappings {
        let claim = if mapping.claim.starts_with('/') {
            json.pointer(&mapping.claim)
        } else {
            json.get(&*mapping.claim)
        };
        if let Some(value) = claim.and_then(header_value) {
            headers.append(mapping.header.clone(), value);
        }
    }
}

/// `name` equals `wanted` once `_` reads as `-` (`http` names are lowercase already).
fn folds_to(name: &HeaderName, wanted: &str) -> bool {
    let name = name.as_str();
    name.len() == wanted.len()
        && name
            .bytes()
            .zip(wanted.bytes())
            .all(|(a, b)| fold(a) == fold(b))
}

fn fold(byte: u8) -> u8 {
    match byte {
        b'_' => b'-',
        other => other.to_ascii_lowercase(),
    }
}

/// Removes the headers whose names differ from a forwarded one only by `_` for `-`
/// (the exact names are already gone).
fn strip_folded(headers: &mut HeaderMap, mappings: &[Mapping]) {
    if !headers.keys().any(|name| name.as_str().contains('_')) {
        return;
    }
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            name.as_str().contains('_')
                && mappings.iter().any(|m| folds_to(name, m.header.as_str()))
        })
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
}

fn header_value(claim: &Value) -> Option<HeaderValue> {
    let text = match claim {
        Value::Array(items) if items.is_empty() => return None,
        Value::Array(items) => {
            let items: Option<Vec<String>> = items.iter().map(scalar).collect();
            items?.join(",")
        }
        other => scalar(other)?,
    };
    HeaderValue::try_from(text).ok()
}

/// A scalar's text, if it is safe as (one item of) a header value: non-empty,
/// printable ASCII or inner spaces, no comma.
fn scalar(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let bytes = text.as_bytes();
    let safe = !bytes.is_empty()
        && bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
        && bytes
            .iter()
            .all(|&b| (b' '..=b'~').contains(&b) && b != b',');
    safe.then_some(text)
}
