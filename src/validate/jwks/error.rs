//! [`JwksError`]: why a JWK set (or the discovery document) could not be fetched or
//! used, or why the fetcher could not be set up.

use std::fmt;

use crate::error::ConfigError;
use crate::keys::KeySetError;

/// Why a JWK set (or the discovery document) could not be fetched or used, or why an
/// [`HttpFetcher`](super::HttpFetcher) could not be built. One variant per cause.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksError {
    /// Fetching: the server answered with a status other than `200`.
    Status(http::StatusCode),
    /// Fetching: the body is longer than the bound.
    TooLarge {
        /// The bound, in bytes.
        limit: usize,
    },
    /// Fetching: no complete answer within the time limit.
    Timeout,
    /// Fetching: connecting, sending or receiving failed (TLS included).
    Transport(String),
    /// Fetching: the URL is not one the fetcher may use: plain `http://` to a host other
    /// than loopback without the insecure opt-in, or another scheme.
    InsecureUrl,
    /// The document is not a usable JWK set.
    KeySet(KeySetError),
    /// The OpenID configuration is unusable: not JSON, no `jwks_uri`, or an `issuer`
    /// other than the configured one (OpenID Connect Discovery §4.3).
    Discovery(String),
    /// A setting is invalid.
    Config(ConfigError),
    /// Fetcher setup: a PEM given as a CA holds no certificate, or one that cannot be a
    /// trust anchor.
    InvalidCertificate(String),
    /// Fetcher setup: no trust root at all: neither the OS store, the environment nor a
    /// custom CA gave one.
    NoRoots,
    /// Fetcher setup: the TLS library refused the configuration.
    Tls(String),
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "fetching failed: unexpected status {status}"),
            Self::TooLarge { limit } => {
                write!(f, "fetching failed: document larger than {limit} bytes")
            }
            Self::Timeout => f.write_str("fetching failed: timed out"),
            Self::Transport(why) => write!(f, "fetching failed: transport error: {why}"),
            Self::InsecureUrl => {
                f.write_str("fetching failed: refused URL: plain http to a non-loopback host")
            }
            Self::KeySet(e) => e.fmt(f),
            Self::Discovery(why) => write!(f, "discovery failed: {why}"),
            Self::Config(e) => e.fmt(f),
            Self::InvalidCertificate(why) => write!(f, "unusable CA certificate: {why}"),
            Self::NoRoots => f.write_str("no trusted root certificate"),
            Self::Tls(why) => write!(f, "TLS configuration refused: {why}"),
        }
    }
}

impl std::error::Error for JwksError {}

impl From<KeySetError> for JwksError {
    fn from(e: KeySetError) -> Self {
        Self::KeySet(e)
    }
}

impl From<ConfigError> for JwksError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}
