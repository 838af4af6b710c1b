//! W3C trace context on calls that leave the process (spec §15: "HTTP
//! request → domain operation → Postgres calls → external client calls
//! (SMTP, Docker, engine)"). One helper for every outside client:
//!
//! - [`current_traceparent`]: the `traceparent` value naming the current
//!   span (or, when request spans are off, the request context's ids) as
//!   the parent of whatever the callee does. The SMTP transport writes it
//!   as a header of the mail; the Docker and engine clients will send it
//!   as an HTTP header through [`inject_http`].
//! - [`set_parent`]: continues a trace that crossed a queue — a stored
//!   `traceparent` (taken with [`current_traceparent`] when the work was
//!   enqueued) becomes the parent of the span that does the work.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::context;

/// The header (HTTP) and mail header name.
pub const TRACEPARENT: &str = "traceparent";

/// `00-{trace id}-{span id}-{flags}` for the current span: the active
/// `tracing` span's OpenTelemetry context, else the request context of the
/// HTTP edge (request spans off), else `None` (outside any request or span).
pub fn current_traceparent() -> Option<String> {
    let span_cx = tracing::Span::current().context();
    let cx = if span_cx.span().span_context().is_valid() {
        span_cx
    } else {
        let (trace_id, span_id) = context::with_current(|rc| (rc.trace_id, rc.span_id))?;
        let remote = SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::default(),
            true,
            TraceState::default(),
        );
        opentelemetry::Context::new().with_remote_span_context(remote)
    };
    let mut carrier = Traceparent(None);
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.0
}

/// Adds `traceparent` for the current span to an outgoing HTTP request's
/// headers (the Docker and engine clients).
pub fn inject_http(headers: &mut http::HeaderMap) {
    if let Some(value) = current_traceparent().and_then(|v| http::HeaderValue::from_str(&v).ok()) {
        headers.insert(http::HeaderName::from_static(TRACEPARENT), value);
    }
}

/// Makes the trace named by a stored `traceparent` the parent of `span`,
/// so work taken from a queue continues the trace of the request that
/// enqueued it. A malformed value leaves `span` as it is.
pub fn set_parent(span: &tracing::Span, traceparent: &str) {
    let cx = TraceContextPropagator::new().extract(&Incoming(traceparent));
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

struct Traceparent(Option<String>);

impl Injector for Traceparent {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            self.0 = Some(value);
        }
    }
}

struct Incoming<'a>(&'a str);

impl Extractor for Incoming<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceId};

    use super::*;
    use crate::telemetry::tests::otel_only_subscriber;

    fn parts(traceparent: &str) -> Vec<String> {
        traceparent.split('-').map(str::to_owned).collect()
    }

    #[test]
    fn outside_any_span_or_request_there_is_no_traceparent() {
        let _guard = tracing::subscriber::set_default(otel_only_subscriber());
        assert_eq!(current_traceparent(), None);
    }

    #[test]
    fn the_traceparent_names_the_current_span() {
        let _guard = tracing::subscriber::set_default(otel_only_subscriber());
        let span = tracing::info_span!("smtp.send");
        let expected = span.context().span().span_context().clone();
        let value = span.in_scope(current_traceparent).expect("inside a span");
        let p = parts(&value);
        assert_eq!(p.len(), 4, "{value}");
        assert_eq!(p[0], "00");
        assert_eq!(p[1], expected.trace_id().to_string());
        assert_eq!(p[2], expected.span_id().to_string());
    }

    #[test]
    fn a_stored_traceparent_becomes_the_parent_of_later_work() {
        let _guard = tracing::subscriber::set_default(otel_only_subscriber());
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let work = tracing::info_span!("mail.send");
        set_parent(&work, &format!("00-{trace_id}-00f067aa0ba902b7-01"));
        let value = work.in_scope(|| {
            let call = tracing::info_span!("smtp.send");
            call.in_scope(current_traceparent)
        });
        assert_eq!(parts(&value.expect("inside a span"))[1], trace_id);
        // Garbage is ignored.
        let other = tracing::info_span!("mail.send");
        set_parent(&other, "not-a-traceparent");
        assert_ne!(
            parts(&other.in_scope(current_traceparent).unwrap())[1],
            trace_id
        );
    }

    #[tokio::test]
    async fn without_request_spans_the_request_context_is_the_parent() {
        let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        let span_id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        let request = context::RequestContext {
            request_id: http::HeaderValue::from_static("r-1"),
            method: "POST",
            route: "/api/v1/public/auth/challenges",
            trace_id,
            span_id,
        };
        let value = context::scope(request, async { current_traceparent() })
            .await
            .expect("inside a request");
        assert_eq!(
            value,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
        );
        let mut headers = http::HeaderMap::new();
        let request = context::RequestContext {
            request_id: http::HeaderValue::from_static("r-2"),
            method: "GET",
            route: "/x",
            trace_id,
            span_id,
        };
        context::scope(request, async { inject_http(&mut headers) }).await;
        assert_eq!(headers[TRACEPARENT], value.as_str());
    }
}
