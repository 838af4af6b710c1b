//! Race names and their canonical keys (the Race Name Directory's rules).
//!
//! STUB: replaced by the full implementation (NFKC, case fold, separators
//! stripped, UTS #39 skeleton).

/// The platform-wide identity of a race name: two names with the same key
/// collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RaceKey(String);

impl RaceKey {
    /// A key read back from the database (already canonical).
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

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

/// Why a race name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaceNameError {
    #[error("a race name has 3 to 24 characters")]
    Length,
    #[error("a race name has only letters, digits, spaces, `-` and `_`")]
    Characters,
}

impl RaceName {
    pub fn parse(raw: &str) -> Result<Self, RaceNameError> {
        let display = raw.trim().to_owned();
        let n = display.chars().count();
        if !(3..=24).contains(&n) {
            return Err(RaceNameError::Length);
        }
        if !display
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '_')
        {
            return Err(RaceNameError::Characters);
        }
        let key = canonical_key(&display);
        Ok(Self { display, key })
    }

    /// The name as the player typed it (surrounding space trimmed).
    pub fn as_str(&self) -> &str {
        &self.display
    }

    pub fn key(&self) -> &RaceKey {
        &self.key
    }
}

/// The canonical key of `raw`.
pub fn canonical_key(raw: &str) -> RaceKey {
    RaceKey(
        raw.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect(),
    )
}
