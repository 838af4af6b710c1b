//! Persistence under the state directory. Every file is written atomically
//! (temp file, fsync, rename, fsync of the directory):
//!
//! ```text
//! <dir>/turns/<N:06>.json     the game at turn N (with its RNG and turn log)
//! <dir>/orders/<N:06>.json    orders for turn N (pending while N is current;
//!                             kept once the turn ran, for [`crate::replay`])
//! ```
//!
//! The current turn is the highest N in `turns/`: the rename of turn N+1's
//! state file (after its fsync, followed by an fsync of the directory) is a
//! turn's commit point, so a crash before it leaves turn N current and
//! intact. Reports are not stored: they are a pure function of a turn's
//! state (byte-identical on every build, tested), so past reports are
//! rebuilt from it. A turn therefore costs two fsyncs and one state-sized
//! write.

use crate::engine::Engine;
use crate::game::{Game, RaceId};
use crate::order::RaceOrders;
use crate::report::build_report;
use galaxy_model::report::Report;
use serde::{Serialize, de::DeserializeOwned};
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

    /// A store rooted at an existing directory, for reading only: nothing
    /// is created (the replay never writes to the state directory).
    pub fn open_existing(dir: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let dir = dir.into();
        let meta = fs::metadata(&dir).map_err(io(&dir))?;
        if !meta.is_dir() {
            return Err(io(&dir)(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            )));
        }
        Ok(Store { dir })
    }

    /// The root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn turns_dir(&self) -> PathBuf {
        self.dir.join("turns")
    }

    fn state_path(&self, turn: u32) -> PathBuf {
        self.turns_dir().join(format!("{turn:06}.json"))
    }

    /// The highest committed turn (a `NNNNNN.json` in `turns/`).
    pub fn current_turn(&self) -> Result<Option<u32>, StoreError> {
        let dir = self.turns_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut best = None;
        for entry in entries {
            let name = entry.map_err(io(&dir))?.file_name();
            let turn = name
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<u32>().ok());
            best = best.max(turn);
        }
        Ok(best)
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

    /// Loads the current game, if one was initialised; its reports are
    /// rebuilt from the state.
    pub fn load(&self) -> Result<Option<Engine>, StoreError> {
        let Some(turn) = self.current_turn()? else {
            return Ok(None);
        };
        let path = self.state_path(turn);
        let game: Game = self.read_json(&path)?.ok_or_else(|| StoreError::Io {
            path: path.clone(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        let pending = self.read_orders(turn)?;
        Ok(Some(Engine::resume(game, pending)))
    }

    /// Persists the engine's current turn and so makes it current: one
    /// atomic state file. Pending orders are written only when there are
    /// some (a new turn has none).
    pub fn save_turn(&self, engine: &Engine) -> Result<(), StoreError> {
        if !engine.pending.is_empty() || self.orders_path(engine.game.turn).exists() {
            self.save_orders(engine)?;
        }
        self.write_json(&self.state_path(engine.game.turn), &engine.game)
    }

    /// Persists the pending orders of the current turn.
    pub fn save_orders(&self, engine: &Engine) -> Result<(), StoreError> {
        self.write_json(&self.orders_path(engine.game.turn), &engine.pending)
    }

    /// A race's report of a past turn, rebuilt from that turn's state.
    pub fn read_report(&self, turn: u32, race: &str) -> Result<Option<Report>, StoreError> {
        let Some(game) = self.read_state(turn)? else {
            return Ok(None);
        };
        let Some(r) = game.races.iter().position(|x| x.key == race) else {
            return Ok(None);
        };
        Ok(Some(build_report(&game, RaceId(r))))
    }

    /// Reads a stored state of a turn.
    pub fn read_state(&self, turn: u32) -> Result<Option<Game>, StoreError> {
        self.read_json(&self.state_path(turn))
    }

    /// The stored state file of a turn, byte for byte.
    pub fn read_state_bytes(&self, turn: u32) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.state_path(turn);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// The orders stored for a turn: the pending set while it is current,
    /// the set it ran with once played (running a turn leaves them in
    /// place). Empty when no race sent any.
    pub fn read_orders(&self, turn: u32) -> Result<BTreeMap<String, RaceOrders>, StoreError> {
        Ok(self.read_json(&self.orders_path(turn))?.unwrap_or_default())
    }
}
