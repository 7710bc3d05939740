//! The one `Service` implementation of the authorization server's endpoints (token,
//! revocation, introspection): `POST` only, anything else `405` with `Allow: POST`,
//! answered at once; a `POST` is answered by the endpoint's boxed future.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body_util::Full;

/// `impl Service<Request<B>>` for `$endpoint<$param>` (with `where` bounds `$bound`):
/// `Response<Full<Bytes>>`, never an error, always ready, [`ResponseFuture`] as future.
/// `$answer` turns `$this: &Self` and the `POST` `$request` into a `Send + 'static`
/// future of the response.
///
/// [`ResponseFuture`]: super::ResponseFuture
macro_rules! post_only_service {
    (
        $endpoint:ident<$param:ident> where [$($bound:tt)*],
        |$this:ident, $request:ident| $answer:expr
    ) => {
        impl<$param, B> tower_service::Service<http::Request<B>> for $endpoint<$param>
        where
            $($bound)*
            B: http_body::Body + Send + 'static,
            B::Data: Send,
        {
            type Response = http::Response<http_body_util::Full<bytes::Bytes>>;
            type Error = std::convert::Infallible;
            type Future = $crate::token_endpoint::ResponseFuture;

            fn poll_ready(
                &mut self,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), std::convert::Infallible>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn call(&mut self, $request: http::Request<B>) -> Self::Future {
                use $crate::token_endpoint::{ResponseFuture, TokenError};
                if $request.method() != http::Method::POST {
                    return ResponseFuture::ready(TokenError::MethodNotAllowed.into_response());
                }
                let $this = &*self;
                ResponseFuture::pending($answer)
            }
        }
    };
}

/// Response future of [`TokenEndpoint`](super::TokenEndpoint),
/// [`RevocationEndpoint`](super::RevocationEndpoint) and
/// [`IntrospectionEndpoint`](super::IntrospectionEndpoint): ready for refusals decided
/// from the request line, else the boxed answer (Argon2 or a store round trip dominates
/// its cost, not the box).
pub struct ResponseFuture {
    kind: Kind,
}

enum Kind {
    Ready(Option<Response<Full<Bytes>>>),
    Pending(Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>),
}

impl ResponseFuture {
    pub(crate) fn pending(
        future: impl Future<Output = Response<Full<Bytes>>> + Send + 'static,
    ) -> Self {
        Self {
            kind: Kind::Pending(Box::pin(future)),
        }
    }

    pub(crate) fn ready(response: Response<Full<Bytes>>) -> Self {
        Self {
            kind: Kind::Ready(Some(response)),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Full<Bytes>>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.kind {
            Kind::Ready(response) => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
            Kind::Pending(future) => future.as_mut().poll(cx).map(Ok),
        }
    }
}
