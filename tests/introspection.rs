//! `IntrospectionValidator` against a real third-party authorization server: the Node
//! `oidc-provider` package (pinned in tests/oidc/introspection/, installed by
//! scripts/oidc-introspection-provider.sh), issuing opaque access tokens by
//! `client_credentials`. A resource server with the validator runs on 127.0.0.1 and is
//! called over TCP; the provider counts the introspection requests it receives.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use http::StatusCode;
use tower::ServiceBuilder;
use tower_bearer::{BearerAuthLayer, Claims, HttpIntrospectionClient, IntrospectionValidator};

/// The provider process; killed when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the install script once per test binary: the tests run in parallel, and two
/// concurrent `npm ci` runs delete each other's `node_modules` under a starting provider.
fn install_provider() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let status = Command::new("bash")
            .arg(format!("{root}/scripts/oidc-introspection-provider.sh"))
            .status()
            .expect("bash runs the install script");
        assert!(
            status.success(),
            "installing oidc-provider failed (Node 20+ and npm needed)"
        );
    });
}

/// Starts the provider; a start that prints nothing within 45 s is killed and tried
/// again (three attempts), as a hung Node.js start was once seen in CI.
fn start_provider() -> Provider {
    install_provider();
    let mut errors = String::new();
    for _ in 0..3 {
        match try_start_provider() {
            Ok(provider) => return provider,
            Err(stderr) => errors.push_str(&stderr),
        }
    }
    panic!("oidc-provider did not start in three attempts of 45 s; its stderr:\n{errors}");
}

