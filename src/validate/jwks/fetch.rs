//! [`HttpFetcher`]: the default [`JwksFetcher`], over hyper-util's client and rustls.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::{max_age_from_headers, FetchedDocument, JwksError, JwksFetcher};

/// Default time limit of connecting (TCP) to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time limit of one fetch, connecting to reading the last byte.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The connector of [`HttpFetcher::new`]: rustls over hyper-util's TCP connector.
pub(crate) type DefaultConnector = HttpsConnector<HttpConnector>;

/// Fetches documents (JWK sets, discovery documents) with hyper-util's client: `GET`,
/// no redirects followed, the body read up to the bound, `Cache-Control: max-age`
/// reported.
///
/// - **HTTPS out of the box**: rustls, trusting the operating system's roots plus the
///   certificates named by `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR`
///   (directories of PEM files), and any CA added with
///   [`HttpFetcherBuilder::add_root_pem`]. TLS 1.2 and 1.3, with the crypto backend
///   this crate already uses for JWTs (ring with `rust-crypto`, aws-lc-rs with
///   `aws-lc`).
/// - **Plain `http://` only to loopback** (`localhost`, `127.0.0.0/8`, `::1`): anyone on
///   the path of a plain-HTTP fetch could swap the keys. Other hosts need
///   [`HttpFetcherBuilder::allow_insecure_http`]; otherwise the fetch fails with
///   [`JwksError::InsecureUrl`] before any connection.
/// - **Bounds**: connect timeout 5 s, whole fetch 10 s, the body bounded by the caller
///   ([`JwksValidator`](super::JwksValidator): 256 KiB by default); redirects are
///   answered as [`JwksError::Status`].
///
/// To bring your own HTTP client (proxies, mTLS, retries), implement [`JwksFetcher`]
/// over it, or hand a hyper-util connector to [`with_connector`](Self::with_connector).
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_bearer::validate::HttpFetcher;
///
/// // The OS roots plus SSL_CERT_FILE / SSL_CERT_DIR:
/// let fetcher = HttpFetcher::new();
/// // Plus a private CA, only 2 s per fetch:
/// let ca = std::fs::read("company-ca.pem")?;
/// let fetcher = HttpFetcher::builder()
///     .add_root_pem(&ca)?
///     .timeout(std::time::Duration::from_secs(2))
///     .build()?;
/// # let _ = fetcher;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct HttpFetcher<C = DefaultConnector> {
    client: Client<C, Empty<Bytes>>,
    timeout: Duration,
    insecure_http: bool,
}

impl<C> fmt::Debug for HttpFetcher<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpFetcher")
            .field("connector", &std::any::type_name::<C>())
            .field("timeout", &self.timeout)
            .field("insecure_http", &self.insecure_http)
            .finish()
    }
}

/// Settings of an [`HttpFetcher`]; see [`HttpFetcher::builder`].
#[must_use]
pub struct HttpFetcherBuilder {
    native_roots: bool,
    extra_roots: Vec<CertificateDer<'static>>,
    tls: Option<ClientConfig>,
    timeout: Duration,
    connect_timeout: Duration,
    insecure_http: bool,
}

impl fmt::Debug for HttpFetcherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpFetcherBuilder")
            .field("native_roots", &self.native_roots)
            .field("extra_roots", &self.extra_roots.len())
            .field("custom_tls", &self.tls.is_some())
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("insecure_http", &self.insecure_http)
            .finish()
    }
}

impl Default for HttpFetcherBuilder {
    fn default() -> Self {
        Self {
            native_roots: true,
            extra_roots: Vec::new(),
            tls: None,
            timeout: FETCH_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
            insecure_http: false,
        }
    }
}

