//! Helpers of the configuration tests: a minimal valid environment and
//! assertions on what loading it with overrides gives.

use super::{Config, ConfigErrors};

pub(super) const DSN: &str =
    "postgres://galaxy:hunter2-dsn@db:5432/galaxy?options=-c%20search_path%3Dbackend";

/// A readable file standing in for the GeoIP database.
pub(super) fn readable_path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").to_string()
}

pub(super) fn minimal() -> Vec<(String, String)> {
    [
        ("BACKEND_POSTGRES_DSN", DSN.to_string()),
        ("BACKEND_SMTP_HOST", "smtp.example.com".to_string()),
        ("BACKEND_SMTP_FROM", "noreply@example.com".to_string()),
        ("BACKEND_DOCKER_NETWORK", "galaxy-engines".to_string()),
        (
            "BACKEND_GAME_STATE_ROOT",
            "/var/lib/galaxy/games".to_string(),
        ),
        ("BACKEND_GEOIP_DB_PATH", readable_path()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub(super) fn with(overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars = minimal();
    for (name, value) in overrides {
        vars.retain(|(k, _)| k != name);
        vars.push((name.to_string(), value.to_string()));
    }
    vars
}

pub(super) fn errors(overrides: &[(&str, &str)]) -> ConfigErrors {
    match Config::from_vars(with(overrides)) {
        Ok(_) => panic!("{overrides:?} should be refused"),
        Err(errors) => errors,
    }
}

pub(super) fn load(overrides: &[(&str, &str)]) -> Config {
    Config::from_vars(with(overrides)).unwrap_or_else(|e| panic!("{overrides:?} should load:\n{e}"))
}

/// Asserts that loading with `overrides` reports exactly one problem, for `variable`.
pub(super) fn refused_for(variable: &str, overrides: &[(&str, &str)]) -> String {
    let errors = errors(overrides);
    let names: Vec<_> = errors.0.iter().map(|e| e.variable).collect();
    assert_eq!(names, [variable], "{overrides:?} gave:\n{errors}");
    errors.to_string()
}
