//! Fuzz target `push_cursor`: the cursor of `GatewaySubscribeRequest`
//! (`galaxy_backend::push::Cursor`'s `FromStr`, what the gRPC service
//! parses) on arbitrary text, and the hub's resume point for any cursor after
//! any number of events (`PushService::subscribe`): the right kind of resume,
//! and exactly the events after the cursor replayed, in order.
//!
//! This binary links `galaxy-backend`, whose library sets mimalloc as the
//! process's allocator, so it cannot count allocations: the guard bounds time.

use std::time::Duration;

use galaxy_backend::push::pb::PushEvent;
use galaxy_backend::push::{
    ClientTarget, Correlation, Cursor, Delivery, JsonEvent, PushService, PushSettings, ResetReason,
    Resume,
};
use galaxy_backend::telemetry::Metrics;
use galaxy_fuzz::{fuzz, replay_corpus};
use proptest::prelude::*;
use prost::Message as _;

const TARGET: &str = "push_cursor";

/// What a cursor string must parse to: a decimal `u64` of at most 20 ASCII digits.
fn expected(s: &str) -> Option<u64> {
    let digits = !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| s.parse::<u128>().ok())
        .flatten()
        .and_then(|n| u64::try_from(n).ok())
}

fn check_parse(s: &str) -> Result<(), String> {
    let parsed = s.parse::<Cursor>().ok();
    if parsed.map(|c| c.0) != expected(s) {
        return Err(format!("{s:?} parsed as {parsed:?}"));
    }
    if let Some(cursor) = parsed {
        let wire = cursor.to_string();
        if wire.len() != 20 || wire.parse::<Cursor>().ok() != Some(cursor) {
            return Err(format!("{cursor:?} is written {wire:?}"));
        }
    }
    Ok(())
}

fn cursor_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        "[0-9]{0,22}",
        any::<u64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| format!("{n:020}")),
        (any::<u64>(), "[ +\\-0a\u{663}]{1,2}").prop_map(|(n, edge)| format!("{edge}{n}")),
    ]
}

/// A stream that issued `events` events (cursors 1…`events`), keeping
/// `capacity`.
#[derive(Debug, Clone)]
struct Scenario {
    capacity: usize,
    events: u64,
    cursor: u64,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..16, 0u64..40).prop_flat_map(|(capacity, events)| {
        let cursor = prop_oneof![
            3 => 0..=events + 2,
            1 => any::<u64>(),
        ];
        (Just(capacity), Just(events), cursor).prop_map(|(capacity, events, cursor)| Scenario {
            capacity,
            events,
            cursor,
        })
    })
}

fn publish(push: &PushService, n: u64) -> Result<(), String> {
    let user_id = "00000000-0000-0000-0000-000000000001"
        .parse()
        .map_err(|e| format!("user id: {e:?}"))?;
    for i in 0..n {
        push.publish_client_event(
            ClientTarget {
                user_id,
                device_session_id: None,
            },
            Correlation::default(),
            &JsonEvent {
                kind: "fuzz.event".into(),
                payload: serde_json::json!({ "i": i }),
            },
        )
        .map_err(|e| format!("publish: {e:?}"))?;
    }
    Ok(())
}

/// The resume kind the hub must answer for `s`.
fn expected_resume(s: &Scenario) -> Resume {
    let counter = s.cursor;
    if counter > s.events {
        Resume::Reset(ResetReason::Unknown)
    } else if s.events - counter > s.capacity as u64 {
        Resume::Reset(ResetReason::AgedOut)
    } else {
        Resume::Replay {
            events: (s.events - counter) as usize,
        }
    }
}

fn check_resume(s: Scenario) -> Result<(), String> {
    let settings = PushSettings {
        freshness_window: Duration::from_secs(3_600),
        buffer_capacity: s.capacity,
        subscriber_queue: 64,
    };
    let push = PushService::in_memory(settings, &Metrics::noop());
    publish(&push, s.events)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    let mut sub = runtime
        .block_on(push.subscribe("gateway-1", Some(Cursor(s.cursor))))
        .map_err(|e| format!("subscribe: {e}"))?;
    let want = expected_resume(&s);
    if sub.resume() != want {
        return Err(format!("resume {:?}, expected {want:?}", sub.resume()));
    }
    let Resume::Replay { events } = want else {
        return Ok(());
    };
    for i in 1..=events as u64 {
        let delivery = runtime.block_on(sub.next());
        let Delivery::Event(bytes) = delivery else {
            return Err(format!("replay {i}: {delivery:?}"));
        };
        let event = PushEvent::decode(bytes).map_err(|e| e.to_string())?;
        if event.cursor != Cursor(s.cursor + i).to_string() {
            return Err(format!("replay {i} has cursor {}", event.cursor));
        }
    }
    Ok(())
}

#[test]
fn the_corpus_parses_as_a_decimal_u64() {
    replay_corpus(TARGET, |bytes| {
        check_parse(&String::from_utf8_lossy(&bytes))
    });
}

#[test]
fn any_cursor_text_parses_as_a_decimal_u64_or_is_refused() {
    fuzz("push_cursor/parse", 5_000, cursor_text(), |s| {
        check_parse(&s)
    });
}

#[test]
fn any_cursor_resumes_the_stream_the_right_way() {
    fuzz("push_cursor/resume", 500, scenario(), check_resume);
}
