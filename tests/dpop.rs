//! DPoP (RFC 9449) over real TCP, with proofs made by a third-party implementation:
//! panva's `dpop` package on Node's WebCrypto (`tests/dpop/proofs.mjs`, installed by
//! this test with `npm ci` when missing). The server side is this crate's token
//! endpoint and bearer layer sharing one [`Dpop`]; the demo server is checked too.
#![cfg(feature = "token-endpoint")]

mod common;
#[path = "common/demo.rs"]
mod demo;

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
#[cfg(feature = "redis")]
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{post, send, Answer, EchoClaims, FORM, SECRET};
use http::{Request, Response};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tower::{service_fn, util::BoxCloneService, ServiceBuilder, ServiceExt};
use tower_bearer::dpop::Dpop;
#[cfg(feature = "redis")]
use tower_bearer::dpop::ReplayStore;
use tower_bearer::token_endpoint::{
    hash_password, InMemoryUserStore, TokenEndpoint, TokenIssuer, User,
};
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};

const REALM: &str = "dpop-test";
const ALGS: &str = r#"algs="ES256 EdDSA Ed25519 ES384 PS256 RS256""#;

// ---- the third-party proof maker ----------------------------------------------------

/// `tests/dpop/proofs.mjs` running under Node: one proof per request line.
struct Proofs {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Proofs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A proof and the library's own thumbprint of the key that made it.
struct Proof {
    proof: String,
    jkt: String,
}

const HELPERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dpop");

/// Installs what the helpers need, once per test process.
static SETUP: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Proofs {
    /// panva's `dpop` on Node (keys `es` ES256, `ed` Ed25519, `ps` PS256, `other` ES256).
    fn start() -> Self {
        {
            let _once = SETUP
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let node_ok = Command::new("node").arg("--version").output().is_ok();
            assert!(node_ok, "tests/dpop.rs needs Node.js 20+ (`node`) on PATH");
            if !std::path::Path::new(&format!("{HELPERS}/node_modules/dpop/package.json")).exists()
            {
                let status = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(HELPERS)
                    .status()
                    .expect("npm ci in tests/dpop");
                assert!(status.success(), "npm ci in tests/dpop failed");
            }
        }
        let mut command = Command::new("node");
        command.arg("proofs.mjs");
        Self::spawn(command)
    }

    /// Python's joserfc in a virtual environment under the target directory (keys
    /// `rs` RS256, `es384` ES384).
    fn joserfc() -> Self {
        // <target>/<profile>/deps/<this test> -> <target>/dpop-venv
        let exe = std::env::current_exe().unwrap();
        let target = exe.ancestors().nth(3).unwrap().to_path_buf();
        let venv = target.join("dpop-venv");
        let python = venv.join("bin/python");
        {
            let _once = SETUP
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let ready = Command::new(&python)
                .args(["-c", "import joserfc"])
                .output()
                .is_ok_and(|out| out.status.success());
            if !ready {
                let status = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .expect("tests/dpop.rs needs python3 with venv");
                assert!(status.success(), "python3 -m venv failed");
                let status = Command::new(&python)
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "-r",
                    ])
                    .arg(format!("{HELPERS}/requirements.txt"))
                    .status()
                    .expect("pip install joserfc");
                assert!(
                    status.success(),
                    "pip install -r tests/dpop/requirements.txt failed"
                );
            }
        }
        let mut command = Command::new(python);
        command.arg("joserfc_proofs.py");
        Self::spawn(command)
    }

    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .current_dir(HELPERS)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node proofs.mjs");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut ready = String::new();
        stdout.read_line(&mut ready).unwrap();
        let ready: Value = serde_json::from_str(&ready).unwrap_or_default();
        assert_eq!(ready["ready"], true, "proof helper did not start");
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// A proof by key `key` (`es`, `ed`, `ps`, `other`) for `htm` `htu`, bound to
    /// `token` when given, the library's clock moved by `clock_offset` seconds.
    fn make(
        &mut self,
        key: &str,
        htm: &str,
        htu: &str,
        token: Option<&str>,
        nonce: Option<&str>,
        clock_offset: i64,
    ) -> Proof {
        let request = json!({
            "key": key, "htm": htm, "htu": htu, "accessToken": token,
            "nonce": nonce, "clockOffset": clock_offset,
        });
        writeln!(self.stdin, "{request}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line).unwrap();
        assert!(answer["error"].is_null(), "proof helper: {answer}");
        Proof {
            proof: answer["proof"].as_str().unwrap().to_owned(),
            jkt: answer["jkt"].as_str().unwrap().to_owned(),
        }
    }

    fn fresh(&mut self, key: &str, htm: &str, htu: &str, token: Option<&str>) -> Proof {
        self.make(key, htm, htu, token, None, 0)
    }
}

