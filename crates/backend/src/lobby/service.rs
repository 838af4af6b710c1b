//! [`LobbyService`]: the games and their status machine, the reads the
//! user and admin surfaces serve (from the cache where the spec says so),
//! and the unit of work every lobby write goes through ([`Work`]: one
//! transaction, its notification intents inside, the cache refreshed after
//! the commit). Joining lives in `joining.rs`, the Race Name Directory in
//! `directory.rs`, the runtime and soft-delete hooks in `hooks.rs`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::audit;
use crate::config::Config;
use crate::ids::{GameId, UserId};
use crate::notification::{Intent, NotificationService};
use crate::user::UserService;

use super::cache::{Holder, LobbyCache};
use super::error::LobbyError;
use super::model::{
    Actor, Application, ApplicationStatus, CreateGame, GameEntry, GameStatus, Invite, Member,
    MemberStatus, NewGame, Owner, Visibility,
};
use super::store::{self, GameFilter, RuntimeRequestKind};

/// Audit actions of the lobby (`domain.verb`).
pub mod action {
    pub const CREATE_GAME: &str = "lobby.create_game";
    pub const OPEN_ENROLLMENT: &str = "lobby.open_enrollment";
    pub const CLOSE_ENROLLMENT: &str = "lobby.close_enrollment";
    pub const FORCE_START: &str = "lobby.force_start";
    pub const FORCE_STOP: &str = "lobby.force_stop";
    pub const APPROVE: &str = "lobby.approve_application";
    pub const REJECT: &str = "lobby.reject_application";
    pub const REMOVE_MEMBER: &str = "lobby.remove_member";
    pub const BAN_MEMBER: &str = "lobby.ban_member";
}

/// The cache's name for `/readyz`.
pub const CACHE_NAME: &str = "lobby";

/// `BACKEND_LOBBY_*`.
#[derive(Debug, Clone)]
pub struct LobbySettings {
    pub sweeper_interval: Duration,
    pub pending_registration_ttl: Duration,
    pub invite_default_ttl: Duration,
}

impl LobbySettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            sweeper_interval: config.lobby.sweeper_interval,
            pending_registration_ttl: config.lobby.pending_registration_ttl,
            invite_default_ttl: config.lobby.invite_default_ttl,
        }
    }
}

/// A game's owner-level transitions, by who asks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// `draft → enrollment_open`.
    OpenEnrollment,
    /// `enrollment_open → enrollment_closed`.
    CloseEnrollment,
    /// `draft | enrollment_open | enrollment_closed → starting`; min races
    /// enforced unless `force` (admins only).
    Start { force: bool },
    /// Any status before `running` → `cancelled`. A running or paused game
    /// is ended instead (admins, or the owner of a private game): a stop
    /// request for the runtime, which finishes it.
    Cancel { reason: String },
}

/// The lobby domain. Cheap to clone.
#[derive(Clone)]
pub struct LobbyService {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub db: PgPool,
    pub users: UserService,
    pub notifications: NotificationService,
    pub versions: Arc<dyn super::EngineVersionCheck>,
    pub settings: LobbySettings,
    pub cache: LobbyCache,
    /// Where committed changes are announced to the other instances.
    pub bus: std::sync::OnceLock<crate::cluster::CacheBus>,
}

/// One lobby write: a transaction, and the games and race-name keys to
/// refresh in the cache once it commits.
pub(super) struct Work {
    pub tx: Transaction<'static, Postgres>,
    games: Vec<GameId>,
    names: Vec<String>,
    /// Notifications were submitted: wake their worker after the commit.
    wake: bool,
}

impl Work {
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Refresh `id` after the commit.
    pub fn touched(&mut self, id: GameId) {
        if !self.games.contains(&id) {
            self.games.push(id);
        }
    }

    /// Refresh the holder of `key` after the commit.
    pub fn named(&mut self, key: &str) {
        if !self.names.iter().any(|k| k == key) {
            self.names.push(key.to_owned());
        }
    }
}

