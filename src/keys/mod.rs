//! Asymmetric key sets: keys with a `kid` from PEM, DER or JWK (RFC 7517), and the
//! documents an issuer publishes for its validators.
//!
//! - [`ValidationKey`] and [`KeySet`]: public keys with their `kid` and algorithm;
//!   [`KeySet::to_validator`] turns them into a [`JwtValidator`](crate::JwtValidator)
//!   that picks the key by the token's `kid`.
//! - [`KeySet::from_json`]: a fetched JWK set, filtered by the rules of [`JwkOptions`]
//!   (signature keys only, no private or symmetric keys, an algorithm that is stated or
//!   fixed by the curve, a bounded number of keys).
//! - [`public_jwk`], [`public_jwk_from_private`] and
//!   [`AuthorizationServerMetadata::openid_for_issuer`](crate::metadata::AuthorizationServerMetadata::openid_for_issuer):
//!   the issuer side; [`WellKnownService`](crate::metadata::WellKnownService) serves them at
//!   `/.well-known/jwks.json` (public members only) and a minimal
//!   `/.well-known/openid-configuration`.
//! - [`SigningKeys`]: the issuer's signing keys with rotation without restart, shared
//!   by its token issuer and its JWK-set endpoint.
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
//!
//! # Reading a JWK set
//!
//! Rules, applied to each member in order; a member that fails one is skipped (and
//! listed in [`KeySet::skipped`]), the others are kept:
//!
//! 1. `use`, when present, must be `sig`; `key_ops`, when present, must list `verify`.
//! 2. No private or secret members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`): a
//!    published private key is a leaked key, and a symmetric (`oct`) key read from a
//!    public document would let anyone who can read the document forge tokens.
//! 3. `kty` is `RSA`, `EC` or `OKP`.
//! 4. The algorithm: the member's `alg` when present, which must be a JWS algorithm of
//!    the key's type (and for EC of its curve: `ES256` with `P-256`, `ES384` with
//!    `P-384`). Without `alg`, it is inferred only where RFC 7518 §3.4 and RFC 8037 §3.1
//!    leave one choice: `P-256` → `ES256`, `P-384` → `ES384`, `Ed25519` → `EdDSA`. An
//!    RSA key without `alg` could be any of six algorithms, so it is **skipped**
//!    unless [`JwkOptions::with_rsa_default_algorithm`] names the one to use.
//! 5. The key material must be usable by the crypto backend, and an RSA modulus at
//!    least 2048 bits long (RFC 7518 §3.3).
//! 6. A `kid` seen in an earlier member is skipped (the first one wins).
//!
//! The document as a whole is refused ([`KeySetError`]) when it is not a JSON object
//! with a `keys` array, when the array has more members than
//! [`JwkOptions::with_max_keys`] allows (default [`DEFAULT_MAX_KEYS`]), or when no
//! member is usable.

pub(crate) mod algorithm;
mod jwk;
mod key;
pub(crate) mod low_s;
mod publish;
mod rotation;

pub use crate::metadata::DEFAULT_MAX_AGE;
pub use jwk::{JwkOptions, KeySetError, DEFAULT_MAX_KEYS};
pub use key::{KeySet, ValidationKey};
pub(crate) use publish::serialize_set;
pub use publish::{public_jwk, public_jwk_from_private};
#[cfg(any(feature = "token-endpoint", feature = "test-util"))]
pub(crate) use rotation::SignerKey;
pub use rotation::{SigningKeys, DEFAULT_OVERLAP};
