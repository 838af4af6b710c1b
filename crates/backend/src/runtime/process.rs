//! The `process` driver: each game's engine is a `galaxy-game` child
//! process on a free loopback port, so a machine without Docker plays games
//! and the 100-game bench can run. It owns the children it spawns and a
//! small registry file per engine; the runtime decides what to run.
//!
//! **Images.** [`Binaries`] maps an image reference (`galaxy/game:0.1.0`)
//! to a binary, or runs one default binary for every image;
//! [`ContainerRuntime::ensure_image`] (and `create`, `start`) fail with
//! [`DriverError::ImageUnavailable`] when the image has no binary or the
//! file is missing or not executable.
//!
//! **Layout.** The engine runs with `GALAXY_GAME_STATE_DIR` =
//! [`EngineSpec::state_dir`] (created if missing; the same
//! `BACKEND_GAME_STATE_ROOT/{game_id}` the Docker driver mounts) as its
//! working directory, `GALAXY_GAME_LISTEN_ADDR` = `127.0.0.1:PORT` and an
//! otherwise empty environment (the backend's secrets stay in the
//! backend). Beside the engine's own files the driver keeps, in the state
//! directory:
//!
//! - [`REGISTRY_FILE`] (`engine.json`): what the Docker labels say (name,
//!   game id, engine version, image), the recorded state, and while the
//!   engine runs its pid, port and (Linux) process start time, so a pid
//!   reused by another process is never taken for the engine;
//! - [`STDOUT_LOG`] and [`STDERR_LOG`]: the engine's JSON log lines and its
//!   stderr, the previous run's kept as `*.1`.
//!
//! **Lifecycle.** `create` records the engine without starting it. `start`
//! picks a free port (binds port 0 and reads it back; the engine binds it
//! again, so a port taken in between is retried with another), spawns the
//! engine and waits, up to the startup timeout, for `GET /healthz` to
//! answer 200: a child that exits first fails the start with its stderr
//! tail; one that never answers is killed and fails it too. Its base URL
//! is `http://127.0.0.1:PORT`; each start may pick a new port. `stop` sends
//! SIGTERM (the engine stops gracefully), waits `grace`, then SIGKILL; the
//! state is kept and `start` resumes it at the same turn. `remove` forgets
//! a stopped engine (its registry file) and keeps its state. `inspect` and
//! `list` look at the process table: an engine whose process died behind
//! our back is `Exited`, and can be started again.
//!
//! **Replay.** [`ContainerRuntime::replay`] (the shadow check before a
//! patch) runs the image's binary once as `replay --turn N --state-dir
//! COPY` with an empty environment and returns its exit status and stdout;
//! it is killed after [`REPLAY_TIMEOUT`].
//!
//! **No orphans.** Children are spawned with `kill_on_drop` (dropping the
//! driver SIGKILLs them) in their own process group (a terminal's Ctrl-C
//! reaches only the backend, which decides), and on Linux with
//! `PR_SET_PDEATHSIG` = SIGTERM, so a backend killed with SIGKILL takes its
//! engines down too. The kernel sends that signal when the *thread* that
//! spawned the child exits: call `start` from a long-lived thread (a Tokio
//! worker, not a `spawn_blocking` thread, which ends when idle). A graceful
//! shutdown calls [`ProcessDriver::stop_all`].
//!
//! **Re-adoption.** A new driver on the same root (a restarted backend)
//! reads every `ROOT/*/engine.json` on its first call. An engine recorded
//! as running whose process is still alive (same pid, same start time) and
//! answers `/healthz` on its port is adopted as `Running`: it is stopped by
//! pid like any other. Every other one is `Exited` — restartable with
//! `start` on the same state (an alive but unresponsive engine is killed
//! first, so two engines never share a state directory). Engines whose state
//! directory lies outside the root are not found again.

use std::collections::HashMap;
use std::io::SeekFrom;
use std::net::{Ipv4Addr, TcpListener};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex as AsyncMutex, OnceCell, OwnedMutexGuard};

