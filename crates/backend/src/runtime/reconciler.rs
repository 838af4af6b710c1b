//! The reconciler (`BACKEND_RUNTIME_RECONCILE_INTERVAL`): one step compares
//! what the driver runs (every engine labelled `galaxy.backend=1`) with the
//! runtime records, and probes each running engine's `/healthz`:
//!
//! - a labelled engine of a known game without a record is **adopted**
//!   (record created from its labels, op-logged `adopt`);
//! - a recorded engine that is gone is marked `removed`; one that exited is
//!   marked `engine_unreachable`; one that does not answer `/healthz` too —
//!   the lobby pauses the game (`game.paused`);
//! - an unreachable engine that answers again is `running` again (the
//!   lobby resumes the game).
//!
//! Games with an operation queued or running are left to it. Every change
//! is op-logged with `requested_by = reconciler`.

use std::collections::{HashMap, HashSet};

use super::driver::{EngineInfo, EngineState};
use super::model::{OpKind, OpState, Requester, RuntimeRecord, RuntimeStatus};
use super::service::RuntimeService;
use super::store::{self, NewRecord};
use crate::ids::GameId;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub engines: usize,
    pub adopted: usize,
    pub removed: usize,
    pub unreachable: usize,
    pub recovered: usize,
    pub restarted: usize,
    pub probed: usize,
}

impl RuntimeService {
    /// One reconciler pass.
    #[tracing::instrument(name = "runtime.reconcile", skip_all)]
    pub async fn reconcile(&self) -> Result<ReconcileReport, anyhow::Error> {
        let listed = async {
            self.inner.driver.prepare().await?;
            self.inner.driver.list().await
        };
        let engines = match self.driver_call("list", listed).await {
            Ok(engines) => engines,
            Err(err) => {
                // The daemon is down: nothing is marked (we cannot see), the
                // next pass tries again. The worker loop logs it, once.
                return Err(anyhow::Error::from(err)
                    .context("reconciler cannot list engines; retrying next interval"));
            }
        };
        let mut report = ReconcileReport {
            engines: engines.len(),
            ..ReconcileReport::default()
        };
        let records: HashMap<GameId, RuntimeRecord> = store::records(&self.inner.db)
            .await?
            .into_iter()
            .map(|r| (r.game_id, r))
            .collect();
        let busy: HashSet<GameId> = store::games_with_open_operations(&self.inner.db)
            .await?
            .into_iter()
            .collect();
        let by_name: HashMap<&str, &EngineInfo> =
            engines.iter().map(|e| (e.name.as_str(), e)).collect();

        for engine in &engines {
            let Some(game_id) = engine.game_id else {
                continue;
            };
            if records.contains_key(&game_id) || busy.contains(&game_id) {
                continue;
            }
            if self.adopt(game_id, engine).await? {
                report.adopted += 1;
            }
        }

        for record in records.values() {
            if busy.contains(&record.game_id) || !record.status.expects_engine() {
                continue;
            }
            match by_name.get(record.container_name.as_str()) {
                None => {
                    self.mark(
                        record,
                        RuntimeStatus::Removed,
                        OpKind::MarkRemoved,
                        "the engine is gone",
                    )
                    .await?;
                    report.removed += 1;
                }
                Some(engine) if engine.state != EngineState::Running => {
                    if record.status != RuntimeStatus::EngineUnreachable {
                        self.mark(
                            record,
                            RuntimeStatus::EngineUnreachable,
                            OpKind::MarkUnreachable,
                            "the engine exited",
                        )
                        .await?;
                        report.unreachable += 1;
                    }
                    // Its state is intact: start it again (the start reuses
                    // the engine and does not initialise it twice).
                    self.restart_exited(record.game_id).await?;
                    report.restarted += 1;
                }
                Some(engine) => {
                    report.probed += 1;
                    match self.probe(record, engine).await? {
                        Probe::Healthy if record.status == RuntimeStatus::EngineUnreachable => {
                            self.mark(
                                record,
                                RuntimeStatus::Running,
                                OpKind::MarkRunning,
                                "the engine answers again",
                            )
                            .await?;
                            report.recovered += 1;
                        }
                        Probe::Unhealthy(why)
                            if record.status != RuntimeStatus::EngineUnreachable =>
                        {
                            self.mark(
                                record,
                                RuntimeStatus::EngineUnreachable,
                                OpKind::MarkUnreachable,
                                &why,
                            )
                            .await?;
                            report.unreachable += 1;
                        }
                        _ => {}
                    }
                }
            }
        }
        if report
            != (ReconcileReport {
                engines: report.engines,
                probed: report.probed,
                ..ReconcileReport::default()
            })
        {
            tracing::info!(?report, "reconciler pass changed runtimes");
        }
        Ok(report)
    }

