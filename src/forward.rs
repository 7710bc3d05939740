//! [`ClaimsToHeadersLayer`]: forwards selected claims to an upstream as request
//! headers, for gateways and reverse proxies.
//!
//! Put it inside a [`BearerAuthLayer`](crate::BearerAuthLayer). For every request it
//! first **removes** each configured header the client sent (all values), so a client
//! can never spoof them, then sets them from the verified claims. Optionally it also
//! removes `Authorization`, so the upstream never sees the token.
//!
//! A claim is named by its top-level name (`sub`) or a JSON pointer (`/realm/roles`).
//! Strings are sent as they are, numbers and booleans as text, arrays of those joined
//! with `,`. A claim that is absent, `null`, an object, or not a valid header value
//! (control characters, non-ASCII) is not sent; the header stays removed.
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
    /// [`ConfigError::InvalidHeaderName`] for an invalid header name or one the
    /// transport or the bearer layer owns (`authorization`, `cookie`, `host`,
    /// `content-length`, `transfer-encoding`, `connection`);
    /// [`ConfigError::InvalidValue`] for an empty claim name.
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
        if reserved.contains(&header) {
            return Err(ConfigError::InvalidHeaderName);
        }
        if claim.is_empty() || claim == "/" {
            return Err(ConfigError::InvalidValue("claim"));
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

fn header_value(claim: &Value) -> Option<HeaderValue> {
    let text = match claim {
        Value::Array(items) => {
            let items: Option<Vec<String>> = items.iter().map(scalar).collect();
            items?.join(",")
        }
        other => scalar(other)?,
    };
    HeaderValue::try_from(text).ok()
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
