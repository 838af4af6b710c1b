//! The engine client against the real `galaxy-game` binary (built by
//! `make test` with the workspace; `cargo build -p galaxy-game` by hand),
//! each test on its own loopback port and temporary state directory, plus
//! listeners that never answer, closed ports and off-contract answers.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use galaxy_backend::config::EngineConfig;
use galaxy_backend::runtime::engine::{EngineClient, EngineError};
use galaxy_model::api::{
    CommandOutcome, GameSettings, GenerationState, InitRace, InitRequest, PutCommandRequest,
    PutOrdersRequest, RaceState,
};
use galaxy_model::order::{Order, OrderLine};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// `galaxy-game` next to this test binary (`target/debug/deps/api-…` →
/// `target/debug/galaxy-game`), or where `GALAXY_GAME_BIN` says.
fn engine_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("GALAXY_GAME_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("galaxy-game"))
        .collect();
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(target).join("debug/galaxy-game"));
    }
    candidates
        .push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/galaxy-game"));
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the galaxy-game binary is not built (looked at {candidates:?}): \
                 run `cargo build -p galaxy-game` (make test builds it)"
            )
        })
}

fn client() -> EngineClient {
    client_with(Duration::from_secs(10), Duration::from_secs(5))
}

fn client_with(call: Duration, probe: Duration) -> EngineClient {
    EngineClient::new(&EngineConfig {
        call_timeout: call,
        probe_timeout: probe,
    })
    .expect("client")
}

/// A free loopback port (nothing listens on it once this returns).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A `galaxy-game` child on a loopback port; killed when dropped.
struct Engine {
    child: Child,
    base_url: String,
    _state: tempfile::TempDir,
}

