//! The job queue (`galaxy_backend::jobs`) on the shared `jobs` table,
//! against the real PostgreSQL: enqueue inside the producer's transaction,
//! dedup keys, bulk enqueue, the runner's batch, retries with backoff, dead
//! letters, the wake-up at commit, and leases — renewed while a job runs,
//! and taken over soon after a worker dies.
//!
//! Waiting for a lease to run out is written as polling with a generous
//! bound; nothing asserts how long anything took.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use galaxy_backend::jobs::{self, Job, JobFailure, RetryPolicy, Runner, RunnerSettings, Wake};
use galaxy_backend::telemetry::Metrics;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::helpers::TestApp;

const BOUND: Duration = Duration::from_secs(30);

/// What the test job does, per runner.
#[derive(Default)]
struct Behaviour {
    /// Never finish (a worker that hangs, or is killed mid-run).
    hang: bool,
    /// Wait for this before finishing.
    gate: Option<Arc<Notify>>,
    runs: AtomicUsize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Echo {
    n: u32,
    key: Option<String>,
    /// Fail with this message.
    fail: Option<String>,
    permanent: bool,
}

impl Echo {
    fn new(n: u32) -> Self {
        Self {
            n,
            key: None,
            fail: None,
            permanent: false,
        }
    }
}

impl Job for Echo {
    const KIND: &'static str = "test.echo";
    type Context = Arc<Behaviour>;

    fn dedup_key(&self) -> Option<String> {
        self.key.clone()
    }

    fn retry_policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 2,
            base: Duration::from_secs(60),
            max: Duration::from_secs(600),
        }
    }

    async fn run(self, ctx: Self::Context) -> Result<(), JobFailure> {
        ctx.runs.fetch_add(1, Ordering::SeqCst);
        if ctx.hang {
            std::future::pending::<()>().await;
        }
        if let Some(gate) = &ctx.gate {
            gate.notified().await;
        }
        match self.fail {
            Some(message) if self.permanent => Err(JobFailure::permanent(message)),
            Some(message) => Err(JobFailure::transient(message)),
            None => Ok(()),
        }
    }
}

fn runner(db: &PgPool, lease: Duration, behaviour: Arc<Behaviour>) -> Runner {
    Runner::builder(
        db.clone(),
        RunnerSettings {
            batch_size: 50,
            concurrency: 8,
            lease,
            interval: Duration::from_secs(1),
        },
        &Metrics::noop(),
    )
    .register::<Echo>(behaviour)
    .build()
}

