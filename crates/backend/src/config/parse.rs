//! Parsers for the value syntaxes the configuration inherits from the Go
//! service: Go `time.ParseDuration` durations, Docker-style byte sizes and Go
//! `net.Listen` addresses.
//!
//! Each parser returns a human-readable reason on failure; the loader prefixes
//! it with the variable name. Reasons quote the offending input, so these
//! parsers are never used on secret values.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Go's `time.Duration` is an `int64` of nanoseconds; larger values overflow there.
const MAX_DURATION_NANOS: u128 = i64::MAX as u128;

/// Fraction digits kept when scaling; more cannot change a nanosecond count.
const MAX_FRACTION_DIGITS: u32 = 18;

/// Parses a Go `time.ParseDuration` string: a sequence of decimal numbers,
/// each with an optional fraction and a unit (`ns`, `us`/`µs`, `ms`, `s`,
/// `m`, `h`), e.g. `300ms`, `1.5h`, `2h45m`. A bare `0` is accepted;
/// negative, empty and unitless non-zero values are rejected.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let invalid = |why: &str| format!("invalid duration {input:?}: {why}");
    let body = input.strip_prefix('+').unwrap_or(input);
    if input.starts_with('-') {
        return Err(invalid("must not be negative"));
    }
    if body.is_empty() {
        return Err(invalid("empty (use e.g. 30s, 5m, 1h30m)"));
    }
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = body;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (nanos, tail) = duration_term(rest).map_err(|why| invalid(&why))?;
        total = total
            .checked_add(nanos)
            .filter(|t| *t <= MAX_DURATION_NANOS)
            .ok_or_else(|| invalid("too large"))?;
        rest = tail;
    }
    // Bounded by MAX_DURATION_NANOS above, so the conversion cannot fail.
    u64::try_from(total)
        .map(Duration::from_nanos)
        .map_err(|_| invalid("too large"))
}

/// Parses one `<number><unit>` term, returning its nanoseconds and the rest.
fn duration_term(input: &str) -> Result<(u128, &str), String> {
    let int_len = leading_digits(input);
    let (int_digits, rest) = input.split_at(int_len);
    let (frac_digits, rest) = match rest.strip_prefix('.') {
        Some(after_dot) => after_dot.split_at(leading_digits(after_dot)),
        None => ("", rest),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(format!("expected a number at {rest:?}"));
    }
    let unit_len = rest
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(rest.len());
    let (unit, rest) = rest.split_at(unit_len);
    let unit_nanos = unit_in_nanos(unit)?;
    // Checked to the end: a count just below u128's limit plus its fraction
    // would overflow otherwise (a panic, or a tiny duration in release).
    let nanos = decimal_u128(int_digits)
        .and_then(|n| n.checked_mul(unit_nanos))
        .and_then(|whole| whole.checked_add(fraction_nanos(frac_digits, unit_nanos)))
        .ok_or_else(|| "too large".to_string())?;
    Ok((nanos, rest))
}

fn unit_in_nanos(unit: &str) -> Result<u128, String> {
    Ok(match unit {
        "ns" => 1,
        // U+00B5 (micro sign) and U+03BC (Greek mu), as Go accepts both.
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3_600 * 1_000_000_000,
        "" => return Err("missing unit (use ns, us, ms, s, m or h)".to_string()),
        other => {
            return Err(format!(
                "unknown unit {other:?} (use ns, us, ms, s, m or h)"
            ));
        }
    })
}

fn leading_digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// `None` on overflow; an empty string is zero (as in `.5s`).
fn decimal_u128(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |acc, d| {
        acc.checked_mul(10)?.checked_add(u128::from(d - b'0'))
    })
}

fn fraction_nanos(digits: &str, unit_nanos: u128) -> u128 {
    let kept = &digits[..digits.len().min(MAX_FRACTION_DIGITS as usize)];
    let scale = 10u128.pow(kept.len() as u32);
    // At most 18 digits, so neither the parse nor the product can overflow.
    decimal_u128(kept).unwrap_or(0) * unit_nanos / scale
}

/// Parses a Docker-style size (`docker run --memory`): a non-negative decimal
/// number with an optional unit `b`, `k`, `m`, `g`, `t` or `p`
/// (case-insensitive, binary multiples: `1k` = 1024), optionally followed by
/// `b` or `ib` as in `512mb` / `512MiB`. A bare number is bytes.
pub fn parse_size(input: &str) -> Result<u64, String> {
    let invalid = |why: &str| format!("invalid size {input:?}: {why} (use e.g. 512m, 1g, 64k)");
    let number_len = input
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(input.len());
    let (number, unit) = input.split_at(number_len);
    if number.is_empty() || !number.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(invalid("expected a non-negative number"));
    }
    let value: f64 = number.parse().map_err(|_| invalid("malformed number"))?;
    let multiplier =
        size_multiplier(unit.trim_start_matches(' ')).ok_or_else(|| invalid("unknown unit"))?;
    let bytes = value * multiplier as f64;
    if bytes >= u64::MAX as f64 {
        return Err(invalid("too large"));
    }
    // Docker truncates fractional byte counts the same way.
    Ok(bytes as u64)
}

fn size_multiplier(unit: &str) -> Option<u64> {
    let unit = unit.to_ascii_lowercase();
    let prefix = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let power = match prefix {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return None,
    };
    // "ib" with no prefix ("5ib") is not a unit.
    if prefix.is_empty() && unit.ends_with("ib") {
        return None;
    }
    Some(1u64 << (10 * power))
}

