//! Against a real, certified OpenID Provider: the `oidc-provider` package (installed
//! from the npm registry into tests/oidc/ by this test) started over HTTPS with a CA
//! this test generates. RS256, PS256 and ES256 RFC 9068 access tokens from client
//! credentials with a resource indicator; two providers at once; key rotation at the
//! provider while we run; forged, cross-issuer, wrong-audience and ID-token-typed
//! tokens refused; the demo server with `OIDC_ISSUER="https://a https://b"`.
#![cfg(all(feature = "jwks", feature = "token-endpoint", feature = "openapi"))]

#[path = "common/demo.rs"]
mod demo;

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};
use tower_bearer::keys::JwkOptions;
use tower_bearer::validate::{HttpFetcher, JwksError, JwksFetcher, JwksValidator};
use tower_bearer::{
    AuthError, Claims, InvalidToken, MultiIssuerValidator, TokenValidator, Validation,
};

const RS256: &str = "https://rs256.api.test";
const PS256: &str = "https://ps256.api.test";
const ES256: &str = "https://es256.api.test";

/// A test CA and a server certificate for `localhost` / `127.0.0.1`, as PEM files.
struct Pki {
    dir: PathBuf,
    ca_pem: String,
}

impl Pki {
    fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "tower-bearer test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        let dir = std::env::temp_dir().join(format!(
            "tower-bearer-oidc-{}-{}",
            std::process::id(),
            URL_SAFE_NO_PAD.encode(rand_bytes())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
        std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
        Self {
            dir,
            ca_pem: ca.pem(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_bytes() -> [u8; 6] {
    let mut bytes = [0; 6];
    getrandom::getrandom(&mut bytes).unwrap();
    bytes
}

/// `npm ci` in tests/oidc once (pinned by its lock file), unless already installed.
fn install_provider() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        if !dir.join("node_modules/oidc-provider/package.json").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .expect("npm (Node.js 20+) is needed: scripts/test.sh installs it");
            assert!(status.success(), "npm ci in tests/oidc failed");
        }
        dir
    })
    .clone()
}

/// One test of this file at a time: each starts one or two Node.js providers (RSA key
/// generation, TLS), and on a loaded 2-core machine several at once starved each other
/// past the start deadline.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// How long a provider may take to print its first line (Node.js start, keys, listen):
/// usually under 2 s; a start that hangs (seen once in CI: Node printed its first
/// warning, then nothing for 180 s) is killed and started again, up to
/// [`START_ATTEMPTS`] times.
const START_DEADLINE: Duration = Duration::from_secs(45);
const START_ATTEMPTS: usize = 3;

/// A running `oidc-provider`; stopped when dropped (its stdin closes).
struct Provider {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    issuer: String,
}

impl Provider {
    fn start(pki: &Pki) -> Self {
        for attempt in 1..=START_ATTEMPTS {
            match Self::try_start(pki) {
                Some(provider) => return provider,
                None => eprintln!(
                    "oidc-provider printed nothing within {START_DEADLINE:?} (attempt {attempt} of {START_ATTEMPTS})"
                ),
            }
        }
        panic!("oidc-provider did not start in {START_ATTEMPTS} attempts of {START_DEADLINE:?}");
    }

