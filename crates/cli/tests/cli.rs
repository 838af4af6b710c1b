//! The `galaxy` binary against the real stack: the backend in-process on a
//! fresh database (process runtime driver: the real `galaxy-game`), the dev
//! SMTP server it mails login codes to, and the reference gateway. Two
//! players, each with their own `GALAXY_CONFIG_DIR`, log in with mailed
//! codes, set up a private game, start it and play; assertions read the
//! `--json` output, the exit codes and the one-line errors.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use galaxy_devgate::{Config as GatewayConfig, Gateway};
use galaxy_devstack::smtp::{SmtpServer, SmtpServerOptions};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

#[allow(dead_code, unused_imports)]
#[path = "../../backend/tests/api/helpers/mod.rs"]
mod helpers;

use helpers::TestApp;

const ADMIN: &str = "root";
const ADMIN_PASSWORD: &str = "root-password-0001";

/// The backend, its SMTP server and the gateway in front of it.
struct Stack {
    app: TestApp,
    smtp: SmtpServer,
    gateway: String,
}

impl Stack {
    async fn start() -> Self {
        let smtp = SmtpServer::start(SmtpServerOptions::default())
            .await
            .expect("SMTP server");
        let app = TestApp::builder()
            .var("BACKEND_SMTP_PORT", smtp.port())
            .var("BACKEND_MAIL_WORKER_ENABLED", "false")
            .var("BACKEND_ADMIN_BOOTSTRAP_USER", ADMIN)
            .var("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", ADMIN_PASSWORD)
            .var("BACKEND_RUNTIME_DRIVER", "process")
            .var(
                "BACKEND_RUNTIME_PROCESS_BINARIES",
                engine_binary().display(),
            )
            .var("BACKEND_RUNTIME_STOP_GRACE_PERIOD", "5s")
            .spawn()
            .await;
        let vars = [
            ("DEVGATE_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("DEVGATE_BACKEND_URL", format!("http://{}", app.addr)),
            // The event stream (`galaxy watch`) subscribes to the push stream.
            ("DEVGATE_PUSH_URL", format!("http://{}", app.grpc_addr)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let gateway = Gateway::bind(GatewayConfig::from_vars(vars).expect("gateway config"))
            .await
            .expect("gateway binds");
        let url = format!("http://{}", gateway.local_addr());
        // Serves until the test's runtime ends.
        tokio::spawn(gateway.run_until(std::future::pending()));
        Self {
            app,
            smtp,
            gateway: url,
        }
    }

    /// A player with an empty config dir.
    fn player(&self) -> Player {
        Player {
            dir: tempfile::tempdir().expect("config dir"),
            gateway: self.gateway.clone(),
            backend: format!("http://{}", self.app.addr),
        }
    }

    /// Sends the queued mail and reads the newest login code mailed to `email`.
    async fn login_code(&self, email: &str) -> String {
        self.app
            .state
            .mail
            .worker()
            .tick_report()
            .await
            .expect("mail step");
        let body = self
            .smtp
            .messages()
            .iter()
            .rev()
            .find(|m| m.to.iter().any(|to| to == email))
            .expect("a login mail")
            .body_text()
            .expect("text body");
        let at = body.find("login code is ").expect("code line") + "login code is ".len();
        body[at..at + 6].to_owned()
    }

    /// Logs `player` in as `email` in two steps, as a script does: request
    /// the code, then `--code` it.
    async fn login(&self, player: &Player, email: &str) -> Value {
        let sent = player.ok(&["login", email]).await;
        assert_eq!(sent["status"], "code_sent", "{sent}");
        let code = self.login_code(email).await;
        player.ok(&["login", email, "--code", &code]).await
    }
}

/// One `GALAXY_CONFIG_DIR` (`galaxy` creates it, in a temporary dir).
struct Player {
    dir: tempfile::TempDir,
    gateway: String,
    backend: String,
}

/// What a run of the binary printed and how it exited.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Player {
    /// A player whose gateway and backend do not answer (nothing listens on port 9).
    fn offline() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            gateway: "http://127.0.0.1:9".into(),
            backend: "http://127.0.0.1:9".into(),
        }
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("galaxy")
    }

