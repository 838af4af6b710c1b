//! The lobby's caches (spec §6): active games with their active members,
//! and the Race Name Directory's canonical keys. Both are read in full
//! before `/readyz` turns ready and written through after each commit by
//! re-reading the rows the transaction touched. Every change to a game or
//! its memberships bumps `games.version`, and the cache keeps an entry only
//! if its version is newer than the one it holds, so two commits refreshed
//! in the opposite order still leave the newer one. A failed commit
//! refreshes nothing, so the cache keeps the previous database state.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::ids::{GameId, UserId};

use super::model::{GameEntry, GameStatus, Owner, RaceNameState, Visibility};

/// Who holds a canonical key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub user_id: UserId,
    pub state: RaceNameState,
}

#[derive(Default)]
struct State {
    warm: bool,
    games: HashMap<GameId, Arc<GameEntry>>,
    names: HashMap<String, Holder>,
}

/// Both caches behind one lock (reads are short; writes replace entries).
#[derive(Default)]
pub struct LobbyCache {
    state: RwLock<State>,
}

impl LobbyCache {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces everything (the warm-up).
    pub fn fill(&self, games: Vec<GameEntry>, names: Vec<(String, Holder)>) {
        let mut state = self.write();
        state.games = games
            .into_iter()
            .map(|g| (g.game.game_id, Arc::new(g)))
            .collect();
        state.names = names.into_iter().collect();
        state.warm = true;
    }

    pub fn is_warm(&self) -> bool {
        self.read().warm
    }

    /// Stores `entry` unless the cache holds a newer version; a finished
    /// or cancelled game leaves the cache.
    pub fn put_game(&self, entry: GameEntry) {
        let mut state = self.write();
        let id = entry.game.game_id;
        if state
            .games
            .get(&id)
            .is_some_and(|held| held.game.version > entry.game.version)
        {
            return;
        }
        if entry.game.status.is_terminal() {
            state.games.remove(&id);
        } else {
            state.games.insert(id, Arc::new(entry));
        }
    }

    /// Forgets a game that no longer exists in the database.
    pub fn remove_game(&self, id: GameId) {
        self.write().games.remove(&id);
    }

    pub fn game(&self, id: GameId) -> Option<Arc<GameEntry>> {
        self.read().games.get(&id).cloned()
    }

    /// Cached games matching `keep`, newest first.
    pub fn games_where(&self, keep: impl Fn(&GameEntry) -> bool) -> Vec<Arc<GameEntry>> {
        let mut found: Vec<Arc<GameEntry>> = self
            .read()
            .games
            .values()
            .filter(|g| keep(g))
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            (b.game.created_at, b.game.game_id).cmp(&(a.game.created_at, a.game.game_id))
        });
        found
    }

    /// Public games in `status`, filtered by engine version.
    pub fn public_games(
        &self,
        status: GameStatus,
        engine_version: Option<&str>,
    ) -> Vec<Arc<GameEntry>> {
        self.games_where(|g| {
            g.game.visibility == Visibility::Public
                && g.game.status == status
                && engine_version.is_none_or(|v| g.game.engine_version == v)
        })
    }

    /// Games `user_id` owns or actively plays.
    pub fn games_of(&self, user_id: UserId) -> Vec<Arc<GameEntry>> {
        self.games_where(|g| g.game.owner == Owner::User(user_id) || g.member(user_id).is_some())
    }

    /// Who holds `key`, if anyone.
    pub fn holder(&self, key: &str) -> Option<Holder> {
        self.read().names.get(key).copied()
    }

    /// Records the holder of `key` (`None`: the key is free).
    pub fn put_name(&self, key: String, holder: Option<Holder>) {
        let mut state = self.write();
        match holder {
            Some(h) => state.names.insert(key, h),
            None => state.names.remove(&key),
        };
    }

    /// The keys `user_id` holds.
    pub fn names_of(&self, user_id: UserId) -> Vec<String> {
        self.read()
            .names
            .iter()
            .filter(|(_, h)| h.user_id == user_id)
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub fn game_count(&self) -> usize {
        self.read().games.len()
    }
}
