//! Logs, traces and metrics (spec §15): JSON log lines on stdout, OpenTelemetry
//! traces and metrics with the exporters chosen by `BACKEND_OTEL_*`, and the
//! HTTP edge's request ids, spans and `http_*` metrics.
//!
//! * [`Telemetry::init`] installs the process-wide log subscriber (the first
//!   call wins; later applications in the same process reuse it) and builds
//!   *this application's* tracer and meter providers. Call it inside the
//!   Tokio runtime (the gRPC exporter needs one), before anything logs.
//! * [`Metrics`] is the cheap handle with every instrument; hand it to whatever
//!   records metrics. [`Metrics::noop`] is for unit tests.
//! * [`HttpEdgeLayer`] (request id, `http.request` span, `http_*` metrics, one
//!   access-log line) instruments the axum router; [`DbPoolMetrics`] the sqlx
//!   pool; [`Telemetry::prometheus_router`] serves `GET /metrics` when the
//!   metrics exporter is `prometheus`.
//! * [`Telemetry::shutdown`] flushes the exporters at the end of shutdown.
//!
//! Logs: see [`logging`] for the line format and the `BACKEND_LOGGING_LEVEL`
//! / `RUST_LOG` rules. Traces: spans are always given ids — with the traces
//! exporter `none` by a provider that samples nothing — so every log line
//! written inside a span carries `otel_trace_id`/`otel_span_id`. Decisions and
//! their reasons: `docs/decisions/0003-telemetry.md`.
//!
//! # Adding a metric
//!
//! 1. Put its name (and any new label key) in [`names`]; the name is what
//!    operators see, exporters add no suffix.
//! 2. Add a struct for the module's instruments in `metrics.rs`, in the style
//!    of [`HttpMetrics`]: a `fn new(meter: &Meter)` that builds each instrument
//!    (with a description; `with_unit("s")` and
//!    [`names::LATENCY_BUCKETS_SECONDS`] for durations), and one small method
//!    per thing that happens (`mail.record_attempt(outcome)`), so callers never
//!    assemble label sets themselves.
//! 3. Add it to `MetricsInner`, build it in `Metrics::new`, and expose it with
//!    an accessor (`pub fn mail(&self) -> &MailMetrics`).
//! 4. Gauges that read state (queue depth, subscribers) are observable gauges
//!    registered by the owning module at startup with
//!    [`Metrics::meter`] (`u64_observable_gauge(name).with_callback(..)`), as
//!    [`DbPoolMetrics::observe_pool`] does; keep the returned instrument alive.
//! 5. Test it by reading the value back: build [`Telemetry`] with the
//!    `prometheus` exporter and scrape [`Telemetry::prometheus_router`]
//!    (see the tests in `http.rs`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::response::IntoResponse as _;
use axum::routing::get;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{
    Config, LogLevel, LoggingConfig, MetricsExporter, OtelConfig, OtelProtocol, TracesExporter,
};

mod context;
mod http;
pub mod logging;
mod metrics;
pub mod names;
pub mod propagation;
mod tracer;

pub use context::{RequestContext, current_trace_id};
pub use http::{
    EdgeHooks, GroupHook, HttpEdgeLayer, PROBE_GROUP, PanicHook, REQUEST_ID_HEADER, RequestSpans,
    ResponseHook, UNMATCHED,
};
pub use metrics::{DEFAULT_POOL, DbPoolMetrics, HttpMetrics, Metrics};
pub use propagation::{current_traceparent, inject_http, set_parent};

