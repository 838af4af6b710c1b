//! HTTP-level tests: the real server on 127.0.0.1:0 with a fresh state
//! directory, every endpoint including the 409s, and persistence across a
//! restart.

use galaxy_game::http::{AppState, serve};
use galaxy_game::store::Store;
use galaxy_model::api::*;
use galaxy_model::order::{Order, OrderLine, Product};
use galaxy_model::report::Report;
use reqwest::StatusCode;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn fresh_dir() -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "galaxy-game-test-{}-{n}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(dir: &PathBuf) -> Server {
        let state = AppState::open(Store::open(dir).unwrap()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Server {
            base,
            stop: Some(tx),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

fn init_body() -> serde_json::Value {
    json!({"game_id": "g-1", "seed": 42, "races": [{"name": "Alpha"}, {"name": "Beta"}, {"name": "Gamma"}]})
}

async fn error_code(resp: reqwest::Response) -> ErrorCode {
    let body: ErrorBody = resp.json().await.unwrap();
    body.error.code
}

#[tokio::test]
async fn every_endpoint_behaves_and_state_survives_a_restart() {
    let dir = fresh_dir();
    let srv = Server::start(&dir).await;
    let c = reqwest::Client::new();

    // Health before init; status before init is a 409.
    let h: Health = c
        .get(srv.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((h.status.as_str(), h.initialised), ("ok", false));
    let r = c.get(srv.url("/api/v1/admin/status")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(r).await, ErrorCode::NotInitialised);

    // Init, then init again → 409.
    let r = c
        .post(srv.url("/api/v1/admin/init"))
        .json(&init_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let st: StatusResponse = r.json().await.unwrap();
    assert_eq!(st.turn, 0);
    assert_eq!(st.races.len(), 3);
    assert!(
        st.races
            .iter()
            .all(|r| r.state == RaceState::Alive && !r.orders_in)
    );
    let r = c
        .post(srv.url("/api/v1/admin/init"))
        .json(&init_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(r).await, ErrorCode::AlreadyInitialised);

    // Malformed body → 400 in the error shape.
    let r = c
        .put(srv.url("/api/v1/order"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, ErrorCode::InvalidRequest);

    // Turn 0 report names the race's planets.
    let rep: Report = c
        .get(srv.url("/api/v1/report?race=Alpha"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rep.turn, 0);
    assert_eq!(rep.planets.len(), 2);
    let home = format!(
        "#{}",
        rep.planets
            .iter()
            .max_by(|a, b| a.size.total_cmp(&b.size))
            .unwrap()
            .number
    );

    // Typed orders.
    let orders = PutOrdersRequest {
        race: "Alpha".into(),
        turn: 0,
        orders: vec![
            OrderLine {
                id: "a".into(),
                order: Order::DesignShip {
                    name: "Drone".into(),
                    drive: 1.0,
                    attacks: 0,
                    weapons: 0.0,
                    shields: 0.0,
                    cargo: 0.0,
                },
            },
            OrderLine {
                id: "b".into(),
                order: Order::Produce {
                    planet: home.clone(),
                    product: Product::Ship("Drone".into()),
                },
            },
            OrderLine {
                id: "c".into(),
                order: Order::Produce {
                    planet: "#9999".into(),
                    product: Product::Cap,
                },
            },
        ],
        text: None,
    };
    let r = c
        .put(srv.url("/api/v1/order"))
        .json(&orders)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Wrong turn → 409 turn_mismatch with the current turn.
    let mut wrong = orders.clone();
    wrong.turn = 3;
    let r = c
        .put(srv.url("/api/v1/order"))
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: ErrorBody = r.json().await.unwrap();
    assert_eq!(
        (body.error.code, body.error.current_turn),
        (ErrorCode::TurnMismatch, Some(0))
    );
    // Unknown race → 404.
    let mut unknown = orders.clone();
    unknown.race = "Nobody".into();
    let r = c
        .put(srv.url("/api/v1/order"))
        .json(&unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, ErrorCode::UnknownRace);

    // Text orders for Beta, with one line that does not parse.
    let text = "#GALAXY g-1 Beta pw 0\nd Gunship 4 2 2 4 0\no AutoUnload on\nk bogus\n#END\n";
    let r = c
        .put(srv.url("/api/v1/order"))
        .json(&json!({"race": "Beta", "turn": 0, "text": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let put: PutOrdersResponse = r.json().await.unwrap();
    assert_eq!(put.orders.len(), 2);
    assert_eq!(put.mistakes.len(), 1);
    // A text header for another turn → 409.
    let r = c
        .put(srv.url("/api/v1/order"))
        .json(&json!({"race": "Beta", "turn": 0, "text": "#GALAXY g-1 Beta pw 5\n#END"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Single-line commands: add, replace, delete, delete missing → 404, wrong turn → 409.
    let cmd = |id: &str, order: Option<Order>, turn: u32| json!({"race": "Gamma", "turn": turn, "id": id, "order": order});
    let r: PutCommandResponse = c
        .put(srv.url("/api/v1/command"))
        .json(&cmd(
            "1",
            Some(Order::War {
                race: "Alpha".into(),
            }),
            0,
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r.outcome, CommandOutcome::Added);
    let r: PutCommandResponse = c
        .put(srv.url("/api/v1/command"))
        .json(&cmd(
            "1",
            Some(Order::Ally {
                race: "Alpha".into(),
            }),
            0,
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r.outcome, CommandOutcome::Replaced);
    assert_eq!(r.orders.len(), 1);
    let r: PutCommandResponse = c
        .put(srv.url("/api/v1/command"))
        .json(&cmd("2", Some(Order::Quit {}), 0))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r.orders.len(), 2);
    let r: PutCommandResponse = c
        .put(srv.url("/api/v1/command"))
        .json(&cmd("2", None, 0))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((r.outcome, r.orders.len()), (CommandOutcome::Deleted, 1));
    let r = c
        .put(srv.url("/api/v1/command"))
        .json(&cmd("zz", None, 0))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, ErrorCode::OrderNotFound);
    let r = c
        .put(srv.url("/api/v1/command"))
        .json(&cmd("1", Some(Order::Quit {}), 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(r).await, ErrorCode::TurnMismatch);

    // Status shows who has orders in; GET /order returns the pending set.
    let st: StatusResponse = c
        .get(srv.url("/api/v1/admin/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ins: Vec<bool> = st.races.iter().map(|r| r.orders_in).collect();
    assert_eq!(ins, vec![true, true, true]);
    let pend: PutOrdersResponse = c
        .get(srv.url("/api/v1/order?race=Alpha"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pend.orders.len(), 3);

    // Restart before the turn: pending orders survive.
    srv.stop().await;
    let srv = Server::start(&dir).await;
    let st: StatusResponse = c
        .get(srv.url("/api/v1/admin/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (st.turn, st.races.iter().filter(|r| r.orders_in).count()),
        (0, 3)
    );

    // Run the turn; a retry of the same turn does not run another; a wrong turn is a 409.
    let r: RunTurnResponse = c
        .put(srv.url("/api/v1/admin/turn"))
        .json(&json!({"turn": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r.ran);
    assert_eq!(r.status.turn, 1);
    let r: RunTurnResponse = c
        .put(srv.url("/api/v1/admin/turn"))
        .json(&json!({"turn": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!r.ran);
    assert_eq!(r.status.turn, 1);
    let r = c
        .put(srv.url("/api/v1/admin/turn"))
        .json(&json!({"turn": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(r).await, ErrorCode::TurnMismatch);

    // Turn 1 report: Alpha built drones and has a mistake for the bad planet.
    let rep: Report = c
        .get(srv.url("/api/v1/report?race=Alpha&turn=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rep.turn, 1);
    assert_eq!(rep.orders_received.len(), 3);
    assert_eq!(rep.mistakes.len(), 1);
    assert_eq!(rep.mistakes[0].id, "c");
    assert!(
        rep.groups
            .iter()
            .any(|g| g.ship_type == "Drone" && g.ships > 0)
    );
    let beta: Report = c
        .get(srv.url("/api/v1/report?race=Beta"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(beta.mistakes.len(), 1);
    assert!(beta.options.auto_unload);
    // Plain text rendering.
    let r = c
        .get(srv.url("/api/v1/report?race=Alpha&format=text"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let txt = r.text().await.unwrap();
    assert!(txt.contains("Alpha Report for Galaxy Game g-1 Turn 1"));
    assert!(txt.contains("Your Groups"));
    // Past turn still readable; future turn → 404; unknown race → 404.
    let old: Report = c
        .get(srv.url("/api/v1/report?race=Alpha&turn=0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(old.turn, 0);
    let r = c
        .get(srv.url("/api/v1/report?race=Alpha&turn=7"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, ErrorCode::ReportNotFound);
    let r = c
        .get(srv.url("/api/v1/report?race=Nobody"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c.get(srv.url("/api/v1/report")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Banish Gamma: banished, no orders accepted, others see the message next turn.
    let st: StatusResponse = c
        .post(srv.url("/api/v1/admin/race/banish"))
        .json(&json!({"race": "Gamma"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st.races[2].state, RaceState::Banished);
    assert_eq!(st.races[2].planets, 0);
    let r = c
        .put(srv.url("/api/v1/command"))
        .json(&cmd("1", Some(Order::Quit {}), 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(r).await, ErrorCode::RaceNotAlive);
    let r = c
        .post(srv.url("/api/v1/admin/race/banish"))
        .json(&json!({"race": "Nobody"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Restart after the turn: same turn, same reports, same game continues.
    let before: Report = c
        .get(srv.url("/api/v1/report?race=Alpha"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    srv.stop().await;
    let srv = Server::start(&dir).await;
    let st: StatusResponse = c
        .get(srv.url("/api/v1/admin/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st.turn, 1);
    assert_eq!(st.races[2].state, RaceState::Banished);
    let after: Report = c
        .get(srv.url("/api/v1/report?race=Alpha"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_string(&before).unwrap(),
        serde_json::to_string(&after).unwrap()
    );
    let r: RunTurnResponse = c
        .put(srv.url("/api/v1/admin/turn"))
        .json(&json!({"turn": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r.status.turn, 2);
    let rep: Report = c
        .get(srv.url("/api/v1/report?race=Alpha"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(rep.messages.iter().any(|m| m.text.contains("banished")));
    // Unknown route → 404 in the error shape.
    let r = c.get(srv.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, ErrorCode::NotFound);
    let r = c.delete(srv.url("/api/v1/report")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(r).await, ErrorCode::MethodNotAllowed);
    srv.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_crash_mid_turn_leaves_the_previous_turn_current() {
    let dir = fresh_dir();
    let srv = Server::start(&dir).await;
    let c = reqwest::Client::new();
    c.post(srv.url("/api/v1/admin/init"))
        .json(&init_body())
        .send()
        .await
        .unwrap();
    c.put(srv.url("/api/v1/admin/turn"))
        .json(&json!({"turn": 0}))
        .send()
        .await
        .unwrap();
    srv.stop().await;
    // Simulate a crash while turn 2's state was being written, before its
    // rename (the commit point): a half-written temporary file.
    std::fs::write(dir.join("turns").join("000002.json.tmp"), b"{half written").unwrap();
    let srv = Server::start(&dir).await;
    let st: StatusResponse = c
        .get(srv.url("/api/v1/admin/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st.turn, 1);
    let r: RunTurnResponse = c
        .put(srv.url("/api/v1/admin/turn"))
        .json(&json!({"turn": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r.status.turn, 2);
    srv.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn started() -> (Server, reqwest::Client) {
    let srv = Server::start(&fresh_dir()).await;
    let c = reqwest::Client::new();
    let r = c
        .post(srv.url("/api/v1/admin/init"))
        .json(&init_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    (srv, c)
}

#[tokio::test]
async fn an_oversized_body_is_413_and_unknown_fields_on_unit_orders_are_400() {
    let (srv, c) = started().await;
    let huge = json!({"race": "Alpha", "turn": 0, "text": "x".repeat(galaxy_model::limits::MAX_BODY_BYTES)});
    let r = c
        .put(srv.url("/api/v1/order"))
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(r).await, ErrorCode::PayloadTooLarge);
    let quit = json!({"race": "Alpha", "turn": 0, "id": "1", "order": {"kind": "quit", "x": 1}});
    let r = c
        .put(srv.url("/api/v1/command"))
        .json(&quit)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, ErrorCode::InvalidRequest);
    srv.stop().await;
}

#[tokio::test]
async fn limits_are_422_naming_the_field() {
    let srv = Server::start(&fresh_dir()).await;
    let c = reqwest::Client::new();
    let mut body = init_body();
    body["settings"] = json!({"home_planets": [1e17]});
    let r = c
        .post(srv.url("/api/v1/admin/init"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: ErrorBody = r.json().await.unwrap();
    assert_eq!(e.error.code, ErrorCode::InvalidSettings);
    assert_eq!(e.error.field.as_deref(), Some("settings.home_planets[0]"));
    srv.stop().await;

    let (srv, c) = started().await;
    let lines: Vec<OrderLine> = (0..=galaxy_model::limits::MAX_ORDERS_PER_SET)
        .map(|i| OrderLine {
            id: i.to_string(),
            order: Order::Quit {},
        })
        .collect();
    let body = json!({"race": "Alpha", "turn": 0, "orders": lines});
    let r = c
        .put(srv.url("/api/v1/order"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: ErrorBody = r.json().await.unwrap();
    assert_eq!(e.error.code, ErrorCode::LimitExceeded);
    assert_eq!(e.error.field.as_deref(), Some("orders"));
    srv.stop().await;
}
