use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Response};

use super::{reject, SharedSettings};
use crate::bearer::challenge::Challenge;
use crate::bearer::rejection::{DefaultRejection, OnRejection};
use crate::error::AuthError;

type Refuse = dyn Fn(AuthError, &HeaderMap) -> Response<Bytes> + Send + Sync;

/// Put into the request extensions by an [`optional`](super::BearerAuthLayer::optional)
/// layer when the request carried no bearer credentials.
///
/// It marks the request as anonymous and can refuse it exactly as the layer would (same
/// realm, same [`OnRejection`]): extractors and handlers that need claims use it, so a
/// route that turns out to need a token answers like the rest of the API. A request
/// with claims never carries it, so the authenticated path costs nothing.
#[derive(Clone)]
pub struct Anonymous {
    refuse: Arc<Refuse>,
}

impl Anonymous {
    pub(crate) fn new<R: OnRejection>(on_rejection: R, settings: SharedSettings) -> Self {
        Self {
            refuse: Arc::new(move |error, headers: &HeaderMap| {
                reject(&on_rejection, error, headers, &settings.challenge)
            }),
        }
    }

    /// The layer's answer to `error` for a request with `request_headers` (gRPC-shaped
    /// for gRPC calls, as the layer's).
    #[must_use]
    pub fn reject(&self, error: AuthError, request_headers: &HeaderMap) -> Response<Bytes> {
        (self.refuse)(error, request_headers)
    }

    /// Refuses a request that reached a protected handler without going through any
    /// bearer layer: the default answer, with no realm.
    #[must_use]
    pub fn reject_without_layer(error: AuthError, request_headers: &HeaderMap) -> Response<Bytes> {
        reject(
            &DefaultRejection::new(),
            error,
            request_headers,
            &Challenge::default(),
        )
    }
}

impl fmt::Debug for Anonymous {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anonymous").finish_non_exhaustive()
    }
}
