//! Background workers are written as a *step* (one bounded unit of work that
//! returns what it did) plus this loop, which runs the step on an interval
//! and stops on shutdown. Tests call steps directly; they never sleep for an
//! interval.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cluster::leader::Leadership;

/// What one step did; the loop runs again at once while work remains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Nothing was due: wait for the interval.
    Idle,
    /// Some work was done and more may be waiting: step again now.
    MoreWork,
    /// Nothing is due before this long (e.g. the next turn deadline):
    /// wait for it, but never longer than the interval.
    IdleFor(Duration),
}

/// The process's background tasks, stopped together at shutdown.
pub struct Workers {
    stop: CancellationToken,
    /// Gates the singleton loops ([`Workers::spawn_singleton_loop`]); none
    /// in unit tests, where they always run.
    leadership: Option<Leadership>,
    /// Registered during `Application::build`, started by [`Workers::start`].
    pending: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
    tasks: JoinSet<()>,
    /// Tasks stopped only after every other one ended (the leader
    /// election: the lock is held until the singleton loops are done).
    last_stop: CancellationToken,
    last: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
    last_tasks: JoinSet<()>,
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
            leadership: None,
            pending: Vec::new(),
            tasks: JoinSet::new(),
            last_stop: CancellationToken::new(),
            last: Vec::new(),
            last_tasks: JoinSet::new(),
        }
    }

    /// Workers whose singleton loops run only while `leadership` says
    /// this instance leads.
    pub fn with_leadership(leadership: Leadership) -> Self {
        Self {
            leadership: Some(leadership),
            ..Self::new()
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
        Fut: Future<Output = Result<StepOutcome, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
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
        step: F,
    ) where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<StepOutcome, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        self.register(name, interval, wake, step, None);
    }

    /// A loop that must run on one instance only (the turn scheduler, the
    /// reconciler, the sweepers): like [`Workers::spawn_loop_with_wake`],
    /// but it steps only while this instance leads (see
    /// [`crate::cluster::leader`]). When leadership is lost the step in
    /// progress is dropped at once (its transaction rolls back); at
    /// shutdown it finishes as every step does.
    pub fn spawn_singleton_loop<F, Fut, E>(
        &mut self,
        name: &'static str,
        interval: Duration,
        wake: Arc<Notify>,
        step: F,
    ) where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<StepOutcome, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let role = self.leadership.as_ref().map(Leadership::watch);
        self.register(name, interval, wake, step, role);
    }

    /// Queues [`run_loop`] for [`Workers::start`].
    fn register<F, Fut, E>(
        &mut self,
        name: &'static str,
        interval: Duration,
        wake: Arc<Notify>,
        step: F,
        role: Option<watch::Receiver<bool>>,
    ) where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<StepOutcome, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let stop = self.stop.clone();
        self.pending
            .push(Box::pin(run_loop(name, interval, wake, step, stop, role)));
    }

    /// Registers a long-running task that watches [`Workers::stop_token`] itself.
    pub fn spawn<Fut>(&mut self, task: Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.pending.push(Box::pin(task));
    }

    /// Registers a task that watches the token it is given, which is
    /// cancelled only once every other worker has stopped (the leader
    /// election keeps the lock until the singleton loops are done).
    pub fn spawn_last<Fut>(&mut self, task: impl FnOnce(CancellationToken) -> Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.last.push(Box::pin(task(self.last_stop.clone())));
    }

    /// Starts every registered worker; called once serving begins.
    pub fn start(&mut self) {
        for task in self.pending.drain(..) {
            self.tasks.spawn(task);
        }
        for task in self.last.drain(..) {
            self.last_tasks.spawn(task);
        }
    }

    /// Signals every worker and waits up to `budget` for them to finish
    /// their current step, then stops the [`Workers::spawn_last`] tasks
    /// (within the same budget). Returns `false` if some were still running.
    pub async fn shutdown(mut self, budget: Duration) -> bool {
        self.stop.cancel();
        let all = async { while self.tasks.join_next().await.is_some() {} };
        let mut finished = tokio::time::timeout(budget, all).await.is_ok();
        if !finished {
            self.tasks.abort_all();
        }
        self.last_stop.cancel();
        let last = async { while self.last_tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(budget, last).await.is_err() {
            self.last_tasks.abort_all();
            finished = false;
        }
        finished
    }
}

