//! The drivers' typed bindings (`{"1": {"type": "DATE", "value": "1700000000000"}}`, arrays of
//! values for `executemany`) turned into the SQL API's form, which [`crate::sql::bind`] checks and
//! substitutes. Dates, times, timestamps and binary travel as epoch counts and hex; they become
//! text the engine casts back to their type, so a bound value keeps its type in any position.

use serde_json::{json, Map, Value};

use crate::sql::lexer::{Tok, Token};
use crate::sql::SourceStatement;
use crate::WarehouseError;

/// One map of bindings per execution: a request with arrays of values runs once per element.
pub fn rows(b: &Map<String, Value>) -> Result<Vec<Map<String, Value>>, WarehouseError> {
    let mut n: Option<usize> = None;
    for (k, v) in b {
        if let Some(a) = v.get("value").and_then(Value::as_array) {
            match n {
                Some(m) if m != a.len() => {
                    return Err(WarehouseError::Invalid(format!(
                        "Bind variable {k} has {} values where the others have {m}.",
                        a.len()
                    )))
                }
                _ => n = Some(a.len()),
            }
        }
    }
    let count = n.unwrap_or(1);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let mut row = Map::new();
        for (k, v) in b {
            let ty = v.get("type").and_then(Value::as_str).unwrap_or("TEXT").to_uppercase();
            let value = match v.get("value") {
                Some(Value::Array(a)) => a.get(i).cloned().unwrap_or(Value::Null),
                Some(other) => other.clone(),
                None => Value::Null,
            };
            row.insert(k.clone(), convert(k, &ty, value)?);
        }
        out.push(row);
    }
    Ok(out)
}

/// The SQL API's `{"type", "value"}` for one driver value.
fn convert(key: &str, ty: &str, value: Value) -> Result<Value, WarehouseError> {
    let text = match &value {
        Value::Null => return Ok(json!({ "type": "TEXT", "value": null })),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let bad = |what: &str| WarehouseError::Invalid(format!("Bind variable {key}: '{text}' is not {what}"));
    let int = |what: &str| text.trim().parse::<i128>().map_err(|_| bad(what));
    let (ty, text) = match ty {
        "DATE" => {
            let days = int("a date in epoch milliseconds")?.div_euclid(86_400_000);
            let d = time::Date::from_julian_day(i32::try_from(2_440_588 + days).map_err(|_| bad("a date"))?).map_err(|_| bad("a date"))?;
            ("DATE", d.to_string())
        }
        "TIME" => {
            let ns = int("a time in nanoseconds")?;
            if !(0..86_400_000_000_000).contains(&ns) {
                return Err(bad("a time of day"));
            }
            let s = ns / 1_000_000_000;
            ("TIME", format!("{:02}:{:02}:{:02}.{:09}", s / 3600, s / 60 % 60, s % 60, ns % 1_000_000_000))
        }
        "TIMESTAMP_NTZ" | "TIMESTAMP_LTZ" | "TIMESTAMP_TZ" | "TIMESTAMP" => {
            // TIMESTAMP_TZ may carry its offset after a space; the instant is what is stored.
            let ns: i128 = text.split_whitespace().next().unwrap_or("").parse().map_err(|_| bad("a timestamp in epoch nanoseconds"))?;
            let t = time::OffsetDateTime::from_unix_timestamp_nanos(ns).map_err(|_| bad("a timestamp"))?;
            let s = format!(
                "{} {:02}:{:02}:{:02}.{:09}",
                t.date(),
                t.hour(),
                t.minute(),
                t.second(),
                t.nanosecond()
            );
            if ty == "TIMESTAMP_NTZ" || ty == "TIMESTAMP" {
                ("TIMESTAMP_NTZ", s)
            } else {
                ("TIMESTAMP_TZ", s + "+00:00")
            }
        }
        // Hex, as the SQL API binds BINARY (checked and turned into a blob literal there).
        "BINARY" => ("BINARY", text),
        "FIXED" | "REAL" | "BOOLEAN" | "TEXT" => (ty, text),
        // The drivers' type for a value they could not type (None): bound as text.
        "ANY" => ("TEXT", text),
        other => return Err(WarehouseError::Invalid(format!("Bind variable {key}: type '{other}' is not supported"))),
    };
    Ok(json!({ "type": ty, "value": text }))
}

/// The type a bound value is cast to where its marker stands, if its text form loses it.
fn cast_of(binding: &Value) -> Option<&'static str> {
    match binding.get("type").and_then(Value::as_str)? {
        "DATE" => Some("DATE"),
        "TIME" => Some("TIME"),
        "TIMESTAMP_NTZ" => Some("TIMESTAMP_NTZ"),
        "TIMESTAMP_TZ" => Some("TIMESTAMP_TZ"),
        "BINARY" => Some("BINARY"),
        _ => None,
    }
}