    /// Runs `galaxy ARGS` with this player's settings (and `stdin`, if any).
    async fn run(&self, args: &[&str], stdin: Option<&str>, admin: bool) -> Run {
        let env: &[(&str, &str)] = if admin {
            &[
                ("GALAXY_ADMIN_USER", ADMIN),
                ("GALAXY_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ]
        } else {
            &[]
        };
        self.run_env(args, stdin, env).await
    }

    /// [`Player::run`] with extra environment variables.
    async fn run_env(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        let mut child = self.spawn(args, env);
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(stdin.unwrap_or("").as_bytes())
            .await
            .expect("stdin written");
        drop(pipe);
        Run::from(child.wait_with_output().await.expect("galaxy exits"))
    }

    /// Starts `galaxy ARGS` with this player's settings, every stream piped.
    fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_galaxy"))
            .args(args)
            .env("GALAXY_CONFIG_DIR", self.config_dir())
            .env("GALAXY_GATEWAY_URL", &self.gateway)
            .env("GALAXY_BACKEND_URL", &self.backend)
            .env_remove("GALAXY_ADMIN_USER")
            .env_remove("GALAXY_ADMIN_PASSWORD")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the galaxy binary runs")
    }

    /// `galaxy ARGS` (tables for people), which must succeed; its output.
    async fn table(&self, args: &[&str]) -> String {
        let run = self.run(args, None, false).await;
        assert_eq!(run.code, 0, "galaxy {args:?} failed:\n{}", run.stderr);
        run.stdout
    }

    /// `galaxy --json ARGS`, which must succeed; its JSON document.
    async fn ok(&self, args: &[&str]) -> Value {
        self.ok_with(args, None, false).await
    }

    async fn ok_with(&self, args: &[&str], stdin: Option<&str>, admin: bool) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        json_of(args, self.run(&all, stdin, admin).await)
    }
}

/// The one JSON document a successful run printed.
fn json_of(args: &[&str], run: Run) -> Value {
    assert_eq!(
        run.code, 0,
        "galaxy {args:?} failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "galaxy {args:?}: not one JSON document ({e}):\n{}",
            run.stdout
        )
    })
}

