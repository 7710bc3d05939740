//! A real third-party OAuth2 client (the `oauth2` crate's password exchange) against
//! the token endpoint over TCP: what the ecosystem sends and expects.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, ClientId, ClientSecret, RequestTokenError, ResourceOwnerPassword,
    ResourceOwnerUsername, Scope, TokenResponse, TokenUrl,
};
use tower::Layer as _;
use tower_bearer::token_endpoint::{
    InMemoryUserStore, PasswordHasher, TokenEndpoint, TokenIssuer, User,
};
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};

/// oauth2's `AsyncHttpClient` as a closure over hyper-util's client.
async fn http_client(request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, std::io::Error> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(request.map(|body| Full::new(Bytes::from(body))))
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    Ok(http::Response::from_parts(parts, body.to_vec()))
}

async fn token_server(with_client: bool) -> TestServer {
    let hasher = PasswordHasher::new().with_params(256, 1, 1).unwrap();
    let store = Arc::new(InMemoryUserStore::new().with_user(
        User::new("johndoe", hasher.hash("secret").unwrap()).with_scopes(["me", "items"]),
    ));
    let mut builder = TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), store)
        .with_hasher(hasher)
        .allow_password_grant();
    if with_client {
        builder = builder.with_client("web app", "s3cret:&=").unwrap();
    }
    serve(builder.build().unwrap()).await
}

fn client(
    server: &TestServer,
    id: &str,
) -> BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new(id.to_owned()))
        .set_token_uri(TokenUrl::new(server.url("/token")).unwrap())
}

#[tokio::test]
async fn oauth2_exchange_password_token_calls_protected_route() {
    let server = token_server(false).await;
    let token = client(&server, "any-client")
        .exchange_password(
            &ResourceOwnerUsername::new("johndoe".into()),
            &ResourceOwnerPassword::new("secret".into()),
        )
        .add_scope(Scope::new("me".into()))
        .request_async(&http_client)
        .await
        .unwrap();
    assert_eq!(*token.token_type(), oauth2::basic::BasicTokenType::Bearer);
    assert_eq!(
        token.expires_in(),
        Some(std::time::Duration::from_secs(1800))
    );
    assert_eq!(token.scopes(), Some(&vec![Scope::new("me".into())]));

    let api = serve(
        BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
            .layer(EchoClaims::<Claims>::new()),
    )
    .await;
    let answer = get_with_token(&api.url("/"), token.access_token().secret()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["sub"], "johndoe");
}

#[tokio::test]
async fn oauth2_exchange_password_wrong_password_invalid_grant() {
    let server = token_server(false).await;
    let error = client(&server, "any-client")
        .exchange_password(
            &ResourceOwnerUsername::new("johndoe".into()),
            &ResourceOwnerPassword::new("wrong".into()),
        )
        .request_async(&http_client)
        .await
        .unwrap_err();
    match error {
        RequestTokenError::ServerResponse(response) => {
            assert_eq!(*response.error(), BasicErrorResponseType::InvalidGrant);
            assert!(response.error_description().is_some());
        }
        other => panic!("expected a §5.2 error response, got {other:?}"),
    }
}

#[tokio::test]
async fn oauth2_exchange_password_scope_beyond_user_invalid_scope() {
    let server = token_server(false).await;
    let error = client(&server, "any-client")
        .exchange_password(
            &ResourceOwnerUsername::new("johndoe".into()),
            &ResourceOwnerPassword::new("secret".into()),
        )
        .add_scope(Scope::new("admin".into()))
        .request_async(&http_client)
        .await
        .unwrap_err();
    match error {
        RequestTokenError::ServerResponse(response) => {
            assert_eq!(*response.error(), BasicErrorResponseType::InvalidScope);
        }
        other => panic!("expected a §5.2 error response, got {other:?}"),
    }
}

#[tokio::test]
async fn oauth2_confidential_client_basic_and_body_auth_ok() {
    let server = token_server(true).await;
    for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
        let token = client(&server, "web app")
            .set_client_secret(ClientSecret::new("s3cret:&=".into()))
            .set_auth_type(auth_type.clone())
            .exchange_password(
                &ResourceOwnerUsername::new("johndoe".into()),
                &ResourceOwnerPassword::new("secret".into()),
            )
            .request_async(&http_client)
            .await
            .unwrap_or_else(|e| panic!("{auth_type:?}: {e:?}"));
        assert_eq!(
            token.scopes(),
            Some(&vec![Scope::new("me".into()), Scope::new("items".into())])
        );
    }
}

#[tokio::test]
async fn oauth2_confidential_client_wrong_secret_invalid_client() {
    let server = token_server(true).await;
    let error = client(&server, "web app")
        .set_client_secret(ClientSecret::new("nope".into()))
        .exchange_password(
            &ResourceOwnerUsername::new("johndoe".into()),
            &ResourceOwnerPassword::new("secret".into()),
        )
        .request_async(&http_client)
        .await
        .unwrap_err();
    match error {
        RequestTokenError::ServerResponse(response) => {
            assert_eq!(*response.error(), BasicErrorResponseType::InvalidClient);
        }
        other => panic!("expected a §5.2 error response, got {other:?}"),
    }
}
