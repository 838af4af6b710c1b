//! Admin accounts and HTTP Basic Auth: bootstrap, the 401/429 answers, the
//! credential cache and its invalidation, the last-admin guard, account
//! management, the audit trail, and write-through after commit only.
//!
//! bcrypt runs at the production cost (12), so each test hashes and
//! verifies as few passwords as it can.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb};

const ROOT: &str = "root";
const ROOT_PASSWORD: &str = "root-password-0001";
const CHALLENGE: &str = r#"Basic realm="galaxy-admin""#;
const ACCOUNTS: &str = "/api/v1/admin/admin-accounts";

fn with_bootstrap(
    builder: crate::helpers::app::TestAppBuilder,
) -> crate::helpers::app::TestAppBuilder {
    builder
        .var("BACKEND_ADMIN_BOOTSTRAP_USER", ROOT)
        .var("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", ROOT_PASSWORD)
}

async fn spawn() -> TestApp {
    with_bootstrap(TestApp::builder()).spawn().await
}

/// Creates an admin as root and returns its view.
async fn create(app: &TestApp, username: &str, password: &str) -> Value {
    let r = app
        .api
        .post(ACCOUNTS)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(json!({ "username": username, "password": password }))
        .send()
        .await;
    r.assert_status(201);
    r.value()
}

/// The status of a list request made with these credentials.
async fn status_as(app: &TestApp, username: &str, password: &str) -> u16 {
    app.api
        .get(ACCOUNTS)
        .basic_auth(username, password)
        .send()
        .await
        .status
}

/// The audit trail's admin actions, newest first (failed sign-ins, which
/// `security.rs` covers, left out).
async fn audit_actions(app: &TestApp) -> Vec<(String, String, String)> {
    let r = app
        .api
        .get("/api/v1/admin/audit")
        .basic_auth(ROOT, ROOT_PASSWORD)
        .query("per_page", 200)
        .send()
        .await;
    r.assert_status(200);
    r.value()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] != "admin_account.sign_in_failed")
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_owned();
            (s("actor"), s("action"), s("target"))
        })
        .collect()
}

#[tokio::test]
async fn admin_routes_require_basic_auth_and_accept_the_bootstrap_admin() {
    let app = spawn().await;

    let missing = app.api.get(ACCOUNTS).send().await;
    missing.assert_status(401);
    assert_eq!(missing.error_code(), "missing_credentials");
    assert_eq!(missing.header("www-authenticate"), Some(CHALLENGE));

    let malformed = app
        .api
        .get(ACCOUNTS)
        .header("authorization", "Basic !!!not-base64")
        .send()
        .await;
    malformed.assert_status(401);
    assert_eq!(malformed.error_code(), "invalid_credentials");

    // A wrong password and an unknown username are the same answer.
    let wrong = app
        .api
        .get(ACCOUNTS)
        .basic_auth(ROOT, "not-the-password")
        .send()
        .await;
    let unknown = app
        .api
        .get(ACCOUNTS)
        .basic_auth("nobody", ROOT_PASSWORD)
        .send()
        .await;
    for r in [&wrong, &unknown] {
        r.assert_status(401);
        assert_eq!(r.error_code(), "invalid_credentials");
        assert_eq!(r.header("www-authenticate"), Some(CHALLENGE));
    }
    assert_eq!(
        wrong.value()["error"]["message"],
        unknown.value()["error"]["message"]
    );
    assert_eq!(
        app.state.admin.cached_credentials(),
        0,
        "failures are never cached"
    );

    let ok = app
        .api
        .get(ACCOUNTS)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    ok.assert_status(200);
    let page = ok.value();
    assert_eq!(
        (
            page["page"].as_u64(),
            page["per_page"].as_u64(),
            page["total"].as_u64()
        ),
        (Some(1), Some(50), Some(1))
    );
    assert_eq!(page["items"][0]["username"], ROOT);
    assert_eq!(page["items"][0]["enabled"], true);
    assert!(page["items"][0].get("password_hash").is_none());
    assert_eq!(
        app.state.admin.cached_credentials(),
        1,
        "the verified credential is remembered"
    );

    // Usernames are case-insensitive; the cached credential serves both spellings.
    app.api
        .get(ACCOUNTS)
        .basic_auth("ROOT", ROOT_PASSWORD)
        .send()
        .await
        .assert_status(200);
    assert_eq!(app.state.admin.cached_credentials(), 1);
}

