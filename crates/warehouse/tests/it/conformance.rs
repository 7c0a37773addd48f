//! The dialect conformance suite: Snowflake statements with the results Snowflake's reference
//! documents for them (`tests/conformance/*.case`), run through recpipe's SQL surface.
//!
//! A case file holds cases of this shape:
//!
//! ```text
//! === iff picks the second argument when the condition holds
//! # https://docs.snowflake.com/en/sql-reference/functions/iff
//! select iff(true, 'yes', 'no');
//! ---
//! yes
//! ```
//!
//! Statements end with `;` at the end of a line; every statement of a case runs, the last one's
//! result is compared. The expectation is one line per row, columns separated by ` | `, `NULL`
//! for SQL NULL, `''` for the empty string, `*` for any non-NULL value (a time, an id); or `columns: A | B` followed by rows (`columns: A | B | ...`
//! names the first columns only, and then only those are compared); or `error <code>` (the Snowflake error
//! code the last statement must fail with); or `ok` (it must succeed). Values are compared as
//! Snowflake shows them: dates as `YYYY-MM-DD`, TIMESTAMP_NTZ as `YYYY-MM-DD HH:MM:SS[.fff]`,
//! numbers numerically, VARIANT/OBJECT/ARRAY as JSON values, booleans ignoring case.
//!
//! A case may carry one marker line before its SQL:
//! - `!unsupported <reason>`: recpipe deliberately refuses this; the case must fail with the error
//!   its expectation names (so the refusal is tested too);
//! - `!known <reason>`: recpipe does not yet give Snowflake's answer. The case must still fail:
//!   one that starts passing fails the suite until its marker is removed, so the list stays true.
//!
//! Every case without a marker must pass. The suite prints how many pass and lists the rest.

use std::path::{Path, PathBuf};

use serde_json::Value;
use warehouse::{QueryResult, Session};

use crate::support::*;

#[derive(Debug)]
enum Marker {
    None,
    Unsupported(String),
    Known(String),
}

#[derive(Debug)]
enum Expect {
    Ok,
    Error(String),
    Rows { columns: Option<Vec<String>>, rows: Vec<Vec<String>> },
}

#[derive(Debug)]
struct Case {
    file: String,
    line: usize,
    name: String,
    marker: Marker,
    statements: Vec<String>,
    expect: Expect,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("conformance")
}

fn split_cols(line: &str) -> Vec<String> {
    line.split(" | ").map(|c| c.trim().to_string()).collect()
}

fn parse_file(file: &str, text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = lines[i].strip_prefix("=== ") else {
            assert!(lines[i].trim().is_empty() || lines[i].starts_with('#'), "{file}:{}: expected `=== name`, found {:?}", i + 1, lines[i]);
            i += 1;
            continue;
        };
        let start = i + 1;
        i += 1;
        let mut marker = Marker::None;
        let mut sql = String::new();
        while i < lines.len() && lines[i] != "---" {
            let l = lines[i];
            if let Some(r) = l.strip_prefix("!unsupported ") {
                marker = Marker::Unsupported(r.trim().into());
            } else if let Some(r) = l.strip_prefix("!known ") {
                marker = Marker::Known(r.trim().into());
            } else if !l.starts_with('#') {
                sql.push_str(l);
                sql.push('\n');
            }
            i += 1;
        }
        assert!(i < lines.len(), "{file}:{start}: case {name:?} has no `---` line");
        i += 1;
        let mut body = Vec::new();
        while i < lines.len() && !lines[i].starts_with("=== ") {
            if !lines[i].trim().is_empty() {
                body.push(lines[i]);
            }
            i += 1;
        }
        let statements: Vec<String> = sql.split(";\n").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        assert!(!statements.is_empty(), "{file}:{start}: case {name:?} has no statement");
        let expect = match body.first().copied() {
            Some("ok") => Expect::Ok,
            Some(l) if l.starts_with("error ") => Expect::Error(l["error ".len()..].trim().into()),
            _ => {
                let (columns, rows) = match body.first().and_then(|l| l.strip_prefix("columns: ")) {
                    Some(c) => (Some(split_cols(c)), &body[1..]),
                    None => (None, &body[..]),
                };
                Expect::Rows { columns, rows: rows.iter().map(|l| split_cols(l)).collect() }
            }
        };
        if let Marker::Unsupported(_) = marker {
            assert!(matches!(expect, Expect::Error(_)), "{file}:{start}: an unsupported case names the error it gets");
        }
        cases.push(Case { file: file.into(), line: start, name: name.trim().into(), marker, statements, expect });
    }
    cases
}

