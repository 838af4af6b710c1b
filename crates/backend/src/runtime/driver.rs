//! [`ContainerRuntime`]: the one small trait between the runtime and
//! whatever runs engines — Docker (`docker.rs`, bollard) or a child
//! process (`process.rs`, for machines without Docker and the 100-game
//! bench). The runtime decides; a driver only does what it is told, and
//! says so with a typed [`DriverError`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::ids::GameId;

/// Labels every engine container carries (`galaxy.backend=1` marks ours).
pub const LABEL_BACKEND: &str = "galaxy.backend";
pub const LABEL_GAME_ID: &str = "galaxy.game_id";
pub const LABEL_ENGINE_VERSION: &str = "galaxy.engine_version";

/// The name of a game's engine (`galaxy-game-{game_id}`), container or process.
pub fn engine_name(game_id: GameId) -> String {
    format!("galaxy-game-{game_id}")
}

/// What to run for one game.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSpec {
    pub game_id: GameId,
    /// The registry's label (`0.1.0`), written to the labels.
    pub engine_version: String,
    /// The image reference (`galaxy/game:0.1.0`); the process driver maps
    /// it to a binary.
    pub image: String,
    /// `BACKEND_GAME_STATE_ROOT/{game_id}` on the host.
    pub state_dir: PathBuf,
}

/// Where an engine is in its life, as the driver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineState {
    Created,
    Running,
    /// Stopped or exited (state kept).
    Exited,
}

/// An engine the driver knows about.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineInfo {
    /// Driver-specific id (a container id, a pid).
    pub id: String,
    /// [`engine_name`].
    pub name: String,
    /// From the labels; `None` for a labelled engine missing the label.
    pub game_id: Option<GameId>,
    pub engine_version: Option<String>,
    pub image: String,
    pub state: EngineState,
    /// The engine's base URL (`http://127.0.0.1:PORT` or
    /// `http://galaxy-game-{id}:8080`), once it has one.
    pub base_url: Option<String>,
}

/// How long a replay (the shadow check) may run before it is killed. An
/// admin's patch request waits for it, within `BACKEND_HTTP_WRITE_TIMEOUT`.
pub const REPLAY_TIMEOUT: Duration = Duration::from_secs(25);

/// What a one-shot engine command ([`ContainerRuntime::run_once`]) said:
/// its exit code and stdout (`replay`, `report`: docs/engine-api.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    pub exit_code: i64,
    pub stdout: String,
}

/// Why a driver call failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The image is not present and the pull policy (or the registry)
    /// cannot provide it.
    #[error("image {image} is not available: {message}")]
    ImageUnavailable { image: String, message: String },
    /// No engine of that name.
    #[error("no engine named {0}")]
    NotFound(String),
    /// The daemon (or the process table) cannot be reached: retry later.
    #[error("the container runtime is unavailable: {0}")]
    Unavailable(String),
    /// Anything else the driver reported.
    #[error("{0}")]
    Failed(String),
}

/// Runs engines. Every call is idempotent where it can be: creating an
/// engine that exists returns it, stopping a stopped one succeeds,
/// removing a missing one succeeds.
pub trait ContainerRuntime: Send + Sync {
    /// `docker` or `process`.
    fn name(&self) -> &'static str;

    /// Makes sure what `spec.image` names can run (the pull policy).
    fn ensure_image<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Result<(), DriverError>>;

    /// Creates (not starts) the engine for `spec`, or returns the existing one.
    fn create<'a>(&'a self, spec: &'a EngineSpec)
    -> BoxFuture<'a, Result<EngineInfo, DriverError>>;

    /// Starts a created or exited engine; its base URL is known afterwards.
    fn start<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<EngineInfo, DriverError>>;

    /// SIGTERM, then SIGKILL after `grace`; the state directory is kept.
    fn stop<'a>(&'a self, name: &'a str, grace: Duration)
    -> BoxFuture<'a, Result<(), DriverError>>;

    /// Removes a stopped engine (not its state directory).
    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), DriverError>>;

    /// The engine named `name`, if any.
    fn inspect<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<EngineInfo>, DriverError>>;

    /// Every engine labelled `galaxy.backend=1` (the reconciler's view).
    fn list(&self) -> BoxFuture<'_, Result<Vec<EngineInfo>, DriverError>>;

    /// Runs the engine of `image` once, as a command over `state_dir`
    /// mounted read-only (`args`, then `--state-dir` and where the engine
    /// sees it), without a network, and returns its exit code and stdout:
    /// the shadow check's `replay`, a finished game's `report`. Killed when
    /// it outlives the one-shot timeout.
    fn run_once<'a>(
        &'a self,
        image: &'a str,
        state_dir: &'a Path,
        args: Vec<String>,
    ) -> BoxFuture<'a, Result<RunOutput, DriverError>>;

    /// Makes sure what every engine needs exists (the Docker driver:
    /// `BACKEND_DOCKER_NETWORK`, created if missing); cheap once done. The
    /// reconciler calls it on every pass (the first at startup) and
    /// `create` before the first engine.
    fn prepare(&self) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async { Ok(()) })
    }

    /// Whether the driver can work now (the Docker daemon answers).
    fn ping(&self) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async { Ok(()) })
    }

    /// Shutdown (spec §16): the Docker driver drops its daemon connection;
    /// the process driver stops its children (SIGTERM, then SIGKILL after
    /// `grace`) — their state is kept and a restarted backend starts them
    /// again.
    fn close(&self, grace: Duration) -> BoxFuture<'_, ()> {
        let _ = grace;
        Box::pin(async {})
    }
}
