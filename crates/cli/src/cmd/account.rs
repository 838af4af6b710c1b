//! `login`, `logout`, `whoami`, `sessions`.

use serde_json::json;

use super::{Ctx, Failure, prompt};
use crate::args::Login;
use crate::client::{Client, ClientError, LoggedIn};
use crate::output::{self, Spinner, Table, cell, fields};
use crate::store::{PendingLogin, Session};

/// The platform a device reports at login.
const PLATFORM: &str = "galaxy-cli";

/// `galaxy login EMAIL [--code CODE] [--device-name NAME]`: requests a code
/// (kept as pending in the config dir) unless `--code` finishes a pending
/// request; asks for the code on a terminal; without one, stops after the
/// request so a script can come back with `--code`.
pub async fn login(ctx: &Ctx, args: Login) -> Result<(), Failure> {
    let email = args.email.trim().to_lowercase();
    let key = ctx.store.load_or_create_key()?;
    let pending = ctx.store.pending_login()?.filter(|p| p.email == email);
    let (challenge_id, code) = match (args.code, pending) {
        (Some(code), Some(pending)) => (pending.challenge_id, code),
        (Some(_), None) => {
            return Err(Failure::Other(format!(
                "no login code was requested for {email} on this device; run `galaxy login {email}` first"
            )));
        }
        (None, _) => {
            let challenge = {
                let _spinner = Spinner::start("requesting a login code");
                ctx.client.request_login_code(&email).await?
            };
            ctx.store.save_pending_login(&PendingLogin {
                email: email.clone(),
                challenge_id: challenge.challenge_id.clone(),
                expires_at: challenge.expires_at.clone(),
            })?;
            match prompt(&format!("A login code was mailed to {email}. Code: "))? {
                Some(code) => (challenge.challenge_id, code),
                None => {
                    let v = json!({
                        "status": "code_sent",
                        "challenge_id": challenge.challenge_id,
                        "expires_at": challenge.expires_at,
                    });
                    ctx.emit(&v, |_| {
                        format!(
                            "A login code was mailed to {email}.\nFinish with: galaxy login {email} --code CODE\n"
                        )
                    });
                    return Ok(());
                }
            }
        }
    };
    let device_name = args.device_name.unwrap_or_else(default_device_name);
    let result = ctx
        .client
        .confirm_login_code(&challenge_id, code.trim(), &key, &device_name, PLATFORM)
        .await;
    let logged_in: LoggedIn = match result {
        Ok(v) => v,
        Err(ClientError::Api(e)) => {
            if e.code.starts_with("challenge_") || e.code == "account_deleted" {
                ctx.store.delete_pending_login()?;
            }
            return Err(Failure::Api(e));
        }
        Err(e) => return Err(e.into()),
    };
    ctx.store.delete_pending_login()?;
    end_previous_session(ctx).await;
    ctx.store.save_session(&Session {
        device_session_id: logged_in.device_session_id.clone(),
        user_id: logged_in.user_id.clone(),
    })?;
    let v = serde_json::to_value(&logged_in).expect("serialisable");
    ctx.emit(&v, |_| {
        let created = if logged_in.account_created {
            " (new account)"
        } else {
            ""
        };
        format!(
            "Logged in{created}.\n{}",
            fields(&[
                ("user", logged_in.user_id.clone()),
                ("session", logged_in.device_session_id.clone()),
            ])
        )
    });
    Ok(())
}

/// Best effort: a login replacing a session of this device ends the old
/// one on the server, so it does not linger in `galaxy sessions`.
async fn end_previous_session(ctx: &Ctx) {
    let Ok(Some(old)) = ctx.store.session() else {
        return;
    };
    if let Ok(client) = ctx.user() {
        let _ = revoke(&client, &old.device_session_id).await;
    }
}

/// Revokes one of the account's device sessions.
async fn revoke(client: &Client, session_id: &str) -> Result<(), ClientError> {
    let path = format!("/api/v1/user/sessions/{session_id}/revoke");
    client.user_post(&path, None).await.map(drop)
}

/// `galaxy logout`: revokes this device's session on the server (an
/// already ended one is fine) and forgets it; the key stays.
pub async fn logout(ctx: &Ctx) -> Result<(), Failure> {
    let Some(session) = ctx.store.session()? else {
        ctx.emit(&json!({ "logged_out": false }), |_| {
            "Not logged in.\n".to_owned()
        });
        return Ok(());
    };
    let client = ctx.user()?;
    match revoke(&client, &session.device_session_id).await {
        Ok(_) => {}
        Err(ClientError::Api(e)) if e.code == "unknown_session" => {}
        Err(e) => return Err(e.into()),
    }
    ctx.store.delete_session()?;
    ctx.emit(
        &json!({ "logged_out": true, "device_session_id": session.device_session_id }),
        |_| "Logged out.\n".to_owned(),
    );
    Ok(())
}

/// `galaxy whoami`: the account.
pub async fn whoami(ctx: &Ctx) -> Result<(), Failure> {
    let v = ctx.user()?.user_get("/api/v1/user/account").await?;
    ctx.emit(&v, |v| {
        fields(&[
            ("user_name", cell(v, "user_name")),
            ("user_id", cell(v, "user_id")),
            ("email", cell(v, "email")),
            ("country", cell(v, "declared_country")),
            ("since", cell(v, "created_at")),
        ])
    });
    Ok(())
}

/// `galaxy sessions`: the account's active device sessions.
pub async fn sessions(ctx: &Ctx) -> Result<(), Failure> {
    let client = ctx.user()?;
    let current = client
        .device()
        .map(|d| d.session_id.clone())
        .unwrap_or_default();
    let v = client.user_get("/api/v1/user/sessions").await?;
    ctx.emit(&v, |v| {
        let mut t = Table::new(&["session", "device", "platform", "created", ""]);
        for s in output::items(v) {
            let mark = if s["device_session_id"] == current.as_str() {
                "this device"
            } else {
                ""
            };
            t.row(vec![
                cell(s, "device_session_id"),
                cell(s, "device_name"),
                cell(s, "platform"),
                cell(s, "created_at"),
                mark.to_owned(),
            ]);
        }
        t.render()
    });
    Ok(())
}

/// `galaxy-cli on <host name>`, or `galaxy-cli`.
fn default_device_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    match host {
        Some(host) => format!("galaxy-cli on {host}").chars().take(64).collect(),
        None => "galaxy-cli".to_owned(),
    }
}
