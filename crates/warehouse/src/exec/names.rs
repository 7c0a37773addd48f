//! Result column names as Snowflake gives them. An unaliased select item that is not a plain
//! column reference is named by its text as typed, in upper case (`COUNT(*)`,
//! `PREDICT(M, U)`), where DuckDB would name it by the statement it actually ran (which, after
//! recpipe's rewriting, shows internals such as an external function's registration).

use crate::sql::lexer::{Tok, Token};
use crate::sql::SourceStatement;

/// Keywords that end a select list at nesting depth 0.
const LIST_END: [&str; 12] = ["FROM", "WHERE", "GROUP", "HAVING", "QUALIFY", "ORDER", "LIMIT", "UNION", "EXCEPT", "INTERSECT", "MINUS", "WINDOW"];

/// For a `SELECT` whose list has exactly `ncol` items: the name of each item that needs one
/// (`None` where the engine's own name is already Snowflake's: aliases and column references).
/// `None` when the statement is not a plain `SELECT` or the list cannot be matched to the
/// columns (a `*` expands to an unknown number of them).
pub(super) fn select_item_names(st: &SourceStatement, ncol: usize) -> Option<Vec<Option<String>>> {
    let toks = &st.toks;
    let base = toks.first()?.start;
    if !toks[0].tok.is_kw("SELECT") {
        return None;
    }
    let mut i = 1;
    if toks.get(i).is_some_and(|t| t.tok.is_kw("DISTINCT") || t.tok.is_kw("ALL")) {
        i += 1;
    }
    let mut items: Vec<&[Token]> = Vec::new();
    let (mut depth, mut start) = (0usize, i);
    while i < toks.len() {
        let t = &toks[i].tok;
        match t {
            Tok::Op(o) if matches!(o.as_str(), "(" | "[" | "{") => depth += 1,
            Tok::Op(o) if matches!(o.as_str(), ")" | "]" | "}") => depth = depth.saturating_sub(1),
            Tok::Op(o) if o == "," && depth == 0 => {
                items.push(&toks[start..i]);
                start = i + 1;
            }
            Tok::Word(w) if depth == 0 && LIST_END.iter().any(|k| w.eq_ignore_ascii_case(k)) => break,
            _ => {}
        }
        i += 1;
    }
    items.push(&toks[start..i]);
    if items.len() != ncol || items.iter().any(|it| it.is_empty() || it.last().is_some_and(|t| t.tok.is_op("*") && !is_call_star(it))) {
        return None;
    }
    Some(items.into_iter().map(|it| item_name(st, base, it)).collect())
}

/// `count(*)`-like: the `*` is inside parentheses, not a projection.
fn is_call_star(item: &[Token]) -> bool {
    item.len() >= 2 && item[item.len() - 2].tok.is_op("(")
}

fn item_name(st: &SourceStatement, base: usize, item: &[Token]) -> Option<String> {
    let n = item.len();
    let is_name = |t: &Tok| matches!(t, Tok::Word(_) | Tok::Quoted(_));
    // `expr AS alias` or `expr alias`: the engine names it after the alias already.
    if n >= 2 && is_name(&item[n - 1].tok) {
        let before = &item[n - 2].tok;
        if before.is_kw("AS") || !(matches!(before, Tok::Op(_)) || item[n - 1].tok.is_kw("END")) {
            return None;
        }
    }
    // A column reference `a`, `t.a`, `db.s.t.a`: named after the column.
    let reference = item.iter().enumerate().all(|(k, t)| if k % 2 == 0 { is_name(&t.tok) } else { t.tok.is_op(".") });
    if reference && n % 2 == 1 {
        return None;
    }
    let (from, to) = (item[0].start.checked_sub(base)?, item[n - 1].end.checked_sub(base)?);
    st.text.get(from..to).map(str::to_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str, ncol: usize) -> Option<Vec<Option<String>>> {
        let st = crate::sql::split(sql).unwrap().remove(0);
        select_item_names(&st, ncol)
    }

    #[test]
    fn unaliased_expressions_are_named_by_their_text() {
        assert_eq!(
            names("select count(*), predict(m, u) as p, t.a, \"b\", a + 1 x, train('a.b', 'c') from t where 1 = 1", 6),
            Some(vec![Some("COUNT(*)".into()), None, None, None, None, Some("TRAIN('A.B', 'C')".into())])
        );
        assert_eq!(names("  select distinct f(a, (select max(b) from u)) from t", 1), Some(vec![Some("F(A, (SELECT MAX(B) FROM U))".into())]));
        assert_eq!(names("select 1", 1), Some(vec![Some("1".into())]));
    }

    #[test]
    fn lists_that_cannot_be_matched_are_left_alone() {
        assert_eq!(names("select * from t", 3), None);
        assert_eq!(names("select t.*, f(a) from t", 2), None);
        assert_eq!(names("select a, b from t", 3), None);
        assert_eq!(names("insert into t select 1", 1), None);
        assert_eq!(names("with x as (select 1) select * from x", 1), None);
    }
}
