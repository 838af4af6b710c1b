//! Race names and their canonical keys: the Race Name Directory's rules.
//!
//! A [`RaceName`] is what a player types, checked once:
//!
//! - surrounding whitespace is trimmed and the rest is kept as typed, only
//!   brought to Unicode NFC (canonically equivalent, so it looks the same;
//!   a decomposed `Zoë` would otherwise fail the character rule on its
//!   combining mark);
//! - 3 to 24 characters, and at most [`MAX_NAME_BYTES`] bytes of UTF-8 (the
//!   engine's limit for any name, which 24 characters of a non-Latin script
//!   can exceed);
//! - only letters, digits, spaces, `-` and `_`, so none of the characters the
//!   classic order parser gives a meaning (`"` quotes, `;` comments, `#`
//!   headers and planet numbers, `@` messages) can appear;
//! - at least one letter: names are tokens in orders (`w <race>`,
//!   `a <race>`, `@ <race>`), next to group and ship counts, so a name of
//!   digits alone would read as a number;
//! - no `-` or `_` at either end (a leading `-` reads as a sign) and no run
//!   of two or more spaces (invisible on most screens, so two names that
//!   differ only there could not be told apart).
//!
//! The [`RaceKey`] is the name's platform-wide identity: two names with the
//! same key collide, whoever holds them. [`canonical_key`] builds it so that
//! names a reader could mistake for one another get one key:
//!
//! 1. Unicode NFKC (fullwidth `Ｚｏｒｇ`, ligatures `ﬁ`, superscripts);
//! 2. every character that is not alphanumeric is dropped (spaces, `-`,
//!    `_`, punctuation) — before the skeleton, so punctuation such as `|`
//!    never turns into a letter;
//! 3. upper-cased, then mapped to its UTS #39 confusable skeleton
//!    (`unicode_security::confusable_detection::skeleton`): the display
//!    form is shown as typed, so capital lookalikes count too (Greek `Ζ`,
//!    Cyrillic `В` against Latin `Z`, `B`; `I` against `l`);
//! 4. lower-cased (`char::to_lowercase`), mapped to its skeleton again
//!    (lower-case lookalikes: Cyrillic `о`, `rn` against `m`) and lower-cased
//!    once more, since a skeleton may hold capitals (`0` becomes `O`);
//! 5. what is not alphanumeric is dropped again: the skeleton is
//!    decomposed, so accents fall away here (`Zörg`, `Ƶorg` give `zorg`).
//!
//! So `Zorg`, `ZORG`, `Z-o r g`, `Z_O_R_G`, `Ƶorg`, `Zörg`, `Z0rg` and
//! `Zоrg` (Cyrillic `о`) share the key `zorg`, while `Zorgs` does not. The
//! key is deliberately coarse (`Ivan` and `lvan`, `Mimi` and `Rnirni`
//! collide): refusing a lookalike costs a player a second try, letting one
//! through lets them pose as someone else. Applying [`canonical_key`] to a
//! key gives the key back. A name whose key is empty (only letters whose
//! skeleton is punctuation, such as `ǃǃǃ`) is refused.

use galaxy_model::limits::MAX_NAME_BYTES;
use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

/// Fewest characters in a race name.
pub const MIN_CHARS: usize = 3;
/// Most characters in a race name.
pub const MAX_CHARS: usize = 24;

/// The platform-wide identity of a race name: two names with the same key
/// collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RaceKey(String);

impl RaceKey {
    /// A key read back from the database (already canonical).
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RaceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated race name: the display form as typed and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaceName {
    display: String,
    key: RaceKey,
}

/// Why a race name is refused (the messages are shown to players).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaceNameError {
    #[error("a race name has {MIN_CHARS} to {MAX_CHARS} characters")]
    Length,
    #[error("a race name is at most {MAX_NAME_BYTES} bytes long in UTF-8")]
    TooManyBytes,
    #[error("a race name has only letters, digits, spaces, `-` and `_`")]
    Characters,
    #[error("a race name has at least one letter")]
    NoLetter,
    #[error("a race name does not start or end with `-` or `_`")]
    Edge,
    #[error("a race name has no two spaces in a row")]
    Spaces,
}

