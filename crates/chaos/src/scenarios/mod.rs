//! The scenarios, one module each; [`all`] lists them in run order.

use std::future::Future;
use std::pin::Pin;

use crate::Outcome;

pub mod auth_flood;
pub mod engine_faults;
pub mod leader_loss;
pub mod mail_kill;
pub mod pg_restart;
pub mod push_churn;
pub mod sigterm;
pub mod smtp_outage;

/// A scenario's entry point: the run's seed in, its outcome out.
pub type Run = fn(u64) -> Pin<Box<dyn Future<Output = anyhow::Result<Outcome>>>>;

/// One scenario: its name on the command line, what it proves, how to run it.
pub struct Scenario {
    pub name: &'static str,
    pub proves: &'static str,
    pub run: Run,
}

/// Every scenario, in run order.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "mail-kill9",
            proves: "1,000 deliveries, the backend SIGKILLed 20 times while draining: all delivered, duplicates <= kills, none stuck",
            run: |seed| Box::pin(mail_kill::run(seed)),
        },
        Scenario {
            name: "smtp-outage",
            proves: "451 for a minute: retried on the backoff schedule, delivered after; 550: dead-lettered without retry; relay down: retried, no busy loop",
            run: |seed| Box::pin(smtp_outage::run(seed)),
        },
        Scenario {
            name: "sigterm-load",
            proves: "SIGTERM under load: no 5xx for requests in flight, no outbox row lost, exit 0 within the budget",
            run: |seed| Box::pin(sigterm::run(seed)),
        },
        Scenario {
            name: "pg-restart",
            proves: "PostgreSQL restarted (immediate) under load: /readyz 503 then 200 by itself, workers resume, no row lost, no request past its timeout",
            run: |seed| Box::pin(pg_restart::run(seed)),
        },
        Scenario {
            name: "auth-flood",
            proves: "10k wrong codes for one address: <= 100 counted, then 429, known and unknown addresses alike; an admin password flood locks out nobody else and keeps user p99 within 2x",
            run: |seed| Box::pin(auth_flood::run(seed)),
        },
        Scenario {
            name: "leader-loss",
            proves: "two instances on one database: the leader SIGKILLed 5 times under a mail drain and once mid-turn: a standby leads within one interval, no mail lost, duplicates within the at-least-once bound, a revocation seen by the other instance within 1 s, the turn run exactly once",
            run: |seed| Box::pin(leader_loss::run(seed)),
        },
        Scenario {
            name: "push-churn",
            proves: "gateways resuming with their last cursor while the backend is SIGKILLed and restarted: every event replayed or marked by reset, never silently skipped",
            run: |seed| Box::pin(push_churn::run(seed)),
        },
        Scenario {
            name: "engine-faults",
            proves: "the engine container killed mid-turn, the Docker daemon restarted mid-game, an engine hanging past the call timeout: paused with game.paused, resumed, the turn run exactly once on the orders sent before",
            run: |seed| Box::pin(engine_faults::run(seed)),
        },
    ]
}