impl LobbyService {
    pub fn new(
        db: PgPool,
        users: UserService,
        notifications: NotificationService,
        versions: Arc<dyn super::EngineVersionCheck>,
        settings: LobbySettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                users,
                notifications,
                versions,
                settings,
                cache: LobbyCache::default(),
                bus: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Announces this instance's after-commit cache updates to the others
    /// (the install step sets it; unset in unit tests).
    pub fn announce_to(&self, bus: crate::cluster::CacheBus) {
        let _ = self.inner.bus.set(bus);
    }

    pub fn settings(&self) -> &LobbySettings {
        &self.inner.settings
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.inner.db
    }

    pub(super) fn cache(&self) -> &LobbyCache {
        &self.inner.cache
    }

    pub(super) fn users(&self) -> &UserService {
        &self.inner.users
    }

    /// The startup warm-up of both caches, for `/readyz` to wait on.
    pub fn warmup(&self) -> crate::readiness::Warmup {
        let service = self.clone();
        crate::readiness::Warmup::new(CACHE_NAME, async move { service.warm_up().await })
    }

    /// Loads every active game with its members and every race-name key.
    #[tracing::instrument(name = "lobby.warm_up", skip_all)]
    pub async fn warm_up(&self) -> Result<(), sqlx::Error> {
        let mut conn = self.inner.db.acquire().await?;
        let games = store::active_games(&mut conn).await?;
        let entries = with_members(&mut conn, games).await?;
        let names = store::all_race_names(&mut conn)
            .await?
            .into_iter()
            .map(|e| {
                let holder = Holder {
                    user_id: e.user_id,
                    state: e.state,
                };
                (e.canonical_key, holder)
            })
            .collect::<Vec<_>>();
        let (game_count, name_count) = (entries.len(), names.len());
        self.inner.cache.fill(entries, names);
        tracing::info!(games = game_count, race_names = name_count, "lobby cached");
        Ok(())
    }

    // ---- the unit of work ------------------------------------------------------

    pub(super) async fn begin(&self) -> Result<Work, LobbyError> {
        Ok(Work {
            tx: self.inner.db.begin().await?,
            games: Vec::new(),
            names: Vec::new(),
            wake: false,
        })
    }

    /// Commits `work`, then writes the touched rows through to the cache.
    pub(super) async fn commit(&self, work: Work) -> Result<(), LobbyError> {
        let Work {
            tx,
            games,
            names,
            wake,
        } = work;
        tx.commit().await?;
        if wake {
            self.inner.notifications.wake_local();
        }
        self.refresh(&games, &names).await;
        Ok(())
    }

    /// Re-reads games and keys into the cache after a commit, and tells the
    /// other instances to do the same (the lobby's tables have no
    /// notifying trigger: its commits must not serialise on the notify
    /// lock). A failure here (the commit already happened) is logged; the
    /// next change or a restart repairs it.
    pub(super) async fn refresh(&self, games: &[GameId], names: &[String]) {
        if let Some(bus) = self.inner.bus.get() {
            for id in games {
                bus.announce(CACHE_NAME, format_args!("game:{id}"));
            }
            for key in names {
                bus.announce(CACHE_NAME, format_args!("race:{key}"));
            }
        }
        if let Err(err) = self.try_refresh(games, names).await {
            tracing::error!(error = %err, "lobby cache refresh failed");
        }
    }

    async fn try_refresh(&self, games: &[GameId], names: &[String]) -> Result<(), sqlx::Error> {
        if games.is_empty() && names.is_empty() {
            return Ok(());
        }
        let mut conn = self.inner.db.acquire().await?;
        for &id in games {
            match store::get_game(&mut conn, id).await? {
                Some(game) => {
                    let members = store::active_members(&mut conn, &[id]).await?;
                    self.inner.cache.put_game(GameEntry::new(game, members));
                }
                None => self.inner.cache.remove_game(id),
            }
        }
        for key in names {
            let entry = store::get_race_name(&mut conn, key).await?;
            let holder = entry.map(|e| Holder {
                user_id: e.user_id,
                state: e.state,
            });
            self.inner.cache.put_name(key.clone(), holder);
        }
        Ok(())
    }

    /// Re-reads one entry after another instance wrote it: `game:<id>` (the
    /// game with its active members; a finished, cancelled or deleted game
    /// leaves the cache) or `race:<canonical key>` (its holder, if any).
    pub async fn refresh_key(&self, key: &str) -> anyhow::Result<()> {
        if let Some(id) = key.strip_prefix("game:") {
            let id: GameId = id
                .parse()
                .map_err(|_| anyhow::anyhow!("not a game id: {id}"))?;
            self.try_refresh(&[id], &[]).await?;
        } else if let Some(race) = key.strip_prefix("race:") {
            self.try_refresh(&[], &[race.to_owned()]).await?;
        } else {
            anyhow::bail!("unknown lobby cache key {key}");
        }
        Ok(())
    }

    /// Submits one notification inside `work`.
    pub(super) async fn notify(
        &self,
        work: &mut Work,
        kind: &str,
        key: String,
        user_id: UserId,
        payload: Value,
    ) -> Result<(), LobbyError> {
        let intent = Intent::new(kind, key, Some(user_id), payload);
        self.inner
            .notifications
            .submit(work.conn(), &intent)
            .await?;
        Ok(())
    }

    /// Submits one notification addressed to every user in `recipients`
    /// (one intent, one route per user and channel).
    pub(super) async fn notify_all(
        &self,
        work: &mut Work,
        kind: &str,
        key: String,
        recipients: &[UserId],
        payload: Value,
    ) -> Result<(), LobbyError> {
        let intent = Intent::new(kind, key, None, payload);
        self.inner
            .notifications
            .submit_to_local(work.conn(), &intent, recipients)
            .await?;
        work.wake = true;
        Ok(())
    }

    // ---- games -------------------------------------------------------------

    /// Creates a game: private and owned by the user, or public and owned
    /// by the admin.
    #[tracing::instrument(name = "lobby.create_game", skip_all)]
    pub async fn create_game(
        &self,
        actor: &Actor,
        raw: CreateGame,
    ) -> Result<GameEntry, LobbyError> {
        let owner = match actor {
            Actor::User(id) => Owner::User(*id),
            Actor::Admin(name) => Owner::Admin(name.clone()),
            Actor::System => unreachable!("the lobby creates no games by itself"),
        };
        let new = NewGame::validate(raw, owner, Utc::now())?;
        self.inner
            .versions
            .check(&new.engine_version)
            .await
            .map_err(LobbyError::from)?;
        let game_id = GameId::new_ordered();
        let mut work = self.begin().await?;
        if let Actor::User(user_id) = actor {
            self.check_may_join(work.conn(), *user_id).await?;
        }
        store::insert_game(work.conn(), game_id, &new).await?;
        if let (Actor::User(user_id), Some(race)) = (actor, &new.owner_race) {
            let game = self.lock(&mut work, game_id).await?;
            self.join_locked(&mut work, &game, *user_id, race).await?;
        }
        if let Actor::Admin(admin) = actor {
            audit::record(
                work.conn(),
                admin,
                action::CREATE_GAME,
                &game_id.to_string(),
                json!({ "name": new.name, "status": new.status }),
            )
            .await?;
        }
        work.touched(game_id);
        self.commit(work).await?;
        tracing::info!(game_id = %game_id, visibility = %new.visibility, "game created");
        self.entry(game_id).await
    }

    /// Refuses a user under a game-join ban, or at their
    /// `max_concurrent_games`; serialises the user's joins until the
    /// transaction ends.
    pub(super) async fn check_may_join(
        &self,
        conn: &mut PgConnection,
        user_id: UserId,
    ) -> Result<(), LobbyError> {
        if let Some(ban) = self.inner.users.active_game_join_ban(user_id) {
            return Err(LobbyError::GameJoinBanned {
                expires_at: ban.expires_at,
            });
        }
        store::lock_user(conn, user_id).await?;
        let limit = self.inner.users.entitlements(user_id).max_concurrent_games;
        if store::count_user_games(conn, user_id).await? >= i64::from(limit) {
            return Err(LobbyError::GameLimitReached { limit });
        }
        Ok(())
    }

    /// Locks the game, or `NotFound`.
    pub(super) async fn lock(
        &self,
        work: &mut Work,
        id: GameId,
    ) -> Result<super::model::Game, LobbyError> {
        let game = store::lock_game(work.conn(), id)
            .await?
            .ok_or(LobbyError::NotFound("game"))?;
        work.touched(id);
        Ok(game)
    }

    /// Refuses anyone but the owner or an admin.
    pub(super) fn authorize_owner(
        actor: &Actor,
        game: &super::model::Game,
    ) -> Result<(), LobbyError> {
        match actor {
            Actor::Admin(_) | Actor::System => Ok(()),
            Actor::User(id) if game.is_owned_by(*id) => Ok(()),
            Actor::User(_) => Err(LobbyError::NotGameOwner),
        }
    }

    /// Applies `transition` to the game for `actor`.
    #[tracing::instrument(name = "lobby.transition", skip_all, fields(game_id = %id))]
    pub async fn transition(
        &self,
        actor: &Actor,
        id: GameId,
        transition: Transition,
    ) -> Result<GameEntry, LobbyError> {
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, id).await?;
        Self::authorize_owner(actor, &game)?;
        use GameStatus as S;
        let (audit_action, details) = match &transition {
            Transition::OpenEnrollment => {
                require(game.status, &[S::Draft], "draft")?;
                store::set_status(work.conn(), id, S::EnrollmentOpen, None).await?;
                (action::OPEN_ENROLLMENT, json!({}))
            }
            Transition::CloseEnrollment => {
                require(game.status, &[S::EnrollmentOpen], "enrollment_open")?;
                store::set_status(work.conn(), id, S::EnrollmentClosed, None).await?;
                (action::CLOSE_ENROLLMENT, json!({}))
            }
            Transition::Start { force } => {
                if *force && !actor.is_admin() {
                    return Err(LobbyError::NotGameOwner);
                }
                require(
                    game.status,
                    &[S::Draft, S::EnrollmentOpen, S::EnrollmentClosed],
                    "draft, enrollment_open or enrollment_closed",
                )?;
                let have = store::count_active_members(work.conn(), id).await?;
                if !force && have < i64::from(game.min_races) {
                    return Err(LobbyError::NotEnoughRaces {
                        have,
                        need: game.min_races,
                    });
                }
                self.start(&mut work, id).await?;
                (
                    action::FORCE_START,
                    json!({ "force": force, "races": have }),
                )
            }
            Transition::Cancel { reason } => {
                // A game in play is ended by its runtime (stopped, state
                // kept, `finished`); the owner of a private game or an admin
                // may end it.
                if game.status.is_in_play() {
                    store::request_runtime(
                        work.conn(),
                        id,
                        RuntimeRequestKind::Stop,
                        None,
                        Some(reason),
                    )
                    .await?;
                } else {
                    require(
                        game.status,
                        &[
                            S::Draft,
                            S::EnrollmentOpen,
                            S::EnrollmentClosed,
                            S::Starting,
                        ],
                        "not yet running",
                    )?;
                    self.cancel(&mut work, id, reason).await?;
                }
                (
                    action::FORCE_STOP,
                    json!({ "reason": reason, "status": game.status }),
                )
            }
        };
        if let Actor::Admin(admin) = actor {
            audit::record(work.conn(), admin, audit_action, &id.to_string(), details).await?;
        }
        self.commit(work).await?;
        tracing::info!(game_id = %id, ?transition, "game transition");
        self.entry(id).await
    }

