//! Snowflake data types: their canonical names (for function signatures) and the DuckDB types
//! that carry them.

/// Snowflake's canonical name of a type as written (`INT` → `NUMBER`, `STRING` → `VARCHAR`).
pub fn canonical(t: &str) -> String {
    let base = t.split('(').next().unwrap_or(t).trim().to_uppercase();
    match base.as_str() {
        "VARCHAR" | "STRING" | "TEXT" | "CHAR" | "CHARACTER" | "NCHAR" | "NVARCHAR" => "VARCHAR".into(),
        "INT" | "INTEGER" | "BIGINT" | "SMALLINT" | "TINYINT" | "BYTEINT" | "NUMBER" | "NUMERIC"
        | "DECIMAL" => "NUMBER".into(),
        "FLOAT" | "FLOAT4" | "FLOAT8" | "DOUBLE" | "DOUBLE PRECISION" | "REAL" => "FLOAT".into(),
        "BOOLEAN" => "BOOLEAN".into(),
        "DATETIME" | "TIMESTAMP" | "TIMESTAMP_NTZ" => "TIMESTAMP_NTZ".into(),
        other => other.to_string(),
    }
}

/// The type as Snowflake reports it in external-function headers (`VARCHAR(134217728)`,
/// `NUMBER(38,0)`), from a canonical name.
pub fn wire_name(t: &str) -> String {
    match canonical(t).as_str() {
        "VARCHAR" => "VARCHAR(134217728)".into(),
        "NUMBER" => "NUMBER(38,0)".into(),
        other => other.to_string(),
    }
}

/// The DuckDB type for a Snowflake type word (upper case) followed by its `(args)` if any, or
/// `None` when the word is not a Snowflake type name that needs translating.
pub fn duck_type(word: &str, args: &[String]) -> Option<String> {
    Some(match word {
        "VARIANT" | "OBJECT" | "ARRAY" => "JSON".into(),
        "STRING" | "TEXT" | "NVARCHAR" | "NCHAR" | "CHARACTER" => "VARCHAR".into(),
        "NUMBER" | "NUMERIC" | "DECIMAL" => match args {
            [] => "BIGINT".into(),
            [p] | [p, _] if args.len() == 1 || args[1] == "0" => {
                if p.parse::<u32>().is_ok_and(|p| p <= 18) {
                    "BIGINT".into()
                } else {
                    "HUGEINT".into()
                }
            }
            [p, s] => format!("DECIMAL({},{s})", p.parse::<u32>().unwrap_or(38).min(38)),
            _ => return None,
        },
        "INT" | "INTEGER" | "BYTEINT" => "BIGINT".into(),
        "FLOAT" | "FLOAT4" | "FLOAT8" | "REAL" => "DOUBLE".into(),
        "TIMESTAMP_NTZ" | "DATETIME" => "TIMESTAMP".into(),
        "TIMESTAMP_LTZ" | "TIMESTAMP_TZ" => "TIMESTAMPTZ".into(),
        "BINARY" | "VARBINARY" => "BLOB".into(),
        _ => return None,
    })
}

/// The SQL API's `rowType.type` for a DuckDB type name (from the result's logical type).
pub fn sf_type_of_duck(duck: &str) -> &'static str {
    let d = duck.to_uppercase();
    let base = d.split('(').next().unwrap_or(&d);
    match base {
        "JSON" => "variant",
        "TINYINT" | "SMALLINT" | "INTEGER" | "BIGINT" | "HUGEINT" | "UTINYINT" | "USMALLINT" | "UINTEGER"
        | "UBIGINT" | "UHUGEINT" | "DECIMAL" => "fixed",
        "FLOAT" | "DOUBLE" => "real",
        "BOOLEAN" => "boolean",
        "DATE" => "date",
        "TIME" => "time",
        "TIMESTAMP" | "TIMESTAMP_S" | "TIMESTAMP_MS" | "TIMESTAMP_NS" | "TIMESTAMPS" | "TIMESTAMPMS" | "TIMESTAMPNS" => "timestamp_ntz",
        "TIMESTAMP WITH TIME ZONE" | "TIMESTAMPTZ" => "timestamp_tz",
        "BLOB" => "binary",
        "LIST" | "STRUCT" | "MAP" | "ARRAY" => "variant",
        _ => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflake_types_map_to_duckdb() {
        assert_eq!(duck_type("VARIANT", &[]).as_deref(), Some("JSON"));
        assert_eq!(duck_type("NUMBER", &[]).as_deref(), Some("BIGINT"));
        assert_eq!(duck_type("NUMBER", &["38".into(), "0".into()]).as_deref(), Some("HUGEINT"));
        assert_eq!(duck_type("NUMBER", &["10".into(), "2".into()]).as_deref(), Some("DECIMAL(10,2)"));
        assert_eq!(duck_type("FLOAT", &[]).as_deref(), Some("DOUBLE"));
        assert_eq!(duck_type("TIMESTAMP_NTZ", &[]).as_deref(), Some("TIMESTAMP"));
        assert_eq!(duck_type("STRING", &[]).as_deref(), Some("VARCHAR"));
        assert_eq!(duck_type("VARCHAR", &[]), None);
    }

    #[test]
    fn canonical_names_for_signatures() {
        assert_eq!(canonical("int"), "NUMBER");
        assert_eq!(canonical("string"), "VARCHAR");
        assert_eq!(wire_name("varchar"), "VARCHAR(134217728)");
        assert_eq!(sf_type_of_duck("DECIMAL(10,2)"), "fixed");
        assert_eq!(sf_type_of_duck("JSON"), "variant");
    }
}
