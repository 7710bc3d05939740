//! JWKS over real TCP: an issuer server publishing a JWK set (and an OpenID
//! configuration) on 127.0.0.1, and a gateway (`BearerAuthLayer` + `JwksValidator`)
//! fetching it with the default `HttpFetcher`.
#![cfg(feature = "jwks")]

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::{Service, ServiceBuilder};
use tower_bearer::keys::{public_jwk, JwkOptions, KeySet, KeySetError};
use tower_bearer::metadata::{AuthorizationServerMetadata, WellKnownService};
use tower_bearer::validate::{
    max_age_from_headers, FetchedDocument, JwksError, JwksFetcher, JwksValidatorBuilder,
};
use tower_bearer::{BearerAuthLayer, Claims, HttpFetcher, JwksValidator};

// ---------------------------------------------------------------- keys and tokens

/// A test key: its file stem, algorithm and `kid`.
#[derive(Clone, Copy)]
struct TestKey {
    stem: &'static str,
    alg: Algorithm,
}

const RSA: TestKey = TestKey {
    stem: "rsa",
    alg: Algorithm::RS256,
};
const EC: TestKey = TestKey {
    stem: "ec",
    alg: Algorithm::ES256,
};
const EC384: TestKey = TestKey {
    stem: "ec384",
    alg: Algorithm::ES384,
};
const ED: TestKey = TestKey {
    stem: "ed",
    alg: Algorithm::EdDSA,
};

impl TestKey {
    fn jwk(self, kid: &str) -> Jwk {
        public_jwk(
            kid,
            self.alg,
            &key_file(&format!("{}_public.pem", self.stem)),
        )
        .unwrap()
    }

    fn encoding_key(self) -> EncodingKey {
        let pem = key_file(&format!("{}_private.pem", self.stem));
        match self.alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
            _ => EncodingKey::from_ec_pem(&pem),
        }
        .unwrap()
    }

    /// A token with `kid` in its header, valid for ten minutes.
    fn token(self, kid: &str) -> String {
        self.token_with(kid, &json!({ "sub": "alice", "exp": now() + 600 }), |_| {})
    }

    fn token_with(self, kid: &str, claims: &Value, edit: impl FnOnce(&mut Header)) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        edit(&mut header);
        // Signing goes through jsonwebtoken's process-wide provider, which it cannot
        // choose by itself when both backends are compiled in (`--all-features`).
        #[cfg(feature = "rust-crypto")]
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        jsonwebtoken::encode(&header, claims, &self.encoding_key()).unwrap()
    }
}

fn set(keys: &[(TestKey, &str)]) -> JwkSet {
    JwkSet {
        keys: keys.iter().map(|(key, kid)| key.jwk(kid)).collect(),
    }
}

// ---------------------------------------------------------------- the issuer

/// What the issuer serves, and how often its JWK set was asked for.
#[derive(Clone)]
struct Issuer {
    jwks: WellKnownService,
    /// Served instead of the JWK set when set (garbage, oversize, errors).
    raw: Arc<Mutex<Option<(StatusCode, Bytes)>>>,
    configuration: Arc<Mutex<Option<WellKnownService>>>,
    jwks_requests: Arc<AtomicUsize>,
    other_requests: Arc<AtomicUsize>,
}

impl Issuer {
    fn new(keys: &JwkSet) -> Self {
        Self {
            jwks: WellKnownService::jwks(keys).unwrap(),
            raw: Arc::default(),
            configuration: Arc::default(),
            jwks_requests: Arc::default(),
            other_requests: Arc::default(),
        }
    }

    fn publish(&self, keys: &JwkSet) {
        self.jwks.set_keys(keys).unwrap();
        *self.raw.lock().unwrap() = None;
    }

    fn serve_raw(&self, status: StatusCode, body: impl Into<Bytes>) {
        *self.raw.lock().unwrap() = Some((status, body.into()));
    }

    fn fetches(&self) -> usize {
        self.jwks_requests.load(Ordering::SeqCst)
    }
}