use super::driver::{
    ContainerRuntime, DriverError, EngineInfo, EngineSpec, EngineState, REPLAY_TIMEOUT, RunOutput,
    engine_name,
};
use crate::ids::GameId;

/// The registry file the driver keeps in each engine's state directory.
pub const REGISTRY_FILE: &str = "engine.json";
/// The engine's stdout (JSON log lines), in its state directory.
pub const STDOUT_LOG: &str = "engine.log";
/// The engine's stderr, in its state directory.
pub const STDERR_LOG: &str = "engine.stderr.log";

/// How long `start` waits for `/healthz` by default.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// One `/healthz` probe's budget.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long to wait for a process after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// Spawns tried when the picked port was taken before the engine bound it.
const SPAWN_ATTEMPTS: usize = 3;
/// How much of a failed engine's stderr goes into the error.
const STDERR_TAIL_BYTES: u64 = 2048;
/// The log filter engines run with.
const ENGINE_LOG_FILTER: &str = "info";

/// Which binary runs which image: a map, a default for every other image,
/// or both.
#[derive(Debug, Clone, Default)]
pub struct Binaries {
    by_image: HashMap<String, PathBuf>,
    default: Option<PathBuf>,
}

impl Binaries {
    /// No image runs yet; add them with [`Binaries::with`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Every image runs `path`.
    pub fn single(path: impl Into<PathBuf>) -> Self {
        Self {
            by_image: HashMap::new(),
            default: Some(path.into()),
        }
    }

    /// `image` runs `path` (whatever the default).
    #[must_use]
    pub fn with(mut self, image: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.by_image.insert(image.into(), path.into());
        self
    }

    /// The binary configured for `image`, if any.
    pub fn resolve(&self, image: &str) -> Option<&Path> {
        self.by_image
            .get(image)
            .or(self.default.as_ref())
            .map(PathBuf::as_path)
    }
}

impl From<HashMap<String, PathBuf>> for Binaries {
    fn from(by_image: HashMap<String, PathBuf>) -> Self {
        Self {
            by_image,
            default: None,
        }
    }
}

impl From<PathBuf> for Binaries {
    fn from(path: PathBuf) -> Self {
        Self::single(path)
    }
}

/// Runs engines as child processes (see the module docs).
pub struct ProcessDriver {
    root: PathBuf,
    binaries: Binaries,
    startup_timeout: Duration,
    engines: Mutex<HashMap<String, Arc<Slot>>>,
    loaded: OnceCell<()>,
}

impl ProcessDriver {
    /// A driver whose engines live under `root` (`BACKEND_GAME_STATE_ROOT`)
    /// and run the binaries of `binaries`. No I/O until the first call,
    /// which re-adopts what a previous driver left under `root`.
    pub fn new(root: impl Into<PathBuf>, binaries: impl Into<Binaries>) -> Self {
        Self {
            root: root.into(),
            binaries: binaries.into(),
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            engines: Mutex::new(HashMap::new()),
            loaded: OnceCell::new(),
        }
    }

