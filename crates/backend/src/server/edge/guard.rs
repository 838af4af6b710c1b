//! A request guard as a tower layer: runs a check on every request under a
//! path prefix before routing and answers with its error (in the error
//! shape) when it fails. It sits in the one middleware stack of the router
//! rather than in a `route_layer`, which would wrap every route of the group
//! in another boxed route cloned per request.
//! The check decides synchronously when it can (the user group's
//! `X-User-ID` and cached account checks) — then nothing is boxed per
//! request — and hands back a future only when it must wait (a cache miss
//! looked up in PostgreSQL). Checks that always await (Basic Auth with
//! bcrypt) use `axum::middleware` instead.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use futures::future::{BoxFuture, Either, Ready, ready};
use tower::{Layer, Service, ServiceExt as _};

use super::error::ApiError;

/// What a check decided about a request (of body type `B`).
pub enum Verdict<B = axum::body::Body> {
    /// Go on to the handler with this request.
    Pass(http::Request<B>),
    /// Answer with this error.
    Reject(ApiError),
    /// Wait for the check to finish, then pass or reject.
    Pending(BoxFuture<'static, Result<http::Request<B>, ApiError>>),
}

/// Layer running `check` before the inner service for every request whose
/// path is `prefix` or lies below it; see the module docs.
#[derive(Clone)]
pub struct GuardLayer<F> {
    prefix: &'static str,
    check: F,
}

impl<F> GuardLayer<F> {
    pub fn for_prefix(prefix: &'static str, check: F) -> Self {
        Self { prefix, check }
    }
}

impl<S, F: Clone> Layer<S> for GuardLayer<F> {
    type Service = Guard<S, F>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            prefix: self.prefix,
            check: self.check.clone(),
        }
    }
}

/// The service of [`GuardLayer`].
#[derive(Clone)]
pub struct Guard<S, F> {
    inner: S,
    prefix: &'static str,
    check: F,
}

type Answer = Result<Response, Infallible>;

impl<S, F, B> Service<http::Request<B>> for Guard<S, F>
where
    S: Service<http::Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    F: Fn(http::Request<B>) -> Verdict<B>,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Either<Ready<Answer>, S::Future>, BoxFuture<'static, Answer>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let guarded = req
            .uri()
            .path()
            .strip_prefix(self.prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if !guarded {
            return Either::Left(Either::Right(self.inner.call(req)));
        }
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
