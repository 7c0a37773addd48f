//! Snowflake's `FLATTEN` table function over DuckDB's `json_each`: one row per element of an
//! array or per field of an object, with Snowflake's columns `SEQ`, `KEY`, `PATH`, `INDEX`,
//! `VALUE` and `THIS`. Used as `..., lateral flatten(input => v) f` or
//! `..., table(flatten(input => v, path => 'a.b')) f`.

use super::lexer::{Tok, Token};
use super::literal;
use super::rewrite::{rewrite_expr, top_level_args, RewriteContext};
use crate::WarehouseError;

fn syntax() -> WarehouseError {
    WarehouseError::Syntax("FLATTEN takes INPUT => <expression> and optionally PATH => '<path>', OUTER => FALSE, RECURSIVE => FALSE, MODE => 'BOTH'".into())
}

/// Snowflake's path (`a.b[0]`, `[1].c`) as a JSON path (`$.a.b[0]`, `$[1].c`).
fn json_path(path: &str) -> Result<String, WarehouseError> {
    let ok = !path.is_empty() && path.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '$'));
    if !ok {
        return Err(WarehouseError::Invalid(format!("invalid FLATTEN path '{path}'")));
    }
    Ok(if path.starts_with('[') { format!("${path}") } else { format!("$.{path}") })
}

/// A parenthesised subquery standing for `FLATTEN(args)`; the input expression is rewritten
/// like any other (so `v:items` and folded names work inside it).
pub(super) fn flatten_sql(args: &[Token], ctx: &dyn RewriteContext) -> Result<String, WarehouseError> {
    let mut input = None;
    let mut path = "$".to_string();
    for (n, arg) in top_level_args(args).into_iter().enumerate() {
        let (key, value) = match arg {
            [k, arrow, v @ ..] if arrow.tok.is_op("=>") && !v.is_empty() => match &k.tok {
                Tok::Word(w) => (w.to_uppercase(), v),
                _ => return Err(syntax()),
            },
            v if n == 0 && !v.is_empty() => ("INPUT".to_string(), v),
            _ => return Err(syntax()),
        };
        let flag = |v: &[Token]| match v {
            [t] if t.tok.is_kw("TRUE") => Ok(true),
            [t] if t.tok.is_kw("FALSE") => Ok(false),
            _ => Err(WarehouseError::Invalid(format!("FLATTEN argument {key} must be TRUE or FALSE"))),
        };
        match key.as_str() {
            "INPUT" => input = Some(rewrite_expr(value, ctx)?),
            "PATH" => match value {
                [Token { tok: Tok::Str(p), .. }] => path = json_path(p)?,
                _ => return Err(WarehouseError::Invalid("FLATTEN argument PATH must be a string".into())),
            },
            "OUTER" if flag(value)? => return Err(WarehouseError::Unsupported("FLATTEN with OUTER => TRUE".into())),
            "RECURSIVE" if flag(value)? => return Err(WarehouseError::Unsupported("FLATTEN with RECURSIVE => TRUE".into())),
            "OUTER" | "RECURSIVE" => {}
            "MODE" => match value {
                [Token { tok: Tok::Str(m), .. }] if m.eq_ignore_ascii_case("BOTH") => {}
                _ => return Err(WarehouseError::Unsupported("FLATTEN with MODE other than 'BOTH'".into())),
            },
            _ => return Err(syntax()),
        }
    }
    let input = input.ok_or_else(syntax)?;
    let path = literal(&path);
    Ok(format!(
        "(SELECT CAST(hash(\"__FI\".\"I\") % 9007199254740991 AS BIGINT) AS \"SEQ\", \
         CASE WHEN right(\"__FE\".fullkey, 1) = ']' THEN NULL ELSE \"__FE\".key END AS \"KEY\", \
         regexp_replace(\"__FE\".fullkey, '^\\$\\.?', '') AS \"PATH\", \
         CASE WHEN right(\"__FE\".fullkey, 1) = ']' THEN CAST(\"__FE\".key AS BIGINT) END AS \"INDEX\", \
         \"__FE\".value AS \"VALUE\", \
         json_extract(\"__FI\".\"I\", {path}) AS \"THIS\" \
         FROM (SELECT CAST({input} AS JSON) AS \"I\") AS \"__FI\", json_each(\"__FI\".\"I\", {path}) AS \"__FE\")"
    ))
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