    /// How long `start` waits for a new engine's `/healthz`.
    #[must_use]
    pub fn with_startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// The state root this driver reads its registry files from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stops every running engine (SIGTERM, `grace`, SIGKILL), all at once:
    /// the graceful shutdown of the backend.
    pub async fn stop_all(&self, grace: Duration) -> Result<(), DriverError> {
        self.load().await?;
        let names: Vec<String> = self.lock_map().keys().cloned().collect();
        let stops = names.iter().map(|name| self.stop_engine(name, grace));
        for result in futures::future::join_all(stops).await {
            match result {
                Ok(()) | Err(DriverError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn lock_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Slot>>> {
        lock_unpoisoned(&self.engines)
    }

    /// Reads the registry files under the root, once.
    async fn load(&self) -> Result<(), DriverError> {
        self.loaded
            .get_or_try_init(|| self.adopt_all())
            .await
            .map(|_| ())
    }

    async fn adopt_all(&self) -> Result<(), DriverError> {
        let mut dir = match tokio::fs::read_dir(&self.root).await {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(DriverError::Unavailable(format!(
                    "cannot read the state root {}: {e}",
                    self.root.display()
                )));
            }
        };
        let mut found = Vec::new();
        loop {
            let entry = match dir.next_entry().await {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(e) => {
                    return Err(DriverError::Unavailable(format!(
                        "cannot read the state root {}: {e}",
                        self.root.display()
                    )));
                }
            };
            if let Some(record) = read_record(&entry.path().join(REGISTRY_FILE)).await {
                found.push(record);
            }
        }
        // Concurrently: a deaf engine costs a probe timeout.
        let adopted = futures::future::join_all(found.into_iter().map(adopt)).await;
        let mut map = self.lock_map();
        for engine in adopted {
            map.insert(engine.record.name.clone(), Slot::new(engine));
        }
        Ok(())
    }

    /// The engine named `name`, locked, or `NotFound`.
    async fn locked(&self, name: &str) -> Result<Locked, DriverError> {
        self.load().await?;
        let slot = self.lock_map().get(name).cloned();
        let slot = slot.ok_or_else(|| DriverError::NotFound(name.to_owned()))?;
        let locked = slot.lock().await;
        if locked.removed {
            return Err(DriverError::NotFound(name.to_owned()));
        }
        Ok(locked)
    }

    /// The engine named `name` as it is now, or as last seen while an
    /// operation (a start waiting for `/healthz`) holds it.
    async fn look(&self, slot: Arc<Slot>) -> Option<EngineInfo> {
        match slot.try_lock() {
            Some(mut locked) if !locked.removed => Some(locked.refreshed_info().await),
            Some(_) => None,
            None => Some(lock_unpoisoned(&slot.last_seen).clone()),
        }
    }

    /// The binary for `image`, checked to be an executable file.
    async fn binary(&self, image: &str) -> Result<PathBuf, DriverError> {
        let unavailable = |message: String| DriverError::ImageUnavailable {
            image: image.to_owned(),
            message,
        };
        let path = self
            .binaries
            .resolve(image)
            .ok_or_else(|| unavailable("no engine binary is configured for this image".into()))?;
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| unavailable(format!("engine binary {}: {e}", path.display())))?;
        if !meta.is_file() || !is_executable(&meta) {
            return Err(unavailable(format!(
                "engine binary {} is not an executable file",
                path.display()
            )));
        }
        Ok(path.to_owned())
    }

    async fn create_engine(&self, spec: &EngineSpec) -> Result<EngineInfo, DriverError> {
        let name = engine_name(spec.game_id);
        match self.locked(&name).await {
            Ok(mut engine) => return Ok(engine.refreshed_info().await),
            Err(DriverError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        self.binary(&spec.image).await?;
        let record = Record {
            name: name.clone(),
            game_id: spec.game_id,
            engine_version: spec.engine_version.clone(),
            image: spec.image.clone(),
            state_dir: spec.state_dir.clone(),
            state: Recorded::Created,
            pid: None,
            port: None,
            start_ticks: None,
        };
        tokio::fs::create_dir_all(&record.state_dir)
            .await
            .map_err(|e| {
                DriverError::Failed(format!(
                    "cannot create the state directory {}: {e}",
                    record.state_dir.display()
                ))
            })?;
        // Two racing creates of one game write the same record; the first
        // one in the map wins and both return it.
        let slot = self
            .lock_map()
            .entry(name)
            .or_insert_with(|| {
                Slot::new(Engine {
                    record,
                    child: None,
                    removed: false,
                })
            })
            .clone();
        let engine = slot.lock().await;
        persist(&engine.record).await?;
        Ok(engine.info())
    }

    async fn start_engine(&self, name: &str) -> Result<EngineInfo, DriverError> {
        let mut engine = self.locked(name).await?;
        engine.refresh().await;
        if engine.record.state == Recorded::Running {
            return Ok(engine.info());
        }
        let binary = self.binary(&engine.record.image).await?;
        let state_dir = engine.record.state_dir.clone();
        tokio::fs::create_dir_all(&state_dir).await.map_err(|e| {
            DriverError::Failed(format!(
                "cannot create the state directory {}: {e}",
                state_dir.display()
            ))
        })?;
        rotate_logs(&state_dir).await;
        let (child, port) = self.spawn_healthy(name, &binary, &state_dir).await?;
        let pid = child.id();
        engine.child = Some(child);
        engine.record.state = Recorded::Running;
        engine.record.pid = pid;
        engine.record.port = Some(port);
        engine.record.start_ticks = pid.and_then(process_start_ticks);
        if let Err(e) = persist(&engine.record).await {
            // Without its record a restarted backend could not find this
            // engine again: better not to run it at all.
            engine.terminate(Duration::ZERO).await;
            engine.mark_exited();
            return Err(e);
        }
        tracing::info!(engine = name, pid, port, binary = %binary.display(), "engine started");
        Ok(engine.info())
    }

    /// Spawns the engine until one answers `/healthz` (a port taken before
    /// the engine could bind it is retried with another).
    async fn spawn_healthy(
        &self,
        name: &str,
        binary: &Path,
        state_dir: &Path,
    ) -> Result<(Child, u16), DriverError> {
        let stderr_path = state_dir.join(STDERR_LOG);
        for attempt in 1..=SPAWN_ATTEMPTS {
            let port = free_port()?;
            let stderr_from = tokio::fs::metadata(&stderr_path)
                .await
                .map(|m| m.len())
                .unwrap_or(0);
            let mut child = spawn(binary, state_dir, port)?;
            match wait_healthy(&mut child, port, self.startup_timeout).await {
                Ok(()) => return Ok((child, port)),
                Err(Some(status)) => {
                    let tail = tail(&stderr_path, stderr_from).await;
                    if tail.contains("in use") && attempt < SPAWN_ATTEMPTS {
                        tracing::debug!(
                            engine = name,
                            port,
                            "port taken before the engine bound it; retrying"
                        );
                        continue;
                    }
                    return Err(DriverError::Failed(format!(
                        "engine {name} exited ({status}) before answering /healthz: {tail}"
                    )));
                }
                Err(None) => {
                    let _ = child.kill().await;
                    let tail = tail(&stderr_path, stderr_from).await;
                    return Err(DriverError::Failed(format!(
                        "engine {name} did not answer /healthz within {:?} and was killed; stderr: {tail}",
                        self.startup_timeout
                    )));
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    async fn stop_engine(&self, name: &str, grace: Duration) -> Result<(), DriverError> {
        let mut engine = self.locked(name).await?;
        engine.refresh().await;
        if engine.record.state != Recorded::Running {
            return Ok(());
        }
        let pid = engine.record.pid;
        engine.terminate(grace).await;
        engine.mark_exited();
        persist(&engine.record).await?;
        tracing::info!(engine = name, pid, "engine stopped");
        Ok(())
    }

    async fn remove_engine(&self, name: &str) -> Result<(), DriverError> {
        let mut engine = match self.locked(name).await {
            Ok(engine) => engine,
            Err(DriverError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        engine.refresh().await;
        if engine.record.state == Recorded::Running {
            return Err(DriverError::Failed(format!(
                "engine {name} is running: stop it before removing it"
            )));
        }
        let path = engine.record.state_dir.join(REGISTRY_FILE);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(DriverError::Failed(format!(
                    "cannot remove {}: {e}",
                    path.display()
                )));
            }
        }
        engine.removed = true;
        self.lock_map().remove(name);
        Ok(())
    }

    /// `BINARY replay --turn TURN --state-dir COPY`, with an empty
    /// environment, killed when it outlives [`REPLAY_TIMEOUT`].
    async fn run_once_in(
        &self,
        image: &str,
        state_copy: &Path,
        args: Vec<String>,
    ) -> Result<RunOutput, DriverError> {
        let binary = self.binary(image).await?;
        let mut cmd = Command::new(&binary);
        cmd.env_clear()
            .args(&args)
            .arg("--state-dir")
            .arg(state_copy)
            .current_dir(state_copy)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| DriverError::Failed(format!("cannot run {}: {e}", binary.display())))?;
        // On timeout the child is dropped, which kills it.
        let output = tokio::time::timeout(REPLAY_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| {
                DriverError::Failed(format!(
                    "the replay did not finish within {REPLAY_TIMEOUT:?} and was killed"
                ))
            })?
            .map_err(|e| DriverError::Failed(format!("replay of {}: {e}", binary.display())))?;
        let exit_code = output.status.code().ok_or_else(|| {
            DriverError::Failed(format!(
                "the replay was killed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        })?;
        Ok(RunOutput {
            exit_code: i64::from(exit_code),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        })
    }

    async fn inspect_engine(&self, name: &str) -> Result<Option<EngineInfo>, DriverError> {
        self.load().await?;
        let slot = self.lock_map().get(name).cloned();
        match slot {
            Some(slot) => Ok(self.look(slot).await),
            None => Ok(None),
        }
    }

    async fn list_engines(&self) -> Result<Vec<EngineInfo>, DriverError> {
        self.load().await?;
        let slots: Vec<_> = self.lock_map().values().cloned().collect();
        let mut infos = Vec::with_capacity(slots.len());
        for slot in slots {
            infos.extend(self.look(slot).await);
        }
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos)
    }
}

impl ContainerRuntime for ProcessDriver {
    fn close(&self, grace: Duration) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(err) = self.stop_all(grace).await {
                tracing::warn!(error = %err, "shutdown: stopping the engine processes failed");
            }
        })
    }

    fn name(&self) -> &'static str {
        "process"
    }

    fn ensure_image<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move { self.binary(image).await.map(|_| ()) })
    }

    fn create<'a>(
        &'a self,
        spec: &'a EngineSpec,
    ) -> BoxFuture<'a, Result<EngineInfo, DriverError>> {
        Box::pin(self.create_engine(spec))
    }

    fn start<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<EngineInfo, DriverError>> {
        Box::pin(self.start_engine(name))
    }

    fn stop<'a>(
        &'a self,
        name: &'a str,
        grace: Duration,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(self.stop_engine(name, grace))
    }

    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(self.remove_engine(name))
    }

