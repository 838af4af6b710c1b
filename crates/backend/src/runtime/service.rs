//! [`RuntimeService`]: the runtime records (cached), the operation log,
//! and the requests that queue operations (admin actions, the lobby's
//! requests). What an operation does is in `ops.rs`; the reconciler in
//! `reconciler.rs`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;

use super::driver::{ContainerRuntime, DriverError};
use super::engine::EngineClient;
use super::error::RuntimeError;
use super::metrics::RuntimeMetrics;
use super::model::{OpKind, Operation, Requester, RuntimeRecord, RuntimeStatus};
use super::shadow::{Shadow, ShadowError};
use super::store;
use super::versions::EngineVersions;
use crate::config::Config;
use crate::ids::GameId;
use crate::jobs::{RetryPolicy, Wake};
use crate::lobby::{GameStatus, LobbyService};
use crate::notification::NotificationService;

/// How many of a game's newest operations the cache holds (the admin
/// surface reads 20 or 100).
pub const OPS_CACHED: usize = 100;

/// The name `/readyz` reports while the records warm.
pub const CACHE_NAME: &str = "runtime_records";

/// Audit actions of the runtime's admin surface.
pub mod action {
    pub const START: &str = "runtime.start";
    pub const STOP: &str = "runtime.stop";
    pub const RESTART: &str = "runtime.restart";
    pub const PATCH: &str = "runtime.patch";
    pub const FORCE_NEXT_TURN: &str = "runtime.force_next_turn";
    pub const RESUME: &str = "runtime.resume";
}

/// How the runtime works.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// `BACKEND_RUNTIME_WORKER_POOL_SIZE`: operations run at the same time.
    pub pool_size: usize,
    /// `BACKEND_RUNTIME_JOB_QUEUE_SIZE`: unfinished operations at most.
    pub queue_size: i64,
    /// `BACKEND_RUNTIME_RECONCILE_INTERVAL`.
    pub reconcile_interval: Duration,
    /// `BACKEND_RUNTIME_STOP_GRACE_PERIOD`.
    pub stop_grace: Duration,
    /// `BACKEND_GAME_STATE_ROOT`.
    pub state_root: PathBuf,
    /// How long a started engine has to answer `/healthz`.
    pub health_wait: Duration,
    /// An operation's lease (renewed every third while it runs).
    pub lease: Duration,
    /// The pool's idle poll (a queued operation wakes it at once).
    pub worker_interval: Duration,
    /// Attempts and backoff of start, stop, restart and patch.
    pub retry: RetryPolicy,
    /// Attempts and backoff of banish (waits for a stopped engine).
    pub banish_retry: RetryPolicy,
    /// Run the pool, the intake, the reconciler and the scheduler here.
    pub workers_enabled: bool,
    /// `BACKEND_ENGINE_CALL_TIMEOUT` (a tick older than this plus a margin
    /// was left behind).
    pub engine_call_timeout: Duration,
}

impl RuntimeSettings {
    pub fn from_config(config: &Config) -> Self {
        let r = &config.runtime;
        Self {
            pool_size: r.worker_pool_size as usize,
            queue_size: i64::from(r.job_queue_size),
            reconcile_interval: r.reconcile_interval,
            stop_grace: r.stop_grace_period,
            state_root: config.game_state_root.clone(),
            health_wait: Duration::from_secs(30),
            lease: Duration::from_secs(30),
            worker_interval: Duration::from_secs(5),
            retry: RetryPolicy {
                max_attempts: 5,
                base: Duration::from_secs(2),
                max: Duration::from_secs(60),
            },
            banish_retry: RetryPolicy {
                max_attempts: 50,
                base: Duration::from_secs(5),
                max: Duration::from_secs(600),
            },
            workers_enabled: config.lobby.jobs_worker_enabled,
            engine_call_timeout: config.engine.call_timeout,
        }
    }
}

/// Other instances' writes reach the caches: keys are `record:<game id>`
/// and `ops:<game id>`.
impl crate::cluster::CoherentCache for RuntimeService {
    fn name(&self) -> &'static str {
        CACHE_NAME
    }

    /// Another instance's change (a force flag, a resume, a finished
    /// operation) may make a turn due: the scheduler steps again once the
    /// record here is fresh (a `runtime_scheduler` wake-up can arrive
    /// before the record does).
    fn refresh<'a>(&'a self, key: &'a str) -> futures::future::BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.refresh_key(key).await?;
            self.inner.scheduler_wake.signal().notify_one();
            Ok(())
        })
    }

    fn reload_all(&self) -> futures::future::BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            self.reload().await?;
            self.inner.scheduler_wake.signal().notify_one();
            Ok(())
        })
    }
}

