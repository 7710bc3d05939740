//! The verify pipeline, read top-down: split the token, check the header and the
//! signature, then read the claims (the one-pass scan first, serde for the rest) and
//! check the registered ones.

use std::any::{Any, TypeId};

use jsonwebtoken::Algorithm;
use serde::de::DeserializeOwned;

use super::header::{is_access_token_type, Header};
use super::registered::Registered;
use super::{
    base64url, scan, scanned, JwtValidator, MAX_KIDLESS_TRIES, SMALL_SEGMENT, STACK_SEGMENT,
};
use crate::claims::Claims;
use crate::error::{AuthError, InvalidToken};
use crate::keys::algorithm;

pub(crate) use crate::clock::now;

impl<T: DeserializeOwned + 'static> JwtValidator<T> {
    /// Validates `token` and returns its claims.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] with the reason the token was refused.
    #[inline]
    pub fn verify(&self, token: &str) -> Result<T, AuthError> {
        self.verify_token(token).map_err(AuthError::InvalidToken)
    }

    #[inline]
    fn verify_token(&self, token: &str) -> Result<T, InvalidToken> {
        self.verify_timed(token).map(|(claims, _)| claims)
    }

    /// Validates `token`, returning its claims and its `exp`/`nbf` (for caches).
    #[inline]
    pub(crate) fn verify_timed(&self, token: &str) -> Result<(T, Times), InvalidToken> {
        let payload = self.verify_signed(token)?;
        with_segment(payload, |json| self.read_claims(json))
    }

    /// As [`verify_timed`](Self::verify_timed), for a caller that has already decoded
    /// `token`'s payload segment into `json` (the multi-issuer routing reads `iss`
    /// first): the payload is not decoded twice.
    #[cfg(feature = "jwks-core")]
    #[inline]
    pub(crate) fn verify_decoded(
        &self,
        token: &str,
        json: &[u8],
    ) -> Result<(T, Times), InvalidToken> {
        self.verify_signed(token)?;
        self.read_claims(json)
    }

    /// Checks the token's form, its header and its signature; returns its payload
    /// segment (still base64url), which the signature covers.
    #[inline]
    fn verify_signed<'t>(&self, token: &'t str) -> Result<&'t [u8], InvalidToken> {
        let settings = &*self.inner;
        let bytes = token.as_bytes();
        if bytes.len() > settings.max_token_len {
            return Err(InvalidToken::TooLong);
        }
        let mut dots = memchr::memchr_iter(b'.', bytes);
        let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
            return Err(InvalidToken::Malformed);
        };
        let (header, payload, signature) = (
            &bytes[..first],
            &bytes[first + 1..second],
            &bytes[second + 1..],
        );
        if header.is_empty() || payload.is_empty() || signature.is_empty() {
            return Err(InvalidToken::Malformed);
        }
        let known = settings
            .known_headers
            .iter()
            .find(|known| *known.segment == *header);
        let signing_input = &bytes[..second];
        match known {
            Some(known) => self.verify_signature(
                known.algorithm,
                known.kid.as_deref(),
                signing_input,
                signature,
            )?,
            None => self.parse_header(header, signing_input, signature)?,
        }
        Ok(payload)
    }

    /// Reads the claims of a verified token from its decoded payload and checks the
    /// registered ones.
    #[inline]
    fn read_claims(&self, json: &[u8]) -> Result<(T, Times), InvalidToken> {
        let text = json_object_text(json).ok_or(InvalidToken::Malformed)?;
        // The usual payload is read once; anything else takes the serde path.
        let mut flat = scan::FlatClaims::default();
        let scope_name = self.inner.scope_claim.as_deref();
        if TypeId::of::<T>() == TypeId::of::<Claims>() {
            // The default claims are built from the registered claims read.
            if scan::scan_with(text, &mut flat, scope_name, &mut ()).is_none() {
                return self.read_with_serde(json, text, scope_name);
            }
            self.claims_from_flat(text, &flat)
        } else {
            // Any other type is read from the members the scan recorded.
            let mut members = scan::Members::new();
            if scan::scan_with(text, &mut flat, scope_name, &mut members).is_none() {
                return self.read_with_serde(json, text, scope_name);
            }
            let times = self.check_registered(&flat.registered)?;
            let claims = scanned::read(text, &members)
                .map_err(|_| crate::validate::shape::shape_error::<T>(text))?;
            trace_accepted(&flat.registered);
            Ok((claims, times))
        }
    }

    /// The claims of a verified token from what the scan read of `text`, its payload,
    /// when `T` is [`Claims`] (any other `T` is read by serde from `text`).
    #[inline]
    fn claims_from_flat(
        &self,
        text: &str,
        flat: &scan::FlatClaims<'_>,
    ) -> Result<(T, Times), InvalidToken> {
        let times = self.check_registered(&flat.registered)?;
        let claims = match default_claims(flat) {
            Some(claims) => claims,
            None => serde_json::from_str(text)
                .map_err(|_| crate::validate::shape::shape_error::<T>(text))?,
        };
        trace_accepted(&flat.registered);
        Ok((claims, times))
    }

    /// As [`verify_timed`](Self::verify_timed), for a caller that has already decoded
    /// `token`'s payload into `text` and scanned it into `flat` with no scope claim
    /// name of its own (the multi-issuer routing, which reads `iss` that way): the
    /// signature is verified first, then the claims are built from that reading.
    #[cfg(feature = "jwks-core")]
    #[inline]
    pub(crate) fn verify_scanned(
        &self,
        token: &str,
        text: &str,
        flat: &scan::FlatClaims<'_>,
    ) -> Result<(T, Times), InvalidToken> {
        self.verify_signed(token)?;
        if self.inner.scope_claim.is_some() || TypeId::of::<T>() != TypeId::of::<Claims>() {
            // Read with this validator's own settings and claims type.
            return self.read_claims(text.as_bytes());
        }
        self.claims_from_flat(text, flat)
    }

    /// A payload the scan does not read: serde reads the registered claims, then `T`.
    #[cold]
    pub(super) fn read_with_serde(
        &self,
        json: &[u8],
        text: &str,
        scope_name: Option<&str>,
    ) -> Result<(T, Times), InvalidToken> {
        let registered = Registered::parse_with(json, scope_name)?;
        let times = self.check_registered(&registered)?;
        let mut claims = serde_json::from_str(text)
            .map_err(|_| crate::validate::shape::shape_error::<T>(text))?;
        if let Some(name) = scope_name {
            named_scope(&mut claims, text, name)?;
        }
        trace_accepted(&registered);
        Ok((claims, times))
    }

    /// Decodes and parses a header segment, and verifies the signature with the key it
    /// names.
    #[cold]
    fn parse_header(
        &self,
        header: &[u8],
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidToken> {
        with_segment(header, |json| {
            if !is_json_object(json) {
                return Err(InvalidToken::Malformed);
            }
            let header: Header<'_> =
                serde_json::from_slice(json).map_err(|_| InvalidToken::Malformed)?;
            if header.crit {
                return Err(InvalidToken::UnsupportedCriticalHeader);
            }
            let algorithm =
                algorithm::parse(&header.alg).ok_or(InvalidToken::UnsupportedAlgorithm)?;
            if self.inner.require_at_jwt && !header.typ.as_deref().is_some_and(is_access_token_type)
            {
                return Err(InvalidToken::WrongType);
            }
            self.verify_signature(algorithm, header.kid.as_deref(), signing_input, signature)
        })
    }

    /// Verifies with the key named by `kid`; without one (or with a `kid` no key has),
    /// with each key of `algorithm` that has no `kid`, up to [`MAX_KIDLESS_TRIES`]. A
    /// `kid` no key has whose fallback fails is an unknown key (a JWK set refreshes).
    #[inline]
    fn verify_signature(
        &self,
        algorithm: Algorithm,
        kid: Option<&str>,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidToken> {
        let settings = &*self.inner;
        let keys = &settings.keys;
        if let Some(kid) = kid {
            let mut named = keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .peekable();
            if named.peek().is_some() {
                // A `kid` may name one key under several algorithms (an RSA JWK without
                // `alg`); the token's must be one of them.
                return match named.find(|k| k.algorithm == algorithm) {
                    Some(key) => key.verify(signing_input, signature, settings.require_low_s),
                    None => Err(InvalidToken::UnsupportedAlgorithm),
                };
            }
        }
        let mut failed = None;
        for key in keys
            .iter()
            .filter(|k| k.kid.is_none() && k.algorithm == algorithm)
            .take(MAX_KIDLESS_TRIES)
        {
            match key.verify(signing_input, signature, settings.require_low_s) {
                Ok(()) => return Ok(()),
                Err(error) => failed = Some(error),
            }
        }
        match failed {
            Some(_) if kid.is_some() => Err(InvalidToken::UnknownKey),
            Some(error) => Err(error),
            None if keys.iter().any(|k| k.algorithm == algorithm) => Err(InvalidToken::UnknownKey),
            None => Err(InvalidToken::UnsupportedAlgorithm),
        }
    }

    pub(super) fn check_registered(&self, claims: &Registered<'_>) -> Result<Times, InvalidToken> {
        let settings = &*self.inner;
        let times = Times {
            exp: claims.exp.ok_or(InvalidToken::MissingClaim("exp"))?,
            nbf: claims.nbf,
        };
        times.check(now(), settings.leeway)?;
        if !settings.issuers.is_empty() {
            let iss = claims
                .iss
                .as_deref()
                .ok_or(InvalidToken::MissingClaim("iss"))?;
            if !settings.issuers.iter().any(|accepted| **accepted == *iss) {
                return Err(InvalidToken::WrongIssuer);
            }
        }
        match (&claims.aud, settings.audiences.is_empty()) {
            (None, false) => return Err(InvalidToken::MissingClaim("aud")),
            (Some(aud), _) => {
                if !aud.any(|a| settings.audiences.iter().any(|accepted| **accepted == *a)) {
                    return Err(InvalidToken::WrongAudience);
                }
            }
            (None, true) => {}
        }
        if claims.scope_is_array && !settings.allow_scope_array {
            return Err(InvalidToken::InvalidClaim("scope"));
        }
        if settings.require_sub && claims.sub.is_none() {
            return Err(InvalidToken::MissingClaim("sub"));
        }
        if settings.require_jti && claims.jti.is_none() {
            return Err(InvalidToken::MissingClaim("jti"));
        }
        Ok(times)
    }
}

/// A verified token's time bounds, re-checked whenever a cached token is used again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Times {
    pub(crate) exp: i64,
    pub(crate) nbf: Option<i64>,
}

