//! The pipeline service: submit and its broadcast form `submit_to` (inside
//! the producer's transaction), the users' email preferences, the
//! operators' queries, and the hooks other domains call (`OnUserDeleted`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::{PgConnection, PgPool};

use crate::ids::{IntentId, RouteId, UserId};

use super::catalog::{self, Channel, KindSpec};
use super::error::NotificationError;
use super::metrics::{NotificationMetrics, SubmitOutcome};
use super::model::{
    DeadLetter, Intent, IntentFilter, IntentView, Listing, Preference, SkipReason, Submitted,
};
use super::store;
use super::worker::NotificationWorker;
use crate::config::Config;
use crate::jobs::{JobMetrics, RetryPolicy, Wake, wake};
use crate::push::PushService;
use crate::telemetry::Metrics;
use crate::user::OnUserDeleted;

/// Longest accepted idempotency key.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 256;

/// Everything the pipeline is tuned by ([`NotificationSettings::from_config`]).
#[derive(Debug, Clone)]
pub struct NotificationSettings {
    /// `BACKEND_NOTIFICATION_ADMIN_EMAIL`: admin-channel recipient.
    pub admin_email: Option<String>,
    /// `BACKEND_NOTIFICATION_WORKER_INTERVAL`: pause between idle steps.
    pub worker_interval: Duration,
    /// `BACKEND_NOTIFICATION_MAX_ATTEMPTS`: attempts before dead-lettering.
    pub max_attempts: u32,
    /// Routes claimed per step.
    pub batch_size: u32,
    /// Backoff after the first failed attempt (doubling, jittered).
    pub retry_base: Duration,
    /// Cap of the backoff.
    pub retry_max: Duration,
    /// The lease of a claimed batch, renewed while it is delivered.
    pub lease: Duration,
}

impl NotificationSettings {
    pub fn from_config(config: &Config) -> Self {
        let n = &config.notification;
        Self {
            admin_email: n.admin_email.clone().filter(|a| !a.trim().is_empty()),
            worker_interval: n.worker_interval,
            max_attempts: n.max_attempts,
            batch_size: 100,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(15 * 60),
            lease: Duration::from_secs(10),
        }
    }

    /// Attempts and their backoff (exponential, with jitter).
    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            base: self.retry_base,
            max: self.retry_max,
        }
    }
}

/// The pipeline: submit, worker dependencies, preferences, admin queries.
/// Cheap to clone.
#[derive(Clone)]
pub struct NotificationService {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    settings: NotificationSettings,
    push: PushService,
    metrics: NotificationMetrics,
    job_metrics: JobMetrics,
    /// The worker's wake-up (its in-process signal is shared).
    wake: Wake,
}

