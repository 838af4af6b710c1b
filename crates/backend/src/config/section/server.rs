//! The listeners: HTTP (`BACKEND_HTTP_*`), gRPC push
//! (`BACKEND_GRPC_PUSH_*`, `BACKEND_PUSH_*`) and the rule that no two of
//! them (with the Prometheus listener) share a port.

use std::net::SocketAddr;

use crate::config::load::Loader;
use crate::config::parse::{parse_listen_addr, parse_size};
use crate::config::values::{at_least, positive_duration, u32_in};
use crate::config::{GrpcConfig, HttpConfig};

impl Loader {
    pub(in crate::config) fn http(&mut self) -> Option<HttpConfig> {
        let listen_addr = self.value("BACKEND_HTTP_LISTEN_ADDR", parse_listen_addr);
        let read_timeout = self.value("BACKEND_HTTP_READ_TIMEOUT", positive_duration);
        let write_timeout = self.value("BACKEND_HTTP_WRITE_TIMEOUT", positive_duration);
        let shutdown_timeout = self.value("BACKEND_HTTP_SHUTDOWN_TIMEOUT", positive_duration);
        let max_body_bytes = self.value("BACKEND_HTTP_MAX_BODY_SIZE", |s| {
            at_least(parse_size(s)?, 1, "1 byte")
        });
        Some(HttpConfig {
            listen_addr: listen_addr?,
            read_timeout: read_timeout?,
            write_timeout: write_timeout?,
            shutdown_timeout: shutdown_timeout?,
            max_body_bytes: max_body_bytes?,
        })
    }

    pub(in crate::config) fn grpc(&mut self) -> Option<GrpcConfig> {
        let push_listen_addr = self.value("BACKEND_GRPC_PUSH_LISTEN_ADDR", parse_listen_addr);
        let push_shutdown_timeout =
            self.value("BACKEND_GRPC_PUSH_SHUTDOWN_TIMEOUT", positive_duration);
        let push_buffer_capacity =
            self.value("BACKEND_PUSH_BUFFER_CAPACITY", |s| u32_in(s, 1, 10_000_000));
        let push_subscriber_queue =
            self.value("BACKEND_PUSH_SUBSCRIBER_QUEUE", |s| u32_in(s, 1, 1_000_000));
        Some(GrpcConfig {
            push_listen_addr: push_listen_addr?,
            push_shutdown_timeout: push_shutdown_timeout?,
            push_buffer_capacity: push_buffer_capacity?,
            push_subscriber_queue: push_subscriber_queue?,
        })
    }

    /// Two listeners on one port would fail at bind time, after migrations ran.
    pub(in crate::config) fn check_listeners_distinct(
        &mut self,
        listeners: [(&'static str, Option<SocketAddr>); 4],
    ) {
        let bound: Vec<(&'static str, SocketAddr)> = listeners
            .into_iter()
            .filter_map(|(name, addr)| Some((name, addr?)))
            .collect();
        for (i, (name, addr)) in bound.iter().enumerate() {
            if let Some((other, _)) = bound[..i]
                .iter()
                .find(|(_, earlier)| same_listener(*earlier, *addr))
            {
                self.fail(
                    name,
                    format!("port {} is already used by {other}", addr.port()),
                );
            }
        }
    }
}

fn same_listener(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn push_buffer_settings_have_defaults_and_are_checked() {
        let c = load(&[]);
        assert_eq!(
            (c.grpc.push_buffer_capacity, c.grpc.push_subscriber_queue),
            (65_536, 4_096)
        );
        let c = load(&[
            ("BACKEND_PUSH_BUFFER_CAPACITY", "10"),
            ("BACKEND_PUSH_SUBSCRIBER_QUEUE", "1"),
        ]);
        assert_eq!(
            (c.grpc.push_buffer_capacity, c.grpc.push_subscriber_queue),
            (10, 1)
        );
        refused_for(
            "BACKEND_PUSH_BUFFER_CAPACITY",
            &[("BACKEND_PUSH_BUFFER_CAPACITY", "0")],
        );
        refused_for(
            "BACKEND_PUSH_SUBSCRIBER_QUEUE",
            &[("BACKEND_PUSH_SUBSCRIBER_QUEUE", "2000000")],
        );
    }

    #[test]
    fn listeners_sharing_a_port_are_refused() {
        refused_for(
            "BACKEND_GRPC_PUSH_LISTEN_ADDR",
            &[("BACKEND_GRPC_PUSH_LISTEN_ADDR", "127.0.0.1:8080")],
        );
        refused_for(
            "BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR",
            &[
                ("BACKEND_OTEL_METRICS_EXPORTER", "prometheus"),
                ("BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR", ":8081"),
            ],
        );
        // Unused unless the exporter is prometheus; port 0 never collides.
        load(&[("BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR", ":8080")]);
        load(&[
            ("BACKEND_HTTP_LISTEN_ADDR", "127.0.0.1:0"),
            ("BACKEND_GRPC_PUSH_LISTEN_ADDR", "127.0.0.1:0"),
        ]);
    }
}