/// This application's telemetry: its tracer and meter providers and its
/// instruments. Dropping it without [`Self::shutdown`] stops routing spans to
/// it but does not flush.
pub struct Telemetry {
    id: u64,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    metrics: Metrics,
    prometheus: Option<prometheus::Registry>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Telemetry {
    /// Installs the global JSON log subscriber (once per process: later calls
    /// keep the first, so several applications in one test process work) and
    /// builds this application's providers from `BACKEND_OTEL_*`.
    ///
    /// Must run inside a Tokio runtime when an exporter is `otlp` with
    /// `grpc`. Fails on an exporter that cannot be built (e.g. a malformed
    /// `BACKEND_OTEL_ENDPOINT`) or an unparsable `RUST_LOG`.
    /// Variables that look like ours but are not (typos) are logged here,
    /// as the first warnings of the process.
    pub fn init(config: &Config) -> anyhow::Result<Telemetry> {
        let telemetry = Self::init_with(&config.logging, &config.otel)?;
        for unknown in &config.unknown_variables {
            tracing::warn!(
                variable = %unknown.name,
                did_you_mean = unknown.closest,
                "{unknown}"
            );
        }
        Ok(telemetry)
    }

    /// [`Self::init`] from the two config sections it reads.
    pub fn init_with(logging: &LoggingConfig, otel: &OtelConfig) -> anyhow::Result<Telemetry> {
        install_global_subscriber(&otel.service_name, logging.level)?;

        let resource = Resource::builder()
            .with_service_name(otel.service_name.clone())
            .build();
        let tracer_provider = build_tracer_provider(otel, resource.clone())?;
        let (meter_provider, prometheus) = build_meter_provider(otel, resource)?;
        // Nothing collects without an exporter: record nothing either.
        let metrics = match otel.metrics_exporter {
            MetricsExporter::None => Metrics::noop(),
            _ => Metrics::new(meter_provider.meter(metrics::METER_NAME)),
        };

        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        tracer::activate(id, tracer_provider.tracer(tracer::TRACER_NAME));
        tracing::debug!(
            traces = ?otel.traces_exporter,
            metrics = ?otel.metrics_exporter,
            protocol = ?otel.protocol,
            "telemetry initialised"
        );
        Ok(Telemetry {
            id,
            tracer_provider,
            meter_provider,
            metrics,
            prometheus,
        })
    }

    /// The handle with every instrument.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// With the `prometheus` metrics exporter: a router serving `GET /metrics`
    /// in the Prometheus text format, for the caller to serve on
    /// `BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR` (never on the public listener).
    /// `None` with any other exporter.
    pub fn prometheus_router(&self) -> Option<Router> {
        let registry = self.prometheus.clone()?;
        Some(Router::new().route(
            "/metrics",
            get(move || {
                let registry = registry.clone();
                async move { render_prometheus(&registry) }
            }),
        ))
    }

    /// Flushes and shuts down this application's exporters, giving up after
    /// `timeout`. New spans go to the ids-only provider from here on.
    pub async fn shutdown(self, timeout: Duration) {
        let tracer_provider = self.tracer_provider.clone();
        let meter_provider = self.meter_provider.clone();
        drop(self);
        // The SDK's shutdown blocks (it joins exporter threads).
        let flush = tokio::task::spawn_blocking(move || {
            (
                tracer_provider.shutdown_with_timeout(timeout),
                meter_provider.shutdown_with_timeout(timeout),
            )
        });
        match tokio::time::timeout(timeout, flush).await {
            Ok(Ok((traces, metrics))) => {
                for (signal, result) in [("traces", traces), ("metrics", metrics)] {
                    match result {
                        Ok(()) | Err(OTelSdkError::AlreadyShutdown) => {}
                        Err(error) => {
                            tracing::warn!(signal, %error, "telemetry: flushing on shutdown failed")
                        }
                    }
                }
            }
            Ok(Err(error)) => tracing::warn!(%error, "telemetry: shutdown task failed"),
            Err(_) => tracing::warn!(
                ?timeout,
                "telemetry: shutdown did not finish within its budget"
            ),
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        tracer::release(self.id);
    }
}

/// Installs the process-wide subscriber once: the OpenTelemetry bridge and the
/// JSON log layer, each behind a [`logging::LogFilter`], plus the `log`-crate
/// bridge and the W3C trace-context propagator.
fn install_global_subscriber(service: &str, level: LogLevel) -> anyhow::Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let directives = logging::directives(level, std::env::var("RUST_LOG").ok().as_deref());
            #[cfg(not(test))]
            let writer = std::io::stdout;
            #[cfg(test)]
            let writer = tracing_subscriber::fmt::TestWriter::new();
            let subscriber = subscriber(service, &directives, writer).map_err(|e| e.to_string())?;
            // Another global subscriber (e.g. a test harness's) keeps priority.
            let _ = subscriber.try_init();
            opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
            Ok(())
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// The subscriber [`Telemetry::init`] installs, writing log lines to `writer`.
fn subscriber<W>(
    service: &str,
    directives: &str,
    writer: W,
) -> anyhow::Result<impl tracing::Subscriber + Send + Sync + 'static>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    Ok(tracing_subscriber::registry()
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer::AppTracer)
                .with_tracked_inactivity(false)
                .with_threads(false)
                .with_filter(logging::LogFilter::new(directives)?),
        )
        .with(
            logging::JsonLogLayer::new(service, writer)
                .with_filter(logging::LogFilter::new(directives)?),
        ))
}

