//! The lobby's vocabulary: games and their status machine, memberships,
//! applications, invites, Race Name Directory entries, who acts, and the
//! validated form of a new game.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use galaxy_model::api::GameSettings;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{ApplicationId, GameId, InviteId, UserId};

use super::error::LobbyError;
use super::schedule::TurnSchedule;

/// Bounds of `min_races` / `max_races`.
pub const RACES: (i32, i32) = (2, 30);
/// Longest game name, description and reason (characters).
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
pub const MAX_REASON_CHARS: usize = 500;
/// The earliest a turn reminder goes out: a week before the deadline.
pub const MAX_REMINDER_MINUTES: i32 = 10_080;

use crate::text_enum;

text_enum!(
    /// Where a game is: `draft → enrollment_open → enrollment_closed →
    /// starting → running ⇄ paused → finished`, and `cancelled` from any
    /// status before `running` (`docs/lobby.md` has the diagram).
    GameStatus, "games", "status" {
        Draft = "draft",
        EnrollmentOpen = "enrollment_open",
        EnrollmentClosed = "enrollment_closed",
        Starting = "starting",
        Running = "running",
        Paused = "paused",
        Finished = "finished",
        Cancelled = "cancelled",
    }
);

impl GameStatus {
    /// Finished and cancelled games never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Finished | Self::Cancelled)
    }

    /// Before the engine runs the game: members may still leave, and the
    /// game may be cancelled.
    pub fn is_before_start(self) -> bool {
        matches!(
            self,
            Self::Draft | Self::EnrollmentOpen | Self::EnrollmentClosed | Self::Starting
        )
    }

    /// The engine holds the races (a removed member must be banished).
    pub fn is_in_play(self) -> bool {
        matches!(self, Self::Running | Self::Paused)
    }
}

text_enum!(
    /// Public games are created by admins and joined by application;
    /// private games by users, joined by invite.
    Visibility, "games", "visibility" { Public = "public", Private = "private" }
);

text_enum!(
    MemberStatus, "memberships", "status" {
        Active = "active",
        Left = "left",
        Removed = "removed",
        Blocked = "blocked",
    }
);

text_enum!(
    ApplicationStatus, "applications", "status" {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
    }
);

text_enum!(
    InviteStatus, "invites", "status" {
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
        Revoked = "revoked",
        Expired = "expired",
    }
);

text_enum!(
    RaceNameState, "race_names", "state" {
        Registered = "registered",
        PendingRegistration = "pending_registration",
    }
);

/// Who owns a game.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    User(UserId),
    /// The admin's username.
    Admin(String),
}

impl Serialize for Owner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (kind, user_id) = match self {
            Owner::User(id) => ("user", Some(*id)),
            Owner::Admin(_) => ("admin", None),
        };
        serde_json::json!({ "kind": kind, "user_id": user_id }).serialize(s)
    }
}

/// Who performs a lobby operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    /// An admin, by username (written to the audit trail).
    Admin(String),
    /// The lobby itself (the sweeper, the runtime hook).
    System,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        matches!(self, Actor::Admin(_))
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User(id) => Some(*id),
            _ => None,
        }
    }
}

/// A game as stored and shown.
#[derive(Debug, Clone, Serialize)]
pub struct Game {
    pub game_id: GameId,
    pub name: String,
    pub description: String,
    pub visibility: Visibility,
    pub owner: Owner,
    pub status: GameStatus,
    pub engine_version: String,
    pub min_races: i32,
    pub max_races: i32,
    pub settings: GameSettings,
    #[serde(serialize_with = "schedule_json")]
    pub turn_schedule: TurnSchedule,
    pub enrollment_deadline: DateTime<Utc>,
    pub auto_start: bool,
    pub auto_approve: bool,
    pub accepts_applications: bool,
    /// Run the turn as soon as every alive race has orders in.
    pub early_turn: bool,
    /// Remind members without orders this many minutes before the deadline.
    pub reminder_minutes: Option<i32>,
    pub current_turn: i32,
    pub runtime_status: Option<String>,
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub turn_started_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub version: i64,
}

