//! The runtime's instruments (spec §15): `runtime_container_ops_total{op,
//! outcome}` — every driver call a runtime operation makes — and
//! `runtime_health_probes_total{outcome}` — the reconciler's `/healthz`
//! probes.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};

use crate::telemetry::Metrics;
use crate::telemetry::names::{self, label};

/// Cheap to clone.
#[derive(Clone)]
pub struct RuntimeMetrics {
    ops: Counter<u64>,
    probes: Counter<u64>,
    turns: Counter<u64>,
    turn_duration: Histogram<f64>,
}

impl RuntimeMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        let meter = metrics.meter();
        Self {
            ops: meter
                .u64_counter(names::RUNTIME_CONTAINER_OPS_TOTAL)
                .with_description("Container operations (ensure_image, create, start, stop, remove, inspect, list) by op and outcome (ok, error).")
                .build(),
            probes: meter
                .u64_counter(names::RUNTIME_HEALTH_PROBES_TOTAL)
                .with_description("Engine /healthz probes by the reconciler, by outcome (ok, unreachable, error).")
                .build(),
            turns: meter
                .u64_counter(names::RUNTIME_TURNS_TOTAL)
                .with_description("Scheduler ticks by outcome (ran, engine_unreachable, generation_failed).")
                .build(),
            turn_duration: meter
                .f64_histogram(names::RUNTIME_TURN_DURATION_SECONDS)
                .with_description("Time from a tick's claim to its bookkeeping, engine turn included, in seconds.")
                .with_unit("s")
                .with_boundaries(names::LATENCY_BUCKETS_SECONDS.to_vec())
                .build(),
        }
    }

    pub fn turn(&self, outcome: &'static str, seconds: f64) {
        let attrs = [KeyValue::new(label::OUTCOME, outcome)];
        self.turns.add(1, &attrs);
        self.turn_duration.record(seconds, &attrs);
    }

    pub fn container_op(&self, op: &'static str, ok: bool) {
        self.ops.add(
            1,
            &[
                KeyValue::new(label::OP, op),
                KeyValue::new(label::OUTCOME, if ok { "ok" } else { "error" }),
            ],
        );
    }

    pub fn probe(&self, outcome: &'static str) {
        self.probes
            .add(1, &[KeyValue::new(label::OUTCOME, outcome)]);
    }
}
