//! Several issuers, key selection, RFC 9068 `typ`, ECDSA low `s`, RFC 8414 discovery and
//! the HTTPS fetcher's URL policy: unit checks and real TCP servers on 127.0.0.1.
#![cfg(all(feature = "jwks", feature = "token-endpoint"))]

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{json, Value};
use tower::ServiceBuilder;
use tower_bearer::keys::public_jwk;
use tower_bearer::token_endpoint::TokenIssuer;
use tower_bearer::validate::{HttpFetcher, JwksError, JwksFetcher, JwksValidator};
use tower_bearer::{
    AuthError, BearerAuthLayer, Claims, InvalidToken, JwtValidator, MultiIssuerValidator,
    TokenValidator, Validation,
};

// ---------------------------------------------------------------- helpers

/// A fresh P-256 key pair: (signing key, verifying key, public PEM).
fn p256_key() -> (EncodingKey, DecodingKey, Vec<u8>) {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let secret = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
    let private = secret.to_pkcs8_der().unwrap();
    let public = secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (
        EncodingKey::from_ec_der(private.as_bytes()),
        DecodingKey::from_ec_pem(public.as_bytes()).unwrap(),
        public.into_bytes(),
    )
}

fn claims(iss: Option<&str>) -> Value {
    let mut claims = json!({"sub": "alice", "exp": now() + 600, "iat": now(), "scope": "read"});
    if let Some(iss) = iss {
        claims["iss"] = json!(iss);
    }
    claims
}

fn es256(key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    install_crypto_provider();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn refusal<T: std::fmt::Debug>(result: Result<T, AuthError>) -> InvalidToken {
    match result {
        Err(AuthError::InvalidToken(reason)) => reason,
        other => panic!("expected invalid_token, got {other:?}"),
    }
}

async fn outcome<V: TokenValidator>(validator: &V, token: &str) -> Result<V::Claims, AuthError> {
    match validator.validate(token) {
        Validation::Ready(result) => result,
        Validation::Pending(future) => future.await,
    }
}

/// The order of P-256, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The same token with `s` replaced by `n - s` (the other valid signature).
fn flip_s(token: &str) -> String {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let s = &mut signature[32..];
    let mut borrow = 0i16;
    for (s, n) in s.iter_mut().rev().zip(P256_N.iter().rev()) {
        let mut d = i16::from(*n) - i16::from(*s) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        *s = d as u8;
    }
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn is_high_s(token: &str) -> bool {
    let signature = URL_SAFE_NO_PAD
        .decode(token.rsplit_once('.').unwrap().1)
        .unwrap();
    let half: Vec<u8> = {
        // n >> 1
        let mut half = P256_N.to_vec();
        let mut carry = 0u8;
        for byte in &mut half {
            let next = *byte & 1;
            *byte = (*byte >> 1) | (carry << 7);
            carry = next;
        }
        half
    };
    signature[32..] > half[..]
}

// ---------------------------------------------------------------- key selection

#[test]
fn every_kidless_key_of_the_algorithm_is_tried_up_to_four() {
    let keys: Vec<_> = (0..5).map(|_| p256_key()).collect();
    let validator = JwtValidator::<Claims>::hs256(SECRET)
        .unwrap()
        .with_keys_replaced(
            keys.iter()
                .map(|(_, public, _)| (None, Algorithm::ES256, public)),
        )
        .unwrap();
    for (i, (private, _, _)) in keys.iter().enumerate().take(4) {
        let token = es256(private, None, &claims(None));
        assert!(validator.verify(&token).is_ok(), "key {i}");
    }
    // The fifth kid-less key is past the bound.
    let fifth = es256(&keys[4].0, None, &claims(None));
    assert_eq!(
        refusal(validator.verify(&fifth)),
        InvalidToken::BadSignature
    );
    // A `kid` no key has: the kid-less keys are tried...
    let named = es256(&keys[2].0, Some("rotated-away"), &claims(None));
    assert!(validator.verify(&named).is_ok());
    // ...and when none verifies, the key is unknown (a JWK set would refresh).
    let stranger = p256_key();
    let unknown = es256(&stranger.0, Some("new-kid"), &claims(None));
    assert_eq!(
        refusal(validator.verify(&unknown)),
        InvalidToken::UnknownKey
    );
    // Without a `kid`, it is a bad signature.
    let unnamed = es256(&stranger.0, None, &claims(None));
    assert_eq!(
        refusal(validator.verify(&unnamed)),
        InvalidToken::BadSignature
    );
}

#[test]
fn a_kid_that_names_a_key_gets_no_fallback() {
    let (named_private, named_public, _) = p256_key();
    let (other_private, other_public, _) = p256_key();
    let validator = JwtValidator::<Claims>::hs256(SECRET)
        .unwrap()
        .with_keys_replaced([
            (Some("named"), Algorithm::ES256, &named_public),
            (None, Algorithm::ES256, &other_public),
        ])
        .unwrap();
    assert!(validator
        .verify(&es256(&named_private, Some("named"), &claims(None)))
        .is_ok());
    // Signed by the kid-less key but naming the other: bad signature, no second try.
    let token = es256(&other_private, Some("named"), &claims(None));
    assert_eq!(
        refusal(validator.verify(&token)),
        InvalidToken::BadSignature
    );
}

/// A JWK set server whose document can be replaced while it runs.
async fn jwks_server(document: Arc<Mutex<String>>) -> TestServer {
    serve(tower::service_fn(
        move |_req: Request<hyper::body::Incoming>| {
            let body = document.lock().unwrap().clone();
            async move {
                Ok::<_, Infallible>(
                    Response::builder()
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body)))
                        .unwrap(),
                )
            }
        },
    ))
    .await
}

