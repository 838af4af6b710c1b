//! The turn scheduler: a step ([`RuntimeService::run_due_turns`]) runs the
//! turn of every running game whose deadline has passed (or whose
//! force-next-turn flag is set), and a loop sleeps until the earliest next
//! deadline — no fixed polling; a resume, a force flag or a schedule change
//! wakes it early ([`RuntimeService::wake_scheduler`]).
//!
//! One tick of one game:
//!
//! 1. **claim**: `running → generation_in_progress` on the runtime record,
//!    only if it is still `running` at the expected turn (one conditional
//!    `UPDATE`: two backends on one database never both tick a game);
//!    committed and cached at once, so order submits see the cut-off;
//! 2. `PUT /api/v1/admin/turn {turn}` on the engine (naming the turn makes a
//!    retried call a no-op: the engine never runs two turns);
//! 3. `→ running` at the new turn (the force flag consumed), op-logged, and
//!    the lobby's `on_runtime_snapshot` (the game's turn, `game.turn.ready`
//!    to every active member, the next deadline from the turn's start);
//! 4. on failure: `engine_unreachable` (no answer) or `generation_failed`
//!    (the engine refused or failed) → the lobby pauses the game
//!    (`game.paused`).
//!
//! A tick left behind by a killed backend (`generation_in_progress` for
//! longer than the engine call timeout plus a margin) is recovered on the
//! next step: the engine is asked its turn; if the turn ran, the
//! bookkeeping is completed, otherwise the same turn is run again.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde_json::json;

use super::engine::EngineError;
use super::model::{OpKind, OpState, Requester, RuntimeRecord, RuntimeStatus};
use super::service::RuntimeService;
use super::store;
use crate::ids::GameId;
use crate::worker::StepOutcome;

/// The longest the loop sleeps without a deadline in sight (a safety net;
/// every change that matters wakes it).
const IDLE_SLEEP: Duration = Duration::from_secs(60);

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnReport {
    /// Games whose turn was due (deadline passed or forced).
    pub due: usize,
    /// Turns run (or completed after a recovery).
    pub ran: usize,
    /// Ticks that paused their game.
    pub failed: usize,
    /// Stuck ticks found and recovered.
    pub recovered: usize,
    /// Turn reminders sent.
    pub reminded: usize,
    /// The earliest deadline (or reminder) still ahead.
    pub next_due: Option<DateTime<Utc>>,
}

/// How one tick ended.
enum Tick {
    /// The engine is at `turn` now; `out` are the races it counts dead.
    Ran {
        turn: i32,
        elapsed_us: u64,
        out: Vec<String>,
        /// Why the game is over (one race or none left), if it is.
        end: Option<String>,
    },
    /// The game is paused with this runtime status.
    Failed {
        status: RuntimeStatus,
        error: String,
    },
}

impl RuntimeService {
    /// Wakes the scheduler loop (a resume, a force flag, a schedule
    /// change): here at once, and on the other instances through
    /// PostgreSQL (`NOTIFY runtime_scheduler`), since the scheduler runs on
    /// whichever instance leads.
    pub fn wake_scheduler(&self) {
        self.inner.scheduler_wake.signal().notify_one();
        let db = self.inner.db.clone();
        tokio::spawn(async move {
            if let Ok(mut conn) = db.acquire().await
                && let Err(err) =
                    crate::jobs::wake::notify(&mut conn, store::SCHEDULER_WAKE_CHANNEL).await
            {
                tracing::debug!(error = %err, "the scheduler wake-up was not announced to other instances");
            }
        });
    }

