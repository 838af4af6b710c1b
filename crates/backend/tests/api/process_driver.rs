//! The `process` runtime driver against the real `galaxy-game` binary:
//! start, the engine's API, stop and start on the same state, removal,
//! missing binaries, re-adoption by a new driver, and engines killed
//! behind the driver's back. Needs `target/debug/galaxy-game` (`make test`
//! builds it; `GALAXY_GAME_BIN` overrides the path).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use galaxy_backend::ids::GameId;
use galaxy_backend::runtime::driver::{
    ContainerRuntime, DriverError, EngineInfo, EngineSpec, EngineState, engine_name,
};
use galaxy_backend::runtime::process::{Binaries, ProcessDriver, REGISTRY_FILE};
use galaxy_model::api::{
    GameSettings, InitRace, InitRequest, RunTurnRequest, StatusResponse, paths,
};

const IMAGE: &str = "galaxy/game:0.1.0";
const GRACE: Duration = Duration::from_secs(5);

/// The engine binary built next to this test binary (or named by
/// `GALAXY_GAME_BIN`); tests never build it themselves.
pub fn engine_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("GALAXY_GAME_BIN") {
        return path.into();
    }
    let mut candidates = Vec::new();
    // target/debug/deps/api-HASH → target/debug/galaxy-game
    if let Ok(exe) = std::env::current_exe()
        && let Some(profile_dir) = exe.parent().and_then(Path::parent)
    {
        candidates.push(profile_dir.join("galaxy-game"));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(target).join("debug/galaxy-game"));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/galaxy-game"));
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the engine binary galaxy-game is not built (looked at {candidates:?}): \
                 run `cargo build -p galaxy-game` or `make test` first, \
                 or point GALAXY_GAME_BIN at it"
            )
        })
}

fn driver(root: &Path) -> ProcessDriver {
    ProcessDriver::new(root, Binaries::new().with(IMAGE, engine_binary()))
}

fn spec(root: &Path) -> EngineSpec {
    let game_id = GameId::new_random();
    EngineSpec {
        game_id,
        engine_version: "0.1.0".into(),
        image: IMAGE.into(),
        state_dir: root.join(game_id.to_string()),
    }
}

fn url(info: &EngineInfo, path: &str) -> String {
    let base = info
        .base_url
        .as_deref()
        .expect("a running engine has a base URL");
    format!("{base}{path}")
}

async fn status(info: &EngineInfo) -> StatusResponse {
    let r = reqwest::get(url(info, paths::STATUS))
        .await
        .expect("status");
    assert_eq!(r.status(), 200, "status answers");
    r.json().await.expect("a StatusResponse")
}

async fn init(info: &EngineInfo, game_id: GameId) -> StatusResponse {
    let body = InitRequest {
        game_id: game_id.to_string(),
        seed: 42,
        settings: GameSettings::default(),
        races: vec![
            InitRace {
                name: "Alpha".into(),
            },
            InitRace {
                name: "Beta".into(),
            },
        ],
    };
    let r = reqwest::Client::new()
        .post(url(info, paths::INIT))
        .json(&body)
        .send()
        .await
        .expect("init");
    assert_eq!(r.status(), 201, "init answers 201");
    r.json().await.expect("a StatusResponse")
}

async fn run_turn(info: &EngineInfo, turn: u32) {
    let r = reqwest::Client::new()
        .put(url(info, paths::TURN))
        .json(&RunTurnRequest { turn })
        .send()
        .await
        .expect("turn");
    assert_eq!(r.status(), 200, "the turn runs");
}

