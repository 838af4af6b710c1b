//! Value checks shared by the sections: each turns a variable's text into
//! a typed value or a reason (prefixed with the variable's name by the
//! loader). Reasons may quote the input, so secrets never pass through here.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::parse::parse_duration;

/// Parses a value from a fixed list of spellings (ASCII case-insensitive).
pub(super) fn one_of<T: Copy>(
    choices: &'static [(&'static str, T)],
) -> impl Fn(&str) -> Result<T, String> {
    move |s| {
        choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                let accepted: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
                format!("{s:?} is not one of: {}", accepted.join(", "))
            })
    }
}

pub(super) fn duration(s: &str) -> Result<Duration, String> {
    parse_duration(s)
}

pub(super) fn positive_duration(s: &str) -> Result<Duration, String> {
    let value = parse_duration(s)?;
    if value.is_zero() {
        return Err(format!("{s:?} must be greater than zero"));
    }
    Ok(value)
}

pub(super) fn any_u32(s: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not a whole number from 0 to {}", u32::MAX))
}

pub(super) fn u32_in(s: &str, min: u32, max: u32) -> Result<u32, String> {
    match any_u32(s)? {
        n if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} must be from {min} to {max}")),
    }
}

pub(super) fn positive_u32(s: &str) -> Result<u32, String> {
    match any_u32(s)? {
        0 => Err(format!("{s:?} must be at least 1")),
        n => Ok(n),
    }
}

pub(super) fn at_least(value: u64, min: u64, min_text: &str) -> Result<u64, String> {
    if value < min {
        return Err(format!("must be at least {min_text}"));
    }
    Ok(value)
}

pub(super) fn port(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("{s:?} is not a port from 1 to 65535")),
    }
}

pub(super) fn pids_limit(s: &str) -> Result<i64, String> {
    match s.parse::<i64>() {
        Ok(limit) if limit > 0 || limit == -1 => Ok(limit),
        _ => Err(format!(
            "{s:?} must be a positive whole number, or -1 for unlimited"
        )),
    }
}

pub(super) fn cpu_quota(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(cpus) if cpus.is_finite() && cpus > 0.0 => Ok(cpus),
        _ => Err(format!(
            "{s:?} must be a positive number of CPUs, e.g. 2.0 or 0.5"
        )),
    }
}

pub(super) fn text(s: &str) -> Result<String, String> {
    Ok(s.to_owned())
}

pub(super) fn hostname(s: &str) -> Result<String, String> {
    if s.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(format!("{s:?} is not a host name or address"));
    }
    Ok(s.to_owned())
}

/// Docker object names (networks, log drivers) cannot contain whitespace.
pub(super) fn docker_name(s: &str) -> Result<String, String> {
    if s.chars().any(char::is_whitespace) {
        return Err(format!("{s:?} must not contain whitespace"));
    }
    Ok(s.to_owned())
}

pub(super) fn docker_endpoint(s: &str) -> Result<String, String> {
    match s.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && !rest.is_empty() => Ok(s.to_owned()),
        _ => Err(format!(
            "{s:?} is not an endpoint URL such as unix:///var/run/docker.sock or tcp://host:2375"
        )),
    }
}

pub(super) fn http_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !s.contains(char::is_whitespace) => Ok(s.to_owned()),
        _ => Err("must be an http:// or https:// URL".to_string()),
    }
}

/// Accepts `local@domain`, optionally as `Display Name <local@domain>`.
pub(super) fn email_address(s: &str) -> Result<String, String> {
    let address = match s.rsplit_once('<') {
        Some((_, inner)) => inner.strip_suffix('>').unwrap_or(""),
        None => s,
    };
    let well_formed = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !address
                    .contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        }
        None => false,
    };
    if !well_formed {
        return Err(format!(
            "{s:?} is not an email address like name@example.com"
        ));
    }
    Ok(s.to_owned())
}

pub(super) fn absolute_host_path(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    if !path.is_absolute() {
        return Err(format!("{s:?} must be an absolute path"));
    }
    Ok(path)
}

/// The path is inside the engine container, which is always Linux.
pub(super) fn container_path(s: &str) -> Result<String, String> {
    if !s.starts_with('/') || s == "/" {
        return Err(format!(
            "{s:?} must be an absolute path below / inside the container"
        ));
    }
    Ok(s.to_owned())
}

pub(super) fn readable_file(s: &str) -> Result<PathBuf, String> {
    let path = Path::new(s);
    let file = File::open(path).map_err(|e| format!("cannot open {s:?}: {e}"))?;
    // Opening a directory succeeds on Linux; the reader needs a file.
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok(path.to_path_buf()),
        Ok(_) => Err(format!("{s:?} is not a regular file")),
        Err(e) => Err(format!("cannot read {s:?}: {e}")),
    }
}

/// Parses `key=value,key=value` into ordered pairs.
pub(super) fn log_opts(s: &str) -> Result<Vec<(String, String)>, String> {
    s.split(',')
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() && !value.is_empty() => {
                Ok((key.trim().to_owned(), value.to_owned()))
            }
            _ => Err(format!(
                "{pair:?} is not key=value (expected key=value,key=value)"
            )),
        })
        .collect()
}
