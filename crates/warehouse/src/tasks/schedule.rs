//! A task's `SCHEDULE`: `'<n> MINUTE[S]'` (or `HOUR[S]`) or `'USING CRON <min> <hour> <dom>
//! <month> <dow> <time zone>'`, and the pure function that says when it next fires.
//!
//! Cron follows Vixie cron: `*`, lists `a,b`, ranges `a-b`, steps `*/n`, `a-b/n` and `a/n`,
//! month names `JAN`..`DEC`, day names `SUN`..`SAT` (0 and 7 are Sunday), and the day rule: when
//! both day-of-month and day-of-week are restricted (neither starts with `*`) a day matches if
//! either matches, otherwise both must. Time zones: `UTC` and its aliases, IANA's fixed-offset
//! `Etc/GMT±N` (sign inverted, as IANA defines it) and `+HH:MM`/`-HH:MM`; recpipe carries no
//! time-zone database, so zones with daylight saving time are refused.

use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::WarehouseError;

/// Snowflake's bounds for an interval schedule (8 days).
pub const MAX_INTERVAL_MINUTES: u32 = 11_520;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every `n` minutes, counted from when the task was resumed.
    Interval { minutes: u32 },
    Cron(Cron),
}

/// A parsed cron expression: one bit per allowed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    dom: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6, Sunday = 0.
    dow: u8,
    dom_star: bool,
    dow_star: bool,
    offset: UtcOffset,
}

fn invalid(text: &str, why: impl std::fmt::Display) -> WarehouseError {
    WarehouseError::Invalid(format!("invalid value '{text}' for property 'SCHEDULE': {why}"))
}

impl Schedule {
    /// Parses a `SCHEDULE` value as written in `CREATE TASK`.
    pub fn parse(text: &str) -> Result<Schedule, WarehouseError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            [using, cron, rest @ ..] if using.eq_ignore_ascii_case("USING") && cron.eq_ignore_ascii_case("CRON") => {
                match rest {
                    [m, h, dom, mon, dow, tz] => Ok(Schedule::Cron(Cron {
                        minutes: field(text, "minute", m, 0, 59, &[])?,
                        hours: field(text, "hour", h, 0, 23, &[])? as u32,
                        dom: field(text, "day of month", dom, 1, 31, &[])? as u32,
                        months: field(text, "month", mon, 1, 12, &MONTHS)? as u16,
                        dow: {
                            let bits = field(text, "day of week", dow, 0, 7, &DAYS)?;
                            // 7 is Sunday too.
                            ((bits & 0x7f) | (bits >> 7)) as u8
                        },
                        dom_star: dom.starts_with('*'),
                        dow_star: dow.starts_with('*'),
                        offset: zone_offset(text, tz)?,
                    })),
                    [_, _, _, _, _] => Err(invalid(text, "a cron schedule ends with a time zone, e.g. 'USING CRON 0 3 * * * UTC'")),
                    _ => Err(invalid(text, "expected 5 cron fields (minute hour day-of-month month day-of-week) and a time zone")),
                }
            }
            [n, unit] => {
                let per = match unit.to_uppercase().as_str() {
                    "MINUTE" | "MINUTES" => 1,
                    "HOUR" | "HOURS" => 60,
                    other => return Err(invalid(text, format!("unknown unit '{other}', expected MINUTE or HOUR"))),
                };
                let n: u32 = n.parse().map_err(|_| invalid(text, format!("'{n}' is not a whole number")))?;
                let minutes = n.checked_mul(per).filter(|m| (1..=MAX_INTERVAL_MINUTES).contains(m)).ok_or_else(|| {
                    invalid(text, format!("the interval must be between 1 and {MAX_INTERVAL_MINUTES} minutes"))
                })?;
                Ok(Schedule::Interval { minutes })
            }
            _ => Err(invalid(text, "expected '<n> MINUTE' or 'USING CRON <expr> <time zone>'")),
        }
    }
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One cron field as a bit set over `lo..=hi`. `names[i]` stands for `lo + i`.
fn field(text: &str, what: &str, f: &str, lo: u32, hi: u32, names: &[&str]) -> Result<u64, WarehouseError> {
    let bad = |why: String| invalid(text, format!("{what} field '{f}': {why}"));
    let value = |s: &str| -> Result<u32, WarehouseError> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(lo + i as u32);
        }
        let v: u32 = s.parse().map_err(|_| bad(format!("'{s}' is not a number")))?;
        if v < lo || v > hi {
            return Err(bad(format!("{v} is out of range {lo}-{hi}")));
        }
        Ok(v)
    };
    let mut bits = 0u64;
    for item in f.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().ok().filter(|s| *s >= 1).ok_or_else(|| bad(format!("bad step '{s}'")))?;
                (r, step)
            }
            None => (item, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(bad(format!("range {a}-{b} is backwards")));
            }
            (a, b)
        } else if range.is_empty() {
            return Err(bad("empty list item".into()));
        } else {
            let a = value(range)?;
            // `a/n` means from a to the end, stepping n.
            (a, if item.contains('/') { hi } else { a })
        };
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