fn schedule_json<S: serde::Serializer>(schedule: &TurnSchedule, s: S) -> Result<S::Ok, S::Error> {
    schedule.to_json().serialize(s)
}

impl Game {
    pub fn is_owned_by(&self, user_id: UserId) -> bool {
        self.owner == Owner::User(user_id)
    }

    /// The next turn cut-off players are shown: for a running game, the
    /// schedule's first deadline after the current turn began.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        if self.status != GameStatus::Running {
            return None;
        }
        self.turn_schedule.next_after(self.turn_started_at?)
    }
}

/// A member of a game.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Member {
    pub game_id: GameId,
    pub user_id: UserId,
    pub race_name: String,
    pub status: MemberStatus,
    pub reason: Option<String>,
    pub joined_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Application {
    pub application_id: ApplicationId,
    pub game_id: GameId,
    pub user_id: UserId,
    pub race_name: String,
    pub status: ApplicationStatus,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Invite {
    pub invite_id: InviteId,
    pub game_id: GameId,
    pub inviter_user_id: UserId,
    pub invitee_user_id: UserId,
    pub status: InviteStatus,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl Invite {
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

/// A Race Name Directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RaceNameEntry {
    pub race_name: String,
    #[sqlx(rename = "race_key")]
    pub canonical_key: String,
    #[serde(skip)]
    pub user_id: UserId,
    pub state: RaceNameState,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub registered_at: Option<DateTime<Utc>>,
}

/// What `check availability` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Availability {
    pub race_name: String,
    pub canonical_key: String,
    pub available: bool,
    pub held_by_you: bool,
    pub state: Option<RaceNameState>,
}

/// A game with its active members: what the cache holds and the user
/// surface shows. Its `Game` JSON is serialised once, when the entry is
/// made, so a page of games is a concatenation of stored text.
#[derive(Debug, Clone)]
pub struct GameEntry {
    pub game: Game,
    pub members: Vec<Member>,
    json: Arc<str>,
}

/// `Game` in `openapi.yaml`: the record plus what is derived from it.
#[derive(Serialize)]
struct GameView<'a> {
    #[serde(flatten)]
    game: &'a Game,
    race_count: usize,
    next_deadline: Option<DateTime<Utc>>,
}

impl GameEntry {
    pub fn new(game: Game, members: Vec<Member>) -> Self {
        let view = GameView {
            game: &game,
            race_count: members.len(),
            next_deadline: game.next_deadline(),
        };
        let json = serde_json::to_string(&view)
            .expect("a game serialises")
            .into();
        Self {
            game,
            members,
            json,
        }
    }

    pub fn race_count(&self) -> usize {
        self.members.len()
    }

    pub fn member(&self, user_id: UserId) -> Option<&Member> {
        self.members.iter().find(|m| m.user_id == user_id)
    }

    /// The `Game` JSON text.
    pub fn game_json_text(&self) -> &str {
        &self.json
    }

    /// The JSON of the game (`Game` in `openapi.yaml`).
    pub fn game_json(&self) -> Value {
        serde_json::from_str(&self.json).expect("stored JSON parses")
    }

    /// `GameDetail`: the game, and its members when `show_members`.
    pub fn detail_json(&self, show_members: bool, me: Option<UserId>) -> Value {
        let mut value = self.game_json();
        let object = value.as_object_mut().expect("a game is an object");
        let members: &[Member] = if show_members { &self.members } else { &[] };
        object.insert(
            "members".into(),
            serde_json::to_value(members).expect("members serialise"),
        );
        let mine = me.and_then(|id| self.member(id));
        object.insert(
            "my_membership".into(),
            serde_json::to_value(mine).expect("a member serialises"),
        );
        value
    }
}