async fn enqueue(db: &PgPool, job: &Echo) -> Option<i64> {
    let mut tx = db.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, job).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn count(db: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

type LeaseRow = (Option<uuid::Uuid>, Option<chrono::DateTime<chrono::Utc>>);

async fn lease_of(db: &PgPool, job_id: i64) -> LeaseRow {
    sqlx::query_as("SELECT lease_token, lease_until FROM jobs WHERE job_id = $1")
        .bind(job_id)
        .fetch_one(db)
        .await
        .unwrap()
}

/// Polls `probe` until it is true (at most [`BOUND`]).
async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let reached = tokio::time::timeout(BOUND, async {
        while !probe().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(reached.is_ok(), "never happened: {what}");
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_exists() {
    let app = TestApp::spawn().await;
    let mut tx = app.db().begin().await.unwrap();
    jobs::enqueue(&mut tx, &Echo::new(1)).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(app.db(), "SELECT count(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn a_dedup_key_admits_one_unfinished_job_and_frees_up_once_it_finished() {
    let app = TestApp::spawn().await;
    let keyed = Echo {
        key: Some("game-7".into()),
        ..Echo::new(1)
    };
    assert!(enqueue(app.db(), &keyed).await.is_some());
    assert!(enqueue(app.db(), &keyed).await.is_none(), "a duplicate");
    assert!(enqueue(app.db(), &Echo::new(2)).await.is_some(), "no key");

    let report = runner(app.db(), Duration::from_secs(10), Arc::default())
        .tick_report()
        .await
        .unwrap();
    assert_eq!((report.claimed, report.succeeded), (2, 2));
    assert_eq!(count(app.db(), "SELECT count(*) FROM jobs").await, 0);
    assert!(enqueue(app.db(), &keyed).await.is_some(), "after it ran");
}

#[tokio::test]
async fn bulk_enqueue_writes_every_job_in_one_statement_and_runners_drain_them() {
    let app = TestApp::spawn().await;
    let batch: Vec<Echo> = (0..120).map(Echo::new).collect();
    let mut tx = app.db().begin().await.unwrap();
    assert_eq!(jobs::enqueue_many(&mut tx, &batch).await.unwrap(), 120);
    tx.commit().await.unwrap();

    let behaviour = Arc::new(Behaviour::default());
    let (a, b) = (
        runner(app.db(), Duration::from_secs(10), behaviour.clone()),
        runner(app.db(), Duration::from_secs(10), behaviour.clone()),
    );
    let drain = |r: Runner| async move {
        let mut done = 0;
        loop {
            let report = r.tick_report().await.unwrap();
            if report.claimed == 0 {
                return done;
            }
            done += report.succeeded;
        }
    };
    let (x, y) = tokio::join!(drain(a), drain(b));
    assert_eq!(x + y, 120, "every job ran to completion once");
    assert_eq!(behaviour.runs.load(Ordering::SeqCst), 120, "and ran once");
    assert_eq!(count(app.db(), "SELECT count(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_then_dead_lettered() {
    let app = TestApp::spawn().await;
    let id = enqueue(
        app.db(),
        &Echo {
            fail: Some("the engine is unreachable".into()),
            ..Echo::new(1)
        },
    )
    .await
    .unwrap();
    let runner = runner(app.db(), Duration::from_secs(10), Arc::default());

    let first = runner.tick_report().await.unwrap();
    assert_eq!((first.claimed, first.retrying), (1, 1));
    let (state, attempts, wait, lease): (String, i32, f64, Option<uuid::Uuid>) = sqlx::query_as(
        "SELECT state, attempts, extract(epoch FROM next_attempt_at - now())::float8, lease_token
         FROM jobs WHERE job_id = $1",
    )
    .bind(id)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!((state.as_str(), attempts, lease), ("retrying", 1, None));
    assert!(
        (25.0..=60.0).contains(&wait),
        "first backoff within [30 s, 60 s] of jitter: {wait}"
    );
    assert_eq!(
        runner.tick_report().await.unwrap().claimed,
        0,
        "not due yet"
    );

    sqlx::query("UPDATE jobs SET next_attempt_at = now()")
        .execute(app.db())
        .await
        .unwrap();
    let second = runner.tick_report().await.unwrap();
    assert_eq!((second.claimed, second.dead_lettered), (1, 1));
    let (state, attempts, error): (String, i32, Option<String>) =
        sqlx::query_as("SELECT state, attempts, last_error FROM jobs WHERE job_id = $1")
            .bind(id)
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(
        (state.as_str(), attempts, error.as_deref()),
        ("dead_lettered", 2, Some("the engine is unreachable"))
    );
    let dead = jobs::store::dead_letters(app.db(), "test.echo", 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(runner.tick_report().await.unwrap().claimed, 0);
}

#[tokio::test]
async fn a_permanent_failure_is_dead_lettered_at_once() {
    let app = TestApp::spawn().await;
    enqueue(
        app.db(),
        &Echo {
            fail: Some("no such game".into()),
            permanent: true,
            ..Echo::new(1)
        },
    )
    .await
    .unwrap();
    let report = runner(app.db(), Duration::from_secs(10), Arc::default())
        .tick_report()
        .await
        .unwrap();
    assert_eq!((report.claimed, report.dead_lettered), (1, 1));
}

#[tokio::test]
async fn a_committed_enqueue_wakes_the_listener() {
    let app = TestApp::spawn().await;
    let wake = Runner::wake();
    let signal = wake.signal();
    let stop = tokio_util::sync::CancellationToken::new();
    let listener = tokio::spawn(wake.clone().listen(
        app.db().clone(),
        Duration::from_millis(100),
        stop.clone(),
    ));
    // The listener signals once when it (re)connects; then only commits do.
    tokio::time::timeout(BOUND, signal.notified())
        .await
        .expect("the listener connects");
    enqueue(app.db(), &Echo::new(1)).await;
    tokio::time::timeout(BOUND, signal.notified())
        .await
        .expect("woken by the commit");
    stop.cancel();
    listener.await.unwrap();
    assert_eq!(wake.channel(), Wake::new("jobs").channel());
}

#[tokio::test]
async fn a_lease_is_renewed_while_the_job_runs() {
    let app = TestApp::spawn().await;
    let id = enqueue(app.db(), &Echo::new(1)).await.unwrap();
    let gate = Arc::new(Notify::new());
    let slow = runner(
        app.db(),
        Duration::from_millis(900),
        Arc::new(Behaviour {
            gate: Some(gate.clone()),
            ..Behaviour::default()
        }),
    );
    let running = tokio::spawn(async move { slow.tick_report().await });
    eventually("the job is claimed", || async {
        lease_of(app.db(), id).await.0.is_some()
    })
    .await;
    let (token, first_until) = lease_of(app.db(), id).await;
    eventually("the lease is renewed", || async {
        lease_of(app.db(), id).await.1 > first_until
    })
    .await;
    assert_eq!(lease_of(app.db(), id).await.0, token, "by its own worker");

    gate.notify_one();
    let report = running.await.unwrap().unwrap();
    assert_eq!(
        (report.claimed, report.succeeded, report.lease_lost),
        (1, 1, 0)
    );
    assert_eq!(count(app.db(), "SELECT count(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn a_dead_workers_claims_are_taken_over_once_its_short_lease_runs_out() {
    let app = TestApp::spawn().await;
    let ids = [
        enqueue(app.db(), &Echo::new(1)).await.unwrap(),
        enqueue(app.db(), &Echo::new(2)).await.unwrap(),
    ];
    // Worker A claims both and dies mid-run (its task is killed, and with
    // it the lease renewal).
    let hanging = runner(
        app.db(),
        Duration::from_secs(2),
        Arc::new(Behaviour {
            hang: true,
            ..Behaviour::default()
        }),
    );
    let dead = tokio::spawn(async move { hanging.tick_report().await });
    eventually("worker A holds both jobs", || async {
        count(
            app.db(),
            "SELECT count(*) FROM jobs WHERE lease_token IS NOT NULL",
        )
        .await
            == 2
    })
    .await;
    dead.abort();
    let (_, lease_until) = lease_of(app.db(), ids[0]).await;
    let lease_left: f64 = sqlx::query_scalar("SELECT extract(epoch FROM $1 - now())::float8")
        .bind(lease_until)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert!(lease_left <= 2.0, "a short lease: {lease_left} s left");

    // Worker B takes them over as soon as the lease has run out.
    let behaviour = Arc::new(Behaviour::default());
    let b = runner(app.db(), Duration::from_secs(2), behaviour.clone());
    let taken_over = tokio::time::timeout(BOUND, async {
        let mut ran = 0;
        while ran < 2 {
            ran += b.tick_report().await.unwrap().succeeded;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(taken_over.is_ok(), "worker B ran both jobs");
    assert_eq!(behaviour.runs.load(Ordering::SeqCst), 2);
    assert_eq!(count(app.db(), "SELECT count(*) FROM jobs").await, 0);
}
