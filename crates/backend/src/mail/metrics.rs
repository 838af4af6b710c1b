//! The outbox's instruments (spec §15): `mail_outbox_depth{state}`,
//! `mail_attempts_total{outcome}` and `mail_dead_letters_total`.
//!
//! The depth gauge reports the last count the worker read from the table
//! (refreshed at most once per [`DEPTH_REFRESH`] while it works, and on
//! every idle step), so a scrape never queries PostgreSQL. Every process
//! reports the same, database-wide depth.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, ObservableGauge};

use super::model::{AttemptOutcome, DeliveryState};
use crate::telemetry::Metrics;
use crate::telemetry::names::{self, label};

/// How stale the depth gauge may get while the worker is busy.
pub const DEPTH_REFRESH: Duration = Duration::from_secs(1);

/// The states the depth gauge reports: everything not yet `sent` (sent rows
/// are history, not depth).
pub const DEPTH_STATES: [DeliveryState; 3] = [
    DeliveryState::Pending,
    DeliveryState::Retrying,
    DeliveryState::DeadLettered,
];

#[derive(Clone)]
pub struct MailMetrics {
    attempts: Counter<u64>,
    dead_letters: Counter<u64>,
    depth: Arc<[AtomicI64; 3]>,
    _depth_gauge: Arc<ObservableGauge<i64>>,
}

impl MailMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        let meter = metrics.meter();
        let depth: Arc<[AtomicI64; 3]> =
            Arc::new([AtomicI64::new(0), AtomicI64::new(0), AtomicI64::new(0)]);
        let observed = Arc::clone(&depth);
        let gauge = meter
            .i64_observable_gauge(names::MAIL_OUTBOX_DEPTH)
            .with_description(
                "Mail deliveries not yet sent, by state (pending, retrying, dead_lettered).",
            )
            .with_callback(move |observer| {
                for (state, count) in DEPTH_STATES.iter().zip(observed.iter()) {
                    observer.observe(
                        count.load(Ordering::Relaxed),
                        &[KeyValue::new(label::STATE, state.as_str())],
                    );
                }
            })
            .build();
        Self {
            attempts: meter
                .u64_counter(names::MAIL_ATTEMPTS_TOTAL)
                .with_description("SMTP delivery attempts, by outcome (sent, transient_failure, permanent_failure).")
                .build(),
            dead_letters: meter
                .u64_counter(names::MAIL_DEAD_LETTERS_TOTAL)
                .with_description("Mail deliveries moved to dead_lettered.")
                .build(),
            depth,
            _depth_gauge: Arc::new(gauge),
        }
    }

    pub fn record_attempt(&self, outcome: AttemptOutcome) {
        self.attempts
            .add(1, &[KeyValue::new(label::OUTCOME, outcome.as_str())]);
    }

    pub fn record_dead_letter(&self) {
        self.dead_letters.add(1, &[]);
    }

    /// Replaces the depth snapshot; states missing from `counts` are 0.
    pub fn set_depth(&self, counts: &[(DeliveryState, i64)]) {
        for (state, slot) in DEPTH_STATES.iter().zip(self.depth.iter()) {
            let count = counts
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            slot.store(count, Ordering::Relaxed);
        }
    }
}