// ---- the server ---------------------------------------------------------------------

type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;
type Route = BoxCloneService<Request<hyper::body::Incoming>, Response<Body>, Infallible>;

struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn boxed<S, B>(service: S) -> Route
where
    S: tower::Service<Request<hyper::body::Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    service
        .map_response(|r: Response<B>| r.map(|b| b.map_err(Into::into).boxed()))
        .boxed_clone()
}

/// `POST /token` (password grant, johndoe / secret) and `GET|POST /me` (echoes the
/// claims) on 127.0.0.1, both with DPoP from `configure(Dpop::new("http://ADDR"))`.
async fn server(configure: impl FnOnce(Dpop) -> Dpop) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dpop = configure(Dpop::new(&format!("http://{addr}")).unwrap());

    let store = InMemoryUserStore::new()
        .with_user(User::new("johndoe", hash_password("secret").unwrap()).with_scopes(["me"]));
    let endpoint = TokenEndpoint::builder(TokenIssuer::hs256(SECRET).unwrap(), store)
        .allow_password_grant()
        .with_refresh_tokens(
            Arc::new(tower_bearer::store::MemoryStore::new()),
            Duration::from_secs(3600),
        )
        .with_dpop(dpop.clone())
        .build()
        .unwrap();
    let layer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap())
        .with_realm(REALM)
        .unwrap()
        .with_dpop(dpop);
    let token = boxed(endpoint);
    let me = boxed(
        ServiceBuilder::new()
            .layer(layer)
            .service(EchoClaims::<Claims>::new()),
    );
    let app = service_fn(move |request: Request<hyper::body::Incoming>| {
        let route = if request.uri().path() == "/token" {
            token.clone()
        } else {
            me.clone()
        };
        route.oneshot(request)
    });

    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut rx => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let service = hyper_util::service::TowerToHyperService::new(app.clone());
                    tokio::spawn(async move {
                        let _ = hyper_util::server::conn::auto::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                    });
                }
            }
        }
    });
    Server {
        addr,
        shutdown: Some(tx),
    }
}

const LOGIN: &str = "grant_type=password&username=johndoe&password=secret";

async fn login(url: &str, proof: Option<&str>) -> Answer {
    match proof {
        Some(proof) => post(url, Some(FORM), LOGIN, &[("dpop", proof)]).await,
        None => post(url, Some(FORM), LOGIN, &[]).await,
    }
}

/// `method url` with `Authorization: <authorization>` and the given `DPoP` headers.
async fn call(method: &str, url: &str, authorization: &str, proofs: &[&str]) -> Answer {
    let mut builder = Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", authorization);
    for proof in proofs {
        builder = builder.header("dpop", *proof);
    }
    send(builder.body(Full::default()).unwrap()).await
}

fn payload(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&json).unwrap()
}

