//! The outbox service: settings, enqueue (inside the producer's
//! transaction), the operators' queries and resend.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::email_hash::email_hash;
use super::error::MailError;
use super::metrics::{self, MailMetrics};
use super::model::{Attempt, DeadLetter, Delivery, DeliveryId, DeliveryState, Listing};
use super::store;
use super::template::Template;
use super::transport::{MailTransport, SharedTransport, SmtpSetupError, SmtpTransport};
use super::worker::MailWorker;
use crate::config::{Config, SmtpConfig};
use crate::jobs::{JobMetrics, RetryPolicy, Wake};
use crate::telemetry::Metrics;

/// Everything the outbox is tuned by. Built from [`Config`]
/// ([`MailSettings::from_config`]).
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `BACKEND_SMTP_*`: the relay.
    pub smtp: SmtpConfig,
    /// `BACKEND_MAIL_WORKER_INTERVAL`: pause between steps when idle.
    pub worker_interval: Duration,
    /// `BACKEND_MAIL_WORKER_ENABLED` (added): run the worker loop in this process.
    pub worker_enabled: bool,
    /// `BACKEND_MAIL_MAX_ATTEMPTS`: attempts per cycle before dead-lettering.
    pub max_attempts: u32,
    /// `BACKEND_MAIL_LEASE` (added): the lease of a claimed batch, renewed
    /// every third of it while the sends run; a crashed worker's deliveries
    /// are retried once it runs out.
    pub lease: Duration,
    /// `BACKEND_MAIL_BATCH_SIZE` (added): deliveries claimed per step.
    pub batch_size: u32,
    /// `BACKEND_MAIL_SEND_CONCURRENCY` (added): parallel SMTP sends (and
    /// pooled connections) per worker.
    pub send_concurrency: u32,
    /// `BACKEND_MAIL_RETRY_BASE` (added): delay after the first failure.
    pub retry_base: Duration,
    /// `BACKEND_MAIL_RETRY_MAX` (added): cap of the backoff delay.
    pub retry_max: Duration,
}

impl MailSettings {
    pub fn from_config(config: &Config) -> Self {
        let mail = &config.mail;
        Self {
            smtp: config.smtp.clone(),
            worker_interval: mail.worker_interval,
            worker_enabled: mail.worker_enabled,
            max_attempts: mail.max_attempts,
            lease: mail.lease,
            batch_size: mail.batch_size,
            send_concurrency: mail.send_concurrency,
            retry_base: mail.retry_base,
            retry_max: mail.retry_max,
        }
    }

    /// Attempts per cycle and their backoff (exponential, with jitter).
    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            base: self.retry_base,
            max: self.retry_max,
        }
    }
}

/// The audit-trail action of an operator's resend.
pub const AUDIT_RESEND: &str = "mail.resend";

/// The result of [`enqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub delivery_id: DeliveryId,
    /// `false` when `(template_id, idempotency_key)` existed already: the
    /// existing delivery is returned and nothing new is sent.
    pub created: bool,
}

/// Renders `template` for `to` and writes the delivery, its payload and its
/// recipient on `conn` — pass the producer's own transaction (`&mut *tx`) so
/// the mail commits or rolls back with the producer's write. Enqueueing the
/// same `(template id, idempotency_key)` again yields the same delivery.
/// Nothing is sent until the transaction commits and a worker picks it up.
pub async fn enqueue(
    conn: &mut PgConnection,
    to: &str,
    template: &Template,
    idempotency_key: &str,
) -> Result<Enqueued, MailError> {
    let to = to.trim();
    to.parse::<lettre::Address>()
        .map_err(|_| MailError::InvalidRecipient)?;
    let rendered = template.render()?;
    let template_id = template.id();
    let payload_id = Uuid::now_v7();
    let recipients = [to.to_owned()];
    let inserted = store::insert_delivery(
        conn,
        DeliveryId::new(),
        payload_id,
        template_id,
        idempotency_key,
        &rendered,
        &recipients,
    )
    .await?;
    let enqueued = match inserted {
        Some(delivery_id) => Enqueued {
            delivery_id,
            created: true,
        },
        None => {
            store::discard_payload(conn, payload_id).await?;
            let delivery_id = store::find_by_key(conn, template_id, idempotency_key)
                .await?
                .ok_or_else(|| MailError::Database(sqlx::Error::RowNotFound))?;
            Enqueued {
                delivery_id,
                created: false,
            }
        }
    };
    tracing::debug!(delivery_id = %enqueued.delivery_id, template_id, created = enqueued.created,
        email_hash = %email_hash(to), "mail enqueued");
    Ok(enqueued)
}

/// `EnqueueLoginCode` (spec §9): the login-code mail of an auth challenge,
/// keyed by a fresh server-side UUID so callers cannot collide.
pub async fn enqueue_login_code(
    conn: &mut PgConnection,
    to: &str,
    code: &str,
    ttl: Duration,
) -> Result<DeliveryId, MailError> {
    let template = Template::LoginCode {
        code: code.to_owned(),
        ttl,
    };
    Ok(enqueue(conn, to, &template, &Uuid::new_v4().to_string())
        .await?
        .delivery_id)
}

/// Redacts the bodies of one-time-code mails (the identity domain calls it
/// once a login code is useless or delivered): every given delivery, or
/// with `only_sent` those already sent. The delivery rows stay. Returns the
/// deliveries now redacted.
pub async fn redact_payloads(
    conn: &mut PgConnection,
    delivery_ids: &[Uuid],
    only_sent: bool,
) -> Result<Vec<Uuid>, sqlx::Error> {
    store::redact_payloads(conn, delivery_ids, only_sent).await
}

