//! The outbox worker, written as one step ([`MailWorker::tick`]) that the
//! process runs in a loop every `BACKEND_MAIL_WORKER_INTERVAL` (and at once
//! again while whole batches keep coming). Tests call `tick` directly.
//!
//! One step, on the job queue's machinery (`crate::jobs`):
//! 1. **claim** up to `batch_size` due rows in one short transaction
//!    (the queue's claim: `FOR UPDATE SKIP LOCKED`, ordered by
//!    `next_attempt_at`), stamping them with a fresh, short lease
//!    (`BACKEND_MAIL_LEASE`) that a [`LeaseKeeper`] renews while the sends run;
//! 2. **send** them outside any transaction, up to `send_concurrency` at a
//!    time over the pooled SMTP connections, each bounded by [`SEND_BUDGET_REPLIES`]
//!    SMTP timeouts;
//! 3. **record** the attempts and the deliveries' new states as the relay
//!    answers: a recorder task writes each lot of answers that arrived while
//!    its previous write ran, in one statement that only touches rows still
//!    held under this step's lease token. A send keeps its concurrency slot
//!    until its answer is written, so at most `send_concurrency` mails are
//!    ever sent (or being sent) without their answer on record.
//!
//! A worker that dies between 1 and 3 stops renewing: its unrecorded rows
//! are due again when the short lease runs out, and any worker picks them
//! up. Since each slot waits for its answer's record, a crash sends again
//! at most `send_concurrency` mails (with `BACKEND_MAIL_SEND_CONCURRENCY=1`,
//! at most one). The resend carries the same `Message-ID`, so the receiver
//! can discard the duplicate.

use chrono::Utc;
use futures::StreamExt as _;
use tracing::Instrument as _;

use super::email_hash::email_hashes;
use super::model::{AttemptOutcome, DeliveryState};
use super::store::{self, AttemptResult, ClaimedRow};
use super::transport::{FailureKind, OutgoingMail, SendError};
use super::{Mail, MailError};
use crate::jobs::{Lease, LeaseKeeper, RunOutcome};
use crate::worker::StepOutcome;

/// One send may take this many SMTP reply timeouts (connect, greeting,
/// `MAIL`, `RCPT`, `DATA`, …) before it is abandoned and retried; the lease
/// is renewed meanwhile, so the budget is not tied to it.
pub const SEND_BUDGET_REPLIES: u32 = 4;

/// Rows claimed by one step under one lease.
#[derive(Debug)]
pub struct Claim {
    pub lease: Lease,
    pub deliveries: Vec<ClaimedRow>,
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    pub claimed: usize,
    pub sent: usize,
    pub retrying: usize,
    pub dead_lettered: usize,
    /// Results not recorded because the lease had expired and the row had
    /// been taken over (or resent and re-claimed) meanwhile.
    pub lease_lost: usize,
}

/// One worker: claims, sends and records. Cheap to clone; several workers
/// (in one process or many) may run against one database.
#[derive(Clone)]
pub struct MailWorker {
    mail: Mail,
}

impl MailWorker {
    pub(super) fn new(mail: Mail) -> Self {
        Self { mail }
    }

    /// One step: claim a batch, send it, record the outcomes. `MoreWork`
    /// when the batch was full (more rows may be due right now).
    pub async fn tick(&self) -> Result<StepOutcome, MailError> {
        let report = self.tick_report().await?;
        let batch = self.mail.settings().batch_size as usize;
        Ok(if report.claimed >= batch {
            StepOutcome::MoreWork
        } else {
            StepOutcome::Idle
        })
    }

    /// [`MailWorker::tick`], returning what it did.
    pub async fn tick_report(&self) -> Result<TickReport, MailError> {
        let claim = self.claim().await?;
        if claim.deliveries.is_empty() {
            self.mail.refresh_depth(true).await;
            return Ok(TickReport::default());
        }
        let report = self.deliver(claim).await?;
        self.mail.refresh_depth(false).await;
        Ok(report)
    }

    /// The first half of a step: claims due rows under a new lease. Public so
    /// a test can play a worker that dies right after claiming.
    pub async fn claim(&self) -> Result<Claim, MailError> {
        let settings = self.mail.settings();
        let lease = Lease::new(settings.lease);
        let deliveries =
            store::claim_due(self.mail.pool(), &lease, i64::from(settings.batch_size)).await?;
        if !deliveries.is_empty() {
            tracing::debug!(claimed = deliveries.len(), lease_token = %lease.token, "mail deliveries claimed");
        }
        Ok(Claim { lease, deliveries })
    }