impl HttpFetcherBuilder {
    /// Also trusts the CA certificates in `pem` (one or more `CERTIFICATE` blocks).
    ///
    /// # Errors
    ///
    /// [`JwksError::InvalidCertificate`] if `pem` holds no usable certificate.
    pub fn add_root_pem(mut self, pem: &[u8]) -> Result<Self, JwksError> {
        let invalid = |why: &dyn fmt::Display| JwksError::InvalidCertificate(why.to_string());
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(&e))?;
        if certs.is_empty() {
            return Err(invalid(&"no CERTIFICATE block"));
        }
        let mut probe = RootCertStore::empty();
        for cert in &certs {
            probe.add(cert.clone()).map_err(|e| invalid(&e))?;
        }
        self.extra_roots.extend(certs);
        Ok(self)
    }

    /// Also trusts the DER-encoded CA certificate `der`.
    ///
    /// # Errors
    ///
    /// [`JwksError::InvalidCertificate`] if it cannot be a trust anchor.
    pub fn add_root_der(mut self, der: &[u8]) -> Result<Self, JwksError> {
        let cert = CertificateDer::from(der.to_vec());
        RootCertStore::empty()
            .add(cert.clone())
            .map_err(|e| JwksError::InvalidCertificate(e.to_string()))?;
        self.extra_roots.push(cert);
        Ok(self)
    }

    /// Trusts only the CAs added with [`add_root_pem`](Self::add_root_pem) /
    /// [`add_root_der`](Self::add_root_der): not the OS store, not `SSL_CERT_FILE` /
    /// `SSL_CERT_DIR`.
    pub fn without_native_roots(mut self) -> Self {
        self.native_roots = false;
        self
    }

    /// Uses this rustls configuration as is (client certificates, pinned keys, a
    /// verifier of your own); the root settings above are then ignored. Its ALPN
    /// protocols are replaced by `http/1.1`.
    pub fn tls_config(mut self, config: ClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Time limit of one fetch, connecting to reading the last byte (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time limit of the TCP connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Allows plain `http://` URLs to any host, not only loopback. Anyone on the path
    /// can then replace the keys: for closed networks and tests only.
    pub fn allow_insecure_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    /// The fetcher.
    ///
    /// # Errors
    ///
    /// [`JwksError::NoRoots`] if no trust root was found or given,
    /// [`JwksError::Tls`] if rustls refuses the configuration.
    pub fn build(self) -> Result<HttpFetcher, JwksError> {
        self.build_inner(false)
    }

    fn build_inner(self, allow_no_roots: bool) -> Result<HttpFetcher, JwksError> {
        let tls = match self.tls {
            Some(config) => config,
            None => {
                let mut roots = RootCertStore::empty();
                if self.native_roots {
                    for cert in native_roots() {
                        // Unusable system certificates are skipped, as browsers do.
                        let _ = roots.add(cert);
                    }
                }
                for cert in self.extra_roots {
                    roots
                        .add(cert)
                        .map_err(|e| JwksError::InvalidCertificate(e.to_string()))?;
                }
                if roots.is_empty() && !allow_no_roots {
                    return Err(JwksError::NoRoots);
                }
                ClientConfig::builder_with_provider(Arc::new(tls_provider()))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| JwksError::Tls(e.to_string()))?
                    .with_root_certificates(roots)
                    .with_no_client_auth()
            }
        };
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(self.connect_timeout));
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let mut fetcher = HttpFetcher::with_connector(connector).with_timeout(self.timeout);
        fetcher.insecure_http = self.insecure_http;
        Ok(fetcher)
    }
}

/// The rustls crypto provider of the crate's backend.
fn tls_provider() -> rustls::crypto::CryptoProvider {
    #[cfg(feature = "aws-lc")]
    {
        rustls::crypto::aws_lc_rs::default_provider()
    }
    // Newer rustls deprecates ring's provider for lacking post-quantum key exchange;
    // it stays the pure-Rust build's only choice (aws-lc is the default feature).
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
    #[allow(deprecated)]
    {
        rustls::crypto::ring::default_provider()
    }
}

