//! The lobby's caches (spec §6): active games with their active members,
//! and the Race Name Directory's canonical keys. Both are read in full
//! before `/readyz` turns ready and written through after each commit by
//! re-reading the rows the transaction touched. Every change to a game or
//! its memberships bumps `games.version`, and the cache keeps an entry only
//! if its version is newer than the one it holds, so two commits refreshed
//! in the opposite order still leave the newer one. A failed commit
//! refreshes nothing, so the cache keeps the previous database state.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};

use crate::ids::{GameId, UserId};

use super::model::{GameEntry, GameStatus, Owner, RaceNameState, Visibility};

/// Who holds a canonical key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub user_id: UserId,
    pub state: RaceNameState,
}

/// Where a public game sorts in the browse list: newest first.
type PublicKey = (Reverse<DateTime<Utc>>, Reverse<GameId>);

#[derive(Default)]
struct State {
    warm: bool,
    games: HashMap<GameId, Arc<GameEntry>>,
    /// Public games by status, newest first (kept on every write, so a
    /// browse request neither scans nor sorts).
    public: HashMap<GameStatus, BTreeSet<PublicKey>>,
    names: HashMap<String, Holder>,
}

impl State {
    fn public_key(entry: &GameEntry) -> Option<(GameStatus, PublicKey)> {
        let g = &entry.game;
        (g.visibility == Visibility::Public)
            .then_some((g.status, (Reverse(g.created_at), Reverse(g.game_id))))
    }

    fn insert(&mut self, entry: Arc<GameEntry>) {
        let id = entry.game.game_id;
        self.remove(id);
        if let Some((status, key)) = Self::public_key(&entry) {
            self.public.entry(status).or_default().insert(key);
        }
        self.games.insert(id, entry);
    }

    fn remove(&mut self, id: GameId) {
        if let Some(old) = self.games.remove(&id) {
            self.unindex(&old);
        }
    }

    fn unindex(&mut self, entry: &GameEntry) {
        if let Some((status, key)) = Self::public_key(entry)
            && let Some(set) = self.public.get_mut(&status)
        {
            set.remove(&key);
        }
    }
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

    /// Replaces everything (the warm-up, and the full reload after
    /// notifications from other instances may have been missed). A game
    /// held in a newer version than the one read stays as held.
    pub fn fill(&self, games: Vec<GameEntry>, names: Vec<(String, Holder)>) {
        let mut state = self.write();
        let held = std::mem::take(&mut state.games);
        state.public.clear();
        for game in games {
            let newer = held
                .get(&game.game.game_id)
                .filter(|h| h.game.version > game.game.version)
                .cloned();
            state.insert(newer.unwrap_or_else(|| Arc::new(game)));
        }
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
            state.remove(id);
        } else {
            state.insert(Arc::new(entry));
        }
    }

    /// Forgets a game that no longer exists in the database.
    pub fn remove_game(&self, id: GameId) {
        self.write().remove(id);
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

    /// One page of the public games in `status` (filtered by engine
    /// version), newest first, and how many there are in all.
    pub fn public_games(
        &self,
        status: GameStatus,
        engine_version: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> (Vec<Arc<GameEntry>>, usize) {
        let state = self.read();
        let Some(keys) = state.public.get(&status) else {
            return (Vec::new(), 0);
        };
        let entries = keys
            .iter()
            .filter_map(|(_, Reverse(id))| state.games.get(id));
        match engine_version {
            None => (
                entries.skip(offset).take(limit).cloned().collect(),
                keys.len(),
            ),
            Some(version) => {
                let mut total = 0;
                let mut page = Vec::new();
                for entry in entries.filter(|e| e.game.engine_version == version) {
                    if total >= offset && page.len() < limit {
                        page.push(entry.clone());
                    }
                    total += 1;
                }
                (page, total)
            }
        }
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
