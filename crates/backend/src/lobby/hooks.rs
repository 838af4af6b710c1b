//! The lobby's seams with the domains around it:
//!
//! - [`LobbyService::on_runtime_snapshot`]: the game runtime reports a
//!   game's `current_turn` and runtime status; the lobby moves the game
//!   (`starting → running`, `running → paused` on `engine_unreachable` /
//!   `generation_failed`, `paused → running`, `→ finished`) and tells the
//!   active members (`game.turn.ready`, `game.paused`; spec §10).
//! - [`UserDeletedHook`]: a soft-deleted user leaves games not yet started,
//!   is removed (and banished) from games in play, withdraws applications,
//!   declines invites, and gives up pending race names — inside the
//!   deleting transaction; the cache is refreshed after it commits.

use std::sync::{Arc, OnceLock};

use chrono::Utc;
use futures::future::BoxFuture;
use serde_json::json;
use sqlx::PgConnection;

use crate::ids::{GameId, RuntimeRequestId, UserId};
use crate::user::OnUserDeleted;

use super::error::LobbyError;
use super::model::{GameStatus, MemberStatus, RuntimeSnapshot};
use super::service::LobbyService;
use super::store::{self, RuntimeRequest, RuntimeRequestKind};

impl LobbyService {
    /// Applies a runtime snapshot of `game_id`. Idempotent: the same
    /// snapshot twice changes nothing the second time, and the
    /// notifications are keyed by game and turn.
    #[tracing::instrument(name = "lobby.on_runtime_snapshot", skip_all, fields(game_id = %game_id))]
    pub async fn on_runtime_snapshot(
        &self,
        game_id: GameId,
        snapshot: &RuntimeSnapshot,
    ) -> Result<GameStatus, LobbyError> {
        if snapshot.runtime_status == "finished" {
            return self
                .on_runtime_finished(game_id, snapshot.current_turn, "the game was ended", &[])
                .await;
        }
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        if game.status.is_terminal() {
            return Ok(game.status);
        }
        let now = Utc::now();
        let advanced = snapshot.current_turn > game.current_turn;
        let turn = snapshot.current_turn.max(game.current_turn);
        let started = game.status == GameStatus::Starting && snapshot.runtime_status == "running";
        store::set_runtime_view(
            work.conn(),
            game_id,
            turn,
            &snapshot.runtime_status,
            (advanced || started).then_some(now),
        )
        .await?;

        let mut status = game.status;
        let next = match (game.status, snapshot.runtime_status.as_str()) {
            (GameStatus::Running, _) if snapshot.pauses() => Some(GameStatus::Paused),
            (GameStatus::Starting | GameStatus::Paused, "running") => Some(GameStatus::Running),
            _ => None,
        };
        if let Some(next) = next {
            let reason = (next == GameStatus::Paused).then_some(snapshot.runtime_status.as_str());
            store::set_status(work.conn(), game_id, next, reason).await?;
            status = next;
        }
        let members: Vec<UserId> = store::active_members(work.conn(), &[game_id])
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        if started {
            self.notify_all(
                &mut work,
                "game.started",
                format!("started:{game_id}"),
                &members,
                json!({ "game_id": game_id, "turn": turn }),
            )
            .await?;
        }
        // A game that starts announces its first turn (turn 0) too.
        if advanced || started {
            self.notify_all(
                &mut work,
                "game.turn.ready",
                format!("turn-ready:{game_id}:{turn}"),
                &members,
                json!({ "game_id": game_id, "turn": turn }),
            )
            .await?;
        }
        if status == GameStatus::Paused && game.status == GameStatus::Running {
            self.notify_all(
                &mut work,
                "game.paused",
                format!("paused:{game_id}:{turn}"),
                &members,
                json!({ "game_id": game_id, "turn": turn, "reason": snapshot.runtime_status }),
            )
            .await?;
        }
        self.commit(work).await?;
        if status != game.status {
            tracing::info!(game_id = %game_id, from = %game.status, to = %status, turn, "game status from the runtime");
        }
        Ok(status)
    }

    /// A start the runtime gave up on (no image, a configuration the engine
    /// refuses, the container never came up): `starting →
    /// enrollment_closed` with `reason`, so an admin can fix the cause and
    /// start it again, or cancel it. Any other status is left alone.
    #[tracing::instrument(name = "lobby.on_runtime_start_failed", skip_all, fields(game_id = %game_id))]
    pub async fn on_runtime_start_failed(
        &self,
        game_id: GameId,
        reason: &str,
    ) -> Result<GameStatus, LobbyError> {
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        if game.status != GameStatus::Starting {
            return Ok(game.status);
        }
        let reason = format!("start failed: {reason}");
        store::set_status(
            work.conn(),
            game_id,
            GameStatus::EnrollmentClosed,
            Some(&reason),
        )
        .await?;
        self.commit(work).await?;
        tracing::warn!(game_id = %game_id, "game start failed; back to enrollment_closed");
        Ok(GameStatus::EnrollmentClosed)
    }

