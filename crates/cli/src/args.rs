//! The command line: every command, its arguments and settings (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

/// Play Galaxy from the terminal: log in, join games, send orders, read
/// reports, and watch turns arrive.
#[derive(Debug, Parser)]
#[command(
    name = "galaxy",
    version,
    after_help = "Settings come from flags or the environment (flags win). \
                  Output is a table; add --json for the API's JSON.\n\
                  Docs: docs/cli.md"
)]
pub struct Cli {
    /// The gateway players reach the API through.
    #[arg(
        long,
        global = true,
        env = "GALAXY_GATEWAY_URL",
        default_value = "http://127.0.0.1:8090",
        value_name = "URL"
    )]
    pub gateway: String,

    /// The backend, for `galaxy admin` commands (the gateway does not serve them).
    #[arg(
        long,
        global = true,
        env = "GALAXY_BACKEND_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub backend: String,

    /// Where the device key and session are kept [default: the platform config dir + /galaxy].
    #[arg(long, global = true, env = "GALAXY_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Print the API's JSON (one document; one object per line for `watch`).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in with a code mailed to EMAIL (creates this device's key on first use).
    Login(Login),
    /// End this device's session (the key stays for the next login).
    Logout,
    /// Show the account this device is logged in as.
    Whoami,
    /// List the account's active device sessions.
    Sessions,
    /// List open public games, or yours with --mine.
    Games(Games),
    /// One game: show, create, invite, accept, decline, apply, leave, start.
    #[command(subcommand)]
    Game(GameCommand),
    /// List your race names, or check, register or release one.
    RaceNames(RaceNames),
    /// Your orders for the current turn: show, submit, edit.
    #[command(subcommand)]
    Orders(OrdersCommand),
    /// Your turn report (a summary; --text for the classic report).
    Report(Report),
    /// Where a game stands: turn, deadline, who has orders in.
    Status(GameArg),
    /// Print live events (turn ready, paused, invites…) as they arrive.
    Watch(Watch),
    /// Operator actions, sent straight to the backend with HTTP Basic.
    Admin(Admin),
    /// Print a shell completion script (e.g. `galaxy completions bash > /etc/bash_completion.d/galaxy`).
    Completions(Completions),
}

/// `galaxy login`.
#[derive(Debug, Args)]
pub struct Login {
    /// The account's email address.
    pub email: String,
    /// The 6-digit code from the mail (else it is asked for on the terminal,
    /// or the command stops after requesting it when there is no terminal).
    #[arg(long)]
    pub code: Option<String>,
    /// A name for this device, shown in `galaxy sessions`.
    #[arg(long, value_name = "NAME")]
    pub device_name: Option<String>,
}

/// `galaxy games`.
#[derive(Debug, Args)]
pub struct Games {
    /// Your games (owned or joined, any status) instead of open public ones.
    #[arg(long)]
    pub mine: bool,
    /// Public games in this status (e.g. `running`) instead of open ones.
    #[arg(long, conflicts_with = "mine")]
    pub status: Option<String>,
}

/// A game id argument.
#[derive(Debug, Args)]
pub struct GameArg {
    /// The game id.
    pub game: Uuid,
}

/// `galaxy game …`.
#[derive(Debug, Subcommand)]
pub enum GameCommand {
    /// Show one game and its members.
    Show(GameArg),
    /// Create a private game you own (and join it with --race-name).
    Create(CreateGame),
    /// Invite a player, by user name, to your game.
    Invite {
        /// The game id.
        game: Uuid,
        /// The player's user name (see `galaxy whoami`).
        user_name: String,
    },
    /// List the invites you have received.
    Invites,
    /// Accept an invite, playing as RACE.
    Accept {
        /// The invite id (see `galaxy game invites`).
        invite: Uuid,
        /// The race name to play as.
        #[arg(long)]
        race_name: String,
    },
    /// Decline an invite.
    Decline {
        /// The invite id.
        invite: Uuid,
    },
    /// Apply to join a game, playing as RACE.
    Apply {
        /// The game id.
        game: Uuid,
        /// The race name to play as.
        #[arg(long)]
        race_name: String,
    },
    /// Leave a game before it starts.
    Leave(GameArg),
    /// Start your game (owner); --wait until its engine runs.
    Start {
        /// The game id.
        game: Uuid,
        /// Wait until the game is running (or failed to start).
        #[arg(long)]
        wait: bool,
    },
}

