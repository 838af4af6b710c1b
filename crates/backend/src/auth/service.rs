//! [`AuthService`]: login by email code.
//!
//! - [`AuthService::request_code`] opens a challenge (or reuses one when the
//!   address is throttled) and enqueues the `auth.login_code` mail in the
//!   same transaction. It never looks at accounts, so its answer cannot tell
//!   a registered address from an unknown one.
//! - [`AuthService::confirm`] checks the code (constant time, counted,
//!   burned after `BACKEND_AUTH_CHALLENGE_MAX_ATTEMPTS`, single use; beyond
//!   [`AuthSettings::failure_cap`] failures per address per rolling hour
//!   only sources that have not failed for the address may try),
//!   finds or creates the account, and creates the device session.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::ids::{ChallengeId, DeviceSessionId, UserId};

use super::error::AuthError;
use super::model::{self, EmailAddress, LoginCode, UserNameGenerator};
use super::store::{self, AccountByEmail, InsertAccount};
use crate::geo::Geo;
use crate::session::{DeviceInfo, DevicePublicKey, SessionService};
use crate::user::UserService;
use crate::worker::StepOutcome;

/// Rows of each kind one prune step deletes at most.
pub const PRUNE_BATCH: i64 = 10_000;
/// Pause of the loop redacting delivered or useless login mails.
pub const REDACT_INTERVAL: Duration = Duration::from_secs(30);
/// The rolling window of [`AuthSettings::failure_cap`].
pub const FAILURE_WINDOW: Duration = Duration::from_secs(3600);

/// Tunables of the login flow (`BACKEND_AUTH_*`, see `docs/auth.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// `BACKEND_AUTH_CHALLENGE_TTL`.
    pub challenge_ttl: Duration,
    /// `BACKEND_AUTH_CHALLENGE_MAX_ATTEMPTS`: wrong codes that burn a challenge.
    pub max_attempts: u32,
    /// `BACKEND_AUTH_CHALLENGE_THROTTLE_WINDOW`.
    pub throttle_window: Duration,
    /// `BACKEND_AUTH_CHALLENGE_THROTTLE_MAX`: open challenges per address
    /// within the window before the newest is reused.
    pub throttle_max: u32,
    /// `BACKEND_AUTH_USERNAME_MAX_RETRIES`.
    pub username_max_retries: u32,
    /// `BACKEND_AUTH_CONFIRM_FAILURE_LIMIT`: failed confirmations per
    /// address within `failure_window`, across all its challenges, beyond
    /// which only a source that has not failed for the address in the
    /// window may still try (OWASP ASVS 2.2.1).
    pub failure_cap: u32,
    pub failure_window: Duration,
    /// `BACKEND_AUTH_CHALLENGE_RETENTION`: how long an expired challenge is
    /// kept (for operators) before pruning.
    pub challenge_retention: Duration,
    /// `BACKEND_AUTH_PRUNE_INTERVAL`: pause of the prune loop when nothing
    /// was left to delete.
    pub prune_interval: Duration,
    /// `BACKEND_AUTH_CHALLENGE_SOURCE_MAX`: new challenges per source
    /// address within `throttle_window`.
    pub source_max: u32,
    /// `BACKEND_AUTH_CODE_SECRET`: the key of the stored code HMAC.
    pub code_key: model::CodeKey,
}

impl AuthSettings {
    pub fn from_config(config: &crate::config::Config) -> Self {
        let auth = &config.auth;
        Self {
            challenge_ttl: auth.challenge_ttl,
            max_attempts: auth.challenge_max_attempts,
            throttle_window: auth.challenge_throttle_window,
            throttle_max: auth.challenge_throttle_max,
            username_max_retries: auth.username_max_retries,
            failure_cap: auth.confirm_failure_limit,
            failure_window: FAILURE_WINDOW,
            challenge_retention: auth.challenge_retention,
            prune_interval: auth.prune_interval,
            source_max: config.security.challenge_source_max,
            code_key: model::CodeKey::new(config.security.code_secret.as_ref().map(|s| s.expose())),
        }
    }
}

/// What the caller of "request a code" learns: the challenge to confirm
/// and until when. Identical in shape for every address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengeIssued {
    pub challenge_id: ChallengeId,
    pub expires_at: DateTime<Utc>,
    /// `true` when a throttled address got its newest open challenge back
    /// (no mail was sent). Not shown to the caller.
    pub reused: bool,
}

