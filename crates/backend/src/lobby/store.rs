//! The lobby's SQL: `games`, `memberships`, `applications`, `invites`,
//! `race_names` and `game_runtime_requests`. Every function takes the
//! caller's connection or transaction, so one lobby operation commits once
//! with its notification intents.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, PgConnection};

use crate::ids::{ApplicationId, GameId, InviteId, RuntimeRequestId, UserId};

use super::model::{
    Application, ApplicationStatus, Game, GameStatus, Invite, InviteStatus, Member, MemberStatus,
    NewGame, Owner, RaceNameEntry, RaceNameState, Visibility,
};
use super::race_name::RaceKey;
use super::schedule::TurnSchedule;

/// Constraint names the domain turns into 409 codes.
pub const RACE_NAMES_PKEY: &str = "race_names_pkey";
pub const ACTIVE_RACE_KEY: &str = "memberships_active_race_key";
pub const PENDING_APPLICATION_KEY: &str = "applications_pending_key";
pub const PENDING_INVITE_KEY: &str = "invites_pending_key";

const GAME_COLUMNS: &str = "game_id, name, description, visibility, owner_user_id, owner_admin,
    engine_version, min_races, max_races, settings, turn_schedule, enrollment_deadline,
    auto_start, auto_approve, accepts_applications, status, status_reason, current_turn,
    runtime_status, turn_started_at, version, created_at, updated_at, started_at, finished_at,
    early_turn, reminder_minutes";

#[derive(FromRow)]
struct GameRow {
    game_id: GameId,
    name: String,
    description: String,
    visibility: String,
    owner_user_id: Option<UserId>,
    owner_admin: Option<String>,
    engine_version: String,
    min_races: i32,
    max_races: i32,
    settings: Value,
    turn_schedule: Value,
    enrollment_deadline: DateTime<Utc>,
    auto_start: bool,
    auto_approve: bool,
    accepts_applications: bool,
    status: String,
    status_reason: Option<String>,
    current_turn: i32,
    runtime_status: Option<String>,
    turn_started_at: Option<DateTime<Utc>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    early_turn: bool,
    reminder_minutes: Option<i32>,
}

impl TryFrom<GameRow> for Game {
    type Error = sqlx::Error;

    fn try_from(r: GameRow) -> Result<Self, sqlx::Error> {
        let owner = match (r.owner_user_id, r.owner_admin) {
            (Some(user), None) => Owner::User(user),
            (None, Some(admin)) => Owner::Admin(admin),
            _ => {
                return Err(crate::postgres::unexpected_value(
                    "games",
                    "owner",
                    "both or neither",
                ));
            }
        };
        let settings = serde_json::from_value(r.settings)
            .map_err(|e| sqlx::Error::Decode(format!("games.settings: {e}").into()))?;
        let turn_schedule = TurnSchedule::parse_stored(&r.turn_schedule)
            .map_err(|e| sqlx::Error::Decode(format!("games.turn_schedule: {e}").into()))?;
        Ok(Game {
            game_id: r.game_id,
            name: r.name,
            description: r.description,
            visibility: Visibility::decode(&r.visibility)?,
            owner,
            status: GameStatus::decode(&r.status)?,
            engine_version: r.engine_version,
            min_races: r.min_races,
            max_races: r.max_races,
            settings,
            turn_schedule,
            enrollment_deadline: r.enrollment_deadline,
            auto_start: r.auto_start,
            auto_approve: r.auto_approve,
            accepts_applications: r.accepts_applications,
            current_turn: r.current_turn,
            runtime_status: r.runtime_status,
            status_reason: r.status_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            turn_started_at: r.turn_started_at,
            version: r.version,
            early_turn: r.early_turn,
            reminder_minutes: r.reminder_minutes,
        })
    }
}

fn games(rows: Vec<GameRow>) -> Result<Vec<Game>, sqlx::Error> {
    rows.into_iter().map(Game::try_from).collect()
}

// ---- games -----------------------------------------------------------------

