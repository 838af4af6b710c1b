//! The route worker: one step ([`NotificationWorker::tick`]) claims up to a
//! batch of due routes with the job queue's claim (`FOR UPDATE SKIP LOCKED`,
//! ordered by `next_attempt_at`, under a short lease renewed while the step
//! runs), then delivers each and records the outcome in one transaction:
//!
//! - push: the stored `(kind, payload)` becomes a typed event
//!   ([`build_client_push_event`]) published to [`crate::push::PushService`]
//!   for the route's `user_id` (a broadcast has one route per recipient) with `event_id` = route id, `request_id` = idempotency key and
//!   `trace_id` = the producer's trace;
//! - email / admin email: the kind's template is enqueued in the mail outbox
//!   (to the route's user's address, or the operators') in the same transaction, with the route id as the mail idempotency key;
//! - a failure is retried with exponential backoff and jitter, and the
//!   route is dead-lettered after `BACKEND_NOTIFICATION_MAX_ATTEMPTS`
//!   (`crate::jobs::RetryPolicy`).
//!
//! Delivery is at least once: if the commit fails (or the worker dies)
//! after a push was published, the route is due again when the lease runs
//! out and is published again with the same `event_id`.

use serde_json::Value;
use tracing::Instrument as _;
use uuid::Uuid;

use super::catalog::{self, Channel};
use super::events::build_client_push_event;
use super::model::{RouteStatus, SkipReason};
use super::store::{self, DueRoute};
use super::{NotificationError, NotificationService};
use crate::jobs::{AfterFailure, Lease, LeaseKeeper, RunOutcome};
use crate::mail::{self, Template};
use crate::push::{ClientTarget, Correlation};
use crate::worker::StepOutcome;

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    pub claimed: usize,
    pub sent: usize,
    pub skipped: usize,
    pub retrying: usize,
    pub dead_lettered: usize,
    /// Outcomes not recorded: the lease ran out (or the route was skipped
    /// by a user deletion) while the step ran.
    pub lease_lost: usize,
}

/// How delivering one route ended.
enum Delivered {
    Sent { mail_delivery_id: Option<Uuid> },
    Skipped(SkipReason),
}

/// One worker. Cheap to clone; several may run against one database.
#[derive(Clone)]
pub struct NotificationWorker {
    service: NotificationService,
}

impl NotificationWorker {
    pub(super) fn new(service: NotificationService) -> Self {
        Self { service }
    }

    /// One step; `MoreWork` when the batch was full.
    pub async fn tick(&self) -> Result<StepOutcome, NotificationError> {
        let report = self.tick_report().await?;
        Ok(
            if report.claimed >= self.service.settings().batch_size as usize {
                StepOutcome::MoreWork
            } else {
                StepOutcome::Idle
            },
        )
    }

    /// [`NotificationWorker::tick`], returning what it did.
    pub async fn tick_report(&self) -> Result<TickReport, NotificationError> {
        let settings = self.service.settings();
        let pool = self.service.pool();
        let lease = Lease::new(settings.lease);
        let due = store::claim_due(pool, &lease, i64::from(settings.batch_size)).await?;
        if due.is_empty() {
            return Ok(TickReport::default());
        }
        // Held while the step runs; dropped (renewal stops) after the commit.
        let _keeper = LeaseKeeper::start(
            pool,
            store::TABLE,
            lease,
            due.iter().map(|route| route.route_id).collect(),
            self.service.job_metrics().clone(),
        );
        let mut report = TickReport {
            claimed: due.len(),
            ..TickReport::default()
        };
        let mut tx = pool.begin().await?;
        for route in &due {
            let span = tracing::info_span!("notification.deliver", route_id = %route.route_id,
                kind = %route.kind, channel = %route.channel);
            let delivered = self.deliver(&mut tx, route).instrument(span).await?;
            self.record(&mut tx, &lease, route, delivered, &mut report)
                .await?;
        }
        tx.commit().await?;
        let jobs = self.service.job_metrics();
        jobs.record(RunOutcome::Succeeded, report.sent + report.skipped);
        jobs.record(RunOutcome::Retrying, report.retrying);
        jobs.record(RunOutcome::DeadLettered, report.dead_lettered);
        jobs.record(RunOutcome::LeaseLost, report.lease_lost);
        Ok(report)
    }

    /// Records one route's outcome under the step's lease.
    async fn record(
        &self,
        tx: &mut sqlx::PgConnection,
        lease: &Lease,
        route: &DueRoute,
        delivered: Result<Delivered, String>,
        report: &mut TickReport,
    ) -> Result<(), NotificationError> {
        let held = match delivered {
            Ok(Delivered::Sent { mail_delivery_id }) => {
                let held = store::mark_sent(tx, lease, route.route_id, mail_delivery_id).await?;
                report.sent += usize::from(held);
                held
            }
            Ok(Delivered::Skipped(reason)) => {
                let held = store::mark_skipped(tx, lease, route.route_id, reason).await?;
                if held {
                    report.skipped += 1;
                    tracing::info!(route_id = %route.route_id, kind = %route.kind,
                        channel = %route.channel, reason = reason.as_str(), "notification route skipped");
                }
                held
            }
            Err(error) => {
                let attempt = u32::try_from(route.attempts.max(0)).unwrap_or(0) + 1;
                let (retry, dead) = match self
                    .service
                    .settings()
                    .retry()
                    .after_failure(attempt, false)
                {
                    AfterFailure::RetryIn(delay) => (delay.as_secs_f64(), false),
                    AfterFailure::DeadLetter => (0.0, true),
                };
                let status =
                    store::mark_failed(tx, lease, route.route_id, &error, retry, dead).await?;
                match status {
                    None => false,
                    Some(RouteStatus::DeadLettered) => {
                        report.dead_lettered += 1;
                        tracing::error!(route_id = %route.route_id, intent_id = %route.intent_id,
                            kind = %route.kind, channel = %route.channel, attempt, error = %error,
                            "notification route dead-lettered: inspect /api/v1/admin/notifications/dead-letters");
                        true
                    }
                    Some(_) => {
                        report.retrying += 1;
                        tracing::warn!(route_id = %route.route_id, kind = %route.kind,
                            channel = %route.channel, attempt, error = %error,
                            retry_in_seconds = retry, "notification route failed, retrying later");
                        true
                    }
                }
            }
        };
        if !held {
            report.lease_lost += 1;
            tracing::warn!(route_id = %route.route_id, kind = %route.kind, channel = %route.channel,
                "notification route outcome not recorded: its lease ran out or the route was closed meanwhile");
        }
        Ok(())
    }

