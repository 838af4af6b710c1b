//! `user_country_counters` SQL.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::ids::UserId;

/// One user's requests from one country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CountryCounter {
    pub country: String,
    pub count: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Adds `count` to each `(user, country)` counter in one statement; users
/// without an account are skipped (the gateway vouches for `X-User-ID`,
/// but a counter must not fail on an id that has no account).
pub async fn add_counts(
    conn: &mut PgConnection,
    rows: &[((UserId, String), i64)],
) -> Result<(), sqlx::Error> {
    let users: Vec<UserId> = rows.iter().map(|((u, _), _)| *u).collect();
    let countries: Vec<String> = rows.iter().map(|((_, c), _)| c.clone()).collect();
    let counts: Vec<i64> = rows.iter().map(|(_, n)| *n).collect();
    sqlx::query(
        "INSERT INTO user_country_counters (user_id, country, count)
         SELECT h.user_id, h.country, h.count
         FROM UNNEST($1::uuid[], $2::text[], $3::bigint[]) AS h(user_id, country, count)
         WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.user_id = h.user_id)
         ON CONFLICT (user_id, country) DO UPDATE
         SET count = user_country_counters.count + EXCLUDED.count, last_seen = now()",
    )
    .bind(users)
    .bind(countries)
    .bind(counts)
    .execute(conn)
    .await?;
    Ok(())
}

/// The country counters of `user_id`, most requests first (for the admin
/// users surface).
pub async fn country_counters(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<CountryCounter>, sqlx::Error> {
    sqlx::query_as(
        "SELECT country, count, first_seen, last_seen FROM user_country_counters
         WHERE user_id = $1 ORDER BY count DESC, country",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
}
