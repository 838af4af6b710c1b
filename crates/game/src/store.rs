//! Persistence under the state directory. Every file is written atomically
//! (temp file, fsync, rename, fsync of the directory):
//!
//! ```text
//! <dir>/current.json               {"turn": N}  — the commit point
//! <dir>/turns/<N>/state.json       the game at turn N (with its RNG)
//! <dir>/turns/<N>/reports.json     every race's report of turn N
//! <dir>/orders/<N>.json            pending orders for turn N
//! ```
//!
//! A turn writes turn N+1's state and reports first and then moves
//! `current.json`; a crash in between leaves turn N current and intact.

use crate::engine::Engine;
use crate::game::Game;
use crate::order::RaceOrders;
use galaxy_model::report::Report;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A storage failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file that does not parse.
    #[error("{path}: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

#[derive(Serialize, Deserialize)]
struct Current {
    turn: u32,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// A store rooted at `dir` (created when missing).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(Store { dir })
    }

    /// The root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn turn_dir(&self, turn: u32) -> PathBuf {
        self.dir.join("turns").join(format!("{turn:06}"))
    }

    fn orders_path(&self, turn: u32) -> PathBuf {
        self.dir.join("orders").join(format!("{turn:06}.json"))
    }

    /// Writes `value` as JSON to `path` atomically.
    fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), StoreError> {
        let parent = path.parent().unwrap_or(&self.dir);
        fs::create_dir_all(parent).map_err(io(parent))?;
        let bytes = serde_json::to_vec(value).map_err(|source| StoreError::Corrupt {
            path: path.to_path_buf(),
            source,
        })?;
        let tmp = path.with_extension("json.tmp");
        {
            let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(&bytes).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, path).map_err(io(path))?;
        if let Ok(d) = fs::File::open(parent) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn read_json<T: DeserializeOwned>(&self, path: &Path) -> Result<Option<T>, StoreError> {
        match fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| StoreError::Corrupt {
                        path: path.to_path_buf(),
                        source,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io {
                path: path.to_path_buf(),
                source: e,
            }),
        }
    }

    /// Loads the current game, if one was initialised.
    pub fn load(&self) -> Result<Option<Engine>, StoreError> {
        let Some(cur) = self.read_json::<Current>(&self.dir.join("current.json"))? else {
            return Ok(None);
        };
        let state_path = self.turn_dir(cur.turn).join("state.json");
        let game: Game = self.read_json(&state_path)?.ok_or_else(|| StoreError::Io {
            path: state_path.clone(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        let pending: BTreeMap<String, RaceOrders> = self
            .read_json(&self.orders_path(cur.turn))?
            .unwrap_or_default();
        let mut engine = Engine::resume(game, pending);
        // Serve the reports exactly as they were stored with the turn.
        if let Some(reports) = self.read_json(&self.turn_dir(cur.turn).join("reports.json"))? {
            engine.reports = reports;
        }
        Ok(Some(engine))
    }

    /// Persists the engine's current turn (state, reports, pending orders)
    /// and then makes it current.
    pub fn save_turn(&self, engine: &Engine) -> Result<(), StoreError> {
        let turn = engine.game.turn;
        let dir = self.turn_dir(turn);
        self.write_json(&dir.join("state.json"), &engine.game)?;
        self.write_json(&dir.join("reports.json"), &engine.reports)?;
        self.save_orders(engine)?;
        self.write_json(&self.dir.join("current.json"), &Current { turn })
    }

    /// Persists the pending orders of the current turn.
    pub fn save_orders(&self, engine: &Engine) -> Result<(), StoreError> {
        self.write_json(&self.orders_path(engine.game.turn), &engine.pending)
    }

    /// Reads a race's stored report of a turn.
    pub fn read_report(&self, turn: u32, race: &str) -> Result<Option<Report>, StoreError> {
        let all: Option<BTreeMap<String, Report>> =
            self.read_json(&self.turn_dir(turn).join("reports.json"))?;
        Ok(all.and_then(|mut m| m.remove(race)))
    }

    /// Reads a stored state of a turn.
    pub fn read_state(&self, turn: u32) -> Result<Option<Game>, StoreError> {
        self.read_json(&self.turn_dir(turn).join("state.json"))
    }
}
