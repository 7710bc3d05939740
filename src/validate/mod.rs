//! Validating a bearer token: the [`TokenValidator`] trait and its implementations.
//!
//! [`JwtValidator`] checks signed JWTs locally and answers synchronously (its future is
//! [`std::future::Ready`]), which lets [`BearerAuth`](crate::BearerAuth) call the inner
//! service directly in `call`. Validators that need I/O (introspection, a database, a
//! remote key set) return a real future and the layer waits for it.

use std::future::Future;
use std::pin::Pin;

use crate::error::AuthError;

/// The future of the crate's validators that wait (a key refresh, a store lookup):
/// boxed, as it is only built off the hot path.
pub(crate) type BoxedValidation<C> = Pin<Box<dyn Future<Output = Result<C, AuthError>> + Send>>;

#[cfg(feature = "cache")]
mod cache;
#[cfg(feature = "introspection")]
mod introspection;
#[cfg(all(feature = "introspection", feature = "jwks"))]
mod introspection_http;
#[cfg(feature = "jwks-core")]
mod jwks;
pub(crate) mod jwt;
#[cfg(feature = "jwks-core")]
mod multi_issuer;
mod revocation_check;
mod scope_claim;
mod shape;

#[cfg(feature = "jwks-core")]
pub use jwks::{
    max_age_from_headers, FetchedDocument, JwksError, JwksFetcher, JwksValidator,
    JwksValidatorBuilder, DEFAULT_COOLDOWN, DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_DOCUMENT_LEN,
    DEFAULT_MAX_REFRESH, DEFAULT_MIN_REFRESH, DEFAULT_REFRESH_INTERVAL,
};
#[cfg(feature = "jwks")]
pub use jwks::{HttpFetcher, HttpFetcherBuilder};
pub(crate) use jwt::crypto_provider;
#[cfg(feature = "jwks-core")]
pub use multi_issuer::MultiIssuerValidator;

#[cfg(all(feature = "introspection", not(feature = "jwks")))]
pub use introspection::NoClient;
#[cfg(feature = "introspection")]
pub use introspection::{
    ClientError, IntrospectionClient, IntrospectionFuture, IntrospectionValidator,
    IntrospectionValidatorBuilder, DEFAULT_INTROSPECTION_CACHE_ENTRIES,
    DEFAULT_INTROSPECTION_TIMEOUT, DEFAULT_INTROSPECTION_TTL, DEFAULT_MAX_INTROSPECTION_RESPONSE,
    DEFAULT_MAX_OPAQUE_TOKEN_LEN,
};
#[cfg(all(feature = "introspection", feature = "jwks"))]
pub use introspection_http::HttpIntrospectionClient;

#[cfg(feature = "cache")]
pub use cache::{CachedValidator, DEFAULT_BYTES_PER_ENTRY};
pub use jwt::{JwtValidator, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN, MAX_KIDLESS_TRIES};
pub use revocation_check::{
    LocalRevocations, RevocationCheck, DEFAULT_CACHE_CAPACITY, DEFAULT_NOT_REVOKED_TTL,
    DEFAULT_PUSHED_NOT_REVOKED_TTL, DEFAULT_REVOKED_TTL,
};

