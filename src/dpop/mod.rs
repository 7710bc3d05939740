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

mod htu;
mod jwk;
mod nonce;
mod replay;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::de::{self, IgnoredAny};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{AuthError, ConfigError, InvalidToken};
use crate::store::{BoxFuture, StoreError};

pub use htu::normalize_htu;
pub use jwk::jwk_thumbprint;
pub use replay::{MemoryReplayStore, ProofId, ReplayStore, DEFAULT_MAX_PROOFS};

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
/// Longest `jti` accepted, in bytes.
const MAX_JTI_LEN: usize = 256;

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

/// The algorithms accepted by default.
const DEFAULT_ALGORITHMS: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::ES384,
    Algorithm::PS256,
    Algorithm::RS256,
];

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        _ => "",
    }
}

fn parse_algorithm(name: &str) -> Option<Algorithm> {
    // Case-sensitive (RFC 7515 §4.1.1): `none` and the HMAC names are not here.
    Some(match name {
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        // RFC 9864's fully-specified name, which newer clients send.
        "EdDSA" | "Ed25519" => Algorithm::EdDSA,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        _ => return None,
    })
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
    /// [`ConfigError::InvalidValue`] if the URL is not an absolute `http`/`https` URL
    /// without user information, query or fragment.
    pub fn new(public_base_url: &str) -> Result<Self, ConfigError> {
        let invalid = ConfigError::InvalidValue("DPoP public base URL");
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
    /// [`ConfigError::InvalidValue`] for an empty list, and
    /// [`ConfigError::KeyAlgorithmMismatch`] for an HMAC algorithm: a proof must be
    /// signed with a private key only the client holds.
    pub fn with_algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, ConfigError> {
        let mut chosen = Vec::new();
        for algorithm in algorithms {
            if algorithm.family() == AlgorithmFamily::Hmac || algorithm_name(algorithm).is_empty() {
                return Err(ConfigError::KeyAlgorithmMismatch);
            }
            if !chosen.contains(&algorithm) {
                chosen.push(algorithm);
            }
        }
        if chosen.is_empty() {
            return Err(ConfigError::InvalidValue("DPoP algorithms"));
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
    /// [`ConfigError::InvalidValue`] for a period under a second.
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

    pub(crate) fn check_at(
        &self,
        headers: &HeaderMap,
        method: &Method,
        path: &str,
        access_token: Option<&str>,
        now: i64,
    ) -> Result<Proof, DpopError> {
        let config = &*self.inner;
        let mut values = headers.get_all(&DPOP).iter();
        let value = values.next().ok_or(ProofError::Missing)?;
        if values.next().is_some() {
            return Err(ProofError::Multiple.into());
        }
        let value = value.as_bytes();
        if value.len() > config.max_proof_len {
            return Err(ProofError::TooLong.into());
        }
        let proof = std::str::from_utf8(value).map_err(|_| ProofError::Malformed)?;
        let mut parts = proof.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ProofError::Malformed.into());
        };
        if header.is_empty() || payload.is_empty() || signature.is_empty() {
            return Err(ProofError::Malformed.into());
        }
        let signing_input = &proof.as_bytes()[..header.len() + 1 + payload.len()];

        let header: ProofHeader =
            serde_json::from_slice(&decode(header)?).map_err(|_| ProofError::Malformed)?;
        if !header
            .typ
            .is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt"))
        {
            return Err(ProofError::WrongType.into());
        }
        let algorithm = parse_algorithm(&header.alg)
            .filter(|a| config.algorithms.contains(a))
            .ok_or(ProofError::UnsupportedAlgorithm)?;
        if header.crit {
            return Err(ProofError::UnsupportedCriticalHeader.into());
        }
        let jwk = header.jwk.ok_or(ProofError::MissingKey)?;
        let key = jwk::proof_key(&jwk, algorithm)?;
        let signature = decode(signature)?;
        let verifier = (crate::validate::crypto_provider().verifier_factory)(&algorithm, &key.key)
            .map_err(|_| ProofError::InvalidKey)?;
        verifier
            .verify(signing_input, &signature)
            .map_err(|_| ProofError::BadSignature)?;

        let claims: ProofClaims =
            serde_json::from_slice(&decode(payload)?).map_err(|_| ProofError::Malformed)?;
        let jti = claims.jti.ok_or(ProofError::MissingClaim("jti"))?;
        if jti.is_empty() || jti.len() > MAX_JTI_LEN {
            return Err(ProofError::InvalidClaim("jti").into());
        }
        let htm = claims.htm.ok_or(ProofError::MissingClaim("htm"))?;
        if htm != method.as_str() {
            return Err(ProofError::WrongMethod.into());
        }
        let htu = claims.htu.ok_or(ProofError::MissingClaim("htu"))?;
        let expected = self.expected_htu(path).ok_or(ProofError::WrongUri)?;
        if normalize_htu(&htu).as_deref() != Some(expected.as_str()) {
            return Err(ProofError::WrongUri.into());
        }
        let iat = claims.iat.ok_or(ProofError::MissingClaim("iat"))?;
        let iat = numeric_date(&iat).ok_or(ProofError::InvalidClaim("iat"))?;
        if iat < now.saturating_sub(config.max_age) || iat > now.saturating_add(config.leeway) {
            return Err(ProofError::Stale.into());
        }
        if let Some(token) = access_token {
            let ath = claims.ath.ok_or(ProofError::MissingClaim("ath"))?;
            if !constant_time_eq(&ath, &ath_of(token)) {
                return Err(ProofError::WrongAccessTokenHash.into());
            }
        }
        if let Some(nonces) = &config.nonces {
            match &claims.nonce {
                Some(nonce) if nonces.accepts(nonce, now) => {}
                _ => return Err(DpopError::UseNonce),
            }
        }

        let mut id = Sha256::new();
        id.update(key.thumbprint.as_bytes());
        id.update([0]);
        id.update(jti.as_bytes());
        // Kept until the proof would be refused as stale anyway.
        let remaining = iat
            .saturating_add(config.max_age)
            .saturating_sub(now)
            .saturating_add(1);
        Ok(Proof {
            jkt: key.thumbprint,
            id: ProofId(id.finalize().into()),
            ttl: Duration::from_secs(u64::try_from(remaining.max(1)).unwrap_or(1)),
            replay: Arc::clone(&config.replay),
        })
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
        AuthError::Dpop(DpopRefusal {
            error,
            algs: Arc::clone(&self.inner.algs),
            nonce,
        })
    }
}

fn join_algs(algorithms: &[Algorithm]) -> Arc<str> {
    algorithms
        .iter()
        .map(|a| match a {
            Algorithm::EdDSA => "EdDSA Ed25519",
            other => algorithm_name(*other),
        })
        .collect::<Vec<_>>()
        .join(" ")
        .into()
}

fn decode(segment: &str) -> Result<Vec<u8>, ProofError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| ProofError::Malformed)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// RFC 7519 NumericDate: a JSON number, possibly with a fraction; whole seconds.
fn numeric_date(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    if let Some(i) = number.as_i64() {
        return Some(i);
    }
    let f = number.as_f64()?;
    (f.is_finite() && f.abs() < 1e15).then(|| f.floor() as i64)
}