/// The body of a new game (user and admin).
#[derive(Debug, Args)]
pub struct CreateGame {
    /// The game's name.
    pub name: String,
    /// Join your own game at once with this race name (private games).
    #[arg(long)]
    pub race_name: Option<String>,
    /// A description.
    #[arg(long)]
    pub description: Option<String>,
    /// Engine version.
    #[arg(long, default_value = "0.1.0")]
    pub engine_version: String,
    /// Fewest races to start.
    #[arg(long, default_value_t = 2)]
    pub min_races: u32,
    /// Most races.
    #[arg(long, default_value_t = 30)]
    pub max_races: u32,
    /// Turn every DURATION (e.g. 24h, 90m).
    #[arg(long, value_name = "DURATION", conflicts_with = "cron")]
    pub every: Option<String>,
    /// Turn at the times of a 5-field cron expression (UTC).
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// Enrollment stays open this many hours.
    #[arg(long, default_value_t = 48, value_name = "HOURS")]
    pub enrollment_hours: u32,
    /// Run a turn as soon as every race has orders in.
    #[arg(long)]
    pub early_turn: bool,
    /// Do not start by itself when enrollment ends.
    #[arg(long)]
    pub no_auto_start: bool,
}

/// `galaxy race-names`.
#[derive(Debug, Args)]
pub struct RaceNames {
    #[command(subcommand)]
    pub action: Option<RaceNameAction>,
}

/// `galaxy race-names …`.
#[derive(Debug, Subcommand)]
pub enum RaceNameAction {
    /// Is NAME free (or yours)?
    Check {
        /// The race name.
        name: String,
    },
    /// Register NAME for your account.
    Register {
        /// The race name.
        name: String,
    },
    /// Give NAME up.
    Release {
        /// The race name.
        name: String,
    },
}

/// `galaxy orders …`.
#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Show your stored orders for the current turn.
    Show {
        /// The game id.
        game: Uuid,
        /// Print them in the classic text form.
        #[arg(long)]
        text: bool,
    },
    /// Send an order set in the classic text form from FILE (or - for stdin).
    Submit {
        /// The game id.
        game: Uuid,
        /// The file, or - for standard input.
        file: String,
        /// The turn the orders are for (refused if it is not the current one).
        #[arg(long)]
        turn: Option<u32>,
    },
    /// Edit your orders in $EDITOR (classic text form); sent when you save a change.
    Edit(GameArg),
}

/// `galaxy report`.
#[derive(Debug, Args)]
pub struct Report {
    /// The game id.
    pub game: Uuid,
    /// The turn (default: the current one).
    #[arg(long)]
    pub turn: Option<u32>,
    /// The classic plain-text report.
    #[arg(long)]
    pub text: bool,
}

/// `galaxy watch`.
#[derive(Debug, Args)]
pub struct Watch {
    /// Only events of this game.
    #[arg(long)]
    pub game: Option<Uuid>,
    /// Exit after the first event of this kind (e.g. game.turn.ready).
    #[arg(long, value_name = "KIND")]
    pub until: Option<String>,
    /// Exit after N events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// `galaxy admin`.
#[derive(Debug, Args)]
pub struct Admin {
    /// Admin username [env: GALAXY_ADMIN_USER]; the password is
    /// GALAXY_ADMIN_PASSWORD, or asked for on the terminal.
    #[arg(long, env = "GALAXY_ADMIN_USER", value_name = "USER")]
    pub admin_user: Option<String>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// `galaxy admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Public games: create, approve an application, force start.
    #[command(subcommand)]
    Games(AdminGames),
    /// Run the game's next turn now.
    ForceNextTurn(GameArg),
    /// Resume a paused game.
    Resume(GameArg),
    /// Stop the game's engine (state kept; the game is paused).
    Stop(GameArg),
    /// Start a stopped engine again at the same turn (the game resumes).
    Start(GameArg),
    /// List every game's runtime (engine) record.
    Runtimes,
}

/// `galaxy admin games …`.
#[derive(Debug, Subcommand)]
pub enum AdminGames {
    /// Create a public game.
    Create(CreateGame),
    /// Approve an application to a game.
    Approve {
        /// The game id.
        game: Uuid,
        /// The application id.
        application: Uuid,
    },
    /// Start a game now.
    ForceStart {
        /// The game id.
        game: Uuid,
        /// Start even with fewer than the minimum races.
        #[arg(long)]
        force: bool,
    },
}

/// `galaxy completions`.
#[derive(Debug, Args)]
pub struct Completions {
    /// The shell.
    pub shell: clap_complete::Shell,
}
