//! DPoP (RFC 9449): sender-constrained access tokens.
//!
//! A DPoP-bound access token carries the thumbprint of the client's public key
//! (`cnf.jkt`); each request proves possession of the private key with a fresh signed
//! *proof* in the `DPoP` header. A stolen token is useless without the key.
//!
//! [`Dpop`] holds the rules and state shared by both sides of the crate:
//! - [`BearerAuthLayer::with_dpop`](crate::BearerAuthLayer::with_dpop) accepts
//!   `Authorization: DPoP <token>` with a proof, and refuses a DPoP-bound token sent as
//!   `Bearer`;
//! - `TokenEndpointBuilder::with_dpop` (feature `token-endpoint`) binds the tokens it
//!   issues to the key of a valid proof sent with the token request (`token_type: DPoP`).
//!
//! ```
//! use tower_bearer::dpop::{Dpop, MemoryReplayStore};
//! use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The URL clients use to reach this server: behind a proxy, not the Host header.
//! let dpop = Dpop::new("https://api.example.com")?.with_replay_store(MemoryReplayStore::new());
//! let validator = JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")?;
//! let layer = BearerAuthLayer::new(validator).with_dpop(dpop);
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```
//!
//! # What a proof must be (RFC 9449 §4.3)
//!
//! Exactly one `DPoP` header, at most [`DEFAULT_MAX_PROOF_LEN`] bytes, holding a compact
//! JWS with `typ: dpop+jwt`, an accepted asymmetric `alg` (never `none` or HMAC), no
//! `crit`, and the public key as `jwk` (no private members; RSA of 2048 to 8192 bits;
//! EC on the algorithm's curve). Its signature verifies with that key. Claims: `jti`
//! (1 to 256 bytes, never seen before: the [`ReplayStore`]), `htm` equal to the request
//! method, `htu` equal to the request URI without query and fragment after RFC 3986
//! normalisation ([`normalize_htu`]; the scheme and authority are the configured
//! public base URL, never the `Host` header), `iat` within [`DEFAULT_MAX_AGE`] in the
//! past and [`DEFAULT_LEEWAY`] in the future, `ath` equal to the base64url SHA-256 of
//! the access token (resource requests), and the server's `nonce` when nonces are on.
//! Then the token must be bound to the proof's key: its `cnf.jkt` equals the key's
//! RFC 7638 thumbprint ([`jwk_thumbprint`]).
//!
//! # Answers (RFC 9449 §7.1)
//!
//! | situation | status | `WWW-Authenticate` |
//! |---|---|---|
//! | proof missing, invalid, replayed | 401 | `DPoP error="invalid_dpop_proof", algs="..."` |
//! | proof without the current nonce | 401 | `DPoP error="use_dpop_nonce", algs="..."` and a `DPoP-Nonce` header |
//! | token invalid, not bound to the proof's key, or DPoP-bound but sent as `Bearer` | 401 | `DPoP error="invalid_token", algs="..."` |
//! | `DPoP` and another credential in one request | 400 | `Bearer error="invalid_request"` |
//! | replay store unreachable | 503 | none |
//!
//! A request with no credentials gets the plain `Bearer` challenge, as without DPoP.
//! gRPC calls get the gRPC shape (`grpc-status` 16) with the same challenge.

mod algorithms;
mod error;
mod htu;
mod jwk;
mod nonce;
mod proof;
mod replay;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use jsonwebtoken::{Algorithm, AlgorithmFamily};

use crate::error::{AuthError, ConfigError};

use algorithms::{join_algs, DEFAULT_ALGORITHMS};
pub use error::DpopError;
pub use htu::normalize_htu;
pub use jwk::jwk_thumbprint;
pub use proof::{ath_of, token_jkt, Proof};
#[cfg(feature = "redis")]
pub(crate) use replay::id_hex;
pub use replay::{MemoryReplayStore, ReplayStore, DEFAULT_MAX_PROOFS};

/// The `DPoP` request header (RFC 9449 §4.1).
pub static DPOP: HeaderName = HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header (RFC 9449 §8.1).
pub static DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// Default age of the oldest proof accepted (by its `iat`).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);
/// Default allowance for proofs dated in the future (client clock skew).
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);
/// Default upper bound on a proof's length, in bytes.
pub const DEFAULT_MAX_PROOF_LEN: usize = 8 * 1024;

/// DPoP proof checking: accepted algorithms, time window, replay store, nonces, and the
/// public base URL `htu` is compared with. Cheap to clone (one `Arc`).
///
/// See the [module docs](self) for the rules.
#[derive(Clone)]
pub struct Dpop {
    inner: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    /// Normalised scheme and authority (and path prefix), without a trailing slash.
    base: String,
    algorithms: Vec<Algorithm>,
    algs: Arc<str>,
    max_age: i64,
    leeway: i64,
    max_proof_len: usize,
    replay: Arc<dyn ReplayStore>,
    nonces: Option<nonce::Nonces>,
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &*self.inner;
        f.debug_struct("Dpop")
            .field("base", &config.base)
            .field("algs", &config.algs)
            .field("max_age", &config.max_age)
            .field("leeway", &config.leeway)
            .field("max_proof_len", &config.max_proof_len)
            .field("nonces", &config.nonces.is_some())
            .finish_non_exhaustive()
    }
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

impl Dpop {
    /// Proof checking for a server reached at `public_base_url`: the scheme and
    /// authority clients use (`https://api.example.com`), optionally with a path prefix
    /// a proxy strips (`https://example.com/api`). The request's path is appended to
    /// form the expected `htu`. Proofs are remembered in a [`MemoryReplayStore`] until
    /// [`with_replay_store`](Self::with_replay_store) says otherwise.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] if the URL is not an absolute `http`/`https` URL
    /// without user information, query or fragment.
    pub fn new(public_base_url: &str) -> Result<Self, ConfigError> {
        let invalid = ConfigError::InvalidUrl("DPoP public base URL");
        if public_base_url.contains(['?', '#']) {
            return Err(invalid);
        }
        let mut base = normalize_htu(public_base_url).ok_or(invalid)?;
        while base.ends_with('/') {
            base.pop();
        }
        let algs = join_algs(&DEFAULT_ALGORITHMS);
        Ok(Self {
            inner: Arc::new(Config {
                base,
                algorithms: DEFAULT_ALGORITHMS.to_vec(),
                algs,
                max_age: secs(DEFAULT_MAX_AGE),
                leeway: secs(DEFAULT_LEEWAY),
                max_proof_len: DEFAULT_MAX_PROOF_LEN,
                replay: Arc::new(MemoryReplayStore::new()),
                nonces: None,
            }),
        })
    }

    fn config(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.inner)
    }

    /// The proof algorithms accepted, in the order announced in the challenges' `algs`
    /// (default `ES256 EdDSA Ed25519 ES384 PS256 RS256`: [`Algorithm::EdDSA`] stands for
    /// Ed25519 keys under either name, RFC 9864's `Ed25519` being what newer clients
    /// send).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`] for an empty list, and
    /// [`ConfigError::KeyAlgorithmMismatch`] for an HMAC algorithm: a proof must be
    /// signed with a private key only the client holds.
    pub fn with_algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, ConfigError> {
        let mut chosen = Vec::new();
        for algorithm in algorithms {
            if algorithm.family() == AlgorithmFamily::Hmac
                || crate::keys::algorithm::name(algorithm).is_none()
            {
                return Err(ConfigError::KeyAlgorithmMismatch);
            }
            if !chosen.contains(&algorithm) {
                chosen.push(algorithm);
            }
        }
        if chosen.is_empty() {
            return Err(ConfigError::Missing("DPoP algorithms"));
        }
        let config = self.config();
        config.algs = join_algs(&chosen);
        config.algorithms = chosen;
        Ok(self)
    }

    /// Oldest proof accepted, by its `iat` (default [`DEFAULT_MAX_AGE`]). Used proofs
    /// are remembered this long (plus the leeway).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.config().max_age = secs(max_age);
        self
    }

    /// How far in the future a proof's `iat` may be (default [`DEFAULT_LEEWAY`]).
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.config().leeway = secs(leeway);
        self
    }

    /// Longest proof accepted, in bytes (default [`DEFAULT_MAX_PROOF_LEN`]).
    #[must_use]
    pub fn with_max_proof_len(mut self, max: usize) -> Self {
        self.config().max_proof_len = max;
        self
    }

    /// Where used proofs are remembered: a [`MemoryReplayStore`] (the default) for one
    /// node, a shared store (`RedisStore`, feature `redis`) when several nodes serve
    /// the same URL.
    #[must_use]
    pub fn with_replay_store(mut self, store: impl ReplayStore) -> Self {
        self.config().replay = Arc::new(store);
        self
    }

    /// Requires server-provided nonces (RFC 9449 §9): a proof must carry a `nonce`
    /// issued in the current or the previous `period`, else the answer is
    /// `use_dpop_nonce` with a fresh one in `DPoP-Nonce`. Nonces are an HMAC of the
    /// time window under `secret` (at least 32 bytes), so nodes sharing the secret share
    /// nonces without a store.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HmacKeyTooShort`] for a shorter secret,
    /// [`ConfigError::OutOfRange`] for a period under a second.
    pub fn with_nonces(mut self, secret: &[u8], period: Duration) -> Result<Self, ConfigError> {
        self.config().nonces = Some(nonce::Nonces::new(secret, period)?);
        Ok(self)
    }

    /// The challenge's `algs` value: the accepted algorithms, space-separated.
    #[must_use]
    pub fn algs(&self) -> &str {
        &self.inner.algs
    }

    /// A nonce to hand out now (`None` when nonces are off).
    #[must_use]
    pub fn current_nonce(&self) -> Option<String> {
        let now = crate::store::now();
        self.inner.nonces.as_ref().map(|n| n.current(now))
    }

    /// The normalised `htu` a proof for a request to `path` must carry.
    #[must_use]
    pub fn expected_htu(&self, path: &str) -> Option<String> {
        htu::normalize_path(path).map(|path| format!("{}{path}", self.inner.base))
    }

    /// Checks the proof of a request (`method`, `path`, its headers), everything but
    /// replay: see [`Proof::record`]. `access_token` is the token the request presents
    /// (`ath` is then required and checked); `None` at the token endpoint.
    ///
    /// # Errors
    ///
    /// The [`DpopError`] to answer with.
    pub fn check(
        &self,
        headers: &HeaderMap,
        method: &Method,
        path: &str,
        access_token: Option<&str>,
    ) -> Result<Proof, DpopError> {
        self.check_at(headers, method, path, access_token, crate::store::now())
    }

    /// The [`AuthError`] for `error` on the resource side: a `DPoP` challenge with this
    /// configuration's `algs`, and a fresh nonce for `use_dpop_nonce`.
    #[must_use]
    pub fn refusal(&self, error: DpopError) -> AuthError {
        let nonce = match error {
            DpopError::UseNonce => self
                .current_nonce()
                .and_then(|n| HeaderValue::try_from(n).ok()),
            _ => None,
        };
        AuthError::Dpop {
            error,
            algs: Arc::clone(&self.inner.algs),
            nonce,
        }
    }
}

#[cfg(test)]
mod tests;