    fn inspect<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<EngineInfo>, DriverError>> {
        Box::pin(self.inspect_engine(name))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<EngineInfo>, DriverError>> {
        Box::pin(self.list_engines())
    }

    fn run_once<'a>(
        &'a self,
        image: &'a str,
        state_dir: &'a Path,
        args: Vec<String>,
    ) -> BoxFuture<'a, Result<RunOutput, DriverError>> {
        Box::pin(self.run_once_in(image, state_dir, args))
    }
}

/// What `engine.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    name: String,
    game_id: GameId,
    engine_version: String,
    image: String,
    state_dir: PathBuf,
    state: Recorded,
    #[serde(default)]
    pid: Option<u32>,
    #[serde(default)]
    port: Option<u16>,
    /// Linux: the process's start time (clock ticks since boot,
    /// `/proc/PID/stat` field 22); a pid with another start time is another
    /// process.
    #[serde(default)]
    start_ticks: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Recorded {
    Created,
    Running,
    Exited,
}

impl From<Recorded> for EngineState {
    fn from(state: Recorded) -> Self {
        match state {
            Recorded::Created => EngineState::Created,
            Recorded::Running => EngineState::Running,
            Recorded::Exited => EngineState::Exited,
        }
    }
}

/// One engine behind its lock, and a copy of what it looked like when the
/// lock was last released.
struct Slot {
    engine: Arc<AsyncMutex<Engine>>,
    last_seen: Mutex<EngineInfo>,
}

