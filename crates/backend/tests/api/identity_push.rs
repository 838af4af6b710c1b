//! Identity and push/notifications together, end to end: revocations made
//! through HTTP reach the gateway's gRPC stream as `SessionInvalidation`,
//! and a soft delete through HTTP skips the user's open notification routes.

use galaxy_backend::notification::{Intent, catalog};
use galaxy_backend::push::pb::push_event;
use uuid::Uuid;

use crate::auth::{identity_app, login};
use crate::helpers::push::subscribe;
use crate::mail::smtp_server;

fn invalidation(event: &galaxy_backend::push::pb::PushEvent) -> (String, Vec<String>, String) {
    match &event.kind {
        Some(push_event::Kind::SessionInvalidation(inv)) => (
            inv.user_id.clone(),
            inv.device_session_ids.clone(),
            inv.reason.clone(),
        ),
        other => panic!("expected a SessionInvalidation, got {other:?}"),
    }
}

#[tokio::test]
async fn revoking_a_session_over_http_reaches_the_gateway_stream() {
    let server = smtp_server().await;
    let app = identity_app(&server).spawn().await;
    let phone = login(&app, &server, "pilot@example.com", 1, None).await;
    let laptop = login(&app, &server, "pilot@example.com", 2, None).await;
    let mut stream = subscribe(&app, "gateway-a", None).await;

    app.api
        .post(&format!(
            "/api/v1/user/sessions/{}/revoke",
            phone.device_session_id
        ))
        .user(phone.user_id)
        .send()
        .await
        .assert_status(204);
    let (user, sessions, reason) = invalidation(&stream.next().await);
    assert_eq!(user, phone.user_id.to_string());
    assert_eq!(sessions, vec![phone.device_session_id.to_string()]);
    assert_eq!(reason, "user_revoked");

    // Soft delete: the remaining session goes, with its own reason.
    app.api
        .post("/api/v1/user/account/delete")
        .user(laptop.user_id)
        .send()
        .await
        .assert_status(204);
    let (_, sessions, reason) = invalidation(&stream.next().await);
    assert_eq!(sessions, vec![laptop.device_session_id.to_string()]);
    assert_eq!(reason, "user_deleted");
}

#[tokio::test]
async fn a_soft_delete_over_http_skips_the_users_open_notification_routes() {
    let server = smtp_server().await;
    let app = identity_app(&server)
        .var("BACKEND_NOTIFICATION_WORKER_ENABLED", "false")
        .spawn()
        .await;
    let pilot = login(&app, &server, "pilot@example.com", 1, None).await;
    let spec = catalog::lookup("lobby.invite.received").expect("catalog kind");
    let intent = Intent::new(
        spec.kind,
        format!("test:{}", Uuid::new_v4()),
        Some(pilot.user_id.into()),
        catalog::sample_payload(spec),
    );
    let mut tx = app.db().begin().await.unwrap();
    app.state
        .notification
        .submit(&mut tx, &intent)
        .await
        .expect("submit");
    tx.commit().await.unwrap();

    app.api
        .post("/api/v1/user/account/delete")
        .user(pilot.user_id)
        .send()
        .await
        .assert_status(204);

    let routes: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT channel, status, skip_reason FROM notification_routes WHERE user_id = $1 ORDER BY channel",
    )
    .bind(pilot.user_id)
    .fetch_all(app.db())
    .await
    .unwrap();
    assert_eq!(
        routes,
        vec![
            (
                "email".into(),
                "skipped".into(),
                Some("user_deleted".into())
            ),
            ("push".into(), "skipped".into(), Some("user_deleted".into())),
        ]
    );
}