impl<B> Service<Request<B>> for Issuer {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let response = match request.uri().path() {
            "/.well-known/jwks.json" => {
                self.jwks_requests.fetch_add(1, Ordering::SeqCst);
                match self.raw.lock().unwrap().clone() {
                    Some((status, body)) => {
                        let mut response = Response::new(Full::new(body));
                        *response.status_mut() = status;
                        response
                    }
                    None => return self.jwks.call(request),
                }
            }
            "/.well-known/openid-configuration" => match self.configuration.lock().unwrap().clone()
            {
                Some(mut service) => return service.call(request),
                None => not_found(),
            },
            _ => {
                self.other_requests.fetch_add(1, Ordering::SeqCst);
                not_found()
            }
        };
        std::future::ready(Ok(response))
    }
}

fn not_found() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::default());
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

fn jwks_uri(server: &TestServer) -> Uri {
    server.url("/.well-known/jwks.json").parse().unwrap()
}

// ---------------------------------------------------------------- the gateway

fn builder() -> JwksValidatorBuilder<Claims> {
    JwksValidator::builder()
        .with_cooldown(Duration::from_millis(300))
        .with_fetch_timeout(Duration::from_secs(5))
}

async fn gateway(validator: &JwksValidator<Claims>) -> (TestServer, EchoClaims<Claims>) {
    let inner = EchoClaims::<Claims>::new();
    let service = ServiceBuilder::new()
        .layer(
            BearerAuthLayer::new(validator.clone())
                .with_realm(REALM)
                .unwrap(),
        )
        .service(inner.clone());
    (serve(service).await, inner)
}

async fn status(gateway: &TestServer, token: &str) -> StatusCode {
    get_with_token(&gateway.url("/"), token).await.status
}

/// Waits until `ready` holds, for at most `limit` (background work only).
async fn eventually(limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn jwks_each_algorithm_accepted() {
    let issuer = Issuer::new(&set(&[(RSA, "r1"), (EC, "e1"), (EC384, "e2"), (ED, "d1")]));
    let idp = serve(issuer.clone()).await;
    let validator = builder()
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, inner) = gateway(&validator).await;

    for (key, kid) in [(RSA, "r1"), (EC, "e1"), (EC384, "e2"), (ED, "d1")] {
        let answer = get_with_token(&gateway.url("/"), &key.token(kid)).await;
        assert_eq!(answer.status, StatusCode::OK, "{kid}: {:?}", answer.body);
        assert_eq!(answer.json()["sub"], "alice");
    }
    // A known kid with another key's signature, or another algorithm: refused.
    let forged = EC.token("d1");
    get_with_token(&gateway.url("/"), &forged)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(inner.calls(), 4);
    assert_eq!(issuer.fetches(), 1, "only the start-up fetch");
    assert_eq!(validator.fetch_count(), 1);
}

#[tokio::test]
async fn jwks_rotation_new_kid_picked_up_in_one_fetch_old_kept() {
    let issuer = Issuer::new(&set(&[(EC, "2026-01")]));
    let idp = serve(issuer.clone()).await;
    let validator = builder()
        .with_cooldown(Duration::from_millis(200))
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, _) = gateway(&validator).await;
    let old_token = EC.token("2026-01");
    assert_eq!(status(&gateway, &old_token).await, StatusCode::OK);

    // The issuer rotates: the new key is published next to the old one, and signs.
    issuer.publish(&set(&[(EC, "2026-01"), (ED, "2026-02")]));
    let before = issuer.fetches();
    let new_token = ED.token("2026-02");
    assert_eq!(status(&gateway, &new_token).await, StatusCode::OK);
    assert_eq!(
        issuer.fetches(),
        before + 1,
        "exactly one refresh for the new kid"
    );
    // Tokens of the old key keep working while it is published.
    assert_eq!(status(&gateway, &old_token).await, StatusCode::OK);
    assert_eq!(issuer.fetches(), before + 1);
    let mut kids = validator.kids();
    kids.sort();
    assert_eq!(kids, ["2026-01", "2026-02"]);

    // Once the old key is withdrawn (its tokens expired), the next refresh drops it.
    issuer.publish(&set(&[(ED, "2026-02")]));
    validator.refresh().await.unwrap();
    assert_eq!(status(&gateway, &old_token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&gateway, &new_token).await, StatusCode::OK);
}