impl Slot {
    fn new(engine: Engine) -> Arc<Self> {
        Arc::new(Self {
            last_seen: Mutex::new(engine.info()),
            engine: Arc::new(AsyncMutex::new(engine)),
        })
    }

    async fn lock(self: &Arc<Self>) -> Locked {
        Locked {
            guard: Some(self.engine.clone().lock_owned().await),
            slot: self.clone(),
        }
    }

    fn try_lock(self: &Arc<Self>) -> Option<Locked> {
        Some(Locked {
            guard: Some(self.engine.clone().try_lock_owned().ok()?),
            slot: self.clone(),
        })
    }
}

/// A locked engine; unlocking it updates its slot's `last_seen`.
struct Locked {
    guard: Option<OwnedMutexGuard<Engine>>,
    slot: Arc<Slot>,
}

impl Deref for Locked {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        self.guard.as_ref().expect("held until drop")
    }
}

impl DerefMut for Locked {
    fn deref_mut(&mut self) -> &mut Engine {
        self.guard.as_mut().expect("held until drop")
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            *lock_unpoisoned(&self.slot.last_seen) = guard.info();
        }
    }
}

/// A panic while holding one of the driver's std mutexes cannot leave what
/// it guards half-updated (single assignments, inserts and removes), so a
/// poisoned lock is still usable.
fn lock_unpoisoned<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One engine: its record, and its process when this driver spawned it
/// (`None` for an adopted one, which is watched and signalled by pid).
struct Engine {
    record: Record,
    child: Option<Child>,
    /// Set by `remove`, for callers that looked it up before.
    removed: bool,
}

