//! Fuzz target `config_values`: the configuration's value parsers
//! (`parse_duration`, `parse_size`, `parse_listen_addr`, the DSN's
//! `search_path_ok`) on arbitrary text and on text shaped like their
//! syntaxes, and the whole loader (`Config::from_vars`) with arbitrary values
//! for a few variables of the table on top of a valid environment: it
//! answers a configuration or problems naming the variables, never panics,
//! and never quotes a secret.
//!
//! This binary links `galaxy-backend`, whose library sets mimalloc as the
//! process's allocator, so it cannot count allocations: the guard bounds
//! time, and the checks bound the messages' sizes instead.

use galaxy_backend::config::table::VARIABLES;
use galaxy_backend::config::{
    Config, parse_duration, parse_listen_addr, parse_size, search_path_ok,
};
use galaxy_fuzz::{fuzz, replay_corpus};
use proptest::prelude::*;
use proptest::sample::select;

const TARGET: &str = "config_values";

/// A problem quotes its input at most once, escaped (10 bytes a byte at most).
fn bounded_message(input: &str, message: &str) -> Result<(), String> {
    if message.len() > 10 * input.len() + 300 {
        return Err(format!(
            "{} bytes of message for {} bytes",
            message.len(),
            input.len()
        ));
    }
    Ok(())
}

/// Every parser on one value: no panic, bounded problems, and what parses
/// reads back the same from its plain form.
fn check_value(s: &str) -> Result<(), String> {
    match parse_duration(s) {
        Ok(d) => {
            if d.as_nanos() > i64::MAX as u128 {
                return Err(format!("{s:?}: {d:?} is beyond Go's range"));
            }
            let plain = format!("{}ns", d.as_nanos());
            if parse_duration(&plain) != Ok(d) {
                return Err(format!("{s:?} gave {d:?}, but {plain:?} does not"));
            }
        }
        Err(e) => bounded_message(s, &e)?,
    }
    match parse_size(s) {
        Ok(n) if parse_size(&n.to_string()) != Ok(n) => {
            return Err(format!("{s:?} gave {n}, which does not read back"));
        }
        Ok(_) => {}
        Err(e) => bounded_message(s, &e)?,
    }
    match parse_listen_addr(s) {
        Ok(addr) if parse_listen_addr(&addr.to_string()) != Ok(addr) => {
            return Err(format!("{s:?} gave {addr}, which does not read back"));
        }
        Ok(_) => {}
        Err(e) => bounded_message(s, &e)?,
    }
    let _ = search_path_ok(s);
    Ok(())
}

/// Duration units and their nanoseconds.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// The integer part of a term: random digits, or a count of `unit` next to
/// where the arithmetic overflows (u128) or leaves Go's range (i64 nanoseconds).
fn term_count(unit: u128) -> impl Strategy<Value = String> {
    let edges = [u128::MAX / unit, i64::MAX as u128 / unit];
    prop_oneof![
        2 => "[0-9]{0,45}",
        1 => (select(edges.to_vec()), -2i8..=2).prop_map(|(edge, delta)| {
            edge.saturating_add_signed(i128::from(delta)).to_string()
        }),
    ]
}

fn duration_text() -> impl Strategy<Value = String> {
    let unit = prop_oneof![
        4 => select(UNITS).prop_map(|(name, nanos)| (name.to_string(), nanos)),
        1 => select(&["", "x", "S", "sec", " s", "μs"][..]).prop_map(|name| (name.to_string(), 1)),
    ];
    let term = unit
        .prop_flat_map(|(name, nanos)| {
            (
                term_count(nanos),
                prop::option::of("[0-9]{0,25}"),
                Just(name),
            )
        })
        .prop_map(|(int, frac, unit)| match frac {
            Some(frac) => format!("{int}.{frac}{unit}"),
            None => format!("{int}{unit}"),
        });
    (
        select(&["", "+", "-", " "][..]),
        prop::collection::vec(term, 1..5),
    )
        .prop_map(|(sign, terms)| format!("{sign}{}", terms.concat()))
}

fn size_text() -> impl Strategy<Value = String> {
    (
        "[0-9.]{0,30}",
        select(
            &[
                "", "b", "k", "m", "g", "t", "p", "e", "kb", "MiB", "ib", " m", "  g", "x",
            ][..],
        ),
    )
        .prop_map(|(n, unit)| format!("{n}{unit}"))
}

fn addr_text() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        Just(String::new()),
        Just("localhost".to_string()),
        any::<[u8; 4]>().prop_map(|o| format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])),
        any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
        "[\\[\\]:0-9a-f.%]{0,20}",
    ];
    (
        host,
        prop_oneof!["[0-9]{0,7}", any::<u32>().prop_map(|p| p.to_string())],
    )
        .prop_map(|(host, port)| format!("{host}:{port}"))
}

