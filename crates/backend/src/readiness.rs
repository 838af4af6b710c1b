//! What `/readyz` waits for: migrations applied, the gRPC listener bound,
//! and every registered cache warmed (PostgreSQL reachability is checked
//! live on each probe). Domains register their caches before serving starts
//! and mark them warm when their warm-up ([`Warmup`]) finishes.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// A cache warm-up run once at startup; `/readyz` waits for all of them.
pub struct Warmup {
    pub name: &'static str,
    pub run: Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>,
}

impl Warmup {
    /// The warm-up `name` (as `/readyz` reports it) running `load`.
    pub fn new<E>(
        name: &'static str,
        load: impl Future<Output = Result<(), E>> + Send + 'static,
    ) -> Self
    where
        E: Into<anyhow::Error>,
    {
        Self {
            name,
            run: Box::pin(async move { load.await.map_err(Into::into) }),
        }
    }
}

#[derive(Clone, Default)]
pub struct Readiness(Arc<Inner>);

#[derive(Default)]
struct Inner {
    migrations_applied: AtomicBool,
    grpc_bound: AtomicBool,
    caches_pending: Mutex<BTreeSet<&'static str>>,
}

/// The state of every check, as sent in the 503 details.
#[derive(Debug, Serialize)]
pub struct ReadinessReport {
    pub postgres: bool,
    pub migrations: bool,
    pub grpc: bool,
    /// Caches whose warm-up has not finished yet.
    pub caches_pending: Vec<&'static str>,
}

impl ReadinessReport {
    pub fn ready(&self) -> bool {
        self.postgres && self.migrations && self.grpc && self.caches_pending.is_empty()
    }
}

impl Readiness {
    pub fn mark_migrations_applied(&self) {
        self.0.migrations_applied.store(true, Ordering::Release);
    }

    pub fn mark_grpc_bound(&self) {
        self.0.grpc_bound.store(true, Ordering::Release);
    }

    /// Declares a cache that must warm before the service is ready.
    pub fn register_cache(&self, name: &'static str) {
        self.pending().insert(name);
    }

    pub fn mark_cache_warm(&self, name: &'static str) {
        self.pending().remove(name);
    }

    pub fn report(&self, postgres_reachable: bool) -> ReadinessReport {
        ReadinessReport {
            postgres: postgres_reachable,
            migrations: self.0.migrations_applied.load(Ordering::Acquire),
            grpc: self.0.grpc_bound.load(Ordering::Acquire),
            caches_pending: self.pending().iter().copied().collect(),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeSet<&'static str>> {
        // A poisoned set is still a valid set of names.
        self.0
            .caches_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_check_holds() {
        let r = Readiness::default();
        r.register_cache("sessions");
        assert!(!r.report(true).ready());
        r.mark_migrations_applied();
        r.mark_grpc_bound();
        assert!(!r.report(true).ready(), "a pending cache keeps it unready");
        r.mark_cache_warm("sessions");
        assert!(r.report(true).ready());
        assert!(
            !r.report(false).ready(),
            "an unreachable database makes it unready again"
        );
    }
}