/// The outbox service: the worker's dependencies and the operators' queries.
/// Cheap to clone.
#[derive(Clone)]
pub struct Mail {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    settings: MailSettings,
    transport: SharedTransport,
    metrics: MailMetrics,
    job_metrics: JobMetrics,
    depth_refreshed: Mutex<Option<Instant>>,
}

impl Mail {
    /// The outbox sending through SMTP as configured.
    pub fn new(
        db: PgPool,
        settings: MailSettings,
        metrics: &Metrics,
    ) -> Result<Self, SmtpSetupError> {
        let transport = SmtpTransport::new(&settings.smtp, settings.send_concurrency)?;
        Ok(Self::with_transport(
            db,
            settings,
            metrics,
            Arc::new(transport),
        ))
    }

    /// The outbox sending through `transport`.
    pub fn with_transport(
        db: PgPool,
        settings: MailSettings,
        metrics: &Metrics,
        transport: SharedTransport,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                settings,
                transport,
                metrics: MailMetrics::new(metrics),
                job_metrics: JobMetrics::new(metrics, "mail"),
                depth_refreshed: Mutex::new(None),
            }),
        }
    }

    /// The wake-up every enqueue sends at commit.
    pub fn wake() -> Wake {
        Wake::new(store::WAKE_CHANNEL)
    }

    /// A worker on this outbox.
    pub fn worker(&self) -> MailWorker {
        MailWorker::new(self.clone())
    }

    pub fn settings(&self) -> &MailSettings {
        &self.inner.settings
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.inner.db
    }

    pub(super) fn transport(&self) -> &dyn MailTransport {
        self.inner.transport.as_ref()
    }

    /// Whether the relay offers `SMTPUTF8` (`None`: it could not be asked),
    /// so the edge can refuse an address that could never be sent.
    pub async fn relay_offers_smtputf8(&self) -> Option<bool> {
        self.transport().offers_smtputf8().await
    }

    pub(super) fn metrics(&self) -> &MailMetrics {
        &self.inner.metrics
    }

    pub(super) fn job_metrics(&self) -> &JobMetrics {
        &self.inner.job_metrics
    }

    /// Re-reads `mail_outbox_depth` (at most once per second unless `force`).
    /// A failure only leaves the gauge stale.
    pub async fn refresh_depth(&self, force: bool) {
        {
            let mut last = self
                .inner
                .depth_refreshed
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if !force && last.is_some_and(|at| at.elapsed() < metrics::DEPTH_REFRESH) {
                return;
            }
            *last = Some(Instant::now());
        }
        match store::depth(&self.inner.db).await {
            Ok(counts) => self.inner.metrics.set_depth(&counts),
            Err(err) => tracing::warn!(error = %err, "cannot read the mail outbox depth"),
        }
    }

    /// Deliveries, newest first, optionally in one state: `limit` rows
    /// after skipping `offset`, and the total.
    pub async fn list_deliveries(
        &self,
        state: Option<DeliveryState>,
        offset: u64,
        limit: u32,
    ) -> Result<Listing<Delivery>, MailError> {
        Ok(store::list_deliveries(
            &self.inner.db,
            state,
            crate::postgres::offset(offset),
            i64::from(limit),
        )
        .await?)
    }

    pub async fn delivery(&self, delivery_id: DeliveryId) -> Result<Delivery, MailError> {
        let mut conn = self.inner.db.acquire().await?;
        store::get_delivery(&mut conn, delivery_id)
            .await?
            .ok_or(MailError::NotFound(delivery_id))
    }

    /// The attempt log, oldest first.
    pub async fn attempts(&self, delivery_id: DeliveryId) -> Result<Vec<Attempt>, MailError> {
        store::attempts(&self.inner.db, delivery_id)
            .await?
            .ok_or(MailError::NotFound(delivery_id))
    }

    /// Current dead letters, most recent first.
    pub async fn dead_letters(
        &self,
        offset: u64,
        limit: u32,
    ) -> Result<Listing<DeadLetter>, MailError> {
        Ok(store::list_dead_letters(
            &self.inner.db,
            crate::postgres::offset(offset),
            i64::from(limit),
        )
        .await?)
    }

    /// Re-arms a `pending`, `retrying` or `dead_lettered` delivery for a new
    /// attempt cycle (the attempt counter continues), recording `actor` (an
    /// admin username) in the audit trail. A `sent` delivery is refused: it
    /// already left the relay.
    pub async fn resend(
        &self,
        actor: &str,
        delivery_id: DeliveryId,
    ) -> Result<Delivery, MailError> {
        let mut tx = self.inner.db.begin().await?;
        let previous = match store::lock_state(&mut tx, delivery_id).await? {
            None => return Err(MailError::NotFound(delivery_id)),
            Some(DeliveryState::Sent) => return Err(MailError::AlreadySent(delivery_id)),
            Some(state) => state,
        };
        store::rearm(&mut tx, delivery_id).await?;
        let delivery = store::get_delivery(&mut tx, delivery_id)
            .await?
            .ok_or(MailError::NotFound(delivery_id))?;
        crate::audit::record(
            &mut tx,
            actor,
            AUDIT_RESEND,
            &delivery_id.to_string(),
            serde_json::json!({ "previous_state": previous.as_str(), "attempt_count": delivery.attempt_count }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(delivery_id = %delivery_id, template_id = %delivery.template_id, actor,
            previous_state = %previous, attempt_count = delivery.attempt_count, "mail delivery resent by an operator");
        self.refresh_depth(true).await;
        Ok(delivery)
    }
}
