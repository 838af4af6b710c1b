//! Fuzz target `race_name`: the Race Name Directory's canonical key
//! (`galaxy_backend::lobby::canonical_key`) and the race-name rules
//! (`RaceName::parse`) on arbitrary text and on text from the scripts and
//! characters that make lookalikes (Latin, Greek, Cyrillic, fullwidth forms,
//! ligatures, combining marks, NFKC's longest expansions).
//!
//! This binary links `galaxy-backend`, whose library sets mimalloc as the
//! process's allocator, so it cannot count allocations: the guard bounds
//! time, and the checks bound the outputs' sizes instead.

use galaxy_backend::lobby::race_name::{MAX_CHARS, MIN_CHARS};
use galaxy_backend::lobby::{RaceName, canonical_key};
use galaxy_fuzz::{fuzz, replay_corpus};
use galaxy_model::limits::MAX_NAME_BYTES;
use proptest::prelude::*;

const TARGET: &str = "race_name";

/// How many bytes of key one byte of input may give at most: NFKC expands a
/// character up to 18 (U+FDFA), the skeleton and case mappings a few more.
const KEY_BYTES_PER_INPUT_BYTE: usize = 64;

fn check(raw: &str) -> Result<(), String> {
    let key = canonical_key(raw);
    let key = key.as_str();
    if key.len() > KEY_BYTES_PER_INPUT_BYTE * raw.len() {
        return Err(format!(
            "key of {} bytes from {} bytes",
            key.len(),
            raw.len()
        ));
    }
    if let Some(c) = key.chars().find(|c| !c.is_alphanumeric()) {
        return Err(format!("key {key:?} holds {c:?}, not alphanumeric"));
    }
    let again = canonical_key(key);
    if again.as_str() != key {
        return Err(format!(
            "not idempotent: {key:?} gives {:?}",
            again.as_str()
        ));
    }
    match RaceName::parse(raw) {
        Ok(name) => accepted(raw, &name),
        Err(_) => Ok(()),
    }
}

/// An accepted name keeps the rules, its key is its display form's key, and
/// parsing its display form accepts it unchanged.
fn accepted(raw: &str, name: &RaceName) -> Result<(), String> {
    let display = name.as_str();
    let chars = display.chars().count();
    if !(MIN_CHARS..=MAX_CHARS).contains(&chars) || display.len() > MAX_NAME_BYTES {
        return Err(format!("accepted {display:?} ({chars} chars)"));
    }
    if display.trim() != display || name.key().as_str().is_empty() {
        return Err(format!("accepted {display:?} with key {:?}", name.key()));
    }
    if name.key() != &canonical_key(display) {
        return Err(format!("{raw:?}: key is not the display form's key"));
    }
    match RaceName::parse(display) {
        Ok(again) if &again == name => Ok(()),
        other => Err(format!("{display:?} parses again as {other:?}")),
    }
}

/// Characters that make lookalikes, and a few that expand a lot.
fn lookalike_text() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        3 => proptest::char::range('A', 'z'),
        2 => proptest::char::range('\u{370}', '\u{3ff}'),
        2 => proptest::char::range('\u{400}', '\u{4ff}'),
        1 => proptest::char::range('\u{ff01}', '\u{ff5e}'),
        1 => proptest::char::range('\u{fb00}', '\u{fb06}'),
        1 => proptest::char::range('\u{300}', '\u{36f}'),
        1 => proptest::char::range('\u{1d400}', '\u{1d7ff}'),
        1 => prop::sample::select(vec![
            ' ', '-', '_', '0', '1', 'ß', 'ẞ', 'ǃ', '\u{fdfa}', '\u{3392}', '\u{200b}', 'İ', 'ı',
        ]),
    ];
    prop::collection::vec(c, 0..40).prop_map(|cs| cs.into_iter().collect())
}

#[test]
fn the_corpus_keeps_the_key_rules() {
    replay_corpus(TARGET, |bytes| check(&String::from_utf8_lossy(&bytes)));
}

#[test]
fn arbitrary_text_keeps_the_key_rules() {
    fuzz("race_name/arbitrary", 1_000, "\\PC{0,40}", |raw| {
        check(&raw)
    });
}

#[test]
fn lookalike_text_keeps_the_key_rules() {
    fuzz("race_name/lookalikes", 2_000, lookalike_text(), |raw| {
        check(&raw)
    });
}

#[test]
fn long_text_keeps_the_key_rules() {
    fuzz("race_name/long", 20, "\\PC{500,4000}", |raw| check(&raw));
}
