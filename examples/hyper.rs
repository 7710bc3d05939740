//! A plain hyper 1 server: every request needs a bearer token; the handler answers
//! with the token's claims.
//!
//! Dependencies (the `cargo run` lines below build it in this repository with exactly
//! these features):
//!
//! ```toml
//! [dependencies]
//! tower-bearer = { version = "0.1", default-features = false, features = ["rust-crypto"] }
//! bytes = "1"
//! http = "1"
//! http-body-util = "0.1"
//! hyper = { version = "1", features = ["server", "http1"] }
//! hyper-util = { version = "0.1", features = ["tokio", "service"] }
//! serde_json = "1"
//! tokio = { version = "1", features = ["full"] }
//! tower = { version = "0.5", features = ["util"] }
//! ```
//!
//! ```sh
//! BIND=127.0.0.1:8000 JWT_SECRET=change-me-to-32-or-more-random-bytes cargo run --example hyper --no-default-features --features rust-crypto
//! TOKEN=$(JWT_SECRET=change-me-to-32-or-more-random-bytes cargo run -q --example mint_token --no-default-features --features rust-crypto,test-util -- alice)
//! curl -i http://127.0.0.1:8000/                                        # 401 + WWW-Authenticate
//! curl -i http://127.0.0.1:8000/ -H "authorization: Bearer $TOKEN"      # 200, the claims as JSON
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};

async fn me(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let json = serde_json::to_vec(&request.extensions().get::<Claims>()).unwrap_or_default();
    Ok(Response::new(Full::new(Bytes::from(json))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let secret = env("JWT_SECRET", "change-me-to-32-or-more-random-bytes");
    let service = ServiceBuilder::new()
        .layer(
            BearerAuthLayer::new(JwtValidator::<Claims>::hs256(secret.as_bytes())?)
                .with_realm("hyper-demo")?,
        )
        .service_fn(me);

    let listener = tokio::net::TcpListener::bind(env("BIND", "127.0.0.1:8000")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
    }
}