/// What an admin request did.
#[derive(Debug, Clone)]
pub enum Requested {
    /// The operation was queued.
    Queued(Operation),
    /// Nothing to do: the runtime is already where the request wants it.
    AlreadyDone(RuntimeRecord),
}

/// One runtime as the admin surface shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    pub record: RuntimeRecord,
    /// What the driver reports (`null`: no such engine).
    pub container: Option<Value>,
    /// The engine's `/api/v1/admin/status` (`null`: not reachable).
    pub engine: Option<Value>,
    /// Why `engine` is null, when it is.
    pub engine_error: Option<String>,
    pub operations: Vec<Operation>,
}

/// The runtime domain. Cheap to clone.
#[derive(Clone)]
pub struct RuntimeService {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub db: PgPool,
    pub driver: Arc<dyn ContainerRuntime>,
    pub engine: EngineClient,
    pub versions: EngineVersions,
    pub lobby: LobbyService,
    pub notifications: NotificationService,
    pub settings: RuntimeSettings,
    pub metrics: RuntimeMetrics,
    pub job_metrics: crate::jobs::JobMetrics,
    pub wake: Wake,
    /// The scheduler's wake-up, also announced to other instances.
    pub scheduler_wake: Wake,
    /// Turns whose reminder went out from this process (the intent's
    /// idempotency key guards the rest).
    pub reminded: std::sync::Mutex<std::collections::HashSet<(GameId, i32)>>,
    /// Labelled engines of games this database does not know (warned once).
    pub foreign: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Each game's newest operations (at most [`OPS_CACHED`]), read through
    /// and dropped whenever one of the game's operations is written.
    pub ops_cache: RwLock<HashMap<GameId, Vec<Operation>>>,
    pub cache: RwLock<Cache>,
    /// Where committed changes are announced to the other instances.
    pub bus: std::sync::OnceLock<crate::cluster::CacheBus>,
}

#[derive(Default)]
pub(super) struct Cache {
    pub warm: bool,
    pub records: HashMap<GameId, RuntimeRecord>,
}

/// Parts of a [`RuntimeService`].
pub struct RuntimeParts {
    pub db: PgPool,
    pub driver: Arc<dyn ContainerRuntime>,
    pub engine: EngineClient,
    pub versions: EngineVersions,
    pub lobby: LobbyService,
    pub notifications: NotificationService,
    pub settings: RuntimeSettings,
    pub metrics: crate::telemetry::Metrics,
}