    /// One start; `None` (the process killed) when it prints nothing in time.
    fn try_start(pki: &Pki) -> Option<Self> {
        let dir = install_provider();
        let mut child = Command::new("node")
            .arg(dir.join("jwt-provider.mjs"))
            .arg(pki.path("server.pem"))
            .arg(pki.path("server.key"))
            .arg(pki.path("ca.pem"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node (Node.js 20+) is needed: scripts/test.sh installs it");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // The package prints notices on stdout too: only JSON lines are answers.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with('{') && tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut provider = Self {
            child,
            stdin,
            lines,
            issuer: String::new(),
        };
        let Ok(first) = provider.lines.recv_timeout(START_DEADLINE) else {
            // Dropping it kills the process.
            return None;
        };
        let first: Value = serde_json::from_str(&first).unwrap();
        provider.issuer = first["issuer"].as_str().unwrap().to_owned();
        assert!(provider.issuer.starts_with("https://localhost:"));
        Some(provider)
    }

    fn answer(&self) -> Value {
        self.answer_within(Duration::from_secs(60))
    }

    fn answer_within(&self, deadline: Duration) -> Value {
        let line = self
            .lines
            .recv_timeout(deadline)
            .unwrap_or_else(|error| panic!("the provider answers within {deadline:?}: {error}"));
        serde_json::from_str(&line).unwrap()
    }

    fn command(&mut self, command: &Value) -> Value {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
        self.answer()
    }

    /// A JWT access token from the provider's token endpoint (client credentials with
    /// a resource indicator).
    fn access_token(&mut self, resource: &str) -> String {
        let answer = self.command(&json!({"cmd": "token", "resource": resource}));
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {answer}"))
            .to_owned()
    }

    /// `claims` signed with the provider's current key for `alg`, header `typ` = `typ`.
    fn sign(&mut self, alg: &str, typ: Option<&str>, claims: &Value) -> String {
        let answer =
            self.command(&json!({"cmd": "sign", "alg": alg, "typ": typ, "claims": claims}));
        answer["token"].as_str().unwrap().to_owned()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn header(token: &str) -> Value {
    let segment = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn payload(token: &str) -> Value {
    let segment = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// The fetcher the tests use: HTTPS trusting only the test CA.
fn fetcher(pki: &Pki) -> HttpFetcher {
    HttpFetcher::builder()
        .without_native_roots()
        .add_root_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap()
}

/// A JWK-set source for `issuer` found by discovery: RFC 9068 tokens for the three
/// resources, ECDSA signatures as the provider emits them.
async fn source(pki: &Pki, issuer: &str, audiences: &[&str]) -> JwksValidator<Claims> {
    // The provider's RSA keys carry no `alg`: it signs RS256 and PS256 with them.
    let rsa = JwkOptions::new()
        .with_rsa_default_algorithms([Algorithm::RS256, Algorithm::PS256])
        .unwrap();
    let mut builder = JwksValidator::<Claims>::builder()
        .with_jwk_options(rsa)
        .configure(|v| Ok(v.require_access_token_type()))
        .unwrap();
    for audience in audiences {
        builder = builder.with_audience(audience).unwrap();
    }
    builder.discover(fetcher(pki), issuer).await.unwrap()
}

async fn outcome<V: TokenValidator>(validator: &V, token: &str) -> Result<V::Claims, AuthError> {
    match validator.validate(token) {
        Validation::Ready(result) => result,
        Validation::Pending(future) => future.await,
    }
}

fn reason<C: std::fmt::Debug>(result: Result<C, AuthError>) -> InvalidToken {
    match result {
        Err(AuthError::InvalidToken(reason)) => reason,
        other => panic!("expected invalid_token, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_ps256_es256_access_tokens_from_a_real_provider() {
    let _serial = one_at_a_time().await;
    let pki = Pki::new();
    let mut provider = Provider::start(&pki);
    let jwks = source(&pki, &provider.issuer, &[RS256, PS256, ES256]).await;
    assert!(jwks.url().to_string().starts_with("https://localhost:"));
    let validator = MultiIssuerValidator::new().with_jwks(jwks.clone()).unwrap();

    for (resource, alg) in [(RS256, "RS256"), (PS256, "PS256"), (ES256, "ES256")] {
        // Several tokens each: ES256 signatures have a high `s` about half the time.
        for _ in 0..4 {
            let token = provider.access_token(resource);
            assert_eq!(header(&token)["alg"], alg);
            assert_eq!(header(&token)["typ"], "at+jwt");
            let claims = outcome(&validator, &token).await.unwrap();
            assert_eq!(claims.iss.as_deref(), Some(provider.issuer.as_str()));
            assert_eq!(claims.client_id.as_deref(), Some("jwt-client"));
            assert!(claims.aud.unwrap().contains(resource));
            assert_eq!(claims.scope.unwrap().as_str(), "api:read");
        }
    }
    // One fetch of the discovery document's key set, none since.
    assert_eq!(jwks.fetch_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_test_ca_the_provider_is_not_trusted() {
    let _serial = one_at_a_time().await;
    let pki = Pki::new();
    let provider = Provider::start(&pki);
    let url = format!("{}/jwks", provider.issuer).parse().unwrap();
    // The OS roots (whatever SSL_CERT_FILE says here) do not include the test CA.
    let fetched = HttpFetcher::new().fetch(&url, 65_536).await;
    assert!(
        matches!(&fetched, Err(JwksError::Transport(why)) if why.contains("certificate")),
        "{fetched:?}"
    );
    // Another CA of its own is not enough either.
    let other = Pki::new();
    let fetched = fetcher(&other).fetch(&url, 65_536).await;
    assert!(
        matches!(fetched, Err(JwksError::Transport(_))),
        "{fetched:?}"
    );
    assert!(fetcher(&pki).fetch(&url, 65_536).await.is_ok());
    let discovered = JwksValidator::<Claims>::discover(fetcher(&other), &provider.issuer).await;
    assert!(
        matches!(discovered, Err(JwksError::Transport(_))),
        "{discovered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_providers_each_token_checked_with_its_own_issuers_keys() {
    let _serial = one_at_a_time().await;
    let pki = Pki::new();
    let mut a = Provider::start(&pki);
    let mut b = Provider::start(&pki);
    let source_a = source(&pki, &a.issuer, &[RS256, ES256]).await;
    let source_b = source(&pki, &b.issuer, &[RS256, ES256]).await;
    let validator = MultiIssuerValidator::new()
        .with_jwks(source_a.clone())
        .unwrap()
        .with_jwks(source_b.clone())
        .unwrap();
    assert_eq!(
        validator.issuers().collect::<Vec<_>>(),
        [a.issuer.as_str(), b.issuer.as_str()]
    );

    for resource in [RS256, ES256] {
        let from_a = a.access_token(resource);
        let from_b = b.access_token(resource);
        let claims = outcome(&validator, &from_a).await.unwrap();
        assert_eq!(claims.iss.as_deref(), Some(a.issuer.as_str()));
        let claims = outcome(&validator, &from_b).await.unwrap();
        assert_eq!(claims.iss.as_deref(), Some(b.issuer.as_str()));
    }

    let now = common::now();
    let claims_of = |iss: &str, aud: &str| {
        json!({"iss": iss, "aud": aud, "sub": "x", "client_id": "jwt-client",
               "iat": now, "exp": now + 300, "scope": "api:read", "jti": "j"})
    };
    // Control: a token signed by B's key, typed and claiming B, passes...
    let own = b.sign("RS256", Some("at+jwt"), &claims_of(&b.issuer, RS256));
    outcome(&validator, &own).await.unwrap();
    // ...the same claiming A does not: B's key never verifies A's tokens (B's kid is
    // unknown to A: A may refresh once, then refuses).
    let cross = b.sign("RS256", Some("at+jwt"), &claims_of(&a.issuer, RS256));
    let refused = reason(outcome(&validator, &cross).await);
    assert!(
        matches!(
            refused,
            InvalidToken::UnknownKey | InvalidToken::BadSignature
        ),
        "{refused:?}"
    );
    let cross = b.sign("ES256", Some("at+jwt"), &claims_of(&a.issuer, ES256));
    assert!(outcome(&validator, &cross).await.is_err());

    // An issuer not configured: refused without any fetch.
    let fetches = (source_a.fetch_count(), source_b.fetch_count());
    let mut c = Provider::start(&pki);
    let from_c = c.access_token(RS256);
    assert_eq!(
        reason(outcome(&validator, &from_c).await),
        InvalidToken::WrongIssuer
    );
    assert_eq!((source_a.fetch_count(), source_b.fetch_count()), fetches);

    // Forged: A's token with its audience changed keeps A's signature.
    let token = a.access_token(RS256);
    let mut forged_claims = payload(&token);
    forged_claims["scope"] = json!("api:read admin");
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged_claims.to_string()),
        parts[2]
    );
    assert_eq!(
        reason(outcome(&validator, &forged).await),
        InvalidToken::BadSignature
    );

    // Wrong audience: a real token for a resource these validators do not serve.
    let other_resource = a.access_token(PS256);
    assert_eq!(
        reason(outcome(&validator, &other_resource).await),
        InvalidToken::WrongAudience
    );

    // ID-token-typed (typ JWT, or none) with A's key and claims A would accept
    // otherwise: refused as access tokens (RFC 9068).
    for typ in [Some("JWT"), None, Some("refresh+jwt")] {
        let id_token = a.sign("RS256", typ, &claims_of(&a.issuer, RS256));
        assert_eq!(
            reason(outcome(&validator, &id_token).await),
            InvalidToken::WrongType,
            "{typ:?}"
        );
    }
    let typed = a.sign(
        "RS256",
        Some("application/AT+JWT"),
        &claims_of(&a.issuer, RS256),
    );
    outcome(&validator, &typed).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_at_the_provider_while_we_run() {
    let _serial = one_at_a_time().await;
    let pki = Pki::new();
    let mut provider = Provider::start(&pki);
    let jwks = source(&pki, &provider.issuer, &[RS256, ES256]).await;
    let validator = MultiIssuerValidator::new().with_jwks(jwks.clone()).unwrap();
    let before = provider.access_token(RS256);
    outcome(&validator, &before).await.unwrap();
    let old_kids = jwks.kids();

    let rotated = provider.command(&json!({"cmd": "rotate"}));
    let new_rsa = rotated["kids"][0].as_str().unwrap().to_owned();
    assert!(!old_kids.contains(&new_rsa));
    // A token under the new kid: unknown here, so one refresh, then accepted.
    let after = provider.access_token(RS256);
    assert_eq!(header(&after)["kid"], new_rsa.as_str());
    let claims = outcome(&validator, &after).await.unwrap();
    assert_eq!(claims.iss.as_deref(), Some(provider.issuer.as_str()));
    assert!(jwks.kids().contains(&new_rsa));
    assert_eq!(jwks.fetch_count(), 2);
    // The old key is still published: tokens signed before the rotation still pass.
    outcome(&validator, &before).await.unwrap();
    // ES256 rotated too; its new key came with the same refresh.
    let es = provider.access_token(ES256);
    outcome(&validator, &es).await.unwrap();
    assert_eq!(jwks.fetch_count(), 2);

    // The provider drops the old keys; after our refresh the old token is refused.
    provider.command(&json!({"cmd": "drop-old"}));
    jwks.refresh().await.unwrap();
    assert!(!jwks.kids().iter().any(|kid| old_kids.contains(kid)));
    assert!(outcome(&validator, &before).await.is_err());
    outcome(&validator, &after).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high_s_signatures_of_a_real_provider_refused_when_low_s_is_required() {
    let _serial = one_at_a_time().await;
    let pki = Pki::new();
    let mut provider = Provider::start(&pki);
    let strict = JwksValidator::<Claims>::builder()
        .with_jwk_options(
            JwkOptions::new()
                .with_rsa_default_algorithm(Algorithm::RS256)
                .unwrap(),
        )
        .with_audience(ES256)
        .unwrap()
        .configure(|v| Ok(v.require_low_s_ecdsa()))
        .unwrap()
        .discover(fetcher(&pki), &provider.issuer)
        .await
        .unwrap();
    let lenient = source(&pki, &provider.issuer, &[ES256]).await;
    let (mut high, mut low) = (0, 0);
    // OpenSSL (under Node.js) does not normalize `s`: about half of its signatures are
    // high. Until both kinds were seen (bounded).
    for _ in 0..64 {
        let token = provider.access_token(ES256);
        let signature = URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().unwrap())
            .unwrap();
        let is_high = signature[32..] > P256_HALF_N[..];
        outcome(&lenient, &token).await.unwrap();
        if is_high {
            high += 1;
            assert_eq!(
                reason(outcome(&strict, &token).await),
                InvalidToken::BadSignature
            );
        } else {
            low += 1;
            outcome(&strict, &token).await.unwrap();
        }
        if high > 0 && low > 0 {
            break;
        }
    }
    assert!(high > 0 && low > 0, "high {high}, low {low}");
}

const P256_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_server_with_two_https_issuers() {
    let _serial = one_at_a_time().await;
    let pki = Pki::new();
    let mut a = Provider::start(&pki);
    let mut b = Provider::start(&pki);
    let issuers = format!("{} {}", a.issuer, b.issuer);
    let ca_file = pki.path("ca.pem");
    let demo = demo::start_with(&[
        ("OIDC_ISSUER", issuers.as_str()),
        ("SSL_CERT_FILE", ca_file.to_str().unwrap()),
        ("JWT_AUDIENCE", RS256),
    ]);
    let status = demo.url("/status");
    for provider in [&mut a, &mut b] {
        for _ in 0..3 {
            let token = provider.access_token(RS256);
            let answer = common::get_with_token(&status, &token).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            assert_eq!(answer.json(), json!({"status": "ok"}));
        }
        // Only tokens for the configured audience pass.
        let wrong_audience = provider.access_token(ES256);
        common::get_with_token(&status, &wrong_audience)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }
    let now = common::now();
    let cross = b.sign(
        "RS256",
        Some("at+jwt"),
        &json!({"iss": a.issuer, "aud": RS256, "sub": "x", "exp": now + 300, "iat": now}),
    );
    assert_eq!(common::get_with_token(&status, &cross).await.status, 401);
    let own = b.sign(
        "RS256",
        Some("at+jwt"),
        &json!({"iss": b.issuer, "aud": RS256, "sub": "x", "exp": now + 300, "iat": now}),
    );
    assert_eq!(common::get_with_token(&status, &own).await.status, 200);
    demo.terminate();
}
