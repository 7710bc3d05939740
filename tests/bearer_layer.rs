//! `BearerAuthLayer` over real TCP: extraction (RFC 6750 §2.1), validation, and the
//! RFC 6750 §3 answers.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::json;
use tower::ServiceBuilder;
use tower_bearer::{
    validate_fn, AuthError, BearerAuthLayer, Claims, ConfigError, DefaultRejection, GuardLayer,
    InvalidToken, JwtValidator, Rejection, RequireScopes,
};

fn validator() -> JwtValidator<Claims> {
    JwtValidator::hs256(SECRET).unwrap()
}

async fn server_with(validator: JwtValidator<Claims>) -> (TestServer, EchoClaims<Claims>) {
    let inner = EchoClaims::<Claims>::new();
    let service = ServiceBuilder::new()
        .layer(BearerAuthLayer::new(validator).with_realm(REALM).unwrap())
        .service(inner.clone());
    (serve(service).await, inner)
}

async fn server() -> (TestServer, EchoClaims<Claims>) {
    server_with(validator()).await
}

fn valid_claims() -> serde_json::Value {
    json!({ "sub": "johndoe", "exp": now() + 600, "iat": now(), "scope": "me items" })
}

#[tokio::test]
async fn valid_token_reaches_inner_with_claims() {
    let (server, inner) = server().await;
    let answer = get_with_token(&server.url("/"), &hs256(&valid_claims())).await;
    assert_eq!(answer.status, StatusCode::OK);
    let claims = answer.json();
    assert_eq!(claims["sub"], "johndoe");
    assert_eq!(claims["scope"], "me items");
    assert_eq!(inner.calls(), 1);
}

#[tokio::test]
async fn scheme_is_case_insensitive() {
    let (server, _) = server().await;
    let token = hs256(&valid_claims());
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let answer = get(
            &server.url("/"),
            &[("authorization", &format!("{scheme} {token}"))],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "scheme {scheme}");
    }
}

