//! The push stream's instruments (spec §15): `grpc_push_subscribers`
//! (gauge of open streams), `grpc_push_events_total{kind}` (events
//! published, by notification kind or `session_invalidation`) and
//! `grpc_push_dropped_total{gateway_client_id}` (events dropped for a slow
//! gateway) and `grpc_push_outbox_dropped_total` (events dropped before
//! they reached PostgreSQL).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, ObservableGauge};

use crate::telemetry::Metrics;
use crate::telemetry::names::{self, label};

#[derive(Clone)]
pub struct PushMetrics {
    events: Counter<u64>,
    dropped: Counter<u64>,
    outbox_dropped: Counter<u64>,
    subscribers: Arc<AtomicI64>,
    _subscribers_gauge: Arc<ObservableGauge<i64>>,
}

impl PushMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        let meter = metrics.meter();
        let subscribers = Arc::new(AtomicI64::new(0));
        let observed = Arc::clone(&subscribers);
        let gauge = meter
            .i64_observable_gauge(names::GRPC_PUSH_SUBSCRIBERS)
            .with_description("Open SubscribePush streams (connected gateways).")
            .with_callback(move |observer| observer.observe(observed.load(Ordering::Relaxed), &[]))
            .build();
        Self {
            events: meter
                .u64_counter(names::GRPC_PUSH_EVENTS_TOTAL)
                .with_description("Push events published, by kind (a notification kind or session_invalidation).")
                .build(),
            dropped: meter
                .u64_counter(names::GRPC_PUSH_DROPPED_TOTAL)
                .with_description("Push events dropped for a gateway that read too slowly (its oldest queued events).")
                .build(),
            outbox_dropped: meter
                .u64_counter(names::GRPC_PUSH_OUTBOX_DROPPED_TOTAL)
                .with_description("Push events dropped before they were written to PostgreSQL (the outbox was full while PostgreSQL was unreachable).")
                .build(),
            subscribers,
            _subscribers_gauge: Arc::new(gauge),
        }
    }

    pub(crate) fn record_event(&self, kind: &str) {
        self.events
            .add(1, &[KeyValue::new(label::KIND, kind.to_owned())]);
    }

    /// `attrs`: the subscriber's prebuilt `gateway_client_id` label.
    pub(crate) fn record_dropped(&self, attrs: &[KeyValue]) {
        self.dropped.add(1, attrs);
    }

    pub(crate) fn record_outbox_dropped(&self) {
        self.outbox_dropped.add(1, &[]);
    }

    pub(crate) fn subscriber_added(&self) {
        self.subscribers.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn subscriber_removed(&self) {
        self.subscribers.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn gateway_label(gateway_client_id: &str) -> [KeyValue; 1] {
        [KeyValue::new(
            label::GATEWAY_CLIENT_ID,
            gateway_client_id.to_owned(),
        )]
    }
}
