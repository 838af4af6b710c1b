//! An entry of the audit trail.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// The actor of changes made by the process itself (the startup bootstrap).
pub const SYSTEM_ACTOR: &str = "system";

/// One row of `admin_audit_log`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    /// The admin's username, or [`SYSTEM_ACTOR`].
    pub actor: String,
    pub action: String,
    /// What the action touched, e.g. an admin username or a delivery id.
    pub target: String,
    pub details: Value,
    pub created_at: DateTime<Utc>,
}
