//! The runner of the shared `jobs` table: one step ([`Runner::tick`])
//! claims a batch of due jobs of the kinds registered with it, runs them
//! concurrently under a renewed lease, and records the batch in one
//! statement (finished jobs are deleted; failures are retried with backoff
//! or dead-lettered).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use futures::future::BoxFuture;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use super::job::{Job, JobFailure};
use super::lease::{Lease, LeaseKeeper};
use super::metrics::{JobMetrics, RunOutcome};
use super::retry::{AfterFailure, RetryPolicy};
use super::store::{self, ClaimedJob, Failed};
use super::wake::Wake;
use crate::telemetry::Metrics;
use crate::worker::StepOutcome;

/// Enqueues `job` on `conn` — pass the producer's transaction so the job
/// exists only if the producer commits. `None`: an unfinished job with the
/// same dedup key already waits.
pub async fn enqueue<J: Job>(conn: &mut PgConnection, job: &J) -> Result<Option<i64>, sqlx::Error> {
    let payload = serde_json::to_value(job).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    store::insert(
        conn,
        J::KIND,
        job.dedup_key().as_deref(),
        &payload,
        J::retry_policy().max_attempts_i32(),
    )
    .await
}

/// Enqueues many jobs of one kind in one statement; returns how many were
/// new.
pub async fn enqueue_many<J: Job>(conn: &mut PgConnection, jobs: &[J]) -> Result<i64, sqlx::Error> {
    let payloads = jobs
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let keys: Vec<Option<String>> = jobs.iter().map(Job::dedup_key).collect();
    store::insert_many(
        conn,
        J::KIND,
        &keys,
        &payloads,
        J::retry_policy().max_attempts_i32(),
    )
    .await
}

/// How a runner works through the table.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Jobs claimed per step.
    pub batch_size: u32,
    /// Jobs of one batch run at the same time.
    pub concurrency: usize,
    /// The claim's lease, renewed every third of it while the batch runs.
    pub lease: Duration,
    /// Pause between steps when idle (a committed enqueue wakes it earlier).
    pub interval: Duration,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            batch_size: 100,
            concurrency: 16,
            lease: Duration::from_secs(10),
            interval: Duration::from_secs(5),
        }
    }
}

type RunFn = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<(), JobFailure>> + Send + Sync>;

struct Kind {
    run: RunFn,
    retry: RetryPolicy,
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    pub claimed: usize,
    pub succeeded: usize,
    pub retrying: usize,
    pub dead_lettered: usize,
    pub lease_lost: usize,
}

/// Runs the registered kinds of the shared table. Cheap to clone; several
/// runners (in one process or many) may work on one database.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    settings: RunnerSettings,
    kinds: HashMap<&'static str, Kind>,
    names: Vec<&'static str>,
    metrics: JobMetrics,
}

/// Builds a [`Runner`]: register every kind, then [`RunnerBuilder::build`].
pub struct RunnerBuilder {
    db: PgPool,
    settings: RunnerSettings,
    kinds: HashMap<&'static str, Kind>,
    metrics: JobMetrics,
}

impl RunnerBuilder {
    /// Runs jobs of kind `J` with `ctx`.
    pub fn register<J: Job>(mut self, ctx: J::Context) -> Self {
        let run: RunFn = Arc::new(move |payload: Value| {
            let ctx = ctx.clone();
            Box::pin(async move {
                let job: J = serde_json::from_value(payload).map_err(|e| {
                    JobFailure::permanent(format!("cannot decode the {} payload: {e}", J::KIND))
                })?;
                job.run(ctx).await
            })
        });
        self.kinds.insert(
            J::KIND,
            Kind {
                run,
                retry: J::retry_policy(),
            },
        );
        self
    }

    pub fn build(self) -> Runner {
        let mut names: Vec<&'static str> = self.kinds.keys().copied().collect();
        names.sort_unstable();
        Runner {
            inner: Arc::new(Inner {
                db: self.db,
                settings: self.settings,
                kinds: self.kinds,
                names,
                metrics: self.metrics,
            }),
        }
    }
}

impl Runner {
    pub fn builder(db: PgPool, settings: RunnerSettings, metrics: &Metrics) -> RunnerBuilder {
        RunnerBuilder {
            db,
            settings,
            kinds: HashMap::new(),
            metrics: JobMetrics::new(metrics, "jobs"),
        }
    }

