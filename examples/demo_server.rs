//! The FastAPI OAuth2 tutorial app, rebuilt on tower-bearer.
//!
//! ```text
//! cargo run --release --example demo_server
//! TOKEN=$(curl -s -d 'grant_type=password&username=johndoe&password=secret' \
//!     http://127.0.0.1:8000/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/users/me
//! ```
//!
//! Environment: `BIND` (default `127.0.0.1:8000`), `JWT_SECRET` (HS256 key; a
//! development secret when unset).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::{conn::auto, graceful::GracefulShutdown};
use hyper_util::service::TowerToHyperService;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{json, Value};
use tower::{service_fn, util::BoxCloneService, Service, ServiceBuilder, ServiceExt};
use tower_bearer::token_endpoint::{
    hash_password, InMemoryUserStore, TokenEndpoint, TokenIssuer, User,
};
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator, RequireScopesLayer};

const REALM: &str = "tower-bearer-demo";
const DEV_SECRET: &str = "tower-bearer-demo-development-secret-do-not-use";

#[derive(Clone)]
struct Profile {
    full_name: &'static str,
    email: &'static str,
}

type Store = Arc<InMemoryUserStore<Profile>>;
type Route = BoxCloneService<Request<Incoming>, Response<BoxBody<Bytes, Infallible>>, Infallible>;

fn json_response(status: StatusCode, body: &Value) -> Response<BoxBody<Bytes, Infallible>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap_or_default()
}

/// A protected route: bearer token, then `scopes` (if any), then `handler`.
fn protected<F>(
    scopes: &[&str],
    validator: &JwtValidator,
    handler: F,
) -> Result<Route, Box<dyn std::error::Error>>
where
    F: Fn(Claims) -> Response<BoxBody<Bytes, Infallible>> + Clone + Send + Sync + 'static,
{
    let handler = service_fn(move |req: Request<Incoming>| {
        let claims = req.extensions().get::<Claims>().cloned();
        let handler = handler.clone();
        async move {
            Ok::<_, Infallible>(claims.map_or_else(
                || json_response(StatusCode::UNAUTHORIZED, &json!({})),
                handler,
            ))
        }
    });
    let bearer = BearerAuthLayer::new(validator.clone()).with_realm(REALM)?;
    let route = match scopes {
        [] => ServiceBuilder::new()
            .layer(bearer)
            .service(handler)
            .map_response(|r| r.map(BodyExt::boxed))
            .boxed_clone(),
        _ => ServiceBuilder::new()
            .layer(bearer)
            .layer(RequireScopesLayer::<Claims>::try_new(scopes)?.with_realm(REALM)?)
            .service(handler)
            .map_response(|r| r.map(BodyExt::boxed))
            .boxed_clone(),
    };
    Ok(route)
}

fn user_json(store: &Store, claims: &Claims) -> Response<BoxBody<Bytes, Infallible>> {
    match claims.sub.as_deref().and_then(|name| store.get(name)) {
        Some(user) => json_response(
            StatusCode::OK,
            &json!({
                "username": user.username(),
                "full_name": user.profile().full_name,
                "email": user.profile().email,
                "disabled": user.is_disabled(),
            }),
        ),
        None => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "not_found", "error_description": "No such user"}),
        ),
    }
}

fn secret() -> Vec<u8> {
    match std::env::var("JWT_SECRET") {
        Ok(secret) if !secret.is_empty() => {
            if secret.len() < 32 {
                eprintln!("WARNING: JWT_SECRET is shorter than 32 bytes; tokens can be brute-forced offline");
            }
            secret.into_bytes()
        }
        _ => {
            eprintln!("**********************************************************************");
            eprintln!("WARNING: JWT_SECRET is not set: using a built-in DEVELOPMENT secret.");
            eprintln!("Anyone can forge tokens for this server. Never use it in production.");
            eprintln!("**********************************************************************");
            DEV_SECRET.as_bytes().to_vec()
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = secret();
    let store: Store = Arc::new(
        InMemoryUserStore::new()
            .with_user(
                User::new("johndoe", hash_password("secret")?)
                    .with_scopes(["me", "items"])
                    .with_profile(Profile {
                        full_name: "John Doe",
                        email: "johndoe@example.com",
                    }),
            )
            .with_user(
                User::new("alice", hash_password("secretalice")?)
                    .with_scopes(["me", "items"])
                    .disabled()
                    .with_profile(Profile {
                        full_name: "Alice Wonderson",
                        email: "alice@example.com",
                    }),
            ),
    );
    // The short-key constructors accept any non-empty secret; secret() warned above.
    let issuer =
        TokenIssuer::insecure_short_hmac_key(Algorithm::HS256, &EncodingKey::from_secret(&secret))?
            .with_ttl(Duration::from_secs(1800))?;
    let validator = JwtValidator::insecure_short_hmac_key(
        Algorithm::HS256,
        &DecodingKey::from_secret(&secret),
    )?;

    let token = TokenEndpoint::builder(issuer, Arc::clone(&store))
        .allow_password_grant()
        .build()?;
    let token: Route =
        ServiceExt::<Request<Incoming>>::map_response(token, |r| r.map(BodyExt::boxed))
            .boxed_clone();
    let status = protected(&[], &validator, |_| {
        json_response(StatusCode::OK, &json!({"status": "ok"}))
    })?;
    let me = {
        let store = Arc::clone(&store);
        protected(&["me"], &validator, move |claims| {
            user_json(&store, &claims)
        })?
    };
    let items = protected(&["me", "items"], &validator, |claims| {
        json_response(
            StatusCode::OK,
            &json!([{"item_id": "Foo", "owner": claims.sub}]),
        )
    })?;

    let app = service_fn(move |req: Request<Incoming>| {
        let mut route = match req.uri().path() {
            "/" => {
                return futures_ready(json_response(
                    StatusCode::OK,
                    &json!({"message": "tower-bearer demo: POST /token, then GET /users/me"}),
                ))
            }
            "/token" => token.clone(),
            "/status" => status.clone(),
            "/users/me" => me.clone(),
            "/users/me/items" => items.clone(),
            _ => {
                return futures_ready(json_response(
                    StatusCode::NOT_FOUND,
                    &json!({"error": "not_found", "error_description": "No such route"}),
                ))
            }
        };
        Box::pin(async move { route.ready().await?.call(req).await })
    });

    let listener = tokio::net::TcpListener::bind(
        std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8000".into()),
    )
    .await?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::Write::flush(&mut std::io::stdout())?;

    let server = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let connection = server.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
                let connection = graceful.watch(connection.into_owned());
                tokio::spawn(async move { let _ = connection.await; });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    // Finish in-flight requests (bounded), then exit 0.
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    Ok(())
}

type RouteFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<Response<BoxBody<Bytes, Infallible>>, Infallible>>
            + Send,
    >,
>;

fn futures_ready(response: Response<BoxBody<Bytes, Infallible>>) -> RouteFuture {
    Box::pin(std::future::ready(Ok(response)))
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = async { match term.as_mut() { Some(term) => { term.recv().await; } None => std::future::pending().await } } => {}
    }
}
