//! The `docker` driver: one engine container per game, through `bollard`
//! against `BACKEND_DOCKER_HOST`. It owns how a container is shaped
//! (name, labels, state bind mount and its owner, resource limits, log
//! driver, restart policy `no`, stop grace, network, published port) and how
//! daemon answers become [`DriverError`]s. The runtime decides what to run
//! and when; this only does what it is told.
//!
//! A replay (the shadow check before a patch) is a one-shot container of
//! its own, labelled [`LABEL_SHADOW`] rather than `galaxy.backend=1`.
//!
//! The daemon is connected to lazily: a backend started while Docker is
//! down comes up, every call reports [`DriverError::Unavailable`], and the
//! first call after the daemon returns connects.

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryStateEnum, HostConfig, HostConfigLogConfig, Mount, MountType,
    NetworkCreateRequest, PortBinding, PortMap, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures::StreamExt;
use futures::future::BoxFuture;

use super::driver::{
    ContainerRuntime, DriverError, EngineInfo, EngineSpec, EngineState, LABEL_BACKEND,
    LABEL_ENGINE_VERSION, LABEL_GAME_ID, REPLAY_TIMEOUT, RunOutput, engine_name,
};
use crate::config::{DockerConfig, EngineAddressing, ImagePullPolicy, RuntimeConfig};
use crate::ids::GameId;

/// The port the engine listens on inside its container.
pub const ENGINE_PORT: u16 = 8080;

/// Marks a replay container (the shadow check): not an engine, so not
/// `galaxy.backend=1`, which the reconciler lists.
pub const LABEL_SHADOW: &str = "galaxy.shadow";

/// The engine port as Docker names it in port maps.
const ENGINE_PORT_KEY: &str = "8080/tcp";

/// Requests that take longer than this are given up as an unreachable
/// daemon. A stop waits up to its grace period on top of it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs engines as Docker containers (see the module documentation).
pub struct DockerDriver {
    host: String,
    network: String,
    runtime: RuntimeConfig,
    /// Connected on first use, dropped by [`DockerDriver::close`].
    client: Mutex<Option<Docker>>,
    /// Set once `BACKEND_DOCKER_NETWORK` is known to exist (the first
    /// `create` makes sure, so a daemon down at startup is no obstacle).
    network_ready: std::sync::atomic::AtomicBool,
}

