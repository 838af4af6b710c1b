//! Playing a running game: a member's orders, reports and turn status,
//! proxied to the game's engine with the race taken from the caller's
//! membership (never from the request). The guards that decide whether a
//! request reaches the engine live here: membership, the game's status
//! (paused, not in play), the runtime's status (a turn being generated),
//! the turn the orders are for, and whether the engine answers.
//!
//! Uses the lobby (the game and the caller's membership, read only) and
//! the [`EngineClient`](super::engine::EngineClient); the HTTP answers of
//! [`PlayError`] are in `server/errors/play.rs`.

use chrono::{DateTime, Utc};
use galaxy_model::api::{
    PutCommandRequest, PutCommandResponse, PutOrdersRequest, PutOrdersResponse, RaceState,
};
use galaxy_model::order::{Order, OrderLine};
use galaxy_model::report::Report;
use serde::{Deserialize, Serialize};

use super::engine::EngineError;
use super::error::RuntimeError;
use super::model::{RuntimeRecord, RuntimeStatus};
use super::service::RuntimeService;
use crate::ids::{GameId, UserId};
use crate::lobby::{GameEntry, GameStatus, LobbyError, Member, MemberStatus};

/// Why a player's request was refused.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// No such game.
    #[error("game not found")]
    NotFound,
    /// The caller never was a member of the game.
    #[error("not a member of this game")]
    NotAMember,
    /// The caller's membership ended (left, removed or blocked).
    #[error("your membership of this game has ended ({status})")]
    MembershipEnded { status: MemberStatus },
    /// The game is not running or paused (enrollment, starting, over).
    #[error("the game is {current}; this needs a game in play")]
    GameNotInPlay { current: GameStatus },
    /// The game is paused: no orders are taken.
    #[error("the game is paused; orders are taken again when it resumes")]
    GamePaused,
    /// The turn named (or the turn being generated) is not open for orders.
    #[error("turn {turn} is closed for orders; the current turn is {current_turn}")]
    TurnAlreadyClosed { turn: u32, current_turn: u32 },
    /// The caller's race is dead or banished (or not in the engine).
    #[error("your race {race} is no longer playing: {message}")]
    RaceNotAlive { race: String, message: String },
    /// The engine refused the order set or line as malformed (duplicate
    /// line ids, a text header naming another race or game, …).
    #[error("the orders were refused: {0}")]
    InvalidOrders(String),
    /// The order set is over one of the engine's limits.
    #[error("{message}")]
    LimitExceeded { field: String, message: String },
    /// A command deleting a line id that is not in the set.
    #[error("no order line with that id: {0}")]
    OrderNotFound(String),
    /// No report for that turn (a future one).
    #[error("no report for that turn: {0}")]
    ReportNotFound(String),
    /// The engine cannot be reached (or is not up yet). A write's outcome
    /// is all or nothing: the engine stores an order set atomically.
    #[error("the game's engine is unavailable: {0}")]
    EngineUnavailable(String),
    /// The engine answered outside its contract.
    #[error(transparent)]
    Engine(EngineError),
    #[error(transparent)]
    Lobby(#[from] LobbyError),
    #[error(transparent)]
    Runtime(Box<RuntimeError>),
}

impl From<RuntimeError> for PlayError {
    fn from(err: RuntimeError) -> Self {
        Self::Runtime(Box::new(err))
    }
}

/// A typed order line as players send it (closed: unknown fields refused).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayOrderLine {
    pub id: String,
    pub order: Order,
}

impl From<PlayOrderLine> for OrderLine {
    fn from(line: PlayOrderLine) -> Self {
        OrderLine {
            id: line.id,
            order: line.order,
        }
    }
}

/// The whole order set for a turn, typed or in the classic text form.
#[derive(Debug, Clone)]
pub enum OrderSet {
    Typed(Vec<OrderLine>),
    Text(String),
}

