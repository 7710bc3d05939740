//! [`InvalidRequest`]: why a request is malformed.

/// Why a request is malformed (`400 invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// More than one `Authorization` header.
    DuplicateAuthorizationHeader,
    /// The token was sent in more than one place (RFC 6750 §2: one method per request).
    MultipleTokenSources,
    /// A configured token header or cookie appears more than once.
    DuplicateTokenParameter,
    /// The path is not in canonical form (`//`, a trailing `/`, a dot segment, or a
    /// percent-encoded unreserved character, `/` or `\`); see
    /// [`PathScopes`](crate::PathScopes).
    NonCanonicalPath,
    /// A token from a cookie came with an unsafe method from another site; see
    /// [`TokenSources::with_csrf_guard`](crate::TokenSources::with_csrf_guard).
    CrossSiteCookie,
}

impl InvalidRequest {
    /// The fixed `error_description` for this reason.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::DuplicateAuthorizationHeader => "More than one Authorization header",
            Self::MultipleTokenSources => "The access token was sent in more than one place",
            Self::DuplicateTokenParameter => "The access token parameter appears more than once",
            Self::NonCanonicalPath => "The request path is not in canonical form",
            Self::CrossSiteCookie => "A cookie token may not be used from another site",
        }
    }
}
