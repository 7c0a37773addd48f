//! The function calls of a statement, as its tokens show them, and the check that refuses a
//! statement calling any function recpipe does not know (see [`super::allowlist`]).
//!
//! A name (`f`, `s.f`, `d.s.f`, `"f"`, `expr.f` for a method-style call) followed by `(` is a
//! call unless the tokens place it as one of the few other things SQL writes that way:
//! a keyword (`IN (`, `OVER (`, `CAST (`), a type (`DECIMAL(10, 2)`), a table being created or
//! inserted into with its columns (`CREATE TABLE t (`, `INSERT INTO t (`), an alias or a CTE
//! name with its column names (`AS v(a, b)`, `range(3) t(i)`, `WITH s (a) AS (`). Anything
//! else is a call, so a form this scanner does not recognise is checked, never passed over.

use super::allowlist;
use super::ident::{Ident, ObjectName};
use super::lexer::{Tok, Token};
use super::rewrite::match_parens;
use crate::WarehouseError;

/// One call: the function's name as written and the index of its last part.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: ObjectName,
    pub at: usize,
}

/// Every function call in `toks`, in order.
pub fn calls(toks: &[Token]) -> Result<Vec<Call>, WarehouseError> {
    let parens = match_parens(toks)?;
    let first = toks.first().map(|t| &t.tok);
    let starts = |k: &[&str]| first.is_some_and(|t| k.iter().any(|k| t.is_kw(k)));
    let mut out = Vec::new();
    for i in 0..toks.len() {
        if !toks.get(i + 1).is_some_and(|t| t.tok.is_op("(")) {
            continue;
        }
        let Some(last) = Ident::from_tok(&toks[i].tok) else { continue };
        if let Tok::Word(w) = &toks[i].tok {
            if allowlist::is_syntax_word(w) || allowlist::is_type_word(w) {
                continue;
            }
        }
        // `a.b.f(`: walk back over the qualifiers.
        let mut start = i;
        let mut parts = vec![last];
        while start >= 2 && toks[start - 1].tok.is_op(".") {
            match Ident::from_tok(&toks[start - 2].tok) {
                Some(q) => parts.insert(0, q),
                None => break,
            }
            start -= 2;
        }
        let prev = start.checked_sub(1).map(|p| &toks[p].tok);
        let close = parens[&(i + 1)];
        let column_list = names_only(&toks[i + 2..close]);
        let kw = |k: &str| prev.is_some_and(|p| p.is_kw(k));
        // The table a statement creates or writes, with its columns: right after the statement's
        // leading keywords (`INSERT INTO`, `CREATE OR REPLACE TABLE IF NOT EXISTS`,
        // `CREATE INDEX i ON`), or a foreign key's table.
        let relation = leading_target(&toks[..start]) || (kw("REFERENCES") && starts(&["CREATE", "ALTER"]));
        if relation || (column_list && (alias(toks, start, prev) || cte(toks, prev, close))) {
            continue;
        }
        out.push(Call { name: ObjectName(parts), at: i });
    }
    Ok(out)
}

/// Words a statement starts with before the table it creates or inserts into.
const LEADING: [&str; 18] = [
    "CREATE", "OR", "REPLACE", "TEMP", "TEMPORARY", "TRANSIENT", "VOLATILE", "LOCAL", "GLOBAL", "SECURE", "TABLE", "VIEW",
    "IF", "NOT", "EXISTS", "INSERT", "OVERWRITE", "INTO",
];