/// Days since 1970-01-01 to a civil date (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A result value as Snowflake shows it (see the module docs).
fn shown(value: &str, sf_type: &str) -> String {
    match sf_type {
        "date" => match value.parse::<i64>() {
            Ok(days) => {
                let (y, m, d) = civil(days);
                format!("{y:04}-{m:02}-{d:02}")
            }
            Err(_) => value.into(),
        },
        "timestamp_ntz" => {
            let (secs, nanos) = value.split_once('.').unwrap_or((value, "0"));
            let Ok(secs) = secs.parse::<i64>() else { return value.into() };
            let (y, m, d) = civil(secs.div_euclid(86_400));
            let t = secs.rem_euclid(86_400);
            let mut s = format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
            let frac = nanos.trim_end_matches('0');
            if !frac.is_empty() {
                s.push('.');
                s.push_str(frac);
            }
            s
        }
        _ => value.into(),
    }
}

fn same(actual: Option<&str>, sf_type: &str, want: &str) -> bool {
    let Some(actual) = actual else { return want == "NULL" };
    if want == "*" {
        return true;
    }
    if want == "NULL" {
        return false;
    }
    if want == "''" {
        return actual.is_empty();
    }
    match sf_type {
        "fixed" | "real" => match (actual.parse::<f64>(), want.parse::<f64>()) {
            (Ok(a), Ok(w)) => a == w || (a - w).abs() <= 1e-6 * w.abs().max(1.0),
            _ => actual == want,
        },
        "variant" | "object" | "array" => match (serde_json::from_str::<Value>(actual), serde_json::from_str::<Value>(want)) {
            (Ok(a), Ok(w)) => json_same(&a, &w),
            _ => actual == want,
        },
        "boolean" => actual.eq_ignore_ascii_case(want),
        _ => shown(actual, sf_type) == want,
    }
}

/// JSON equality with numbers compared by value (`1` and `1.0` are one number).
fn json_same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_same(a, b)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_same(v, w))),
        _ => a == b,
    }
}

fn render(r: &QueryResult) -> String {
    let mut s = r.columns.iter().map(|c| format!("{}:{}", c.name, c.sf_type)).collect::<Vec<_>>().join(" | ");
    for row in r.rows.iter().take(20) {
        s.push_str("\n      ");
        s.push_str(&row.iter().zip(&r.columns).map(|(v, c)| v.as_deref().map_or("NULL".into(), |v| shown(v, &c.sf_type))).collect::<Vec<_>>().join(" | "));
    }
    s
}

