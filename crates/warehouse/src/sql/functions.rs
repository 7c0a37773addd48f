//! Snowflake functions DuckDB lacks, or has with other arguments or another meaning, written as
//! DuckDB SQL from their (already translated) arguments. Every name here is also on
//! [`SNOWFLAKE_FUNCTIONS`], which the function check admits.

use sqlparser::ast::{DataType, Expr, FunctionArg, FunctionArgExpr, Value};

use super::ident::literal;
use crate::WarehouseError;

/// The functions [`call`] writes.
pub const SNOWFLAKE_FUNCTIONS: &[&str] = &[
    "ADD_MONTHS", "ARRAY_APPEND", "ARRAY_CAT", "ARRAY_CONTAINS", "ARRAY_SIZE", "ARRAY_SLICE", "AS_INTEGER",
    "AS_VARCHAR", "BASE64_DECODE_STRING", "BASE64_ENCODE", "BITAND", "BITAND_AGG", "BITOR", "BITOR_AGG",
    "BITSHIFTLEFT", "BITSHIFTRIGHT", "BITXOR", "BITXOR_AGG", "BOOLAND_AGG", "BOOLOR_AGG", "CHARINDEX", "CHECK_JSON",
    "CONCAT", "CONDITIONAL_TRUE_EVENT", "CONVERT_TIMEZONE", "CURRENT_DATE", "CURRENT_TIMESTAMP", "CURRENT_VERSION", "DATEADD", "DATEDIFF",
    "DATE_FROM_PARTS", "DATE_PART", "DATE_TRUNC", "DAYNAME", "DECODE", "DIV0", "DIV0NULL", "EDITDISTANCE", "ENDSWITH",
    "EQUAL_NULL", "GET", "GET_PATH", "GREATEST", "HEX_ENCODE", "INITCAP", "IS_ARRAY", "IS_NULL_VALUE", "IS_OBJECT",
    "JSON_EXTRACT_PATH_TEXT", "LAST_DAY", "LEAST", "LOCALTIMESTAMP", "MONTHNAME", "NEXT_DAY", "NULLIFZERO", "NVL2",
    "OBJECT_AGG", "OBJECT_CONSTRUCT", "OBJECT_CONSTRUCT_KEEP_NULL", "OBJECT_DELETE", "OBJECT_INSERT", "OBJECT_KEYS",
    "PERCENTILE_CONT", "PERCENTILE_DISC", "POSITION", "PREVIOUS_DAY", "RATIO_TO_REPORT", "REGEXP_COUNT",
    "REGEXP_INSTR", "REGEXP_LIKE", "REGEXP_REPLACE", "REGEXP_SUBSTR", "REGR_VALX", "REGR_VALY", "REPLACE", "SEQ1",
    "SEQ2", "SEQ4", "SEQ8", "SHA2", "SOUNDEX", "SPACE", "SPLIT", "SPLIT_PART", "SQUARE", "STARTSWITH", "STRTOK",
    "STRTOK_TO_ARRAY", "SYSDATE", "TIMESTAMPADD", "TIMESTAMPDIFF", "TIMESTAMP_FROM_PARTS", "TIME_SLICE", "TO_ARRAY",
    "TO_BOOLEAN", "TO_CHAR", "TO_DATE", "TO_DECIMAL", "TO_DOUBLE", "TO_NUMBER", "TO_NUMERIC", "TO_TIMESTAMP",
    "TO_TIMESTAMP_NTZ", "TO_VARCHAR", "TRUNC", "TRUNCATE", "TRY_PARSE_JSON", "TRY_TO_DATE", "TRY_TO_DECIMAL",
    "TRY_TO_DOUBLE", "TRY_TO_NUMBER", "TRY_TO_NUMERIC", "TYPEOF", "UNIFORM", "UUID_STRING", "WIDTH_BUCKET",
    "YEAROFWEEK", "ZEROIFNULL",
];

/// The argument expressions of a call, unnamed or named alike.
fn exprs(args: &[FunctionArg]) -> Vec<&Expr> {
    args.iter()
        .filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) | FunctionArg::Named { arg: FunctionArgExpr::Expr(e), .. } | FunctionArg::ExprNamed { arg: FunctionArgExpr::Expr(e), .. } => Some(e),
            _ => None,
        })
        .collect()
}

