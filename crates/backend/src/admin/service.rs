//! [`AdminService`]: admin accounts behind a write-through cache, HTTP Basic
//! verification with the credential cache and the throttle, and the audit
//! trail.
//!
//! The account cache is warmed once at startup (`/readyz` waits for it) and
//! updated only after a transaction commits, so a failed commit leaves it as
//! the database is. Other instances' writes reach it through
//! [`AdminService::refresh_account`] (`crate::cluster::caches`). Writes are serialised in-process (admin writes are rare)
//! so the cache applies committed changes in commit order.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;
use tokio::sync::Mutex;

use super::credentials::{CredentialCache, VerifiedCredential};
use super::error::{AdminError, AuthError};
use super::model::action;
use super::model::{AdminAccount, AdminPrincipal, PASSWORD_MAX_BYTES, Password, Username};
use super::password::Hasher;
use super::store;
use super::throttle::{Throttle, ThrottleKey};
use crate::audit::{self, AuditEntry};

/// The name `/readyz` reports while the account cache warms.
pub const CACHE_NAME: &str = "admin_accounts";

/// Tunables of authentication (see `docs/admin.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    /// How long a verified credential is remembered; zero disables the cache.
    pub credential_cache_ttl: Duration,
    /// Failed attempts allowed per source address and per (username, source) within
    /// `failure_window`; zero disables throttling.
    pub failure_limit: u32,
    pub failure_window: Duration,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            credential_cache_ttl: Duration::from_secs(60),
            failure_limit: 10,
            failure_window: Duration::from_secs(300),
        }
    }
}

impl AdminSettings {
    /// The settings the configuration selects.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            credential_cache_ttl: config.admin.credential_cache_ttl,
            failure_limit: config.admin.auth_failure_limit,
            failure_window: config.admin.auth_failure_window,
        }
    }
}

/// The admin domain. Cheap to clone.
#[derive(Clone)]
pub struct AdminService {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    accounts: RwLock<AccountCache>,
    credentials: CredentialCache,
    throttle: Throttle,
    hasher: Hasher,
    /// Serialises writes (and the warm-up) so cache updates follow commit order.
    writes: Mutex<()>,
}

#[derive(Default)]
struct AccountCache {
    warm: bool,
    by_username: HashMap<Username, Arc<AdminAccount>>,
}

impl AdminService {
    /// A service with an empty, cold cache (run [`warmup`](Self::warmup)).
    /// Call inside a Tokio runtime.
    pub fn new(db: PgPool, settings: &AdminSettings) -> Self {
        // Compute the dummy hash once per process in the background, so the
        // first unknown-username attempt costs one bcrypt like any other.
        tokio::task::spawn_blocking(|| {
            let _ = super::password::dummy_hash();
        });
        Self {
            inner: Arc::new(Inner {
                db,
                accounts: RwLock::new(AccountCache::default()),
                credentials: CredentialCache::new(settings.credential_cache_ttl),
                throttle: Throttle::new(settings.failure_limit, settings.failure_window),
                hasher: Hasher::new(),
                writes: Mutex::new(()),
            }),
        }
    }

    /// The startup warm-up of the account cache, for `/readyz` to wait on.
    pub fn warmup(&self) -> crate::readiness::Warmup {
        let service = self.clone();
        crate::readiness::Warmup::new(CACHE_NAME, async move { service.warm_up().await })
    }

    /// Loads every account into the cache. Until it has run, reads go to
    /// the database.
    #[tracing::instrument(name = "admin.warm_up", skip_all)]
    pub async fn warm_up(&self) -> Result<(), sqlx::Error> {
        let _writes = self.inner.writes.lock().await;
        let mut conn = self.inner.db.acquire().await?;
        let accounts = store::all(&mut conn).await?;
        let mut cache = self.write_cache();
        cache.by_username = accounts
            .into_iter()
            .map(|a| (a.username.clone(), Arc::new(a)))
            .collect();
        cache.warm = true;
        Ok(())
    }

