//! Geo with the synthetic GeoLite2 fixture (`galaxy-devstack`):
//! 192.0.2.0/24 → DE, 198.51.100.0/24 → US, 203.0.113.0/24 → JP,
//! 2001:db8::/32 → FR, loopback unresolved. Declared country at
//! registration (set once), per-country request counters from
//! `X-Forwarded-For` or the peer, the lookup metric and the drop path.

use std::net::IpAddr;

use galaxy_backend::geo;
use uuid::Uuid;

use crate::auth::{identity_app, login};
use crate::helpers::TestApp;
use crate::mail::smtp_server;

async fn declared_country(app: &TestApp, user_id: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT declared_country FROM accounts WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(app.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_fixture_resolves_documentation_ranges_only() {
    let app = TestApp::spawn().await;
    let geo = &app.state.geo;
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(geo.lookup(ip("192.0.2.10")).as_deref(), Some("DE"));
    assert_eq!(geo.lookup(ip("198.51.100.10")).as_deref(), Some("US"));
    assert_eq!(geo.lookup(ip("203.0.113.10")).as_deref(), Some("JP"));
    assert_eq!(geo.lookup(ip("2001:db8::10")).as_deref(), Some("FR"));
    assert_eq!(geo.lookup(ip("::ffff:192.0.2.10")).as_deref(), Some("DE"));
    assert_eq!(geo.lookup(ip("127.0.0.1")), None);
    let metrics = app.scrape_metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("geo_lookups_total{") && l.contains("outcome=\"found\"")),
        "{metrics}"
    );
    assert!(metrics.contains("outcome=\"not_found\""));
}

#[tokio::test]
async fn the_declared_country_comes_from_the_forwarded_address_and_is_set_once() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let me = login(
        &app,
        &server,
        "tokyo@example.com",
        1,
        Some("203.0.113.5, 192.0.2.1"),
    )
    .await;
    assert!(me.account_created);
    assert_eq!(
        declared_country(&app, me.user_id).await.as_deref(),
        Some("JP")
    );

    let again = login(&app, &server, "tokyo@example.com", 2, Some("192.0.2.1")).await;
    assert_eq!(again.user_id, me.user_id);
    assert_eq!(
        declared_country(&app, me.user_id).await.as_deref(),
        Some("JP"),
        "never updated after registration"
    );

    // Without X-Forwarded-For the peer (loopback, unresolved) is used.
    let local = login(&app, &server, "local@example.com", 3, None).await;
    assert_eq!(declared_country(&app, local.user_id).await, None);
}

#[tokio::test]
async fn user_requests_are_counted_per_country() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let me = login(&app, &server, "counted@example.com", 1, None).await;
    let stranger = Uuid::new_v4();

    for xff in [
        Some("192.0.2.7"),
        Some("192.0.2.8, 10.0.0.1"),
        Some("198.51.100.1"),
        Some("[2001:db8::1]:443"),
        None,
    ] {
        let mut call = app.api.get("/api/v1/user/sessions").user(me.user_id);
        if let Some(xff) = xff {
            call = call.header("x-forwarded-for", xff);
        }
        call.send().await.assert_status(200);
    }
    // A user id without an account is not counted (and does not fail the batch).
    app.api
        .get("/api/v1/user/sessions")
        .user(stranger)
        .header("x-forwarded-for", "192.0.2.7")
        .send()
        .await
        .assert_status(200);

    app.state.geo.flush().await.unwrap();
    let counters = geo::store::country_counters(app.db(), me.user_id.into())
        .await
        .unwrap();
    let counts: Vec<(String, i64)> = counters.into_iter().map(|c| (c.country, c.count)).collect();
    assert_eq!(
        counts,
        vec![("DE".into(), 2), ("FR".into(), 1), ("US".into(), 1)]
    );
    assert!(
        geo::store::country_counters(app.db(), stranger.into())
            .await
            .unwrap()
            .is_empty()
    );

    // Counts accumulate across flushes.
    app.api
        .get("/api/v1/user/sessions")
        .user(me.user_id)
        .header("x-forwarded-for", "192.0.2.9")
        .send()
        .await
        .assert_status(200);
    app.state.geo.flush().await.unwrap();
    let de = geo::store::country_counters(app.db(), me.user_id.into())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.country == "DE")
        .unwrap();
    assert_eq!(de.count, 3);
}