fn constant(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// A date or time part written as a name (`day`) or a string (`'day'`), as DuckDB names it.
fn part(e: &Expr) -> Option<&'static str> {
    let p = match e {
        Expr::Identifier(i) => i.value.to_lowercase(),
        _ => constant(e)?.to_lowercase(),
    };
    Some(match p.as_str() {
        "year" | "y" | "yy" | "yyy" | "yyyy" | "yr" | "years" | "yrs" => "year",
        "quarter" | "q" | "qtr" | "qtrs" | "quarters" => "quarter",
        "month" | "mm" | "mon" | "mons" | "months" => "month",
        "week" | "w" | "wk" | "weekofyear" | "woy" | "wy" => "week",
        "day" | "d" | "dd" | "days" | "dayofmonth" => "day",
        "dayofweek" | "weekday" | "dow" | "dw" => "dayofweek",
        "dayofyear" | "yearday" | "doy" | "dy" => "dayofyear",
        "hour" | "h" | "hh" | "hr" | "hours" | "hrs" => "hour",
        "minute" | "m" | "mi" | "min" | "minutes" | "mins" => "minute",
        "second" | "s" | "sec" | "seconds" | "secs" => "second",
        "millisecond" | "ms" | "msec" | "milliseconds" => "millisecond",
        "microsecond" | "us" | "usec" | "microseconds" => "microsecond",
        "nanosecond" | "ns" | "nsec" | "nanosec" | "nanoseconds" => "nanosecond",
        "epoch_second" | "epoch" | "epoch_seconds" => "epoch",
        _ => return None,
    })
}

/// Whether an expression is a DATE by its form (a cast to DATE, a date function).
fn is_date(e: &Expr) -> bool {
    match e {
        Expr::Cast { data_type: DataType::Date, .. } => true,
        Expr::Nested(inner) => is_date(inner),
        _ => false,
    }
}