impl RaceName {
    /// Checks `raw` against the rules in the module doc.
    pub fn parse(raw: &str) -> Result<Self, RaceNameError> {
        let display: String = raw.trim().nfc().collect();
        let chars = display.chars().count();
        if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
            return Err(RaceNameError::Length);
        }
        if display.len() > MAX_NAME_BYTES {
            return Err(RaceNameError::TooManyBytes);
        }
        if !display.chars().all(is_allowed) {
            return Err(RaceNameError::Characters);
        }
        if !display.chars().any(char::is_alphabetic) {
            return Err(RaceNameError::NoLetter);
        }
        let is_edge = |c: Option<char>| matches!(c, Some('-' | '_'));
        if is_edge(display.chars().next()) || is_edge(display.chars().next_back()) {
            return Err(RaceNameError::Edge);
        }
        if display.contains("  ") {
            return Err(RaceNameError::Spaces);
        }
        let key = canonical_key(&display);
        if key.as_str().is_empty() {
            return Err(RaceNameError::NoLetter);
        }
        Ok(Self { display, key })
    }

    /// The name as the player typed it (surrounding space trimmed, NFC).
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The name's platform-wide identity.
    pub fn key(&self) -> &RaceKey {
        &self.key
    }
}

impl std::fmt::Display for RaceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

fn is_allowed(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, ' ' | '-' | '_')
}

/// Most times [`canonical_key`] applies its steps before the key is stable.
const MAX_KEY_ROUNDS: usize = 8;

/// The canonical key of `raw` (any text; see the module doc for the steps).
///
/// The steps are applied again to their own result until it no longer
/// changes: a skeleton can be a character with a skeleton of its own
/// (`ꭕ` gives Greek `χ`, whose skeleton is `x`), and a key must be its own
/// key, or `Zorgꭕ` would escape its lookalike `Zorgx`.
pub fn canonical_key(raw: &str) -> RaceKey {
    let mut key = key_steps(raw);
    for _ in 1..MAX_KEY_ROUNDS {
        let next = key_steps(&key);
        if next == key {
            break;
        }
        key = next;
    }
    RaceKey(key)
}

