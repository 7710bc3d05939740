//! [`OpenApiSecurity`]: the OAuth2 password-flow security scheme and per-operation
//! security requirements.

use std::collections::BTreeMap;
use std::fmt;

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Flow, OAuth2, Password, Scopes, SecurityScheme};
use utoipa::openapi::{HttpMethod, OpenApi, RefOr, Response, SecurityRequirement};

use crate::error::{is_scope_token, ConfigError, RequiredScopes};

/// The OAuth2 password flow of a token endpoint, as an OpenAPI security scheme, and
/// the security requirements of the routes it protects.
///
/// Declare the token URL and the scopes (with the descriptions Swagger UI shows in its
/// Authorize dialog) once; then [`secure`](Self::secure) each protected operation with
/// the [`RequiredScopes`] of its [`RequireScopes`](crate::RequireScopes) check, so
/// the document says what the middleware enforces.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct OpenApiSecurity {
    name: String,
    token_url: String,
    refresh_url: Option<String>,
    description: Option<String>,
    scopes: BTreeMap<String, String>,
}

impl fmt::Debug for OpenApiSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenApiSecurity")
            .field("name", &self.name)
            .field("token_url", &self.token_url)
            .field("refresh_url", &self.refresh_url)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl OpenApiSecurity {
    /// The scheme name used unless [`with_name`](Self::with_name) sets another.
    pub const DEFAULT_NAME: &'static str = "OAuth2PasswordBearer";

    /// A password flow whose token endpoint is at `token_url` (absolute, or relative to
    /// the document, such as `"/token"`), with no scopes yet.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] if `token_url` is empty or has whitespace or
    /// control characters.
    pub fn password(token_url: impl Into<String>) -> Result<Self, ConfigError> {
        let token_url = token_url.into();
        if !is_url_like(&token_url) {
            return Err(ConfigError::InvalidUrl("token_url"));
        }
        Ok(Self {
            name: Self::DEFAULT_NAME.to_owned(),
            token_url,
            refresh_url: None,
            description: None,
            scopes: BTreeMap::new(),
        })
    }

    /// Names the scheme (the key under `components.securitySchemes`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidString`] if `name` is empty or has characters outside
    /// `A-Z a-z 0-9 . - _` (the OpenAPI component-name pattern).
    pub fn with_name(mut self, name: impl Into<String>) -> Result<Self, ConfigError> {
        let name = name.into();
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !valid {
            return Err(ConfigError::InvalidString("name"));
        }
        self.name = name;
        Ok(self)
    }

    /// Declares a scope, with the description shown next to its checkbox.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScope`] if `scope` is not an RFC 6749 §3.3 scope-token.
    pub fn with_scope(
        mut self,
        scope: impl Into<String>,
        description: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let scope = scope.into();
        if !is_scope_token(&scope) {
            return Err(ConfigError::InvalidScope);
        }
        self.scopes.insert(scope, description.into());
        Ok(self)
    }

    /// Declares several scopes, as `(scope, description)` pairs.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScope`] if a scope is not an RFC 6749 §3.3 scope-token.
    pub fn with_scopes<I, S, D>(self, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (S, D)>,
        S: Into<String>,
        D: Into<String>,
    {
        scopes
            .into_iter()
            .try_fold(self, |this, (scope, description)| {
                this.with_scope(scope, description)
            })
    }

    /// Sets the flow's `refreshUrl`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] if `refresh_url` is empty or has whitespace or
    /// control characters.
    pub fn with_refresh_url(mut self, refresh_url: impl Into<String>) -> Result<Self, ConfigError> {
        let refresh_url = refresh_url.into();
        if !is_url_like(&refresh_url) {
            return Err(ConfigError::InvalidUrl("refresh_url"));
        }
        self.refresh_url = Some(refresh_url);
        Ok(self)
    }

    /// Sets the scheme's description (Markdown).
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The scheme name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The token endpoint's URL.
    #[must_use]
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The declared scopes and their descriptions, in scope order.
    pub fn scopes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.scopes.iter().map(|(s, d)| (s.as_str(), d.as_str()))
    }

    /// The OpenAPI security scheme: `type: oauth2` with one `password` flow.
    #[must_use]
    pub fn scheme(&self) -> SecurityScheme {
        let scopes: Scopes = self
            .scopes
            .iter()
            .map(|(s, d)| (s.as_str(), d.as_str()))
            .collect();
        let flow = match &self.refresh_url {
            Some(refresh) => Password::with_refresh_url(self.token_url.as_str(), scopes, refresh),
            None => Password::new(self.token_url.as_str(), scopes),
        };
        let flows = [Flow::Password(flow)];
        SecurityScheme::OAuth2(match &self.description {
            Some(description) => OAuth2::with_description(flows, description),
            None => OAuth2::new(flows),
        })
    }

    /// The security requirement naming this scheme with `required` (or no scope: any
    /// valid token).
    #[must_use]
    pub fn requirement(&self, required: Option<&RequiredScopes>) -> SecurityRequirement {
        let scopes: Vec<&str> = required.map(|r| r.iter().collect()).unwrap_or_default();
        SecurityRequirement::new(self.name.as_str(), scopes)
    }

    /// Adds the scheme to `openapi`'s `components.securitySchemes` (replacing one of the
    /// same name). [`secure`](Self::secure) and
    /// [`DocsService::new`](crate::openapi::DocsService::new) do it too.
    pub fn register(&self, openapi: &mut OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(self.name.as_str(), self.scheme());
    }

    /// Marks the operation `method path` as needing a token with the `required` scopes
    /// (pass [`RequireScopes::required`](crate::RequireScopes::required)), and
    /// documents its `401` and `403` answers unless the operation already does.
    ///
    /// # Errors
    ///
    /// [`SecureError::UnknownOperation`] if `openapi` has no such operation, and
    /// [`SecureError::UndeclaredScope`] if a required scope was not declared with
    /// [`with_scope`](Self::with_scope) (Swagger UI could not request it).
    pub fn secure(
        &self,
        openapi: &mut OpenApi,
        path: &str,
        method: HttpMethod,
        required: &RequiredScopes,
    ) -> Result<(), SecureError> {
        if let Some(scope) = required.iter().find(|s| !self.scopes.contains_key(*s)) {
            return Err(SecureError::UndeclaredScope(scope.to_owned()));
        }
        self.secure_with(openapi, path, method, Some(required))
    }

    /// Marks the operation `method path` as needing any valid token (a route behind
    /// [`BearerAuthLayer`](crate::BearerAuthLayer) with no scope requirement).
    ///
    /// # Errors
    ///
    /// [`SecureError::UnknownOperation`] if `openapi` has no such operation.
    pub fn secure_authenticated(
        &self,
        openapi: &mut OpenApi,
        path: &str,
        method: HttpMethod,
    ) -> Result<(), SecureError> {
        self.secure_with(openapi, path, method, None)
    }

    fn secure_with(
        &self,
        openapi: &mut OpenApi,
        path: &str,
        method: HttpMethod,
        required: Option<&RequiredScopes>,
    ) -> Result<(), SecureError> {
        let operation = openapi
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| operation_mut(item, &method))
            .ok_or_else(|| SecureError::UnknownOperation {
                path: path.to_owned(),
                method: method_name(&method),
            })?;
        let requirement = self.requirement(required);
        let security = operation.security.get_or_insert_with(Vec::new);
        if !security.contains(&requirement) {
            security.push(requirement);
        }
        let responses = &mut operation.responses.responses;
        responses.entry("401".to_owned()).or_insert_with(|| {
            RefOr::T(Response::new(
                "No bearer token, or an invalid or expired one (`WWW-Authenticate: Bearer`)",
            ))
        });
        if let Some(required) = required {
            responses.entry("403".to_owned()).or_insert_with(|| {
                RefOr::T(Response::new(format!(
                    "The token lacks a required scope (`{}`)",
                    required.as_str()
                )))
            });
        }
        self.register(openapi);
        Ok(())
    }
}

