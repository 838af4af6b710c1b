//! A request guard as a tower layer: runs a check on the request before the
//! handler and answers with its error (in the error shape) when it fails.
//! The check decides synchronously when it can (the user group's
//! `X-User-ID` and cached account checks) — then nothing is boxed per
//! request — and hands back a future only when it must wait (a cache miss
//! looked up in PostgreSQL). Checks that always await (Basic Auth with
//! bcrypt) use `axum::middleware` instead.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures::future::{BoxFuture, Either, Ready, ready};
use tower::{Layer, Service, ServiceExt as _};

use super::ApiError;

/// What a check decided.
pub enum Verdict {
    /// Go on to the handler with this request.
    Pass(Request),
    /// Answer with this error.
    Reject(ApiError),
    /// Wait for the check to finish, then pass or reject.
    Pending(BoxFuture<'static, Result<Request, ApiError>>),
}

/// Layer running `check` before the inner service; see the module docs.
#[derive(Clone)]
pub struct GuardLayer<F> {
    check: F,
}

impl<F> GuardLayer<F>
where
    F: Fn(Request) -> Verdict + Clone,
{
    pub fn new(check: F) -> Self {
        Self { check }
    }
}

impl<S, F: Clone> Layer<S> for GuardLayer<F> {
    type Service = Guard<S, F>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            check: self.check.clone(),
        }
    }
}

/// The service of [`GuardLayer`].
#[derive(Clone)]
pub struct Guard<S, F> {
    inner: S,
    check: F,
}

type Answer = Result<Response, Infallible>;

impl<S, F> Service<Request> for Guard<S, F>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    F: Fn(Request) -> Verdict,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Either<Ready<Answer>, S::Future>, BoxFuture<'static, Answer>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match (self.check)(req) {
            Verdict::Pass(req) => Either::Left(Either::Right(self.inner.call(req))),
            Verdict::Reject(err) => Either::Left(Either::Left(ready(Ok(err.into_response())))),
            Verdict::Pending(check) => {
                let inner = self.inner.clone();
                Either::Right(Box::pin(async move {
                    match check.await {
                        Ok(req) => inner.oneshot(req).await,
                        Err(err) => Ok(err.into_response()),
                    }
                }))
            }
        }
    }
}