    /// One scheduler step at `now`.
    #[tracing::instrument(name = "runtime.scheduler", skip_all)]
    pub async fn run_due_turns(&self) -> Result<TurnReport, anyhow::Error> {
        let now = Utc::now();
        let mut report = TurnReport {
            recovered: self.recover_stuck_ticks().await?,
            ..TurnReport::default()
        };
        let deadlines = self.inner.lobby.running_deadlines();
        let mut due: Vec<(GameId, i32)> = Vec::new();
        for (game_id, deadline) in deadlines {
            let Ok(record) = self.record(game_id).await else {
                continue;
            };
            if record.status != RuntimeStatus::Running {
                continue;
            }
            match deadline {
                _ if record.force_next_turn => due.push((game_id, record.current_turn)),
                Some(at) if at <= now => due.push((game_id, record.current_turn)),
                Some(at) => {
                    report.next_due =
                        Some(report.next_due.map_or(at, |n: DateTime<Utc>| n.min(at)));
                }
                None => {}
            }
        }
        report.due = due.len();
        let outcomes: Vec<bool> = futures::stream::iter(due)
            .map(|(game_id, turn)| async move {
                match self.tick(game_id, turn).await {
                    Ok(ran) => ran,
                    Err(err) => {
                        tracing::error!(game_id = %game_id, turn, error = %err, "turn tick failed");
                        false
                    }
                }
            })
            .buffer_unordered(self.inner.settings.pool_size.max(1))
            .collect()
            .await;
        report.ran = outcomes.iter().filter(|ran| **ran).count();
        report.failed = outcomes.len() - report.ran;
        report.reminded = self.send_reminders(now, &mut report.next_due).await;
        // A tick left behind (its instance died mid-turn) is recovered once
        // it is stale: step again then, not a whole idle sleep later.
        if let Some(at) = self.next_stale_tick() {
            report.next_due = Some(report.next_due.map_or(at, |n| n.min(at)));
        }
        // The turns just run have new deadlines.
        if report.due > 0 {
            for (_, deadline) in self.inner.lobby.running_deadlines() {
                if let Some(at) = deadline.filter(|at| *at > now) {
                    report.next_due = Some(report.next_due.map_or(at, |n| n.min(at)));
                }
            }
        }
        Ok(report)
    }