#[tokio::test]
async fn jwks_rotation_same_algorithm_new_kid_ok() {
    // Same algorithm on both sides: selection is by kid, not by algorithm.
    let issuer = Issuer::new(&set(&[(EC, "a")]));
    let idp = serve(issuer.clone()).await;
    let validator = builder()
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, _) = gateway(&validator).await;
    issuer.publish(&set(&[(EC, "a"), (EC, "b")]));
    assert_eq!(status(&gateway, &EC.token("b")).await, StatusCode::OK);
    assert_eq!(issuer.fetches(), 2);
}

#[tokio::test]
async fn jwks_background_refresh_honours_max_age() {
    let issuer = Issuer::new(&set(&[(EC, "a")]));
    let jwks = issuer.jwks.clone().with_max_age(Duration::from_secs(0));
    let issuer = Issuer { jwks, ..issuer };
    let idp = serve(issuer.clone()).await;
    let validator = builder()
        .with_refresh_interval(Duration::from_secs(3600))
        .with_refresh_bounds(Duration::from_millis(200), Duration::from_secs(3600))
        .unwrap()
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    // max-age=0 is clamped to the 200 ms lower bound: the new key arrives without any
    // token asking for it, well before the one-hour interval.
    issuer.publish(&set(&[(EC, "a"), (ED, "b")]));
    let started = Instant::now();
    eventually(Duration::from_secs(5), || validator.kids().len() == 2).await;
    let fetches = issuer.fetches();
    let bound = 2 + (started.elapsed().as_millis() / 200) as usize;
    assert!(fetches <= bound, "{fetches} fetches, bound {bound}");
}

/// Fetches from the issuer in process: no socket, so tokio's paused clock alone drives
/// the refresh timer (auto-advancing a paused clock while real I/O is pending would fire
/// the fetch timeout early).
struct InProcess(Issuer);

impl JwksFetcher for InProcess {
    async fn fetch(&self, url: &Uri, _max_len: usize) -> Result<FetchedDocument, JwksError> {
        let request = Request::get(url.clone()).body(()).unwrap();
        let response = self.0.clone().call(request).await.unwrap();
        if response.status() != StatusCode::OK {
            return Err(JwksError::Status(response.status()));
        }
        let max_age = max_age_from_headers(response.headers());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Ok(FetchedDocument::new(body).with_max_age(max_age))
    }
}

#[tokio::test(start_paused = true)]
async fn jwks_background_refresh_stops_when_validator_dropped() {
    let issuer = Issuer::new(&set(&[(EC, "a")]));
    let validator = builder()
        .with_refresh_interval(Duration::from_millis(100))
        .with_refresh_bounds(Duration::from_millis(100), Duration::from_secs(1))
        .unwrap()
        .build(
            InProcess(issuer.clone()),
            "http://idp.test/.well-known/jwks.json".parse().unwrap(),
        )
        .await
        .unwrap();
    // The answer's max-age (300 s) is clamped to the 1 s upper bound: within 5 s of
    // tokio time, the background refresh has run.
    for _ in 0..500 {
        if issuer.fetches() >= 2 {
            break;
        }
        tokio::time::advance(Duration::from_millis(10)).await;
    }
    assert!(issuer.fetches() >= 2, "the background refresh runs");
    drop(validator);
    tokio::time::advance(Duration::from_millis(50)).await;
    let after_drop = issuer.fetches();
    // Ten refresh intervals of tokio time.
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(issuer.fetches(), after_drop, "no refresh after the drop");
}