/// The fixed UTC offset of a schedule's time zone.
fn zone_offset(text: &str, tz: &str) -> Result<UtcOffset, WarehouseError> {
    let up = tz.to_uppercase();
    if ["UTC", "ETC/UTC", "ETC/UCT", "UCT", "GMT", "ETC/GMT", "ETC/GMT0", "ETC/GMT+0", "ETC/GMT-0", "ETC/ZULU", "ZULU", "ETC/UNIVERSAL", "UNIVERSAL"]
        .contains(&up.as_str())
    {
        return Ok(UtcOffset::UTC);
    }
    let unsupported = || {
        invalid(
            text,
            format!("time zone '{tz}' is not supported: recpipe runs cron schedules only in UTC (Etc/UTC) or at a fixed offset such as +01:00"),
        )
    };
    // IANA's Etc/GMT+5 is five hours *behind* UTC.
    if let Some(n) = up.strip_prefix("ETC/GMT") {
        let (sign, digits) = match n.as_bytes().first() {
            Some(b'+') => (-1, &n[1..]),
            Some(b'-') => (1, &n[1..]),
            _ => return Err(unsupported()),
        };
        let h: i8 = digits.parse().ok().filter(|h| (0..=14).contains(h)).ok_or_else(unsupported)?;
        return UtcOffset::from_hms(sign * h, 0, 0).map_err(|_| unsupported());
    }
    if let Some(sign) = match up.as_bytes().first() {
        Some(b'+') => Some(1i8),
        Some(b'-') => Some(-1i8),
        _ => None,
    } {
        let rest = &up[1..];
        let (h, m) = match rest.split_once(':') {
            Some((h, m)) => (h, m),
            None if rest.len() == 4 => (&rest[..2], &rest[2..]),
            None => (rest, "0"),
        };
        let h: i8 = h.parse().ok().filter(|h| (0..=14).contains(h)).ok_or_else(unsupported)?;
        let m: i8 = m.parse().ok().filter(|m| (0..60).contains(m)).ok_or_else(unsupported)?;
        return UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| unsupported());
    }
    Err(unsupported())
}

