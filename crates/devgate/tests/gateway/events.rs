//! The event stream (`GET /api/v1/user/events`): events published by the
//! real backend reach the streams of their user and device session,
//! revocation ends a stream and refuses the session at once, the gateway
//! resumes by itself after a backend restart, and clients resume from the
//! gateway's buffer with `Last-Event-ID`.

use galaxy_backend::notification::build_client_push_event;
use galaxy_backend::push::{ClientTarget, Correlation};

use super::*;

const EVENTS: &str = "/api/v1/user/events";

/// One server-sent event.
#[derive(Debug)]
struct Frame {
    id: Option<String>,
    event: String,
    data: Value,
}

/// An open event stream, read frame by frame (keep-alive comments skipped).
struct EventStream {
    response: reqwest::Response,
    buf: Vec<u8>,
}

impl EventStream {
    /// The next frame; fails the test at the end of the stream or after [`WAIT`].
    async fn next(&mut self) -> Frame {
        self.next_or_end().await.expect("a frame, not the end")
    }

    /// The next frame, or `None` when the stream ended.
    async fn next_or_end(&mut self) -> Option<Frame> {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(at) = self.buf.windows(2).position(|w| w == b"\n\n") {
                    let block: Vec<u8> = self.buf.drain(..at + 2).collect();
                    match parse(&String::from_utf8(block).expect("UTF-8 frame")) {
                        Some(frame) => return Some(frame),
                        None => continue,
                    }
                }
                match self.response.chunk().await.expect("the stream reads") {
                    Some(bytes) => self.buf.extend_from_slice(&bytes),
                    None => {
                        assert!(self.buf.is_empty(), "a partial frame at the end");
                        return None;
                    }
                }
            }
        })
        .await
        .expect("a frame within the timeout")
    }

    /// The next frame, which must be `event`; returns its data.
    async fn expect(&mut self, event: &str) -> Frame {
        let frame = self.next().await;
        assert_eq!(frame.event, event, "{frame:?}");
        frame
    }
}

/// A frame's fields; `None` for a comment-only block.
fn parse(block: &str) -> Option<Frame> {
    let (mut id, mut event, mut data) = (None, None, None);
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("event: ") {
            event = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = Some(serde_json::from_str(v).expect("JSON data"));
        } else {
            assert!(
                line.is_empty() || line.starts_with(':'),
                "unexpected line {line:?}"
            );
        }
    }
    Some(Frame {
        id,
        event: event?,
        data: data.expect("every event has data"),
    })
}

impl Stack {
    /// Opens `device`'s event stream (optionally resuming) and reads its
    /// `ready` message.
    async fn events(&self, device: &Device, last_event_id: Option<&str>) -> EventStream {
        let get = reqwest::Method::GET;
        let mut call = self.call(
            get.clone(),
            EVENTS,
            b"",
            signed_headers(device, &get, EVENTS, b""),
        );
        if let Some(id) = last_event_id {
            call = call.header("last-event-id", id);
        }
        let response = call.send().await.expect("gateway answers");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let mut stream = EventStream {
            response,
            buf: Vec::new(),
        };
        let ready = stream.expect("ready").await;
        assert_eq!(ready.data["session_id"], device.session.to_string());
        assert_eq!(ready.data["user_id"], device.user_id.to_string());
        stream
    }

    /// Publishes a typed notification through the backend's push service
    /// and waits until it is written; returns its cursor.
    async fn publish(
        &self,
        user: Uuid,
        device: Option<Uuid>,
        kind: &str,
        payload: Value,
    ) -> String {
        let event = build_client_push_event(kind, &payload).expect("a typed event");
        self.state
            .push
            .publish_client_event(
                ClientTarget {
                    user_id: user.into(),
                    device_session_id: device.map(Into::into),
                },
                Correlation {
                    event_id: format!("test-{kind}"),
                    ..Correlation::default()
                },
                event.as_ref(),
            )
            .expect("publish");
        self.state.push.flush().await.expect("written").to_string()
    }

    /// `game.turn.ready` for `user` (every device), with `turn`.
    async fn turn_ready(&self, user: Uuid, turn: i64) -> String {
        self.publish(
            user,
            None,
            "game.turn.ready",
            json!({ "game_id": Uuid::nil(), "turn": turn }),
        )
        .await
    }
}

