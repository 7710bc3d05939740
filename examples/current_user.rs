//! FastAPI's "current active user" in axum: the token's subject is looked up in a user
//! store held in `State`. An unknown subject gets the bearer layer's `401`; a disabled
//! user gets `400 {"detail":"Inactive user"}`, as in FastAPI's tutorial.
//!
//! Dependencies (the `cargo run` lines below build it in this repository with exactly
//! these features):
//!
//! ```toml
//! [dependencies]
//! tower-bearer = { version = "0.1", default-features = false, features = ["rust-crypto", "axum"] }
//! axum = "0.8"
//! serde = { version = "1", features = ["derive"] }
//! serde_json = "1"
//! tokio = { version = "1", features = ["full"] }
//! ```
//!
//! ```sh
//! BIND=127.0.0.1:3001 JWT_SECRET=change-me-to-32-or-more-random-bytes cargo run --example current_user --no-default-features --features rust-crypto,axum
//! TOKEN=$(JWT_SECRET=change-me-to-32-or-more-random-bytes cargo run -q --example mint_token --no-default-features --features rust-crypto,test-util -- johndoe)
//! curl -i http://127.0.0.1:3001/users/me -H "authorization: Bearer $TOKEN"   # sub "johndoe": 200, "alice": 400
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::{request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use tower_bearer::axum::{Auth, AuthRejection};
use tower_bearer::{BearerAuthLayer, Claims, ConfigError, InvalidToken, JwtValidator};

/// A user record, as the store keeps it.
#[derive(Clone, Debug, Serialize)]
pub struct User {
    username: String,
    full_name: String,
    email: String,
    disabled: bool,
}

/// The user store (a database in real life).
pub type Users = Arc<HashMap<String, User>>;

/// The user the token's subject names (FastAPI's `get_current_user`).
pub struct CurrentUser(User);

impl FromRequestParts<Users> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, users: &Users) -> Result<Self, AuthRejection> {
        let Auth(claims) = Auth::<Claims>::from_request_parts(parts, users).await?;
        match claims.sub.as_deref().and_then(|sub| users.get(sub)) {
            Some(user) => Ok(Self(user.clone())),
            None => Err(AuthRejection::new(
                InvalidToken::Other("Unknown user".into()).into(),
                parts,
            )),
        }
    }
}

/// A current user who is not disabled (FastAPI's `get_current_active_user`).
pub struct ActiveUser(User);

impl FromRequestParts<Users> for ActiveUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, users: &Users) -> Result<Self, Response> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, users)
            .await
            .map_err(IntoResponse::into_response)?;
        if user.disabled {
            return Err((
                StatusCode::BAD_REQUEST,
                Json(json!({ "detail": "Inactive user" })),
            )
                .into_response());
        }
        Ok(Self(user))
    }
}

async fn me(ActiveUser(user): ActiveUser) -> Json<User> {
    Json(user)
}

async fn count(State(users): State<Users>) -> String {
    users.len().to_string()
}

/// The application, with the two users of FastAPI's tutorial.
pub fn app(secret: &[u8]) -> Result<Router, ConfigError> {
    let user = |name: &str, full_name: &str, disabled| User {
        username: name.into(),
        full_name: full_name.into(),
        email: format!("{name}@example.com"),
        disabled,
    };
    let users: Users = Arc::new(HashMap::from([
        ("johndoe".to_owned(), user("johndoe", "John Doe", false)),
        ("alice".to_owned(), user("alice", "Alice Wonderson", true)),
    ]));
    Ok(Router::new()
        .route("/users/me", get(me))
        .route("/users/count", get(count))
        .with_state(users)
        .layer(BearerAuthLayer::new(JwtValidator::<Claims>::hs256(secret)?).with_realm("users")?))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let listener = tokio::net::TcpListener::bind(env("BIND", "127.0.0.1:3001")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = app(env("JWT_SECRET", "change-me-to-32-or-more-random-bytes").as_bytes())?;
    axum::serve(listener, app).await?;
    Ok(())
}
