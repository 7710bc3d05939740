//! Asymmetric key sets: keys with a `kid` from PEM, DER or JWK (RFC 7517), and the
//! documents an issuer publishes for its validators.
//!
//! - [`ValidationKey`] and [`KeySet`]: public keys with their `kid` and algorithm;
//!   [`KeySet::to_validator`] turns them into a [`JwtValidator`](crate::JwtValidator)
//!   that picks the key by the token's `kid`.
//! - [`KeySet::from_json`]: a fetched JWK set, filtered by the rules of [`JwkOptions`]
//!   (signature keys only, no private or symmetric keys, an algorithm that is stated or
//!   fixed by the curve, a bounded number of keys).
//! - [`public_jwk`], [`public_jwk_from_private`], [`JwksService`],
//!   [`OpenIdConfiguration`] and [`OpenIdConfigurationService`]: the issuer side,
//!   serving `/.well-known/jwks.json` (public members only) and a minimal
//!   `/.well-known/openid-configuration`.
//!
//! ```
//! use jsonwebtoken::Algorithm;
//! use tower_bearer::keys::{public_jwk, JwkOptions, KeySet};
//! use tower_bearer::Claims;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/ec_public.pem"))?;
//! // The issuer publishes its public key ...
//! let set = jsonwebtoken::jwk::JwkSet { keys: vec![public_jwk("2026-11", Algorithm::ES256, &pem)?] };
//! let document = serde_json::to_vec(&set)?;
//!
//! // ... and a validator reads it back.
//! let keys = KeySet::from_json(&document, &JwkOptions::new())?;
//! assert_eq!(keys.kids().collect::<Vec<_>>(), ["2026-11"]);
//! let validator = keys.to_validator::<Claims>()?;
//! assert!(validator.verify("not.a.token").is_err());
//! # Ok(())
//! # }
//! ```

mod jwk;
mod key;
mod publish;

pub use jwk::{JwkOptions, KeySetError, SkipReason, SkippedKey, DEFAULT_MAX_KEYS};
pub use key::{KeySet, ValidationKey};
pub use publish::{
    public_jwk, public_jwk_from_private, JwksService, OpenIdConfiguration,
    OpenIdConfigurationService, DEFAULT_MAX_AGE,
};
