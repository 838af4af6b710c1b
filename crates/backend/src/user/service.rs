//! [`UserService`]: accounts, settings, entitlements and sanctions behind an
//! in-memory cache of every account, and the soft delete.
//!
//! The cache is warmed once at startup (`/readyz` waits for it) and updated
//! write-through only after a transaction commits: each write computes the
//! new record inside its transaction and installs it after `COMMIT`, so a
//! failed commit leaves the cache as it was. Writes are serialised
//! in-process so the cache applies committed changes in commit order.
//! Changes committed by other domains (a new account at login) reach the
//! cache through [`UserService::refresh_account`], and so do other
//! instances' writes (`crate::cluster::caches`; a full reload is the
//! warm-up again).

use std::sync::Arc;

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Mutex;

use crate::ids::{DeviceSessionId, SanctionId, UserId};

use super::error::UserError;
use super::hooks::UserDeletedHooks;
use super::model::{
    Account, EntitlementRow, EntitlementSnapshot, LIMIT_MAX, Locale, Sanction, SanctionKind,
    Settings, Tier, TimeZone, UserName, UserRecord,
};
use super::store::{self, ListFilter, Loaded};
use crate::audit;
use crate::session::{RevocationReason, SessionService, SessionsRevoked};

/// The name `/readyz` reports while the accounts cache warms.
pub const CACHE_NAME: &str = "user_accounts";

/// The longest accepted sanction reason, in characters.
pub const REASON_MAX: usize = 500;

/// Audit actions of the user domain (`domain.verb`).
pub mod action {
    pub const SANCTION_APPLY: &str = "user.sanction_apply";
    pub const SANCTION_LIFT: &str = "user.sanction_lift";
    pub const ENTITLEMENTS_SET: &str = "user.entitlements_set";
    pub const SOFT_DELETE: &str = "user.soft_delete";
    pub const SESSIONS_REVOKE: &str = "user.sessions_revoke";
}

/// Who asks for a soft delete.
#[derive(Debug, Clone, Copy)]
pub enum DeletedBy<'a> {
    /// The account's own user.
    User,
    /// An admin (by username); recorded in the audit trail.
    Admin(&'a str),
}

/// An admin's change of entitlements; `None` keeps a field, `Some(None)`
/// clears a limit override (back to the tier default).
#[derive(Debug, Clone, Copy, Default)]
pub struct EntitlementChange {
    pub tier: Option<Tier>,
    pub max_concurrent_games: Option<Option<i32>>,
    pub max_registered_race_names: Option<Option<i32>>,
}

/// The user domain. Cheap to clone.
#[derive(Clone)]
pub struct UserService {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    sessions: SessionService,
    hooks: UserDeletedHooks,
    /// Read by the user guard on every request: a sharded lock, so readers
    /// on different threads touch different lock words.
    cache: ShardedLock<Cache>,
    /// Serialises writes (and the warm-up) so cache updates follow commit order.
    writes: Mutex<()>,
    /// Where new accounts are announced to the other instances.
    bus: std::sync::OnceLock<crate::cluster::CacheBus>,
}

#[derive(Default)]
struct Cache {
    warm: bool,
    /// foldhash, not SipHash: read on every user request.
    by_id: foldhash::HashMap<UserId, Arc<UserRecord>>,
}

impl UserService {
    /// A service with an empty, cold cache (run [`warmup`](Self::warmup)).
    pub fn new(db: PgPool, sessions: SessionService, hooks: UserDeletedHooks) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                sessions,
                hooks,
                cache: ShardedLock::new(Cache::default()),
                writes: Mutex::new(()),
                bus: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Announces this instance's after-commit cache updates to the others
    /// (the install step sets it; unset in unit tests).
    pub fn announce_to(&self, bus: crate::cluster::CacheBus) {
        let _ = self.inner.bus.set(bus);
    }

    /// The startup warm-up of the accounts cache, for `/readyz` to wait on.
    pub fn warmup(&self) -> crate::readiness::Warmup {
        let service = self.clone();
        crate::readiness::Warmup::new(CACHE_NAME, async move { service.warm_up().await })
    }

