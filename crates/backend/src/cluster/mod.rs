//! Running more than one `galaxy-backend` on one database: who this
//! process is ([`InstanceId`]), which instance leads ([`leader`]) and how
//! one instance's writes reach the others' caches ([`caches`]). Every pooled connection carries it as its
//! PostgreSQL `application_name` (`galaxy-backend/<id>`), so operators see
//! which instance holds which connection and database triggers can tell
//! one instance's writes from another's.

use std::fmt;

pub mod caches;
pub mod leader;

pub use caches::{CacheBus, CoherentCache};
pub use leader::Leadership;

/// The prefix of every connection's `application_name`.
pub const APPLICATION_PREFIX: &str = "galaxy-backend/";

/// This process's name among the instances sharing the database: the host
/// name, the process id and a random suffix (unique across restarts).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceId(String);

impl InstanceId {
    /// A fresh id for this process.
    pub fn generate() -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_owned());
        // PostgreSQL truncates application_name at 63 bytes.
        let host: String = host
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
            .take(32)
            .collect();
        Self(format!(
            "{host}-{}-{:04x}",
            std::process::id(),
            rand::random::<u16>()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `application_name` of this instance's connections.
    pub fn application_name(&self) -> String {
        format!("{APPLICATION_PREFIX}{}", self.0)
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_and_fit_in_an_application_name() {
        let (a, b) = (InstanceId::generate(), InstanceId::generate());
        assert_ne!(a, b);
        assert!(a.application_name().len() <= 63, "{a}");
        assert!(a.application_name().starts_with(APPLICATION_PREFIX));
    }
}
