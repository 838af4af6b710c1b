//! The shadow check before a patch: the new version replays the game's
//! last turn on a copy of its state and must produce byte for byte the
//! turn result and reports the running version stored (docs/engine-api.md
//! "Replay (shadow check)", docs/runtime.md "Patches and the shadow check").
//!
//! The copy holds what the replay of turn N (the game's current turn) reads
//! — `turns/<N-1>.json`, `turns/<N>.json` and `orders/<N-1>.json` when
//! there were orders — in `BACKEND_GAME_STATE_ROOT/.shadow/{game_id}-{nonce}`
//! (the same file system as the game, so a bind mount works wherever the
//! game's does), and is removed afterwards, whatever happened. A game at
//! turn 0 has no turn to replay: the check is skipped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::driver::{ContainerRuntime, DriverError};
use crate::ids::GameId;

/// The directory under the state root that holds replay copies.
pub const SHADOW_DIR: &str = ".shadow";

/// A verdict of the check.
#[derive(Debug, Clone, PartialEq)]
pub enum Shadow {
    /// The new version played turn `turn` exactly as stored.
    Identical { turn: u32 },
    /// Nothing to compare: the game is at turn 0.
    SkippedTurnZero,
    /// The new version plays turn `turn` differently; `difference` is the
    /// engine's `first_difference` (`what`, `line`, `expected`, `actual`).
    Different { turn: u32, difference: Value },
}

/// Why the check reached no verdict.
#[derive(Debug, thiserror::Error)]
pub enum ShadowError {
    /// The container runtime cannot be reached: retry later.
    #[error("{0}")]
    Unavailable(String),
    /// The replay could not run or reported an error (exit 2).
    #[error("{0}")]
    Failed(String),
}

/// Replays `game_id`'s last turn with `image` on a copy of its state
/// directory under `state_root`.
pub async fn check(
    driver: Arc<dyn ContainerRuntime>,
    state_root: PathBuf,
    game_id: GameId,
    image: String,
) -> Result<Shadow, ShadowError> {
    let live = state_root.join(game_id.to_string());
    let copy = state_root.join(SHADOW_DIR).join(format!(
        "{game_id}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ));
    let made = {
        let (live, copy) = (live.clone(), copy.clone());
        tokio::task::spawn_blocking(move || copy_last_turn(&live, &copy))
            .await
            .map_err(|e| ShadowError::Failed(format!("state copy task: {e}")))?
    };
    let turn = match made {
        Ok(Some(turn)) => turn,
        Ok(None) => {
            remove_copy(copy).await;
            return Ok(Shadow::SkippedTurnZero);
        }
        Err(e) => {
            remove_copy(copy).await;
            return Err(ShadowError::Failed(format!(
                "cannot copy the state of {}: {e}",
                live.display()
            )));
        }
    };
    let args = vec!["replay".to_owned(), "--turn".to_owned(), turn.to_string()];
    let replayed = driver.run_once(&image, &copy, args).await;
    remove_copy(copy).await;
    let output = replayed.map_err(|e| match e {
        DriverError::Unavailable(m) => ShadowError::Unavailable(m),
        other => ShadowError::Failed(other.to_string()),
    })?;
    let answer: Option<Value> = output
        .stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line.trim()).ok());
    match (output.exit_code, answer) {
        (0, Some(a)) if a["identical"] == true => Ok(Shadow::Identical { turn }),
        (3, Some(a)) if a["identical"] == false => Ok(Shadow::Different {
            turn,
            difference: a["first_difference"].clone(),
        }),
        (code, Some(a)) if a["error"].is_string() => Err(ShadowError::Failed(format!(
            "the replay of turn {turn} failed (exit {code}): {}",
            a["error"].as_str().unwrap_or_default()
        ))),
        (code, _) => Err(ShadowError::Failed(format!(
            "the replay of turn {turn} answered exit {code} with {:?}",
            output.stdout.trim()
        ))),
    }
}

/// Copies what the replay of the current turn reads; `None` (nothing
/// copied) when the game is at turn 0 or has no turn at all.
fn copy_last_turn(live: &Path, copy: &Path) -> std::io::Result<Option<u32>> {
    let turns = live.join("turns");
    let current = match std::fs::read_dir(&turns) {
        Ok(entries) => {
            let mut best: Option<u32> = None;
            for entry in entries {
                let name = entry?.file_name();
                let turn = name
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .and_then(|n| n.parse::<u32>().ok());
                best = best.max(turn);
            }
            best
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let Some(turn) = current.filter(|t| *t > 0) else {
        return Ok(None);
    };
    let file = |n: u32| format!("{n:06}.json");
    std::fs::create_dir_all(copy.join("turns"))?;
    std::fs::create_dir_all(copy.join("orders"))?;
    for n in [turn - 1, turn] {
        std::fs::copy(turns.join(file(n)), copy.join("turns").join(file(n)))?;
    }
    // Orders are stored only when there were some.
    match std::fs::copy(
        live.join("orders").join(file(turn - 1)),
        copy.join("orders").join(file(turn - 1)),
    ) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(Some(turn))
}

async fn remove_copy(copy: PathBuf) {
    let shown = copy.display().to_string();
    let removed = tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&copy) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    })
    .await;
    if let Ok(Err(e)) = removed {
        tracing::warn!(path = %shown, error = %e, "runtime: cannot remove a shadow-check copy");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_holds_the_last_turn_and_its_orders_only() {
        let root = tempfile::tempdir().unwrap();
        let live = root.path().join("g");
        std::fs::create_dir_all(live.join("turns")).unwrap();
        std::fs::create_dir_all(live.join("orders")).unwrap();
        for n in 0..3 {
            std::fs::write(live.join("turns").join(format!("{n:06}.json")), "{}").unwrap();
            std::fs::write(live.join("orders").join(format!("{n:06}.json")), "{}").unwrap();
        }
        std::fs::write(live.join("engine.json"), "{}").unwrap();
        let copy = root.path().join("c");
        assert_eq!(copy_last_turn(&live, &copy).unwrap(), Some(2));
        let mut files: Vec<String> = walk(&copy);
        files.sort();
        assert_eq!(
            files,
            [
                "orders/000001.json",
                "turns/000001.json",
                "turns/000002.json"
            ]
        );
    }

    #[test]
    fn a_game_at_turn_zero_has_nothing_to_copy() {
        let root = tempfile::tempdir().unwrap();
        let live = root.path().join("g");
        std::fs::create_dir_all(live.join("turns")).unwrap();
        std::fs::write(live.join("turns/000000.json"), "{}").unwrap();
        let copy = root.path().join("c");
        assert_eq!(copy_last_turn(&live, &copy).unwrap(), None);
        assert!(!copy.exists());
        assert_eq!(
            copy_last_turn(&root.path().join("none"), &copy).unwrap(),
            None
        );
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["turns", "orders"] {
            for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
                out.push(format!(
                    "{sub}/{}",
                    entry.unwrap().file_name().to_string_lossy()
                ));
            }
        }
        out
    }
}