/// A Snowflake format (`YYYY-MM-DD HH24:MI:SS`) as a strftime/strptime format.
fn format(f: &str) -> String {
    let mut out = String::new();
    let up = f.to_uppercase();
    let mut i = 0;
    let tokens: [(&str, &str); 17] = [
        ("YYYY", "%Y"), ("HH24", "%H"), ("HH12", "%I"), ("MMMM", "%B"), ("TZH:TZM", "%z"), ("YY", "%y"), ("MON", "%b"),
        ("MM", "%m"), ("DD", "%d"), ("DY", "%a"), ("HH", "%I"), ("MI", "%M"), ("SS", "%S"), ("FF", "%f"), ("AM", "%p"),
        ("PM", "%p"), ("%", "%%"),
    ];
    'outer: while i < up.len() {
        if up.as_bytes()[i] == b'"' {
            if let Some(end) = f[i + 1..].find('"') {
                out.push_str(&f[i + 1..i + 1 + end].replace('%', "%%"));
                i += end + 2;
                continue;
            }
        }
        for (k, v) in tokens {
            if up[i..].starts_with(k) {
                out.push_str(v);
                i += k.len();
                // `FF9`, `FF3`: the digits say how many, DuckDB's `%f` is microseconds.
                if k == "FF" {
                    while up.as_bytes().get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                }
                continue 'outer;
            }
        }
        let c = f[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn arity(name: &str, a: &[String], min: usize, max: usize) -> Result<(), WarehouseError> {
    if a.len() < min || a.len() > max {
        let want = if min == max { min.to_string() } else { format!("{min} to {max}") };
        return Err(WarehouseError::Invalid(format!("Invalid number of arguments for function {name}: expected {want}, got {}", a.len())));
    }
    Ok(())
}

fn bad_part(name: &str) -> WarehouseError {
    WarehouseError::Invalid(format!("invalid date or time part for function {name}"))
}

/// DuckDB SQL for a call of Snowflake function `name` (upper case), or `None` when DuckDB's
/// function of that name already does what Snowflake's does.
pub fn call(name: &str, args: &[FunctionArg]) -> Result<Option<String>, WarehouseError> {
    // `OBJECT_CONSTRUCT(*)`: the row, its columns' names the keys.
    if let [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] = args {
        match name {
            "OBJECT_CONSTRUCT" => return Ok(Some("json_merge_patch('{}', to_json(struct_pack(*COLUMNS(*))))".into())),
            "OBJECT_CONSTRUCT_KEEP_NULL" => return Ok(Some("to_json(struct_pack(*COLUMNS(*)))".into())),
            _ => {}
        }
    }
    let e = exprs(args);
    let a: Vec<String> = e.iter().map(|x| x.to_string()).collect();
    let n = |min: usize, max: usize| arity(name, &a, min, max);
    let joined = a.join(", ");
    Ok(Some(match name {
        "NVL2" => {
            n(3, 3)?;
            format!("(CASE WHEN ({}) IS NOT NULL THEN ({}) ELSE ({}) END)", a[0], a[1], a[2])
        }
        "ZEROIFNULL" => {
            n(1, 1)?;
            format!("COALESCE(({}), 0)", a[0])
        }
        "NULLIFZERO" => {
            n(1, 1)?;
            format!("NULLIF(({}), 0)", a[0])
        }
        "DIV0" => {
            n(2, 2)?;
            format!("(CASE WHEN ({1}) = 0 THEN 0 ELSE ({0}) / ({1}) END)", a[0], a[1])
        }
        "DIV0NULL" => {
            n(2, 2)?;
            format!("(CASE WHEN ({1}) = 0 OR ({1}) IS NULL THEN 0 ELSE ({0}) / ({1}) END)", a[0], a[1])
        }
        "EQUAL_NULL" => {
            n(2, 2)?;
            format!("(({}) IS NOT DISTINCT FROM ({}))", a[0], a[1])
        }
        "DECODE" => {
            n(3, usize::MAX)?;
            let mut s = String::from("(CASE");
            let mut k = 1;
            while k + 1 < a.len() {
                s.push_str(&format!(" WHEN ({}) IS NOT DISTINCT FROM ({}) THEN ({})", a[0], a[k], a[k + 1]));
                k += 2;
            }
            if k < a.len() {
                s.push_str(&format!(" ELSE ({})", a[k]));
            }
            s.push_str(" END)");
            s
        }
        "GREATEST" | "LEAST" => {
            n(1, usize::MAX)?;
            let any_null: Vec<String> = a.iter().map(|x| format!("({x}) IS NULL")).collect();
            format!("(CASE WHEN {} THEN NULL ELSE {}({joined}) END)", any_null.join(" OR "), name)
        }
        "CONCAT" => {
            n(1, usize::MAX)?;
            let parts: Vec<String> = a.iter().map(|x| format!("CAST(({x}) AS VARCHAR)")).collect();
            format!("({})", parts.join(" || "))
        }
        "REPLACE" if a.len() == 2 => format!("replace({}, {}, '')", a[0], a[1]),
        "REPLACE" => return Ok(None),
        "DATEADD" | "TIMESTAMPADD" => {
            n(3, 3)?;
            let p = part(e[0]).ok_or_else(|| bad_part(name))?;
            let sum = format!("(({}) + INTERVAL ({}) {})", a[2], a[1], p.to_uppercase());
            if is_date(e[2]) && matches!(p, "year" | "quarter" | "month" | "week" | "day") {
                format!("CAST({sum} AS DATE)")
            } else {
                sum
            }
        }
        // The 3-argument form converts a wall-clock time between zones; the 2-argument form reads
        // an instant (TIMESTAMP_TZ) and answers its wall-clock time in the zone, without offset.
        "CONVERT_TIMEZONE" => {
            n(2, 3)?;
            let f = crate::timezone::CONVERT;
            match a.as_slice() {
                [from, to, t] => format!("CAST({f}({from}, {to}, CAST(CAST(({t}) AS TIMESTAMP) AS VARCHAR)) AS TIMESTAMP)"),
                [to, t] => format!("CAST({f}('UTC', {to}, CAST(CAST(CAST(({t}) AS TIMESTAMPTZ) AS TIMESTAMP) AS VARCHAR)) AS TIMESTAMP)"),
                _ => unreachable!("arity checked"),
            }
        }
        "ADD_MONTHS" => {
            n(2, 2)?;
            format!("CAST((({}) + INTERVAL ({}) MONTH) AS DATE)", a[0], a[1])
        }
        "DATEDIFF" | "TIMESTAMPDIFF" => {
            n(3, 3)?;
            let p = part(e[0]).ok_or_else(|| bad_part(name))?;
            format!("date_diff('{p}', {}, {})", a[1], a[2])
        }
        "DATE_TRUNC" => {
            n(2, 2)?;
            let p = part(e[0]).ok_or_else(|| bad_part(name))?;
            let t = format!("date_trunc('{p}', {})", a[1]);
            if is_date(e[1]) { format!("CAST({t} AS DATE)") } else { t }
        }
        "TRUNCATE" | "TRUNC" => match (e.first(), e.get(1)) {
            (Some(_), Some(p)) if constant(p).is_some() || matches!(p, Expr::Identifier(_)) => {
                let p = part(p).ok_or_else(|| bad_part(name))?;
                let t = format!("date_trunc('{p}', {})", a[0]);
                if is_date(e[0]) { format!("CAST({t} AS DATE)") } else { t }
            }
            (Some(_), Some(_)) => format!("(trunc(({0}) * power(10, {1})) / power(10, {1}))", a[0], a[1]),
            _ => format!("trunc({joined})"),
        },
        "REGEXP_REPLACE" => {
            n(2, 6)?;
            if a.len() > 3 {
                return Err(WarehouseError::Unsupported("REGEXP_REPLACE with a position, occurrence or parameters".into()));
            }
            format!("regexp_replace({}, {}, {}, 'g')", a[0], a[1], a.get(2).map_or("''", |r| r))
        }
        "REGEXP_INSTR" => {
            n(2, 2)?;
            format!("(CASE WHEN regexp_matches({0}, {1}) THEN strpos({0}, regexp_extract({0}, {1})) ELSE 0 END)", a[0], a[1])
        }
        "POSITION" => {
            n(2, 3)?;
            match a.get(2) {
                Some(p) => format!("(CASE WHEN instr(substr({1}, {p}), {0}) = 0 THEN 0 ELSE instr(substr({1}, {p}), {0}) + ({p}) - 1 END)", a[0], a[1]),
                None => format!("instr({}, {})", a[1], a[0]),
            }
        }
        "INITCAP" => {
            n(1, 1)?;
            format!("array_to_string(list_transform(string_split(lower({}), ' '), lambda w: upper(substr(w, 1, 1)) || substr(w, 2)), ' ')", a[0])
        }
        "NEXT_DAY" | "PREVIOUS_DAY" => {
            n(2, 2)?;
            let dow = format!("(CASE lower(substr({}, 1, 2)) WHEN 'su' THEN 0 WHEN 'mo' THEN 1 WHEN 'tu' THEN 2 WHEN 'we' THEN 3 WHEN 'th' THEN 4 WHEN 'fr' THEN 5 WHEN 'sa' THEN 6 END)", a[1]);
            if name == "NEXT_DAY" {
                format!("CAST(({0}) + INTERVAL (((({dow}) - dayofweek({0}) + 6) % 7) + 1) DAY AS DATE)", a[0])
            } else {
                format!("CAST(({0}) - INTERVAL (((dayofweek({0}) - ({dow}) + 6) % 7) + 1) DAY AS DATE)", a[0])
            }
        }
        "REGR_VALX" | "REGR_VALY" => {
            n(2, 2)?;
            let v = if name == "REGR_VALX" { &a[1] } else { &a[0] };
            format!("(CASE WHEN ({}) IS NULL OR ({}) IS NULL THEN NULL ELSE ({v}) END)", a[0], a[1])
        }
        "JSON_EXTRACT_PATH_TEXT" => {
            n(2, 2)?;
            let p = constant(e[1]).ok_or_else(|| WarehouseError::Unsupported("JSON_EXTRACT_PATH_TEXT with a path that is not a constant".into()))?;
            format!("(CAST(({}) AS JSON) ->> {})", a[0], literal(&super::flatten::json_path(p)?))
        }
        "ARRAY_APPEND" => {
            n(2, 2)?;
            format!("to_json(list_append(CAST(CAST(({}) AS JSON) AS JSON[]), to_json({})))", a[0], a[1])
        }
        "ARRAY_CAT" => {
            n(2, 2)?;
            format!("to_json(list_concat(CAST(CAST(({}) AS JSON) AS JSON[]), CAST(CAST(({}) AS JSON) AS JSON[])))", a[0], a[1])
        }
        "CURRENT_DATE" if a.is_empty() => "CAST(CAST(get_current_timestamp() AS TIMESTAMP) AS DATE)".into(),
        "CURRENT_TIMESTAMP" | "LOCALTIMESTAMP" | "SYSDATE" if a.is_empty() => "CAST(get_current_timestamp() AS TIMESTAMP)".into(),
        "DATE_PART" => {
            n(2, 2)?;
            let p = part(e[0]).ok_or_else(|| bad_part(name))?;
            if p == "epoch" { format!("CAST(epoch({}) AS BIGINT)", a[1]) } else { format!("date_part('{p}', {})", a[1]) }
        }
        "LAST_DAY" => {
            n(1, 2)?;
            let p = e.get(1).map(|x| part(x).ok_or_else(|| bad_part(name))).transpose()?.unwrap_or("month");
            if p == "day" {
                format!("CAST({} AS DATE)", a[0])
            } else {
                format!("CAST(date_trunc('{p}', {}) + INTERVAL 1 {} - INTERVAL 1 DAY AS DATE)", a[0], p.to_uppercase())
            }
        }
        "MONTHNAME" => format!("strftime({}, '%b')", a.first().map_or("NULL", |s| s)),
        "DAYNAME" => format!("strftime({}, '%a')", a.first().map_or("NULL", |s| s)),
        "YEAROFWEEK" => format!("isoyear({joined})"),
        "DATE_FROM_PARTS" => {
            n(3, 3)?;
            format!("CAST(make_date(CAST({} AS BIGINT), 1, 1) + INTERVAL (({}) - 1) MONTH + INTERVAL (({}) - 1) DAY AS DATE)", a[0], a[1], a[2])
        }
        "TIMESTAMP_FROM_PARTS" => {
            n(6, 6)?;
            format!("make_timestamp({joined})")
        }
        "TO_DATE" | "TRY_TO_DATE" => {
            n(1, 2)?;
            let cast = if name == "TO_DATE" { "CAST" } else { "TRY_CAST" };
            match e.get(1).and_then(|f| constant(f)) {
                Some(f) => format!("{cast}({}({}, {}) AS DATE)", if cast == "CAST" { "strptime" } else { "try_strptime" }, a[0], literal(&format(f))),
                None => format!("{cast}({} AS DATE)", a[0]),
            }
        }
        "TO_TIMESTAMP" | "TO_TIMESTAMP_NTZ" => {
            n(1, 2)?;
            match (e.get(1).and_then(|f| constant(f)), e[0]) {
                (Some(f), _) => format!("strptime({}, {})", a[0], literal(&format(f))),
                (None, Expr::Value(v)) if matches!(v.value, Value::Number(..)) => format!("CAST(make_timestamp(CAST(({}) AS BIGINT) * 1000000) AS TIMESTAMP)", a[0]),
                _ => format!("CAST({} AS TIMESTAMP)", a[0]),
            }
        }
        "TO_CHAR" | "TO_VARCHAR" => {
            n(1, 2)?;
            match e.get(1).and_then(|f| constant(f)) {
                Some(f) => format!("strftime({}, {})", a[0], literal(&format(f))),
                None => format!("CAST({} AS VARCHAR)", a[0]),
            }
        }
        "TO_NUMBER" | "TO_DECIMAL" | "TO_NUMERIC" | "TRY_TO_NUMBER" | "TRY_TO_DECIMAL" | "TRY_TO_NUMERIC" => {
            n(1, 4)?;
            let cast = if name.starts_with("TRY_") { "TRY_CAST" } else { "CAST" };
            // A format (second argument as a string) is not read.
            let nums: Vec<&String> = a.iter().skip(1).zip(e.iter().skip(1)).filter(|(_, x)| constant(x).is_none()).map(|(s, _)| s).collect();
            let (p, s) = match nums.as_slice() {
                [] => ("38".to_string(), "0".to_string()),
                [p] => (p.to_string(), "0".into()),
                [p, s, ..] => (p.to_string(), s.to_string()),
            };
            format!("{cast}({} AS DECIMAL({p}, {s}))", a[0])
        }
        "TO_DOUBLE" => format!("CAST({} AS DOUBLE)", a.first().map_or("NULL", |s| s)),
        "TRY_TO_DOUBLE" => format!("TRY_CAST({} AS DOUBLE)", a.first().map_or("NULL", |s| s)),
        "TO_BOOLEAN" => {
            n(1, 1)?;
            let v = format!("lower(trim(CAST(({}) AS VARCHAR)))", a[0]);
            format!(
                "(CASE WHEN ({0}) IS NULL THEN NULL WHEN {v} IN ('true', 't', 'yes', 'y', 'on', '1') THEN TRUE WHEN {v} IN ('false', 'f', 'no', 'n', 'off', '0') THEN FALSE \
                 WHEN TRY_CAST(({0}) AS DOUBLE) IS NOT NULL THEN TRY_CAST(({0}) AS DOUBLE) <> 0 ELSE CAST({v} AS BOOLEAN) END)",
                a[0]
            )
        }
        "TO_ARRAY" => {
            n(1, 1)?;
            format!("(CASE WHEN ({0}) IS NULL THEN NULL WHEN json_type(to_json({0})) = 'ARRAY' THEN to_json({0}) ELSE json_array({0}) END)", a[0])
        }
        "ARRAY_CONTAINS" => {
            n(2, 2)?;
            format!("list_contains(CAST(CAST(({}) AS JSON) AS JSON[]), CAST(({}) AS JSON))", a[1], a[0])
        }
        "ARRAY_SLICE" => {
            n(3, 3)?;
            format!("to_json(list_slice(CAST(CAST(({}) AS JSON) AS JSON[]), ({}) + 1, ({})))", a[0], a[1], a[2])
        }
        "ARRAY_SIZE" => {
            n(1, 1)?;
            format!("(CASE WHEN json_type(CAST(({0}) AS JSON)) = 'ARRAY' THEN json_array_length(CAST(({0}) AS JSON)) END)", a[0])
        }
        "GET_PATH" => {
            n(2, 2)?;
            let p = constant(e[1]).ok_or_else(|| WarehouseError::Unsupported("GET_PATH with a path that is not a constant".into()))?;
            let path = super::flatten::json_path(p)?;
            format!("(CAST(({}) AS JSON) -> {})", a[0], literal(&path))
        }
        "GET" => {
            n(2, 2)?;
            match e[1] {
                Expr::Value(v) => match &v.value {
                    Value::Number(i, _) => format!("(CAST(({}) AS JSON) -> '$[{i}]')", a[0]),
                    Value::SingleQuotedString(k) => format!("(CAST(({}) AS JSON) -> {})", a[0], literal(&format!("$.\"{}\"", k.replace('"', "\\\"")))),
                    _ => return Err(WarehouseError::Unsupported("GET with a key that is not a constant".into())),
                },
                _ => format!("(CAST(({}) AS JSON) -> ('$[' || CAST(({}) AS VARCHAR) || ']'))", a[0], a[1]),
            }
        }
        "TYPEOF" => {
            n(1, 1)?;
            let t = format!("json_type(CAST(({}) AS JSON))", a[0]);
            format!("(CASE {t} WHEN 'BIGINT' THEN 'INTEGER' WHEN 'UBIGINT' THEN 'INTEGER' WHEN 'DOUBLE' THEN 'DECIMAL' WHEN 'NULL' THEN 'NULL_VALUE' ELSE {t} END)")
        }
        "IS_ARRAY" => format!("(json_type(CAST(({}) AS JSON)) = 'ARRAY')", a.first().map_or("NULL", |s| s)),
        "IS_OBJECT" => format!("(json_type(CAST(({}) AS JSON)) = 'OBJECT')", a.first().map_or("NULL", |s| s)),
        "IS_NULL_VALUE" => format!("(json_type(CAST(({}) AS JSON)) = 'NULL')", a.first().map_or("NULL", |s| s)),
        "TRY_PARSE_JSON" => format!("(CASE WHEN json_valid({0}) THEN json({0}) END)", a.first().map_or("NULL", |s| s)),
        "CHECK_JSON" => format!("(CASE WHEN ({0}) IS NULL OR json_valid({0}) THEN NULL ELSE 'invalid JSON' END)", a.first().map_or("NULL", |s| s)),
        "AS_VARCHAR" => format!("(CAST(({}) AS JSON) ->> '$')", a.first().map_or("NULL", |s| s)),
        "AS_INTEGER" => format!("CAST((CAST(({}) AS JSON) ->> '$') AS BIGINT)", a.first().map_or("NULL", |s| s)),
        "OBJECT_CONSTRUCT" if a.is_empty() => "json_object()".into(),
        // A NULL value drops its key: a merge patch with a null removes the key.
        "OBJECT_CONSTRUCT" => format!("json_merge_patch('{{}}', json_object({joined}))"),
        "OBJECT_CONSTRUCT_KEEP_NULL" => format!("json_object({joined})"),
        "OBJECT_INSERT" => {
            n(3, 3)?;
            format!("json_merge_patch(CAST(({}) AS JSON), json_object({}, {}))", a[0], a[1], a[2])
        }
        "OBJECT_DELETE" => {
            n(2, usize::MAX)?;
            let paths: Vec<String> = a[1..].iter().map(|k| format!("('$.\"' || ({k}) || '\"')")).collect();
            format!("json_remove(CAST(({}) AS JSON), {})", a[0], paths.join(", "))
        }
        "OBJECT_KEYS" => format!("to_json(json_keys(CAST(({}) AS JSON)))", a.first().map_or("NULL", |s| s)),
        "OBJECT_AGG" => format!("json_group_object({joined})"),
        "SPLIT" => {
            n(2, 2)?;
            format!("to_json(string_split({}, {}))", a[0], a[1])
        }
        "SPLIT_PART" => {
            n(3, 3)?;
            format!("split_part({}, {}, CASE WHEN ({2}) = 0 THEN 1 ELSE ({2}) END)", a[0], a[1], a[2])
        }
        "STRTOK" => {
            n(1, 3)?;
            let d = a.get(1).cloned().unwrap_or_else(|| "' '".into());
            let i = a.get(2).cloned().unwrap_or_else(|| "1".into());
            format!("list_extract(list_filter(regexp_split_to_array({}, '[' || regexp_escape({d}) || ']'), lambda x: x <> ''), {i})", a[0])
        }
        "STRTOK_TO_ARRAY" => {
            n(1, 2)?;
            let d = a.get(1).cloned().unwrap_or_else(|| "' '".into());
            format!("to_json(list_filter(regexp_split_to_array({}, '[' || regexp_escape({d}) || ']'), lambda x: x <> ''))", a[0])
        }
        "REGEXP_SUBSTR" => {
            n(2, 4)?;
            let pos = a.get(2).cloned().unwrap_or_else(|| "1".into());
            let occ = a.get(3).cloned().unwrap_or_else(|| "1".into());
            format!("list_extract(regexp_extract_all(substr({}, {pos}), {}), {occ})", a[0], a[1])
        }
        "REGEXP_LIKE" => {
            n(2, 3)?;
            format!("regexp_full_match({joined})")
        }
        "REGEXP_COUNT" => {
            n(2, 2)?;
            format!("len(regexp_extract_all({}, {}))", a[0], a[1])
        }
        "CHARINDEX" => {
            n(2, 3)?;
            match a.get(2) {
                Some(p) => format!("(CASE WHEN instr(substr({1}, {p}), {0}) = 0 THEN 0 ELSE instr(substr({1}, {p}), {0}) + ({p}) - 1 END)", a[0], a[1]),
                None => format!("instr({}, {})", a[1], a[0]),
            }
        }
        "STARTSWITH" => format!("starts_with({joined})"),
        "ENDSWITH" => format!("ends_with({joined})"),
        "SHA2" => {
            n(1, 2)?;
            if a.get(1).is_some_and(|b| b != "256") {
                return Err(WarehouseError::Unsupported("SHA2 with a digest size other than 256".into()));
            }
            format!("sha256({})", a[0])
        }
        "HEX_ENCODE" => format!("upper(hex({}))", a.first().map_or("NULL", |s| s)),
        "BASE64_ENCODE" => format!("to_base64(encode({}))", a.first().map_or("NULL", |s| s)),
        "BASE64_DECODE_STRING" => format!("decode(from_base64({}))", a.first().map_or("NULL", |s| s)),
        "EDITDISTANCE" => format!("levenshtein({joined})"),
        "SOUNDEX" => {
            n(1, 1)?;
            soundex(&a[0])
        }
        "SPACE" => format!("repeat(' ', CAST({} AS BIGINT))", a.first().map_or("0", |s| s)),
        "SQUARE" => format!("power({}, 2)", a.first().map_or("NULL", |s| s)),
        "BITAND" => format!("(({}) & ({}))", a.first().map_or("NULL", |s| s), a.get(1).map_or("NULL", |s| s)),
        "BITOR" => format!("(({}) | ({}))", a.first().map_or("NULL", |s| s), a.get(1).map_or("NULL", |s| s)),
        "BITXOR" => format!("xor({joined})"),
        "BITSHIFTLEFT" => format!("(({}) << ({}))", a.first().map_or("NULL", |s| s), a.get(1).map_or("NULL", |s| s)),
        "BITSHIFTRIGHT" => format!("(({}) >> ({}))", a.first().map_or("NULL", |s| s), a.get(1).map_or("NULL", |s| s)),
        "BOOLAND_AGG" => format!("bool_and({joined})"),
        "BOOLOR_AGG" => format!("bool_or({joined})"),
        "BITAND_AGG" => format!("bit_and({joined})"),
        "BITOR_AGG" => format!("bit_or({joined})"),
        "BITXOR_AGG" => format!("bit_xor({joined})"),
        "CURRENT_VERSION" => "'8.0.0'".into(),
        "TIME_SLICE" => {
            n(3, 4)?;
            let p = part(e[2]).ok_or_else(|| bad_part(name))?;
            if e.get(3).and_then(|x| constant(x)).is_some_and(|w| w.eq_ignore_ascii_case("END")) {
                return Err(WarehouseError::Unsupported("TIME_SLICE with END".into()));
            }
            format!("time_bucket(INTERVAL ({}) {}, {})", a[1], p.to_uppercase(), a[0])
        }
        "UUID_STRING" if a.is_empty() => "CAST(gen_random_uuid() AS VARCHAR)".into(),
        "UUID_STRING" => return Err(WarehouseError::Unsupported("UUID_STRING with a namespace (version 5 UUIDs)".into())),
        "SEQ1" | "SEQ2" | "SEQ4" | "SEQ8" => "(row_number() OVER () - 1)".into(),
        "UNIFORM" => {
            n(3, 3)?;
            format!("CAST(floor(({0}) + random() * (({1}) - ({0}) + 1)) AS BIGINT)", a[0], a[1])
        }
        "WIDTH_BUCKET" => {
            n(4, 4)?;
            format!(
                "(CASE WHEN ({0}) < ({1}) THEN 0 WHEN ({0}) >= ({2}) THEN ({3}) + 1 ELSE CAST(floor((({0}) - ({1})) / (({2}) - ({1})) * ({3})) AS BIGINT) + 1 END)",
                a[0], a[1], a[2], a[3]
            )
        }
        _ => return Ok(None),
    }))
}

/// American Soundex as Snowflake computes it: the first letter, then the codes of the letters
/// after it (vowels, `Y`, `H`, `W` none; a letter coded like the one before it, or like the one
/// before an `H` or `W` between them, none), padded with zeros to three digits (`Pfister` →
/// `P236`).
fn soundex(arg: &str) -> String {
    // Letters only, upper case, bound once as a lambda's parameter.
    let s = "__recpipe_sx";
    // Codes of every letter: vowels and Y `0` (they separate equal codes), H and W `9` (they do
    // not: dropped before runs collapse).
    let coded = format!("replace(translate({s}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '01230129022455012623019202'), '9', '')");
    let collapsed = (0..=6).fold(coded, |acc, d| format!("regexp_replace({acc}, '{d}+', '{d}', 'g')"));
    // The first letter's own code goes (unless it is H or W, which has none), then the zeros.
    let digits = format!("replace(CASE WHEN left({s}, 1) IN ('H', 'W') THEN {collapsed} ELSE substr({collapsed}, 2) END, '0', '')");
    format!(
        "list_transform([regexp_replace(upper({arg}), '[^A-Z]', '', 'g')], lambda {s}: CASE WHEN {s} = '' THEN '' ELSE left({s}, 1) || rpad(left({digits}, 3), 3, '0') END)[1]"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_become_strftime_formats() {
        assert_eq!(format("YYYY-MM-DD HH24:MI:SS"), "%Y-%m-%d %H:%M:%S");
        assert_eq!(format("MON DD, YYYY"), "%b %d, %Y");
        assert_eq!(format("DD/MM/yyyy \"at\" HH12 AM"), "%d/%m/%Y at %I %p");
        assert_eq!(format("SS.FF3"), "%S.%f");
    }

    #[test]
    fn the_list_is_sorted_and_every_name_is_written() {
        assert!(SNOWFLAKE_FUNCTIONS.windows(2).all(|w| w[0] < w[1]));
    }
}