/// A `DPoP` refusal: status 401, the DPoP challenge with the realm, `error` and
/// `algs`, the same `error` in the JSON body.
fn assert_dpop_refusal(answer: &Answer, code: &str) {
    assert_eq!(answer.status, 401, "body: {:?}", answer.body);
    let challenge = answer.challenge();
    assert!(
        challenge.starts_with(&format!(r#"DPoP realm="{REALM}", error="{code}""#)),
        "{challenge}"
    );
    assert!(challenge.ends_with(ALGS), "{challenge}");
    assert_eq!(answer.json()["error"], code);
}

/// Logs in with a proof by `key`: the DPoP-bound token.
async fn bound_token(server: &Server, proofs: &mut Proofs, key: &str) -> String {
    let proof = proofs.fresh(key, "POST", &server.url("/token"), None);
    let answer = login(&server.url("/token"), Some(&proof.proof)).await;
    assert_eq!(answer.status, 200, "body: {:?}", answer.body);
    let body = answer.json();
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap().to_owned();
    // Bound to the key the library made the proof with, by its own thumbprint.
    assert_eq!(payload(&token)["cnf"]["jkt"], proof.jkt);
    token
}

// ---- tests --------------------------------------------------------------------------

#[tokio::test]
async fn login_and_use_with_third_party_proofs_ok() {
    let server = server(|dpop| dpop).await;
    let mut proofs = Proofs::start();
    for key in ["es", "ed", "ps"] {
        let token = bound_token(&server, &mut proofs, key).await;
        for method in ["GET", "POST"] {
            let proof = proofs.fresh(key, method, &server.url("/me"), Some(&token));
            let answer = call(
                method,
                &server.url("/me"),
                &format!("DPoP {token}"),
                &[&proof.proof],
            )
            .await;
            assert_eq!(answer.status, 200, "{key} {method}: {:?}", answer.body);
            assert_eq!(answer.json()["sub"], "johndoe");
        }
        // The scheme name is case-insensitive; a query is not part of htu.
        let proof = proofs.fresh(key, "GET", &server.url("/me"), Some(&token));
        let answer = call(
            "GET",
            &server.url("/me?page=2"),
            &format!("dpop {token}"),
            &[&proof.proof],
        )
        .await;
        assert_eq!(answer.status, 200, "{key}: {:?}", answer.body);
    }

    // Without a proof the token endpoint answers as before: a bearer token, usable as one.
    let answer = login(&server.url("/token"), None).await;
    assert_eq!(answer.json()["token_type"], "bearer");
    let bearer = answer.json()["access_token"].as_str().unwrap().to_owned();
    assert!(payload(&bearer).get("cnf").is_none());
    let answer = call("GET", &server.url("/me"), &format!("Bearer {bearer}"), &[]).await;
    assert_eq!(answer.status, 200);
    // No credentials: the plain Bearer challenge, as without DPoP.
    let answer = common::get(&server.url("/me"), &[]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.challenge(), format!(r#"Bearer realm="{REALM}""#));
}

/// A second implementation, for RS256 and ES384 proofs.
#[tokio::test]
async fn login_and_use_with_joserfc_proofs_ok() {
    let server = server(|dpop| dpop).await;
    let mut proofs = Proofs::joserfc();
    let me = server.url("/me");
    for key in ["rs", "es384"] {
        let token = bound_token(&server, &mut proofs, key).await;
        let proof = proofs.fresh(key, "GET", &me, Some(&token));
        let auth = format!("DPoP {token}");
        let answer = call("GET", &me, &auth, &[&proof.proof]).await;
        assert_eq!(answer.status, 200, "{key}: {:?}", answer.body);
        assert_dpop_refusal(
            &call("GET", &me, &auth, &[&proof.proof]).await,
            "invalid_dpop_proof",
        );
        let stale = proofs.make(key, "GET", &me, Some(&token), None, -120);
        assert_dpop_refusal(
            &call("GET", &me, &auth, &[&stale.proof]).await,
            "invalid_dpop_proof",
        );
    }
}

#[tokio::test]
async fn bad_proofs_and_misused_tokens_fail() {
    let server = server(|dpop| dpop).await;
    let mut proofs = Proofs::start();
    let token = bound_token(&server, &mut proofs, "es").await;
    let me = server.url("/me");
    let dpop_auth = format!("DPoP {token}");

    // Replay: the same proof twice.
    let proof = proofs.fresh("es", "GET", &me, Some(&token));
    let first = call("GET", &me, &dpop_auth, &[&proof.proof]).await;
    assert_eq!(first.status, 200);
    let replayed = call("GET", &me, &dpop_auth, &[&proof.proof]).await;
    assert_dpop_refusal(&replayed, "invalid_dpop_proof");
    assert!(replayed.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));

    let cases: [(&str, &str, String, bool, i64, &str); 7] = [
        // key, htm, htu, with ath, clock offset, expected error
        (
            "es",
            "GET",
            server.url("/other"),
            true,
            0,
            "invalid_dpop_proof",
        ),
        (
            "es",
            "GET",
            format!("https://{}/me", server.addr),
            true,
            0,
            "invalid_dpop_proof",
        ),
        ("es", "POST", me.clone(), true, 0, "invalid_dpop_proof"),
        ("es", "GET", me.clone(), true, -3600, "invalid_dpop_proof"),
        ("es", "GET", me.clone(), true, 3600, "invalid_dpop_proof"),
        ("es", "GET", me.clone(), false, 0, "invalid_dpop_proof"),
        // A valid proof by another key: the token is not bound to it.
        ("other", "GET", me.clone(), true, 0, "invalid_token"),
    ];
    for (key, htm, htu, ath, offset, code) in cases {
        let proof = proofs.make(key, htm, &htu, ath.then_some(token.as_str()), None, offset);
        let answer = call("GET", &me, &dpop_auth, &[&proof.proof]).await;
        assert_dpop_refusal(&answer, code);
    }

    // A proof for another token (wrong ath). Not a second login: two logins in the same
    // second can mint the very same token (no jti without refresh tokens).
    let other_token = format!("{token}x");
    let proof = proofs.fresh("es", "GET", &me, Some(&other_token));
    assert_dpop_refusal(
        &call("GET", &me, &dpop_auth, &[&proof.proof]).await,
        "invalid_dpop_proof",
    );

    // No proof, two proofs.
    assert_dpop_refusal(
        &call("GET", &me, &dpop_auth, &[]).await,
        "invalid_dpop_proof",
    );
    let (a, b) = (
        proofs.fresh("es", "GET", &me, Some(&token)),
        proofs.fresh("es", "GET", &me, Some(&token)),
    );
    let answer = call("GET", &me, &dpop_auth, &[&a.proof, &b.proof]).await;
    assert_dpop_refusal(&answer, "invalid_dpop_proof");
    // Not a JWS at all.
    assert_dpop_refusal(
        &call("GET", &me, &dpop_auth, &["not-a-proof"]).await,
        "invalid_dpop_proof",
    );

    // The bound token sent as a bearer token, with or without a proof.
    let bearer = format!("Bearer {token}");
    let answer = call("GET", &me, &bearer, &[]).await;
    assert_dpop_refusal(&answer, "invalid_token");
    let proof = proofs.fresh("es", "GET", &me, Some(&token));
    assert_dpop_refusal(
        &call("GET", &me, &bearer, &[&proof.proof]).await,
        "invalid_token",
    );

    // An unbound token with the DPoP scheme and a valid proof.
    let plain = login(&server.url("/token"), None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let proof = proofs.fresh("es", "GET", &me, Some(&plain));
    let answer = call("GET", &me, &format!("DPoP {plain}"), &[&proof.proof]).await;
    assert_dpop_refusal(&answer, "invalid_token");

    // A bad token with a good proof: invalid_token in the DPoP challenge.
    let last = if token.ends_with('A') { "E" } else { "A" };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    let proof = proofs.fresh("es", "GET", &me, Some(&forged));
    assert_dpop_refusal(
        &call("GET", &me, &format!("DPoP {forged}"), &[&proof.proof]).await,
        "invalid_token",
    );

    // Both schemes in one request: 400.
    let proof = proofs.fresh("es", "GET", &me, Some(&token));
    let request = Request::get(&me)
        .header("authorization", &dpop_auth)
        .header("authorization", &bearer)
        .header("dpop", &proof.proof)
        .body(Full::default())
        .unwrap();
    let answer = send(request).await;
    answer.assert_bearer_rejection(400, Some("invalid_request"));
    // The DPoP token and a second token in the query: 400.
    let answer = call(
        "GET",
        &format!("{me}?access_token={plain}"),
        &dpop_auth,
        &[&proof.proof],
    )
    .await;
    answer.assert_bearer_rejection(400, Some("invalid_request"));

    // gRPC calls get the gRPC shape with the DPoP challenge.
    let proof = proofs.fresh("es", "POST", &me, None);
    let request = Request::post(&me)
        .header("authorization", &dpop_auth)
        .header("dpop", &proof.proof)
        .header("content-type", "application/grpc")
        .body(Full::default())
        .unwrap();
    let answer = send(request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["grpc-status"], "16");
    assert!(
        answer.challenge().starts_with("DPoP "),
        "{}",
        answer.challenge()
    );
    assert!(answer.challenge().contains(r#"error="invalid_dpop_proof""#));

    // After all that, a fresh proof still works.
    let proof = proofs.fresh("es", "GET", &me, Some(&token));
    assert_eq!(
        call("GET", &me, &dpop_auth, &[&proof.proof]).await.status,
        200
    );
}

#[tokio::test]
async fn token_endpoint_bad_proofs_fail() {
    let server = server(|dpop| dpop).await;
    let mut proofs = Proofs::start();
    let url = server.url("/token");
    let refused = |answer: &Answer| common::assert_oauth_error(answer, 400, "invalid_dpop_proof");

    let wrong_htu = proofs.fresh("es", "POST", &server.url("/login"), None);
    refused(&login(&url, Some(&wrong_htu.proof)).await);
    let wrong_htm = proofs.fresh("es", "GET", &url, None);
    refused(&login(&url, Some(&wrong_htm.proof)).await);
    let stale = proofs.make("ed", "POST", &url, None, None, -3600);
    refused(&login(&url, Some(&stale.proof)).await);
    refused(&login(&url, Some("e30.e30.e30")).await);

    let proof = proofs.fresh("ed", "POST", &url, None);
    assert_eq!(login(&url, Some(&proof.proof)).await.status, 200);
    refused(&login(&url, Some(&proof.proof)).await);
}

/// RFC 9449 §5: a refresh token issued with a proof is bound to that key: refreshing it
/// needs a proof by the same key; an unbound one may switch to DPoP.
#[tokio::test]
async fn refresh_tokens_bound_to_the_login_key() {
    let server = server(|dpop| dpop).await;
    let mut proofs = Proofs::start();
    let url = server.url("/token");
    let refresh = |token: &str| format!("grant_type=refresh_token&refresh_token={token}");
    async fn refresh_with(url: &str, body: &str, proof: Option<&str>) -> Answer {
        match proof {
            Some(proof) => post(url, Some(FORM), body.to_owned(), &[("dpop", proof)]).await,
            None => post(url, Some(FORM), body.to_owned(), &[]).await,
        }
    }

    let login_proof = proofs.fresh("es", "POST", &url, None);
    let answer = login(&url, Some(&login_proof.proof)).await;
    assert_eq!(answer.status, 200, "body: {:?}", answer.body);
    let bound = answer.json()["refresh_token"].as_str().unwrap().to_owned();

    // No proof, or a proof by another key: invalid_grant, and the token is not spent.
    common::assert_oauth_error(
        &refresh_with(&url, &refresh(&bound), None).await,
        400,
        "invalid_grant",
    );
    let other_key = proofs.fresh("ed", "POST", &url, None);
    common::assert_oauth_error(
        &refresh_with(&url, &refresh(&bound), Some(&other_key.proof)).await,
        400,
        "invalid_grant",
    );
    // The login key: a new DPoP-bound access token, and the successor stays bound.
    let same_key = proofs.fresh("es", "POST", &url, None);
    let answer = refresh_with(&url, &refresh(&bound), Some(&same_key.proof)).await;
    assert_eq!(answer.status, 200, "body: {:?}", answer.body);
    let body = answer.json();
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(payload(access)["cnf"]["jkt"], login_proof.jkt);
    let successor = body["refresh_token"].as_str().unwrap().to_owned();
    common::assert_oauth_error(
        &refresh_with(&url, &refresh(&successor), None).await,
        400,
        "invalid_grant",
    );

    // A login without a proof: its refresh token works with or without one.
    let plain = login(&url, None).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = refresh_with(&url, &refresh(&plain), None).await;
    assert_eq!(answer.status, 200, "body: {:?}", answer.body);
    assert_eq!(answer.json()["token_type"], "bearer");
    let next = answer.json()["refresh_token"].as_str().unwrap().to_owned();
    let proof = proofs.fresh("ed", "POST", &url, None);
    let answer = refresh_with(&url, &refresh(&next), Some(&proof.proof)).await;
    assert_eq!(answer.status, 200, "body: {:?}", answer.body);
    assert_eq!(answer.json()["token_type"], "DPoP");
}

#[tokio::test]
async fn server_nonce_required_when_configured() {
    let server = server(|dpop| {
        dpop.with_nonces(
            b"a-nonce-secret-of-at-least-32-bytes!",
            Duration::from_secs(300),
        )
        .unwrap()
    })
    .await;
    let mut proofs = Proofs::start();
    let url = server.url("/token");

    // The token endpoint asks for a nonce first (RFC 9449 §8).
    let proof = proofs.fresh("es", "POST", &url, None);
    let answer = login(&url, Some(&proof.proof)).await;
    common::assert_oauth_error(&answer, 400, "use_dpop_nonce");
    let nonce = answer.headers["dpop-nonce"].to_str().unwrap().to_owned();
    let proof = proofs.make("es", "POST", &url, None, Some(&nonce), 0);
    let answer = login(&url, Some(&proof.proof)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let token = answer.json()["access_token"].as_str().unwrap().to_owned();

    // So does the resource (RFC 9449 §9).
    let me = server.url("/me");
    let auth = format!("DPoP {token}");
    let proof = proofs.fresh("es", "GET", &me, Some(&token));
    let answer = call("GET", &me, &auth, &[&proof.proof]).await;
    assert_dpop_refusal(&answer, "use_dpop_nonce");
    let nonce = answer.headers["dpop-nonce"].to_str().unwrap().to_owned();
    let forged = proofs.make("es", "GET", &me, Some(&token), Some("forged-nonce"), 0);
    assert_dpop_refusal(
        &call("GET", &me, &auth, &[&forged.proof]).await,
        "use_dpop_nonce",
    );
    let proof = proofs.make("es", "GET", &me, Some(&token), Some(&nonce), 0);
    assert_eq!(call("GET", &me, &auth, &[&proof.proof]).await.status, 200);
}

/// Two nodes sharing a Redis replay store: a proof accepted by one is a replay on the
/// other.
#[cfg(feature = "redis")]
#[tokio::test]
async fn replay_shared_through_redis_fails() {
    let Some(redis) = common::redis::start() else {
        return;
    };
    let store = tower_bearer::store::RedisStore::connect(&redis.url())
        .await
        .unwrap()
        .with_prefix("dpop-test:");
    // Both nodes on one listener address: the same public URL behind a balancer.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let node = |store: tower_bearer::store::RedisStore| {
        Dpop::new(&format!("http://{addr}"))
            .unwrap()
            .with_replay_store(store)
    };
    let (a, b) = (node(store.clone()), node(store.clone()));
    let mut proofs = Proofs::start();
    let proof = proofs.fresh("es", "GET", &format!("http://{addr}/me"), Some("token"));
    let mut headers = http::HeaderMap::new();
    headers.insert("dpop", proof.proof.parse().unwrap());
    let check = |dpop: &Dpop| {
        dpop.check(&headers, &http::Method::GET, "/me", Some("token"))
            .unwrap()
    };
    assert!(check(&a).record().await.is_ok());
    assert!(matches!(check(&b).record().await, Err(Ok(_))));
    assert!(matches!(check(&a).record().await, Err(Ok(_))));
    // The store answers as a trait object too.
    let shared: Arc<dyn ReplayStore> = Arc::new(store);
    let again = node_with(addr, shared);
    assert!(matches!(check(&again).record().await, Err(Ok(_))));
}

#[cfg(feature = "redis")]
fn node_with(addr: SocketAddr, store: Arc<dyn ReplayStore>) -> Dpop {
    Dpop::new(&format!("http://{addr}"))
        .unwrap()
        .with_replay_store(store)
}

/// The demo server: a login with a proof gets a DPoP-bound token usable only with
/// proofs (htu from `http://<BIND address>`).
#[tokio::test]
async fn demo_server_dpop_login_ok() {
    let demo = demo::start(Some("demo-dpop-test-secret-of-at-least-32-bytes"));
    let mut proofs = Proofs::start();
    let proof = proofs.fresh("ed", "POST", &demo.url("/token"), None);
    let answer = login(&demo.url("/token"), Some(&proof.proof)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["token_type"], "DPoP");
    let token = answer.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(payload(&token)["cnf"]["jkt"], proof.jkt);

    let url = demo.url("/users/me");
    let proof = proofs.fresh("ed", "GET", &url, Some(&token));
    let answer = call("GET", &url, &format!("DPoP {token}"), &[&proof.proof]).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["username"], "johndoe");

    let answer = call("GET", &url, &format!("Bearer {token}"), &[]).await;
    assert_eq!(answer.status, 401);
    assert!(answer
        .challenge()
        .starts_with("DPoP realm=\"tower-bearer-demo\", error=\"invalid_token\""));
    let answer = call("GET", &url, &format!("DPoP {token}"), &[&proof.proof]).await;
    assert_eq!(answer.status, 401);
    assert!(answer.challenge().contains("error=\"invalid_dpop_proof\""));
    demo.terminate();
}