fn build_tracer_provider(
    otel: &OtelConfig,
    resource: Resource,
) -> anyhow::Result<SdkTracerProvider> {
    let builder = SdkTracerProvider::builder().with_resource(resource);
    Ok(match otel.traces_exporter {
        // Ids for log correlation, nothing recorded.
        TracesExporter::None => builder
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
            .build(),
        TracesExporter::Stdout => builder
            .with_batch_exporter(opentelemetry_stdout::SpanExporter::default())
            .build(),
        TracesExporter::Otlp => {
            let exporter = match otel.protocol {
                OtelProtocol::Grpc => {
                    let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic();
                    if let Some(endpoint) = &otel.endpoint {
                        exporter = exporter.with_endpoint(endpoint.clone());
                    }
                    exporter.build()
                }
                OtelProtocol::HttpProtobuf => {
                    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
                        .with_http()
                        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
                    if let Some(endpoint) = &otel.endpoint {
                        exporter = exporter.with_endpoint(signal_url(endpoint, "v1/traces"));
                    }
                    exporter.build()
                }
            }
            .context("cannot build the OTLP span exporter (BACKEND_OTEL_ENDPOINT?)")?;
            builder.with_batch_exporter(exporter).build()
        }
    })
}

fn build_meter_provider(
    otel: &OtelConfig,
    resource: Resource,
) -> anyhow::Result<(SdkMeterProvider, Option<prometheus::Registry>)> {
    let builder = SdkMeterProvider::builder().with_resource(resource);
    Ok(match otel.metrics_exporter {
        // No reader: the instruments are no-ops (see `Telemetry::init_with`).
        MetricsExporter::None => (builder.build(), None),
        MetricsExporter::Stdout => (
            builder
                .with_periodic_exporter(opentelemetry_stdout::MetricExporter::default())
                .build(),
            None,
        ),
        MetricsExporter::Otlp => {
            let exporter = match otel.protocol {
                OtelProtocol::Grpc => {
                    let mut exporter = opentelemetry_otlp::MetricExporter::builder().with_tonic();
                    if let Some(endpoint) = &otel.endpoint {
                        exporter = exporter.with_endpoint(endpoint.clone());
                    }
                    exporter.build()
                }
                OtelProtocol::HttpProtobuf => {
                    let mut exporter = opentelemetry_otlp::MetricExporter::builder()
                        .with_http()
                        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
                    if let Some(endpoint) = &otel.endpoint {
                        exporter = exporter.with_endpoint(signal_url(endpoint, "v1/metrics"));
                    }
                    exporter.build()
                }
            }
            .context("cannot build the OTLP metric exporter (BACKEND_OTEL_ENDPOINT?)")?;
            (builder.with_periodic_exporter(exporter).build(), None)
        }
        MetricsExporter::Prometheus => {
            let registry = prometheus::Registry::new();
            // Names in `names` are final: no unit or `_total` suffixes, no scope labels.
            let exporter = opentelemetry_prometheus::exporter()
                .with_registry(registry.clone())
                .without_units()
                .without_counter_suffixes()
                .scope_info_enabled(false)
                .build()
                .context("cannot build the Prometheus exporter")?;
            (builder.with_reader(exporter).build(), Some(registry))
        }
    })
}

/// `BACKEND_OTEL_ENDPOINT` is the collector's base URL (as
/// `OTEL_EXPORTER_OTLP_ENDPOINT`); OTLP/HTTP posts each signal to its own path.
fn signal_url(endpoint: &str, path: &str) -> String {
    format!("{}/{path}", endpoint.trim_end_matches('/'))
}

