//! `galaxy admin …`: the operator actions an admin does often, sent
//! straight to the backend (`/api/v1/admin/*`, HTTP Basic).

use std::io::IsTerminal as _;

use serde_json::{Value, json};

use super::lobby::{game_body, game_detail};
use super::{Ctx, Failure};
use crate::args::{Admin, AdminCommand, AdminGames, GameArg};
use crate::client::{AdminCredentials, Client};
use crate::output::{cell, fields, item_table};

const GAMES: &str = "/api/v1/admin/games";
const RUNTIMES: &str = "/api/v1/admin/runtimes";

/// `galaxy admin …`.
pub async fn admin(ctx: &Ctx, args: Admin) -> Result<(), Failure> {
    let client = admin_client(ctx, args.admin_user)?;
    match args.command {
        AdminCommand::Games(AdminGames::Create(game)) => {
            if game.race_name.is_some() {
                return Err(Failure::Usage(
                    "public games have no owner race; leave --race-name out".into(),
                ));
            }
            let v = client.admin_post(GAMES, Some(&game_body(&game))).await?;
            ctx.emit(&v, |v| format!("Created.\n{}", game_detail(v)));
        }
        AdminCommand::Games(AdminGames::Approve { game, application }) => {
            let v = client
                .admin_post(
                    &format!("{GAMES}/{game}/applications/{application}/approve"),
                    None,
                )
                .await?;
            ctx.emit(&v, |v| {
                format!(
                    "Approved {} ({}).\n",
                    cell(v, "race_name"),
                    cell(v, "status")
                )
            });
        }
        AdminCommand::Games(AdminGames::ForceStart { game, force }) => {
            let v = client
                .admin_post(
                    &format!("{GAMES}/{game}/force-start"),
                    Some(&json!({ "force": force })),
                )
                .await?;
            ctx.emit(&v, game_detail);
        }
        AdminCommand::ForceNextTurn(g) => {
            let v = client
                .admin_post(&format!("{RUNTIMES}/{}/force-next-turn", g.game), None)
                .await?;
            ctx.emit(&v, |v| {
                format!("The next turn runs now.\n{}", runtime_fields(v))
            });
        }
        AdminCommand::Resume(g) => runtime_action(ctx, &client, g, "resume", "Resumed.").await?,
        AdminCommand::Stop(g) => {
            runtime_action(
                ctx,
                &client,
                g,
                "stop",
                "Engine stopped; the game is paused.",
            )
            .await?
        }
        AdminCommand::Start(g) => {
            runtime_action(ctx, &client, g, "start", "Engine started.").await?
        }
        AdminCommand::Runtimes => {
            let v = client.admin_get(RUNTIMES).await?;
            ctx.emit(&v, |v| {
                item_table(
                    v,
                    &["game", "status", "turn", "driver", "engine", "healthy"],
                    &[
                        "game_id",
                        "status",
                        "current_turn",
                        "driver",
                        "engine_version",
                        "last_health_ok",
                    ],
                    "No runtimes.",
                )
            });
        }
    }
    Ok(())
}

/// `POST /admin/runtimes/{game}/{action}`; prints `done` and the record.
async fn runtime_action(
    ctx: &Ctx,
    client: &Client,
    g: GameArg,
    action: &str,
    done: &str,
) -> Result<(), Failure> {
    let v = client
        .admin_post(&format!("{RUNTIMES}/{}/{action}", g.game), None)
        .await?;
    ctx.emit(&v, |v| format!("{done}\n{}", runtime_fields(v)));
    Ok(())
}

/// A runtime record's main fields.
fn runtime_fields(v: &Value) -> String {
    fields(&[
        ("game", cell(v, "game_id")),
        ("status", cell(v, "status")),
        ("turn", cell(v, "current_turn")),
        ("force next turn", cell(v, "force_next_turn")),
    ])
}

/// The client with admin credentials: the user from `--admin-user` or
/// `GALAXY_ADMIN_USER`, the password from `GALAXY_ADMIN_PASSWORD` or asked
/// for on the terminal.
fn admin_client(ctx: &Ctx, user: Option<String>) -> Result<Client, Failure> {
    let user = user.filter(|u| !u.is_empty()).ok_or_else(|| {
        Failure::Usage("no admin user: pass --admin-user or set GALAXY_ADMIN_USER".into())
    })?;
    let password = match std::env::var("GALAXY_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ if std::io::stdin().is_terminal() => {
            rpassword::prompt_password(format!("Password for admin {user}: "))
                .map_err(|e| Failure::Other(format!("cannot read the password: {e}")))?
        }
        _ => {
            return Err(Failure::Usage(
                "no admin password: set GALAXY_ADMIN_PASSWORD (or run on a terminal to be asked)"
                    .into(),
            ));
        }
    };
    Ok(ctx
        .client
        .clone()
        .with_admin(AdminCredentials { user, password }))
}
