//! Shared test helpers: a real server on 127.0.0.1, a real client, token minting.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub mod redis;

pub const SECRET: &[u8] = b"test-secret-that-is-at-least-32-bytes-long";
pub const REALM: &str = "tower-bearer-test";

/// A server on 127.0.0.1 that stops accepting when dropped (its open connections
/// finish their work); [`down`](Self::down) also closes them.
pub struct TestServer {
    pub addr: SocketAddr,
    /// `true`: close the open connections too.
    shutdown: Option<oneshot::Sender<bool>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(false);
        }
    }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server and closes its open (keep-alive) connections: it is really
    /// down then.
    pub fn down(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}

/// Serves any Tower service (HTTP/1 and h2c) on an ephemeral loopback port.
pub async fn serve<S, B>(service: S) -> TestServer
where
    S: tower::Service<Request<hyper::body::Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = oneshot::channel::<bool>();
    tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        let close = loop {
            tokio::select! {
                close = &mut rx => break close.unwrap_or(false),
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let service = TowerToHyperService::new(service.clone());
                    connections.spawn(async move {
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Finished connections leave the set.
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        };
        if !close {
            connections.detach_all();
        }
        // Otherwise dropping the set aborts every connection.
    });
    TestServer {
        addr,
        shutdown: Some(tx),
    }
}

/// The answer of a request, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    pub fn challenge(&self) -> &str {
        self.headers
            .get("www-authenticate")
            .expect("a WWW-Authenticate header")
            .to_str()
            .unwrap()
    }

    /// Checks the RFC 6750 invariants of a bearer rejection: a `Bearer` challenge,
    /// JSON body with string `error` and `error_description`, and the challenge's
    /// `error` (if any) equal to the body's.
    pub fn assert_bearer_rejection(&self, status: u16, error: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {:?}", self.body);
        let challenge = self.challenge();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        let body = self.json();
        assert!(body["error"].is_string(), "{body}");
        assert!(body["error_description"].is_string(), "{body}");
        match error {
            Some(code) => {
                assert!(
                    challenge.contains(&format!("error=\"{code}\"")),
                    "{challenge}"
                );
                assert_eq!(body["error"], code);
            }
            None => assert!(!challenge.contains("error="), "{challenge}"),
        }
    }
}

/// Sends a request with a real hyper client (HTTP/1.1).
pub async fn send(request: Request<Full<Bytes>>) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client.request(request).await.expect("request failed");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// `GET url` with the given headers.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut builder = Request::get(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(builder.body(Full::default()).unwrap()).await
}

/// `GET url` with `Authorization: Bearer token`.
pub async fn get_with_token(url: &str, token: &str) -> Answer {
    get(url, &[("authorization", &format!("Bearer {token}"))]).await
}

/// Polls `GET url` with `token` until it is refused with `401 invalid_token`, which
/// must happen within `limit` after `since`: for effects that cross nodes or caches
/// (a revocation pushed to another node, a disabled user leaving a cache), where no
/// clock can be paused. Until then every answer must be `200`.
#[allow(dead_code)]
pub async fn refused_within(
    url: &str,
    token: &str,
    since: std::time::Instant,
    limit: std::time::Duration,
) {
    let what = format!("{url}: the token still accepted");
    eventually(&what, since, limit, || async {
        let answer = get_with_token(url, token).await;
        if answer.status == StatusCode::UNAUTHORIZED {
            answer.assert_bearer_rejection(401, Some("invalid_token"));
            return Some(());
        }
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        None
    })
    .await;
}

/// Polls `check` every 5 ms until it yields a value, which must happen within `limit`
/// after `since` (else the test fails naming `what`): the one bounded wait for what
/// crosses processes or tasks, where no clock can be paused.
#[allow(dead_code)]
pub async fn eventually<T, F, Fut>(
    what: &str,
    since: std::time::Instant,
    limit: std::time::Duration,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(since.elapsed() < limit, "{what} after {limit:?}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// An HS256 token over `claims` signed with [`SECRET`].
pub fn hs256(claims: &Value) -> String {
    sign(Algorithm::HS256, &EncodingKey::from_secret(SECRET), claims)
}

pub fn sign(algorithm: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    install_crypto_provider();
    jsonwebtoken::encode(&Header::new(algorithm), claims, key).unwrap()
}

/// jsonwebtoken's signing functions need a process-wide default backend when both of
/// its backends are compiled in (`--all-features` turns on `aws-lc` next to
/// `rust_crypto`); without one they panic.
pub fn install_crypto_provider() {
    #[cfg(feature = "rust-crypto")]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

/// A token from raw header and payload JSON text, HMAC-SHA256-signed with `secret`
/// (for headers and payloads jsonwebtoken would refuse to produce).
pub fn raw_hs256(header: &str, payload: &str, secret: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A service answering 200 with the request's claims (as JSON) or `null`, counting
/// its calls, and panicking if called without a `poll_ready` first.
#[derive(Clone, Default)]
pub struct EchoClaims<C> {
    calls: Arc<AtomicUsize>,
    ready: bool,
    claims: std::marker::PhantomData<fn() -> C>,
}

impl<C> EchoClaims<C> {
    pub fn new() -> Self {
        Self {
            calls: Arc::default(),
            ready: false,
            claims: std::marker::PhantomData,
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl<C, B> tower::Service<Request<B>> for EchoClaims<C>
where
    C: serde::Serialize + Send + Sync + 'static,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        self.ready = true;
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        assert!(self.ready, "inner service called without poll_ready");
        self.ready = false;
        self.calls.fetch_add(1, Ordering::SeqCst);
        let claims = request.extensions().get::<C>();
        let body = serde_json::to_vec(&claims).unwrap();
        std::future::ready(Ok(Response::new(Full::new(Bytes::from(body)))))
    }
}

// ---- token endpoint helpers -------------------------------------------------------

pub const FORM: &str = "application/x-www-form-urlencoded";

/// `POST url` with a body and content type (HTTP/1.1, Content-Length set).
pub async fn post(
    url: &str,
    content_type: Option<&str>,
    body: impl Into<Bytes>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut builder = Request::post(url);
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(builder.body(Full::new(body.into())).unwrap()).await
}

/// `POST url` with an urlencoded form body.
pub async fn post_form(url: &str, form: &str) -> Answer {
    post(url, Some(FORM), form.to_owned(), &[]).await
}

/// Writes raw bytes to `addr`, half-closes if asked, and reads one answer (or until
/// the server closes). Bounded to 10 s.
pub async fn raw(addr: SocketAddr, request: &[u8], half_close: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    if half_close {
        let _ = stream.shutdown().await;
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    // One response is enough: stop once its body is complete.
                    if let Some(head_end) = find(&out, b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&out[..head_end]).to_ascii_lowercase();
                        if let Some(len) = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                        {
                            if out.len() >= head_end + 4 + len {
                                break;
                            }
                        }
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 10 s");
    String::from_utf8_lossy(&out).into_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Checks an RFC 6749 §5.2 error answer: status, JSON `error` code, a description
/// within §5.2's character set, `Cache-Control: no-store`.
pub fn assert_oauth_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status.as_u16(), status, "body: {:?}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.headers["cache-control"], "no-store");
    let body = answer.json();
    assert_eq!(body["error"], code, "{body}");
    let description = body["error_description"]
        .as_str()
        .expect("error_description");
    assert!(
        description
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
        "{description}"
    );
}
