//! Metrics through the `metrics` facade (feature `metrics`): whatever recorder the
//! application installs (Prometheus, StatsD, ...) receives them; without one they cost
//! an atomic load each. Without the feature none of this is compiled.
//!
//! | name | kind | labels | counts |
//! |---|---|---|---|
//! | `tower_bearer_requests_accepted_total` | counter | | requests whose token the bearer layer accepted |
//! | `tower_bearer_requests_refused_total` | counter | `reason` | requests refused by any layer of this crate; `reason` is the body's `error` code (`unauthorized`, `invalid_request`, `invalid_token`, `insufficient_scope`, `forbidden`, `temporarily_unavailable`) |
//! | `tower_bearer_validation_seconds` | histogram | | time the bearer layer's validator took per token (a wait for a key refresh included) |
//! | `tower_bearer_jwks_fetches_total` | counter | | JWK set fetches started |
//! | `tower_bearer_jwks_fetch_failures_total` | counter | | JWK set fetches that failed (the keys in use stay) |
//! | `tower_bearer_cache_hits_total` | counter | | tokens answered from [`CachedValidator`](crate::CachedValidator)'s cache |
//! | `tower_bearer_cache_misses_total` | counter | | tokens [`CachedValidator`](crate::CachedValidator) had to verify |
//!
//! Label values are fixed strings of this crate: nothing a client sends becomes a label.

use std::time::Instant;

use crate::error::AuthError;

/// A request's token was accepted.
#[inline]
pub(crate) fn accepted() {
    metrics::counter!("tower_bearer_requests_accepted_total").increment(1);
}

/// A request was refused with `error`.
#[inline]
pub(crate) fn refused(error: &AuthError) {
    metrics::counter!("tower_bearer_requests_refused_total", "reason" => error.code()).increment(1);
}

/// A validation that started at `started` ended.
#[inline]
pub(crate) fn validated(started: Instant) {
    metrics::histogram!("tower_bearer_validation_seconds").record(started.elapsed());
}

/// A JWK set fetch started.
#[cfg(feature = "jwks-core")]
#[inline]
pub(crate) fn jwks_fetch() {
    metrics::counter!("tower_bearer_jwks_fetches_total").increment(1);
}

/// A JWK set fetch failed.
#[cfg(feature = "jwks-core")]
#[inline]
pub(crate) fn jwks_fetch_failed() {
    metrics::counter!("tower_bearer_jwks_fetch_failures_total").increment(1);
}

/// A token was answered from the cache (`true`) or verified (`false`).
#[cfg(feature = "cache")]
#[inline]
pub(crate) fn cache(hit: bool) {
    if hit {
        metrics::counter!("tower_bearer_cache_hits_total").increment(1);
    } else {
        metrics::counter!("tower_bearer_cache_misses_total").increment(1);
    }
}
