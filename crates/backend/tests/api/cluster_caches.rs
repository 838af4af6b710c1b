//! Two instances on one database keep their caches coherent (issue #20,
//! docs/decisions/0009-cache-coherence.md): a write on `a` reaches `b`'s
//! caches through the `galaxy_cache` notifications (sent by triggers, or
//! announced by `a` after its commit) — a login's session and account are
//! found, a revoked session is
//! answered revoked within a second, user, admin, lobby, engine version and
//! runtime changes are seen — `b` skips notifications of its own writes,
//! and after its listening connection is cut it reloads every cache, so a
//! notification it missed does not leave it stale.

use std::time::{Duration, Instant};

use galaxy_backend::admin::Username;
use galaxy_backend::ids::GameId;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{identity_app, login};
use crate::helpers::TestApp;
use crate::helpers::client::TestResponse;
use crate::lobby::{
    ADMIN_GAMES, GAMES, admin_get, admin_post, private_game, public_game, user_get, user_post,
};
use crate::mail::smtp_server;
use crate::users::{ROOT, ROOT_PASSWORD, create_account, get_account};
use galaxy_devstack::smtp::SmtpServer;

/// An instance (on `other`'s database when given) with the bootstrap admin,
/// mail to `server` and no background workers besides the cache
/// listener's (the mail worker is stepped by `login`).
async fn instance(server: &SmtpServer, other: Option<&TestApp>) -> TestApp {
    let builder = identity_app(server)
        .var("BACKEND_LOBBY_SWEEPER_ENABLED", "false")
        .var("BACKEND_JOBS_WORKER_ENABLED", "false")
        .var("BACKEND_NOTIFICATION_WORKER_ENABLED", "false");
    match other {
        Some(other) => builder.sharing(other),
        None => builder,
    }
    .spawn()
    .await
}

async fn pair(server: &SmtpServer) -> (TestApp, TestApp) {
    let a = instance(server, None).await;
    let b = instance(server, Some(&a)).await;
    (a, b)
}

/// Logs `email` in on `app` with a device key from `seed`: (user, session).
async fn log_in(app: &TestApp, server: &SmtpServer, email: &str, seed: u8) -> (Uuid, Uuid) {
    let me = login(app, server, email, seed, None).await;
    (me.user_id, me.device_session_id)
}

/// Polls `check` (bounded: 10 s) until it holds; the elapsed time.
async fn until<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if check().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn lookup(app: &TestApp, id: Uuid) -> TestResponse {
    app.api
        .get(&format!("/api/v1/internal/device-sessions/{id}"))
        .send()
        .await
}