#[tokio::test]
async fn jwks_idp_down_cached_keys_still_used() {
    let issuer = Issuer::new(&set(&[(RSA, "r1")]));
    let idp = serve(issuer.clone()).await;
    let validator = builder()
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, _) = gateway(&validator).await;
    let token = RSA.token("r1");
    assert_eq!(status(&gateway, &token).await, StatusCode::OK);

    let addr = idp.addr;
    idp.down(); // The identity provider goes down, its connections with it.
    let down_by = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < down_by,
            "the identity provider is still up"
        );
        tokio::task::yield_now().await;
    }
    let error = validator.refresh().await.unwrap_err();
    assert!(matches!(error, JwksError::Transport(_)), "{error:?}");
    assert_eq!(validator.last_error(), Some(error));
    assert_eq!(
        status(&gateway, &token).await,
        StatusCode::OK,
        "cached key still used"
    );
    // An unknown kid now: one refresh attempt that fails, then the token is refused
    // (401, not 5xx), and the known key is still in use.
    let answer = get_with_token(&gateway.url("/"), &EC.token("new")).await;
    answer.assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(status(&gateway, &token).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_unknown_kid_flood_bounded_fetches() {
    let issuer = Issuer::new(&set(&[(EC, "real")]));
    let idp = serve(issuer.clone()).await;
    let cooldown = Duration::from_millis(500);
    let validator = builder()
        .with_cooldown(cooldown)
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, inner) = gateway(&validator).await;
    let url = gateway.url("/");
    let tokens: Vec<_> = (0..200)
        .map(|i| EC.token(&format!("made-up-{i}")))
        .collect();
    let started = Instant::now();
    let mut requests = JoinSet::new();
    for token in tokens {
        let url = url.clone();
        requests.spawn(async move { get_with_token(&url, &token).await.status });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::UNAUTHORIZED);
    }
    let elapsed = started.elapsed();
    let fetches = issuer.fetches();
    let bound = 1 + 1 + (elapsed.as_millis() / cooldown.as_millis()) as usize;
    println!("200 unknown-kid requests in {elapsed:?}: {fetches} JWKS fetches (bound {bound})");
    assert!(
        fetches <= bound,
        "{fetches} fetches in {elapsed:?}, bound {bound}"
    );
    assert!(fetches >= 2, "the first unknown kid does trigger a refresh");
    assert_eq!(inner.calls(), 0);
    // The real key is unaffected.
    assert_eq!(status(&gateway, &EC.token("real")).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_concurrent_new_kid_single_flight() {
    let issuer = Issuer::new(&set(&[(EC, "a")]));
    let idp = serve(issuer.clone()).await;
    let validator = builder()
        .with_cooldown(Duration::from_secs(60))
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, _) = gateway(&validator).await;
    issuer.publish(&set(&[(EC, "a"), (ED, "b")]));
    let token = ED.token("b");
    let mut requests = JoinSet::new();
    for _ in 0..50 {
        let url = gateway.url("/");
        let token = token.clone();
        requests.spawn(async move { get_with_token(&url, &token).await.status });
    }
    let mut ok = 0;
    while let Some(status) = requests.join_next().await {
        if status.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    // All requests that arrived before or during the one refresh waited for it; with a
    // 60 s cool-down no second fetch can happen.
    assert_eq!(issuer.fetches(), 2);
    assert_eq!(ok, 50);
}

#[tokio::test]
async fn jwks_oversize_document_refused_old_keys_kept() {
    let issuer = Issuer::new(&set(&[(EC, "a")]));
    let idp = serve(issuer.clone()).await;
    let validator = builder()
        .with_max_document_len(4096)
        .unwrap()
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, _) = gateway(&validator).await;
    let padding = "x".repeat(5000);
    issuer.serve_raw(
        StatusCode::OK,
        format!(r#"{{"keys":[],"pad":"{padding}"}}"#),
    );
    let error = validator.refresh().await.unwrap_err();
    assert_eq!(error, JwksError::TooLarge { limit: 4096 });
    assert!(
        error.to_string().contains("larger than 4096 bytes"),
        "{error}"
    );
    assert_eq!(status(&gateway, &EC.token("a")).await, StatusCode::OK);
    assert_eq!(validator.kids(), ["a"]);
}

#[tokio::test]
async fn jwks_garbage_or_unusable_document_refused_old_keys_kept() {
    let issuer = Issuer::new(&set(&[(EC, "a")]));
    let idp = serve(issuer.clone()).await;
    let validator = builder()
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, _) = gateway(&validator).await;
    let token = EC.token("a");

    issuer.serve_raw(StatusCode::OK, "<html>not json</html>");
    let error = validator.refresh().await.unwrap_err();
    assert!(
        matches!(error, JwksError::KeySet(KeySetError::Malformed(_))),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("not a JWK set"), "{error}");
    assert_eq!(status(&gateway, &token).await, StatusCode::OK);

    issuer.serve_raw(StatusCode::INTERNAL_SERVER_ERROR, "oops");
    let error = validator.refresh().await.unwrap_err();
    assert_eq!(error, JwksError::Status(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(status(&gateway, &token).await, StatusCode::OK);

    // Valid JSON, but only a symmetric key and a leaked private key.
    let mut leaked = serde_json::to_value(ED.jwk("leaked")).unwrap();
    leaked["d"] = json!("c2VjcmV0");
    let document = json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0", "kid": "h" }, leaked] });
    issuer.serve_raw(StatusCode::OK, document.to_string());
    let error = validator.refresh().await.unwrap_err();
    let JwksError::KeySet(KeySetError::NoUsableKeys { skipped }) = &error else {
        panic!("{error:?}")
    };
    assert!(
        skipped
            .iter()
            .all(|(_, reason)| *reason == KeySetError::SecretMaterial),
        "{skipped:?}"
    );
    assert_eq!(status(&gateway, &token).await, StatusCode::OK);
    assert_eq!(validator.last_error(), Some(error));

    // Back to a good set: the error is cleared.
    issuer.publish(&set(&[(EC, "a")]));
    validator.refresh().await.unwrap();
    assert_eq!(validator.last_error(), None);
}

#[tokio::test]
async fn jwks_key_count_bound_refused_old_keys_kept() {
    let issuer = Issuer::new(&set(&[(EC, "a")]));
    let idp = serve(issuer.clone()).await;
    let validator = builder()
        .with_jwk_options(JwkOptions::new().with_max_keys(2).unwrap())
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, _) = gateway(&validator).await;
    issuer.publish(&set(&[(EC, "a"), (ED, "b"), (RSA, "c")]));
    let error = validator.refresh().await.unwrap_err();
    assert_eq!(
        error,
        JwksError::KeySet(KeySetError::TooManyKeys { found: 3, limit: 2 })
    );
    assert_eq!(status(&gateway, &EC.token("a")).await, StatusCode::OK);
    assert_eq!(validator.kids(), ["a"]);
}

#[tokio::test]
async fn jwks_jku_and_x5u_never_fetched() {
    let issuer = Issuer::new(&set(&[(EC, "a")]));
    let idp = serve(issuer.clone()).await;
    // An attacker's key server: it publishes the attacker's key and counts requests.
    let attacker = Issuer::new(&set(&[(ED, "evil")]));
    let evil = serve(attacker.clone()).await;
    let validator = builder()
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, _) = gateway(&validator).await;

    let claims = json!({ "sub": "mallory", "exp": now() + 600 });
    let jku = evil.url("/.well-known/jwks.json");
    let forged = ED.token_with("evil", &claims, |h| {
        h.jku = Some(jku.clone());
        h.x5u = Some(evil.url("/cert.pem"));
    });
    get_with_token(&gateway.url("/"), &forged)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    // A genuine token carrying a jku is judged by the configured set only.
    let genuine = EC.token_with("a", &claims, |h| h.jku = Some(jku.clone()));
    assert_eq!(status(&gateway, &genuine).await, StatusCode::OK);

    assert_eq!(attacker.fetches(), 0);
    assert_eq!(attacker.other_requests.load(Ordering::SeqCst), 0);
    assert_eq!(
        issuer.fetches(),
        2,
        "start-up and the one unknown-kid refresh, both from the configured URL"
    );
}