/// The engine binary next to `galaxy` in the target dir.
fn engine_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_galaxy")).with_file_name("galaxy-game");
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build -p galaxy-game` first",
        path.display()
    );
    path
}

/// Two logged-in players and a private game alice owns, bob joined by
/// invite, started and running at turn 0.
async fn started_game(stack: &Stack) -> (Player, Player, String) {
    let alice = stack.player();
    let bob = stack.player();

    // Login by mailed code; the key is private to its owner.
    let logged = stack.login(&alice, "alice@example.com").await;
    assert_eq!(logged["account_created"], true, "{logged}");
    let key = alice.config_dir().join("device.key");
    assert_eq!(file_mode(&key), 0o600);
    assert_eq!(file_mode(&alice.config_dir()), 0o700);
    let me = alice.ok(&["whoami"]).await;
    assert_eq!(me["user_id"], logged["user_id"]);
    let sessions = alice.ok(&["sessions"]).await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1, "{sessions}");
    assert_eq!(
        sessions["items"][0]["device_session_id"],
        logged["device_session_id"]
    );
    // Logging in again replaces the device's session (the old one ends).
    let again = stack.login(&alice, "alice@example.com").await;
    assert_eq!(again["account_created"], false, "{again}");
    let sessions = alice.ok(&["sessions"]).await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1, "{sessions}");
    assert_eq!(
        sessions["items"][0]["device_session_id"],
        again["device_session_id"]
    );
    stack.login(&bob, "bob@example.com").await;
    let bob_name = bob.ok(&["whoami"]).await["user_name"]
        .as_str()
        .unwrap()
        .to_owned();

    // A private game: alice creates it and invites bob, who accepts.
    let game = alice
        .ok(&[
            "game",
            "create",
            "CLI test",
            "--race-name",
            "Zorgons",
            "--max-races",
            "4",
        ])
        .await;
    assert_eq!(game["status"], "enrollment_open", "{game}");
    let game_id = game["game_id"].as_str().unwrap().to_owned();
    let invite = alice.ok(&["game", "invite", &game_id, &bob_name]).await;
    let invites = bob.ok(&["game", "invites"]).await;
    assert_eq!(invites["items"][0]["invite_id"], invite["invite_id"]);
    let member = bob
        .ok(&[
            "game",
            "accept",
            invite["invite_id"].as_str().unwrap(),
            "--race-name",
            "Klingons",
        ])
        .await;
    assert_eq!(member["status"], "active", "{member}");
    let mine = bob.ok(&["games", "--mine"]).await;
    assert_eq!(mine["items"][0]["game_id"], game_id.as_str());

    // The owner starts it and waits for the engine.
    let started = alice.ok(&["game", "start", &game_id, "--wait"]).await;
    assert_eq!(started["status"], "running", "{started}");

    (alice, bob, game_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_log_in_set_up_a_game_start_it_and_play_a_turn() {
    let stack = Stack::start().await;
    let (alice, bob, game_id) = started_game(&stack).await;

    // Orders from a file and from stdin; read back.
    let orders = alice.config_dir().join("orders.txt");
    std::fs::write(&orders, "#GALAXY g Zorgons - 0\np #1 drive\n#END\n").unwrap();
    let stored = alice
        .ok(&["orders", "submit", &game_id, orders.to_str().unwrap()])
        .await;
    assert_eq!(stored["turn"], 0, "{stored}");
    assert_eq!(stored["orders"].as_array().unwrap().len(), 1, "{stored}");
    let stored = bob
        .ok_with(
            &["orders", "submit", &game_id, "-"],
            Some("#GALAXY g Klingons - 0\np #1 drive\nk nonsense\n#END\n"),
            false,
        )
        .await;
    assert_eq!(stored["mistakes"][0]["code"], "syntax", "{stored}");
    let shown = alice.ok(&["orders", "show", &game_id]).await;
    assert_eq!(shown["orders"][0]["order"]["kind"], "produce", "{shown}");

    // Edited in $EDITOR: a script adds a line; saved unchanged, nothing is sent.
    let editor = alice.dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/^#END$/m 10 10 50\\n#END/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let editor = editor.display().to_string();
    let edit = ["--json", "orders", "edit", game_id.as_str()];
    let edited = json_of(
        &edit,
        alice.run_env(&edit, None, &[("EDITOR", &editor)]).await,
    );
    assert_eq!(
        edited["orders"][1]["order"]["kind"], "map_window",
        "{edited}"
    );
    let unchanged = json_of(
        &edit,
        alice.run_env(&edit, None, &[("EDITOR", "true")]).await,
    );
    assert_eq!(unchanged["changed"], false, "{unchanged}");

    // Where the game stands, and the report.
    let status = alice.ok(&["status", &game_id]).await;
    assert_eq!(status["turn"], 0, "{status}");
    assert_eq!(status["race"], "Zorgons", "{status}");
    assert_eq!(status["races"].as_array().unwrap().len(), 2, "{status}");
    let report = alice
        .run(&["report", &game_id, "--text"], None, false)
        .await;
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(report.stdout.contains("Zorgons"), "{}", report.stdout);
    let report = alice.ok(&["report", &game_id]).await;
    assert_eq!(report["turn"], 0);

    // The same for people: tables.
    let table = alice.table(&["status", &game_id]).await;
    assert!(table.contains("ORDERS IN"), "{table}");
    assert!(table.contains("Klingons"), "{table}");
    let table = bob.table(&["games", "--mine"]).await;
    assert!(
        table.lines().nth(1).unwrap().contains("CLI test"),
        "{table}"
    );
    let table = bob.table(&["orders", "show", &game_id]).await;
    assert!(table.contains("p #1 DRIVE"), "{table}");
    for args in [
        vec!["game", "show", game_id.as_str()],
        vec!["report", game_id.as_str()],
        vec!["orders", "show", game_id.as_str(), "--text"],
        vec!["sessions"],
        vec!["whoami"],
    ] {
        eprintln!("$ galaxy {}\n{}", args.join(" "), alice.table(&args).await);
    }

    // An admin runs the next turn; the game moves on to turn 1.
    let runtimes = alice.ok_with(&["admin", "runtimes"], None, true).await;
    assert!(
        runtimes["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["game_id"] == game_id.as_str()),
        "{runtimes}"
    );
    let wrong = alice
        .run_env(
            &["admin", "runtimes"],
            None,
            &[
                ("GALAXY_ADMIN_USER", ADMIN),
                ("GALAXY_ADMIN_PASSWORD", "not-the-password"),
            ],
        )
        .await;
    assert_eq!(wrong.code, 1);
    assert_eq!(
        wrong.stderr,
        "error: the admin username or password is wrong (GALAXY_ADMIN_USER / GALAXY_ADMIN_PASSWORD)\n"
    );
    alice
        .ok_with(&["admin", "force-next-turn", &game_id], None, true)
        .await;
    // The engine's turn moves first; the backend takes orders for it once
    // its runtime is `running` again (meanwhile: turn 0 is being generated).
    let mut status = Value::Null;
    for _ in 0..600 {
        status = alice.ok(&["status", &game_id]).await;
        if status["turn"] == 1 && status["runtime_status"] == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status["turn"], 1, "the forced turn did not run: {status}");
    assert_eq!(status["runtime_status"], "running", "{status}");

    // Orders for the closed turn: one line, exit 1.
    let late = alice
        .run(
            &[
                "orders",
                "submit",
                &game_id,
                orders.to_str().unwrap(),
                "--turn",
                "0",
            ],
            None,
            false,
        )
        .await;
    assert_eq!(late.code, 1, "{}", late.stderr);
    assert_eq!(
        late.stderr,
        "error: turn 0 has closed; your orders were not accepted — resubmit for turn 1\n"
    );

    // Logout ends the session on the server too.
    let out = alice.ok(&["logout"]).await;
    assert_eq!(out["logged_out"], true);
    let after = alice.run(&["whoami"], None, false).await;
    assert_eq!(after.code, 1);
    assert_eq!(
        after.stderr,
        "error: not logged in; run `galaxy login EMAIL` first\n"
    );
    let sessions = bob.ok(&["sessions"]).await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1);
}

/// A running `galaxy watch`, and the rest of its stderr (being read).
struct Watching {
    child: tokio::process::Child,
    stderr: tokio::task::JoinHandle<String>,
}

/// Starts `galaxy watch ARGS` for `player` and waits until it is connected
/// (its "Watching" line on stderr).
async fn watching(player: &Player, args: &[&str]) -> Watching {
    let mut all = vec!["--json", "watch"];
    all.extend_from_slice(args);
    let mut child = player.spawn(&all, &[]);
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    loop {
        match lines.next_line().await.expect("stderr") {
            Some(line) if line.starts_with("Watching for events") => break,
            Some(_) => {}
            None => panic!("galaxy watch ended: {:?}", child.wait_with_output().await),
        }
    }
    let stderr = tokio::spawn(async move {
        let mut rest = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push_str(&line);
            rest.push('\n');
        }
        rest
    });
    Watching { child, stderr }
}

/// What a watch printed once it exited (bounded).
async fn watched(watching: Watching) -> Run {
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        watching.child.wait_with_output(),
    )
    .await
    .expect("galaxy watch exits")
    .expect("galaxy watch output");
    let mut run = Run::from(out);
    run.stderr = watching.stderr.await.expect("stderr read");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_the_next_turn_and_stops_when_the_session_ends() {
    let stack = Stack::start().await;
    let (alice, bob, game_id) = started_game(&stack).await;

    // Until the next turn of the game: one JSON object, then exit 0.
    let watch = watching(&bob, &["--game", &game_id, "--until", "game.turn.ready"]).await;
    alice
        .ok_with(&["admin", "force-next-turn", &game_id], None, true)
        .await;
    let run = watched(watch).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let event: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON line");
    assert_eq!(event["kind"], "game.turn.ready", "{event}");
    assert_eq!(event["payload"]["game_id"], game_id.as_str(), "{event}");
    assert_eq!(event["payload"]["turn"], 1, "{event}");

    // The session revoked (by `galaxy logout` from another process): one
    // line, exit 1.
    let watch = watching(&bob, &[]).await;
    bob.ok(&["logout"]).await;
    let run = watched(watch).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("error: this device's session was ended"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn usage_errors_exit_2_and_an_unreachable_gateway_is_one_line() {
    let player = Player::offline();
    let bad = player
        .run(&["game", "show", "not-a-uuid"], None, false)
        .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("invalid value 'not-a-uuid'"),
        "{}",
        bad.stderr
    );

    let down = player.run(&["login", "x@example.com"], None, false).await;
    assert_eq!(down.code, 1);
    assert!(
        down.stderr
            .starts_with("error: cannot reach the gateway at http://127.0.0.1:9: "),
        "{}",
        down.stderr
    );
    assert_eq!(down.stderr.lines().count(), 1, "{}", down.stderr);

    let no_code = player
        .run(&["login", "x@example.com", "--code", "123456"], None, false)
        .await;
    assert_eq!(no_code.code, 1);
    assert!(
        no_code.stderr.contains("no login code was requested"),
        "{}",
        no_code.stderr
    );

    let admin = player.run(&["admin", "runtimes"], None, false).await;
    assert_eq!(admin.code, 2, "{}", admin.stderr);
}

#[tokio::test]
async fn help_and_completions_print_and_exit_0() {
    let player = Player::offline();
    let help = player.run(&["--help"], None, false).await;
    assert_eq!(help.code, 0);
    for command in ["login", "orders", "watch", "admin", "completions"] {
        assert!(help.stdout.contains(command), "{}", help.stdout);
    }
    let bash = player.run(&["completions", "bash"], None, false).await;
    assert_eq!(bash.code, 0);
    assert!(bash.stdout.contains("_galaxy"), "{}", bash.stdout);
}

fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
