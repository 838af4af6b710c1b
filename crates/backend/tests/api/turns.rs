//! Turns: the scheduler runs a running game's turn when its deadline has
//! passed or an admin forces it, against the real engine (process driver);
//! a failed tick pauses the game; a resume gives it a fresh deadline; a
//! tick left behind by a killed backend is completed or retried, never run
//! twice; two schedulers never tick one game twice.

use chrono::Utc;
use galaxy_backend::runtime::RuntimeStatus;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::push::subscribe;
use crate::lobby::{GAMES, admin_post, user_post};
use crate::play::member;
use crate::runtime::{
    RUNTIMES, drive, engine_client, game_status, ops, process_app, record, three_member_game,
};

pub async fn running_game(app: &TestApp) -> String {
    let game = three_member_game(app, "0.1.0").await;
    drive(app).await;
    game
}

/// Moves the current turn's start `hours` back (the schedule is 24 h).
/// Sets the game's force-next-turn flag through the admin API.
pub async fn force_next_turn(app: &TestApp, game: &str) {
    admin_post(
        app,
        &format!("{RUNTIMES}/{game}/force-next-turn"),
        json!({}),
    )
    .await
    .assert_status(200);
}

pub async fn age_turn(app: &TestApp, game: &str, hours: i64) {
    sqlx::query(
        "UPDATE games SET turn_started_at = now() - $2 * interval '1 hour' WHERE game_id = $1::uuid",
    )
    .bind(game)
    .bind(hours as f64)
    .execute(app.db())
    .await
    .unwrap();
    app.state.lobby.reload_game(game.parse().unwrap()).await;
}

pub async fn intents_of(app: &TestApp, kind: &str, game: &str) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT payload FROM notification_intents WHERE kind = $1 AND payload->>'game_id' = $2
         ORDER BY created_at",
    )
    .bind(kind)
    .bind(game)
    .fetch_all(app.db())
    .await
    .unwrap()
}

pub async fn engine_turn(app: &TestApp, game: &str) -> u32 {
    let rec = record(app, game).await;
    engine_client()
        .status(rec.base_url.as_deref().unwrap())
        .await
        .unwrap()
        .turn
}

#[tokio::test]
async fn a_turn_past_its_deadline_runs_once_and_every_member_hears_of_it() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let runtime = &app.state.runtime;
    // Not due yet: nothing runs, the next deadline is a day away.
    let report = runtime.run_due_turns().await.unwrap();
    assert_eq!((report.due, report.ran), (0, 0));
    let next = report.next_due.expect("a deadline ahead");
    assert!(next > Utc::now() + chrono::Duration::hours(23));

    age_turn(&app, &game, 25).await;
    let report = runtime.run_due_turns().await.unwrap();
    assert_eq!(
        (report.due, report.ran, report.failed),
        (1, 1, 0),
        "{report:?}"
    );
    let rec = record(&app, &game).await;
    assert_eq!(rec.status, RuntimeStatus::Running);
    assert_eq!(rec.current_turn, 1);
    assert_eq!(engine_turn(&app, &game).await, 1);
    let detail = game_status(&app, &game).await;
    assert_eq!(detail["current_turn"], 1);
    assert_eq!(detail["status"], "running");
    // The new turn's deadline is a day after it began.
    let deadline: chrono::DateTime<Utc> =
        detail["next_deadline"].as_str().unwrap().parse().unwrap();
    assert!(deadline > Utc::now() + chrono::Duration::hours(23));
    let ready: Vec<i64> = intents_of(&app, "game.turn.ready", &game)
        .await
        .iter()
        .map(|p| p["turn"].as_i64().unwrap())
        .collect();
    assert_eq!(ready, [0, 1]);
    assert_eq!(
        ops(&app, &game).await.last().unwrap(),
        &(
            "turn".to_owned(),
            "succeeded".to_owned(),
            "scheduler".to_owned()
        )
    );
    // Run again: nothing is due.
    let report = runtime.run_due_turns().await.unwrap();
    assert_eq!(report.ran, 0);
    assert_eq!(engine_turn(&app, &game).await, 1);
}