    /// The second half: sends every claimed delivery and records the results.
    pub async fn deliver(&self, claim: Claim) -> Result<TickReport, MailError> {
        let settings = self.mail.settings();
        let deadline = tokio::time::Instant::from_std(claim.lease.claimed_at)
            + settings.smtp.timeout * SEND_BUDGET_REPLIES;
        let Claim { lease, deliveries } = claim;
        let lease_token = lease.token;
        let claimed = deliveries.len();
        // Held while the sends run; dropped (renewal stops) once recorded.
        let keeper = LeaseKeeper::start(
            self.mail.pool(),
            store::TABLE,
            lease,
            deliveries.iter().map(|row| row.delivery_id).collect(),
            self.mail.job_metrics().clone(),
        );
        let max_attempts = settings.retry().max_attempts_i32();
        // Each answer goes to the recorder as it arrives; the recorder writes
        // whatever has arrived in one statement, then the next lot. A send
        // frees its slot only once its answer is written, which bounds what a
        // crash can send twice by the concurrency rather than the batch.
        let (answers, inbox) = tokio::sync::mpsc::unbounded_channel();
        let recorder = tokio::spawn(record_as_they_come(
            self.mail.pool().clone(),
            lease_token,
            max_attempts,
            inbox,
        ));
        // Futures collected first: a closure inside the stream's type trips
        // the compiler's `Send` inference for the worker loop.
        let sends: Vec<_> = deliveries
            .iter()
            .map(|row| self.send_one(row, deadline, answers.clone()))
            .collect();
        drop(answers);
        let mut results: Vec<(AttemptResult, &ClaimedRow)> = futures::stream::iter(sends)
            .buffer_unordered(settings.send_concurrency.max(1) as usize)
            .collect()
            .await;
        let (recorded, unrecorded) = recorder.await.unwrap_or_else(|e| {
            let err = sqlx::Error::Protocol(format!("the mail recorder failed: {e}"));
            (Vec::new(), Some((err, claimed)))
        });
        drop(keeper);
        if unrecorded.is_some() {
            results
                .retain(|(result, _)| recorded.iter().any(|r| r.delivery_id == result.delivery_id));
        }
        let report = self.tally(claimed, &results, &recorded);
        if let Some((err, count)) = unrecorded {
            // Those rows stay leased and come back after the lease: the sends
            // are retried (with the same Message-ID) rather than lost.
            tracing::error!(error = %err, claimed, unrecorded = count, lease_token = %lease_token,
                "cannot record mail attempts; those deliveries will be retried after the lease");
            return Err(err.into());
        }
        let jobs = self.mail.job_metrics();
        jobs.record(RunOutcome::Succeeded, report.sent);
        jobs.record(RunOutcome::Retrying, report.retrying);
        jobs.record(RunOutcome::DeadLettered, report.dead_lettered);
        jobs.record(RunOutcome::LeaseLost, report.lease_lost);
        Ok(report)
    }

    /// Counts, logs and meters what the relay and the recording said of
    /// each claimed delivery (an attempt whose lease was lost counts apart).
    fn tally(
        &self,
        claimed: usize,
        results: &[(AttemptResult, &ClaimedRow)],
        recorded: &[store::RecordedRow],
    ) -> TickReport {
        let mut report = TickReport {
            claimed,
            ..TickReport::default()
        };
        let metrics = self.mail.metrics();
        for (result, row) in results {
            let Some(done) = recorded
                .iter()
                .find(|r| r.delivery_id == result.delivery_id)
            else {
                report.lease_lost += 1;
                tracing::warn!(
                    delivery_id = %result.delivery_id, template_id = %row.template_id,
                    outcome = result.outcome.as_str(),
                    "mail attempt not recorded: the lease expired and another worker took the delivery over"
                );
                continue;
            };
            metrics.record_attempt(result.outcome);
            let email_hash = email_hashes(row.recipients.iter().map(String::as_str));
            match DeliveryState::parse(&done.state) {
                Some(DeliveryState::Sent) => {
                    report.sent += 1;
                    tracing::debug!(delivery_id = %done.delivery_id, template_id = %done.template_id,
                        attempt_no = done.attempt_no, email_hash = %email_hash, "mail sent");
                }
                Some(DeliveryState::DeadLettered) => {
                    report.dead_lettered += 1;
                    metrics.record_dead_letter();
                    let reason = if result.outcome == AttemptOutcome::PermanentFailure {
                        "permanent_failure"
                    } else {
                        "max_attempts"
                    };
                    tracing::error!(
                        delivery_id = %done.delivery_id, template_id = %done.template_id,
                        attempt_no = done.attempt_no, email_hash = %email_hash, reason,
                        smtp_code = result.smtp_code, error = result.error.as_deref().unwrap_or(""),
                        "mail delivery dead-lettered: inspect it in /api/v1/admin/mail/dead-letters and resend it once the cause is fixed"
                    );
                }
                _ => {
                    report.retrying += 1;
                    tracing::warn!(
                        delivery_id = %done.delivery_id, template_id = %done.template_id,
                        attempt_no = done.attempt_no, email_hash = %email_hash,
                        smtp_code = result.smtp_code, error = result.error.as_deref().unwrap_or(""),
                        next_attempt_at = %done.next_attempt_at, "mail attempt failed, retrying later"
                    );
                }
            }
        }
        report
    }