/// The `ath` of an access token: base64url(SHA-256(token)) (RFC 9449 §4.2).
#[must_use]
pub fn ath_of(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// The `cnf.jkt` of a JWT access token, read from its payload (the signature is not
/// checked here: call it on tokens a validator accepted). `None` if the token is not a
/// JWT or carries no `cnf.jkt` string.
#[must_use]
pub fn token_jkt(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Payload {
        cnf: Option<Cnf>,
    }
    #[derive(Deserialize)]
    struct Cnf {
        jkt: Option<Value>,
    }
    let mut parts = token.split('.');
    let (_, payload) = (parts.next()?, parts.next()?);
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let payload: Payload = serde_json::from_slice(&json).ok()?;
    match payload.cnf?.jkt? {
        Value::String(jkt) => Some(jkt),
        // Bound, but to nothing a proof can match: never accepted as a bearer token,
        // never matched by a proof.
        _ => Some(String::new()),
    }
}

#[derive(Deserialize)]
struct ProofHeader {
    typ: Option<String>,
    alg: String,
    jwk: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<Value>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// `true` whenever the member is present, whatever its value.
fn present<'de, D: de::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// A proof that passed every check but replay: record it with [`Proof::record`].
pub struct Proof {
    jkt: String,
    id: ProofId,
    ttl: Duration,
    replay: Arc<dyn ReplayStore>,
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proof")
            .field("jkt", &self.jkt)
            .field("id", &self.id)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Proof {
    /// The RFC 7638 thumbprint of the proof's key: the `cnf.jkt` a token bound to it
    /// carries.
    #[must_use]
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// `true` if `jkt` (a token's `cnf.jkt`) names this proof's key.
    #[must_use]
    pub fn binds(&self, jkt: &str) -> bool {
        constant_time_eq(jkt, &self.jkt)
    }

    /// Records the proof in the replay store: `Ok(())` on first use,
    /// [`ProofError::Replayed`] for a proof seen before, the store's error when it
    /// cannot answer.
    pub fn record(&self) -> BoxFuture<'static, Result<(), Result<DpopError, StoreError>>> {
        let answer = self.replay.first_use(self.id, self.ttl);
        Box::pin(async move {
            match answer.await {
                Ok(true) => Ok(()),
                Ok(false) => Err(Ok(ProofError::Replayed.into())),
                Err(e) => Err(Err(e)),
            }
        })
    }
}

/// Why a DPoP request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopError {
    /// The proof is missing or invalid (`invalid_dpop_proof`).
    InvalidProof(ProofError),
    /// The proof does not carry the current server nonce (`use_dpop_nonce`).
    UseNonce,
    /// The token sent with the `DPoP` scheme was refused (`invalid_token`).
    InvalidToken(InvalidToken),
    /// The token is not bound to the proof's key (`invalid_token`).
    KeyMismatch,
    /// A DPoP-bound token was sent with the `Bearer` scheme (`invalid_token`).
    BoundTokenAsBearer,
}

impl From<ProofError> for DpopError {
    fn from(error: ProofError) -> Self {
        Self::InvalidProof(error)
    }
}

impl DpopError {
    /// The `error` code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidProof(_) => "invalid_dpop_proof",
            Self::UseNonce => "use_dpop_nonce",
            Self::InvalidToken(_) | Self::KeyMismatch | Self::BoundTokenAsBearer => "invalid_token",
        }
    }

    /// The fixed `error_description`.
    #[must_use]
    pub fn description(&self) -> &str {
        match self {
            Self::InvalidProof(reason) => reason.description(),
            Self::UseNonce => "A DPoP proof with the server nonce is required",
            Self::InvalidToken(reason) => reason.description(),
            Self::KeyMismatch => "Invalid DPoP key binding",
            Self::BoundTokenAsBearer => {
                "The access token is DPoP-bound and must be sent with the DPoP scheme"
            }
        }
    }
}

