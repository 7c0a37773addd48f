//! Snowflake's `FLATTEN` table function over DuckDB's `json_each`: one row per element of an
//! array or per field of an object, with Snowflake's columns `SEQ`, `KEY`, `PATH`, `INDEX`,
//! `VALUE` and `THIS`. Used as `..., lateral flatten(input => v) f` or
//! `..., table(flatten(input => v, path => 'a.b')) f`.

use super::literal;
use crate::WarehouseError;

pub(super) fn syntax() -> WarehouseError {
    WarehouseError::Syntax("FLATTEN takes INPUT => <expression> and optionally PATH => '<path>', OUTER => FALSE, RECURSIVE => FALSE, MODE => 'BOTH'".into())
}

/// Snowflake's path (`a.b[0]`, `[1].c`) as a JSON path (`$.a.b[0]`, `$[1].c`).
pub(super) fn json_path(path: &str) -> Result<String, WarehouseError> {
    let ok = !path.is_empty() && path.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '$'));
    if !ok {
        return Err(WarehouseError::Invalid(format!("invalid FLATTEN path '{path}'")));
    }
    Ok(if path.starts_with('[') { format!("${path}") } else { format!("$.{path}") })
}

/// The subquery standing for `FLATTEN(INPUT => input, PATH => path)`: `input` DuckDB SQL,
/// `path` a JSON path from [`json_path`]; `outer` keeps one row of NULLs for an empty input.
pub(super) fn subquery(input: &str, path: &str, outer: bool) -> String {
    let join = if outer { "LEFT JOIN" } else { "," };
    let on = if outer { " ON TRUE" } else { "" };
    let path = literal(path);
    format!(
        "(SELECT CAST(hash(\"__FI\".\"I\") % 9007199254740991 AS BIGINT) AS \"SEQ\", \
         CASE WHEN right(\"__FE\".fullkey, 1) = ']' THEN NULL ELSE \"__FE\".key END AS \"KEY\", \
         regexp_replace(\"__FE\".fullkey, '^\\$\\.?', '') AS \"PATH\", \
         CASE WHEN right(\"__FE\".fullkey, 1) = ']' THEN CAST(\"__FE\".key AS BIGINT) END AS \"INDEX\", \
         \"__FE\".value AS \"VALUE\", \
         json_extract(\"__FI\".\"I\", {path}) AS \"THIS\" \
         FROM (SELECT CAST({input} AS JSON) AS \"I\") AS \"__FI\" {join} json_each(\"__FI\".\"I\", {path}) AS \"__FE\"{on})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_json_paths_and_junk_is_refused() {
        assert_eq!(json_path("a.b[0]").unwrap(), "$.a.b[0]");
        assert_eq!(json_path("[1].c").unwrap(), "$[1].c");
        assert!(json_path("a'); drop table t; --").is_err());
        assert!(json_path("").is_err());
    }
}
