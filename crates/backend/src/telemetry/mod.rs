//! Logs, traces and metrics (OpenTelemetry), owned by the telemetry helper.
