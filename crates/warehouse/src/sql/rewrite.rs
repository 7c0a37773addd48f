//! Rewrites a Snowflake statement that DuckDB runs into DuckDB SQL, token by token: names folded
//! and re-quoted, Snowflake types and functions translated, `col:path` to `->`, `FROM VALUES`
//! given column names, external-function calls routed to their registered scalar functions.

use std::collections::HashMap;

use super::ident::{literal, quote, ObjectName};
use super::lexer::{Tok, Token};
use super::types::duck_type;
use crate::WarehouseError;

/// What the rewriter asks of the session.
pub trait RewriteContext {
    /// If `name` is an external function callable with `argc` arguments: the SQL that opens the
    /// call, up to and including `CAST(JSON_ARRAY(` (the rewriter closes it with
    /// ` AS VARCHAR)) AS JSON)` after the call's own `)`). Checks privileges.
    fn external_call(&self, name: &ObjectName, argc: usize) -> Result<Option<String>, WarehouseError>;
    /// The value of a context function (`CURRENT_ROLE`, ...), if the session knows it.
    fn context_value(&self, func: &str) -> Option<String>;
    /// If `name(args)` is a table function recpipe answers itself (`TASK_HISTORY`): a
    /// parenthesised subquery that replaces the call, and the `TABLE( )` around it if any.
    fn table_function(&self, name: &ObjectName, args: &[Token]) -> Result<Option<String>, WarehouseError> {
        let _ = (name, args);
        Ok(None)
    }
    /// Whether `name` is a function the session resolves itself (an external function): the
    /// function check lets its calls through (the call itself checks privileges).
    fn known_function(&self, name: &ObjectName) -> Result<bool, WarehouseError> {
        let _ = name;
        Ok(false)
    }
    /// If `name` (followed by neither `(` nor `.`) is a catalog view recpipe answers itself
    /// (`INFORMATION_SCHEMA.TABLES`, ...): the parenthesised subquery that replaces it.
    fn catalog_view(&self, name: &ObjectName) -> Result<Option<String>, WarehouseError> {
        let _ = name;
        Ok(None)
    }
}

/// Statements DuckDB runs for recpipe, by first word (or `(`); any other statement is refused.
const PASSTHROUGH_FIRST: [&str; 17] = [
    "SELECT", "WITH", "VALUES", "FROM", "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "CREATE", "DROP", "ALTER",
    "BEGIN", "START", "COMMIT", "ROLLBACK", "EXPLAIN",
];
/// Statements the engine would also run nested in parentheses (`FROM (SUMMARIZE t)`,
/// `FROM (SHOW TABLES)`): refused there, as they read what no privilege check sees.
const NESTED_REFUSED: [&str; 14] = [
    "SHOW", "DESCRIBE", "DESC", "SUMMARIZE", "PIVOT", "UNPIVOT", "PIVOT_WIDER", "PIVOT_LONGER", "PRAGMA", "CALL", "EXPLAIN",
    "COPY", "ATTACH", "USE",
];
/// Object kinds recpipe does not create.
const BLOCKED_CREATE: [&str; 12] = [
    "STAGE", "TASK", "STREAM", "PIPE", "PROCEDURE", "SHARE", "SECRET", "MACRO", "FILE", "TAG",
    "INTEGRATION", "NETWORK",
];
/// Index of the matching `)` for each `(` (and `]` for `[`).
pub(crate) fn match_parens(toks: &[Token]) -> Result<HashMap<usize, usize>, WarehouseError> {
    let mut stack = Vec::new();
    let mut out = HashMap::new();
    for (i, t) in toks.iter().enumerate() {
        match &t.tok {
            Tok::Op(o) if o == "(" || o == "[" => stack.push(i),
            Tok::Op(o) if o == ")" || o == "]" => {
                let open = stack
                    .pop()
                    .ok_or_else(|| WarehouseError::Syntax(format!("unexpected '{o}'")))?;
                out.insert(open, i);
            }
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(WarehouseError::Syntax("unexpected end of statement, missing ')'".into()));
    }
    Ok(out)
}

/// Top-level argument count between `open` and its `close`.
fn arg_count(toks: &[Token], open: usize, close: usize) -> usize {
    if close == open + 1 {
        return 0;
    }
    let mut depth = 0;
    let mut n = 1;
    for t in &toks[open + 1..close] {
        match &t.tok {
            Tok::Op(o) if o == "(" || o == "[" => depth += 1,
            Tok::Op(o) if o == ")" || o == "]" => depth -= 1,
            Tok::Op(o) if o == "," && depth == 0 => n += 1,
            _ => {}
        }
    }
    n
}

fn word_upper(t: &Tok) -> Option<String> {
    match t {
        Tok::Word(w) => Some(w.to_uppercase()),
        _ => None,
    }
}

/// Words that begin a Snowflake statement, and the engine's own statements refused on purpose:
/// those recpipe does not run are "unsupported", any other first word a syntax error.
const SNOWFLAKE_COMMANDS: &[&str] = &[
    "ALTER", "BEGIN", "CALL", "COMMENT", "COMMIT", "COPY", "CREATE", "DELETE", "DESC", "DESCRIBE", "DROP", "EXECUTE", "EXPLAIN",
    "GET", "GRANT", "INSERT", "LIST", "LS", "MERGE", "PUT", "REMOVE", "REVOKE", "RM", "ROLLBACK", "SELECT", "SET", "SHOW",
    "START", "TRUNCATE", "UNDROP", "UNSET", "UPDATE", "USE", "VALUES", "WITH",
    // DuckDB's.
    "ANALYZE", "ATTACH", "CHECKPOINT", "DETACH", "EXPORT", "FROM", "IMPORT", "INSTALL", "LOAD", "PIVOT", "PRAGMA", "SUMMARIZE",
    "UNPIVOT", "VACUUM",
];

/// Emits an unquoted word in DuckDB SQL: upper-cased (Snowflake's folding) and quoted when it
/// holds characters DuckDB does not take unquoted.
fn emit_word(w: &str) -> String {
    let up = w.to_uppercase();
    if up.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        up
    } else {
        quote(&up)
    }
}

