//! The serving side of Snowflake's external-function data format: a batch `{"data": [[row, arg,
//! ...], ...]}` in, `{"data": [[row, value], ...]}` out, one output row per input row, same numbers,
//! same order.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::GatewayError;
use crate::Function;

/// One input row: its number and its arguments, checked against the function's signature.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub number: i64,
    pub args: Vec<Arg>,
}

/// A checked argument: text, or an id (a number or a string, rendered as CSV-safe text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Id(String),
}

impl Arg {
    pub fn as_str(&self) -> &str {
        match self {
            Arg::Text(s) | Arg::Id(s) => s,
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Id,
}

fn signature(f: Function) -> &'static [(&'static str, Kind)] {
    match f {
        Function::Train => &[("input_table_name", Kind::Text), ("output_table_name", Kind::Text)],
        Function::Deploy => &[("model_name", Kind::Text), ("model_url", Kind::Text)],
        Function::Invoke => &[("model_name", Kind::Text), ("user_id", Kind::Id), ("item_id", Kind::Id)],
        Function::Describe => &[("name_or_arn", Kind::Text)],
    }
}

fn bad(msg: String) -> GatewayError {
    GatewayError::BadBatch(msg)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_arg(f: Function, row: i64, (name, kind): (&str, Kind), v: Value) -> Result<Arg, GatewayError> {
    let fname = f.name();
    match (kind, v) {
        (Kind::Text, Value::String(s)) if !s.is_empty() => Ok(Arg::Text(s)),
        (Kind::Text, other) => Err(bad(format!("row {row}: {fname} argument {name} must be a non-empty string, got {}", type_name(&other)))),
        (Kind::Id, Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Arg::Id(i.to_string()))
            } else if let Some(u) = n.as_u64() {
                Ok(Arg::Id(u.to_string()))
            } else {
                match n.as_f64() {
                    Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(Arg::Id((x as i64).to_string())),
                    _ => Err(bad(format!("row {row}: {fname} argument {name} = {n} is not an integer id"))),
                }
            }
        }
        (Kind::Id, Value::String(s)) => {
            let ok = !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if ok {
                Ok(Arg::Id(s))
            } else {
                Err(bad(format!("row {row}: {fname} argument {name} = {s:?} is not an id (letters, digits, '.', '_' or '-', at most 64)")))
            }
        }
        (Kind::Id, other) => Err(bad(format!("row {row}: {fname} argument {name} must be a number or a string, got {}", type_name(&other)))),
    }
}

/// Parses and checks a batch for `f`. Errors name the row (by its row number when it has one,
/// else by its position in `data`).
pub fn parse(body: &[u8], f: Function) -> Result<Vec<Row>, GatewayError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let Value::Object(mut obj) = v else {
        return Err(bad(format!("the body must be an object {{\"data\": [...]}}, got {}", type_name(&v))));
    };
    if let Some(other) = obj.keys().find(|k| *k != "data") {
        return Err(bad(format!("the body's only key must be \"data\", found \"{other}\"")));
    }
    let data = match obj.remove("data") {
        Some(Value::Array(a)) => a,
        Some(other) => return Err(bad(format!("\"data\" must be an array of rows, got {}", type_name(&other)))),
        None => return Err(bad("the body has no \"data\" key".into())),
    };
    let sig = signature(f);
    let mut seen = HashSet::with_capacity(data.len());
    let mut rows = Vec::with_capacity(data.len());
    for (i, r) in data.into_iter().enumerate() {
        let Value::Array(cols) = r else {
            return Err(bad(format!("row at index {i}: must be an array [row_number, args...], got {}", type_name(&r))));
        };
        let number = match cols.first() {
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
            Some(other) => return Err(bad(format!("row at index {i}: the first element must be the integer row number, got {other}"))),
            None => return Err(bad(format!("row at index {i}: is empty; it must start with the row number"))),
        };
        if !seen.insert(number) {
            return Err(bad(format!("row {number}: the row number appears twice in the batch")));
        }
        if cols.len() - 1 != sig.len() {
            let names: Vec<&str> = sig.iter().map(|(n, _)| *n).collect();
            return Err(bad(format!("row {number}: {} takes {} argument(s) ({}), got {}", f.name(), sig.len(), names.join(", "), cols.len() - 1)));
        }
        let args = sig.iter().zip(cols.into_iter().skip(1)).map(|(s, v)| check_arg(f, number, *s, v)).collect::<Result<Vec<_>, _>>()?;
        rows.push(Row { number, args });
    }
    Ok(rows)
}

/// The response document for `values`, which pair with `rows` one to one.
pub fn render(rows: &[Row], values: Vec<Value>) -> Value {
    let data: Vec<Value> = rows.iter().zip(values).map(|(r, v)| Value::Array(vec![Value::from(r.number), v])).collect();
    serde_json::json!({ "data": data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str, f: Function) -> String {
        parse(body.as_bytes(), f).unwrap_err().to_string()
    }

    #[test]
    fn good_batches_parse_in_order() {
        let rows = parse(br#"{"data": [[0, "m", 1, "2"], [1, "m", 3.0, 4]]}"#, Function::Invoke).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].args, vec![Arg::Text("m".into()), Arg::Id("1".into()), Arg::Id("2".into())]);
        assert_eq!(rows[1].args[1], Arg::Id("3".into()));
        assert!(parse(br#"{"data": []}"#, Function::Train).unwrap().is_empty());
    }

    #[test]
    fn malformed_batches_name_the_row() {
        let cases = [
            ("[1]", Function::Train, "the body must be an object"),
            ("nope", Function::Train, "the body is not JSON"),
            (r#"{"data": [], "x": 1}"#, Function::Train, "only key must be \"data\", found \"x\""),
            (r#"{"rows": []}"#, Function::Train, "only key must be \"data\""),
            (r#"{"data": {}}"#, Function::Train, "\"data\" must be an array"),
            (r#"{"data": [[0, "a", "b"], 5]}"#, Function::Train, "row at index 1: must be an array"),
            (r#"{"data": [[0, "a", "b"], []]}"#, Function::Train, "row at index 1: is empty"),
            (r#"{"data": [["0", "a", "b"]]}"#, Function::Train, "row at index 0: the first element must be the integer row number, got \"0\""),
            (r#"{"data": [[0.5, "a", "b"]]}"#, Function::Train, "row at index 0: the first element"),
            (r#"{"data": [[0, "a", "b"], [7, "a"]]}"#, Function::Train, "row 7: train takes 2 argument(s) (input_table_name, output_table_name), got 1"),
            (r#"{"data": [[3, "a", null]]}"#, Function::Train, "row 3: train argument output_table_name must be a non-empty string, got null"),
            (r#"{"data": [[4, "m", 1.5, 2]]}"#, Function::Invoke, "row 4: invoke argument user_id = 1.5 is not an integer id"),
            (r#"{"data": [[5, "m", 1, "2,3"]]}"#, Function::Invoke, "row 5: invoke argument item_id = \"2,3\" is not an id"),
            (r#"{"data": [[6, "m", true, 2]]}"#, Function::Invoke, "row 6: invoke argument user_id must be a number or a string, got a boolean"),
            (r#"{"data": [[1, "x"], [1, "y"]]}"#, Function::Describe, "row 1: the row number appears twice"),
        ];
        for (body, f, want) in cases {
            let got = err(body, f);
            assert!(got.contains(want), "{body}: {got} !~ {want}");
        }
    }
}
