//! A gateway: checks bearer tokens, then proxies to an upstream with the token's
//! subject and scopes as `x-user` / `x-scopes` headers (client-sent ones are removed)
//! and without the `Authorization` header. Upstream answers pass through untouched.
//!
//! Dependencies (the `cargo run` lines below build it in this repository with exactly
//! these features):
//!
//! ```toml
//! [dependencies]
//! tower-bearer = { version = "0.1", default-features = false, features = ["rust-crypto", "jwks"] }
//! bytes = "1"
//! http = "1"
//! http-body = "1"
//! http-body-util = "0.1"
//! hyper = { version = "1", features = ["client", "server", "http1", "http2"] }
//! hyper-util = { version = "0.1", features = ["client-legacy", "server-auto", "service", "tokio"] }
//! tokio = { version = "1", features = ["full"] }
//! tower = { version = "0.5", features = ["util"] }
//! ```
//!
//! ```sh
//! UPSTREAM=http://127.0.0.1:8081 BIND=127.0.0.1:8080 JWT_SECRET=change-me-to-32-or-more-random-bytes \
//!     cargo run --example gateway --no-default-features --features rust-crypto,jwks
//! TOKEN=$(JWT_SECRET=change-me-to-32-or-more-random-bytes cargo run -q --example mint_token --no-default-features --features rust-crypto,test-util -- alice "read")
//! curl -i http://127.0.0.1:8080/anything                               # 401
//! curl -i http://127.0.0.1:8080/anything -H "authorization: Bearer $TOKEN"
//! ```
//! (`$TOKEN`: any HS256 JWT signed with `JWT_SECRET`: from `mint_token` as above, or the demo server.)
//!
//! With `JWKS_URL` set, tokens are checked against that issuer's JWK set instead
//! (fetched over HTTP, refreshed in the background and on an unknown `kid`), e.g. the
//! demo server in asymmetric mode:
//!
//! ```sh
//! JWT_ALG=ES256 cargo run --example demo_server     # the issuer, on :8000
//! JWKS_URL=http://127.0.0.1:8000/.well-known/jwks.json UPSTREAM=http://127.0.0.1:8081 \
//!     cargo run --example gateway --no-default-features --features rust-crypto,jwks
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use http_body_util::{Either, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tower::util::BoxCloneService;
use tower::{Service, ServiceBuilder, ServiceExt};
use tower_bearer::validate::TokenValidator;
use tower_bearer::{BearerAuthLayer, Claims, ClaimsToHeadersLayer, JwtValidator};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The gateway service: bearer check with `validator` (HS256 by default, a remote JWK
/// set with `JWKS_URL`), claims to headers, then the proxy.
pub fn gateway<V: TokenValidator<Claims = Claims>>(
    upstream: Uri,
    validator: V,
) -> Result<
    impl Service<
            Request<Incoming>,
            Response = Response<
                impl http_body::Body<Data = Bytes, Error = BoxError> + Send + 'static,
            >,
            Error = Infallible,
            Future = impl Send,
        > + Clone
        + Send
        + 'static,
    BoxError,
> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Incoming>();
    Ok(ServiceBuilder::new()
        .layer(BearerAuthLayer::new(validator).with_realm("gateway")?)
        .layer(
            ClaimsToHeadersLayer::<Claims>::new()
                .with_claim("sub", "x-user")?
                .with_claim("scope", "x-scopes")?
                .strip_authorization(),
        )
        .service_fn(move |mut request: Request<Incoming>| {
            let (client, upstream) = (client.clone(), upstream.clone());
            async move {
                let mut target = upstream.into_parts();
                target.path_and_query = request.uri().path_and_query().cloned();
                *request.uri_mut() =
                    Uri::from_parts(target).expect("scheme and authority from a valid URI");
                request.headers_mut().remove(http::header::HOST);
                Ok::<_, Infallible>(match client.request(request).await {
                    Ok(response) => response.map(Either::Left),
                    Err(_) => Response::builder()
                        .status(StatusCode::BAD_GATEWAY)
                        .body(Either::<_, Empty<Bytes>>::Right(Empty::new()))
                        .expect("valid response"),
                })
            }
        }))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let upstream: Uri = env("UPSTREAM", "http://127.0.0.1:8081").parse()?;
    let service: Gateway = match std::env::var("JWKS_URL") {
        #[cfg(feature = "jwks")]
        Ok(url) => {
            let validator = tower_bearer::JwksValidator::<Claims>::new(
                tower_bearer::HttpFetcher::new(),
                url.parse()?,
            )
            .await?;
            eprintln!("validating tokens against {url}");
            boxed(gateway(upstream, validator)?)
        }
        _ => {
            let secret = env("JWT_SECRET", "change-me-to-32-or-more-random-bytes");
            boxed(gateway(upstream, JwtValidator::<Claims>::hs256(secret)?)?)
        }
    };
    let listener = tokio::net::TcpListener::bind(env("BIND", "127.0.0.1:8080")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Either gateway (shared secret or JWK set), behind one type.
type Gateway = BoxCloneService<Request<Incoming>, Response<BoxBody<Bytes, BoxError>>, Infallible>;

fn boxed<S, B>(service: S) -> Gateway
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes, Error = BoxError> + Send + Sync + 'static,
{
    BoxCloneService::new(service.map_response(|response| response.map(BodyExt::boxed)))
}