    /// Loads every account into the cache. Until it has run, reads go to
    /// the database.
    #[tracing::instrument(name = "user.warm_up", skip_all)]
    pub async fn warm_up(&self) -> Result<(), sqlx::Error> {
        let _writes = self.inner.writes.lock().await;
        let mut conn = self.inner.db.acquire().await?;
        let loaded = store::load_all(&mut conn).await?;
        let by_id: foldhash::HashMap<UserId, Arc<UserRecord>> = loaded
            .into_iter()
            .map(|l| (l.account.user_id, Arc::new(record(l))))
            .collect();
        let count = by_id.len();
        let mut cache = self.write_cache();
        cache.by_id = by_id;
        cache.warm = true;
        drop(cache);
        tracing::info!(accounts = count, "user accounts cached");
        Ok(())
    }

    // ---- reads from memory (the hot paths) -------------------------------

    /// The cached record of a user, if the cache is warm and knows them.
    pub fn cached(&self, user_id: UserId) -> Option<Arc<UserRecord>> {
        self.read_cache().by_id.get(&user_id).cloned()
    }

    /// The user-group guard: `Err(AccountDeleted)` for a soft-deleted
    /// account, `Err(LoginBanned)` while a login ban is active, otherwise
    /// the record (`None` for an id with no account: the gateway vouches for
    /// its sessions, and routes that need an account answer 404). From
    /// memory once warm; before that from the database.
    pub async fn authorize(&self, user_id: UserId) -> Result<Option<Arc<UserRecord>>, UserError> {
        let record = self.lookup(user_id).await?;
        match record {
            Some(record) => check(&record).map(|()| Some(record)),
            None => Ok(None),
        }
    }

    /// The guard's check from memory only: `Some(Ok(has_account))` when
    /// the user may proceed, `Some(Err(_))` when refused, `None` when the
    /// cache cannot answer yet (still warming), so the caller awaits
    /// [`Self::authorize`]. Once warm the cache holds every account
    /// (write-through after each commit), so an id it does not hold has no
    /// account: no PostgreSQL round trip per request. Nothing is cloned: the
    /// check runs under this thread's shard of the cache lock.
    pub fn check_cached(&self, user_id: UserId) -> Option<Result<bool, UserError>> {
        let cache = self.read_cache();
        match cache.by_id.get(&user_id) {
            Some(record) => Some(check(record).map(|()| true)),
            None if cache.warm => Some(Ok(false)),
            None => None,
        }
    }

    /// The own-account JSON body of `user_id`, copied out of the cache.
    pub fn profile_json(&self, user_id: UserId) -> Option<axum::body::Bytes> {
        self.read_cache()
            .by_id
            .get(&user_id)
            .map(|record| record.profile_json())
    }

    /// The login ban in force for `user_id` right now, from memory. An
    /// expired ban is inactive without anyone lifting it.
    pub fn active_login_ban(&self, user_id: UserId) -> Option<Sanction> {
        self.active_sanction(user_id, SanctionKind::LoginBan)
    }

    /// The game-join ban in force for `user_id` right now, from memory.
    pub fn active_game_join_ban(&self, user_id: UserId) -> Option<Sanction> {
        self.active_sanction(user_id, SanctionKind::GameJoinBan)
    }

    /// The active sanction of `kind`, from memory.
    pub fn active_sanction(&self, user_id: UserId, kind: SanctionKind) -> Option<Sanction> {
        self.cached(user_id)?
            .active_sanction(kind, Utc::now())
            .cloned()
    }

    /// The user's entitlements, from memory; an unknown user gets the
    /// defaults of the `free` tier.
    pub fn entitlements(&self, user_id: UserId) -> EntitlementSnapshot {
        match self.cached(user_id) {
            Some(r) => r.entitlements.clone(),
            None => EntitlementSnapshot::from_row(user_id, &EntitlementRow::default()),
        }
    }

    /// The user's record, from memory once warm.
    pub async fn get(&self, user_id: UserId) -> Result<Arc<UserRecord>, UserError> {
        self.lookup(user_id)
            .await?
            .ok_or_else(|| UserError::NotFound(user_id.to_string()))
    }

