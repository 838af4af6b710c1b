//! What a domain's `install` step registers with while the process is
//! assembled (`app.rs`): the pool and metrics it is built with, the
//! background loops it runs ([`Workers`]) and the cache warm-ups `/readyz`
//! waits for ([`Warmup`]). Each domain has one `install` function taking
//! an [`Assembly`] and the services it uses; `app.rs` calls them in
//! dependency order.

use sqlx::PgPool;

use crate::cluster::{InstanceId, Leadership};
use crate::readiness::Warmup;
use crate::telemetry::Metrics;
use crate::worker::Workers;

pub struct Assembly {
    pub db: PgPool,
    /// This process among the instances sharing the database.
    pub instance: InstanceId,
    pub metrics: Metrics,
    pub workers: Workers,
    pub warmups: Vec<Warmup>,
}

impl Assembly {
    /// `leadership` gates the singleton loops registered on `workers`.
    pub fn new(db: PgPool, leadership: &Leadership, metrics: Metrics) -> Self {
        Self {
            db,
            instance: leadership.instance().clone(),
            metrics,
            workers: Workers::with_leadership(leadership.clone()),
            warmups: Vec::new(),
        }
    }

    /// Registers a cache warm-up; `/readyz` stays 503 until it finished.
    pub fn warm(&mut self, warmup: Warmup) {
        self.warmups.push(warmup);
    }
}
