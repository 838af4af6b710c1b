//! The lobby (spec §3 `lobby/`): games, applications, invites, memberships
//! and the Race Name Directory — everything up to the moment a game is
//! ready to start. It owns the game record and its status for good: the
//! runtime reports through [`LobbyService::on_runtime_snapshot`] and picks
//! up the lobby's requests (start, stop, banish) from
//! `game_runtime_requests`.
//!
//! - `model` — games and their status machine, members, applications,
//!   invites, directory entries, the validated [`NewGame`];
//! - `race_name` — [`RaceName`] and its canonical [`RaceKey`];
//!   `schedule` — [`TurnSchedule`];
//! - `service` — [`LobbyService`]: games, transitions, reads, the unit of
//!   work; `joining` — applications, invites, memberships; `directory` —
//!   the Race Name Directory; `hooks` — the runtime snapshot and the soft
//!   delete; `sweeper` — the step and its durable jobs;
//! - `engine_versions` — [`EngineVersionCheck`], the runtime's registry as
//!   the lobby sees it (unknown or disabled labels are refused);
//! - `cache` — active games with members, race-name keys (spec §6);
//! - `store` — all SQL; `error` — [`LobbyError`].
//!
//! Uses: `user` (entitlements, game-join bans, user names; the
//! [`UserDeletedHook`] it implements), `notification` (every `lobby.*`
//! kind, `game.turn.ready`, `game.paused`), `audit`, and the job queue.
//!
//! Operator notes: `docs/lobby.md`.

pub mod cache;
pub mod directory;
pub mod engine_versions;
pub mod error;
pub mod hooks;
pub mod joining;
pub mod model;
pub mod race_name;
pub mod schedule;
pub mod service;
pub mod store;
pub mod sweeper;

pub use directory::Registered;
pub use engine_versions::{EngineVersionCheck, VersionRefused};
pub use error::LobbyError;
pub use hooks::UserDeletedHook;
pub use model::{
    Actor, Application, ApplicationStatus, Availability, CreateGame, Game, GameEntry, GameStatus,
    Invite, InviteStatus, Member, MemberStatus, NewGame, Owner, RaceNameEntry, RaceNameState,
    RuntimeSnapshot, Visibility,
};
pub use race_name::{RaceKey, RaceName, RaceNameError, canonical_key};
pub use schedule::{ScheduleError, TurnSchedule};
pub use service::{Inspection, LobbyService, LobbySettings, Transition};
pub use store::{GameFilter, RuntimeRequest};
pub use sweeper::{SweepReport, Sweeper};

/// The lobby's install step: the service (bound to its soft-delete hook and
/// the engine version check),
/// the cache warm-up (and its registration for other instances' writes)
/// and the sweeper loop. Its jobs run on the shared
/// runner ([`sweeper::register_jobs`]).
pub fn install(
    asm: &mut crate::assembly::Assembly,
    config: &crate::config::Config,
    users: crate::user::UserService,
    notifications: crate::notification::NotificationService,
    on_deleted: &UserDeletedHook,
    versions: std::sync::Arc<dyn EngineVersionCheck>,
) -> LobbyService {
    let lobby = LobbyService::new(
        asm.db.clone(),
        users,
        notifications,
        versions,
        LobbySettings::from_config(config),
    );
    on_deleted.bind(&lobby);
    asm.warm(lobby.warmup());
    asm.caches.register(std::sync::Arc::new(lobby.clone()));
    lobby.announce_to(asm.caches.clone());
    if config.lobby.sweeper_enabled {
        let sweeper = Sweeper::new(lobby.clone());
        asm.workers.spawn_singleton_loop(
            "lobby-sweeper",
            lobby.settings().sweeper_interval,
            std::sync::Arc::default(),
            move || {
                let sweeper = sweeper.clone();
                async move { sweeper.tick().await }
            },
        );
    }
    lobby
}
