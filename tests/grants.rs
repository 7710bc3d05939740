//! Refresh tokens, the client credentials grant and the revocation endpoint over real
//! TCP, with the in-memory stores.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use serde_json::Value;
use tower::Layer as _;
use tower_bearer::store::{Client, MemoryStore, RefreshTokenStore};
use tower_bearer::token_endpoint::{
    InMemoryUserStore, PasswordHasher, RevocationEndpoint, TokenEndpoint, TokenEndpointBuilder,
    TokenIssuer, User,
};
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator, RevocationCheck};

const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";
const HOUR: Duration = Duration::from_secs(3600);

fn hasher() -> PasswordHasher {
    PasswordHasher::new().with_params(256, 1, 1).unwrap()
}

fn builder() -> TokenEndpointBuilder<InMemoryUserStore> {
    let store = InMemoryUserStore::new().with_user(
        User::new("johndoe", hasher().hash("secret").unwrap()).with_scopes(["me", "items"]),
    );
    TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), store)
        .with_hasher(hasher())
        .allow_password_grant()
}

fn clients() -> Arc<MemoryStore> {
    Arc::new(
        MemoryStore::new().with_clients([Client::new("svc", "s3cret:x", "read write").unwrap()]),
    )
}

fn validator() -> JwtValidator<Value> {
    JwtValidator::<Value>::hs256(SECRET).unwrap()
}

fn claims_validator() -> JwtValidator<Claims> {
    JwtValidator::<Claims>::hs256(SECRET).unwrap()
}

fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    )
}

async fn with_refresh() -> (TestServer, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let dyn_store: Arc<dyn RefreshTokenStore> = store.clone();
    let server = serve(
        builder()
            .with_refresh_tokens(dyn_store, HOUR)
            .build()
            .unwrap(),
    )
    .await;
    (server, store)
}

async fn refresh_with(server: &TestServer, token: &str, extra: &str) -> Answer {
    post_form(
        &server.url("/token"),
        &format!("grant_type=refresh_token&refresh_token={token}{extra}"),
    )
    .await
}