#[tokio::test]
async fn unknown_kid_whose_fallback_fails_refreshes_the_key_set() {
    let (old_private, _, old_pem) = p256_key();
    let (new_private, _, new_pem) = p256_key();
    let mut old_jwk =
        serde_json::to_value(public_jwk("x", Algorithm::ES256, &old_pem).unwrap()).unwrap();
    old_jwk.as_object_mut().unwrap().remove("kid");
    let new_jwk =
        serde_json::to_value(public_jwk("new", Algorithm::ES256, &new_pem).unwrap()).unwrap();
    let document = Arc::new(Mutex::new(json!({"keys": [old_jwk]}).to_string()));
    let server = jwks_server(Arc::clone(&document)).await;
    let validator =
        JwksValidator::<Claims>::new(HttpFetcher::new(), server.url("/jwks").parse().unwrap())
            .await
            .unwrap();
    assert!(
        outcome(&validator, &es256(&old_private, None, &claims(None)))
            .await
            .is_ok()
    );
    // The issuer rotates to a new key with a kid.
    *document.lock().unwrap() = json!({"keys": [old_jwk, new_jwk]}).to_string();
    let token = es256(&new_private, Some("new"), &claims(None));
    let verified = outcome(&validator, &token).await;
    assert!(verified.is_ok(), "{verified:?}");
    assert_eq!(validator.fetch_count(), 2);
    assert_eq!(validator.kids(), ["new"]);
}

// ---------------------------------------------------------------- ECDSA low s

#[test]
fn one_token_one_signature_when_low_s_is_required() {
    let pem = key_file("ec_private.pem");
    let key = EncodingKey::from_ec_pem(&pem).unwrap();
    let public = DecodingKey::from_ec_pem(&key_file("ec_public.pem")).unwrap();
    let lenient = JwtValidator::<Claims>::new(Algorithm::ES256, &public).unwrap();
    let strict = lenient.clone().require_low_s_ecdsa();
    // Each token and its flipped twin are one low-S and one high-S signature, whatever
    // the signer emits (OpenSSL and RustCrypto emit both kinds, aws-lc only low-S).
    for _ in 0..16 {
        let token = es256(&key, None, &claims(None));
        let other = flip_s(&token);
        assert_ne!(token, other);
        assert_ne!(is_high_s(&token), is_high_s(&other));
        // Both forms are valid signatures...
        assert!(lenient.verify(&token).is_ok());
        assert!(lenient.verify(&other).is_ok());
        // ...of which exactly one, the low one, is accepted when required.
        let (low, high) = if is_high_s(&token) {
            (&other, &token)
        } else {
            (&token, &other)
        };
        assert!(strict.verify(low).is_ok());
        assert_eq!(refusal(strict.verify(high)), InvalidToken::BadSignature);
    }
}