/// One application of the steps of the module doc.
fn key_steps(raw: &str) -> String {
    let upper: String = raw
        .nfkc()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect();
    let lower: String = skeleton(&upper).flat_map(char::to_lowercase).collect();
    skeleton(&lower)
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> String {
        canonical_key(raw).as_str().to_owned()
    }

    fn refused(raw: &str) -> RaceNameError {
        RaceName::parse(raw).expect_err(raw)
    }

    #[test]
    fn a_plain_name_keeps_its_display_form_and_gets_a_lowercase_key() {
        let name = RaceName::parse("Zorg Empire").unwrap();
        assert_eq!(name.as_str(), "Zorg Empire");
        assert_eq!(name.key().as_str(), "zorgernplre");
        assert_eq!(name.to_string(), "Zorg Empire");
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let name = RaceName::parse("  \tZorg \n").unwrap();
        assert_eq!(name.as_str(), "Zorg");
    }

    #[test]
    fn a_decomposed_accent_is_composed_and_accepted() {
        let name = RaceName::parse("Zoe\u{308}").unwrap();
        assert_eq!(name.as_str(), "Zoë");
    }

    #[test]
    fn names_shorter_than_three_or_longer_than_twenty_four_characters_are_refused() {
        assert_eq!(refused("Zo"), RaceNameError::Length);
        assert_eq!(refused("   Zo   "), RaceNameError::Length);
        assert_eq!(refused(""), RaceNameError::Length);
        assert_eq!(refused(&"z".repeat(25)), RaceNameError::Length);
        assert!(RaceName::parse("Zor").is_ok());
        assert!(RaceName::parse(&"z".repeat(24)).is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // Three two-byte letters are three characters.
        assert!(RaceName::parse("Жук").is_ok());
    }

    #[test]
    fn a_name_over_the_engine_byte_limit_is_refused_even_within_twenty_four_characters() {
        let cyrillic = "Ж".repeat(21);
        assert_eq!(cyrillic.chars().count(), 21);
        assert_eq!(refused(&cyrillic), RaceNameError::TooManyBytes);
        assert!(RaceName::parse(&"Ж".repeat(20)).is_ok());
    }

    #[test]
    fn characters_the_order_parser_reads_are_refused() {
        for raw in [
            "#Zorg", "Zo\"rg", "Zorg;x", "@Zorg", "Zo.rg", "Zo'rg", "Zo|rg", "Zo\trg",
        ] {
            assert_eq!(refused(raw), RaceNameError::Characters, "{raw:?}");
        }
    }

    #[test]
    fn invisible_and_control_characters_are_refused() {
        for raw in ["Zo\u{200b}rg", "Zo\u{200d}rg", "Zo\u{7}rg", "Zo\u{a0}rg"] {
            assert_eq!(refused(raw), RaceNameError::Characters, "{raw:?}");
        }
    }

    #[test]
    fn letters_of_any_script_digits_spaces_hyphens_and_underscores_are_allowed() {
        for raw in [
            "Zorg-7",
            "Zorg_Empire",
            "Les Zorgs",
            "Жуки",
            "日本語",
            "Ωmega 2",
        ] {
            assert!(RaceName::parse(raw).is_ok(), "{raw:?}");
        }
    }

    #[test]
    fn a_name_without_a_letter_is_refused_because_orders_would_read_it_as_a_number() {
        assert_eq!(refused("123"), RaceNameError::NoLetter);
        assert_eq!(refused("1 2 3"), RaceNameError::NoLetter);
        assert_eq!(refused("4-2_0"), RaceNameError::NoLetter);
    }

    #[test]
    fn a_name_whose_key_is_empty_is_refused() {
        // U+01C3 is a letter whose skeleton is `!`.
        assert_eq!(refused("\u{1c3}\u{1c3}\u{1c3}"), RaceNameError::NoLetter);
    }

    #[test]
    fn a_hyphen_or_underscore_at_either_end_is_refused() {
        for raw in ["-Zorg", "Zorg-", "_Zorg", "Zorg_", "--Zorg"] {
            assert_eq!(refused(raw), RaceNameError::Edge, "{raw:?}");
        }
        assert!(RaceName::parse("Zo-rg").is_ok());
    }

    #[test]
    fn two_spaces_in_a_row_are_refused() {
        assert_eq!(refused("Zorg  Empire"), RaceNameError::Spaces);
        assert!(RaceName::parse("Zorg Empire").is_ok());
    }

    #[test]
    fn case_separators_accents_and_lookalikes_give_one_key() {
        // name, key: every name in a group collides with the others.
        let table = [
            ("Zorg", "zorg"),
            ("ZORG", "zorg"),
            ("zorg", "zorg"),
            ("Z-o r g", "zorg"),
            ("Z_O_R_G", "zorg"),
            ("Ƶorg", "zorg"),
            ("Zörg", "zorg"),
            ("Z0rg", "zorg"),
            ("Zоrg", "zorg"),     // Cyrillic о
            ("Ζorg", "zorg"),     // Greek capital zeta
            ("ZΟRG", "zorg"),     // Greek capital omicron
            ("Ｚｏｒｇ", "zorg"), // fullwidth
            ("Zorgs", "zorgs"),
            ("Zorm", "zorrn"),
            ("Zorrn", "zorrn"),
            ("Ivan", "lvan"),
            ("lvan", "lvan"),
            ("ivan", "lvan"),
            ("Straße", "strasse"),
            ("STRASSE", "strasse"),
            ("ﬁre", "flre"),
            ("Zorg²", "zorg2"),
        ];
        for (name, expected) in table {
            assert_eq!(key(name), expected, "{name:?}");
        }
    }

    #[test]
    fn names_differing_in_a_real_letter_do_not_collide() {
        assert_ne!(key("Zorg"), key("Zorgs"));
        assert_ne!(key("Zorg"), key("Borg"));
        assert_ne!(key("Zorg Empire"), key("Zorg Empires"));
    }

    #[test]
    fn cyrillic_names_collide_with_their_own_case_variants() {
        assert_eq!(key("Вася"), key("ВАСЯ"));
        assert_eq!(key("Вася"), key("вася"));
    }

    #[test]
    fn parsing_keys_the_display_form() {
        let name = RaceName::parse("  Z-o r g ").unwrap();
        assert_eq!(name.key(), &canonical_key("Zorg"));
    }

    #[test]
    fn a_lookalike_of_a_lookalike_gets_the_same_key() {
        // Found by fuzzing (crates/fuzz, race_name): one pass gave `ꭕ` the
        // key `χ`, whose own key is `x`, and `Ϛ` the key `ς` (then `ʃ`).
        assert_eq!(key("Zorgꭕ"), key("Zorgx"));
        for raw in ["ꭕ", "Ϛ", "Zorgꭕ"] {
            let once = canonical_key(raw);
            assert_eq!(canonical_key(once.as_str()), once, "{raw:?}");
        }
    }

    #[test]
    fn the_key_of_a_key_is_the_same_key() {
        for raw in [
            "Zorg",
            "Zorg Empire",
            "Mimi",
            "0123456789 abcdefghijklmnopqrstuvwxyz",
            "Ivan the Terrible",
            "Straße",
            "Ⅻ Legion",
            "Вася",
            "日本語",
        ] {
            let once = canonical_key(raw);
            assert_eq!(canonical_key(once.as_str()), once, "{raw:?}");
        }
    }

    #[test]
    fn ascii_keys_are_fixed_points() {
        let once = canonical_key("The 0ld Ones - 1st Fleet");
        assert!(once.as_str().is_ascii());
        assert_eq!(canonical_key(once.as_str()), once);
    }

    #[test]
    fn a_stored_key_reads_back_as_itself() {
        let key = RaceKey::from_stored("zorg".into());
        assert_eq!(key.as_str(), "zorg");
        assert_eq!(key.to_string(), "zorg");
        assert_eq!(key, canonical_key("Zorg"));
    }
}
