//! JSON log lines on stdout, and the process-wide `tracing` subscriber.
//!
//! Each line is one JSON object whose keys come in this order: `ts` (RFC 3339
//! UTC, milliseconds), `level` (lowercase), `caller` (`file:line`), `service`,
//! `msg`, then the fields of the enclosing spans (outermost first, e.g.
//! `request_id`), then the event's own fields, and finally `otel_trace_id` /
//! `otel_span_id` (lowercase hex) when the event happens inside a span with an
//! OpenTelemetry context or while a request is served (the HTTP edge's
//! request context stands in for the request span when traces are not
//! exported). A later field replaces an earlier one of the same
//! name; a field named like one of the five leading keys is written as
//! `field.<name>`. `otel.*` span fields (span name/kind hints) and `log.*`
//! fields (the `log`-crate bridge) are not repeated.
//!
//! Filtering: events pass the level from `BACKEND_LOGGING_LEVEL`, with noisy
//! dependency targets (h2, hyper, tower, sqlx, …) held at `warn`; a non-empty
//! `RUST_LOG` replaces that whole directive set (developers only). Spans are
//! filtered separately — every `info` span exists whatever the log level — so
//! traces and the span fields in `warn`/`error` lines do not depend on it.

use std::fmt::Write as _;
use std::io::Write as _;

use opentelemetry::trace::TraceContextExt as _;
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Metadata, Subscriber, span};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogLevel;

/// Dependencies whose `info`/`debug` output is noise in production.
const QUIET_TARGETS: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tower",
    "tower_http",
    "tonic",
    "reqwest",
    "rustls",
    "sqlx",
    "bollard",
    "lettre",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
];

const RESERVED_KEYS: &[&str] = &["ts", "level", "caller", "service", "msg"];

/// The event-filter directives: `RUST_LOG` when set and non-empty, else the
/// configured level with [`QUIET_TARGETS`] at `warn`.
pub(crate) fn directives(level: LogLevel, rust_log: Option<&str>) -> String {
    if let Some(rust_log) = rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        return rust_log.to_owned();
    }
    let mut directives = level_name(level).to_owned();
    for target in QUIET_TARGETS {
        let _ = write!(directives, ",{target}=warn");
    }
    directives
}

fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    }
}

/// A per-layer filter: events by an [`EnvFilter`], spans by `info` (quiet
/// targets at `warn`) *or* that same `EnvFilter`.
pub(crate) struct LogFilter {
    events: EnvFilter,
    spans: Targets,
}

impl LogFilter {
    pub(crate) fn new(directives: &str) -> anyhow::Result<Self> {
        let events = EnvFilter::builder()
            .parse(directives)
            .map_err(|e| anyhow::anyhow!("invalid log filter `{directives}` (RUST_LOG?): {e}"))?;
        let spans = Targets::new()
            .with_default(LevelFilter::INFO)
            .with_targets(QUIET_TARGETS.iter().map(|t| (*t, LevelFilter::WARN)));
        Ok(Self { events, spans })
    }

    fn span_wanted(&self, meta: &Metadata<'_>) -> bool {
        meta.is_span() && self.spans.would_enable(meta.target(), meta.level())
    }
}

impl<S> Filter<S> for LogFilter {
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.span_wanted(meta) || Filter::<S>::enabled(&self.events, meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        // Always let the EnvFilter see the callsite: it keeps per-callsite state.
        let interest = Filter::<S>::callsite_enabled(&self.events, meta);
        if self.span_wanted(meta) {
            tracing::subscriber::Interest::always()
        } else {
            interest
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Filter::<S>::max_level_hint(&self.events).map(|hint| hint.max(LevelFilter::INFO))
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        Filter::<S>::on_new_span(&self.events, attrs, id, ctx);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        Filter::<S>::on_record(&self.events, id, values, ctx);
    }

    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        Filter::<S>::on_enter(&self.events, id, ctx);
    }

    fn on_exit(&self, id: &span::Id, ctx: Context<'_, S>) {
        Filter::<S>::on_exit(&self.events, id, ctx);
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        Filter::<S>::on_close(&self.events, id, ctx);
    }
}

/// Writes one JSON line per event to `W` (stdout in production, a buffer in
/// tests).
pub(crate) struct JsonLogLayer<W> {
    service: String,
    make_writer: W,
}

impl<W> JsonLogLayer<W> {
    pub(crate) fn new(service: impl Into<String>, make_writer: W) -> Self {
        Self {
            service: service.into(),
            make_writer,
        }
    }
}

/// A span's fields, in recording order, kept in the span's extensions.
struct SpanFields(Vec<(String, Value)>);