#[test]
fn our_issuer_emits_only_low_s() {
    let key = EncodingKey::from_ec_pem(&key_file("ec_private.pem")).unwrap();
    let public = DecodingKey::from_ec_pem(&key_file("ec_public.pem")).unwrap();
    let issuer = TokenIssuer::new(Algorithm::ES256, &key).unwrap();
    let strict = JwtValidator::<Claims>::new(Algorithm::ES256, &public)
        .unwrap()
        .require_low_s_ecdsa();
    for _ in 0..40 {
        let token = issuer
            .issue("alice", "read", serde_json::Map::new())
            .unwrap()
            .token;
        assert!(!is_high_s(&token));
        assert!(strict.verify(&token).is_ok());
    }
}

// ---------------------------------------------------------------- RFC 9068

#[test]
fn access_token_type_is_required_when_asked() {
    let validator = JwtValidator::<Claims>::hs256(SECRET).unwrap();
    let typed = validator.clone().require_access_token_type();
    let payload = claims(None).to_string();
    let accepted = [
        r#"{"alg":"HS256","typ":"at+jwt"}"#,
        r#"{"typ":"at+jwt","alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"application/at+jwt"}"#,
        r#"{"alg":"HS256","typ":"Application/AT+JWT"}"#,
        r#"{"alg":"HS256","typ":"AT+JWT","kid":"k"}"#,
    ];
    for header in accepted {
        let token = raw_hs256(header, &payload, SECRET);
        assert!(typed.verify(&token).is_ok(), "{header}");
        assert!(validator.verify(&token).is_ok(), "{header}");
    }
    let refused = [
        r#"{"alg":"HS256","typ":"JWT"}"#,
        r#"{"alg":"HS256"}"#,
        r#"{"typ":"JWT","alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"refresh+jwt"}"#,
        r#"{"alg":"HS256","typ":"application/jwt"}"#,
        r#"{"alg":"HS256","typ":"xapplication/at+jwt"}"#,
        r#"{"alg":"HS256","typ":"at+jwt "}"#,
        r#"{"alg":"HS256","typ":null}"#,
    ];
    for header in refused {
        let token = raw_hs256(header, &payload, SECRET);
        assert_eq!(
            refusal(typed.verify(&token)),
            InvalidToken::WrongType,
            "{header}"
        );
    }
}

#[test]
fn our_issuer_emits_at_jwt_and_client_id() {
    let issuer = TokenIssuer::hs256(SECRET)
        .unwrap()
        .with_typ("at+jwt")
        .unwrap()
        .with_client_id("svc-client")
        .unwrap();
    let typed = JwtValidator::<Claims>::hs256(SECRET)
        .unwrap()
        .require_access_token_type();
    let token = issuer
        .issue("alice", "read", serde_json::Map::new())
        .unwrap()
        .token;
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    let claims = typed.verify(&token).unwrap();
    assert_eq!(claims.client_id.as_deref(), Some("svc-client"));
    // A grant's own client_id wins over the fixed one.
    let mut extra = serde_json::Map::new();
    extra.insert("client_id".into(), json!("per-token"));
    let token = issuer.issue("alice", "read", extra).unwrap().token;
    assert_eq!(
        typed.verify(&token).unwrap().client_id.as_deref(),
        Some("per-token")
    );
    // The default issuer's tokens (typ JWT) are not access tokens under RFC 9068 rules.
    let plain = TokenIssuer::hs256(SECRET)
        .unwrap()
        .issue("alice", "read", serde_json::Map::new())
        .unwrap()
        .token;
    assert_eq!(refusal(typed.verify(&plain)), InvalidToken::WrongType);
    // client_id read on the serde path too (an escaped value).
    let escaped = raw_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{},"client_id":"a\/b"}}"#, now() + 60),
        SECRET,
    );
    let validator = JwtValidator::<Claims>::hs256(SECRET).unwrap();
    assert_eq!(
        validator.verify(&escaped).unwrap().client_id.as_deref(),
        Some("a/b")
    );
}