#[tokio::test]
async fn jwks_start_empty_answers_503_until_keys_arrive() {
    let issuer = Issuer::new(&set(&[(EC, "a")]));
    issuer.serve_raw(StatusCode::SERVICE_UNAVAILABLE, "down");
    let idp = serve(issuer.clone()).await;
    let failed = builder()
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap_err();
    assert_eq!(failed, JwksError::Status(StatusCode::SERVICE_UNAVAILABLE));

    let validator = builder()
        .start_empty()
        .build(HttpFetcher::new(), jwks_uri(&idp))
        .await
        .unwrap();
    let (gateway, _) = gateway(&validator).await;
    let token = EC.token("a");
    let answer = get_with_token(&gateway.url("/"), &token).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);

    issuer.publish(&set(&[(EC, "a")]));
    // The 300 ms cool-down passes on tokio's clock (the one it reads), not waited for.
    tokio::time::pause();
    tokio::time::advance(Duration::from_millis(350)).await;
    tokio::time::resume();
    assert_eq!(status(&gateway, &token).await, StatusCode::OK);
}

#[tokio::test]
async fn jwks_discovery_configures_issuer_and_jwks_uri() {
    let issuer = Issuer::new(&set(&[(ED, "d1")]));
    let idp = serve(issuer.clone()).await;
    let base = idp.url("");
    let configuration =
        AuthorizationServerMetadata::openid_for_issuer(&base, &[Algorithm::EdDSA]).unwrap();
    *issuer.configuration.lock().unwrap() =
        Some(WellKnownService::openid_configuration(&configuration));

    let validator = builder().discover(HttpFetcher::new(), &base).await.unwrap();
    assert_eq!(
        validator.url().to_string(),
        idp.url("/.well-known/jwks.json")
    );
    let (gateway, _) = gateway(&validator).await;
    let with_iss = ED.token_with(
        "d1",
        &json!({ "sub": "a", "iss": base, "exp": now() + 600 }),
        |_| {},
    );
    assert_eq!(status(&gateway, &with_iss).await, StatusCode::OK);
    // The issuer check is on: a token without iss, or from another issuer, is refused.
    assert_eq!(
        status(&gateway, &ED.token("d1")).await,
        StatusCode::UNAUTHORIZED
    );
    let other = ED.token_with(
        "d1",
        &json!({ "iss": "http://other", "exp": now() + 600 }),
        |_| {},
    );
    assert_eq!(status(&gateway, &other).await, StatusCode::UNAUTHORIZED);

    // OIDC Discovery §4.3: the document must name exactly the issuer asked for.
    let error = builder()
        .discover(HttpFetcher::new(), &format!("{base}/"))
        .await
        .unwrap_err();
    assert!(matches!(error, JwksError::Discovery(_)), "{error:?}");
}

