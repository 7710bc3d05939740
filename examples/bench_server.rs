//! A minimal hyper server with one route, with or without the bearer layer, for
//! end-to-end load runs (`scripts/load.sh`).
//!
//! Dependencies (the `cargo run` lines below build it in this repository with exactly
//! these features):
//!
//! ```toml
//! [dependencies]
//! tower-bearer = { version = "0.1", default-features = false, features = ["rust-crypto"] }
//! bytes = "1"
//! http = "1"
//! http-body = "1"
//! http-body-util = "0.1"
//! hyper = { version = "1", features = ["server", "http1"] }
//! hyper-util = { version = "0.1", features = ["tokio", "service"] }
//! jsonwebtoken = { version = "11", features = ["rust_crypto"] }
//! serde_json = "1"
//! tokio = { version = "1", features = ["full"] }
//! tower = { version = "0.5", features = ["util"] }
//! ```
//!
//! ```text
//! AUTH=on cargo run --release --example bench_server --no-default-features --features rust-crypto
//! # prints `listening on http://127.0.0.1:PORT` and `token <jwt>`, then:
//! curl -H "Authorization: Bearer <jwt>" http://127.0.0.1:PORT/
//! ```
//!
//! One current-thread runtime serves every connection, so the process's CPU time is
//! the server's work. `AUTH=off` serves the same route with no layer.

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use jsonwebtoken::{EncodingKey, Header};
use tokio::net::TcpListener;
use tower::{Layer, Service};
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};

const SECRET: &[u8] = b"bench-server-secret-at-least-32-bytes!!";
const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "api";

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

async fn serve<S, B>(listener: TcpListener, service: S) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let auth = std::env::var("AUTH").map_or(true, |v| v != "off");
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let token = jsonwebtoken::encode(
        &Header::default(),
        &serde_json::json!({
            "sub": "load-test", "iss": ISSUER, "aud": AUDIENCE,
            "exp": now + 24 * 3600, "iat": now, "scope": "read",
        }),
        &EncodingKey::from_secret(SECRET),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on http://{}", listener.local_addr()?);
        println!("token {token}");
        println!("auth {}", if auth { "on" } else { "off" });
        let route = tower::service_fn(hello);
        if auth {
            let validator = JwtValidator::<Claims>::hs256(SECRET)?
                .with_issuer(ISSUER)?
                .with_audience(AUDIENCE)?;
            serve(listener, BearerAuthLayer::new(validator).layer(route)).await?;
        } else {
            serve(listener, route).await?;
        }
        Ok(())
    })
}