    /// The runtime patched the game's engine to `label` (same major.minor):
    /// the game shows the version it now runs.
    pub async fn on_runtime_engine_version(
        &self,
        game_id: GameId,
        label: &str,
    ) -> Result<(), LobbyError> {
        let mut work = self.begin().await?;
        self.lock(&mut work, game_id).await?;
        store::set_engine_version(work.conn(), game_id, label).await?;
        self.commit(work).await
    }

    /// The turn scheduler's view: every running game and its next turn
    /// deadline (from the cache; empty until the cache is warm).
    pub fn running_deadlines(&self) -> Vec<(GameId, Option<chrono::DateTime<Utc>>)> {
        self.cache()
            .games_where(|e| e.game.status == GameStatus::Running)
            .iter()
            .map(|e| (e.game.game_id, e.game.next_deadline()))
            .collect()
    }

    /// Running games with a turn reminder: the game (members included) and
    /// when the current turn's reminder is due.
    pub fn reminders(&self) -> Vec<(std::sync::Arc<super::GameEntry>, chrono::DateTime<Utc>)> {
        self.cache()
            .games_where(|e| {
                e.game.status == GameStatus::Running && e.game.reminder_minutes.is_some()
            })
            .into_iter()
            .filter_map(|e| {
                let deadline = e.game.next_deadline()?;
                let minutes = i64::from(e.game.reminder_minutes?);
                Some((e, deadline - chrono::Duration::minutes(minutes)))
            })
            .collect()
    }

    /// Reminds `users` (members whose race has no orders in) of the turn's
    /// deadline, once per turn (`game.turn.reminder`, push and email).
    pub async fn remind(
        &self,
        game_id: GameId,
        turn: i32,
        deadline: chrono::DateTime<Utc>,
        users: &[UserId],
    ) -> Result<(), LobbyError> {
        let mut work = self.begin().await?;
        self.notify_all(
            &mut work,
            "game.turn.reminder",
            format!("turn-reminder:{game_id}:{turn}"),
            users,
            json!({ "game_id": game_id, "turn": turn, "deadline": deadline.to_rfc3339() }),
        )
        .await?;
        self.commit(work).await
    }

    /// Re-reads one game into the cache, after a change made outside the
    /// lobby (an operator's SQL; tests moving a turn's clock).
    pub async fn reload_game(&self, game_id: GameId) {
        self.refresh(&[game_id], &[]).await;
    }

    /// Whether [`running_deadlines`](Self::running_deadlines) is complete.
    pub fn deadlines_known(&self) -> bool {
        self.cache().is_warm()
    }

    /// The runtime resumed a paused game at `turn`: `paused → running`, the
    /// turn's clock restarts now (the next deadline is the schedule's first
    /// slot after now), members are told (`game.resumed`). A game that is
    /// not paused is left alone.
    #[tracing::instrument(name = "lobby.on_runtime_resumed", skip_all, fields(game_id = %game_id))]
    pub async fn on_runtime_resumed(
        &self,
        game_id: GameId,
        turn: i32,
    ) -> Result<GameStatus, LobbyError> {
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        if game.status != GameStatus::Paused {
            return Ok(game.status);
        }
        let now = Utc::now();
        store::set_runtime_view(
            work.conn(),
            game_id,
            turn.max(game.current_turn),
            "running",
            Some(now),
        )
        .await?;
        store::set_status(work.conn(), game_id, GameStatus::Running, None).await?;
        let members: Vec<UserId> = store::active_members(work.conn(), &[game_id])
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        if turn > game.current_turn {
            // The engine ran a turn while the game was paused (behind a
            // tick that died): announced as a tick would have.
            self.notify_all(
                &mut work,
                "game.turn.ready",
                format!("turn-ready:{game_id}:{turn}"),
                &members,
                json!({ "game_id": game_id, "turn": turn }),
            )
            .await?;
        }
        self.notify_all(
            &mut work,
            "game.resumed",
            format!("resumed:{game_id}:{turn}:{}", now.timestamp_millis()),
            &members,
            json!({ "game_id": game_id, "turn": turn }),
        )
        .await?;
        self.commit(work).await?;
        tracing::info!(game_id = %game_id, turn, "game resumed");
        Ok(GameStatus::Running)
    }

    /// After a turn the engine counts `races` dead (quit, dropped as idle,
    /// wiped out): the membership says so (`reason`; the member stays and
    /// reads their reports) and every active member hears of each, once per
    /// race (`game.race.dropped`).
    pub async fn on_runtime_races_out(
        &self,
        game_id: GameId,
        turn: i32,
        races: &[String],
    ) -> Result<(), LobbyError> {
        let mut work = self.begin().await?;
        let members: Vec<UserId> = store::active_members(work.conn(), &[game_id])
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        for race in races {
            store::mark_race_out(
                work.conn(),
                game_id,
                race,
                &format!("race out of the game at turn {turn}"),
            )
            .await?;
            store::touch_game(work.conn(), game_id).await?;
            work.touched(game_id);
            self.notify_all(
                &mut work,
                "game.race.dropped",
                format!("race-dropped:{game_id}:{race}"),
                &members,
                json!({ "game_id": game_id, "race_name": race, "turn": turn }),
            )
            .await?;
        }
        self.commit(work).await
    }

