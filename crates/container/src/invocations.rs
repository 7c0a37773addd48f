//! The body of `POST /invocations`: `text/csv` rows `user,item` → one predicted rating per line,
//! or `application/json` `{"instances": [[user, item], ...]}` → `{"predictions": [...]}`.
//! Ids written `1`, `1.0`, `"1"` or `"1.0"` all mean id 1 (warehouses send numbers as floats).

use std::io::Write;

use recommender::Model;
use serde_json::Value;

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum InvokeError {
    #[error("line {line}: {reason}")]
    BadRow { line: usize, reason: String },
    #[error("instances[{index}]: {reason}")]
    BadInstance { index: usize, reason: String },
    #[error("body is not valid JSON: {0}")]
    BadJson(String),
    #[error("body must be a JSON object with an \"instances\" array of [user, item] pairs")]
    NoInstances,
    #[error("body is empty: send one `user,item` row per line")]
    Empty,
}

/// Parses an id written as an integer, a whole float, or either in double quotes.
pub fn parse_id(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let t = t.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(t).trim();
    if let Ok(v) = t.parse::<i64>() {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        Ok(_) => Err(format!("id {text:?} is not a whole number")),
        Err(_) => Err(format!("id {text:?} is not a number")),
    }
}

/// Predicts every CSV row into `out`, one rating per line. Blank lines are skipped.
pub fn predict_csv(model: &Model, body: &[u8], out: &mut Vec<u8>) -> Result<usize, InvokeError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| InvokeError::BadRow { line: 1 + count_lines(&body[..e.valid_up_to()]), reason: "not UTF-8".into() })?;
    let mut rows = 0;
    for (n, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| InvokeError::BadRow { line: n + 1, reason };
        let mut fields = line.split(',');
        let (Some(u), Some(i), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(bad(format!("expected 2 fields `user,item`, found {}", line.split(',').count())));
        };
        let u = parse_id(u).map_err(bad)?;
        let i = parse_id(i).map_err(|r| InvokeError::BadRow { line: n + 1, reason: r })?;
        let p = model.predict(u, i);
        let _ = writeln!(out, "{}", p.rating);
        rows += 1;
    }
    if rows == 0 {
        return Err(InvokeError::Empty);
    }
    Ok(rows)
}

fn count_lines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

fn json_id(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(i),
            (None, Some(f)) => parse_id(&f.to_string()),
            _ => Err(format!("id {n} is not a number")),
        },
        Value::String(s) => parse_id(s),
        other => Err(format!("id {other} must be a number or a string")),
    }
}

/// Predicts `{"instances": [[u, i], ...]}` into `{"predictions": [...]}`.
pub fn predict_json(model: &Model, body: &[u8]) -> Result<Vec<u8>, InvokeError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| InvokeError::BadJson(e.to_string()))?;
    let instances = v.get("instances").and_then(Value::as_array).ok_or(InvokeError::NoInstances)?;
    if instances.is_empty() {
        return Err(InvokeError::Empty);
    }
    let mut predictions = Vec::with_capacity(instances.len());
    for (index, inst) in instances.iter().enumerate() {
        let bad = |reason: String| InvokeError::BadInstance { index, reason };
        let pair = inst.as_array().filter(|a| a.len() == 2).ok_or_else(|| bad("expected [user, item]".into()))?;
        let u = json_id(&pair[0]).map_err(bad)?;
        let i = json_id(&pair[1]).map_err(|r| InvokeError::BadInstance { index, reason: r })?;
        predictions.push(model.predict(u, i).rating);
    }
    Ok(serde_json::to_vec(&serde_json::json!({ "predictions": predictions })).expect("floats serialise"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use recommender::Ratings;

    fn model() -> Model {
        let r = Ratings::from_rows([(1, 10, 4.0), (1, 20, 3.0), (2, 10, 5.0), (3, 30, 1.0), (2, 30, 2.5)]);
        let p = recommender::Params { cv_folds: 0, n_factors: 4, ..Default::default() };
        recommender::pipeline::train(&r, &p, &|_| {}).unwrap().0
    }

    #[test]
    fn ids_in_every_spelling() {
        for s in ["1", "1.0", "\"1\"", "\"1.0\"", " 1 "] {
            assert_eq!(parse_id(s), Ok(1), "{s}");
        }
        assert!(parse_id("1.5").unwrap_err().contains("whole"));
        assert!(parse_id("abc").unwrap_err().contains("not a number"));
    }

    #[test]
    fn csv_rows_and_errors() {
        let m = model();
        let mut out = Vec::new();
        assert_eq!(predict_csv(&m, b"1,10\r\n2.0,\"30\"\n\n", &mut out), Ok(2));
        let lines: Vec<f32> = String::from_utf8(out).unwrap().lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], m.predict(1, 10).rating);
        let err = predict_csv(&m, b"1,10\n2,x\n", &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "line 2: id \"x\" is not a number");
        let err = predict_csv(&m, b"1,10,3\n", &mut Vec::new()).unwrap_err();
        assert!(err.to_string().starts_with("line 1: expected 2 fields"));
        assert_eq!(predict_csv(&m, b"\n", &mut Vec::new()), Err(InvokeError::Empty));
    }

    #[test]
    fn json_instances() {
        let m = model();
        let out = predict_json(&m, br#"{"instances": [[1, 10], ["2", 30.0]]}"#).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["predictions"].as_array().unwrap().len(), 2);
        let err = predict_json(&m, br#"{"instances": [[1, 10], [2]]}"#).unwrap_err();
        assert_eq!(err.to_string(), "instances[1]: expected [user, item]");
        assert_eq!(predict_json(&m, b"[]").unwrap_err(), InvokeError::NoInstances);
    }
}