/// One start: the provider, or what it wrote to stderr before it was killed.
fn try_start_provider() -> Result<Provider, String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut child = Command::new("node")
        .arg("introspection-provider.mjs")
        .current_dir(format!("{root}/tests/oidc/introspection"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    // Kept so that a provider that exits early says why in the failure message.
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });
    match rx.recv_timeout(Duration::from_secs(45)) {
        Ok(issuer) => Ok(Provider { child, issuer }),
        Err(waited) => {
            let _ = child.kill();
            let _ = child.wait();
            let errors = errors.join().unwrap_or_default();
            Err(format!("({waited}) {errors}\n"))
        }
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

impl Provider {
    async fn access_token(&self) -> String {
        let answer = post(
            &format!("{}/token", self.issuer),
            Some(FORM),
            "grant_type=client_credentials&scope=api:read",
            &[("authorization", &basic("app", "app-secret"))],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        let token = answer.json()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            token.split('.').count(),
            1,
            "an opaque token, not a JWT: {token}"
        );
        token
    }

    async fn revoke(&self, token: &str) {
        let answer = post(
            &format!("{}/token/revocation", self.issuer),
            Some(FORM),
            format!("token={token}"),
            &[("authorization", &basic("app", "app-secret"))],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    }

    async fn introspections(&self) -> u64 {
        let answer = get(&format!("{}/test/count", self.issuer), &[]).await;
        answer.json()["introspections"].as_u64().unwrap()
    }

    async fn set_mode(&self, mode: &str) {
        let answer = post(
            &format!("{}/test/mode?m={mode}", self.issuer),
            None,
            "",
            &[],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
    }

    fn validator(&self, ttl: Duration) -> IntrospectionValidator<Claims, HttpIntrospectionClient> {
        IntrospectionValidator::<Claims>::builder(
            HttpIntrospectionClient::new(),
            &format!("{}/token/introspection", self.issuer),
            "rs",
            "rs-secret",
        )
        .unwrap()
        .with_cache_ttl(ttl)
        .with_issuer(&self.issuer)
        .build()
    }
}

/// The resource server: the validator in a bearer layer, echoing the claims.
async fn resource_server(
    validator: IntrospectionValidator<Claims, HttpIntrospectionClient>,
) -> TestServer {
    serve(
        ServiceBuilder::new()
            .layer(BearerAuthLayer::new(validator).with_realm(REALM).unwrap())
            .service(EchoClaims::<Claims>::new()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_token_is_accepted_and_then_served_from_the_cache_ok() {
    let provider = start_provider();
    let validator = provider.validator(Duration::from_secs(300));
    let api = resource_server(validator.clone()).await;
    let token = provider.access_token().await;

    let before = provider.introspections().await;
    let first = get_with_token(&api.url("/"), &token).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let claims = first.json();
    assert_eq!(claims["scope"], "api:read");
    assert_eq!(claims["iss"], provider.issuer.as_str());
    assert!(claims["exp"].as_i64().unwrap() > now());
    assert_eq!(provider.introspections().await, before + 1);

    // A hit: the same answer, and the provider sees no second request.
    for _ in 0..5 {
        let again = get_with_token(&api.url("/"), &token).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.json(), claims);
    }
    assert_eq!(provider.introspections().await, before + 1);
    assert_eq!(validator.cached(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_unknown_and_revoked_tokens_are_401_invalid_token_ok() {
    let provider = start_provider();
    // No cache: every request asks, so a revocation shows at once.
    let api = resource_server(provider.validator(Duration::ZERO)).await;

    let unknown = get_with_token(&api.url("/"), "no-such-token-at-this-provider").await;
    unknown.assert_bearer_rejection(401, Some("invalid_token"));

    let token = provider.access_token().await;
    assert_eq!(
        get_with_token(&api.url("/"), &token).await.status,
        StatusCode::OK
    );
    provider.revoke(&token).await;
    let revoked = get_with_token(&api.url("/"), &token).await;
    revoked.assert_bearer_rejection(401, Some("invalid_token"));
    assert!(revoked.challenge().contains(r#"realm="tower-bearer-test""#));

    // Inactive answers are cached too: a cached validator asks once per bad token.
    let cached = provider.validator(Duration::from_secs(300));
    let api = resource_server(cached).await;
    let before = provider.introspections().await;
    for _ in 0..3 {
        get_with_token(&api.url("/"), &token)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }
    assert_eq!(provider.introspections().await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_503_never_401_and_is_not_cached_ok() {
    let provider = start_provider();
    let api = resource_server(provider.validator(Duration::from_secs(300))).await;
    let token = provider.access_token().await;

    for mode in ["down", "garbage"] {
        provider.set_mode(mode).await;
        let answer = get_with_token(&api.url("/"), &token).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{mode}");
        assert!(answer.headers.get("www-authenticate").is_none(), "{mode}");
        assert_eq!(answer.json()["error"], "temporarily_unavailable");
    }
    // Back up: the same token is accepted (the failures were not cached).
    provider.set_mode("up").await;
    assert_eq!(
        get_with_token(&api.url("/"), &token).await.status,
        StatusCode::OK
    );

    // Nobody listening at the endpoint at all.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let unreachable = IntrospectionValidator::<Claims>::builder(
        HttpIntrospectionClient::new(),
        &format!("http://{closed}/token/introspection"),
        "rs",
        "rs-secret",
    )
    .unwrap()
    .build();
    let api = resource_server(unreachable).await;
    let answer = get_with_token(&api.url("/"), &token).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_for_one_token_send_one_request_ok() {
    let provider = start_provider();
    let api = resource_server(provider.validator(Duration::from_secs(300))).await;
    let token = provider.access_token().await;
    let before = provider.introspections().await;
    let url = api.url("/");
    let requests: Vec<_> = (0..16)
        .map(|_| {
            let (url, token) = (url.clone(), token.clone());
            tokio::spawn(async move { get_with_token(&url, &token).await.status })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(provider.introspections().await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_resource_server_credentials_are_503_not_401_ok() {
    let provider = start_provider();
    let validator = IntrospectionValidator::<Claims>::builder(
        HttpIntrospectionClient::new(),
        &format!("{}/token/introspection", provider.issuer),
        "rs",
        "wrong-secret",
    )
    .unwrap()
    .build();
    let api = resource_server(validator).await;
    let token = provider.access_token().await;
    let answer = get_with_token(&api.url("/"), &token).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
}
