//! `games`, `game …`, `race-names`: the lobby.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Ctx, Failure, encode_query};
use crate::args::{CreateGame, GameCommand, Games, RaceNameAction, RaceNames};
use crate::output::{self, Spinner, Table, cell, fields, item_table};

const GAMES: &str = "/api/v1/user/games";
const INVITES: &str = "/api/v1/user/invites";
const RACE_NAMES: &str = "/api/v1/user/race-names";

/// How long `game start --wait` waits for the engine.
const START_WAIT: Duration = Duration::from_secs(300);

/// `galaxy games [--mine] [--status S]`.
pub async fn games(ctx: &Ctx, args: Games) -> Result<(), Failure> {
    let path = match (&args.status, args.mine) {
        (_, true) => format!("{GAMES}?per_page=200"),
        (Some(status), false) => {
            format!("{GAMES}/open?per_page=200&status={}", encode_query(status))
        }
        (None, false) => format!("{GAMES}/open?per_page=200"),
    };
    let v = ctx.user()?.user_get(&path).await?;
    ctx.emit(&v, game_table);
    Ok(())
}

/// A page of games as a table.
pub fn game_table(v: &Value) -> String {
    let mut t = Table::new(&["game", "name", "status", "races", "turn", "next deadline"]);
    for g in output::items(v) {
        t.row(vec![
            cell(g, "game_id"),
            cell(g, "name"),
            cell(g, "status"),
            format!("{}/{}", cell(g, "race_count"), cell(g, "max_races")),
            cell(g, "current_turn"),
            cell(g, "next_deadline"),
        ]);
    }
    t.render_or("No games.")
}