fn refresh_token(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.json()["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned()
}

// ---- refresh tokens -----------------------------------------------------------------

#[tokio::test]
async fn password_grant_without_option_has_no_refresh_token() {
    let server = serve(builder().build().unwrap()).await;
    let answer = post_form(&server.url("/token"), LOGIN).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert!(body.get("refresh_token").is_none(), "{body}");
    let claims = validator()
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert!(claims.get("jti").is_none());
    let refused = refresh_with(&server, "whatever", "").await;
    assert_oauth_error(&refused, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn password_grant_with_option_returns_refresh_token_and_jti() {
    let (server, _) = with_refresh().await;
    let answer = post_form(&server.url("/token"), LOGIN).await;
    let token = refresh_token(&answer);
    assert!(token.len() >= 40);
    let claims = validator()
        .verify(answer.json()["access_token"].as_str().unwrap())
        .unwrap();
    assert!(claims["jti"].is_string());
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_family() {
    let (server, _) = with_refresh().await;
    let first = refresh_token(&post_form(&server.url("/token"), LOGIN).await);

    let answer = refresh_with(&server, &first, "").await;
    let second = refresh_token(&answer);
    assert_ne!(first, second);
    let body = answer.json();
    assert_eq!(body["scope"], "me items");
    let claims = validator()
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims["sub"], "johndoe");
    assert_eq!(claims["scope"], "me items");

    // Reusing the old token is refused and revokes the family...
    assert_oauth_error(
        &refresh_with(&server, &first, "").await,
        400,
        "invalid_grant",
    );
    // ...so the newest one is refused as well.
    assert_oauth_error(
        &refresh_with(&server, &second, "").await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn refresh_scope_only_narrows() {
    let (server, _) = with_refresh().await;
    let first = refresh_token(&post_form(&server.url("/token"), LOGIN).await);
    let wider = refresh_with(&server, &first, "&scope=me+admin").await;
    assert_oauth_error(&wider, 400, "invalid_scope");

    let narrowed = refresh_with(&server, &first, "&scope=items").await;
    let next = refresh_token(&narrowed);
    assert_eq!(narrowed.json()["scope"], "items");
    // The refresh token keeps the original grant: "me" can be asked for again.
    let again = refresh_with(&server, &next, "&scope=me").await;
    refresh_token(&again);
    assert_eq!(again.json()["scope"], "me");
}

#[tokio::test]
async fn refresh_missing_or_unknown_token_refused() {
    let (server, _) = with_refresh().await;
    let missing = post_form(&server.url("/token"), "grant_type=refresh_token").await;
    assert_oauth_error(&missing, 400, "invalid_request");
    assert_oauth_error(
        &refresh_with(&server, "nope", "").await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn refresh_other_client_refused() {
    let (server, _) = with_refresh().await;
    let token =
        refresh_token(&post_form(&server.url("/token"), &format!("{LOGIN}&client_id=web")).await);
    let other = refresh_with(&server, &token, "&client_id=mobile").await;
    assert_oauth_error(&other, 400, "invalid_grant");
    refresh_token(&refresh_with(&server, &token, "&client_id=web").await);
}

// ---- client credentials -------------------------------------------------------------

async fn cc_server() -> TestServer {
    serve(
        builder()
            .with_client_credentials(clients())
            .build()
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn client_credentials_basic_and_form_ok() {
    let server = cc_server().await;
    let auth = basic("svc", "s3cret:x");
    let answer = post(
        &server.url("/token"),
        Some(FORM),
        "grant_type=client_credentials",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body = answer.json();
    assert_eq!(body["scope"], "read write");
    assert!(body.get("refresh_token").is_none());
    let claims = validator()
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims["sub"], "svc");

    let answer = post_form(
        &server.url("/token"),
        "grant_type=client_credentials&client_id=svc&client_secret=s3cret%3Ax&scope=read",
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["scope"], "read");
}

#[tokio::test]
async fn client_credentials_wrong_secret_invalid_client() {
    let server = cc_server().await;
    let auth = basic("svc", "wrong");
    let answer = post(
        &server.url("/token"),
        Some(FORM),
        "grant_type=client_credentials",
        &[("authorization", &auth)],
    )
    .await;
    assert_oauth_error(&answer, 401, "invalid_client");
    assert!(answer.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));

    let answer = post_form(
        &server.url("/token"),
        "grant_type=client_credentials&client_id=nobody&client_secret=x",
    )
    .await;
    assert_oauth_error(&answer, 401, "invalid_client");
    assert!(answer.headers.get("www-authenticate").is_none());

    let answer = post_form(&server.url("/token"), "grant_type=client_credentials").await;
    assert_oauth_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn client_credentials_scope_beyond_client_invalid_scope() {
    let server = cc_server().await;
    let answer = post_form(
        &server.url("/token"),
        "grant_type=client_credentials&client_id=svc&client_secret=s3cret%3Ax&scope=admin",
    )
    .await;
    assert_oauth_error(&answer, 400, "invalid_scope");
}

#[tokio::test]
async fn client_credentials_without_option_unsupported_grant_type() {
    let server = serve(builder().build().unwrap()).await;
    let answer = post_form(
        &server.url("/token"),
        "grant_type=client_credentials&client_id=svc&client_secret=s3cret%3Ax",
    )
    .await;
    assert_oauth_error(&answer, 400, "unsupported_grant_type");
    let answer = post_form(&server.url("/token"), "grant_type=urn:unknown").await;
    assert_oauth_error(&answer, 400, "unsupported_grant_type");
}

// ---- revocation ---------------------------------------------------------------------

#[tokio::test]
async fn revoke_refresh_token_then_refresh_fails() {
    let (server, store) = with_refresh().await;
    let revocations = Arc::new(MemoryStore::new());
    let revoke = serve(RevocationEndpoint::new(
        claims_validator(),
        store,
        revocations,
    ))
    .await;
    let token = refresh_token(&post_form(&server.url("/token"), LOGIN).await);

    let answer = post_form(
        &revoke.url("/revoke"),
        &format!("token={token}&token_type_hint=refresh_token"),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.body.is_empty());
    assert_oauth_error(
        &refresh_with(&server, &token, "").await,
        400,
        "invalid_grant",
    );

    // Unknown tokens are 200 too (RFC 7009 §2.2); a missing token is invalid_request.
    let answer = post_form(&revoke.url("/revoke"), "token=unknown").await;
    assert_eq!(answer.status, 200);
    let answer = post_form(&revoke.url("/revoke"), "token_type_hint=access_token").await;
    assert_oauth_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn revoke_access_token_refused_by_bearer_layer_within_1s() {
    let (server, store) = with_refresh().await;
    let revocations = Arc::new(MemoryStore::new());
    let revoke = serve(RevocationEndpoint::new(
        claims_validator(),
        store,
        revocations.clone(),
    ))
    .await;
    let check = RevocationCheck::new(
        JwtValidator::<Claims>::hs256(SECRET).unwrap().require_jti(),
        revocations,
    );
    let api = serve(BearerAuthLayer::new(check).layer(EchoClaims::<Claims>::new())).await;

    let body = post_form(&server.url("/token"), LOGIN).await.json();
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(get_with_token(&api.url("/"), access).await.status, 200);

    let answer = post_form(
        &revoke.url("/revoke"),
        &format!("token={access}&token_type_hint=access_token"),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    refused_within(
        &api.url("/"),
        access,
        Instant::now(),
        Duration::from_secs(1),
    )
    .await;
}

#[tokio::test]
async fn revocation_with_clients_requires_authentication() {
    let (_server, store) = with_refresh().await;
    let revoke = serve(
        RevocationEndpoint::new(claims_validator(), store, Arc::new(MemoryStore::new()))
            .with_clients(clients()),
    )
    .await;
    let answer = post_form(&revoke.url("/revoke"), "token=x").await;
    assert_oauth_error(&answer, 401, "invalid_client");
    let auth = basic("svc", "s3cret:x");
    let answer = post(
        &revoke.url("/revoke"),
        Some(FORM),
        "token=x",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}