    /// `→ starting`, with the start request the runtime picks up.
    pub(super) async fn start(&self, work: &mut Work, id: GameId) -> Result<(), LobbyError> {
        store::set_status(work.conn(), id, GameStatus::Starting, None).await?;
        store::request_runtime(work.conn(), id, RuntimeRequestKind::Start, None, None).await?;
        Ok(())
    }

    /// `→ cancelled`: every active member is told (`lobby.membership.removed`
    /// with the reason) and their membership ends.
    pub(super) async fn cancel(
        &self,
        work: &mut Work,
        id: GameId,
        reason: &str,
    ) -> Result<(), LobbyError> {
        store::set_status(work.conn(), id, GameStatus::Cancelled, Some(reason)).await?;
        let members = store::active_members(work.conn(), &[id]).await?;
        let why = format!("the game was cancelled: {reason}");
        for m in members {
            store::end_membership(
                work.conn(),
                id,
                m.user_id,
                MemberStatus::Removed,
                Some(&why),
            )
            .await?;
            self.notify(
                work,
                "lobby.membership.removed",
                format!("membership-removed:{id}:{}:cancelled", m.user_id),
                m.user_id,
                json!({ "game_id": id, "reason": why }),
            )
            .await?;
        }
        Ok(())
    }

    // ---- reads -----------------------------------------------------------------

