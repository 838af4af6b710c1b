//! `SubscribePush` through a real tonic client over TCP: live delivery,
//! resume points (with the explicit `push-resume` marker), replacement by
//! gateway id, broadcast, per-gateway back-pressure, revocations, restarts
//! and shutdown. (Two instances on one database: `cluster_push.rs`.)

use std::time::Duration;

use galaxy_backend::push::pb::push_event;
use galaxy_backend::push::{ClientTarget, Correlation, Cursor, JsonEvent};
use galaxy_backend::session::{OnSessionsRevoked as _, RevocationReason, SessionsRevoked};
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::push::{
    channel, client_event, cursor_of, endpoint, publish, publish_only, publish_payload, reflect,
    subscribe, subscribe_on,
};
use crate::mail::sample;

#[tokio::test]
async fn a_live_stream_receives_client_events_with_every_field() {
    let app = TestApp::spawn().await;
    let mut stream = subscribe(&app, "gw-1", None).await;
    assert_eq!(stream.resume, "live");
    assert_eq!(stream.reason, None);

    let user_id = Uuid::new_v4();
    let device = Uuid::new_v4();
    app.state
        .push
        .publish_client_event(
            ClientTarget {
                user_id: user_id.into(),
                device_session_id: Some(device.into()),
            },
            Correlation {
                event_id: "route-1".into(),
                request_id: "intent-key".into(),
                trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            },
            &JsonEvent {
                kind: "lobby.invite.received".into(),
                payload: serde_json::json!({ "game": "g1" }),
            },
        )
        .expect("publish");
    let cursor = app.state.push.flush().await.expect("written");
    let event = stream.next().await;
    assert_eq!(cursor_of(&event), cursor);
    let client = client_event(&event);
    assert_eq!(client.user_id, user_id.to_string());
    assert_eq!(client.device_session_id, device.to_string());
    assert_eq!(client.kind, "lobby.invite.received");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&client.payload).unwrap(),
        serde_json::json!({ "game": "g1" })
    );
    assert_eq!(client.event_id, "route-1");
    assert_eq!(client.request_id, "intent-key");
    assert_eq!(client.trace_id, "0af7651916cd43dd8448eb211c80319c");

    // Every device of a user: the device id is empty.
    publish(&app, "game.turn.ready", 1).await;
    assert_eq!(client_event(&stream.next().await).device_session_id, "");

    let scrape = app.scrape_metrics().await;
    assert_eq!(
        sample(&scrape, "grpc_push_subscribers", &[]),
        Some(1.0),
        "{scrape}"
    );
    assert_eq!(
        sample(
            &scrape,
            "grpc_push_events_total",
            &[("kind", "lobby.invite.received")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_revocation_reaches_the_gateway_as_a_session_invalidation() {
    let app = TestApp::spawn().await;
    let mut stream = subscribe(&app, "gw-1", None).await;
    let user_id = Uuid::new_v4();
    let sessions = [Uuid::new_v4(), Uuid::new_v4()];
    // What identity does after committing a revocation.
    app.state.push.on_sessions_revoked(&SessionsRevoked {
        user_id: user_id.into(),
        device_session_ids: sessions.iter().map(|&id| id.into()).collect(),
        reason: RevocationReason::LoginBan,
    });
    let event = stream.next().await;
    let Some(push_event::Kind::SessionInvalidation(inv)) = &event.kind else {
        panic!("expected a SessionInvalidation, got {event:?}");
    };
    assert_eq!(inv.user_id, user_id.to_string());
    assert_eq!(
        inv.device_session_ids,
        sessions.iter().map(Uuid::to_string).collect::<Vec<_>>()
    );
    assert_eq!(inv.reason, "login_ban");
    assert_eq!(Some(cursor_of(&event)), app.state.push.flush().await);
    let scrape = app.scrape_metrics().await;
    assert_eq!(
        sample(
            &scrape,
            "grpc_push_events_total",
            &[("kind", "session_invalidation")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn resuming_inside_the_window_replays_exactly_the_missed_events_then_goes_live() {
    let app = TestApp::spawn().await;
    let mut first = subscribe(&app, "gw-1", None).await;
    let published = publish(&app, "game.turn.ready", 6).await;
    assert!(
        published.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "{published:?}"
    );
    // The gateway consumed two events, then lost the connection.
    assert_eq!(first.cursors(2).await, published[..2]);
    drop(first);

    let mut resumed = subscribe(&app, "gw-1", Some(published[1])).await;
    assert_eq!(resumed.resume, "replay");
    assert_eq!(resumed.reason, None);
    let live = publish(&app, "game.turn.ready", 2).await;
    let expected: Vec<Cursor> = published[2..].iter().chain(&live).copied().collect();
    assert_eq!(resumed.cursors(expected.len()).await, expected);
    // Nothing else: the next frame is the next publish, not a duplicate.
    let next = publish(&app, "game.turn.ready", 1).await[0];
    assert_eq!(cursor_of(&resumed.next().await), next);
}

#[tokio::test]
async fn an_aged_out_cursor_resumes_live_and_says_so() {
    let app = TestApp::builder()
        .var("BACKEND_PUSH_BUFFER_CAPACITY", 3)
        .spawn()
        .await;
    let published = publish(&app, "game.turn.ready", 5).await;
    let mut stream = subscribe(&app, "gw-1", Some(published[0])).await;
    assert_eq!(stream.resume, "reset");
    assert_eq!(stream.reason.as_deref(), Some("aged_out"));
    // The fresh point is "now": the next publish, not the buffered events.
    let next = publish(&app, "game.turn.ready", 1).await[0];
    assert_eq!(cursor_of(&stream.next().await), next);

    // A cursor whose successor is still buffered replays.
    let mut edge = subscribe(&app, "gw-2", Some(published[2])).await;
    assert_eq!(edge.resume, "replay");
    assert_eq!(edge.cursors(3).await, [published[3], published[4], next]);

    // A cursor nobody issued.
    let ahead = subscribe(&app, "gw-3", Some(Cursor(next.0 + 10))).await;
    assert_eq!(ahead.resume, "reset");
    assert_eq!(ahead.reason.as_deref(), Some("unknown"));
}

#[tokio::test]
async fn after_a_restart_a_recent_cursor_replays_and_cursors_keep_increasing() {
    let app = TestApp::spawn().await;
    let before = publish(&app, "game.turn.ready", 3).await;
    let db = app.into_database().await;

    let app = TestApp::builder().database(db).spawn().await;
    // The events are in PostgreSQL: the new process replays them.
    let mut stream = subscribe(&app, "gw-1", Some(before[0])).await;
    assert_eq!(stream.resume, "replay");
    assert_eq!(stream.reason, None);
    assert_eq!(stream.cursors(2).await, before[1..]);
    let after = publish(&app, "game.turn.ready", 1).await[0];
    assert_eq!(after.0, before[2].0 + 1, "consecutive across the restart");
    assert!(
        after.to_string() > before[2].to_string(),
        "lexicographic order holds too"
    );
    assert_eq!(cursor_of(&stream.next().await), after);
}

#[tokio::test]
async fn a_reconnect_with_the_same_id_aborts_the_older_stream() {
    let app = TestApp::spawn().await;
    let mut old = subscribe(&app, "gw-1", None).await;
    let mut new = subscribe(&app, "gw-1", None).await;
    let status = old
        .next_result()
        .await
        .expect_err("the replaced stream ends with a status");
    assert_eq!(status.code(), tonic::Code::Aborted, "{status:?}");

    let cursors = publish(&app, "game.turn.ready", 2).await;
    assert_eq!(new.cursors(2).await, cursors);
    let scrape = app.scrape_metrics().await;
    assert_eq!(sample(&scrape, "grpc_push_subscribers", &[]), Some(1.0));
}

#[tokio::test]
async fn distinct_gateways_each_receive_every_event() {
    let app = TestApp::spawn().await;
    let mut one = subscribe(&app, "gw-1", None).await;
    let mut two = subscribe(&app, "gw-2", None).await;
    app.state.push.on_sessions_revoked(&SessionsRevoked {
        user_id: Uuid::new_v4().into(),
        device_session_ids: vec![Uuid::new_v4().into()],
        reason: RevocationReason::UserRevoked,
    });
    let mut cursors = vec![app.state.push.flush().await.unwrap()];
    cursors.extend(publish(&app, "game.turn.ready", 3).await);
    assert_eq!(one.cursors(4).await, cursors);
    assert_eq!(two.cursors(4).await, cursors);
}

#[tokio::test]
async fn a_stalled_gateway_loses_only_its_own_oldest_events() {
    const QUEUE: usize = 16;
    const EVENTS: usize = 800;
    let app = TestApp::builder()
        .var("BACKEND_PUSH_SUBSCRIBER_QUEUE", QUEUE)
        .spawn()
        .await;
    // The stalled gateway never reads until the end: HTTP/2 flow control
    // (a small window) stops the transport, then its queue overflows.
    let stalled_channel = endpoint(&app)
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .connect()
        .await
        .expect("connect");
    let mut stalled = subscribe_on(stalled_channel, "stalled", None)
        .await
        .unwrap();
    let mut fast = subscribe(&app, "fast", None).await;

    // 8 KiB payloads: the transport buffers fill after a few dozen events.
    let filler = "x".repeat(8 << 10);
    let mut published = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let cursor = publish_payload(
            &app,
            "game.turn.ready",
            serde_json::json!({ "i": i, "fill": filler }),
        )
        .await;
        // The fast gateway keeps up and receives every event, in order.
        assert_eq!(cursor_of(&fast.next().await), cursor);
        published.push(cursor);
    }

    let scrape = app.scrape_metrics().await;
    let dropped = sample(
        &scrape,
        "grpc_push_dropped_total",
        &[("gateway_client_id", "stalled")],
    )
    .unwrap_or_else(|| panic!("no drops counted for the stalled gateway:\n{scrape}"));
    assert!(dropped > 0.0);
    assert_eq!(
        sample(
            &scrape,
            "grpc_push_dropped_total",
            &[("gateway_client_id", "fast")]
        ),
        None,
        "the fast gateway lost nothing"
    );

    // The stalled gateway now reads: what the transport held, then a gap
    // (visible from the cursors), then its queue — the newest events.
    let mut received = Vec::new();
    while received.last() != published.last() {
        received.push(cursor_of(&stalled.next().await));
    }
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing"
    );
    assert_eq!(received[0], published[0], "delivered before the stall");
    assert_eq!(
        received[received.len() - QUEUE..],
        published[EVENTS - QUEUE..]
    );
    let lost = EVENTS - received.len();
    assert_eq!(lost as f64, dropped, "every loss is counted");
    let gaps: u64 = received.windows(2).map(|w| w[1].0 - w[0].0 - 1).sum();
    assert_eq!(gaps, lost as u64, "the gap shows in the cursors");
}

#[tokio::test]
async fn bad_requests_are_invalid_arguments() {
    let app = TestApp::spawn().await;
    let status = subscribe_on(channel(&app).await, "", None)
        .await
        .err()
        .expect("no gateway id");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);

    use galaxy_backend::push::pb::GatewaySubscribeRequest;
    use galaxy_backend::push::pb::push_client::PushClient;
    let status = PushClient::new(channel(&app).await)
        .subscribe_push(GatewaySubscribeRequest {
            gateway_client_id: "gw-1".into(),
            cursor: "not-a-cursor".into(),
        })
        .await
        .expect_err("malformed cursor");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn shutdown_delivers_what_is_queued_then_ends_the_stream_cleanly() {
    let app = TestApp::spawn().await;
    let mut stream = subscribe(&app, "gw-1", None).await;
    // Queued, not yet written: the shutdown writes and delivers them.
    for i in 0..50 {
        publish_only(&app, "game.turn.ready", serde_json::json!({ "i": i }));
    }
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        loop {
            match stream.next_result().await {
                Ok(Some(event)) => got.push(cursor_of(&event)),
                Ok(None) => return Ok(got),
                Err(status) => return Err(status),
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(20), app.stop())
        .await
        .expect("the app stops within its budget")
        .expect("clean stop");
    let got = reader.await.unwrap().expect("the stream ends with OK");
    assert_eq!(got.len(), 50, "{got:?}");
    assert!(got.windows(2).all(|w| w[1].0 == w[0].0 + 1), "{got:?}");
}

#[tokio::test]
async fn reflection_lists_the_push_service() {
    let app = TestApp::spawn().await;
    let response = reflect(
        &app,
        MessageRequest::FileContainingSymbol("galaxy.push.v1.Push".into()),
    )
    .await;
    let Some(MessageResponse::FileDescriptorResponse(files)) = response else {
        panic!("unexpected reflection answer: {response:?}");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}
