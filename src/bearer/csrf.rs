//! [`CsrfGuard`]: cross-site request forgery protection for tokens read from a cookie.
//!
//! A browser attaches cookies to requests that other sites make it send (a form
//! posted from `evil.example` to your API carries your users' cookies). A bearer token
//! in the `Authorization` header is safe from that, as no other site can set the
//! header; a token in a cookie is not. With a cookie source
//! ([`TokenSources::with_cookie`](crate::TokenSources::with_cookie)), add
//! [`TokenSources::with_csrf_guard`](crate::TokenSources::with_csrf_guard): when the
//! token came from the cookie and the method is unsafe (anything but `GET`, `HEAD`,
//! `OPTIONS`, `TRACE`), the request must come from the same origin, judged by what
//! browsers send and pages cannot forge:
//!
//! 1. an `Origin` listed with [`with_trusted_origin`](CsrfGuard::with_trusted_origin)
//!    passes;
//! 2. else, with `Sec-Fetch-Site`: `same-origin` and `none` (typed by the user) pass,
//!    anything else (`same-site`, `cross-site`) is refused;
//! 3. else, with `Origin`: it passes if its host (and port) equal the request's `Host`
//!    (or the URI authority under HTTP/2); `null` and any other origin are refused;
//! 4. else (no browser header at all: a non-browser client or a very old browser) the
//!    request passes, unless [`require_browser_headers`](CsrfGuard::require_browser_headers).
//!
//! A refusal is `400 invalid_request` ("A cookie token may not be used from another
//! site") with the bearer challenge. Tokens from other sources, and safe methods, are
//! never checked: keep `GET` handlers free of side effects. Set the cookie itself with
//! `HttpOnly; Secure; SameSite=Lax` (or `Strict`) and a `__Host-` name; the guard is
//! the second line for browsers or setups where `SameSite` does not hold (same-site
//! subdomains, old browsers).

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, Method, Uri};

use crate::error::{AuthError, ConfigError, InvalidRequest};

/// Checks that a cookie-authenticated unsafe request comes from the same origin. See
/// the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct CsrfGuard {
    trusted: Vec<Box<str>>,
    require_browser_headers: bool,
}

impl CsrfGuard {
    /// Same-origin requests only, requests without browser headers allowed.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Also accepts requests whose `Origin` is `origin` (`scheme://host[:port]`, as
    /// browsers send it, e.g. `https://app.example`), for a front end on another origin.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidUrl`] unless `origin` is `http://` or `https://` followed
    /// by a host with no path, query, user info or whitespace.
    pub fn with_trusted_origin(mut self, origin: &str) -> Result<Self, ConfigError> {
        let host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .ok_or(ConfigError::InvalidUrl("origin"))?;
        let valid = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        if !valid {
            return Err(ConfigError::InvalidUrl("origin"));
        }
        self.trusted.push(origin.to_ascii_lowercase().into());
        Ok(self)
    }

    /// Refuses unsafe cookie-authenticated requests that carry neither
    /// `Sec-Fetch-Site` nor `Origin` (every current browser sends one of them on such
    /// requests; non-browser clients should use the `Authorization` header instead).
    #[must_use]
    pub fn require_browser_headers(mut self) -> Self {
        self.require_browser_headers = true;
        self
    }

    /// Whether a request with this method, URI and headers may use a cookie token.
    ///
    /// # Errors
    ///
    /// [`InvalidRequest::CrossSiteCookie`] when it may not.
    pub fn check(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<(), AuthError> {
        if is_safe(method) || self.allows(uri, headers) {
            Ok(())
        } else {
            Err(InvalidRequest::CrossSiteCookie.into())
        }
    }

    fn allows(&self, uri: &Uri, headers: &HeaderMap) -> bool {
        let mut origins = headers.get_all(ORIGIN).iter();
        let origin = origins.next();
        if origins.next().is_some() {
            return false;
        }
        let origin = origin.map(|o| o.as_bytes());
        if let Some(origin) = origin {
            if self
                .trusted
                .iter()
                .any(|t| t.as_bytes().eq_ignore_ascii_case(origin))
            {
                return true;
            }
        }
        let mut sites = headers.get_all("sec-fetch-site").iter();
        if let Some(site) = sites.next() {
            return sites.next().is_none() && matches!(site.as_bytes(), b"same-origin" | b"none");
        }
        match origin {
            Some(origin) => same_host(origin, uri, headers),
            None => !self.require_browser_headers,
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The origin's `host[:port]` equals the request's `Host` (or URI authority).
fn same_host(origin: &[u8], uri: &Uri, headers: &HeaderMap) -> bool {
    let Some(host) = origin
        .strip_prefix(b"https://")
        .or_else(|| origin.strip_prefix(b"http://"))
    else {
        return false;
    };
    let mut hosts = headers.get_all(HOST).iter();
    let target = match (hosts.next(), hosts.next()) {
        (Some(value), None) => value.as_bytes(),
        (None, _) => match uri.authority() {
            Some(authority) => authority.as_str().as_bytes(),
            None => return false,
        },
        (Some(_), Some(_)) => return false,
    };
    !host.is_empty() && host.eq_ignore_ascii_case(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(guard: &CsrfGuard, method: Method, headers: &[(&str, &str)]) -> bool {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        guard.check(&method, &Uri::from_static("/x"), &map).is_ok()
    }

    #[test]
    fn rules() {
        let guard = CsrfGuard::new()
            .with_trusted_origin("https://app.example")
            .unwrap();
        let host = ("host", "api.example");
        assert!(check(
            &guard,
            Method::GET,
            &[("sec-fetch-site", "cross-site")]
        ));
        assert!(check(
            &guard,
            Method::POST,
            &[("sec-fetch-site", "same-origin")]
        ));
        assert!(check(&guard, Method::POST, &[("sec-fetch-site", "none")]));
        assert!(!check(
            &guard,
            Method::POST,
            &[("sec-fetch-site", "same-site")]
        ));
        assert!(!check(
            &guard,
            Method::DELETE,
            &[("sec-fetch-site", "cross-site")]
        ));
        assert!(check(
            &guard,
            Method::POST,
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://app.example")
            ]
        ));
        assert!(check(
            &guard,
            Method::POST,
            &[host, ("origin", "https://api.example")]
        ));
        assert!(!check(
            &guard,
            Method::POST,
            &[host, ("origin", "https://evil.example")]
        ));
        assert!(!check(&guard, Method::POST, &[host, ("origin", "null")]));
        assert!(!check(
            &guard,
            Method::POST,
            &[
                host,
                ("origin", "https://api.example"),
                ("origin", "https://api.example")
            ]
        ));
        assert!(check(&guard, Method::POST, &[host]));
        assert!(!check(
            &guard.require_browser_headers(),
            Method::POST,
            &[host]
        ));
        assert!(CsrfGuard::new().with_trusted_origin("app.example").is_err());
        assert!(CsrfGuard::new()
            .with_trusted_origin("https://app.example/path")
            .is_err());
    }
}
