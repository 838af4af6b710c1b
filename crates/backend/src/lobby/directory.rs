//! The Race Name Directory: platform-wide race names by canonical key
//! (`race_name.rs` has the rules). A name is `registered` (the user owns it
//! for good, at most `max_registered_race_names`) or `pending_registration`
//! (taken to join a game, reserved for the user until
//! `BACKEND_LOBBY_PENDING_REGISTRATION_TTL` after it was taken unless they
//! register it). Uniqueness is the primary key on the canonical key: two
//! users taking the same name at once get one winner and one
//! `race_name_taken`. Expiry frees the name; it never renames a race in a
//! game already joined.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::ids::UserId;

use super::error::LobbyError;
use super::model::{Availability, RaceNameEntry, RaceNameState};
use super::race_name::{RaceKey, RaceName};
use super::service::{LobbyService, Work, after};
use super::store;

/// Whether [`LobbyService::register_race_name`] made a new entry or
/// promoted (or found) one the user held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    Created(RaceNameEntry),
    Promoted(RaceNameEntry),
}

impl LobbyService {
    /// Holds `race` for `user_id` inside `work`: a name they hold already
    /// is fine; a free one becomes `pending_registration` (and they are
    /// told when it lapses); anyone else's is `RaceNameTaken`.
    pub(super) async fn take_race_name(
        &self,
        work: &mut Work,
        user_id: UserId,
        race: &RaceName,
    ) -> Result<(), LobbyError> {
        let now = Utc::now();
        if let Some(entry) = store::lock_race_name(work.conn(), race.key()).await? {
            if entry.user_id == user_id {
                return Ok(());
            }
            // Someone's reservation lapsed and the sweeper has not freed it
            // yet: it is free already (and they are told, as the sweeper would).
            if entry.expires_at.is_none_or(|at| at > now) {
                return Err(LobbyError::RaceNameTaken);
            }
            store::delete_race_name(work.conn(), race.key()).await?;
            self.notify_expired(work, &entry).await?;
        }
        let expires_at = after(now, self.settings().pending_registration_ttl);
        let entry = self
            .insert_name(
                work,
                race,
                user_id,
                RaceNameState::PendingRegistration,
                Some(expires_at),
            )
            .await?;
        // The stored instant (microseconds), as the entry itself shows it.
        let stored = entry.expires_at.unwrap_or(expires_at);
        self.notify_pending(work, user_id, &entry, stored, entry.created_at)
            .await
    }

    /// `lobby.race_name.pending` for `entry`, now pending until
    /// `expires_at`; `stamp` tells one such window from the next.
    async fn notify_pending(
        &self,
        work: &mut Work,
        user_id: UserId,
        entry: &RaceNameEntry,
        expires_at: DateTime<Utc>,
        stamp: DateTime<Utc>,
    ) -> Result<(), LobbyError> {
        self.notify(
            work,
            "lobby.race_name.pending",
            format!(
                "race-name-pending:{}:{}",
                entry.canonical_key,
                stamp.timestamp_micros()
            ),
            user_id,
            json!({ "race_name": entry.race_name, "expires_at": expires_at }),
        )
        .await
    }

    /// A finished game's surviving races: each member's race name gets a
    /// fresh `pending_registration` window (renewed if they hold it pending,
    /// taken again if it lapsed and is free), so they can register it
    /// (`lobby.race_name.pending`). A registered name stays as it is; a name
    /// someone else holds by now is left to them.
    pub(super) async fn renew_survivor_names(
        &self,
        work: &mut Work,
        survivors: &[(UserId, String)],
    ) -> Result<(), LobbyError> {
        let now = Utc::now();
        for (user_id, raw) in survivors {
            let Ok(race) = RaceName::parse(raw) else {
                continue;
            };
            match store::lock_race_name(work.conn(), race.key()).await? {
                Some(entry) if entry.user_id == *user_id => {
                    if entry.state != RaceNameState::PendingRegistration {
                        continue;
                    }
                    let expires_at = after(now, self.settings().pending_registration_ttl);
                    store::renew_pending_name(work.conn(), race.key(), expires_at).await?;
                    work.named(race.key().as_str());
                    self.notify_pending(work, *user_id, &entry, expires_at, expires_at)
                        .await?;
                }
                Some(entry) if entry.expires_at.is_none_or(|at| at > now) => {}
                _ => match self.take_race_name(work, *user_id, &race).await {
                    Ok(()) | Err(LobbyError::RaceNameTaken) => {}
                    Err(e) => return Err(e),
                },
            }
        }
        Ok(())
    }

    /// `lobby.race_name.expired` for a lapsed entry (keyed by its expiry,
    /// so the sweeper and a take-over never tell twice).
    async fn notify_expired(
        &self,
        work: &mut Work,
        entry: &RaceNameEntry,
    ) -> Result<(), LobbyError> {
        let stamp = entry.expires_at.map_or(0, |at| at.timestamp_micros());
        self.notify(
            work,
            "lobby.race_name.expired",
            format!("race-name-expired:{}:{stamp}", entry.canonical_key),
            entry.user_id,
            json!({ "race_name": entry.race_name }),
        )
        .await
    }