fn render_prometheus(registry: &prometheus::Registry) -> axum::response::Response {
    let mut body = String::new();
    match prometheus::TextEncoder::new().encode_utf8(&registry.gather(), &mut body) {
        Ok(()) => (
            [(axum::http::header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode Prometheus metrics");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::SocketAddr;

    use axum::body::Body;
    use axum::extract::Request;
    use opentelemetry::trace::TraceContextExt as _;
    use tower::ServiceExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    use super::*;

    pub(crate) fn settings(
        traces: TracesExporter,
        metrics: MetricsExporter,
    ) -> (LoggingConfig, OtelConfig) {
        (
            LoggingConfig {
                level: LogLevel::Info,
            },
            OtelConfig {
                traces_exporter: traces,
                metrics_exporter: metrics,
                protocol: OtelProtocol::Grpc,
                endpoint: None,
                prometheus_listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                service_name: "galaxy-backend-test".to_owned(),
            },
        )
    }

    pub(crate) fn prometheus_settings() -> (LoggingConfig, OtelConfig) {
        settings(TracesExporter::None, MetricsExporter::Prometheus)
    }

    /// `GET /metrics` on the application's Prometheus router.
    pub(crate) async fn scrape(telemetry: &Telemetry) -> String {
        let router = telemetry.prometheus_router().expect("prometheus exporter");
        let response = router
            .oneshot(
                Request::builder()
                    .uri("/metrics")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], prometheus::TEXT_FORMAT);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    /// A thread-local subscriber with only the OpenTelemetry bridge.
    pub(crate) fn otel_only_subscriber() -> impl tracing::Subscriber + Send + Sync {
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(tracer::AppTracer))
    }

    #[tokio::test]
    async fn the_prometheus_router_serves_http_requests_total() {
        let (logging, otel) = prometheus_settings();
        let telemetry = Telemetry::init_with(&logging, &otel).unwrap();
        telemetry.metrics().http().record(
            "public",
            "GET",
            "/api/v1/public/x",
            200,
            Duration::from_millis(3),
        );
        let text = scrape(&telemetry).await;
        assert!(
            text.contains("# TYPE http_requests_total counter"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE http_request_duration_seconds histogram"),
            "{text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("http_requests_total{")
                && l.contains("group=\"public\"")
                && l.ends_with(" 1")),
            "{text}"
        );
        assert!(
            text.contains("service_name=\"galaxy-backend-test\""),
            "target_info carries service.name:\n{text}"
        );
        assert!(!text.contains("otel_scope_name"), "{text}");
        telemetry.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn only_the_prometheus_exporter_has_a_router_and_every_exporter_builds() {
        for metrics in [
            MetricsExporter::None,
            MetricsExporter::Stdout,
            MetricsExporter::Otlp,
        ] {
            for traces in [
                TracesExporter::None,
                TracesExporter::Stdout,
                TracesExporter::Otlp,
            ] {
                for protocol in [OtelProtocol::Grpc, OtelProtocol::HttpProtobuf] {
                    let (logging, mut otel) = settings(traces, metrics);
                    otel.protocol = protocol;
                    // Loopback port 9 (discard): nothing listens, nothing leaves the host.
                    otel.endpoint = Some("http://127.0.0.1:9".to_owned());
                    let telemetry = Telemetry::init_with(&logging, &otel).unwrap();
                    assert!(telemetry.prometheus_router().is_none());
                    telemetry.shutdown(Duration::from_millis(200)).await;
                }
            }
        }
    }

    #[tokio::test]
    async fn spans_have_trace_ids_with_the_traces_exporter_none_and_after_shutdown() {
        let (logging, otel) = settings(TracesExporter::None, MetricsExporter::None);
        let telemetry = Telemetry::init_with(&logging, &otel).unwrap();
        let _guard = tracing::subscriber::set_default(otel_only_subscriber());
        let trace_id = || {
            let span = tracing::info_span!("work");
            span.context().span().span_context().trace_id()
        };
        assert_ne!(trace_id(), opentelemetry::trace::TraceId::INVALID);
        telemetry.shutdown(Duration::from_secs(1)).await;
        assert_ne!(trace_id(), opentelemetry::trace::TraceId::INVALID);
    }

    #[tokio::test]
    async fn db_pool_counters_and_gauges_are_exported() {
        let (logging, otel) = prometheus_settings();
        let telemetry = Telemetry::init_with(&logging, &otel).unwrap();
        let db = telemetry.metrics().db_pool().clone();
        db.record_acquire();
        db.record_acquire();
        db.record_new_connection();
        // A lazy pool opens no connection: size 0, nothing idle.
        let pool = db
            .instrument(sqlx::postgres::PgPoolOptions::new().max_connections(7))
            .connect_lazy("postgres://nobody@127.0.0.1:9/none")
            .unwrap();
        db.observe_pool(&pool);
        let text = scrape(&telemetry).await;
        let value = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{name}{{")) && l.contains("pool=\"backend\""))
                .unwrap_or_else(|| panic!("no {name} in\n{text}"))
                .rsplit(' ')
                .next()
                .unwrap()
                .to_owned()
        };
        assert_eq!(value(names::DB_POOL_ACQUIRES_TOTAL), "3");
        assert_eq!(value(names::DB_POOL_WAITS_TOTAL), "1");
        assert_eq!(value(names::DB_POOL_IN_USE), "0");
        assert_eq!(value(names::DB_POOL_IDLE), "0");
        assert_eq!(value(names::DB_POOL_MAX), "7");
        telemetry.shutdown(Duration::from_secs(1)).await;
    }

    #[test]
    fn the_http_endpoint_gets_the_signal_path() {
        assert_eq!(
            signal_url("http://collector:4318", "v1/traces"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            signal_url("http://collector:4318/", "v1/metrics"),
            "http://collector:4318/v1/metrics"
        );
    }

    #[test]
    fn metrics_noop_records_nothing_and_does_not_panic() {
        let metrics = Metrics::noop();
        metrics
            .http()
            .record("other", "GET", UNMATCHED, 404, Duration::ZERO);
        metrics.db_pool().record_acquire();
        metrics.db_pool().record_new_connection();
    }
}
