//! Two instances on one database: exactly one leads (an advisory lock),
//! `/readyz` and `cluster_leader` say which, and the other takes over when
//! the leader stops or loses its lock connection.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::TestApp;

const INTERVAL: &str = "200ms";

async fn instance(other: Option<&TestApp>) -> TestApp {
    let builder = TestApp::builder().var("BACKEND_LEADER_ELECTION_INTERVAL", INTERVAL);
    match other {
        Some(other) => builder.sharing(other),
        None => builder,
    }
    .spawn()
    .await
}

async fn readyz(app: &TestApp) -> Value {
    let r = app.api.get("/readyz").send().await;
    r.assert_status(200);
    r.value().clone()
}

/// Polls `check` (bounded: 15 s) until it holds; the elapsed time.
async fn until<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(15) {
        if check().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn role(app: &TestApp) -> String {
    readyz(app).await["role"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn one_of_two_instances_leads_and_both_name_it() {
    let a = instance(None).await;
    until("a leads", || async { role(&a).await == "leader" }).await;
    let b = instance(Some(&a)).await;
    let (ra, rb) = (readyz(&a).await, readyz(&b).await);
    assert_ne!(ra["instance"], rb["instance"], "{ra} {rb}");
    assert_eq!(ra["role"], "leader");
    assert_eq!(rb["role"], "standby");
    assert_eq!(ra["leader"], ra["instance"], "{ra}");
    assert_eq!(rb["leader"], ra["instance"], "{rb}");

    let metrics = a.scrape_metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("cluster_leader{") && l.ends_with(" 1")),
        "{metrics}"
    );
    let metrics = b.scrape_metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("cluster_leader{") && l.ends_with(" 0")),
        "{metrics}"
    );
    b.stop().await.expect("b stops");
}

#[tokio::test]
async fn a_standby_takes_over_when_the_leader_stops() {
    let a = instance(None).await;
    until("a leads", || async { role(&a).await == "leader" }).await;
    let b = instance(Some(&a)).await;
    assert_eq!(role(&b).await, "standby");
    // A graceful stop frees the lock; the database outlives `a`.
    let _db = a.into_database().await;
    let took = until("b leads", || async { role(&b).await == "leader" }).await;
    eprintln!("take-over after a graceful stop: {took:?}");
    let body = readyz(&b).await;
    assert_eq!(body["leader"], body["instance"]);
    b.stop().await.expect("b stops");
}

#[tokio::test]
async fn a_leader_that_loses_its_lock_connection_stops_leading_and_the_standby_leads() {
    let a = instance(None).await;
    until("a leads", || async { role(&a).await == "leader" }).await;
    let b = instance(Some(&a)).await;
    let a_id = readyz(&a).await["instance"].as_str().unwrap().to_owned();

    // Cut the leader's lock connection, as a network failure or an
    // operator's pg_terminate_backend would.
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
            AND l.objid = ($1::bigint & 4294967295)::oid
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(galaxy_backend::cluster::leader::LEADER_LOCK_KEY)
    .fetch_all(b.db())
    .await
    .unwrap();
    assert_eq!(killed, vec![true]);

    let took = until("b leads", || async { role(&b).await == "leader" }).await;
    eprintln!("take-over after the lock connection was cut: {took:?}");
    until("a stands by", || async { role(&a).await == "standby" }).await;
    let body = readyz(&a).await;
    assert_ne!(body["leader"].as_str(), Some(a_id.as_str()), "{body}");
    b.stop().await.expect("b stops");
}