/// Runs a case; `Err` says how its result differs from the expectation.
fn check(s: &mut Session, case: &Case) -> Result<(), String> {
    let (last, setup) = case.statements.split_last().expect("a statement");
    for (k, sql) in setup.iter().enumerate() {
        s.execute(sql).map_err(|e| format!("statement {} failed: {e}", k + 1))?;
    }
    let got = s.execute(last).map(|mut r| r.pop().expect("a result"));
    match (&case.expect, got) {
        (Expect::Ok, Ok(_)) => Ok(()),
        (Expect::Error(code), Err(e)) if e.wire().code == code => Ok(()),
        (Expect::Error(code), Err(e)) => Err(format!("failed with {} (want {code}): {e}", e.wire().code)),
        (Expect::Error(code), Ok(r)) => Err(format!("succeeded (want error {code}):\n      {}", render(&r))),
        (_, Err(e)) => Err(format!("failed with {}: {e}", e.wire().code)),
        (Expect::Rows { columns, rows }, Ok(r)) => {
            let mut width = r.columns.len();
            if let Some(cols) = columns {
                let prefix = cols.last().is_some_and(|c| c == "...");
                let cols = if prefix { &cols[..cols.len() - 1] } else { &cols[..] };
                let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
                if (prefix && !names.starts_with(&cols.iter().map(String::as_str).collect::<Vec<_>>())) || (!prefix && names != cols) {
                    return Err(format!("columns {names:?}, want {cols:?}{}", if prefix { " first" } else { "" }));
                }
                if prefix {
                    width = cols.len();
                }
            }
            let fits = r.rows.len() == rows.len()
                && r.rows.iter().zip(rows).all(|(got, want)| {
                    got.len() >= width && want.len() == width && got[..width].iter().zip(want).zip(&r.columns).all(|((g, w), c)| same(g.as_deref(), &c.sf_type, w))
                });
            if fits {
                Ok(())
            } else {
                Err(format!("got\n      {}\n    want\n      {}", render(&r), rows.iter().map(|r| r.join(" | ")).collect::<Vec<_>>().join("\n      ")))
            }
        }
    }
}

fn load_cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "case")).collect();
    files.sort();
    files
        .iter()
        .flat_map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            parse_file(&name, &std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

#[test]
fn snowflake_documented_cases() {
    let cases = load_cases();
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "create database conformance");
    run(&mut s, "use schema conformance.public");
    let (mut passed, mut problems, mut listed) = (0usize, Vec::new(), Vec::new());
    for case in &cases {
        let outcome = check(&mut s, case);
        // A failed case may leave a transaction open: later cases start clean.
        let _ = s.execute("rollback");
        let _ = s.execute("use schema conformance.public");
        let at = format!("{}:{} {}", case.file, case.line, case.name);
        match (&case.marker, outcome) {
            (Marker::None, Ok(())) => passed += 1,
            (Marker::None, Err(why)) => problems.push(format!("FAIL {at}\n    {why}")),
            (Marker::Unsupported(reason), Ok(())) => listed.push(format!("unsupported {at}: {reason}")),
            (Marker::Unsupported(_), Err(why)) => problems.push(format!("FAIL {at} (unsupported: must fail with the error named)\n    {why}")),
            (Marker::Known(_), Ok(())) => problems.push(format!("PASSES {at}: remove its !known marker")),
            (Marker::Known(reason), Err(why)) => listed.push(format!("not yet {at}: {reason}\n      now: {}", why.replace('\n', " "))),
        }
    }
    let total = cases.len();
    println!("conformance: {passed} of {total} documented cases pass ({:.1} %)", 100.0 * passed as f64 / total.max(1) as f64);
    for l in &listed {
        println!("  {l}");
    }
    for p in &problems {
        println!("{p}");
    }
    assert!(problems.is_empty(), "{} conformance problems (listed above)", problems.len());
}

#[test]
fn case_files_parse_and_dates_render_as_snowflake_shows_them() {
    assert!(load_cases().len() >= 150, "the suite holds at least 150 cases");
    assert_eq!(shown("0", "date"), "1970-01-01");
    assert_eq!(shown("18628", "date"), "2021-01-01");
    assert_eq!(shown("-1", "date"), "1969-12-31");
    assert_eq!(shown("1609459200.500000000", "timestamp_ntz"), "2021-01-01 00:00:00.5");
    assert_eq!(shown("951782400.000000000", "timestamp_ntz"), "2000-02-29 00:00:00");
    assert!(same(Some("{\"a\":1.0}"), "variant", "{\"a\": 1}"));
    assert!(!same(Some("x"), "text", "NULL"));
    assert!(same(None, "text", "NULL"));
}
