//! The dummy hash for unknown users is made when the endpoint is built, so the first
//! login after start-up does the same work whether the user exists or not.
#![cfg(feature = "token-endpoint")]

mod common;

use std::sync::Arc;

use tower_bearer::store::{Client, MemoryStore};
use tower_bearer::token_endpoint::{
    InMemoryUserStore, PasswordHasher, TokenEndpoint, TokenIssuer, User,
};

use common::{assert_oauth_error, post_form, serve, SECRET};

/// Cheap Argon2id parameters: the tests are about when the work happens, not its cost.
fn hasher() -> PasswordHasher {
    PasswordHasher::new().with_params(1024, 1, 1).unwrap()
}

/// A password-grant endpoint built with `hasher` (not yet warm), and that hasher.
fn endpoint(hasher: &PasswordHasher) -> TokenEndpoint<InMemoryUserStore> {
    let store = InMemoryUserStore::new()
        .with_user(User::new("johndoe", hasher.hash("secret").unwrap()).with_scopes(["me"]));
    TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), store)
        .with_hasher(hasher.clone())
        .allow_password_grant()
        .build()
        .unwrap()
}

#[test]
fn build_makes_the_dummy_hash() {
    let hasher = hasher();
    assert!(!hasher.is_warm(), "a new hasher has no dummy hash yet");
    let endpoint = endpoint(&hasher);
    // The endpoint's hasher is a clone of ours: they share the dummy hash.
    assert!(endpoint.hasher().is_warm());
    assert!(hasher.is_warm());
}

#[test]
fn an_endpoint_without_the_password_grant_does_not_hash() {
    let hasher = hasher();
    let clients = Arc::new(
        MemoryStore::new().with_clients([Client::new("svc", "s3cret:x", "read").unwrap()]),
    );
    let endpoint = TokenEndpoint::builder(
        TokenIssuer::hs256(SECRET).unwrap(),
        InMemoryUserStore::<()>::new(),
    )
    .with_hasher(hasher.clone())
    .with_client_credentials(clients)
    .build()
    .unwrap();
    assert!(!endpoint.hasher().is_warm());
}

#[tokio::test]
async fn first_login_after_build_is_an_unknown_user() {
    let hasher = hasher();
    let server = serve(endpoint(&hasher)).await;
    // Ready before any request: the unknown user below only verifies against it.
    assert!(hasher.is_warm());
    let url = server.url("/token");

    let unknown = post_form(&url, "grant_type=password&username=nobody&password=secret").await;
    assert_oauth_error(&unknown, 400, "invalid_grant");
    let wrong = post_form(&url, "grant_type=password&username=johndoe&password=nope").await;
    assert_oauth_error(&wrong, 400, "invalid_grant");
    // The same answer, byte for byte.
    assert_eq!(unknown.body, wrong.body);

    let right = post_form(&url, "grant_type=password&username=johndoe&password=secret").await;
    assert_eq!(right.status, 200, "{:?}", right.body);
    assert!(hasher.is_warm());
}

#[tokio::test]
async fn first_login_after_build_is_a_wrong_password() {
    let hasher = hasher();
    let server = serve(endpoint(&hasher)).await;
    assert!(hasher.is_warm());
    let url = server.url("/token");

    let wrong = post_form(&url, "grant_type=password&username=johndoe&password=nope").await;
    assert_oauth_error(&wrong, 400, "invalid_grant");
    let unknown = post_form(&url, "grant_type=password&username=nobody&password=secret").await;
    assert_oauth_error(&unknown, 400, "invalid_grant");
    assert_eq!(unknown.body, wrong.body);
}
