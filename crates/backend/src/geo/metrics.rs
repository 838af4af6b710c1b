//! The geo instruments (spec §15): `geo_lookups_total{outcome}` with
//! outcome `found`, `not_found` or `error`, and
//! `geo_counter_dropped_total`, the request hits not counted because a
//! tally shard was full (or, after failed flushes, the carried-over rows).

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;

use crate::telemetry::Metrics;
use crate::telemetry::names::{self, label};

/// How one lookup ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupOutcome {
    Found,
    NotFound,
    Error,
}

impl LookupOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Found => "found",
            Self::NotFound => "not_found",
            Self::Error => "error",
        }
    }
}

#[derive(Clone)]
pub struct GeoMetrics {
    lookups: Counter<u64>,
    dropped: Counter<u64>,
}

impl GeoMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        let meter = metrics.meter();
        Self {
            lookups: meter
                .u64_counter(names::GEO_LOOKUPS_TOTAL)
                .with_description("GeoIP country lookups, by outcome (found, not_found, error).")
                .build(),
            dropped: meter
                .u64_counter(names::GEO_COUNTER_DROPPED_TOTAL)
                .with_description(
                    "Authenticated requests not counted per country because the in-memory tally was full.",
                )
                .build(),
        }
    }

    pub fn record_lookup(&self, outcome: LookupOutcome) {
        self.lookups
            .add(1, &[KeyValue::new(label::OUTCOME, outcome.as_str())]);
    }

    pub fn record_dropped(&self, hits: u64) {
        self.dropped.add(hits, &[]);
    }
}
