//! The client side of [`MemoryStore`] (feature `token-endpoint`): confidential clients
//! for the `client_credentials` grant, secrets verified with Argon2id off the async
//! workers.

use std::collections::HashMap;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use tokio::sync::Semaphore;

use super::super::client::{dummy_hash, Client, ClientStore};
use super::super::{BoxFuture, StoreError};
use super::MemoryStore;

/// The clients by id, and the bound on concurrent secret verifications.
#[derive(Clone)]
pub(super) struct Clients {
    by_id: Arc<HashMap<String, Client>>,
    hashing: Arc<Semaphore>,
}

impl Default for Clients {
    fn default() -> Self {
        let permits = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            by_id: Arc::new(HashMap::new()),
            hashing: Arc::new(Semaphore::new(permits)),
        }
    }
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
    /// The first call in a process also computes the dummy hash that unknown ids are
    /// verified against (one Argon2id run), so that the first unknown id is not slower
    /// than the others.
    #[must_use]
    pub fn with_clients(mut self, clients: impl IntoIterator<Item = Client>) -> Self {
        let _ = dummy_hash();
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
            let hash = client
                .as_ref()
                .map_or_else(|| dummy_hash().to_owned(), |c| c.secret_hash.clone());
            let secret = secret.to_owned();
            let _permit = self
                .clients
                .hashing
                .acquire()
                .await
                .map_err(|_| StoreError::Backend("hashing pool closed".into()))?;
            let matches = tokio::task::spawn_blocking(move || {
                PasswordHash::new(&hash).is_ok_and(|parsed| {
                    Argon2::default()
                        .verify_password(secret.as_bytes(), &parsed)
                        .is_ok()
                })
            })
            .await
            .map_err(|e| StoreError::Backend(format!("hashing task failed: {e}")))?;
            Ok(client.filter(|_| matches))
        })
    }
}