#[tokio::test]
async fn failed_attempts_are_throttled_per_source_before_any_password_check() {
    let app = with_bootstrap(TestApp::builder())
        .var("BACKEND_ADMIN_AUTH_FAILURE_LIMIT", 3)
        .var("BACKEND_ADMIN_AUTH_FAILURE_WINDOW", "60s")
        .spawn()
        .await;
    // No proxy is configured: the forged X-Forwarded-For is not believed,
    // the source is the TCP peer.
    let attacker = app.api.bound_to([127, 0, 0, 2].into());
    for i in 1..=3 {
        let r = attacker
            .get(ACCOUNTS)
            .basic_auth(ROOT, "wrong-password-guess")
            .header("x-forwarded-for", &format!("198.51.100.{i}"))
            .send()
            .await;
        r.assert_status(401);
    }
    // Even the right password from that source is refused now: the
    // throttle answers before the password is looked at.
    let throttled = attacker
        .get(ACCOUNTS)
        .basic_auth("Root", ROOT_PASSWORD)
        .header("x-forwarded-for", "198.51.100.99")
        .send()
        .await;
    throttled.assert_status(429);
    assert_eq!(throttled.error_code(), "too_many_attempts");
    let retry_after: u64 = throttled
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        throttled.value()["error"]["details"]["retry_after_seconds"],
        retry_after
    );
    assert!(throttled.header("www-authenticate").is_none());

    // Another source is not affected, for any username.
    let admin = app.api.bound_to([127, 0, 0, 3].into());
    let ok = admin
        .get(ACCOUNTS)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    ok.assert_status(200);
    let other = create_status_as(&app, "someone-else", "198.51.100.99").await;
    assert_eq!(other, 401);
}