/// Parses a Go-style listen address. `:PORT` binds every IPv4 interface
/// (`0.0.0.0:PORT`); `localhost:PORT` binds `127.0.0.1:PORT`; otherwise the
/// host must be an IP literal (IPv6 in brackets: `[::1]:9000`). Port `0`
/// asks the OS for a free port. A port is always required.
pub fn parse_listen_addr(input: &str) -> Result<SocketAddr, String> {
    let invalid = |why: &str| format!("invalid listen address {input:?}: {why}");
    let Some((host, port)) = input.rsplit_once(':') else {
        return Err(invalid("missing port (use e.g. :8080 or 127.0.0.1:8080)"));
    };
    if port.is_empty() {
        return Err(invalid("missing port (use e.g. :8080 or 127.0.0.1:8080)"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| invalid("port must be a number from 0 to 65535"))?;
    let ip = match host {
        "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => listen_ip(host).ok_or_else(|| {
            invalid("host must be empty, localhost, an IPv4 address or a bracketed IPv6 address")
        })?,
    };
    Ok(SocketAddr::new(ip, port))
}

fn listen_ip(host: &str) -> Option<IpAddr> {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6),
        None => host.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn durations_in_go_syntax_parse() {
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("1.5h"), Ok(secs(5400)));
        assert_eq!(parse_duration("2h45m"), Ok(secs(2 * 3600 + 45 * 60)));
        assert_eq!(parse_duration("30s"), Ok(secs(30)));
        assert_eq!(parse_duration("720h"), Ok(secs(720 * 3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("+5s"), Ok(secs(5)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.s"), Ok(secs(1)));
        assert_eq!(
            parse_duration("1h1m1s1ms1us1ns"),
            Ok(Duration::new(3661, 1_001_001))
        );
    }

    #[test]
    fn every_go_duration_unit_is_accepted() {
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration("7us"), Ok(Duration::from_micros(7)));
        assert_eq!(parse_duration("7µs"), Ok(Duration::from_micros(7)));
        assert_eq!(parse_duration("7\u{3bc}s"), Ok(Duration::from_micros(7)));
        assert_eq!(parse_duration("7ms"), Ok(Duration::from_millis(7)));
        assert_eq!(parse_duration("7m"), Ok(secs(420)));
        assert_eq!(parse_duration("7h"), Ok(secs(7 * 3600)));
    }

    #[test]
    fn fractions_keep_nanosecond_precision() {
        assert_eq!(parse_duration("1.000000001s"), Ok(Duration::new(1, 1)));
        assert_eq!(
            parse_duration("0.1234567890123456789s"),
            Ok(Duration::from_nanos(123_456_789))
        );
    }

    #[test]
    fn malformed_durations_are_rejected() {
        for bad in [
            "", "-5s", "-0", "5", "10 s", "s", "5x", "5sec", "1.2.3s", ".s", "abc", "+", "1h-5m",
            " 5s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn duration_errors_explain_the_problem() {
        let err = parse_duration("30").unwrap_err();
        assert!(
            err.contains("\"30\"") && err.contains("missing unit"),
            "{err}"
        );
        let err = parse_duration("5x").unwrap_err();
        assert!(err.contains("unknown unit \"x\""), "{err}");
    }

    #[test]
    fn durations_beyond_go_range_are_rejected() {
        assert!(parse_duration("2562047h").is_ok());
        assert!(parse_duration("2562048h").is_err());
        assert!(parse_duration("99999999999999999999999999999999999999999h").is_err());
    }

    #[test]
    fn a_count_at_the_edge_of_u128_with_a_fraction_is_too_large() {
        // Found by fuzzing (crates/fuzz, config_values): u128::MAX / 1000
        // microseconds plus half of one overflowed the addition.
        let err = parse_duration("340282366920938463463374607431768211.5us").unwrap_err();
        assert!(err.contains("too large"), "{err}");
        assert!(parse_duration("340282366920938463463374607431768211us").is_err());
    }

    #[test]
    fn sizes_use_binary_multiples() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64k"), Ok(64 * 1024));
        assert_eq!(parse_size("512m"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("2t"), Ok(2 << 40));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn size_units_are_case_insensitive_with_optional_b() {
        assert_eq!(parse_size("10b"), Ok(10));
        assert_eq!(parse_size("10B"), Ok(10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("512mb"), Ok(512 << 20));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("1 m"), Ok(1 << 20));
    }

    #[test]
    fn malformed_sizes_are_rejected() {
        for bad in [
            "",
            "-1m",
            "m",
            "1x",
            "1mm",
            "1.2.3m",
            ".5m",
            "1ib",
            "abc",
            "99999999999p",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn listen_addresses_follow_go_conventions() {
        assert_eq!(
            parse_listen_addr(":8080"),
            Ok("0.0.0.0:8080".parse().unwrap())
        );
        assert_eq!(
            parse_listen_addr("127.0.0.1:0"),
            Ok("127.0.0.1:0".parse().unwrap())
        );
        assert_eq!(
            parse_listen_addr("[::1]:9000"),
            Ok("[::1]:9000".parse().unwrap())
        );
        assert_eq!(
            parse_listen_addr("[::]:9000"),
            Ok("[::]:9000".parse().unwrap())
        );
        assert_eq!(
            parse_listen_addr("localhost:8080"),
            Ok("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            parse_listen_addr("0.0.0.0:65535"),
            Ok("0.0.0.0:65535".parse().unwrap())
        );
    }

    #[test]
    fn listen_addresses_without_a_valid_port_or_host_are_rejected() {
        for bad in [
            "",
            "8080",
            "127.0.0.1",
            "localhost",
            ":",
            "127.0.0.1:",
            ":http",
            ":65536",
            "::1:9000",
            "[::1]",
            "example.com:80",
            "1.2.3:80",
        ] {
            assert!(
                parse_listen_addr(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(
            parse_listen_addr("127.0.0.1")
                .unwrap_err()
                .contains("missing port")
        );
    }
}