impl DockerDriver {
    /// A driver for `docker.host`; nothing is contacted until the first call.
    pub fn new(docker: &DockerConfig, runtime: &RuntimeConfig) -> Self {
        Self {
            host: docker.host.clone(),
            network: docker.network.clone(),
            runtime: runtime.clone(),
            client: Mutex::new(None),
            network_ready: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Creates `BACKEND_DOCKER_NETWORK` as a bridge network if it is
    /// missing (at startup). Idempotent, also against concurrent callers:
    /// the daemon does not keep network names unique, so two backends (or
    /// test processes) starting together can each create one, and a name
    /// that matches two networks cannot be used. Every caller therefore
    /// keeps the oldest and removes the others.
    pub async fn ensure_network(&self) -> Result<(), DriverError> {
        let docker = self.client()?;
        if self.networks_named(&docker).await?.is_empty() {
            let request = NetworkCreateRequest {
                name: self.network.clone(),
                driver: Some("bridge".to_owned()),
                labels: Some(HashMap::from([(LABEL_BACKEND.to_owned(), "1".to_owned())])),
                ..Default::default()
            };
            match docker.create_network(request).await {
                // 409: a daemon that does keep names unique saw another creator first.
                Ok(_) => {}
                Err(e) if status_of(&e) == Some(409) => {}
                Err(e) => return Err(map_error(e, &self.network)),
            }
        }
        let networks = self.networks_named(&docker).await?;
        for duplicate in networks.iter().skip(1) {
            match docker.remove_network(duplicate).await {
                Ok(()) => {}
                // Gone already: another caller removed it.
                Err(e) if status_of(&e) == Some(404) => {}
                Err(e) => tracing::warn!(
                    network = %self.network,
                    network_id = %duplicate,
                    error = %e,
                    "runtime.docker: cannot remove a duplicate engine network"
                ),
            }
        }
        Ok(())
    }

    /// Ids of the networks named exactly `BACKEND_DOCKER_NETWORK`, oldest first.
    async fn networks_named(&self, docker: &Docker) -> Result<Vec<String>, DriverError> {
        let filters = HashMap::from([("name", vec![self.network.clone()])]);
        let options = ListNetworksOptionsBuilder::default()
            .filters(&filters)
            .build();
        let mut found: Vec<_> = docker
            .list_networks(Some(options))
            .await
            .map_err(|e| map_error(e, &self.network))?
            .into_iter()
            // The name filter matches substrings.
            .filter(|n| n.name.as_deref() == Some(self.network.as_str()))
            .filter_map(|n| Some((n.created, n.id?)))
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    /// Whether the daemon answers (for readiness and diagnostics).
    pub async fn ping(&self) -> Result<(), DriverError> {
        let docker = self.client()?;
        docker
            .ping()
            .await
            .map(drop)
            .map_err(|e| map_error(e, "daemon"))
    }

    /// Drops the daemon connection (shutdown, spec §16). A later call
    /// connects again.
    pub fn close(&self) {
        self.client.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// The connected client, connecting first if needed.
    fn client(&self) -> Result<Docker, DriverError> {
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(docker) = slot.as_ref() {
            return Ok(docker.clone());
        }
        let docker = Docker::connect_with_host(&self.host)
            .map_err(|e| DriverError::Unavailable(format!("{}: {e}", self.host)))?
            .with_timeout(REQUEST_TIMEOUT);
        *slot = Some(docker.clone());
        Ok(docker)
    }

    async fn pull(&self, docker: &Docker, image: &str) -> Result<(), DriverError> {
        let (from_image, tag) = split_reference(image);
        let mut options = CreateImageOptionsBuilder::default().from_image(from_image);
        if let Some(tag) = tag {
            options = options.tag(tag);
        }
        let mut progress = docker.create_image(Some(options.build()), None, None);
        while let Some(step) = progress.next().await {
            if let Err(e) = step {
                return Err(if is_connection_error(&e) {
                    DriverError::Unavailable(e.to_string())
                } else {
                    DriverError::ImageUnavailable {
                        image: image.to_owned(),
                        message: daemon_message(e),
                    }
                });
            }
        }
        Ok(())
    }

    /// The image's user as `(uid, gid)`; `None` when it runs as root.
    async fn image_user(
        &self,
        docker: &Docker,
        image: &str,
    ) -> Result<Option<(u32, u32)>, DriverError> {
        let inspected = docker.inspect_image(image).await.map_err(|e| {
            if status_of(&e) == Some(404) {
                DriverError::ImageUnavailable {
                    image: image.to_owned(),
                    message: "not present locally (ensure_image first)".to_owned(),
                }
            } else {
                map_error(e, image)
            }
        })?;
        let user = inspected.config.and_then(|c| c.user).unwrap_or_default();
        parse_user(&user).map_err(|()| {
            DriverError::Failed(format!(
                "image {image} runs as user {user:?}; a numeric uid[:gid] is needed to own its state directory"
            ))
        })
    }

    /// A one-shot `IMAGE replay --turn TURN` on `state_copy` mounted
    /// read-only, without a network; always removed afterwards.
    async fn run_once_in(
        &self,
        image: &str,
        state_copy: &Path,
        args: Vec<String>,
    ) -> Result<RunOutput, DriverError> {
        ContainerRuntime::ensure_image(self, image).await?;
        let docker = self.client()?;
        // The copy must be readable by the image's user, as a state
        // directory must be writable by it (the same fallback applies).
        let owner = self.image_user(&docker, image).await?;
        let dir = state_copy.to_path_buf();
        let run_as = tokio::task::spawn_blocking(move || prepare_replay_dir(&dir, owner))
            .await
            .map_err(|e| DriverError::Failed(format!("replay directory task: {e}")))?
            .map_err(|e| {
                DriverError::Failed(format!("replay directory {}: {e}", state_copy.display()))
            })?;
        let name = format!("galaxy-shadow-{}", uuid::Uuid::new_v4().simple());
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        docker
            .create_container(
                Some(options),
                self.replay_body(image, state_copy, args, run_as),
            )
            .await
            .map_err(|e| match status_of(&e) {
                Some(404) => DriverError::Failed(format!("creating {name}: {}", daemon_message(e))),
                _ => map_error(e, &name),
            })?;
        let ran = tokio::time::timeout(REPLAY_TIMEOUT, self.run_replay(&docker, &name)).await;
        let removed = docker
            .remove_container(
                &name,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await;
        if let Err(e) = removed
            && status_of(&e) != Some(404)
        {
            tracing::warn!(container = %name, error = %e, "runtime.docker: cannot remove a replay container");
        }
        ran.map_err(|_| {
            DriverError::Failed(format!(
                "the replay did not finish within {REPLAY_TIMEOUT:?} and was killed"
            ))
        })?
    }

    /// Starts the replay container, waits for it to exit, reads its stdout.
    async fn run_replay(&self, docker: &Docker, name: &str) -> Result<RunOutput, DriverError> {
        docker
            .start_container(name, None)
            .await
            .map_err(|e| map_error(e, name))?;
        let mut exit_code = None;
        let mut waiting = docker.wait_container(name, None);
        while let Some(step) = waiting.next().await {
            match step {
                Ok(answer) => exit_code = Some(answer.status_code),
                // bollard reports a non-zero exit as an error.
                Err(BollardError::DockerContainerWaitError { code, .. }) => exit_code = Some(code),
                Err(e) => return Err(map_error(e, name)),
            }
        }
        let exit_code =
            exit_code.ok_or_else(|| DriverError::Failed(format!("no exit status from {name}")))?;
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(false)
            .build();
        let mut stdout = Vec::new();
        let mut logs = docker.logs(name, Some(options));
        while let Some(chunk) = logs.next().await {
            let chunk = chunk.map_err(|e| map_error(e, name))?;
            stdout.extend_from_slice(chunk.as_ref());
        }
        Ok(RunOutput {
            exit_code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
        })
    }

    fn replay_body(
        &self,
        image: &str,
        state_copy: &Path,
        args: Vec<String>,
        run_as: Option<String>,
    ) -> ContainerCreateBody {
        let mount = self.runtime.container_state_mount.clone();
        let host_config = HostConfig {
            mounts: Some(vec![Mount {
                typ: Some(MountType::BIND),
                source: Some(state_copy.display().to_string()),
                target: Some(mount.clone()),
                read_only: Some(true),
                ..Default::default()
            }]),
            nano_cpus: Some((self.runtime.container_cpu_quota * 1e9).round() as i64),
            memory: Some(i64::try_from(self.runtime.container_memory_bytes).unwrap_or(i64::MAX)),
            pids_limit: Some(self.runtime.container_pids_limit),
            // Read back through the logs API, whatever driver engines log to.
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".to_owned()),
                config: None,
            }),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            network_mode: Some("none".to_owned()),
            cap_drop: Some(vec!["ALL".to_owned()]),
            security_opt: Some(vec!["no-new-privileges".to_owned()]),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(image.to_owned()),
            user: run_as,
            cmd: Some(
                args.into_iter()
                    .chain(["--state-dir".to_owned(), mount])
                    .collect(),
            ),
            env: Some(Vec::new()),
            labels: Some(HashMap::from([(LABEL_SHADOW.to_owned(), "1".to_owned())])),
            host_config: Some(host_config),
            ..Default::default()
        }
    }

    fn container_body(&self, spec: &EngineSpec, run_as: Option<String>) -> ContainerCreateBody {
        let mount = self.runtime.container_state_mount.clone();
        let labels = HashMap::from([
            (LABEL_BACKEND.to_owned(), "1".to_owned()),
            (LABEL_GAME_ID.to_owned(), spec.game_id.to_string()),
            (LABEL_ENGINE_VERSION.to_owned(), spec.engine_version.clone()),
        ]);
        let port_bindings: Option<PortMap> = match self.runtime.engine_addressing {
            EngineAddressing::Network => None,
            // An empty host port lets the daemon pick a free one.
            EngineAddressing::Loopback => Some(HashMap::from([(
                ENGINE_PORT_KEY.to_owned(),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    host_port: Some(String::new()),
                }]),
            )])),
        };
        let log_options: HashMap<String, String> =
            self.runtime.container_log_opts.iter().cloned().collect();
        let host_config = HostConfig {
            mounts: Some(vec![Mount {
                typ: Some(MountType::BIND),
                source: Some(spec.state_dir.display().to_string()),
                target: Some(mount.clone()),
                ..Default::default()
            }]),
            nano_cpus: Some((self.runtime.container_cpu_quota * 1e9).round() as i64),
            memory: Some(i64::try_from(self.runtime.container_memory_bytes).unwrap_or(i64::MAX)),
            pids_limit: Some(self.runtime.container_pids_limit),
            log_config: Some(HostConfigLogConfig {
                typ: Some(self.runtime.container_log_driver.clone()),
                config: (!log_options.is_empty()).then_some(log_options),
            }),
            // The backend decides when an engine comes back, never the daemon.
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            network_mode: Some(self.network.clone()),
            port_bindings,
            cap_drop: Some(vec!["ALL".to_owned()]),
            security_opt: Some(vec!["no-new-privileges".to_owned()]),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(spec.image.clone()),
            user: run_as,
            env: Some(vec![
                format!("GALAXY_GAME_STATE_DIR={mount}"),
                format!("GALAXY_GAME_LISTEN_ADDR=0.0.0.0:{ENGINE_PORT}"),
            ]),
            exposed_ports: Some(vec![ENGINE_PORT_KEY.to_owned()]),
            labels: Some(labels),
            stop_timeout: Some(grace_seconds(self.runtime.stop_grace_period)),
            host_config: Some(host_config),
            ..Default::default()
        }
    }