/// Asserts `frame` is the `game.turn.ready` event with `cursor` and `turn`.
fn assert_turn(frame: &Frame, cursor: &str, turn: i64) {
    assert_eq!(frame.event, "game.turn.ready", "{frame:?}");
    assert_eq!(frame.id.as_deref(), Some(cursor));
    assert_eq!(frame.data["cursor"], cursor);
    assert_eq!(frame.data["payload"]["turn"], turn, "{frame:?}");
}

#[tokio::test]
async fn events_reach_their_users_and_devices_with_decoded_payloads() {
    let mut stack = push_stack().await;
    let phone = stack.login("fan-out@example.com", 20).await;
    let laptop = stack.login("fan-out@example.com", 21).await;
    let other = stack.login("someone-else@example.com", 22).await;
    assert_eq!(phone.user_id, laptop.user_id);
    stack.wait_for_subscription(1).await;
    let mut phone_events = stack.events(&phone, None).await;
    let mut laptop_events = stack.events(&laptop, None).await;
    let mut other_events = stack.events(&other, None).await;

    // A user-wide event reaches both devices, decoded and as raw bytes.
    let cursor = stack.turn_ready(phone.user_id, 3).await;
    for stream in [&mut phone_events, &mut laptop_events] {
        let frame = stream.next().await;
        assert_turn(&frame, &cursor, 3);
        assert_eq!(frame.data["kind"], "game.turn.ready");
        assert_eq!(frame.data["event_id"], "test-game.turn.ready");
        assert_eq!(frame.data["payload"]["game_id"], Uuid::nil().to_string());
        let raw = base64::engine::general_purpose::STANDARD
            .decode(frame.data["payload_b64"].as_str().expect("payload_b64"))
            .expect("standard base64");
        assert_eq!(
            galaxy_wire::payload::to_json("game.turn.ready", &raw).expect("decodes"),
            frame.data["payload"]
        );
    }

    // A device-targeted event reaches that session's stream only: the
    // laptop's next event is the one published after it.
    let invite = json!({ "game_id": Uuid::nil(), "inviter_user_id": other.user_id });
    let targeted = stack
        .publish(
            phone.user_id,
            Some(phone.session),
            "lobby.invite.received",
            invite.clone(),
        )
        .await;
    let after = stack.turn_ready(phone.user_id, 4).await;
    let frame = phone_events.expect("lobby.invite.received").await;
    assert_eq!(frame.id.as_deref(), Some(targeted.as_str()));
    assert_eq!(frame.data["payload"], invite);
    assert_turn(&phone_events.next().await, &after, 4);
    assert_turn(&laptop_events.next().await, &after, 4);

    // The other user saw none of it.
    let theirs = stack.turn_ready(other.user_id, 9).await;
    assert_turn(&other_events.next().await, &theirs, 9);
}

#[tokio::test]
async fn a_revoked_session_is_cut_off_mid_stream_and_refused_at_once() {
    let mut stack = push_stack().await;
    let phone = stack.login("revoked-stream@example.com", 23).await;
    let laptop = stack.login("revoked-stream@example.com", 24).await;
    stack.wait_for_subscription(1).await;
    let mut phone_events = stack.events(&phone, None).await;
    let mut laptop_events = stack.events(&laptop, None).await;

    let revoke = format!("/api/v1/user/sessions/{}/revoke", phone.session);
    let r = stack
        .signed(&laptop, reqwest::Method::POST, &revoke, b"")
        .await;
    assert_eq!(r.status(), 204, "revoked from the other device");

    let frame = phone_events.expect("session.invalidated").await;
    assert_eq!(frame.data["reason"], "user_revoked", "{frame:?}");
    assert!(
        phone_events.next_or_end().await.is_none(),
        "the stream ends"
    );

    let seen = stack.backend_saw(ACCOUNT).await;
    let r = stack
        .signed(&phone, reqwest::Method::GET, ACCOUNT, b"")
        .await;
    assert_refused(r, "session_revoked").await;
    assert_eq!(
        stack.backend_saw(ACCOUNT).await,
        seen,
        "refused before the backend"
    );

    // The other device's stream is untouched.
    let cursor = stack.turn_ready(laptop.user_id, 1).await;
    assert_turn(&laptop_events.next().await, &cursor, 1);
}

