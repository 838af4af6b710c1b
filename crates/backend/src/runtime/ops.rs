//! The runtime's long operations as durable jobs: the pool's step
//! ([`RuntimeService::run_operations`]) claims due operations — one per
//! game at a time, oldest first — runs them under a renewed lease and
//! records how each ended; and the intake step
//! ([`RuntimeService::take_lobby_requests`]) turns the lobby's open
//! requests into operations while the queue has room.
//!
//! Every operation is idempotent: a backend killed mid-operation leaves it
//! leased; once the lease runs out it is claimed again and re-run from the
//! top, and each step checks what is already done (an existing container
//! is reused, an initialised engine is not initialised again, the lobby
//! snapshot and the notifications are keyed).

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use galaxy_model::api::{InitRace, InitRequest};
use serde_json::{Value, json};

use super::driver::{DriverError, EngineInfo, EngineSpec, EngineState, engine_name};
use super::model::{OpKind, OpState, Operation, Requester, RuntimeRecord, RuntimeStatus};
use super::service::RuntimeService;
use super::store::{self, Claimed, NewRecord};
use crate::ids::{GameId, RuntimeRequestId};
use crate::jobs::{AfterFailure, Lease, LeaseKeeper};
use crate::lobby::{GameStatus, LobbyService, RuntimeSnapshot};
use crate::notification::Intent;
use crate::worker::StepOutcome;

/// How an operation ended.
#[derive(Debug)]
pub(super) enum Done {
    Succeeded(String),
    Skipped(String),
}

/// Why an operation failed.
#[derive(Debug)]
pub(super) struct Failure {
    pub message: String,
    /// No retry can fix it.
    pub permanent: bool,
    /// The admin-channel kind telling operators, when it fails for good.
    pub notice: Option<(&'static str, Value)>,
}

impl Failure {
    fn transient(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            permanent: false,
            notice: None,
        }
    }

    fn permanent(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            permanent: true,
            notice: None,
        }
    }

    fn notify(mut self, kind: &'static str, payload: Value) -> Self {
        self.notice = Some((kind, payload));
        self
    }
}

impl From<DriverError> for Failure {
    fn from(err: DriverError) -> Self {
        Self::transient(err)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(err: sqlx::Error) -> Self {
        Self::transient(err)
    }
}

impl From<crate::lobby::LobbyError> for Failure {
    fn from(err: crate::lobby::LobbyError) -> Self {
        Self::transient(err)
    }
}

/// What one pool step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpsReport {
    pub claimed: usize,
    pub succeeded: usize,
    pub skipped: usize,
    pub retrying: usize,
    pub failed: usize,
}

impl RuntimeService {
    /// One step of the pool: claims up to `BACKEND_RUNTIME_WORKER_POOL_SIZE`
    /// due operations, runs them concurrently, records each.
    pub async fn run_operations(&self) -> Result<OpsReport, sqlx::Error> {
        let settings = &self.inner.settings;
        let lease = Lease::new(settings.lease);
        let claimed = store::claim(&self.inner.db, &lease, settings.pool_size as i64).await?;
        if claimed.is_empty() {
            return Ok(OpsReport::default());
        }
        let keeper = LeaseKeeper::start(
            &self.inner.db,
            store::OPS,
            lease,
            claimed.iter().map(|c| c.op.op_id).collect(),
            self.inner.job_metrics.clone(),
        );
        let mut report = OpsReport {
            claimed: claimed.len(),
            ..OpsReport::default()
        };
        let results: Vec<OpState> = futures::stream::iter(claimed)
            .map(|c| self.run_one(&lease, c))
            .buffer_unordered(settings.pool_size.max(1))
            .collect()
            .await;
        drop(keeper);
        for state in results {
            match state {
                OpState::Succeeded => report.succeeded += 1,
                OpState::Skipped => report.skipped += 1,
                OpState::Failed => report.failed += 1,
                OpState::Pending | OpState::Retrying => report.retrying += 1,
            }
        }
        Ok(report)
    }

    /// [`run_operations`](Self::run_operations) as a worker step.
    pub async fn operations_step(&self) -> Result<StepOutcome, sqlx::Error> {
        let report = self.run_operations().await?;
        Ok(if report.claimed >= self.inner.settings.pool_size {
            StepOutcome::MoreWork
        } else {
            StepOutcome::Idle
        })
    }