/// The value of `cache_<what>_total{cache="<cache>"}` in `app`'s metrics.
async fn cache_counter(app: &TestApp, what: &str, cache: &str) -> u64 {
    let prefix = format!("cache_{what}_total{{");
    let label = format!("cache=\"{cache}\"");
    app.scrape_metrics()
        .await
        .lines()
        .filter(|l| l.starts_with(&prefix) && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Runs `sql` (binding `id`) as if `app` had written it: with its
/// connections' `application_name`, so its own listener skips it.
async fn write_as(app: &TestApp, on: &TestApp, sql: &'static str, id: Uuid) {
    let mut tx = on.db().begin().await.unwrap();
    sqlx::query("SELECT set_config('application_name', $1, true)")
        .bind(app.state.instance.application_name())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_session_revoked_on_one_instance_is_revoked_on_the_other_within_a_second() {
    let server = smtp_server().await;
    let (a, b) = pair(&server).await;
    // A login on `a` (a new account and a session): `b` learns of both.
    let (user, session) = log_in(&a, &server, "alice@example.com", 1).await;
    let (again, other) = log_in(&a, &server, "alice@example.com", 2).await;
    assert_eq!(user, again);
    until("b finds the new session", || async {
        lookup(&b, session).await.status == 200
    })
    .await;
    let v = lookup(&b, session).await.value();
    assert_eq!(v["user_id"], user.to_string());
    assert_eq!(v["status"], "active");
    until("b finds the other session", || async {
        lookup(&b, other).await.status == 200
    })
    .await;

    a.api
        .post(&format!("/api/v1/user/sessions/{session}/revoke"))
        .user(user)
        .send()
        .await
        .assert_status(204);
    let took = until("b answers revoked", || async {
        lookup(&b, session).await.status == 404
    })
    .await;
    eprintln!("revocation on a seen by b's gateway lookup after {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    let r = lookup(&b, session).await;
    assert_eq!(r.error_code(), "device_session_not_found");
    assert_eq!(lookup(&a, session).await.status, 404);
    assert_eq!(lookup(&b, other).await.status, 200, "only that one");
    assert!(cache_counter(&b, "invalidations", "device_sessions").await >= 3);

    // Revoking all of them (an admin on `a`) reaches `b` as well.
    a.api
        .post(&format!("/api/v1/admin/users/{user}/revoke-sessions"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .assert_status(200);
    let took = until("b answers revoked for the other", || async {
        lookup(&b, other).await.status == 404
    })
    .await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    b.stop().await.expect("b stops");
}

#[tokio::test]
async fn sanctions_settings_and_soft_deletes_on_one_instance_reach_the_other() {
    let server = smtp_server().await;
    let (a, b) = pair(&server).await;
    let (user, _) = log_in(&a, &server, "bob@example.com", 3).await;
    until("b knows the account", || async {
        get_account(&b, user).await.status == 200
    })
    .await;

    // Settings.
    a.api
        .request(reqwest::Method::PATCH, "/api/v1/user/account/settings")
        .user(user)
        .json(json!({ "locale": "de-DE" }))
        .send()
        .await
        .assert_status(200);
    until("b serves the new locale", || async {
        get_account(&b, user).await.value()["settings"]["locale"] == "de-DE"
    })
    .await;

    // A login ban, then lifting it.
    let r =
        crate::sanctions::apply(&a, user, json!({ "kind": "login_ban", "reason": "spam" })).await;
    r.assert_status(201);
    let ban = r.value()["sanction_id"].as_str().unwrap().to_owned();
    until("b refuses the banned user", || async {
        let r = get_account(&b, user).await;
        r.status == 403 && r.error_code() == "login_banned"
    })
    .await;
    assert!(b.state.users.active_login_ban(user.into()).is_some());
    a.api
        .post(&format!("/api/v1/admin/users/{user}/sanctions/{ban}/lift"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .assert_status(200);
    until("b lets the user back", || async {
        get_account(&b, user).await.status == 200
    })
    .await;

    // Entitlements.
    admin_post(
        &a,
        &format!("/api/v1/admin/users/{user}/entitlements"),
        json!({ "tier": "premium" }),
    )
    .await
    .assert_status(200);
    until("b serves the new tier", || async {
        get_account(&b, user).await.value()["entitlements"]["tier"] == "premium"
    })
    .await;

    // The soft delete (and its session revocation).
    let (_, session) = log_in(&a, &server, "bob@example.com", 4).await;
    until("b finds the session", || async {
        lookup(&b, session).await.status == 200
    })
    .await;
    a.api
        .post("/api/v1/user/account/delete")
        .user(user)
        .send()
        .await
        .assert_status(204);
    until("b refuses the deleted account", || async {
        let r = get_account(&b, user).await;
        r.status == 403 || r.status == 410
    })
    .await;
    let r = get_account(&b, user).await;
    assert_eq!(r.error_code(), get_account(&a, user).await.error_code());
    until("b answers the session revoked", || async {
        lookup(&b, session).await.status == 404
    })
    .await;
    b.stop().await.expect("b stops");
}

async fn admin_status(app: &TestApp, username: &str, password: &str) -> u16 {
    app.api
        .get("/api/v1/admin/admin-accounts")
        .basic_auth(username, password)
        .send()
        .await
        .status
}

#[tokio::test]
async fn admin_password_changes_and_disabling_on_one_instance_are_honoured_on_the_other() {
    let server = smtp_server().await;
    let (a, b) = pair(&server).await;
    let carol = Username::parse("carol").unwrap();
    admin_post(
        &a,
        "/api/v1/admin/admin-accounts",
        json!({ "username": "carol", "password": "carol-password-one" }),
    )
    .await
    .assert_status(201);
    until("b knows carol", || async {
        b.state.admin.get(&carol).await.is_ok()
    })
    .await;
    assert_eq!(admin_status(&b, "carol", "carol-password-one").await, 200);
    assert_eq!(
        admin_status(&b, "carol", "carol-password-one").await,
        200,
        "served from b's credential cache"
    );

    admin_post(
        &a,
        "/api/v1/admin/admin-accounts/carol/password",
        json!({ "password": "carol-password-two" }),
    )
    .await
    .assert_status(200);
    until("b forgets carol's old password", || async {
        admin_status(&b, "carol", "carol-password-one").await == 401
    })
    .await;
    assert_eq!(admin_status(&b, "carol", "carol-password-two").await, 200);

    admin_post(&a, "/api/v1/admin/admin-accounts/carol/disable", json!({}))
        .await
        .assert_status(200);
    until("b refuses disabled carol", || async {
        admin_status(&b, "carol", "carol-password-two").await == 401
    })
    .await;

    a.api
        .delete("/api/v1/admin/admin-accounts/carol")
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    until("b forgets carol", || async {
        b.state.admin.get(&carol).await.is_err()
    })
    .await;
    b.stop().await.expect("b stops");
}

fn races(detail: &Value) -> Vec<String> {
    detail["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["race_name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn lobby_games_members_and_race_names_on_one_instance_reach_the_other() {
    let server = smtp_server().await;
    let (a, b) = pair(&server).await;
    let alice = create_account(&a, "alice", None).await;
    let bob = create_account(&a, "bob", None).await;
    for user in [alice, bob] {
        until("b knows the account", || async {
            get_account(&b, user).await.status == 200
        })
        .await;
    }

    // A private game created on `a` (the owner is its first member).
    let game = private_game(&a, alice, "Zorgons").await;
    let gid: GameId = game.parse().unwrap();
    until("b caches the game", || async {
        b.state.lobby.cached_game(gid).is_some()
    })
    .await;
    let r = user_get(&b, alice, &format!("{GAMES}/{game}")).await;
    r.assert_status(200);
    assert_eq!(races(&r.value()), ["Zorgons"]);

    // A member added on `a`.
    let r = user_post(
        &a,
        alice,
        &format!("{GAMES}/{game}/invites"),
        json!({ "user_name": "bob" }),
    )
    .await;
    r.assert_status(201);
    let invite = r.value()["invite_id"].as_str().unwrap().to_owned();
    user_post(
        &a,
        bob,
        &format!("/api/v1/user/invites/{invite}/accept"),
        json!({ "race_name": "Klingons" }),
    )
    .await
    .assert_status(200);
    until("b sees the new member", || async {
        races(
            &user_get(&b, alice, &format!("{GAMES}/{game}"))
                .await
                .value(),
        ) == ["Zorgons", "Klingons"]
    })
    .await;
    let entry = b.state.lobby.cached_game(gid).expect("cached");
    assert!(entry.member(bob.into()).is_some());

    // A public game created and updated (a transition) on `a`.
    let public = public_game(&a, json!({})).await;
    let status = admin_get(&a, &format!("{ADMIN_GAMES}/{public}"))
        .await
        .value()["status"]
        .clone();
    until("b caches the public game", || async {
        b.state.lobby.cached_game(public.parse().unwrap()).is_some()
    })
    .await;
    assert_eq!(
        admin_get(&b, &format!("{ADMIN_GAMES}/{public}"))
            .await
            .value()["status"],
        status
    );
    let cancel = admin_post(
        &a,
        &format!("{ADMIN_GAMES}/{public}/force-stop"),
        json!({ "reason": "test" }),
    )
    .await;
    cancel.assert_status(200);
    until("b drops the cancelled game from its cache", || async {
        b.state.lobby.cached_game(public.parse().unwrap()).is_none()
    })
    .await;
    assert_eq!(
        admin_get(&b, &format!("{ADMIN_GAMES}/{public}"))
            .await
            .value()["status"],
        "cancelled"
    );

    // A race name registered on `a` is refused on `b`.
    user_post(
        &a,
        alice,
        "/api/v1/user/race-names",
        json!({ "race_name": "Vogons" }),
    )
    .await
    .assert_status(201);
    until("b refuses the name", || async {
        let r = user_post(
            &b,
            bob,
            "/api/v1/user/race-names",
            json!({ "race_name": "VOGONS" }),
        )
        .await;
        assert_ne!(r.status, 201, "b registered a taken name");
        r.status == 409 && r.error_code() == "race_name_taken"
    })
    .await;
    // Released on `a`, it is free on `b`.
    user_post(
        &a,
        alice,
        "/api/v1/user/race-names/release",
        json!({ "race_name": "Vogons" }),
    )
    .await
    .assert_status(200);
    until("b sees the name free", || async {
        let r = b
            .api
            .get("/api/v1/user/race-names/availability")
            .query("name", "vogons")
            .user(bob)
            .send()
            .await;
        r.value()["available"] == true
    })
    .await;
    b.stop().await.expect("b stops");
}

#[tokio::test]
async fn engine_versions_and_runtime_records_on_one_instance_reach_the_other() {
    let server = smtp_server().await;
    let (a, b) = pair(&server).await;
    admin_post(
        &a,
        "/api/v1/admin/engine-versions",
        json!({ "label": "0.2.0", "image_ref": "galaxy/game:0.2.0" }),
    )
    .await
    .assert_status(201);
    until("b lists 0.2.0", || async {
        admin_get(&b, "/api/v1/admin/engine-versions/0.2.0")
            .await
            .status
            == 200
    })
    .await;
    a.api
        .request(
            reqwest::Method::PATCH,
            "/api/v1/admin/engine-versions/0.2.0",
        )
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(json!({ "enabled": false }))
        .send()
        .await
        .assert_status(200);
    until("b sees 0.2.0 disabled", || async {
        admin_get(&b, "/api/v1/admin/engine-versions/0.2.0")
            .await
            .value()["enabled"]
            == false
    })
    .await;

    // A runtime record written on `a` (as its runtime would).
    let alice = create_account(&a, "alice", None).await;
    let game = private_game(&a, alice, "Zorgons").await;
    let gid: GameId = game.parse().unwrap();
    let id: Uuid = game.parse().unwrap();
    sqlx::query(
        "INSERT INTO runtime_records (game_id, engine_version, image_ref, driver, container_name, status, seed)
         VALUES ($1, '0.1.0', 'galaxy/game:0.1.0', 'process', 'galaxy-game-test', 'starting', 7)",
    )
    .bind(id)
    .execute(a.db())
    .await
    .unwrap();
    // The runtime re-reads its record after each write and announces it
    // (the runtime's tables have no notifying trigger).
    a.state.runtime.refresh_record(gid).await.unwrap();
    until("b has the record", || async {
        b.state.runtime.record(gid).await.is_ok()
    })
    .await;
    sqlx::query(
        "UPDATE runtime_records SET status = 'running', current_turn = 3 WHERE game_id = $1",
    )
    .bind(id)
    .execute(a.db())
    .await
    .unwrap();
    a.state.runtime.refresh_record(gid).await.unwrap();
    until("b sees it running", || async {
        b.state
            .runtime
            .record(gid)
            .await
            .is_ok_and(|r| r.current_turn == 3)
    })
    .await;

    // The game's operation log: `b` caches it, `a` adds an operation.
    assert!(
        b.state
            .runtime
            .operations(gid, 20)
            .await
            .unwrap()
            .is_empty()
    );
    sqlx::query(
        "INSERT INTO runtime_operations (game_id, op, requested_by, state) VALUES ($1, 'restart', 'admin:root', 'succeeded')",
    )
    .bind(id)
    .execute(a.db())
    .await
    .unwrap();
    a.state.runtime.refresh_record(gid).await.unwrap();
    until("b sees the operation", || async {
        b.state.runtime.operations(gid, 20).await.unwrap().len() == 1
    })
    .await;
    b.stop().await.expect("b stops");
}

#[tokio::test]
async fn an_instance_skips_its_own_writes_and_reloads_after_its_listener_is_cut() {
    let server = smtp_server().await;
    let (a, b) = pair(&server).await;
    let (user, missed) = log_in(&a, &server, "dave@example.com", 5).await;
    let (_, marker) = log_in(&a, &server, "dave@example.com", 6).await;
    for id in [missed, marker] {
        until("b finds the session", || async {
            lookup(&b, id).await.status == 200
        })
        .await;
    }
    let reloads = cache_counter(&b, "reloads", "device_sessions").await;

    // A revocation committed under `b`'s name: `b` takes it for its own
    // write (already in its cache) and skips it — a notification `b`
    // never applies, as if missed. A later write of `a` is applied, so
    // the skipped one was heard first.
    write_as(
        &b,
        &a,
        "UPDATE device_sessions SET revoked_at = now(), revoke_reason = 'admin_revoked' WHERE id = $1",
        missed,
    )
    .await;
    let heard = cache_counter(&b, "invalidations", "device_sessions").await;
    sqlx::query("UPDATE device_sessions SET revoked_at = now(), revoke_reason = 'admin_revoked' WHERE id = $1")
        .bind(marker)
        .execute(a.db())
        .await
        .unwrap();
    until("b applies a's revocation", || async {
        lookup(&b, marker).await.status == 404
    })
    .await;
    assert_eq!(
        cache_counter(&b, "invalidations", "device_sessions").await,
        heard + 1,
        "b counted only a's write"
    );
    assert_eq!(
        lookup(&b, missed).await.status,
        200,
        "b did not refresh for its own write"
    );

    // Cut b's listening connection; while it reconnects `a` writes more.
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = $1 AND query LIKE 'LISTEN \"galaxy_cache\"%'",
    )
    .bind(b.state.instance.application_name())
    .fetch_all(a.db())
    .await
    .unwrap();
    assert_eq!(killed, vec![true]);
    a.api
        .request(reqwest::Method::PATCH, "/api/v1/user/account/settings")
        .user(user)
        .json(json!({ "time_zone": "Europe/Berlin" }))
        .send()
        .await
        .assert_status(200);

    // The reconnect reloads every cache: the missed revocation lands.
    let took = until("b converges after reconnecting", || async {
        lookup(&b, missed).await.status == 404
    })
    .await;
    eprintln!("b reloaded after its listener was cut: {took:?}");
    until("b serves the new time zone", || async {
        get_account(&b, user).await.value()["settings"]["time_zone"] == "Europe/Berlin"
    })
    .await;
    assert!(cache_counter(&b, "reloads", "device_sessions").await > reloads);
    for cache in [
        "user_accounts",
        "admin_accounts",
        "lobby",
        "engine_versions",
        "runtime_records",
    ] {
        assert!(cache_counter(&b, "reloads", cache).await >= 1, "{cache}");
    }
    // And it listens again.
    let (_, again) = log_in(&a, &server, "dave@example.com", 7).await;
    until("b finds a session created after the reconnect", || async {
        lookup(&b, again).await.status == 200
    })
    .await;
    b.stop().await.expect("b stops");
}

#[tokio::test]
async fn last_uses_written_back_by_one_instance_keep_the_session_alive_on_the_other() {
    let server = smtp_server().await;
    let a = instance(&server, None).await;
    let (_, session) = log_in(&a, &server, "erin@example.com", 8).await;
    // Stored as unused for 31 days (past the idle timeout): an instance
    // started now loads that and refuses the session.
    sqlx::query(
        "UPDATE device_sessions SET last_seen_at = now() - interval '31 days' WHERE id = $1",
    )
    .bind(session)
    .execute(a.db())
    .await
    .unwrap();
    let b = instance(&server, Some(&a)).await;
    assert_eq!(lookup(&b, session).await.status, 404, "idle as b sees it");
    // `a` writes back a recent use (its `session_last_seen` step); `b`'s
    // step reads it back and serves the session again.
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    sqlx::query("UPDATE device_sessions SET last_seen_at = now() WHERE id = $1")
        .bind(session)
        .execute(a.db())
        .await
        .unwrap();
    b.state.sessions.flush_last_seen(since).await.unwrap();
    lookup(&b, session).await.assert_status(200);
    b.stop().await.expect("b stops");
}
