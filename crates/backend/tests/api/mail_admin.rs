//! `/api/v1/admin/mail/*`: listing and filtering deliveries, one delivery
//! and its attempt log, dead letters, and resend (allowed from `pending`,
//! `retrying`, `dead_lettered`; 409 on `sent`; 404 for an unknown id).
//! Every exchange is validated against `openapi.yaml`.

use galaxy_devstack::smtp::Behaviour;
use serde_json::Value;
use uuid::Uuid;

use crate::mail::{
    ROOT, ROOT_PASSWORD, attempts_of, enqueue_login_code, mail_app, make_due, smtp_server,
    state_of, tick,
};

const DELIVERIES: &str = "/api/v1/admin/mail/deliveries";
const DEAD_LETTERS: &str = "/api/v1/admin/mail/dead-letters";

async fn get(app: &crate::helpers::TestApp, path: &str, query: &[(&str, &str)]) -> Value {
    let mut call = app.api.get(path).basic_auth(ROOT, ROOT_PASSWORD);
    for (k, v) in query {
        call = call.query(k, v);
    }
    let r = call.send().await;
    r.assert_status(200);
    r.value()
}

async fn resend(
    app: &crate::helpers::TestApp,
    id: impl std::fmt::Display,
) -> crate::helpers::client::TestResponse {
    app.api
        .post(&format!("{DELIVERIES}/{id}/resend"))
        .basic_auth(ROOT, ROOT_PASSWORD)
        .send()
        .await
}

#[tokio::test]
async fn mail_admin_routes_require_admin_credentials() {
    let server = smtp_server().await;
    let app = mail_app(&server).spawn().await;
    let r = app.api.get(DELIVERIES).send().await;
    r.assert_status(401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Basic realm="galaxy-admin""#)
    );
    app.api
        .get(DEAD_LETTERS)
        .basic_auth(ROOT, "wrong-password-123")
        .send()
        .await
        .assert_status(401);
    app.api
        .post(&format!("{DELIVERIES}/{}/resend", Uuid::new_v4()))
        .send()
        .await
        .assert_status(401);
}

#[tokio::test]
async fn deliveries_are_listed_newest_first_paged_and_filtered_by_state() {
    let server = smtp_server().await;
    let app = mail_app(&server).spawn().await;
    let first = enqueue_login_code(&app, "pilot1@example.com", "111111").await;
    let second = enqueue_login_code(&app, "pilot2@example.com", "222222").await;
    let third = enqueue_login_code(&app, "pilot3@example.com", "333333").await;
    // Only the first is due: it gets sent.
    sqlx::query("UPDATE mail_deliveries SET next_attempt_at = now() + interval '1 hour' WHERE delivery_id <> $1")
        .bind(first.0)
        .execute(app.db())
        .await
        .unwrap();
    assert_eq!(tick(&app).await.sent, 1);

    let all = get(&app, DELIVERIES, &[]).await;
    assert_eq!(all["total"], 3);
    assert_eq!(
        (all["page"].as_u64(), all["per_page"].as_u64()),
        (Some(1), Some(50))
    );
    let ids: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["delivery_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![third.to_string(), second.to_string(), first.to_string()]
    );
    let newest = &all["items"][0];
    assert_eq!(newest["template_id"], "auth.login_code");
    assert_eq!(newest["state"], "pending");
    assert_eq!(
        newest["recipients"],
        serde_json::json!(["pilot3@example.com"])
    );
    assert_eq!(newest["subject"], "Your Galaxy login code");
    assert!(
        newest.get("text_body").is_none() && !newest.to_string().contains("333333"),
        "no body, no code"
    );

    let page2 = get(&app, DELIVERIES, &[("page", "2"), ("per_page", "2")]).await;
    assert_eq!(page2["total"], 3);
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_eq!(page2["items"][0]["delivery_id"], first.to_string());

    let sent = get(&app, DELIVERIES, &[("state", "sent")]).await;
    assert_eq!(sent["total"], 1);
    assert_eq!(sent["items"][0]["delivery_id"], first.to_string());
    assert_eq!(sent["items"][0]["next_attempt_at"], Value::Null);
    assert!(sent["items"][0]["sent_at"].is_string());
    let pending = get(&app, DELIVERIES, &[("state", "pending")]).await;
    assert_eq!(pending["total"], 2);
    assert_eq!(
        get(&app, DELIVERIES, &[("state", "dead_lettered")]).await["total"],
        0
    );

    let r = app
        .api
        .get(DELIVERIES)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .query("state", "lost")
        .send()
        .await;
    r.assert_status(400);
    assert_eq!(r.error_code(), "invalid_query");
    app.api
        .get(DELIVERIES)
        .basic_auth(ROOT, ROOT_PASSWORD)
        .query("page", 0)
        .send()
        .await
        .assert_status(400);
}