    async fn run_one(&self, lease: &Lease, claimed: Claimed) -> OpState {
        let Claimed { op, max_attempts } = claimed;
        let span =
            tracing::info_span!("runtime.op", op_id = op.op_id, op = %op.op, game_id = %op.game_id);
        let result = tracing::Instrument::instrument(
            async {
                store::mark_started(&self.inner.db, lease, op.op_id).await?;
                self.forget_ops(op.game_id);
                Ok::<_, sqlx::Error>(self.execute(&op).await)
            },
            span,
        )
        .await;
        let result = match result {
            Ok(result) => result,
            Err(err) => Err(Failure::transient(err)),
        };
        match self.record_outcome(lease, &op, max_attempts, result).await {
            Ok(state) => state,
            Err(err) => {
                tracing::error!(op_id = op.op_id, error = %err, "cannot record a runtime operation; it runs again after its lease");
                OpState::Retrying
            }
        }
    }

    async fn record_outcome(
        &self,
        lease: &Lease,
        op: &Operation,
        max_attempts: i32,
        result: Result<Done, Failure>,
    ) -> Result<OpState, sqlx::Error> {
        let db = &self.inner.db;
        let failure = match result {
            Ok(done) => {
                let (state, outcome) = match done {
                    Done::Succeeded(o) => (OpState::Succeeded, o),
                    Done::Skipped(o) => (OpState::Skipped, o),
                };
                let mut tx = db.begin().await?;
                if store::finish(&mut tx, lease, op.op_id, state, &outcome, None).await? {
                    complete_request(&mut tx, op).await?;
                }
                tx.commit().await?;
                self.forget_ops(op.game_id);
                tracing::info!(op_id = op.op_id, op = %op.op, game_id = %op.game_id, outcome, "runtime operation done");
                return Ok(state);
            }
            Err(failure) => failure,
        };
        let attempt = u32::try_from(op.attempts.max(0)).unwrap_or(0) + 1;
        let policy = crate::jobs::RetryPolicy {
            max_attempts: u32::try_from(max_attempts.max(1)).unwrap_or(1),
            ..self.policy(op.op)
        };
        match policy.after_failure(attempt, failure.permanent) {
            AfterFailure::RetryIn(delay) => {
                tracing::warn!(op_id = op.op_id, op = %op.op, game_id = %op.game_id, attempt,
                    error = %failure.message, retry_in_seconds = delay.as_secs_f64(), "runtime operation failed; retrying");
                store::retry(db, lease, op.op_id, &failure.message, delay.as_secs_f64()).await?;
                self.forget_ops(op.game_id);
                Ok(OpState::Retrying)
            }
            AfterFailure::DeadLetter => {
                tracing::error!(op_id = op.op_id, op = %op.op, game_id = %op.game_id, attempt,
                    error = %failure.message, "runtime operation failed for good");
                self.gave_up(lease, op, failure).await?;
                Ok(OpState::Failed)
            }
        }
    }

    fn policy(&self, op: OpKind) -> crate::jobs::RetryPolicy {
        match op {
            OpKind::Banish => self.inner.settings.banish_retry,
            _ => self.inner.settings.retry,
        }
    }