    async fn inspect_named(
        &self,
        docker: &Docker,
        name: &str,
    ) -> Result<Option<EngineInfo>, DriverError> {
        match docker.inspect_container(name, None).await {
            Ok(c) => Ok(Some(self.info_from_inspect(c))),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(map_error(e, name)),
        }
    }

    fn info_from_inspect(&self, c: ContainerInspectResponse) -> EngineInfo {
        let name = c
            .name
            .as_deref()
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_default();
        let config = c.config.unwrap_or_default();
        let labels = config.labels.unwrap_or_default();
        let state = match c.state.and_then(|s| s.status) {
            Some(ContainerStateStatusEnum::CREATED) => EngineState::Created,
            Some(
                ContainerStateStatusEnum::RUNNING
                | ContainerStateStatusEnum::RESTARTING
                | ContainerStateStatusEnum::PAUSED
                | ContainerStateStatusEnum::STOPPING,
            ) => EngineState::Running,
            _ => EngineState::Exited,
        };
        let published = c
            .network_settings
            .and_then(|n| n.ports)
            .and_then(|mut ports| ports.remove(ENGINE_PORT_KEY).flatten())
            .and_then(|bindings| {
                bindings
                    .into_iter()
                    .find_map(|b| b.host_port.and_then(|p| p.parse::<u16>().ok()))
            });
        self.info(
            c.id.unwrap_or_default(),
            name,
            &labels,
            config.image.unwrap_or_default(),
            state,
            published,
        )
    }

