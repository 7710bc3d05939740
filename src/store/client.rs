//! Confidential clients for the `client_credentials` grant (RFC 6749 §4.4): the
//! [`ClientStore`] trait, implemented in memory by
//! [`MemoryStore`](super::MemoryStore).
//!
//! Clients are configuration rather than shared mutable state: every node loads the same
//! list, so an in-memory store serves multi-node deployments too.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::PasswordHash;

use super::{BoxFuture, StoreError};
use crate::error::{is_scope_token, ConfigError};
use crate::scopes::{narrow_scopes, InvalidScope};

/// A confidential client: its id, the Argon2id hash of its secret (a PHC string), and
/// the scopes it may be granted.
///
/// Tokens issued to it by the `client_credentials` grant have **no user**: their `sub`
/// is the client id (RFC 9068 §2.2), never a user name, and no refresh token comes with
/// them (RFC 6749 §4.4.3).
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    pub(super) id: String,
    pub(super) secret_hash: String,
    scope: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("secret_hash", &"<redacted>")
            .field("scope", &self.scope)
            .finish()
    }
}

fn check_scope(scope: &str) -> Result<String, ConfigError> {
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if scopes.iter().any(|s| !is_scope_token(s)) {
        return Err(ConfigError::InvalidScope);
    }
    Ok(scopes.join(" "))
}

/// Argon2id of `secret` with a random salt, as a PHC string: the same hashing (OWASP's
/// parameters) as users' passwords.
fn hash_secret(secret: &str) -> Result<String, ConfigError> {
    crate::token_endpoint::PasswordHasher::new()
        .hash(secret)
        .map_err(|_| ConfigError::InvalidSecret("client secret"))
}

impl Client {
    /// A client with a plain `secret`, hashed here with Argon2id (slow on purpose: do it
    /// at start-up). `scope` lists the scopes it may be granted, space-separated.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSecret`] for an empty id or secret,
    /// [`ConfigError::InvalidScope`] for a malformed scope.
    pub fn new(id: &str, secret: &str, scope: &str) -> Result<Self, ConfigError> {
        if secret.is_empty() {
            return Err(ConfigError::InvalidSecret("client secret"));
        }
        Self::from_hash(id, &hash_secret(secret)?, scope)
    }

    /// A client whose secret is already hashed: an Argon2 PHC string
    /// (`$argon2id$v=19$...`), for secrets kept hashed in configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] for an empty id,
    /// [`ConfigError::InvalidSecret`] for an unparsable hash,
    /// [`ConfigError::InvalidScope`] for a malformed scope.
    pub fn from_hash(id: &str, secret_hash: &str, scope: &str) -> Result<Self, ConfigError> {
        if id.is_empty() {
            return Err(ConfigError::InvalidString("client id"));
        }
        let parsed = PasswordHash::new(secret_hash)
            .map_err(|_| ConfigError::InvalidSecret("secret hash"))?;
        if !parsed.algorithm.as_str().starts_with("argon2") {
            return Err(ConfigError::InvalidSecret("secret hash"));
        }
        Ok(Self {
            id: id.to_owned(),
            secret_hash: secret_hash.to_owned(),
            scope: check_scope(scope)?,
        })
    }

    /// The client id; also the `sub` of its `client_credentials` tokens.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The scopes it may be granted, space-separated.
    #[must_use]
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The scopes to grant for a `client_credentials` request: all allowed ones when
    /// none are requested, else the requested subset.
    ///
    /// # Errors
    ///
    /// [`InvalidScope`] if a requested scope is not allowed (`invalid_scope`).
    pub fn grant_scope(&self, requested: Option<&str>) -> Result<String, InvalidScope> {
        narrow_scopes(&self.scope, requested)
    }
}

/// Looks up and authenticates confidential clients. `Arc<S>` implements the trait when
/// `S` does.
pub trait ClientStore: Send + Sync {
    /// The client if `client_id` exists and `secret` is its secret, else `None`.
    /// Implementations take the same time for unknown clients as for wrong secrets.
    fn authenticate<'a>(
        &'a self,
        client_id: &'a str,
        secret: &'a str,
    ) -> BoxFuture<'a, Result<Option<Client>, StoreError>>;
}

impl<S: ClientStore + ?Sized> ClientStore for Arc<S> {
    fn authenticate<'a>(
        &'a self,
        client_id: &'a str,
        secret: &'a str,
    ) -> BoxFuture<'a, Result<Option<Client>, StoreError>> {
        (**self).authenticate(client_id, secret)
    }
}
