use std::sync::Arc;

use tower_layer::Layer;

use super::{BearerAuth, Settings, SharedSettings};
use crate::bearer::challenge::Challenge;
use crate::bearer::extract::TokenSources;
use crate::bearer::rejection::{DefaultRejection, OnRejection};
use crate::error::ConfigError;
use crate::scopes::{GuardLayer, RequireScopes};
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
            on_rejection: DefaultRejection::new(),
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
        let settings = Arc::make_mut(&mut self.settings);
        let mut challenge = Challenge::with_realm(realm)?;
        if let Some(url) = settings.challenge.resource_metadata() {
            challenge = challenge.with_resource_metadata(url)?;
        }
        settings.challenge = challenge;
        Ok(self)
    }

    /// Announces the protected resource's metadata (RFC 9728 §5.1): every `401`
    /// challenge gets `resource_metadata="<url>"`, for example
    /// `https://api.example.com/.well-known/oauth-protected-resource`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] unless `url` is an absolute `http(s)` URL that can
    /// stand in a quoted-string as is (see [`Challenge::with_resource_metadata`]).
    pub fn with_resource_metadata(mut self, url: &str) -> Result<Self, ConfigError> {
        let settings = Arc::make_mut(&mut self.settings);
        settings.challenge = settings.challenge.clone().with_resource_metadata(url)?;
        Ok(self)
    }

    /// The challenge this layer answers with (realm, `resource_metadata`), for the
    /// inner layers ([`GuardLayer::like`] copies it).
    pub fn challenge(&self) -> &Challenge {
        &self.settings.challenge
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

    /// The rejection handler.
    pub(crate) fn rejection(&self) -> &R {
        &self.on_rejection
    }
}

impl<V: TokenValidator, R: OnRejection> BearerAuthLayer<V, R> {
    /// A [`GuardLayer`] requiring every scope in `scopes` ([`RequireScopes`]) from this
    /// layer's claims, that answers as this layer does: the same `realm` in its `403`
    /// challenge and the same rejection handler, set once ([`GuardLayer::like`]).
    ///
    /// ```
    /// use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};
    ///
    /// let bearer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")?)
    ///     .with_realm("my-api")?;
    /// let write = bearer.require_scopes(["items:write"]); // realm "my-api" too
    /// assert_eq!(write.check().required().as_str(), "items:write");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RequireScopes::new`]: if a scope is not an RFC 6749 scope-token or none is
    /// given.
    pub fn require_scopes<I, S>(&self, scopes: I) -> GuardLayer<RequireScopes<V::Claims>, R>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        GuardLayer::new(RequireScopes::<V::Claims>::new(scopes)).like(self)
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
