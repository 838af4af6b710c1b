//! The durable job queue, below every domain (decision 0008): one place for
//! claiming (`FOR UPDATE SKIP LOCKED`), short leases renewed while the work
//! runs, attempt counting, exponential backoff with jitter, dead letters,
//! the `LISTEN`/`NOTIFY` wake-up and the queue's metrics. What a job *does*
//! lives in its domain.
//!
//! Two ways to queue work, one machine:
//! - a **typed job** ([`Job`], after crates.io's `BackgroundJob`) in the
//!   shared `jobs` table, run by a [`Runner`] — for domains without a table
//!   of their own (the runtime's and the lobby's jobs);
//! - a **domain table** in the queue row convention ([`QueueTable`]: state
//!   `pending`/`retrying`, `next_attempt_at`, a lease), when operators need
//!   a richer record than a payload: the mail outbox (`mail_deliveries`) and
//!   the notification routes claim, renew and back off through the same
//!   pieces and record their outcome with their own SQL.
//!
//! - `lease` — the claim statement, the lease and its [`LeaseKeeper`];
//! - `retry` — [`RetryPolicy`], backoff with jitter, the dead-letter rule;
//! - `wake` — `NOTIFY` at commit, a `LISTEN`ing task, the worker loop;
//! - `job`, `store`, `runner` — the shared table's typed jobs;
//! - `metrics` — `job_runs_total`, `job_lease_renewals_total`.
//!
//! Uses only infrastructure: `postgres` (the pool), `telemetry`, `worker`.

pub mod job;
pub mod lease;
pub mod metrics;
pub mod retry;
pub mod runner;
pub mod store;
pub mod wake;

pub use job::{DEFAULT_RETRY, Job, JobFailure};
pub use lease::{ClaimShape, Lease, LeaseKeeper, QueueTable, claim};
pub use metrics::{JobMetrics, RunOutcome};
pub use retry::{AfterFailure, RetryPolicy, backoff};
pub use runner::{RunReport, Runner, RunnerBuilder, RunnerSettings, enqueue, enqueue_many};
pub use wake::Wake;
