//! [`JwksError`]: why the JWK set or the discovery document could not be used.

use std::fmt;

use super::FetchError;
use crate::error::ConfigError;
use crate::keys::KeySetError;

/// Why the JWK set (or the discovery document) could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksError {
    /// The fetch failed.
    Fetch(FetchError),
    /// The document is not a usable JWK set.
    KeySet(KeySetError),
    /// The OpenID configuration is unusable: not JSON, no `jwks_uri`, or an `issuer`
    /// other than the configured one (OpenID Connect Discovery §4.3).
    Discovery(String),
    /// A setting is invalid.
    Config(ConfigError),
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fetch(e) => write!(f, "fetching failed: {e}"),
            Self::KeySet(e) => e.fmt(f),
            Self::Discovery(why) => write!(f, "discovery failed: {why}"),
            Self::Config(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for JwksError {}

impl From<FetchError> for JwksError {
    fn from(e: FetchError) -> Self {
        Self::Fetch(e)
    }
}

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