/// Rewrites one statement: refused unless its first word is one DuckDB may run for recpipe
/// and every function it calls is known (see [`super::calls`]).
pub fn rewrite(toks: &[Token], ctx: &dyn RewriteContext) -> Result<String, WarehouseError> {
    let first = toks.first().map(|t| &t.tok);
    let allowed = match first {
        Some(Tok::Op(o)) => o == "(",
        Some(Tok::Word(w)) => PASSTHROUGH_FIRST.iter().any(|k| w.eq_ignore_ascii_case(k)) && !(w.eq_ignore_ascii_case("UPDATE") && toks.get(1).is_some_and(|t| t.tok.is_kw("EXTENSIONS"))),
        _ => false,
    };
    if !allowed {
        let what = toks.iter().take(2).filter_map(|t| word_upper(&t.tok)).collect::<Vec<_>>().join(" ");
        // A word that begins no Snowflake statement is a syntax error, as Snowflake reports it.
        if let Some(Tok::Word(w)) = first {
            if !SNOWFLAKE_COMMANDS.iter().any(|k| w.eq_ignore_ascii_case(k)) {
                return Err(WarehouseError::Syntax(format!("line 1 at position 0 unexpected '{w}'.")));
            }
        }
        return Err(WarehouseError::Unsupported(if what.is_empty() { "statement".into() } else { what }));
    }
    for w in toks.windows(2) {
        if let (true, Some(kw)) = (w[0].tok.is_op("("), word_upper(&w[1].tok)) {
            if NESTED_REFUSED.contains(&kw.as_str()) {
                return Err(WarehouseError::Unsupported(format!("{kw} inside a statement")));
            }
        }
    }
    rewrite_expr(toks, ctx)
}