    fn info_from_summary(&self, c: ContainerSummary) -> EngineInfo {
        let name = c
            .names
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_default();
        let labels = c.labels.unwrap_or_default();
        let state = match c.state {
            Some(ContainerSummaryStateEnum::CREATED) => EngineState::Created,
            Some(
                ContainerSummaryStateEnum::RUNNING
                | ContainerSummaryStateEnum::RESTARTING
                | ContainerSummaryStateEnum::PAUSED
                | ContainerSummaryStateEnum::STOPPING,
            ) => EngineState::Running,
            _ => EngineState::Exited,
        };
        let published = c.ports.unwrap_or_default().into_iter().find_map(|p| {
            (p.private_port == ENGINE_PORT && p.ip.as_deref() == Some("127.0.0.1"))
                .then_some(p.public_port)
                .flatten()
        });
        self.info(
            c.id.unwrap_or_default(),
            name,
            &labels,
            c.image.unwrap_or_default(),
            state,
            published,
        )
    }

    fn info(
        &self,
        id: String,
        name: String,
        labels: &HashMap<String, String>,
        image: String,
        state: EngineState,
        published: Option<u16>,
    ) -> EngineInfo {
        let base_url = match (state, self.runtime.engine_addressing) {
            (EngineState::Running, EngineAddressing::Network) => {
                Some(format!("http://{name}:{ENGINE_PORT}"))
            }
            (EngineState::Running, EngineAddressing::Loopback) => {
                published.map(|port| format!("http://127.0.0.1:{port}"))
            }
            _ => None,
        };
        EngineInfo {
            id,
            game_id: labels
                .get(LABEL_GAME_ID)
                .and_then(|v| v.parse::<uuid::Uuid>().ok())
                .map(GameId),
            engine_version: labels.get(LABEL_ENGINE_VERSION).cloned(),
            name,
            image,
            state,
            base_url,
        }
    }
}

