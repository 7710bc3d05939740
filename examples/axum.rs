//! axum 0.8: `GET /users/me` answers with the token's claims (FastAPI's "get current
//! user"), `GET /items` also needs the `items` scope and reads `State`, and `GET /`
//! works with or without a token.
//!
//! Dependencies (the `cargo run` lines below build it in this repository with exactly
//! these features):
//!
//! ```toml
//! [dependencies]
//! tower-bearer = { version = "0.1", default-features = false, features = ["rust-crypto", "axum"] }
//! axum = "0.8"
//! tokio = { version = "1", features = ["full"] }
//! ```
//!
//! ```sh
//! BIND=127.0.0.1:3000 JWT_SECRET=change-me-to-32-or-more-random-bytes cargo run --example axum --no-default-features --features rust-crypto,axum
//! TOKEN=$(JWT_SECRET=change-me-to-32-or-more-random-bytes cargo run -q --example mint_token --no-default-features --features rust-crypto,test-util -- alice "me items")
//! curl -i http://127.0.0.1:3000/                                              # hello, stranger
//! curl -i http://127.0.0.1:3000/users/me                                      # 401
//! curl -i http://127.0.0.1:3000/users/me -H "authorization: Bearer $TOKEN"    # the claims
//! curl -i http://127.0.0.1:3000/items -H "authorization: Bearer $TOKEN"       # 403 without scope "items"
//! ```

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use tower_bearer::axum::Auth;
use tower_bearer::{BearerAuthLayer, Claims, ConfigError, GuardLayer, JwtValidator, RequireScopes};

async fn me(Auth(claims): Auth<Claims>) -> Json<Claims> {
    Json(claims)
}

async fn items(State(items): State<Arc<Vec<String>>>, Auth(claims): Auth<Claims>) -> String {
    format!(
        "{} may see {}",
        claims.sub.unwrap_or_default(),
        items.join(", ")
    )
}

async fn home(user: Option<Auth<Claims>>) -> String {
    match user {
        Some(Auth(claims)) => format!("welcome back, {}", claims.sub.unwrap_or_default()),
        None => "hello, stranger".to_owned(),
    }
}

/// The application: an optional bearer layer for every route; `Auth` makes a route
/// need a token, `route_layer` adds scopes.
pub fn app(secret: &[u8]) -> Result<Router, ConfigError> {
    let items_state = Arc::new(vec!["Foo".to_owned(), "Bar".to_owned()]);
    Ok(Router::new()
        .route("/", get(home))
        .route("/users/me", get(me))
        .route(
            "/items",
            get(items).route_layer(
                GuardLayer::new(RequireScopes::<Claims>::try_new(["items"])?)
                    .with_realm("axum-demo")?,
            ),
        )
        .with_state(items_state)
        .layer(
            BearerAuthLayer::new(JwtValidator::<Claims>::hs256(secret)?)
                .with_realm("axum-demo")?
                .optional(),
        ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let listener = tokio::net::TcpListener::bind(env("BIND", "127.0.0.1:3000")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = app(env("JWT_SECRET", "change-me-to-32-or-more-random-bytes").as_bytes())?;
    axum::serve(listener, app).await?;
    Ok(())
}