/// The loop behind every worker: step, then wait for the interval (or the
/// step's own idle time, or a wake-up). With `role`, it steps only while
/// the role is `true` and drops a step in progress when it turns `false`.
async fn run_loop<F, Fut, E>(
    name: &'static str,
    interval: Duration,
    wake: Arc<Notify>,
    mut step: F,
    stop: CancellationToken,
    mut role: Option<watch::Receiver<bool>>,
) where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<StepOutcome, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    tracing::info!(
        worker = name,
        interval_ms = interval.as_millis() as u64,
        singleton = role.is_some(),
        "worker started"
    );
    while !stop.is_cancelled() {
        if let Some(role) = role.as_mut()
            && !*role.borrow_and_update()
        {
            // Stand by until this instance leads.
            tokio::select! {
                () = stop.cancelled() => break,
                changed = role.changed() => if changed.is_err() { break },
            }
            if *role.borrow() {
                tracing::info!(worker = name, "leading: singleton worker runs here");
            }
            continue;
        }
        // A step is never cancelled half-way by shutdown: work already
        // under way (a send, a transaction) finishes before the loop stops.
        // Losing leadership does cancel it.
        let outcome = match role.as_mut() {
            None => step().await,
            Some(role) => {
                let running = step();
                tokio::pin!(running);
                tokio::select! {
                    outcome = &mut running => outcome,
                    () = lost(role) => {
                        if stop.is_cancelled() {
                            running.await
                        } else {
                            tracing::warn!(worker = name, "leadership lost: the step in progress was dropped");
                            continue;
                        }
                    }
                }
            }
        };
        let wait = match outcome {
            Ok(StepOutcome::MoreWork) => continue,
            Ok(StepOutcome::Idle) => interval,
            Ok(StepOutcome::IdleFor(d)) => d.min(interval),
            Err(err) => {
                // `{:#}`: an anyhow error's whole chain, its context first.
                tracing::error!(worker = name, error = %format_args!("{err:#}"), "worker step failed");
                interval
            }
        };
        let leadership_lost = async {
            match role.as_mut() {
                Some(role) => lost(role).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
            () = wake.notified() => {}
            () = leadership_lost => {}
        }
    }
    tracing::info!(worker = name, "worker stopped");
}

/// Resolves when `role` turns `false` (or its sender is gone).
async fn lost(role: &mut watch::Receiver<bool>) {
    loop {
        if !*role.borrow_and_update() {
            return;
        }
        if role.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::cluster::InstanceId;
    use crate::telemetry::Metrics;

    /// Waits (bounded) until `check` holds.
    async fn until(mut check: impl FnMut() -> bool) {
        for _ in 0..500 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("condition not reached");
    }

    #[tokio::test]
    async fn a_singleton_loop_steps_only_while_leading_and_drops_its_step_when_leadership_is_lost()
    {
        let leadership = Leadership::new(InstanceId::generate(), &Metrics::noop());
        let mut workers = Workers::with_leadership(leadership.clone());
        let started = Arc::new(AtomicU32::new(0));
        let finished = Arc::new(AtomicU32::new(0));
        let wake = Arc::new(Notify::new());
        let (s, f) = (started.clone(), finished.clone());
        workers.spawn_singleton_loop("test", Duration::from_secs(3600), wake.clone(), move || {
            let (s, f) = (s.clone(), f.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                // A long step: only leadership loss or shutdown ends it early.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                f.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::convert::Infallible>(StepOutcome::Idle)
            }
        });
        workers.start();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(started.load(Ordering::SeqCst), 0, "a standby does not step");

        leadership.set(true, "test");
        until(|| started.load(Ordering::SeqCst) == 1).await;
        leadership.set(false, "test");
        // The step in progress is dropped, not finished; no new one starts.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(finished.load(Ordering::SeqCst), 0);
        assert_eq!(started.load(Ordering::SeqCst), 1);

        leadership.set(true, "test");
        until(|| started.load(Ordering::SeqCst) == 2).await;
        // Shutdown lets the (hour-long) step run: the budget ends it.
        assert!(!workers.shutdown(Duration::from_millis(50)).await);
    }

    #[tokio::test]
    async fn a_step_may_ask_to_be_woken_sooner_than_the_interval() {
        let mut workers = Workers::new();
        let steps = Arc::new(AtomicU32::new(0));
        let counted = steps.clone();
        workers.spawn_loop("test", Duration::from_secs(3600), move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::convert::Infallible>(StepOutcome::IdleFor(Duration::from_millis(1)))
            }
        });
        workers.start();
        until(|| steps.load(Ordering::SeqCst) >= 3).await;
        assert!(workers.shutdown(Duration::from_secs(5)).await);
    }
}