// ---------------------------------------------------------------- several issuers

const KEY_A: &[u8] = b"issuer-a-secret-of-at-least-32-bytes!!";
const KEY_B: &[u8] = b"issuer-b-secret-of-at-least-32-bytes!!";

/// The validator of one issuer, by name and HMAC key.
fn issuer(name: &str, key: &[u8]) -> JwtValidator<Claims> {
    JwtValidator::hs256(key).unwrap().with_issuer(name).unwrap()
}

fn two_issuers() -> MultiIssuerValidator<Claims> {
    MultiIssuerValidator::new()
        .with_keys(issuer("https://a.example", KEY_A))
        .unwrap()
        .with_keys(issuer("https://b.example", KEY_B))
        .unwrap()
}

fn hs(key: &[u8], payload: &Value) -> String {
    raw_hs256(r#"{"alg":"HS256","typ":"JWT"}"#, &payload.to_string(), key)
}

#[tokio::test]
async fn a_key_of_one_issuer_never_verifies_a_token_claiming_another() {
    let validator = two_issuers();
    let a = hs(KEY_A, &claims(Some("https://a.example")));
    let b = hs(KEY_B, &claims(Some("https://b.example")));
    assert_eq!(
        outcome(&validator, &a).await.unwrap().iss.as_deref(),
        Some("https://a.example")
    );
    assert_eq!(
        outcome(&validator, &b).await.unwrap().iss.as_deref(),
        Some("https://b.example")
    );
    // A's key, B's name (and the reverse): B's key does not verify it.
    for token in [
        hs(KEY_A, &claims(Some("https://b.example"))),
        hs(KEY_B, &claims(Some("https://a.example"))),
    ] {
        assert_eq!(
            refusal(outcome(&validator, &token).await),
            InvalidToken::BadSignature
        );
    }
    // Unknown and missing issuers.
    let unknown = hs(KEY_A, &claims(Some("https://c.example")));
    assert_eq!(
        refusal(outcome(&validator, &unknown).await),
        InvalidToken::WrongIssuer
    );
    let missing = hs(KEY_A, &claims(None));
    assert_eq!(
        refusal(outcome(&validator, &missing).await),
        InvalidToken::MissingClaim("iss")
    );
    // A nested `iss` does not route: the top-level one decides.
    let mut nested = claims(Some("https://b.example"));
    nested["act"] = json!({"iss": "https://a.example", "sub": "svc"});
    assert!(outcome(&validator, &hs(KEY_B, &nested)).await.is_ok());
    assert_eq!(
        refusal(outcome(&validator, &hs(KEY_A, &nested)).await),
        InvalidToken::BadSignature
    );
    // An escaped issuer is read exactly.
    let escaped = raw_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"iss":"https:\/\/a.example","exp":{}}}"#, now() + 60),
        KEY_A,
    );
    assert!(outcome(&validator, &escaped).await.is_ok());
    // Duplicate `iss` members: refused whichever key signed.
    let duplicate = raw_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(
            r#"{{"iss":"https://a.example","iss":"https://b.example","exp":{}}}"#,
            now() + 60
        ),
        KEY_B,
    );
    assert!(outcome(&validator, &duplicate).await.is_err());
    // Garbage.
    for token in ["", "a", "a.b", "a.!!!.c", "e30.e30.e30"] {
        assert!(outcome(&validator, token).await.is_err(), "{token}");
    }
}

