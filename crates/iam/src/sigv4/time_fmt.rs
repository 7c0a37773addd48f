//! The two timestamp shapes of SigV4 and STS: `20150830T123600Z` and `2015-08-30T12:36:00Z`.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const AMZ: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
const ISO: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// `YYYYMMDDTHHMMSSZ` in UTC.
pub fn format_amz_date(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(AMZ)
        .expect("a UTC date formats")
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC, as STS writes `Expiration`.
pub fn format_iso8601(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(ISO)
        .expect("a UTC date formats")
}

/// Parses `YYYYMMDDTHHMMSSZ` (UTC); `None` if it is not exactly that shape or not a real date and
/// time. (By hand: every signed request's date is parsed, and the generic parser costs more.)
pub fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let month = Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
    let date = Date::from_calendar_date(num(0..4)? as i32, month, num(6..8)? as u8).ok()?;
    let time = Time::from_hms(num(9..11)? as u8, num(11..13)? as u8, num(13..15)? as u8).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_shapes() {
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(t.unix_timestamp(), 1_440_938_160);
        assert_eq!(format_amz_date(t), "20150830T123600Z");
        assert_eq!(format_iso8601(t), "2015-08-30T12:36:00Z");
        for bad in [
            "2015-08-30T12:36:00Z",
            "20150830T123600",
            "20151330T123600Z",
            "",
        ] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_hand_parser_agrees_with_the_generic_one() {
        for s in [
            "20150830T123600Z",
            "20000229T235959Z",
            "19000229T000000Z",
            "20150230T000000Z",
            "20150830T240000Z",
            "20150830T236000Z",
            "20150830T123660Z",
            "20150800T123600Z",
            "20150001T123600Z",
            "00000101T000000Z",
            "+0150830T123600Z",
            "2015083OT123600Z",
            "20150830t123600Z",
            "20150830T123600z",
            "20150830 123600Z",
            "2015-830T123600Z",
        ] {
            let generic = PrimitiveDateTime::parse(s, AMZ).ok().map(|p| p.assume_utc());
            assert_eq!(parse_amz_date(s), generic, "{s}");
        }
    }
}
