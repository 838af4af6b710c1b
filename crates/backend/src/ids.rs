//! Identifiers are types: a `UserId` cannot be passed where a
//! `DeviceSessionId` is wanted. Each is a UUID parsed once at the edge
//! (path, header or body), stored and bound as a plain `uuid` column
//! (`sqlx` transparent) and written as its UUID string (serde transparent).
//! New domains add theirs with [`id_type!`].

/// Declares a UUID newtype identifier with its conversions.
#[macro_export]
macro_rules! id_type {
    ($(#[$meta:meta])* $vis:vis $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        $vis struct $name(pub uuid::Uuid);

        impl $name {
            /// A new, random id (UUIDv4).
            pub fn new_random() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            /// A new, time-ordered id (UUIDv7).
            pub fn new_ordered() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            pub const fn as_uuid(&self) -> &uuid::Uuid {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(raw).map(Self)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

id_type!(
    /// An account (`accounts.user_id`).
    pub UserId
);
id_type!(
    /// A device session (`device_sessions.id`).
    pub DeviceSessionId
);
id_type!(
    /// An admin account (`admin_accounts.id`).
    pub AdminId
);
id_type!(
    /// A login challenge (`auth_challenges.id`).
    pub ChallengeId
);
id_type!(
    /// A sanction (`user_sanctions.id`).
    pub SanctionId
);
id_type!(
    /// A notification intent (`notification_intents.intent_id`).
    pub IntentId
);
id_type!(
    /// A notification route (`notification_routes.route_id`).
    pub RouteId
);
id_type!(
    /// A game (`games.game_id`).
    pub GameId
);
id_type!(
    /// An application to a game (`applications.application_id`).
    pub ApplicationId
);
id_type!(
    /// An invite to a game (`invites.invite_id`).
    pub InviteId
);
id_type!(
    /// A request the lobby leaves for the runtime (`game_runtime_requests.request_id`).
    pub RuntimeRequestId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_print_and_serialise_as_their_uuid() {
        let raw = "0190f0c4-7a5e-7b3c-9a53-3d2f1f0e9b10";
        let id: UserId = raw.parse().unwrap();
        assert_eq!(id.to_string(), raw);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{raw}\""));
        assert_eq!(
            serde_json::from_str::<UserId>(&format!("\"{raw}\"")).unwrap(),
            id
        );
        assert!("not-a-uuid".parse::<UserId>().is_err());
        assert_eq!(format!("{id:?}"), format!("UserId({raw})"));
    }
}