/// Rewrites a statement or a part of one (an argument recpipe evaluates): its function calls
/// checked, its names and Snowflake forms translated.
pub fn rewrite_expr(toks: &[Token], ctx: &dyn RewriteContext) -> Result<String, WarehouseError> {
    super::calls::check_calls(toks, &|name| ctx.known_function(name))?;
    let first = toks.first().and_then(|t| word_upper(&t.tok)).unwrap_or_default();
    let is_create = first == "CREATE" || first == "ALTER";
    if first == "CREATE" {
        let kind = toks
            .iter()
            .skip(1)
            .filter_map(|t| word_upper(&t.tok))
            .find(|w| !["OR", "REPLACE", "TEMPORARY", "TEMP", "TRANSIENT", "VOLATILE", "LOCAL", "GLOBAL"].contains(&w.as_str()))
            .unwrap_or_default();
        if BLOCKED_CREATE.contains(&kind.as_str()) {
            return Err(WarehouseError::Unsupported(format!("CREATE {kind}")));
        }
        if let Some(sql) = create_like(toks)? {
            return Ok(sql);
        }
    }
    let parens = match_parens(toks)?;
    let mut after: HashMap<usize, String> = HashMap::new();
    let mut cast_depths: Vec<usize> = Vec::new();
    let mut out = String::new();
    // Output offsets: where the current primary expression started, and of each open paren.
    let mut primary_start = 0usize;
    let mut open_at: Vec<(usize, usize, bool)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let tok = &toks[i].tok;
        let prev = i.checked_sub(1).map(|p| &toks[p].tok);
        let next = toks.get(i + 1).map(|t| &t.tok);
        if !out.is_empty() && !out.ends_with(['(', '.']) && !out.ends_with("::") && !matches!(tok, Tok::Op(o) if o == "," || o == ")" || o == "." || o == "]" || o == "[" || o == "::") {
            out.push(' ');
        }
        // `[db.]INFORMATION_SCHEMA.TABLES` and the like: answered with what the role may see.
        if matches!(tok, Tok::Word(_) | Tok::Quoted(_)) && !prev.is_some_and(|p| p.is_op(".")) {
            if let Some((name, end)) = dotted_name(toks, i).filter(|(n, _)| n.0.len() >= 2) {
                if !toks.get(end).is_some_and(|t| t.tok.is_op("(") || t.tok.is_op(".")) {
                    if let Some(sql) = ctx.catalog_view(&name)? {
                        primary_start = out.len();
                        out.push_str(&sql);
                        i = end;
                        continue;
                    }
                }
            }
        }
        match tok {
            Tok::Word(w) => {
                let up = w.to_uppercase();
                let after_dot = prev.is_some_and(|p| p.is_op("."));
                if !after_dot {
                    primary_start = out.len();
                }
                let call = next.is_some_and(|n| n.is_op("("));
                // `TABLE(f(...))` or a bare `f(...)`: a table function recpipe answers itself?
                if !after_dot {
                    let (at, outer) = if up == "TABLE" && call { (i + 2, Some(parens[&(i + 1)])) } else { (i, None) };
                    if let Some((name, open)) = call_name(toks, at) {
                        let close = parens[&open];
                        if outer.is_none_or(|o| o == close + 1) {
                            if name.0.len() == 1 && name.last().as_str() == "FLATTEN" {
                                let sql = super::flatten::flatten_sql(&toks[open + 1..close], ctx)?;
                                // The input names columns of the rows before it: a lateral join.
                                if !out.trim_end().to_ascii_uppercase().ends_with("LATERAL") {
                                    out.push_str("LATERAL ");
                                }
                                primary_start = out.len();
                                out.push_str(&sql);
                                i = outer.unwrap_or(close) + 1;
                                continue;
                            }
                            if let Some(sql) = ctx.table_function(&name, &toks[open + 1..close])? {
                                primary_start = out.len();
                                out.push_str(&sql);
                                i = outer.unwrap_or(close) + 1;
                                continue;
                            }
                        }
                    }
                }
                // A (possibly qualified) name followed by `(`: an external function?
                if !after_dot {
                    if let Some((name, open)) = call_name(toks, i) {
                        let close = parens[&open];
                        if let Some(opening) = ctx.external_call(&name, arg_count(toks, open, close))? {
                            out.push_str(&opening);
                            after.insert(close, " AS VARCHAR)) AS JSON)".into());
                            i = open + 1;
                            depth += 1;
                            open_at.push((primary_start, primary_start, true));
                            continue;
                        }
                    }
                }
                if call && !after_dot {
                    let empty_call = toks.get(i + 2).is_some_and(|t| t.tok.is_op(")"));
                    match ctx.context_value(&up) {
                        Some(v) if empty_call => {
                            out.push_str(&literal(&v));
                            i += 3;
                            continue;
                        }
                        // A session without that part of the context: NULL, as in Snowflake
                        // (never the engine's own idea of a current database).
                        None if empty_call && matches!(up.as_str(), "CURRENT_DATABASE" | "CURRENT_SCHEMA" | "CURRENT_WAREHOUSE") => {
                            out.push_str("CAST(NULL AS VARCHAR)");
                            i += 3;
                            continue;
                        }
                        _ => {}
                    }
                    if let Some(alias) = super::allowlist::translation(&up) {
                        out.push_str(alias);
                        i += 1;
                        continue;
                    }
                }
                if (up == "CAST" || up == "TRY_CAST") && call {
                    cast_depths.push(depth + 1);
                }
                let type_position = prev.is_some_and(|p| p.is_op("::"))
                    || (prev.is_some_and(|p| p.is_kw("AS")) && cast_depths.last() == Some(&depth))
                    || (is_create
                        && depth >= 1
                        && matches!(prev, Some(Tok::Word(_)) | Some(Tok::Quoted(_)))
                        && i >= 2
                        && (toks[i - 2].tok.is_op("(") || toks[i - 2].tok.is_op(",") || toks[i - 2].tok.is_kw("COLUMN")));
                if type_position {
                    let mut args = Vec::new();
                    let mut j = i + 1;
                    if call {
                        let close = parens[&(i + 1)];
                        args = toks[i + 2..close]
                            .iter()
                            .filter_map(|t| match &t.tok {
                                Tok::Number(n) => Some(n.clone()),
                                _ => None,
                            })
                            .collect();
                        j = close + 1;
                    }
                    if let Some(duck) = duck_type(&up, &args) {
                        out.push_str(&duck);
                        i = j;
                        continue;
                    }
                }
                if up == "VALUES" && prev.is_some_and(|p| p.is_kw("FROM")) {
                    let (sql_end, cols) = values_extent(toks, i, &parens);
                    out.push_str("(VALUES");
                    let names: Vec<String> = (1..=cols).map(|n| format!("COLUMN{n}")).collect();
                    after
                        .entry(sql_end)
                        .or_default()
                        .push_str(&format!(") AS _V({})", names.join(", ")));
                    i += 1;
                    continue;
                }
                out.push_str(&emit_word(w));
            }
            Tok::Quoted(q) => {
                if !prev.is_some_and(|p| p.is_op(".")) {
                    primary_start = out.len();
                }
                out.push_str(&quote(q));
            }
            Tok::Str(s) => {
                if prev.is_some_and(|p| p.is_kw("FROM") || p.is_kw("JOIN")) {
                    return Err(WarehouseError::Unsupported("reading files with FROM '<path>'".into()));
                }
                primary_start = out.len();
                out.push_str(&literal(s));
            }
            Tok::Number(n) => {
                primary_start = out.len();
                out.push_str(n);
            }
            Tok::Bind(b) => out.push_str(&b.replace(':', "$")),
            Tok::Op(o) if o == ":" && matches!(next, Some(Tok::Word(_)) | Some(Tok::Quoted(_))) => {
                // `expr:key.sub[0]` → `(expr->'$.key.sub[0]')`. Cast to a scalar type, the element
                // is read as text (`->>`), as Snowflake casts a VARIANT string without its quotes.
                let (path, j) = json_path(toks, i + 1)?;
                let op = if scalar_cast_follows(toks, j) { "->>" } else { "->" };
                out.truncate(out.trim_end().len());
                out.insert(primary_start, '(');
                out.push_str(&format!("{op}{})", literal(&path)));
                i = j;
                continue;
            }
            Tok::Op(o) => {
                match o.as_str() {
                    "(" | "[" => {
                        depth += 1;
                        let is_call = matches!(prev, Some(Tok::Word(_)) | Some(Tok::Quoted(_)));
                        open_at.push((out.len(), primary_start, is_call));
                    }
                    ")" | "]" => {
                        if cast_depths.last() == Some(&depth) {
                            cast_depths.pop();
                        }
                        depth = depth.saturating_sub(1);
                        if let Some((p, before, is_call)) = open_at.pop() {
                            primary_start = if is_call { before } else { p };
                        }
                    }
                    _ => {}
                }
                out.push_str(if o == "==" { "=" } else { o.as_str() });
            }
        }
        if let Some(extra) = after.remove(&i) {
            out.push_str(&extra);
        }
        i += 1;
    }
    Ok(out)
}