#[tokio::test]
async fn well_known_services_over_tcp() {
    let keys = set(&[(RSA, "r1"), (EC, "e1"), (ED, "d1")]);
    let jwks = serve(
        WellKnownService::jwks(&keys)
            .unwrap()
            .with_max_age(Duration::from_secs(120)),
    )
    .await;
    let answer = get(&jwks.url("/.well-known/jwks.json"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "application/jwk-set+json");
    assert_eq!(answer.headers["cache-control"], "public, max-age=120");
    let document = answer.json();
    assert_eq!(document["keys"].as_array().unwrap().len(), 3);
    for key in document["keys"].as_array().unwrap() {
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{key}");
        }
    }
    // What is published reads back into the same keys.
    let read = KeySet::from_json(&answer.body, &JwkOptions::new()).unwrap();
    assert_eq!(read.kids().collect::<Vec<_>>(), ["r1", "e1", "d1"]);

    let post = send(Request::post(jwks.url("/")).body(Full::default()).unwrap()).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers["allow"], "GET, HEAD");
    assert!(post.json()["error"].is_string());
    let head = send(Request::head(jwks.url("/")).body(Full::default()).unwrap()).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());

    let configuration = AuthorizationServerMetadata::openid_for_issuer(
        "https://auth.example.com",
        &[Algorithm::RS256, Algorithm::EdDSA],
    )
    .unwrap()
    .with_scopes(["me", "items"])
    .unwrap();
    let oidc = serve(WellKnownService::openid_configuration(&configuration)).await;
    let answer = get(&oidc.url("/.well-known/openid-configuration"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.headers["cache-control"], "public, max-age=300");
    let document = answer.json();
    assert_eq!(document["issuer"], "https://auth.example.com");
    assert_eq!(document["token_endpoint"], "https://auth.example.com/token");
    assert_eq!(
        document["jwks_uri"],
        "https://auth.example.com/.well-known/jwks.json"
    );
    assert_eq!(document["grant_types_supported"], json!(["password"]));
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["RS256", "EdDSA"])
    );
    assert_eq!(document["scopes_supported"], json!(["me", "items"]));
    let put = send(Request::put(oidc.url("/")).body(Full::default()).unwrap()).await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn jwk_rules_rsa_without_alg_skipped_unless_configured() {
    let mut jwk = serde_json::to_value(RSA.jwk("r")).unwrap();
    jwk.as_object_mut().unwrap().remove("alg");
    let document = json!({ "keys": [jwk] }).to_string();
    let error = KeySet::from_json(document.as_bytes(), &JwkOptions::new()).unwrap_err();
    let KeySetError::NoUsableKeys { skipped } = error else {
        panic!("{error:?}")
    };
    assert_eq!(skipped[0].1, KeySetError::MissingAlgorithm);
    let options = JwkOptions::new()
        .with_rsa_default_algorithm(Algorithm::RS256)
        .unwrap();
    let keys = KeySet::from_json(document.as_bytes(), &options).unwrap();
    assert_eq!(keys.keys()[0].algorithm(), Algorithm::RS256);
    assert!(JwkOptions::new()
        .with_rsa_default_algorithm(Algorithm::ES256)
        .is_err());
}

