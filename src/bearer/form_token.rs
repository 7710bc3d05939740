//! [`FormTokenLayer`]: the `access_token` form-body parameter (RFC 6750 §2.2), opt-in.
//!
//! Reading a token from the body means buffering it, so this is a layer of its own, put
//! **outside** the [`BearerAuthLayer`](crate::BearerAuthLayer). It only touches requests
//! that RFC 6750 §2.2 allows to carry a form token: `POST`, `PUT` or `PATCH` with
//! `content-type: application/x-www-form-urlencoded`. Their body is read up to a limit
//! (default [`DEFAULT_FORM_LIMIT`]; over it: `413`), the `access_token` parameter is
//! handed to the bearer layer, and the inner service gets the buffered body. Every other
//! request, and its body, passes untouched. The bearer layer treats the form as one more
//! place: a token there and in a header is `400 invalid_request`.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_bearer::{BearerAuthLayer, Claims, FormTokenLayer, JwtValidator};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = ServiceBuilder::new()
//!     .layer(FormTokenLayer::new())
//!     .layer(BearerAuthLayer::new(JwtValidator::<Claims>::hs256(b"a-secret-of-at-least-32-bytes!!!")?))
//!     .service(service_fn(|_req: Request<_>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default()))
//!     }));
//!
//! let request = Request::post("/")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(Full::new(Bytes::from("access_token=not.a.jwt")))?;
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED); // read, and refused
//! # Ok(())
//! # }
//! ```

use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Collected, Either, Full, LengthLimitError, Limited};
use tower_layer::Layer;
use tower_service::Service;

use crate::bearer::body::AuthBody;
use crate::bearer::extract::ACCESS_TOKEN_PARAM;
use crate::bearer::future::{Reading, ResponseFuture};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Default limit on a buffered form body: 16 KiB.
pub const DEFAULT_FORM_LIMIT: usize = 16 * 1024;

/// The request body the inner service gets: the original one (`Either::Left`), or the
/// buffered form (`Either::Right`).
pub(crate) type FormBody<B> = Either<B, Full<Bytes>>;

/// What the form body carried, for the bearer layer (never settable by a client).
#[derive(Debug, Clone)]
pub(crate) enum FormBodyToken {
    One(Box<str>),
    Duplicate,
}

/// Applies [`FormToken`]. See the [module docs](crate::bearer::form_token).
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct FormTokenLayer {
    limit: usize,
}

impl Default for FormTokenLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl FormTokenLayer {
    /// Reads form tokens from bodies of up to [`DEFAULT_FORM_LIMIT`] bytes.
    pub const fn new() -> Self {
        Self {
            limit: DEFAULT_FORM_LIMIT,
        }
    }

    /// Sets the largest form body read (larger ones are refused with `413`).
    pub const fn with_limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }
}

impl<S> Layer<S> for FormTokenLayer {
    type Service = FormToken<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FormToken {
            inner,
            limit: self.limit,
        }
    }
}

/// Middleware that reads the `access_token` form parameter. Built by
/// [`FormTokenLayer`].
///
/// The inner service gets `Request<http_body_util::Either<B, Full<Bytes>>>`: the
/// original body `B` untouched (`Left`), or the buffered form (`Right`).
#[derive(Debug, Clone)]
pub struct FormToken<S> {
    inner: S,
    limit: usize,
}

impl<S> FormToken<S> {
    inner_service_accessors!();
}

impl<S, B, ResBody> Service<Request<B>> for FormToken<S>
where
    S: Service<Request<FormBody<B>>, Response = Response<ResBody>> + Clone,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, Reading<S, B>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if !may_carry_form_token(&request) {
            return ResponseFuture::inner(self.inner.call(request.map(Either::Left)));
        }
        // Take the service that was polled ready; leave a fresh clone behind.
        let clone = self.inner.clone();
        let service = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = request.into_parts();
        ResponseFuture::waiting(Reading::new(
            Limited::new(body, self.limit).collect(),
            service,
            parts,
        ))
    }
}

/// RFC 6750 §2.2: a urlencoded body, on a method whose body has defined semantics.
fn may_carry_form_token<B>(request: &Request<B>) -> bool {
    let method = request.method();
    if method != Method::POST && method != Method::PUT && method != Method::PATCH {
        return false;
    }
    request.headers().get(CONTENT_TYPE).is_some_and(|value| {
        let essence = value
            .as_bytes()
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default();
        essence
            .trim_ascii()
            .eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
    })
}

fn form_token(body: &[u8]) -> Option<FormBodyToken> {
    let mut found = None;
    for (name, value) in form_urlencoded::parse(body) {
        if name != ACCESS_TOKEN_PARAM || value.is_empty() {
            continue;
        }
        if found.is_some() {
            return Some(FormBodyToken::Duplicate);
        }
        found = Some(FormBodyToken::One(value.into()));
    }
    found
}

fn refusal(status: StatusCode, description: &'static str) -> Response<Bytes> {
    let mut response = Response::new(crate::json_error::error_body(
        "invalid_request",
        description,
        None,
    ));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The request the inner service gets once the body is read, or the refusal: `413`
/// over the limit, `400` for a body that could not be read.
pub(crate) fn read_form<B>(
    read: Result<Collected<Bytes>, BoxError>,
    mut parts: Parts,
) -> Result<Request<FormBody<B>>, Response<Bytes>> {
    match read {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            if let Some(token) = form_token(&bytes) {
                parts.extensions.insert(token);
            }
            Ok(Request::from_parts(parts, Either::Right(Full::new(bytes))))
        }
        Err(error) => Err(if error.downcast_ref::<LengthLimitError>().is_some() {
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large",
            )
        } else {
            refusal(
                StatusCode::BAD_REQUEST,
                "The request body could not be read",
            )
        }),
    }
}