    /// The runtime ended the game at `turn` (an admin or the owner ended it,
    /// or one race or none is left): `finished` with `reason`, every active
    /// member hears why (`game.finished`, once), and the members of
    /// `surviving_races` get a fresh window to register their race names.
    #[tracing::instrument(name = "lobby.on_runtime_finished", skip_all, fields(game_id = %game_id))]
    pub async fn on_runtime_finished(
        &self,
        game_id: GameId,
        turn: i32,
        reason: &str,
        surviving_races: &[String],
    ) -> Result<GameStatus, LobbyError> {
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        if game.status.is_terminal() {
            return Ok(game.status);
        }
        let turn = turn.max(game.current_turn);
        store::set_runtime_view(work.conn(), game_id, turn, "finished", None).await?;
        store::set_status(work.conn(), game_id, GameStatus::Finished, Some(reason)).await?;
        let active = store::active_members(work.conn(), &[game_id]).await?;
        let survivors: Vec<(UserId, String)> = active
            .iter()
            .filter(|m| surviving_races.contains(&m.race_name))
            .map(|m| (m.user_id, m.race_name.clone()))
            .collect();
        self.renew_survivor_names(&mut work, &survivors).await?;
        let members: Vec<UserId> = active.into_iter().map(|m| m.user_id).collect();
        self.notify_all(
            &mut work,
            "game.finished",
            format!("finished:{game_id}"),
            &members,
            json!({ "game_id": game_id, "turn": turn, "reason": reason }),
        )
        .await?;
        self.commit(work).await?;
        tracing::info!(game_id = %game_id, turn, reason, "game finished");
        Ok(GameStatus::Finished)
    }

    /// The runtime's intake: open requests of every game, oldest first.
    pub async fn open_runtime_requests(
        &self,
        limit: i64,
    ) -> Result<Vec<RuntimeRequest>, LobbyError> {
        let mut conn = self.inner.db.acquire().await?;
        Ok(store::all_open_runtime_requests(&mut conn, limit).await?)
    }

    /// Marks a request done, on the runtime's transaction (so it completes
    /// together with the operation that carried it out).
    pub async fn complete_runtime_request(
        conn: &mut PgConnection,
        request_id: RuntimeRequestId,
    ) -> Result<(), LobbyError> {
        Ok(store::complete_runtime_request(conn, request_id).await?)
    }

    /// After the delete committed: the user's games and names afresh.
    async fn forgot_user(&self, user_id: UserId) {
        let games: Vec<GameId> = self
            .cache()
            .games_of(user_id)
            .iter()
            .map(|g| g.game.game_id)
            .collect();
        let names = self.cache().names_of(user_id);
        self.refresh(&games, &names).await;
    }
}

/// The lobby side of a soft delete, in the deleting transaction.
async fn forget_user(conn: &mut PgConnection, user_id: UserId) -> Result<(), LobbyError> {
    for (game_id, status, race_name) in store::games_of_member(conn, user_id).await? {
        store::lock_game(conn, game_id).await?;
        let (end, reason) = if status.is_in_play() {
            store::request_runtime(
                conn,
                game_id,
                RuntimeRequestKind::Banish,
                Some((user_id, &race_name)),
                Some("account deleted"),
            )
            .await?;
            (MemberStatus::Removed, Some("account deleted"))
        } else {
            (MemberStatus::Left, None)
        };
        store::end_membership(conn, game_id, user_id, end, reason).await?;
        store::touch_game(conn, game_id).await?;
    }
    store::withdraw_all_applications(conn, user_id).await?;
    store::close_invites_of(conn, user_id).await?;
    store::release_pending_of(conn, user_id).await?;
    Ok(())
}

/// The lobby's [`OnUserDeleted`] hook. The user domain is built before the
/// lobby (the lobby uses it), so the hook is registered first and bound
/// to the lobby once that exists ([`bind`](Self::bind)).
#[derive(Clone, Default)]
pub struct UserDeletedHook {
    lobby: Arc<OnceLock<LobbyService>>,
}

impl UserDeletedHook {
    pub fn bind(&self, lobby: &LobbyService) {
        let _ = self.lobby.set(lobby.clone());
    }
}

impl OnUserDeleted for UserDeletedHook {
    fn name(&self) -> &'static str {
        "lobby"
    }

    fn on_user_deleted<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        user_id: UserId,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { Ok(forget_user(conn, user_id).await?) })
    }

    fn after_user_deleted(&self, user_id: UserId) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(lobby) = self.lobby.get() {
                lobby.forgot_user(user_id).await;
            }
        })
    }
}
