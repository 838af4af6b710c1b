//! A synchronous request guard as a tower layer: runs a check on the request
//! before the handler and answers with its error (in the error shape) when it
//! fails. Nothing is boxed per request, so guards on hot paths (the user
//! group's `X-User-ID` check) cost only what the check itself does. Checks
//! that must await (Basic Auth with bcrypt) use `axum::middleware` instead.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures::future::{Either, Ready, ready};
use tower::{Layer, Service};

use super::ApiError;

/// Layer running `check` before the inner service; see the module docs.
#[derive(Clone)]
pub struct GuardLayer<F> {
    check: F,
}

impl<F> GuardLayer<F>
where
    F: Fn(&mut Request) -> Result<(), ApiError> + Clone,
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

impl<S, F> Service<Request> for Guard<S, F>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    F: Fn(&mut Request) -> Result<(), ApiError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        match (self.check)(&mut req) {
            Ok(()) => Either::Right(self.inner.call(req)),
            Err(err) => Either::Left(ready(Ok(err.into_response()))),
        }
    }
}
