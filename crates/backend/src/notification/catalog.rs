//! The notification catalog (spec §10): the closed set of kinds, the channels
//! each fans out to and the payload fields each must carry — one table,
//! [`CATALOG`]. The migration's CHECK constraints on `kind` list the same
//! kinds (a test compares them), `schema/fbs/notification.fbs` has one table
//! per kind, and every emailing kind has a mail template.
//!
//! `auth.login_code` is not here: identity mails it directly through the
//! outbox, because the delivery must commit with the challenge.

use serde_json::{Map, Value};

/// Where a route delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A `ClientEvent` on the gRPC push stream to the user's devices.
    Push,
    /// A mail to the user.
    Email,
    /// A mail to `BACKEND_NOTIFICATION_ADMIN_EMAIL`.
    AdminEmail,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Self::Push, Self::Email, Self::AdminEmail];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Email => "email",
            Self::AdminEmail => "admin_email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The JSON type a payload field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A UUID string.
    Uuid,
    /// A non-empty string.
    Text,
    /// A non-negative integer.
    Count,
    /// An RFC 3339 timestamp string.
    Timestamp,
}

impl FieldType {
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Uuid => "a UUID string",
            Self::Text => "a non-empty string",
            Self::Count => "a non-negative integer",
            Self::Timestamp => "an RFC 3339 timestamp string",
        }
    }

    /// Whether `value` has this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            Self::Uuid => value
                .as_str()
                .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
            Self::Text => value.as_str().is_some_and(|s| !s.trim().is_empty()),
            Self::Count => value.as_u64().is_some_and(|n| i64::try_from(n).is_ok()),
            Self::Timestamp => value
                .as_str()
                .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        }
    }
}

/// A required payload field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
}

/// One catalog row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    pub kind: &'static str,
    pub channels: &'static [Channel],
    pub fields: &'static [Field],
}

impl KindSpec {
    pub fn has(&self, channel: Channel) -> bool {
        self.channels.contains(&channel)
    }

    /// Admin-channel kinds concern operators, not a user.
    pub fn is_admin(&self) -> bool {
        self.has(Channel::AdminEmail)
    }