/// `a`, `a.b` or `a.b.c` starting at `at`: the name and the index after it.
pub(crate) fn dotted_name(toks: &[Token], at: usize) -> Option<(ObjectName, usize)> {
    let mut parts = vec![super::ident::Ident::from_tok(&toks.get(at)?.tok)?];
    let mut j = at + 1;
    while parts.len() < 3 && toks.get(j).is_some_and(|t| t.tok.is_op(".")) {
        match toks.get(j + 1).and_then(|t| super::ident::Ident::from_tok(&t.tok)) {
            Some(p) => parts.push(p),
            None => break,
        }
        j += 2;
    }
    Some((ObjectName(parts), j))
}

/// At a word that starts `a[.b[.c]](`: the name and the index of `(`.
fn call_name(toks: &[Token], i: usize) -> Option<(ObjectName, usize)> {
    let mut parts = Vec::new();
    let mut j = i;
    loop {
        parts.push(super::ident::Ident::from_tok(&toks.get(j)?.tok)?);
        match toks.get(j + 1).map(|t| &t.tok) {
            Some(t) if t.is_op(".") => j += 2,
            Some(t) if t.is_op("(") => break,
            _ => return None,
        }
        if parts.len() == 3 {
            return None;
        }
    }
    Some((ObjectName(parts), j + 1))
}