/// A member's game as the play endpoints show it.
#[derive(Debug, Clone, Serialize)]
pub struct PlayStatus {
    pub game_id: GameId,
    pub game_status: GameStatus,
    pub runtime_status: RuntimeStatus,
    /// The turn orders are collected for: the engine's when it answers,
    /// else the runtime record's.
    pub turn: u32,
    pub next_deadline: Option<DateTime<Utc>>,
    /// The caller's race (its key in the engine).
    pub race: String,
    /// Whether the engine answered; `races` is empty when it did not.
    pub engine_reachable: bool,
    pub races: Vec<PlayRace>,
}

/// One race of [`PlayStatus`].
#[derive(Debug, Clone, Serialize)]
pub struct PlayRace {
    pub race: String,
    pub name: String,
    pub state: RaceState,
    pub orders_in: bool,
}

/// Reads are allowed while the game is paused; writes are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
    /// Reports: also of a finished game (read from its stored state).
    Report,
}

/// The caller's place in a game: the game, their membership, the runtime.
struct Seat {
    entry: GameEntry,
    member: Member,
    record: RuntimeRecord,
}

impl Seat {
    fn current_turn(&self) -> u32 {
        u32::try_from(self.record.current_turn).unwrap_or_default()
    }

    /// The engine's base URL when the runtime expects an engine; else why not.
    fn base_url(&self) -> Result<&str, PlayError> {
        match &self.record.base_url {
            Some(url) if self.record.status.expects_engine() => Ok(url),
            _ if self.entry.game.status == GameStatus::Paused => Err(PlayError::GamePaused),
            _ => Err(PlayError::EngineUnavailable(format!(
                "the engine is {}",
                self.record.status
            ))),
        }
    }

    /// The turn a write is for: the one named, which must be current, or
    /// the current one.
    fn turn(&self, named: Option<u32>) -> Result<u32, PlayError> {
        let current = self.current_turn();
        match named {
            Some(turn) if turn != current => Err(PlayError::TurnAlreadyClosed {
                turn,
                current_turn: current,
            }),
            _ => Ok(current),
        }
    }

    fn race(&self) -> &str {
        &self.member.race_name
    }
}

impl RuntimeService {
    /// The caller's seat in `game_id`, checked for `access`.
    async fn seat(&self, user: UserId, game_id: GameId, access: Access) -> Result<Seat, PlayError> {
        let lobby = &self.inner.lobby;
        let entry = lobby.entry(game_id).await.map_err(|e| match e {
            LobbyError::NotFound(_) => PlayError::NotFound,
            e => e.into(),
        })?;
        let member = match lobby.membership(&entry, user).await? {
            None => return Err(PlayError::NotAMember),
            Some(m) if m.status != MemberStatus::Active => {
                return Err(PlayError::MembershipEnded { status: m.status });
            }
            Some(m) => m,
        };
        match entry.game.status {
            GameStatus::Running => {}
            GameStatus::Paused | GameStatus::Finished if access == Access::Report => {}
            GameStatus::Paused if access == Access::Read => {}
            GameStatus::Paused => return Err(PlayError::GamePaused),
            current => return Err(PlayError::GameNotInPlay { current }),
        }
        let record = self.record(game_id).await.map_err(|e| match e {
            RuntimeError::NotFound(_) => {
                PlayError::EngineUnavailable("the game has no engine yet".to_owned())
            }
            e => e.into(),
        })?;
        let seat = Seat {
            entry,
            member,
            record,
        };
        if access == Access::Write && seat.record.status == RuntimeStatus::GenerationInProgress {
            let current_turn = seat.current_turn();
            return Err(PlayError::TurnAlreadyClosed {
                turn: current_turn,
                current_turn,
            });
        }
        Ok(seat)
    }

    /// Replaces the caller's whole order set for the current turn (`turn`,
    /// when given, must be it).
    pub async fn submit_orders(
        &self,
        user: UserId,
        game_id: GameId,
        turn: Option<u32>,
        orders: OrderSet,
    ) -> Result<PutOrdersResponse, PlayError> {
        let seat = self.seat(user, game_id, Access::Write).await?;
        let turn = seat.turn(turn)?;
        let (orders, text) = match orders {
            OrderSet::Typed(lines) => (lines, None),
            OrderSet::Text(text) => (Vec::new(), Some(text)),
        };
        let request = PutOrdersRequest {
            race: seat.race().to_owned(),
            turn,
            orders,
            text,
        };
        let base = seat.base_url()?;
        let stored = self
            .inner
            .engine
            .put_orders(base, &request)
            .await
            .map_err(|e| engine_error(e, &seat, turn))?;
        if seat.entry.game.early_turn {
            self.early_turn_if_ready(&seat, base).await;
        }
        Ok(stored)
    }

