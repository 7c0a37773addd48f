//! Forms of statements Snowflake's client libraries send (the Python connector's `write_pandas`,
//! the SQLAlchemy dialect's reflection) that mean a statement recpipe already runs, rewritten on
//! their tokens before the SQL front end sees them: `IDENTIFIER('db.s.t')` (bound names),
//! `DESC TABLE t TYPE = COLUMNS`, and `SHOW ... LIMIT n [FROM 'name']` (the dialect pages
//! through `SHOW`), whose limit is applied to the rows afterwards.

use crate::result::QueryResult;
use crate::sql::lexer::Tok;
use crate::sql::SourceStatement;
use crate::WarehouseError;

/// `SHOW ... LIMIT n FROM 'name'`: at most `n` rows, those named after `name`.
pub(crate) struct ShowLimit {
    rows: usize,
    after: Option<String>,
}

impl ShowLimit {
    pub fn apply(&self, r: &mut QueryResult) {
        let name_at = r.columns.iter().position(|c| c.name.eq_ignore_ascii_case("name"));
        if let (Some(after), Some(i)) = (&self.after, name_at) {
            r.rows.retain(|row| row.get(i).cloned().flatten().is_some_and(|n| n.as_str() > after.as_str()));
        }
        r.rows.truncate(self.rows);
    }
}

/// `SHOW PRIMARY|UNIQUE|IMPORTED KEYS ...` (SQLAlchemy's table reflection asks for them): recpipe's
/// tables declare no keys to clients (Snowflake does not enforce them either), so none are listed.
pub(crate) fn answer(st: &SourceStatement) -> Option<QueryResult> {
    let t = &st.toks;
    let keys = t.first()?.tok.is_kw("SHOW") && t.get(2).is_some_and(|k| k.tok.is_kw("KEYS"));
    if !keys {
        return None;
    }
    let columns: &[&str] = match t.get(1) {
        Some(k) if k.tok.is_kw("PRIMARY") || k.tok.is_kw("UNIQUE") => {
            &["created_on", "database_name", "schema_name", "table_name", "column_name", "key_sequence", "constraint_name", "rely", "comment"]
        }
        Some(k) if k.tok.is_kw("IMPORTED") => &[
            "created_on", "pk_database_name", "pk_schema_name", "pk_table_name", "pk_column_name", "fk_database_name", "fk_schema_name", "fk_table_name",
            "fk_column_name", "key_sequence", "update_rule", "delete_rule", "fk_name", "pk_name", "deferrability", "rely", "comment",
        ],
        _ => return None,
    };
    Some(QueryResult::table(columns, Vec::new()))
}

/// `COMMIT` or `ROLLBACK` with no transaction open succeeds, as in Snowflake (the drivers and
/// SQLAlchemy end every unit of work with one); the engine would refuse it.
pub(crate) fn settle(st: &SourceStatement, out: Result<QueryResult, WarehouseError>) -> Result<QueryResult, WarehouseError> {
    let bare = matches!(st.toks.as_slice(), [t] | [t, _] if t.tok.is_kw("COMMIT") || t.tok.is_kw("ROLLBACK"))
        && st.toks.get(1).is_none_or(|t| t.tok.is_kw("WORK"));
    match out {
        Err(WarehouseError::Execution(m)) if bare && m.contains("no transaction is active") => Ok(QueryResult::status("Statement executed successfully.")),
        other => other,
    }
}

/// The statement as the front end should read it (`None`: unchanged) and a SHOW's limit.
pub(crate) fn normalize(st: &SourceStatement) -> Result<(Option<SourceStatement>, Option<ShowLimit>), WarehouseError> {
    let mut toks = crate::stage::resolve_identifier_calls(&st.toks)?;
    let word = |toks: &[crate::sql::lexer::Token], i: usize| match toks.get(i).map(|t| &t.tok) {
        Some(Tok::Word(w)) => w.to_uppercase(),
        _ => String::new(),
    };
    let current = toks.as_deref().unwrap_or(&st.toks).to_vec();
    let n = current.len();
    let first = word(&current, 0);
    let mut limit = None;
    if (first == "DESC" || first == "DESCRIBE") && n >= 3 && word(&current, n - 3) == "TYPE" && current[n - 2].tok.is_op("=") && word(&current, n - 1) == "COLUMNS" {
        toks = Some(current[..n - 3].to_vec());
    } else if first == "SHOW" {
        if let Some(at) = current.iter().rposition(|t| t.tok.is_kw("LIMIT")) {
            let rows = match current.get(at + 1).map(|t| &t.tok) {
                Some(Tok::Number(v)) => v.parse::<usize>().ok(),
                _ => None,
            };
            let after = match (current.get(at + 2), current.get(at + 3).map(|t| &t.tok)) {
                (Some(f), Some(Tok::Str(s))) if f.tok.is_kw("FROM") => Some(Some(s.clone())),
                (None, _) => Some(None),
                _ => None,
            };
            if let (Some(rows), Some(after)) = (rows, after) {
                let end = if after.is_some() { at + 4 } else { at + 2 };
                if end == n {
                    limit = Some(ShowLimit { rows, after });
                    toks = Some(current[..at].to_vec());
                }
            }
        }
    }
    // The parser reads the text: it is rebuilt from the tokens it now stands for.
    let rebuilt = toks.map(|toks| {
        let mut s = SourceStatement { text: st.text.clone(), toks };
        crate::sql::render(&mut s);
        s
    });
    Ok((rebuilt, limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::split;

    fn norm(sql: &str) -> (String, Option<(usize, Option<String>)>) {
        let st = split(sql).unwrap().remove(0);
        let (out, limit) = normalize(&st).unwrap();
        let toks = out.map(|s| s.toks).unwrap_or(st.toks);
        (crate::stage::render(&toks), limit.map(|l| (l.rows, l.after)))
    }

    #[test]
    fn client_forms_become_plain_statements() {
        assert_eq!(norm("DESC /* sqlalchemy */ TABLE \"S\".\"T\" TYPE = COLUMNS").0, "DESC TABLE \"S\" . \"T\"");
        assert_eq!(norm("SHOW TABLES IN \"DB\".\"S\" LIMIT 10000"), ("SHOW TABLES IN \"DB\" . \"S\"".into(), Some((10000, None))));
        assert_eq!(norm("SHOW VIEWS IN s LIMIT 5 FROM 'B'").1, Some((5, Some("B".into()))));
        assert_eq!(norm("drop table if exists identifier('\"D\".s.t')").0, "drop table if exists \"D\" . \"S\" . \"T\"");
        assert_eq!(norm("select * from t limit 3").0, "select * from t limit 3");
    }

    #[test]
    fn key_listings_are_empty_and_idle_commits_succeed() {
        let st = |sql: &str| split(sql).unwrap().remove(0);
        let pk = answer(&st("SHOW /* x */ PRIMARY KEYS IN TABLE \"S\".\"T\"")).unwrap();
        assert!(pk.rows.is_empty() && pk.columns[4].name == "column_name");
        assert!(answer(&st("SHOW TABLES")).is_none());
        let idle = Err(WarehouseError::Execution("TransactionContext Error: cannot rollback - no transaction is active".into()));
        assert!(settle(&st("rollback"), idle).is_ok());
        let other = Err(WarehouseError::Execution("no transaction is active".into()));
        assert!(settle(&st("select 1"), other).is_err());
    }
}