    /// Reminders due at `now` (members whose race has no orders in, once
    /// per turn); the next one ahead goes into `next_due`.
    async fn send_reminders(
        &self,
        now: DateTime<Utc>,
        next_due: &mut Option<DateTime<Utc>>,
    ) -> usize {
        let mut sent = 0;
        for (entry, at) in self.inner.lobby.reminders() {
            let game_id = entry.game.game_id;
            let Some(deadline) = entry.game.next_deadline() else {
                continue;
            };
            if at > now {
                *next_due = Some(next_due.map_or(at, |n| n.min(at)));
                continue;
            }
            if deadline <= now {
                continue;
            }
            let Ok(record) = self.record(game_id).await else {
                continue;
            };
            let key = (game_id, record.current_turn);
            let seen = self
                .inner
                .reminded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&key);
            if seen || record.status != RuntimeStatus::Running {
                continue;
            }
            let Some(base_url) = record.base_url.as_deref() else {
                continue;
            };
            let Ok(status) = self.inner.engine.status(base_url).await else {
                continue;
            };
            let waiting: std::collections::HashSet<&str> = status
                .races
                .iter()
                .filter(|r| r.state == galaxy_model::api::RaceState::Alive && !r.orders_in)
                .map(|r| r.race.as_str())
                .collect();
            let users: Vec<crate::ids::UserId> = entry
                .members
                .iter()
                .filter(|m| waiting.contains(m.race_name.as_str()))
                .map(|m| m.user_id)
                .collect();
            match self
                .inner
                .lobby
                .remind(game_id, record.current_turn, deadline, &users)
                .await
            {
                Ok(()) => {
                    self.inner
                        .reminded
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(key);
                    sent += 1;
                }
                Err(err) => {
                    tracing::warn!(game_id = %game_id, error = %err, "cannot send the turn reminder")
                }
            }
        }
        sent
    }

    /// Runs `game_id`'s turn `turn`; `true` if it ran. One span holds the
    /// claim, the engine call (`engine.turn`, its `traceparent` sent to the
    /// engine) and the lobby's snapshot with its notification intents.
    #[tracing::instrument(name = "runtime.turn", skip(self), fields(game_id = %game_id))]
    async fn tick(&self, game_id: GameId, turn: i32) -> Result<bool, anyhow::Error> {
        let Some(record) = self.claim_tick(game_id, turn).await? else {
            return Ok(false);
        };
        let started = Instant::now();
        let outcome = self.run_turn(&record, turn).await;
        let label = match &outcome {
            Tick::Ran { .. } => "ran",
            Tick::Failed { status, .. } => status.as_str(),
        };
        let ran = self.finish_tick(&record, turn, outcome).await;
        self.inner
            .metrics
            .turn(label, started.elapsed().as_secs_f64());
        ran
    }

    /// `running → generation_in_progress` at `turn`, or `None`.
    async fn claim_tick(
        &self,
        game_id: GameId,
        turn: i32,
    ) -> Result<Option<RuntimeRecord>, sqlx::Error> {
        let claimed = store::claim_tick(&self.inner.db, game_id, turn).await?;
        if claimed.is_some() {
            self.refresh(game_id).await?;
        }
        Ok(claimed)
    }

    async fn run_turn(&self, record: &RuntimeRecord, turn: i32) -> Tick {
        let Some(base_url) = record.base_url.as_deref() else {
            return Tick::Failed {
                status: RuntimeStatus::EngineUnreachable,
                error: "the engine has no address".into(),
            };
        };
        let started = Instant::now();
        let result = self
            .inner
            .engine
            .run_turn(base_url, u32::try_from(turn).unwrap_or(0))
            .await;
        let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match result {
            Ok(answer) => Tick::Ran {
                turn: i32::try_from(answer.status.turn).unwrap_or(i32::MAX),
                elapsed_us,
                out: dead_races(&answer.status),
                end: game_over(&answer.status),
            },
            Err(err) => self.after_turn_error(base_url, turn, err).await,
        }
    }

    /// Whether a failed call ran the turn after all (asked of the engine).
    async fn after_turn_error(&self, base_url: &str, turn: i32, err: EngineError) -> Tick {
        if let Ok(status) = self.inner.engine.status(base_url).await {
            let now_at = i32::try_from(status.turn).unwrap_or(i32::MAX);
            if now_at > turn {
                return Tick::Ran {
                    turn: now_at,
                    elapsed_us: 0,
                    out: dead_races(&status),
                    end: game_over(&status),
                };
            }
        }
        let status = if err.is_unavailable() {
            RuntimeStatus::EngineUnreachable
        } else {
            RuntimeStatus::GenerationFailed
        };
        Tick::Failed {
            status,
            error: err.to_string(),
        }
    }

    async fn finish_tick(
        &self,
        record: &RuntimeRecord,
        turn: i32,
        outcome: Tick,
    ) -> Result<bool, anyhow::Error> {
        let game_id = record.game_id;
        let requester = Requester::Scheduler.as_text();
        let mut out: Vec<String> = Vec::new();
        let mut end: Option<String> = None;
        let (ran, new_turn, status) = match outcome {
            Tick::Ran {
                turn: now_at,
                elapsed_us,
                out: dead,
                end: over,
            } => {
                out = dead;
                end = over;
                let mut tx = self.inner.db.begin().await?;
                store::finish_tick(&mut tx, game_id, RuntimeStatus::Running, now_at, None).await?;
                store::log_done(
                    &mut tx,
                    game_id,
                    OpKind::Turn,
                    &requester,
                    OpState::Succeeded,
                    &format!(
                        "turn {turn} → {now_at} in {:.1} ms",
                        elapsed_us as f64 / 1000.0
                    ),
                    None,
                )
                .await?;
                tx.commit().await?;
                tracing::info!(game_id = %game_id, from = turn, to = now_at, elapsed_us, "turn ran");
                (true, now_at, RuntimeStatus::Running)
            }
            Tick::Failed { status, error } => {
                let mut tx = self.inner.db.begin().await?;
                store::finish_tick(&mut tx, game_id, status, turn, Some(&error)).await?;
                let intent = crate::notification::Intent::new(
                    "game.generation.failed",
                    format!("generation-failed:{game_id}:{turn}"),
                    None,
                    json!({ "game_id": game_id, "turn": turn, "error": format!("{status}: {error}") }),
                );
                if let Err(err) = self.inner.notifications.submit(&mut tx, &intent).await {
                    tracing::error!(error = %err, "cannot queue game.generation.failed");
                }
                store::log_done(
                    &mut tx,
                    game_id,
                    OpKind::Turn,
                    &requester,
                    OpState::Failed,
                    &format!("turn {turn}: {status}"),
                    Some(&error),
                )
                .await?;
                tx.commit().await?;
                tracing::warn!(game_id = %game_id, turn, %status, error, "turn failed; the game pauses");
                (false, turn, status)
            }
        };
        self.refresh(game_id).await?;
        self.snapshot(game_id, new_turn, status.as_str())
            .await
            .map_err(|f| anyhow::anyhow!(f.message))?;
        if !out.is_empty() {
            self.inner
                .lobby
                .on_runtime_races_out(game_id, new_turn, &out)
                .await?;
        }
        if let Some(reason) = end.filter(|_| ran) {
            self.end_game(game_id, reason).await?;
        }
        Ok(ran)
    }

    /// How long a tick may stay `generation_in_progress` before it counts
    /// as left behind: the engine call's timeout and 30 s of grace, so an
    /// engine still computing the turn is never asked to run it twice.
    fn stale_after(&self) -> Duration {
        self.inner.settings.engine_call_timeout + Duration::from_secs(30)
    }

    /// When the oldest tick in progress turns stale (from the cache).
    fn next_stale_tick(&self) -> Option<DateTime<Utc>> {
        let stale_after = chrono::Duration::from_std(self.stale_after()).ok()?;
        self.read_cache()
            .records
            .values()
            .filter(|r| r.status == RuntimeStatus::GenerationInProgress)
            .map(|r| r.generation_started_at.unwrap_or(r.updated_at) + stale_after)
            .min()
    }

    /// Ticks left `generation_in_progress` by a killed backend: completed
    /// (the engine ran the turn) or put back to `running` so the same turn
    /// runs again; an engine that does not answer is `engine_unreachable`.
    async fn recover_stuck_ticks(&self) -> Result<usize, anyhow::Error> {
        let stale_after = self.stale_after();
        let stuck = store::stuck_ticks(&self.inner.db, stale_after.as_secs_f64()).await?;
        let mut recovered = 0;
        for record in stuck {
            let turn = record.current_turn;
            let outcome = match record.base_url.as_deref() {
                None => Tick::Failed {
                    status: RuntimeStatus::EngineUnreachable,
                    error: "the engine has no address".into(),
                },
                Some(url) => match self.inner.engine.status(url).await {
                    Ok(status) if i64::from(status.turn) > i64::from(turn) => Tick::Ran {
                        turn: i32::try_from(status.turn).unwrap_or(i32::MAX),
                        elapsed_us: 0,
                        out: dead_races(&status),
                        end: game_over(&status),
                    },
                    Ok(_) => {
                        // The turn did not run: back to running, due again.
                        let mut conn = self.inner.db.acquire().await?;
                        store::finish_tick(
                            &mut conn,
                            record.game_id,
                            RuntimeStatus::Running,
                            turn,
                            None,
                        )
                        .await?;
                        drop(conn);
                        self.refresh(record.game_id).await?;
                        tracing::warn!(game_id = %record.game_id, turn, "a tick left behind did not run its turn; it runs again");
                        recovered += 1;
                        continue;
                    }
                    Err(err) => Tick::Failed {
                        status: RuntimeStatus::EngineUnreachable,
                        error: err.to_string(),
                    },
                },
            };
            tracing::warn!(game_id = %record.game_id, turn, "completing a tick left behind by another process");
            self.finish_tick(&record, turn, outcome).await?;
            recovered += 1;
        }
        Ok(recovered)
    }

    /// Sets the one-shot force-next-turn flag (admin); the scheduler runs
    /// the turn at its next step, woken now.
    pub async fn force_next_turn(
        &self,
        admin: &str,
        game_id: GameId,
    ) -> Result<RuntimeRecord, super::RuntimeError> {
        let record = self.record(game_id).await?;
        if !matches!(record.status, RuntimeStatus::Running) {
            return Err(super::RuntimeError::InvalidState {
                current: record.status,
                action: "force-next-turn",
                wanted: "running",
            });
        }
        let mut tx = self.inner.db.begin().await?;
        store::set_force_next_turn(&mut tx, game_id).await?;
        store::log_done(
            &mut tx,
            game_id,
            OpKind::ForceNextTurn,
            &Requester::Admin(admin.to_owned()).as_text(),
            OpState::Succeeded,
            &format!(
                "turn {} runs at the next scheduler step",
                record.current_turn
            ),
            None,
        )
        .await?;
        crate::audit::record(
            &mut tx,
            admin,
            super::service::action::FORCE_NEXT_TURN,
            &game_id.to_string(),
            json!({ "turn": record.current_turn }),
        )
        .await?;
        tx.commit().await?;
        let record = self
            .refresh(game_id)
            .await?
            .ok_or(super::RuntimeError::NotFound("runtime"))?;
        self.wake_scheduler();
        Ok(record)
    }

    /// Registers the scheduler on `workers` as a singleton loop (the leader
    /// runs it): a step, then a sleep until the earliest deadline (at most
    /// a minute), cut short by a wake-up.
    pub fn spawn_scheduler(&self, workers: &mut crate::worker::Workers) {
        let service = self.clone();
        // Every instance listens, so a wake-up announced anywhere reaches
        // the leader.
        let wake = self.inner.scheduler_wake.clone();
        workers.spawn(wake.clone().listen(
            self.inner.db.clone(),
            Duration::from_secs(1),
            workers.stop_token(),
        ));
        workers.spawn_singleton_loop("runtime-scheduler", IDLE_SLEEP, wake.signal(), move || {
            let service = service.clone();
            async move { Ok::<_, std::convert::Infallible>(service.scheduler_step().await) }
        });
    }

    /// One scheduler step: the due turns run; the outcome says how long
    /// nothing is due (a failed step is logged and tried again in 5 s).
    async fn scheduler_step(&self) -> StepOutcome {
        if !self.inner.lobby.deadlines_known() {
            return StepOutcome::IdleFor(Duration::from_millis(200));
        }
        match self.run_due_turns().await {
            Ok(report) => StepOutcome::IdleFor(
                report
                    .next_due
                    .and_then(|at| (at - Utc::now()).to_std().ok())
                    .unwrap_or(IDLE_SLEEP)
                    .min(IDLE_SLEEP),
            ),
            Err(err) => {
                tracing::error!(worker = "runtime-scheduler", error = %err, "scheduler step failed");
                StepOutcome::IdleFor(Duration::from_secs(5))
            }
        }
    }
}

