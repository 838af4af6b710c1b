//! Turn schedules: a fixed interval or a 5-field cron expression in an IANA
//! time zone, and the next cut-off they give.
//!
//! The JSON form (API and storage) is one of
//!
//! - `{"every":"24h"}`: one or more `<digits><unit>` with units `d`, `h`,
//!   `m`, `s` from largest to smallest, each at most once (`90m`, `1h30m`,
//!   `1d`, `2d12h`), from 1 minute to 30 days inclusive; the next cut-off is
//!   the previous one plus the period;
//! - `{"cron":"0 18 * * *","time_zone":"Europe/Berlin"}`: exactly five
//!   fields (minute, hour, day of month, month, day of week — no seconds or
//!   years, no `@daily` nicknames) in the syntax of the `croner` crate
//!   (Vixie cron plus `L`, `W`, `#`; a restricted day of month *or* day of
//!   week matches), read in `time_zone` (an IANA name, default `UTC`). An
//!   expression that never fires (`0 0 30 2 *`) is refused.
//!
//! Anything else — both keys, neither, an unknown key, a value of the wrong
//! type, not an object — is refused with the field `turn_schedule`.
//!
//! Daylight saving time, for cron schedules (the wall clock is what the
//! expression names):
//!
//! - spring forward: a fixed time that falls in the gap (`30 2 * * *` on the
//!   night Europe/Berlin skips 02:00–03:00) is *shifted* to the first wall
//!   time after the gap (03:00 local), once; a pattern with a wildcard or a
//!   list in its time fields simply has no match inside the gap;
//! - fall back: every wall time fires at most once, at its first instance —
//!   `30 2 * * *` fires at 02:30 summer time and not again at 02:30 winter
//!   time, and a minute-by-minute pattern pauses for the repeated hour.
//!   `croner` searches wall-clock time, so from inside the repeated hour it
//!   can answer the *first* instance of a wall time, already past;
//!   [`TurnSchedule::next_after`] then searches on from that wall time's
//!   last instance, so it never answers a time at or before the one given.

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde_json::Value;
use std::time::Duration;

/// Shortest interval of an `every` schedule.
pub const MIN_PERIOD: Duration = Duration::from_secs(60);
/// Longest interval of an `every` schedule.
pub const MAX_PERIOD: Duration = Duration::from_secs(30 * 24 * 3600);

/// Wall times at most skipped in one [`TurnSchedule::next_after`] call: a
/// repeated hour holds at most 60 minute-matches.
const MAX_REPEATED_SKIPS: usize = 64;

/// When a game's turns are cut off.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnSchedule {
    /// Every `period`, counted from the previous cut-off; `raw` is the
    /// duration as given (`"1h30m"`).
    Every { period: Duration, raw: String },
    /// At the times a cron expression names, in `time_zone`; `expression`
    /// is the five fields as given, separated by single spaces.
    Cron {
        expression: String,
        time_zone: chrono_tz::Tz,
    },
}

/// Why a schedule is refused: the field (`turn_schedule.every`,
/// `turn_schedule.cron`, `turn_schedule.time_zone`, `turn_schedule`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ScheduleError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> ScheduleError {
    ScheduleError {
        field,
        message: message.into(),
    }
}

fn shape_error() -> ScheduleError {
    refuse(
        "turn_schedule",
        "a turn schedule is {\"every\": \"<duration>\"} or \
         {\"cron\": \"<5 fields>\", \"time_zone\": \"<IANA zone>\"}",
    )
}

impl TurnSchedule {
    /// Parses the API/storage JSON form: `{"every":"24h"}` or
    /// `{"cron":"0 18 * * *","time_zone":"Europe/Berlin"}`.
    pub fn parse(value: &Value) -> Result<Self, ScheduleError> {
        Self::parse_checked(value, true)
    }

    /// [`parse`](Self::parse) for a schedule read back from the database:
    /// it was checked when stored, so the (slow, for a pattern that never
    /// fires) search for a next cut-off is skipped.
    pub fn parse_stored(value: &Value) -> Result<Self, ScheduleError> {
        Self::parse_checked(value, false)
    }

