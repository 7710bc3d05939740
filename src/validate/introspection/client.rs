//! The HTTP side of introspection: the [`IntrospectionClient`] trait that sends the
//! request, and why it may get no answer.

use std::fmt;
use std::future::Future;

use bytes::Bytes;
use http::{Request, Response};

/// Why an [`IntrospectionClient`] got no response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// No complete answer within the time limit.
    Timeout,
    /// The body is longer than the bound.
    TooLarge,
    /// Connecting, sending or receiving failed; the text is for logs.
    Transport(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timed out"),
            Self::TooLarge => f.write_str("response too large"),
            Self::Transport(why) => write!(f, "transport error: {why}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Sends the introspection request: the HTTP client behind an
/// [`IntrospectionValidator`](super::IntrospectionValidator).
///
/// The validator builds the whole request (method, URL, `Authorization`, form body);
/// the client sends it as is, follows no redirect, and reads at most `max_len` bytes
/// of the response body. Implement it over the client your application already has
/// (TLS, proxies); with the `jwks` feature, [`HttpIntrospectionClient`](crate::validate::HttpIntrospectionClient)
/// is a plain-HTTP default over hyper-util.
pub trait IntrospectionClient: Send + Sync + 'static {
    /// Sends `request`, returning the response with its body read.
    fn send(
        &self,
        request: Request<Bytes>,
        max_len: usize,
    ) -> impl Future<Output = Result<Response<Bytes>, ClientError>> + Send;
}

#[cfg(feature = "jwks")]
pub(super) type DefaultClient = crate::validate::HttpIntrospectionClient;
#[cfg(not(feature = "jwks"))]
pub(super) type DefaultClient = NoClient;

/// Placeholder default client type when the `jwks` feature (hyper-util) is off: bring
/// your own [`IntrospectionClient`].
#[cfg(not(feature = "jwks"))]
#[derive(Debug, Clone, Copy)]
pub struct NoClient;

#[cfg(not(feature = "jwks"))]
impl IntrospectionClient for NoClient {
    async fn send(&self, _: Request<Bytes>, _: usize) -> Result<Response<Bytes>, ClientError> {
        Err(ClientError::Transport("no HTTP client configured".into()))
    }
}