#[test]
fn jwk_rules_curve_fixes_algorithm_ok_and_mismatch_skipped() {
    let strip = |jwk: Jwk| {
        let mut value = serde_json::to_value(jwk).unwrap();
        value.as_object_mut().unwrap().remove("alg");
        value
    };
    let mut wrong = serde_json::to_value(EC384.jwk("wrong")).unwrap();
    wrong["alg"] = json!("ES256");
    let mut enc = serde_json::to_value(EC.jwk("enc")).unwrap();
    enc["use"] = json!("enc");
    let mut unknown = serde_json::to_value(EC.jwk("unknown-alg")).unwrap();
    unknown["alg"] = json!("XS999");
    let document = json!({ "keys": [
        strip(EC.jwk("p256")), strip(EC384.jwk("p384")), strip(ED.jwk("ed")),
        wrong, enc, unknown, strip(EC.jwk("p256")), 42,
        { "kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "p521" },
    ] });
    let keys = KeySet::from_json(document.to_string().as_bytes(), &JwkOptions::new()).unwrap();
    let algorithms: Vec<_> = keys
        .keys()
        .iter()
        .map(|k| (k.kid().unwrap(), k.algorithm()))
        .collect();
    assert_eq!(
        algorithms,
        [
            ("p256", Algorithm::ES256),
            ("p384", Algorithm::ES384),
            ("ed", Algorithm::EdDSA)
        ]
    );
    let reasons: Vec<_> = keys
        .skipped()
        .iter()
        .map(|(kid, reason)| (kid.as_deref(), reason.clone()))
        .collect();
    assert_eq!(reasons[0], (Some("wrong"), KeySetError::AlgorithmMismatch));
    assert_eq!(reasons[1], (Some("enc"), KeySetError::NotForSignatures));
    assert_eq!(
        reasons[2],
        (Some("unknown-alg"), KeySetError::UnsupportedAlgorithm)
    );
    assert_eq!(reasons[3], (Some("p256"), KeySetError::DuplicateKid));
    assert!(matches!(reasons[4], (None, KeySetError::InvalidKey(_))));
    assert_eq!(reasons[5], (Some("p521"), KeySetError::UnsupportedKeyType));
}

/// A fetcher of the application's own: serves a document from memory and counts.
#[derive(Clone)]
struct InMemory {
    document: Arc<Mutex<Bytes>>,
    fetches: Arc<AtomicUsize>,
}

impl tower_bearer::JwksFetcher for InMemory {
    async fn fetch(
        &self,
        _url: &Uri,
        max_len: usize,
    ) -> Result<tower_bearer::validate::FetchedDocument, JwksError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let body = self.document.lock().unwrap().clone();
        if body.len() > max_len {
            return Err(JwksError::TooLarge { limit: max_len });
        }
        Ok(tower_bearer::validate::FetchedDocument::new(body))
    }
}