/// Each source reads the claims with its own settings and claims type, also when the
/// router has already read the payload to find `iss`.
#[tokio::test]
async fn each_source_reads_the_claims_with_its_own_settings() {
    let reads_scp = issuer("https://a.example", KEY_A)
        .scope_claim("scp")
        .unwrap();
    let validator = MultiIssuerValidator::new()
        .with_keys(reads_scp)
        .unwrap()
        .with_keys(issuer("https://b.example", KEY_B))
        .unwrap();
    let mut from_a = claims(Some("https://a.example"));
    from_a["scp"] = json!("orders:read orders:write");
    let read = outcome(&validator, &hs(KEY_A, &from_a)).await.unwrap();
    assert_eq!(
        read.scope.as_ref().map(|s| s.as_str()),
        Some("orders:read orders:write")
    );
    let from_b = outcome(&validator, &hs(KEY_B, &claims(Some("https://b.example"))))
        .await
        .unwrap();
    assert_eq!(from_b.scope.as_ref().map(|s| s.as_str()), Some("read"));

    // A claims type of the application's own, through the same routing.
    #[derive(Clone, Debug, serde::Deserialize)]
    struct Mine {
        sub: String,
        iss: String,
        roles: Vec<String>,
    }
    let mine = MultiIssuerValidator::<Mine>::new()
        .with_keys(issuer("https://b.example", KEY_B).with_claims::<Mine>())
        .unwrap();
    let mut with_roles = claims(Some("https://b.example"));
    with_roles["roles"] = json!(["admin", "ops"]);
    let read = outcome(&mine, &hs(KEY_B, &with_roles)).await.unwrap();
    assert_eq!(
        (read.sub.as_str(), read.iss.as_str(), read.roles),
        (
            "alice",
            "https://b.example",
            vec!["admin".to_owned(), "ops".to_owned()]
        )
    );
    with_roles["roles"] = json!("admin");
    assert_eq!(
        refusal(outcome(&mine, &hs(KEY_B, &with_roles)).await),
        InvalidToken::InvalidClaim("roles")
    );
}

#[test]
fn each_source_is_bound_to_exactly_one_issuer() {
    let none = JwtValidator::<Claims>::hs256(KEY_A).unwrap();
    assert!(MultiIssuerValidator::new().with_keys(none).is_err());
    let two = JwtValidator::<Claims>::hs256(KEY_A)
        .unwrap()
        .with_issuer("https://a.example")
        .unwrap()
        .with_issuer("https://b.example")
        .unwrap();
    assert!(MultiIssuerValidator::new().with_keys(two).is_err());
    let again = JwtValidator::<Claims>::hs256(KEY_B)
        .unwrap()
        .with_issuer("https://a.example")
        .unwrap();
    assert!(two_issuers().with_keys(again).is_err());
}

#[tokio::test]
async fn several_issuers_behind_the_layer_over_tcp() {
    let service = ServiceBuilder::new()
        .layer(BearerAuthLayer::new(two_issuers()))
        .service(EchoClaims::<Claims>::new());
    let server = serve(service).await;
    let url = server.url("/");
    let b = hs(KEY_B, &claims(Some("https://b.example")));
    let answer = get_with_token(&url, &b).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["iss"], "https://b.example");
    let cross = hs(KEY_A, &claims(Some("https://b.example")));
    get_with_token(&url, &cross)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    let unknown = hs(KEY_A, &claims(Some("https://c.example")));
    get_with_token(&url, &unknown)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

// ---------------------------------------------------------------- discovery