async fn create_status_as(app: &TestApp, username: &str, source: &str) -> u16 {
    app.api
        .get(ACCOUNTS)
        .basic_auth(username, "wrong-password-guess")
        .header("x-forwarded-for", source)
        .send()
        .await
        .status
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_the_source() {
    let app = with_bootstrap(TestApp::builder())
        .var("BACKEND_ADMIN_AUTH_FAILURE_LIMIT", 3)
        .var("BACKEND_ADMIN_AUTH_FAILURE_WINDOW", "60s")
        .var("BACKEND_TRUSTED_PROXIES", "127.0.0.1")
        .spawn()
        .await;
    let attacker = "203.0.113.9";
    for name in ["guess-one", "guess-two", "guess-three"] {
        assert_eq!(create_status_as(&app, name, attacker).await, 401);
    }
    let from_attacker = app
        .api
        .get(ACCOUNTS)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .header("x-forwarded-for", attacker)
        .send()
        .await;
    from_attacker.assert_status(429);
    assert!(from_attacker.header("retry-after").is_some());
    // The proxy's client is the source: another client is fine.
    let elsewhere = app
        .api
        .get(ACCOUNTS)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .header("x-forwarded-for", "192.0.2.1")
        .send()
        .await;
    elsewhere.assert_status(200);
}

#[tokio::test]
async fn changing_a_password_invalidates_the_cached_credential() {
    let app = spawn().await;
    create(&app, "alice", "alice-password-one").await;
    assert_eq!(status_as(&app, "alice", "alice-password-one").await, 200);
    assert_eq!(
        status_as(&app, "alice", "alice-password-one").await,
        200,
        "served from the credential cache"
    );

    let r = app
        .api
        .post(&format!("{ACCOUNTS}/alice/password"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(json!({ "password": "alice-password-two" }))
        .send()
        .await;
    r.assert_status(200);
    assert_eq!(r.value()["username"], "alice");

    assert_eq!(
        status_as(&app, "alice", "alice-password-one").await,
        401,
        "the cached old password is dead"
    );
    assert_eq!(status_as(&app, "alice", "alice-password-two").await, 200);

    // An admin changes their own password too.
    app.api
        .post(&format!("{ACCOUNTS}/alice/password"))
        .basic_auth("alice", "alice-password-two")
        .json(json!({ "password": "alice-password-three" }))
        .send()
        .await
        .assert_status(200);
    assert_eq!(status_as(&app, "alice", "alice-password-two").await, 401);

    let audit = app
        .api
        .get("/api/v1/admin/audit")
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .value();
    let changes: Vec<(&str, bool)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "admin_account.password_change")
        .map(|e| {
            (
                e["actor"].as_str().unwrap(),
                e["details"]["own"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(changes, [("alice", true), ("root", false)]);
}

#[tokio::test]
async fn a_disabled_admin_is_refused_at_once_and_enabling_restores_access() {
    let app = spawn().await;
    create(&app, "bob", "bob-password-0001").await;
    assert_eq!(status_as(&app, "bob", "bob-password-0001").await, 200);

    let r = app
        .api
        .post(&format!("{ACCOUNTS}/bob/disable"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    r.assert_status(200);
    assert_eq!(r.value()["enabled"], false);
    let refused = app
        .api
        .get(ACCOUNTS)
        .basic_auth("bob", "bob-password-0001")
        .send()
        .await;
    refused.assert_status(401);
    assert_eq!(
        refused.error_code(),
        "invalid_credentials",
        "disabled looks like any other failure"
    );

    // Disabling again changes nothing and records nothing.
    app.api
        .post(&format!("{ACCOUNTS}/bob/disable"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .assert_status(200);

    let r = app
        .api
        .post(&format!("{ACCOUNTS}/BOB/enable"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    r.assert_status(200);
    assert_eq!(r.value()["enabled"], true);
    assert_eq!(status_as(&app, "bob", "bob-password-0001").await, 200);

    let actions: Vec<String> = audit_actions(&app)
        .await
        .into_iter()
        .map(|(_, a, _)| a)
        .collect();
    assert_eq!(
        actions,
        [
            "admin_account.enable",
            "admin_account.disable",
            "admin_account.create",
            "admin_account.bootstrap"
        ]
    );
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_disabled_or_deleted() {
    let app = spawn().await;
    for r in [
        app.api
            .post(&format!("{ACCOUNTS}/root/disable"))
            .basic_auth(ROOT, ROOT_PASSWORD)
            .send()
            .await,
        app.api
            .delete(&format!("{ACCOUNTS}/root"))
            .basic_auth(ROOT, ROOT_PASSWORD)
            .send()
            .await,
    ] {
        r.assert_status(409);
        assert_eq!(r.error_code(), "last_enabled_admin");
    }

    // A disabled second admin does not count.
    create(&app, "carol", "carol-password-01").await;
    app.api
        .post(&format!("{ACCOUNTS}/carol/disable"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .assert_status(200);
    let r = app
        .api
        .delete(&format!("{ACCOUNTS}/root"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    r.assert_status(409);

    // With another enabled admin, root may delete itself.
    app.api
        .post(&format!("{ACCOUNTS}/carol/enable"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .assert_status(200);
    app.api
        .delete(&format!("{ACCOUNTS}/root"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .assert_status(204);
    assert_eq!(
        status_as(&app, ROOT, ROOT_PASSWORD).await,
        401,
        "the deleted admin's cached credential is gone"
    );
    let list = app
        .api
        .get(ACCOUNTS)
        .basic_auth("carol", "carol-password-01")
        .send()
        .await;
    list.assert_status(200);
    assert_eq!(list.value()["total"], 1);
    let r = app
        .api
        .post(&format!("{ACCOUNTS}/carol/disable"))
        .basic_auth("carol", "carol-password-01")
        .send()
        .await;
    r.assert_status(409);
}

#[tokio::test]
async fn bootstrap_is_idempotent_and_never_overwrites_an_existing_account() {
    let first = spawn().await;
    first
        .api
        .post(&format!("{ACCOUNTS}/root/password"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(json!({ "password": "rotated-password-01" }))
        .send()
        .await
        .assert_status(200);

    // A restart on the same database, with a different bootstrap password.
    let db = first.into_database().await;
    let second = TestApp::builder()
        .database(db)
        .var("BACKEND_ADMIN_BOOTSTRAP_USER", "Root")
        .var("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", "another-bootstrap-pw")
        .spawn()
        .await;
    assert_eq!(status_as(&second, ROOT, "another-bootstrap-pw").await, 401);
    assert_eq!(status_as(&second, ROOT, "rotated-password-01").await, 200);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_accounts")
        .fetch_one(second.db())
        .await
        .unwrap();
    assert_eq!(rows, 1);
    let bootstraps: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM admin_audit_log WHERE action = 'admin_account.bootstrap'",
    )
    .fetch_one(second.db())
    .await
    .unwrap();
    assert_eq!(bootstraps, 1);
}

#[tokio::test]
async fn without_bootstrap_variables_no_admin_is_created() {
    let app = TestApp::spawn().await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_accounts")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn a_bootstrap_password_that_breaks_the_policy_stops_startup() {
    let db = TestDb::create().await;
    let config = galaxy_backend::config::Config::from_vars(
        [
            ("BACKEND_POSTGRES_DSN", db.url()),
            ("BACKEND_SMTP_HOST", "127.0.0.1".into()),
            ("BACKEND_SMTP_FROM", "galaxy@test.invalid".into()),
            ("BACKEND_DOCKER_NETWORK", "galaxy-test".into()),
            ("BACKEND_GAME_STATE_ROOT", "/tmp/galaxy-test-state".into()),
            ("BACKEND_GEOIP_DB_PATH", geoip_fixture()),
            ("BACKEND_HTTP_LISTEN_ADDR", "127.0.0.1:0".into()),
            ("BACKEND_GRPC_PUSH_LISTEN_ADDR", "127.0.0.1:0".into()),
            ("BACKEND_OTEL_TRACES_EXPORTER", "none".into()),
            ("BACKEND_OTEL_METRICS_EXPORTER", "none".into()),
            ("BACKEND_ADMIN_BOOTSTRAP_USER", ROOT.into()),
            ("BACKEND_ADMIN_BOOTSTRAP_PASSWORD", "short".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    )
    .expect("the configuration itself is valid");
    let err = match galaxy_backend::app::Application::build(config).await {
        Ok(_) => panic!("startup must fail"),
        Err(err) => format!("{err:#}"),
    };
    assert!(
        err.contains("BACKEND_ADMIN_BOOTSTRAP") && err.contains("12 characters"),
        "{err}"
    );
}

fn geoip_fixture() -> String {
    let dir = std::env::temp_dir().join(format!("galaxy-admin-geoip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("GeoLite2-Country-test.mmdb");
    galaxy_devstack::geoip::write_fixture(&path).expect("write GeoIP fixture");
    path.display().to_string()
}

#[tokio::test]
async fn creating_an_admin_validates_the_input() {
    let app = spawn().await;
    let post = |body: Value| {
        app.api
            .post(ACCOUNTS)
            .basic_auth(ROOT, ROOT_PASSWORD)
            .json(body)
            .send()
    };

    let r = post(json!({ "username": "ab", "password": "long-enough-password" })).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_username");
    let r = post(json!({ "username": "with space", "password": "long-enough-password" })).await;
    assert_eq!(
        (r.status, r.error_code()),
        (422, "invalid_username".to_owned())
    );
    let r = post(json!({ "username": "dave", "password": "too-short" })).await;
    assert_eq!(
        (r.status, r.error_code()),
        (422, "invalid_password".to_owned())
    );
    let r = post(json!({ "username": "dave", "password": "x".repeat(73) })).await;
    assert_eq!(
        (r.status, r.error_code()),
        (422, "invalid_password".to_owned())
    );
    let r = post(json!({ "username": "dave", "password": "tab\tin the password" })).await;
    assert_eq!(
        (r.status, r.error_code()),
        (422, "invalid_password".to_owned())
    );
    let r =
        post(json!({ "username": "dave", "password": "long-enough-password", "role": "owner" }))
            .await;
    assert_eq!((r.status, r.error_code()), (422, "invalid_body".to_owned()));
    let r = post(json!({ "username": "dave" })).await;
    assert_eq!((r.status, r.error_code()), (422, "invalid_body".to_owned()));

    let r = app
        .api
        .post(ACCOUNTS)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .raw_body(Some("application/json"), "{not json")
        .send()
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (400, "malformed_json".to_owned())
    );
    let r = app
        .api
        .post(ACCOUNTS)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .raw_body(None, "{}")
        .send()
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (415, "unsupported_media_type".to_owned())
    );

    // Case-insensitively taken, refused before any hashing.
    let r = post(json!({ "username": "ROOT", "password": "long-enough-password" })).await;
    assert_eq!(
        (r.status, r.error_code()),
        (409, "admin_account_exists".to_owned())
    );

    let created = app
        .api
        .post(ACCOUNTS)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(json!({ "username": "Dave.Ops", "password": "long-enough-password" }))
        .send()
        .await;
    created.assert_status(201);
    assert_eq!(
        created.header("location"),
        Some("/api/v1/admin/admin-accounts/dave.ops")
    );
    assert_eq!(created.value()["username"], "dave.ops");
    let got = app
        .api
        .get(&format!("{ACCOUNTS}/DAVE.OPS"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    got.assert_status(200);
    assert_eq!(got.value()["id"], created.value()["id"]);
    let r = app
        .api
        .post(&format!("{ACCOUNTS}/dave.ops/password"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(json!({ "password": "short" }))
        .send()
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (422, "invalid_password".to_owned())
    );
}

#[tokio::test]
async fn unknown_admin_accounts_are_404() {
    let app = spawn().await;
    let as_root = |call: crate::helpers::client::Call| call.basic_auth(ROOT, ROOT_PASSWORD).send();
    for r in [
        as_root(app.api.get(&format!("{ACCOUNTS}/nobody"))).await,
        as_root(app.api.get(&format!("{ACCOUNTS}/x"))).await,
        as_root(app.api.delete(&format!("{ACCOUNTS}/nobody"))).await,
        as_root(app.api.post(&format!("{ACCOUNTS}/nobody/disable"))).await,
        as_root(app.api.post(&format!("{ACCOUNTS}/nobody/enable"))).await,
        as_root(
            app.api
                .post(&format!("{ACCOUNTS}/nobody/password"))
                .json(json!({ "password": "long-enough-password" })),
        )
        .await,
    ] {
        r.assert_status(404);
        assert_eq!(r.error_code(), "not_found");
    }
}

#[tokio::test]
async fn every_admin_action_is_in_the_audit_trail_newest_first() {
    let app = spawn().await;
    create(&app, "erin", "erin-password-001").await;
    let as_root = |call: crate::helpers::client::Call| call.basic_auth(ROOT, ROOT_PASSWORD).send();
    as_root(
        app.api
            .post(&format!("{ACCOUNTS}/erin/password"))
            .json(json!({ "password": "erin-password-002" })),
    )
    .await
    .assert_status(200);
    as_root(app.api.post(&format!("{ACCOUNTS}/erin/disable")))
        .await
        .assert_status(200);
    as_root(app.api.post(&format!("{ACCOUNTS}/erin/enable")))
        .await
        .assert_status(200);
    as_root(app.api.delete(&format!("{ACCOUNTS}/erin")))
        .await
        .assert_status(204);

    let trail = audit_actions(&app).await;
    let expected = [
        ("root", "admin_account.delete", "erin"),
        ("root", "admin_account.enable", "erin"),
        ("root", "admin_account.disable", "erin"),
        ("root", "admin_account.password_change", "erin"),
        ("root", "admin_account.create", "erin"),
        ("system", "admin_account.bootstrap", "root"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(trail, expected);

    let page = as_root(
        app.api
            .get("/api/v1/admin/audit")
            .query("page", 2)
            .query("per_page", 4),
    )
    .await;
    page.assert_status(200);
    let page = page.value();
    assert_eq!(
        (
            page["page"].as_u64(),
            page["per_page"].as_u64(),
            page["total"].as_u64()
        ),
        (Some(2), Some(4), Some(6))
    );
    let actions: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["admin_account.create", "admin_account.bootstrap"]);

    for (name, value) in [("page", 0), ("per_page", 0), ("per_page", 201)] {
        let r = as_root(app.api.get("/api/v1/admin/audit").query(name, value)).await;
        assert_eq!(
            (r.status, r.error_code()),
            (400, "invalid_query".to_owned()),
            "{name}={value}"
        );
    }
    let r = as_root(app.api.get(ACCOUNTS).query("page", 2).query("per_page", 1)).await;
    r.assert_status(200);
    assert_eq!(
        (
            r.value()["total"].as_u64(),
            r.value()["items"].as_array().map(Vec::len)
        ),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn a_failed_commit_leaves_the_cache_unchanged() {
    let app = spawn().await;
    assert_eq!(status_as(&app, ROOT, ROOT_PASSWORD).await, 200);
    // Every change to admin_accounts now fails at COMMIT, after the
    // statements themselves succeeded.
    for statement in [
        "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$",
        "CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT OR UPDATE OR DELETE ON admin_accounts
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()",
    ] {
        sqlx::query(statement)
            .execute(app.db())
            .await
            .expect("install the trigger");
    }

    let r = app
        .api
        .post(&format!("{ACCOUNTS}/root/password"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(json!({ "password": "never-committed-pw" }))
        .send()
        .await;
    r.assert_status(500);
    assert_eq!(r.error_code(), "internal");
    assert_eq!(status_as(&app, ROOT, "never-committed-pw").await, 401);
    assert_eq!(
        status_as(&app, ROOT, ROOT_PASSWORD).await,
        200,
        "the old password still holds"
    );

    let r = app
        .api
        .post(ACCOUNTS)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .json(json!({ "username": "frank", "password": "frank-password-01" }))
        .send()
        .await;
    r.assert_status(500);
    app.api
        .get(&format!("{ACCOUNTS}/frank"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .assert_status(404);
    let list = app
        .api
        .get(ACCOUNTS)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
        .value();
    assert_eq!(list["total"], 1);
    let trail = audit_actions(&app).await;
    assert_eq!(
        trail.len(),
        1,
        "nothing uncommitted reached the trail: {trail:?}"
    );
}

#[tokio::test]
async fn accounts_are_served_from_the_cache_warmed_at_startup() {
    let app = spawn().await;
    // A row written behind the service's back (a copy of root's hash) is not
    // seen: reads come from the cache …
    sqlx::query(
        "INSERT INTO admin_accounts (id, username, password_hash)
         SELECT gen_random_uuid(), 'ghost', password_hash FROM admin_accounts WHERE username = 'root'",
    )
    .execute(app.db())
    .await
    .unwrap();
    let r = app
        .api
        .get(&format!("{ACCOUNTS}/ghost"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    r.assert_status(404);
    assert_eq!(status_as(&app, "ghost", ROOT_PASSWORD).await, 401);

    // … until the next start warms it from the table.
    let restarted = with_bootstrap(TestApp::builder())
        .database(app.into_database().await)
        .spawn()
        .await;
    let r = restarted
        .api
        .get(&format!("{ACCOUNTS}/ghost"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await;
    r.assert_status(200);
    assert_eq!(status_as(&restarted, "ghost", ROOT_PASSWORD).await, 200);
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_runs_no_more_checks_than_the_limit() {
    let app = with_bootstrap(TestApp::builder())
        .var("BACKEND_ADMIN_AUTH_FAILURE_LIMIT", 3)
        .var("BACKEND_ADMIN_AUTH_FAILURE_WINDOW", "60s")
        .spawn()
        .await;
    let guesses = (0..12).map(|i| {
        app.api
            .get(ACCOUNTS)
            .basic_auth(ROOT, &format!("parallel-guess-{i:02}"))
            .header("x-forwarded-for", &format!("198.51.100.{i}"))
            .send()
    });
    let mut statuses: Vec<u16> = futures::future::join_all(guesses)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [[401; 3].as_slice(), [429; 9].as_slice()].concat()
    );
}
