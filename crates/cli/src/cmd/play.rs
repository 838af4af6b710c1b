//! `orders show|submit|edit`, `report`, `status`: playing a game.

use std::io::Read as _;
use std::path::Path;

use galaxy_model::order::{OrderLine, quote};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Ctx, Failure};
use crate::args::{GameArg, OrdersCommand, Report};
use crate::output::{self, Table, cell, fields};

fn game_path(game: Uuid, what: &str) -> String {
    format!("/api/v1/user/games/{game}/{what}")
}

/// `galaxy orders …`.
pub async fn orders(ctx: &Ctx, command: OrdersCommand) -> Result<(), Failure> {
    match command {
        OrdersCommand::Show { game, text } => {
            let v = ctx.user()?.user_get(&game_path(game, "orders")).await?;
            if text && !ctx.json {
                print!("{}", classic_text(game, &v)?);
            } else {
                ctx.emit(&v, order_set);
            }
            Ok(())
        }
        OrdersCommand::Submit { game, file, turn } => {
            let text = read_orders(&file)?;
            submit(ctx, game, text, turn).await
        }
        OrdersCommand::Edit(GameArg { game }) => edit(ctx, game).await,
    }
}

/// Sends `text` as the whole order set and prints what was stored.
async fn submit(ctx: &Ctx, game: Uuid, text: String, turn: Option<u32>) -> Result<(), Failure> {
    let mut body = json!({ "text": text });
    if let Some(turn) = turn {
        body["turn"] = json!(turn);
    }
    let v = ctx
        .user()?
        .user_put(&game_path(game, "orders"), &body)
        .await?;
    ctx.emit(&v, |v| format!("Orders stored.\n{}", order_set(v)));
    Ok(())
}

/// `galaxy orders edit GAME`: the current set in the classic text form in
/// `$EDITOR` (else `vi`); sent when the saved text differs.
async fn edit(ctx: &Ctx, game: Uuid) -> Result<(), Failure> {
    let current = ctx.user()?.user_get(&game_path(game, "orders")).await?;
    let before = classic_text(game, &current)?;
    let file = tempfile::Builder::new()
        .prefix("galaxy-orders-")
        .suffix(".txt")
        .tempfile()
        .map_err(|e| Failure::Other(format!("cannot create a temporary file: {e}")))?;
    std::fs::write(file.path(), &before)
        .map_err(|e| Failure::Other(format!("{}: {e}", file.path().display())))?;
    run_editor(file.path())?;
    let after = std::fs::read_to_string(file.path())
        .map_err(|e| Failure::Other(format!("{}: {e}", file.path().display())))?;
    if after == before {
        ctx.emit(&json!({ "changed": false }), |_| {
            "No change; nothing was sent.\n".to_owned()
        });
        return Ok(());
    }
    let turn = current["turn"].as_u64().and_then(|t| u32::try_from(t).ok());
    submit(ctx, game, after, turn).await
}

/// Runs `$EDITOR` (a command line, e.g. `code --wait`) on `path`.
fn run_editor(path: &Path) -> Result<(), Failure> {
    let editor = std::env::var("VISUAL")
        .ok()
        .or_else(|| std::env::var("EDITOR").ok())
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("galaxy-editor")
        .arg(path)
        .status()
        .map_err(|e| Failure::Other(format!("cannot run the editor `{editor}`: {e}")))?;
    if !status.success() {
        return Err(Failure::Other(format!(
            "the editor `{editor}` exited with {status}; nothing was sent"
        )));
    }
    Ok(())
}