    /// A failed operation: logged, the lobby request completed, operators
    /// told; a start that failed puts the game back where an admin can act.
    async fn gave_up(
        &self,
        lease: &Lease,
        op: &Operation,
        failure: Failure,
    ) -> Result<(), sqlx::Error> {
        let game_id = op.game_id;
        let notice = match (&failure.notice, op.op) {
            (Some(notice), _) => Some(notice.clone()),
            (None, OpKind::Start) => Some((
                "runtime.container_start_failed",
                json!({ "game_id": game_id, "error": failure.message }),
            )),
            _ => None,
        };
        let mut tx = self.inner.db.begin().await?;
        if !store::finish(
            &mut tx,
            lease,
            op.op_id,
            OpState::Failed,
            "failed",
            Some(&failure.message),
        )
        .await?
        {
            return Ok(());
        }
        complete_request(&mut tx, op).await?;
        if op.op == OpKind::Start {
            store::set_status(
                &mut tx,
                game_id,
                RuntimeStatus::StartFailed,
                Some(&failure.message),
            )
            .await?;
        }
        if let Some((kind, payload)) = notice {
            let intent = Intent::new(
                kind,
                format!("{kind}:{game_id}:{}", op.op_id),
                None,
                payload,
            );
            if let Err(err) = self.inner.notifications.submit(&mut tx, &intent).await {
                tracing::error!(error = %err, kind, "cannot queue the admin notification");
            }
        }
        tx.commit().await?;
        self.refresh(game_id).await?;
        if op.op == OpKind::Start {
            // The engine may be up but refused its configuration: stop it.
            let name = engine_name(game_id);
            let _ = self
                .driver_call(
                    "stop",
                    self.inner
                        .driver
                        .stop(&name, self.inner.settings.stop_grace),
                )
                .await;
            if let Err(err) = self
                .inner
                .lobby
                .on_runtime_start_failed(game_id, &failure.message)
                .await
            {
                tracing::error!(game_id = %game_id, error = %err, "cannot tell the lobby that the start failed");
            }
        }
        Ok(())
    }

    /// Runs `op` once.
    async fn execute(&self, op: &Operation) -> Result<Done, Failure> {
        match op.op {
            OpKind::Start => self.start(op).await,
            OpKind::Stop => self.stop(op).await,
            OpKind::Restart => self.restart(op).await,
            OpKind::Patch => self.patch(op).await,
            OpKind::Banish => self.banish(op).await,
            other => Err(Failure::permanent(format!(
                "{other} is not a queued operation"
            ))),
        }
    }

    /// Counts a driver call in `runtime_container_ops_total`.
    pub(super) async fn driver_call<T>(
        &self,
        name: &'static str,
        call: impl std::future::Future<Output = Result<T, DriverError>>,
    ) -> Result<T, DriverError> {
        let result = call.await;
        self.inner.metrics.container_op(name, result.is_ok());
        result
    }

    // ---- start -----------------------------------------------------------------

    async fn start(&self, op: &Operation) -> Result<Done, Failure> {
        let game_id = op.game_id;
        let lobby = &self.inner.lobby;
        let entry = match lobby.entry(game_id).await {
            Ok(entry) => entry,
            Err(crate::lobby::LobbyError::NotFound(_)) => {
                return Ok(Done::Skipped("no such game".into()));
            }
            Err(err) => return Err(err.into()),
        };
        let game = &entry.game;
        if !matches!(
            game.status,
            GameStatus::Starting | GameStatus::Running | GameStatus::Paused
        ) {
            return Ok(Done::Skipped(format!("the game is {}", game.status)));
        }
        let existing = {
            let mut conn = self.inner.db.acquire().await?;
            store::record(&mut conn, game_id).await?
        };
        // A patched game keeps its runtime's version; a new one takes the game's.
        let (label, image) = match &existing {
            Some(r) if r.initialised_at.is_some() => {
                (r.engine_version.clone(), r.image_ref.clone())
            }
            _ => {
                let version = self
                    .inner
                    .versions
                    .get(&game.engine_version)
                    .await
                    .map_err(|_| {
                        let reason =
                            format!("engine version {} is not registered", game.engine_version);
                        Failure::permanent(&reason).notify(
                            "runtime.start_config_invalid",
                            json!({ "game_id": game_id, "reason": reason }),
                        )
                    })?;
                (version.label, version.image_ref)
            }
        };
        let races: Vec<InitRace> = entry
            .members
            .iter()
            .map(|m| InitRace {
                name: m.race_name.clone(),
            })
            .collect();
        let seed = existing
            .as_ref()
            .map_or_else(|| rand::random::<i64>() & i64::MAX, |r| r.seed);
        let name = engine_name(game_id);
        {
            let mut tx = self.inner.db.begin().await?;
            store::upsert_record(
                &mut tx,
                &NewRecord {
                    game_id,
                    engine_version: &label,
                    image_ref: &image,
                    driver: self.inner.driver.name(),
                    container_name: &name,
                    status: RuntimeStatus::Starting,
                    seed,
                },
            )
            .await?;
            tx.commit().await?;
        }
        self.refresh(game_id).await?;

        let info = self.bring_up(game_id, &label, &image).await?;
        let base_url = info.base_url.clone().unwrap_or_default();
        let health = self
            .inner
            .engine
            .health(&base_url)
            .await
            .map_err(Failure::transient)?;
        if !health.initialised {
            if races.is_empty() {
                let reason = "the game has no active members".to_owned();
                return Err(Failure::permanent(&reason).notify(
                    "runtime.start_config_invalid",
                    json!({ "game_id": game_id, "reason": reason }),
                ));
            }
            let request = InitRequest {
                game_id: game_id.to_string(),
                seed: seed as u64,
                settings: game.settings.clone(),
                races,
            };
            match self.inner.engine.init(&base_url, &request).await {
                Ok(_) => {}
                Err(err)
                    if err.code() == Some(galaxy_model::api::ErrorCode::AlreadyInitialised) => {}
                Err(err) if err.is_unavailable() => return Err(Failure::transient(err)),
                Err(err) => {
                    let reason = format!("the engine refused the game: {err}");
                    return Err(Failure::permanent(&reason).notify(
                        "runtime.start_config_invalid",
                        json!({ "game_id": game_id, "reason": reason }),
                    ));
                }
            }
        }
        let status = self
            .inner
            .engine
            .status(&base_url)
            .await
            .map_err(Failure::transient)?;
        let turn = i32::try_from(status.turn).unwrap_or(i32::MAX);
        self.now_running(game_id, &info, turn).await?;
        Ok(Done::Succeeded(format!("running at turn {turn}")))
    }

