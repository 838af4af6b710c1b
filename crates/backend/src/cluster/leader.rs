//! Leader election among the instances sharing one database: a
//! session-level PostgreSQL advisory lock ([`LEADER_LOCK_KEY`]) held on a
//! dedicated connection. No outside coordinator.
//!
//! - Every instance campaigns ([`Leadership::campaign`]): it tries the
//!   lock every half `interval`; the one that holds it leads.
//! - The leader checks its lock connection every half interval; a failed
//!   or slow check (the connection lost, PostgreSQL gone) ends its
//!   leadership **at once**: the singleton loops
//!   ([`crate::worker::Workers::spawn_singleton_loop`]) are stopped, and it
//!   campaigns again only after two intervals, so a standby takes the lock.
//! - PostgreSQL frees the lock when the leader's connection ends (SIGKILL,
//!   crash, `pg_terminate_backend`), so a standby takes over at its next try:
//!   within half an interval of the lock being freed.
//! - At shutdown the leader stops its singleton loops, then closes the
//!   lock connection, so a standby takes over without waiting for a timeout.
//!
//! Two leaders can overlap for at most one check interval after a leader's
//! connection was cut (the old one has not noticed yet). Every singleton
//! step is therefore also safe to run twice at once: turns are claimed with
//! a compare-and-set on the runtime record, sweeps and prunes are
//! idempotent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, ObservableGauge};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, PgConnection};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::InstanceId;
use crate::telemetry::Metrics;
use crate::telemetry::names::{self, label};

/// The advisory lock key whose holder leads ("galaxy" + 2).
pub const LEADER_LOCK_KEY: i64 = 0x6761_6c61_7879_0002;

/// This instance's role, as `/readyz` and the `cluster_leader` gauge show it.
#[derive(Clone)]
pub struct Leadership {
    inner: Arc<Inner>,
}

struct Inner {
    instance: InstanceId,
    leading: watch::Sender<bool>,
    /// The gauge reads this (1 while leading).
    leading_flag: Arc<AtomicBool>,
    changes: Counter<u64>,
    _gauge: ObservableGauge<u64>,
}