#[tokio::test]
async fn force_next_turn_runs_the_turn_at_the_next_step_and_is_consumed() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let r = admin_post(
        &app,
        &format!("{RUNTIMES}/{game}/force-next-turn"),
        json!({}),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.value()["force_next_turn"], true);
    let report = app.state.runtime.run_due_turns().await.unwrap();
    assert_eq!(report.ran, 1, "{report:?}");
    let rec = record(&app, &game).await;
    assert_eq!((rec.current_turn, rec.force_next_turn), (1, false));
    // Consumed: the next step runs nothing.
    assert_eq!(app.state.runtime.run_due_turns().await.unwrap().ran, 0);
    let log: Vec<String> = ops(&app, &game).await.into_iter().map(|o| o.0).collect();
    assert_eq!(log, ["start", "force_next_turn", "turn"]);
    // Unknown game → 404.
    let missing = Uuid::new_v4();
    admin_post(
        &app,
        &format!("{RUNTIMES}/{missing}/force-next-turn"),
        json!({}),
    )
    .await
    .assert_status(404);
}

#[tokio::test]
async fn two_schedulers_stepping_together_run_one_turn() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    age_turn(&app, &game, 25).await;
    let runtime = &app.state.runtime;
    let (a, b) = tokio::join!(runtime.run_due_turns(), runtime.run_due_turns());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.ran + b.ran, 1, "{a:?} {b:?}");
    assert_eq!(engine_turn(&app, &game).await, 1);
    assert_eq!(record(&app, &game).await.current_turn, 1);
    assert_eq!(intents_of(&app, "game.turn.ready", &game).await.len(), 2);
}

#[tokio::test]
async fn an_engine_gone_at_the_cut_off_pauses_the_game_with_the_reason() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let rec = record(&app, &game).await;
    app.state
        .runtime
        .driver()
        .stop(&rec.container_name, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    age_turn(&app, &game, 25).await;
    let report = app.state.runtime.run_due_turns().await.unwrap();
    assert_eq!((report.ran, report.failed), (0, 1), "{report:?}");
    assert_eq!(
        record(&app, &game).await.status,
        RuntimeStatus::EngineUnreachable
    );
    let detail = game_status(&app, &game).await;
    assert_eq!(detail["status"], "paused");
    let paused = intents_of(&app, "game.paused", &game).await;
    assert_eq!(paused.len(), 1);
    assert_eq!(paused[0]["reason"], "engine_unreachable");
    assert_eq!(paused[0]["turn"], 0);
    // The owner's resume needs an engine that answers.
    let owner = member(&app, &game, "Zorgons").await;
    let r = user_post(&app, owner, &format!("{GAMES}/{game}/resume"), json!({})).await;
    r.assert_status(503);
    assert_eq!(r.error_code(), "engine_unavailable");
}

#[tokio::test]
async fn a_tick_left_behind_is_completed_when_the_turn_ran_and_retried_when_it_did_not() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let base = record(&app, &game).await.base_url.unwrap();
    // A backend flipped the record and died; the engine ran the turn.
    sqlx::query(
        "UPDATE runtime_records SET status = 'generation_in_progress',
             generation_started_at = now() - interval '1 hour' WHERE game_id = $1::uuid",
    )
    .bind(&game)
    .execute(app.db())
    .await
    .unwrap();
    engine_client().run_turn(&base, 0).await.unwrap();
    let report = app.state.runtime.run_due_turns().await.unwrap();
    assert_eq!(report.recovered, 1, "{report:?}");
    let rec = record(&app, &game).await;
    assert_eq!((rec.status, rec.current_turn), (RuntimeStatus::Running, 1));
    assert_eq!(game_status(&app, &game).await["current_turn"], 1);
    assert_eq!(engine_turn(&app, &game).await, 1);

    // Again, but the engine never ran it: back to running, the same turn
    // runs once at the next due step.
    sqlx::query(
        "UPDATE runtime_records SET status = 'generation_in_progress',
             generation_started_at = now() - interval '1 hour' WHERE game_id = $1::uuid",
    )
    .bind(&game)
    .execute(app.db())
    .await
    .unwrap();
    let report = app.state.runtime.run_due_turns().await.unwrap();
    assert_eq!((report.recovered, report.ran), (1, 0), "{report:?}");
    assert_eq!(record(&app, &game).await.status, RuntimeStatus::Running);
    age_turn(&app, &game, 25).await;
    assert_eq!(app.state.runtime.run_due_turns().await.unwrap().ran, 1);
    assert_eq!(engine_turn(&app, &game).await, 2);
    let ready: Vec<i64> = intents_of(&app, "game.turn.ready", &game)
        .await
        .iter()
        .map(|p| p["turn"].as_i64().unwrap())
        .collect();
    assert_eq!(ready, [0, 1, 2]);
}