    /// [`reconcile`](Self::reconcile) as a worker step.
    pub async fn reconcile_step(&self) -> Result<crate::worker::StepOutcome, anyhow::Error> {
        self.reconcile().await?;
        Ok(crate::worker::StepOutcome::Idle)
    }

    async fn restart_exited(&self, game_id: GameId) -> Result<(), anyhow::Error> {
        let mut tx = self.inner.db.begin().await?;
        store::enqueue(
            &mut tx,
            game_id,
            OpKind::Start,
            &serde_json::json!({ "reason": "the engine exited" }),
            &Requester::Reconciler.as_text(),
            self.attempts(OpKind::Start),
        )
        .await?;
        tx.commit().await?;
        self.forget_ops(game_id);
        Ok(())
    }

    async fn adopt(&self, game_id: GameId, engine: &EngineInfo) -> Result<bool, anyhow::Error> {
        if self.inner.lobby.entry(game_id).await.is_err() {
            let first = self
                .inner
                .foreign
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(engine.name.clone());
            if first {
                tracing::warn!(game_id = %game_id, engine = %engine.name,
                    "a labelled engine names a game this database does not know; left alone");
            }
            return Ok(false);
        }
        let label = engine.engine_version.clone().unwrap_or_default();
        let running = engine.state == EngineState::Running && engine.base_url.is_some();
        let mut tx = self.inner.db.begin().await?;
        store::upsert_record(
            &mut tx,
            &NewRecord {
                game_id,
                engine_version: &label,
                image_ref: &engine.image,
                driver: self.inner.driver.name(),
                container_name: &engine.name,
                status: if running {
                    RuntimeStatus::Running
                } else {
                    RuntimeStatus::Stopped
                },
                seed: 0,
            },
        )
        .await?;
        if running {
            store::set_running(
                &mut tx,
                game_id,
                &engine.id,
                engine.base_url.as_deref().unwrap_or_default(),
                0,
            )
            .await?;
        }
        store::log_done(
            &mut tx,
            game_id,
            OpKind::Adopt,
            &Requester::Reconciler.as_text(),
            OpState::Succeeded,
            &format!("adopted {} ({})", engine.name, engine.image),
            None,
        )
        .await?;
        tx.commit().await?;
        self.refresh(game_id).await?;
        tracing::warn!(game_id = %game_id, engine = %engine.name, image = %engine.image,
            "reconciler adopted an engine that had no runtime record");
        Ok(true)
    }

    async fn probe(
        &self,
        record: &RuntimeRecord,
        engine: &EngineInfo,
    ) -> Result<Probe, anyhow::Error> {
        let Some(url) = engine.base_url.as_deref().or(record.base_url.as_deref()) else {
            self.inner.metrics.probe("unreachable");
            return Ok(Probe::Unhealthy("the engine has no address".into()));
        };
        let probe = match self.inner.engine.health(url).await {
            Ok(_) => {
                self.inner.metrics.probe("ok");
                Probe::Healthy
            }
            Err(err) => {
                self.inner.metrics.probe(if err.is_unavailable() {
                    "unreachable"
                } else {
                    "error"
                });
                Probe::Unhealthy(format!("/healthz: {err}"))
            }
        };
        // The address may have changed (a restarted daemon publishes a new port).
        if engine.base_url.is_some() && engine.base_url != record.base_url {
            store::set_address(&self.inner.db, record.game_id, url).await?;
        }
        store::set_health(
            &self.inner.db,
            record.game_id,
            matches!(probe, Probe::Healthy),
            None,
        )
        .await?;
        self.refresh(record.game_id).await?;
        Ok(probe)
    }

    async fn mark(
        &self,
        record: &RuntimeRecord,
        status: RuntimeStatus,
        op: OpKind,
        why: &str,
    ) -> Result<(), anyhow::Error> {
        let game_id = record.game_id;
        let mut tx = self.inner.db.begin().await?;
        store::set_status(&mut tx, game_id, status, Some(why)).await?;
        store::log_done(
            &mut tx,
            game_id,
            op,
            &Requester::Reconciler.as_text(),
            OpState::Succeeded,
            &format!("{} → {status}: {why}", record.status),
            None,
        )
        .await?;
        tx.commit().await?;
        self.refresh(game_id).await?;
        tracing::warn!(game_id = %game_id, from = %record.status, to = %status, why, "reconciler changed a runtime");
        self.snapshot(game_id, record.current_turn, status.as_str())
            .await
            .map_err(|f| anyhow::anyhow!(f.message))?;
        Ok(())
    }
}

enum Probe {
    Healthy,
    Unhealthy(String),
}