/// A new game as the API receives it (`CreateGame` in `openapi.yaml`);
/// [`NewGame::validate`] checks it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGame {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub engine_version: String,
    #[serde(default, deserialize_with = "crate::json_fields::whole_number")]
    pub min_races: Option<i32>,
    #[serde(default, deserialize_with = "crate::json_fields::whole_number")]
    pub max_races: Option<i32>,
    #[serde(default, deserialize_with = "crate::json_fields::non_null")]
    pub settings: Option<Value>,
    pub turn_schedule: Value,
    pub enrollment_deadline: DateTime<Utc>,
    #[serde(default, deserialize_with = "crate::json_fields::non_null")]
    pub auto_start: Option<bool>,
    #[serde(default, deserialize_with = "crate::json_fields::non_null")]
    pub auto_approve: Option<bool>,
    #[serde(default, deserialize_with = "crate::json_fields::non_null")]
    pub accepts_applications: Option<bool>,
    #[serde(default, deserialize_with = "crate::json_fields::non_null")]
    pub open_enrollment: Option<bool>,
    #[serde(default, deserialize_with = "crate::json_fields::non_null")]
    pub early_turn: Option<bool>,
    #[serde(default, deserialize_with = "crate::json_fields::whole_number")]
    pub reminder_minutes: Option<i32>,
    /// Private games: the owner joins at once with this race name.
    #[serde(default, deserialize_with = "crate::json_fields::non_null")]
    pub race_name: Option<String>,
}

/// A checked new game.
#[derive(Debug, Clone)]
pub struct NewGame {
    pub name: String,
    pub description: String,
    pub visibility: Visibility,
    pub owner: Owner,
    pub engine_version: String,
    pub min_races: i32,
    pub max_races: i32,
    pub settings: GameSettings,
    pub turn_schedule: TurnSchedule,
    pub enrollment_deadline: DateTime<Utc>,
    pub auto_start: bool,
    pub auto_approve: bool,
    pub accepts_applications: bool,
    pub early_turn: bool,
    pub reminder_minutes: Option<i32>,
    pub status: GameStatus,
    /// The owner's race, when they join at creation.
    pub owner_race: Option<super::race_name::RaceName>,
}

fn invalid(field: &'static str, message: impl Into<String>) -> LobbyError {
    LobbyError::InvalidGame {
        field,
        message: message.into(),
    }
}