/// An authorization server that publishes only RFC 8414 metadata (no OpenID
/// configuration), for an issuer with a path.
async fn oauth_server(
    issuer_in_document: impl Fn(&str) -> String + Send + Sync + 'static,
) -> (TestServer, Vec<u8>) {
    let (private, _, pem) = p256_key();
    let jwk = serde_json::to_value(public_jwk("k1", Algorithm::ES256, &pem).unwrap()).unwrap();
    let private = Arc::new(private);
    let base = Arc::new(Mutex::new(String::new()));
    let base_in = Arc::clone(&base);
    let issuer_in_document = Arc::new(issuer_in_document);
    let server = serve(tower::service_fn(
        move |req: Request<hyper::body::Incoming>| {
            let base = base_in.lock().unwrap().clone();
            let issuer = issuer_in_document(&format!("{base}/tenant"));
            let (status, body) = match req.uri().path() {
                "/.well-known/oauth-authorization-server/tenant" => (
                    200,
                    json!({"issuer": issuer, "jwks_uri": format!("{base}/keys")}).to_string(),
                ),
                "/keys" => (200, json!({"keys": [jwk]}).to_string()),
                _ => (404, "{}".to_owned()),
            };
            async move {
                Ok::<_, Infallible>(
                    Response::builder()
                        .status(status)
                        .body(Full::new(Bytes::from(body)))
                        .unwrap(),
                )
            }
        },
    ))
    .await;
    *base.lock().unwrap() = format!("http://{}", server.addr);
    let _ = private;
    (server, pem)
}

#[tokio::test]
async fn discovery_falls_back_to_rfc8414_metadata() {
    let (server, _) = oauth_server(str::to_owned).await;
    let issuer = server.url("/tenant");
    let validator = JwksValidator::<Claims>::discover(HttpFetcher::new(), &issuer)
        .await
        .unwrap();
    assert_eq!(validator.url().to_string(), server.url("/keys"));
    assert_eq!(validator.kids(), ["k1"]);
}

#[tokio::test]
async fn discovery_requires_the_documents_issuer_to_be_the_configured_one() {
    let (server, _) = oauth_server(|issuer| format!("{issuer}/other")).await;
    let discovered =
        JwksValidator::<Claims>::discover(HttpFetcher::new(), &server.url("/tenant")).await;
    assert!(
        matches!(discovered, Err(JwksError::Discovery(_))),
        "{discovered:?}"
    );
    // No document at either place.
    let missing = JwksValidator::<Claims>::discover(HttpFetcher::new(), &server.url("/none")).await;
    assert!(
        matches!(missing, Err(JwksError::Status(StatusCode::NOT_FOUND))),
        "{missing:?}"
    );
}

// ---------------------------------------------------------------- fetcher URL policy

#[tokio::test]
async fn plain_http_only_to_loopback_unless_opted_in() {
    let fetcher = HttpFetcher::new();
    for url in [
        "http://192.0.2.1/jwks",
        "http://example.invalid/jwks",
        "http://localhost.example/jwks",
        "ftp://127.0.0.1/jwks",
    ] {
        let fetched = fetcher.fetch(&url.parse().unwrap(), 1024).await;
        assert_eq!(fetched.unwrap_err(), JwksError::InsecureUrl, "{url}");
    }
    let discovered =
        JwksValidator::<Claims>::discover(HttpFetcher::new(), "http://idp.example").await;
    assert!(
        matches!(discovered, Err(JwksError::InsecureUrl)),
        "{discovered:?}"
    );
    // Loopback in every spelling is allowed.
    let document = Arc::new(Mutex::new(r#"{"keys":[]}"#.to_owned()));
    let server = jwks_server(document).await;
    let port = server.addr.port();
    for url in [
        format!("http://127.0.0.1:{port}/jwks"),
        format!("http://localhost:{port}/jwks"),
    ] {
        let fetched = fetcher.fetch(&url.parse().unwrap(), 1024).await;
        assert_eq!(&fetched.unwrap().body[..], br#"{"keys":[]}"#, "{url}");
    }
    // With the opt-in, a non-loopback http URL is tried (and fails to connect here,
    // not before).
    let insecure = HttpFetcher::builder()
        .allow_insecure_http()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let fetched = insecure
        .fetch(&"http://192.0.2.1/jwks".parse().unwrap(), 1024)
        .await;
    assert!(
        matches!(fetched, Err(JwksError::Timeout | JwksError::Transport(_))),
        "{fetched:?}"
    );
}

#[test]
fn custom_roots_are_checked() {
    assert!(HttpFetcher::builder().add_root_pem(b"not a pem").is_err());
    assert!(HttpFetcher::builder()
        .add_root_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        .is_err());
    assert!(HttpFetcher::builder()
        .without_native_roots()
        .build()
        .is_err());
}
