//! **Engine faults.** The real backend binary with the `docker` driver
//! (engines on published loopback ports) plays one private game of three
//! races on a 24 h schedule, every turn driven by the admin's
//! force-next-turn, while the engine under it fails three ways — each part
//! on its own stack (database, backend, game), after one ordinary turn:
//!
//! 1. **`kill`**: orders in for turn N, the turn forced, and the engine
//!    container `docker kill`ed while it holds the turn (the engine image is
//!    re-tagged with its TEST ONLY turn delay, 1.5 s, so "mid-turn" is a
//!    moment the scenario can see: the engine's status reads
//!    `generation: in_progress`). The game must pause (`game.paused` for
//!    every member), the reconciler (1 s) bring the engine back on its state,
//!    the game resume and the forced turn run exactly once.
//! 2. **`dockerd`**: the Docker daemon stopped (SIGTERM: without
//!    live-restore its containers die with it), the turn forced while it is
//!    down (the scheduler finds the engine gone: paused), the daemon started
//!    again as `scripts/ensure-docker.sh` starts it; the reconciler brings
//!    the engine back, the game resumes and the turn runs once. The backend
//!    is never restarted.
//! 3. **`hang`**: the engine container frozen (`docker pause`) with
//!    `BACKEND_ENGINE_CALL_TIMEOUT` at 5 s and the reconciler held off
//!    (10 min), the turn forced: the call times out and the game pauses; the
//!    owner's resume is refused while the engine hangs (`503`), the engine
//!    is thawed, the owner resumes, and the turn runs once (the engine may
//!    have run it late, from the request it read when thawed: the resume
//!    then takes the engine's turn and no second turn follows).
//!
//! After each part: the engine's turn is N + 1 and stays so over a quiet
//! 3 s (no double turn), the record and the lobby agree, every member has
//! one `game.turn.ready` for N + 1 and none for N + 2, one `game.paused`
//! for turn N, and the engine's stored order set for turn N holds every
//! race's lines (the turn ran on the orders sent before the fault).
//!
//! `GALAXY_CHAOS_ENGINE_FAULTS` picks the parts (comma-separated, default
//! `kill,dockerd,hang`). `dockerd` restarts the machine's Docker daemon:
//! every other container on it dies. Needs the engine image
//! `galaxy/game:<version>` (`make engine-image`); leaves no container, no
//! network and no image of its own behind, and the daemon running.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use galaxy_bench::runtime::{
    ADMIN, ADMIN_PASSWORD, Api, Members, enrollment_deadline, insert_account, set_up_games,
    start_all,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Outcome;

/// The variable that picks the parts.
pub const PARTS_VAR: &str = "GALAXY_CHAOS_ENGINE_FAULTS";
const ENGINE_VERSION: &str = "0.1.0";
const BASE_IMAGE: &str = "galaxy/game:0.1.0";
/// The engine image with its TEST ONLY turn delay set (made and removed here).
const SLOW_IMAGE: &str = "galaxy-chaos/game-slow:0.1.0";
const TURN_DELAY_MS: u64 = 1500;
const NETWORK: &str = "galaxy-chaos";
/// `BACKEND_ENGINE_CALL_TIMEOUT` in every part (the hang's bound).
const CALL_TIMEOUT: &str = "5s";
/// `BACKEND_LEADER_ELECTION_INTERVAL` (the `leader` part takes over within one).
const LEADER_INTERVAL: &str = "500ms";
/// How long nothing may happen after a recovery (the double-turn watch).
const QUIET: Duration = Duration::from_secs(3);
/// The bound of every wait for the backend to notice or recover.
const WAIT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(50);

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Kill,
    Dockerd,
    Hang,
    /// The leader backend SIGKILLed mid-turn, a standby on the same
    /// database (run by the `leader-loss` scenario, not by this one).
    Leader,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Kill => "kill",
            Part::Dockerd => "dockerd",
            Part::Hang => "hang",
            Part::Leader => "leader",
        }
    }

    /// The parts `GALAXY_CHAOS_ENGINE_FAULTS` names (all by default).
    fn selected() -> anyhow::Result<Vec<Part>> {
        let Ok(list) = std::env::var(PARTS_VAR) else {
            return Ok(vec![Part::Kill, Part::Dockerd, Part::Hang]);
        };
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "kill" => Ok(Part::Kill),
                "dockerd" => Ok(Part::Dockerd),
                "hang" => Ok(Part::Hang),
                other => bail!("{PARTS_VAR}: unknown part {other:?} (kill, dockerd, hang)"),
            })
            .collect()
    }
}