    /// Delivers one route. The outer error aborts the step (database);
    /// the inner one is this route's failed attempt.
    async fn deliver(
        &self,
        tx: &mut sqlx::PgConnection,
        route: &DueRoute,
    ) -> Result<Result<Delivered, String>, NotificationError> {
        let Some(channel) = Channel::parse(&route.channel) else {
            return Ok(Err(format!("unknown channel `{}`", route.channel)));
        };
        match channel {
            Channel::Push => Ok(self.publish(route)),
            Channel::Email => {
                let Some(user_id) = route.user_id else {
                    return Ok(Err("an email route without a user".into()));
                };
                // A savepoint: a failing lookup or enqueue must not abort the
                // other routes of this step.
                let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
                let address = match crate::user::email_of(&mut savepoint, user_id).await {
                    Ok(Some(address)) => address,
                    Ok(None) => {
                        savepoint.commit().await?;
                        return Ok(Ok(Delivered::Skipped(SkipReason::NoEmailAddress)));
                    }
                    Err(err) => {
                        savepoint.rollback().await?;
                        return Ok(Err(format!(
                            "cannot look up the user's email address: {err:#}"
                        )));
                    }
                };
                let result = enqueue(&mut savepoint, &address, route).await;
                finish(savepoint, result).await
            }
            Channel::AdminEmail => {
                let Some(address) = self.service.settings().admin_email.clone() else {
                    return Ok(Ok(Delivered::Skipped(SkipReason::AdminEmailUnset)));
                };
                let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
                let result = enqueue(&mut savepoint, &address, route).await;
                finish(savepoint, result).await
            }
        }
    }

    fn publish(&self, route: &DueRoute) -> Result<Delivered, String> {
        let user_id = route.user_id.ok_or("a push route without a user")?;
        let event =
            build_client_push_event(&route.kind, &route.payload).map_err(|e| e.to_string())?;
        self.service
            .push()
            .publish_client_event(
                ClientTarget {
                    user_id,
                    device_session_id: None,
                },
                Correlation {
                    event_id: route.route_id.to_string(),
                    request_id: route.idempotency_key.clone(),
                    trace_id: route.trace_id.clone(),
                },
                event.as_ref(),
            )
            .map_err(|e| e.to_string())?;
        Ok(Delivered::Sent {
            mail_delivery_id: None,
        })
    }
}

/// Enqueues the kind's email for `address`, keyed by the route id.
async fn enqueue(
    conn: &mut sqlx::PgConnection,
    address: &str,
    route: &DueRoute,
) -> Result<Delivered, String> {
    let kind = catalog::lookup(&route.kind)
        .ok_or_else(|| format!("`{}` is not a catalog kind", route.kind))?
        .kind;
    let template = Template::Notification {
        kind,
        values: template_values(&route.payload),
    };
    let enqueued = mail::enqueue(conn, address, &template, &route.route_id.to_string())
        .await
        .map_err(|e| e.to_string())?;
    Ok(Delivered::Sent {
        mail_delivery_id: Some(enqueued.delivery_id.0),
    })
}

/// Releases the savepoint: kept on success, rolled back on failure.
async fn finish(
    savepoint: sqlx::Transaction<'_, sqlx::Postgres>,
    result: Result<Delivered, String>,
) -> Result<Result<Delivered, String>, NotificationError> {
    if result.is_ok() {
        savepoint.commit().await?;
    } else {
        savepoint.rollback().await?;
    }
    Ok(result)
}

/// The payload's top-level fields as template values.
fn template_values(payload: &Value) -> Vec<(String, String)> {
    payload
        .as_object()
        .map(|object| {
            object
                .iter()
                .map(|(key, value)| {
                    let text = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (key.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::catalog::{CATALOG, sample_payload};

    #[test]
    fn every_emailing_kind_has_a_template_that_renders_from_its_payload() {
        for spec in CATALOG
            .iter()
            .filter(|s| s.has(Channel::Email) || s.has(Channel::AdminEmail))
        {
            let rendered = Template::Notification {
                kind: spec.kind,
                values: template_values(&sample_payload(spec)),
            }
            .render()
            .unwrap_or_else(|e| panic!("{}: {e}", spec.kind));
            assert!(!rendered.subject.is_empty() && rendered.text_body.is_ascii());
            assert!(!rendered.text_body.contains("{{"), "{}", spec.kind);
        }
        // And no template exists for a kind that never mails.
        for (kind, _) in crate::mail::template::NOTIFICATION_SOURCES {
            let spec = catalog::lookup(kind).expect("a catalog kind");
            assert!(spec.has(Channel::Email) || spec.has(Channel::AdminEmail));
        }
    }
}