impl ContainerRuntime for DockerDriver {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn ensure_image<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let docker = self.client()?;
            let policy = self.runtime.image_pull_policy;
            if policy != ImagePullPolicy::Always {
                match docker.inspect_image(image).await {
                    Ok(_) => return Ok(()),
                    Err(e) if status_of(&e) == Some(404) => {}
                    Err(e) => return Err(map_error(e, image)),
                }
            }
            if policy == ImagePullPolicy::Never {
                return Err(DriverError::ImageUnavailable {
                    image: image.to_owned(),
                    message: "not present locally and the pull policy is never".to_owned(),
                });
            }
            self.pull(&docker, image).await
        })
    }

    fn create<'a>(
        &'a self,
        spec: &'a EngineSpec,
    ) -> BoxFuture<'a, Result<EngineInfo, DriverError>> {
        Box::pin(async move {
            let docker = self.client()?;
            let name = engine_name(spec.game_id);
            if let Some(existing) = self.inspect_named(&docker, &name).await? {
                return Ok(existing);
            }
            ContainerRuntime::prepare(self).await?;
            let owner = self.image_user(&docker, &spec.image).await?;
            let dir = spec.state_dir.clone();
            let run_as = tokio::task::spawn_blocking(move || prepare_state_dir(&dir, owner))
                .await
                .map_err(|e| DriverError::Failed(format!("state directory task: {e}")))?
                .map_err(|e| {
                    DriverError::Failed(format!(
                        "state directory {}: {e}",
                        spec.state_dir.display()
                    ))
                })?;
            let options = CreateContainerOptionsBuilder::default().name(&name).build();
            match docker
                .create_container(Some(options), self.container_body(spec, run_as))
                .await
            {
                Ok(_) => {}
                // Created concurrently under the same name: that one is ours.
                Err(e) if status_of(&e) == Some(409) => {}
                // A missing image or network: not "no such engine".
                Err(e) if status_of(&e) == Some(404) => {
                    return Err(DriverError::Failed(format!(
                        "creating {name}: {}",
                        daemon_message(e)
                    )));
                }
                Err(e) => return Err(map_error(e, &name)),
            }
            self.inspect_named(&docker, &name)
                .await?
                .ok_or(DriverError::NotFound(name))
        })
    }

    fn start<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<EngineInfo, DriverError>> {
        Box::pin(async move {
            let docker = self.client()?;
            // 304 (already running) counts as success in bollard.
            docker
                .start_container(name, None)
                .await
                .map_err(|e| map_error(e, name))?;
            self.inspect_named(&docker, name)
                .await?
                .ok_or_else(|| DriverError::NotFound(name.to_owned()))
        })
    }

    fn stop<'a>(
        &'a self,
        name: &'a str,
        grace: Duration,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let docker = self.client()?.with_timeout(REQUEST_TIMEOUT + grace);
            let options = StopContainerOptionsBuilder::default()
                .t(i32::try_from(grace_seconds(grace)).unwrap_or(i32::MAX))
                .build();
            // 304 (not running) counts as success in bollard.
            docker
                .stop_container(name, Some(options))
                .await
                .map_err(|e| map_error(e, name))
        })
    }

    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let docker = self.client()?;
            // Not forced: a running engine is stopped (with its grace) first.
            let options = RemoveContainerOptionsBuilder::default()
                .force(false)
                .build();
            match docker.remove_container(name, Some(options)).await {
                Ok(()) => Ok(()),
                Err(e) if status_of(&e) == Some(404) => Ok(()),
                Err(e) => Err(map_error(e, name)),
            }
        })
    }

    fn inspect<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<EngineInfo>, DriverError>> {
        Box::pin(async move {
            let docker = self.client()?;
            self.inspect_named(&docker, name).await
        })
    }

    fn prepare(&self) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            if !self
                .network_ready
                .load(std::sync::atomic::Ordering::Acquire)
            {
                self.ensure_network().await?;
                self.network_ready
                    .store(true, std::sync::atomic::Ordering::Release);
            }
            Ok(())
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(DockerDriver::ping(self))
    }

    fn close(&self, _grace: Duration) -> BoxFuture<'_, ()> {
        DockerDriver::close(self);
        Box::pin(async {})
    }

    fn run_once<'a>(
        &'a self,
        image: &'a str,
        state_dir: &'a Path,
        args: Vec<String>,
    ) -> BoxFuture<'a, Result<RunOutput, DriverError>> {
        Box::pin(self.run_once_in(image, state_dir, args))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<EngineInfo>, DriverError>> {
        Box::pin(async move {
            let docker = self.client()?;
            let filters = HashMap::from([("label", vec![format!("{LABEL_BACKEND}=1")])]);
            let options = ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build();
            let containers = docker
                .list_containers(Some(options))
                .await
                .map_err(|e| map_error(e, "containers"))?;
            Ok(containers
                .into_iter()
                .map(|c| self.info_from_summary(c))
                .collect())
        })
    }
}