impl utoipa::Modify for OpenApiSecurity {
    /// Registers the scheme, as [`register`](OpenApiSecurity::register).
    fn modify(&self, openapi: &mut OpenApi) {
        self.register(openapi);
    }
}

fn operation_mut<'a>(
    item: &'a mut utoipa::openapi::PathItem,
    method: &HttpMethod,
) -> Option<&'a mut Operation> {
    match method {
        HttpMethod::Get => item.get.as_mut(),
        HttpMethod::Put => item.put.as_mut(),
        HttpMethod::Post => item.post.as_mut(),
        HttpMethod::Delete => item.delete.as_mut(),
        HttpMethod::Options => item.options.as_mut(),
        HttpMethod::Head => item.head.as_mut(),
        HttpMethod::Patch => item.patch.as_mut(),
        HttpMethod::Trace => item.trace.as_mut(),
    }
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Put => "PUT",
        HttpMethod::Post => "POST",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}

/// `true` for a non-empty string without whitespace or control characters.
fn is_url_like(url: &str) -> bool {
    !url.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Why [`OpenApiSecurity::secure`] could not mark an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecureError {
    /// The document has no operation for this path and method.
    UnknownOperation {
        /// The path, as given.
        path: String,
        /// The method.
        method: &'static str,
    },
    /// A required scope is not declared in the scheme.
    UndeclaredScope(String),
}

impl fmt::Display for SecureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownOperation { path, method } => {
                write!(f, "the OpenAPI document has no operation {method} {path}")
            }
            Self::UndeclaredScope(scope) => {
                write!(
                    f,
                    "scope {scope:?} is required but not declared in the scheme"
                )
            }
        }
    }
}

impl std::error::Error for SecureError {}
