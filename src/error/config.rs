//! [`ConfigError`]: why a configuration was refused when it was built.

use std::fmt;

/// Why a configuration was refused when it was built.
///
/// Configuration is checked once, up front, so that no request can hit a
/// misconfiguration and turn it into a `5xx`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A scope is empty or has characters outside RFC 6749 §3.3's `scope-token`.
    InvalidScope,
    /// A scope requirement lists no scopes.
    NoScopes,
    /// The realm has characters that cannot appear in a quoted-string header parameter.
    InvalidRealm,
    /// The key's family does not match the algorithm (e.g. an RSA key for `HS256`).
    KeyAlgorithmMismatch,
    /// The key could not be used (unparsable, wrong format).
    InvalidKey(String),
    /// An HMAC secret is shorter than the hash output (RFC 7518 §3.2).
    HmacKeyTooShort {
        /// The minimum length in bytes for the algorithm.
        minimum: usize,
    },
    /// A validator was given no keys.
    NoKeys,
    /// A header name is not a valid HTTP header name.
    InvalidHeaderName,
    /// A cookie name is not a valid RFC 6265 cookie name.
    InvalidCookieName,
    /// An issuer, audience or other string setting is empty or unusable.
    InvalidValue(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidScope => f.write_str("scope is not a valid RFC 6749 scope-token"),
            Self::NoScopes => f.write_str("at least one scope is required"),
            Self::InvalidRealm => f.write_str("realm has characters not allowed in a header"),
            Self::KeyAlgorithmMismatch => f.write_str("key does not match the algorithm"),
            Self::InvalidKey(why) => write!(f, "invalid key: {why}"),
            Self::HmacKeyTooShort { minimum } => {
                write!(f, "HMAC secret must be at least {minimum} bytes")
            }
            Self::NoKeys => f.write_str("no keys configured"),
            Self::InvalidHeaderName => f.write_str("invalid header name"),
            Self::InvalidCookieName => f.write_str("invalid cookie name"),
            Self::InvalidValue(what) => write!(f, "invalid value for {what}"),
        }
    }
}

impl std::error::Error for ConfigError {}
