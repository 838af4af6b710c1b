//! The real `galaxy-backend` binary: `config check`, startup with bad
//! configuration, and graceful shutdown on SIGTERM with a request in flight.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::helpers::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_galaxy-backend");

/// A minimal valid environment for the binary.
pub fn base_env(dsn: &str, dir: &std::path::Path) -> Vec<(String, String)> {
    let geoip = dir.join("geo.mmdb");
    galaxy_devstack::geoip::write_fixture(&geoip).expect("fixture");
    [
        ("BACKEND_HTTP_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("BACKEND_GRPC_PUSH_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("BACKEND_OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("BACKEND_OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("BACKEND_LOGGING_LEVEL", "info".to_owned()),
        ("BACKEND_POSTGRES_DSN", dsn.to_owned()),
        ("BACKEND_SMTP_HOST", "127.0.0.1".to_owned()),
        ("BACKEND_SMTP_PORT", "9".to_owned()),
        ("BACKEND_SMTP_FROM", "galaxy@test.invalid".to_owned()),
        ("BACKEND_SMTP_TLS_MODE", "none".to_owned()),
        ("BACKEND_DOCKER_NETWORK", "galaxy-test".to_owned()),
        (
            "BACKEND_GAME_STATE_ROOT",
            dir.join("state").display().to_string(),
        ),
        ("BACKEND_GEOIP_DB_PATH", geoip.display().to_string()),
        ("BACKEND_ADMIN_BOOTSTRAP_USER", "root".to_owned()),
        (
            "BACKEND_ADMIN_BOOTSTRAP_PASSWORD",
            "correct-horse-battery".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn command(env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().cloned());
    cmd
}

#[test]
fn config_check_accepts_a_valid_environment() {
    let dir = tempfile::tempdir().unwrap();
    // `config check` validates without connecting, so the database need not exist.
    let dsn = crate::helpers::db::database_url("not_connected_by_config_check");
    let out = command(&base_env(&dsn, dir.path()))
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK"));
}

#[test]
fn config_check_names_the_variable_a_typo_meant() {
    let dir = tempfile::tempdir().unwrap();
    let dsn = crate::helpers::db::database_url("not_connected_by_config_check");
    let mut env = base_env(&dsn, dir.path());
    env.push(("BACKEND_HTTP_LISTEN_ADR".into(), "127.0.0.1:9999".into()));
    let out = command(&env).args(["config", "check"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "a typo is not fatal: {stderr}");
    assert!(
        stderr.contains("BACKEND_HTTP_LISTEN_ADR is not a variable galaxy-backend reads; did you mean BACKEND_HTTP_LISTEN_ADDR?"),
        "{stderr}"
    );
    // Also when the configuration is invalid: the typo may be why.
    env.retain(|(name, _)| name != "BACKEND_SMTP_HOST");
    env.push(("BACKEND_SMTP_HOTS".into(), "127.0.0.1".into()));
    let out = command(&env).args(["config", "check"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("BACKEND_SMTP_HOST: is required but not set"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean BACKEND_SMTP_HOST?"),
        "{stderr}"
    );
}

#[test]
fn bad_configuration_fails_once_naming_every_variable() {
    let env = vec![
        ("BACKEND_HTTP_READ_TIMEOUT".to_owned(), "soon".to_owned()),
        ("BACKEND_SMTP_TLS_MODE".to_owned(), "maybe".to_owned()),
        (
            "BACKEND_POSTGRES_DSN".to_owned(),
            "postgres://secret-password@127.0.0.1/galaxy".to_owned(),
        ),
        ("BACKEND_ADMIN_BOOTSTRAP_USER".to_owned(), "root".to_owned()),
    ];
    for args in [&["config", "check"][..], &[][..]] {
        let out = command(&env).args(args).output().unwrap();
        assert!(!out.status.success(), "must fail with {args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for variable in [
            "BACKEND_HTTP_READ_TIMEOUT",
            "BACKEND_SMTP_TLS_MODE",
            "BACKEND_POSTGRES_DSN",
            "BACKEND_ADMIN_BOOTSTRAP_PASSWORD",
            "BACKEND_SMTP_HOST",
            "BACKEND_SMTP_FROM",
            "BACKEND_DOCKER_NETWORK",
            "BACKEND_GAME_STATE_ROOT",
            "BACKEND_GEOIP_DB_PATH",
        ] {
            assert!(
                stderr.contains(variable),
                "{variable} not named in:\n{stderr}"
            );
        }
        assert!(
            !stderr.contains("secret-password"),
            "secrets never appear:\n{stderr}"
        );
    }
}

/// The running binary, with its log lines streamed to a channel.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub http: SocketAddr,
}

impl Running {
    pub fn start(env: &[(String, String)]) -> Running {
        let mut child = command(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut running = Running {
            child,
            lines,
            http: "0.0.0.0:0".parse().unwrap(),
        };
        let listening = running.wait_for_log("galaxy-backend listening");
        let value: serde_json::Value = serde_json::from_str(&listening).expect("JSON log line");
        running.http = value["http"]
            .as_str()
            .expect("http address field")
            .parse()
            .unwrap();
        running
    }

    fn wait_for_log(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line containing {needle:?}: {e}"),
            }
        }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit, then hands back the log lines not read yet.
    pub fn wait_with_rest(mut self) -> (std::process::ExitStatus, Vec<String>) {
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader thread ends at EOF, closing the channel.
                let rest =
                    std::iter::from_fn(|| self.lines.recv_timeout(Duration::from_secs(5)).ok())
                        .collect();
                return (status, rest);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("the process did not exit within 30 s");
    }
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_a_request_in_flight_and_exits_zero() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(&db.url(), dir.path());
    // With the metrics listener too: two listeners close at shutdown.
    env.retain(|(name, _)| name != "BACKEND_OTEL_METRICS_EXPORTER");
    env.push(("BACKEND_OTEL_METRICS_EXPORTER".into(), "prometheus".into()));
    env.push((
        "BACKEND_OTEL_PROMETHEUS_LISTEN_ADDR".into(),
        "127.0.0.1:0".into(),
    ));
    let mut app = Running::start(&env);
    let addr = app.http;
    let ready = tokio::task::spawn_blocking(move || {
        (0..200).any(|_| {
            let ok = http_get(addr, "/readyz").starts_with("HTTP/1.1 200");
            if !ok {
                std::thread::sleep(Duration::from_millis(50));
            }
            ok
        })
    })
    .await
    .unwrap();
    assert!(ready, "the binary became ready");

    // A request whose body is still arriving when SIGTERM lands.
    let body = br#"{"username":"drained-admin","password":"a-long-enough-password"}"#;
    let (head, tail) = body.split_at(10);
    let mut slow = TcpStream::connect(addr).unwrap();
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("root:correct-horse-battery");
    write!(
        slow,
        "POST /api/v1/admin/admin-accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    slow.write_all(head).unwrap();
    slow.flush().unwrap();

    app.signal("TERM");
    app.wait_for_log("HTTP listener closed");
    assert!(
        TcpStream::connect(addr).is_err(),
        "no new connections after SIGTERM"
    );

    slow.write_all(tail).unwrap();
    let mut response = String::new();
    slow.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the in-flight request completed: {response}"
    );

    let (status, rest) = app.wait_with_rest();
    assert!(status.success(), "exit status {status:?}");
    let again: Vec<_> = rest
        .iter()
        .filter(|l| l.contains("HTTP listener closed"))
        .collect();
    assert!(again.is_empty(), "logged once only, then again: {again:?}");
}

/// Polls `sql` (a single boolean) on `db` until true (bounded: 60 s).
pub async fn wait_until(db: &sqlx::PgPool, sql: &str, what: &str) {
    for _ in 0..600 {
        let done: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(db)
            .await
            .unwrap();
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_cut_short_by_sigkill_is_completed_exactly_once_by_the_next_process() {
    // The game is set up (three members, started) by an in-process app
    // whose loops are off; the binary then takes the start request.
    let app = crate::runtime::process_app().spawn().await;
    let game = crate::runtime::three_member_game(&app, "0.1.0").await;
    let db = app.into_database().await;
    let options: sqlx::postgres::PgConnectOptions = db.url().parse().unwrap();
    let pool = sqlx::PgPool::connect_with(options.options([("search_path", "backend")]))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    // An engine that takes 3 s to come up, so the kill lands mid-start.
    let slow = dir.path().join("slow-engine.sh");
    std::fs::write(
        &slow,
        format!(
            "#!/bin/sh\n/bin/sleep 3\nexec {} \"$@\"\n",
            crate::process_driver::engine_binary().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut env = base_env(&db.url(), dir.path());
    env.extend(
        [
            ("BACKEND_RUNTIME_DRIVER", "process".to_owned()),
            (
                "BACKEND_RUNTIME_PROCESS_BINARIES",
                slow.display().to_string(),
            ),
            (
                "BACKEND_RUNTIME_ENGINE_VERSIONS",
                "0.1.0=galaxy/game:0.1.0".to_owned(),
            ),
            ("BACKEND_LOBBY_SWEEPER_ENABLED", "false".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );

    let first = Running::start(&env);
    wait_until(
        &pool,
        "SELECT EXISTS (SELECT 1 FROM runtime_operations
                        WHERE op = 'start' AND started_at IS NOT NULL AND state = 'pending')",
        "the first process runs the start",
    )
    .await;
    first.signal("KILL");
    let (status, _) = first.wait_with_rest();
    assert!(!status.success());
    // The start is still leased to the dead process; its lease running out
    // is simulated rather than waited for.
    let leased: i64 = sqlx::query_scalar(
        "UPDATE runtime_operations SET lease_until = now(), next_attempt_at = now()
         WHERE state = 'pending' AND lease_token IS NOT NULL RETURNING op_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(leased > 0);

    let second = Running::start(&env);
    wait_until(
        &pool,
        &format!("SELECT status = 'running' FROM games WHERE game_id = '{game}'"),
        "the second process completes the start",
    )
    .await;
    // One start operation, succeeded on its first recorded attempt; the
    // engine initialised once; turn 0 announced once.
    let ops: Vec<(String, String, i32)> = sqlx::query_as(
        "SELECT op, state, attempts FROM runtime_operations WHERE game_id = $1::uuid",
    )
    .bind(&game)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(ops, [("start".to_owned(), "succeeded".to_owned(), 1)]);
    let base_url: String =
        sqlx::query_scalar("SELECT base_url FROM runtime_records WHERE game_id = $1::uuid")
            .bind(&game)
            .fetch_one(&pool)
            .await
            .unwrap();
    let status = crate::runtime::engine_client()
        .status(&base_url)
        .await
        .unwrap();
    assert_eq!((status.turn, status.races.len()), (0, 3));
    let announced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notification_intents
         WHERE kind = 'game.turn.ready' AND payload->>'game_id' = $1",
    )
    .bind(&game)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(announced, 1);

    // A graceful stop takes the engine down with the backend.
    second.signal("TERM");
    let (status, _) = second.wait_with_rest();
    assert!(status.success());
    let engine = reqwest::Client::new()
        .get(format!("{base_url}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(engine.is_err(), "the engine outlived the backend");
    pool.close().await;
    drop(db);
}