/// Creates the state directory and makes it the engine user's. Returns the
/// user the container must run as when the directory cannot be given away
/// (a backend without `CAP_CHOWN`): then the engine runs as the directory's
/// owner instead, which the engine does not mind.
fn prepare_state_dir(dir: &Path, owner: Option<(u32, u32)>) -> io::Result<Option<String>> {
    std::fs::create_dir_all(dir)?;
    let Some((uid, gid)) = owner else {
        return Ok(None);
    };
    let meta = std::fs::metadata(dir)?;
    if meta.uid() == uid && meta.gid() == gid {
        return Ok(None);
    }
    match std::os::unix::fs::chown(dir, Some(uid), Some(gid)) {
        Ok(()) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            Ok(Some(format!("{}:{}", meta.uid(), meta.gid())))
        }
        Err(e) => Err(e),
    }
}

/// [`prepare_state_dir`] for a replay's copy of a state directory: every
/// file and directory in it is given to the image's user, so the replay can
/// read it; when that is not allowed the replay runs as the copy's owner.
fn prepare_replay_dir(dir: &Path, owner: Option<(u32, u32)>) -> io::Result<Option<String>> {
    let run_as = prepare_state_dir(dir, owner)?;
    if let (None, Some((uid, gid))) = (&run_as, owner) {
        chown_tree(dir, uid, gid)?;
    }
    Ok(run_as)
}

fn chown_tree(dir: &Path, uid: u32, gid: u32) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        std::os::unix::fs::lchown(&path, Some(uid), Some(gid))?;
        if std::fs::symlink_metadata(&path)?.is_dir() {
            chown_tree(&path, uid, gid)?;
        }
    }
    Ok(())
}