impl NewGame {
    /// Checks every field of `raw`, naming the first bad one.
    pub fn validate(raw: CreateGame, owner: Owner, now: DateTime<Utc>) -> Result<Self, LobbyError> {
        let visibility = match owner {
            Owner::User(_) => Visibility::Private,
            Owner::Admin(_) => Visibility::Public,
        };
        let name = raw.name.trim().to_owned();
        if name.is_empty() || raw.name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(
                "name",
                format!("a game name has 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        if name.chars().any(char::is_control) || raw.description.chars().any(is_bad_control) {
            return Err(invalid("name", "control characters are not allowed"));
        }
        if raw.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(invalid(
                "description",
                format!("at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if !is_semver(&raw.engine_version) {
            return Err(invalid(
                "engine_version",
                "a semantic version such as 1.2.3",
            ));
        }
        let (lo, hi) = RACES;
        let min_races = raw.min_races.unwrap_or(lo);
        let max_races = raw.max_races.unwrap_or(hi);
        if !(lo..=hi).contains(&min_races) {
            return Err(invalid("min_races", format!("between {lo} and {hi}")));
        }
        if !(lo..=hi).contains(&max_races) || max_races < min_races {
            return Err(invalid("max_races", format!("between min_races and {hi}")));
        }
        let settings: GameSettings = match raw.settings {
            None => GameSettings::default(),
            Some(value) => parse_settings(value)?,
        };
        settings.validate().map_err(LobbyError::InvalidSettings)?;
        let turn_schedule = TurnSchedule::parse(&raw.turn_schedule)?;
        if raw.enrollment_deadline <= now {
            return Err(invalid(
                "enrollment_deadline",
                "the enrollment deadline must be in the future",
            ));
        }
        if let Some(minutes) = raw.reminder_minutes
            && !(1..=MAX_REMINDER_MINUTES).contains(&minutes)
        {
            return Err(invalid(
                "reminder_minutes",
                format!("from 1 to {MAX_REMINDER_MINUTES} minutes before the deadline"),
            ));
        }
        let owner_race = match (&owner, raw.race_name) {
            (_, None) => None,
            (Owner::User(_), Some(race)) => Some(super::race_name::RaceName::parse(&race)?),
            (Owner::Admin(_), Some(_)) => {
                return Err(invalid(
                    "race_name",
                    "admins do not play in the games they create",
                ));
            }
        };
        Ok(Self {
            owner_race,
            name,
            description: raw.description,
            visibility,
            owner,
            engine_version: raw.engine_version,
            min_races,
            max_races,
            settings,
            turn_schedule,
            enrollment_deadline: raw.enrollment_deadline,
            auto_start: raw.auto_start.unwrap_or(true),
            auto_approve: raw.auto_approve.unwrap_or(false),
            early_turn: raw.early_turn.unwrap_or(false),
            reminder_minutes: raw.reminder_minutes,
            accepts_applications: raw
                .accepts_applications
                .unwrap_or(visibility == Visibility::Public),
            status: if raw.open_enrollment.unwrap_or(true) {
                GameStatus::EnrollmentOpen
            } else {
                GameStatus::Draft
            },
        })
    }
}

fn is_bad_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// Settings as the API sends them: every field optional, unknown fields refused.
fn parse_settings(value: Value) -> Result<GameSettings, LobbyError> {
    const FIELDS: &[&str] = &[
        "size",
        "spherical",
        "home_planets",
        "empty_planets",
        "stuff_planets",
        "empty_radius",
        "race_spacing",
        "peace_turns",
        "drop_idle",
    ];
    let object = value
        .as_object()
        .ok_or_else(|| settings_error("settings", "an object"))?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(settings_error(
            &format!("settings.{unknown}"),
            "not a setting of the engine",
        ));
    }
    let mut value = value;
    for field in ["empty_planets", "stuff_planets", "peace_turns"] {
        if let Some(slot) = value.get_mut(field)
            && let Some(n) = slot.as_number().and_then(crate::json_fields::whole)
        {
            *slot = n.into();
        }
    }
    serde_json::from_value(value).map_err(|err| settings_error("settings", &err.to_string()))
}

fn settings_error(field: &str, message: &str) -> LobbyError {
    LobbyError::InvalidSettings(galaxy_model::api::SettingsError {
        field: field.to_owned(),
        message: message.to_owned(),
    })
}

pub use crate::semver::is_semver;

/// A free-text reason (reject, remove, cancel): trimmed, 1–500 characters.
pub fn reason(raw: &str) -> Result<String, LobbyError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || raw.chars().count() > MAX_REASON_CHARS || raw.contains('\0') {
        return Err(LobbyError::InvalidGame {
            field: "reason",
            message: format!("a reason has 1 to {MAX_REASON_CHARS} characters"),
        });
    }
    Ok(trimmed.to_owned())
}

/// The runtime's report on a game (the `OnRuntimeSnapshot` seam).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeSnapshot {
    /// The engine's current turn.
    pub current_turn: i32,
    /// The runtime's status of the game: `running`, `engine_unreachable`,
    /// `generation_failed`, `finished`, …
    pub runtime_status: String,
}

impl RuntimeSnapshot {
    /// Statuses that pause a running game (spec §10, `game.paused`).
    /// `stopped` and `removed` too: an engine an operator stopped (or that
    /// vanished) cannot play turns until it is started again.
    pub const PAUSING: &'static [&'static str] = &[
        "engine_unreachable",
        "generation_failed",
        "stopped",
        "removed",
    ];

    pub fn pauses(&self) -> bool {
        Self::PAUSING.contains(&self.runtime_status.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_text() {
        for s in GameStatus::ALL {
            assert_eq!(GameStatus::parse(s.as_str()), Some(*s));
        }
        assert!(GameStatus::decode("exploded").is_err());
    }

    #[test]
    fn a_reason_is_trimmed_and_bounded() {
        assert_eq!(reason("  idle  ").unwrap(), "idle");
        assert!(reason("   ").is_err());
        assert!(reason(&"x".repeat(501)).is_err());
    }
}