    /// Checks `payload` against the required fields. Extra fields are kept
    /// (producers may add context) but never required by clients.
    pub fn validate(&self, payload: &Value) -> Result<(), PayloadError> {
        let object = payload.as_object().ok_or(PayloadError::NotAnObject)?;
        for field in self.fields {
            match object.get(field.name) {
                None | Some(Value::Null) => return Err(PayloadError::MissingField(field.name)),
                Some(value) if !field.ty.accepts(value) => {
                    return Err(PayloadError::InvalidField {
                        field: field.name,
                        expected: field.ty.describe(),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// Why a payload does not fit its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the payload must be a JSON object")]
    NotAnObject,
    #[error("the payload lacks the required field `{0}`")]
    MissingField(&'static str),
    #[error("the payload field `{field}` must be {expected}")]
    InvalidField {
        field: &'static str,
        expected: &'static str,
    },
}

const fn f(name: &'static str, ty: FieldType) -> Field {
    Field { name, ty }
}

use Channel::{AdminEmail, Email, Push};
use FieldType::{Count, Text, Timestamp, Uuid};

const GAME_ID: Field = f("game_id", Uuid);

/// Every kind the notification pipeline accepts (spec §10, less the direct
/// `auth.login_code` mail).
pub const CATALOG: &[KindSpec] = &[
    KindSpec {
        kind: "lobby.invite.received",
        channels: &[Push, Email],
        fields: &[GAME_ID, f("inviter_user_id", Uuid)],
    },
    KindSpec {
        kind: "lobby.invite.revoked",
        channels: &[Push],
        fields: &[GAME_ID],
    },
    KindSpec {
        kind: "lobby.application.submitted",
        channels: &[Push],
        fields: &[GAME_ID, f("application_id", Uuid)],
    },
    KindSpec {
        kind: "lobby.application.approved",
        channels: &[Push, Email],
        fields: &[GAME_ID],
    },
    KindSpec {
        kind: "lobby.application.rejected",
        channels: &[Push, Email],
        fields: &[GAME_ID],
    },
    KindSpec {
        kind: "lobby.membership.removed",
        channels: &[Push, Email],
        fields: &[GAME_ID, f("reason", Text)],
    },
    KindSpec {
        kind: "lobby.membership.blocked",
        channels: &[Push, Email],
        fields: &[GAME_ID],
    },
    KindSpec {
        kind: "lobby.race_name.registered",
        channels: &[Push],
        fields: &[f("race_name", Text)],
    },
    KindSpec {
        kind: "lobby.race_name.pending",
        channels: &[Push, Email],
        fields: &[f("race_name", Text), f("expires_at", Timestamp)],
    },
    KindSpec {
        kind: "lobby.race_name.expired",
        channels: &[Push],
        fields: &[f("race_name", Text)],
    },
    KindSpec {
        kind: "runtime.image_pull_failed",
        channels: &[AdminEmail],
        fields: &[GAME_ID, f("image_ref", Text)],
    },
    KindSpec {
        kind: "runtime.container_start_failed",
        channels: &[AdminEmail],
        fields: &[GAME_ID],
    },
    KindSpec {
        kind: "runtime.start_config_invalid",
        channels: &[AdminEmail],
        fields: &[GAME_ID, f("reason", Text)],
    },
    KindSpec {
        kind: "game.turn.ready",
        channels: &[Push],
        fields: &[GAME_ID, f("turn", Count)],
    },
    KindSpec {
        kind: "game.paused",
        channels: &[Push],
        fields: &[GAME_ID, f("turn", Count), f("reason", Text)],
    },
    KindSpec {
        kind: "game.started",
        channels: &[Push],
        fields: &[GAME_ID, f("turn", Count)],
    },
    KindSpec {
        kind: "game.resumed",
        channels: &[Push],
        fields: &[GAME_ID, f("turn", Count)],
    },
    KindSpec {
        kind: "game.turn.reminder",
        channels: &[Push, Email],
        fields: &[GAME_ID, f("turn", Count), f("deadline", Timestamp)],
    },
    KindSpec {
        kind: "game.race.dropped",
        channels: &[Push, Email],
        fields: &[GAME_ID, f("race_name", Text), f("turn", Count)],
    },
    KindSpec {
        kind: "game.finished",
        channels: &[Push, Email],
        fields: &[GAME_ID, f("turn", Count), f("reason", Text)],
    },
    KindSpec {
        kind: "game.generation.failed",
        channels: &[AdminEmail],
        fields: &[GAME_ID, f("turn", Count), f("error", Text)],
    },
];

/// The catalog row of `kind`.
pub fn lookup(kind: &str) -> Option<&'static KindSpec> {
    CATALOG.iter().find(|spec| spec.kind == kind)
}

/// Kinds a user may switch the email channel off for (user-addressed kinds
/// with an email channel).
pub fn email_configurable() -> impl Iterator<Item = &'static KindSpec> {
    CATALOG.iter().filter(|spec| spec.has(Channel::Email))
}

/// A sample payload for `spec` (every field filled), for tests and docs.
pub fn sample_payload(spec: &KindSpec) -> Value {
    let mut object = Map::new();
    for (i, field) in spec.fields.iter().enumerate() {
        let value = match field.ty {
            Uuid => Value::String(format!("00000000-0000-4000-8000-{:012}", i + 1)),
            Text => Value::String(format!("sample {}", field.name)),
            Count => Value::from(41 + i as u64),
            Timestamp => Value::String("2030-01-02T03:04:05Z".into()),
        };
        object.insert(field.name.to_owned(), value);
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_unique_and_never_the_direct_login_mail() {
        let mut kinds: Vec<_> = CATALOG.iter().map(|s| s.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), CATALOG.len());
        assert!(lookup("auth.login_code").is_none());
    }

    #[test]
    fn admin_kinds_are_the_runtime_kinds_and_the_failed_generation_and_only_mail_the_admin() {
        for spec in CATALOG {
            assert_eq!(
                spec.is_admin(),
                spec.kind.starts_with("runtime.") || spec.kind == "game.generation.failed",
                "{}",
                spec.kind
            );
            if spec.is_admin() {
                assert_eq!(spec.channels, &[Channel::AdminEmail]);
            }
            assert!(!spec.channels.is_empty() && !spec.fields.is_empty());
        }
    }

    #[test]
    fn validation_names_the_missing_or_mistyped_field() {
        let spec = lookup("game.paused").unwrap();
        assert_eq!(spec.validate(&sample_payload(spec)), Ok(()));
        assert_eq!(
            spec.validate(&serde_json::json!([])),
            Err(PayloadError::NotAnObject)
        );
        let mut payload = sample_payload(spec);
        payload.as_object_mut().unwrap().remove("turn");
        assert_eq!(
            spec.validate(&payload),
            Err(PayloadError::MissingField("turn"))
        );
        payload["turn"] = serde_json::json!(-1);
        assert!(matches!(
            spec.validate(&payload),
            Err(PayloadError::InvalidField { field: "turn", .. })
        ));
        payload["turn"] = serde_json::json!(3);
        payload["game_id"] = serde_json::json!("not-a-uuid");
        assert!(matches!(
            spec.validate(&payload),
            Err(PayloadError::InvalidField {
                field: "game_id",
                ..
            })
        ));
    }
}
