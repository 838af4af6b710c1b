//! The commands: each takes the [`Ctx`] and its arguments, calls the API and
//! prints the answer (a table, or the API's JSON with `--json`).

pub mod account;
pub mod admin;
pub mod lobby;
pub mod play;
pub mod watch;

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use serde_json::Value;

use crate::args::{Cli, Command};
use crate::client::{ApiError, Client, ClientError};
use crate::messages;
use crate::output;
use crate::store::{Store, StoreError};

/// Why a command failed; each prints as one line.
#[derive(Debug)]
pub enum Failure {
    /// The command line or a setting is wrong (exit 2).
    Usage(String),
    /// The API refused (exit 1).
    Api(ApiError),
    /// Anything else the user can act on (exit 1).
    Other(String),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Api(_) | Self::Other(_) => 1,
        }
    }

    /// The one line printed after `error: `.
    pub fn line(&self) -> String {
        match self {
            Self::Usage(s) | Self::Other(s) => s.clone(),
            Self::Api(e) => messages::describe(e),
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Api(e) => Self::Api(e),
            ClientError::NotLoggedIn => Self::Other(StoreError::NotLoggedIn.to_string()),
            ClientError::NoAdminCredentials => Self::Usage(
                "admin commands need GALAXY_ADMIN_USER and GALAXY_ADMIN_PASSWORD".into(),
            ),
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Other(e.to_string())
    }
}

/// What every command gets: the settings, the local store and the client.
pub struct Ctx {
    /// `--json`.
    pub json: bool,
    /// The config dir.
    pub store: Store,
    /// The unauthenticated client (gateway and backend URLs set).
    pub client: Client,
}

impl Ctx {
    /// The context for `cli`'s settings.
    pub fn new(cli: &Cli) -> Result<Self, Failure> {
        Ok(Self {
            json: cli.json,
            store: Store::open(cli.config_dir.clone())?,
            client: Client::new(&cli.gateway, &cli.backend)?,
        })
    }

    /// A client signing as this device; fails when not logged in.
    pub fn user(&self) -> Result<Client, Failure> {
        Ok(self.client.clone().with_device(self.store.device()?))
    }

    /// Prints `value` as JSON with `--json`, else `render(value)`.
    pub fn emit(&self, value: &Value, render: impl FnOnce(&Value) -> String) {
        if self.json {
            output::print_json(value);
        } else {
            print!("{}", render(value));
        }
    }
}

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let ctx = Ctx::new(&cli)?;
    match cli.command {
        Command::Login(args) => account::login(&ctx, args).await,
        Command::Logout => account::logout(&ctx).await,
        Command::Whoami => account::whoami(&ctx).await,
        Command::Sessions => account::sessions(&ctx).await,
        Command::Games(args) => lobby::games(&ctx, args).await,
        Command::Game(command) => lobby::game(&ctx, command).await,
        Command::RaceNames(args) => lobby::race_names(&ctx, args).await,
        Command::Orders(command) => play::orders(&ctx, command).await,
        Command::Report(args) => play::report(&ctx, args).await,
        Command::Status(args) => play::status(&ctx, args).await,
        Command::Watch(args) => watch::watch(&ctx, args).await,
        Command::Admin(args) => admin::admin(&ctx, args).await,
        Command::Completions(_) => unreachable!("handled before the runtime starts"),
    }
}

/// Asks for one line on the terminal; `None` when stdin is not a terminal.
pub fn prompt(question: &str) -> Result<Option<String>, Failure> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    eprint!("{question}");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::Other(format!("cannot read the terminal: {e}")))?;
    Ok(Some(line.trim().to_owned()))
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query("Star Lords&x=ä"), "Star%20Lords%26x%3D%C3%A4");
    }
}
