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
    Ok((toks.map(|toks| SourceStatement { text: st.text.clone(), toks }), limit))
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
}