    /// Makes sure the image is there, creates (or finds) the engine, starts
    /// it and waits for `/healthz`.
    async fn bring_up(
        &self,
        game_id: GameId,
        label: &str,
        image: &str,
    ) -> Result<EngineInfo, Failure> {
        let driver = &self.inner.driver;
        match self
            .driver_call("ensure_image", driver.ensure_image(image))
            .await
        {
            Ok(()) => {}
            Err(DriverError::ImageUnavailable { message, .. }) => {
                return Err(Failure::permanent(format!(
                    "image {image} is not available: {message}"
                ))
                .notify(
                    "runtime.image_pull_failed",
                    json!({ "game_id": game_id, "image_ref": image }),
                ));
            }
            Err(err) => return Err(err.into()),
        }
        let spec = EngineSpec {
            game_id,
            engine_version: label.to_owned(),
            image: image.to_owned(),
            state_dir: self.inner.settings.state_root.join(game_id.to_string()),
        };
        let created = self.driver_call("create", driver.create(&spec)).await?;
        let info = if created.state == EngineState::Running && created.base_url.is_some() {
            created
        } else {
            self.driver_call("start", driver.start(&created.name))
                .await?
        };
        let Some(base_url) = info.base_url.clone() else {
            return Err(Failure::transient("the started engine has no address"));
        };
        self.wait_healthy(&base_url).await?;
        Ok(info)
    }

