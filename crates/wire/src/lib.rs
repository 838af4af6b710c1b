//! What the backend, gateways and clients share on the wire:
//!
//! - [`fbs`] — the FlatBuffers tables of the push payloads, one per
//!   notification kind (`schema/fbs/notification.fbs`);
//! - [`push_kinds!`] — the one list of those kinds and their fields, which
//!   the backend expands into its typed events and this crate into
//!   [`payload::to_json`], the decoder clients use;
//! - [`signature`] — the reference gateway's request signature
//!   (docs/auth.md, "Reference gateway").

pub mod fbs;
pub mod payload;
pub mod signature;

/// Calls `$callback! { ... }` with every push kind of the notification
/// catalog: `Name = "kind" => Table, TableArgs { field: str|long, ... }`.
/// The order is the catalog's (the backend's tests check it).
#[macro_export]
macro_rules! push_kinds {
    ($callback:ident) => {
        $callback! {
            /// `lobby.invite.received`.
            LobbyInviteReceived = "lobby.invite.received" => LobbyInviteReceived, LobbyInviteReceivedArgs {
                game_id: str, inviter_user_id: str,
            }
            /// `lobby.invite.revoked`.
            LobbyInviteRevoked = "lobby.invite.revoked" => LobbyInviteRevoked, LobbyInviteRevokedArgs {
                game_id: str,
            }
            /// `lobby.application.submitted`.
            LobbyApplicationSubmitted = "lobby.application.submitted" => LobbyApplicationSubmitted, LobbyApplicationSubmittedArgs {
                game_id: str, application_id: str,
            }
            /// `lobby.application.approved`.
            LobbyApplicationApproved = "lobby.application.approved" => LobbyApplicationApproved, LobbyApplicationApprovedArgs {
                game_id: str,
            }
            /// `lobby.application.rejected`.
            LobbyApplicationRejected = "lobby.application.rejected" => LobbyApplicationRejected, LobbyApplicationRejectedArgs {
                game_id: str,
            }
            /// `lobby.membership.removed`.
            LobbyMembershipRemoved = "lobby.membership.removed" => LobbyMembershipRemoved, LobbyMembershipRemovedArgs {
                game_id: str, reason: str,
            }
            /// `lobby.membership.blocked`.
            LobbyMembershipBlocked = "lobby.membership.blocked" => LobbyMembershipBlocked, LobbyMembershipBlockedArgs {
                game_id: str,
            }
            /// `lobby.race_name.registered`.
            LobbyRaceNameRegistered = "lobby.race_name.registered" => LobbyRaceNameRegistered, LobbyRaceNameRegisteredArgs {
                race_name: str,
            }
            /// `lobby.race_name.pending`.
            LobbyRaceNamePending = "lobby.race_name.pending" => LobbyRaceNamePending, LobbyRaceNamePendingArgs {
                race_name: str, expires_at: str,
            }
            /// `lobby.race_name.expired`.
            LobbyRaceNameExpired = "lobby.race_name.expired" => LobbyRaceNameExpired, LobbyRaceNameExpiredArgs {
                race_name: str,
            }
            /// `runtime.image_pull_failed` (admin email only; the table exists for completeness).
            RuntimeImagePullFailed = "runtime.image_pull_failed" => RuntimeImagePullFailed, RuntimeImagePullFailedArgs {
                game_id: str, image_ref: str,
            }
            /// `runtime.container_start_failed` (admin email only).
            RuntimeContainerStartFailed = "runtime.container_start_failed" => RuntimeContainerStartFailed, RuntimeContainerStartFailedArgs {
                game_id: str,
            }
            /// `runtime.start_config_invalid` (admin email only).
            RuntimeStartConfigInvalid = "runtime.start_config_invalid" => RuntimeStartConfigInvalid, RuntimeStartConfigInvalidArgs {
                game_id: str, reason: str,
            }
            /// `game.turn.ready`.
            GameTurnReady = "game.turn.ready" => GameTurnReady, GameTurnReadyArgs {
                game_id: str, turn: long,
            }
            /// `game.paused`.
            GamePaused = "game.paused" => GamePaused, GamePausedArgs {
                game_id: str, turn: long, reason: str,
            }
            /// `game.started`.
            GameStarted = "game.started" => GameStarted, GameStartedArgs {
                game_id: str, turn: long,
            }
            /// `game.resumed`.
            GameResumed = "game.resumed" => GameResumed, GameResumedArgs {
                game_id: str, turn: long,
            }
            /// `game.turn.reminder`.
            GameTurnReminder = "game.turn.reminder" => GameTurnReminder, GameTurnReminderArgs {
                game_id: str, turn: long, deadline: str,
            }
            /// `game.race.dropped`.
            GameRaceDropped = "game.race.dropped" => GameRaceDropped, GameRaceDroppedArgs {
                game_id: str, race_name: str, turn: long,
            }
            /// `game.finished`.
            GameFinished = "game.finished" => GameFinished, GameFinishedArgs {
                game_id: str, turn: long, reason: str,
            }
            /// `game.generation.failed` (admin email only).
            GameGenerationFailed = "game.generation.failed" => GameGenerationFailed, GameGenerationFailedArgs {
                game_id: str, turn: long, error: str,
            }
        }
    };
}