/// A confirm request, validated by [`AuthService::confirm`].
#[derive(Debug, Clone)]
pub struct ConfirmRequest<'a> {
    pub challenge_id: ChallengeId,
    pub code: &'a str,
    pub public_key: &'a str,
    pub device_name: &'a str,
    pub platform: &'a str,
    /// The caller's source address (for `declared_country` of a new account,
    /// and the lockout-resistant failure cap).
    pub source_ip: Option<IpAddr>,
}

/// A successful confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedIn {
    pub user_id: UserId,
    pub device_session_id: DeviceSessionId,
    pub account_created: bool,
}

struct Inner {
    db: PgPool,
    settings: AuthSettings,
    sessions: SessionService,
    geo: Geo,
    users: UserService,
    user_names: RwLock<UserNameGenerator>,
}

/// The login flow. Cheap to clone.
#[derive(Clone)]
pub struct AuthService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

impl AuthService {
    pub fn new(
        db: PgPool,
        settings: AuthSettings,
        sessions: SessionService,
        geo: Geo,
        users: UserService,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                settings,
                sessions,
                geo,
                users,
                user_names: RwLock::new(Arc::new(model::random_user_name)),
            }),
        }
    }

    /// The device sessions this flow creates.
    pub fn sessions(&self) -> &SessionService {
        &self.inner.sessions
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.inner.settings
    }

    /// Replaces the placeholder user-name generator (tests force collisions
    /// with it).
    pub fn set_user_name_generator(&self, generator: UserNameGenerator) {
        *self
            .inner
            .user_names
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = generator;
    }

    fn user_name_generator(&self) -> UserNameGenerator {
        self.inner
            .user_names
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Opens a login challenge for `email` and enqueues its code mail in the
    /// same transaction. A source that opened `source_max` challenges within
    /// the throttle window is refused ([`AuthError::TooManyRequests`]). When
    /// `throttle_max` challenges of the address (whatever became of them)
    /// were created within the window, the newest one is returned instead
    /// and no mail is sent.
    #[tracing::instrument(name = "auth.request_code", skip_all)]
    pub async fn request_code(
        &self,
        email: &str,
        source: Option<IpAddr>,
    ) -> Result<ChallengeIssued, AuthError> {
        let email = EmailAddress::parse(email)?;
        let settings = &self.inner.settings;
        let source = source.map(|ip| ip.to_string());
        let mut tx = self.inner.db.begin().await?;
        if let Some(source) = &source {
            store::lock_source(&mut tx, source).await?;
            let (opened, frees_at, now) =
                store::challenges_from_source(&mut tx, source, settings.throttle_window).await?;
            if opened >= i64::from(settings.source_max) {
                let retry_after = frees_at
                    .and_then(|at| (at - now).to_std().ok())
                    .unwrap_or(Duration::from_secs(1));
                tracing::warn!(%source, "login codes throttled (per source)");
                return Err(AuthError::TooManyRequests { retry_after });
            }
        }
        store::lock_address(&mut tx, email.as_str()).await?;
        let (recent, newest) =
            store::recent_challenges(&mut tx, email.as_str(), settings.throttle_window).await?;
        if recent >= i64::from(settings.throttle_max)
            && let Some((challenge_id, expires_at)) = newest
        {
            tx.commit().await?;
            tracing::info!(
                email_hash = %crate::mail::email_hash(email.as_str()),
                %challenge_id,
                "login challenge reused (throttled)"
            );
            return Ok(ChallengeIssued {
                challenge_id,
                expires_at,
                reused: true,
            });
        }
        let challenge_id = ChallengeId::new_random();
        let code = LoginCode::generate();
        let hash = model::code_hash(&settings.code_key, challenge_id, code.as_str());
        let expires_at = store::insert_challenge(
            &mut tx,
            challenge_id,
            email.as_str(),
            &hash,
            settings.challenge_ttl,
            source.as_deref(),
        )
        .await?;
        let delivery = crate::mail::enqueue_login_code(
            &mut tx,
            email.as_str(),
            code.as_str(),
            settings.challenge_ttl,
        )
        .await?;
        store::set_challenge_delivery(&mut tx, challenge_id, delivery.0).await?;
        tx.commit().await?;
        tracing::info!(
            email_hash = %crate::mail::email_hash(email.as_str()),
            %challenge_id,
            "login challenge opened"
        );
        Ok(ChallengeIssued {
            challenge_id,
            expires_at,
            reused: false,
        })
    }

    /// The address's hourly failure cap. Beyond it a source that has not
    /// failed for this address in the window still gets its try (the owner
    /// is not locked out by strangers); one that has failed waits.
    async fn check_failure_cap(
        &self,
        tx: &mut PgConnection,
        email: &str,
        source: Option<&str>,
    ) -> Result<(), AuthError> {
        let settings = &self.inner.settings;
        let (failures, frees_at, now) =
            store::recent_failures(tx, email, settings.failure_window).await?;
        if failures < i64::from(settings.failure_cap) {
            return Ok(());
        }
        let failing = match source {
            Some(source) => {
                store::failures_from_source(tx, email, source, settings.failure_window).await? > 0
            }
            None => true,
        };
        if !failing {
            return Ok(());
        }
        let retry_after = frees_at
            .and_then(|at| (at - now).to_std().ok())
            .unwrap_or(Duration::from_secs(1));
        tracing::warn!(
            email_hash = %crate::mail::email_hash(email),
            source = source.unwrap_or("unknown"),
            "login confirmations throttled (hourly cap)"
        );
        Err(AuthError::TooManyAttempts { retry_after })
    }

    /// Confirms a challenge's code and logs the device in.
    ///
    /// Order of checks: input (key, device) → challenge exists → consumed /
    /// burned / expired → the address's hourly failure cap → the code. A
    /// correct code consumes the challenge even when the login is then
    /// refused (deleted account, login ban).
    #[tracing::instrument(name = "auth.confirm", skip_all, fields(challenge_id = %request.challenge_id))]
    pub async fn confirm(&self, request: ConfirmRequest<'_>) -> Result<LoggedIn, AuthError> {
        let public_key = DevicePublicKey::parse_base64(request.public_key)?;
        let device = DeviceInfo::parse(request.device_name, request.platform)?;
        let settings = &self.inner.settings;

        let mut tx = self.inner.db.begin().await?;
        let challenge = store::challenge_for_update(&mut tx, request.challenge_id)
            .await?
            .ok_or(AuthError::ChallengeNotFound)?;
        store::lock_address(&mut tx, &challenge.email).await?;
        if challenge.consumed {
            return Err(AuthError::ChallengeConsumed);
        }
        if challenge.burned {
            return Err(AuthError::ChallengeBurned);
        }
        if challenge.expired {
            return Err(AuthError::ChallengeExpired);
        }
        let source = request.source_ip.map(|ip| ip.to_string());
        self.check_failure_cap(&mut tx, &challenge.email, source.as_deref())
            .await?;

        if !model::code_matches(
            &settings.code_key,
            challenge.id,
            request.code,
            &challenge.code_hash,
        ) {
            let used = u32::try_from(challenge.attempts).unwrap_or(0) + 1;
            let burn = used >= settings.max_attempts;
            store::record_failure(
                &mut tx,
                challenge.id,
                &challenge.email,
                burn,
                source.as_deref(),
            )
            .await?;
            tx.commit().await?;
            tracing::info!(attempts = used, burned = burn, "wrong login code");
            return Err(AuthError::WrongCode {
                attempts_left: settings.max_attempts.saturating_sub(used),
            });
        }
        store::consume(&mut tx, challenge.id).await?;

        let (user_id, account_created) =
            match store::account_by_email(&mut tx, &challenge.email).await? {
                AccountByEmail::Live(user_id) => {
                    if let Some(ban) = self.inner.users.active_login_ban(user_id) {
                        tx.commit().await?;
                        tracing::info!(%user_id, "login refused: login ban");
                        return Err(AuthError::LoginBanned {
                            until: ban.expires_at,
                        });
                    }
                    (user_id, false)
                }
                AccountByEmail::DeletedOnly => {
                    tx.commit().await?;
                    tracing::info!("login refused: account deleted");
                    return Err(AuthError::AccountDeleted);
                }
                AccountByEmail::None => {
                    let country = request.source_ip.and_then(|ip| self.inner.geo.lookup(ip));
                    self.create_account(&mut tx, &challenge.email, country.as_deref())
                        .await?
                }
            };

        let session = self
            .inner
            .sessions
            .create_in_tx(
                &mut tx,
                user_id,
                &public_key,
                &device.name,
                &device.platform,
            )
            .await?;
        tx.commit().await?;
        self.inner.sessions.after_commit_created(&session);
        if account_created && let Err(err) = self.inner.users.refresh_account(user_id).await {
            // The account is committed; the user cache catches up on its next miss.
            tracing::error!(%user_id, error = %err, "cannot refresh the new account in the user cache");
        }
        tracing::info!(%user_id, device_session_id = %session.id, account_created, "device logged in");
        Ok(LoggedIn {
            user_id,
            device_session_id: session.id,
            account_created,
        })
    }

    /// The housekeeping step (`auth_prune` worker): removes challenges that
    /// expired more than [`AuthSettings::challenge_retention`] ago and failed
    /// confirmations that left the hourly window, [`PRUNE_BATCH`] rows of
    /// each per step, and ends device sessions past their idle timeout or
    /// lifetime ([`SessionService::expire`]).
    #[tracing::instrument(name = "auth.prune", skip_all)]
    pub async fn prune(&self) -> Result<StepOutcome, sqlx::Error> {
        let mut conn = self.inner.db.acquire().await?;
        let removed = store::prune(
            &mut conn,
            self.inner.settings.challenge_retention,
            self.inner.settings.failure_window,
            PRUNE_BATCH,
        )
        .await?;
        drop(conn);
        if removed > 0 {
            tracing::info!(removed, "old login challenges pruned");
        }
        let expired = self.inner.sessions.expire(PRUNE_BATCH).await?;
        self.redact_mail().await?;
        Ok(
            if removed >= PRUNE_BATCH as u64 || expired >= PRUNE_BATCH as u64 {
                StepOutcome::MoreWork
            } else {
                StepOutcome::Idle
            },
        )
    }

    /// Redacts the bodies of login-code mails (`auth_redact` worker, and
    /// each prune step): every one whose challenge is no longer open, and
    /// the sent ones of open challenges, [`PRUNE_BATCH`] challenges per
    /// step. The delivery rows stay for the admin surface.
    #[tracing::instrument(name = "auth.redact_mail", skip_all)]
    pub async fn redact_mail(&self) -> Result<StepOutcome, sqlx::Error> {
        let mut tx = self.inner.db.begin().await?;
        let pending = store::unredacted_mails(&mut tx, PRUNE_BATCH).await?;
        let pick = |want_open: bool| -> Vec<uuid::Uuid> {
            pending
                .iter()
                .filter(|(_, open)| *open == want_open)
                .map(|(id, _)| *id)
                .collect()
        };
        let (open, closed) = (pick(true), pick(false));
        let mut redacted = crate::mail::redact_payloads(&mut tx, &closed, false).await?;
        redacted.extend(crate::mail::redact_payloads(&mut tx, &open, true).await?);
        // A challenge whose delivery row is gone has nothing left to redact.
        store::mark_mails_redacted(&mut tx, &closed).await?;
        store::mark_mails_redacted(&mut tx, &redacted).await?;
        tx.commit().await?;
        if !redacted.is_empty() {
            tracing::debug!(redacted = redacted.len(), "login mails redacted");
        }
        Ok(
            if pending.len() as i64 >= PRUNE_BATCH && !redacted.is_empty() {
                StepOutcome::MoreWork
            } else {
                StepOutcome::Idle
            },
        )
    }

    /// Inserts the account with a synthesised placeholder user name, trying
    /// `1 + username_max_retries` names before giving up. Returns the user
    /// id and whether the account is new.
    async fn create_account(
        &self,
        conn: &mut sqlx::PgConnection,
        email: &str,
        declared_country: Option<&str>,
    ) -> Result<(UserId, bool), AuthError> {
        let generate = self.user_name_generator();
        let retries = self.inner.settings.username_max_retries;
        let user_id = UserId::new_random();
        for attempt in 0..=retries {
            let user_name = generate(attempt);
            match store::insert_account(conn, user_id, email, &user_name, declared_country).await? {
                InsertAccount::Inserted => return Ok((user_id, true)),
                InsertAccount::UserNameTaken => {
                    tracing::debug!(attempt, "placeholder user name taken; retrying");
                }
                InsertAccount::EmailTaken => {
                    // Another registration of this address won; log in to it.
                    if let AccountByEmail::Live(existing) =
                        store::account_by_email(conn, email).await?
                    {
                        return Ok((existing, false));
                    }
                }
            }
        }
        Err(AuthError::UserNameExhausted(retries + 1))
    }
}
