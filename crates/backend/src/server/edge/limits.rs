//! Per-request limits, as one layer of the router's middleware stack:
//!
//! * the handler deadline, `BACKEND_HTTP_WRITE_TIMEOUT`: a response not
//!   ready in time is answered 503 `timeout`;
//! * the body size, `BACKEND_HTTP_MAX_BODY_SIZE`: a declared
//!   `Content-Length` above it is answered 413 `payload_too_large` before
//!   the handler runs, and a body that grows past it while read fails the
//!   extractor with the same answer;
//! * the body read timeout, `BACKEND_HTTP_READ_TIMEOUT`: a body whose next
//!   chunk does not arrive in time fails the extractor with 408
//!   `request_timeout` (the head has its own timeout, see `serve.rs`).
//!
//! Nothing is paid for what a request does not use, which is most of the
//! cost on the hot, cache-served routes: the deadline's timer is armed only
//! once the handler has to wait (a handler answering from memory is done at
//! its first poll, and a timer registration is a lock the worker threads
//! share), and a request without a body keeps it as it is (no wrapping, no
//! body-limit extension).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, HttpBody as _};
use axum::extract::Request;
use axum::response::{IntoResponse as _, Response};
use futures::FutureExt as _;
use tower::{Layer, Service};

use super::error::ApiError;

/// See the module docs.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimitsLayer {
    /// `BACKEND_HTTP_WRITE_TIMEOUT`.
    pub handler_timeout: Duration,
    /// `BACKEND_HTTP_READ_TIMEOUT`, between two chunks of a body.
    pub body_timeout: Duration,
    /// `BACKEND_HTTP_MAX_BODY_SIZE`.
    pub max_body_bytes: usize,
}

impl<S> Layer<S> for RequestLimitsLayer {
    type Service = RequestLimits<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLimits {
            inner,
            limits: *self,
        }
    }
}

/// The service of [`RequestLimitsLayer`].
#[derive(Debug, Clone)]
pub struct RequestLimits<S> {
    inner: S,
    limits: RequestLimitsLayer,
}

impl<S> Service<Request> for RequestLimits<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Deadline<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let limits = self.limits;
        // hyper has parsed `Content-Length` into the body's size hint.
        if req.body().size_hint().lower() > limits.max_body_bytes as u64 {
            return Deadline::answered(ApiError::payload_too_large().into_response());
        }
        let req = if req.body().is_end_stream() {
            req
        } else {
            with_body_limits(req, limits)
        };
        Deadline::running(self.inner.call(req), limits.handler_timeout)
    }
}

/// Wraps a request body in the size limit and the read timeout, and tells
/// axum's body extractors the same size limit (they apply a default of
/// 2 MiB otherwise).
fn with_body_limits(req: Request, limits: RequestLimitsLayer) -> Request {
    let req = req.map(|body| {
        Body::new(tower_http::timeout::TimeoutBody::new(
            limits.body_timeout,
            http_body_util::Limited::new(body, limits.max_body_bytes),
        ))
    });
    // `DefaultBodyLimit` is the only way to set the extractors' limit: its
    // service stamps the request, which an identity service hands back.
    let mut stamp = axum::extract::DefaultBodyLimit::max(limits.max_body_bytes).layer(
        tower::service_fn(|req: Request| async move { Ok::<_, Infallible>(req) }),
    );
    match stamp.call(req).now_or_never() {
        Some(Ok(req)) => req,
        None => unreachable!("the identity service is ready at once"),
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RequestLimits`]: the handler's, with a
    /// timer armed only once it is pending (or an answer given up front).
    pub struct Deadline<F> {
        #[pin]
        inner: Option<F>,
        answered: Option<Response>,
        timeout: Duration,
        timer: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<F> Deadline<F> {
    fn running(inner: F, timeout: Duration) -> Self {
        Self {
            inner: Some(inner),
            answered: None,
            timeout,
            timer: None,
        }
    }

    fn answered(response: Response) -> Self {
        Self {
            inner: None,
            answered: Some(response),
            timeout: Duration::ZERO,
            timer: None,
        }
    }
}

impl<F> Future for Deadline<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            return Poll::Ready(Ok(this.answered.take().expect("polled after completion")));
        };
        if let Poll::Ready(answer) = inner.poll(cx) {
            return Poll::Ready(answer);
        }
        // Pending: from now on the deadline runs. (The handler's synchronous
        // first step cannot be interrupted by a timer anyway, so starting
        // here changes nothing observable.)
        let timeout = *this.timeout;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Ok(ApiError::timeout().into_response()))
    }
}
