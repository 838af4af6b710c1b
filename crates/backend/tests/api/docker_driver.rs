//! The `docker` runtime driver against the machine's real Docker daemon and
//! the real engine image (`galaxy/game:0.1.0`, `make engine-image`). The
//! tests run on the host, so engines are reached through their port
//! published on 127.0.0.1. Every container a test makes is removed when the
//! test ends, failed or not.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use galaxy_backend::config::{
    DockerConfig, EngineAddressing, ImagePullPolicy, RuntimeConfig, RuntimeDriver,
};
use galaxy_backend::ids::GameId;
use galaxy_backend::runtime::docker::DockerDriver;
use galaxy_backend::runtime::driver::{
    ContainerRuntime, DriverError, EngineInfo, EngineSpec, EngineState, engine_name,
};
use serde_json::{Value, json};

const IMAGE: &str = "galaxy/game:0.1.0";
const ENGINE_VERSION: &str = "0.1.0";
const NETWORK: &str = "galaxy-test";
/// The engine image's user (scripts/engine-image.sh).
const ENGINE_UID: u32 = 65532;

fn runtime_config(policy: ImagePullPolicy, addressing: EngineAddressing) -> RuntimeConfig {
    RuntimeConfig {
        worker_pool_size: 1,
        job_queue_size: 1,
        reconcile_interval: Duration::from_secs(60),
        image_pull_policy: policy,
        container_log_driver: "json-file".to_owned(),
        container_log_opts: vec![("max-size".to_owned(), "1m".to_owned())],
        container_cpu_quota: 1.5,
        container_memory_bytes: 256 * 1024 * 1024,
        container_pids_limit: 64,
        container_state_mount: "/var/lib/galaxy-game".to_owned(),
        stop_grace_period: Duration::from_secs(5),
        driver: RuntimeDriver::Docker,
        engine_addressing: addressing,
        engine_versions: Vec::new(),
        process_binaries: Vec::new(),
    }
}

fn driver_with(host: &str, policy: ImagePullPolicy, addressing: EngineAddressing) -> DockerDriver {
    let docker = DockerConfig {
        host: host.to_owned(),
        network: NETWORK.to_owned(),
    };
    DockerDriver::new(&docker, &runtime_config(policy, addressing))
}

/// A loopback-addressed driver on the local daemon, its network ensured.
async fn driver(policy: ImagePullPolicy) -> DockerDriver {
    let driver = driver_with(
        "unix:///var/run/docker.sock",
        policy,
        EngineAddressing::Loopback,
    );
    driver.ensure_network().await.expect("network");
    driver
}

/// Removes the named containers (forced) when dropped, so a failing
/// assertion leaves nothing running behind.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker").args(["rm", "-f", name]).output();
        }
    }
}

/// A fresh game: its spec (state under `root`) and the guard removing its container.
fn game(root: &Path) -> (EngineSpec, Cleanup) {
    let game_id = GameId::new_random();
    let spec = EngineSpec {
        game_id,
        engine_version: ENGINE_VERSION.to_owned(),
        image: IMAGE.to_owned(),
        state_dir: root.join(game_id.to_string()),
    };
    (spec, Cleanup(vec![engine_name(game_id)]))
}

/// `docker inspect` of one object as JSON.
fn docker_inspect(kind: &str, name: &str) -> Value {
    let out = Command::new("docker")
        .args([kind, "inspect", name])
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "docker {kind} inspect {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    all[0].clone()
}

fn base_url(info: &EngineInfo) -> String {
    info.base_url
        .clone()
        .expect("a running engine has a base URL")
}

/// Polls `/healthz` (bounded) until the engine answers.
async fn wait_healthy(base: &str) -> Value {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            return r.json().await.expect("healthz JSON");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the engine at {base} never answered /healthz");
}