pub async fn insert_game(
    conn: &mut PgConnection,
    game_id: GameId,
    g: &NewGame,
) -> Result<(), sqlx::Error> {
    let (owner_user, owner_admin) = match &g.owner {
        Owner::User(id) => (Some(*id), None),
        Owner::Admin(name) => (None, Some(name.as_str())),
    };
    sqlx::query(
        "INSERT INTO games (game_id, name, description, visibility, owner_user_id, owner_admin,
            engine_version, min_races, max_races, settings, turn_schedule, enrollment_deadline,
            auto_start, auto_approve, accepts_applications, status, early_turn, reminder_minutes)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)",
    )
    .bind(game_id)
    .bind(&g.name)
    .bind(&g.description)
    .bind(g.visibility.as_str())
    .bind(owner_user)
    .bind(owner_admin)
    .bind(&g.engine_version)
    .bind(g.min_races)
    .bind(g.max_races)
    .bind(serde_json::to_value(&g.settings).expect("settings serialise"))
    .bind(g.turn_schedule.to_json())
    .bind(g.enrollment_deadline)
    .bind(g.auto_start)
    .bind(g.auto_approve)
    .bind(g.accepts_applications)
    .bind(g.status.as_str())
    .bind(g.early_turn)
    .bind(g.reminder_minutes)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_game(conn: &mut PgConnection, id: GameId) -> Result<Option<Game>, sqlx::Error> {
    select_game(conn, id, "").await
}

/// The game, locked until the transaction ends: every change to a game or
/// its memberships takes this lock first, so two requests for the last slot
/// are served one after the other.
pub async fn lock_game(conn: &mut PgConnection, id: GameId) -> Result<Option<Game>, sqlx::Error> {
    select_game(conn, id, "FOR UPDATE").await
}

async fn select_game(
    conn: &mut PgConnection,
    id: GameId,
    lock: &str,
) -> Result<Option<Game>, sqlx::Error> {
    let sql = format!("SELECT {GAME_COLUMNS} FROM games WHERE game_id = $1 {lock}");
    let row: Option<GameRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(Game::try_from).transpose()
}

/// Moves the game to `status` (with `reason`), stamping `started_at` /
/// `finished_at`, and bumps its version.
pub async fn set_status(
    conn: &mut PgConnection,
    id: GameId,
    status: GameStatus,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE games SET status = $2, status_reason = $3, version = version + 1, updated_at = now(),
            started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
            finished_at = CASE WHEN $2 IN ('finished', 'cancelled') THEN now() ELSE finished_at END
         WHERE game_id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Bumps the version of a game whose memberships changed.
pub async fn touch_game(conn: &mut PgConnection, id: GameId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE games SET version = version + 1, updated_at = now() WHERE game_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the runtime's view: the turn, its status, when the turn began.
pub async fn set_runtime_view(
    conn: &mut PgConnection,
    id: GameId,
    current_turn: i32,
    runtime_status: &str,
    turn_started_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE games SET current_turn = $2, runtime_status = $3,
            turn_started_at = coalesce($4, turn_started_at),
            version = version + 1, updated_at = now()
         WHERE game_id = $1",
    )
    .bind(id)
    .bind(current_turn)
    .bind(runtime_status)
    .bind(turn_started_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every game not finished or cancelled (the cache's warm-up).
pub async fn active_games(conn: &mut PgConnection) -> Result<Vec<Game>, sqlx::Error> {
    let sql =
        format!("SELECT {GAME_COLUMNS} FROM games WHERE status NOT IN ('finished', 'cancelled')");
    games(
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(conn)
            .await?,
    )
}

/// Filters of a game listing.
#[derive(Debug, Clone, Default)]
pub struct GameFilter {
    pub status: Option<GameStatus>,
    pub visibility: Option<Visibility>,
    pub engine_version: Option<String>,
    pub owner_user_id: Option<UserId>,
}

/// A page of games, newest first, and the total.
pub async fn list_games(
    conn: &mut PgConnection,
    filter: &GameFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Game>, i64), sqlx::Error> {
    const WHERE: &str =
        "($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR visibility = $2)
        AND ($3::text IS NULL OR engine_version = $3) AND ($4::uuid IS NULL OR owner_user_id = $4)";
    let sql = format!(
        "SELECT {GAME_COLUMNS} FROM games WHERE {WHERE}
         ORDER BY created_at DESC, game_id DESC LIMIT $5 OFFSET $6"
    );
    let rows: Vec<GameRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(filter.status.map(GameStatus::as_str))
        .bind(filter.visibility.map(Visibility::as_str))
        .bind(filter.engine_version.as_deref())
        .bind(filter.owner_user_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM games WHERE {WHERE}"
    )))
    .bind(filter.status.map(GameStatus::as_str))
    .bind(filter.visibility.map(Visibility::as_str))
    .bind(filter.engine_version.as_deref())
    .bind(filter.owner_user_id)
    .fetch_one(conn)
    .await?;
    Ok((games(rows)?, total))
}

/// Games that `user_id` owns or actively plays and that are not over:
/// what `max_concurrent_games` counts.
pub async fn count_user_games(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<i64, sqlx::Error> {
    // Two index lookups (owned games, the user's active memberships), not a
    // scan of every game.
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM games
                 WHERE owner_user_id = $1 AND status NOT IN ('finished', 'cancelled'))
              + (SELECT count(*) FROM memberships m JOIN games g USING (game_id)
                 WHERE m.user_id = $1 AND m.status = 'active'
                   AND g.status NOT IN ('finished', 'cancelled')
                   AND g.owner_user_id IS DISTINCT FROM $1)",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await
}

/// Serialises the joins of one user (their game count is checked under it)
/// until the transaction ends.
pub async fn lock_user(conn: &mut PgConnection, user_id: UserId) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('lobby.user:' || $1::text, 0))")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Games past their enrollment deadline at `now` (the sweeper's pick-up).
pub async fn enrollment_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<GameId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT game_id FROM games WHERE status = 'enrollment_open' AND enrollment_deadline <= $1
         ORDER BY enrollment_deadline LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

// ---- memberships -----------------------------------------------------------

const MEMBER_COLUMNS: &str = "game_id, user_id, race_name, status, reason, joined_at, ended_at";

/// Active members of `games`, in joining order.
pub async fn active_members(
    conn: &mut PgConnection,
    games: &[GameId],
) -> Result<Vec<Member>, sqlx::Error> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM memberships WHERE game_id = ANY($1) AND status = 'active'
         ORDER BY joined_at, user_id"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(games)
        .fetch_all(conn)
        .await
}