/// Checks a bearer token and produces the claims to put into the request extensions.
///
/// The token is lent for the duration of the call; a validator that answers
/// asynchronously copies what it needs into its future.
pub trait TokenValidator: Clone + Send + Sync + 'static {
    /// What a valid token yields; inserted into the request extensions.
    type Claims: Clone + Send + Sync + 'static;
    /// The future of a validation that cannot answer at once.
    type Future: Future<Output = Result<Self::Claims, AuthError>> + Send + 'static;

    /// Validates `token`: already extracted, within the length limit, and checked as an
    /// RFC 6750 `b64token`.
    fn validate(&self, token: &str) -> Validation<Self::Claims, Self::Future>;

    /// `true` if every token this validator accepts at once
    /// ([`Validation::Ready`]`(Ok(_))`) is an RFC 6750 `b64token`, as every JWT that
    /// [`JwtValidator`] accepts is. The layer then checks a token's syntax only when it
    /// is not accepted at once, and answers exactly as if it had checked first; that
    /// saves a pass over every accepted token. Only this crate's validators can say
    /// `true`: the argument cannot be named outside it.
    #[doc(hidden)]
    fn accepts_only_b64token(&self, _: sealed::Internal) -> bool {
        false
    }

    /// The DPoP key an accepted token is bound to: its `cnf.jkt` (RFC 9449 §6), the
    /// RFC 7638 thumbprint of the client's key. Asked only by a layer with
    /// [`with_dpop`](crate::BearerAuthLayer::with_dpop), for tokens this validator
    /// accepted.
    ///
    /// The default reads `cnf.jkt` from the payload of a JWT `token`
    /// ([`dpop::token_jkt`](crate::dpop::token_jkt)). A validator of opaque tokens
    /// overrides it to read the binding from where it got the claims (an
    /// introspection answer's `cnf`).
    fn dpop_jkt(&self, token: &str, claims: &Self::Claims) -> Option<String> {
        let _ = claims;
        crate::dpop::token_jkt(token)
    }
}

pub(crate) mod sealed {
    /// The argument of [`TokenValidator::accepts_only_b64token`](super::TokenValidator):
    /// a type nobody outside the crate can name or build.
    #[derive(Debug, Clone, Copy)]
    #[allow(unreachable_pub)]
    pub struct Internal;
}

/// The outcome of [`TokenValidator::validate`]: known now, or a future.
///
/// Answering [`Ready`](Validation::Ready) lets the layer call the inner service within
/// its own `call`, with no extra state, clone or allocation.
pub enum Validation<C, F> {
    /// Decided synchronously.
    Ready(Result<C, AuthError>),
    /// Decided when the future completes.
    Pending(F),
}

impl<C: std::fmt::Debug, F> std::fmt::Debug for Validation<C, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ready(outcome) => f.debug_tuple("Ready").field(outcome).finish(),
            Self::Pending(_) => f.debug_tuple("Pending").finish_non_exhaustive(),
        }
    }
}

/// The [`TokenValidator`] of [`validate_fn`].
#[derive(Clone)]
struct ValidateFn<F> {
    f: F,
}

impl<F> std::fmt::Debug for ValidateFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidateFn")
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

/// Wraps a closure `Fn(&str) -> impl Future<Output = Result<C, AuthError>>` as a
/// [`TokenValidator`]: for opaque tokens checked against a database or an
/// introspection endpoint.
///
/// ```
/// use tower_bearer::{validate_fn, AuthError, InvalidToken};
///
/// let validator = validate_fn(|token: &str| {
///     let known = token == "let-me-in";
///     async move {
///         if known { Ok("service-a".to_owned()) } else { Err(AuthError::from(InvalidToken::Revoked)) }
///     }
/// });
/// # let _ = validator;
/// ```
pub fn validate_fn<F, Fut, C>(
    f: F,
) -> impl TokenValidator<Claims = C, Future = Fut> + std::fmt::Debug
where
    F: Fn(&str) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<C, AuthError>> + Send + 'static,
    C: Clone + Send + Sync + 'static,
{
    ValidateFn { f }
}

impl<F, Fut, C> TokenValidator for ValidateFn<F>
where
    F: Fn(&str) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<C, AuthError>> + Send + 'static,
    C: Clone + Send + Sync + 'static,
{
    type Claims = C;
    type Future = Fut;

    fn validate(&self, token: &str) -> Validation<C, Fut> {
        Validation::Pending((self.f)(token))
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::Internal;
    use super::*;
    use crate::Claims;

    #[test]
    fn only_the_crates_jwt_validators_defer_the_syntax_check() {
        let jwt = JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!").unwrap();
        assert!(jwt.accepts_only_b64token(Internal));
        let revocable = RevocationCheck::new(jwt, crate::store::MemoryStore::new());
        assert!(revocable.accepts_only_b64token(Internal));
        let user = validate_fn(|_: &str| async { Err::<Claims, _>(AuthError::MissingToken) });
        assert!(!user.accepts_only_b64token(Internal));
    }
}
