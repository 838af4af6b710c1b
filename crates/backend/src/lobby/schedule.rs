//! Turn schedules: a fixed interval or a 5-field cron expression in an IANA
//! time zone, and the next deadline they give.
//!
//! STUB: replaced by the full implementation (croner, chrono-tz, DST tests).

use chrono::{DateTime, Utc};
use serde_json::Value;

/// When a game's turns are cut off.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnSchedule {
    /// Every `period`, counted from the previous cut-off.
    Every { period: std::time::Duration, raw: String },
    /// At the times a cron expression names, in `time_zone`.
    Cron { expression: String, time_zone: chrono_tz::Tz },
}

/// Why a schedule is refused: the field (`turn_schedule.every`,
/// `turn_schedule.cron`, `turn_schedule.time_zone`, `turn_schedule`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ScheduleError {
    pub field: &'static str,
    pub message: String,
}

impl TurnSchedule {
    /// Parses the API/storage JSON form: `{"every":"24h"}` or
    /// `{"cron":"0 18 * * *","time_zone":"Europe/Berlin"}`.
    pub fn parse(value: &Value) -> Result<Self, ScheduleError> {
        let every = value.get("every").and_then(Value::as_str).ok_or(ScheduleError {
            field: "turn_schedule",
            message: "stub".into(),
        })?;
        let hours: u64 = every.trim_end_matches('h').parse().map_err(|_| ScheduleError {
            field: "turn_schedule.every",
            message: "stub".into(),
        })?;
        Ok(Self::Every {
            period: std::time::Duration::from_secs(hours * 3600),
            raw: every.to_owned(),
        })
    }

    /// The JSON form [`parse`](Self::parse) reads.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Every { raw, .. } => serde_json::json!({ "every": raw }),
            Self::Cron {
                expression,
                time_zone,
            } => serde_json::json!({ "cron": expression, "time_zone": time_zone.name() }),
        }
    }

    /// The first deadline strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Every { period, .. } => Some(after + chrono::Duration::from_std(*period).ok()?),
            Self::Cron { .. } => None,
        }
    }
}