    async fn insert_name(
        &self,
        work: &mut Work,
        race: &RaceName,
        user_id: UserId,
        state: RaceNameState,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<RaceNameEntry, LobbyError> {
        let entry = store::insert_race_name(
            work.conn(),
            race.key(),
            race.as_str(),
            user_id,
            state,
            expires_at,
        )
        .await
        .map_err(|e| {
            if crate::postgres::unique_violation(&e) == Some(store::RACE_NAMES_PKEY) {
                LobbyError::RaceNameTaken
            } else {
                LobbyError::Database(e)
            }
        })?;
        work.named(race.key().as_str());
        Ok(entry)
    }

    /// The user's names, registered first.
    pub async fn race_names(&self, user_id: UserId) -> Result<Vec<RaceNameEntry>, LobbyError> {
        let mut conn = self.pool().acquire().await?;
        Ok(store::race_names_of(&mut conn, user_id).await?)
    }

    /// Whether `raw` is free for `user_id` (from the cache once warm).
    pub async fn availability(
        &self,
        user_id: UserId,
        raw: &str,
    ) -> Result<Availability, LobbyError> {
        let race = RaceName::parse(raw)?;
        let key = race.key().as_str();
        let holder = if self.cache().is_warm() {
            self.cache().holder(key)
        } else {
            let mut conn = self.pool().acquire().await?;
            store::get_race_name(&mut conn, key)
                .await?
                .map(|e| super::cache::Holder {
                    user_id: e.user_id,
                    state: e.state,
                })
        };
        Ok(Availability {
            race_name: race.as_str().to_owned(),
            canonical_key: key.to_owned(),
            available: holder.is_none(),
            held_by_you: holder.is_some_and(|h| h.user_id == user_id),
            state: holder.map(|h| h.state),
        })
    }

    /// Registers a name for good: a free one, or one the user holds as
    /// pending (promoted). Registering a name they have registered already
    /// answers it unchanged.
    #[tracing::instrument(name = "lobby.register_race_name", skip_all)]
    pub async fn register_race_name(
        &self,
        user_id: UserId,
        raw: &str,
    ) -> Result<Registered, LobbyError> {
        let race = RaceName::parse(raw)?;
        let mut work = self.begin().await?;
        store::lock_user(work.conn(), user_id).await?;
        let held = store::lock_race_name(work.conn(), race.key()).await?;
        if let Some(entry) = &held {
            if entry.user_id != user_id {
                return Err(LobbyError::RaceNameTaken);
            }
            if entry.state == RaceNameState::Registered {
                return Ok(Registered::Promoted(entry.clone()));
            }
        }
        let limit = self.users().entitlements(user_id).max_registered_race_names;
        if store::count_registered(work.conn(), user_id).await? >= i64::from(limit) {
            return Err(LobbyError::RaceNameLimitReached { limit });
        }
        let result = match held {
            Some(_) => {
                work.named(race.key().as_str());
                Registered::Promoted(store::promote_race_name(work.conn(), race.key()).await?)
            }
            None => Registered::Created(
                self.insert_name(&mut work, &race, user_id, RaceNameState::Registered, None)
                    .await?,
            ),
        };
        let entry = match &result {
            Registered::Created(e) | Registered::Promoted(e) => e,
        };
        let stamp = entry
            .registered_at
            .unwrap_or_else(Utc::now)
            .timestamp_micros();
        self.notify(
            &mut work,
            "lobby.race_name.registered",
            format!("race-name-registered:{}:{stamp}", entry.canonical_key),
            user_id,
            json!({ "race_name": entry.race_name }),
        )
        .await?;
        self.commit(work).await?;
        Ok(result)
    }

    /// Gives a name up (registered or pending). Races already in games
    /// keep their names.
    pub async fn release_race_name(
        &self,
        user_id: UserId,
        raw: &str,
    ) -> Result<RaceNameEntry, LobbyError> {
        let race = RaceName::parse(raw)?;
        let mut work = self.begin().await?;
        let entry = store::lock_race_name(work.conn(), race.key())
            .await?
            .filter(|e| e.user_id == user_id)
            .ok_or(LobbyError::NotFound("race name"))?;
        store::delete_race_name(work.conn(), race.key()).await?;
        work.named(race.key().as_str());
        self.commit(work).await?;
        Ok(entry)
    }

    /// Frees `key` if it is still pending and lapsed at `as_of` (the
    /// sweeper's job; a no-op otherwise, so it is safe to run twice).
    pub async fn expire_race_name(
        &self,
        key: &str,
        as_of: DateTime<Utc>,
    ) -> Result<bool, LobbyError> {
        let key = RaceKey::from_stored(key.to_owned());
        let mut work = self.begin().await?;
        let Some(entry) = store::lock_race_name(work.conn(), &key).await? else {
            return Ok(false);
        };
        let lapsed = entry.state == RaceNameState::PendingRegistration
            && entry.expires_at.is_some_and(|at| at <= as_of);
        if !lapsed {
            return Ok(false);
        }
        store::delete_race_name(work.conn(), &key).await?;
        work.named(key.as_str());
        self.notify_expired(&mut work, &entry).await?;
        self.commit(work).await?;
        Ok(true)
    }
}