#[tokio::test]
async fn jwks_own_fetcher_ready_on_known_kid_cooldown_on_unknown() {
    use tower_bearer::{TokenValidator, Validation};
    let json = |keys: &JwkSet| Bytes::from(serde_json::to_vec(keys).unwrap());
    let fetcher = InMemory {
        document: Arc::new(Mutex::new(json(&set(&[(EC, "a")])))),
        fetches: Arc::default(),
    };
    let validator = builder()
        .with_cooldown(Duration::from_secs(60))
        .build(fetcher.clone(), "http://idp.invalid/jwks".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 1);

    // Known kid: answered synchronously, like a static JwtValidator.
    let Validation::Ready(Ok(claims)) = validator.validate(&EC.token("a")) else {
        panic!("known kid must be Ready(Ok)")
    };
    assert_eq!(claims.sub.as_deref(), Some("alice"));

    // Unknown kid: one refresh, awaited; the new key is there now.
    *fetcher.document.lock().unwrap() = json(&set(&[(EC, "a"), (ED, "b")]));
    let Validation::Pending(waiting) = validator.validate(&ED.token("b")) else {
        panic!("unknown kid must wait for a refresh")
    };
    assert!(waiting.await.is_ok());
    assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 2);

    // Another unknown kid within the cool-down: refused at once, no fetch.
    for i in 0..100 {
        match validator.validate(&EC.token(&format!("x{i}"))) {
            Validation::Ready(Err(error)) => assert_eq!(error.code(), "invalid_token"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(fetcher.fetches.load(Ordering::SeqCst), 2);
    // HMAC tokens or tokens without kid never trigger a fetch.
    let hs = hs256(&json!({ "exp": now() + 600 }));
    assert!(matches!(validator.validate(&hs), Validation::Ready(Err(_))));
    assert_eq!(validator.fetch_count(), 2);
}

#[test]
fn max_age_from_headers_cases() {
    use tower_bearer::validate::max_age_from_headers;
    let headers = |value: &str| {
        let mut map = http::HeaderMap::new();
        map.insert("cache-control", value.parse().unwrap());
        map
    };
    assert_eq!(
        max_age_from_headers(&headers("public, max-age=300")),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        max_age_from_headers(&headers("Max-Age=60, must-revalidate")),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        max_age_from_headers(&headers("no-store")),
        Some(Duration::ZERO)
    );
    assert_eq!(max_age_from_headers(&headers("max-age=abc")), None);
    assert_eq!(max_age_from_headers(&http::HeaderMap::new()), None);
}

#[test]
fn jwk_rules_short_rsa_modulus_skipped() {
    let mut short = serde_json::to_value(RSA.jwk("short")).unwrap();
    // A 1024-bit modulus (the value does not need to be a real key to be refused).
    short["n"] = json!(b64(&[0xC1; 128]));
    let document = json!({ "keys": [short, RSA.jwk("long")] }).to_string();
    let keys = KeySet::from_json(document.as_bytes(), &JwkOptions::new()).unwrap();
    assert_eq!(keys.kids().collect::<Vec<_>>(), ["long"]);
    assert!(
        matches!(&keys.skipped()[0].1, KeySetError::InvalidKey(why) if why.contains("2048")),
        "{:?}",
        keys.skipped()
    );
}

#[tokio::test]
async fn http_fetcher_silent_server_times_out() {
    // Accepts connections (the kernel backlog does) but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url: Uri = format!("http://{}/jwks", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let fetcher = HttpFetcher::new().with_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let error = fetcher.fetch(&url, 1024).await.unwrap_err();
    assert_eq!(error, JwksError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5));
    // The validator bounds any fetcher the same way.
    let error = builder()
        .with_fetch_timeout(Duration::from_millis(200))
        .build(HttpFetcher::new(), url)
        .await
        .unwrap_err();
    assert_eq!(error, JwksError::Timeout);
    drop(listener);
}