    /// The cached entry of an active game, if the cache holds it (never
    /// PostgreSQL; for diagnostics and tests).
    pub fn cached_game(&self, id: GameId) -> Option<Arc<GameEntry>> {
        self.inner.cache.game(id)
    }

    /// The game with its active members: from the cache, else PostgreSQL
    /// (finished and cancelled games are not cached).
    pub async fn entry(&self, id: GameId) -> Result<GameEntry, LobbyError> {
        if let Some(entry) = self.inner.cache.game(id) {
            return Ok((*entry).clone());
        }
        let mut conn = self.inner.db.acquire().await?;
        let game = store::get_game(&mut conn, id)
            .await?
            .ok_or(LobbyError::NotFound("game"))?;
        let members = store::active_members(&mut conn, &[id]).await?;
        Ok(GameEntry::new(game, members))
    }

    /// The game as `user_id` may see it: public games, and private games
    /// they own, play, were invited to or applied to; otherwise `NotFound`.
    /// Returns the entry and whether the caller sees the members.
    pub async fn visible_game(
        &self,
        user_id: UserId,
        id: GameId,
    ) -> Result<(Arc<GameEntry>, bool), LobbyError> {
        let entry = match self.inner.cache.game(id) {
            Some(entry) => entry,
            None => Arc::new(self.entry(id).await?),
        };
        let insider = entry.game.is_owned_by(user_id) || entry.member(user_id).is_some();
        if insider || entry.game.visibility == Visibility::Public {
            return Ok((entry, insider));
        }
        let mut conn = self.inner.db.acquire().await?;
        let seen = store::get_member(&mut conn, id, user_id).await?.is_some()
            || store::was_invited(&mut conn, id, user_id).await?
            || store::has_applied(&mut conn, id, user_id).await?;
        if seen {
            Ok((entry, false))
        } else {
            Err(LobbyError::NotFound("game"))
        }
    }