impl Leadership {
    pub fn new(instance: InstanceId, metrics: &Metrics) -> Self {
        let meter = metrics.meter();
        let leading_flag = Arc::new(AtomicBool::new(false));
        let observed = Arc::clone(&leading_flag);
        let attrs = [KeyValue::new(label::INSTANCE, instance.to_string())];
        let gauge = meter
            .u64_observable_gauge(names::CLUSTER_LEADER)
            .with_description(
                "1 while this instance is the elected leader (runs the turn scheduler, \
                 reconciler and sweepers), 0 while it stands by.",
            )
            .with_callback(move |observer| {
                observer.observe(u64::from(observed.load(Ordering::Relaxed)), &attrs);
            })
            .build();
        let changes = meter
            .u64_counter(names::CLUSTER_LEADER_CHANGES_TOTAL)
            .with_description("Times this instance became leader or stopped leading.")
            .build();
        let (leading, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                instance,
                leading,
                leading_flag,
                changes,
                _gauge: gauge,
            }),
        }
    }

    pub fn instance(&self) -> &InstanceId {
        &self.inner.instance
    }

    /// Whether this instance leads now.
    pub fn is_leader(&self) -> bool {
        *self.inner.leading.borrow()
    }

    /// Watches the role (`true` while leading).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.inner.leading.subscribe()
    }

    pub(crate) fn set(&self, leading: bool, why: &str) {
        let changed = self.inner.leading.send_if_modified(|now| {
            let changed = *now != leading;
            *now = leading;
            changed
        });
        if changed {
            self.inner.leading_flag.store(leading, Ordering::Relaxed);
            let role = if leading { "leader" } else { "standby" };
            self.inner
                .changes
                .add(1, &[KeyValue::new(label::ROLE, role)]);
            if leading {
                tracing::info!(instance = %self.inner.instance, "this instance is now the leader");
            } else {
                tracing::warn!(instance = %self.inner.instance, reason = why, "this instance stopped leading");
            }
        }
    }

    /// Campaigns until `stop`: tries the lock every half `interval` on a
    /// dedicated connection (`options`), holds it while the connection
    /// answers, and gives it back at `stop` (after the singleton loops,
    /// which watch the same token, have ended their steps).
    pub async fn campaign(
        self,
        options: PgConnectOptions,
        interval: Duration,
        stop: CancellationToken,
    ) {
        let check_every = (interval / 2).max(Duration::from_millis(50));
        let mut logged_unreachable = false;
        while !stop.is_cancelled() {
            let connected = tokio::select! {
                () = stop.cancelled() => break,
                c = tokio::time::timeout(interval.max(Duration::from_secs(1)), PgConnection::connect_with(&options)) => c,
            };
            let mut conn = match connected {
                Ok(Ok(conn)) => {
                    logged_unreachable = false;
                    conn
                }
                Ok(Err(err)) => {
                    if !logged_unreachable {
                        tracing::warn!(error = %err, "leader election cannot reach PostgreSQL; retrying every interval");
                        logged_unreachable = true;
                    }
                    sleep_or_stop(interval, &stop).await;
                    continue;
                }
                Err(_) => {
                    sleep_or_stop(interval, &stop).await;
                    continue;
                }
            };
            // Try the lock every interval on this connection until it is
            // ours or the connection fails.
            let held = loop {
                let tried = tokio::time::timeout(
                    interval.max(Duration::from_secs(1)),
                    sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                        .bind(LEADER_LOCK_KEY)
                        .fetch_one(&mut conn),
                )
                .await;
                match tried {
                    Ok(Ok(true)) => break true,
                    Ok(Ok(false)) => {
                        if !sleep_or_stop(check_every, &stop).await {
                            break false;
                        }
                    }
                    Ok(Err(err)) => {
                        tracing::warn!(error = %err, "leader election lost its connection");
                        break false;
                    }
                    Err(_) => break false,
                }
            };
            if !held {
                let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
                if !stop.is_cancelled() {
                    sleep_or_stop(interval, &stop).await;
                }
                continue;
            }
            self.set(true, "lock acquired");
            // Hold: check the connection every half interval.
            let reason = loop {
                tokio::select! {
                    () = stop.cancelled() => break "shutdown",
                    () = tokio::time::sleep(check_every) => {}
                }
                let alive =
                    tokio::time::timeout(check_every, sqlx::query("SELECT 1").execute(&mut conn))
                        .await;
                match alive {
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => break "the lock connection failed",
                    Err(_) => break "the lock connection did not answer in time",
                }
            };
            // Loops stop first (they watch this flag); the lock goes with
            // the connection.
            self.set(false, reason);
            if reason == "shutdown" {
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    sqlx::query("SELECT pg_advisory_unlock($1)")
                        .bind(LEADER_LOCK_KEY)
                        .execute(&mut conn),
                )
                .await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
            // A deposed leader lets the standbys go first: each tries once
            // an interval, so one of them takes the freed lock meanwhile.
            if reason != "shutdown" {
                sleep_or_stop(2 * interval, &stop).await;
            }
        }
        self.set(false, "shutdown");
    }
}

/// Sleeps `d` unless `stop` fires first; `false` when stopped.
async fn sleep_or_stop(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(d) => true,
    }
}

/// The id of the instance holding the leader lock now, read from
/// PostgreSQL (`pg_locks` and the holder's `application_name`); `None`
/// while nobody leads or when the query fails.
pub async fn current_leader(pool: &sqlx::PgPool) -> Option<String> {
    // A bigint advisory key is stored as (classid = high half, objid = low half).
    let high = (LEADER_LOCK_KEY >> 32) as u32;
    let low = (LEADER_LOCK_KEY & 0xffff_ffff) as u32;
    let name: Option<String> = sqlx::query_scalar(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
            AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(i64::from(high))
    .bind(i64::from(low))
    .fetch_optional(pool)
    .await
    .ok()
    .flatten();
    name.map(|n| {
        n.strip_prefix(super::APPLICATION_PREFIX)
            .unwrap_or(&n)
            .to_owned()
    })
}
