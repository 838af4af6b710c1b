//! The hub without gRPC: resume points, replacement, back-pressure, close.

use std::time::Duration;

use prost::Message as _;

use super::*;
use crate::ids::UserId;
use crate::session::{RevocationReason, SessionsRevoked};
use crate::telemetry::Metrics;
use uuid::Uuid;

fn service(settings: PushSettings) -> PushService {
    PushService::in_memory(settings, &Metrics::noop())
}

fn publish(push: &PushService, n: u64) -> Vec<Cursor> {
    (0..n)
        .map(|i| {
            push.publish_client_event(
                ClientTarget {
                    user_id: UserId(Uuid::nil()),
                    device_session_id: None,
                },
                Correlation {
                    event_id: i.to_string(),
                    ..Correlation::default()
                },
                &JsonEvent {
                    kind: "test.kind".into(),
                    payload: serde_json::json!({ "i": i }),
                },
            )
            .expect("marshal");
            push.last_cursor().expect("delivered in memory")
        })
        .collect()
}

async fn next_cursor(sub: &mut Subscription) -> Cursor {
    match tokio::time::timeout(Duration::from_secs(5), sub.next()).await {
        Ok(Delivery::Event(bytes)) => pb::PushEvent::decode(bytes)
            .expect("decodes")
            .cursor
            .parse()
            .expect("cursor"),
        other => panic!("expected an event, got {other:?}"),
    }
}

#[test]
fn cursors_are_consecutive() {
    let push = service(PushSettings::default());
    let cursors = publish(&push, 3);
    assert_eq!(cursors, [Cursor(1), Cursor(2), Cursor(3)]);
    assert_eq!(push.last_cursor(), Some(cursors[2]));
    assert_eq!(cursors[0].to_string().len(), 20);
    assert_eq!(cursors[0].to_string().parse::<Cursor>(), Ok(cursors[0]));
    assert_eq!("12".parse::<Cursor>(), Ok(Cursor(12)));
    for bad in [
        "",
        "-1",
        "1a",
        " 1",
        "184467440737095516150",
        "18446744073709551616",
    ] {
        assert_eq!(bad.parse::<Cursor>(), Err(InvalidCursor), "{bad:?}");
    }
}

#[tokio::test]
async fn resume_inside_the_buffer_replays_exactly_the_later_events_then_live() {
    let push = service(PushSettings::default());
    let cursors = publish(&push, 5);
    let mut sub = push
        .subscribe("gw", Some(cursors[1]))
        .await
        .expect("subscribe");
    assert_eq!(sub.resume(), Resume::Replay { events: 3 });
    let live = publish(&push, 2);
    for expected in cursors[2..].iter().chain(&live) {
        assert_eq!(next_cursor(&mut sub).await, *expected);
    }
    // The last cursor itself: nothing to replay, nothing missed.
    drop(sub);
    let sub = push
        .subscribe("gw", push.last_cursor())
        .await
        .expect("subscribe");
    assert_eq!(sub.resume(), Resume::Replay { events: 0 });
}

#[tokio::test]
async fn cursors_the_buffer_cannot_serve_reset_with_a_reason() {
    let push = service(PushSettings {
        buffer_capacity: 3,
        ..PushSettings::default()
    });
    let cursors = publish(&push, 6);
    let aged = push
        .subscribe("a", Some(cursors[0]))
        .await
        .expect("subscribe");
    assert_eq!(aged.resume(), Resume::Reset(ResetReason::AgedOut));
    // The event right after cursors[2] (cursors[3]) is still kept.
    let edge = push
        .subscribe("b", Some(cursors[2]))
        .await
        .expect("subscribe");
    assert_eq!(edge.resume(), Resume::Replay { events: 3 });
    let ahead = push
        .subscribe("d", Some(Cursor(cursors[5].0 + 1)))
        .await
        .expect("subscribe");
    assert_eq!(ahead.resume(), Resume::Reset(ResetReason::Unknown));
    assert_eq!(
        push.subscribe("e", None).await.expect("subscribe").resume(),
        Resume::Live
    );
}

#[tokio::test]
async fn events_older_than_the_freshness_window_are_not_replayed() {
    let push = service(PushSettings {
        freshness_window: Duration::from_millis(50),
        ..PushSettings::default()
    });
    let cursors = publish(&push, 2);
    tokio::time::sleep(Duration::from_millis(80)).await;
    let sub = push
        .subscribe("gw", Some(cursors[0]))
        .await
        .expect("subscribe");
    assert_eq!(sub.resume(), Resume::Reset(ResetReason::AgedOut));
}

#[tokio::test]
async fn a_reconnect_replaces_the_stream_and_only_the_new_one_counts() {
    let push = service(PushSettings::default());
    let mut old = push.subscribe("gw", None).await.expect("subscribe");
    let mut new = push.subscribe("gw", None).await.expect("subscribe");
    assert!(matches!(old.next().await, Delivery::Replaced));
    assert!(matches!(old.next().await, Delivery::Ended));
    drop(old);
    assert_eq!(
        push.subscriber_count(),
        1,
        "the old stream must not unregister the new one"
    );
    let cursors = publish(&push, 1);
    assert_eq!(next_cursor(&mut new).await, cursors[0]);
    assert!(matches!(
        push.subscribe("", None).await,
        Err(SubscribeError::MissingClientId)
    ));
}

#[tokio::test]
async fn a_slow_subscriber_loses_its_oldest_events_and_nobody_else_does() {
    let push = service(PushSettings {
        subscriber_queue: 4,
        ..PushSettings::default()
    });
    let mut slow = push.subscribe("slow", None).await.expect("subscribe");
    let mut fast = push.subscribe("fast", None).await.expect("subscribe");
    let mut cursors = Vec::new();
    for _ in 0..10 {
        let c = publish(&push, 1)[0];
        assert_eq!(next_cursor(&mut fast).await, c);
        cursors.push(c);
    }
    for expected in &cursors[6..] {
        assert_eq!(next_cursor(&mut slow).await, *expected);
    }
}

#[tokio::test]
async fn close_delivers_what_is_queued_then_ends_and_refuses_new_streams() {
    let push = service(PushSettings::default());
    let mut sub = push.subscribe("gw", None).await.expect("subscribe");
    push.publish_session_invalidation(&SessionsRevoked {
        user_id: UserId(Uuid::nil()),
        device_session_ids: vec![crate::ids::DeviceSessionId(Uuid::nil())],
        reason: RevocationReason::AdminRevoked,
    });
    let revoked = push.last_cursor().expect("published");
    push.close(Duration::from_secs(5)).await;
    assert_eq!(next_cursor(&mut sub).await, revoked);
    assert!(matches!(sub.next().await, Delivery::Ended));
    assert!(matches!(
        push.subscribe("other", None).await,
        Err(SubscribeError::ShuttingDown)
    ));
}
