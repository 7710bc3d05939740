//! `tracing` events (feature `tracing`): the reason and the subject, never the token.
#![cfg(feature = "tracing")]

mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::*;
use http::{Request, Response};
use http_body_util::Full;
use serde_json::json;
use tower::{service_fn, Layer, ServiceExt};
use tower_bearer::{BearerAuthLayer, Claims, JwtValidator};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Writes every event's fields, one line per event.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut out = self.0.lock().unwrap();
        let _ = write!(out, "{} ", event.metadata().level());
        event.record(&mut Line(&mut out));
        out.push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Runs requests with `Authorization: Bearer <token>` (or none) through the layer and
/// returns what was logged.
fn logged(tokens: &[Option<&str>], optional: bool) -> String {
    let capture = Capture::default();
    let output = Arc::clone(&capture.0);
    tracing::subscriber::with_default(capture, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut layer = BearerAuthLayer::new(JwtValidator::<Claims>::hs256(SECRET).unwrap());
            if optional {
                layer = layer.optional();
            }
            let service = layer.layer(service_fn(|_: Request<()>| async {
                Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default()))
            }));
            for token in tokens {
                let mut request = Request::new(());
                if let Some(token) = token {
                    request
                        .headers_mut()
                        .insert("authorization", format!("Bearer {token}").parse().unwrap());
                }
                service.clone().oneshot(request).await.unwrap();
            }
        });
    });
    let text = output.lock().unwrap().clone();
    text
}

#[test]
fn accept_logs_subject_not_token() {
    let token = hs256(&json!({ "sub": "alice", "exp": now() + 600 }));
    let out = logged(&[Some(&token)], false);
    assert!(out.contains("bearer token accepted"), "{out}");
    assert!(out.contains("sub=\"alice\""), "{out}");
    assert!(!out.contains(&token), "{out}");
    // No part of the token either (its signature is the secret-derived part).
    let signature = token.rsplit('.').next().unwrap();
    assert!(!out.contains(signature), "{out}");
}

#[test]
fn reject_logs_reason_not_token() {
    let expired = hs256(&json!({ "sub": "alice", "exp": now() - 3600 }));
    let forged = raw_hs256(
        r#"{"alg":"HS256"}"#,
        r#"{"sub":"mallory","exp":9999999999}"#,
        b"not-the-secret-but-32-bytes-long!!",
    );
    let out = logged(&[Some(&expired), Some(&forged), None], false);
    assert!(
        out.contains("invalid_token: The access token expired"),
        "{out}"
    );
    assert!(
        out.contains("invalid_token: The token signature is invalid"),
        "{out}"
    );
    assert!(out.contains("unauthorized: Bearer token required"), "{out}");
    assert!(out.contains("bearer request refused"), "{out}");
    for token in [&expired, &forged] {
        assert!(!out.contains(token.as_str()), "{out}");
        assert!(!out.contains(token.rsplit('.').next().unwrap()), "{out}");
    }
    // A refused token's claims are not trusted, so its subject is not logged.
    assert!(!out.contains("mallory"), "{out}");
    assert!(
        !out.contains("DEBUG message=\"bearer token accepted\""),
        "{out}"
    );
}

#[test]
fn anonymous_pass_logged() {
    let out = logged(&[None], true);
    assert!(out.contains("passing on as anonymous"), "{out}");
}
