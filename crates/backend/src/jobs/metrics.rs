//! The queue's instruments, one set for every queue (`queue` label: `mail`,
//! `notification`, `jobs`): `job_runs_total{queue, outcome}` — finished
//! attempts by [`RunOutcome`] — and `job_lease_renewals_total{queue}`.
//! Domains keep their own instruments beside these (`mail_attempts_total`, …).

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;

use crate::telemetry::Metrics;
use crate::telemetry::names::{self, label};

/// How one attempt ended, as far as the queue is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Done: the row is finished (sent, skipped, deleted).
    Succeeded,
    /// Failed; runs again after its backoff.
    Retrying,
    /// Failed permanently or for the last time.
    DeadLettered,
    /// Not recorded: the lease ran out and another worker took the row.
    LeaseLost,
}

impl RunOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Retrying => "retrying",
            Self::DeadLettered => "dead_lettered",
            Self::LeaseLost => "lease_lost",
        }
    }
}

/// One queue's handle on the shared instruments. Cheap to clone.
#[derive(Clone)]
pub struct JobMetrics {
    queue: &'static str,
    runs: Counter<u64>,
    renewals: Counter<u64>,
}

impl JobMetrics {
    pub fn new(metrics: &Metrics, queue: &'static str) -> Self {
        let meter = metrics.meter();
        Self {
            queue,
            runs: meter
                .u64_counter(names::JOB_RUNS_TOTAL)
                .with_description("Job attempts finished, by queue and outcome (succeeded, retrying, dead_lettered, lease_lost).")
                .build(),
            renewals: meter
                .u64_counter(names::JOB_LEASE_RENEWALS_TOTAL)
                .with_description("Lease renewals of claimed jobs whose work outlasted a third of the lease, by queue.")
                .build(),
        }
    }

    pub fn queue(&self) -> &'static str {
        self.queue
    }

    pub fn record(&self, outcome: RunOutcome, count: usize) {
        if count > 0 {
            self.runs.add(
                count as u64,
                &[
                    KeyValue::new(label::QUEUE, self.queue),
                    KeyValue::new(label::OUTCOME, outcome.as_str()),
                ],
            );
        }
    }

    pub fn record_renewal(&self) {
        self.renewals
            .add(1, &[KeyValue::new(label::QUEUE, self.queue)]);
    }
}
