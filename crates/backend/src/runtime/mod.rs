//! The game runtime (spec §3 `runtime/`, `dockerclient/`, `engineclient/`):
//! engine versions, one engine per game behind a driver, the engine client,
//! durable runtime jobs and the reconciler. It calls the lobby (never the
//! other way round).
//!
//! - `driver` — [`driver::ContainerRuntime`], the one small trait every way
//!   of running an engine implements; `docker` (bollard) and `process`
//!   (a child `galaxy-game` on a loopback port) implement it;
//! - `engine` — the HTTP client of a running engine (`galaxy-model` types);
//! - `versions` — the engine version registry;
//! - `model` — records, statuses, operations; `store` — all SQL;
//! - `service` — [`RuntimeService`]: records (cached), admin requests,
//!   inspection; `ops` — the operations as durable jobs (start, stop,
//!   restart, patch, banish) and the lobby request intake; `reconciler` —
//!   the reconciler's step; `shadow` — the replay check before a patch;
//!   `play` — a member's orders, reports and turn status (the player's
//!   game endpoints) with their guards;
//! - `metrics`, `error`.
//!
//! Uses: `lobby` (game, members, `on_runtime_snapshot`, its requests),
//! `notification` (the `runtime.*` admin kinds), `audit`, `jobs` (leases,
//! retry policy). Operator notes: `docs/runtime.md`.

pub mod docker;
pub mod driver;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod play;
pub mod process;
pub mod reconciler;
pub mod scheduler;
pub mod service;
pub mod shadow;
pub mod store;
pub mod versions;

use std::sync::Arc;

pub use error::RuntimeError;
pub use model::{OpKind, OpState, Operation, RuntimeRecord, RuntimeStatus};
pub use ops::OpsReport;
pub use play::{OrderSet, PlayError, PlayOrderLine, PlayStatus};
pub use reconciler::ReconcileReport;
pub use scheduler::TurnReport;
pub use service::{Inspection, Requested, RuntimeService, RuntimeSettings};

use crate::config::{Config, RuntimeDriver};
use driver::ContainerRuntime;

/// The driver `BACKEND_RUNTIME_DRIVER` names.
pub fn driver_from_config(config: &Config) -> Arc<dyn ContainerRuntime> {
    match config.runtime.driver {
        RuntimeDriver::Docker => {
            Arc::new(docker::DockerDriver::new(&config.docker, &config.runtime))
        }
        RuntimeDriver::Process => {
            let listed = &config.runtime.process_binaries;
            let mut binaries = match listed.iter().find(|(image, _)| image.is_none()) {
                Some((_, path)) => process::Binaries::single(path.clone()),
                None => process::Binaries::new(),
            };
            for (image, path) in listed {
                if let Some(image) = image {
                    binaries = binaries.with(image.clone(), path.clone());
                }
            }
            Arc::new(process::ProcessDriver::new(
                config.game_state_root.clone(),
                binaries,
            ))
        }
    }
}

/// The runtime's install step: the service, its cache warm-up, and — when
/// workers run here — the operation pool (woken by every enqueue), the
/// lobby request intake and the reconciler.
pub fn install(
    asm: &mut crate::assembly::Assembly,
    config: &Config,
    versions: versions::EngineVersions,
    lobby: crate::lobby::LobbyService,
    notifications: crate::notification::NotificationService,
) -> anyhow::Result<RuntimeService> {
    let engine = engine::EngineClient::new(&config.engine)
        .map_err(|e| anyhow::anyhow!("cannot build the engine HTTP client: {e}"))?;
    let runtime = RuntimeService::new(service::RuntimeParts {
        db: asm.db.clone(),
        driver: driver_from_config(config),
        engine,
        versions,
        lobby,
        notifications,
        settings: RuntimeSettings::from_config(config),
        metrics: asm.metrics.clone(),
    });
    asm.warm(runtime.warmup());
    asm.caches.register(std::sync::Arc::new(runtime.clone()));
    runtime.announce_to(asm.caches.clone());
    if runtime.settings().workers_enabled {
        let pool = runtime.clone();
        runtime.wake().spawn_worker(
            &mut asm.workers,
            "runtime-operations",
            &asm.db,
            runtime.settings().worker_interval,
            move || {
                let pool = pool.clone();
                async move { pool.operations_step().await }
            },
        );
        let intake = runtime.clone();
        asm.workers.spawn_singleton_loop(
            "runtime-intake",
            std::time::Duration::from_secs(1),
            std::sync::Arc::default(),
            move || {
                let intake = intake.clone();
                async move {
                    let taken = intake.take_lobby_requests().await?;
                    Ok::<_, RuntimeError>(if taken > 0 {
                        crate::worker::StepOutcome::MoreWork
                    } else {
                        crate::worker::StepOutcome::Idle
                    })
                }
            },
        );
        runtime.spawn_scheduler(&mut asm.workers);
        let reconciler = runtime.clone();
        asm.workers.spawn_singleton_loop(
            "runtime-reconciler",
            runtime.settings().reconcile_interval,
            std::sync::Arc::default(),
            move || {
                let reconciler = reconciler.clone();
                async move { reconciler.reconcile_step().await }
            },
        );
    }
    Ok(runtime)
}
