//! The runtime's vocabulary: a game's runtime record and its status, the
//! operations (jobs and log entries) and who asks for them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::ids::GameId;
use crate::text_enum;

text_enum!(
    /// Where a game's engine is, as the runtime knows it.
    RuntimeStatus, "runtime_records", "status" {
        Starting = "starting",
        Running = "running",
        GenerationInProgress = "generation_in_progress",
        GenerationFailed = "generation_failed",
        EngineUnreachable = "engine_unreachable",
        Stopped = "stopped",
        Removed = "removed",
        StartFailed = "start_failed",
        Finished = "finished",
    }
);

impl RuntimeStatus {
    /// Statuses in which the engine is expected to answer: the reconciler
    /// probes these and notices when their container disappears.
    pub fn expects_engine(self) -> bool {
        matches!(
            self,
            Self::Running
                | Self::GenerationInProgress
                | Self::GenerationFailed
                | Self::EngineUnreachable
        )
    }
}

text_enum!(
    /// What an operation does.
    OpKind, "runtime_operations", "op" {
        Start = "start",
        Stop = "stop",
        Restart = "restart",
        Patch = "patch",
        Banish = "banish",
        ForceNextTurn = "force_next_turn",
        Adopt = "adopt",
        MarkRemoved = "mark_removed",
        MarkUnreachable = "mark_unreachable",
        MarkRunning = "mark_running",
        Turn = "turn",
        Resume = "resume",
    }
);

impl OpKind {
    /// The long operations that run as jobs on the worker pool (the rest
    /// are logged as they happen).
    pub fn is_job(self) -> bool {
        matches!(
            self,
            Self::Start | Self::Stop | Self::Restart | Self::Patch | Self::Banish
        )
    }
}

text_enum!(
    /// An operation's state: `pending`/`retrying` while queued (the queue
    /// row convention), then `succeeded`, `failed` or `skipped`.
    OpState, "runtime_operations", "state" {
        Pending = "pending",
        Retrying = "retrying",
        Succeeded = "succeeded",
        Failed = "failed",
        Skipped = "skipped",
    }
);

/// A game's runtime record (`runtime_records`).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RuntimeRecord {
    pub game_id: GameId,
    pub engine_version: String,
    pub image_ref: String,
    pub driver: String,
    pub container_id: Option<String>,
    pub container_name: String,
    pub base_url: Option<String>,
    pub status: RuntimeStatus,
    #[serde(skip)]
    pub seed: i64,
    pub initialised_at: Option<DateTime<Utc>>,
    pub current_turn: i32,
    pub last_health_at: Option<DateTime<Utc>>,
    pub last_health_ok: Option<bool>,
    pub last_error: Option<String>,
    pub force_next_turn: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// While a turn runs: when it began (a tick older than the engine call
    /// timeout was left behind by a killed backend).
    #[serde(skip)]
    pub generation_started_at: Option<DateTime<Utc>>,
}

/// One operation (`runtime_operations`): a queued job or a log entry.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Operation {
    pub op_id: i64,
    pub game_id: GameId,
    pub op: OpKind,
    pub params: Value,
    pub requested_by: String,
    pub state: OpState,
    pub attempts: i32,
    pub outcome: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Who asks for an operation (`runtime_operations.requested_by`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    Admin(String),
    Lobby,
    Reconciler,
    Scheduler,
    /// The owner of a private game (resume).
    Owner(crate::ids::UserId),
}

impl Requester {
    pub fn as_text(&self) -> String {
        match self {
            Self::Admin(name) => format!("admin:{name}"),
            Self::Lobby => "lobby".to_owned(),
            Self::Reconciler => "reconciler".to_owned(),
            Self::Scheduler => "scheduler".to_owned(),
            Self::Owner(user) => format!("owner:{user}"),
        }
    }
}
