//! The pipeline's instruments (spec §15): `notification_intents_total{kind,
//! outcome}` — every submit, by outcome (`accepted`, `duplicate`,
//! `rejected`) — and `notification_routes_total{channel}` — routes
//! materialised by accepted intents. Both count at submit, inside the
//! producer's transaction, so a producer that rolls back is still counted.

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;

use super::catalog::Channel;
use crate::telemetry::Metrics;
use crate::telemetry::names::{self, label};

/// How a submit ended (the `outcome` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitOutcome {
    Accepted,
    Duplicate,
    Rejected,
}

impl SubmitOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
        }
    }
}

#[derive(Clone)]
pub struct NotificationMetrics {
    intents: Counter<u64>,
    routes: Counter<u64>,
}

impl NotificationMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        let meter = metrics.meter();
        Self {
            intents: meter
                .u64_counter(names::NOTIFICATION_INTENTS_TOTAL)
                .with_description(
                    "Notification intents submitted, by kind and outcome (accepted, duplicate, rejected).",
                )
                .build(),
            routes: meter
                .u64_counter(names::NOTIFICATION_ROUTES_TOTAL)
                .with_description(
                    "Notification routes materialised, by channel (push, email, admin_email).",
                )
                .build(),
        }
    }

    /// `kind` must be a catalog kind or `unknown` (bounded cardinality).
    pub fn record_intent(&self, kind: &'static str, outcome: SubmitOutcome) {
        self.intents.add(
            1,
            &[
                KeyValue::new(label::KIND, kind),
                KeyValue::new(label::OUTCOME, outcome.as_str()),
            ],
        );
    }

    pub fn record_route(&self, channel: Channel) {
        self.routes
            .add(1, &[KeyValue::new(label::CHANNEL, channel.as_str())]);
    }
}
