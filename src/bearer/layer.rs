use std::sync::Arc;

use tower_layer::Layer;

use super::{BearerAuth, Settings, SharedSettings};
use crate::challenge::Challenge;
use crate::error::ConfigError;
use crate::rejection::{DefaultRejection, OnRejection};
use crate::token::TokenSources;
use crate::validate::TokenValidator;

/// Applies [`BearerAuth`] to a service. See the [module docs](crate::bearer).
#[derive(Debug, Clone)]
#[must_use]
pub struct BearerAuthLayer<V, R = DefaultRejection> {
    validator: V,
    settings: SharedSettings,
    on_rejection: R,
}

impl<V: TokenValidator> BearerAuthLayer<V> {
    /// Requires a valid bearer token in the `Authorization` header, checked by
    /// `validator`.
    pub fn new(validator: V) -> Self {
        Self {
            validator,
            settings: Arc::new(Settings::default()),
            on_rejection: DefaultRejection,
        }
    }
}

impl<V, R> BearerAuthLayer<V, R> {
    /// Sets the challenge's `realm` parameter.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRealm`] if the realm is not visible ASCII and spaces.
    pub fn with_realm(mut self, realm: &str) -> Result<Self, ConfigError> {
        Arc::make_mut(&mut self.settings).challenge = Challenge::with_realm(realm)?;
        Ok(self)
    }

    /// Where to read the token from (default: the `Authorization` header only).
    pub fn with_sources(mut self, sources: TokenSources) -> Self {
        Arc::make_mut(&mut self.settings).sources = sources;
        self
    }

    /// Optional authentication: a request without bearer credentials reaches the inner
    /// service with no claims; a request with bad credentials is still refused.
    pub fn optional(mut self) -> Self {
        Arc::make_mut(&mut self.settings).optional = true;
        self
    }

    /// Accepts DPoP-bound tokens (RFC 9449): `Authorization: DPoP <token>` with a
    /// valid proof in the `DPoP` header, checked by `dpop`, for a token bound to the
    /// proof's key ([`TokenValidator::dpop_jkt`]). A DPoP-bound token sent as `Bearer`
    /// is then refused; unbound tokens are still accepted as `Bearer`. See
    /// [`dpop`](crate::dpop) for the rules and the answers.
    ///
    /// Without it, nothing of DPoP runs: the `Bearer` path costs the same.
    pub fn with_dpop(mut self, dpop: crate::dpop::Dpop) -> Self {
        Arc::make_mut(&mut self.settings).dpop = Some(dpop);
        self
    }

    /// Replaces the rejection response (see [`OnRejection`]).
    pub fn on_rejection<R2: OnRejection>(self, on_rejection: R2) -> BearerAuthLayer<V, R2> {
        BearerAuthLayer {
            validator: self.validator,
            settings: self.settings,
            on_rejection,
        }
    }

    /// The validator.
    pub fn validator(&self) -> &V {
        &self.validator
    }
}

impl<S, V: Clone, R: OnRejection> Layer<S> for BearerAuthLayer<V, R> {
    type Service = BearerAuth<S, V, R>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuth::from_parts(
            inner,
            self.validator.clone(),
            Arc::clone(&self.settings),
            self.on_rejection.clone(),
        )
    }
}
