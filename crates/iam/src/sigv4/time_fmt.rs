//! The two timestamp shapes of SigV4 and STS: `20150830T123600Z` and `2015-08-30T12:36:00Z`.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

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

/// Parses `YYYYMMDDTHHMMSSZ` (UTC); `None` if it is not exactly that shape.
pub fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    if s.len() != 16 {
        return None;
    }
    PrimitiveDateTime::parse(s, AMZ)
        .ok()
        .map(|p| p.assume_utc())
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
}