impl Engine {
    fn info(&self) -> EngineInfo {
        let running = self.record.state == Recorded::Running;
        EngineInfo {
            id: match self.record.pid {
                Some(pid) if running => pid.to_string(),
                _ => self.record.name.clone(),
            },
            name: self.record.name.clone(),
            game_id: Some(self.record.game_id),
            engine_version: Some(self.record.engine_version.clone()),
            image: self.record.image.clone(),
            state: self.record.state.into(),
            base_url: self.record.port.filter(|_| running).map(base_url),
        }
    }

    async fn refreshed_info(&mut self) -> EngineInfo {
        self.refresh().await;
        self.info()
    }

    /// Notices a process that died behind our back (and records it).
    async fn refresh(&mut self) {
        if self.record.state != Recorded::Running || self.alive() {
            return;
        }
        tracing::warn!(engine = %self.record.name, pid = self.record.pid, "engine exited on its own");
        self.mark_exited();
        if let Err(e) = persist(&self.record).await {
            tracing::warn!(engine = %self.record.name, error = %e, "cannot record that the engine exited");
        }
    }

    fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => self
                .record
                .pid
                .is_some_and(|pid| same_process_alive(pid, self.record.start_ticks)),
        }
    }

    fn mark_exited(&mut self) {
        self.child = None;
        self.record.state = Recorded::Exited;
        self.record.pid = None;
        self.record.port = None;
        self.record.start_ticks = None;
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL.
    async fn terminate(&mut self, grace: Duration) {
        if let Some(child) = self.child.as_mut() {
            if let Some(pid) = child.id() {
                signal(pid, libc::SIGTERM);
            }
            if tokio::time::timeout(grace, child.wait()).await.is_err() {
                tracing::warn!(engine = %self.record.name, ?grace, "engine ignored SIGTERM; killing it");
                let _ = child.kill().await;
            }
            return;
        }
        let (Some(pid), ticks) = (self.record.pid, self.record.start_ticks) else {
            return;
        };
        if !same_process_alive(pid, ticks) {
            return;
        }
        signal(pid, libc::SIGTERM);
        if !gone_within(pid, ticks, grace).await {
            tracing::warn!(engine = %self.record.name, ?grace, "engine ignored SIGTERM; killing it");
            signal(pid, libc::SIGKILL);
            gone_within(pid, ticks, KILL_WAIT).await;
        }
    }
}

/// Reads one registry file; a missing or unreadable one is skipped.
async fn read_record(path: &Path) -> Option<Record> {
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read an engine registry file");
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(record) => Some(record),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring a malformed engine registry file");
            None
        }
    }
}