pub async fn get_member(
    conn: &mut PgConnection,
    game_id: GameId,
    user_id: UserId,
) -> Result<Option<Member>, sqlx::Error> {
    let sql =
        format!("SELECT {MEMBER_COLUMNS} FROM memberships WHERE game_id = $1 AND user_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(game_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

pub async fn count_active_members(
    conn: &mut PgConnection,
    game_id: GameId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM memberships WHERE game_id = $1 AND status = 'active'")
        .bind(game_id)
        .fetch_one(conn)
        .await
}

/// Makes `user_id` an active member with `race_name` (again, if they had
/// left or been removed). A race name another active member of the game
/// holds violates [`ACTIVE_RACE_KEY`].
pub async fn join(
    conn: &mut PgConnection,
    game_id: GameId,
    user_id: UserId,
    race_name: &str,
    race_key: &RaceKey,
) -> Result<Member, sqlx::Error> {
    let sql = format!(
        "INSERT INTO memberships (game_id, user_id, race_name, race_key, status)
         VALUES ($1, $2, $3, $4, 'active')
         ON CONFLICT (game_id, user_id) DO UPDATE SET race_name = $3, race_key = $4,
            status = 'active', reason = NULL, joined_at = now(), ended_at = NULL
         RETURNING {MEMBER_COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(game_id)
        .bind(user_id)
        .bind(race_name)
        .bind(race_key.as_str())
        .fetch_one(conn)
        .await
}

/// Ends a membership (`left`, `removed` or `blocked`). Blocking a user who
/// never joined records the block too, so they cannot join later.
pub async fn end_membership(
    conn: &mut PgConnection,
    game_id: GameId,
    user_id: UserId,
    status: MemberStatus,
    reason: Option<&str>,
) -> Result<Member, sqlx::Error> {
    let sql = format!(
        "UPDATE memberships SET status = $3, reason = $4, ended_at = now()
         WHERE game_id = $1 AND user_id = $2 RETURNING {MEMBER_COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(game_id)
        .bind(user_id)
        .bind(status.as_str())
        .bind(reason)
        .fetch_one(conn)
        .await
}

/// Games where `user_id` is an active member.
pub async fn games_of_member(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Vec<(GameId, GameStatus, String)>, sqlx::Error> {
    let rows: Vec<(GameId, String, String)> = sqlx::query_as(
        "SELECT g.game_id, g.status, m.race_name FROM memberships m JOIN games g USING (game_id)
         WHERE m.user_id = $1 AND m.status = 'active'",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, status, race)| Ok((id, GameStatus::decode(&status)?, race)))
        .collect()
}

// ---- applications ----------------------------------------------------------

const APPLICATION_COLUMNS: &str =
    "application_id, game_id, user_id, race_name, status, reason, created_at, decided_at";

pub async fn insert_application(
    conn: &mut PgConnection,
    id: ApplicationId,
    game_id: GameId,
    user_id: UserId,
    race_name: &str,
    race_key: &RaceKey,
) -> Result<Application, sqlx::Error> {
    let sql = format!(
        "INSERT INTO applications (application_id, game_id, user_id, race_name, race_key, status)
         VALUES ($1, $2, $3, $4, $5, 'pending') RETURNING {APPLICATION_COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(game_id)
        .bind(user_id)
        .bind(race_name)
        .bind(race_key.as_str())
        .fetch_one(conn)
        .await
}

/// The application, locked.
pub async fn lock_application(
    conn: &mut PgConnection,
    game_id: GameId,
    id: ApplicationId,
) -> Result<Option<Application>, sqlx::Error> {
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications
         WHERE application_id = $1 AND game_id = $2 FOR UPDATE"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(game_id)
        .fetch_optional(conn)
        .await
}

pub async fn decide_application(
    conn: &mut PgConnection,
    id: ApplicationId,
    status: ApplicationStatus,
    reason: Option<&str>,
) -> Result<Application, sqlx::Error> {
    let sql = format!(
        "UPDATE applications SET status = $2, reason = $3, decided_at = now()
         WHERE application_id = $1 RETURNING {APPLICATION_COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(status.as_str())
        .bind(reason)
        .fetch_one(conn)
        .await
}

/// A page of applications (to a game, or by a user), newest first.
pub async fn list_applications(
    conn: &mut PgConnection,
    game_id: Option<GameId>,
    user_id: Option<UserId>,
    status: Option<ApplicationStatus>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Application>, i64), sqlx::Error> {
    const WHERE: &str = "($1::uuid IS NULL OR game_id = $1) AND ($2::uuid IS NULL OR user_id = $2)
        AND ($3::text IS NULL OR status = $3)";
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications WHERE {WHERE}
         ORDER BY created_at DESC, application_id DESC LIMIT $4 OFFSET $5"
    );
    let rows: Vec<Application> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(game_id)
        .bind(user_id)
        .bind(status.map(ApplicationStatus::as_str))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let total = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM applications WHERE {WHERE}"
    )))
    .bind(game_id)
    .bind(user_id)
    .bind(status.map(ApplicationStatus::as_str))
    .fetch_one(conn)
    .await?;
    Ok((rows, total))
}

/// Withdraws every pending application of `user_id`; the games touched.
pub async fn withdraw_all_applications(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Vec<GameId>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE applications SET status = 'withdrawn', decided_at = now()
         WHERE user_id = $1 AND status = 'pending' RETURNING game_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Whether `user_id` ever applied to `game_id` (they may then see it).
pub async fn has_applied(
    conn: &mut PgConnection,
    game_id: GameId,
    user_id: UserId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM applications WHERE game_id = $1 AND user_id = $2)",
    )
    .bind(game_id)
    .bind(user_id)
    .fetch_one(conn)
    .await
}

// ---- invites ---------------------------------------------------------------

const INVITE_COLUMNS: &str = "invite_id, game_id, inviter_user_id, invitee_user_id, status, expires_at, created_at, decided_at";

pub async fn insert_invite(
    conn: &mut PgConnection,
    id: InviteId,
    game_id: GameId,
    inviter: UserId,
    invitee: UserId,
    expires_at: DateTime<Utc>,
) -> Result<Invite, sqlx::Error> {
    let sql = format!(
        "INSERT INTO invites (invite_id, game_id, inviter_user_id, invitee_user_id, status, expires_at)
         VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING {INVITE_COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(game_id)
        .bind(inviter)
        .bind(invitee)
        .bind(expires_at)
        .fetch_one(conn)
        .await
}

pub async fn get_invite(
    conn: &mut PgConnection,
    id: InviteId,
) -> Result<Option<Invite>, sqlx::Error> {
    select_invite(conn, id, "").await
}

/// The invite, locked.
pub async fn lock_invite(
    conn: &mut PgConnection,
    id: InviteId,
) -> Result<Option<Invite>, sqlx::Error> {
    select_invite(conn, id, "FOR UPDATE").await
}

async fn select_invite(
    conn: &mut PgConnection,
    id: InviteId,
    lock: &str,
) -> Result<Option<Invite>, sqlx::Error> {
    let sql = format!("SELECT {INVITE_COLUMNS} FROM invites WHERE invite_id = $1 {lock}");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn decide_invite(
    conn: &mut PgConnection,
    id: InviteId,
    status: InviteStatus,
) -> Result<Invite, sqlx::Error> {
    let sql = format!(
        "UPDATE invites SET status = $2, decided_at = now() WHERE invite_id = $1
         RETURNING {INVITE_COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(status.as_str())
        .fetch_one(conn)
        .await
}

/// A page of invites (of a game, or to a user), newest first.
pub async fn list_invites(
    conn: &mut PgConnection,
    game_id: Option<GameId>,
    invitee: Option<UserId>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Invite>, i64), sqlx::Error> {
    const WHERE: &str =
        "($1::uuid IS NULL OR game_id = $1) AND ($2::uuid IS NULL OR invitee_user_id = $2)";
    let sql = format!(
        "SELECT {INVITE_COLUMNS} FROM invites WHERE {WHERE}
         ORDER BY created_at DESC, invite_id DESC LIMIT $3 OFFSET $4"
    );
    let rows: Vec<Invite> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(game_id)
        .bind(invitee)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let total = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM invites WHERE {WHERE}"
    )))
    .bind(game_id)
    .bind(invitee)
    .fetch_one(conn)
    .await?;
    Ok((rows, total))
}

/// Pending invites past their expiry at `now` (the sweeper's pick-up).
pub async fn invites_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<InviteId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT invite_id FROM invites WHERE status = 'pending' AND expires_at <= $1
         ORDER BY expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Declines every pending invite to `user_id` and revokes those they sent.
pub async fn close_invites_of(conn: &mut PgConnection, user_id: UserId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE invites SET status = CASE WHEN invitee_user_id = $1 THEN 'declined' ELSE 'revoked' END,
            decided_at = now()
         WHERE status = 'pending' AND (invitee_user_id = $1 OR inviter_user_id = $1)",
    )
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether `user_id` was ever invited to `game_id`.
pub async fn was_invited(
    conn: &mut PgConnection,
    game_id: GameId,
    user_id: UserId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM invites WHERE game_id = $1 AND invitee_user_id = $2)",
    )
    .bind(game_id)
    .bind(user_id)
    .fetch_one(conn)
    .await
}

// ---- the Race Name Directory -------------------------------------------------

const RACE_NAME_COLUMNS: &str =
    "race_key, race_name, user_id, state, created_at, registered_at, expires_at";

/// The entry of `key`, locked.
pub async fn lock_race_name(
    conn: &mut PgConnection,
    key: &RaceKey,
) -> Result<Option<RaceNameEntry>, sqlx::Error> {
    select_race_name(conn, key.as_str(), "FOR UPDATE").await
}

pub async fn get_race_name(
    conn: &mut PgConnection,
    key: &str,
) -> Result<Option<RaceNameEntry>, sqlx::Error> {
    select_race_name(conn, key, "").await
}

async fn select_race_name(
    conn: &mut PgConnection,
    key: &str,
    lock: &str,
) -> Result<Option<RaceNameEntry>, sqlx::Error> {
    let sql = format!("SELECT {RACE_NAME_COLUMNS} FROM race_names WHERE race_key = $1 {lock}");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(conn)
        .await
}

/// Inserts an entry; a key someone holds violates [`RACE_NAMES_PKEY`].
pub async fn insert_race_name(
    conn: &mut PgConnection,
    key: &RaceKey,
    display: &str,
    user_id: UserId,
    state: RaceNameState,
    expires_at: Option<DateTime<Utc>>,
) -> Result<RaceNameEntry, sqlx::Error> {
    let sql = format!(
        "INSERT INTO race_names (race_key, race_name, user_id, state, registered_at, expires_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'registered' THEN now() END, $5)
         RETURNING {RACE_NAME_COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key.as_str())
        .bind(display)
        .bind(user_id)
        .bind(state.as_str())
        .bind(expires_at)
        .fetch_one(conn)
        .await
}

/// Promotes a pending entry to registered (keeping its display form).
pub async fn promote_race_name(
    conn: &mut PgConnection,
    key: &RaceKey,
) -> Result<RaceNameEntry, sqlx::Error> {
    let sql = format!(
        "UPDATE race_names SET state = 'registered', registered_at = now(), expires_at = NULL
         WHERE race_key = $1 RETURNING {RACE_NAME_COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key.as_str())
        .fetch_one(conn)
        .await
}

pub async fn delete_race_name(conn: &mut PgConnection, key: &RaceKey) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM race_names WHERE race_key = $1")
        .bind(key.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The user's entries, registered first, then by name.
pub async fn race_names_of(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Vec<RaceNameEntry>, sqlx::Error> {
    let sql = format!(
        "SELECT {RACE_NAME_COLUMNS} FROM race_names WHERE user_id = $1
         ORDER BY state DESC, race_key"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_all(conn)
        .await
}

pub async fn count_registered(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM race_names WHERE user_id = $1 AND state = 'registered'",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await
}

/// Every entry (the cache's warm-up).
pub async fn all_race_names(conn: &mut PgConnection) -> Result<Vec<RaceNameEntry>, sqlx::Error> {
    let sql = format!("SELECT {RACE_NAME_COLUMNS} FROM race_names");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await
}

/// Pending entries lapsed at `now` (the sweeper's pick-up).
pub async fn race_names_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT race_key FROM race_names WHERE state = 'pending_registration' AND expires_at <= $1
         ORDER BY expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Deletes the user's pending entries; their keys.
pub async fn release_pending_of(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM race_names WHERE user_id = $1 AND state = 'pending_registration' RETURNING race_key",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

// ---- requests for the runtime ---------------------------------------------------

/// What the runtime is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeRequestKind {
    Start,
    Stop,
    Banish,
}

impl RuntimeRequestKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Banish => "banish",
        }
    }
}

/// Records a request; an identical open one makes this a no-op.
pub async fn request_runtime(
    conn: &mut PgConnection,
    game_id: GameId,
    kind: RuntimeRequestKind,
    banish: Option<(UserId, &str)>,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO game_runtime_requests (request_id, game_id, kind, user_id, race_name, reason)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(RuntimeRequestId::new_ordered())
    .bind(game_id)
    .bind(kind.as_str())
    .bind(banish.map(|(user, _)| user))
    .bind(banish.map(|(_, race)| race))
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// An open request for the runtime.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RuntimeRequest {
    pub request_id: RuntimeRequestId,
    pub game_id: GameId,
    pub kind: String,
    pub user_id: Option<UserId>,
    pub race_name: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The open requests of `game_id`, oldest first.
pub async fn open_runtime_requests(
    conn: &mut PgConnection,
    game_id: GameId,
) -> Result<Vec<RuntimeRequest>, sqlx::Error> {
    sqlx::query_as(
        "SELECT request_id, game_id, kind, user_id, race_name, reason, created_at
         FROM game_runtime_requests WHERE game_id = $1 AND completed_at IS NULL
         ORDER BY created_at, request_id",
    )
    .bind(game_id)
    .fetch_all(conn)
    .await
}

/// Open requests of every game, oldest first (the runtime's intake).
pub async fn all_open_runtime_requests(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<RuntimeRequest>, sqlx::Error> {
    sqlx::query_as(
        "SELECT request_id, game_id, kind, user_id, race_name, reason, created_at
         FROM game_runtime_requests WHERE completed_at IS NULL
         ORDER BY created_at, request_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Marks a request done (a second call changes nothing).
pub async fn complete_runtime_request(
    conn: &mut PgConnection,
    request_id: RuntimeRequestId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE game_runtime_requests SET completed_at = now()
         WHERE request_id = $1 AND completed_at IS NULL",
    )
    .bind(request_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A patched game's engine version.
pub async fn set_engine_version(
    conn: &mut PgConnection,
    id: GameId,
    label: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE games SET engine_version = $2, version = version + 1, updated_at = now()
         WHERE game_id = $1",
    )
    .bind(id)
    .bind(label)
    .execute(conn)
    .await?;
    Ok(())
}

/// Notes on an active membership that its race is out of the game (the
/// member stays: their reports stay readable).
pub async fn mark_race_out(
    conn: &mut PgConnection,
    id: GameId,
    race_name: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE memberships SET reason = $3
         WHERE game_id = $1 AND race_name = $2 AND status = 'active' AND reason IS NULL",
    )
    .bind(id)
    .bind(race_name)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// A pending reservation's new expiry.
pub async fn renew_pending_name(
    conn: &mut PgConnection,
    key: &RaceKey,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE race_names SET expires_at = $2
         WHERE race_key = $1 AND state = 'pending_registration'",
    )
    .bind(key.as_str())
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}