impl RuntimeService {
    /// Resumes a paused game (an admin, or the owner of a private game):
    /// the engine must answer; its turn becomes the record's, the runtime
    /// is `running`, the lobby game `running` with a fresh deadline (the
    /// schedule's first slot after now) and `game.resumed` to its members.
    /// A stopped or removed engine is started instead (admin `start`).
    pub async fn resume(
        &self,
        who: Requester,
        game_id: GameId,
    ) -> Result<RuntimeRecord, super::RuntimeError> {
        use super::RuntimeError as E;
        let entry = self.inner.lobby.entry(game_id).await?;
        if let Requester::Owner(user) = &who
            && !entry.game.is_owned_by(*user)
        {
            return Err(E::NotGameOwner);
        }
        if entry.game.status != crate::lobby::GameStatus::Paused {
            return Err(E::GameNotPaused {
                current: entry.game.status.to_string(),
            });
        }
        let record = self.record(game_id).await?;
        if !matches!(
            record.status,
            RuntimeStatus::Running
                | RuntimeStatus::EngineUnreachable
                | RuntimeStatus::GenerationFailed
        ) {
            return Err(E::InvalidState {
                current: record.status,
                action: "resume",
                wanted: "running, engine_unreachable or generation_failed (start a stopped engine)",
            });
        }
        let base_url = record
            .base_url
            .clone()
            .ok_or_else(|| E::EngineUnavailable("the engine has no address".into()))?;
        let status = self
            .inner
            .engine
            .status(&base_url)
            .await
            .map_err(|e| E::EngineUnavailable(e.to_string()))?;
        let turn = i32::try_from(status.turn).unwrap_or(i32::MAX);
        let mut tx = self.inner.db.begin().await?;
        store::finish_tick(&mut tx, game_id, RuntimeStatus::Running, turn, None).await?;
        store::log_done(
            &mut tx,
            game_id,
            OpKind::Resume,
            &who.as_text(),
            OpState::Succeeded,
            &format!("resumed at turn {turn} (was {})", record.status),
            None,
        )
        .await?;
        if let Requester::Admin(admin) = &who {
            crate::audit::record(
                &mut tx,
                admin,
                super::service::action::RESUME,
                &game_id.to_string(),
                json!({ "turn": turn, "was": record.status }),
            )
            .await?;
        }
        tx.commit().await?;
        let record = self.refresh(game_id).await?.ok_or(E::NotFound("runtime"))?;
        self.inner.lobby.on_runtime_resumed(game_id, turn).await?;
        self.wake_scheduler();
        Ok(record)
    }
}

