//! The pipeline's vocabulary: intents as producers submit them, route
//! statuses and skip reasons, and the read models of the admin surface.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::ids::{IntentId, RouteId, UserId};

use super::catalog::Channel;

/// What a producer asks for: one notification of `kind`, deduplicated by
/// `(kind, idempotency_key)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub kind: String,
    /// Stable for one logical event (e.g. `turn-ready:<game_id>:<turn>`).
    pub idempotency_key: String,
    /// The addressee of `NotificationService::submit`: `None` for
    /// admin-channel kinds (and required otherwise). `None` with
    /// `NotificationService::submit_to`, which takes its recipients apart.
    pub user_id: Option<UserId>,
    /// The kind's fields (see the catalog); extra fields are kept.
    pub payload: Value,
}

impl Intent {
    pub fn new(
        kind: impl Into<String>,
        idempotency_key: impl Into<String>,
        user_id: Option<UserId>,
        payload: Value,
    ) -> Self {
        Self {
            kind: kind.into(),
            idempotency_key: idempotency_key.into(),
            user_id,
            payload,
        }
    }
}

/// The result of `NotificationService::submit` and `submit_to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub intent_id: IntentId,
    /// `false` when `(kind, idempotency_key)` existed: the first intent is
    /// returned and nothing new was routed.
    pub created: bool,
}

/// Where a route is in its lifecycle (`notification_routes.status`).
///
/// `pending` → (`retrying` …) → `sent` | `dead_lettered`; `skipped` is
/// terminal and carries a [`SkipReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteStatus {
    Pending,
    Retrying,
    /// Push: published to the stream. Email: handed to the mail outbox
    /// (`mail_delivery_id`), which owns the SMTP delivery from then on.
    Sent,
    Skipped,
    DeadLettered,
}

impl RouteStatus {
    pub const ALL: [RouteStatus; 5] = [
        Self::Pending,
        Self::Retrying,
        Self::Sent,
        Self::Skipped,
        Self::DeadLettered,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
            Self::Sent => "sent",
            Self::Skipped => "skipped",
            Self::DeadLettered => "dead_lettered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Why a route was not delivered (`notification_routes.skip_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// An admin-channel route while `BACKEND_NOTIFICATION_ADMIN_EMAIL` is empty.
    AdminEmailUnset,
    /// The user switched the kind's email off.
    UserPreference,
    /// The user was soft-deleted before the route was delivered.
    UserDeleted,
    /// The user has no email address (or no longer exists).
    NoEmailAddress,
}

impl SkipReason {
    pub const ALL: [SkipReason; 4] = [
        Self::AdminEmailUnset,
        Self::UserPreference,
        Self::UserDeleted,
        Self::NoEmailAddress,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AdminEmailUnset => "admin_email_unset",
            Self::UserPreference => "user_preference",
            Self::UserDeleted => "user_deleted",
            Self::NoEmailAddress => "no_email_address",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A route as operators see it.
#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub route_id: RouteId,
    pub intent_id: IntentId,
    pub channel: Channel,
    pub user_id: Option<UserId>,
    pub status: RouteStatus,
    pub skip_reason: Option<SkipReason>,
    pub attempts: i32,
    /// When the worker picks it up next; `None` once finished.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub mail_delivery_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub dead_lettered_at: Option<DateTime<Utc>>,
}

/// An intent with its routes.
#[derive(Debug, Clone, Serialize)]
pub struct IntentView {
    pub intent_id: IntentId,
    pub kind: String,
    pub idempotency_key: String,
    /// The sole recipient; `None` for admin kinds and broadcasts.
    pub user_id: Option<UserId>,
    /// How many users the intent addresses (0 for admin kinds).
    pub recipient_count: i32,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
    pub routes: Vec<Route>,
}

/// A dead-lettered route with its intent's identity.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub route_id: RouteId,
    pub intent_id: IntentId,
    pub kind: String,
    pub idempotency_key: String,
    pub channel: Channel,
    pub user_id: Option<UserId>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub dead_lettered_at: DateTime<Utc>,
}

/// Filters of the admin intent listing.
#[derive(Debug, Clone, Default)]
pub struct IntentFilter {
    pub kind: Option<String>,
    /// Intents addressed to this user, alone or in a broadcast.
    pub user_id: Option<UserId>,
    /// Intents with at least one route in this status.
    pub status: Option<RouteStatus>,
}

/// One page of a listing plus the total number of matching rows.
#[derive(Debug, Clone)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// A user's email switch for one kind. Read only from a JSON object with
/// exactly these two fields (not from an array, as derived serde would).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct Preference {
    pub kind: String,
    pub email_enabled: bool,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for Preference {
    type Error = String;

    fn try_from(mut object: serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        let kind = match object.remove("kind") {
            Some(serde_json::Value::String(kind)) => kind,
            Some(_) => return Err("`kind` must be a string".into()),
            None => return Err("missing field `kind`".into()),
        };
        let email_enabled = match object.remove("email_enabled") {
            Some(serde_json::Value::Bool(on)) => on,
            Some(_) => return Err("`email_enabled` must be a boolean".into()),
            None => return Err("missing field `email_enabled`".into()),
        };
        match object.keys().next() {
            Some(unknown) => Err(format!("unknown field `{unknown}`")),
            None => Ok(Self {
                kind,
                email_enabled,
            }),
        }
    }
}