impl Cron {
    fn day_matches(&self, d: Date) -> bool {
        if self.months & (1 << d.month() as u8) == 0 {
            return false;
        }
        let dom = self.dom & (1 << d.day()) != 0;
        let dow = self.dow & (1 << d.weekday().number_days_from_sunday()) != 0;
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    fn next_after(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        let local = t.to_offset(self.offset);
        // The first candidate is the next whole minute strictly after `t`.
        let start = local.replace_second(0).ok()?.replace_nanosecond(0).ok()? + Duration::minutes(1);
        let mut date = start.date();
        // Any pattern of days (a leap day on a given weekday...) repeats within 28 years.
        for day in 0..(366 * 28) {
            if self.day_matches(date) {
                let (h0, m0) = if day == 0 { (start.hour(), start.minute()) } else { (0, 0) };
                for h in h0..24 {
                    if self.hours & (1 << h) == 0 {
                        continue;
                    }
                    let from = if h == h0 { m0 } else { 0 };
                    if let Some(m) = (from..60).find(|m| self.minutes & (1 << m) != 0) {
                        let at = PrimitiveDateTime::new(date, Time::from_hms(h, m, 0).ok()?);
                        return Some(at.assume_offset(self.offset).to_offset(UtcOffset::UTC));
                    }
                }
            }
            date = date.next_day()?;
        }
        None
    }
}

/// When `schedule` next fires strictly after `t` (`None`: never, e.g. `0 0 30 2 *`).
pub fn next_after(schedule: &Schedule, t: OffsetDateTime) -> Option<OffsetDateTime> {
    match schedule {
        Schedule::Interval { minutes } => Some(t + Duration::minutes(i64::from(*minutes))),
        Schedule::Cron(c) => c.next_after(t),
    }
}

/// Milliseconds since the epoch.
pub fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The next due time after a run that was due at `due_ms` was dispatched at `now_ms`: an
/// interval keeps its phase (due + k·n, the first after now), cron asks the calendar. Missed
/// times are never replayed.
pub fn advance(schedule: &Schedule, due_ms: i64, now_ms: i64) -> Option<i64> {
    match schedule {
        Schedule::Interval { minutes } => {
            let step = i64::from(*minutes) * 60_000;
            let k = if now_ms < due_ms { 1 } else { (now_ms - due_ms) / step + 1 };
            Some(due_ms + k * step)
        }
        Schedule::Cron(_) => next_after(schedule, from_ms(now_ms)).map(to_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn next(s: &str, t: OffsetDateTime) -> OffsetDateTime {
        next_after(&Schedule::parse(s).unwrap(), t).unwrap()
    }

    #[test]
    fn intervals() {
        assert_eq!(Schedule::parse("5 minute").unwrap(), Schedule::Interval { minutes: 5 });
        assert_eq!(Schedule::parse(" 1 MINUTES ").unwrap(), Schedule::Interval { minutes: 1 });
        assert_eq!(Schedule::parse("2 hours").unwrap(), Schedule::Interval { minutes: 120 });
        for bad in ["0 minute", "-1 minute", "x minute", "5", "5 seconds", "11521 minutes", "", "5 minute extra"] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(next("15 minutes", datetime!(2026-01-01 10:07:30 UTC)), datetime!(2026-01-01 10:22:30 UTC));
    }

    #[test]
    fn daily_cron() {
        assert_eq!(next("USING CRON 0 3 * * * UTC", datetime!(2026-12-01 02:59 UTC)), datetime!(2026-12-01 03:00 UTC));
        assert_eq!(next("using cron 0 3 * * * Etc/UTC", datetime!(2026-12-01 03:00 UTC)), datetime!(2026-12-02 03:00 UTC));
        assert_eq!(next("USING CRON 0 3 * * * UTC", datetime!(2026-12-31 03:00:01 UTC)), datetime!(2027-01-01 03:00 UTC));
    }

    #[test]
    fn steps_ranges_and_lists() {
        let s = "USING CRON */15 * * * * UTC";
        assert_eq!(next(s, datetime!(2026-03-01 10:00 UTC)), datetime!(2026-03-01 10:15 UTC));
        assert_eq!(next(s, datetime!(2026-03-01 10:14:59 UTC)), datetime!(2026-03-01 10:15 UTC));
        assert_eq!(next(s, datetime!(2026-03-01 10:45 UTC)), datetime!(2026-03-01 11:00 UTC));
        assert_eq!(next(s, datetime!(2026-03-01 23:50 UTC)), datetime!(2026-03-02 00:00 UTC));
        let s = "USING CRON 5,35 9-17/4 * * * UTC";
        assert_eq!(next(s, datetime!(2026-03-01 08:00 UTC)), datetime!(2026-03-01 09:05 UTC));
        assert_eq!(next(s, datetime!(2026-03-01 09:05 UTC)), datetime!(2026-03-01 09:35 UTC));
        assert_eq!(next(s, datetime!(2026-03-01 09:35 UTC)), datetime!(2026-03-01 13:05 UTC));
        assert_eq!(next(s, datetime!(2026-03-01 17:35 UTC)), datetime!(2026-03-02 09:05 UTC));
        // `a/n`: from a to the end.
        assert_eq!(next("USING CRON 50/5 * * * * UTC", datetime!(2026-03-01 10:56 UTC)), datetime!(2026-03-01 11:50 UTC));
        // Every minute.
        assert_eq!(next("USING CRON * * * * * UTC", datetime!(2026-03-01 10:56:10 UTC)), datetime!(2026-03-01 10:57 UTC));
    }

    #[test]
    fn names_and_day_rules() {
        // 2026-03-02 is a Monday.
        let mon_fri = "USING CRON 0 8 * * MON-FRI UTC";
        assert_eq!(next(mon_fri, datetime!(2026-02-27 09:00 UTC)), datetime!(2026-03-02 08:00 UTC));
        assert_eq!(next("USING CRON 0 0 1 jan,jul * UTC", datetime!(2026-03-01 00:00 UTC)), datetime!(2026-07-01 00:00 UTC));
        // Sunday as 0 and as 7.
        assert_eq!(next("USING CRON 0 0 * * 0 UTC", datetime!(2026-03-02 00:00 UTC)), datetime!(2026-03-08 00:00 UTC));
        assert_eq!(next("USING CRON 0 0 * * 7 UTC", datetime!(2026-03-02 00:00 UTC)), datetime!(2026-03-08 00:00 UTC));
        // Both restricted: the 15th OR a Monday.
        let or = "USING CRON 0 0 15 * 1 UTC";
        assert_eq!(next(or, datetime!(2026-03-02 00:00 UTC)), datetime!(2026-03-09 00:00 UTC));
        assert_eq!(next(or, datetime!(2026-03-09 00:00 UTC)), datetime!(2026-03-15 00:00 UTC));
        // Day of month starting with '*': AND (odd days that are Mondays).
        let and = "USING CRON 0 0 */2 * 1 UTC";
        assert_eq!(next(and, datetime!(2026-03-02 00:00 UTC)), datetime!(2026-03-09 00:00 UTC));
        assert_eq!(next(and, datetime!(2026-03-09 00:00 UTC)), datetime!(2026-03-23 00:00 UTC));
        // Leap day: four years apart.
        assert_eq!(next("USING CRON 0 0 29 2 * UTC", datetime!(2024-03-01 00:00 UTC)), datetime!(2028-02-29 00:00 UTC));
        // Never.
        assert_eq!(next_after(&Schedule::parse("USING CRON 0 0 30 2 * UTC").unwrap(), datetime!(2026-01-01 00:00 UTC)), None);
    }

    #[test]
    fn time_zones() {
        // 03:00 at +01:00 is 02:00 UTC.
        assert_eq!(next("USING CRON 0 3 * * * +01:00", datetime!(2026-12-01 01:00 UTC)), datetime!(2026-12-01 02:00 UTC));
        assert_eq!(next("USING CRON 0 3 * * * Etc/GMT-1", datetime!(2026-12-01 01:00 UTC)), datetime!(2026-12-01 02:00 UTC));
        assert_eq!(next("USING CRON 30 0 * * * -05:30", datetime!(2026-12-01 00:00 UTC)), datetime!(2026-12-01 06:00 UTC));
        // Day boundaries are local: Monday 01:00 at +02:00 is Sunday 23:00 UTC.
        assert_eq!(next("USING CRON 0 1 * * MON +02:00", datetime!(2026-03-01 00:00 UTC)), datetime!(2026-03-01 23:00 UTC));
        let e = Schedule::parse("USING CRON 0 3 * * * America/Los_Angeles").unwrap_err().to_string();
        assert!(e.contains("'America/Los_Angeles'") && e.contains("only in UTC"), "{e}");
        assert!(Schedule::parse("USING CRON 0 3 * * *").unwrap_err().to_string().contains("time zone"));
    }

    #[test]
    fn bad_fields_are_named() {
        for (s, named) in [
            ("USING CRON 60 * * * * UTC", "minute field '60'"),
            ("USING CRON * 24 * * * UTC", "hour field '24'"),
            ("USING CRON * * 0 * * UTC", "day of month field '0'"),
            ("USING CRON * * * 13 * UTC", "month field '13'"),
            ("USING CRON * * * * 8 UTC", "day of week field '8'"),
            ("USING CRON */0 * * * * UTC", "bad step"),
            ("USING CRON 5-1 * * * * UTC", "backwards"),
            ("USING CRON L * * * * UTC", "'L' is not a number"),
            ("USING CRON 1,,2 * * * * UTC", "empty list item"),
        ] {
            let e = Schedule::parse(s).unwrap_err().to_string();
            assert!(e.contains(named), "{s}: {e}");
        }
    }

    #[test]
    fn advance_keeps_an_interval_phase_and_never_replays() {
        let s = Schedule::parse("10 minutes").unwrap();
        let due = to_ms(datetime!(2026-01-01 10:00 UTC));
        assert_eq!(advance(&s, due, due + 500), Some(due + 600_000));
        // Down for 25 minutes: the next time is the first one after now, at the old phase.
        assert_eq!(advance(&s, due, due + 25 * 60_000), Some(due + 30 * 60_000));
        let c = Schedule::parse("USING CRON 0 * * * * UTC").unwrap();
        assert_eq!(advance(&c, due, due + 3 * 3_600_000 + 5), Some(due + 4 * 3_600_000));
        assert_eq!(from_ms(to_ms(datetime!(2026-01-01 10:00:00.123 UTC))), datetime!(2026-01-01 10:00:00.123 UTC));
    }
}