/// Runs the selected parts, each on its own stack; one line of figures per
/// part. The seed is unused: every fault moment is a state waited for.
pub async fn run(_seed: u64) -> anyhow::Result<Outcome> {
    let parts = Part::selected()?;
    ensure!(!parts.is_empty(), "{PARTS_VAR} names no part");
    docker(&["image", "inspect", "--format", "{{.Id}}", BASE_IMAGE])
        .with_context(|| format!("the engine image {BASE_IMAGE} is missing: make engine-image"))?;
    let _images = SlowImage::make()?;
    let mut passed = true;
    let mut lines = Vec::new();
    for part in parts {
        let outcome = match run_part(part).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::failed(format!("could not run: {e:#}")),
        };
        passed &= outcome.passed;
        lines.push(format!(
            "{}: {}{}",
            part.name(),
            if outcome.passed { "" } else { "FAILED " },
            outcome.figures
        ));
    }
    Ok(Outcome {
        passed,
        figures: lines.join("; "),
    })
}

/// The slow engine image, removed (with the scenario's network) on drop.
struct SlowImage;

impl SlowImage {
    fn make() -> anyhow::Result<Self> {
        let container = docker(&["create", BASE_IMAGE])?;
        let committed = docker(&[
            "commit",
            "--change",
            &format!("ENV GALAXY_GAME_TEST_TURN_DELAY_MS={TURN_DELAY_MS}"),
            &container,
            SLOW_IMAGE,
        ]);
        let _ = docker(&["rm", "-f", &container]);
        committed?;
        Ok(Self)
    }
}

impl Drop for SlowImage {
    fn drop(&mut self) {
        let _ = docker(&["network", "rm", NETWORK]);
        let _ = docker(&["image", "rm", SLOW_IMAGE]);
    }
}

async fn run_part(part: Part) -> anyhow::Result<Outcome> {
    let reconcile = if part == Part::Hang { "10m" } else { "1s" };
    // The daemon comes back whatever happens (dropped last).
    let _daemon = (part == Part::Dockerd).then_some(DaemonGuard);
    let mut play = Play::set_up(part, reconcile).await?;
    let result = fault(part, &mut play).await;
    // The daemon back before the cleanup needs it (a part that failed
    // half-way may have left it down).
    if part == Part::Dockerd {
        daemon_up();
    }
    let exit = play.stack.backend.terminate(Duration::from_secs(30)).await;
    play.remove_engine();
    play.stack.pool.close().await;
    let mut outcome = result?;
    match exit {
        Ok(Some(0)) => {}
        other => {
            outcome.passed = false;
            outcome
                .figures
                .push_str(&format!(", SIGTERM exit {other:?}"));
        }
    }
    Ok(outcome)
}

/// Starts the Docker daemon again if it is not answering (on drop).
struct DaemonGuard;

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        daemon_up();
    }
}

/// Starts the Docker daemon again if it does not answer.
fn daemon_up() {
    if docker(&["info", "--format", "{{.ID}}"]).is_err()
        && let Err(e) = ensure_docker()
    {
        eprintln!("engine-faults: cannot start the Docker daemon again: {e:#}");
    }
}

/// One part's stack and game.
struct Play {
    stack: crate::Stack,
    api: Api,
    http: reqwest::Client,
    game: String,
    /// `(user, race)` of every member, owner first.
    members: Vec<(Uuid, String)>,
    state_dir: PathBuf,
    container: String,
}