    /// Checks HTTP Basic credentials.
    ///
    /// Order: the throttle (refuses before any work), then the credential
    /// cache (an HMAC and two map lookups; trusted only while the account
    /// is enabled and its password version unchanged), then a full bcrypt
    /// verification on the blocking pool, counted as a failure until it
    /// succeeds. An unknown username is verified against a dummy hash and a
    /// disabled account against its own, so every "no" costs the same and
    /// looks the same.
    #[tracing::instrument(name = "admin.authenticate", skip_all)]
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
        source: Option<IpAddr>,
    ) -> Result<AdminPrincipal, AuthError> {
        let now = Instant::now();
        let keys = ThrottleKey::for_attempt(username, source);
        let source_text = source.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        if let Err(retry_after) = self.inner.throttle.check(&keys, now) {
            tracing::warn!(
                source = %source_text,
                retry_after_secs = retry_after.as_secs(),
                "admin sign-in throttled"
            );
            return Err(AuthError::Throttled { retry_after });
        }
        let parsed = Username::parse(username).ok();
        let digest = parsed
            .as_ref()
            .map(|u| self.inner.credentials.digest(u.as_str(), password));
        if let (Some(username), Some(digest)) = (&parsed, &digest)
            && let Some(verified) = self.inner.credentials.get(digest, now)
            && let Some(principal) = self.still_valid(username, verified)
        {
            return Ok(principal);
        }

        let reservation = self
            .inner
            .throttle
            .reserve(keys, now)
            .map_err(|retry_after| {
                tracing::warn!(
                    source = %source_text,
                    retry_after_secs = retry_after.as_secs(),
                    "admin sign-in throttled"
                );
                AuthError::Throttled { retry_after }
            })?;
        let account = match &parsed {
            Some(username) => self.account(username).await?,
            None => None,
        };
        let verified = if password.len() > PASSWORD_MAX_BYTES {
            // No stored password is this long; bcrypt would only compare a prefix.
            false
        } else {
            let hash = account.as_ref().map(|a| a.password_hash.clone());
            self.inner.hasher.verify(password.to_owned(), hash).await?
        };
        match account {
            Some(account) if verified && account.enabled => {
                self.inner.throttle.release(reservation);
                if let Some(digest) = digest {
                    let proof = VerifiedCredential {
                        account_id: account.id,
                        password_version: account.password_version,
                    };
                    self.inner.credentials.insert(digest, proof, Instant::now());
                }
                tracing::info!(
                    admin = %account.username.as_str(),
                    source = %source_text,
                    "admin signed in"
                );
                Ok(AdminPrincipal {
                    account_id: account.id,
                    username: account.username.clone(),
                })
            }
            _ => {
                // The reservation stays: this attempt counts as a failure.
                drop(reservation);
                tracing::warn!(
                    known_admin = account.is_some(),
                    source = %source_text,
                    "admin sign-in failed"
                );
                let known = account.as_ref().map(|a| a.username.as_str());
                self.record_failed_sign_in(known, &source_text).await;
                Err(AuthError::InvalidCredentials)
            }
        }
    }

    /// Puts a failed sign-in into the audit trail (ASVS 7.2.1): the admin
    /// account it was for, or `unknown` (a username that is no account is
    /// often a mistyped password, so it is not kept), and the source. The
    /// attempt was throttled first, so one source cannot flood the trail. A
    /// failure to write is logged, never turned into a different answer.
    async fn record_failed_sign_in(&self, account: Option<&str>, source: &str) {
        let sent = account.unwrap_or("unknown");
        let result = async {
            let mut conn = self.inner.db.acquire().await?;
            audit::record(
                &mut conn,
                sent,
                action::SIGN_IN_FAILED,
                sent,
                serde_json::json!({ "source": source }),
            )
            .await
        }
        .await;
        if let Err(err) = result {
            tracing::error!(error = %err, "cannot record a failed admin sign-in");
        }
    }

    /// The full bcrypt check of one credential, bypassing the throttle and
    /// the credential cache (for benchmarks and diagnostics).
    pub async fn verify_uncached(
        &self,
        username: &Username,
        password: &str,
    ) -> Result<bool, AuthError> {
        let account = self.account(username).await?;
        let hash = account.as_ref().map(|a| a.password_hash.clone());
        let ok = self.inner.hasher.verify(password.to_owned(), hash).await?;
        Ok(ok && account.is_some_and(|a| a.enabled))
    }

    /// A cached credential still proves who the caller is.
    fn still_valid(
        &self,
        username: &Username,
        verified: VerifiedCredential,
    ) -> Option<AdminPrincipal> {
        let cache = self.read_cache();
        let account = cache.by_username.get(username)?;
        (account.id == verified.account_id
            && account.enabled
            && account.password_version == verified.password_version)
            .then(|| AdminPrincipal {
                account_id: account.id,
                username: account.username.clone(),
            })
    }

    /// One account, from the cache once warm.
    pub async fn get(&self, username: &Username) -> Result<Arc<AdminAccount>, AdminError> {
        self.account(username)
            .await?
            .ok_or_else(|| AdminError::NotFound(username.to_string()))
    }

    /// A page of accounts ordered by username, and the total count.
    pub async fn list(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Arc<AdminAccount>>, usize), AdminError> {
        let cached: Option<Vec<Arc<AdminAccount>>> = {
            let cache = self.read_cache();
            cache
                .warm
                .then(|| cache.by_username.values().cloned().collect())
        };
        let mut all = match cached {
            Some(all) => all,
            None => {
                let mut conn = self.inner.db.acquire().await?;
                store::all(&mut conn)
                    .await?
                    .into_iter()
                    .map(Arc::new)
                    .collect()
            }
        };
        all.sort_by(|a, b| a.username.cmp(&b.username));
        let total = all.len();
        Ok((all.into_iter().skip(offset).take(limit).collect(), total))
    }

    /// Creates an enabled account.
    #[tracing::instrument(name = "admin.create_account", skip_all)]
    pub async fn create(
        &self,
        actor: &AdminPrincipal,
        username: Username,
        password: Password,
    ) -> Result<Arc<AdminAccount>, AdminError> {
        if self.account(&username).await?.is_some() {
            return Err(AdminError::UsernameTaken(username.to_string()));
        }
        let hash = self.inner.hasher.hash(password).await?;
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let account = store::insert(&mut tx, &username, &hash)
            .await
            .map_err(|e| match crate::postgres::unique_violation(&e) {
                Some(store::USERNAME_KEY) => AdminError::UsernameTaken(username.to_string()),
                _ => AdminError::Database(e),
            })?;
        audit::record(
            &mut tx,
            actor.username.as_str(),
            action::ACCOUNT_CREATE,
            username.as_str(),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(self.cache_put(account))
    }

    /// Sets a new password (the actor's own or another admin's). Every
    /// credential cached for the account stops working at once.
    #[tracing::instrument(name = "admin.change_password", skip_all)]
    pub async fn change_password(
        &self,
        actor: &AdminPrincipal,
        username: &Username,
        password: Password,
    ) -> Result<Arc<AdminAccount>, AdminError> {
        // Not found before paying for a hash.
        self.get(username).await?;
        let hash = self.inner.hasher.hash(password).await?;
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let current = store::find_for_update(&mut tx, username)
            .await?
            .ok_or_else(|| AdminError::NotFound(username.to_string()))?;
        let account = store::set_password(&mut tx, current.id, &hash).await?;
        let details = json!({ "own": actor.account_id == account.id });
        audit::record(
            &mut tx,
            actor.username.as_str(),
            action::ACCOUNT_PASSWORD_CHANGE,
            username.as_str(),
            details,
        )
        .await?;
        tx.commit().await?;
        self.inner.credentials.forget_account(account.id);
        Ok(self.cache_put(account))
    }

    /// Enables or disables an account; disabling the last enabled admin is
    /// refused. Setting the current state again changes (and records) nothing.
    #[tracing::instrument(name = "admin.set_enabled", skip_all)]
    pub async fn set_enabled(
        &self,
        actor: &AdminPrincipal,
        username: &Username,
        enabled: bool,
    ) -> Result<Arc<AdminAccount>, AdminError> {
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let enabled_ids = if enabled {
            Vec::new()
        } else {
            store::lock_enabled(&mut tx).await?
        };
        let current = store::find_for_update(&mut tx, username)
            .await?
            .ok_or_else(|| AdminError::NotFound(username.to_string()))?;
        if current.enabled == enabled {
            tx.rollback().await?;
            return Ok(self.cache_put(current));
        }
        if !enabled && enabled_ids.len() <= 1 {
            return Err(AdminError::LastEnabledAdmin(username.to_string()));
        }
        let account = store::set_enabled(&mut tx, current.id, enabled).await?;
        let verb = if enabled {
            action::ACCOUNT_ENABLE
        } else {
            action::ACCOUNT_DISABLE
        };
        audit::record(
            &mut tx,
            actor.username.as_str(),
            verb,
            username.as_str(),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        if !enabled {
            self.inner.credentials.forget_account(account.id);
        }
        Ok(self.cache_put(account))
    }

    /// Deletes an account; deleting the last enabled admin is refused.
    #[tracing::instrument(name = "admin.delete_account", skip_all)]
    pub async fn delete(
        &self,
        actor: &AdminPrincipal,
        username: &Username,
    ) -> Result<(), AdminError> {
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let enabled_ids = store::lock_enabled(&mut tx).await?;
        let current = store::find_for_update(&mut tx, username)
            .await?
            .ok_or_else(|| AdminError::NotFound(username.to_string()))?;
        if current.enabled && enabled_ids.len() <= 1 {
            return Err(AdminError::LastEnabledAdmin(username.to_string()));
        }
        store::delete(&mut tx, current.id).await?;
        let details = json!({ "was_enabled": current.enabled });
        audit::record(
            &mut tx,
            actor.username.as_str(),
            action::ACCOUNT_DELETE,
            username.as_str(),
            details,
        )
        .await?;
        tx.commit().await?;
        self.inner.credentials.forget_account(current.id);
        self.write_cache().by_username.remove(username);
        Ok(())
    }

    /// Re-reads one account into the cache after another instance wrote
    /// it (created, password changed, enabled or disabled, deleted). The
    /// credentials cached for it stop working when its password version
    /// moved, it was disabled or it is gone.
    pub async fn refresh_account(&self, username: &Username) -> Result<(), sqlx::Error> {
        let _writes = self.inner.writes.lock().await;
        let mut conn = self.inner.db.acquire().await?;
        let found = store::find(&mut conn, username).await?;
        drop(conn);
        let held = self.read_cache().by_username.get(username).cloned();
        if let Some(held) = &held {
            let same = found.as_ref().is_some_and(|a| {
                a.id == held.id && a.enabled && a.password_version == held.password_version
            });
            if !same {
                self.inner.credentials.forget_account(held.id);
            }
        }
        match found {
            Some(account) => {
                self.cache_put(account);
            }
            None => {
                self.write_cache().by_username.remove(username);
            }
        }
        Ok(())
    }

    /// A page of the audit trail, newest first, and the total count.
    #[tracing::instrument(name = "admin.audit_log", skip_all)]
    pub async fn audit_log(
        &self,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<AuditEntry>, u64), AdminError> {
        let mut conn = self.inner.db.acquire().await?;
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let (entries, total) = audit::list(&mut conn, i64::from(limit), offset).await?;
        Ok((entries, u64::try_from(total).unwrap_or_default()))
    }

    /// Inserts the bootstrap admin unless an account with that username
    /// exists (an existing row, its password and state, are never touched).
    /// Both values must meet the username and password rules even when the
    /// account exists, so a bad configuration fails on every start.
    #[tracing::instrument(name = "admin.bootstrap", skip_all)]
    pub async fn bootstrap(
        &self,
        username: &str,
        password: &str,
    ) -> Result<BootstrapOutcome, AdminError> {
        let username = Username::parse(username)?;
        let password = Password::parse(password)?;
        let mut conn = self.inner.db.acquire().await?;
        if store::find(&mut conn, &username).await?.is_some() {
            return Ok(BootstrapOutcome::AlreadyExists);
        }
        drop(conn);
        let hash = self.inner.hasher.hash(password).await?;
        let _writes = self.inner.writes.lock().await;
        let mut tx = self.inner.db.begin().await?;
        let Some(account) = store::insert_if_absent(&mut tx, &username, &hash).await? else {
            // Another instance inserted it in the meantime.
            return Ok(BootstrapOutcome::AlreadyExists);
        };
        let details = json!({ "source": "BACKEND_ADMIN_BOOTSTRAP_USER" });
        audit::record(
            &mut tx,
            audit::SYSTEM_ACTOR,
            action::ACCOUNT_BOOTSTRAP,
            username.as_str(),
            details,
        )
        .await?;
        tx.commit().await?;
        self.cache_put(account);
        Ok(BootstrapOutcome::Created)
    }

    /// The number of credentials currently remembered (for tests and metrics).
    pub fn cached_credentials(&self) -> usize {
        self.inner.credentials.len()
    }

    async fn account(&self, username: &Username) -> Result<Option<Arc<AdminAccount>>, sqlx::Error> {
        {
            let cache = self.read_cache();
            if cache.warm {
                return Ok(cache.by_username.get(username).cloned());
            }
        }
        let mut conn = self.inner.db.acquire().await?;
        Ok(store::find(&mut conn, username).await?.map(Arc::new))
    }

    /// Write-through after commit (callers hold `writes`).
    fn cache_put(&self, account: AdminAccount) -> Arc<AdminAccount> {
        let account = Arc::new(account);
        let mut cache = self.write_cache();
        cache
            .by_username
            .insert(account.username.clone(), account.clone());
        account
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, AccountCache> {
        self.inner
            .accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, AccountCache> {
        self.inner
            .accounts
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// Other instances' writes reach the cache: keys are usernames.
impl crate::cluster::CoherentCache for AdminService {
    fn name(&self) -> &'static str {
        CACHE_NAME
    }

    fn refresh<'a>(&'a self, key: &'a str) -> futures::future::BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let username =
                Username::parse(key).map_err(|_| anyhow::anyhow!("not an admin username"))?;
            Ok(self.refresh_account(&username).await?)
        })
    }

    fn reload_all(&self) -> futures::future::BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { Ok(self.warm_up().await?) })
    }
}

/// What the startup bootstrap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootstrapOutcome {
    Created,
    AlreadyExists,
}
