//! One table from the API's error codes (`openapi.yaml`, the gateway's
//! refusals in docs/auth.md) to one-line messages for people, with the
//! context the error's `details` give (turn numbers, states, fields). A code
//! not in the table prints as `<code>: <message>`.

use serde_json::Value;

use crate::client::ApiError;

/// The one line `galaxy` prints (after `error: `) for an API error.
pub fn describe(e: &ApiError) -> String {
    let text = |name: &str| e.detail(name).map(plain).unwrap_or_default();
    let fixed: Option<&str> = match e.code.as_str() {
        // login and sessions
        "wrong_code" => {
            return match e.detail("attempts_left").and_then(Value::as_u64) {
                Some(0) => "wrong code; that was the last attempt for this code — request a new one with `galaxy login EMAIL`".to_owned(),
                Some(n) => format!("wrong code; {n} more attempt(s) for this code"),
                None => "wrong code".to_owned(),
            };
        }
        "challenge_not_found" => {
            Some("that login code request is unknown; request a new code with `galaxy login EMAIL`")
        }
        "challenge_consumed" => {
            Some("that login code was already used; request a new one with `galaxy login EMAIL`")
        }
        "challenge_expired" => {
            Some("the login code has expired; request a new one with `galaxy login EMAIL`")
        }
        "challenge_burned" => {
            Some("too many wrong codes; request a new one with `galaxy login EMAIL`")
        }
        "too_many_attempts" | "too_many_requests" => {
            return match e.detail("retry_after_seconds").and_then(Value::as_u64) {
                Some(s) => format!("too many attempts; try again in {s} s"),
                None => "too many attempts; try again later".to_owned(),
            };
        }
        "invalid_email" => Some("that is not a valid email address"),
        "invalid_public_key" => {
            Some("the server refused this device's key; delete the key file and log in again")
        }
        "invalid_device" => Some("the device name or platform is not accepted (1–64 characters)"),
        "login_banned" => {
            return match e.detail("expires_at") {
                Some(at) if !at.is_null() => {
                    format!("this account may not log in until {}", plain(at))
                }
                _ => "this account may not log in".to_owned(),
            };
        }
        "account_deleted" => Some("this account was deleted; the address cannot log in again"),
        "unknown_session" | "device_session_not_found" => Some(
            "this device's session has ended (revoked or expired); log in again with `galaxy login EMAIL`",
        ),
        "missing_signature" | "bad_signature" => Some(
            "the gateway refused the request signature; log in again with `galaxy login EMAIL`",
        ),
        "stale_timestamp" | "bad_timestamp" => {
            Some("the gateway refused the request time; check this machine's clock")
        }
        "invalid_credentials" | "missing_credentials" => Some(
            "the admin username or password is wrong (GALAXY_ADMIN_USER / GALAXY_ADMIN_PASSWORD)",
        ),
        // lobby
        "not_found" => Some("not found (no such game, or one you may not see)"),
        "not_game_owner" => Some("only the game's owner may do that"),
        "game_full" => {
            return format!("the game is full ({} races)", text("max_races"));
        }
        "not_enough_races" => {
            return format!(
                "not enough races to start: {} of at least {}",
                text("races"),
                text("min_races")
            );
        }
        "invalid_game_state" => {
            return format!(
                "the game is {}; this needs it {}",
                state(&text("current_state")),
                state(&text("wanted_state"))
            );
        }
        "invalid_invite_state" => {
            return format!("the invite is already {}", text("current_state"));
        }
        "invalid_application_state" => {
            return format!("the application is already {}", text("current_state"));
        }
        "invite_expired" => Some("the invite has expired; ask the owner for a new one"),
        "invite_exists" => Some("that user already has a pending invite to this game"),
        "application_exists" => Some("you already applied to this game"),
        "applications_closed" => Some("this game does not take applications"),
        "already_member" => Some("already a member of this game"),
        "not_a_member" => Some("you are not a member of this game"),
        "membership_ended" => {
            return format!(
                "your membership in this game has ended ({})",
                text("membership_status")
            );
        }
        "blocked_from_game" => Some("you are blocked from this game"),
        "game_join_banned" => Some("your account may not join games at the moment"),
        "game_limit_reached" => {
            return format!(
                "you are already in your limit of {} unfinished games",
                text("limit")
            );
        }
        "race_name_taken" => Some("that race name is held by another player"),
        "race_name_limit_reached" => {
            return format!(
                "you already hold your limit of {} race names",
                text("limit")
            );
        }
        "invalid_race_name" => Some("that is not a valid race name"),
        "invalid_user_name" => Some("that is not a valid user name"),
        "invalid_game" | "invalid_schedule" | "invalid_settings" | "invalid_invite" => {
            return format!("{} (field `{}`)", e.message, text("field"));
        }
        "unknown_engine_version" => {
            Some("that engine version is not available; ask an admin which ones are")
        }
        // play
        "turn_already_closed" => {
            let current = text("current_turn");
            let turn = e.detail("turn").and_then(Value::as_u64);
            let now = e.detail("current_turn").and_then(Value::as_u64);
            return match (turn, now) {
                (Some(t), Some(n)) if t > n => format!(
                    "turn {t} is not open yet; your orders were not accepted — the current turn is {n}"
                ),
                // Both name the same turn only while it is being generated.
                (Some(t), Some(n)) if t == n => format!(
                    "turn {t} is being generated; your orders were not accepted — resubmit for turn {} once it is ready",
                    t + 1
                ),
                (Some(t), _) => format!(
                    "turn {t} has closed; your orders were not accepted — resubmit for turn {current}"
                ),
                _ => format!(
                    "that turn has closed; your orders were not accepted — resubmit for turn {current}"
                ),
            };
        }
        "game_paused" => Some("the game is paused; orders are not taken until it is resumed"),
        "race_not_alive" => Some("your race is no longer in play in this game"),
        "invalid_orders" => {
            return format!("the orders were refused: {}", e.message);
        }
        "limit_exceeded" => {
            return format!("too much: {} (field `{}`)", e.message, text("field"));
        }
        "order_not_found" => Some("no order line with that id"),
        "report_not_found" => Some("no report for that turn (not played yet)"),
        "engine_unavailable" => {
            return format!(
                "the game's engine is not answering; try again in {} s (nothing was changed)",
                e.detail("retry_after_seconds")
                    .map(plain)
                    .unwrap_or_else(|| "a few".into())
            );
        }
        "invalid_runtime_state" => Some("the game's engine is not in a state that allows this"),
        "runtime_busy" => {
            Some("the game's engine is busy with another operation; try again shortly")
        }
        "invalid_path" => Some("an id in the request is not valid"),
        // transport and server
        "backend_unavailable" | "database_unavailable" | "timeout" | "runtime_unavailable" => {
            Some("the server is unavailable; try again shortly")
        }
        "push_unavailable" => Some("the gateway has no live events (push is off)"),
        "payload_too_large" => Some("the request is too large"),
        "internal" => Some("the server failed; try again, and tell an admin if it keeps failing"),
        _ => None,
    };
    match fixed {
        Some(line) => line.to_owned(),
        None => format!("{}: {}", e.code, e.message),
    }
}