impl<S, W> Layer<S> for JsonLogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = FieldCollector::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields.0));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() else {
            return;
        };
        let mut collector = FieldCollector(std::mem::take(fields));
        values.record(&mut collector);
        *fields = collector.0;
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());

        let mut entries: Vec<(String, Value)> = Vec::new();
        // Served without a request span (traces not exported): the request
        // context stands in for the span's fields and ids.
        let request = super::context::with_current(|cx| {
            upsert(&mut entries, "method".to_owned(), Value::from(cx.method));
            upsert(&mut entries, "route".to_owned(), Value::from(cx.route()));
            upsert(
                &mut entries,
                "request_id".to_owned(),
                Value::from(cx.request_id()),
            );
            (cx.trace_id.to_string(), cx.span_id.to_string())
        });
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    for (key, value) in fields {
                        if !key.starts_with("otel.") {
                            upsert(&mut entries, key.clone(), value.clone());
                        }
                    }
                }
            }
        }
        let mut own = FieldCollector::default();
        event.record(&mut own);
        let mut msg = Value::String(String::new());
        for (key, value) in own.0 {
            match key.as_str() {
                "message" => msg = value,
                key if key.starts_with("log.") => {}
                _ => upsert(&mut entries, key.clone(), value),
            }
        }

        let mut line = String::with_capacity(256);
        line.push('{');
        push_entry(&mut line, "ts", &Value::String(timestamp()), true);
        push_entry(
            &mut line,
            "level",
            &Value::String(level_label(meta.level()).to_owned()),
            false,
        );
        push_entry(&mut line, "caller", &Value::String(caller(meta)), false);
        push_entry(
            &mut line,
            "service",
            &Value::String(self.service.clone()),
            false,
        );
        push_entry(&mut line, "msg", &msg, false);
        for (key, value) in &entries {
            let key = if RESERVED_KEYS.contains(&key.as_str()) {
                format!("field.{key}")
            } else {
                key.clone()
            };
            push_entry(&mut line, &key, value, false);
        }
        if let Some((trace_id, span_id)) = request.or_else(current_otel_ids) {
            push_entry(&mut line, "otel_trace_id", &Value::String(trace_id), false);
            push_entry(&mut line, "otel_span_id", &Value::String(span_id), false);
        }
        line.push_str("}\n");

        let mut writer = self.make_writer.make_writer_for(event.metadata());
        let _ = writer.write_all(line.as_bytes());
    }
}

/// The trace and span id of the OpenTelemetry context attached to this
/// thread — the innermost entered `tracing` span's, since the
/// `tracing-opentelemetry` layer activates a span's context on enter.
fn current_otel_ids() -> Option<(String, String)> {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| {
        (
            span_context.trace_id().to_string(),
            span_context.span_id().to_string(),
        )
    })
}

fn upsert(entries: &mut Vec<(String, Value)>, key: String, value: Value) {
    match entries.iter_mut().find(|(existing, _)| *existing == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key, value)),
    }
}

fn push_entry(line: &mut String, key: &str, value: &Value, first: bool) {
    if !first {
        line.push(',');
    }
    // Serialising a `str` or a `Value` into a `String` cannot fail.
    line.push_str(&serde_json::to_string(key).unwrap_or_default());
    line.push(':');
    line.push_str(&serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned()));
}