#[tokio::test]
async fn the_gateway_resumes_by_itself_after_a_backend_restart() {
    let mut stack = push_stack().await;
    let device = stack.login("restart@example.com", 25).await;
    stack.wait_for_subscription(1).await;
    let mut events = stack.events(&device, None).await;
    let before = stack.turn_ready(device.user_id, 1).await;
    assert_turn(&events.next().await, &before, 1);

    stack.restart_backend().await;
    // The gateway resubscribes with its last cursor, which the new process
    // resumes (the events are in PostgreSQL): no reset, nothing missed.
    stack.wait_for_subscription(2).await;

    let after = stack.turn_ready(device.user_id, 2).await;
    assert_turn(&events.next().await, &after, 2);
    assert!(after > before, "cursors keep increasing across restarts");
}

#[tokio::test]
async fn a_client_resumes_from_the_gateway_buffer_with_last_event_id() {
    let mut stack = push_stack().await;
    let device = stack.login("resume@example.com", 26).await;
    stack.wait_for_subscription(1).await;
    let mut events = stack.events(&device, None).await;
    let mut cursors = Vec::new();
    for turn in 1..=3 {
        cursors.push(stack.turn_ready(device.user_id, turn).await);
    }
    for (turn, cursor) in (1..=3).zip(&cursors) {
        assert_turn(&events.next().await, cursor, turn);
    }
    drop(events);
    let missed = stack.turn_ready(device.user_id, 4).await;

    // From the first event on: the rest, then the one missed, then live.
    let mut events = stack.events(&device, Some(&cursors[0])).await;
    assert_turn(&events.next().await, &cursors[1], 2);
    assert_turn(&events.next().await, &cursors[2], 3);
    assert_turn(&events.next().await, &missed, 4);
    let live = stack.turn_ready(device.user_id, 5).await;
    assert_turn(&events.next().await, &live, 5);

    // A cursor from before the buffer, or not a cursor at all: reset.
    for stale in ["00000000000000000000", "not-a-cursor"] {
        let mut events = stack.events(&device, Some(stale)).await;
        let reset = events.expect("reset").await;
        assert_eq!(reset.data["reason"], "gateway_buffer", "{stale}: {reset:?}");
    }
}

#[tokio::test]
async fn stopping_the_gateway_ends_open_streams_cleanly() {
    let mut stack = push_stack().await;
    let device = stack.login("shutdown@example.com", 29).await;
    stack.wait_for_subscription(1).await;
    let mut events = stack.events(&device, None).await;
    stack.gateway_stop.cancel();
    assert!(events.next_or_end().await.is_none(), "the stream ends");
    tokio::time::timeout(WAIT, stack.gateway_task.take().expect("running"))
        .await
        .expect("the gateway stops within the timeout")
        .expect("gateway task")
        .expect("the gateway stops cleanly");
}

#[tokio::test]
async fn bad_requests_for_the_event_stream_are_refused() {
    let stack = push_stack().await;
    let device = stack.login("events-refused@example.com", 27).await;
    let get = reqwest::Method::GET;
    let session = Some(device.session.to_string());

    assert_refused(
        stack
            .send(get.clone(), EVENTS, b"", [None, None, None])
            .await,
        "missing_signature",
    )
    .await;
    let ts = now();
    let for_account = signature::sign(&device.key, "GET", ACCOUNT, b"", ts);
    assert_refused(
        stack
            .send(
                get.clone(),
                EVENTS,
                b"",
                [session.clone(), Some(ts.to_string()), Some(for_account)],
            )
            .await,
        "bad_signature",
    )
    .await;
    let old = ts - 3600;
    let stale = signature::sign(&device.key, "GET", EVENTS, b"", old);
    assert_refused(
        stack
            .send(
                get,
                EVENTS,
                b"",
                [session, Some(old.to_string()), Some(stale)],
            )
            .await,
        "stale_timestamp",
    )
    .await;
}

#[tokio::test]
async fn without_push_the_event_stream_is_unavailable() {
    let stack = stack().await;
    let device = stack.login("no-push@example.com", 28).await;
    let r = stack
        .signed(&device, reqwest::Method::GET, EVENTS, b"")
        .await;
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "push_unavailable", "{v}");
}
