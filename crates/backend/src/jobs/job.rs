//! Typed jobs of the shared `jobs` table, after crates.io's
//! `BackgroundJob`: a job is its payload (serde), named by a kind, with a
//! dedup key, a retry policy and a `run` that lives in its domain.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::retry::RetryPolicy;

/// The policy of a job kind that does not choose its own: 5 attempts,
/// 5 s doubling to at most 1 h.
pub const DEFAULT_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    base: Duration::from_secs(5),
    max: Duration::from_secs(3600),
};

/// A kind of background job. Jobs are retried, so `run` must be safe to
/// run twice (a worker may die after the work and before recording it).
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The stored kind name (`jobs.kind`); stable across releases.
    const KIND: &'static str;
    /// What `run` needs besides the payload (services, pools).
    type Context: Clone + Send + Sync + 'static;

    /// At most one unfinished job per `(KIND, dedup_key)`: enqueueing it
    /// again while one waits is a no-op.
    fn dedup_key(&self) -> Option<String> {
        None
    }

    /// Attempts, backoff base and cap.
    fn retry_policy() -> RetryPolicy {
        DEFAULT_RETRY
    }

    /// Does the work.
    fn run(self, ctx: Self::Context) -> impl Future<Output = Result<(), JobFailure>> + Send;
}

/// A failed run: retried with backoff unless `permanent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub message: String,
    pub permanent: bool,
}

impl JobFailure {
    /// A failure worth retrying (the outside world may recover).
    pub fn transient(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            permanent: false,
        }
    }

    /// A failure no retry can fix: dead-lettered at once.
    pub fn permanent(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            permanent: true,
        }
    }
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