    /// `user_id`'s membership of the game in any status: an active one from
    /// `entry`, a past one (left, removed, blocked) from PostgreSQL, since
    /// the cache holds active members only.
    pub async fn membership(
        &self,
        entry: &GameEntry,
        user_id: UserId,
    ) -> Result<Option<Member>, LobbyError> {
        if let Some(member) = entry.member(user_id) {
            return Ok(Some(member.clone()));
        }
        let mut conn = self.inner.db.acquire().await?;
        Ok(store::get_member(&mut conn, entry.game.game_id, user_id).await?)
    }

    /// Public games in `status` (default `enrollment_open`), newest first:
    /// from the cache, except for finished and cancelled games.
    pub async fn public_games(
        &self,
        status: Option<GameStatus>,
        engine_version: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<Arc<GameEntry>>, usize), LobbyError> {
        let status = status.unwrap_or(GameStatus::EnrollmentOpen);
        if !status.is_terminal() && self.inner.cache.is_warm() {
            return Ok(self
                .inner
                .cache
                .public_games(status, engine_version, offset, limit));
        }
        let filter = GameFilter {
            status: Some(status),
            visibility: Some(Visibility::Public),
            engine_version: engine_version.map(str::to_owned),
            owner_user_id: None,
        };
        let (games, total) = self.list_games(&filter, limit, offset).await?;
        Ok((games.into_iter().map(Arc::new).collect(), total))
    }

    /// Games the user owns or plays that are not over, newest first.
    pub fn my_games(
        &self,
        user_id: UserId,
        limit: usize,
        offset: usize,
    ) -> (Vec<Arc<GameEntry>>, usize) {
        let all = self.inner.cache.games_of(user_id);
        let total = all.len();
        (all.into_iter().skip(offset).take(limit).collect(), total)
    }

    /// Any games, filtered (admin surface; PostgreSQL).
    pub async fn list_games(
        &self,
        filter: &GameFilter,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<GameEntry>, usize), LobbyError> {
        // PostgreSQL text never holds NUL: such a filter matches nothing.
        if filter
            .engine_version
            .as_deref()
            .is_some_and(|v| v.contains('\0'))
        {
            return Ok((Vec::new(), 0));
        }
        let mut conn = self.inner.db.acquire().await?;
        let (games, total) =
            store::list_games(&mut conn, filter, as_i64(limit), as_i64(offset)).await?;
        Ok((with_members(&mut conn, games).await?, total.max(0) as usize))
    }

    /// Applications to a game (owner or admin), newest first.
    pub async fn game_applications(
        &self,
        actor: &Actor,
        id: GameId,
        status: Option<ApplicationStatus>,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<Application>, usize), LobbyError> {
        let entry = self.entry(id).await?;
        self.check_owner_view(actor, &entry)?;
        let mut conn = self.inner.db.acquire().await?;
        let (items, total) = store::list_applications(
            &mut conn,
            Some(id),
            None,
            status,
            as_i64(limit),
            as_i64(offset),
        )
        .await?;
        Ok((items, total.max(0) as usize))
    }

    /// The user's own applications, newest first.
    pub async fn my_applications(
        &self,
        user_id: UserId,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<Application>, usize), LobbyError> {
        let mut conn = self.inner.db.acquire().await?;
        let (items, total) = store::list_applications(
            &mut conn,
            None,
            Some(user_id),
            None,
            as_i64(limit),
            as_i64(offset),
        )
        .await?;
        Ok((items, total.max(0) as usize))
    }