/// Whether `before` is all of a statement up to the table it creates or inserts into:
/// `CREATE [OR REPLACE] [TEMP] TABLE|VIEW [IF NOT EXISTS]`, `INSERT [OVERWRITE] INTO`, or
/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON`.
fn leading_target(before: &[Token]) -> bool {
    let words: Option<Vec<String>> = before.iter().map(|t| match &t.tok {
        Tok::Word(w) => Some(w.to_ascii_uppercase()),
        Tok::Quoted(q) => Some(format!("\"{q}")),
        _ => None,
    }).collect();
    let Some(words) = words else { return false };
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let keywords = |ws: &[&str]| ws.iter().all(|x| LEADING.contains(x));
    match w.as_slice() {
        ["CREATE", rest @ ..] if rest.contains(&"TABLE") || rest.contains(&"VIEW") => keywords(rest),
        ["INSERT", rest @ ..] if rest.last() == Some(&"INTO") => keywords(rest),
        ["CREATE", rest @ .., _, "ON"] => matches!(rest, ["INDEX"] | ["UNIQUE", "INDEX"] | ["INDEX", "IF", "NOT", "EXISTS"] | ["UNIQUE", "INDEX", "IF", "NOT", "EXISTS"]),
        _ => false,
    }
}

/// `a, b, "c"`: names separated by commas (an alias's or CTE's column names).
fn names_only(toks: &[Token]) -> bool {
    !toks.is_empty()
        && toks.iter().enumerate().all(|(n, t)| {
            if n % 2 == 0 {
                matches!(t.tok, Tok::Word(_) | Tok::Quoted(_))
            } else {
                t.tok.is_op(",")
            }
        })
        && toks.len() % 2 == 1
}

/// An alias with column names: `AS v(a)`, `range(3) t(i)`, `FROM tbl t(a)`.
fn alias(toks: &[Token], start: usize, prev: Option<&Tok>) -> bool {
    match prev {
        Some(p) if p.is_kw("AS") || p.is_op(")") => true,
        // `FROM [d.s.]tbl t(a)`: the word before is a table name right after FROM or JOIN.
        Some(Tok::Word(w)) if allowlist::is_syntax_word(w) || w.eq_ignore_ascii_case("ONLY") => false,
        Some(Tok::Word(_) | Tok::Quoted(_)) => {
            let mut s = start - 1;
            while s >= 2 && toks[s - 1].tok.is_op(".") && Ident::from_tok(&toks[s - 2].tok).is_some() {
                s -= 2;
            }
            s.checked_sub(1).is_some_and(|p| toks[p].tok.is_kw("FROM") || toks[p].tok.is_kw("JOIN"))
        }
        _ => false,
    }
}

/// A CTE's name with column names: `WITH s (a) AS (`, `, s (a) AS MATERIALIZED (`.
fn cte(toks: &[Token], prev: Option<&Tok>, close: usize) -> bool {
    let after = |n: usize| toks.get(close + n).map(|t| &t.tok);
    let opens = prev.is_some_and(|p| p.is_kw("WITH") || p.is_kw("RECURSIVE") || p.is_op(","));
    let body = after(2).is_some_and(|t| t.is_op("(") || t.is_kw("MATERIALIZED") || t.is_kw("NOT"));
    opens && after(1).is_some_and(|t| t.is_kw("AS")) && body
}

/// Refuses the statement with `Unknown function <NAME>` (002140) at its first call of a function
/// that is neither on recpipe's lists nor one `known` accepts (external functions).
pub fn check_calls(toks: &[Token], known: &dyn Fn(&ObjectName) -> Result<bool, WarehouseError>) -> Result<(), WarehouseError> {
    for call in calls(toks)? {
        if !allowlist::allows(&call.name) && !known(&call.name)? {
            return Err(WarehouseError::UnknownFunction(call.name.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<String> {
        calls(&super::super::lexer::lex(sql).unwrap()).unwrap().into_iter().map(|c| c.name.to_string()).collect()
    }

    #[test]
    fn every_spelling_of_a_call_is_found() {
        assert_eq!(names("select query('select 1')"), vec!["QUERY"]);
        assert_eq!(names("select * from \"query\"('x'), main.query_table('t'), system.main.query('y')"), vec!["query", "MAIN.QUERY_TABLE", "SYSTEM.MAIN.QUERY"]);
        assert_eq!(names("select * from query /* c */ ( 'x' ) -- y\n"), vec!["QUERY"]);
        assert_eq!(names("select 'select 1'.query(), t.c.lower()"), vec!["QUERY", "T.C.LOWER"]);
        assert_eq!(names("select * from t, lateral read_csv('x') r, table(glob('*'))"), vec!["READ_CSV", "GLOB"]);
        assert_eq!(names("select a::query('x'), cast(b as decimal(10, 2))"), vec!["QUERY"]);
        assert_eq!(names("select * from t where a glob ('x*')"), vec!["GLOB"]);
    }

    #[test]
    fn keywords_types_and_column_lists_are_not_calls() {
        let none: Vec<String> = Vec::new();
        for sql in [
            "select cast(a as varchar(10)), a::number(38, 0), extract(year from ts) from t",
            "select * from t where a in (1, 2) and exists (select 1) or not (b)",
            "select row_number() over (partition by a order by b), count(*) filter (where a > 1) from t",
            "insert into d.s.t (a, b) values (1, 2), (3, 4)",
            "create table if not exists t (a number(38,0), b timestamp_ntz(9), primary key (a))",
            "create view v (a) as select * from (values (1)) as x(a)",
            "with s (a) as (select 1), r(b) as materialized (select 2) select * from s, r",
            "select * from range(3) t(i) join u v(x) using (x)",
            "select * from u t(a, b)",
            "create index i on t (a)",
        ] {
            let found: Vec<String> = names(sql).into_iter().filter(|n| !allowlist::allows(&ObjectName::parse(n).unwrap())).collect();
            assert_eq!(found, none, "{sql}");
        }
        // Only the column-name shape is taken for an alias; anything else stays a call.
        assert_eq!(names("select * from range(3) query('select 1')"), vec!["RANGE", "QUERY"]);
        assert_eq!(names("select distinct query(a) from t"), vec!["QUERY"]);
        assert_eq!(names("select a, b query(c) from t"), vec!["QUERY"]);
        assert_eq!(names("select * from lateral query_table(t)"), vec!["QUERY_TABLE"]);
        assert_eq!(names("create table t as select * from a join b on current_setting(x)"), vec!["CURRENT_SETTING"]);
        assert_eq!(names("create view v as select * from table query_table(t)"), vec!["QUERY_TABLE"]);
        assert_eq!(names("create table t as select a from a join b on current_setting(x)"), vec!["CURRENT_SETTING"]);
        assert_eq!(names("create table t as select a from table query_table(t)"), vec!["QUERY_TABLE"]);
    }
}
