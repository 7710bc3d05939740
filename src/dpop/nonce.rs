//! Server-provided nonces (RFC 9449 §8, §9), kept stateless: a nonce is a time window
//! and an HMAC of it, so every node sharing the secret issues and accepts the same
//! nonces without a store.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ConfigError;

/// Bytes of the HMAC kept in a nonce.
const TAG_LEN: usize = 16;

#[derive(Clone)]
pub(crate) struct Nonces {
    key: Hmac<Sha256>,
    period: i64,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces")
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl Nonces {
    pub(crate) fn new(secret: &[u8], period: Duration) -> Result<Self, ConfigError> {
        if secret.len() < 32 {
            return Err(ConfigError::HmacKeyTooShort { minimum: 32 });
        }
        let period = i64::try_from(period.as_secs()).unwrap_or(i64::MAX);
        if period == 0 {
            return Err(ConfigError::OutOfRange("nonce period"));
        }
        let key = Hmac::new_from_slice(secret)
            .map_err(|_| ConfigError::InvalidKey("unusable nonce secret".into()))?;
        Ok(Self { key, period })
    }

    fn tag(&self, window: i64) -> [u8; 32] {
        let mut mac = self.key.clone();
        mac.update(b"dpop-nonce\0");
        mac.update(&window.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The nonce to hand out at `now` (seconds since the epoch).
    pub(crate) fn current(&self, now: i64) -> String {
        let window = now.div_euclid(self.period);
        let mut raw = [0u8; 8 + TAG_LEN];
        raw[..8].copy_from_slice(&window.to_be_bytes());
        raw[8..].copy_from_slice(&self.tag(window)[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// `true` if `nonce` was handed out in this window or the previous one.
    pub(crate) fn accepts(&self, nonce: &str, now: i64) -> bool {
        use subtle::ConstantTimeEq as _;
        let Ok(raw) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        if raw.len() != 8 + TAG_LEN {
            return false;
        }
        let mut window = [0u8; 8];
        window.copy_from_slice(&raw[..8]);
        let window = i64::from_be_bytes(window);
        let current = now.div_euclid(self.period);
        if window != current && window != current - 1 {
            return false;
        }
        bool::from(self.tag(window)[..TAG_LEN].ct_eq(&raw[8..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_lifetime_ok() {
        let nonces = Nonces::new(&[7; 32], Duration::from_secs(60)).unwrap();
        let issued = nonces.current(6_000);
        assert!(nonces.accepts(&issued, 6_000));
        assert!(nonces.accepts(&issued, 6_119));
        assert!(!nonces.accepts(&issued, 6_120));
        assert!(!nonces.accepts(&issued, 5_999));
        let other = Nonces::new(&[8; 32], Duration::from_secs(60)).unwrap();
        assert!(!other.accepts(&issued, 6_000));
        assert!(!nonces.accepts("", 6_000));
        assert!(!nonces.accepts("not base64!", 6_000));
        assert!(Nonces::new(&[7; 16], Duration::from_secs(60)).is_err());
    }
}
