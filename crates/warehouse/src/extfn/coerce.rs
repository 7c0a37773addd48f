//! Arguments as Snowflake sends them: each value cast to the declared parameter type, then
//! mapped to JSON (numbers as numbers, VARCHAR as strings, VARIANT as is, NULL as null).

use serde_json::Value;

/// Snowflake's text for a number cast to VARCHAR: integral values without a fraction.
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => n.to_string(),
    }
}

fn one(v: Value, ty: &str) -> Result<Value, String> {
    Ok(match (ty, v) {
        (_, Value::Null) => Value::Null,
        ("VARCHAR", Value::String(s)) => Value::String(s),
        ("VARCHAR", Value::Number(n)) => Value::String(number_text(&n)),
        ("VARCHAR", Value::Bool(b)) => Value::String(b.to_string()),
        ("VARCHAR", other) => Value::String(other.to_string()),
        ("NUMBER" | "FLOAT", Value::Number(n)) => Value::Number(n),
        ("NUMBER" | "FLOAT", Value::String(s)) => {
            let t = s.trim();
            match serde_json::from_str::<serde_json::Number>(t) {
                Ok(n) => Value::Number(n),
                Err(_) => return Err(format!("Numeric value '{s}' is not recognized")),
            }
        }
        ("BOOLEAN", Value::Bool(b)) => Value::Bool(b),
        ("BOOLEAN", Value::String(s)) => match s.to_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Value::Bool(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Value::Bool(false),
            _ => return Err(format!("Boolean value '{s}' is not recognized")),
        },
        (_, other) => other,
    })
}

/// Decodes one row's `JSON_ARRAY(...)` text and casts each value to its declared type.
pub fn arguments(text: Option<&str>, types: &[String]) -> Result<Vec<Value>, String> {
    let values: Vec<Value> = match text {
        None => vec![Value::Null; types.len()],
        Some(t) => serde_json::from_str(t).map_err(|e| format!("bad argument array: {e}"))?,
    };
    if values.len() != types.len() {
        return Err(format!("expected {} arguments, got {}", types.len(), values.len()));
    }
    values.into_iter().zip(types).map(|(v, t)| one(v, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_cast_to_varchar_like_snowflake() {
        let types = vec!["VARCHAR".to_string(), "VARCHAR".to_string(), "NUMBER".to_string()];
        let got = arguments(Some(r#"[1.0, 2.5, "7"]"#), &types).unwrap();
        assert_eq!(got, vec![Value::from("1"), Value::from("2.5"), Value::from(7)]);
        assert!(arguments(Some(r#"[1, 2, "x"]"#), &types).is_err());
        assert_eq!(arguments(Some("[null, null, null]"), &types).unwrap()[0], Value::Null);
    }
}
