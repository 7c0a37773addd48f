//! The SQL API's `bindings`: each marker (`?` in order, `:n` / `$n` by number) becomes tokens
//! built from a typed value, never text spliced into the statement. The types are the API's:
//! FIXED, REAL, TEXT, BINARY, BOOLEAN, DATE, TIME, TIMESTAMP_TZ, TIMESTAMP_LTZ, TIMESTAMP_NTZ;
//! anything else is refused by name.
//!
//! Date and time values are ISO text (`2024-05-01`, `13:45:00.5`, `2024-05-01 13:45:00 +02:00`)
//! or, as Snowflake's connectors send them, integers: DATE in milliseconds since the epoch, TIME in
//! nanoseconds since midnight, TIMESTAMP_* in nanoseconds since the epoch, TIMESTAMP_TZ followed by
//! a space and the offset in minutes plus 1440.

use serde_json::{Map, Value};

use super::lexer::{Tok, Token};
use super::SourceStatement;
use crate::WarehouseError;

/// The binding types the SQL API documents.
pub const BIND_TYPES: [&str; 10] = ["FIXED", "REAL", "TEXT", "BINARY", "BOOLEAN", "DATE", "TIME", "TIMESTAMP_TZ", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ"];

/// Replaces the bind markers of `sts` with the values of `bindings`
/// (`{"1": {"type": "FIXED", "value": "123"}}`).
pub fn bind(sts: &mut [SourceStatement], bindings: &Map<String, Value>) -> Result<(), WarehouseError> {
    let mut next = 1;
    for st in sts {
        let mut out = Vec::with_capacity(st.toks.len());
        let mut bound = false;
        for t in std::mem::take(&mut st.toks) {
            let Tok::Bind(name) = &t.tok else {
                out.push(t);
                continue;
            };
            bound = true;
            let key = if name == "?" {
                next += 1;
                (next - 1).to_string()
            } else {
                name.trim_start_matches(['$', ':']).to_string()
            };
            let v = bindings.get(&key).ok_or_else(|| WarehouseError::Invalid(format!("Bind variable {key} not set.")))?;
            let toks = value_tokens(&key, v)?;
            out.extend(toks.into_iter().map(|tok| Token { tok, start: t.start, end: t.end }));
        }
        st.toks = out;
        if bound {
            super::render(st);
        }
    }
    Ok(())
}

fn bad(key: &str, what: String) -> WarehouseError {
    WarehouseError::Invalid(format!("Bind variable {key}: {what}"))
}

/// The tokens one binding stands for.
fn value_tokens(key: &str, v: &Value) -> Result<Vec<Tok>, WarehouseError> {
    let ty = match v.get("type") {
        None | Some(Value::Null) => "TEXT".to_string(),
        Some(Value::String(t)) => t.trim().to_uppercase(),
        Some(other) => return Err(bad(key, format!("type {other} is not a string"))),
    };
    if !BIND_TYPES.contains(&ty.as_str()) {
        return Err(bad(key, format!("unsupported binding type '{ty}'; the SQL API binds {}", BIND_TYPES.join(", "))));
    }
    let s = match v.get("value") {
        None | Some(Value::Null) => return Ok(vec![Tok::Word("NULL".into())]),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let cast = |text: String, to: &str| {
        vec![Tok::Word("CAST".into()), Tok::Op("(".into()), Tok::Str(text), Tok::Word("AS".into()), Tok::Word(to.into()), Tok::Op(")".into())]
    };
    Ok(match ty.as_str() {
        "FIXED" | "REAL" => number(key, &ty, &s)?,
        "TEXT" => vec![Tok::Str(s)],
        "BOOLEAN" => match s.trim().to_lowercase().as_str() {
            "true" | "1" => vec![Tok::Word("TRUE".into())],
            "false" | "0" => vec![Tok::Word("FALSE".into())],
            _ => return Err(bad(key, format!("'{s}' is not a BOOLEAN (true or false)"))),
        },
        "BINARY" => {
            let bytes = hex::decode(s.trim()).map_err(|_| bad(key, format!("'{s}' is not BINARY as hexadecimal digits")))?;
            cast(bytes.iter().map(|b| format!("\\x{b:02X}")).collect(), "BINARY")
        }
        "DATE" => cast(epoch_or_text(key, &ty, &s, date_from_millis)?, "DATE"),
        "TIME" => cast(epoch_or_text(key, &ty, &s, time_from_nanos)?, "TIME"),
        "TIMESTAMP_NTZ" | "TIMESTAMP_LTZ" => cast(epoch_or_text(key, &ty, &s, |n| timestamp_from_nanos(n, 0))?, &ty),
        _ => cast(timestamp_tz(key, &s)?, "TIMESTAMP_TZ"),
    })
}

/// FIXED: an integer or decimal; REAL: also an exponent. A negative number is parenthesised so
/// that it cannot join a preceding `-` into a comment.
fn number(key: &str, ty: &str, s: &str) -> Result<Vec<Tok>, WarehouseError> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(i) if ty == "REAL" => (&digits[..i], Some(&digits[i + 1..])),
        _ => (digits, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) || !exponent_ok {
        return Err(bad(key, format!("'{s}' is not a {ty} number")));
    }
    let n = Tok::Number(digits.to_string());
    Ok(if neg { vec![Tok::Op("(".into()), Tok::Op("-".into()), n, Tok::Op(")".into())] } else { vec![n] })
}

fn integer(s: &str) -> Option<i128> {
    let t = s.trim();
    let body = t.strip_prefix('-').unwrap_or(t);
    (!body.is_empty() && body.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok()).flatten()
}

/// An integer value through `from_epoch`; any other text is left for the cast to check.
fn epoch_or_text(key: &str, ty: &str, s: &str, from_epoch: impl Fn(i128) -> Option<String>) -> Result<String, WarehouseError> {
    match integer(s) {
        Some(n) => from_epoch(n).ok_or_else(|| bad(key, format!("{s} is out of range for {ty}"))),
        None => Ok(s.trim().to_string()),
    }
}

fn date_from_millis(ms: i128) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms.checked_mul(1_000_000)?).ok()?;
    Some(t.date().to_string())
}