#[tokio::test]
async fn a_started_engine_answers_healthz_on_loopback_and_carries_its_labels_and_limits() {
    let driver = driver(ImagePullPolicy::IfMissing).await;
    let root = tempfile::tempdir().unwrap();
    let (spec, _cleanup) = game(root.path());
    let name = engine_name(spec.game_id);

    driver.ensure_image(IMAGE).await.expect("present image");
    let created = driver.create(&spec).await.expect("create");
    assert_eq!(created.name, name);
    assert_eq!(created.state, EngineState::Created);
    assert_eq!(created.game_id, Some(spec.game_id));
    assert_eq!(created.engine_version.as_deref(), Some(ENGINE_VERSION));
    assert_eq!(created.image, IMAGE);
    assert_eq!(created.base_url, None, "not running yet");

    let owner = std::fs::metadata(&spec.state_dir).expect("state dir created");
    assert_eq!((owner.uid(), owner.gid()), (ENGINE_UID, ENGINE_UID));

    let inspected = docker_inspect("container", &name);
    let labels = &inspected["Config"]["Labels"];
    assert_eq!(labels["galaxy.backend"], "1");
    assert_eq!(labels["galaxy.game_id"], spec.game_id.to_string());
    assert_eq!(labels["galaxy.engine_version"], ENGINE_VERSION);
    let host = &inspected["HostConfig"];
    assert_eq!(host["NanoCpus"], 1_500_000_000i64);
    assert_eq!(host["Memory"], 256 * 1024 * 1024);
    assert_eq!(host["PidsLimit"], 64);
    assert_eq!(host["RestartPolicy"]["Name"], "no");
    assert_eq!(host["LogConfig"]["Type"], "json-file");
    assert_eq!(host["LogConfig"]["Config"]["max-size"], "1m");
    assert_eq!(host["NetworkMode"], NETWORK);
    assert_eq!(host["PortBindings"]["8080/tcp"][0]["HostIp"], "127.0.0.1");
    assert_eq!(inspected["Config"]["StopTimeout"], 5);
    assert_eq!(
        host["Mounts"][0]["Source"],
        spec.state_dir.display().to_string()
    );
    assert_eq!(host["Mounts"][0]["Target"], "/var/lib/galaxy-game");

    let started = driver.start(&name).await.expect("start");
    assert_eq!(started.state, EngineState::Running);
    let base = base_url(&started);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let health = wait_healthy(&base).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["initialised"], false);

    driver
        .stop(&name, Duration::from_secs(5))
        .await
        .expect("stop");
    driver.remove(&name).await.expect("remove");
}