impl Play {
    async fn set_up(part: Part, reconcile: &str) -> anyhow::Result<Self> {
        let versions = format!("{ENGINE_VERSION}={SLOW_IMAGE}");
        let name = format!("engine_{}", part.name());
        let mut stack = crate::Stack::new(
            &name,
            &[
                ("BACKEND_LOGGING_LEVEL", "info"),
                ("BACKEND_ADMIN_BOOTSTRAP_USER", ADMIN),
                ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", ADMIN_PASSWORD),
                ("BACKEND_RUNTIME_DRIVER", "docker"),
                ("BACKEND_RUNTIME_ENGINE_ADDRESSING", "loopback"),
                ("BACKEND_DOCKER_NETWORK", NETWORK),
                ("BACKEND_RUNTIME_ENGINE_VERSIONS", &versions),
                ("BACKEND_RUNTIME_IMAGE_PULL_POLICY", "never"),
                ("BACKEND_ENGINE_CALL_TIMEOUT", CALL_TIMEOUT),
                ("BACKEND_RUNTIME_RECONCILE_INTERVAL", reconcile),
                ("BACKEND_RUNTIME_STOP_GRACE_PERIOD", "2s"),
                ("BACKEND_LEADER_ELECTION_INTERVAL", LEADER_INTERVAL),
            ],
        )
        .await?;
        stack.backend.start_ready().await?;
        let pool = &stack.pool;
        let mut members = Vec::new();
        for m in 0..3 {
            let user_name = format!("chaos-engine-{m}");
            let id = insert_account(pool, &user_name, "chaos.invalid").await?;
            members.push((id, user_name));
        }
        let deadline = enrollment_deadline(pool).await?;
        let addr = stack.backend.url().trim_start_matches("http://").to_owned();
        let api = Api::new(&addr);
        let members_of: Members = vec![members];
        let games = set_up_games(
            &api,
            &members_of,
            0..1,
            &json!({ "every": "24h" }),
            &deadline,
        )
        .await?;
        start_all(&api, &games, 0).await?;
        let game = games[0].0.clone();
        let mut play = Self {
            state_dir: std::env::temp_dir()
                .join(format!("galaxy-chaos-{name}"))
                .join("game-state")
                .join(&game),
            container: format!("galaxy-game-{game}"),
            stack,
            api,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()?,
            game,
            members: Vec::new(),
        };
        for (user, _) in &members_of[0] {
            let status = play.status_of(*user).await?;
            let race = status["race"]
                .as_str()
                .context("the play status names the race")?;
            play.members.push((*user, race.to_owned()));
        }
        Ok(play)
    }

    fn owner(&self) -> Uuid {
        self.members[0].0
    }

    /// `GET /user/games/{game}/status` as `user`.
    async fn status_of(&self, user: Uuid) -> anyhow::Result<Value> {
        self.api
            .user_get(user, &format!("/games/{}/status", self.game))
            .await
    }

    /// The runtime record (admin view).
    async fn record(&self) -> anyhow::Result<Value> {
        Ok(self
            .api
            .admin_get(&format!("/runtimes/{}", self.game))
            .await?["record"]
            .clone())
    }