fn timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn level_label(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// `file:line`, with the cargo registry prefix cut from dependency paths;
/// the target when the callsite has no file.
fn caller(meta: &Metadata<'_>) -> String {
    match (meta.file(), meta.line()) {
        (Some(file), line) => {
            let file = match file.find("/registry/src/") {
                Some(at) => {
                    let rest = &file[at + "/registry/src/".len()..];
                    rest.split_once('/').map_or(rest, |(_, path)| path)
                }
                None => file,
            };
            match line {
                Some(line) => format!("{file}:{line}"),
                None => file.to_owned(),
            }
        }
        (None, _) => meta.target().to_owned(),
    }
}

/// Collects fields as JSON values, keeping numbers and booleans typed.
#[derive(Default)]
struct FieldCollector(Vec<(String, Value)>);

impl FieldCollector {
    fn put(&mut self, field: &Field, value: Value) {
        upsert(&mut self.0, field.name().to_owned(), value);
    }
}

impl Visit for FieldCollector {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(
            field,
            serde_json::Number::from_f64(value)
                .map_or_else(|| Value::String(value.to_string()), Value::Number),
        );
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::telemetry::tracer::AppTracer;

    /// A `MakeWriter` appending to a shared buffer.
    #[derive(Clone, Default)]
    pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        pub(crate) fn lines(&self) -> Vec<serde_json::Map<String, Value>> {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|line| match serde_json::from_str(line).unwrap() {
                    Value::Object(map) => map,
                    other => panic!("not an object: {other}"),
                })
                .collect()
        }

        pub(crate) fn raw(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn subscriber(buffer: &Buffer, directives: &str) -> impl Subscriber + Send + Sync {
        tracing_subscriber::registry()
            .with(
                tracing_opentelemetry::layer()
                    .with_tracer(AppTracer)
                    .with_filter(LogFilter::new(directives).unwrap()),
            )
            .with(
                JsonLogLayer::new("galaxy-test", buffer.clone())
                    .with_filter(LogFilter::new(directives).unwrap()),
            )
    }

    #[test]
    fn a_line_inside_a_span_carries_the_required_fields_and_otel_ids() {
        let buffer = Buffer::default();
        tracing::subscriber::with_default(subscriber(&buffer, "info"), || {
            let span =
                tracing::info_span!("http.request", request_id = "req-1", otel.kind = "server");
            span.in_scope(|| tracing::info!(game_id = 7, ok = true, "turn generated"));
        });

        let lines = buffer.lines();
        assert_eq!(lines.len(), 1, "{}", buffer.raw());
        let line = &lines[0];
        let keys: Vec<&str> = line.keys().map(String::as_str).collect();
        for key in [
            "ts",
            "level",
            "caller",
            "service",
            "msg",
            "request_id",
            "game_id",
            "ok",
            "otel_trace_id",
            "otel_span_id",
        ] {
            assert!(keys.contains(&key), "missing {key} in {line:?}");
        }
        assert!(!keys.iter().any(|k| k.starts_with("otel.")), "{line:?}");
        assert_eq!(line["level"], "info");
        assert_eq!(line["service"], "galaxy-test");
        assert_eq!(line["msg"], "turn generated");
        assert_eq!(line["request_id"], "req-1");
        assert_eq!(line["game_id"], 7);
        assert_eq!(line["ok"], true);
        assert!(
            line["caller"]
                .as_str()
                .unwrap()
                .starts_with("crates/backend/src/telemetry/logging.rs:"),
            "{line:?}"
        );
        let ts = line["ts"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with('Z') && ts.len() == 24,
            "{ts}"
        );
        let trace_id = line["otel_trace_id"].as_str().unwrap();
        let span_id = line["otel_span_id"].as_str().unwrap();
        assert!(
            trace_id.len() == 32 && trace_id.chars().all(|c| c.is_ascii_hexdigit()),
            "{trace_id}"
        );
        assert!(
            span_id.len() == 16 && span_id.chars().all(|c| c.is_ascii_hexdigit()),
            "{span_id}"
        );
        assert_ne!(trace_id, "0".repeat(32));
        // The leading keys come first, in order.
        let raw = buffer.raw();
        let order: Vec<usize> = [
            "\"ts\"",
            "\"level\"",
            "\"caller\"",
            "\"service\"",
            "\"msg\"",
        ]
        .iter()
        .map(|k| raw.find(k).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{raw}");
    }

    #[test]
    fn a_line_outside_any_span_has_no_otel_ids_and_nested_spans_share_the_trace() {
        let buffer = Buffer::default();
        tracing::subscriber::with_default(subscriber(&buffer, "info"), || {
            tracing::warn!("outside");
            let outer = tracing::info_span!("outer", request_id = "r");
            outer.in_scope(|| {
                tracing::info!("in outer");
                tracing::info_span!("inner", step = "db")
                    .in_scope(|| tracing::info!(request_id = "event wins", "in inner"));
            });
        });
        let lines = buffer.lines();
        assert_eq!(lines.len(), 3, "{}", buffer.raw());
        assert!(!lines[0].contains_key("otel_trace_id"));
        assert_eq!(lines[0]["level"], "warn");
        assert_eq!(lines[1]["otel_trace_id"], lines[2]["otel_trace_id"]);
        assert_ne!(lines[1]["otel_span_id"], lines[2]["otel_span_id"]);
        assert_eq!(lines[2]["step"], "db");
        assert_eq!(lines[2]["request_id"], "event wins");
    }

    #[test]
    fn the_level_filters_events_but_not_spans() {
        let buffer = Buffer::default();
        tracing::subscriber::with_default(
            subscriber(&buffer, &directives(LogLevel::Warn, None)),
            || {
                tracing::info_span!("http.request", request_id = "r-9").in_scope(|| {
                    tracing::info!("dropped");
                    tracing::warn!("kept");
                });
                tracing::warn!(target: "sqlx::query", "quiet dependency at warn is kept");
                tracing::info!(target: "hyper::proto", "noise");
            },
        );
        let lines = buffer.lines();
        assert_eq!(lines.len(), 2, "{}", buffer.raw());
        assert_eq!(lines[0]["msg"], "kept");
        assert_eq!(lines[0]["request_id"], "r-9");
        assert!(lines[0].contains_key("otel_trace_id"));
    }

    #[test]
    fn rust_log_replaces_the_configured_directives() {
        assert_eq!(
            directives(LogLevel::Info, Some("debug,hyper=trace")),
            "debug,hyper=trace"
        );
        assert!(directives(LogLevel::Info, Some("  ")).starts_with("info,h2=warn"));
        assert!(directives(LogLevel::Error, None).starts_with("error,"));
        assert!(LogFilter::new("not a = valid [ filter").is_err());
    }

    #[test]
    fn reserved_field_names_are_prefixed() {
        let buffer = Buffer::default();
        tracing::subscriber::with_default(subscriber(&buffer, "info"), || {
            tracing::info!(level = "custom", service = "x", "reserved");
        });
        let line = &buffer.lines()[0];
        assert_eq!(line["level"], "info");
        assert_eq!(line["field.level"], "custom");
        assert_eq!(line["field.service"], "x");
        assert_eq!(line["service"], "galaxy-test");
    }
}