#[tokio::test]
async fn a_delivery_and_its_attempt_log_are_shown() {
    let server = smtp_server().await;
    server
        .set_behaviour(Behaviour::TransientRejectTimes(1))
        .await
        .unwrap();
    let app = mail_app(&server).spawn().await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;
    tick(&app).await;

    let delivery = get(&app, &format!("{DELIVERIES}/{id}"), &[]).await;
    assert_eq!(delivery["delivery_id"], id.to_string());
    assert_eq!(delivery["state"], "retrying");
    assert_eq!(
        (
            delivery["attempt_count"].as_i64(),
            delivery["cycle_attempts"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert!(delivery["next_attempt_at"].is_string());
    assert_eq!(delivery["lease_until"], Value::Null);
    assert!(delivery["last_error"].as_str().unwrap().contains("451"));
    assert!(delivery["idempotency_key"].is_string());

    make_due(&app).await;
    tick(&app).await;
    let log = get(&app, &format!("{DELIVERIES}/{id}/attempts"), &[]).await;
    assert_eq!(log["delivery_id"], id.to_string());
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (
            items[0]["attempt_no"].as_i64(),
            items[0]["outcome"].as_str()
        ),
        (Some(1), Some("transient_failure"))
    );
    assert_eq!(items[0]["smtp_code"], 451);
    assert_eq!(
        (
            items[1]["attempt_no"].as_i64(),
            items[1]["outcome"].as_str()
        ),
        (Some(2), Some("sent"))
    );
    assert_eq!(items[1]["smtp_code"], Value::Null);
}

#[tokio::test]
async fn an_unknown_delivery_is_not_found() {
    let server = smtp_server().await;
    let app = mail_app(&server).spawn().await;
    let unknown = Uuid::new_v4();
    for path in [
        format!("{DELIVERIES}/{unknown}"),
        format!("{DELIVERIES}/{unknown}/attempts"),
        format!("{DELIVERIES}/not-a-uuid"),
    ] {
        let r = app
            .api
            .get(&path)
            .basic_auth(ROOT, ROOT_PASSWORD)
            .send()
            .await;
        r.assert_status(404);
        assert_eq!(r.error_code(), "not_found");
    }
    let r = resend(&app, unknown).await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "not_found");
}

#[tokio::test]
async fn dead_letters_list_current_failures_and_resend_appends_attempts_without_restarting_the_counter()
 {
    let server = smtp_server().await;
    server
        .set_behaviour(Behaviour::PermanentReject)
        .await
        .unwrap();
    let app = mail_app(&server).spawn().await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;
    assert_eq!(tick(&app).await.dead_lettered, 1);

    let dead = get(&app, DEAD_LETTERS, &[]).await;
    assert_eq!(dead["total"], 1);
    let letter = &dead["items"][0];
    assert_eq!(letter["delivery_id"], id.to_string());
    assert_eq!(letter["reason"], "permanent_failure");
    assert_eq!(letter["attempt_count"], 1);
    assert_eq!(letter["template_id"], "auth.login_code");
    assert!(letter["payload_id"].is_string());

    // The relay is fixed; the operator resends.
    server.set_behaviour(Behaviour::Accept).await.unwrap();
    let r = resend(&app, id).await;
    r.assert_status(200);
    let rearmed = r.value();
    assert_eq!(rearmed["state"], "pending");
    assert_eq!(
        (
            rearmed["attempt_count"].as_i64(),
            rearmed["cycle_attempts"].as_i64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(
        get(&app, DEAD_LETTERS, &[]).await["total"],
        0,
        "the dead letter is gone"
    );

    assert_eq!(tick(&app).await.sent, 1);
    assert_eq!(state_of(&app, id).await, "sent");
    assert_eq!(
        attempts_of(&app, id).await,
        vec![
            (1, "permanent_failure".to_owned(), Some(550)),
            (2, "sent".to_owned(), None)
        ],
        "the resend appended attempt 2"
    );

    // The resend is in the audit trail.
    let audit = get(&app, "/api/v1/admin/audit", &[]).await;
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "mail.resend")
        .expect("audited");
    assert_eq!(entry["actor"], ROOT);
    assert_eq!(entry["target"], id.to_string());
    assert_eq!(entry["details"]["previous_state"], "dead_lettered");
}

#[tokio::test]
async fn resend_on_a_sent_delivery_is_a_conflict() {
    let server = smtp_server().await;
    let app = mail_app(&server).spawn().await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;
    assert_eq!(tick(&app).await.sent, 1);

    let r = resend(&app, id).await;
    r.assert_status(409);
    assert_eq!(r.error_code(), "mail_already_sent");
    assert_eq!(state_of(&app, id).await, "sent");
    assert_eq!(attempts_of(&app, id).await.len(), 1);
}

#[tokio::test]
async fn resend_of_a_retrying_delivery_starts_a_new_cycle_now() {
    let server = smtp_server().await;
    server.set_behaviour(Behaviour::Down).await.unwrap();
    let app = mail_app(&server)
        .var("BACKEND_MAIL_MAX_ATTEMPTS", "2")
        .spawn()
        .await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;
    assert_eq!(tick(&app).await.retrying, 1);
    assert_eq!(tick(&app).await.claimed, 0, "backing off");

    // Resend makes it due now, with a fresh cycle of attempts.
    let r = resend(&app, id).await;
    r.assert_status(200);
    assert_eq!(r.value()["cycle_attempts"], 0);
    assert_eq!(
        tick(&app).await.retrying,
        1,
        "attempt 2, first of the new cycle: not dead yet"
    );
    make_due(&app).await;
    assert_eq!(
        tick(&app).await.dead_lettered,
        1,
        "attempt 3, second of the cycle"
    );
    let attempts = attempts_of(&app, id).await;
    assert_eq!(
        attempts.iter().map(|a| a.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );

    // A pending delivery can be resent too (it is simply due now).
    let fresh = enqueue_login_code(&app, "pilot2@example.com", "111111").await;
    let r = resend(&app, fresh).await;
    r.assert_status(200);
    assert_eq!(r.value()["state"], "pending");
}

#[tokio::test]
async fn resend_while_a_worker_holds_the_delivery_waits_for_that_worker() {
    let server = smtp_server().await;
    let app = mail_app(&server).spawn().await;
    let id = enqueue_login_code(&app, "pilot@example.com", "424242").await;
    let worker = crate::mail::mail(&app).worker();
    let claim = worker.claim().await.unwrap();
    assert_eq!(claim.deliveries.len(), 1);

    // The operator resends while the worker is (about to be) sending.
    let r = resend(&app, id).await;
    r.assert_status(200);
    let rearmed = r.value();
    assert_eq!(rearmed["state"], "pending");
    assert_eq!(
        rearmed["next_attempt_at"], rearmed["lease_until"],
        "still due only at the lease expiry"
    );
    assert_eq!(
        tick(&app).await.claimed,
        0,
        "no second worker sends it meanwhile"
    );

    // The holder's result counts: sent once, attempt 1.
    let report = worker.deliver(claim).await.unwrap();
    assert_eq!((report.sent, report.lease_lost), (1, 0));
    assert_eq!(state_of(&app, id).await, "sent");
    assert_eq!(
        attempts_of(&app, id).await,
        vec![(1, "sent".to_owned(), None)]
    );
    assert_eq!(
        server
            .wait_for_messages(1, std::time::Duration::from_secs(10))
            .await
            .unwrap()
            .len(),
        1
    );
}
