//! The one JSON error body every refusal of this crate carries:
//! `{"error": code, "error_description": description}` (RFC 6749 §5.2 and its bearer
//! counterpart, RFC 6750 §3), plus `scope` for insufficient-scope refusals.

use bytes::Bytes;

/// The body, keys in the order `serde_json::Value` sorts them, strings escaped by
/// serde_json; written directly, in one allocation.
pub(crate) fn error_body(code: &str, description: &str, scope: Option<&str>) -> Bytes {
    let mut body =
        Vec::with_capacity(40 + code.len() + description.len() + scope.map_or(0, |s| s.len() + 12));
    body.extend_from_slice(br#"{"error":"#);
    push_json_str(&mut body, code);
    body.extend_from_slice(br#","error_description":"#);
    push_json_str(&mut body, description);
    if let Some(scope) = scope {
        body.extend_from_slice(br#","scope":"#);
        push_json_str(&mut body, scope);
    }
    body.push(b'}');
    Bytes::from(body)
}

fn push_json_str(out: &mut Vec<u8>, text: &str) {
    // Writing a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests {
    use super::error_body;

    #[test]
    fn same_as_serde_json_value() {
        for (code, description, scope) in [
            ("invalid_request", "plain", None),
            ("invalid_token", "quote \" backslash \\ newline \n é", None),
            ("insufficient_scope", "needs more", Some("me items")),
        ] {
            let mut expected =
                serde_json::json!({ "error": code, "error_description": description });
            if let Some(scope) = scope {
                expected["scope"] = scope.into();
            }
            let body = error_body(code, description, scope);
            assert_eq!(body, expected.to_string());
            let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(parsed, expected);
        }
    }
}