    /// The engine's own status (`GET /api/v1/admin/status`), straight at it.
    async fn engine(&self) -> anyhow::Result<Value> {
        let record = self.record().await?;
        let base = record["base_url"]
            .as_str()
            .context("the record has no engine address")?;
        Ok(self
            .http
            .get(format!("{base}/api/v1/admin/status"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    async fn engine_turn(&self) -> anyhow::Result<u64> {
        self.engine().await?["turn"]
            .as_u64()
            .context("the engine's status has no turn")
    }

    /// Every member sends the three typed orders for `turn`; they read
    /// back.
    async fn send_orders(&self, turn: u64) -> anyhow::Result<()> {
        let orders = orders();
        for (user, _) in &self.members {
            let r = self
                .http
                .put(format!(
                    "{}/user/games/{}/orders",
                    self.api.base(),
                    self.game
                ))
                .header("X-User-ID", user.to_string())
                .header("X-Forwarded-For", "192.0.2.1")
                .json(&json!({ "turn": turn, "orders": orders }))
                .send()
                .await?;
            let status = r.status();
            ensure!(
                status.is_success(),
                "orders for turn {turn} answered {status}: {}",
                r.text().await.unwrap_or_default()
            );
            let back = self
                .api
                .user_get(*user, &format!("/games/{}/orders", self.game))
                .await?;
            ensure!(
                back["orders"] == orders,
                "the orders read back differ: {back}"
            );
        }
        Ok(())
    }

    /// The owner's `POST /user/games/{game}/resume`: status and body.
    async fn owner_resume(&self) -> anyhow::Result<(u16, Value)> {
        self.api
            .user_post_status(
                self.owner(),
                &format!("/games/{}/resume", self.game),
                &json!({}),
            )
            .await
    }

    async fn force(&self) -> anyhow::Result<()> {
        let (status, body) = self
            .api
            .admin_post(&format!("/runtimes/{}/force-next-turn", self.game))
            .await?;
        ensure!(status == 200, "force-next-turn answered {status}: {body}");
        Ok(())
    }

    /// Waits (bounded) until the owner's status satisfies `done`.
    async fn wait_status(
        &self,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let started = Instant::now();
        loop {
            let status = self.status_of(self.owner()).await;
            if let Ok(status) = &status
                && done(status)
            {
                return Ok(status.clone());
            }
            if started.elapsed() > WAIT {
                bail!("waited {WAIT:?} for {what}; last status: {status:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The push routes of the notifications of `kind` for this game at
    /// `turn` (one intent per game and turn fans out to one route per
    /// member): `(user, payload)`.
    async fn intents(&self, kind: &str, turn: u64) -> anyhow::Result<Vec<(Option<Uuid>, Value)>> {
        Ok(sqlx::query_as(
            "SELECT r.user_id, i.payload FROM notification_intents i
             JOIN notification_routes r USING (intent_id)
             WHERE i.kind = $1 AND i.payload->>'game_id' = $2 AND i.payload->>'turn' = $3
               AND r.channel = 'push'
             ORDER BY i.created_at",
        )
        .bind(kind)
        .bind(&self.game)
        .bind(turn.to_string())
        .fetch_all(&self.stack.pool)
        .await?)
    }

    /// Whether every member has exactly one intent of `kind` at `turn`.
    async fn one_each(&self, kind: &str, turn: u64) -> anyhow::Result<bool> {
        let intents = self.intents(kind, turn).await?;
        Ok(self.members.iter().all(|(user, _)| {
            intents
                .iter()
                .filter(|(u, _)| u.as_ref() == Some(user))
                .count()
                == 1
        }))
    }

    /// Waits (bounded) until every member has a `game.paused` at `turn`;
    /// returns its reason.
    async fn wait_paused(&self, turn: u64) -> anyhow::Result<String> {
        let started = Instant::now();
        loop {
            if self.one_each("game.paused", turn).await? {
                let intents = self.intents("game.paused", turn).await?;
                return Ok(intents
                    .first()
                    .and_then(|(_, p)| p["reason"].as_str())
                    .unwrap_or("?")
                    .to_owned());
            }
            if started.elapsed() > WAIT {
                bail!("no game.paused for every member at turn {turn} within {WAIT:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The line ids of `race` in the engine's stored order set for `turn`.
    fn stored_lines(&self, turn: u64, race: &str) -> anyhow::Result<Vec<String>> {
        let path = self
            .state_dir
            .join("orders")
            .join(format!("{turn:06}.json"));
        let stored: Value = serde_json::from_slice(
            &std::fs::read(&path).with_context(|| format!("{}", path.display()))?,
        )?;
        Ok(stored[race]["lines"]
            .as_array()
            .map(|lines| {
                lines
                    .iter()
                    .filter_map(|l| l["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// One ordinary forced turn from `turn` (orders in, forced, run once).
    async fn ordinary_turn(&self, turn: u64) -> anyhow::Result<Duration> {
        self.send_orders(turn).await?;
        let started = Instant::now();
        self.force().await?;
        self.wait_status("the ordinary turn", |s| {
            s["turn"] == turn + 1 && s["runtime_status"] == "running"
        })
        .await?;
        Ok(started.elapsed())
    }

    /// The checks after a recovery from a fault at turn `n`: what failed.
    async fn after_recovery(&self, n: u64) -> anyhow::Result<Vec<String>> {
        let mut failed = Vec::new();
        // Nothing more may happen: no second turn in a quiet spell.
        tokio::time::sleep(QUIET).await;
        let engine = self.engine_turn().await?;
        if engine != n + 1 {
            failed.push(format!("engine at turn {engine}, expected {}", n + 1));
        }
        let record = self.record().await?;
        if record["current_turn"] != n + 1 || record["status"] != "running" {
            failed.push(format!(
                "record {} at turn {}",
                record["status"], record["current_turn"]
            ));
        }
        let status = self.status_of(self.owner()).await?;
        if status["turn"] != n + 1 || status["game_status"] != "running" {
            failed.push(format!(
                "game {} at turn {}",
                status["game_status"], status["turn"]
            ));
        }
        if !self.one_each("game.turn.ready", n + 1).await? {
            failed.push(format!("not one game.turn.ready each for turn {}", n + 1));
        }
        if !self.intents("game.turn.ready", n + 2).await?.is_empty() {
            failed.push(format!("a game.turn.ready for turn {}", n + 2));
        }
        if self
            .state_dir
            .join("turns")
            .join(format!("{:06}.json", n + 2))
            .exists()
        {
            failed.push(format!("the engine stored turn {}", n + 2));
        }
        let wanted: Vec<String> = ["a1", "a2", "a3"].map(str::to_owned).to_vec();
        for (_, race) in &self.members {
            let lines = self.stored_lines(n, race)?;
            if lines != wanted {
                failed.push(format!("{race}'s stored orders for turn {n}: {lines:?}"));
            }
        }
        Ok(failed)
    }

    /// The game's engine container, removed (thawed first) whatever its
    /// state.
    fn remove_engine(&self) {
        let _ = docker(&["unpause", &self.container]);
        let _ = docker(&["rm", "-f", &self.container]);
    }
}

/// The orders every member sends each turn.
fn orders() -> Value {
    json!([
        { "id": "a1", "order": { "kind": "produce", "planet": "#1", "product": "drive" } },
        { "id": "a2", "order": { "kind": "set_option", "option": "BattleProtocol" } },
        { "id": "a3", "order": { "kind": "send", "unit": { "group": "max" }, "planet": "#2", "ships": 0 } },
    ])
}

/// Runs one part on a set-up game; its figures.
async fn fault(part: Part, play: &mut Play) -> anyhow::Result<Outcome> {
    let ordinary = play.ordinary_turn(0).await?;
    let n = 1;
    play.send_orders(n).await?;
    let mut notes = Vec::new();
    let fault_at;
    match part {
        Part::Kill => {
            play.force().await?;
            // Mid-turn: the engine holds the turn.
            let started = Instant::now();
            loop {
                if let Ok(engine) = play.engine().await
                    && engine["generation"] == "in_progress"
                {
                    break;
                }
                ensure!(started.elapsed() < WAIT, "the engine never held the turn");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            fault_at = Instant::now();
            docker(&["kill", &play.container])?;
        }
        Part::Dockerd => {
            let stopped_in = stop_docker().await?;
            notes.push(format!(
                "dockerd exited {:.1} s after SIGTERM",
                stopped_in.as_secs_f64()
            ));
            fault_at = Instant::now();
            play.force().await?;
        }
        Part::Hang => {
            fault_at = Instant::now();
            docker(&["pause", &play.container])?;
            play.force().await?;
        }
        Part::Leader => bail!("the leader part runs through leader_mid_turn"),
    }
    let reason = play.wait_paused(n).await?;
    let to_pause = fault_at.elapsed();
    let paused = play.status_of(play.owner()).await?;
    if paused["game_status"] != "paused" && paused["game_status"] != "running" {
        bail!("after game.paused the game is {}", paused["game_status"]);
    }
    let mut back_from = Instant::now();
    match part {
        Part::Kill | Part::Leader => {}
        Part::Dockerd => {
            ensure_docker()?;
            notes.push(format!(
                "daemon answering again {:.1} s after it exited",
                fault_at.elapsed().as_secs_f64()
            ));
        }
        Part::Hang => {
            // Refused while the engine hangs.
            let asked = Instant::now();
            let (status, body) = play.owner_resume().await?;
            if status != 503 {
                bail!("the owner's resume of a hanging engine answered {status}: {body}");
            }
            notes.push(format!(
                "the resume while frozen refused (503) in {:.1} s",
                asked.elapsed().as_secs_f64()
            ));
            docker(&["unpause", &play.container])?;
            back_from = Instant::now();
            let (status, body) = play.owner_resume().await?;
            ensure!(
                status == 200,
                "the owner's resume after the thaw answered {status}: {body}"
            );
            let at = play.engine_turn().await?;
            notes.push(format!(
                "resumed at engine turn {at} (the turn {} when thawed)",
                if at == n + 1 {
                    "ran late"
                } else {
                    "had not run"
                }
            ));
        }
    }
    play.wait_status("the game running again at the next turn", |s| {
        s["game_status"] == "running" && s["runtime_status"] == "running" && s["turn"] == n + 1
    })
    .await?;
    let to_back = back_from.elapsed();
    let mut failed = play.after_recovery(n).await?;
    let turn_ops: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM runtime_operations WHERE game_id = $1::uuid AND op = 'turn' AND state = 'succeeded'",
    )
    .bind(&play.game)
    .fetch_one(&play.stack.pool)
    .await
    .unwrap_or(-1);
    // The ordinary turn and the recovered one; the failed tick is logged
    // as failed.
    if turn_ops != 2 {
        failed.push(format!("{turn_ops} turn operations succeeded, expected 2"));
    }
    let passed = failed.is_empty();
    let mut figures = format!(
        "ordinary turn {:.2} s; paused ({reason}) {:.2} s after the fault, running at turn {} {:.2} s after {}, {turn_ops} turn ops logged, orders of {} races kept",
        ordinary.as_secs_f64(),
        to_pause.as_secs_f64(),
        n + 1,
        to_back.as_secs_f64(),
        match part {
            Part::Kill => "that (reconciler restart, forced turn)",
            Part::Dockerd => "the daemon's restart began",
            Part::Hang => "the thaw and the owner's resume",
            Part::Leader => "the leader's death",
        },
        play.members.len(),
    );
    for note in notes {
        figures.push_str(&format!(", {note}"));
    }
    if !passed {
        figures.push_str(&format!("; FAILED: {}", failed.join(", ")));
    }
    Ok(Outcome { passed, figures })
}

/// Runs the Docker CLI; its trimmed stdout, or an error with its stderr.
fn docker(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("docker").args(args).output()?;
    ensure!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `scripts/ensure-docker.sh`: starts `dockerd` the way the project does.
fn ensure_docker() -> anyhow::Result<()> {
    let script = repo().join("scripts/ensure-docker.sh");
    let status = Command::new(&script).arg(NETWORK).status()?;
    ensure!(status.success(), "{} failed", script.display());
    Ok(())
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// SIGTERM to `dockerd`; waits (bounded) until it exited; how long that
/// took.
async fn stop_docker() -> anyhow::Result<Duration> {
    let pid = String::from_utf8(
        Command::new("pgrep")
            .args(["-x", "dockerd"])
            .output()?
            .stdout,
    )?;
    let pid = pid
        .lines()
        .next()
        .context("no dockerd process (pgrep -x dockerd)")?
        .trim()
        .to_owned();
    Command::new("kill").args(["-TERM", &pid]).status()?;
    let started = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        ensure!(
            started.elapsed() < Duration::from_secs(60),
            "dockerd ({pid}) still runs 60 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(started.elapsed())
}

/// **Leader loss mid-turn** (for the `leader-loss` scenario): two backends
/// on one database, the game's turn forced through the standby (the
/// leader's scheduler is woken through PostgreSQL), the leader SIGKILLed
/// while the engine holds the turn. The standby must lead within one
/// election interval, finish the interrupted tick (once
/// `BACKEND_ENGINE_CALL_TIMEOUT` + 30 s have passed, so an engine still
/// computing is never asked twice) and the turn must run exactly once,
/// on the orders sent before; the killed backend rejoins as a standby.
pub(crate) async fn leader_mid_turn() -> anyhow::Result<Outcome> {
    docker(&["image", "inspect", "--format", "{{.Id}}", BASE_IMAGE])
        .with_context(|| format!("the engine image {BASE_IMAGE} is missing: make engine-image"))?;
    let _images = SlowImage::make()?;
    let mut play = Play::set_up(Part::Leader, "1s").await?;
    let scratch = std::env::temp_dir().join("galaxy-chaos-engine_leader");
    let mut standby = play
        .stack
        .backend
        .sibling(scratch.join("backend-standby.log"))?;
    standby.start_ready().await?;
    let result = leader_fault(&mut play, &mut standby).await;
    let exits = [
        standby.terminate(Duration::from_secs(30)).await,
        play.stack.backend.terminate(Duration::from_secs(30)).await,
    ];
    play.remove_engine();
    play.stack.pool.close().await;
    let mut outcome = result?;
    if !exits.iter().all(|e| matches!(e, Ok(Some(0)) | Ok(None))) {
        outcome.passed = false;
        outcome
            .figures
            .push_str(&format!(", SIGTERM exits {exits:?}"));
    }
    Ok(outcome)
}

async fn leader_fault(play: &mut Play, standby: &mut crate::Backend) -> anyhow::Result<Outcome> {
    let interval = galaxy_backend::config::parse_duration(LEADER_INTERVAL)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let http = play.http.clone();
    ensure!(
        play.stack.backend.role(&http).await.as_deref() == Some("leader")
            && standby.role(&http).await.as_deref() == Some("standby"),
        "the first backend should lead and the second stand by"
    );
    let ordinary = play.ordinary_turn(0).await?;
    let n = 1;
    play.send_orders(n).await?;
    // Forced through the standby: the leader's scheduler must hear of it.
    let standby_api = Api::new(standby.url().trim_start_matches("http://"));
    let forced_at = Instant::now();
    let (status, body) = standby_api
        .admin_post(&format!("/runtimes/{}/force-next-turn", play.game))
        .await?;
    ensure!(
        status == 200,
        "force-next-turn on the standby answered {status}: {body}"
    );
    loop {
        if let Ok(engine) = play.engine().await
            && engine["generation"] == "in_progress"
        {
            break;
        }
        ensure!(
            forced_at.elapsed() < WAIT,
            "the engine never held the forced turn"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let woken = forced_at.elapsed();
    play.stack.backend.kill9()?;
    let killed_at = Instant::now();
    let took_over = loop {
        if standby.role(&http).await.as_deref() == Some("leader") {
            break killed_at.elapsed();
        }
        ensure!(
            killed_at.elapsed() < WAIT,
            "the standby never took the lead"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // From now on everything goes through the survivor; the killed one
    // rejoins as a standby.
    play.api = standby_api;
    play.stack.backend.start_ready().await?;
    let rejoined = play.stack.backend.role(&http).await;
    play.wait_status("the interrupted turn completed by the new leader", |s| {
        s["game_status"] == "running" && s["runtime_status"] == "running" && s["turn"] == n + 1
    })
    .await?;
    let recovered = killed_at.elapsed();
    let mut failed = play.after_recovery(n).await?;
    if took_over > interval {
        failed.push(format!("take-over in {took_over:?}, over one interval"));
    }
    if rejoined.as_deref() != Some("standby") {
        failed.push(format!(
            "the restarted backend is {rejoined:?}, not a standby"
        ));
    }
    let turn_ops: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM runtime_operations WHERE game_id = $1::uuid AND op = 'turn' AND state = 'succeeded'",
    )
    .bind(&play.game)
    .fetch_one(&play.stack.pool)
    .await
    .unwrap_or(-1);
    let passed = failed.is_empty();
    let mut figures = format!(
        "game: ordinary turn {:.2} s; a force on the standby reached the leader's engine in {:.2} s; \
         leader SIGKILLed mid-turn, standby leading {:.0} ms later (limit {:.0} ms), \
         the turn completed once {:.1} s after the kill (call timeout {CALL_TIMEOUT} + 30 s grace), \
         {turn_ops} turn ops succeeded, orders of {} races kept, the killed backend back as {}",
        ordinary.as_secs_f64(),
        woken.as_secs_f64(),
        took_over.as_secs_f64() * 1e3,
        interval.as_secs_f64() * 1e3,
        recovered.as_secs_f64(),
        play.members.len(),
        rejoined.as_deref().unwrap_or("?"),
    );
    if !passed {
        figures.push_str(&format!("; FAILED: {}", failed.join(", ")));
    }
    Ok(Outcome { passed, figures })
}
