//! What a domain's `install` step registers with while the process is
//! assembled (`app.rs`): the pool and metrics it is built with, the
//! background loops it runs ([`Workers`]), the cache warm-ups `/readyz`
//! waits for ([`Warmup`]) and the caches other instances' writes must reach
//! ([`CacheBus`]). Each domain has one `install` function taking
//! an [`Assembly`] and the services it uses; `app.rs` calls them in
//! dependency order.

use sqlx::PgPool;

use crate::cluster::{CacheBus, InstanceId, Leadership};
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
    /// Where each domain registers its coherent caches; its listener is
    /// one of `workers`.
    pub caches: CacheBus,
}

impl Assembly {
    /// `leadership` gates the singleton loops registered on `workers`.
    /// The cache listener (every instance runs one) is registered here.
    pub fn new(db: PgPool, leadership: &Leadership, metrics: Metrics) -> Self {
        let instance = leadership.instance().clone();
        let caches = CacheBus::new(instance.application_name(), &metrics);
        let mut workers = Workers::with_leadership(leadership.clone());
        workers.spawn(caches.clone().run(db.clone(), workers.stop_token()));
        Self {
            db,
            instance,
            metrics,
            workers,
            warmups: Vec::new(),
            caches,
        }
    }

    /// Registers a cache warm-up; `/readyz` stays 503 until it finished.
    /// It starts once the cache listener's `LISTEN` is in place, so no
    /// other instance's write committed after its read is missed.
    pub fn warm(&mut self, warmup: Warmup) {
        let Warmup { name, run } = warmup;
        let listening = self.caches.listening();
        self.warmups.push(Warmup {
            name,
            run: Box::pin(async move {
                listening.await;
                run.await
            }),
        });
    }
}