impl Engine {
    async fn start() -> Engine {
        let state = tempfile::tempdir().expect("state dir");
        let port = free_port();
        let child = Command::new(engine_binary())
            .env("GALAXY_GAME_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("GALAXY_GAME_STATE_DIR", state.path())
            .env("GALAXY_GAME_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn galaxy-game");
        let engine = Engine {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            _state: state,
        };
        let client = client();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match client.health(&engine.base_url).await {
                Ok(health) => {
                    assert_eq!(health.status, "ok");
                    break;
                }
                Err(e) if Instant::now() < deadline => {
                    assert!(e.is_unavailable(), "{e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("galaxy-game did not come up: {e}"),
            }
        }
        engine
    }

    /// An engine with a three-race game at turn 0.
    async fn with_game() -> Engine {
        let engine = Engine::start().await;
        client()
            .init(&engine.base_url, &three_races())
            .await
            .expect("init");
        engine
    }

    fn url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn three_races() -> InitRequest {
    InitRequest {
        game_id: "g-engine-client".into(),
        seed: 7,
        settings: GameSettings::default(),
        races: ["Alpha", "Beta", "Gamma"]
            .into_iter()
            .map(|name| InitRace { name: name.into() })
            .collect(),
    }
}

fn design(name: &str) -> Order {
    Order::DesignShip {
        name: name.into(),
        drive: 1.0,
        attacks: 0,
        weapons: 0.0,
        shields: 0.0,
        cargo: 0.0,
    }
}

fn line(id: &str, order: Order) -> OrderLine {
    OrderLine {
        id: id.into(),
        order,
    }
}

fn orders(race: &str, turn: u32, lines: Vec<OrderLine>) -> PutOrdersRequest {
    PutOrdersRequest {
        race: race.into(),
        turn,
        orders: lines,
        text: None,
    }
}

fn command(race: &str, turn: u32, id: &str, order: Option<Order>) -> PutCommandRequest {
    PutCommandRequest {
        race: race.into(),
        turn,
        id: id.into(),
        order,
    }
}

#[tokio::test]
async fn a_three_race_game_is_initialised_and_its_status_read_back() {
    let engine = Engine::start().await;
    let client = client();
    let health = client.health(engine.url()).await.unwrap();
    assert!(!health.initialised);
    assert!(!health.version.is_empty());

    let status = client.init(engine.url(), &three_races()).await.unwrap();
    assert_eq!(status.game_id, "g-engine-client");
    assert_eq!(status.turn, 0);
    let races: Vec<&str> = status.races.iter().map(|r| r.race.as_str()).collect();
    assert_eq!(races, ["Alpha", "Beta", "Gamma"]);
    assert!(status.races.iter().all(|r| r.state == RaceState::Alive));

    let read = client.status(engine.url()).await.unwrap();
    assert_eq!(read, status);
    assert_eq!(read.generation, GenerationState::Idle);
    assert!(client.health(engine.url()).await.unwrap().initialised);
}

#[tokio::test]
async fn orders_and_commands_edit_a_race_set_for_the_current_turn() {
    let engine = Engine::with_game().await;
    let client = client();

    let put = client
        .put_orders(
            engine.url(),
            &orders("Alpha", 0, vec![line("a1", design("Scout"))]),
        )
        .await
        .unwrap();
    assert_eq!((put.race.as_str(), put.turn), ("Alpha", 0));
    assert_eq!(put.orders, vec![line("a1", design("Scout"))]);
    assert!(put.mistakes.is_empty());

    let added = client
        .put_command(
            engine.url(),
            &command("Alpha", 0, "a2", Some(design("Drone"))),
        )
        .await
        .unwrap();
    assert_eq!(added.outcome, CommandOutcome::Added);
    assert_eq!(added.orders.len(), 2);
    let replaced = client
        .put_command(
            engine.url(),
            &command("Alpha", 0, "a2", Some(design("Probe"))),
        )
        .await
        .unwrap();
    assert_eq!(replaced.outcome, CommandOutcome::Replaced);
    assert_eq!(replaced.orders[1], line("a2", design("Probe")));
    let deleted = client
        .put_command(engine.url(), &command("Alpha", 0, "a1", None))
        .await
        .unwrap();
    assert_eq!(deleted.outcome, CommandOutcome::Deleted);
    assert_eq!(deleted.orders, vec![line("a2", design("Probe"))]);

    let stored = client.orders(engine.url(), "Alpha").await.unwrap();
    assert_eq!(stored.orders, deleted.orders);
    let status = client.status(engine.url()).await.unwrap();
    let orders_in: Vec<bool> = status.races.iter().map(|r| r.orders_in).collect();
    assert_eq!(orders_in, [true, false, false]);

    // Classic text orders: parsed into typed lines, bad lines as mistakes.
    let text = "#GALAXY g-engine-client Beta pw 0\nd Gunship 4 2 2 4 0\nk bogus\n#END\n";
    let put = client
        .put_orders(
            engine.url(),
            &PutOrdersRequest {
                text: Some(text.into()),
                ..orders("Beta", 0, vec![])
            },
        )
        .await
        .unwrap();
    assert_eq!(put.orders.len(), 1);
    assert_eq!(put.mistakes.len(), 1);
}

#[tokio::test]
async fn a_turn_runs_once_and_its_reports_are_read_as_json_and_text() {
    let engine = Engine::with_game().await;
    let client = client();
    client
        .put_orders(
            engine.url(),
            &orders("Alpha", 0, vec![line("1", design("Scout"))]),
        )
        .await
        .unwrap();

    let ran = client.run_turn(engine.url(), 0).await.unwrap();
    assert!(ran.ran);
    assert_eq!(ran.status.turn, 1);
    // Naming the turn just run again is a retry: nothing runs.
    let retry = client.run_turn(engine.url(), 0).await.unwrap();
    assert!(!retry.ran);
    assert_eq!(retry.status.turn, 1);

    let report = client.report(engine.url(), "Alpha", None).await.unwrap();
    assert_eq!(report.game_id, "g-engine-client");
    assert_eq!((report.race.as_str(), report.turn), ("Alpha", 1));
    assert!(report.ship_types.iter().any(|t| t.name == "Scout"));
    let past = client.report(engine.url(), "Alpha", Some(0)).await.unwrap();
    assert_eq!(past.turn, 0);

    let text = client
        .report_text(engine.url(), "Alpha", Some(1))
        .await
        .unwrap();
    assert!(text.contains("Alpha"), "{text}");
    assert!(text.contains("Scout"), "{text}");
    assert_eq!(
        client
            .report_text(engine.url(), "Alpha", None)
            .await
            .unwrap(),
        text,
        "the current turn by default"
    );
}

#[tokio::test]
async fn a_banished_race_is_out_and_can_no_longer_order() {
    let engine = Engine::with_game().await;
    let client = client();
    let status = client.banish(engine.url(), "Beta").await.unwrap();
    let beta = status.races.iter().find(|r| r.race == "Beta").unwrap();
    assert_eq!(beta.state, RaceState::Banished);
    // Idempotent.
    let again = client.banish(engine.url(), "Beta").await.unwrap();
    assert_eq!(again.races, status.races);

    let err = client
        .put_orders(engine.url(), &orders("Beta", 0, vec![]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::RaceNotAlive { message } if !message.is_empty()),
        "{err:?}"
    );
    assert_eq!(err.outcome(), "race_not_alive");
    let err = client.banish(engine.url(), "Nobody").await.unwrap_err();
    assert!(matches!(err, EngineError::UnknownRace { .. }), "{err:?}");
}

#[tokio::test]
async fn a_turn_that_is_not_current_is_a_turn_mismatch_naming_the_current_turn() {
    let engine = Engine::with_game().await;
    let client = client();
    let err = client.run_turn(engine.url(), 5).await.unwrap_err();
    assert!(
        matches!(&err, EngineError::TurnMismatch { current_turn: 0, message } if message.contains('5')),
        "{err:?}"
    );
    client.run_turn(engine.url(), 0).await.unwrap();
    let err = client
        .put_orders(engine.url(), &orders("Alpha", 0, vec![]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::TurnMismatch {
                current_turn: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let err = client
        .put_command(engine.url(), &command("Alpha", 3, "x", Some(design("A"))))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::TurnMismatch {
                current_turn: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn unknown_races_lines_and_reports_are_refused_with_their_codes() {
    let engine = Engine::with_game().await;
    let client = client();
    let err = client
        .put_orders(engine.url(), &orders("Delta", 0, vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::UnknownRace { .. }), "{err:?}");
    let err = client
        .report(engine.url(), "Delta", None)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::UnknownRace { .. }), "{err:?}");
    let err = client
        .put_command(engine.url(), &command("Alpha", 0, "nope", None))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::OrderNotFound { .. }), "{err:?}");
    let err = client
        .report(engine.url(), "Alpha", Some(9))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::ReportNotFound { .. }), "{err:?}");
    // Duplicate line ids are a malformed request.
    let err = client
        .put_orders(
            engine.url(),
            &orders(
                "Alpha",
                0,
                vec![line("1", design("A")), line("1", design("B"))],
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidRequest { .. }), "{err:?}");
}

#[tokio::test]
async fn init_is_refused_twice_and_game_calls_are_refused_before_it() {
    let engine = Engine::start().await;
    let client = client();
    let err = client.status(engine.url()).await.unwrap_err();
    assert!(matches!(err, EngineError::NotInitialised { .. }), "{err:?}");
    let err = client.run_turn(engine.url(), 0).await.unwrap_err();
    assert!(matches!(err, EngineError::NotInitialised { .. }), "{err:?}");

    client.init(engine.url(), &three_races()).await.unwrap();
    let err = client.init(engine.url(), &three_races()).await.unwrap_err();
    assert!(
        matches!(&err, EngineError::AlreadyInitialised { message } if !message.is_empty()),
        "{err:?}"
    );
    assert_eq!(err.outcome(), "already_initialised");
}

#[tokio::test]
async fn invalid_settings_name_the_field_at_fault() {
    let engine = Engine::start().await;
    let client = client();
    let bad_home = InitRequest {
        settings: GameSettings {
            home_planets: vec![0.0],
            ..GameSettings::default()
        },
        ..three_races()
    };
    let err = client.init(engine.url(), &bad_home).await.unwrap_err();
    match &err {
        EngineError::InvalidSettings { field, message } => {
            assert_eq!(field, "settings.home_planets[0]");
            assert!(message.contains("home planet sizes"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let no_races = InitRequest {
        races: vec![],
        ..three_races()
    };
    let err = client.init(engine.url(), &no_races).await.unwrap_err();
    assert!(
        matches!(&err, EngineError::InvalidSettings { field, .. } if field == "races"),
        "{err:?}"
    );
    // Nothing was initialised.
    assert!(!client.health(engine.url()).await.unwrap().initialised);
}

#[tokio::test]
async fn oversized_order_sets_and_bodies_are_refused_as_limits() {
    let engine = Engine::with_game().await;
    let client = client();
    let lines = (0..=galaxy_model::limits::MAX_ORDERS_PER_SET)
        .map(|i| line(&i.to_string(), design("A")))
        .collect();
    let err = client
        .put_orders(engine.url(), &orders("Alpha", 0, lines))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::LimitExceeded { field, .. } if field == "orders"),
        "{err:?}"
    );
    let huge = PutOrdersRequest {
        text: Some("x".repeat(galaxy_model::limits::MAX_BODY_BYTES)),
        ..orders("Alpha", 0, vec![])
    };
    let err = client.put_orders(engine.url(), &huge).await.unwrap_err();
    assert!(
        matches!(err, EngineError::PayloadTooLarge { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_wrong_base_url_is_a_protocol_error() {
    let engine = Engine::with_game().await;
    let client = client();
    let err = client
        .status(&format!("{}/not-the-engine", engine.url()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Protocol {
                status: Some(404),
                ..
            }
        ),
        "{err:?}"
    );
    let err = client.status("not a url").await.unwrap_err();
    assert!(
        matches!(err, EngineError::Protocol { status: None, .. }),
        "{err:?}"
    );
}

/// A listener that accepts connections and never answers them.
async fn silent_listener() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (base, task)
}

#[tokio::test]
async fn an_engine_that_never_answers_times_out_with_the_timeout_of_the_call_kind() {
    let (base, task) = silent_listener().await;
    let call = Duration::from_millis(400);
    let probe = Duration::from_millis(100);
    let client = client_with(call, probe);

    let started = Instant::now();
    let err = client.status(&base).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Timeout { op: "status", after } if after == probe),
        "{err:?}"
    );
    assert!(err.is_unavailable());
    assert!(started.elapsed() < call, "reads use the probe timeout");

    let err = client.run_turn(&base, 0).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Timeout { op: "turn", after } if after == call),
        "{err:?}"
    );
    assert_eq!(err.outcome(), "timeout");
    let err = client.health(&base).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Timeout { after, .. } if after == probe),
        "{err:?}"
    );
    task.abort();
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let base = format!("http://127.0.0.1:{}", free_port());
    let client = client();
    let err = client.health(&base).await.unwrap_err();
    assert!(matches!(err, EngineError::Unreachable { .. }), "{err:?}");
    assert!(err.is_unavailable());
    assert_eq!(err.code(), None);
    let err = client.init(&base, &three_races()).await.unwrap_err();
    assert!(matches!(err, EngineError::Unreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn an_answer_outside_the_contract_is_a_protocol_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let answers = [
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 3\r\nconnection: close\r\n\r\nbad",
        ];
        for answer in answers {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = socket.read(&mut buf).await;
            socket.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    let client = client();
    let err = client.status(&base).await.unwrap_err();
    assert!(
        matches!(&err, EngineError::Protocol { status: Some(200), message } if message.contains("hello")),
        "{err:?}"
    );
    let err = client.status(&base).await.unwrap_err();
    assert!(
        matches!(&err, EngineError::Protocol { status: Some(502), message } if message.contains("bad")),
        "{err:?}"
    );
    task.await.unwrap();
}

#[tokio::test]
async fn an_engine_that_drops_the_connection_mid_answer_is_unreachable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        for answer in [
            "",
            "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"game_id\"",
        ] {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = socket.read(&mut buf).await;
            socket.write_all(answer.as_bytes()).await.unwrap();
            // Dropped here: closed before the answer is complete.
        }
    });
    let client = client();
    for _ in 0..2 {
        let err = client.run_turn(&base, 0).await.unwrap_err();
        assert!(matches!(err, EngineError::Unreachable { .. }), "{err:?}");
    }
    task.await.unwrap();
}
