//! Feature `openapi`: the password-flow scheme, per-route security requirements,
//! `/openapi.json` and `/docs` served over TCP, and the document validated against the
//! OpenAPI 3.1 schema. The server is the real `examples/demo_server.rs` binary.
#![cfg(feature = "openapi")]

mod common;
#[path = "common/demo.rs"]
mod demo;

use std::process::Command;

use bytes::Bytes;
use http::{header, Request, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use tower_bearer::openapi::{DocsService, OpenApiSecurity, SecureError};
use tower_bearer::{Claims, ConfigError, GuardLayer, RequireScopes};
use utoipa::openapi::path::{OperationBuilder, PathItem};
use utoipa::openapi::{HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Response};

use common::{get, get_with_token, send, serve};
use demo::Demo;

const SECRET: &str = "openapi-test-secret-0123456789abcdef";
const SCHEME: &str = "OAuth2PasswordBearer";

async fn server() -> Demo {
    demo::start(Some(SECRET))
}

async fn document(server: &Demo) -> Value {
    let answer = get(&server.url("/openapi.json"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.json()
}

fn small_document() -> OpenApi {
    let operation = OperationBuilder::new()
        .response("200", Response::new("ok"))
        .build();
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("t").version("1").build())
        .paths(PathsBuilder::new().path("/things", PathItem::new(HttpMethod::Get, operation)))
        .build()
}

async fn password_grant(server: &Demo, form: &str, authorization: Option<&str>) -> common::Answer {
    let mut request = Request::post(server.url("/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    send(
        request
            .body(Full::new(Bytes::from(form.to_owned())))
            .unwrap(),
    )
    .await
}

#[test]
fn scheme_password_flow_has_token_url_and_scopes() {
    let security = OpenApiSecurity::password("/token")
        .unwrap()
        .with_scopes([("me", "Read me"), ("items", "Read items")])
        .unwrap()
        .with_description("Log in with the password grant");
    let scheme = serde_json::to_value(security.scheme()).unwrap();
    assert_eq!(
        scheme,
        json!({
            "type": "oauth2",
            "description": "Log in with the password grant",
            "flows": { "password": {
                "tokenUrl": "/token",
                "scopes": { "items": "Read items", "me": "Read me" },
            }},
        })
    );
    assert_eq!(security.name(), SCHEME);
    assert_eq!(security.token_url(), "/token");
    assert_eq!(
        security.scopes().collect::<Vec<_>>(),
        [("items", "Read items"), ("me", "Read me")]
    );
}

#[test]
fn scheme_bad_configuration_fails() {
    assert_eq!(
        OpenApiSecurity::password("").unwrap_err(),
        ConfigError::InvalidUrl("token_url")
    );
    assert_eq!(
        OpenApiSecurity::password("/to ken").unwrap_err(),
        ConfigError::InvalidUrl("token_url")
    );
    let security = OpenApiSecurity::password("/token").unwrap();
    assert_eq!(
        security.clone().with_scope("a b", "two").unwrap_err(),
        ConfigError::InvalidScope
    );
    assert_eq!(
        security.clone().with_scope("", "none").unwrap_err(),
        ConfigError::InvalidScope
    );
    assert_eq!(
        security.clone().with_name("has space").unwrap_err(),
        ConfigError::InvalidString("name")
    );
    assert_eq!(
        security.with_name("Custom.Name-1").unwrap().name(),
        "Custom.Name-1"
    );
}

#[test]
fn secure_requirements_come_from_the_layer() {
    let security = OpenApiSecurity::password("/token")
        .unwrap()
        .with_scope("read", "Read")
        .unwrap()
        .with_scope("write", "Write")
        .unwrap();
    let layer = GuardLayer::new(RequireScopes::<Claims>::new(["read", "write"]));
    let mut openapi = small_document();
    security
        .secure(
            &mut openapi,
            "/things",
            HttpMethod::Get,
            layer.check().required(),
        )
        .unwrap();
    // Twice is the same as once.
    security
        .secure(
            &mut openapi,
            "/things",
            HttpMethod::Get,
            layer.check().required(),
        )
        .unwrap();
    let value = serde_json::to_value(&openapi).unwrap();
    let operation = &value["paths"]["/things"]["get"];
    assert_eq!(
        operation["security"],
        json!([{ SCHEME: ["read", "write"] }])
    );
    assert!(operation["responses"]["401"]["description"].is_string());
    assert!(operation["responses"]["403"]["description"]
        .as_str()
        .unwrap()
        .contains("read write"));
    assert_eq!(
        value["components"]["securitySchemes"][SCHEME]["flows"]["password"]["tokenUrl"],
        "/token"
    );
}

#[test]
fn secure_unknown_operation_or_undeclared_scope_fails() {
    let security = OpenApiSecurity::password("/token")
        .unwrap()
        .with_scope("read", "Read")
        .unwrap();
    let mut openapi = small_document();
    let read = GuardLayer::new(RequireScopes::<Claims>::new(["read"]));
    assert_eq!(
        security.secure(
            &mut openapi,
            "/things",
            HttpMethod::Post,
            read.check().required()
        ),
        Err(SecureError::UnknownOperation {
            path: "/things".into(),
            method: "POST"
        })
    );
    assert_eq!(
        security.secure_authenticated(&mut openapi, "/nothing", HttpMethod::Get),
        Err(SecureError::UnknownOperation {
            path: "/nothing".into(),
            method: "GET"
        })
    );
    let admin = GuardLayer::new(RequireScopes::<Claims>::new(["read", "admin"]));
    assert_eq!(
        security.secure(
            &mut openapi,
            "/things",
            HttpMethod::Get,
            admin.check().required()
        ),
        Err(SecureError::UndeclaredScope("admin".into()))
    );
    // Nothing was changed by the failures.
    assert!(openapi == small_document());
}

#[tokio::test]
async fn document_routes_security_per_route() {
    let server = server().await;
    let doc = document(&server).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let scheme = &doc["components"]["securitySchemes"][SCHEME];
    assert_eq!(scheme["type"], "oauth2");
    assert_eq!(scheme["flows"]["password"]["tokenUrl"], "/token");
    let scopes = &scheme["flows"]["password"]["scopes"];
    assert!(
        scopes["me"].is_string() && scopes["items"].is_string(),
        "{scopes}"
    );

    let paths = &doc["paths"];
    for path in ["/", "/status", "/users/me", "/users/me/items"] {
        assert!(paths[path]["get"].is_object(), "GET {path} documented");
    }
    assert!(paths["/token"]["post"].is_object());
    assert_eq!(paths["/"]["get"].get("security"), None);
    assert_eq!(paths["/token"]["post"].get("security"), None);
    assert_eq!(paths["/status"]["get"]["security"], json!([{ SCHEME: [] }]));
    assert_eq!(
        paths["/users/me"]["get"]["security"],
        json!([{ SCHEME: ["me"] }])
    );
    assert_eq!(
        paths["/users/me/items"]["get"]["security"],
        json!([{ SCHEME: ["me", "items"] }])
    );
}

#[tokio::test]
async fn openapi_json_served_as_json() {
    let server = server().await;
    let answer = get(&server.url("/openapi.json"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    assert!(answer.json().is_object());

    let post = send(
        Request::post(server.url("/openapi.json"))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers[header::ALLOW], "GET, HEAD");

    let head = send(
        Request::head(server.url("/openapi.json"))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers[header::CONTENT_TYPE], "application/json");
    assert!(head.body.is_empty());
}

/// The `href` and `src` attribute values of an HTML page.
fn referenced_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attribute in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            let end = rest.find('"').expect("closing quote");
            urls.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    urls
}

#[tokio::test]
async fn docs_page_assets_resolve() {
    let server = server().await;
    let redirect = get(&server.url("/docs"), &[]).await;
    assert_eq!(redirect.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers[header::LOCATION], "docs/");

    let page = get(&server.url("/docs/"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers[header::CONTENT_TYPE], "text/html");
    let html = std::str::from_utf8(&page.body).unwrap();
    let urls = referenced_urls(html);
    assert!(urls.len() >= 5, "{urls:?}");
    for url in &urls {
        assert!(
            !url.contains("://") && !url.starts_with("//"),
            "external asset {url}"
        );
        let path = format!("/docs/{}", url.trim_start_matches("./"));
        let asset = get(&server.url(&path), &[]).await;
        assert_eq!(asset.status, StatusCode::OK, "{path}");
        assert!(!asset.body.is_empty(), "{path}");
        let content_type = asset.headers[header::CONTENT_TYPE].to_str().unwrap();
        let expected = match path.rsplit('.').next().unwrap() {
            "js" => "javascript",
            "css" => "text/css",
            "png" => "image/png",
            other => panic!("unexpected asset type {other}"),
        };
        assert!(content_type.contains(expected), "{path}: {content_type}");
    }
    assert!(urls.iter().any(|u| u.ends_with("swagger-initializer.js")));

    // The configuration: our document, persisted authorization, no online validator,
    // and an empty client id so the password flow sends `Basic Og==`.
    let init = get(&server.url("/docs/swagger-initializer.js"), &[]).await;
    let script = std::str::from_utf8(&init.body).unwrap();
    for expected in [
        r#""url": "/openapi.json""#,
        r#""persistAuthorization": true"#,
        r#""validatorUrl": "none""#,
        r#""oauth2RedirectUrl": "/docs/oauth2-redirect.html""#,
        r#""clientId": """#,
        "ui.initOAuth(",
    ] {
        assert!(
            script.contains(expected),
            "{expected} missing from:\n{script}"
        );
    }
    assert!(!script.contains("{{config}}"));
    let redirect_page = get(&server.url("/docs/oauth2-redirect.html"), &[]).await;
    assert_eq!(redirect_page.status, StatusCode::OK);

    for missing in ["/docs/nope.js", "/docs/../Cargo.toml", "/docsx"] {
        assert_eq!(
            get(&server.url(missing), &[]).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[tokio::test]
async fn docs_custom_paths() {
    let security = OpenApiSecurity::password("/auth/token").unwrap();
    let docs = DocsService::new(small_document(), &security)
        .with_openapi_path("/api/spec.json")
        .unwrap()
        .with_docs_path("/api/ui")
        .unwrap();
    assert!(docs.handles("/api/spec.json") && docs.handles("/api/ui") && docs.handles("/api/ui/x"));
    assert!(!docs.handles("/openapi.json") && !docs.handles("/api/uix") && !docs.handles("/"));
    let doc: Value = serde_json::from_slice(docs.openapi_json()).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"][SCHEME]["flows"]["password"]["tokenUrl"],
        "/auth/token"
    );
    let server = serve(docs).await;
    let redirect = get(&server.url("/api/ui"), &[]).await;
    assert_eq!(redirect.headers[header::LOCATION], "ui/");
    let init = get(&server.url("/api/ui/swagger-initializer.js"), &[]).await;
    let script = std::str::from_utf8(&init.body).unwrap();
    assert!(script.contains(r#""url": "/api/spec.json""#), "{script}");
    assert!(script.contains(r#""oauth2RedirectUrl": "/api/ui/oauth2-redirect.html""#));

    for bad in ["", "/", "docs", "/docs/", "/do cs", "/docs?x"] {
        let docs = DocsService::new(small_document(), &security);
        assert!(docs.clone().with_docs_path(bad).is_err(), "{bad:?}");
        assert!(docs.with_openapi_path(bad).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn password_grant_with_empty_basic_client_then_users_me_ok() {
    let server = server().await;
    let answer = password_grant(
        &server,
        "grant_type=password&username=johndoe&password=secret&scope=me",
        Some("Basic Og=="),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    let body = answer.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "me");
    let token = body["access_token"].as_str().unwrap();

    let me = get_with_token(&server.url("/users/me"), token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        me.json(),
        json!({
            "username": "johndoe", "full_name": "John Doe",
            "email": "johndoe@example.com", "disabled": false,
        })
    );
    // Scope `me` only: the items route wants `items` too.
    let items = get_with_token(&server.url("/users/me/items"), token).await;
    items.assert_bearer_rejection(403, Some("insufficient_scope"));
    let status = get_with_token(&server.url("/status"), token).await;
    assert_eq!(status.status, StatusCode::OK);
}

#[tokio::test]
async fn password_grant_disabled_user_fails_clients_ignored() {
    let server = server().await;
    let alice = password_grant(
        &server,
        "grant_type=password&username=alice&password=secretalice",
        Some("Basic Og=="),
    )
    .await;
    assert_eq!(alice.status, StatusCode::BAD_REQUEST);
    assert_eq!(alice.json()["error"], "invalid_grant");

    // The demo registers no clients: TokenEndpoint accepts and ignores any client
    // identification (see `TokenEndpointBuilder::with_client`).
    for authorization in ["Basic Y2xpZW50OnNlY3JldA==", "Basic !!not-base64!!"] {
        let client = password_grant(
            &server,
            "grant_type=password&username=johndoe&password=secret",
            Some(authorization),
        )
        .await;
        assert_eq!(client.status, StatusCode::OK, "{authorization}");
    }

    let no_header = password_grant(
        &server,
        "grant_type=password&username=johndoe&password=secret",
        None,
    )
    .await;
    assert_eq!(no_header.status, StatusCode::OK);
    assert_eq!(no_header.json()["scope"], "me items");
}

/// The Python interpreter that has `openapi-spec-validator` (scripts/test.sh makes a
/// virtual environment with it and sets `OPENAPI_VALIDATOR_PYTHON`).
fn validator_python() -> String {
    std::env::var("OPENAPI_VALIDATOR_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Validates `document` with openapi-spec-validator's OpenAPI 3.1 validator (the
/// official 3.1 JSON Schema); `Err` carries its report.
fn validate_oas31(document: &Value, name: &str) -> Result<(), String> {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, serde_json::to_vec(document).unwrap()).unwrap();
    let script = "import json, sys\n\
        from openapi_spec_validator import validate, OpenAPIV31SpecValidator\n\
        validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n";
    let python = validator_python();
    let output = Command::new(&python)
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} ({e}); run scripts/test.sh"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "openapi-spec-validator is not installed for {python}: run scripts/test.sh, or \
         pip install -r tests/requirements-openapi.txt\n{stderr}"
    );
    if output.status.success() {
        Ok(())
    } else {
        Err(stderr)
    }
}

#[tokio::test]
async fn document_validates_against_oas_3_1_schema() {
    let server = server().await;
    let doc = document(&server).await;
    validate_oas31(&doc, "demo_server.openapi.json").expect("valid OpenAPI 3.1");

    // The validator does reject a broken scheme (so a pass above means something).
    let mut broken = doc;
    broken["components"]["securitySchemes"][SCHEME]["flows"]["password"]
        .as_object_mut()
        .unwrap()
        .remove("tokenUrl");
    let report = validate_oas31(&broken, "broken.openapi.json").expect_err("must be rejected");
    assert!(report.contains("tokenUrl"), "{report}");
}

#[tokio::test]
async fn docs_axum_route_service_ok() {
    let security = OpenApiSecurity::password("/token").unwrap();
    let docs = DocsService::new(small_document(), &security);
    let app = axum::Router::new()
        .route("/things", axum::routing::get(|| async { "things" }))
        .route_service("/openapi.json", docs.clone())
        .route_service("/docs", docs.clone())
        .route_service("/docs/", docs.clone())
        .route_service("/docs/{*file}", docs);
    let server = serve(app).await;
    assert_eq!(get(&server.url("/things"), &[]).await.body, "things");
    let doc = get(&server.url("/openapi.json"), &[]).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.json()["components"]["securitySchemes"][SCHEME].is_object());
    assert_eq!(
        get(&server.url("/docs"), &[]).await.status,
        StatusCode::PERMANENT_REDIRECT
    );
    let page = get(&server.url("/docs/"), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    let bundle = get(&server.url("/docs/swagger-ui-bundle.js"), &[]).await;
    assert_eq!(bundle.status, StatusCode::OK);
}

/// Every answer of the docs service forbids framing and carries the CSP; the page is
/// never stored under any of its paths, the static assets may be cached.
#[tokio::test]
async fn docs_headers_csp_no_framing_index_never_stored() {
    let security = OpenApiSecurity::password("/token").unwrap();
    let server = serve(DocsService::new(small_document(), &security)).await;
    let never_stored = [
        "/docs",
        "/docs/",
        "/docs//",
        "/docs/index.html",
        "/docs/swagger-initializer.js",
        "/docs/oauth2-redirect.html",
        "/openapi.json",
        "/docs/nope.html",
    ];
    let cached = [
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
        "/docs/favicon-32x32.png",
    ];
    for path in never_stored.iter().chain(&cached) {
        let answer = get(&server.url(path), &[]).await;
        assert!(answer.status.as_u16() < 500, "{path}: {answer:?}");
        let headers = &answer.headers;
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert_eq!(csp, tower_bearer::openapi::DOCS_CSP);
        for directive in [
            "frame-ancestors 'none'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.split("; ").any(|d| d == directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        assert!(
            !csp.split("; ")
                .any(|d| d.starts_with("script-src") && d.contains("unsafe-inline")),
            "{csp}"
        );
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        let cache = headers[header::CACHE_CONTROL].to_str().unwrap();
        if never_stored.contains(path) {
            assert_eq!(cache, "no-store", "{path}");
        } else {
            assert_eq!(answer.status, StatusCode::OK, "{path}");
            assert!(cache.contains("max-age"), "{path}: {cache}");
        }
    }
    // The index is the same page under each of its names.
    let slash = get(&server.url("/docs/"), &[]).await;
    let named = get(&server.url("/docs/index.html"), &[]).await;
    assert_eq!(slash.status, StatusCode::OK);
    assert_eq!(slash.body, named.body);
}