fn dsn_text() -> impl Strategy<Value = String> {
    let param = prop_oneof![
        Just("search_path=backend".to_string()),
        Just("options=-c%20search_path%3Dbackend".to_string()),
        Just("options[search_path]=backend".to_string()),
        "[a-z_%+=\\[\\]0-9A-F-]{0,24}",
    ];
    (
        select(&["postgres://", "postgresql://", "host=db ", "", "postgres:/"][..]),
        "[a-z:@/.0-9%]{0,20}",
        prop::collection::vec(param, 0..4),
        "[#&?'\\\\ =]{0,4}",
    )
        .prop_map(|(scheme, rest, params, tail)| {
            format!("{scheme}{rest}?{}{tail}", params.join("&"))
        })
}

/// A valid environment: the loader accepts it as it is.
fn minimal_env() -> Vec<(String, String)> {
    [
        (
            "BACKEND_POSTGRES_DSN",
            "postgres://galaxy:pw@db:5432/galaxy?options=-c%20search_path%3Dbackend",
        ),
        ("BACKEND_SMTP_HOST", "smtp.example.com"),
        ("BACKEND_SMTP_FROM", "noreply@example.com"),
        ("BACKEND_DOCKER_NETWORK", "galaxy-engines"),
        ("BACKEND_GAME_STATE_ROOT", "/var/lib/galaxy/games"),
        (
            "BACKEND_GEOIP_DB_PATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A value for any variable: any syntax of the table, or none.
fn any_value() -> impl Strategy<Value = String> {
    prop_oneof![
        duration_text(),
        size_text(),
        addr_text(),
        dsn_text(),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|x| x.to_string()),
        select(
            &[
                "true",
                "false",
                "on",
                "yes",
                "0",
                "1",
                "-1",
                "prometheus",
                "otlp",
                "none",
                "json"
            ][..]
        )
        .prop_map(str::to_string),
        select(
            &[
                "/",
                "/tmp",
                "relative/path",
                "/nonexistent/file",
                "http://127.0.0.1:1",
                "a@b",
                "@"
            ][..]
        )
        .prop_map(str::to_string),
        "\\PC{0,64}",
    ]
}

/// The variables the loader keeps as a `Secret`: their problems never quote them.
const SECRETS: &[&str] = &[
    "BACKEND_POSTGRES_DSN",
    "BACKEND_SMTP_PASSWORD",
    "BACKEND_ADMIN_BOOTSTRAP_PASSWORD",
    "BACKEND_AUTH_CODE_SECRET",
    "BACKEND_GATEWAY_SECRET",
];

fn is_secret(name: &str) -> bool {
    SECRETS.contains(&name)
}

fn check_loader(overrides: &[(&'static str, String)]) -> Result<(), String> {
    let mut env = minimal_env();
    for (name, value) in overrides {
        env.retain(|(k, _)| k != name);
        env.push((name.to_string(), value.clone()));
    }
    let errors = match Config::from_vars(env) {
        Ok(_) => return Ok(()),
        Err(errors) => errors,
    };
    if errors.0.is_empty() {
        return Err("refused without a problem".into());
    }
    // A cross-variable rule may report the partner variable, naming ours in its text.
    let names_one = |e: &galaxy_backend::config::ConfigError| {
        overrides
            .iter()
            .any(|(n, _)| *n == e.variable || e.problem.contains(n))
    };
    if !errors.0.iter().any(names_one) {
        return Err(format!("no problem names an overridden variable: {errors}"));
    }
    let text = errors.to_string();
    // A secret's own problems never quote it (other variables' problems may
    // quote their values or list choices, whatever the secret happens to be).
    for (name, value) in overrides.iter().filter(|(name, _)| is_secret(name)) {
        let quoted = errors
            .for_variable(name)
            .any(|e| value.len() >= 8 && e.problem.contains(value.as_str()));
        if quoted {
            return Err(format!("{name}'s secret value is quoted"));
        }
    }
    let input: usize = overrides.iter().map(|(_, v)| v.len()).sum();
    bounded_message(&"x".repeat(input), &text)
}

#[test]
fn the_corpus_parses_within_the_rules() {
    replay_corpus(TARGET, |bytes| {
        check_value(&String::from_utf8_lossy(&bytes))
    });
}

#[test]
fn the_minimal_environment_loads() {
    assert!(Config::from_vars(minimal_env()).is_ok());
}

#[test]
fn arbitrary_values_parse_within_the_rules() {
    fuzz("config_values/arbitrary", 2_000, "\\PC{0,64}", |s| {
        check_value(&s)
    });
}

#[test]
fn values_shaped_like_the_syntaxes_parse_within_the_rules() {
    let strategy = prop_oneof![duration_text(), size_text(), addr_text(), dsn_text()];
    fuzz("config_values/shaped", 3_000, strategy, |s| check_value(&s));
}

#[test]
fn the_loader_answers_a_config_or_problems_naming_the_variables() {
    let names: Vec<&'static str> = VARIABLES.iter().map(|v| v.name).collect();
    let strategy = prop::collection::vec((select(names), any_value()), 1..4);
    fuzz("config_values/loader", 300, strategy, |overrides| {
        check_loader(&overrides)
    });
}
