//! [`HttpFetcher`]: the default [`JwksFetcher`], over hyper-util's client.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::{max_age_from_headers, FetchError, FetchedDocument, JwksFetcher};

/// Fetches documents with hyper-util's client: `GET`, no redirects followed, the body
/// read up to the bound, `Cache-Control: max-age` reported.
///
/// [`new`](Self::new) speaks plain HTTP only (an `https` URL fails with
/// [`FetchError::Transport`]): for `https`, pass a TLS connector of your choice (for
/// example `hyper-rustls`'s) to [`with_connector`](Self::with_connector), or implement
/// [`JwksFetcher`] over the HTTP client your application already uses.
#[derive(Clone)]
pub struct HttpFetcher<C = HttpConnector> {
    client: Client<C, Empty<Bytes>>,
    timeout: Duration,
}

impl<C> fmt::Debug for HttpFetcher<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpFetcher")
            .field("connector", &std::any::type_name::<C>())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl HttpFetcher {
    /// A plain-HTTP fetcher (connect timeout 5 s, whole-fetch timeout 10 s).
    #[must_use]
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        Self::with_connector(connector)
    }
}

impl Default for HttpFetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> HttpFetcher<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// A fetcher over `connector` (for example a TLS connector).
    #[must_use]
    pub fn with_connector(connector: C) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout: Duration::from_secs(10),
        }
    }

    /// Time limit of one fetch, connecting to reading the last byte (default 10 s).
    /// A [`JwksValidator`](crate::JwksValidator) also applies its own limit.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<C> JwksFetcher for HttpFetcher<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    async fn fetch(&self, url: &Uri, max_len: usize) -> Result<FetchedDocument, FetchError> {
        tokio::time::timeout(self.timeout, self.fetch_unbounded(url, max_len))
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}

impl<C> HttpFetcher<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    async fn fetch_unbounded(
        &self,
        url: &Uri,
        max_len: usize,
    ) -> Result<FetchedDocument, FetchError> {
        let transport = |e: &dyn fmt::Display| FetchError::Transport(e.to_string());
        let request = Request::get(url.clone())
            .header(
                header::ACCEPT,
                HeaderValue::from_static("application/jwk-set+json, application/json"),
            )
            .body(Empty::new())
            .map_err(|e| transport(&e))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| transport(&e))?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status()));
        }
        let too_large = FetchError::TooLarge { limit: max_len };
        let announced = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|len| len > max_len as u64) {
            return Err(too_large);
        }
        let max_age = max_age_from_headers(response.headers());
        let body = Limited::new(response.into_body(), max_len)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    too_large.clone()
                } else {
                    transport(&e)
                }
            })?
            .to_bytes();
        Ok(FetchedDocument::new(body).with_max_age(max_age))
    }
}