/// Polls `inspect` until the engine reaches `state` (the kernel reaps a
/// killed process asynchronously).
async fn await_state(driver: &ProcessDriver, name: &str, state: EngineState) -> EngineInfo {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = driver.inspect(name).await.unwrap().expect("engine known");
        if info.state == state {
            return info;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never became {state:?}: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn pid(info: &EngineInfo) -> i32 {
    info.id.parse().expect("a running engine's id is its pid")
}

fn sigkill(info: &EngineInfo) {
    // SAFETY: kill(2) on a pid this test started.
    assert_eq!(unsafe { libc::kill(pid(info), libc::SIGKILL) }, 0);
}

#[tokio::test]
async fn a_started_engine_answers_and_resumes_its_turn_after_stop_and_start() {
    let root = tempfile::tempdir().unwrap();
    let driver = driver(root.path());
    let spec = spec(root.path());
    let name = engine_name(spec.game_id);

    let created = driver.create(&spec).await.unwrap();
    assert_eq!(created.name, name);
    assert_eq!(created.state, EngineState::Created);
    assert_eq!(created.base_url, None);
    assert_eq!(created.game_id, Some(spec.game_id));
    assert_eq!(created.engine_version.as_deref(), Some("0.1.0"));
    assert_eq!(created.image, IMAGE);
    assert!(
        spec.state_dir.join(REGISTRY_FILE).is_file(),
        "create records the engine"
    );
    assert_eq!(
        driver.create(&spec).await.unwrap(),
        created,
        "create is idempotent"
    );

    let running = driver.start(&name).await.unwrap();
    assert_eq!(running.state, EngineState::Running);
    assert!(
        running
            .base_url
            .as_deref()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let health = reqwest::get(url(&running, paths::HEALTHZ)).await.unwrap();
    assert_eq!(health.status(), 200);
    let not_yet = reqwest::get(url(&running, paths::STATUS)).await.unwrap();
    assert_eq!(
        not_yet.status(),
        409,
        "status before init is not_initialised"
    );
    assert_eq!(
        driver.start(&name).await.unwrap(),
        running,
        "start is idempotent"
    );

    assert_eq!(init(&running, spec.game_id).await.turn, 0);
    run_turn(&running, 0).await;
    assert_eq!(status(&running).await.turn, 1);

    driver.stop(&name, GRACE).await.unwrap();
    let stopped = driver.inspect(&name).await.unwrap().unwrap();
    assert_eq!(stopped.state, EngineState::Exited);
    assert_eq!(stopped.base_url, None);
    assert!(
        reqwest::get(url(&running, paths::HEALTHZ)).await.is_err(),
        "nothing listens after stop"
    );
    driver.stop(&name, GRACE).await.unwrap();
    assert_eq!(
        driver.inspect(&name).await.unwrap().unwrap().state,
        EngineState::Exited,
        "stop is idempotent"
    );

    let again = driver.start(&name).await.unwrap();
    assert_eq!(again.state, EngineState::Running);
    let resumed = status(&again).await;
    assert_eq!(resumed.turn, 1, "the state was kept");
    assert_eq!(resumed.game_id, spec.game_id.to_string());
    driver.stop(&name, GRACE).await.unwrap();
}

#[tokio::test]
async fn remove_forgets_a_stopped_engine_and_keeps_its_state() {
    let root = tempfile::tempdir().unwrap();
    let driver = driver(root.path());
    let spec = spec(root.path());
    let name = engine_name(spec.game_id);
    driver.create(&spec).await.unwrap();
    driver.stop(&name, GRACE).await.unwrap();
    let running = driver.start(&name).await.unwrap();
    init(&running, spec.game_id).await;

    let refused = driver.remove(&name).await.unwrap_err();
    assert!(matches!(refused, DriverError::Failed(_)), "{refused:?}");

    driver.stop(&name, GRACE).await.unwrap();
    driver.remove(&name).await.unwrap();
    driver.remove(&name).await.unwrap();
    assert_eq!(driver.inspect(&name).await.unwrap(), None);
    assert!(driver.list().await.unwrap().is_empty());
    assert!(!spec.state_dir.join(REGISTRY_FILE).exists());
    assert!(
        spec.state_dir.join("turns").is_dir(),
        "the game's state stays"
    );
    assert!(matches!(
        driver.start(&name).await.unwrap_err(),
        DriverError::NotFound(_)
    ));
    assert!(matches!(
        driver.stop(&name, GRACE).await.unwrap_err(),
        DriverError::NotFound(_)
    ));

    // Created again on the same state, the engine resumes the game.
    driver.create(&spec).await.unwrap();
    let back = driver.start(&name).await.unwrap();
    assert_eq!(status(&back).await.turn, 0);
    driver.stop(&name, GRACE).await.unwrap();
}

#[tokio::test]
async fn an_image_without_an_engine_binary_is_unavailable() {
    let root = tempfile::tempdir().unwrap();
    let unmapped = ProcessDriver::new(root.path(), Binaries::new());
    let err = unmapped.ensure_image(IMAGE).await.unwrap_err();
    assert!(
        matches!(&err, DriverError::ImageUnavailable { image, .. } if image == IMAGE),
        "{err:?}"
    );
    let err = unmapped.create(&spec(root.path())).await.unwrap_err();
    assert!(
        matches!(err, DriverError::ImageUnavailable { .. }),
        "{err:?}"
    );

    let missing = ProcessDriver::new(
        root.path(),
        Binaries::single(root.path().join("no-such-binary")),
    );
    let err = missing.ensure_image(IMAGE).await.unwrap_err();
    assert!(
        matches!(err, DriverError::ImageUnavailable { .. }),
        "{err:?}"
    );

    driver(root.path()).ensure_image(IMAGE).await.unwrap();
}

#[tokio::test]
async fn a_child_that_exits_while_starting_fails_the_start_with_its_stderr() {
    let root = tempfile::tempdir().unwrap();
    let broken = script(
        root.path(),
        "broken-engine",
        "echo 'cannot open the state: disk on fire' >&2\nexit 3",
    );
    let driver = ProcessDriver::new(root.path(), Binaries::single(broken));
    let spec = spec(root.path());
    let name = engine_name(spec.game_id);
    driver.create(&spec).await.unwrap();

    let err = driver.start(&name).await.unwrap_err();
    let DriverError::Failed(message) = err else {
        panic!("expected Failed, got {err:?}");
    };
    assert!(message.contains("disk on fire"), "{message}");
    assert_eq!(
        driver.inspect(&name).await.unwrap().unwrap().state,
        EngineState::Created
    );
}

#[tokio::test]
async fn a_new_driver_on_the_same_root_re_adopts_the_running_engine() {
    let root = tempfile::tempdir().unwrap();
    let first = driver(root.path());
    let spec = spec(root.path());
    let name = engine_name(spec.game_id);
    first.create(&spec).await.unwrap();
    let running = first.start(&name).await.unwrap();
    init(&running, spec.game_id).await;
    // A backend that dies without running destructors while its engine
    // survives (what a restarted backend finds): no kill_on_drop.
    std::mem::forget(first);

    let second = driver(root.path());
    let listed = second.list().await.unwrap();
    assert_eq!(listed, vec![running.clone()], "re-adopted as it was");
    assert_eq!(status(&listed[0]).await.turn, 0);

    second.stop(&name, GRACE).await.unwrap();
    let stopped = second.inspect(&name).await.unwrap().unwrap();
    assert_eq!(stopped.state, EngineState::Exited);
    assert!(
        reqwest::get(url(&running, paths::HEALTHZ)).await.is_err(),
        "the adopted engine was stopped"
    );
    let again = second.start(&name).await.unwrap();
    assert_eq!(status(&again).await.turn, 0);
    second.stop(&name, GRACE).await.unwrap();
}

#[tokio::test]
async fn an_engine_killed_behind_the_drivers_back_is_exited_and_starts_again() {
    let root = tempfile::tempdir().unwrap();
    let driver = driver(root.path());
    let spec = spec(root.path());
    let name = engine_name(spec.game_id);
    driver.create(&spec).await.unwrap();
    let running = driver.start(&name).await.unwrap();
    init(&running, spec.game_id).await;

    sigkill(&running);
    let exited = await_state(&driver, &name, EngineState::Exited).await;
    assert_eq!(exited.base_url, None);
    assert_eq!(driver.list().await.unwrap(), vec![exited]);

    let again = driver.start(&name).await.unwrap();
    assert_eq!(status(&again).await.game_id, spec.game_id.to_string());
    driver.stop(&name, GRACE).await.unwrap();
}

#[tokio::test]
async fn a_new_driver_reports_an_engine_that_died_meanwhile_as_exited() {
    let root = tempfile::tempdir().unwrap();
    let first = driver(root.path());
    let spec = spec(root.path());
    let name = engine_name(spec.game_id);
    first.create(&spec).await.unwrap();
    let running = first.start(&name).await.unwrap();
    init(&running, spec.game_id).await;
    sigkill(&running);
    std::mem::forget(first);

    let second = driver(root.path());
    let listed = second.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, EngineState::Exited);
    assert_eq!(listed[0].game_id, Some(spec.game_id));

    let again = second.start(&name).await.unwrap();
    assert_eq!(status(&again).await.turn, 0, "restarted on the same state");
    second.stop(&name, GRACE).await.unwrap();
}

#[tokio::test]
async fn stop_all_stops_every_running_engine() {
    let root = tempfile::tempdir().unwrap();
    let driver = driver(root.path());
    let (a, b) = (spec(root.path()), spec(root.path()));
    for spec in [&a, &b] {
        driver.create(spec).await.unwrap();
        driver.start(&engine_name(spec.game_id)).await.unwrap();
    }
    driver.stop_all(GRACE).await.unwrap();
    let states: Vec<_> = driver
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.state)
        .collect();
    assert_eq!(states, vec![EngineState::Exited, EngineState::Exited]);
}

const HELPER_ROOT: &str = "PROCESS_DRIVER_HELPER_ROOT";

/// Not a test of its own: the "backend" that
/// `a_backend_killed_with_sigkill_takes_its_engines_down` runs in a
/// process of its own, then kills.
#[tokio::test]
#[ignore = "run by a_backend_killed_with_sigkill_takes_its_engines_down"]
async fn helper_backend_that_starts_an_engine_and_waits() {
    let Some(root) = std::env::var_os(HELPER_ROOT) else {
        return;
    };
    let root = PathBuf::from(root);
    let driver = driver(&root);
    let spec = spec(&root);
    driver.create(&spec).await.unwrap();
    let running = driver.start(&engine_name(spec.game_id)).await.unwrap();
    println!("ENGINE {} {}", running.id, running.base_url.unwrap());
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[tokio::test]
async fn a_backend_killed_with_sigkill_takes_its_engines_down() {
    use std::io::{BufRead, BufReader};
    let root = tempfile::tempdir().unwrap();
    let mut backend = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "process_driver::helper_backend_that_starts_an_engine_and_waits",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ROOT, root.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(backend.stdout.take().unwrap());
    let line = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            // libtest prints the test's name first, on the same line.
            let at = line.find("ENGINE ")?;
            Some(line[at + "ENGINE ".len()..].to_owned())
        })
        .expect("the helper started an engine");
    let mut words = line.split_whitespace();
    let pid: i32 = words.next().unwrap().parse().unwrap();
    let base = words.next().unwrap().to_owned();
    assert_eq!(
        reqwest::get(format!("{base}{}", paths::HEALTHZ))
            .await
            .unwrap()
            .status(),
        200
    );

    backend.kill().unwrap();
    backend.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    // SAFETY: signal 0 only asks whether the process exists.
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(
            Instant::now() < deadline,
            "engine {pid} outlived its backend"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        reqwest::get(format!("{base}{}", paths::HEALTHZ))
            .await
            .is_err()
    );
}

