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
    /// A text setting (an issuer, audience, client id, claim name, `typ` ...) is empty or
    /// has characters it may not have; names the setting.
    InvalidString(&'static str),
    /// A URL setting is not an absolute `http(s)` URL or has a part it may not have
    /// (a query or fragment where none is allowed); names the setting.
    InvalidUrl(&'static str),
    /// A route path does not start with `/` or has characters a path may not have;
    /// names the setting.
    InvalidPath(&'static str),
    /// A key id (`kid`) is empty, too long, or already in use.
    InvalidKeyId,
    /// A number or duration is zero or beyond its bound (`max_*`, TTLs, periods, the
    /// Argon2 parameters); names the setting.
    OutOfRange(&'static str),
    /// A required part is absent (no grant type enabled, no algorithm, no `jwks_uri`
    /// for an OpenID configuration ...); names it.
    Missing(&'static str),
    /// Two settings contradict each other (an issuer configured twice, keys replaced
    /// on a fixed document ...); names them.
    Conflict(&'static str),
    /// A secret, password or password hash could not be used; names which.
    InvalidSecret(&'static str),
    /// The operating system's random number generator failed (salts, keys).
    RandomnessUnavailable,
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
            Self::InvalidString(what) => write!(f, "{what} is empty or has invalid characters"),
            Self::InvalidUrl(what) => write!(f, "{what} is not a usable absolute URL"),
            Self::InvalidPath(what) => write!(f, "{what} is not a valid path"),
            Self::InvalidKeyId => f.write_str("kid is empty, too long or already in use"),
            Self::OutOfRange(what) => write!(f, "{what} is out of range"),
            Self::Missing(what) => write!(f, "missing {what}"),
            Self::Conflict(what) => write!(f, "conflicting settings: {what}"),
            Self::InvalidSecret(what) => write!(f, "unusable {what}"),
            Self::RandomnessUnavailable => f.write_str("the system random number generator failed"),
        }
    }
}

impl std::error::Error for ConfigError {}