/// The OS store plus `SSL_CERT_FILE` / `SSL_CERT_DIR`. rustls-native-certs reads the
/// variables *instead of* the system store when either is set; the system's
/// certificate directories are then added here.
fn native_roots() -> Vec<CertificateDer<'static>> {
    let loaded = rustls_native_certs::load_native_certs();
    #[cfg(feature = "tracing")]
    for error in &loaded.errors {
        tracing::warn!(%error, "a trust root could not be loaded");
    }
    let mut certs = loaded.certs;
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let env_set = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
        if env_set {
            for dir in openssl_probe::candidate_cert_dirs() {
                certs.extend(rustls_native_certs::load_certs_from_paths(None, Some(dir)).certs);
            }
        }
    }
    certs
}

impl HttpFetcher {
    /// An HTTPS fetcher trusting the OS roots plus `SSL_CERT_FILE` / `SSL_CERT_DIR`;
    /// plain HTTP only to loopback addresses (connect timeout 5 s, whole-fetch timeout
    /// 10 s). Use [`builder`](Self::builder) for a custom CA.
    ///
    /// If no trust root can be found at all, `https` fetches fail (each with
    /// [`JwksError::Transport`]) while loopback `http` still works.
    #[must_use]
    pub fn new() -> Self {
        HttpFetcherBuilder::default()
            .build_inner(true)
            .unwrap_or_else(|_| unreachable!("ring and aws-lc-rs support the default TLS versions"))
    }

    /// Settings for an HTTPS fetcher (custom CAs, timeouts, insecure HTTP).
    pub fn builder() -> HttpFetcherBuilder {
        HttpFetcherBuilder::default()
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
    /// A fetcher over `connector` (a TLS connector of your own, a proxy): it decides
    /// which schemes it speaks. Plain `http://` is still refused except to loopback
    /// unless [`allow_insecure_http`](Self::allow_insecure_http).
    #[must_use]
    pub fn with_connector(connector: C) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout: FETCH_TIMEOUT,
            insecure_http: false,
        }
    }

    /// Time limit of one fetch, connecting to reading the last byte (default 10 s).
    /// A [`JwksValidator`](crate::JwksValidator) also applies its own limit.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Allows plain `http://` URLs to any host (closed networks and tests only).
    #[must_use]
    pub fn allow_insecure_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }
}

/// `true` for `localhost` and loopback addresses.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl<C> JwksFetcher for HttpFetcher<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    async fn fetch(&self, url: &Uri, max_len: usize) -> Result<FetchedDocument, JwksError> {
        match url.scheme_str() {
            Some("https") => {}
            Some("http") if self.insecure_http || url.host().is_some_and(is_loopback_host) => {}
            _ => return Err(JwksError::InsecureUrl),
        }
        tokio::time::timeout(self.timeout, self.fetch_unbounded(url, max_len))
            .await
            .map_err(|_| JwksError::Timeout)?
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
    ) -> Result<FetchedDocument, JwksError> {
        let transport = |e: &dyn fmt::Display| JwksError::Transport(e.to_string());
        let request = Request::get(url.clone())
            .header(
                header::ACCEPT,
                HeaderValue::from_static("application/jwk-set+json, application/json"),
            )
            .body(Empty::new())
            .map_err(|e| transport(&e))?;
        let response = self.client.request(request).await.map_err(|e| {
            // hyper-util's error says little; its source says what failed (TLS, DNS).
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                why.push_str(": ");
                why.push_str(&inner.to_string());
                source = inner.source();
            }
            JwksError::Transport(why)
        })?;
        if response.status() != StatusCode::OK {
            return Err(JwksError::Status(response.status()));
        }
        let too_large = JwksError::TooLarge { limit: max_len };
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

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.9.8.7",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "example.com",
            "10.0.0.1",
            "localhost.example.com",
            "[::2]",
            "128.0.0.1",
            "0.0.0.0",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