impl Times {
    /// Checks `exp` and `nbf` at `now` (seconds since the epoch) with `leeway` seconds.
    pub(crate) fn check(self, now: i64, leeway: i64) -> Result<(), InvalidToken> {
        // RFC 7519 §4.1.4: the current time MUST be before exp.
        if now.saturating_sub(leeway) >= self.exp {
            return Err(InvalidToken::Expired);
        }
        if let Some(nbf) = self.nbf {
            if now.saturating_add(leeway) < nbf {
                return Err(InvalidToken::NotYetValid);
            }
        }
        Ok(())
    }
}

/// Decodes a base64url segment (strict: no padding, no stray bits) and hands it to `f`,
/// on the stack when small.
#[inline(always)]
fn with_segment<R>(
    segment: &[u8],
    f: impl FnOnce(&[u8]) -> Result<R, InvalidToken>,
) -> Result<R, InvalidToken> {
    let decoded_max = segment.len() / 4 * 3 + 3;
    if decoded_max <= SMALL_SEGMENT {
        on_stack::<SMALL_SEGMENT, R>(segment, f)
    } else if decoded_max <= STACK_SEGMENT {
        on_stack::<STACK_SEGMENT, R>(segment, f)
    } else {
        let decoded = base64url::decode_to_vec(segment).ok_or(InvalidToken::Malformed)?;
        f(&decoded)
    }
}

