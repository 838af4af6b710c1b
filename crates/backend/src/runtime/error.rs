//! [`RuntimeError`]: why a runtime request was refused. The HTTP mapping is
//! in `server/errors/runtime.rs`.

use super::model::RuntimeStatus;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No game, or no runtime record for it.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The runtime-job queue is full (`BACKEND_RUNTIME_JOB_QUEUE_SIZE`).
    #[error("the runtime job queue is full ({queued} queued); retry later")]
    Busy { queued: i64 },
    /// The container runtime (Docker daemon) cannot be reached.
    #[error("the container runtime is unavailable: {0}")]
    Unavailable(String),
    /// The action does not apply to the runtime's current status.
    #[error("the runtime is {current}; {action} needs {wanted}")]
    InvalidState {
        current: RuntimeStatus,
        action: &'static str,
        wanted: &'static str,
    },
    /// The game's status does not allow the action.
    #[error("the game is {current}; {action} needs a game in play")]
    GameNotInPlay {
        current: String,
        action: &'static str,
    },
    /// A patch to a version outside the same major.minor line, or not newer.
    #[error("a patch must stay within {from_line}.x: {from} → {to} needs a stop and a start")]
    PatchNotAllowed {
        from: String,
        to: String,
        from_line: String,
    },
    /// The shadow check: the new version plays the game's last turn
    /// differently (`force` overrides).
    #[error(
        "engine version {to} plays turn {turn} differently from {from}: the first difference is in {what}, line {line}"
    )]
    PatchChangesRules {
        from: String,
        to: String,
        turn: u32,
        what: String,
        line: String,
        /// The engine's `first_difference`.
        difference: serde_json::Value,
    },
    /// The shadow check reached no verdict: the new version cannot replay
    /// the last turn (`force` overrides).
    #[error("the shadow check of engine version {to} failed: {reason}")]
    ShadowCheckFailed {
        from: String,
        to: String,
        reason: String,
    },
    /// A version that is not registered (or not enabled).
    #[error("engine version {0} is not registered or not enabled")]
    UnknownVersion(String),
    /// The engine does not answer (resume, player calls).
    #[error("the game's engine does not answer: {0}")]
    EngineUnavailable(String),
    /// Resume needs a paused game.
    #[error("the game is {current}; resume needs a paused game")]
    GameNotPaused { current: String },
    /// Only the owner of a private game (or an admin) resumes it.
    #[error("only the game's owner or an admin may resume it")]
    NotGameOwner,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Lobby(#[from] crate::lobby::LobbyError),
}