fn time_from_nanos(ns: i128) -> Option<String> {
    if !(0..86_400 * 1_000_000_000).contains(&ns) {
        return None;
    }
    let secs = ns / 1_000_000_000;
    Some(format!("{:02}:{:02}:{:02}.{:09}", secs / 3600, secs / 60 % 60, secs % 60, ns % 1_000_000_000))
}

fn timestamp_from_nanos(ns: i128, offset_minutes: i32) -> Option<String> {
    let offset = time::UtcOffset::from_whole_seconds(offset_minutes.checked_mul(60)?).ok()?;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ns).ok()?.to_offset(offset);
    let zone = if offset_minutes == 0 {
        String::new()
    } else {
        let m = offset_minutes.abs();
        format!("{}{:02}:{:02}", if offset_minutes < 0 { '-' } else { '+' }, m / 60, m % 60)
    };
    let tm = t.time();
    Some(format!("{} {:02}:{:02}:{:02}.{:09}{zone}", t.date(), tm.hour(), tm.minute(), tm.second(), tm.nanosecond()))
}

/// TIMESTAMP_TZ: `<epoch ns> <offset minutes + 1440>`, `<epoch ns>` (UTC), or ISO text.
fn timestamp_tz(key: &str, s: &str) -> Result<String, WarehouseError> {
    let out_of_range = || bad(key, format!("'{s}' is out of range for TIMESTAMP_TZ"));
    match s.trim().split_once(' ').map(|(a, b)| (integer(a), integer(b))) {
        Some((Some(ns), Some(enc))) => {
            let minutes = i32::try_from(enc - 1440).map_err(|_| out_of_range())?;
            timestamp_from_nanos(ns, minutes).ok_or_else(out_of_range)
        }
        _ => epoch_or_text(key, "TIMESTAMP_TZ", s, |n| timestamp_from_nanos(n, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::split;

    fn bound(sql: &str, b: Value) -> Result<Vec<Tok>, WarehouseError> {
        let mut sts = split(sql)?;
        bind(&mut sts, b.as_object().unwrap())?;
        Ok(sts.remove(0).toks.into_iter().map(|t| t.tok).collect())
    }

    fn one(ty: &str, value: &str) -> Result<Vec<Tok>, WarehouseError> {
        Ok(bound("select ?", serde_json::json!({"1": {"type": ty, "value": value}}))?[1..].to_vec())
    }

    fn cast_text(toks: &[Tok]) -> String {
        match toks {
            [Tok::Word(c), Tok::Op(_), Tok::Str(s), ..] if c == "CAST" => s.clone(),
            other => panic!("not a cast: {other:?}"),
        }
    }

    #[test]
    fn every_documented_type_binds() {
        assert_eq!(one("FIXED", "123").unwrap(), vec![Tok::Number("123".into())]);
        assert_eq!(one("FIXED", "-1.50").unwrap(), vec![Tok::Op("(".into()), Tok::Op("-".into()), Tok::Number("1.50".into()), Tok::Op(")".into())]);
        assert_eq!(one("REAL", "2.5e-3").unwrap(), vec![Tok::Number("2.5e-3".into())]);
        assert_eq!(one("TEXT", "it's").unwrap(), vec![Tok::Str("it's".into())]);
        assert_eq!(one("BOOLEAN", "TRUE").unwrap(), vec![Tok::Word("TRUE".into())]);
        assert_eq!(cast_text(&one("BINARY", "cafe").unwrap()), "\\xCA\\xFE");
        assert_eq!(cast_text(&one("DATE", "2024-05-01").unwrap()), "2024-05-01");
        assert_eq!(cast_text(&one("DATE", "86400000").unwrap()), "1970-01-02");
        assert_eq!(cast_text(&one("TIME", "3723500000000").unwrap()), "01:02:03.500000000");
        assert_eq!(cast_text(&one("TIMESTAMP_NTZ", "1000000000").unwrap()), "1970-01-01 00:00:01.000000000");
        assert_eq!(cast_text(&one("TIMESTAMP_LTZ", "2024-05-01 10:00:00").unwrap()), "2024-05-01 10:00:00");
        // 1440 + 120: two hours east of UTC.
        assert_eq!(cast_text(&one("TIMESTAMP_TZ", "0 1560").unwrap()), "1970-01-01 02:00:00.000000000+02:00");
        assert_eq!(one("TIMESTAMP_TZ", "x").map(|t| cast_text(&t)).unwrap(), "x");
    }

    #[test]
    fn bad_values_and_unknown_types_are_refused_by_name() {
        let e = one("VARIANT", "{}").unwrap_err().to_string();
        assert!(e.contains("unsupported binding type 'VARIANT'") && e.contains("TIMESTAMP_NTZ"), "{e}");
        assert!(one("FIXED", "1e5").unwrap_err().to_string().contains("'1e5' is not a FIXED number"));
        assert!(one("FIXED", "1; drop table t").is_err());
        assert!(one("REAL", "--1").is_err());
        assert!(one("BOOLEAN", "yes").unwrap_err().to_string().contains("not a BOOLEAN"));
        assert!(one("BINARY", "xyz").unwrap_err().to_string().contains("hexadecimal"));
        assert!(one("TIME", "-1").unwrap_err().to_string().contains("out of range for TIME"));
        let e = bound("select ?, ?", serde_json::json!({"1": {"type": "TEXT", "value": "a"}})).unwrap_err().to_string();
        assert!(e.contains("Bind variable 2 not set"), "{e}");
    }

    #[test]
    fn numbered_markers_and_nulls() {
        let toks = bound("select $2, $1", serde_json::json!({"1": {"type": "FIXED", "value": null}, "2": {"type": "TEXT", "value": "b"}})).unwrap();
        assert_eq!(toks[1..], [Tok::Str("b".into()), Tok::Op(",".into()), Tok::Word("NULL".into())]);
    }
}
