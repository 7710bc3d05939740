//! [`ResponseFuture`]: the one response future of the bearer layer, the guard and the
//! form-token layer, and the states a request may wait in before it is decided.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::Response;
use pin_project_lite::pin_project;

use crate::bearer::body::AuthBody;

pin_project! {
    /// Response future of [`BearerAuth`](super::BearerAuth), [`Guard`](crate::Guard)
    /// and [`FormToken`](super::FormToken): the inner service's future, a ready
    /// rejection, or a request still waiting (for an asynchronous validation, a check
    /// that waits, a form body) before it becomes one of those.
    ///
    /// `F` is the inner service's future; `W` is the middleware's own waiting state.
    pub struct ResponseFuture<F, W> {
        #[pin]
        kind: Kind<F, W>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, W> {
        Inner {
            #[pin]
            future: F,
        },
        Waiting {
            #[pin]
            waiting: W,
        },
        Rejected {
            response: Option<Response<Bytes>>,
        },
    }
}

impl<F, W> ResponseFuture<F, W> {
    /// The inner service's future.
    pub(crate) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    /// A ready rejection.
    pub(crate) fn rejected(response: Response<Bytes>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    /// A request waiting in `waiting`.
    pub(crate) fn waiting(waiting: W) -> Self {
        Self {
            kind: Kind::Waiting { waiting },
        }
    }
}

impl<F, W> fmt::Debug for ResponseFuture<F, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, W, ResBody, E> Future for ResponseFuture<F, W>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    W: Future<Output = Result<Step<F, ResBody>, E>>,
{
    type Output = Result<Response<AuthBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.kind.as_mut().project() {
                KindProj::Inner { future } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(response.map(AuthBody::inner)));
                }
                KindProj::Rejected { response } => {
                    let response = response.take().expect("polled after completion");
                    return Poll::Ready(Ok(response.map(AuthBody::rejection)));
                }
                KindProj::Waiting { waiting } => match ready!(waiting.poll(cx))? {
                    Step::Call(future) => this.kind.set(Kind::Inner { future }),
                    Step::Reject(response) => {
                        return Poll::Ready(Ok(response.map(AuthBody::rejection)))
                    }
                    Step::Done(response) => return Poll::Ready(Ok(response.map(AuthBody::inner))),
                },
            }
        }
    }
}

/// What a waiting request leads to. Public in name only (the waiting states' futures
/// yield it); nothing outside the crate can reach it.
#[allow(unreachable_pub)]
pub enum Step<F, T> {
    /// The inner service was called: wait for its future.
    Call(F),
    /// Refused.
    Reject(Response<Bytes>),
    /// The inner service's response.
    Done(Response<T>),
}

impl<F, T> fmt::Debug for Step<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Call(_) => "Call",
            Self::Reject(_) => "Reject",
            Self::Done(_) => "Done",
        })
    }
}

pub(crate) use states::{Checks, GuardWaiting, Reading, Refusal, Validating, Waiting};

/// The waiting states. Public in name only: a service's `Future` type names them, and
/// nothing outside the crate can reach them.
#[allow(unreachable_pub)]
mod states {
    use std::future::Future;
    use std::marker::PhantomData;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{ready, Context, Poll};

    use bytes::Bytes;
    use http::request::Parts;
    use http::{HeaderMap, Request, Response};
    use http_body::Body;
    use http_body_util::combinators::Collect;
    use http_body_util::Limited;
    use pin_project_lite::pin_project;
    use tower_service::Service;

    use super::Step;
    use crate::bearer::challenge::Challenge;
    use crate::bearer::form_token::{read_form, BoxError, FormBody};
    use crate::bearer::rejection::OnRejection;
    use crate::bearer::{reject, SharedSettings};
    use crate::error::AuthError;
    use crate::validate::TokenValidator;

    /// What the DPoP checks of a request wait for.
    pub type Checks<C> = Pin<Box<dyn Future<Output = Result<C, AuthError>> + Send>>;

    /// A pending validation, boxed.
    type Boxed<F, S, B, R> = Pin<Box<Pending<F, S, B, R>>>;

    /// The bearer layer's waiting request: an asynchronous validation, or the DPoP
    /// checks. Boxed: only validators that wait (a key refresh, a store lookup) and
    /// DPoP requests get here, and inline it would make every future as large as a
    /// request plus claims, moved on every call.
    pub enum Validating<S, B, V, R>
    where
        S: Service<Request<B>>,
        V: TokenValidator,
    {
        Validation(Boxed<V::Future, S, B, R>),
        Checks(Boxed<Checks<V::Claims>, S, B, R>),
    }

