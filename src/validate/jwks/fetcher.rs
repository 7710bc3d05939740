//! The [`JwksFetcher`] trait: how a JWK set or discovery document is fetched, what a
//! fetch returns, and the bounds the validator puts around every fetch.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::JwksError;
use bytes::Bytes;
use http::{HeaderMap, Uri};

/// A document fetched by a [`JwksFetcher`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FetchedDocument {
    /// The response body.
    pub body: Bytes,
    /// The freshness lifetime the server announced (`Cache-Control: max-age`), if any.
    pub max_age: Option<Duration>,
}

impl FetchedDocument {
    /// A document without freshness information.
    #[must_use]
    pub fn new(body: Bytes) -> Self {
        Self {
            body,
            max_age: None,
        }
    }

    /// Sets the announced freshness lifetime.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }
}

/// Fetches a document (a JWK set, an OpenID configuration) over HTTP.
///
/// Implement it over the HTTP client your application already has (TLS, proxies,
/// retries are yours); with the `jwks` feature, `HttpFetcher` is an HTTPS default.
/// Implementations should stop reading past `max_len` bytes and answer
/// [`JwksError::TooLarge`]; the validator checks the length again either way, and
/// bounds every fetch with its own timeout. Redirects should not be followed.
///
/// ```
/// use bytes::Bytes;
/// use http::Uri;
/// use tower_bearer::validate::{JwksError, FetchedDocument, JwksFetcher};
///
/// /// Serves a fixed document (tests, air-gapped set-ups).
/// struct Fixed(Bytes);
///
/// impl JwksFetcher for Fixed {
///     async fn fetch(&self, _url: &Uri, max_len: usize) -> Result<FetchedDocument, JwksError> {
///         if self.0.len() > max_len {
///             return Err(JwksError::TooLarge { limit: max_len });
///         }
///         Ok(FetchedDocument::new(self.0.clone()))
///     }
/// }
/// ```
pub trait JwksFetcher: Send + Sync + 'static {
    /// `GET url`, reading at most `max_len` bytes of body.
    fn fetch(
        &self,
        url: &Uri,
        max_len: usize,
    ) -> impl Future<Output = Result<FetchedDocument, JwksError>> + Send;
}

pub(super) type BoxFuture<'a, O> = Pin<Box<dyn Future<Output = O> + Send + 'a>>;

/// [`JwksFetcher`] made object-safe (its futures boxed: one box per fetch, never per
/// request).
pub(crate) trait ErasedFetcher: Send + Sync + 'static {
    fn fetch_boxed<'a>(
        &'a self,
        url: &'a Uri,
        max_len: usize,
    ) -> BoxFuture<'a, Result<FetchedDocument, JwksError>>;
}

impl<F: JwksFetcher> ErasedFetcher for F {
    fn fetch_boxed<'a>(
        &'a self,
        url: &'a Uri,
        max_len: usize,
    ) -> BoxFuture<'a, Result<FetchedDocument, JwksError>> {
        Box::pin(self.fetch(url, max_len))
    }
}

/// The freshness lifetime in `Cache-Control` (`max-age=N`; `no-cache`/`no-store`
/// count as `0`), for [`JwksFetcher`] implementations.
#[must_use]
pub fn max_age_from_headers(headers: &HeaderMap) -> Option<Duration> {
    let mut found = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let lower = directive.to_ascii_lowercase();
            if lower == "no-cache" || lower == "no-store" {
                return Some(Duration::ZERO);
            }
            if let Some(seconds) = lower.strip_prefix("max-age=") {
                if let Ok(seconds) = seconds.trim_matches('"').parse::<u64>() {
                    found = Some(Duration::from_secs(seconds));
                }
            }
        }
    }
    found
}

/// One fetch, bounded in time and (again, whatever the fetcher does) in length.
pub(super) async fn fetch_bounded<F: ErasedFetcher + ?Sized>(
    fetcher: &F,
    url: &Uri,
    max_len: usize,
    timeout: Duration,
) -> Result<FetchedDocument, JwksError> {
    let document = tokio::time::timeout(timeout, fetcher.fetch_boxed(url, max_len))
        .await
        .map_err(|_| JwksError::Timeout)??;
    if document.body.len() > max_len {
        return Err(JwksError::TooLarge { limit: max_len });
    }
    Ok(document)
}