/// Why a proof was refused (`invalid_dpop_proof`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// No `DPoP` header.
    Missing,
    /// More than one `DPoP` header.
    Multiple,
    /// Longer than the configured limit.
    TooLong,
    /// Not a compact JWS with JSON header and claims.
    Malformed,
    /// `typ` is not `dpop+jwt`.
    WrongType,
    /// `alg` is not one of the accepted asymmetric algorithms.
    UnsupportedAlgorithm,
    /// The header lists a critical extension.
    UnsupportedCriticalHeader,
    /// No `jwk` header.
    MissingKey,
    /// The `jwk` has private key members.
    PrivateKey,
    /// The `jwk` is not a usable public key.
    InvalidKey,
    /// The `jwk` does not fit `alg`.
    KeyAlgorithmMismatch,
    /// The signature does not verify with the `jwk`.
    BadSignature,
    /// A required claim is absent.
    MissingClaim(&'static str),
    /// A claim has an unusable value.
    InvalidClaim(&'static str),
    /// `htm` is not the request method.
    WrongMethod,
    /// `htu` is not the request URI.
    WrongUri,
    /// `iat` is outside the accepted window.
    Stale,
    /// `ath` is not the hash of the access token.
    WrongAccessTokenHash,
    /// The proof was used before.
    Replayed,
}

impl ProofError {
    /// The fixed `error_description`.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::Missing => "A DPoP proof is required",
            Self::Multiple => "More than one DPoP header",
            Self::TooLong => "The DPoP proof is too long",
            Self::Malformed => "The DPoP proof is malformed",
            Self::WrongType => "The DPoP proof typ must be dpop+jwt",
            Self::UnsupportedAlgorithm => "The DPoP proof algorithm is not accepted",
            Self::UnsupportedCriticalHeader => "The DPoP proof has an unsupported critical header",
            Self::MissingKey => "The DPoP proof has no jwk header",
            Self::PrivateKey => "The DPoP proof jwk contains private key material",
            Self::InvalidKey => "The DPoP proof jwk is not a usable public key",
            Self::KeyAlgorithmMismatch => "The DPoP proof jwk does not fit its algorithm",
            Self::BadSignature => "The DPoP proof signature is invalid",
            Self::MissingClaim("ath") => "The DPoP proof has no ath claim",
            Self::MissingClaim("jti") => "The DPoP proof has no jti claim",
            Self::MissingClaim("htm") => "The DPoP proof has no htm claim",
            Self::MissingClaim("htu") => "The DPoP proof has no htu claim",
            Self::MissingClaim("iat") => "The DPoP proof has no iat claim",
            Self::MissingClaim(_) => "The DPoP proof lacks a required claim",
            Self::InvalidClaim("jti") => "The DPoP proof jti claim is invalid",
            Self::InvalidClaim("iat") => "The DPoP proof iat claim is invalid",
            Self::InvalidClaim(_) => "A DPoP proof claim is invalid",
            Self::WrongMethod => "The DPoP proof htm does not match the request method",
            Self::WrongUri => "The DPoP proof htu does not match the request URI",
            Self::Stale => "The DPoP proof iat is outside the accepted window",
            Self::WrongAccessTokenHash => "The DPoP proof ath does not match the access token",
            Self::Replayed => "The DPoP proof was already used",
        }
    }
}

/// A DPoP refusal as the bearer layer answers it: the error, the `algs` to announce,
/// and for `use_dpop_nonce` the nonce for the `DPoP-Nonce` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopRefusal {
    error: DpopError,
    algs: Arc<str>,
    nonce: Option<HeaderValue>,
}

impl DpopRefusal {
    /// Why.
    #[must_use]
    pub fn error(&self) -> &DpopError {
        &self.error
    }

    /// The challenge's `algs` value.
    #[must_use]
    pub fn algs(&self) -> &str {
        &self.algs
    }

    /// The `DPoP-Nonce` to send, for `use_dpop_nonce`.
    #[must_use]
    pub fn nonce(&self) -> Option<&HeaderValue> {
        self.nonce.as_ref()
    }
}

#[cfg(test)]
mod tests;