/// A previous driver's engine: adopted if it still runs and answers,
/// otherwise `Exited`.
async fn adopt(record: Record) -> Engine {
    let mut engine = Engine {
        record,
        child: None,
        removed: false,
    };
    if engine.record.state != Recorded::Running {
        return engine;
    }
    let (pid, port, ticks) = (
        engine.record.pid,
        engine.record.port,
        engine.record.start_ticks,
    );
    let alive = pid.is_some_and(|pid| same_process_alive(pid, ticks));
    let answers = match port {
        Some(port) if alive => healthz(port).await,
        _ => false,
    };
    if alive && answers {
        tracing::info!(engine = %engine.record.name, pid, port, "re-adopted a running engine");
        return engine;
    }
    if alive && ticks.is_some() {
        // Ours (same pid and start time) but deaf: it must not keep the
        // state directory while a new engine runs on it.
        tracing::warn!(engine = %engine.record.name, pid, "killing an engine that no longer answers /healthz");
        engine.terminate(Duration::ZERO).await;
    } else {
        tracing::info!(engine = %engine.record.name, pid, "engine exited while the backend was away");
    }
    engine.mark_exited();
    if let Err(e) = persist(&engine.record).await {
        tracing::warn!(engine = %engine.record.name, error = %e, "cannot record that the engine exited");
    }
    engine
}

/// Writes the registry file atomically (temporary file, then rename).
async fn persist(record: &Record) -> Result<(), DriverError> {
    let path = record.state_dir.join(REGISTRY_FILE);
    let tmp = record.state_dir.join(format!("{REGISTRY_FILE}.tmp"));
    let json = serde_json::to_vec_pretty(record)
        .map_err(|e| DriverError::Failed(format!("cannot encode the engine record: {e}")))?;
    let failed =
        |e: std::io::Error| DriverError::Failed(format!("cannot write {}: {e}", path.display()));
    tokio::fs::write(&tmp, json).await.map_err(failed)?;
    tokio::fs::rename(&tmp, &path).await.map_err(failed)
}

fn base_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16, DriverError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| DriverError::Unavailable(format!("no free loopback port: {e}")))
}

/// Keeps the previous run's logs as `*.1`.
async fn rotate_logs(state_dir: &Path) {
    for name in [STDOUT_LOG, STDERR_LOG] {
        let from = state_dir.join(name);
        let _ = tokio::fs::rename(&from, state_dir.join(format!("{name}.1"))).await;
    }
}

fn spawn(binary: &Path, state_dir: &Path, port: u16) -> Result<Child, DriverError> {
    let log = |name: &str| {
        let path = state_dir.join(name);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| DriverError::Failed(format!("cannot open {}: {e}", path.display())))
    };
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("GALAXY_GAME_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("GALAXY_GAME_STATE_DIR", state_dir)
        .env("GALAXY_GAME_LOG", ENGINE_LOG_FILTER)
        .current_dir(state_dir)
        .stdin(Stdio::null())
        .stdout(log(STDOUT_LOG)?)
        .stderr(log(STDERR_LOG)?)
        .kill_on_drop(true)
        .process_group(0);
    die_with_parent(&mut cmd);
    cmd.spawn()
        .map_err(|e| DriverError::Failed(format!("cannot run {}: {e}", binary.display())))
}

/// Asks the kernel to SIGTERM the child when its parent goes away.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec the closure makes only
    // async-signal-safe system calls and does not allocate.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the prctl: no signal would come.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Waits for `/healthz`: `Ok` when it answers, `Err(Some(status))` when
/// the child exited first, `Err(None)` when `timeout` passed.
async fn wait_healthy(
    child: &mut Child,
    port: u16,
    timeout: Duration,
) -> Result<(), Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(10);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Err(Some(status)),
            Ok(None) => {}
            Err(_) => return Err(None),
        }
        if healthz(port).await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(None);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Whether `GET http://127.0.0.1:PORT/healthz` answers 200. A bare