    /// Invites of a game (owner or admin), newest first.
    pub async fn game_invites(
        &self,
        actor: &Actor,
        id: GameId,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<Invite>, usize), LobbyError> {
        let entry = self.entry(id).await?;
        self.check_owner_view(actor, &entry)?;
        let mut conn = self.inner.db.acquire().await?;
        let (items, total) =
            store::list_invites(&mut conn, Some(id), None, as_i64(limit), as_i64(offset)).await?;
        Ok((items, total.max(0) as usize))
    }

    /// Invites to the user, newest first.
    pub async fn my_invites(
        &self,
        user_id: UserId,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<Invite>, usize), LobbyError> {
        let mut conn = self.inner.db.acquire().await?;
        let (items, total) = store::list_invites(
            &mut conn,
            None,
            Some(user_id),
            as_i64(limit),
            as_i64(offset),
        )
        .await?;
        Ok((items, total.max(0) as usize))
    }

    /// A private game's owner lists; anyone else who cannot see it gets
    /// `NotFound`, a player who can gets `NotGameOwner`.
    fn check_owner_view(&self, actor: &Actor, entry: &GameEntry) -> Result<(), LobbyError> {
        match actor {
            Actor::User(id) if !entry.game.is_owned_by(*id) => {
                if entry.game.visibility == Visibility::Public || entry.member(*id).is_some() {
                    Err(LobbyError::NotGameOwner)
                } else {
                    Err(LobbyError::NotFound("game"))
                }
            }
            _ => Ok(()),
        }
    }

    /// What an admin inspects: the game, every application and invite
    /// (newest first, at most 200 each) and the game's audit trail.
    pub async fn inspect(&self, id: GameId) -> Result<Inspection, LobbyError> {
        let entry = self.entry(id).await?;
        let mut conn = self.inner.db.acquire().await?;
        let (applications, _) =
            store::list_applications(&mut conn, Some(id), None, None, 200, 0).await?;
        let (invites, _) = store::list_invites(&mut conn, Some(id), None, 200, 0).await?;
        let audit = audit::list_for_target(&mut conn, &id.to_string(), 100).await?;
        Ok(Inspection {
            entry,
            applications,
            invites,
            audit,
        })
    }
}

/// An admin's view of a game.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub entry: GameEntry,
    pub applications: Vec<Application>,
    pub invites: Vec<Invite>,
    pub audit: Vec<audit::AuditEntry>,
}

impl Inspection {
    pub fn json(&self) -> Value {
        let mut value = self.entry.detail_json(true, None);
        let object = value.as_object_mut().expect("a game is an object");
        let pending = self
            .applications
            .iter()
            .filter(|a| a.status == ApplicationStatus::Pending)
            .count();
        object.insert("applications".into(), json!(self.applications));
        object.insert("invites".into(), json!(self.invites));
        object.insert("audit".into(), json!(self.audit));
        object.insert("pending_applications".into(), pending.into());
        value
    }
}

/// Other instances' writes reach the cache: keys are `game:<id>` and
/// `race:<canonical key>`; a full reload is the warm-up again.
impl crate::cluster::CoherentCache for LobbyService {
    fn name(&self) -> &'static str {
        CACHE_NAME
    }

    fn refresh<'a>(&'a self, key: &'a str) -> futures::future::BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.refresh_key(key))
    }

    fn reload_all(&self) -> futures::future::BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { Ok(self.warm_up().await?) })
    }
}

/// Refuses a transition from any status but `allowed`.
pub(super) fn require(
    current: GameStatus,
    allowed: &[GameStatus],
    wanted: &'static str,
) -> Result<(), LobbyError> {
    if allowed.contains(&current) {
        Ok(())
    } else {
        Err(LobbyError::state(current, wanted))
    }
}

/// Games with their active members (one query for all members).
async fn with_members(
    conn: &mut PgConnection,
    games: Vec<super::model::Game>,
) -> Result<Vec<GameEntry>, sqlx::Error> {
    let ids: Vec<GameId> = games.iter().map(|g| g.game_id).collect();
    let mut by_game: std::collections::HashMap<GameId, Vec<Member>> = Default::default();
    for member in store::active_members(conn, &ids).await? {
        by_game.entry(member.game_id).or_default().push(member);
    }
    Ok(games
        .into_iter()
        .map(|game| {
            let members = by_game.remove(&game.game_id).unwrap_or_default();
            GameEntry::new(game, members)
        })
        .collect())
}

pub(super) fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `now + d` (saturating at the far future).
pub(super) fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