/// One game (a `GameDetail` or `Game`) as fields, then its members.
pub fn game_detail(g: &Value) -> String {
    let schedule = g
        .get("turn_schedule")
        .map(|s| match (s.get("every"), s.get("cron")) {
            (Some(every), _) => format!("every {}", output::text(every)),
            (_, Some(cron)) => format!("cron {}", output::text(cron)),
            _ => s.to_string(),
        })
        .unwrap_or_default();
    let mut out = fields(&[
        ("game", cell(g, "game_id")),
        ("name", cell(g, "name")),
        ("status", cell(g, "status")),
        ("visibility", cell(g, "visibility")),
        (
            "races",
            format!(
                "{} (min {}, max {})",
                cell(g, "race_count"),
                cell(g, "min_races"),
                cell(g, "max_races")
            ),
        ),
        ("schedule", schedule),
        ("turn", cell(g, "current_turn")),
        ("next deadline", cell(g, "next_deadline")),
        ("enrollment ends", cell(g, "enrollment_deadline")),
        ("engine", cell(g, "engine_version")),
    ]);
    if let Some(reason) = g.get("status_reason").filter(|r| !r.is_null()) {
        out.push_str(&fields(&[("reason", output::text(reason))]));
    }
    if let Some(members) = g.get("members").and_then(Value::as_array)
        && !members.is_empty()
    {
        let mut t = Table::new(&["race", "user", "status"]);
        for m in members {
            t.row(vec![
                cell(m, "race_name"),
                cell(m, "user_id"),
                cell(m, "status"),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    out
}

/// The `CreateGame` body of `args` (user and admin games).
pub fn game_body(args: &CreateGame) -> Value {
    let schedule = match &args.cron {
        Some(cron) => json!({ "cron": cron }),
        None => json!({ "every": args.every.as_deref().unwrap_or("24h") }),
    };
    let deadline = chrono::Utc::now() + chrono::Duration::hours(i64::from(args.enrollment_hours));
    let mut body = json!({
        "name": args.name,
        "engine_version": args.engine_version,
        "min_races": args.min_races,
        "max_races": args.max_races,
        "turn_schedule": schedule,
        "enrollment_deadline": deadline.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "auto_start": !args.no_auto_start,
        "early_turn": args.early_turn,
    });
    if let Some(description) = &args.description {
        body["description"] = json!(description);
    }
    if let Some(race) = &args.race_name {
        body["race_name"] = json!(race);
    }
    body
}

/// `galaxy game …`.
pub async fn game(ctx: &Ctx, command: GameCommand) -> Result<(), Failure> {
    let client = ctx.user()?;
    match command {
        GameCommand::Show(g) => {
            let v = client.user_get(&format!("{GAMES}/{}", g.game)).await?;
            ctx.emit(&v, game_detail);
        }
        GameCommand::Create(args) => {
            let v = client.user_post(GAMES, Some(&game_body(&args))).await?;
            ctx.emit(&v, |v| format!("Created.\n{}", game_detail(v)));
        }
        GameCommand::Invite { game, user_name } => {
            let body = json!({ "user_name": user_name });
            let v = client
                .user_post(&format!("{GAMES}/{game}/invites"), Some(&body))
                .await?;
            ctx.emit(&v, |v| {
                format!(
                    "Invited {user_name}.\n{}",
                    fields(&[
                        ("invite", cell(v, "invite_id")),
                        ("expires", cell(v, "expires_at")),
                    ])
                )
            });
        }
        GameCommand::Invites => {
            let v = client.user_get(&format!("{INVITES}?per_page=200")).await?;
            ctx.emit(&v, |v| {
                item_table(
                    v,
                    &["invite", "game", "from", "status", "expires"],
                    &[
                        "invite_id",
                        "game_id",
                        "inviter_user_id",
                        "status",
                        "expires_at",
                    ],
                    "No invites.",
                )
            });
        }
        GameCommand::Accept { invite, race_name } => {
            let body = json!({ "race_name": race_name });
            let v = client
                .user_post(&format!("{INVITES}/{invite}/accept"), Some(&body))
                .await?;
            ctx.emit(&v, |v| {
                format!(
                    "Joined game {} as {}.\n",
                    cell(v, "game_id"),
                    cell(v, "race_name")
                )
            });
        }
        GameCommand::Decline { invite } => {
            let v = client
                .user_post(&format!("{INVITES}/{invite}/decline"), None)
                .await?;
            ctx.emit(&v, |_| "Declined.\n".to_owned());
        }
        GameCommand::Apply { game, race_name } => {
            let body = json!({ "race_name": race_name });
            let v = client
                .user_post(&format!("{GAMES}/{game}/applications"), Some(&body))
                .await?;
            ctx.emit(&v, |v| {
                format!(
                    "Applied as {} ({}).\n{}",
                    cell(v, "race_name"),
                    cell(v, "status"),
                    fields(&[("application", cell(v, "application_id"))])
                )
            });
        }
        GameCommand::Leave(g) => {
            let v = client
                .user_post(&format!("{GAMES}/{}/leave", g.game), None)
                .await?;
            ctx.emit(&v, |_| "Left the game.\n".to_owned());
        }
        GameCommand::Start { game, wait } => {
            let mut v = client
                .user_post(&format!("{GAMES}/{game}/start"), None)
                .await?;
            if wait {
                v = wait_for_start(ctx, game).await?;
            }
            ctx.emit(&v, game_detail);
        }
    }
    Ok(())
}

/// Polls the game until it runs (bounded); a start that failed is an error.
async fn wait_for_start(ctx: &Ctx, game: Uuid) -> Result<Value, Failure> {
    let client = ctx.user()?;
    let _spinner = Spinner::start("starting the game's engine");
    let started = std::time::Instant::now();
    loop {
        let v = client.user_get(&format!("{GAMES}/{game}")).await?;
        match v["status"].as_str() {
            Some("starting") => {}
            Some("running" | "paused") => return Ok(v),
            _ => {
                return Err(Failure::Other(format!(
                    "the game did not start: it is {} ({})",
                    cell(&v, "status").replace('_', " "),
                    cell(&v, "status_reason")
                )));
            }
        }
        if started.elapsed() > START_WAIT {
            return Err(Failure::Other(format!(
                "the game is still starting after {} s; check `galaxy game show {game}` later",
                START_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `galaxy race-names [check|register|release NAME]`.
pub async fn race_names(ctx: &Ctx, args: RaceNames) -> Result<(), Failure> {
    let client = ctx.user()?;
    match args.action {
        None => {
            let v = client.user_get(RACE_NAMES).await?;
            ctx.emit(&v, |v| {
                item_table(
                    v,
                    &["race name", "state", "expires"],
                    &["race_name", "state", "expires_at"],
                    "No race names.",
                )
            });
        }
        Some(RaceNameAction::Check { name }) => {
            let v = client
                .user_get(&format!(
                    "{RACE_NAMES}/availability?name={}",
                    encode_query(&name)
                ))
                .await?;
            ctx.emit(&v, |v| {
                let verdict = match (v["available"].as_bool(), v["held_by_you"].as_bool()) {
                    (_, Some(true)) => "yours",
                    (Some(true), _) => "free",
                    _ => "taken",
                };
                format!("{name}: {verdict}\n")
            });
        }
        Some(RaceNameAction::Register { name }) => {
            let v = client
                .user_post(RACE_NAMES, Some(&json!({ "race_name": name })))
                .await?;
            ctx.emit(&v, |v| {
                format!(
                    "Registered {} ({}).\n",
                    cell(v, "race_name"),
                    cell(v, "state")
                )
            });
        }
        Some(RaceNameAction::Release { name }) => {
            let v = client
                .user_post(
                    &format!("{RACE_NAMES}/release"),
                    Some(&json!({ "race_name": name })),
                )
                .await?;
            ctx.emit(&v, |_| format!("Released {name}.\n"));
        }
    }
    Ok(())
}