/// HTTP/1.1 exchange: the backend has no HTTP client of its own here.
async fn healthz(port: u16) -> bool {
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .ok()?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 12];
        let mut read = 0;
        while read < head.len() {
            match stream.read(&mut head[read..]).await.ok()? {
                0 => break,
                n => read += n,
            }
        }
        Some(&head[..read] == b"HTTP/1.1 200" || &head[..read] == b"HTTP/1.0 200")
    };
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, probe).await,
        Ok(Some(true))
    )
}

/// The last bytes a child wrote to `path` since `from`, as text.
async fn tail(path: &Path, from: u64) -> String {
    let read = async {
        let mut file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        let start = from.max(len.saturating_sub(STDERR_TAIL_BYTES));
        file.seek(SeekFrom::Start(start)).await?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).await?;
        Ok::<_, std::io::Error>(bytes)
    };
    match read.await {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => "(no stderr)".to_owned(),
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(e) => format!("(stderr unreadable: {e})"),
    }
}

fn signal(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions; a process that
    // is already gone yields ESRCH, which is what we want to ignore.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Polls until the process is gone; false if it outlived `wait`.
async fn gone_within(pid: u32, start_ticks: Option<u64>, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if !same_process_alive(pid, start_ticks) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `pid` is a live (not zombie) process, started at `start_ticks`
/// when that is known.
#[cfg(target_os = "linux")]
fn same_process_alive(pid: u32, start_ticks: Option<u64>) -> bool {
    match proc_stat(pid) {
        Some((state, ticks)) => {
            !matches!(state, 'Z' | 'X' | 'x') && start_ticks.is_none_or(|t| t == ticks)
        }
        None => false,
    }
}

#[cfg(not(target_os = "linux"))]
fn same_process_alive(pid: u32, _start_ticks: Option<u64>) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// The process's start time, to recognise it later.
#[cfg(target_os = "linux")]
fn process_start_ticks(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, ticks)| ticks)
}

#[cfg(not(target_os = "linux"))]
fn process_start_ticks(_pid: u32) -> Option<u64> {
    None
}

/// `/proc/PID/stat`'s state (field 3) and start time (field 22).
#[cfg(target_os = "linux")]
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain
    // anything, parentheses and spaces included: fields resume after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ticks = fields.nth(18)?.parse().ok()?;
    Some((state, ticks))
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_without_its_own_binary_runs_the_default() {
        let binaries = Binaries::single("/bin/default").with("galaxy/game:0.2.0", "/bin/two");
        assert_eq!(
            binaries.resolve("galaxy/game:0.2.0"),
            Some(Path::new("/bin/two"))
        );
        assert_eq!(
            binaries.resolve("galaxy/game:0.1.0"),
            Some(Path::new("/bin/default"))
        );
        assert_eq!(Binaries::new().resolve("galaxy/game:0.1.0"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_start_time_of_this_process_is_read_from_proc() {
        let me = std::process::id();
        let ticks = process_start_ticks(me).expect("own /proc/PID/stat");
        assert!(same_process_alive(me, Some(ticks)));
        assert!(
            !same_process_alive(me, Some(ticks + 1)),
            "another start time is another process"
        );
    }

    #[test]
    fn a_record_round_trips_through_json() {
        let record = Record {
            name: "galaxy-game-x".into(),
            game_id: GameId::new_random(),
            engine_version: "0.1.0".into(),
            image: "galaxy/game:0.1.0".into(),
            state_dir: "/tmp/x".into(),
            state: Recorded::Running,
            pid: Some(42),
            port: Some(4242),
            start_ticks: Some(7),
        };
        let back: Record = serde_json::from_slice(&serde_json::to_vec(&record).unwrap()).unwrap();
        assert_eq!(back.state, Recorded::Running);
        assert_eq!(
            (back.pid, back.port, back.start_ticks),
            (Some(42), Some(4242), Some(7))
        );
        assert_eq!(back.game_id, record.game_id);
    }
}
