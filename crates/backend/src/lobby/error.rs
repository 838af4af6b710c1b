//! The lobby's errors (their HTTP answers: `server/errors/lobby.rs`).

use chrono::{DateTime, Utc};

use super::engine_versions::VersionRefused;
use super::model::{ApplicationStatus, GameStatus, InviteStatus};
use super::race_name::RaceNameError;
use super::schedule::ScheduleError;
use crate::notification::NotificationError;

/// Why a lobby operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LobbyError {
    /// An unknown (or, for the caller, invisible) game, application,
    /// invite, member, user or race name.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the game is {current}; this needs it {wanted}")]
    InvalidGameState {
        current: GameStatus,
        wanted: &'static str,
    },
    #[error("the application is {current}, not pending")]
    InvalidApplicationState { current: ApplicationStatus },
    #[error("the invite is {current}, not pending")]
    InvalidInviteState { current: InviteStatus },
    #[error("the invite expired at {expires_at}")]
    InviteExpired { expires_at: DateTime<Utc> },
    #[error("the game has its {max} races")]
    GameFull { max: i32 },
    #[error("the game has {have} races and needs at least {need}")]
    NotEnoughRaces { have: i64, need: i32 },
    #[error("you already have a pending application to this game")]
    ApplicationExists,
    #[error("this user already has a pending invite to this game")]
    InviteExists,
    #[error("already a member of this game")]
    AlreadyMember,
    #[error("not a member of this game")]
    NotAMember,
    #[error("this game does not take applications")]
    ApplicationsClosed,
    #[error("the race name is taken")]
    RaceNameTaken,
    #[error("you already have {limit} registered race names")]
    RaceNameLimitReached { limit: i32 },
    #[error("you already take part in {limit} unfinished games")]
    GameLimitReached { limit: i32 },
    #[error("you are banned from joining games")]
    GameJoinBanned { expires_at: Option<DateTime<Utc>> },
    #[error("only the game's owner (or an admin) may do this")]
    NotGameOwner,
    #[error("you are blocked from this game")]
    BlockedFromGame,
    #[error("{field}: {message}")]
    InvalidGame {
        field: &'static str,
        message: String,
    },
    /// The engine version label is not registered, or disabled.
    #[error("{0}")]
    UnknownEngineVersion(String),
    #[error(transparent)]
    EngineVersions(anyhow::Error),
    #[error("invalid turn schedule: {0}")]
    InvalidSchedule(#[from] ScheduleError),
    #[error("invalid settings: {0}")]
    InvalidSettings(galaxy_model::api::SettingsError),
    #[error("invalid race name: {0}")]
    InvalidRaceName(#[from] RaceNameError),
    #[error("{field}: {message}")]
    InvalidInvite {
        field: &'static str,
        message: String,
    },
    #[error("user lookup: {0}")]
    User(#[from] crate::user::UserError),
    #[error("notification: {0}")]
    Notification(#[from] NotificationError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<VersionRefused> for LobbyError {
    fn from(refused: VersionRefused) -> Self {
        match refused {
            VersionRefused::Unavailable(err) => Self::EngineVersions(err),
            refused => Self::UnknownEngineVersion(refused.to_string()),
        }
    }
}

impl LobbyError {
    pub(super) fn state(current: GameStatus, wanted: &'static str) -> Self {
        Self::InvalidGameState { current, wanted }
    }
}
