//! The request context without a `tracing` span: when traces are not
//! exported (`BACKEND_OTEL_TRACES_EXPORTER=none`), the HTTP edge does not
//! open an `http.request` span per request — its only use would be to give log
//! lines the request's fields and ids, and it is the largest per-request cost
//! of the edge. Instead the edge runs the request inside a task-local
//! [`RequestContext`]; the log layer writes its fields (`method`, `route`,
//! `request_id`, `otel_trace_id`, `otel_span_id`) on every line logged while
//! serving, exactly as the span would. The ids continue an incoming W3C
//! `traceparent` when there is one, else they are fresh random ids.

use std::future::Future;

use http::HeaderValue;
use opentelemetry::trace::{SpanId, TraceId};

tokio::task_local! {
    static REQUEST: RequestContext;
}

/// What log lines written while serving a request carry.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: HeaderValue,
    pub method: &'static str,
    /// The route template, or `unmatched`.
    pub route: &'static str,
    pub trace_id: TraceId,
    pub span_id: SpanId,
}

impl RequestContext {
    pub fn request_id(&self) -> &str {
        self.request_id.to_str().unwrap_or_default()
    }

    pub fn route(&self) -> &str {
        self.route
    }
}

/// Runs `future` with `context` as the current request context.
pub(crate) fn scope<F: Future>(
    context: RequestContext,
    future: F,
) -> impl Future<Output = F::Output> {
    REQUEST.scope(context, future)
}

/// Calls `f` with the current request context, if the caller runs inside one.
pub(crate) fn with_current<R>(f: impl FnOnce(&RequestContext) -> R) -> Option<R> {
    REQUEST.try_with(f).ok()
}

/// The trace id of whatever is being served now, as lowercase hex: the
/// request context's, else the active OpenTelemetry span's; `None` outside
/// both. Producers put it into correlation fields (e.g. push frames).
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    if let Some(id) = with_current(|cx| cx.trace_id.to_string()) {
        return Some(id);
    }
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| context.trace_id().to_string())
}

/// Fresh random ids (never the invalid all-zero ones).
pub(crate) fn random_ids() -> (TraceId, SpanId) {
    let trace = rand::random::<u128>().max(1);
    let span = rand::random::<u64>().max(1);
    (
        TraceId::from_bytes(trace.to_be_bytes()),
        SpanId::from_bytes(span.to_be_bytes()),
    )
}