#[tokio::test]
async fn repeated_hits_aggregate_in_memory_and_new_pairs_beyond_the_cap_are_dropped() {
    const CAPACITY: usize = 100;
    let app = TestApp::builder()
        .var("BACKEND_GEO_SHARD_CAPACITY", CAPACITY)
        .spawn()
        .await;
    let geo = &app.state.geo;
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    // One pair hit many times holds one entry.
    let user = Uuid::new_v4();
    for _ in 0..1_000 {
        geo.count_request(user.into(), ip);
    }
    assert_eq!(geo.pending(), 1);
    // This thread's shard fills with distinct pairs; hits of new pairs
    // beyond the cap are dropped and counted, never blocking.
    for _ in 0..CAPACITY + 5 {
        geo.count_request(Uuid::new_v4().into(), ip);
    }
    assert_eq!(geo.pending(), CAPACITY);
    let metrics = app.scrape_metrics().await;
    let dropped: f64 = metrics
        .lines()
        .find(|l| l.starts_with("geo_counter_dropped_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no drop counter in {metrics}"));
    assert_eq!(dropped, 6.0);
    geo.flush().await.unwrap();
    assert_eq!(geo.pending(), 0);
}

async fn counted(app_db: &sqlx::PgPool, user_id: Uuid) -> Vec<(String, i64)> {
    geo::store::country_counters(app_db, user_id.into())
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.country, c.count))
        .collect()
}

#[tokio::test]
async fn a_failed_flush_keeps_its_counts_for_the_next_one() {
    let server = smtp_server().await;
    let app = identity_app(&server)
        .var("BACKEND_GEO_FLUSH_INTERVAL", "1h")
        .spawn()
        .await;
    let me = login(&app, &server, "retried@example.com", 1, None).await;
    let geo = &app.state.geo;
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    for _ in 0..3 {
        geo.count_request(me.user_id.into(), ip);
    }
    // The statement fails while its table is away.
    sqlx::query("ALTER TABLE user_country_counters RENAME TO user_country_counters_away")
        .execute(app.db())
        .await
        .unwrap();
    geo.flush().await.expect_err("the statement fails");
    assert_eq!(geo.pending(), 0, "the tallies were taken");
    assert_eq!(geo.carried_over().await, 1, "and their counts kept");
    sqlx::query("ALTER TABLE user_country_counters_away RENAME TO user_country_counters")
        .execute(app.db())
        .await
        .unwrap();
    geo.count_request(me.user_id.into(), ip);
    geo.flush().await.unwrap();
    assert_eq!(geo.carried_over().await, 0);
    assert_eq!(counted(app.db(), me.user_id).await, vec![("DE".into(), 4)]);
}

#[tokio::test]
async fn tallies_not_yet_flushed_are_flushed_at_shutdown() {
    let server = smtp_server().await;
    // The loop flushes once at start, then not for an hour: only the
    // shutdown flush can write what is counted below.
    let app = identity_app(&server)
        .var("BACKEND_GEO_FLUSH_INTERVAL", "1h")
        .spawn()
        .await;
    let me = login(&app, &server, "leaving@example.com", 1, None).await;
    app.state.geo.flush().await.unwrap();
    for xff in ["198.51.100.1", "198.51.100.2"] {
        app.api
            .get("/api/v1/user/sessions")
            .user(me.user_id)
            .header("x-forwarded-for", xff)
            .send()
            .await
            .assert_status(200);
    }
    assert_eq!(app.state.geo.pending(), 2);
    let db = app.into_database().await;
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let written: Vec<(String, i64)> = sqlx::query_as(
        "SELECT country, count FROM backend.user_country_counters WHERE user_id = $1",
    )
    .bind(me.user_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(written, vec![("US".into(), 2)]);
    pool.close().await;
}