    /// Early turn: once every alive race has orders in, the turn runs at
    /// the scheduler's next step (the force flag, woken now) instead of at
    /// the deadline. Best effort: on any failure the deadline still holds.
    async fn early_turn_if_ready(&self, seat: &Seat, base: &str) {
        let game_id = seat.entry.game.game_id;
        let Ok(status) = self.inner.engine.status(base).await else {
            return;
        };
        let everyone = status
            .races
            .iter()
            .filter(|r| r.state == galaxy_model::api::RaceState::Alive)
            .all(|r| r.orders_in);
        if !everyone || i64::from(status.turn) != i64::from(seat.record.current_turn) {
            return;
        }
        let flagged = async {
            let mut conn = self.inner.db.acquire().await?;
            super::store::set_force_next_turn(&mut conn, game_id).await?;
            drop(conn);
            self.refresh(game_id).await
        };
        match flagged.await {
            Ok(_) => {
                tracing::info!(game_id = %game_id, turn = status.turn, "every race has orders in: early turn");
                self.wake_scheduler();
            }
            Err(err) => {
                tracing::warn!(game_id = %game_id, error = %err, "cannot flag an early turn")
            }
        }
    }

    /// Adds, replaces or (without `order`) deletes one line of the
    /// caller's set by its id.
    pub async fn submit_command(
        &self,
        user: UserId,
        game_id: GameId,
        turn: Option<u32>,
        id: String,
        order: Option<Order>,
    ) -> Result<PutCommandResponse, PlayError> {
        let seat = self.seat(user, game_id, Access::Write).await?;
        let turn = seat.turn(turn)?;
        let request = PutCommandRequest {
            race: seat.race().to_owned(),
            turn,
            id,
            order,
        };
        let base = seat.base_url()?;
        let done = self
            .inner
            .engine
            .put_command(base, &request)
            .await
            .map_err(|e| engine_error(e, &seat, turn))?;
        if seat.entry.game.early_turn {
            self.early_turn_if_ready(&seat, base).await;
        }
        Ok(done)
    }

    /// The caller's stored order set for the current turn.
    pub async fn my_orders(
        &self,
        user: UserId,
        game_id: GameId,
    ) -> Result<PutOrdersResponse, PlayError> {
        let seat = self.seat(user, game_id, Access::Read).await?;
        let base = seat.base_url()?;
        self.inner
            .engine
            .orders(base, seat.race())
            .await
            .map_err(|e| engine_error(e, &seat, seat.current_turn()))
    }

    /// The caller's report for `turn` (default: the current one).
    pub async fn my_report(
        &self,
        user: UserId,
        game_id: GameId,
        turn: Option<u32>,
    ) -> Result<Report, PlayError> {
        let seat = self.seat(user, game_id, Access::Report).await?;
        if seat.entry.game.status == GameStatus::Finished {
            let json = self.archived_report(&seat, turn, "json").await?;
            return serde_json::from_str(&json).map_err(|e| {
                PlayError::EngineUnavailable(format!("the stored report does not decode: {e}"))
            });
        }
        let base = seat.base_url()?;
        self.inner
            .engine
            .report(base, seat.race(), turn)
            .await
            .map_err(|e| engine_error(e, &seat, seat.current_turn()))
    }

