//! Checking a proof (RFC 9449 §4.3), read top-down: the `DPoP` header, the JWS and
//! its key, the claims, then the [`Proof`] to record against replay.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::{HeaderMap, Method};
use serde::de::{self, IgnoredAny};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::algorithms::parse_algorithm;
use super::jwk::{self, ProofKey};
use super::{normalize_htu, Config, Dpop, DpopError, ReplayStore, DPOP};
use crate::store::{BoxFuture, StoreError};

/// Longest `jti` accepted, in bytes.
const MAX_JTI_LEN: usize = 256;

impl Dpop {
    pub(crate) fn check_at(
        &self,
        headers: &HeaderMap,
        method: &Method,
        path: &str,
        access_token: Option<&str>,
        now: i64,
    ) -> Result<Proof, DpopError> {
        let config = &*self.inner;
        let proof = proof_header(headers, config.max_proof_len)?;
        let (header, payload, signature, signing_input) = compact_parts(proof)?;
        let key = verify_signature(config, header, signature, signing_input)?;
        let claims: ProofClaims =
            serde_json::from_slice(&decode(payload)?).map_err(|_| DpopError::Malformed)?;
        let (jti, iat) = self.check_claims(claims, method, path, access_token, now)?;
        Ok(config.proof(key, &jti, iat, now))
    }

    /// The claims' rules: `jti`, `htm`, `htu`, `iat`, `ath` and the nonce. Returns the
    /// `jti` and `iat`.
    fn check_claims(
        &self,
        claims: ProofClaims,
        method: &Method,
        path: &str,
        access_token: Option<&str>,
        now: i64,
    ) -> Result<(String, i64), DpopError> {
        let config = &*self.inner;
        let jti = claims.jti.ok_or(DpopError::MissingClaim("jti"))?;
        if jti.is_empty() || jti.len() > MAX_JTI_LEN {
            return Err(DpopError::InvalidClaim("jti"));
        }
        let htm = claims.htm.ok_or(DpopError::MissingClaim("htm"))?;
        if htm != method.as_str() {
            return Err(DpopError::WrongMethod);
        }
        let htu = claims.htu.ok_or(DpopError::MissingClaim("htu"))?;
        let expected = self.expected_htu(path).ok_or(DpopError::WrongUri)?;
        if normalize_htu(&htu).as_deref() != Some(expected.as_str()) {
            return Err(DpopError::WrongUri);
        }
        let iat = claims.iat.ok_or(DpopError::MissingClaim("iat"))?;
        let iat = numeric_date(&iat).ok_or(DpopError::InvalidClaim("iat"))?;
        if iat < now.saturating_sub(config.max_age) || iat > now.saturating_add(config.leeway) {
            return Err(DpopError::Stale);
        }
        if let Some(token) = access_token {
            let ath = claims.ath.ok_or(DpopError::MissingClaim("ath"))?;
            if !constant_time_eq(&ath, &ath_of(token)) {
                return Err(DpopError::WrongAccessTokenHash);
            }
        }
        if let Some(nonces) = &config.nonces {
            match &claims.nonce {
                Some(nonce) if nonces.accepts(nonce, now) => {}
                _ => return Err(DpopError::UseNonce),
            }
        }
        Ok((jti, iat))
    }
}

impl Config {
    /// The checked proof: its key's thumbprint, its replay id and how long to keep it.
    fn proof(&self, key: ProofKey, jti: &str, iat: i64, now: i64) -> Proof {
        let mut id = Sha256::new();
        id.update(key.thumbprint.as_bytes());
        id.update([0]);
        id.update(jti.as_bytes());
        // Kept until the proof would be refused as stale anyway.
        let remaining = iat
            .saturating_add(self.max_age)
            .saturating_sub(now)
            .saturating_add(1);
        Proof {
            jkt: key.thumbprint,
            id: id.finalize().into(),
            ttl: Duration::from_secs(u64::try_from(remaining.max(1)).unwrap_or(1)),
            replay: Arc::clone(&self.replay),
        }
    }
}

/// The one `DPoP` header, within `max_len` bytes, as text.
fn proof_header(headers: &HeaderMap, max_len: usize) -> Result<&str, DpopError> {
    let mut values = headers.get_all(&DPOP).iter();
    let value = values.next().ok_or(DpopError::Missing)?;
    if values.next().is_some() {
        return Err(DpopError::Multiple);
    }
    let value = value.as_bytes();
    if value.len() > max_len {
        return Err(DpopError::TooLong);
    }
    std::str::from_utf8(value).map_err(|_| DpopError::Malformed)
}

/// The three non-empty segments of a compact JWS, and its signing input.
fn compact_parts(proof: &str) -> Result<(&str, &str, &str, &[u8]), DpopError> {
    let mut parts = proof.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DpopError::Malformed);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(DpopError::Malformed);
    }
    let signing_input = &proof.as_bytes()[..header.len() + 1 + payload.len()];
    Ok((header, payload, signature, signing_input))
}

/// The header's rules (`typ`, `alg`, no `crit`, a `jwk`), then the signature under the
/// header's key.
fn verify_signature(
    config: &Config,
    header: &str,
    signature: &str,
    signing_input: &[u8],
) -> Result<ProofKey, DpopError> {
    let header: ProofHeader =
        serde_json::from_slice(&decode(header)?).map_err(|_| DpopError::Malformed)?;
    if !header
        .typ
        .is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(DpopError::WrongType);
    }
    let algorithm = parse_algorithm(&header.alg)
        .filter(|a| config.algorithms.contains(a))
        .ok_or(DpopError::UnsupportedAlgorithm)?;
    if header.crit {
        return Err(DpopError::UnsupportedCriticalHeader);
    }
    let jwk = header.jwk.ok_or(DpopError::MissingKey)?;
    let key = jwk::proof_key(&jwk, algorithm)?;
    let signature = decode(signature)?;
    let verifier = (crate::validate::crypto_provider().verifier_factory)(&algorithm, &key.key)
        .map_err(|_| DpopError::InvalidKey)?;
    verifier
        .verify(signing_input, &signature)
        .map_err(|_| DpopError::BadSignature)?;
    Ok(key)
}

fn decode(segment: &str) -> Result<Vec<u8>, DpopError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| DpopError::Malformed)
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
    id: [u8; 32],
    /// How long the replay store keeps it.
    pub(super) ttl: Duration,
    replay: Arc<dyn ReplayStore>,
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proof")
            .field("jkt", &self.jkt)
            .field("id", &super::replay::id_hex(&self.id))
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
    /// [`DpopError::Replayed`] for a proof seen before, the store's error when it
    /// cannot answer.
    pub fn record(&self) -> BoxFuture<'static, Result<(), Result<DpopError, StoreError>>> {
        let answer = self.replay.first_use(self.id, self.ttl);
        Box::pin(async move {
            match answer.await {
                Ok(true) => Ok(()),
                Ok(false) => Err(Ok(DpopError::Replayed)),
                Err(e) => Err(Err(e)),
            }
        })
    }
}