impl RuntimeService {
    pub fn new(parts: RuntimeParts) -> Self {
        let RuntimeParts {
            db,
            driver,
            engine,
            versions,
            lobby,
            notifications,
            settings,
            metrics,
        } = parts;
        Self {
            inner: Arc::new(Inner {
                db,
                driver,
                engine,
                versions,
                lobby,
                notifications,
                settings,
                metrics: RuntimeMetrics::new(&metrics),
                job_metrics: crate::jobs::JobMetrics::new(&metrics, "runtime"),
                wake: Wake::new(store::WAKE_CHANNEL),
                scheduler_wake: Wake::new(store::SCHEDULER_WAKE_CHANNEL),
                reminded: std::sync::Mutex::new(std::collections::HashSet::new()),
                foreign: std::sync::Mutex::new(std::collections::HashSet::new()),
                ops_cache: RwLock::new(HashMap::new()),
                cache: RwLock::new(Cache::default()),
                bus: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Announces this instance's after-commit cache updates to the others
    /// (the install step sets it; unset in unit tests).
    pub fn announce_to(&self, bus: crate::cluster::CacheBus) {
        let _ = self.inner.bus.set(bus);
    }

    pub fn settings(&self) -> &RuntimeSettings {
        &self.inner.settings
    }

    pub fn driver(&self) -> &Arc<dyn ContainerRuntime> {
        &self.inner.driver
    }

    /// The operations queue's wake-up (every enqueue notifies it).
    pub fn wake(&self) -> Wake {
        self.inner.wake.clone()
    }

    /// The startup warm-up, for `/readyz` to wait on.
    pub fn warmup(&self) -> crate::readiness::Warmup {
        let service = self.clone();
        crate::readiness::Warmup::new(CACHE_NAME, async move {
            let records = store::records(&service.inner.db).await?;
            let mut cache = service.write_cache();
            cache.records = records.into_iter().map(|r| (r.game_id, r)).collect();
            cache.warm = true;
            Ok::<(), anyhow::Error>(())
        })
    }

    pub(super) fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.inner.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.inner.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops `game_id`'s cached operations (one was written), here and on
    /// the other instances.
    pub(super) fn forget_ops(&self, game_id: GameId) {
        self.announce(format_args!("ops:{game_id}"));
        self.drop_ops(game_id);
    }

    /// The runtime's tables have no notifying trigger (turns and health
    /// probes of many games commit at once; they must not serialise on the
    /// notify lock): changes are announced after the commit.
    fn announce(&self, key: std::fmt::Arguments<'_>) {
        if let Some(bus) = self.inner.bus.get() {
            bus.announce(CACHE_NAME, key);
        }
    }

    fn drop_ops(&self, game_id: GameId) {
        self.inner
            .ops_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&game_id);
    }

    /// `game_id`'s newest operations, at most `limit` (≤ [`OPS_CACHED`]).
    async fn newest_ops(
        &self,
        game_id: GameId,
        limit: usize,
    ) -> Result<Vec<Operation>, sqlx::Error> {
        let cached = self
            .inner
            .ops_cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&game_id)
            .map(|ops| ops.iter().take(limit).cloned().collect());
        if let Some(ops) = cached {
            return Ok(ops);
        }
        let ops = store::operations(&self.inner.db, game_id, OPS_CACHED as i64).await?;
        let first = ops.iter().take(limit).cloned().collect();
        self.inner
            .ops_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(game_id, ops);
        Ok(first)
    }

    /// Re-reads `game_id`'s record into the cache (after a commit); its
    /// cached operations are dropped too. The other instances are told.
    pub(super) async fn refresh(
        &self,
        game_id: GameId,
    ) -> Result<Option<RuntimeRecord>, sqlx::Error> {
        self.announce(format_args!("record:{game_id}"));
        self.reread(game_id).await
    }

    /// [`refresh`](Self::refresh) without telling anyone (another
    /// instance's write is being applied).
    async fn reread(&self, game_id: GameId) -> Result<Option<RuntimeRecord>, sqlx::Error> {
        self.drop_ops(game_id);
        let mut conn = self.inner.db.acquire().await?;
        let record = store::record(&mut conn, game_id).await?;
        let mut cache = self.write_cache();
        match &record {
            Some(r) => {
                cache.records.insert(game_id, r.clone());
            }
            None => {
                cache.records.remove(&game_id);
            }
        }
        Ok(record)
    }

    /// Re-reads every record and forgets every game's cached operations
    /// (after notifications of other instances' writes may have been
    /// missed; a cold cache is left to the warm-up).
    pub async fn reload(&self) -> Result<(), sqlx::Error> {
        let records = store::records(&self.inner.db).await?;
        self.inner
            .ops_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let mut cache = self.write_cache();
        if cache.warm {
            cache.records = records.into_iter().map(|r| (r.game_id, r)).collect();
        }
        Ok(())
    }

    /// Re-reads one entry after another instance wrote it: `record:<game
    /// id>` (the record, and the game's cached operations are dropped) or
    /// `ops:<game id>` (the game's cached operations are dropped).
    pub async fn refresh_key(&self, key: &str) -> anyhow::Result<()> {
        let parse = |id: &str| {
            id.parse::<GameId>()
                .map_err(|_| anyhow::anyhow!("not a game id: {id}"))
        };
        if let Some(id) = key.strip_prefix("record:") {
            self.reread(parse(id)?).await?;
        } else if let Some(id) = key.strip_prefix("ops:") {
            self.drop_ops(parse(id)?);
        } else {
            anyhow::bail!("unknown runtime cache key {key}");
        }
        Ok(())
    }

    /// Re-reads `game_id`'s record into the cache: for a record changed in
    /// PostgreSQL behind the service's back (tests, manual repairs).
    pub async fn refresh_record(&self, game_id: GameId) -> Result<(), RuntimeError> {
        self.refresh(game_id).await?;
        Ok(())
    }

    /// Every record (from the cache once warm).
    pub async fn records(&self) -> Result<Vec<RuntimeRecord>, RuntimeError> {
        {
            let cache = self.read_cache();
            if cache.warm {
                let mut all: Vec<RuntimeRecord> = cache.records.values().cloned().collect();
                all.sort_by(|a, b| {
                    b.updated_at
                        .cmp(&a.updated_at)
                        .then(a.game_id.cmp(&b.game_id))
                });
                return Ok(all);
            }
        }
        Ok(store::records(&self.inner.db).await?)
    }

    /// `game_id`'s record, or `NotFound`.
    pub async fn record(&self, game_id: GameId) -> Result<RuntimeRecord, RuntimeError> {
        {
            let cache = self.read_cache();
            if cache.warm {
                return cache
                    .records
                    .get(&game_id)
                    .cloned()
                    .ok_or(RuntimeError::NotFound("runtime"));
            }
        }
        let mut conn = self.inner.db.acquire().await?;
        store::record(&mut conn, game_id)
            .await?
            .ok_or(RuntimeError::NotFound("runtime"))
    }

    /// The record, what the driver and the engine say, the last operations.
    pub async fn inspect(&self, game_id: GameId) -> Result<Inspection, RuntimeError> {
        let record = self.record(game_id).await?;
        let container = self
            .inner
            .driver
            .inspect(&record.container_name)
            .await
            .ok()
            .flatten()
            .map(|info| {
                json!({
                    "id": info.id,
                    "name": info.name,
                    "image": info.image,
                    "state": format!("{:?}", info.state).to_lowercase(),
                    "base_url": info.base_url,
                })
            });
        let (engine, engine_error) = match &record.base_url {
            None => (None, Some("the engine is not running".to_owned())),
            Some(url) => match self.inner.engine.status(url).await {
                Ok(status) => (serde_json::to_value(status).ok(), None),
                Err(err) => (None, Some(err.to_string())),
            },
        };
        let operations = self.newest_ops(game_id, 20).await?;
        Ok(Inspection {
            record,
            container,
            engine,
            engine_error,
            operations,
        })
    }

    /// `game_id`'s operations, newest first.
    pub async fn operations(
        &self,
        game_id: GameId,
        limit: i64,
    ) -> Result<Vec<Operation>, RuntimeError> {
        self.record(game_id).await?;
        let limit = usize::try_from(limit).unwrap_or(0).min(OPS_CACHED);
        Ok(self.newest_ops(game_id, limit).await?)
    }

    pub async fn operation(&self, op_id: i64) -> Result<Operation, RuntimeError> {
        store::operation(&self.inner.db, op_id)
            .await?
            .ok_or(RuntimeError::NotFound("operation"))
    }

    /// An admin asks for `op` on `game_id`'s runtime: checked against the
    /// record, queued unless already done, audited.
    pub async fn request(
        &self,
        admin: &str,
        game_id: GameId,
        op: OpKind,
        params: Value,
    ) -> Result<Requested, RuntimeError> {
        let record = self.record(game_id).await?;
        let status = record.status;
        let (already, audit) = match op {
            OpKind::Stop => (
                matches!(
                    status,
                    RuntimeStatus::Stopped | RuntimeStatus::Removed | RuntimeStatus::Finished
                ),
                action::STOP,
            ),
            OpKind::Start => {
                self.require_in_play(game_id, "start").await?;
                (status == RuntimeStatus::Running, action::START)
            }
            OpKind::Restart => {
                self.require_in_play(game_id, "restart").await?;
                (false, action::RESTART)
            }
            OpKind::Patch => {
                self.require_in_play(game_id, "patch").await?;
                if status != RuntimeStatus::Running {
                    return Err(RuntimeError::InvalidState {
                        current: status,
                        action: "patch",
                        wanted: "running",
                    });
                }
                let to = params["engine_version"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                self.check_patch(&record.engine_version, &to).await?;
                (to == record.engine_version, action::PATCH)
            }
            _ => unreachable!("admins request start, stop, restart and patch"),
        };
        if already {
            return Ok(Requested::AlreadyDone(record));
        }
        self.inner
            .driver
            .ping()
            .await
            .map_err(|e| RuntimeError::Unavailable(e.to_string()))?;
        let params = match op {
            OpKind::Patch => self.shadow_check(&record, params).await?,
            _ => params,
        };
        let mut tx = self.inner.db.begin().await?;
        let queued = store::open_count(&mut tx).await?;
        if queued >= self.inner.settings.queue_size {
            return Err(RuntimeError::Busy { queued });
        }
        let requester = Requester::Admin(admin.to_owned()).as_text();
        let operation =
            store::enqueue(&mut tx, game_id, op, &params, &requester, self.attempts(op))
                .await?
                .expect("an admin operation carries no lobby request");
        crate::audit::record(
            &mut tx,
            admin,
            audit,
            &game_id.to_string(),
            json!({ "op_id": operation.op_id, "params": params }),
        )
        .await?;
        tx.commit().await?;
        self.forget_ops(game_id);
        tracing::info!(game_id = %game_id, op = %op, op_id = operation.op_id, "runtime operation queued");
        Ok(Requested::Queued(operation))
    }

    async fn require_in_play(
        &self,
        game_id: GameId,
        action: &'static str,
    ) -> Result<(), RuntimeError> {
        let entry = self.inner.lobby.entry(game_id).await?;
        match entry.game.status {
            GameStatus::Running | GameStatus::Paused => Ok(()),
            other => Err(RuntimeError::GameNotInPlay {
                current: other.to_string(),
                action,
            }),
        }
    }

    /// A patch goes to a registered, enabled version of the same
    /// major.minor line (`PatchNotAllowed` otherwise).
    pub async fn check_patch(&self, from: &str, to: &str) -> Result<(), RuntimeError> {
        let line = |v: &str| -> Option<String> {
            let core = v.split(['-', '+']).next()?;
            let mut parts = core.split('.');
            Some(format!("{}.{}", parts.next()?, parts.next()?))
        };
        let version = self
            .inner
            .versions
            .get(to)
            .await
            .map_err(|_| RuntimeError::UnknownVersion(to.to_owned()))?;
        if !version.enabled {
            return Err(RuntimeError::UnknownVersion(to.to_owned()));
        }
        let from_line = line(from).unwrap_or_default();
        if line(to).as_deref() != Some(from_line.as_str()) {
            return Err(RuntimeError::PatchNotAllowed {
                from: from.to_owned(),
                to: to.to_owned(),
                from_line,
            });
        }
        Ok(())
    }

    /// The shadow check of a patch (`runtime/shadow.rs`), unless `force`:
    /// a difference refuses the patch (`PatchChangesRules`), as does a
    /// replay that reaches no verdict (`ShadowCheckFailed`; `Unavailable`
    /// when the driver cannot be reached). The outcome goes into the
    /// operation's `params.shadow` (`identical`, `skipped: turn 0`,
    /// `forced`; `shadow_turn` names the replayed turn).
    async fn shadow_check(
        &self,
        record: &RuntimeRecord,
        mut params: Value,
    ) -> Result<Value, RuntimeError> {
        if params["force"] == true {
            params["shadow"] = json!("forced");
            return Ok(params);
        }
        let to = params["engine_version"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let version = self
            .inner
            .versions
            .get(&to)
            .await
            .map_err(|_| RuntimeError::UnknownVersion(to.clone()))?;
        // A task of its own: a request given up mid-check still cleans up
        // (the copy, the replay container).
        let check = tokio::spawn(super::shadow::check(
            self.inner.driver.clone(),
            self.inner.settings.state_root.clone(),
            record.game_id,
            version.image_ref.clone(),
        ));
        let from = record.engine_version.clone();
        let outcome = check.await.map_err(|e| RuntimeError::ShadowCheckFailed {
            from: from.clone(),
            to: to.clone(),
            reason: format!("the check panicked: {e}"),
        })?;
        match outcome {
            Ok(Shadow::Identical { turn }) => {
                params["shadow"] = json!("identical");
                params["shadow_turn"] = json!(turn);
                Ok(params)
            }
            Ok(Shadow::SkippedTurnZero) => {
                params["shadow"] = json!("skipped: turn 0");
                Ok(params)
            }
            Ok(Shadow::Different { turn, difference }) => {
                tracing::info!(game_id = %record.game_id, from = %from, to = %to, turn, %difference, "patch refused: the shadow check found a difference");
                Err(RuntimeError::PatchChangesRules {
                    from,
                    to,
                    turn,
                    what: difference["what"].as_str().unwrap_or("?").to_owned(),
                    line: difference["line"].to_string(),
                    difference,
                })
            }
            Err(ShadowError::Unavailable(m)) => Err(RuntimeError::Unavailable(m)),
            Err(ShadowError::Failed(reason)) => {
                tracing::warn!(game_id = %record.game_id, from = %from, to = %to, reason = %reason, "patch refused: the shadow check failed");
                Err(RuntimeError::ShadowCheckFailed { from, to, reason })
            }
        }
    }

    pub(super) fn attempts(&self, op: OpKind) -> i32 {
        let policy = match op {
            OpKind::Banish => &self.inner.settings.banish_retry,
            _ => &self.inner.settings.retry,
        };
        policy.max_attempts_i32()
    }

    /// Pings the driver (the Docker daemon): `/readyz` stays unaffected,
    /// admin actions answer 503 while this fails.
    pub async fn driver_available(&self) -> Result<(), DriverError> {
        self.inner.driver.ping().await
    }
}
