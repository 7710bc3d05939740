//! The shared state of a [`JwksValidator`](super::JwksValidator): the keys in use,
//! the single-flight refresh, its cool-down and the background task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use http::Uri;
use sha2::Digest as _;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::fetcher::{fetch_bounded, ErasedFetcher};
use super::JwksError;
use crate::keys::{JwkOptions, KeySet};
use crate::validate::JwtValidator;

/// The keys in use: a validator (none before the first successful fetch) and the
/// `kid`s it knows.
pub(super) struct Loaded<T> {
    pub(super) validator: Option<JwtValidator<T>>,
    pub(super) kids: Vec<Box<str>>,
    /// Unique to this key set among all loaded by this process (0: none yet): a cached
    /// token verified under another generation is verified again.
    #[cfg_attr(not(feature = "cache"), allow(dead_code))]
    pub(super) generation: u64,
    /// SHA-256 of the document the keys came from: an unchanged document keeps the
    /// loaded keys, and their generation.
    pub(super) fingerprint: [u8; 32],
}

impl<T> Default for Loaded<T> {
    fn default() -> Self {
        Self {
            validator: None,
            kids: Vec::new(),
            generation: 0,
            fingerprint: [0; 32],
        }
    }
}

/// The source of [`Loaded::generation`].
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Default)]
pub(super) struct Status {
    pub(super) last_error: Option<JwksError>,
    pub(super) last_success: Option<SystemTime>,
    pub(super) fetches: u64,
}

pub(super) struct Shared<T> {
    pub(super) loaded: ArcSwap<Loaded<T>>,
    pub(super) template: JwtValidator<T>,
    pub(super) jwk: JwkOptions,
    pub(super) fetcher: Box<dyn ErasedFetcher>,
    pub(super) url: Uri,
    pub(super) interval: Duration,
    pub(super) min_refresh: Duration,
    pub(super) max_refresh: Duration,
    pub(super) cooldown: Duration,
    pub(super) max_document_len: usize,
    pub(super) fetch_timeout: Duration,
    /// A refresh is running (single flight).
    pub(super) in_flight: AtomicBool,
    /// Counts finished refreshes; waiters watch it change.
    pub(super) done: watch::Sender<u64>,
    /// When the last refresh triggered by a token started.
    pub(super) last_triggered: Mutex<Option<Instant>>,
    pub(super) status: Mutex<Status>,
    /// Dropped with the last validator: stops the background task.
    pub(super) _stop: oneshot::Sender<()>,
}

/// Ends the refresh it was handed out for, however that ends (success, failure,
/// cancellation): clears `in_flight`, then wakes the waiters.
pub(super) struct InFlight<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Drop for InFlight<T> {
    fn drop(&mut self) {
        self.shared.in_flight.store(false, Ordering::SeqCst);
        self.shared.done.send_modify(|n| *n += 1);
    }
}

impl<T> Shared<T> {
    pub(super) fn try_begin(self: &Arc<Self>) -> Option<InFlight<T>> {
        self.in_flight
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .ok()
            .map(|_| InFlight {
                shared: Arc::clone(self),
            })
    }

    pub(super) fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fetches and installs the key set; returns the delay until the next refresh.
    pub(super) async fn refresh(&self, _in_flight: InFlight<T>) -> Result<Duration, JwksError> {
        self.status().fetches += 1;
        #[cfg(feature = "metrics")]
        crate::metrics::jwks_fetch();
        let outcome = self.fetch_keys().await;
        let mut status = self.status();
        match outcome {
            Ok((loaded, max_age)) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(url = %self.url, keys = loaded.kids.len(), "JWK set refreshed");
                let current = self.loaded.load();
                if current.validator.is_none() || current.fingerprint != loaded.fingerprint {
                    self.loaded.store(Arc::new(loaded));
                }
                status.last_success = Some(SystemTime::now());
                status.last_error = None;
                let delay = max_age.unwrap_or(self.interval);
                Ok(delay.clamp(self.min_refresh, self.max_refresh))
            }
            Err(error) => {
                #[cfg(feature = "tracing")]
                tracing::warn!(url = %self.url, %error, "JWK set refresh failed; keeping the current keys");
                #[cfg(feature = "metrics")]
                crate::metrics::jwks_fetch_failed();
                status.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    async fn fetch_keys(&self) -> Result<(Loaded<T>, Option<Duration>), JwksError> {
        let document = fetch_bounded(
            &*self.fetcher,
            &self.url,
            self.max_document_len,
            self.fetch_timeout,
        )
        .await?;
        let set = KeySet::from_json(&document.body, &self.jwk)?;
        let validator = set.apply_to(&self.template)?;
        let loaded = Loaded {
            validator: Some(validator),
            kids: set.kids().map(Into::into).collect(),
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
            fingerprint: sha2::Sha256::digest(&document.body).into(),
        };
        Ok((loaded, document.max_age))
    }

    /// Claims the token-triggered refresh slot if the cool-down allows.
    pub(super) fn cooldown_allows(&self) -> bool {
        let mut last = self
            .last_triggered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.cooldown) {
            return false;
        }
        *last = Some(now);
        true
    }
}

pub(super) async fn background<T>(
    weak: Weak<Shared<T>>,
    mut stop: oneshot::Receiver<()>,
    mut delay: Duration,
) where
    T: Send + Sync + 'static,
{
    loop {
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(delay) => {}
        }
        let Some(shared) = weak.upgrade() else { return };
        delay = match shared.try_begin() {
            Some(guard) => shared.refresh(guard).await.unwrap_or(shared.min_refresh),
            // A token-triggered refresh is running: it does this one's work.
            None => shared.min_refresh,
        };
    }
}