/// The drivers' `numeric` style writes markers `:1`; they become `$1`. A `:` written right
/// against a name, `)` or `]` is a path (`v:1`), not a marker.
fn numeric_markers(toks: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(toks.len());
    let mut it = toks.into_iter().peekable();
    while let Some(t) = it.next() {
        let after_value = out.last().is_some_and(|p| {
            p.end == t.start && (matches!(&p.tok, Tok::Word(_) | Tok::Quoted(_)) || p.tok.is_op(")") || p.tok.is_op("]"))
        });
        if t.tok.is_op(":") && !after_value {
            if let Some(Tok::Number(n)) = it.peek().map(|n| &n.tok) {
                if n.bytes().all(|b| b.is_ascii_digit()) {
                    let n = it.next().expect("peeked");
                    out.push(Token { tok: Tok::Bind(format!("${}", match &n.tok { Tok::Number(d) => d.as_str(), _ => "" })), start: t.start, end: n.end });
                    continue;
                }
            }
        }
        out.push(t);
    }
    out
}

/// Turns `:n` markers into `$n` and wraps each marker whose value needs a cast as
/// `(marker::TYPE)`, numbering `?` markers as [`crate::sql::bind`] does.
pub fn cast_markers(sts: &mut [SourceStatement], row: &Map<String, Value>) {
    let mut next = 0;
    for st in sts {
        let mut out = Vec::with_capacity(st.toks.len());
        for t in numeric_markers(std::mem::take(&mut st.toks)) {
            let Tok::Bind(name) = &t.tok else {
                out.push(t);
                continue;
            };
            let key = if name == "?" {
                next += 1;
                next.to_string()
            } else {
                name.trim_start_matches([':', '$']).to_string()
            };
            match row.get(&key).and_then(cast_of) {
                Some(ty) => {
                    let at = |tok: Tok| Token { tok, start: t.start, end: t.end };
                    out.push(at(Tok::Op("(".into())));
                    out.push(t.clone());
                    out.push(at(Tok::Op("::".into())));
                    out.push(at(Tok::Word(ty.into())));
                    out.push(at(Tok::Op(")".into())));
                }
                None => out.push(t),
            }
        }
        st.toks = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(ty: &str, v: &str) -> Value {
        let b = json!({ "1": { "type": ty, "value": v } });
        rows(b.as_object().unwrap()).unwrap().remove(0)["1"].clone()
    }

    #[test]
    fn epoch_values_become_text_of_their_type() {
        assert_eq!(one("DATE", "1700006400000")["value"], "2023-11-15");
        assert_eq!(one("DATE", "-86400000")["value"], "1969-12-31");
        assert_eq!(one("TIME", "3723000001000")["value"], "01:02:03.000001000");
        assert_eq!(one("TIMESTAMP_NTZ", "1700000000123456000")["value"], "2023-11-14 22:13:20.123456000");
        assert_eq!(one("TIMESTAMP_LTZ", "0")["value"], "1970-01-01 00:00:00.000000000+00:00");
        assert_eq!(one("BINARY", "0aff")["value"], "0aff");
        assert_eq!(one("FIXED", "42")["value"], "42");
    }

    #[test]
    fn arrays_give_one_row_per_element_and_must_agree() {
        let b = json!({ "1": { "type": "FIXED", "value": ["1", "2", "3"] }, "2": { "type": "TEXT", "value": ["a", null, "c"] } });
        let r = rows(b.as_object().unwrap()).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1]["2"]["value"], Value::Null);
        let b = json!({ "1": { "type": "FIXED", "value": ["1", "2"] }, "2": { "type": "TEXT", "value": ["a"] } });
        assert!(rows(b.as_object().unwrap()).unwrap_err().to_string().contains("Bind variable"));
        let b = json!({ "1": { "type": "TIME", "value": "not a number" } });
        assert!(rows(b.as_object().unwrap()).is_err());
    }

    #[test]
    fn typed_markers_are_cast_in_place() {
        let mut sts = crate::sql::split("select ?, ?, :2, v:1 from t where x = :1").unwrap();
        let b = json!({ "1": { "type": "FIXED", "value": "1" }, "2": { "type": "DATE", "value": "0" } });
        let row = rows(b.as_object().unwrap()).unwrap().remove(0);
        cast_markers(&mut sts, &row);
        let words: Vec<String> = sts[0].toks.iter().map(|t| format!("{:?}", t.tok)).collect();
        assert_eq!(words.iter().filter(|w| w.contains("\"DATE\"")).count(), 2, "{words:?}");
        assert_eq!(words.iter().filter(|w| w.contains("Bind")).count(), 4, "a path is no marker: {words:?}");
        crate::sql::bind(&mut sts, &row).unwrap();
    }
}
