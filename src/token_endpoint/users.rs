//! [`UserStore`]: where the token endpoint finds resource owners; [`User`];
//! [`InMemoryUserStore`] for examples and tests.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::store::StoreError;

/// A resource owner: username, Argon2id password hash (PHC string), the scopes they may
/// be granted, a disabled flag, and a profile of your own type.
#[derive(Clone)]
pub struct User<P = ()> {
    username: String,
    password_hash: String,
    scopes: Vec<String>,
    disabled: bool,
    profile: P,
}

impl<P: fmt::Debug> fmt::Debug for User<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("disabled", &self.disabled)
            .field("profile", &self.profile)
            .finish()
    }
}

impl User<()> {
    /// An enabled user with no scopes and no profile. `password_hash` is a PHC string,
    /// e.g. from [`hash_password`](super::hash_password).
    pub fn new(username: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password_hash: password_hash.into(),
            scopes: Vec::new(),
            disabled: false,
            profile: (),
        }
    }
}

impl<P> User<P> {
    /// Sets the scopes this user may be granted.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Marks the user disabled: their logins fail with `invalid_grant`.
    #[must_use]
    pub fn disabled(mut self) -> Self {
        self.disabled = true;
        self
    }

    /// Attaches a profile of your own type. It stays on the server: nothing of it goes
    /// into tokens unless your [`UserStore::extra_claims`] puts it there
    /// ([`InMemoryUserStore`] adds none).
    pub fn with_profile<Q>(self, profile: Q) -> User<Q> {
        User {
            username: self.username,
            password_hash: self.password_hash,
            scopes: self.scopes,
            disabled: self.disabled,
            profile,
        }
    }

    /// The username (the token's `sub`).
    #[must_use]
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The PHC password hash.
    #[must_use]
    pub fn password_hash(&self) -> &str {
        &self.password_hash
    }

    /// The scopes this user may be granted.
    #[must_use]
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// `true` if the user may not log in.
    #[must_use]
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// The profile.
    #[must_use]
    pub fn profile(&self) -> &P {
        &self.profile
    }

    /// The profile, by value.
    #[must_use]
    pub fn into_profile(self) -> P {
        self.profile
    }
}

/// Where the token endpoint looks users up: implement it over your database.
///
/// ```
/// use std::future::Future;
/// use tower_bearer::store::StoreError;
/// use tower_bearer::token_endpoint::{User, UserStore};
///
/// #[derive(Clone)]
/// struct Db; // your connection pool
///
/// impl UserStore for Db {
///     type Profile = ();
///     fn find_user(&self, username: &str)
///         -> impl Future<Output = Result<Option<User>, StoreError>> + Send
///     {
///         let username = username.to_owned();
///         async move {
///             // SELECT password_hash, scopes, disabled FROM users WHERE name = $1
///             let _ = username;
///             Ok(None)
///         }
///     }
/// }
/// ```
pub trait UserStore: Send + Sync + 'static {
    /// The application's own data about a user.
    type Profile: Send + Sync + 'static;

    /// Finds the user named `username` (exact match), or `None`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] if the store cannot answer (database down, timeout); the
    /// endpoint answers `503 temporarily_unavailable`.
    fn find_user(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User<Self::Profile>>, StoreError>> + Send;

    /// Extra claims to put into this user's tokens (none by default). Registered
    /// claims (`sub`, `exp`, `scope`, ...) set by the issuer win over these.
    fn extra_claims(&self, user: &User<Self::Profile>) -> Map<String, Value> {
        let _ = user;
        Map::new()
    }
}

impl<S: UserStore> UserStore for Arc<S> {
    type Profile = S::Profile;

    fn find_user(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User<Self::Profile>>, StoreError>> + Send {
        (**self).find_user(username)
    }

    fn extra_claims(&self, user: &User<Self::Profile>) -> Map<String, Value> {
        (**self).extra_claims(user)
    }
}

/// Users kept in memory: for examples, tests and tiny deployments. Its tokens carry
/// only the registered claims (`sub`, `scope`, ...): profiles are not put into them
/// (implement [`UserStore`] with [`extra_claims`](UserStore::extra_claims) for that).
pub struct InMemoryUserStore<P = ()> {
    users: HashMap<String, User<P>>,
}

impl<P: fmt::Debug> fmt::Debug for InMemoryUserStore<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryUserStore")
            .field("users", &self.users.values().collect::<Vec<_>>())
            .finish()
    }
}

impl<P> Default for InMemoryUserStore<P> {
    fn default() -> Self {
        Self {
            users: HashMap::new(),
        }
    }
}

impl<P> InMemoryUserStore<P> {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a user.
    #[must_use]
    pub fn with_user(mut self, user: User<P>) -> Self {
        self.users.insert(user.username.clone(), user);
        self
    }

    /// The user named `username`, if any.
    #[must_use]
    pub fn get(&self, username: &str) -> Option<&User<P>> {
        self.users.get(username)
    }
}

impl<P: Clone + Send + Sync + 'static> UserStore for InMemoryUserStore<P> {
    type Profile = P;

    fn find_user(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User<P>>, StoreError>> + Send {
        std::future::ready(Ok(self.users.get(username).cloned()))
    }
}