impl NotificationService {
    pub fn new(
        db: PgPool,
        settings: NotificationSettings,
        push: PushService,
        metrics: &Metrics,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                settings,
                push,
                metrics: NotificationMetrics::new(metrics),
                job_metrics: JobMetrics::new(metrics, "notification"),
                wake: Wake::new(store::WAKE_CHANNEL),
            }),
        }
    }

    pub fn settings(&self) -> &NotificationSettings {
        &self.inner.settings
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.inner.db
    }

    pub(super) fn push(&self) -> &PushService {
        &self.inner.push
    }

    pub(super) fn job_metrics(&self) -> &JobMetrics {
        &self.inner.job_metrics
    }

    /// A worker on this pipeline.
    pub fn worker(&self) -> NotificationWorker {
        NotificationWorker::new(self.clone())
    }

    /// The wake-up every submit that routes something sends at commit,
    /// sharing its in-process signal with [`wake_local`](Self::wake_local).
    pub fn wake(&self) -> Wake {
        self.inner.wake.clone()
    }

    /// Wakes this process's worker at once. A producer that submitted with
    /// [`submit_local`](Self::submit_local) / [`submit_to_local`](Self::submit_to_local)
    /// calls it after its commit.
    pub fn wake_local(&self) {
        self.inner.wake.signal().notify_one();
    }

    /// Validates `intent` against the catalog and, on `conn` — pass the
    /// producer's transaction — stores it with one route per channel for
    /// `intent.user_id` (required for user kinds, absent for admin kinds).
    /// A repeated `(kind, idempotency_key)` is a no-op returning the first
    /// intent. Nothing is delivered before the transaction commits.
    pub async fn submit(
        &self,
        conn: &mut PgConnection,
        intent: &Intent,
    ) -> Result<Submitted, NotificationError> {
        self.submit_one(conn, intent, true).await
    }

    /// [`submit`](Self::submit) without the in-transaction `NOTIFY`: the
    /// caller wakes the worker with [`wake_local`](Self::wake_local) after
    /// committing. `NOTIFY` takes a database-wide lock from commit to the
    /// end of the WAL flush, which serialises every committing producer; a
    /// hot path (the lobby) avoids it. One instance serves a database, so
    /// the local signal reaches the only worker (others poll at their
    /// interval).
    pub async fn submit_local(
        &self,
        conn: &mut PgConnection,
        intent: &Intent,
    ) -> Result<Submitted, NotificationError> {
        self.submit_one(conn, intent, false).await
    }

    async fn submit_one(
        &self,
        conn: &mut PgConnection,
        intent: &Intent,
        notify_in_tx: bool,
    ) -> Result<Submitted, NotificationError> {
        let spec = self.checked(intent, |spec| match (spec.is_admin(), intent.user_id) {
            (true, Some(_)) => Err(NotificationError::UnexpectedUser(spec.kind)),
            (false, None) => Err(NotificationError::MissingUser(spec.kind)),
            _ => Ok(()),
        })?;
        self.store(conn, spec, intent, intent.user_id.as_slice(), notify_in_tx)
            .await
    }

    /// [`NotificationService::submit`] for a broadcast: one intent that
    /// addresses every user of `recipients` (e.g. the active members of a
    /// game for `game.turn.ready`), with one route per user-facing channel
    /// and recipient, each skipped on its own user's email preference.
    /// `intent.user_id` must be `None`; repeated recipients count once; an
    /// empty list is valid and routes nothing. Admin kinds take no
    /// recipients and route to the operators as with `submit`.
    ///
    /// Deduplication is by `(kind, idempotency_key)` alone: a repeated key
    /// returns the first intent and routes nothing, whatever the list.
    pub async fn submit_to(
        &self,
        conn: &mut PgConnection,
        intent: &Intent,
        recipients: &[UserId],
    ) -> Result<Submitted, NotificationError> {
        self.submit_many(conn, intent, recipients, true).await
    }

    /// [`submit_to`](Self::submit_to) without the in-transaction `NOTIFY`
    /// (see [`submit_local`](Self::submit_local)).
    pub async fn submit_to_local(
        &self,
        conn: &mut PgConnection,
        intent: &Intent,
        recipients: &[UserId],
    ) -> Result<Submitted, NotificationError> {
        self.submit_many(conn, intent, recipients, false).await
    }

    async fn submit_many(
        &self,
        conn: &mut PgConnection,
        intent: &Intent,
        recipients: &[UserId],
        notify_in_tx: bool,
    ) -> Result<Submitted, NotificationError> {
        let spec = self.checked(intent, |spec| {
            if intent.user_id.is_some() {
                Err(NotificationError::UserWithRecipients(spec.kind))
            } else if spec.is_admin() && !recipients.is_empty() {
                Err(NotificationError::UnexpectedUser(spec.kind))
            } else {
                Ok(())
            }
        })?;
        let mut seen = HashSet::with_capacity(recipients.len());
        let recipients: Vec<UserId> = recipients
            .iter()
            .copied()
            .filter(|user| seen.insert(*user))
            .collect();
        self.store(conn, spec, intent, &recipients, notify_in_tx)
            .await
    }

    /// The catalog row of `intent` once it passed the catalog rules and
    /// `addressees` (who it may address); a refusal is counted.
    fn checked(
        &self,
        intent: &Intent,
        addressees: impl FnOnce(&'static KindSpec) -> Result<(), NotificationError>,
    ) -> Result<&'static KindSpec, NotificationError> {
        let metrics = &self.inner.metrics;
        let Some(spec) = catalog::lookup(&intent.kind) else {
            metrics.record_intent("unknown", SubmitOutcome::Rejected);
            return Err(NotificationError::UnknownKind(intent.kind.clone()));
        };
        let key_len = intent.idempotency_key.len();
        let valid = if key_len == 0 || key_len > MAX_IDEMPOTENCY_KEY_LEN {
            Err(NotificationError::InvalidIdempotencyKey)
        } else {
            addressees(spec).and_then(|()| {
                spec.validate(&intent.payload)
                    .map_err(|source| NotificationError::InvalidPayload {
                        kind: spec.kind,
                        source,
                    })
            })
        };
        if let Err(err) = valid {
            metrics.record_intent(spec.kind, SubmitOutcome::Rejected);
            return Err(err);
        }
        Ok(spec)
    }

    /// Stores a checked intent for `recipients` (distinct) with its routes:
    /// one per recipient on the user-facing channels, one on the admin one.
    async fn store(
        &self,
        conn: &mut PgConnection,
        spec: &'static KindSpec,
        intent: &Intent,
        recipients: &[UserId],
        notify_in_tx: bool,
    ) -> Result<Submitted, NotificationError> {
        let metrics = &self.inner.metrics;
        let intent_id = IntentId::new_ordered();
        let trace_id = crate::telemetry::current_trace_id().unwrap_or_default();
        let inserted = store::insert_intent(
            conn,
            &store::NewIntent {
                intent_id,
                kind: spec.kind,
                idempotency_key: &intent.idempotency_key,
                user_id: match recipients {
                    [sole] => Some(*sole),
                    _ => None,
                },
                // A list past i32::MAX users cannot be held in memory.
                recipient_count: i32::try_from(recipients.len()).unwrap_or(i32::MAX),
                payload: &intent.payload,
                trace_id: &trace_id,
            },
        )
        .await?;
        if inserted.is_none() {
            let first = store::find_intent(conn, spec.kind, &intent.idempotency_key)
                .await?
                .ok_or(NotificationError::Database(sqlx::Error::RowNotFound))?;
            metrics.record_intent(spec.kind, SubmitOutcome::Duplicate);
            tracing::debug!(intent_id = %first, kind = spec.kind, "notification intent already submitted");
            return Ok(Submitted {
                intent_id: first,
                created: false,
            });
        }

        let email_off = if spec.has(Channel::Email) && !recipients.is_empty() {
            store::email_disabled_among(conn, spec.kind, recipients).await?
        } else {
            HashSet::new()
        };
        let mut routes = Vec::new();
        for &channel in spec.channels {
            if channel == Channel::AdminEmail {
                let route_id = RouteId::new_ordered();
                let mut skip = None;
                if self.inner.settings.admin_email.is_none() {
                    tracing::warn!(route_id = %route_id, intent_id = %intent_id, kind = spec.kind,
                        "admin notification skipped: BACKEND_NOTIFICATION_ADMIN_EMAIL is empty");
                    skip = Some(SkipReason::AdminEmailUnset);
                }
                routes.push(store::NewRoute {
                    route_id,
                    channel,
                    user_id: None,
                    skip,
                });
                continue;
            }
            for &user_id in recipients {
                let opted_out = channel == Channel::Email && email_off.contains(&user_id);
                routes.push(store::NewRoute {
                    route_id: RouteId::new_ordered(),
                    channel,
                    user_id: Some(user_id),
                    skip: opted_out.then_some(SkipReason::UserPreference),
                });
            }
        }
        store::insert_routes(conn, intent_id, &routes).await?;
        for route in &routes {
            metrics.record_route(route.channel);
        }
        if notify_in_tx && routes.iter().any(|route| route.skip.is_none()) {
            wake::notify(conn, store::WAKE_CHANNEL).await?;
        }
        metrics.record_intent(spec.kind, SubmitOutcome::Accepted);
        tracing::debug!(intent_id = %intent_id, kind = spec.kind, recipients = recipients.len(),
            routes = routes.len(), "notification intent submitted");
        Ok(Submitted {
            intent_id,
            created: true,
        })
    }

    /// The user's email switch for every kind that has an email channel.
    pub async fn preferences(&self, user_id: UserId) -> Result<Vec<Preference>, NotificationError> {
        let stored = store::preferences(&self.inner.db, user_id).await?;
        Ok(catalog::email_configurable()
            .map(|spec| Preference {
                kind: spec.kind.to_owned(),
                email_enabled: stored
                    .iter()
                    .find(|p| p.kind == spec.kind)
                    .is_none_or(|p| p.email_enabled),
            })
            .collect())
    }

    /// Switches the email channel per kind; push always stays on. Every
    /// kind must exist and have an email channel, or nothing changes.
    pub async fn set_preferences(
        &self,
        user_id: UserId,
        changes: &[Preference],
    ) -> Result<Vec<Preference>, NotificationError> {
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = changes.iter().find(|p| !seen.insert(p.kind.as_str())) {
            return Err(NotificationError::DuplicateKind(twice.kind.clone()));
        }
        for change in changes {
            let spec = catalog::lookup(&change.kind)
                .ok_or_else(|| NotificationError::UnknownKind(change.kind.clone()))?;
            if !spec.has(Channel::Email) {
                return Err(NotificationError::EmailNotConfigurable(change.kind.clone()));
            }
        }
        store::set_preferences(&self.inner.db, user_id, changes).await?;
        self.preferences(user_id).await
    }

    /// Intents, newest first, with their routes.
    pub async fn list_intents(
        &self,
        filter: &IntentFilter,
        offset: u64,
        limit: u32,
    ) -> Result<Listing<IntentView>, NotificationError> {
        Ok(store::list_intents(
            &self.inner.db,
            filter,
            crate::postgres::offset(offset),
            i64::from(limit),
        )
        .await?)
    }

    pub async fn intent(&self, intent_id: IntentId) -> Result<IntentView, NotificationError> {
        store::get_intent(&self.inner.db, intent_id)
            .await?
            .ok_or(NotificationError::NotFound(intent_id))
    }

    /// Dead-lettered routes, most recent first.
    pub async fn dead_letters(
        &self,
        offset: u64,
        limit: u32,
    ) -> Result<Listing<DeadLetter>, NotificationError> {
        Ok(store::dead_letters(
            &self.inner.db,
            crate::postgres::offset(offset),
            i64::from(limit),
        )
        .await?)
    }
}

/// [`OnUserDeleted`]: the user's `pending` / `retrying` routes become
/// `skipped` (`user_deleted`) in the deleting transaction; nothing is deleted.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserDeletedHook;

impl OnUserDeleted for UserDeletedHook {
    fn name(&self) -> &'static str {
        "notification"
    }

    fn on_user_deleted<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        user_id: crate::ids::UserId,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let skipped = store::skip_user_routes(conn, user_id).await?;
            if skipped > 0 {
                tracing::info!(user_id = %user_id, skipped, "notification routes of a deleted user skipped");
            }
            Ok(())
        })
    }
}
