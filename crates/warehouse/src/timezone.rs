//! Time zones for `CONVERT_TIMEZONE`. The engine is built without its ICU extension (and loads
//! none at run time), so it knows no zone but UTC: a scalar function, registered once on the
//! engine, converts wall-clock times between IANA zones with the zone database that `chrono-tz`
//! carries (the server's own zone files are not read).

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use duckdb::core::{DataChunkHandle, Inserter, LogicalTypeId};
use duckdb::vscalar::{ScalarFunctionSignature, VScalar};
use duckdb::vtab::arrow::WritableVector;

use crate::extfn::read_strings as strings;
use crate::WarehouseError;

/// The engine name of the conversion: `(source zone, target zone, 'YYYY-MM-DD HH:MM:SS[.f]')`
/// → the same instant's wall-clock time in the target zone, as text.
pub const CONVERT: &str = "__recpipe_convert_timezone";

pub(crate) fn register(conn: &duckdb::Connection) -> Result<(), WarehouseError> {
    conn.register_scalar_function::<ConvertTimezone>(CONVERT).map_err(|e| WarehouseError::Internal(format!("registering {CONVERT}: {e}")))
}

/// `wall` (a time in zone `from`) as the wall-clock time in zone `to`. A time a daylight-saving
/// change skips is read with the offset before it; one it repeats, as its earlier instant.
pub fn convert(from: &str, to: &str, wall: &str) -> Result<String, String> {
    let zone = |z: &str| z.parse::<Tz>().map_err(|_| format!("Unknown timezone: '{z}'"));
    let (from, to) = (zone(from)?, zone(to)?);
    let t = NaiveDateTime::parse_from_str(wall.trim(), "%Y-%m-%d %H:%M:%S%.f").map_err(|_| format!("Timestamp '{wall}' is not recognized"))?;
    let at = match from.from_local_datetime(&t) {
        chrono::LocalResult::Single(a) | chrono::LocalResult::Ambiguous(a, _) => a,
        chrono::LocalResult::None => {
            let before = from.from_local_datetime(&(t - chrono::Duration::hours(3))).earliest().ok_or_else(|| format!("Timestamp '{wall}' does not exist in {from}"))?;
            before + chrono::Duration::hours(3)
        }
    };
    Ok(at.with_timezone(&to).naive_local().format("%Y-%m-%d %H:%M:%S%.f").to_string())
}

struct ConvertTimezone;

impl VScalar for ConvertTimezone {
    type State = ();

    fn invoke(_: &(), input: &mut DataChunkHandle, output: &mut dyn WritableVector) -> Result<(), Box<dyn std::error::Error>> {
        let (from, to, wall) = (strings(input, 0), strings(input, 1), strings(input, 2));
        let mut out = output.flat_vector();
        for i in 0..input.len() {
            match (&from[i], &to[i], &wall[i]) {
                (Some(f), Some(t), Some(w)) => out.insert(i, convert(f, t, w)?.as_str()),
                _ => out.set_null(i),
            }
        }
        Ok(())
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(vec![LogicalTypeId::Varchar.into(), LogicalTypeId::Varchar.into(), LogicalTypeId::Varchar.into()], LogicalTypeId::Varchar.into())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_times_move_between_zones() {
        assert_eq!(convert("UTC", "America/Los_Angeles", "2021-01-01 12:00:00").unwrap(), "2021-01-01 04:00:00");
        assert_eq!(convert("America/Los_Angeles", "UTC", "2021-07-01 12:00:00.5").unwrap(), "2021-07-01 19:00:00.500");
        assert_eq!(convert("Europe/Berlin", "Asia/Tokyo", "2024-03-31 01:30:00").unwrap(), "2024-03-31 09:30:00");
        // 02:30 does not exist in Berlin on 2024-03-31: read with the offset before the change.
        assert_eq!(convert("Europe/Berlin", "UTC", "2024-03-31 02:30:00").unwrap(), "2024-03-31 01:30:00");
        assert!(convert("Mars/Olympus", "UTC", "2021-01-01 00:00:00").unwrap_err().contains("Mars/Olympus"));
        assert!(convert("UTC", "UTC", "yesterday").unwrap_err().contains("yesterday"));
    }
}