    // ---- writes by the user ----------------------------------------------

    /// Changes the user name (validated; unique case-insensitively).
    #[tracing::instrument(name = "user.change_user_name", skip_all)]
    pub async fn change_user_name(
        &self,
        user_id: UserId,
        raw: &str,
    ) -> Result<Arc<UserRecord>, UserError> {
        let user_name = UserName::parse(raw)?;
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let account = live_account(&mut tx, user_id).await?;
        if account.user_name == user_name.as_str() {
            tx.rollback().await?;
            return self.get(user_id).await;
        }
        store::set_user_name(&mut tx, user_id, &user_name)
            .await
            .map_err(|e| match crate::postgres::unique_violation(&e) {
                Some(store::USER_NAME_KEY) => UserError::UserNameTaken(user_name.to_string()),
                _ => UserError::Database(e),
            })?;
        let loaded = reload(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(self.cache_put(loaded))
    }

    /// Changes the given settings (each validated); others keep their value.
    #[tracing::instrument(name = "user.update_settings", skip_all)]
    pub async fn update_settings(
        &self,
        user_id: UserId,
        locale: Option<&str>,
        time_zone: Option<&str>,
    ) -> Result<Arc<UserRecord>, UserError> {
        let locale = locale.map(Locale::parse).transpose()?;
        let time_zone = time_zone.map(TimeZone::parse).transpose()?;
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        live_account(&mut tx, user_id).await?;
        let current = reload(&mut tx, user_id).await?.settings;
        let settings = Settings {
            locale: locale.unwrap_or(current.locale),
            time_zone: time_zone.unwrap_or(current.time_zone),
        };
        store::upsert_settings(&mut tx, user_id, &settings).await?;
        let loaded = reload(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(self.cache_put(loaded))
    }

    /// Soft-deletes the account: in one transaction `deleted_at` is set,
    /// every device session revoked and every [`OnUserDeleted`] hook run;
    /// after commit the cache is updated and the revocation emitted.
    /// Hooks run while this service's write lock is held: they must not
    /// call back into [`UserService`] writes (or `refresh_account`).
    ///
    /// [`OnUserDeleted`]: super::OnUserDeleted
    #[tracing::instrument(name = "user.soft_delete", skip_all)]
    pub async fn soft_delete(
        &self,
        user_id: UserId,
        by: DeletedBy<'_>,
    ) -> Result<Arc<UserRecord>, UserError> {
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let account = store::lock(&mut tx, user_id)
            .await?
            .ok_or_else(|| UserError::NotFound(user_id.to_string()))?;
        if account.deleted_at.is_some() {
            return Err(match by {
                DeletedBy::User => UserError::AccountDeleted,
                DeletedBy::Admin(_) => UserError::AlreadyDeleted,
            });
        }
        store::mark_deleted(&mut tx, user_id).await?;
        let revoked = self
            .revoke_in_tx(&mut tx, user_id, RevocationReason::UserDeleted)
            .await?;
        self.inner
            .hooks
            .run(&mut tx, user_id)
            .await
            .map_err(UserError::Hook)?;
        if let DeletedBy::Admin(actor) = by {
            audit::record(
                &mut tx,
                actor,
                action::SOFT_DELETE,
                &user_id.to_string(),
                json!({ "sessions_revoked": revoked.len() }),
            )
            .await?;
        }
        let loaded = reload(&mut tx, user_id).await?;
        tx.commit().await?;
        let record = self.cache_put(loaded);
        self.emit_revoked(user_id, revoked, RevocationReason::UserDeleted);
        self.inner.hooks.committed(user_id).await;
        tracing::info!(user_id = %user_id, by = ?by.kind(), "account soft-deleted");
        Ok(record)
    }

    // ---- writes by admins --------------------------------------------------

    /// Applies a sanction. A login ban that is in force revokes every device
    /// session in the same transaction.
    #[tracing::instrument(name = "user.apply_sanction", skip_all)]
    pub async fn apply_sanction(
        &self,
        actor: &str,
        user_id: UserId,
        kind: SanctionKind,
        reason: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Sanction, UserError> {
        // The length counts what was sent (as `maxLength` in openapi.yaml);
        // the stored reason is trimmed.
        if reason.chars().count() > REASON_MAX || reason.trim().is_empty() || reason.contains('\0')
        {
            return Err(UserError::InvalidSanction(
                "a reason has 1 to 500 characters, not only white space, no NUL",
            ));
        }
        let reason = reason.trim();
        if expires_at.is_some_and(|e| e <= Utc::now()) {
            return Err(UserError::InvalidSanction(
                "`expires_at` must be in the future",
            ));
        }
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        store::lock(&mut tx, user_id)
            .await?
            .ok_or_else(|| UserError::NotFound(user_id.to_string()))?;
        let sanction =
            store::insert_sanction(&mut tx, user_id, kind, reason, actor, expires_at).await?;
        let revoked = if kind == SanctionKind::LoginBan {
            self.revoke_in_tx(&mut tx, user_id, RevocationReason::LoginBan)
                .await?
        } else {
            Vec::new()
        };
        audit::record(
            &mut tx,
            actor,
            action::SANCTION_APPLY,
            &user_id.to_string(),
            json!({
                "sanction_id": sanction.sanction_id,
                "kind": kind.as_str(),
                "expires_at": expires_at,
                "sessions_revoked": revoked.len(),
            }),
        )
        .await?;
        let loaded = reload(&mut tx, user_id).await?;
        tx.commit().await?;
        self.cache_put(loaded);
        self.emit_revoked(user_id, revoked, RevocationReason::LoginBan);
        Ok(sanction)
    }

    /// Lifts a sanction (409 when it was lifted already; an expired one can
    /// still be lifted, for the record).
    #[tracing::instrument(name = "user.lift_sanction", skip_all)]
    pub async fn lift_sanction(
        &self,
        actor: &str,
        user_id: UserId,
        sanction_id: SanctionId,
    ) -> Result<Sanction, UserError> {
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let current = store::lock_sanction(&mut tx, user_id, sanction_id)
            .await?
            .ok_or(UserError::SanctionNotFound(sanction_id))?;
        if current.lifted_at.is_some() {
            return Err(UserError::SanctionAlreadyLifted);
        }
        let sanction = store::lift_sanction(&mut tx, sanction_id, actor).await?;
        audit::record(
            &mut tx,
            actor,
            action::SANCTION_LIFT,
            &user_id.to_string(),
            json!({ "sanction_id": sanction_id, "kind": sanction.kind.as_str() }),
        )
        .await?;
        let loaded = reload(&mut tx, user_id).await?;
        tx.commit().await?;
        self.cache_put(loaded);
        Ok(sanction)
    }

    /// Sets the tier and/or limit overrides.
    #[tracing::instrument(name = "user.set_entitlements", skip_all)]
    pub async fn set_entitlements(
        &self,
        actor: &str,
        user_id: UserId,
        change: EntitlementChange,
    ) -> Result<EntitlementSnapshot, UserError> {
        for limit in [
            change.max_concurrent_games,
            change.max_registered_race_names,
        ]
        .into_iter()
        .flatten()
        .flatten()
        {
            if !(0..=LIMIT_MAX).contains(&limit) {
                return Err(UserError::InvalidLimits("a limit is between 0 and 10000"));
            }
        }
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        store::lock(&mut tx, user_id)
            .await?
            .ok_or_else(|| UserError::NotFound(user_id.to_string()))?;
        let current = reload(&mut tx, user_id).await?.entitlements;
        let row = EntitlementRow {
            tier: change.tier.unwrap_or(current.tier),
            max_concurrent_games: change
                .max_concurrent_games
                .unwrap_or(current.max_concurrent_games),
            max_registered_race_names: change
                .max_registered_race_names
                .unwrap_or(current.max_registered_race_names),
        };
        store::upsert_entitlements(&mut tx, user_id, &row, actor).await?;
        audit::record(
            &mut tx,
            actor,
            action::ENTITLEMENTS_SET,
            &user_id.to_string(),
            json!({
                "tier": row.tier.as_str(),
                "max_concurrent_games": row.max_concurrent_games,
                "max_registered_race_names": row.max_registered_race_names,
            }),
        )
        .await?;
        let loaded = reload(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(self.cache_put(loaded).entitlements.clone())
    }

    /// Revokes every device session of the user; returns how many.
    #[tracing::instrument(name = "user.revoke_sessions", skip_all)]
    pub async fn revoke_sessions(&self, actor: &str, user_id: UserId) -> Result<usize, UserError> {
        let mut tx = self.inner.db.begin().await?;
        store::lock(&mut tx, user_id)
            .await?
            .ok_or_else(|| UserError::NotFound(user_id.to_string()))?;
        let revoked = self
            .revoke_in_tx(&mut tx, user_id, RevocationReason::AdminRevoked)
            .await?;
        audit::record(
            &mut tx,
            actor,
            action::SESSIONS_REVOKE,
            &user_id.to_string(),
            json!({ "sessions_revoked": revoked.len() }),
        )
        .await?;
        tx.commit().await?;
        let count = revoked.len();
        self.emit_revoked(user_id, revoked, RevocationReason::AdminRevoked);
        Ok(count)
    }

    /// Reloads one account (settings, entitlements, sanctions) into the
    /// cache after another domain or another instance committed a change
    /// to it (e.g. a new account created at login).
    /// The other instances are told (a new account has no notifying
    /// trigger: registration must not serialise on the notify lock).
    pub async fn refresh_account(&self, user_id: UserId) -> anyhow::Result<()> {
        self.reload_account(user_id).await?;
        if let Some(bus) = self.inner.bus.get() {
            bus.announce(CACHE_NAME, user_id);
        }
        Ok(())
    }

    /// [`refresh_account`](Self::refresh_account) without telling anyone
    /// (another instance's write is being applied).
    async fn reload_account(&self, user_id: UserId) -> anyhow::Result<()> {
        let _writes = self.inner.writes.lock().await;
        let mut conn = self.inner.db.acquire().await?;
        match store::load(&mut conn, user_id).await? {
            Some(loaded) => {
                self.cache_put(loaded);
            }
            None => {
                self.write_cache().by_id.remove(&user_id);
            }
        }
        Ok(())
    }

    // ---- admin reads (PostgreSQL) ------------------------------------------

    /// One page of accounts matching `filter`, newest first, and the total.
    pub async fn list(
        &self,
        filter: &ListFilter,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Account>, u64), UserError> {
        let mut conn = self.inner.db.acquire().await?;
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let (items, total) = store::list(&mut conn, filter, i64::from(limit), offset).await?;
        Ok((items, u64::try_from(total).unwrap_or_default()))
    }

    /// The live account with this email (normalised: trimmed, lower-cased).
    /// Deleted accounts are not found by email.
    pub async fn find_by_email(&self, email: &str) -> Result<Arc<UserRecord>, UserError> {
        let email = email.trim().to_lowercase();
        let mut conn = self.inner.db.acquire().await?;
        let id = store::find_live_by_email(&mut conn, &email).await?;
        drop(conn);
        match id {
            Some(id) => self.get(id).await,
            None => Err(UserError::NotFound("with this email".into())),
        }
    }

    /// The account with this user name (case-insensitive).
    pub async fn find_by_user_name(&self, user_name: &str) -> Result<Arc<UserRecord>, UserError> {
        let mut conn = self.inner.db.acquire().await?;
        let id = store::find_by_user_name(&mut conn, user_name).await?;
        drop(conn);
        match id {
            Some(id) => self.get(id).await,
            None => Err(UserError::NotFound(format!("named `{user_name}`"))),
        }
    }

    /// Every sanction of the user (lifted and expired included), newest first.
    pub async fn sanctions(&self, user_id: UserId) -> Result<Vec<Sanction>, UserError> {
        self.get(user_id).await?;
        let mut conn = self.inner.db.acquire().await?;
        Ok(store::sanctions_of(&mut conn, user_id).await?)
    }

    // ---- internals -----------------------------------------------------------

    async fn revoke_in_tx(
        &self,
        conn: &mut PgConnection,
        user_id: UserId,
        reason: RevocationReason,
    ) -> Result<Vec<DeviceSessionId>, UserError> {
        self.inner
            .sessions
            .revoke_all_in_tx(conn, user_id, reason)
            .await
            .map_err(|e| UserError::Sessions(anyhow::Error::from(e)))
    }

    fn emit_revoked(&self, user_id: UserId, ids: Vec<DeviceSessionId>, reason: RevocationReason) {
        if ids.is_empty() {
            return;
        }
        self.inner.sessions.after_commit_revoked(SessionsRevoked {
            user_id,
            device_session_ids: ids,
            reason,
        });
    }

    /// The record from memory; on a miss (or before the warm-up) from
    /// PostgreSQL. A record found there while the cache is warm is added
    /// only if still absent, so it never replaces a newer write-through
    /// (this heals an account whose `refresh_account` was lost).
    async fn lookup(&self, user_id: UserId) -> Result<Option<Arc<UserRecord>>, UserError> {
        let warm = {
            let cache = self.read_cache();
            if let Some(found) = cache.by_id.get(&user_id) {
                return Ok(Some(found.clone()));
            }
            cache.warm
        };
        let mut conn = self.inner.db.acquire().await?;
        let Some(loaded) = store::load(&mut conn, user_id).await? else {
            return Ok(None);
        };
        drop(conn);
        let record = Arc::new(record(loaded));
        if !warm {
            return Ok(Some(record));
        }
        let mut cache = self.write_cache();
        Ok(Some(cache.by_id.entry(user_id).or_insert(record).clone()))
    }

    /// Write-through after commit (callers hold `writes`).
    fn cache_put(&self, loaded: Loaded) -> Arc<UserRecord> {
        let record = Arc::new(record(loaded));
        self.write_cache()
            .by_id
            .insert(record.account.user_id, record.clone());
        record
    }

    fn read_cache(&self) -> ShardedLockReadGuard<'_, Cache> {
        self.inner.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_cache(&self) -> ShardedLockWriteGuard<'_, Cache> {
        self.inner.cache.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The guard's rule: a soft-deleted account or an active login ban is
/// refused.
fn check(record: &UserRecord) -> Result<(), UserError> {
    if record.is_deleted() {
        return Err(UserError::AccountDeleted);
    }
    // Most accounts have no sanction: no clock read on that path.
    if !record.sanctions.is_empty()
        && let Some(ban) = record.active_sanction(SanctionKind::LoginBan, Utc::now())
    {
        return Err(UserError::LoginBanned {
            expires_at: ban.expires_at,
        });
    }
    Ok(())
}

/// Other instances' writes reach the cache: keys are user ids.
impl crate::cluster::CoherentCache for UserService {
    fn name(&self) -> &'static str {
        CACHE_NAME
    }

    fn refresh<'a>(&'a self, key: &'a str) -> futures::future::BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let id: UserId = key
                .parse()
                .map_err(|_| anyhow::anyhow!("not a user id: {key}"))?;
            self.reload_account(id).await
        })
    }

    fn reload_all(&self) -> futures::future::BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { Ok(self.warm_up().await?) })
    }
}

impl std::fmt::Debug for UserService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserService").finish_non_exhaustive()
    }
}

impl DeletedBy<'_> {
    fn kind(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin(_) => "admin",
        }
    }
}

fn record(l: Loaded) -> UserRecord {
    UserRecord::new(l.account, l.settings, l.entitlements, l.sanctions)
}

/// The account, locked; a deleted account cannot change itself.
async fn live_account(conn: &mut PgConnection, user_id: UserId) -> Result<Account, UserError> {
    let account = store::lock(conn, user_id)
        .await?
        .ok_or_else(|| UserError::NotFound(user_id.to_string()))?;
    if account.deleted_at.is_some() {
        return Err(UserError::AccountDeleted);
    }
    Ok(account)
}

/// The record as the transaction sees it (installed after commit).
async fn reload(conn: &mut PgConnection, user_id: UserId) -> Result<Loaded, UserError> {
    store::load(conn, user_id)
        .await?
        .ok_or_else(|| UserError::NotFound(user_id.to_string()))
}
