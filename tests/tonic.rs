//! The tonic example over TCP (h2c) with a real tonic client.
mod common;

#[allow(dead_code)]
#[path = "../examples/tonic.rs"]
mod example;

use common::*;
use example::{HelloReply, HelloRequest};
use http::uri::PathAndQuery;
use serde_json::json;
use tokio::sync::oneshot;
use tonic::client::Grpc;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_prost::ProstCodec;

struct Server {
    url: String,
    _stop: oneshot::Sender<()>,
}

async fn server() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        example::run(listener, SECRET, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Server { url, _stop: stop }
}

async fn call(
    server: &Server,
    method: &'static str,
    token: Option<&str>,
) -> Result<tonic::Response<HelloReply>, Status> {
    let channel = Channel::from_shared(server.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = Grpc::new(channel);
    client.ready().await.unwrap();
    let mut request = Request::new(HelloRequest {
        name: "grpc".into(),
    });
    if let Some(token) = token {
        let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    let codec = ProstCodec::<HelloRequest, HelloReply>::default();
    client
        .unary(request, PathAndQuery::from_static(method), codec)
        .await
}

fn token(scope: &str) -> String {
    hs256(&json!({ "sub": "alice", "exp": now() + 600, "scope": scope }))
}

fn challenge(status: &Status) -> &str {
    status
        .metadata()
        .get("www-authenticate")
        .expect("www-authenticate kept")
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn valid_token_handler_sees_claims() {
    let server = server().await;
    let reply = call(&server, "/demo.Greeter/SayHello", Some(&token("read")))
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "hello grpc, from alice");
}

#[tokio::test]
async fn no_token_unauthenticated() {
    let server = server().await;
    let status = call(&server, "/demo.Greeter/SayHello", None)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "unauthorized: Bearer token required");
    assert_eq!(challenge(&status), r#"Bearer realm="grpc-demo""#);
}

#[tokio::test]
async fn bad_tokens_unauthenticated_invalid_token() {
    let server = server().await;
    let expired = hs256(&json!({ "sub": "alice", "exp": now() - 3600 }));
    for bad in [expired.as_str(), "not.a.jwt", "garbage"] {
        let status = call(&server, "/demo.Greeter/SayHello", Some(bad))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{bad}");
        assert!(
            status.message().starts_with("invalid_token: "),
            "{}",
            status.message()
        );
        assert!(challenge(&status).contains(r#"error="invalid_token""#));
    }
}

#[tokio::test]
async fn method_scope_missing_permission_denied() {
    let server = server().await;
    let status = call(&server, "/demo.Greeter/Admin", Some(&token("read")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status.message().starts_with("insufficient_scope: "),
        "{}",
        status.message()
    );
    let challenge = challenge(&status);
    assert!(
        challenge.starts_with(r#"Bearer realm="grpc-demo", error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.ends_with(r#"scope="admin""#), "{challenge}");
}

#[tokio::test]
async fn method_scope_granted_ok() {
    let server = server().await;
    let reply = call(&server, "/demo.Greeter/Admin", Some(&token("read admin")))
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "hello grpc, from alice");
    // The same token on a method without scopes.
    assert!(
        call(&server, "/demo.Greeter/SayHello", Some(&token("admin")))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unknown_method_still_needs_a_token() {
    let server = server().await;
    let status = call(&server, "/demo.Greeter/Nope", None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = call(&server, "/demo.Greeter/Nope", Some(&token("read")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

#[tokio::test]
async fn plain_http_request_gets_http_shape() {
    // The same server answers a non-gRPC caller with the RFC 6750 HTTP answer.
    let server = server().await;
    let listener_url = format!("{}/demo.Greeter/SayHello", server.url);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let response = client
        .request(
            http::Request::post(listener_url)
                .body(Default::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="grpc-demo""#
    );
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[test]
fn path_scopes_bad_config_refused() {
    use tower_bearer::{Claims, ConfigError, PathScopes};
    let layer = PathScopes::<Claims>::new();
    assert_eq!(
        layer.clone().with_path("no-slash", ["a"]).unwrap_err(),
        ConfigError::InvalidPath("path")
    );
    assert_eq!(
        layer.clone().with_path("/x", ["bad scope"]).unwrap_err(),
        ConfigError::InvalidScope
    );
    assert_eq!(
        layer
            .clone()
            .with_path("/x", Vec::<&str>::new())
            .unwrap_err(),
        ConfigError::NoScopes
    );
    let twice = layer.with_path("/x", ["a"]).unwrap().with_path("/x", ["b"]);
    assert_eq!(twice.unwrap_err(), ConfigError::InvalidPath("path"));
}
