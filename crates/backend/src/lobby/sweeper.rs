//! The lobby sweeper (`BACKEND_LOBBY_SWEEPER_INTERVAL`). One step
//! ([`Sweeper::sweep`]) finds what is due at a given instant — pending race
//! names that lapsed, invites that expired, games whose enrollment
//! deadline passed — and enqueues one durable job per item on the shared
//! job queue (`crate::jobs`), deduplicated per item, in one transaction.
//! The queue runs the jobs with retries and backoff; each job re-checks
//! its item under a row lock against the sweep's instant, so running it
//! twice, or on two processes at once, changes nothing the second time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ids::{GameId, InviteId};
use crate::jobs::{self, Job, JobFailure, RunnerBuilder};
use crate::worker::StepOutcome;

use super::error::LobbyError;
use super::model::{GameStatus, InviteStatus};
use super::service::LobbyService;
use super::store;

/// Items of each kind enqueued per step; a full batch runs the next step at once.
pub const BATCH: i64 = 500;

/// What one sweep enqueued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub race_names: usize,
    pub invites: usize,
    pub games: usize,
}

impl SweepReport {
    fn full(&self) -> bool {
        [self.race_names, self.invites, self.games]
            .iter()
            .any(|&n| n as i64 >= BATCH)
    }
}

/// The sweeper's step.
#[derive(Clone)]
pub struct Sweeper {
    lobby: LobbyService,
}

impl Sweeper {
    pub fn new(lobby: LobbyService) -> Self {
        Self { lobby }
    }

    /// Enqueues the jobs for everything due at `now`.
    #[tracing::instrument(name = "lobby.sweep", skip_all)]
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepReport, LobbyError> {
        let mut tx = self.lobby.pool().begin().await?;
        let names: Vec<ExpireRaceName> = store::race_names_due(&mut tx, now, BATCH)
            .await?
            .into_iter()
            .map(|key| ExpireRaceName { key, as_of: now })
            .collect();
        let invites: Vec<ExpireInvite> = store::invites_due(&mut tx, now, BATCH)
            .await?
            .into_iter()
            .map(|invite_id| ExpireInvite {
                invite_id,
                as_of: now,
            })
            .collect();
        let games: Vec<CloseEnrollment> = store::enrollment_due(&mut tx, now, BATCH)
            .await?
            .into_iter()
            .map(|game_id| CloseEnrollment {
                game_id,
                as_of: now,
            })
            .collect();
        jobs::enqueue_many(&mut tx, &names).await?;
        jobs::enqueue_many(&mut tx, &invites).await?;
        jobs::enqueue_many(&mut tx, &games).await?;
        tx.commit().await?;
        let report = SweepReport {
            race_names: names.len(),
            invites: invites.len(),
            games: games.len(),
        };
        if report != SweepReport::default() {
            tracing::info!(
                race_names = report.race_names,
                invites = report.invites,
                games = report.games,
                "lobby sweep enqueued due work"
            );
        }
        Ok(report)
    }

    /// A step of the loop: a sweep at the current time.
    pub async fn tick(&self) -> Result<StepOutcome, LobbyError> {
        let report = self.sweep(Utc::now()).await?;
        Ok(if report.full() {
            StepOutcome::MoreWork
        } else {
            StepOutcome::Idle
        })
    }
}

/// Registers the sweeper's job kinds with the shared runner.
pub fn register_jobs(builder: RunnerBuilder, lobby: &LobbyService) -> RunnerBuilder {
    builder
        .register::<ExpireRaceName>(lobby.clone())
        .register::<ExpireInvite>(lobby.clone())
        .register::<CloseEnrollment>(lobby.clone())
}

fn transient(err: LobbyError) -> JobFailure {
    JobFailure::transient(err)
}

/// Frees a pending race name that lapsed by `as_of`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpireRaceName {
    pub key: String,
    pub as_of: DateTime<Utc>,
}

impl Job for ExpireRaceName {
    const KIND: &'static str = "lobby.expire_race_name";
    type Context = LobbyService;

