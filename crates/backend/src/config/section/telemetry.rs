//! Logs and OpenTelemetry: `BACKEND_LOGGING_LEVEL`, `BACKEND_OTEL_*`,
//! `BACKEND_SERVICE_NAME`.

use crate::config::load::Loader;
use crate::config::parse::parse_listen_addr;
use crate::config::values::{http_url, one_of, text};
use crate::config::{
    LogLevel, LoggingConfig, MetricsExporter, OtelConfig, OtelProtocol, TracesExporter,
};

impl Loader {
    pub(in crate::config) fn logging(&mut self) -> Option<LoggingConfig> {
        const LEVELS: &[(&str, LogLevel)] = &[
            ("debug", LogLevel::Debug),
            ("info", LogLevel::Info),
            ("warn", LogLevel::Warn),
            // zap and many operators spell it out; accepting it costs nothing.
            ("warning", LogLevel::Warn),
            ("error", LogLevel::Error),
        ];
        let level = self.value("BACKEND_LOGGING_LEVEL", one_of(LEVELS));
        Some(LoggingConfig { level: level? })
    }

    pub(in crate::config) fn otel(&mut self) -> Option<OtelConfig> {
        const TRACES: &[(&str, TracesExporter)] = &[
            ("none", TracesExporter::None),
            ("otlp", TracesExporter::Otlp),
            ("stdout", TracesExporter::Stdout),
        ];
        const METRICS: &[(&str, MetricsExporter)] = &[
            ("none", MetricsExporter::None),
            ("otlp", MetricsExporter::Otlp),
            ("stdout", MetricsExporter::Stdout),
            ("prometheus", MetricsExporter::Prometheus),
        ];
        const PROTOCOLS: &[(&str, OtelProtocol)] = &[
            ("grpc", OtelProtocol::Grpc),
            ("http/protobuf", OtelProtocol::HttpProtobuf),
        ];
        let traces_exporter = self.value("BACKEND_OTEL_TRACES_EXPORTER", one_of(TRACES));
        let metrics_exporter = self.value("BACKEND_OTEL_METRICS_EXPORTER", one_of(METRICS));
        let protocol = self.value("BACKEND_OTEL_PROTOCOL", one_of(PROTOCOLS));
        let endpoint = self.optional("BACKEND_OTEL_ENDPOINT", http_url);
        let prometheus_listen_addr =
            self.value("BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR", parse_listen_addr);
        let service_name = self.value("BACKEND_SERVICE_NAME", text);
        Some(OtelConfig {
            traces_exporter: traces_exporter?,
            metrics_exporter: metrics_exporter?,
            protocol: protocol?,
            endpoint: endpoint?,
            prometheus_listen_addr: prometheus_listen_addr?,
            service_name: service_name?,
        })
    }
}