/// `uid[:gid]` of an image's `User`; `Ok(None)` for root or unset, `Err`
/// for a user name (which only the image's own `/etc/passwd` could resolve).
fn parse_user(user: &str) -> Result<Option<(u32, u32)>, ()> {
    let (uid, gid) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    if uid.is_empty() || uid == "root" {
        return Ok(None);
    }
    let uid: u32 = uid.parse().map_err(drop)?;
    let gid: u32 = match gid {
        Some(g) => g.parse().map_err(drop)?,
        None => uid,
    };
    Ok((uid != 0).then_some((uid, gid)))
}

/// Splits `repo[:tag]` for the pull API, which pulls every tag of a
/// repository when given none; a digest reference is passed whole.
fn split_reference(image: &str) -> (&str, Option<&str>) {
    if image.contains('@') {
        return (image, None);
    }
    let last_segment = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_segment..].rfind(':') {
        Some(i) => (
            &image[..last_segment + i],
            Some(&image[last_segment + i + 1..]),
        ),
        None => (image, Some("latest")),
    }
}

/// Whole seconds of a grace period, rounded up (Docker takes seconds).
fn grace_seconds(grace: Duration) -> i64 {
    let secs = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// The HTTP status of a daemon answer, if the error is one.
fn status_of(err: &BollardError) -> Option<u16> {
    match err {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Daemon-connection failures are `Unavailable` (retry later), a 404 is
/// `NotFound(what)`, everything else `Failed` with the daemon's message.
fn map_error(err: BollardError, what: &str) -> DriverError {
    if is_connection_error(&err) {
        return DriverError::Unavailable(err.to_string());
    }
    match status_of(&err) {
        Some(404) => DriverError::NotFound(what.to_owned()),
        _ => DriverError::Failed(daemon_message(err)),
    }
}

/// Whether the daemon could not be reached at all (as opposed to answering).
fn is_connection_error(err: &BollardError) -> bool {
    matches!(
        err,
        BollardError::SocketNotFoundError(_)
            | BollardError::HyperLegacyError { .. }
            | BollardError::HyperResponseError { .. }
            | BollardError::IOError { .. }
            | BollardError::RequestTimeoutError
    )
}

/// What the daemon said, without bollard's wrapping.
fn daemon_message(err: BollardError) -> String {
    match err {
        BollardError::DockerResponseServerError { message, .. } => message,
        BollardError::DockerStreamError { error } => error,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_user_is_read_as_uid_and_gid() {
        assert_eq!(parse_user("65532:65532"), Ok(Some((65532, 65532))));
        assert_eq!(parse_user("1000"), Ok(Some((1000, 1000))));
        assert_eq!(parse_user(""), Ok(None));
        assert_eq!(parse_user("root"), Ok(None));
        assert_eq!(parse_user("0:0"), Ok(None));
        assert_eq!(parse_user("nobody"), Err(()));
    }

    #[test]
    fn a_reference_without_a_tag_pulls_latest_only() {
        assert_eq!(
            split_reference("galaxy/game:0.1.0"),
            ("galaxy/game", Some("0.1.0"))
        );
        assert_eq!(
            split_reference("galaxy/game"),
            ("galaxy/game", Some("latest"))
        );
        assert_eq!(
            split_reference("registry:5000/galaxy/game"),
            ("registry:5000/galaxy/game", Some("latest"))
        );
        assert_eq!(
            split_reference("registry:5000/galaxy/game:1.2.3"),
            ("registry:5000/galaxy/game", Some("1.2.3"))
        );
        assert_eq!(
            split_reference("game@sha256:abc"),
            ("game@sha256:abc", None)
        );
    }

    #[test]
    fn a_grace_period_rounds_up_to_whole_seconds() {
        assert_eq!(grace_seconds(Duration::from_secs(10)), 10);
        assert_eq!(grace_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(grace_seconds(Duration::ZERO), 0);
    }
}
