//! Two instances on one database share one push stream through
//! PostgreSQL: an event produced on either reaches a gateway subscribed to
//! either, with the same global cursors, and a gateway resumes on the other
//! instance with the cursor the first one gave it.

use std::collections::BTreeSet;

use galaxy_backend::push::pb::push_event;
use galaxy_backend::push::{ClientTarget, Correlation, JsonEvent, PushService};
use galaxy_backend::session::{OnSessionsRevoked as _, RevocationReason, SessionsRevoked};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::push::{client_event, cursor_of, publish, subscribe};

#[tokio::test]
async fn a_revocation_on_one_instance_reaches_a_gateway_on_the_other_and_resumes_there() {
    let a = TestApp::spawn().await;
    let b = TestApp::builder().sharing(&a).spawn().await;
    let before = publish(&a, "game.turn.ready", 1).await[0];

    let mut on_b = subscribe(&b, "gw-1", None).await;
    assert_eq!(on_b.resume, "live");
    let user_id = Uuid::new_v4();
    let session = Uuid::new_v4();
    a.state.push.on_sessions_revoked(&SessionsRevoked {
        user_id: user_id.into(),
        device_session_ids: vec![session.into()],
        reason: RevocationReason::AdminRevoked,
    });
    let revoked = a.state.push.flush().await.expect("written");
    assert_eq!(revoked.0, before.0 + 1, "the next cursor");
    let event = on_b.next().await;
    assert_eq!(cursor_of(&event), revoked);
    let Some(push_event::Kind::SessionInvalidation(inv)) = &event.kind else {
        panic!("expected a SessionInvalidation, got {event:?}");
    };
    assert_eq!(inv.user_id, user_id.to_string());
    assert_eq!(inv.device_session_ids, [session.to_string()]);
    assert_eq!(inv.reason, "admin_revoked");

    // More on A; the gateway takes one on B, then loses B.
    let missed = publish(&a, "game.turn.ready", 3).await;
    assert_eq!(cursor_of(&on_b.next().await), missed[0]);
    drop(on_b);

    // It reconnects to A with its last cursor: exactly what it missed,
    // then live — including what B publishes.
    let mut on_a = subscribe(&a, "gw-1", Some(missed[0])).await;
    assert_eq!(on_a.resume, "replay");
    assert_eq!(on_a.cursors(2).await, missed[1..]);
    let from_b = publish(&b, "lobby.invite.received", 1).await[0];
    assert_eq!(from_b.0, missed[2].0 + 1);
    let event = on_a.next().await;
    assert_eq!(cursor_of(&event), from_b);
    assert_eq!(client_event(&event).kind, "lobby.invite.received");
}

#[tokio::test]
async fn a_cursor_given_by_a_stopped_instance_replays_on_a_new_one() {
    let a = TestApp::spawn().await;
    let b = TestApp::builder().sharing(&a).spawn().await;
    let mut on_b = subscribe(&b, "gw-1", None).await;
    let published = publish(&b, "game.turn.ready", 4).await;
    assert_eq!(on_b.cursors(1).await, published[..1]);
    drop(on_b);
    b.stop().await.expect("B stops");

    // A third instance starts after the events were published: it loaded
    // them from PostgreSQL.
    let c = TestApp::builder().sharing(&a).spawn().await;
    let mut on_c = subscribe(&c, "gw-1", Some(published[0])).await;
    assert_eq!(on_c.resume, "replay");
    assert_eq!(on_c.cursors(3).await, published[1..]);
    let next = publish(&a, "game.turn.ready", 1).await[0];
    assert_eq!(next.0, published[3].0 + 1);
    assert_eq!(on_c.cursors(1).await, [next]);
}

fn publish_tagged(push: &PushService, tag: &str, i: usize) {
    push.publish_client_event(
        ClientTarget {
            user_id: Uuid::nil().into(),
            device_session_id: None,
        },
        Correlation {
            event_id: format!("{tag}-{i}"),
            ..Correlation::default()
        },
        &JsonEvent {
            kind: "game.turn.ready".into(),
            payload: serde_json::json!({ "i": i }),
        },
    )
    .expect("publish");
}

#[tokio::test]
async fn concurrent_publishers_on_two_instances_give_one_gap_free_order() {
    const EACH: usize = 300;
    let a = TestApp::spawn().await;
    let b = TestApp::builder().sharing(&a).spawn().await;
    let mut on_a = subscribe(&a, "gw-a", None).await;
    let mut on_b = subscribe(&b, "gw-b", None).await;

    let producers: Vec<_> = [("a", a.state.push.clone()), ("b", b.state.push.clone())]
        .into_iter()
        .map(|(tag, push)| {
            tokio::spawn(async move {
                for i in 0..EACH {
                    publish_tagged(&push, tag, i);
                    if i % 7 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                push.flush().await.expect("written")
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }

    let mut seen = Vec::new();
    for stream in [&mut on_a, &mut on_b] {
        let mut cursors = Vec::with_capacity(2 * EACH);
        let mut ids = BTreeSet::new();
        for _ in 0..2 * EACH {
            let event = stream.next().await;
            cursors.push(cursor_of(&event));
            ids.insert(client_event(&event).event_id.clone());
        }
        assert!(
            cursors.windows(2).all(|w| w[1].0 == w[0].0 + 1),
            "strictly increasing without gaps: {cursors:?}"
        );
        assert_eq!(ids.len(), 2 * EACH, "every event exactly once");
        seen.push(cursors);
    }
    assert_eq!(seen[0], seen[1], "both instances deliver the same order");
}