/// The races the engine counts dead (quit, dropped as idle, wiped out);
/// banished races are the platform's own doing and not reported again.
fn dead_races(status: &galaxy_model::api::StatusResponse) -> Vec<String> {
    status
        .races
        .iter()
        .filter(|r| r.state == galaxy_model::api::RaceState::Dead)
        .map(|r| r.race.clone())
        .collect()
}

/// Why the game is over after a turn: one race (the winner) or none left
/// alive of two or more.
fn game_over(status: &galaxy_model::api::StatusResponse) -> Option<String> {
    if status.races.len() < 2 {
        return None;
    }
    let alive: Vec<&str> = status
        .races
        .iter()
        .filter(|r| r.state == galaxy_model::api::RaceState::Alive)
        .map(|r| r.name.as_str())
        .collect();
    match alive.as_slice() {
        [] => Some("no race is left".to_owned()),
        [winner] => Some(format!("{winner} won")),
        _ => None,
    }
}

impl RuntimeService {
    /// Queues the stop that ends a game (`finish`): the engine stops, its
    /// state stays, the lobby game is `finished` with `reason`.
    async fn end_game(&self, game_id: GameId, reason: String) -> Result<(), anyhow::Error> {
        let mut tx = self.inner.db.begin().await?;
        store::enqueue(
            &mut tx,
            game_id,
            OpKind::Stop,
            &json!({ "finish": true, "reason": reason }),
            &Requester::Scheduler.as_text(),
            self.attempts(OpKind::Stop),
        )
        .await?;
        tx.commit().await?;
        self.forget_ops(game_id);
        tracing::info!(game_id = %game_id, reason, "the game is over; its engine stops");
        Ok(())
    }
}
