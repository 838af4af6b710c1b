//! The outbox's vocabulary: delivery identifiers and states, attempt
//! outcomes, and the read models the admin surface shows.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Identifies one logical delivery (`mail_deliveries.delivery_id`). The
/// message's `Message-ID` derives from it, so every attempt of a delivery
/// carries the same one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct DeliveryId(pub Uuid);

impl DeliveryId {
    /// A new, time-ordered id (UUIDv7).
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for DeliveryId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a delivery is in its lifecycle (`mail_deliveries.state`).
///
/// `pending` → (`retrying` …) → `sent` | `dead_lettered`; an operator's
/// resend moves any state but `sent` back to `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Enqueued (or resent) and not yet attempted.
    Pending,
    /// At least one transient failure; the next attempt is scheduled.
    Retrying,
    /// Accepted by the relay. Terminal.
    Sent,
    /// Failed permanently or ran out of attempts; waits for an operator.
    DeadLettered,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 4] = [
        Self::Pending,
        Self::Retrying,
        Self::Sent,
        Self::DeadLettered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
            Self::Sent => "sent",
            Self::DeadLettered => "dead_lettered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one SMTP attempt ended (`mail_attempts.outcome`, and the `outcome`
/// label of `mail_attempts_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The relay accepted the message.
    Sent,
    /// Connection error, timeout, TLS failure or a 4xx reply: retried.
    TransientFailure,
    /// A 5xx reply or a message the relay can never accept: dead-lettered at once.
    PermanentFailure,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::TransientFailure => "transient_failure",
            Self::PermanentFailure => "permanent_failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Sent, Self::TransientFailure, Self::PermanentFailure]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// Why a delivery was dead-lettered (`mail_dead_letters.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterReason {
    PermanentFailure,
    MaxAttempts,
}

impl DeadLetterReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PermanentFailure => "permanent_failure",
            Self::MaxAttempts => "max_attempts",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::PermanentFailure, Self::MaxAttempts]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A delivery as operators see it. Recipients are shown as addresses (the
/// admin surface is privileged); message bodies are never shown, since
/// they can carry login codes.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub delivery_id: DeliveryId,
    pub template_id: String,
    pub idempotency_key: String,
    pub state: DeliveryState,
    pub recipients: Vec<String>,
    pub subject: String,
    /// Attempts over the whole history (the last `attempt_no`).
    pub attempt_count: i32,
    /// Attempts since enqueue or the last resend; bounded by
    /// `BACKEND_MAIL_MAX_ATTEMPTS`.
    pub cycle_attempts: i32,
    /// When the worker picks it up next; `None` once `sent` or `dead_lettered`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Set while a worker holds the delivery (it may be sending right now);
    /// a past value means that worker died and the lease has run out.
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// One row of the append-only attempt log.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub attempt_no: i32,
    pub outcome: AttemptOutcome,
    pub smtp_code: Option<i16>,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// A dead-lettered delivery awaiting an operator.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub delivery_id: DeliveryId,
    pub template_id: String,
    pub payload_id: Uuid,
    pub reason: DeadLetterReason,
    pub last_error: Option<String>,
    pub attempt_count: i32,
    pub dead_lettered_at: DateTime<Utc>,
}

/// One page of a listing plus the total number of matching rows.
#[derive(Debug, Clone)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: i64,
}
