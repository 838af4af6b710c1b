//! The route worker: one step ([`NotificationWorker::tick`]) claims up to a
//! batch of due routes with `SELECT … FOR UPDATE SKIP LOCKED` (ordered by
//! `next_attempt_at`) in one transaction, delivers each and records the
//! outcome before committing:
//!
//! - push: the stored `(kind, payload)` becomes a typed event
//!   ([`build_client_push_event`]) published to [`crate::push::PushService`]
//!   with `event_id` = route id, `request_id` = idempotency key and
//!   `trace_id` = the producer's trace;
//! - email / admin email: the kind's template is enqueued in the mail outbox
//!   in the same transaction, with the route id as the mail idempotency key;
//! - a failure is retried with exponential backoff and jitter, and the
//!   route is dead-lettered after `BACKEND_NOTIFICATION_MAX_ATTEMPTS`.
//!
//! Delivery is at least once: if the commit fails after a push was
//! published, the route is published again later with the same `event_id`.

use serde_json::Value;
use tracing::Instrument as _;
use uuid::Uuid;

use super::catalog::{self, Channel};
use super::events::build_client_push_event;
use super::model::{RouteStatus, SkipReason};
use super::store::{self, DueRoute};
use super::{NotificationError, NotificationService};
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
        let mut tx = self.service.db().begin().await?;
        let due = store::claim_due(&mut tx, i64::from(settings.batch_size)).await?;
        let mut report = TickReport {
            claimed: due.len(),
            ..TickReport::default()
        };
        let max_attempts = i32::try_from(settings.max_attempts).unwrap_or(i32::MAX);
        for route in &due {
            let span = tracing::info_span!("notification.deliver", route_id = %route.route_id,
                kind = %route.kind, channel = %route.channel);
            match self.deliver(&mut tx, route).instrument(span).await? {
                Ok(Delivered::Sent { mail_delivery_id }) => {
                    store::mark_sent(&mut tx, route.route_id, mail_delivery_id).await?;
                    report.sent += 1;
                }
                Ok(Delivered::Skipped(reason)) => {
                    store::mark_skipped(&mut tx, route.route_id, reason).await?;
                    report.skipped += 1;
                    tracing::info!(route_id = %route.route_id, kind = %route.kind,
                        channel = %route.channel, reason = reason.as_str(), "notification route skipped");
                }
                Err(error) => {
                    let attempt = u32::try_from(route.attempts.max(0)).unwrap_or(0) + 1;
                    let retry = settings.backoff(attempt).as_secs_f64();
                    let status =
                        store::mark_failed(&mut tx, route.route_id, &error, retry, max_attempts)
                            .await?;
                    if status == RouteStatus::DeadLettered {
                        report.dead_lettered += 1;
                        tracing::error!(route_id = %route.route_id, intent_id = %route.intent_id,
                            kind = %route.kind, channel = %route.channel, attempt, error = %error,
                            "notification route dead-lettered: inspect /api/v1/admin/notifications/dead-letters");
                    } else {
                        report.retrying += 1;
                        tracing::warn!(route_id = %route.route_id, kind = %route.kind,
                            channel = %route.channel, attempt, error = %error,
                            retry_in_seconds = retry, "notification route failed, retrying later");
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(report)
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
                let Some(directory) = self.service.user_emails() else {
                    return Ok(Err("no user email directory is configured".into()));
                };
                // A savepoint: a failing lookup or enqueue must not abort the
                // other routes of this step.
                let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
                let address = match directory.email_of(&mut savepoint, user_id).await {
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
                    user_id: user_id.into(),
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