async fn submit_empty_orders(app: &TestApp, game: &str, race: &str) {
    let user = member(app, game, race).await;
    app.api
        .request(reqwest::Method::PUT, &format!("{GAMES}/{game}/orders"))
        .user(user)
        .json(json!({ "orders": [] }))
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn with_early_turns_the_turn_runs_once_every_race_has_orders_in() {
    let app = process_app().spawn().await;
    let game = crate::runtime::three_member_game_with(&app, json!({ "early_turn": true })).await;
    drive(&app).await;
    assert_eq!(game_status(&app, &game).await["early_turn"], true);
    submit_empty_orders(&app, &game, "Zorgons").await;
    submit_empty_orders(&app, &game, "Klingons").await;
    // Not everyone yet: nothing is due.
    assert!(!record(&app, &game).await.force_next_turn);
    assert_eq!(app.state.runtime.run_due_turns().await.unwrap().ran, 0);
    submit_empty_orders(&app, &game, "Vogons").await;
    assert!(record(&app, &game).await.force_next_turn);
    assert_eq!(app.state.runtime.run_due_turns().await.unwrap().ran, 1);
    assert_eq!(engine_turn(&app, &game).await, 1);
}

#[tokio::test]
async fn a_reminder_goes_to_the_members_without_orders_once_per_turn() {
    let app = process_app().spawn().await;
    let game =
        crate::runtime::three_member_game_with(&app, json!({ "reminder_minutes": 60 })).await;
    drive(&app).await;
    submit_empty_orders(&app, &game, "Zorgons").await;
    // Not yet in the reminder window: the step sleeps until it.
    let report = app.state.runtime.run_due_turns().await.unwrap();
    assert_eq!(report.reminded, 0);
    let next = report.next_due.unwrap();
    assert!(next < Utc::now() + chrono::Duration::hours(23), "{next}");
    // 30 minutes before the deadline.
    sqlx::query(
        "UPDATE games SET turn_started_at = now() - interval '23 hours 30 minutes'
         WHERE game_id = $1::uuid",
    )
    .bind(&game)
    .execute(app.db())
    .await
    .unwrap();
    app.state.lobby.reload_game(game.parse().unwrap()).await;
    let report = app.state.runtime.run_due_turns().await.unwrap();
    assert_eq!((report.reminded, report.ran), (1, 0), "{report:?}");
    assert_eq!(app.state.runtime.run_due_turns().await.unwrap().reminded, 0);
    let recipients: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT r.user_id FROM notification_routes r
         JOIN notification_intents i ON i.intent_id = r.intent_id
         WHERE i.kind = 'game.turn.reminder' ORDER BY 1",
    )
    .fetch_all(app.db())
    .await
    .unwrap();
    let mut expected = vec![
        member(&app, &game, "Klingons").await,
        member(&app, &game, "Vogons").await,
    ];
    expected.sort();
    assert_eq!(recipients, expected);
    let reminder = intents_of(&app, "game.turn.reminder", &game).await;
    assert_eq!(reminder.len(), 1);
    assert_eq!(reminder[0]["turn"], 0);
}

#[tokio::test]
async fn an_admin_ending_a_running_game_finishes_it_and_tells_the_members() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    admin_post(
        &app,
        &format!("{}/{game}/force-stop", crate::lobby::ADMIN_GAMES),
        json!({ "reason": "the season is over" }),
    )
    .await
    .assert_status(200);
    drive(&app).await;
    assert_eq!(game_status(&app, &game).await["status"], "finished");
    assert_eq!(record(&app, &game).await.status, RuntimeStatus::Finished);
    let finished = intents_of(&app, "game.finished", &game).await;
    assert_eq!(finished.len(), 1);
    assert_eq!(intents_of(&app, "game.started", &game).await.len(), 1);
}

