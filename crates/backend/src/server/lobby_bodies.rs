//! Request bodies the lobby's user and admin routes share.

use serde::Deserialize;

/// `{ "race_name": … }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RaceNameBody {
    pub race_name: String,
}

/// `{ "reason": … }` (required).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReasonBody {
    pub reason: String,
}

/// `{ "reason"?: … }`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct OptionalReasonBody {
    #[serde(default)]
    pub reason: Option<String>,
}
