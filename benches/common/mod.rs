//! What every bench drives its rows with: an inner service that answers at once, a
//! poll loop with no runtime, and the usual request.
#![allow(dead_code)]

use std::convert::Infallible;
use std::fmt::Debug;
use std::future::{ready, Future, Ready};
use std::hint::black_box;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Empty;
use tower::Service;

pub const SECRET: &[u8] = b"bench-secret-that-is-at-least-32-bytes-long";

pub type Req = Request<Empty<Bytes>>;

/// The innermost service of every row: answers 200 at once.
#[derive(Clone, Copy)]
pub struct Ok200;

impl Service<Req> for Ok200 {
    type Response = Response<Empty<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        black_box(request.extensions().len());
        ready(Ok(Response::new(Empty::new())))
    }
}

/// `poll_ready`, `call`, and poll the response future until ready, with a no-op waker.
pub fn call_now<S, B>(service: &mut S, request: Req) -> StatusCode
where
    S: Service<Req, Response = Response<B>>,
    S::Error: Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    match service.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        _ => panic!("service not ready"),
    }
    let mut future = std::pin::pin!(service.call(request));
    loop {
        if let Poll::Ready(response) = future.as_mut().poll(&mut cx) {
            return response.expect("service error").status();
        }
    }
}

/// A bodiless request, with this `Authorization` value if any.
pub fn request(authorization: Option<&HeaderValue>) -> Req {
    let mut request = Request::new(Empty::new());
    if let Some(value) = authorization {
        request.headers_mut().insert(AUTHORIZATION, value.clone());
    }
    request
}

/// `Bearer <token>`.
pub fn bearer(token: &str) -> HeaderValue {
    HeaderValue::try_from(format!("Bearer {token}")).unwrap()
}

pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}