    fn parse_checked(value: &Value, check_fires: bool) -> Result<Self, ScheduleError> {
        let object = value.as_object().ok_or_else(shape_error)?;
        let known = |k: &str| matches!(k, "every" | "cron" | "time_zone");
        if !object.keys().all(|k| known(k)) {
            return Err(shape_error());
        }
        match (object.get("every"), object.get("cron")) {
            (Some(Value::String(every)), None) if !object.contains_key("time_zone") => {
                Ok(Self::Every {
                    period: parse_period(every)?,
                    raw: every.clone(),
                })
            }
            (None, Some(Value::String(cron))) => {
                let time_zone = match object.get("time_zone") {
                    None => chrono_tz::Tz::UTC,
                    Some(Value::String(zone)) => zone.parse().map_err(|_| {
                        refuse(
                            "turn_schedule.time_zone",
                            format!("{zone:?} is not an IANA time zone name"),
                        )
                    })?,
                    Some(_) => return Err(shape_error()),
                };
                let expression = parse_cron(cron)?;
                let schedule = Self::Cron {
                    expression,
                    time_zone,
                };
                if check_fires && schedule.next_after(Utc::now()).is_none() {
                    return Err(refuse(
                        "turn_schedule.cron",
                        "the cron expression never fires",
                    ));
                }
                Ok(schedule)
            }
            _ => Err(shape_error()),
        }
    }

    /// The JSON form [`parse`](Self::parse) reads (`time_zone` always
    /// present for cron).
    pub fn to_json(&self) -> Value {
        match self {
            Self::Every { raw, .. } => serde_json::json!({ "every": raw }),
            Self::Cron {
                expression,
                time_zone,
            } => serde_json::json!({ "cron": expression, "time_zone": time_zone.name() }),
        }
    }

    /// The first cut-off strictly after `after`; `None` when there is none
    /// (a cron expression that never fires again, or a date out of range).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Every { period, .. } => {
                after.checked_add_signed(chrono::Duration::from_std(*period).ok()?)
            }
            Self::Cron {
                expression,
                time_zone,
            } => next_cron(&cron_parser().parse(expression).ok()?, *time_zone, after),
        }
    }
}

/// Parses the duration grammar of `every` and checks its range.
fn parse_period(raw: &str) -> Result<Duration, ScheduleError> {
    let field = "turn_schedule.every";
    let grammar = || {
        refuse(
            field,
            format!(
                "{raw:?} is not a duration: give <number><unit> parts with units d, h, m, s \
                 from largest to smallest, e.g. 24h, 90m, 1h30m"
            ),
        )
    };
    const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];
    let mut total: u64 = 0;
    let mut next_unit = 0;
    let mut rest = raw;
    if rest.is_empty() {
        return Err(grammar());
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(grammar());
        }
        let unit = rest[digits..].chars().next().ok_or_else(grammar)?;
        let place = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(grammar)?
            + next_unit;
        // Any number too large for u64 is far beyond the range anyway.
        let n: u64 = rest[..digits].parse().unwrap_or(u64::MAX);
        total = n
            .checked_mul(UNITS[place].1)
            .and_then(|s| total.checked_add(s))
            .unwrap_or(u64::MAX);
        next_unit = place + 1;
        rest = &rest[digits + unit.len_utf8()..];
    }
    let period = Duration::from_secs(total);
    if !(MIN_PERIOD..=MAX_PERIOD).contains(&period) {
        return Err(refuse(field, "a turn period is from 1 minute to 30 days"));
    }
    Ok(period)
}

/// The parser for exactly five fields (seconds and years refused).
fn cron_parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

/// Checks a cron expression; answers it normalised (single spaces).
fn parse_cron(raw: &str) -> Result<String, ScheduleError> {
    let field = "turn_schedule.cron";
    let fields: Vec<&str> = raw.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(refuse(
            field,
            "a cron expression has exactly 5 fields: minute hour day-of-month month day-of-week",
        ));
    }
    let expression = fields.join(" ");
    cron_parser()
        .parse(&expression)
        .map_err(|e| refuse(field, format!("not a valid cron expression: {e}")))?;
    Ok(expression)
}