/// An executable shell script standing in for the engine binary.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn an_engine_that_never_answers_is_killed_and_fails_the_start() {
    let root = tempfile::tempdir().unwrap();
    let deaf = script(root.path(), "deaf-engine", "exec /bin/sleep 30");
    let driver = ProcessDriver::new(root.path(), Binaries::single(deaf))
        .with_startup_timeout(Duration::from_millis(300));
    let spec = spec(root.path());
    let name = engine_name(spec.game_id);
    driver.create(&spec).await.unwrap();

    let err = driver.start(&name).await.unwrap_err();
    let DriverError::Failed(message) = err else {
        panic!("expected Failed, got {err:?}");
    };
    assert!(message.contains("did not answer /healthz"), "{message}");
    assert_eq!(
        driver.inspect(&name).await.unwrap().unwrap().state,
        EngineState::Created
    );
}

#[tokio::test]
async fn list_and_inspect_answer_while_an_engine_is_starting() {
    let root = tempfile::tempdir().unwrap();
    let slow = script(
        root.path(),
        "slow-engine",
        &format!("/bin/sleep 1\nexec '{}'", engine_binary().display()),
    );
    let driver = std::sync::Arc::new(ProcessDriver::new(root.path(), Binaries::single(slow)));
    let spec = spec(root.path());
    let name = engine_name(spec.game_id);
    driver.create(&spec).await.unwrap();

    let starting = tokio::spawn({
        let (driver, name) = (driver.clone(), name.clone());
        async move { driver.start(&name).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let asked = Instant::now();
    let listed = driver.list().await.unwrap();
    let inspected = driver.inspect(&name).await.unwrap().unwrap();
    assert!(
        asked.elapsed() < Duration::from_millis(500),
        "list waited for the start"
    );
    assert_eq!(listed[0].state, EngineState::Created);
    assert_eq!(inspected.state, EngineState::Created);

    let running = starting.await.unwrap().unwrap();
    assert_eq!(running.state, EngineState::Running);
    assert_eq!(driver.list().await.unwrap(), vec![running]);
    driver.stop(&name, GRACE).await.unwrap();
}