/// A game status as people read it.
fn state(s: &str) -> String {
    s.replace('_', " ")
}

/// A JSON value without quotes around strings.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(code: &str, details: Option<Value>) -> ApiError {
        ApiError {
            status: 409,
            code: code.into(),
            message: "server text".into(),
            details,
        }
    }

    #[test]
    fn a_closed_turn_says_which_turn_to_resubmit_for() {
        let e = err(
            "turn_already_closed",
            Some(json!({"turn": 7, "current_turn": 8})),
        );
        assert_eq!(
            describe(&e),
            "turn 7 has closed; your orders were not accepted — resubmit for turn 8"
        );
    }

    #[test]
    fn a_turn_being_generated_says_to_wait_for_the_next() {
        let e = err(
            "turn_already_closed",
            Some(json!({"turn": 7, "current_turn": 7})),
        );
        assert_eq!(
            describe(&e),
            "turn 7 is being generated; your orders were not accepted — resubmit for turn 8 once it is ready"
        );
    }

    #[test]
    fn an_unknown_code_prints_the_code_and_the_servers_message() {
        assert_eq!(describe(&err("brand_new", None)), "brand_new: server text");
    }

    #[test]
    fn states_read_as_words() {
        let e = err(
            "invalid_game_state",
            Some(json!({"current_state": "enrollment_open", "wanted_state": "running or paused"})),
        );
        assert_eq!(
            describe(&e),
            "the game is enrollment open; this needs it running or paused"
        );
    }
}