/// Decodes into an `N`-byte stack buffer, left uninitialized (sized by the caller:
/// headers and usual payloads fit in the small one).
#[inline(always)]
fn on_stack<const N: usize, R>(
    segment: &[u8],
    f: impl FnOnce(&[u8]) -> Result<R, InvalidToken>,
) -> Result<R, InvalidToken> {
    let mut buf = base64url::buffer::<N>();
    f(base64url::decode_into(segment, &mut buf).ok_or(InvalidToken::Malformed)?)
}

/// `json` as text if it is UTF-8 (RFC 7515 §5.2 steps 3 and 8, RFC 7519 §7.2 step 10)
/// and starts like an object. The UTF-8 check covers the whole text: serde_json skips
/// the strings of ignored members without validating them.
pub(crate) fn json_object_text(json: &[u8]) -> Option<&str> {
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    std::str::from_utf8(json).ok()
}

pub(super) fn is_json_object(json: &[u8]) -> bool {
    json_object_text(json).is_some()
}

/// The claims as [`Claims`] straight from the fast path's reading, when `T` is
/// [`Claims`]; `None` for any other type, which serde then reads.
#[inline(always)]
fn default_claims<T: 'static>(flat: &scan::FlatClaims<'_>) -> Option<T> {
    let mut slot: Option<T> = None;
    if let Some(claims) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Claims>>() {
        *claims = flat.to_claims();
    }
    slot
}

/// For the default [`Claims`] (which serde reads from `scope`), the scope from the
/// member `name` instead; other types are left as they are.
#[cold]
fn named_scope<T: 'static>(claims: &mut T, text: &str, name: &str) -> Result<(), InvalidToken> {
    if let Some(claims) = (claims as &mut dyn Any).downcast_mut::<Claims>() {
        claims.scope = crate::validate::scope_claim::read(text, name)?;
    }
    Ok(())
}

/// The subject of a verified token only; never the token.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
fn trace_accepted(registered: &Registered<'_>) {
    #[cfg(feature = "tracing")]
    tracing::debug!(sub = registered.sub.as_deref(), "bearer token accepted");
}
