//! Background workers are written as a *step* (one bounded unit of work that
//! returns what it did) plus this loop, which runs the step on an interval
//! and stops on shutdown. Tests call steps directly; they never sleep for an
//! interval.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What one step did; the loop runs again at once while work remains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Nothing was due: wait for the interval.
    Idle,
    /// Some work was done and more may be waiting: step again now.
    MoreWork,
}

/// The process's background tasks, stopped together at shutdown.
pub struct Workers {
    stop: CancellationToken,
    /// Registered during `Application::build`, started by [`Workers::start`].
    pending: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
    tasks: JoinSet<()>,
}

impl Default for Workers {
    fn default() -> Self {
        Self::new()
    }
}

impl Workers {
    pub fn new() -> Self {
        Self {
            stop: CancellationToken::new(),
            pending: Vec::new(),
            tasks: JoinSet::new(),
        }
    }

    /// The token a worker watches to know it must stop.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Runs `step` every `interval` until shutdown; a failing step is logged
    /// and retried on the next interval. Shutdown waits for the step in
    /// progress to finish (bounded by the budget given to [`Workers::shutdown`]).
    pub fn spawn_loop<F, Fut, E>(&mut self, name: &'static str, interval: Duration, step: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<StepOutcome, E>> + Send,
        E: std::fmt::Display + Send,
    {
        self.spawn_loop_with_wake(name, interval, Arc::new(Notify::new()), step);
    }

    /// [`Workers::spawn_loop`] whose idle wait also ends when `wake` is
    /// notified (e.g. new work was committed), so latency does not depend
    /// on the interval.
    pub fn spawn_loop_with_wake<F, Fut, E>(
        &mut self,
        name: &'static str,
        interval: Duration,
        wake: Arc<Notify>,
        mut step: F,
    ) where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<StepOutcome, E>> + Send,
        E: std::fmt::Display + Send,
    {
        let stop = self.stop.clone();
        self.pending.push(Box::pin(async move {
            tracing::info!(
                worker = name,
                interval_ms = interval.as_millis() as u64,
                "worker started"
            );
            while !stop.is_cancelled() {
                // A step is never cancelled half-way: work already under way
                // (a send, a transaction) finishes before the loop stops.
                let outcome = step().await;
                let wait = match outcome {
                    Ok(StepOutcome::MoreWork) => continue,
                    Ok(StepOutcome::Idle) => interval,
                    Err(err) => {
                        tracing::error!(worker = name, error = %err, "worker step failed");
                        interval
                    }
                };
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                    () = wake.notified() => {}
                }
            }
            tracing::info!(worker = name, "worker stopped");
        }));
    }

    /// Registers a long-running task that watches [`Workers::stop_token`] itself.
    pub fn spawn<Fut>(&mut self, task: Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.pending.push(Box::pin(task));
    }

    /// Starts every registered worker; called once serving begins.
    pub fn start(&mut self) {
        for task in self.pending.drain(..) {
            self.tasks.spawn(task);
        }
    }

    /// Signals every worker and waits up to `budget` for them to finish
    /// their current step. Returns `false` if some were still running.
    pub async fn shutdown(mut self, budget: Duration) -> bool {
        self.stop.cancel();
        let all = async { while self.tasks.join_next().await.is_some() {} };
        let finished = tokio::time::timeout(budget, all).await.is_ok();
        if !finished {
            self.tasks.abort_all();
        }
        finished
    }
}
