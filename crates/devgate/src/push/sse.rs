//! The client event stream's wire format: server-sent events, one JSON
//! object per `data:` line (docs/auth.md, "Event stream").

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use serde_json::{Value, json};
use uuid::Uuid;

use super::hub::ClientStream;
use super::pb::ClientEvent;

/// The comment sent when a stream has been quiet for a while.
pub const KEEP_ALIVE_FRAME: &[u8] = b": keep-alive\n\n";

/// `event: ready`, the first message of every stream; `id:` is the newest
/// cursor the gateway holds, when it holds one, so a client that receives
/// nothing else still has a position to resume from.
pub fn ready(session: Uuid, user: Uuid, newest: Option<&str>) -> Bytes {
    frame(
        newest,
        "ready",
        &json!({ "session_id": session, "user_id": user }),
    )
}

/// `event: reset`: events for this stream may have been missed.
pub fn reset(reason: &str) -> Bytes {
    frame(None, "reset", &json!({ "reason": reason }))
}

/// `event: session.invalidated`, the last message of a revoked session's stream.
pub fn invalidated(reason: &str) -> Bytes {
    frame(None, "session.invalidated", &json!({ "reason": reason }))
}

/// A `ClientEvent`: `id:` is its cursor, `event:` its kind, and the data
/// carries the payload decoded to JSON (`null` when it does not decode)
/// and unchanged as base64.
pub fn client_event(cursor: &str, event: &ClientEvent) -> Bytes {
    let payload = galaxy_wire::payload::to_json(&event.kind, &event.payload).unwrap_or_else(|e| {
        tracing::warn!(kind = %event.kind, error = %e, "push payload does not decode; sent as null");
        Value::Null
    });
    let data = json!({
        "kind": event.kind,
        "cursor": cursor,
        "event_id": event.event_id,
        "request_id": event.request_id,
        "trace_id": event.trace_id,
        "payload": payload,
        "payload_b64": base64::engine::general_purpose::STANDARD.encode(&event.payload),
    });
    frame(Some(cursor), &event.kind, &data)
}

fn frame(id: Option<&str>, event: &str, data: &Value) -> Bytes {
    // Field values are single lines; a stray line break would start a new field.
    let line = |s: &str| s.replace(['\r', '\n'], "");
    let mut out = String::with_capacity(128);
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(&line(id));
        out.push('\n');
    }
    out.push_str("event: ");
    out.push_str(&line(event));
    out.push_str("\ndata: ");
    out.push_str(&data.to_string());
    out.push_str("\n\n");
    Bytes::from(out)
}

/// The `200 text/event-stream` answer streaming `stream`'s frames, with a
/// keep-alive comment every `keep_alive` in between.
pub fn response(stream: ClientStream, keep_alive: Duration) -> Response {
    let tick = tokio::time::interval_at(tokio::time::Instant::now() + keep_alive, keep_alive);
    let frames = futures::stream::unfold((stream, tick), |(mut stream, mut tick)| async move {
        let frame = tokio::select! {
            biased;
            frame = stream.frames.recv() => frame?,
            _ = tick.tick() => Bytes::from_static(KEEP_ALIVE_FRAME),
        };
        Some((Ok::<_, Infallible>(frame), (stream, tick)))
    });
    (
        [
            (CONTENT_TYPE, "text/event-stream"),
            (CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(frames),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: Bytes) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn a_client_event_carries_its_cursor_kind_and_both_payload_forms() {
        let event = ClientEvent {
            user_id: Uuid::nil().to_string(),
            kind: "bench.tick".into(),
            payload: br#"{"n":1}"#.to_vec(),
            event_id: "e-1".into(),
            ..Default::default()
        };
        let out = text(client_event("00000000000000000042", &event));
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("id: 00000000000000000042"));
        assert_eq!(lines.next(), Some("event: bench.tick"));
        let data: Value =
            serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(data["payload"], json!({ "n": 1 }));
        assert_eq!(data["payload_b64"], "eyJuIjoxfQ==");
        assert_eq!(data["cursor"], "00000000000000000042");
        assert_eq!(data["event_id"], "e-1");
        assert!(out.ends_with("\n\n"));
    }

    #[test]
    fn an_undecodable_payload_is_null_and_line_breaks_cannot_add_fields() {
        let event = ClientEvent {
            kind: "odd\nkind".into(),
            payload: vec![0xff],
            ..Default::default()
        };
        let out = text(client_event("1", &event));
        assert!(out.contains("event: oddkind\n"), "{out}");
        assert!(out.contains(r#""payload":null"#), "{out}");
    }
}