#[tokio::test]
async fn a_stopped_engine_keeps_its_state_and_resumes_at_the_same_turn() {
    let driver = driver(ImagePullPolicy::Never).await;
    let root = tempfile::tempdir().unwrap();
    let (spec, _cleanup) = game(root.path());
    let name = engine_name(spec.game_id);
    driver.create(&spec).await.expect("create");
    let base = base_url(&driver.start(&name).await.expect("start"));
    wait_healthy(&base).await;

    let client = reqwest::Client::new();
    let init = json!({
        "game_id": spec.game_id.to_string(),
        "seed": 7,
        "races": [{"name": "Alpha"}, {"name": "Beta"}],
    });
    let r = client
        .post(format!("{base}/api/v1/admin/init"))
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let r = client
        .put(format!("{base}/api/v1/admin/turn"))
        .json(&json!({"turn": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());

    driver
        .stop(&name, Duration::from_secs(5))
        .await
        .expect("stop");
    let stopped = driver.inspect(&name).await.unwrap().expect("still there");
    assert_eq!(stopped.state, EngineState::Exited);
    assert_eq!(stopped.base_url, None);
    assert!(
        spec.state_dir.join("turns").is_dir(),
        "state kept on the host"
    );

    let base = base_url(&driver.start(&name).await.expect("restart"));
    let health = wait_healthy(&base).await;
    assert_eq!(health["initialised"], true);
    let status: Value = client
        .get(format!("{base}/api/v1/admin/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["turn"], 1, "{status}");
    assert_eq!(status["game_id"], spec.game_id.to_string());

    driver
        .stop(&name, Duration::from_secs(5))
        .await
        .expect("stop");
    driver.remove(&name).await.expect("remove");
}

#[tokio::test]
async fn create_start_stop_and_remove_are_idempotent() {
    let driver = driver(ImagePullPolicy::Never).await;
    let root = tempfile::tempdir().unwrap();
    let (spec, _cleanup) = game(root.path());
    let name = engine_name(spec.game_id);

    let first = driver.create(&spec).await.expect("create");
    let again = driver.create(&spec).await.expect("create again");
    assert_eq!(first.id, again.id, "the existing container is returned");

    // Stopping a container that never ran is fine.
    driver
        .stop(&name, Duration::from_secs(1))
        .await
        .expect("stop created");

    let started = driver.start(&name).await.expect("start");
    let restarted = driver.start(&name).await.expect("start a running one");
    assert_eq!(started.base_url, restarted.base_url);
    assert_eq!(
        driver.create(&spec).await.expect("create while running").id,
        first.id
    );

    driver
        .stop(&name, Duration::from_secs(5))
        .await
        .expect("stop");
    driver
        .stop(&name, Duration::from_secs(5))
        .await
        .expect("stop a stopped one");
    driver.remove(&name).await.expect("remove");
    driver.remove(&name).await.expect("remove a missing one");
    assert_eq!(driver.inspect(&name).await.expect("inspect"), None);

    assert!(matches!(
        driver.start(&name).await,
        Err(DriverError::NotFound(n)) if n == name
    ));
    assert!(matches!(
        driver.stop(&name, Duration::from_secs(1)).await,
        Err(DriverError::NotFound(_))
    ));
    assert!(
        spec.state_dir.is_dir(),
        "removing the container keeps the state"
    );
}

#[tokio::test]
async fn removing_a_running_engine_is_refused_until_it_is_stopped() {
    let driver = driver(ImagePullPolicy::Never).await;
    let root = tempfile::tempdir().unwrap();
    let (spec, _cleanup) = game(root.path());
    let name = engine_name(spec.game_id);
    driver.create(&spec).await.expect("create");
    driver.start(&name).await.expect("start");

    assert!(matches!(
        driver.remove(&name).await,
        Err(DriverError::Failed(_))
    ));

    driver
        .stop(&name, Duration::from_secs(5))
        .await
        .expect("stop");
    driver.remove(&name).await.expect("remove");
}

#[tokio::test]
async fn a_present_image_passes_the_never_and_if_missing_policies() {
    for policy in [ImagePullPolicy::Never, ImagePullPolicy::IfMissing] {
        let driver = driver(policy).await;
        driver
            .ensure_image(IMAGE)
            .await
            .unwrap_or_else(|e| panic!("{policy:?}: {e}"));
    }
}

#[tokio::test]
async fn a_missing_image_is_unavailable_under_every_pull_policy() {
    let missing = "galaxy/game-missing:9.9.9";
    for policy in [
        ImagePullPolicy::Never,
        ImagePullPolicy::IfMissing,
        ImagePullPolicy::Always,
    ] {
        let driver = driver(policy).await;
        match driver.ensure_image(missing).await {
            Err(DriverError::ImageUnavailable { image, message }) => {
                assert_eq!(image, missing);
                if policy == ImagePullPolicy::Never {
                    assert!(message.contains("never"), "{message}");
                } else {
                    // The daemon's own words about the failed pull (which
                    // depend on the machine's network, so only their presence).
                    assert!(
                        !message.is_empty() && message != missing,
                        "{policy:?}: {message}"
                    );
                    assert!(!message.contains("pull policy"), "{policy:?}: {message}");
                }
            }
            other => panic!("{policy:?}: expected ImageUnavailable, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_always_policy_pulls_even_a_present_image() {
    // No registry is reachable here, so the pull (and the call) fails.
    let driver = driver(ImagePullPolicy::Always).await;
    assert!(matches!(
        driver.ensure_image(IMAGE).await,
        Err(DriverError::ImageUnavailable { .. })
    ));
}

#[tokio::test]
async fn creating_from_a_missing_image_is_image_unavailable() {
    let driver = driver(ImagePullPolicy::Never).await;
    let root = tempfile::tempdir().unwrap();
    let (mut spec, _cleanup) = game(root.path());
    spec.image = "galaxy/game-missing:9.9.9".to_owned();
    assert!(matches!(
        driver.create(&spec).await,
        Err(DriverError::ImageUnavailable { .. })
    ));
}

#[tokio::test]
async fn list_finds_labelled_engines_and_ignores_other_containers() {
    let driver = driver(ImagePullPolicy::Never).await;
    let root = tempfile::tempdir().unwrap();
    let (spec, mut cleanup) = game(root.path());
    let name = engine_name(spec.game_id);
    let stranger = format!("galaxy-test-stranger-{}", GameId::new_random());
    cleanup.0.push(stranger.clone());

    driver.create(&spec).await.expect("create");
    let out = Command::new("docker")
        .args(["create", "--name", &stranger, IMAGE])
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let listed = driver.list().await.expect("list");
    let ours = listed
        .iter()
        .find(|e| e.name == name)
        .expect("the labelled engine is listed");
    assert_eq!(ours.game_id, Some(spec.game_id));
    assert_eq!(ours.engine_version.as_deref(), Some(ENGINE_VERSION));
    assert_eq!(ours.state, EngineState::Created);
    assert!(listed.iter().all(|e| e.name != stranger));

    let base = base_url(&driver.start(&name).await.expect("start"));
    let listed = driver.list().await.expect("list");
    let ours = listed.iter().find(|e| e.name == name).expect("listed");
    assert_eq!(ours.state, EngineState::Running);
    assert_eq!(ours.base_url.as_deref(), Some(base.as_str()));

    driver
        .stop(&name, Duration::from_secs(5))
        .await
        .expect("stop");
    driver.remove(&name).await.expect("remove");
}

#[tokio::test]
async fn on_the_network_an_engine_is_addressed_by_its_name() {
    let driver = driver_with(
        "unix:///var/run/docker.sock",
        ImagePullPolicy::Never,
        EngineAddressing::Network,
    );
    driver.ensure_network().await.expect("network");
    let root = tempfile::tempdir().unwrap();
    let (spec, _cleanup) = game(root.path());
    let name = engine_name(spec.game_id);
    driver.create(&spec).await.expect("create");
    let started = driver.start(&name).await.expect("start");

    assert_eq!(
        started.base_url.as_deref(),
        Some(format!("http://{name}:8080").as_str())
    );
    let inspected = docker_inspect("container", &name);
    assert_eq!(
        inspected["HostConfig"]["PortBindings"]
            .as_object()
            .map_or(0, |m| m.len()),
        0,
        "nothing is published"
    );

    driver
        .stop(&name, Duration::from_secs(5))
        .await
        .expect("stop");
    driver.remove(&name).await.expect("remove");
}

/// Removes a Docker network (every network of that name) when dropped.
struct RemoveNetwork(String);

impl Drop for RemoveNetwork {
    fn drop(&mut self) {
        let out = Command::new("docker")
            .args([
                "network",
                "ls",
                "-q",
                "--filter",
                &format!("name=^{}$", self.0),
            ])
            .output();
        if let Ok(out) = out {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("docker").args(["network", "rm", id]).output();
            }
        }
    }
}

fn driver_on_network(network: &str) -> DockerDriver {
    let docker = DockerConfig {
        host: "unix:///var/run/docker.sock".to_owned(),
        network: network.to_owned(),
    };
    DockerDriver::new(
        &docker,
        &runtime_config(ImagePullPolicy::Never, EngineAddressing::Loopback),
    )
}

fn networks_named(network: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("name=^{network}$"),
        ])
        .output()
        .expect("docker CLI");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn ensure_network_creates_a_missing_bridge_once() {
    let network = format!("galaxy-test-net-{}", &GameId::new_random().to_string()[..8]);
    let _cleanup = RemoveNetwork(network.clone());
    let driver = driver_on_network(&network);

    driver.ensure_network().await.expect("create");
    let first = docker_inspect("network", &network);
    assert_eq!(first["Driver"], "bridge");
    driver.ensure_network().await.expect("again");
    assert_eq!(docker_inspect("network", &network)["Id"], first["Id"]);
}

#[tokio::test]
async fn concurrent_ensure_network_calls_leave_exactly_one_network() {
    let network = format!("galaxy-test-net-{}", &GameId::new_random().to_string()[..8]);
    let _cleanup = RemoveNetwork(network.clone());
    let drivers: Vec<_> = (0..6).map(|_| driver_on_network(&network)).collect();

    let results = futures::future::join_all(drivers.iter().map(|d| d.ensure_network())).await;

    for result in results {
        result.expect("every caller succeeds");
    }
    assert_eq!(networks_named(&network).len(), 1);
}

#[tokio::test]
async fn an_unreachable_daemon_is_reported_as_unavailable() {
    let root = tempfile::tempdir().unwrap();
    let (spec, _cleanup) = game(root.path());
    for host in ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1"] {
        let driver = driver_with(host, ImagePullPolicy::IfMissing, EngineAddressing::Loopback);
        assert!(
            matches!(driver.list().await, Err(DriverError::Unavailable(_))),
            "{host}: list"
        );
        assert!(
            matches!(
                driver.ensure_image(IMAGE).await,
                Err(DriverError::Unavailable(_))
            ),
            "{host}: ensure_image"
        );
        assert!(
            matches!(driver.create(&spec).await, Err(DriverError::Unavailable(_))),
            "{host}: create"
        );
        assert!(
            matches!(
                driver.ensure_network().await,
                Err(DriverError::Unavailable(_))
            ),
            "{host}: ensure_network"
        );
        assert!(
            matches!(driver.ping().await, Err(DriverError::Unavailable(_))),
            "{host}: ping"
        );
    }
}