    pub fn settings(&self) -> &RunnerSettings {
        &self.inner.settings
    }

    /// The wake-up of the shared table (every enqueue notifies it).
    pub fn wake() -> Wake {
        Wake::new(store::WAKE_CHANNEL)
    }

    /// One step; `MoreWork` when the batch was full.
    pub async fn tick(&self) -> Result<StepOutcome, sqlx::Error> {
        let report = self.tick_report().await?;
        Ok(
            if report.claimed >= self.inner.settings.batch_size as usize {
                StepOutcome::MoreWork
            } else {
                StepOutcome::Idle
            },
        )
    }

    /// [`Runner::tick`], returning what it did.
    pub async fn tick_report(&self) -> Result<RunReport, sqlx::Error> {
        let inner = &*self.inner;
        let lease = Lease::new(inner.settings.lease);
        let claimed = store::claim(
            &inner.db,
            &lease,
            i64::from(inner.settings.batch_size),
            &inner.names,
        )
        .await?;
        if claimed.is_empty() {
            return Ok(RunReport::default());
        }
        let keeper = LeaseKeeper::start(
            &inner.db,
            store::TABLE,
            lease,
            claimed.iter().map(|j| j.job_id).collect(),
            inner.metrics.clone(),
        );
        let runs: Vec<_> = claimed.into_iter().map(|job| self.run_one(job)).collect();
        let results: Vec<(i64, Option<Failed>)> = futures::stream::iter(runs)
            .buffer_unordered(inner.settings.concurrency.max(1))
            .collect()
            .await;
        let claimed = results.len();
        let mut succeeded = Vec::with_capacity(claimed);
        let mut failed = Vec::new();
        for (job_id, failure) in results {
            match failure {
                None => succeeded.push(job_id),
                Some(f) => failed.push(f),
            }
        }
        let recorded = store::complete(&inner.db, &lease, &succeeded, &failed).await?;
        drop(keeper);
        let as_usize = |n: i64| usize::try_from(n).unwrap_or(0);
        let report = RunReport {
            claimed,
            succeeded: as_usize(recorded.done),
            retrying: as_usize(recorded.retrying),
            dead_lettered: as_usize(recorded.dead),
            lease_lost: claimed
                .saturating_sub(as_usize(recorded.done + recorded.retrying + recorded.dead)),
        };
        let m = &inner.metrics;
        m.record(RunOutcome::Succeeded, report.succeeded);
        m.record(RunOutcome::Retrying, report.retrying);
        m.record(RunOutcome::DeadLettered, report.dead_lettered);
        m.record(RunOutcome::LeaseLost, report.lease_lost);
        Ok(report)
    }

    async fn run_one(&self, job: ClaimedJob) -> (i64, Option<Failed>) {
        let ClaimedJob {
            job_id,
            kind,
            payload,
            attempts,
            max_attempts,
        } = job;
        let Some(registered) = self.inner.kinds.get(kind.as_str()) else {
            // Claimed only by kind, so this cannot happen; keep the row.
            let failed = Failed {
                job_id,
                error: format!("no runner for job kind `{kind}`"),
                retry_seconds: 60.0,
                dead: false,
            };
            return (job_id, Some(failed));
        };
        let span = tracing::info_span!("job.run", job_id, kind = %kind);
        let result = tracing::Instrument::instrument((registered.run)(payload), span).await;
        let Err(failure) = result else {
            return (job_id, None);
        };
        let attempt = u32::try_from(attempts.max(0)).unwrap_or(0) + 1;
        let policy = RetryPolicy {
            max_attempts: u32::try_from(max_attempts.max(1)).unwrap_or(1),
            ..registered.retry
        };
        let (retry_seconds, dead) = match policy.after_failure(attempt, failure.permanent) {
            AfterFailure::RetryIn(delay) => (delay.as_secs_f64(), false),
            AfterFailure::DeadLetter => (0.0, true),
        };
        if dead {
            tracing::error!(job_id, kind = %kind, attempt, error = %failure,
                "job dead-lettered: it stays in the jobs table with state dead_lettered");
        } else {
            tracing::warn!(job_id, kind = %kind, attempt, error = %failure,
                retry_in_seconds = retry_seconds, "job failed, retrying later");
        }
        let failed = Failed {
            job_id,
            error: failure.message,
            retry_seconds,
            dead,
        };
        (job_id, Some(failed))
    }
}