#[tokio::test]
async fn a_race_dropped_for_sending_no_orders_is_announced_once_and_shown_on_its_membership() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    // Vogons never send orders; the engine drops a race idle for more
    // than two turns early in the game.
    for _ in 0..4 {
        submit_empty_orders(&app, &game, "Zorgons").await;
        submit_empty_orders(&app, &game, "Klingons").await;
        force_next_turn(&app, &game).await;
        assert_eq!(app.state.runtime.run_due_turns().await.unwrap().ran, 1);
    }
    let dropped = intents_of(&app, "game.race.dropped", &game).await;
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert_eq!(dropped[0]["race_name"], "Vogons");
    let reason: Option<String> = sqlx::query_scalar(
        "SELECT reason FROM memberships WHERE game_id = $1::uuid AND race_name = 'Vogons'",
    )
    .bind(&game)
    .fetch_one(app.db())
    .await
    .unwrap();
    assert!(reason.unwrap().starts_with("race out of the game"));
}

#[tokio::test]
async fn three_players_play_three_turns_through_the_backend_and_hear_each_on_the_push_stream() {
    use galaxy_backend::notification::fbs::schema as fb;
    use galaxy_backend::push::pb::push_event;

    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let zorgons = member(&app, &game, "Zorgons").await;
    let klingons = member(&app, &game, "Klingons").await;
    let mut stream = subscribe(&app, "gw-three-turns", None).await;
    for turn in 0..3u32 {
        // Typed orders from one player, the classic text form from another.
        crate::play::put(
            &app,
            zorgons,
            &game,
            "orders",
            json!({ "turn": turn, "orders": crate::play::typed_orders() }),
        )
        .await
        .assert_status(200);
        let text = format!("#GALAXY {game} Klingons pw {turn}\np #1 drive\n#END");
        crate::play::put(&app, klingons, &game, "orders", json!({ "text": text }))
            .await
            .assert_status(200);
        // The deadline passes; the scheduler closes the turn.
        age_turn(&app, &game, 25).await;
        let report = app.state.runtime.run_due_turns().await.unwrap();
        assert_eq!(report.ran, 1, "turn {turn}: {report:?}");
        // Orders for the closed turn are refused with the current turn.
        let late = crate::play::put(
            &app,
            zorgons,
            &game,
            "orders",
            json!({ "turn": turn, "orders": [] }),
        )
        .await;
        late.assert_status(409);
        assert_eq!(late.error_code(), "turn_already_closed");
        assert_eq!(late.value()["error"]["details"]["current_turn"], turn + 1);
    }
    // Every turn reached Klingons on the push stream (turn 0 at the start).
    app.state.notification.worker().tick_report().await.unwrap();
    let mut turns = Vec::new();
    for _ in 0..60 {
        if turns.len() == 4 {
            break;
        }
        if let Some(push_event::Kind::ClientEvent(event)) = stream.next().await.kind
            && event.kind == "game.turn.ready"
            && event.user_id == klingons.to_string()
        {
            let t = flatbuffers::root::<fb::GameTurnReady>(&event.payload).unwrap();
            assert_eq!(t.game_id(), Some(game.as_str()));
            turns.push(t.turn());
        }
    }
    assert_eq!(turns, [0, 1, 2, 3]);
    // Reports of the current and of a past turn, JSON and text.
    for turn in [3, 1] {
        let r = app
            .api
            .get(&format!("{GAMES}/{game}/report"))
            .user(klingons)
            .query("turn", turn)
            .send()
            .await;
        r.assert_status(200);
        let r = app
            .api
            .get(&format!("{GAMES}/{game}/report"))
            .user(klingons)
            .query("turn", turn)
            .query("format", "text")
            .send()
            .await;
        r.assert_status(200);
        assert!(r.text().contains(&format!("Turn {turn}")), "{}", r.text());
    }
    assert_eq!(engine_turn(&app, &game).await, 3);
}

/// A span opened: `(id, name, parent id)`.
type OpenedSpan = (u64, String, Option<u64>);

/// Every span opened.
#[derive(Clone, Default)]
struct SpanTree(std::sync::Arc<std::sync::Mutex<Vec<OpenedSpan>>>);

impl<S> tracing_subscriber::Layer<S> for SpanTree
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent())
            .map(|parent| parent.id().into_u64());
        let name = attrs.metadata().name().to_owned();
        self.0.lock().unwrap().push((id.into_u64(), name, parent));
    }
}

