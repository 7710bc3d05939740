//! [`HttpIntrospectionClient`]: the default [`IntrospectionClient`], over hyper-util's
//! client.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::introspection::{ClientError, IntrospectionClient};

/// Sends introspection requests with hyper-util's client: no redirects followed, the
/// body read up to the bound.
///
/// [`new`](Self::new) speaks plain HTTP only: for `https`, pass a TLS connector (for
/// example `hyper-rustls`'s) to [`with_connector`](Self::with_connector), or implement
/// [`IntrospectionClient`] over the HTTP client your application already uses.
#[derive(Clone)]
pub struct HttpIntrospectionClient<C = HttpConnector> {
    client: Client<C, Full<Bytes>>,
}

impl<C> fmt::Debug for HttpIntrospectionClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpIntrospectionClient")
            .field("connector", &std::any::type_name::<C>())
            .finish()
    }
}

impl HttpIntrospectionClient {
    /// A plain-HTTP client (connect timeout 2 s; the validator bounds each request).
    #[must_use]
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        Self::with_connector(connector)
    }
}

impl Default for HttpIntrospectionClient {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> HttpIntrospectionClient<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// A client over `connector` (for example a TLS connector).
    #[must_use]
    pub fn with_connector(connector: C) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

impl<C> IntrospectionClient for HttpIntrospectionClient<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    async fn send(
        &self,
        request: Request<Bytes>,
        max_len: usize,
    ) -> Result<Response<Bytes>, ClientError> {
        let transport = |e: &dyn fmt::Display| ClientError::Transport(e.to_string());
        let response = self
            .client
            .request(request.map(Full::new))
            .await
            .map_err(|e| transport(&e))?;
        let announced = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|len| len > max_len as u64) {
            return Err(ClientError::TooLarge);
        }
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, max_len)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    ClientError::TooLarge
                } else {
                    transport(&e)
                }
            })?
            .to_bytes();
        Ok(Response::from_parts(parts, body))
    }
}
