//! `BACKEND_*` variables that are set but that the backend does not read —
//! almost always a typo, which would otherwise leave the intended variable
//! at its default without a word. Each is reported (a warning at startup,
//! a line of `galaxy-backend config check`) with the closest known name.

use std::fmt;

use super::table;

/// A set variable that [`table::VARIABLES`] does not list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariable {
    pub name: String,
    /// The known variable the name most likely meant, if one is close.
    pub closest: Option<&'static str>,
}

impl fmt::Display for UnknownVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a variable galaxy-backend reads", self.name)?;
        match self.closest {
            Some(closest) => write!(f, "; did you mean {closest}?"),
            None => f.write_str(" (ignored)"),
        }
    }
}

/// The unknown variables among `names`, in the order given: every name that
/// starts with `BACKEND_` (in any case) and is not in the table, and any
/// other name within two edits of a known one (`BAKEND_SMTP_HOST`).
pub fn unknown_variables<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<UnknownVariable> {
    names
        .into_iter()
        .filter(|name| table::lookup(name).is_none())
        .filter_map(|name| {
            let upper = name.to_ascii_uppercase();
            let (closest, distance) = closest_known(&upper);
            let prefixed = upper.starts_with("BACKEND_");
            // Near-misses of a known name count, however far the prefix is.
            let close_enough = distance <= (upper.len() / 5).max(2);
            if !prefixed && distance > 2 {
                return None;
            }
            Some(UnknownVariable {
                name: name.to_owned(),
                closest: close_enough.then_some(closest),
            })
        })
        .collect()
}

/// The unknown variables of the process environment (for `config check`
/// when loading failed: a typo is often why a required variable is unset).
pub fn unknown_in_env() -> Vec<UnknownVariable> {
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    unknown_variables(names.iter().map(String::as_str))
}

/// The known variable nearest to `name` (optimal string alignment distance:
/// a swap of two neighbouring letters is one edit), with its distance.
fn closest_known(name: &str) -> (&'static str, usize) {
    table::VARIABLES
        .iter()
        .map(|v| (v.name, strsim::osa_distance(name, v.name)))
        .min_by_key(|(_, distance)| *distance)
        .expect("the variable table is not empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closest(name: &str) -> Option<&'static str> {
        let found = unknown_variables([name]);
        assert_eq!(found.len(), 1, "{name} should be reported");
        found[0].closest
    }

    #[test]
    fn typos_are_reported_with_the_closest_known_variable() {
        assert_eq!(
            closest("BACKEND_HTTP_LISTEN_ADR"),
            Some("BACKEND_HTTP_LISTEN_ADDR")
        );
        assert_eq!(closest("BACKEND_SMTP_HOTS"), Some("BACKEND_SMTP_HOST"));
        assert_eq!(
            closest("BACKEND_GEO_DB_PATH"),
            Some("BACKEND_GEOIP_DB_PATH")
        );
        assert_eq!(
            closest("BACKEND_POSTGRES_MAXCONNS"),
            Some("BACKEND_POSTGRES_MAX_CONNS")
        );
        assert_eq!(
            closest("backend_logging_level"),
            Some("BACKEND_LOGGING_LEVEL")
        );
        assert_eq!(closest("BAKEND_SMTP_HOST"), Some("BACKEND_SMTP_HOST"));
    }

    #[test]
    fn a_name_far_from_every_variable_is_reported_without_a_guess() {
        assert_eq!(closest("BACKEND_FEATURE_FLAGS"), None);
    }

    #[test]
    fn known_and_unrelated_names_are_not_reported() {
        assert!(
            unknown_variables([
                "BACKEND_SMTP_HOST",
                "PATH",
                "HOME",
                "RUST_LOG",
                "CARGO_HOME"
            ])
            .is_empty()
        );
    }

    #[test]
    fn the_report_names_the_variable_and_the_guess() {
        let found = unknown_variables(["BACKEND_SMTP_HOTS", "BACKEND_FEATURE_FLAGS"]);
        assert_eq!(
            found[0].to_string(),
            "BACKEND_SMTP_HOTS is not a variable galaxy-backend reads; did you mean BACKEND_SMTP_HOST?"
        );
        assert_eq!(
            found[1].to_string(),
            "BACKEND_FEATURE_FLAGS is not a variable galaxy-backend reads (ignored)"
        );
    }
}