/// The first match of `cron` in `zone` strictly after `after` (see the
/// module doc for daylight saving time).
fn next_cron(cron: &Cron, zone: chrono_tz::Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Whole seconds: croner keeps the fraction of its start time, which
    // would put cut-offs at 18:00:00.5.
    let mut from = after.trunc_subsecs(0).with_timezone(&zone);
    for _ in 0..MAX_REPEATED_SKIPS {
        let next = cron.find_next_occurrence(&from, false).ok()?;
        let next_utc = next.with_timezone(&Utc);
        if next_utc > after {
            return Some(next_utc);
        }
        // A repeated wall time whose first instance is already past: go on
        // from its last instance, so the search moves forward.
        from = zone
            .from_local_datetime(&next.naive_local())
            .latest()
            .filter(|later| *later > from)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn field_of(value: Value) -> &'static str {
        TurnSchedule::parse(&value)
            .expect_err(&value.to_string())
            .field
    }

    fn cron(expression: &str, zone: &str) -> TurnSchedule {
        TurnSchedule::parse(&json!({ "cron": expression, "time_zone": zone })).unwrap()
    }

    #[test]
    fn every_accepts_single_and_combined_units() {
        for (raw, secs) in [
            ("24h", 86_400),
            ("90m", 5_400),
            ("1h30m", 5_400),
            ("1d", 86_400),
            ("2d12h", 216_000),
            ("60s", 60),
            ("1m", 60),
            ("30d", 2_592_000),
            ("1d2h3m4s", 93_784),
            ("0h1m", 60),
        ] {
            let schedule = TurnSchedule::parse(&json!({ "every": raw })).unwrap();
            assert_eq!(
                schedule,
                TurnSchedule::Every {
                    period: Duration::from_secs(secs),
                    raw: raw.into()
                },
                "{raw}"
            );
        }
    }

    #[test]
    fn every_refuses_anything_outside_the_grammar() {
        for raw in [
            "", "24", "h", "24H", "1.5h", "-1h", "1h 30m", " 24h", "30m1h", "1h1h", "1w", "24hx",
            "１h",
        ] {
            assert_eq!(
                field_of(json!({ "every": raw })),
                "turn_schedule.every",
                "{raw:?}"
            );
        }
    }

    #[test]
    fn every_refuses_periods_under_a_minute_or_over_thirty_days() {
        for raw in ["59s", "0m", "30d1s", "31d", "99999999999999999999999d"] {
            let err = TurnSchedule::parse(&json!({ "every": raw })).unwrap_err();
            assert_eq!(err.field, "turn_schedule.every", "{raw}");
        }
    }

    #[test]
    fn every_adds_the_period_to_the_previous_cut_off() {
        let schedule = TurnSchedule::parse(&json!({ "every": "1h30m" })).unwrap();
        let after = utc(2026, 3, 29, 0, 45, 0);
        assert_eq!(schedule.next_after(after), Some(utc(2026, 3, 29, 2, 15, 0)));
    }

    #[test]
    fn cron_defaults_to_utc_and_normalises_spacing() {
        let schedule = TurnSchedule::parse(&json!({ "cron": " 0  18 * *\t* " })).unwrap();
        assert_eq!(
            schedule,
            TurnSchedule::Cron {
                expression: "0 18 * * *".into(),
                time_zone: chrono_tz::Tz::UTC
            }
        );
        assert_eq!(
            schedule.to_json(),
            json!({ "cron": "0 18 * * *", "time_zone": "UTC" })
        );
    }

    #[test]
    fn to_json_round_trips_through_parse() {
        for value in [
            json!({ "every": "1h30m" }),
            json!({ "every": "24h" }),
            json!({ "cron": "0 18 * * *" }),
            json!({ "cron": "0 18 * * 1-5", "time_zone": "Europe/Berlin" }),
            json!({ "cron": "*/15 * * * *", "time_zone": "America/New_York" }),
        ] {
            let schedule = TurnSchedule::parse(&value).unwrap();
            let again = TurnSchedule::parse(&schedule.to_json()).unwrap();
            assert_eq!(again, schedule, "{value}");
            assert_eq!(again.to_json(), schedule.to_json());
        }
    }

    #[test]
    fn cron_refuses_anything_but_five_fields() {
        for expression in [
            "",
            "0 18 * *",
            "0 0 18 * * *",
            "0 0 18 * * * 2027",
            "@daily",
            "@weekly",
        ] {
            assert_eq!(
                field_of(json!({ "cron": expression })),
                "turn_schedule.cron",
                "{expression:?}"
            );
        }
    }

    #[test]
    fn cron_refuses_malformed_fields() {
        for expression in [
            "60 * * * *",
            "0 24 * * *",
            "0 0 32 * *",
            "x * * * *",
            "0 0 * 13 *",
        ] {
            assert_eq!(
                field_of(json!({ "cron": expression })),
                "turn_schedule.cron",
                "{expression:?}"
            );
        }
    }

    #[test]
    fn cron_refuses_an_expression_that_never_fires() {
        let err = TurnSchedule::parse(&json!({ "cron": "0 0 30 2 *" })).unwrap_err();
        assert_eq!(err.field, "turn_schedule.cron");
        assert!(err.message.contains("never fires"), "{}", err.message);
    }

    #[test]
    fn cron_refuses_an_unknown_time_zone() {
        for zone in ["Mars/Olympus", "", "europe/berlin", "+02:00"] {
            assert_eq!(
                field_of(json!({ "cron": "0 18 * * *", "time_zone": zone })),
                "turn_schedule.time_zone",
                "{zone:?}"
            );
        }
    }

    #[test]
    fn other_shapes_are_refused_as_a_whole() {
        for value in [
            json!("24h"),
            json!(null),
            json!([]),
            json!({}),
            json!({ "every": "24h", "cron": "0 18 * * *" }),
            json!({ "every": "24h", "time_zone": "UTC" }),
            json!({ "time_zone": "UTC" }),
            json!({ "every": "24h", "at": "18:00" }),
            json!({ "every": 24 }),
            json!({ "cron": 18 }),
            json!({ "cron": "0 18 * * *", "time_zone": 2 }),
            json!({ "cron": "0 18 * * *", "time_zone": null }),
        ] {
            assert_eq!(field_of(value.clone()), "turn_schedule", "{value}");
        }
    }

    #[test]
    fn cron_gives_the_next_match_in_its_zone() {
        let schedule = cron("0 18 * * *", "Europe/Berlin");
        // 18:00 Berlin in winter is 17:00 UTC.
        assert_eq!(
            schedule.next_after(utc(2026, 1, 10, 12, 0, 0)),
            Some(utc(2026, 1, 10, 17, 0, 0))
        );
        // Exactly at a cut-off: the next one, not the same.
        assert_eq!(
            schedule.next_after(utc(2026, 1, 10, 17, 0, 0)),
            Some(utc(2026, 1, 11, 17, 0, 0))
        );
        // In summer it is 16:00 UTC.
        assert_eq!(
            schedule.next_after(utc(2026, 7, 1, 0, 0, 0)),
            Some(utc(2026, 7, 1, 16, 0, 0))
        );
    }

    #[test]
    fn cron_cut_offs_fall_on_whole_seconds() {
        let schedule = cron("0 18 * * *", "UTC");
        let after = utc(2026, 1, 10, 17, 59, 59) + chrono::Duration::milliseconds(500);
        assert_eq!(schedule.next_after(after), Some(utc(2026, 1, 10, 18, 0, 0)));
        let after = utc(2026, 1, 10, 18, 0, 0) + chrono::Duration::milliseconds(500);
        assert_eq!(schedule.next_after(after), Some(utc(2026, 1, 11, 18, 0, 0)));
    }

    #[test]
    fn a_fixed_time_in_the_spring_forward_gap_is_shifted_to_the_end_of_the_gap() {
        // Europe/Berlin skips 02:00-03:00 local on 2026-03-29 (01:00 UTC).
        let schedule = cron("30 2 * * *", "Europe/Berlin");
        let first = schedule.next_after(utc(2026, 3, 28, 12, 0, 0)).unwrap();
        assert_eq!(first, utc(2026, 3, 29, 1, 0, 0)); // 03:00 CEST
        let second = schedule.next_after(first).unwrap();
        assert_eq!(second, utc(2026, 3, 30, 0, 30, 0)); // 02:30 CEST
    }

    #[test]
    fn next_after_never_goes_backwards_around_the_spring_forward_gap() {
        let schedule = cron("30 2 * * *", "Europe/Berlin");
        let mut t = utc(2026, 3, 28, 23, 0, 0);
        while t < utc(2026, 3, 29, 3, 0, 0) {
            let next = schedule.next_after(t).unwrap();
            assert!(next > t, "{next} after {t}");
            t += chrono::Duration::minutes(7);
        }
    }

    #[test]
    fn a_fixed_time_in_the_fall_back_repeat_fires_once() {
        // Europe/Berlin repeats 02:00-03:00 local on 2026-10-25: 00:00-01:00
        // UTC is summer time, 01:00-02:00 UTC winter time.
        let schedule = cron("30 2 * * *", "Europe/Berlin");
        let first = schedule.next_after(utc(2026, 10, 24, 12, 0, 0)).unwrap();
        assert_eq!(first, utc(2026, 10, 25, 0, 30, 0)); // 02:30 CEST
        let second = schedule.next_after(first).unwrap();
        assert_eq!(second, utc(2026, 10, 26, 1, 30, 0)); // 02:30 CET, next day
    }

    #[test]
    fn from_inside_the_repeated_hour_the_past_first_instance_is_not_answered() {
        let schedule = cron("30 2 * * *", "Europe/Berlin");
        // 02:00 CET, the second pass: 02:30 CEST (00:30 UTC) is past.
        let next = schedule.next_after(utc(2026, 10, 25, 1, 0, 0)).unwrap();
        assert_eq!(next, utc(2026, 10, 26, 1, 30, 0));
        let mut t = utc(2026, 10, 24, 23, 0, 0);
        while t < utc(2026, 10, 25, 3, 0, 0) {
            let next = schedule.next_after(t).unwrap();
            assert!(next > t, "{next} after {t}");
            t += chrono::Duration::minutes(7);
        }
    }

    #[test]
    fn an_interval_pattern_pauses_for_the_repeated_hour_and_never_goes_backwards() {
        let schedule = cron("*/20 * * * *", "Europe/Berlin");
        let mut t = utc(2026, 10, 24, 23, 50, 0);
        let mut seen = Vec::new();
        while t < utc(2026, 10, 25, 2, 30, 0) {
            let next = schedule.next_after(t).unwrap();
            assert!(next > t);
            seen.push(next);
            t = next;
        }
        assert_eq!(
            seen,
            [
                utc(2026, 10, 25, 0, 0, 0),
                utc(2026, 10, 25, 0, 20, 0),
                utc(2026, 10, 25, 0, 40, 0),
                utc(2026, 10, 25, 2, 0, 0),
                utc(2026, 10, 25, 2, 20, 0),
                utc(2026, 10, 25, 2, 40, 0),
            ]
        );
        // Started inside the second pass, it also goes on after the repeat.
        let every_minute = cron("* * * * *", "Europe/Berlin");
        assert_eq!(
            every_minute.next_after(utc(2026, 10, 25, 1, 10, 30)),
            Some(utc(2026, 10, 25, 2, 0, 0))
        );
    }

    #[test]
    fn day_of_week_names_and_ranges_work() {
        let schedule = cron("0 18 * * MON-FRI", "UTC");
        // 2026-01-10 is a Saturday.
        assert_eq!(
            schedule.next_after(utc(2026, 1, 10, 0, 0, 0)),
            Some(utc(2026, 1, 12, 18, 0, 0))
        );
    }
}
