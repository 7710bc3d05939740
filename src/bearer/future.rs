use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{reject, SharedSettings};
use crate::bearer::body::AuthBody;
use crate::bearer::rejection::OnRejection;
use crate::error::AuthError;
use crate::validate::TokenValidator;

pin_project! {
    /// Response future of [`BearerAuth`](super::BearerAuth).
    pub struct ResponseFuture<S, B, V, R>
    where
        S: Service<Request<B>>,
        V: TokenValidator,
    {
        #[pin]
        kind: Kind<S, B, V, R>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, B, V, R>
    where
        S: Service<Request<B>>,
        V: TokenValidator,
    {
        Inner {
            #[pin]
            future: S::Future,
        },
        // Boxed: only validators that wait (a key refresh, a store lookup) get here,
        // and inline it would make every future as large as a request plus claims,
        // moved on every call.
        Validating {
            pending: Pin<Box<Pending<V::Future, S, B, R>>>,
        },
        // DPoP requests and bearer requests on a DPoP layer: validation, key binding and
        // the replay store, in one boxed future.
        Checking {
            pending: Pin<Box<Pending<Checks<V::Claims>, S, B, R>>>,
        },
        Rejected {
            response: Option<Response<Bytes>>,
        },
    }
}

pin_project! {
    // What an asynchronous validation holds until it is decided.
    struct Pending<F, S, B, R> {
        #[pin]
        validation: F,
        waiting: Option<Waiting<S, B, R>>,
    }
}

/// What the DPoP checks of a request wait for.
pub(super) type Checks<C> = Pin<Box<dyn Future<Output = Result<C, AuthError>> + Send>>;

struct Waiting<S, B, R> {
    service: S,
    request: Request<B>,
    on_rejection: R,
    settings: SharedSettings,
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl<S, B, V, R> ResponseFuture<S, B, V, R>
where
    S: Service<Request<B>>,
    V: TokenValidator,
{
    pub(super) fn inner(future: S::Future) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(super) fn rejected(response: Response<Bytes>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    pub(super) fn validating(
        validation: V::Future,
        service: S,
        request: Request<B>,
        on_rejection: R,
        settings: SharedSettings,
        #[cfg(feature = "metrics")] started: std::time::Instant,
    ) -> Self {
        Self {
            kind: Kind::Validating {
                pending: Box::pin(Pending {
                    validation,
                    waiting: Some(Waiting {
                        service,
                        request,
                        on_rejection,
                        settings,
                        #[cfg(feature = "metrics")]
                        started,
                    }),
                }),
            },
        }
    }
}

impl<S, B, V, R> ResponseFuture<S, B, V, R>
where
    S: Service<Request<B>>,
    V: TokenValidator,
{
    pub(super) fn checking(
        checks: Checks<V::Claims>,
        service: S,
        request: Request<B>,
        on_rejection: R,
        settings: SharedSettings,
    ) -> Self {
        Self {
            kind: Kind::Checking {
                pending: Box::pin(Pending {
                    validation: checks,
                    waiting: Some(Waiting {
                        service,
                        request,
                        on_rejection,
                        settings,
                        #[cfg(feature = "metrics")]
                        started: std::time::Instant::now(),
                    }),
                }),
            },
        }
    }
}

/// What a decided validation leads to.
enum Decided<F> {
    Call(F),
    Reject(Response<Bytes>),
}

impl<F, S, B, R, C> Pending<F, S, B, R>
where
    F: Future<Output = Result<C, AuthError>>,
    C: Clone + Send + Sync + 'static,
    S: Service<Request<B>>,
    R: OnRejection,
{
    fn poll_decided(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Decided<S::Future>> {
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
                Decided::Call(service.call(request))
            }
            Err(error) => Decided::Reject(reject(
                &on_rejection,
                error,
                request.headers(),
                &settings.challenge,
            )),
        })
    }
}

impl<S, B, V, R, ResBody> Future for ResponseFuture<S, B, V, R>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    V: TokenValidator,
    R: OnRejection,
{
    type Output = Result<Response<AuthBody<ResBody>>, S::Error>;

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
                KindProj::Validating { pending } => {
                    let next = ready!(pending.as_mut().poll_decided(cx));
                    this.kind.set(next.into());
                }
                KindProj::Checking { pending } => {
                    let next = ready!(pending.as_mut().poll_decided(cx));
                    this.kind.set(next.into());
                }
            }
        }
    }
}

impl<S, B, V, R> From<Decided<S::Future>> for Kind<S, B, V, R>
where
    S: Service<Request<B>>,
    V: TokenValidator,
{
    fn from(decided: Decided<S::Future>) -> Self {
        match decided {
            Decided::Call(future) => Kind::Inner { future },
            Decided::Reject(response) => Kind::Rejected {
                response: Some(response),
            },
        }
    }
}
