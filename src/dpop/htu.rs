//! Comparing a proof's `htu` with the request's URI (RFC 9449 §4.3 check 9): both are
//! brought to one form by RFC 3986's syntax-based (§6.2.2) and scheme-based (§6.2.3)
//! normalisation, without query and fragment.

/// Normalises an absolute `http`/`https` URI for comparison: scheme and host lowercased,
/// the default port dropped, percent-encodings uppercased and unreserved ones decoded,
/// dot segments removed, an empty path made `/`, and any query or fragment dropped.
///
/// `None` for anything else: another scheme, no host, user information (`user@host`),
/// a malformed port or percent-encoding, characters outside RFC 3986.
///
/// ```
/// use tower_bearer::dpop::normalize_htu;
///
/// assert_eq!(
///     normalize_htu("HTTPS://API.Example.com:443/a/./b/../%7euser?x=1#f").as_deref(),
///     Some("https://api.example.com/a/~user"),
/// );
/// assert_eq!(normalize_htu("http://example.com").as_deref(), Some("http://example.com/"));
/// assert_eq!(normalize_htu("ftp://example.com/"), None);
/// ```
#[must_use]
pub fn normalize_htu(uri: &str) -> Option<String> {
    // Query and fragment are not compared.
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    if !uri.bytes().all(is_uri_byte) {
        return None;
    }
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return None;
    }
    let (host, port) = split_port(authority)?;
    if host.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(uri.len() + 1);
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&normalize_percent(&host.to_ascii_lowercase())?);
    match port {
        Some(port) if port != default_port => {
            out.push(':');
            out.push_str(port);
        }
        _ => {}
    }
    let path = normalize_percent(path)?;
    let path = remove_dot_segments(&path);
    if path.is_empty() {
        out.push('/');
    } else {
        out.push_str(&path);
    }
    Some(out)
}

/// Normalises a request path (`/a/b`) the way [`normalize_htu`] normalises a URI's path.
pub(crate) fn normalize_path(path: &str) -> Option<String> {
    if !path.bytes().all(is_uri_byte) {
        return None;
    }
    let path = remove_dot_segments(&normalize_percent(path)?);
    Some(if path.is_empty() {
        "/".to_owned()
    } else {
        path
    })
}

/// Host and port (without leading zeros; `None` when absent or empty).
fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if authority.starts_with('[') {
        // An IP literal: the port follows the closing bracket.
        let close = authority.find(']')?;
        let (host, rest) = authority.split_at(close + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    match port {
        None | Some("") => Some((host, None)),
        Some(port) => {
            if port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let trimmed = port.trim_start_matches('0');
            Some((host, Some(if trimmed.is_empty() { "0" } else { trimmed })))
        }
    }
}

/// Uppercases percent-encodings and decodes those of unreserved characters.
fn normalize_percent(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
                out.push(value as char);
            } else {
                out.push('%');
                out.push(hex[0].to_ascii_uppercase() as char);
                out.push(hex[1].to_ascii_uppercase() as char);
            }
            i += 3;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    Some(out)
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let mut input = path;
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest;
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = &input[3..];
            output.pop();
        } else if input == "/.." {
            input = "/";
            output.pop();
        } else if input == "." || input == ".." {
            input = "";
        } else {
            // The first segment, with its leading slash, up to the next slash.
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push(&input[..end]);
            input = &input[end..];
        }
    }
    output.concat()
}

/// RFC 3986 `unreserved / reserved / "%"`.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_equivalents_ok() {
        let same = [
            (
                "https://server.example.com/token",
                "https://server.example.com/token",
            ),
            (
                "HTTPS://Server.EXAMPLE.com:443/token",
                "https://server.example.com/token",
            ),
            (
                "https://server.example.com:0443/token",
                "https://server.example.com/token",
            ),
            ("http://server.example.com:80", "http://server.example.com/"),
            ("http://server.example.com:", "http://server.example.com/"),
            (
                "http://127.0.0.1:8000/a/b/../c/./d",
                "http://127.0.0.1:8000/a/c/d",
            ),
            ("http://h/%7Euser/%2f/%41", "http://h/~user/%2F/A"),
            ("http://h/p?query=1#fragment", "http://h/p"),
            ("http://[::1]:8080/x", "http://[::1]:8080/x"),
            ("http://[::1]:80/x", "http://[::1]/x"),
        ];
        for (given, normal) in same {
            assert_eq!(normalize_htu(given).as_deref(), Some(normal), "{given}");
        }
    }

    #[test]
    fn normalization_keeps_differences_ok() {
        let differ = [
            ("http://h/token", "https://h/token"),
            ("http://h:8000/token", "http://h:8001/token"),
            ("http://h/token", "http://h/Token"),
            ("http://h/token", "http://h/token/"),
            ("http://h/%2F", "http://h//"),
        ];
        for (a, b) in differ {
            assert_ne!(normalize_htu(a), normalize_htu(b), "{a} vs {b}");
        }
    }

    #[test]
    fn unusable_uris_fail() {
        for bad in [
            "",
            "/token",
            "ftp://h/x",
            "http:///x",
            "http://user@h/x",
            "http://h:99999999/x",
            "http://h:8a/x",
            "http://h/%zz",
            "http://h/%4",
            "http://h/a b",
            "http://h/\u{e9}",
            "http://[::1/x",
        ] {
            assert_eq!(normalize_htu(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn paths_ok() {
        assert_eq!(normalize_path("/a/./b/../c").as_deref(), Some("/a/c"));
        assert_eq!(normalize_path("").as_deref(), Some("/"));
        assert_eq!(normalize_path("/%7e").as_deref(), Some("/~"));
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
    }
}