impl SpanTree {
    /// Whether a span named `name` descends from one named `ancestor`.
    fn under(&self, name: &str, ancestor: &str) -> bool {
        let spans = self.0.lock().unwrap();
        let by_id = |id: u64| spans.iter().rev().find(|s| s.0 == id);
        spans.iter().filter(|s| s.1 == name).any(|span| {
            let mut parent = span.2;
            while let Some(id) = parent {
                let Some(p) = by_id(id) else { return false };
                if p.1 == ancestor {
                    return true;
                }
                parent = p.2;
            }
            false
        })
    }
}

#[tokio::test]
async fn one_trace_runs_from_the_tick_through_the_engine_call_to_the_lobby_and_its_intents() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    age_turn(&app, &game, 25).await;
    let spans = SpanTree::default();
    let ran = {
        let _guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
        app.state.runtime.run_due_turns().await.unwrap().ran
    };
    assert_eq!(ran, 1);
    assert!(spans.under("runtime.turn", "runtime.scheduler"));
    assert!(
        spans.under("engine.turn", "runtime.turn"),
        "the engine call"
    );
    assert!(
        spans.under("lobby.on_runtime_snapshot", "runtime.turn"),
        "the lobby's snapshot, which submits game.turn.ready"
    );
}

#[tokio::test]
async fn the_last_race_standing_wins_and_the_game_finishes() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    // Only the Zorgons send orders: the others are dropped as idle.
    let mut turns = 0;
    while game_status(&app, &game).await["status"] == "running" && turns < 6 {
        submit_empty_orders(&app, &game, "Zorgons").await;
        force_next_turn(&app, &game).await;
        assert_eq!(app.state.runtime.run_due_turns().await.unwrap().ran, 1);
        drive(&app).await;
        turns += 1;
    }
    let detail = game_status(&app, &game).await;
    assert_eq!(detail["status"], "finished", "{detail}");
    assert_eq!(detail["status_reason"], "Zorgons won");
    let finished = intents_of(&app, "game.finished", &game).await;
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["reason"], "Zorgons won");
    assert_eq!(record(&app, &game).await.status, RuntimeStatus::Finished);
    // The survivor gets a fresh window to register their race name; the
    // dropped races do not.
    let pending = |race: &'static str| {
        let app = &app;
        let game = game.clone();
        async move {
            let user = member(app, &game, race).await;
            crate::lobby::intents(app, "lobby.race_name.pending", user).await
        }
    };
    assert_eq!(pending("Zorgons").await, 2);
    assert_eq!(pending("Klingons").await, 1);
    // Its state is kept.
    let dir = app.state.config.game_state_root.join(&game).join("turns");
    assert!(dir.join(format!("{turns:06}.json")).exists());
}

#[tokio::test]
async fn the_owner_ends_their_running_game() {
    let app = process_app().spawn().await;
    let game = running_game(&app).await;
    let owner = member(&app, &game, "Zorgons").await;
    let stranger = member(&app, &game, "Klingons").await;
    user_post(&app, stranger, &format!("{GAMES}/{game}/cancel"), json!({}))
        .await
        .assert_status(403);
    user_post(&app, owner, &format!("{GAMES}/{game}/cancel"), json!({}))
        .await
        .assert_status(200);
    drive(&app).await;
    let detail = game_status(&app, &game).await;
    assert_eq!(detail["status"], "finished");
    let finished = intents_of(&app, "game.finished", &game).await;
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["reason"], "cancelled by the owner");

    // The engine is stopped; its reports stay readable, from the state.
    let report = |turn: Option<u32>, text: bool| {
        let mut call = app
            .api
            .get(&format!("{GAMES}/{game}/report"))
            .user(stranger);
        if let Some(turn) = turn {
            call = call.query("turn", turn);
        }
        if text {
            call = call.query("format", "text");
        }
        call.send()
    };
    let r = report(Some(0), false).await;
    r.assert_status(200);
    assert_eq!(r.value()["turn"], 0, "{}", r.value());
    let r = report(None, true).await;
    r.assert_status(200);
    assert!(r.text().contains("Klingons Report"), "{}", r.text());
    let r = report(Some(7), false).await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "report_not_found");
    // Orders are closed for good.
    crate::play::put(&app, stranger, &game, "orders", json!({ "orders": [] }))
        .await
        .assert_status(409);
}
