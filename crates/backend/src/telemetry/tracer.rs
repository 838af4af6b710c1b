//! The bridge between `tracing` spans (one global subscriber per process) and
//! the OpenTelemetry tracer providers (one per application).
//!
//! The global subscriber holds [`AppTracer`], which hands each new span to the
//! provider of the most recently initialised application that is still
//! running, or — when there is none — to a process-wide provider that only
//! allocates ids. Spans therefore always carry a valid trace and span id, so
//! log lines correlate even with the traces exporter `none`.

use std::sync::{LazyLock, RwLock};

use opentelemetry::Context;
use opentelemetry::trace::{SpanBuilder, TracerProvider as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};

/// Instrumentation scope name of the spans of this service.
pub(crate) const TRACER_NAME: &str = "galaxy-backend";

/// The running application whose provider receives new spans, with the id
/// its [`super::Telemetry`] was given.
static CURRENT: RwLock<Option<(u64, SdkTracer)>> = RwLock::new(None);

/// Allocates ids and records nothing.
static IDS_ONLY: LazyLock<SdkTracer> = LazyLock::new(|| ids_only_provider().tracer(TRACER_NAME));

/// A provider with no exporter that never samples: spans get ids (so logs
/// carry `otel_trace_id`/`otel_span_id`) and cost almost nothing.
pub(crate) fn ids_only_provider() -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .build()
}

/// Makes `tracer` receive new spans until [`release`] with the same `id`.
pub(crate) fn activate(id: u64, tracer: SdkTracer) {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some((id, tracer));
}

/// Stops routing spans to application `id`, if it is still the current one.
pub(crate) fn release(id: u64) {
    let mut current = CURRENT.write().unwrap_or_else(|e| e.into_inner());
    if current
        .as_ref()
        .is_some_and(|(current_id, _)| *current_id == id)
    {
        *current = None;
    }
}

/// The tracer the global `tracing-opentelemetry` layer uses.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AppTracer;

impl opentelemetry::trace::Tracer for AppTracer {
    type Span = opentelemetry_sdk::trace::Span;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> Self::Span {
        let current = CURRENT.read().unwrap_or_else(|e| e.into_inner());
        match current.as_ref() {
            Some((_, tracer)) => tracer.build_with_context(builder, parent_cx),
            None => IDS_ONLY.build_with_context(builder, parent_cx),
        }
    }
}
