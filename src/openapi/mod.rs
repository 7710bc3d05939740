//! OpenAPI (feature `openapi`, over [`utoipa`]): the OAuth2 password-flow security
//! scheme, per-operation security requirements taken from the middleware's own
//! configuration, and [`DocsService`], which serves `/openapi.json` and Swagger UI at
//! `/docs` with its **Authorize** button wired to the token endpoint.
//!
//! ```
//! use http::{Request, StatusCode};
//! use http_body_util::BodyExt;
//! use tower::ServiceExt;
//! use tower_bearer::openapi::{DocsService, OpenApiSecurity, SecureError};
//! use tower_bearer::{Claims, RequireScopes};
//! use utoipa::openapi::path::{OperationBuilder, PathItem};
//! use utoipa::openapi::{HttpMethod, InfoBuilder, OpenApiBuilder, PathsBuilder, Response};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The document, here built by hand; `#[derive(utoipa::OpenApi)]` works the same.
//! let get_me = OperationBuilder::new().response("200", Response::new("The user")).build();
//! let mut openapi = OpenApiBuilder::new()
//!     .info(InfoBuilder::new().title("demo").version("1").build())
//!     .paths(PathsBuilder::new().path("/users/me", PathItem::new(HttpMethod::Get, get_me)))
//!     .build();
//!
//! // The scheme, declared once; the route's requirement comes from its layer.
//! let security = OpenApiSecurity::password("/token")?
//!     .with_scope("me", "Read your own profile")?;
//! let me_check = RequireScopes::<Claims>::new(["me"]); // or a `GuardLayer`'s `check()`
//! security.secure(&mut openapi, "/users/me", HttpMethod::Get, me_check.required())?;
//!
//! // A scope the scheme does not declare cannot be requested from Swagger UI.
//! let admin = RequireScopes::<Claims>::new(["admin"]);
//! assert_eq!(
//!     security.secure(&mut openapi, "/users/me", HttpMethod::Get, admin.required()),
//!     Err(SecureError::UndeclaredScope("admin".into())),
//! );
//!
//! let docs = DocsService::new(openapi, &security);
//! let response = docs.clone().oneshot(Request::get("/openapi.json").body(())?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! let json: serde_json::Value = serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
//! assert_eq!(json["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"], "/token");
//! assert_eq!(json["paths"]["/users/me"]["get"]["security"][0]["OAuth2PasswordBearer"][0], "me");
//!
//! let page = docs.clone().oneshot(Request::get("/docs/").body(())?).await?;
//! assert_eq!(page.status(), StatusCode::OK);
//! assert_eq!(page.headers()["content-type"], "text/html");
//!
//! let missing = docs.oneshot(Request::get("/docs/nope.js").body(())?).await?;
//! assert_eq!(missing.status(), StatusCode::NOT_FOUND);
//! # Ok(())
//! # }
//! ```
//!
//! With axum, route the document and the docs paths to the service:
//!
//! ```text
//! router
//!     .route_service("/openapi.json", docs.clone())
//!     .route_service("/docs", docs.clone())
//!     .route_service("/docs/", docs.clone())
//!     .route_service("/docs/{*file}", docs)
//! ```
//!
//! With hyper or a plain Tower stack, send every request whose path
//! [`DocsService::handles`] to it.

mod docs;
mod scheme;

pub use docs::{DocsService, DOCS_CSP};
pub use scheme::{OpenApiSecurity, SecureError};