    /// Sends one delivery; its result also goes to `answers` (the recorder),
    /// and it returns once the recorder has written it (or failed to).
    async fn send_one<'r>(
        &self,
        row: &'r ClaimedRow,
        deadline: tokio::time::Instant,
        answers: tokio::sync::mpsc::UnboundedSender<Answer>,
    ) -> (AttemptResult, &'r ClaimedRow) {
        let mail = OutgoingMail {
            delivery_id: row.delivery_id,
            recipients: row.recipients.clone(),
            subject: row.subject.clone(),
            text_body: row.text_body.clone(),
            html_body: row.html_body.clone(),
        };
        let span = tracing::info_span!("mail.send", delivery_id = %row.delivery_id, template_id = %row.template_id);
        if let Some(traceparent) = &row.traceparent {
            crate::telemetry::set_parent(&span, traceparent);
        }
        let started_at = Utc::now();
        let outcome = async {
            if row.recipients.is_empty() {
                return Err(SendError {
                    kind: FailureKind::Permanent,
                    smtp_code: None,
                    message: "the delivery has no recipients".into(),
                });
            }
            match tokio::time::timeout_at(deadline, self.mail.transport().send(&mail)).await {
                Ok(result) => result,
                Err(_) => Err(SendError {
                    kind: FailureKind::Transient,
                    smtp_code: None,
                    message:
                        "SMTP timed out: the send did not finish within its budget of SMTP timeouts"
                            .into(),
                }),
            }
        }
        .instrument(span)
        .await;
        let finished_at = Utc::now();
        let (outcome, smtp_code, error) = match outcome {
            Ok(()) => (AttemptOutcome::Sent, None, None),
            Err(err) => {
                let outcome = match err.kind {
                    FailureKind::Transient => AttemptOutcome::TransientFailure,
                    FailureKind::Permanent => AttemptOutcome::PermanentFailure,
                };
                (
                    outcome,
                    err.smtp_code.and_then(|c| i16::try_from(c).ok()),
                    Some(err.message),
                )
            }
        };
        let result = AttemptResult {
            delivery_id: row.delivery_id,
            outcome,
            smtp_code,
            error,
            started_at,
            finished_at,
            retry_after_seconds: self
                .mail
                .settings()
                .retry()
                .backoff(row.cycle_attempts.max(0) as u32 + 1)
                .as_secs_f64(),
        };
        // The recorder is gone only when the step is being torn down; then
        // the acknowledgement never comes and the wait ends at once.
        let (written, on_record) = tokio::sync::oneshot::channel();
        if answers.send((result.clone(), written)).is_ok() {
            let _ = on_record.await;
        }
        (result, row)
    }
}

/// One relay answer on its way to the recorder, with the send's wait for it
/// to be written.
type Answer = (AttemptResult, tokio::sync::oneshot::Sender<()>);

/// The recorder of one step: writes each lot of answers that arrived while
/// the previous write ran, in one statement, until every send is done, and
/// then lets those sends go on. Returns the recorded rows, and the first
/// failure with the number of answers it left unrecorded (those rows come
/// back after the lease).
async fn record_as_they_come(
    pool: sqlx::PgPool,
    lease_token: uuid::Uuid,
    max_attempts: i32,
    mut inbox: tokio::sync::mpsc::UnboundedReceiver<Answer>,
) -> (Vec<store::RecordedRow>, Option<(sqlx::Error, usize)>) {
    let mut recorded = Vec::new();
    let mut failure: Option<(sqlx::Error, usize)> = None;
    while let Some(first) = inbox.recv().await {
        let (mut lot, mut waiting) = (Vec::new(), Vec::new());
        for (result, written) in
            std::iter::once(first).chain(std::iter::from_fn(|| inbox.try_recv().ok()))
        {
            lot.push(result);
            waiting.push(written);
        }
        match store::record_results(&pool, lease_token, max_attempts, &lot).await {
            Ok(rows) => recorded.extend(rows),
            Err(err) => failure.get_or_insert((err, 0)).1 += lot.len(),
        }
        for written in waiting {
            let _ = written.send(());
        }
    }
    (recorded, failure)
}
