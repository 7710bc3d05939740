//! A tonic 0.14 gRPC server behind `BearerAuthLayer`: refusals are gRPC-shaped
//! (`grpc-status` 16 or 7, with `www-authenticate`), handlers read the claims from
//! the request extensions, and `demo.Greeter/Admin` also needs the `admin` scope.
//! The service is written by hand (no protoc), as generated code would be.
//!
//! Dependencies (the `cargo run` lines below build it in this repository with exactly
//! these features):
//!
//! ```toml
//! [dependencies]
//! tower-bearer = { version = "0.1", default-features = false, features = ["rust-crypto"] }
//! http = "1"
//! prost = "0.14"
//! tonic = "0.14"
//! tonic-prost = "0.14"
//! tokio = { version = "1", features = ["full"] }
//! tower = { version = "0.5", features = ["util"] }
//! ```
//!
//! ```sh
//! BIND=127.0.0.1:50051 JWT_SECRET=change-me-to-32-or-more-random-bytes cargo run --example tonic --no-default-features --features rust-crypto
//! TOKEN=$(JWT_SECRET=change-me-to-32-or-more-random-bytes cargo run -q --example mint_token --no-default-features --features rust-crypto,test-util -- alice "admin")
//! # No token: HTTP 200 with grpc-status: 16 and a www-authenticate header.
//! curl -si --http2-prior-knowledge -H 'content-type: application/grpc' --data-binary '' \
//!     http://127.0.0.1:50051/demo.Greeter/SayHello
//! # With a token (an empty HelloRequest is five zero bytes): grpc-status 0.
//! printf '\0\0\0\0\0' | curl -si --http2-prior-knowledge -H 'content-type: application/grpc' \
//!     -H "authorization: Bearer $TOKEN" --data-binary @- http://127.0.0.1:50051/demo.Greeter/SayHello
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::server::{Grpc, NamedService};
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::{service_fn, Service, ServiceBuilder};
use tower_bearer::{BearerAuthLayer, Claims, GuardLayer, JwtValidator, PathScopes};

/// `message HelloRequest { string name = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    /// Who to greet.
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `message HelloReply { string message = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloReply {
    /// The greeting.
    #[prost(string, tag = "1")]
    pub message: String,
}

/// A handler: the claims the bearer layer inserted are in the request extensions.
async fn say_hello(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    let claims = request
        .extensions()
        .get::<Claims>()
        .ok_or_else(|| Status::unauthenticated(""))?;
    let sub = claims.sub.clone().unwrap_or_default();
    let message = format!("hello {}, from {sub}", request.into_inner().name);
    Ok(Response::new(HelloReply { message }))
}

/// `service demo.Greeter { rpc SayHello(..); rpc Admin(..); }`, routed by hand.
#[derive(Clone, Debug, Default)]
pub struct Greeter;

impl NamedService for Greeter {
    const NAME: &'static str = "demo.Greeter";
}

impl Service<http::Request<Body>> for Greeter {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            let codec = ProstCodec::<HelloReply, HelloRequest>::default();
            Ok(match request.uri().path() {
                "/demo.Greeter/SayHello" | "/demo.Greeter/Admin" => {
                    Grpc::new(codec).unary(service_fn(say_hello), request).await
                }
                _ => Status::unimplemented("no such method").into_http(),
            })
        })
    }
}

/// Serves `Greeter` behind the bearer layer until `shutdown` completes.
pub async fn run(
    listener: tokio::net::TcpListener,
    secret: &[u8],
    shutdown: impl Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error>> {
    let auth = ServiceBuilder::new()
        .layer(
            BearerAuthLayer::new(JwtValidator::<Claims>::hs256(secret)?).with_realm("grpc-demo")?,
        )
        // Scopes per gRPC method.
        .layer(
            GuardLayer::new(
                PathScopes::<Claims>::new().with_path("/demo.Greeter/Admin", ["admin"])?,
            )
            .with_realm("grpc-demo")?,
        )
        .into_inner();
    tonic::transport::Server::builder()
        .layer(auth)
        .add_service(Greeter)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let listener = tokio::net::TcpListener::bind(env("BIND", "127.0.0.1:50051")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let secret = env("JWT_SECRET", "change-me-to-32-or-more-random-bytes");
    run(listener, secret.as_bytes(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
