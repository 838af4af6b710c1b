//! `galaxy watch`: the gateway's live event stream (`GET
//! /api/v1/user/events`, Server-Sent Events), one line per event, resumed
//! with `Last-Event-ID` after a dropped connection.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::{Ctx, Failure};
use crate::args::Watch;
use crate::client::{Client, ClientError};
use crate::output::{Spinner, text};
use crate::sse::{Message, Parser};

const EVENTS: &str = "/api/v1/user/events";
/// Reconnect backoff: first and longest pause.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(5));

/// What one message means for the watch loop.
enum Step {
    /// Keep reading.
    Continue,
    /// The `--until`/`--count` condition is met.
    Done,
}

/// The loop's state across reconnects.
struct Watcher<'a> {
    args: &'a Watch,
    json: bool,
    last_id: Option<String>,
    seen: u64,
    /// Whether a connection was ever established.
    connected: bool,
}

/// `galaxy watch [--game ID] [--until KIND] [--count N]`.
pub async fn watch(ctx: &Ctx, args: Watch) -> Result<(), Failure> {
    let client = ctx.user()?;
    let mut watcher = Watcher {
        args: &args,
        json: ctx.json,
        last_id: None,
        seen: 0,
        connected: false,
    };
    let mut pause = BACKOFF.0;
    loop {
        match watcher.stream(&client).await {
            Ok(Step::Done) => return Ok(()),
            Ok(Step::Continue) => eprintln!("(the event stream ended; reconnecting)"),
            Err(Ended::Dropped(reason)) => {
                eprintln!("({reason}; reconnecting in {} ms)", pause.as_millis());
            }
            Err(Ended::Fatal(e)) => return Err(e),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(BACKOFF.1);
    }
}

/// Why a connection ended early.
enum Ended {
    /// The connection broke after it was established: reconnect.
    Dropped(String),
    /// Nothing to retry (refused, session ended, not reachable at all).
    Fatal(Failure),
}

impl From<Failure> for Ended {
    fn from(e: Failure) -> Self {
        Self::Fatal(e)
    }
}

impl Watcher<'_> {
    /// One connection: reads until it ends or the condition is met.
    async fn stream(&mut self, client: &Client) -> Result<Step, Ended> {
        let mut headers = vec![("accept", "text/event-stream")];
        let last = self.last_id.clone();
        if let Some(id) = &last {
            headers.push(("last-event-id", id.as_str()));
        }
        let connected = {
            let _spinner = Spinner::start("connecting to the event stream");
            client
                .user_request_with(Method::GET, EVENTS, None, &headers)
                .await
        };
        let mut response = match connected {
            Ok(response) => response,
            // Reachable before: the gateway may be restarting.
            Err(ClientError::Unreachable { reason, .. }) if self.connected => {
                return Err(Ended::Dropped(reason));
            }
            Err(e) => return Err(Ended::Fatal(e.into())),
        };
        self.connected = true;
        let mut parser = Parser::new();
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Ok(Step::Continue),
                Err(e) => return Err(Ended::Dropped(format!("the stream broke: {e}"))),
            };
            for message in parser.feed(&chunk) {
                if let Step::Done = self.handle(message)? {
                    return Ok(Step::Done);
                }
            }
        }
    }

    /// One message: control messages, the filter, printing, the counters.
    fn handle(&mut self, message: Message) -> Result<Step, Failure> {
        // Every id is a position to resume from (`ready` carries the newest).
        if let Some(id) = &message.id {
            self.last_id = Some(id.clone());
        }
        let reason = || {
            serde_json::from_str::<Value>(&message.data)
                .ok()
                .and_then(|v| v.get("reason").map(text))
                .unwrap_or_else(|| "unknown".into())
        };
        match message.event.as_str() {
            "ready" => {
                // On stderr, so scripts know when events will be seen.
                eprintln!("Watching for events (Ctrl-C to stop).");
                return Ok(Step::Continue);
            }
            "reset" => {
                eprintln!("(events may have been missed: {})", reason());
                return Ok(Step::Continue);
            }
            "session.invalidated" => {
                return Err(Failure::Other(format!(
                    "this device's session was ended ({}); log in again with `galaxy login EMAIL`",
                    reason()
                )));
            }
            _ => {}
        }
        let data: Value = serde_json::from_str(&message.data).unwrap_or(Value::Null);
        let payload = data.get("payload").cloned().unwrap_or(Value::Null);
        if let Some(game) = &self.args.game
            && payload.get("game_id").and_then(Value::as_str) != Some(game.to_string().as_str())
        {
            return Ok(Step::Continue);
        }
        if self.json {
            println!("{}", serde_json::to_string(&data).unwrap_or_default());
        } else {
            println!("{}", describe_event(&message.event, &payload));
        }
        self.seen += 1;
        let until = self.args.until.as_deref() == Some(message.event.as_str());
        let count = self.args.count.is_some_and(|n| self.seen >= n);
        Ok(if until || count {
            Step::Done
        } else {
            Step::Continue
        })
    }
}

/// One event as a line for people.
pub fn describe_event(kind: &str, p: &Value) -> String {
    let f = |name: &str| p.get(name).map(text).unwrap_or_else(|| "-".into());
    let game = f("game_id");
    match kind {
        "game.turn.ready" => format!("turn {} ready in game {game}", f("turn")),
        "game.started" => format!("game {game} started"),
        "game.paused" => format!("game {game} paused at turn {} ({})", f("turn"), f("reason")),
        "game.resumed" => format!("game {game} resumed at turn {}", f("turn")),
        "game.finished" => format!("game {game} finished ({})", f("reason")),
        "game.turn.reminder" => format!(
            "reminder: no orders yet for turn {} in game {game} (deadline {})",
            f("turn"),
            f("deadline")
        ),
        "game.race.dropped" => format!("race {} dropped from game {game}", f("race_name")),
        "lobby.invite.received" => format!("invited to game {game} by {}", f("inviter_user_id")),
        "lobby.invite.revoked" => format!("invite to game {game} revoked"),
        "lobby.application.submitted" => format!("new application to game {game}"),
        "lobby.application.approved" => format!("application to game {game} approved"),
        "lobby.application.rejected" => format!("application to game {game} rejected"),
        "lobby.membership.removed" => format!("removed from game {game} ({})", f("reason")),
        "lobby.membership.blocked" => format!("blocked from game {game}"),
        "lobby.race_name.registered" => format!("race name {} registered", f("race_name")),
        "lobby.race_name.pending" => format!(
            "race name {} held for you until {}",
            f("race_name"),
            f("expires_at")
        ),
        "lobby.race_name.expired" => format!("race name {} expired", f("race_name")),
        other => format!("{other} {p}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_turn_ready_event_reads_as_a_sentence() {
        assert_eq!(
            describe_event("game.turn.ready", &json!({"game_id": "g", "turn": 3})),
            "turn 3 ready in game g"
        );
    }

    #[test]
    fn an_unknown_kind_prints_its_payload() {
        assert_eq!(describe_event("x.y", &json!({"a": 1})), "x.y {\"a\":1}");
    }
}