/// `VALUES (..), (..)`: the index of the last tuple's `)` and the first tuple's column count.
fn values_extent(toks: &[Token], values: usize, parens: &HashMap<usize, usize>) -> (usize, usize) {
    let mut j = values + 1;
    let mut cols = 0;
    let mut last = values;
    while let Some(close) = toks.get(j).filter(|t| t.tok.is_op("(")).and_then(|_| parens.get(&j)) {
        if cols == 0 {
            cols = arg_count(toks, j, *close);
        }
        last = *close;
        if toks.get(close + 1).is_some_and(|t| t.tok.is_op(",")) {
            j = close + 2;
        } else {
            break;
        }
    }
    (last, cols.max(1))
}

/// True when `toks[at..]` is `::T` with `T` a type that is not VARIANT/OBJECT/ARRAY.
fn scalar_cast_follows(toks: &[Token], at: usize) -> bool {
    let Some(Tok::Word(w)) = toks.get(at + 1).map(|t| &t.tok).filter(|_| toks.get(at).is_some_and(|t| t.tok.is_op("::"))) else {
        return false;
    };
    let up = w.to_uppercase();
    !matches!(up.as_str(), "VARIANT" | "OBJECT" | "ARRAY" | "JSON")
}

/// Reads `key(.key|[n])*` from `i`; returns the JSON path `$.key...` and the next index.
fn json_path(toks: &[Token], mut i: usize) -> Result<(String, usize), WarehouseError> {
    let mut path = String::from("$");
    let key = |t: &Tok| -> Option<String> {
        match t {
            Tok::Word(w) => Some(w.clone()),
            Tok::Quoted(q) => Some(format!("\"{}\"", q.replace('"', "\\\""))),
            _ => None,
        }
    };
    path.push('.');
    path.push_str(&key(&toks[i].tok).ok_or_else(|| WarehouseError::Syntax("bad path after ':'".into()))?);
    i += 1;
    loop {
        match toks.get(i).map(|t| &t.tok) {
            Some(t) if t.is_op(".") => {
                let k = toks.get(i + 1).and_then(|t| key(&t.tok)).ok_or_else(|| WarehouseError::Syntax("bad path after '.'".into()))?;
                path.push('.');
                path.push_str(&k);
                i += 2;
            }
            Some(t) if t.is_op("[") => match (toks.get(i + 1).map(|t| &t.tok), toks.get(i + 2).map(|t| &t.tok)) {
                (Some(Tok::Number(n)), Some(c)) if c.is_op("]") => {
                    path.push_str(&format!("[{n}]"));
                    i += 3;
                }
                _ => return Err(WarehouseError::Unsupported("non-constant index in a VARIANT path".into())),
            },
            _ => return Ok((path, i)),
        }
    }
}

/// `CREATE [OR REPLACE] TABLE a LIKE b` → `CREATE [OR REPLACE] TABLE a AS SELECT * FROM b LIMIT 0`.
fn create_like(toks: &[Token]) -> Result<Option<String>, WarehouseError> {
    let words: Vec<Option<String>> = toks.iter().map(|t| word_upper(&t.tok)).collect();
    let Some(like) = words.iter().position(|w| w.as_deref() == Some("LIKE")) else {
        return Ok(None);
    };
    let Some(table) = words.iter().position(|w| w.as_deref() == Some("TABLE")) else {
        return Ok(None);
    };
    if table > like || toks[..table].iter().any(|t| t.tok.is_op("(")) {
        return Ok(None);
    }
    let name = |range: &[Token]| -> Result<ObjectName, WarehouseError> {
        let mut c = super::cursor::Cursor::new(range);
        let n = c.object_name()?;
        c.expect_end()?;
        Ok(n)
    };
    let target = name(&toks[table + 1..like])?;
    let source = name(&toks[like + 1..])?;
    let head: Vec<String> = words[..table].iter().flatten().cloned().collect();
    Ok(Some(format!(
        "{} TABLE {} AS SELECT * FROM {} LIMIT 0",
        head.join(" "),
        target.sql(),
        source.sql()
    )))
}

/// The arguments of a call, split at top-level commas.
pub(crate) fn top_level_args(toks: &[Token]) -> Vec<&[Token]> {
    if toks.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, t) in toks.iter().enumerate() {
        match &t.tok {
            Tok::Op(o) if o == "(" || o == "[" => depth += 1,
            Tok::Op(o) if o == ")" || o == "]" => depth = depth.saturating_sub(1),
            Tok::Op(o) if o == "," && depth == 0 => {
                out.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&toks[start..]);
    out
}
