//! The TEST ONLY turn delay (`GALAXY_GAME_TEST_TURN_DELAY_MS`,
//! `galaxy_game::http::TestKnobs`): a held turn reads `in_progress`, has not
//! run, and is lost (not half-run) when the engine is killed meanwhile. No
//! timing is asserted beyond the delay's lower bound: the tests wait for
//! the states they look at.

use galaxy_game::http::{AppState, TestKnobs, serve};
use galaxy_game::store::Store;
use galaxy_model::api::*;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn fresh_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "galaxy-game-knobs-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn init_body() -> serde_json::Value {
    json!({"game_id": "g-knobs", "seed": 7, "races": [{"name": "Alpha"}, {"name": "Beta"}]})
}

async fn status(c: &reqwest::Client, base: &str) -> StatusResponse {
    c.get(format!("{base}/api/v1/admin/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls the status until the turn call is seen in progress; fails if the
/// call finishes first (the delay did not hold it).
async fn wait_in_progress(
    c: &reqwest::Client,
    base: &str,
    turn_call: &tokio::task::JoinHandle<reqwest::Response>,
) -> StatusResponse {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = status(c, base).await;
        if st.generation == GenerationState::InProgress {
            return st;
        }
        assert!(
            !turn_call.is_finished(),
            "the turn call finished without ever reading in_progress"
        );
        assert!(Instant::now() < deadline, "the turn never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn the_knob_is_off_unless_set_to_a_positive_number() {
    let with = |value: Option<&str>| {
        TestKnobs::from_lookup(|name| {
            assert_eq!(name, TestKnobs::TURN_DELAY_VAR);
            value.map(str::to_owned)
        })
    };
    assert_eq!(with(None), Ok(TestKnobs::default()));
    assert_eq!(with(Some("")), Ok(TestKnobs::default()));
    assert_eq!(with(Some("0")), Ok(TestKnobs::default()));
    assert_eq!(
        with(Some("250")).unwrap().turn_delay,
        Some(Duration::from_millis(250))
    );
    let err = with(Some("2s")).unwrap_err();
    assert!(err.contains("GALAXY_GAME_TEST_TURN_DELAY_MS"), "{err}");
    assert_eq!(TestKnobs::TURN_DELAY_VAR, "GALAXY_GAME_TEST_TURN_DELAY_MS");
}

#[tokio::test]
async fn a_held_turn_reads_in_progress_and_runs_after_the_delay() {
    let delay = Duration::from_millis(1500);
    let dir = fresh_dir("inproc");
    let state = AppState::open_with(
        Store::open(&dir).unwrap(),
        TestKnobs {
            turn_delay: Some(delay),
        },
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve(listener, state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{base}/api/v1/admin/init"))
        .json(&init_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);

    let turn_call = tokio::spawn({
        let (c, base) = (c.clone(), base.clone());
        async move {
            c.put(format!("{base}/api/v1/admin/turn"))
                .json(&json!({"turn": 0}))
                .send()
                .await
                .unwrap()
        }
    });
    let held = wait_in_progress(&c, &base, &turn_call).await;
    // Accepted but not run: still turn 0, and nothing stored for turn 1.
    assert_eq!(held.turn, 0);
    assert!(!dir.join("turns").join("000001.json").exists());

    let r: RunTurnResponse = turn_call.await.unwrap().json().await.unwrap();
    assert!(r.ran);
    assert_eq!(r.status.turn, 1);
    assert!(r.elapsed_ms >= delay.as_millis() as u64, "{}", r.elapsed_ms);
    let after = status(&c, &base).await;
    assert_eq!((after.turn, after.generation), (1, GenerationState::Idle));

    let _ = stop.send(());
    server.await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real binary, its stdout lines collected by a thread.
struct Engine {
    child: Child,
    base: String,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Engine {
    fn spawn(dir: &Path, delay_ms: Option<&str>) -> Engine {
        // A free loopback port (released just before the engine binds it).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_galaxy-game"));
        cmd.env_clear()
            .env("GALAXY_GAME_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("GALAXY_GAME_STATE_DIR", dir)
            .env("GALAXY_GAME_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(ms) = delay_ms {
            cmd.env(TestKnobs::TURN_DELAY_VAR, ms);
        }
        let mut child = cmd.spawn().expect("the galaxy-game binary");
        let out = child.stdout.take().unwrap();
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let lines = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        Engine {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stdout,
        }
    }

    async fn wait_healthy(&mut self, c: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = c.get(format!("{}/healthz", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "the engine exited: {:?}",
                self.stdout.lock().unwrap()
            );
            assert!(Instant::now() < deadline, "the engine never answered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn warned(&self) -> bool {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("TEST KNOB SET") && l.contains(TestKnobs::TURN_DELAY_VAR))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_kill_during_the_delay_leaves_the_turn_unrun_and_the_binary_warns() {
    let dir = fresh_dir("binary");
    let c = reqwest::Client::new();
    // Ten minutes: the turn is held for the whole test.
    let mut engine = Engine::spawn(&dir, Some("600000"));
    engine.wait_healthy(&c).await;
    assert!(engine.warned(), "{:?}", engine.stdout.lock().unwrap());
    let r = c
        .post(format!("{}/api/v1/admin/init", engine.base))
        .json(&init_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let turn_call = tokio::spawn({
        let (c, url) = (c.clone(), format!("{}/api/v1/admin/turn", engine.base));
        async move { c.put(url).json(&json!({"turn": 0})).send().await.unwrap() }
    });
    let held = wait_in_progress(&c, &engine.base, &turn_call).await;
    assert_eq!(held.turn, 0);

    engine.child.kill().unwrap();
    engine.child.wait().unwrap();
    turn_call.abort();
    drop(engine);

    // Without the knob, on the same state: turn 0 is current and idle, and
    // runs normally.
    let mut engine = Engine::spawn(&dir, None);
    engine.wait_healthy(&c).await;
    assert!(!engine.warned());
    let st = status(&c, &engine.base).await;
    assert_eq!((st.turn, st.generation), (0, GenerationState::Idle));
    let r: RunTurnResponse = c
        .put(format!("{}/api/v1/admin/turn", engine.base))
        .json(&json!({"turn": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r.ran);
    assert_eq!(r.status.turn, 1);
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}
