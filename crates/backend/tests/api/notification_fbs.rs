//! Every catalog kind's push payload, built by the dispatcher from `(kind,
//! payload)` exactly as the worker does, decodes with the generated
//! FlatBuffers reader (verifier on), and every field carries its value.

use galaxy_backend::notification::fbs::schema as fb;
use galaxy_backend::notification::{CATALOG, build_client_push_event, catalog};
use serde_json::Value;

fn s<'a>(payload: &'a Value, field: &str) -> Option<&'a str> {
    payload[field].as_str()
}

fn n(payload: &Value, field: &str) -> i64 {
    payload[field].as_i64().expect("an integer field")
}

/// Decodes `bytes` as `kind`'s table and compares every field with `payload`.
fn check(kind: &str, bytes: &[u8], p: &Value) {
    use flatbuffers::root;
    match kind {
        "lobby.invite.received" => {
            let t = root::<fb::LobbyInviteReceived>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.inviter_user_id(), s(p, "inviter_user_id"));
        }
        "lobby.invite.revoked" => {
            let t = root::<fb::LobbyInviteRevoked>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
        }
        "lobby.application.submitted" => {
            let t = root::<fb::LobbyApplicationSubmitted>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.application_id(), s(p, "application_id"));
        }
        "lobby.application.approved" => {
            let t = root::<fb::LobbyApplicationApproved>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
        }
        "lobby.application.rejected" => {
            let t = root::<fb::LobbyApplicationRejected>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
        }
        "lobby.membership.removed" => {
            let t = root::<fb::LobbyMembershipRemoved>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.reason(), s(p, "reason"));
        }
        "lobby.membership.blocked" => {
            let t = root::<fb::LobbyMembershipBlocked>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
        }
        "lobby.race_name.registered" => {
            let t = root::<fb::LobbyRaceNameRegistered>(bytes).unwrap();
            assert_eq!(t.race_name(), s(p, "race_name"));
        }
        "lobby.race_name.pending" => {
            let t = root::<fb::LobbyRaceNamePending>(bytes).unwrap();
            assert_eq!(t.race_name(), s(p, "race_name"));
            assert_eq!(t.expires_at(), s(p, "expires_at"));
        }
        "lobby.race_name.expired" => {
            let t = root::<fb::LobbyRaceNameExpired>(bytes).unwrap();
            assert_eq!(t.race_name(), s(p, "race_name"));
        }
        "runtime.image_pull_failed" => {
            let t = root::<fb::RuntimeImagePullFailed>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.image_ref(), s(p, "image_ref"));
        }
        "runtime.container_start_failed" => {
            let t = root::<fb::RuntimeContainerStartFailed>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
        }
        "runtime.start_config_invalid" => {
            let t = root::<fb::RuntimeStartConfigInvalid>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.reason(), s(p, "reason"));
        }
        "game.turn.ready" => {
            let t = root::<fb::GameTurnReady>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.turn(), n(p, "turn"));
        }
        "game.paused" => {
            let t = root::<fb::GamePaused>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.turn(), n(p, "turn"));
            assert_eq!(t.reason(), s(p, "reason"));
        }
        "game.started" => {
            let t = root::<fb::GameStarted>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.turn(), n(p, "turn"));
        }
        "game.resumed" => {
            let t = root::<fb::GameResumed>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.turn(), n(p, "turn"));
        }
        "game.turn.reminder" => {
            let t = root::<fb::GameTurnReminder>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.turn(), n(p, "turn"));
            assert_eq!(t.deadline(), s(p, "deadline"));
        }
        "game.race.dropped" => {
            let t = root::<fb::GameRaceDropped>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.race_name(), s(p, "race_name"));
            assert_eq!(t.turn(), n(p, "turn"));
        }
        "game.finished" => {
            let t = root::<fb::GameFinished>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.turn(), n(p, "turn"));
            assert_eq!(t.reason(), s(p, "reason"));
        }
        "game.generation.failed" => {
            let t = root::<fb::GameGenerationFailed>(bytes).unwrap();
            assert_eq!(t.game_id(), s(p, "game_id"));
            assert_eq!(t.turn(), n(p, "turn"));
            assert_eq!(t.error(), s(p, "error"));
        }
        other => panic!("no decoder check for {other}: add one with its table"),
    }
}

#[test]
fn every_kind_decodes_with_the_generated_reader_and_keeps_every_field() {
    for spec in CATALOG {
        let payload = catalog::sample_payload(spec);
        let event = build_client_push_event(spec.kind, &payload).expect(spec.kind);
        assert_eq!(event.kind(), spec.kind);
        let bytes = event.marshal().expect("marshal");
        // Not the JSON fallback.
        assert!(
            serde_json::from_slice::<Value>(&bytes).is_err(),
            "{}",
            spec.kind
        );
        check(spec.kind, &bytes, &payload);
        for field in spec.fields {
            assert!(
                !payload[field.name].is_null(),
                "{}: sample lacks {}",
                spec.kind,
                field.name
            );
        }
    }
}

#[test]
fn a_kind_without_a_schema_is_sent_as_json() {
    let payload = serde_json::json!({"game_id": "g"});
    let event = build_client_push_event("mail.dead_lettered", &payload).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&event.marshal().unwrap()).unwrap(),
        payload
    );
}