    impl<S, B, V, R> std::fmt::Debug for Validating<S, B, V, R>
    where
        S: Service<Request<B>>,
        V: TokenValidator,
    {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Validating").finish_non_exhaustive()
        }
    }

    impl<S, B, V, R> Validating<S, B, V, R>
    where
        S: Service<Request<B>>,
        V: TokenValidator,
    {
        pub(crate) fn validation(validation: V::Future, waiting: Waiting<S, B, R>) -> Self {
            Self::Validation(Box::pin(Pending {
                validation,
                waiting: Some(waiting),
            }))
        }

        pub(crate) fn checks(checks: Checks<V::Claims>, waiting: Waiting<S, B, R>) -> Self {
            Self::Checks(Box::pin(Pending {
                validation: checks,
                waiting: Some(waiting),
            }))
        }
    }

    impl<S, B, V, R, ResBody> Future for Validating<S, B, V, R>
    where
        S: Service<Request<B>, Response = Response<ResBody>>,
        V: TokenValidator,
        R: OnRejection,
    {
        type Output = Result<Step<S::Future, ResBody>, S::Error>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            // Every variant is a pinned box: `Validating` is `Unpin`.
            Poll::Ready(Ok(match self.get_mut() {
                Self::Validation(pending) => ready!(pending.as_mut().poll_decided(cx)),
                Self::Checks(pending) => ready!(pending.as_mut().poll_decided(cx)),
            }))
        }
    }

    pin_project! {
        // What an asynchronous validation holds until it is decided.
        pub struct Pending<F, S, B, R> {
            #[pin]
            validation: F,
            waiting: Option<Waiting<S, B, R>>,
        }
    }

    /// What a waiting bearer request calls the inner service with, or is refused by.
    pub struct Waiting<S, B, R> {
        service: S,
        request: Request<B>,
        on_rejection: R,
        settings: SharedSettings,
        #[cfg(feature = "metrics")]
        started: std::time::Instant,
    }

    impl<S, B, R> Waiting<S, B, R> {
        pub(crate) fn new(
            service: S,
            request: Request<B>,
            on_rejection: R,
            settings: SharedSettings,
            #[cfg(feature = "metrics")] started: std::time::Instant,
        ) -> Self {
            Self {
                service,
                request,
                on_rejection,
                settings,
                #[cfg(feature = "metrics")]
                started,
            }
        }
    }

    impl<F, S, B, R, C> Pending<F, S, B, R>
    where
        F: Future<Output = Result<C, AuthError>>,
        C: Clone + Send + Sync + 'static,
        S: Service<Request<B>>,
        R: OnRejection,
    {
        fn poll_decided<T>(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Step<S::Future, T>> {
            let pending = self.project();
            let outcome = ready!(pending.validation.poll(cx));
            let Waiting {
                mut service,
                mut request,
                on_rejection,
                settings,
                #[cfg(feature = "metrics")]
                started,
            } = pending.waiting.take().expect("polled after completion");
            #[cfg(feature = "metrics")]
            crate::metrics::validated(started);
            Poll::Ready(match outcome {
                Ok(claims) => {
                    #[cfg(feature = "tracing")]
                    tracing::trace!("bearer request accepted");
                    #[cfg(feature = "metrics")]
                    crate::metrics::accepted();
                    request.extensions_mut().insert(claims);
                    Step::Call(service.call(request))
                }
                Err(error) => Step::Reject(reject(
                    &on_rejection,
                    error,
                    request.headers(),
                    &settings.challenge,
                )),
            })
        }
    }

    /// How a waiting check's refusal is answered.
    pub struct Refusal<R> {
        pub(crate) on_rejection: R,
        pub(crate) challenge: Arc<Challenge>,
    }

    pin_project! {
        /// A guard's check that waits (`W`), then its refusal.
        pub struct GuardWaiting<F, W, R> {
            #[pin]
            future: W,
            refusal: Option<Refusal<R>>,
            inner: PhantomData<fn() -> F>,
        }
    }

    impl<F, W, R> GuardWaiting<F, W, R> {
        pub(crate) fn new(future: W, refusal: Refusal<R>) -> Self {
            Self {
                future,
                refusal: Some(refusal),
                inner: PhantomData,
            }
        }
    }

    impl<F, W, R, ResBody, E> Future for GuardWaiting<F, W, R>
    where
        W: Future<Output = Result<Result<Response<ResBody>, (AuthError, HeaderMap)>, E>>,
        R: OnRejection,
    {
        type Output = Result<Step<F, ResBody>, E>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let this = self.project();
            Poll::Ready(Ok(match ready!(this.future.poll(cx))? {
                Ok(response) => Step::Done(response),
                Err((error, headers)) => {
                    let refusal = this.refusal.take().expect("polled after completion");
                    Step::Reject(reject(
                        &refusal.on_rejection,
                        error,
                        &headers,
                        &refusal.challenge,
                    ))
                }
            }))
        }
    }

    pin_project! {
        /// The form-token layer reading a form body, then calling the inner service.
        pub struct Reading<S, B>
        where
            B: Body,
            B::Error: Into<BoxError>,
        {
            #[pin]
            collect: Collect<Limited<B>>,
            waiting: Option<(S, Parts)>,
        }
    }

    impl<S, B> Reading<S, B>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        pub(crate) fn new(collect: Collect<Limited<B>>, service: S, parts: Parts) -> Self {
            Self {
                collect,
                waiting: Some((service, parts)),
            }
        }
    }

    impl<S, B, ResBody> Future for Reading<S, B>
    where
        S: Service<Request<FormBody<B>>, Response = Response<ResBody>>,
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        type Output = Result<Step<S::Future, ResBody>, S::Error>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let this = self.project();
            let read = ready!(this.collect.poll(cx));
            let (mut service, parts) = this.waiting.take().expect("polled after completion");
            Poll::Ready(Ok(match read_form(read, parts) {
                Ok(request) => Step::Call(service.call(request)),
                Err(response) => Step::Reject(response),
            }))
        }
    }
}
