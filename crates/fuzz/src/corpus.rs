//! The committed seed inputs: `crates/fuzz/corpus/<target>/`, one input per
//! file. Every run replays them as plain cases, and the mutation strategies
//! start from them. A failure found by fuzzing is added here as a file (and
//! as a unit test next to the fixed code).

use std::path::PathBuf;

/// The corpus directory of `target`.
pub fn dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// The inputs of `target`'s corpus as `(file name, bytes)`, by file name.
///
/// Panics when the directory is missing or empty: a target without seeds
/// would silently fuzz less.
pub fn load(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = dir(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} unreadable: {e}", dir.display()));
    let mut files: Vec<(String, Vec<u8>)> = entries
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("corpus file {} unreadable: {e}", path.display()));
            (name, bytes)
        })
        .collect();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    files.sort();
    files
}

/// The inputs of `target`'s corpus, bytes only.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    load(target).into_iter().map(|(_, bytes)| bytes).collect()
}