    fn dedup_key(&self) -> Option<String> {
        Some(self.key.clone())
    }

    async fn run(self, lobby: LobbyService) -> Result<(), JobFailure> {
        lobby
            .expire_race_name(&self.key, self.as_of)
            .await
            .map_err(transient)?;
        Ok(())
    }
}

/// Marks a pending invite `expired` once past its expiry at `as_of`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpireInvite {
    pub invite_id: InviteId,
    pub as_of: DateTime<Utc>,
}

impl Job for ExpireInvite {
    const KIND: &'static str = "lobby.expire_invite";
    type Context = LobbyService;

    fn dedup_key(&self) -> Option<String> {
        Some(self.invite_id.to_string())
    }

    async fn run(self, lobby: LobbyService) -> Result<(), JobFailure> {
        lobby
            .expire_invite(self.invite_id, self.as_of)
            .await
            .map_err(transient)?;
        Ok(())
    }
}

/// Closes the enrollment of a game whose deadline passed by `as_of`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloseEnrollment {
    pub game_id: GameId,
    pub as_of: DateTime<Utc>,
}

impl Job for CloseEnrollment {
    const KIND: &'static str = "lobby.close_enrollment";
    type Context = LobbyService;

    fn dedup_key(&self) -> Option<String> {
        Some(self.game_id.to_string())
    }

    async fn run(self, lobby: LobbyService) -> Result<(), JobFailure> {
        lobby
            .close_enrollment_due(self.game_id, self.as_of)
            .await
            .map_err(transient)?;
        Ok(())
    }
}

impl LobbyService {
    /// Marks the invite expired if it is pending and past its expiry at
    /// `as_of`; whether it did.
    pub async fn expire_invite(
        &self,
        id: InviteId,
        as_of: DateTime<Utc>,
    ) -> Result<bool, LobbyError> {
        let mut work = self.begin().await?;
        let Some(invite) = store::lock_invite(work.conn(), id).await? else {
            return Ok(false);
        };
        if invite.status != InviteStatus::Pending || invite.expires_at > as_of {
            return Ok(false);
        }
        store::decide_invite(work.conn(), id, InviteStatus::Expired).await?;
        self.commit(work).await?;
        Ok(true)
    }

    /// Closes the enrollment of a game past its deadline at `as_of`: with
    /// at least `min_races` it becomes `enrollment_closed` (and `starting`
    /// when it starts automatically); with fewer it is `cancelled` and the
    /// members are told. The new status, or `None` if nothing was due.
    #[tracing::instrument(name = "lobby.close_enrollment_due", skip_all, fields(game_id = %id))]
    pub async fn close_enrollment_due(
        &self,
        id: GameId,
        as_of: DateTime<Utc>,
    ) -> Result<Option<GameStatus>, LobbyError> {
        let mut work = self.begin().await?;
        let game = match store::lock_game(work.conn(), id).await? {
            Some(game)
                if game.status == GameStatus::EnrollmentOpen
                    && game.enrollment_deadline <= as_of =>
            {
                game
            }
            _ => return Ok(None),
        };
        work.touched(id);
        let have = store::count_active_members(work.conn(), id).await?;
        let status = if have < i64::from(game.min_races) {
            let reason = format!(
                "enrollment closed with {have} of the {} races needed",
                game.min_races
            );
            self.cancel(&mut work, id, &reason).await?;
            GameStatus::Cancelled
        } else if game.auto_start {
            self.start(&mut work, id).await?;
            GameStatus::Starting
        } else {
            store::set_status(work.conn(), id, GameStatus::EnrollmentClosed, None).await?;
            GameStatus::EnrollmentClosed
        };
        crate::audit::record(
            work.conn(),
            crate::audit::SYSTEM_ACTOR,
            "lobby.enrollment_deadline",
            &id.to_string(),
            json!({ "races": have, "status": status }),
        )
        .await?;
        self.commit(work).await?;
        tracing::info!(game_id = %id, races = have, status = %status, "enrollment deadline passed");
        Ok(Some(status))
    }
}
