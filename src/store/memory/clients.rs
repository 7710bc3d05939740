//! The client side of [`MemoryStore`] (feature `token-endpoint`): confidential clients
//! for the `client_credentials` grant, secrets verified like users' passwords (one
//! [`PasswordHasher`]: the low-priority hashing threads, a bounded wait, a dummy hash
//! for unknown ids).

use std::collections::HashMap;
use std::sync::Arc;

use super::super::client::{Client, ClientStore};
use super::super::{BoxFuture, StoreError};
use super::MemoryStore;
use crate::token_endpoint::PasswordHasher;

/// The clients by id, and the hasher that verifies their secrets.
#[derive(Clone, Default)]
pub(super) struct Clients {
    by_id: Arc<HashMap<String, Client>>,
    hasher: PasswordHasher,
}

impl Clients {
    /// The client ids, sorted (for `Debug`).
    pub(super) fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<_> = self.by_id.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }
}

impl MemoryStore {
    /// Adds `clients` for the `client_credentials` grant and client authentication (a
    /// later duplicate id replaces an earlier one). Feature `token-endpoint`.
    ///
    /// The first call also computes the dummy hash that unknown ids are verified against
    /// (one Argon2id run), so that the first unknown id is not slower than the others.
    /// Secrets are verified as [`PasswordHasher`] verifies passwords: on the hashing
    /// threads, a bounded number at a time; a verification that cannot get a slot in
    /// time is a [`StoreError`] (`503 temporarily_unavailable`).
    #[must_use]
    pub fn with_clients(mut self, clients: impl IntoIterator<Item = Client>) -> Self {
        self.clients.hasher.warm_up();
        Arc::make_mut(&mut self.clients.by_id)
            .extend(clients.into_iter().map(|c| (c.id.clone(), c)));
        self
    }
}

impl ClientStore for MemoryStore {
    fn authenticate<'a>(
        &'a self,
        client_id: &'a str,
        secret: &'a str,
    ) -> BoxFuture<'a, Result<Option<Client>, StoreError>> {
        Box::pin(async move {
            let client = self.clients.by_id.get(client_id).cloned();
            let hash = client.as_ref().map(|c| c.secret_hash.clone());
            let matches = self
                .clients
                .hasher
                .verify_login(client_id, secret.to_owned(), hash)
                .await
                .map_err(|_| {
                    StoreError::Backend("client secret verification unavailable".into())
                })?;
            Ok(client.filter(|_| matches))
        })
    }
}