    async fn wait_healthy(&self, base_url: &str) -> Result<(), Failure> {
        let deadline = Instant::now() + self.inner.settings.health_wait;
        loop {
            match self.inner.engine.health(base_url).await {
                Ok(_) => return Ok(()),
                Err(err) if Instant::now() >= deadline => {
                    return Err(Failure::transient(format!(
                        "the engine did not answer /healthz within {:?}: {err}",
                        self.inner.settings.health_wait
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Records a running engine and tells the lobby.
    async fn now_running(
        &self,
        game_id: GameId,
        info: &EngineInfo,
        turn: i32,
    ) -> Result<(), Failure> {
        let base_url = info.base_url.clone().unwrap_or_default();
        {
            let mut tx = self.inner.db.begin().await?;
            store::set_running(&mut tx, game_id, &info.id, &base_url, turn).await?;
            tx.commit().await?;
        }
        self.refresh(game_id).await?;
        self.snapshot(game_id, turn, "running").await
    }

    pub(super) async fn snapshot(
        &self,
        game_id: GameId,
        turn: i32,
        status: &str,
    ) -> Result<(), Failure> {
        let lobby = &self.inner.lobby;
        if status == "running" {
            // A paused game whose engine runs again resumes with a fresh
            // deadline (never a turn due at once because time passed).
            if lobby.entry(game_id).await?.game.status == GameStatus::Paused {
                lobby.on_runtime_resumed(game_id, turn).await?;
                self.wake_scheduler();
                return Ok(());
            }
        }
        let snapshot = RuntimeSnapshot {
            current_turn: turn,
            runtime_status: status.to_owned(),
        };
        lobby.on_runtime_snapshot(game_id, &snapshot).await?;
        if status == "running" {
            self.wake_scheduler();
        }
        Ok(())
    }

    // ---- stop, restart -----------------------------------------------------------

    async fn stop(&self, op: &Operation) -> Result<Done, Failure> {
        let game_id = op.game_id;
        // A lobby stop (an admin or the owner ended a game in play) and the
        // scheduler's (one race or none left) end the game.
        let ends_game = op.params.get("request_id").is_some()
            || op.params.get("finish").and_then(Value::as_bool) == Some(true);
        let reason = op.params["reason"]
            .as_str()
            .unwrap_or("the game was ended")
            .to_owned();
        let record = self.record_of(game_id).await?;
        let Some(record) = record else {
            if ends_game {
                self.inner
                    .lobby
                    .on_runtime_finished(game_id, 0, &reason, &[])
                    .await?;
            }
            return Ok(Done::Skipped("no engine was started".into()));
        };
        let name = record.container_name.clone();
        // The races still alive when a game ends (best effort: an engine
        // that does not answer names none).
        let survivors: Vec<String> = match (ends_game, record.base_url.as_deref()) {
            (true, Some(url)) => self
                .inner
                .engine
                .status(url)
                .await
                .map(|s| {
                    s.races
                        .into_iter()
                        .filter(|r| r.state == galaxy_model::api::RaceState::Alive)
                        .map(|r| r.race)
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        match self
            .driver_call(
                "stop",
                self.inner
                    .driver
                    .stop(&name, self.inner.settings.stop_grace),
            )
            .await
        {
            Ok(()) | Err(DriverError::NotFound(_)) => {}
            Err(err) => return Err(err.into()),
        }
        let status = if ends_game {
            RuntimeStatus::Finished
        } else {
            RuntimeStatus::Stopped
        };
        self.set_status(game_id, status, None).await?;
        if ends_game {
            self.inner
                .lobby
                .on_runtime_finished(game_id, record.current_turn, &reason, &survivors)
                .await?;
        } else {
            self.snapshot(game_id, record.current_turn, status.as_str())
                .await?;
        }
        Ok(Done::Succeeded(format!(
            "stopped at turn {}",
            record.current_turn
        )))
    }

    async fn restart(&self, op: &Operation) -> Result<Done, Failure> {
        let game_id = op.game_id;
        let record = self
            .record_of(game_id)
            .await?
            .ok_or_else(|| Failure::permanent("no runtime record"))?;
        let before = self
            .engine_turn(&record)
            .await
            .unwrap_or(record.current_turn);
        match self
            .driver_call(
                "stop",
                self.inner
                    .driver
                    .stop(&record.container_name, self.inner.settings.stop_grace),
            )
            .await
        {
            Ok(()) | Err(DriverError::NotFound(_)) => {}
            Err(err) => return Err(err.into()),
        }
        let info = self
            .bring_up(game_id, &record.engine_version, &record.image_ref)
            .await?;
        let base_url = info.base_url.clone().unwrap_or_default();
        let status = self
            .inner
            .engine
            .status(&base_url)
            .await
            .map_err(Failure::transient)?;
        let after = i32::try_from(status.turn).unwrap_or(i32::MAX);
        if after != before {
            let message = format!("the engine resumed at turn {after}, expected turn {before}");
            self.set_status(game_id, RuntimeStatus::EngineUnreachable, Some(&message))
                .await?;
            self.snapshot(game_id, after.max(before), "engine_unreachable")
                .await?;
            return Err(Failure::permanent(message));
        }
        self.now_running(game_id, &info, after).await?;
        Ok(Done::Succeeded(format!("restarted at turn {after}")))
    }

    // ---- patch -------------------------------------------------------------------

    async fn patch(&self, op: &Operation) -> Result<Done, Failure> {
        let game_id = op.game_id;
        let to = op.params["engine_version"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let record = self
            .record_of(game_id)
            .await?
            .ok_or_else(|| Failure::permanent("no runtime record"))?;
        if record.engine_version == to && record.status == RuntimeStatus::Running {
            return Ok(Done::Skipped(format!("already on {to}")));
        }
        self.check_patch(&record.engine_version, &to)
            .await
            .map_err(Failure::permanent)?;
        let version = self
            .inner
            .versions
            .get(&to)
            .await
            .map_err(Failure::permanent)?;
        let before = self
            .engine_turn(&record)
            .await
            .unwrap_or(record.current_turn);
        let old = (record.engine_version.clone(), record.image_ref.clone());

        self.replace_engine(&record.container_name).await?;
        match self
            .try_version(game_id, &version.label, &version.image_ref, before)
            .await
        {
            Ok(info) => {
                self.switch_version(game_id, &record, &version.label, &version.image_ref)
                    .await?;
                self.now_running(game_id, &info, before).await?;
                self.inner
                    .lobby
                    .on_runtime_engine_version(game_id, &version.label)
                    .await?;
                Ok(Done::Succeeded(format!(
                    "patched {} → {} at turn {before}",
                    old.0, version.label
                )))
            }
            Err(why) => {
                tracing::warn!(game_id = %game_id, to = %version.label, error = %why, "patch failed; rolling back");
                self.replace_engine(&record.container_name).await?;
                let info = self
                    .try_version(game_id, &old.0, &old.1, before)
                    .await
                    .map_err(|e| {
                        Failure::permanent(format!(
                            "patch failed ({why}) and the rollback failed too: {e}"
                        ))
                    })?;
                self.now_running(game_id, &info, before).await?;
                Err(Failure::permanent(format!(
                    "the new version failed ({why}); rolled back to {}",
                    old.0
                )))
            }
        }
    }

    /// Stops and removes the game's engine (its state stays).
    async fn replace_engine(&self, name: &str) -> Result<(), Failure> {
        let driver = &self.inner.driver;
        match self
            .driver_call("stop", driver.stop(name, self.inner.settings.stop_grace))
            .await
        {
            Ok(()) | Err(DriverError::NotFound(_)) => {}
            Err(err) => return Err(err.into()),
        }
        match self.driver_call("remove", driver.remove(name)).await {
            Ok(()) | Err(DriverError::NotFound(_)) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Starts `image` on the game's state and checks it resumed at `turn`.
    async fn try_version(
        &self,
        game_id: GameId,
        label: &str,
        image: &str,
        turn: i32,
    ) -> Result<EngineInfo, String> {
        let info = self
            .bring_up(game_id, label, image)
            .await
            .map_err(|f| f.message)?;
        let base_url = info.base_url.clone().unwrap_or_default();
        let status = self
            .inner
            .engine
            .status(&base_url)
            .await
            .map_err(|e| e.to_string())?;
        if i64::from(status.turn) != i64::from(turn) {
            let name = engine_name(game_id);
            let _ = self.replace_engine(&name).await;
            return Err(format!(
                "it resumed at turn {}, expected turn {turn}",
                status.turn
            ));
        }
        Ok(info)
    }

    async fn switch_version(
        &self,
        game_id: GameId,
        record: &RuntimeRecord,
        label: &str,
        image: &str,
    ) -> Result<(), Failure> {
        let mut tx = self.inner.db.begin().await?;
        store::upsert_record(
            &mut tx,
            &NewRecord {
                game_id,
                engine_version: label,
                image_ref: image,
                driver: self.inner.driver.name(),
                container_name: &record.container_name,
                status: RuntimeStatus::Running,
                seed: record.seed,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- banish --------------------------------------------------------------------

    async fn banish(&self, op: &Operation) -> Result<Done, Failure> {
        let game_id = op.game_id;
        let race = op.params["race"].as_str().unwrap_or_default().to_owned();
        let record = self.record_of(game_id).await?;
        let Some(base_url) = record.as_ref().and_then(|r| r.base_url.clone()) else {
            return Err(Failure::transient(
                "the engine is not running; banish waits for it",
            ));
        };
        match self.inner.engine.banish(&base_url, &race).await {
            Ok(_) => Ok(Done::Succeeded(format!("banished {race}"))),
            Err(err) if err.code() == Some(galaxy_model::api::ErrorCode::UnknownRace) => {
                Ok(Done::Skipped(format!("the engine knows no race {race}")))
            }
            Err(err) => Err(Failure::transient(err)),
        }
    }

    // ---- helpers -------------------------------------------------------------------

    async fn record_of(&self, game_id: GameId) -> Result<Option<RuntimeRecord>, sqlx::Error> {
        let mut conn = self.inner.db.acquire().await?;
        store::record(&mut conn, game_id).await
    }

    pub(super) async fn set_status(
        &self,
        game_id: GameId,
        status: RuntimeStatus,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut conn = self.inner.db.acquire().await?;
        store::set_status(&mut conn, game_id, status, error).await?;
        drop(conn);
        self.refresh(game_id).await?;
        Ok(())
    }

    async fn engine_turn(&self, record: &RuntimeRecord) -> Option<i32> {
        let url = record.base_url.as_deref()?;
        let status = self.inner.engine.status(url).await.ok()?;
        i32::try_from(status.turn).ok()
    }

    // ---- intake ----------------------------------------------------------------------

    /// The intake step: the lobby's open requests become operations, as
    /// many as the queue has room for (the rest wait in the lobby's table).
    pub async fn take_lobby_requests(&self) -> Result<usize, RuntimeError> {
        let room = {
            let mut conn = self.inner.db.acquire().await?;
            self.inner.settings.queue_size - store::open_count(&mut conn).await?
        };
        if room <= 0 {
            return Ok(0);
        }
        let requests = self.inner.lobby.open_runtime_requests(room + 64).await?;
        if requests.is_empty() {
            return Ok(0);
        }
        let ids: Vec<String> = requests.iter().map(|r| r.request_id.to_string()).collect();
        let queued = store::queued_requests(&self.inner.db, &ids).await?;
        let mut taken = 0;
        let mut games = Vec::new();
        let mut tx = self.inner.db.begin().await?;
        for r in requests {
            if taken >= room as usize {
                break;
            }
            let request_id = r.request_id.to_string();
            if queued.contains(&request_id) {
                continue;
            }
            let (op, params) = match r.kind.as_str() {
                "start" => (OpKind::Start, json!({ "request_id": request_id })),
                "stop" => (
                    OpKind::Stop,
                    json!({ "request_id": request_id, "reason": r.reason }),
                ),
                "banish" => (
                    OpKind::Banish,
                    json!({ "request_id": request_id, "race": r.race_name, "user_id": r.user_id, "reason": r.reason }),
                ),
                other => {
                    tracing::error!(kind = other, "unknown lobby runtime request kind");
                    continue;
                }
            };
            if store::enqueue(
                &mut tx,
                r.game_id,
                op,
                &params,
                &Requester::Lobby.as_text(),
                self.attempts(op),
            )
            .await?
            .is_some()
            {
                taken += 1;
                games.push(r.game_id);
            }
        }
        tx.commit().await?;
        for game_id in games {
            self.forget_ops(game_id);
        }
        if taken > 0 {
            tracing::info!(taken, "lobby runtime requests queued");
        }
        Ok(taken)
    }
}

use super::error::RuntimeError;

/// Completes the lobby request an operation carried out, if any.
async fn complete_request(
    conn: &mut sqlx::PgConnection,
    op: &Operation,
) -> Result<(), sqlx::Error> {
    let Some(id) = op.params.get("request_id").and_then(Value::as_str) else {
        return Ok(());
    };
    let Ok(id) = id.parse::<RuntimeRequestId>() else {
        return Ok(());
    };
    LobbyService::complete_runtime_request(conn, id)
        .await
        .map_err(|e| match e {
            crate::lobby::LobbyError::Database(e) => e,
            other => sqlx::Error::Protocol(other.to_string()),
        })
}