#[tokio::test]
async fn several_spaces_after_scheme_are_accepted() {
    // RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token
    let (server, _) = server().await;
    let token = hs256(&valid_claims());
    let answer = get(
        &server.url("/"),
        &[("authorization", &format!("Bearer   {token}"))],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn missing_header_is_401_without_error_and_inner_not_called() {
    let (server, inner) = server().await;
    let answer = get(&server.url("/"), &[]).await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(answer.challenge(), format!("Bearer realm=\"{REALM}\""));
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn other_scheme_or_empty_token_is_no_credentials() {
    let (server, inner) = server().await;
    for value in [
        "Basic am9objpzZWNyZXQ=",
        "Bearer",
        "Bearer ",
        "BearerX abc",
        "Token abc",
        "Bearer\tabc",
    ] {
        let answer = get(&server.url("/"), &[("authorization", value)]).await;
        answer.assert_bearer_rejection(401, None);
    }
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn query_token_is_ignored_by_default() {
    let (server, inner) = server().await;
    let token = hs256(&valid_claims());
    let answer = get(&server.url(&format!("/?access_token={token}")), &[]).await;
    answer.assert_bearer_rejection(401, None);
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let (server, inner) = server().await;
    let token = hs256(&valid_claims());
    let bearer = format!("Bearer {token}");
    let answer = get(
        &server.url("/"),
        &[("authorization", &bearer), ("authorization", &bearer)],
    )
    .await;
    answer.assert_bearer_rejection(400, Some("invalid_request"));
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn header_and_query_token_is_invalid_request_even_with_query_source_off() {
    let (server, inner) = server().await;
    let token = hs256(&valid_claims());
    let answer = get_with_token(&server.url(&format!("/?access_token={token}")), &token).await;
    answer.assert_bearer_rejection(400, Some("invalid_request"));
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn malformed_tokens_are_invalid_token() {
    let (server, inner) = server().await;
    let good = hs256(&valid_claims());
    let (head, rest) = good.split_once('.').unwrap();
    let cases = [
        "abc".to_owned(),
        "a.b".to_owned(),
        "a.b.c.d".to_owned(),
        format!("{good}."),
        format!("{head}..{}", rest.rsplit_once('.').unwrap().1),
        format!("{head}=.{rest}"),
        "a,b.c".to_owned(),
        "====".to_owned(),
        format!("{good}%"),
    ];
    for token in &cases {
        let answer = get(
            &server.url("/"),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
    }
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn bad_signature_is_invalid_token() {
    let (server, _) = server().await;
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another-secret-that-is-32-bytes-long!!"),
        &valid_claims(),
    );
    get_with_token(&server.url("/"), &forged)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));

    // Flip one character of the signature.
    let good = hs256(&valid_claims());
    let mut tampered = good.into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    get_with_token(&server.url("/"), &tampered)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

#[tokio::test]
async fn alg_none_in_any_spelling_is_refused() {
    let (server, _) = server().await;
    let payload = valid_claims().to_string();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        for signature in ["", "e30"] {
            let token = format!(
                "{}.{}.{signature}",
                b64(header.as_bytes()),
                b64(payload.as_bytes())
            );
            get_with_token(&server.url("/"), &token)
                .await
                .assert_bearer_rejection(401, Some("invalid_token"));
        }
    }
}

#[tokio::test]
async fn other_hmac_algorithm_with_same_secret_is_refused() {
    let (server, _) = server().await;
    let hs512 = sign(
        Algorithm::HS512,
        &EncodingKey::from_secret(SECRET),
        &valid_claims(),
    );
    get_with_token(&server.url("/"), &hs512)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

#[tokio::test]
async fn rsa_public_key_as_hmac_secret_is_refused() {
    // Algorithm confusion: an attacker signs HS256 with the RS256 public key bytes.
    let public = key_file("rsa_public.pem");
    let validator = JwtValidator::<Claims>::new(
        Algorithm::RS256,
        &DecodingKey::from_rsa_pem(&public).unwrap(),
    )
    .unwrap();
    let (server, inner) = server_with(validator).await;
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&public),
        &valid_claims(),
    );
    get_with_token(&server.url("/"), &forged)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn asymmetric_keys_validate_their_own_tokens() {
    let cases = [
        (Algorithm::RS256, "rsa"),
        (Algorithm::PS256, "rsa"),
        (Algorithm::RS512, "rsa"),
        (Algorithm::ES256, "ec"),
        (Algorithm::ES384, "ec384"),
        (Algorithm::EdDSA, "ed"),
    ];
    for (algorithm, name) in cases {
        let private = key_file(&format!("{name}_private.pem"));
        let public = key_file(&format!("{name}_public.pem"));
        let (encoding, decoding) = match name {
            "rsa" => (
                EncodingKey::from_rsa_pem(&private).unwrap(),
                DecodingKey::from_rsa_pem(&public).unwrap(),
            ),
            "ed" => (
                EncodingKey::from_ed_pem(&private).unwrap(),
                DecodingKey::from_ed_pem(&public).unwrap(),
            ),
            _ => (
                EncodingKey::from_ec_pem(&private).unwrap(),
                DecodingKey::from_ec_pem(&public).unwrap(),
            ),
        };
        let validator = JwtValidator::<Claims>::new(algorithm, &decoding).unwrap();
        let (server, _) = server_with(validator).await;
        let token = sign(algorithm, &encoding, &valid_claims());
        let answer = get_with_token(&server.url("/"), &token).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{algorithm:?}: {:?}",
            answer.body
        );
        // The same key material with an HMAC token is refused.
        let hmac = hs256(&valid_claims());
        get_with_token(&server.url("/"), &hmac)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }
}

#[tokio::test]
async fn time_claims_are_enforced() {
    let (server, inner) = server_with(validator().with_leeway(Duration::from_secs(5))).await;
    let cases = [
        json!({ "sub": "x", "exp": now() - 10 }),
        json!({ "sub": "x", "exp": now() + 600, "nbf": now() + 60 }),
        json!({ "sub": "x" }),
        json!({ "sub": "x", "exp": (now() + 600).to_string() }),
        json!({ "sub": "x", "exp": null }),
        json!({ "sub": "x", "exp": true }),
        json!({ "sub": "x", "exp": now() + 600, "nbf": "0" }),
        json!({ "sub": "x", "exp": now() + 600, "iat": "yesterday" }),
        json!({ "sub": 42, "exp": now() + 600 }),
        json!({ "sub": "x", "exp": -1 }),
    ];
    for claims in &cases {
        let answer = get_with_token(&server.url("/"), &hs256(claims)).await;
        answer.assert_bearer_rejection(401, Some("invalid_token"));
    }
    assert_eq!(inner.calls(), 0);
    // Within leeway is fine; a fractional NumericDate is fine.
    let ok = [
        json!({ "exp": now() - 2 }),
        json!({ "exp": now() + 600, "nbf": now() + 2 }),
        json!({ "exp": (now() + 600) as f64 + 0.5 }),
    ];
    for claims in &ok {
        assert_eq!(
            get_with_token(&server.url("/"), &hs256(claims))
                .await
                .status,
            StatusCode::OK,
            "{claims}"
        );
    }
}

#[tokio::test]
async fn expired_token_describes_expiry() {
    let (server, _) = server().await;
    let answer = get_with_token(&server.url("/"), &hs256(&json!({ "exp": now() - 3600 }))).await;
    answer.assert_bearer_rejection(401, Some("invalid_token"));
    assert!(answer
        .challenge()
        .contains("error_description=\"The access token expired\""));
}

#[tokio::test]
async fn issuer_and_audience_are_required_when_configured() {
    let validator = validator()
        .with_issuer("https://issuer.test")
        .unwrap()
        .with_audience("api")
        .unwrap();
    let (server, _) = server_with(validator).await;
    let exp = now() + 600;
    let refused = [
        json!({ "exp": exp }),
        json!({ "exp": exp, "iss": "https://issuer.test" }),
        json!({ "exp": exp, "aud": "api" }),
        json!({ "exp": exp, "iss": "https://evil.test", "aud": "api" }),
        json!({ "exp": exp, "iss": "https://issuer.test", "aud": "other" }),
        json!({ "exp": exp, "iss": "https://issuer.test", "aud": ["a", "b"] }),
        json!({ "exp": exp, "iss": ["https://issuer.test"], "aud": "api" }),
        json!({ "exp": exp, "iss": "https://issuer.test", "aud": 7 }),
    ];
    for claims in &refused {
        get_with_token(&server.url("/"), &hs256(claims))
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }
    let accepted = [
        json!({ "exp": exp, "iss": "https://issuer.test", "aud": "api" }),
        json!({ "exp": exp, "iss": "https://issuer.test", "aud": ["other", "api"] }),
    ];
    for claims in &accepted {
        assert_eq!(
            get_with_token(&server.url("/"), &hs256(claims))
                .await
                .status,
            StatusCode::OK,
            "{claims}"
        );
    }
    // An escaped slash is the same issuer (JSON allows "\/").
    let escaped = raw_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{exp},"iss":"https:\/\/issuer.test","aud":"api"}}"#),
        SECRET,
    );
    assert_eq!(
        get_with_token(&server.url("/"), &escaped).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn audience_in_token_without_configured_audience_is_refused() {
    // RFC 7519 §4.1.3: a recipient that does not identify with `aud` MUST reject.
    let (server, _) = server().await;
    let token = hs256(&json!({ "exp": now() + 600, "aud": "someone-else" }));
    get_with_token(&server.url("/"), &token)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

#[tokio::test]
async fn crit_header_is_refused() {
    let (server, _) = server().await;
    let payload = json!({ "exp": now() + 600 }).to_string();
    for header in [
        r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
        r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
        r#"{"alg":"HS256","crit":[]}"#,
        r#"{"alg":"HS256","crit":null}"#,
    ] {
        let token = raw_hs256(header, &payload, SECRET);
        get_with_token(&server.url("/"), &token)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }
}

#[tokio::test]
async fn non_object_json_and_duplicates_are_refused() {
    let (server, _) = server().await;
    let exp = now() + 600;
    let cases = [
        (r#"{"alg":"HS256"}"#.to_owned(), format!("[{exp}]")),
        (r#"["HS256"]"#.to_owned(), format!(r#"{{"exp":{exp}}}"#)),
        (
            r#"{"alg":"HS256","alg":"HS256"}"#.to_owned(),
            format!(r#"{{"exp":{exp}}}"#),
        ),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            format!(r#"{{"exp":{exp},"exp":{exp}}}"#),
        ),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            format!(r#"{{"exp":{exp}}} trailing"#),
        ),
        (r#"{"alg":"HS256"}"#.to_owned(), "null".to_owned()),
    ];
    for (header, payload) in &cases {
        let token = raw_hs256(header, payload, SECRET);
        get_with_token(&server.url("/"), &token)
            .await
            .assert_bearer_rejection(401, Some("invalid_token"));
    }
    // Invalid UTF-8 in the payload.
    let mut bad = format!(r#"{{"exp":{exp},"sub":""#).into_bytes();
    bad.extend_from_slice(&[0xff, 0xfe]);
    bad.extend_from_slice(b"\"}");
    let input = format!("{}.{}", b64(br#"{"alg":"HS256"}"#), b64(&bad));
    let token = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(&mac.finalize().into_bytes()))
    };
    get_with_token(&server.url("/"), &token)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

#[tokio::test]
async fn token_longer_than_limit_is_refused() {
    let (server, _) = server_with(validator().with_max_token_len(512)).await;
    let claims = json!({ "exp": now() + 600, "pad": "x".repeat(600) });
    let answer = get_with_token(&server.url("/"), &hs256(&claims)).await;
    answer.assert_bearer_rejection(401, Some("invalid_token"));
    assert!(answer.challenge().contains("too long"));
}

#[tokio::test]
async fn kid_selects_among_keys() {
    let old = b"old-secret-old-secret-old-secret-old-secret";
    let new = b"new-secret-new-secret-new-secret-new-secret";
    let validator = JwtValidator::<Claims>::hs256(SECRET)
        .unwrap()
        .with_key("old", Algorithm::HS256, &DecodingKey::from_secret(old))
        .unwrap()
        .with_key("new", Algorithm::HS256, &DecodingKey::from_secret(new))
        .unwrap();
    let (server, _) = server_with(validator).await;
    let with_kid = |kid: &str, secret: &[u8]| {
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &valid_claims(), &EncodingKey::from_secret(secret)).unwrap()
    };
    assert_eq!(
        get_with_token(&server.url("/"), &with_kid("old", old))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get_with_token(&server.url("/"), &with_kid("new", new))
            .await
            .status,
        StatusCode::OK
    );
    // A kid naming one key but signed with another's secret.
    get_with_token(&server.url("/"), &with_kid("old", new))
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

#[tokio::test]
async fn grpc_requests_get_grpc_shaped_rejections() {
    let (server, _) = server().await;
    let answer = get(
        &server.url("/pkg.Service/Method"),
        &[("content-type", "application/grpc+proto")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["grpc-status"], "16");
    assert!(answer.headers.contains_key("grpc-message"));
    assert!(answer.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert!(answer.body.is_empty());
}

#[tokio::test]
async fn custom_rejection_handler_replaces_the_response() {
    let inner = EchoClaims::<Claims>::new();
    let layer = BearerAuthLayer::new(validator()).on_rejection(|rejection: Rejection<'_>| {
        Response::builder()
            .status(rejection.error().status())
            .header("www-authenticate", rejection.challenge())
            .header("x-reason", rejection.error().code())
            .body(Bytes::from_static(b"nope"))
            .unwrap()
    });
    let server = serve(ServiceBuilder::new().layer(layer).service(inner)).await;
    let answer = get_with_token(&server.url("/"), "abc.def.ghi").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers["x-reason"], "invalid_token");
    assert_eq!(answer.body, "nope");
}

#[tokio::test]
async fn async_validator_calls_the_service_it_polled() {
    let validator = validate_fn(|token: &str| {
        let ok = token == "opaque-good";
        async move {
            tokio::task::yield_now().await;
            if ok {
                Ok(Claims {
                    sub: Some("svc".into()),
                    exp: i64::MAX,
                    iat: None,
                    nbf: None,
                    iss: None,
                    aud: None,
                    jti: None,
                    scope: None,
                    sid: None,
                    client_id: None,
                })
            } else {
                Err(AuthError::InvalidToken(InvalidToken::Revoked))
            }
        }
    });
    let inner = EchoClaims::<Claims>::new();
    // A concurrency limit makes readiness matter: a clone that was never polled would
    // panic in EchoClaims, and an un-returned permit would hang the second request.
    let service = ServiceBuilder::new()
        .layer(BearerAuthLayer::new(validator))
        .service(inner.clone());
    let server = serve(service).await;
    for _ in 0..3 {
        let answer = get_with_token(&server.url("/"), "opaque-good").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json()["sub"], "svc");
    }
    let answer = get_with_token(&server.url("/"), "opaque-bad").await;
    answer.assert_bearer_rejection(401, Some("invalid_token"));
    assert!(answer.challenge().contains("revoked"));
    assert_eq!(inner.calls(), 3);
}

#[test]
fn weak_or_mismatched_keys_are_configuration_errors() {
    assert_eq!(
        JwtValidator::<Claims>::hs256(b"short").unwrap_err(),
        ConfigError::HmacKeyTooShort { minimum: 32 }
    );
    assert!(JwtValidator::<Claims>::insecure_short_hmac_key(
        Algorithm::HS256,
        &DecodingKey::from_secret(b"short")
    )
    .is_ok());
    assert!(JwtValidator::<Claims>::insecure_short_hmac_key(
        Algorithm::HS256,
        &DecodingKey::from_secret(b"")
    )
    .is_err());
    assert_eq!(
        JwtValidator::<Claims>::new(Algorithm::RS256, &DecodingKey::from_secret(SECRET))
            .unwrap_err(),
        ConfigError::KeyAlgorithmMismatch
    );
    assert!(RequireScopes::<Claims>::try_new(["bad scope"]).is_err());
    assert!(RequireScopes::<Claims>::try_new(["quo\"te"]).is_err());
    assert!(RequireScopes::<Claims>::try_new(Vec::<String>::new()).is_err());
}

#[tokio::test]
async fn user_claims_type_is_inserted() {
    #[derive(Clone, serde::Deserialize, serde::Serialize)]
    struct Mine {
        sub: String,
        tenant: String,
    }
    let inner = EchoClaims::<Mine>::new();
    let service = ServiceBuilder::new()
        .layer(BearerAuthLayer::new(
            JwtValidator::<Mine>::hs256(SECRET).unwrap(),
        ))
        .service(inner.clone());
    let server = serve(service).await;
    let token = hs256(&json!({ "sub": "a", "tenant": "t1", "exp": now() + 60 }));
    let answer = get_with_token(&server.url("/"), &token).await;
    assert_eq!(answer.json()["tenant"], "t1");
    // Missing a field of the user's type: invalid token, not a 500.
    let token = hs256(&json!({ "sub": "a", "exp": now() + 60 }));
    get_with_token(&server.url("/"), &token)
        .await
        .assert_bearer_rejection(401, Some("invalid_token"));
}

#[tokio::test]
async fn http2_clients_are_served() {
    let (server, _) = server().await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let request = Request::get(server.url("/"))
        .header(
            "authorization",
            format!("Bearer {}", hs256(&valid_claims())),
        )
        .body(Full::default())
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
}

/// An outer layer that reports the refusal's `AuthError` (if the response carries one)
/// in a header, the way a logging layer would read it.
fn report_error<B>(mut response: Response<B>) -> Response<B> {
    if let Some(error) = response.extensions().get::<AuthError>() {
        let value = http::HeaderValue::try_from(format!("{error:?}")).unwrap();
        response.headers_mut().insert("x-refused-because", value);
    }
    response
}

#[tokio::test]
async fn error_extension_only_when_asked_for() {
    let plain = ServiceBuilder::new()
        .map_response(report_error)
        .layer(BearerAuthLayer::new(validator()))
        .layer(GuardLayer::new(RequireScopes::<Claims>::new(["admin"])))
        .service(EchoClaims::<Claims>::new());
    let asked = ServiceBuilder::new()
        .map_response(report_error)
        .layer(
            BearerAuthLayer::new(validator())
                .on_rejection(DefaultRejection::new().with_error_extension()),
        )
        .layer(
            GuardLayer::new(RequireScopes::<Claims>::new(["admin"]))
                .on_rejection(DefaultRejection::new().with_error_extension()),
        )
        .service(EchoClaims::<Claims>::new());
    let (plain, asked) = (serve(plain).await, serve(asked).await);
    let mut forged = hs256(&valid_claims());
    forged.push('x');
    let cases = [
        (None, 401, "MissingToken"),
        (Some(forged), 401, "InvalidToken(BadSignature)"),
        (Some(hs256(&valid_claims())), 403, "InsufficientScope"),
    ];
    for (token, status, reason) in cases {
        let authorization = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("authorization", value.as_str()))
            .collect();
        let without = get(&plain.url("/"), &headers).await;
        let with = get(&asked.url("/"), &headers).await;
        // The same answer either way; only the extension differs.
        assert_eq!(without.status.as_u16(), status);
        assert_eq!(with.status, without.status);
        assert_eq!(with.body, without.body);
        assert_eq!(with.challenge(), without.challenge());
        assert!(!without.headers.contains_key("x-refused-because"));
        let reported = with.headers["x-refused-because"].to_str().unwrap();
        assert!(reported.starts_with(reason), "{reported} for {reason}");
    }
}

/// The JWT validator with the layer's default order: syntax checked before validation.
#[derive(Clone)]
struct CheckedFirst(JwtValidator<Claims>);

impl tower_bearer::TokenValidator for CheckedFirst {
    type Claims = Claims;
    type Future = std::future::Ready<Result<Claims, AuthError>>;

    fn validate(&self, token: &str) -> tower_bearer::Validation<Claims, Self::Future> {
        self.0.validate(token)
    }
}

#[tokio::test]
async fn deferred_syntax_check_answers_as_checking_first() {
    let sources = || {
        tower_bearer::TokenSources::default()
            .with_cookie("session")
            .unwrap()
            .insecure_with_query()
    };
    let deferring_inner = EchoClaims::<Claims>::new();
    let deferring = serve(
        ServiceBuilder::new()
            .layer(BearerAuthLayer::new(validator()).with_sources(sources()))
            .service(deferring_inner.clone()),
    )
    .await;
    let checking_inner = EchoClaims::<Claims>::new();
    let checking = serve(
        ServiceBuilder::new()
            .layer(BearerAuthLayer::new(CheckedFirst(validator())).with_sources(sources()))
            .service(checking_inner.clone()),
    )
    .await;
    let valid = hs256(&valid_claims());
    let (header, rest) = valid.split_once('.').unwrap();
    let mut tokens: Vec<Vec<u8>> = vec![valid.clone().into_bytes()];
    for odd in [b'!', b'"', b'~', b'+', b'/', b'=', b'\t', b',', 0x80, 0xFF] {
        // The odd byte in the header, the payload, the signature, and at the end.
        tokens.push(format!("{header}{}.{rest}", odd as char).into_bytes());
        tokens.push([&valid.as_bytes()[..60], &[odd], &valid.as_bytes()[60..]].concat());
        tokens.push([valid.as_bytes(), &[odd]].concat());
        let mut replaced = valid.clone().into_bytes();
        let last = replaced.len() - 1;
        replaced[last] = odd;
        tokens.push(replaced);
    }
    tokens.push(b"not-a-jwt".to_vec());
    tokens.push(b"a.b.c".to_vec());
    tokens.push(format!("{valid}==").into_bytes());
    let mut compared = 0;
    for token in &tokens {
        let authorization = [b"Bearer ".as_slice(), token].concat();
        let authorization = http::HeaderValue::from_bytes(&authorization).unwrap();
        let cookie =
            http::HeaderValue::from_bytes(&[b"session=".as_slice(), token].concat()).unwrap();
        // Alone, with a second token in the query, in a cookie, and in both.
        let requests = [
            ("/", Some(authorization.clone()), None),
            ("/?access_token=abc", Some(authorization.clone()), None),
            ("/", None, Some(cookie.clone())),
            ("/", Some(authorization), Some(cookie)),
        ];
        for (path, authorization, cookie) in requests {
            let request = |url: String| {
                let mut builder = Request::get(url);
                if let Some(value) = &authorization {
                    builder = builder.header("authorization", value.clone());
                }
                if let Some(value) = &cookie {
                    builder = builder.header("cookie", value.clone());
                }
                builder.body(Full::<Bytes>::default()).unwrap()
            };
            let first = send(request(deferring.url(path))).await;
            let second = send(request(checking.url(path))).await;
            let context = format!("{path} {:?}", String::from_utf8_lossy(token));
            assert_eq!(first.status, second.status, "{context}");
            assert_eq!(
                first.headers.get("www-authenticate"),
                second.headers.get("www-authenticate"),
                "{context}"
            );
            assert_eq!(first.body, second.body, "{context}");
            compared += 1;
        }
    }
    // Every token went out alone, with a query token, in a cookie, and in both.
    assert_eq!(compared, 4 * tokens.len());
    // The same requests reached the inner service: at least the valid token alone, in
    // the header and in the cookie (a trailing tab is trimmed as whitespace).
    assert_eq!(deferring_inner.calls(), checking_inner.calls());
    assert!(checking_inner.calls() >= 2);
}