/// Reads a text order set from `file`, or standard input for `-`.
fn read_orders(file: &str) -> Result<String, Failure> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Other(format!("cannot read standard input: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(file).map_err(|e| Failure::Usage(format!("cannot read {file}: {e}")))
}

/// A `GameOrders` answer in the classic text form, with a comment header.
pub fn classic_text(game: Uuid, v: &Value) -> Result<String, Failure> {
    let lines: Vec<OrderLine> = serde_json::from_value(v["orders"].clone())
        .map_err(|e| Failure::Other(format!("the orders could not be read: {e}")))?;
    let race = v["race"].as_str().unwrap_or("-");
    let quoted = quote(race);
    let turn = cell(v, "turn");
    let mut out = format!(
        "; Orders of {race} for turn {turn} of game {game}.\n\
         ; One order per line between #GALAXY and #END; `;` starts a comment.\n\
         ; Save to send them; quit without saving to keep the stored set.\n\
         #GALAXY {game} {quoted} - {turn}\n"
    );
    for line in &lines {
        out.push_str(&line.order.to_text());
        out.push('\n');
    }
    out.push_str("#END\n");
    Ok(out)
}

/// A `GameOrders` answer: the lines, then the mistakes.
fn order_set(v: &Value) -> String {
    let mut out = fields(&[("race", cell(v, "race")), ("turn", cell(v, "turn"))]);
    let lines: Vec<OrderLine> = serde_json::from_value(v["orders"].clone()).unwrap_or_default();
    if lines.is_empty() {
        out.push_str("\nNo orders.\n");
    } else {
        let mut t = Table::new(&["id", "order"]);
        for line in &lines {
            t.row(vec![line.id.clone(), line.order.to_text()]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    if let Some(mistakes) = v["mistakes"].as_array().filter(|m| !m.is_empty()) {
        let mut t = Table::new(&["mistake", "order", "reason"]);
        for m in mistakes {
            t.row(vec![cell(m, "code"), cell(m, "order"), cell(m, "reason")]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    out
}

/// `galaxy report GAME [--turn N] [--text]`.
pub async fn report(ctx: &Ctx, args: Report) -> Result<(), Failure> {
    let mut path = game_path(args.game, "report");
    let mut query = Vec::new();
    if let Some(turn) = args.turn {
        query.push(format!("turn={turn}"));
    }
    if args.text {
        query.push("format=text".to_owned());
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let client = ctx.user()?;
    if args.text {
        let text = client.user_get_text(&path).await?;
        if ctx.json {
            output::print_json(&json!({ "text": text }));
        } else {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
        }
        return Ok(());
    }
    let v = client.user_get(&path).await?;
    ctx.emit(&v, report_summary);
    Ok(())
}

/// A report's header fields and how many entries each section has.
fn report_summary(v: &Value) -> String {
    let mut out = fields(&[
        ("game", cell(v, "game_id")),
        ("turn", cell(v, "turn")),
        ("race", cell(v, "race_name")),
    ]);
    let mut t = Table::new(&["section", "entries"]);
    if let Some(object) = v.as_object() {
        for (name, value) in object {
            if let Some(items) = value.as_array() {
                t.row(vec![name.replace('_', " "), items.len().to_string()]);
            }
        }
    }
    out.push('\n');
    out.push_str(&t.render());
    out.push_str("\n(the full report: --text, or --json)\n");
    out
}

/// `galaxy status GAME`.
pub async fn status(ctx: &Ctx, args: GameArg) -> Result<(), Failure> {
    let v = ctx
        .user()?
        .user_get(&game_path(args.game, "status"))
        .await?;
    ctx.emit(&v, |v| {
        let mut out = fields(&[
            ("game", cell(v, "game_id")),
            ("status", cell(v, "game_status")),
            ("engine", cell(v, "runtime_status")),
            ("turn", cell(v, "turn")),
            ("next deadline", cell(v, "next_deadline")),
            ("your race", cell(v, "race")),
        ]);
        if v["engine_reachable"] == json!(false) {
            out.push_str("(the engine is not answering)\n");
        }
        let mut t = Table::new(&["race", "name", "state", "orders in"]);
        for r in v["races"].as_array().into_iter().flatten() {
            let orders_in = if r["orders_in"] == json!(true) {
                "yes"
            } else {
                "no"
            };
            t.row(vec![
                cell(r, "race"),
                cell(r, "name"),
                cell(r, "state"),
                orders_in.to_owned(),
            ]);
        }
        if !t.is_empty() {
            out.push('\n');
            out.push_str(&t.render());
        }
        out
    });
    Ok(())
}