    /// A finished game's report, read from its stored state by the engine
    /// run once (`galaxy-game report`): the engine itself stays stopped.
    async fn archived_report(
        &self,
        seat: &Seat,
        turn: Option<u32>,
        format: &str,
    ) -> Result<String, PlayError> {
        let game_id = seat.entry.game.game_id;
        let state_dir = self.inner.settings.state_root.join(game_id.to_string());
        let mut args = vec![
            "report".to_owned(),
            "--race".to_owned(),
            seat.race().to_owned(),
            "--format".to_owned(),
            format.to_owned(),
        ];
        if let Some(turn) = turn {
            args.extend(["--turn".to_owned(), turn.to_string()]);
        }
        let output = self
            .inner
            .driver
            .run_once(&seat.record.image_ref, &state_dir, args)
            .await
            .map_err(|e| PlayError::EngineUnavailable(e.to_string()))?;
        match output.exit_code {
            0 => Ok(output.stdout),
            4 => Err(PlayError::ReportNotFound(format!(
                "no report for turn {}",
                turn.map_or_else(|| "current".to_owned(), |t| t.to_string())
            ))),
            code => Err(PlayError::EngineUnavailable(format!(
                "reading the stored report failed (exit {code}): {}",
                output.stdout.trim()
            ))),
        }
    }

    /// The caller's report for `turn` in the classic text form.
    pub async fn my_report_text(
        &self,
        user: UserId,
        game_id: GameId,
        turn: Option<u32>,
    ) -> Result<String, PlayError> {
        let seat = self.seat(user, game_id, Access::Report).await?;
        if seat.entry.game.status == GameStatus::Finished {
            return self.archived_report(&seat, turn, "text").await;
        }
        let base = seat.base_url()?;
        self.inner
            .engine
            .report_text(base, seat.race(), turn)
            .await
            .map_err(|e| engine_error(e, &seat, seat.current_turn()))
    }

    /// The turn, the runtime's status, the next deadline, the caller's race
    /// and which races have orders in. Answers even when the engine does
    /// not (from the runtime record, with no races).
    pub async fn play_status(
        &self,
        user: UserId,
        game_id: GameId,
    ) -> Result<PlayStatus, PlayError> {
        let seat = self.seat(user, game_id, Access::Read).await?;
        let engine = match seat.base_url() {
            Ok(base) => self.inner.engine.status(base).await.ok(),
            Err(_) => None,
        };
        let (turn, races) = match &engine {
            Some(status) => (
                status.turn,
                status
                    .races
                    .iter()
                    .map(|r| PlayRace {
                        race: r.race.clone(),
                        name: r.name.clone(),
                        state: r.state,
                        orders_in: r.orders_in,
                    })
                    .collect(),
            ),
            None => (seat.current_turn(), Vec::new()),
        };
        Ok(PlayStatus {
            game_id,
            game_status: seat.entry.game.status,
            runtime_status: seat.record.status,
            turn,
            next_deadline: seat.entry.game.next_deadline(),
            race: seat.race().to_owned(),
            engine_reachable: engine.is_some(),
            races,
        })
    }
}

/// What an engine refusal means to the player (`turn`: the turn asked for).
fn engine_error(err: EngineError, seat: &Seat, turn: u32) -> PlayError {
    if err.is_unavailable() {
        tracing::warn!(game_id = %seat.record.game_id, error = %err, "engine unavailable for a player request");
        return PlayError::EngineUnavailable(err.to_string());
    }
    match err {
        EngineError::TurnMismatch { current_turn, .. } => {
            PlayError::TurnAlreadyClosed { turn, current_turn }
        }
        EngineError::RaceNotAlive { message } | EngineError::UnknownRace { message } => {
            PlayError::RaceNotAlive {
                race: seat.race().to_owned(),
                message,
            }
        }
        EngineError::InvalidRequest { message } => PlayError::InvalidOrders(message),
        EngineError::LimitExceeded { field, message } => {
            PlayError::LimitExceeded { field, message }
        }
        EngineError::PayloadTooLarge { message } => PlayError::LimitExceeded {
            field: "body".to_owned(),
            message,
        },
        EngineError::OrderNotFound { message } => PlayError::OrderNotFound(message),
        EngineError::ReportNotFound { message } => PlayError::ReportNotFound(message),
        EngineError::NotInitialised { message } => PlayError::EngineUnavailable(message),
        other => PlayError::Engine(other),
    }
}
