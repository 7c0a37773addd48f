//! Snowflake → DuckDB on the syntax tree: one walk ([`VisitorMut`]) over a parsed statement that
//! gives it DuckDB's meaning, then DuckDB SQL printed from the tree.
//!
//! - names: unquoted identifiers fold to upper case ([`fold_identifiers`], run before the
//!   privilege check so both see the same names), and are quoted where DuckDB would not take
//!   them bare;
//! - `VALUES` anywhere a query stands names its columns `COLUMN1, COLUMN2, …`;
//! - `v:a.b[0]` and `v['k']` become JSON paths (`->`, or `->>` under a cast to a scalar type);
//! - Snowflake types become DuckDB's (`VARIANT` → `JSON`, `NUMBER(10,2)` → `DECIMAL(10,2)`, …);
//! - Snowflake functions DuckDB lacks or spells differently ([`allowlist::translation`] and
//!   [`snowflake_call`]); `MINUS` → `EXCEPT`;
//! - context functions become their values, external-function calls the registered scalar
//!   that calls them, `FLATTEN`/`TASK_HISTORY` and the `INFORMATION_SCHEMA` views recpipe
//!   answers become subqueries;
//! - a call of a function on no list is refused (`Unknown function`, see [`allowlist`]).
//!
//! Subqueries recpipe builds as text (external calls, `FLATTEN`, catalog views) stand in the tree
//! as placeholder names carrying a per-statement nonce and are put in place when it is printed.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident as SqIdent, JsonPath,
    JsonPathElem, ObjectName as SqName, Query, SetExpr, SetOperator, Statement, TableFactor, Value, VisitMut, VisitorMut,
};

use super::allowlist;
use super::ident::{Ident, ObjectName};
use super::context::TranslateContext;
use super::types::duck_type;
use crate::WarehouseError;

/// recpipe's name for a name of the tree (its identifiers already folded), or `None` for a name
/// of more than three parts or of a part that is not an identifier.
pub fn name_of(n: &SqName) -> Option<ObjectName> {
    let parts: Option<Vec<Ident>> = n.0.iter().map(|p| p.as_ident().filter(|i| matches!(i.quote_style, None | Some('"'))).map(|i| Ident::quoted(&i.value))).collect();
    parts.filter(|p| !p.is_empty() && p.len() <= 3).map(ObjectName)
}

/// An argument of a table function recpipe answers itself: its name (`NAME => …`, upper case),
/// its expression as written (names folded), and that expression as DuckDB SQL.
#[derive(Debug, Clone)]
pub struct TableArg {
    pub name: Option<String>,
    pub value: Expr,
    pub sql: String,
}

struct Fold;

impl VisitorMut for Fold {
    type Break = ();

    /// `IDENTIFIER('db.s.t')`: the name the string holds.
    fn pre_visit_relation(&mut self, n: &mut SqName) -> ControlFlow<()> {
        if let [sqlparser::ast::ObjectNamePart::Function(f)] = n.0.as_slice() {
            let text = match f.args.as_slice() {
                [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))] if f.name.value.eq_ignore_ascii_case("IDENTIFIER") => match &v.value {
                    Value::SingleQuotedString(t) => Some(t.clone()),
                    _ => None,
                },
                _ => None,
            };
            if let Some(name) = text.and_then(|t| ObjectName::parse(&t).ok()) {
                *n = SqName::from(name.0.iter().map(|i| SqIdent::with_quote('"', i.as_str())).collect::<Vec<_>>());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_ident(&mut self, i: &mut SqIdent) -> ControlFlow<()> {
        if i.quote_style.is_none() {
            i.value = i.value.to_uppercase();
            if !i.value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                i.quote_style = Some('"');
            }
        }
        ControlFlow::Continue(())
    }
}

/// Snowflake's folding: every unquoted identifier to upper case (quoted when DuckDB would not
/// read it bare, e.g. with a `$`); quoted identifiers keep their case.
pub fn fold_identifiers(st: &mut Statement) {
    let _ = st.visit(&mut Fold);
}

/// What DuckDB runs for one Snowflake statement: `main`, whose result is the statement's, with
/// the statements that must run before and after it in the same transaction (the sequence of an
/// `AUTOINCREMENT` column, the rows `INSERT OVERWRITE` replaces, a table's comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuckSql {
    pub before: Vec<String>,
    pub main: String,
    pub after: Vec<String>,
    /// A `MERGE`: the actions its clauses take, in the order Snowflake answers their counts
    /// (`INSERT`, `UPDATE`, `DELETE`); `main` returns one `merge_action` row per row changed.
    pub merge_actions: Vec<&'static str>,
}

impl DuckSql {
    /// Every statement in the order they run, `;`-separated (for display and `bench sql`).
    pub fn script(&self) -> String {
        self.before.iter().chain(std::iter::once(&self.main)).chain(&self.after).cloned().collect::<Vec<_>>().join(";\n")
    }
}

/// Translates a parsed (and folded) statement into the DuckDB SQL that runs it.
pub fn to_duck(mut st: Statement, ctx: &dyn TranslateContext) -> Result<DuckSql, WarehouseError> {
    let mut t = Translator { ctx, nonce: format!("{:08X}", rand_nonce()), raw: Vec::new(), insert_source: None, before: Vec::new(), after: Vec::new() };
    if let ControlFlow::Break(e) = st.visit(&mut t) {
        return Err(e);
    }
    if let Some(sql) = create_like(&st) {
        return Ok(DuckSql { before: t.before, main: sql, after: t.after, merge_actions: Vec::new() });
    }
    let merge_actions = match &st {
        Statement::Merge(m) => {
            // Snowflake answers a merge with its counts: DuckDB says what it did to each row.
            if m.output.is_some() {
                return Err(WarehouseError::Unsupported("MERGE with RETURNING or OUTPUT".into()));
            }
            merge_actions(m)
        }
        _ => Vec::new(),
    };
    let main = match &st {
        Statement::Comment { .. } => comment_sql(&st)?,
        _ => t.resolve(st.to_string()),
    };
    let main = if merge_actions.is_empty() { main } else { format!("{main} RETURNING merge_action") };
    Ok(DuckSql { before: t.before, main, after: t.after, merge_actions })
}

/// The actions a `MERGE`'s clauses take, in Snowflake's order of its result columns.
fn merge_actions(m: &sqlparser::ast::Merge) -> Vec<&'static str> {
    use sqlparser::ast::MergeAction;
    let has = |f: fn(&MergeAction) -> bool| m.clauses.iter().any(|c| f(&c.action));
    let mut out = Vec::new();
    if has(|a| matches!(a, MergeAction::Insert(_))) {
        out.push("INSERT");
    }
    if has(|a| matches!(a, MergeAction::Update(_))) {
        out.push("UPDATE");
    }
    if has(|a| matches!(a, MergeAction::Delete { .. })) {
        out.push("DELETE");
    }
    out
}

/// `COMMENT ON TABLE | VIEW | COLUMN … IS '…'` written for DuckDB, the comment as a literal.
fn comment_sql(st: &Statement) -> Result<String, WarehouseError> {
    let Statement::Comment { object_type, object_name, comment, if_exists } = st else { unreachable!("a comment") };
    use sqlparser::ast::CommentObject;
    let kind = match object_type {
        CommentObject::Table => "TABLE",
        CommentObject::View => "VIEW",
        CommentObject::Column => "COLUMN",
        other => return Err(WarehouseError::Unsupported(format!("COMMENT ON {other}"))),
    };
    if *if_exists {
        return Err(WarehouseError::Unsupported("COMMENT IF EXISTS".into()));
    }
    let text = comment.as_deref().map_or("NULL".to_string(), super::ident::literal);
    Ok(format!("COMMENT ON {kind} {object_name} IS {text}"))
}

/// Translates one expression (an argument recpipe evaluates itself, e.g. `TASK_HISTORY`'s
/// times), given as Snowflake SQL text.
pub fn expr_to_duck(text: &str, ctx: &dyn TranslateContext) -> Result<String, WarehouseError> {
    let mut st = super::front::parse_statement(&format!("SELECT {text}"))?;
    fold_identifiers(&mut st);
    let sql = to_duck(st, ctx)?.main;
    Ok(sql.strip_prefix("SELECT ").unwrap_or(&sql).to_string())
}

fn rand_nonce() -> u32 {
    let b = crate::random::bytes(4);
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

struct Translator<'a> {
    ctx: &'a dyn TranslateContext,
    nonce: String,
    raw: Vec<String>,
    /// An `INSERT`'s `VALUES` keep DuckDB's form (it inserts by position).
    insert_source: Option<*const Query>,
    /// Statements to run before and after the translated one ([`DuckSql`]).
    before: Vec<String>,
    after: Vec<String>,
}

fn string(s: &str) -> Expr {
    Expr::Value(Value::SingleQuotedString(s.to_string()).into())
}

impl Translator<'_> {
    fn placeholder(&self, n: usize) -> String {
        format!("__RECPIPE_{}_{n}__", self.nonce)
    }

    /// `sql` with the placeholders in it replaced.
    fn resolve(&self, mut sql: String) -> String {
        for (n, frag) in self.raw.iter().enumerate().rev() {
            sql = sql.replacen(&self.placeholder(n), frag, 1);
        }
        sql
    }

    /// A placeholder identifier that [`to_duck`] replaces with `sql`.
    fn raw(&mut self, sql: String) -> SqIdent {
        self.raw.push(sql);
        SqIdent::new(self.placeholder(self.raw.len() - 1))
    }

    fn function(&mut self, f: &mut sqlparser::ast::Function) -> Result<Option<Expr>, WarehouseError> {
        let name = name_of(&f.name).ok_or_else(|| WarehouseError::UnknownFunction(f.name.to_string()))?;
        let args: Vec<FunctionArg> = match &f.args {
            FunctionArguments::List(l) => l.args.clone(),
            _ => Vec::new(),
        };
        let empty_call = matches!(&f.args, FunctionArguments::List(l) if l.args.is_empty());
        let bare = name.0.len() == 1;
        let up = name.last().as_str().to_string();
        if bare && up == "LAST_QUERY_ID" {
            let n = match args.as_slice() {
                [] => -1,
                [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => e.to_string().replace(' ', "").parse::<i64>().map_err(|_| WarehouseError::Invalid(format!("LAST_QUERY_ID takes a constant integer, not {e}")))?,
                _ => return Err(WarehouseError::Invalid("LAST_QUERY_ID takes at most one argument, a constant integer".into())),
            };
            return Ok(Some(match self.ctx.last_query_id(n) {
                Some(id) => string(&id),
                None => Expr::Identifier(self.raw("CAST(NULL AS VARCHAR)".into())),
            }));
        }
        if bare && empty_call {
            match self.ctx.context_value(&up) {
                Some(v) => return Ok(Some(string(&v))),
                // A session without that part of the context: NULL, as in Snowflake (never the
                // engine's own idea of a current database).
                None if matches!(up.as_str(), "CURRENT_DATABASE" | "CURRENT_SCHEMA" | "CURRENT_WAREHOUSE") => {
                    return Ok(Some(Expr::Identifier(self.raw("CAST(NULL AS VARCHAR)".into()))));
                }
                None => {}
            }
        }
        if let Some(open) = self.ctx.external_call(&name, args.len())? {
            let list: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let sql = format!("{open}{}) AS VARCHAR)) AS JSON)", list.join(", "));
            return Ok(Some(Expr::Identifier(self.raw(sql))));
        }
        if !allowlist::allows(&name) && !self.ctx.known_function(&name)? {
            return Err(WarehouseError::UnknownFunction(name.to_string()));
        }
        if !bare {
            return Ok(None);
        }
        if up == "RATIO_TO_REPORT" && f.over.is_some() {
            let mut sum = f.clone();
            sum.name = SqName::from(vec![SqIdent::new("sum")]);
            return Ok(Some(Expr::Identifier(self.raw(format!("(({}) / ({sum}))", args.first().map_or("NULL".into(), |a| a.to_string()))))));
        }
        if up == "CONDITIONAL_TRUE_EVENT" {
            if let (Some(over), [arg]) = (&f.over, args.as_slice()) {
                return Ok(Some(Expr::Identifier(self.raw(format!("sum(CASE WHEN ({arg}) THEN 1 ELSE 0 END) OVER {over}")))));
            }
        }
        if !f.within_group.is_empty() && matches!(up.as_str(), "LISTAGG" | "ARRAY_AGG") {
            return Ok(Some(Expr::Identifier(self.raw(ordered_aggregate(f, &up)))));
        }
        if let Some(sql) = super::functions::call(&up, &args)? {
            return Ok(Some(Expr::Identifier(self.raw(sql))));
        }
        if let Some(duck) = allowlist::translation(&up) {
            f.name = SqName::from(vec![SqIdent::new(duck)]);
        }
        Ok(None)
    }

    /// A function in a `FROM` clause: `FLATTEN` and the table functions recpipe answers become
    /// subqueries; any other must be on the lists.
    fn table_function(&mut self, name: &SqName, args: &mut [FunctionArg]) -> Result<Option<String>, WarehouseError> {
        let n = name_of(name).ok_or_else(|| WarehouseError::UnknownFunction(name.to_string()))?;
        if n.0.len() == 1 && n.last().as_str() == "FLATTEN" {
            return self.flatten(args).map(Some);
        }
        if n.0.len() == 1 && n.last().as_str() == "GENERATOR" {
            return generator(args).map(Some);
        }
        if n.last().as_str() == "TASK_HISTORY" || (n.0.len() == 1 && n.last().as_str() == "RESULT_SCAN") {
            let mut table_args = Vec::new();
            for arg in args.iter() {
                let (name, value) = match arg {
                    FunctionArg::Named { name, arg: FunctionArgExpr::Expr(e), .. } => (Some(name.value.to_uppercase()), e),
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => (None, e),
                    _ => return Err(WarehouseError::Syntax(format!("invalid argument {arg} for function {n}"))),
                };
                let mut duck = value.clone();
                if let ControlFlow::Break(e) = duck.visit(self) {
                    return Err(e);
                }
                table_args.push(TableArg { name, value: value.clone(), sql: self.resolve(duck.to_string()) });
            }
            if let Some(sql) = self.ctx.table_function(&n, &table_args)? {
                return Ok(Some(sql));
            }
        }
        if !allowlist::allows(&n) && !self.ctx.known_function(&n)? {
            return Err(WarehouseError::UnknownFunction(n.to_string()));
        }
        Ok(None)
    }

    fn flatten(&mut self, args: &mut [FunctionArg]) -> Result<String, WarehouseError> {
        let syntax = super::flatten::syntax;
        let mut input = None;
        let mut path = "$".to_string();
        let mut outer = false;
        for (n, arg) in args.iter_mut().enumerate() {
            let (key, value) = match arg {
                FunctionArg::Named { name, arg: FunctionArgExpr::Expr(e), .. } => (name.value.to_uppercase(), e),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if n == 0 => ("INPUT".to_string(), e),
                _ => return Err(syntax()),
            };
            let flag = |v: &Expr| match v {
                Expr::Value(v) if v.value == Value::Boolean(true) => Ok(true),
                Expr::Value(v) if v.value == Value::Boolean(false) => Ok(false),
                _ => Err(WarehouseError::Invalid(format!("FLATTEN argument {key} must be TRUE or FALSE"))),
            };
            let text = |v: &Expr| match v {
                Expr::Value(v) => match &v.value {
                    Value::SingleQuotedString(s) | Value::DollarQuotedString(sqlparser::ast::DollarQuotedString { value: s, .. }) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            };
            match key.as_str() {
                "INPUT" => {
                    if let ControlFlow::Break(e) = value.visit(self) {
                        return Err(e);
                    }
                    input = Some(value.to_string());
                }
                "PATH" => match text(value) {
                    Some(p) => path = super::flatten::json_path(&p)?,
                    None => return Err(WarehouseError::Invalid("FLATTEN argument PATH must be a string".into())),
                },
                "OUTER" => outer = flag(value)?,
                "RECURSIVE" if flag(value)? => return Err(WarehouseError::Unsupported("FLATTEN with RECURSIVE => TRUE".into())),
                "RECURSIVE" => {}
                "MODE" => match text(value) {
                    Some(m) if m.eq_ignore_ascii_case("BOTH") => {}
                    _ => return Err(WarehouseError::Unsupported("FLATTEN with MODE other than 'BOTH'".into())),
                },
                _ => return Err(syntax()),
            }
        }
        let input = input.ok_or_else(syntax)?;
        Ok(super::flatten::subquery(&input, &path, outer))
    }

    /// `AUTOINCREMENT` / `IDENTITY` columns: each draws its default from a sequence of its own,
    /// created before the table in its schema (named after table and column, with this
    /// statement's nonce, so a replaced table's sequence never stands in the way).
    fn identity_columns(&mut self, c: &mut sqlparser::ast::CreateTable) -> Result<(), WarehouseError> {
        use sqlparser::ast::{ColumnOption, IdentityPropertyFormatKind, IdentityPropertyKind};
        let table = name_of(&c.name).ok_or_else(|| WarehouseError::Unsupported(format!("table name {}", c.name)))?;
        for col in &mut c.columns {
            for opt in &mut col.options {
                let ColumnOption::Identity(IdentityPropertyKind::Autoincrement(p) | IdentityPropertyKind::Identity(p)) = &opt.option else { continue };
                let (start, step) = match &p.parameters {
                    Some(IdentityPropertyFormatKind::FunctionCall(a) | IdentityPropertyFormatKind::StartAndIncrement(a)) => (a.seed.to_string(), a.increment.to_string()),
                    None => ("1".to_string(), "1".to_string()),
                };
                let number = |v: &str| v.parse::<i64>().map_err(|_| WarehouseError::Invalid(format!("invalid value {v} for the AUTOINCREMENT of column {}", col.name)));
                let (start, step) = (number(&start)?, number(&step)?);
                if step == 0 {
                    return Err(WarehouseError::Invalid(format!("the AUTOINCREMENT of column {} has an increment of 0", col.name)));
                }
                let mut seq = table.clone();
                let last = seq.0.pop().expect("a name has a part");
                seq.0.push(Ident::quoted(&format!("{}${}${}", last.as_str(), col.name.value, self.nonce)));
                let seq_sql = seq.0.iter().map(Ident::sql).collect::<Vec<_>>().join(".");
                let temp = if c.temporary { "TEMPORARY " } else { "" };
                self.before.push(format!("CREATE {temp}SEQUENCE {seq_sql} START WITH {start} INCREMENT BY {step}"));
                opt.option = ColumnOption::Default(Expr::Identifier(self.raw(format!("nextval({})", super::ident::literal(&seq_sql)))));
            }
        }
        Ok(())
    }

    /// `COMMENT = '…'` on a table: set after the table is created (DuckDB's `COMMENT ON`).
    fn table_comment(&mut self, c: &mut sqlparser::ast::CreateTable) {
        use sqlparser::ast::{CreateTableOptions, SqlOption};
        let mut text = c.comment.take().map(|d| d.to_string());
        if let CreateTableOptions::Plain(opts) | CreateTableOptions::With(opts) = &mut c.table_options {
            opts.retain(|o| match o {
                SqlOption::Comment(d) => {
                    text = Some(d.to_string());
                    false
                }
                _ => true,
            });
            if opts.is_empty() {
                c.table_options = CreateTableOptions::None;
            }
        }
        if let Some(text) = text {
            self.after.push(format!("COMMENT ON TABLE {} IS {}", c.name, super::ident::literal(&text)));
        }
    }

    /// `FROM r START WITH c CONNECT BY [PRIOR] a = [PRIOR] b`: the rows of `r` reachable from
    /// those meeting `c`, as a recursive CTE standing where `r` stood (under `r`'s name, so the
    /// query's other clauses read it as before). Rows are collected as a set, so a cycle in the
    /// data ends the walk instead of looping; Snowflake's `LEVEL`, `SYS_CONNECT_BY_PATH` and
    /// `CONNECT_BY_ROOT` are not answered.
    fn connect_by(&mut self, s: &mut sqlparser::ast::Select) -> Result<(), WarehouseError> {
        use sqlparser::ast::{ConnectByKind, TableAlias};
        let unsupported = |what: &str| WarehouseError::Unsupported(format!("CONNECT BY {what}"));
        let (mut start, mut rel) = (None, None);
        for k in std::mem::take(&mut s.connect_by) {
            match k {
                ConnectByKind::StartWith { condition, .. } => start = Some(*condition),
                ConnectByKind::ConnectBy { nocycle: _, relationships, .. } => rel = Some(relationships),
            }
        }
        let rel = rel.ok_or_else(|| unsupported("without its CONNECT BY condition"))?;
        let [from] = s.from.as_mut_slice() else { return Err(unsupported("over more than one table")) };
        if !from.joins.is_empty() {
            return Err(unsupported("over a join"));
        }
        let alias = match &from.relation {
            TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => a.name.clone(),
            TableFactor::Table { name, alias: None, .. } => name.0.last().and_then(|p| p.as_ident()).cloned().ok_or_else(|| unsupported("over this table"))?,
            _ => return Err(unsupported("over a source without a name")),
        };
        let source = self.resolve(from.relation.to_string());
        let prior = SqIdent::with_quote('"', "__RECPIPE_PRIOR");
        let mut conditions = Vec::new();
        for mut e in rel {
            let _ = e.visit(&mut PriorColumns { alias: &alias, prior: &prior });
            conditions.push(self.resolve(e.to_string()));
        }
        let start = match start {
            Some(c) => format!(" WHERE {}", self.resolve(c.to_string())),
            None => String::new(),
        };
        let sql = format!(
            "(WITH RECURSIVE {prior} AS (SELECT {alias}.* FROM {source}{start} UNION SELECT {alias}.* FROM {source} JOIN {prior} ON {}) SELECT * FROM {prior})",
            conditions.join(" AND ")
        );
        let name = SqName::from(vec![self.raw(sql)]);
        from.relation = table_factor(name, Some(TableAlias { explicit: true, name: alias, columns: Vec::new(), at: None }));
        Ok(())
    }

    /// A table factor standing for `sql` (a parenthesised subquery), keeping its alias.
    fn replace_factor(&mut self, t: &mut TableFactor, sql: String) {
        let alias = match t {
            TableFactor::Table { alias, .. } | TableFactor::Function { alias, .. } | TableFactor::TableFunction { alias, .. } => alias.take(),
            _ => None,
        };
        let name = SqName::from(vec![self.raw(sql)]);
        *t = table_factor(name, alias);
    }
}

/// A `CONNECT BY` condition's columns: `PRIOR x` is the column of the row found before (the
/// recursive CTE, `prior`), any other column is the source's (`alias`), qualified so neither is
/// ambiguous.
struct PriorColumns<'a> {
    alias: &'a SqIdent,
    prior: &'a SqIdent,
}

impl VisitorMut for PriorColumns<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        let column = |e: &Expr| match e {
            Expr::Identifier(i) => Some(i.clone()),
            Expr::CompoundIdentifier(p) => p.last().cloned(),
            _ => None,
        };
        match e {
            Expr::Prior(inner) => {
                if let Some(c) = column(inner) {
                    *e = Expr::CompoundIdentifier(vec![self.prior.clone(), c]);
                }
            }
            Expr::Identifier(i) => *e = Expr::CompoundIdentifier(vec![self.alias.clone(), i.clone()]),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// `LISTAGG(x, d) WITHIN GROUP (ORDER BY y)` → `string_agg(x, d ORDER BY y)`, and
/// `ARRAY_AGG(x) WITHIN GROUP (ORDER BY y)` → the JSON array of `array_agg(x ORDER BY y)`.
fn ordered_aggregate(f: &sqlparser::ast::Function, name: &str) -> String {
    let mut g = f.clone();
    let order = std::mem::take(&mut g.within_group);
    if let FunctionArguments::List(l) = &mut g.args {
        if name == "LISTAGG" && l.args.len() == 1 {
            l.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(string(""))));
        }
        l.clauses.push(sqlparser::ast::FunctionArgumentClause::OrderBy(order));
    }
    if name == "LISTAGG" {
        g.name = SqName::from(vec![SqIdent::new("string_agg")]);
        g.to_string()
    } else {
        format!("to_json({g})")
    }
}

/// `CREATE [OR REPLACE] TABLE a LIKE b` → `CREATE [OR REPLACE] TABLE a AS SELECT * FROM b LIMIT 0`,
/// `… a CLONE b` → `… a AS SELECT * FROM b`.
fn create_like(st: &Statement) -> Option<String> {
    let Statement::CreateTable(c) = st else { return None };
    let (source, limit) = match (&c.like, &c.clone) {
        (Some(sqlparser::ast::CreateTableLikeKind::Plain(l) | sqlparser::ast::CreateTableLikeKind::Parenthesized(l)), _) => (&l.name, " LIMIT 0"),
        (None, Some(src)) => (src, ""),
        (None, None) => return None,
    };
    let head = match (c.or_replace, c.temporary) {
        (true, true) => "CREATE OR REPLACE TEMPORARY TABLE",
        (true, false) => "CREATE OR REPLACE TABLE",
        (false, true) => "CREATE TEMPORARY TABLE",
        (false, false) => "CREATE TABLE",
    };
    let exists = if c.if_not_exists { " IF NOT EXISTS" } else { "" };
    Some(format!("{head}{exists} {} AS SELECT * FROM {source}{limit}", c.name))
}

/// `GENERATOR(ROWCOUNT => n)`: `n` rows of no columns (`SEQ4()` numbers them).
fn generator(args: &[FunctionArg]) -> Result<String, WarehouseError> {
    let mut rows = None;
    for arg in args {
        match arg {
            FunctionArg::Named { name, arg: FunctionArgExpr::Expr(e), .. } if name.value.eq_ignore_ascii_case("ROWCOUNT") => rows = Some(e.to_string()),
            FunctionArg::Named { name, .. } if name.value.eq_ignore_ascii_case("TIMELIMIT") => {
                return Err(WarehouseError::Unsupported("GENERATOR with TIMELIMIT".into()))
            }
            _ => return Err(WarehouseError::Syntax("GENERATOR takes ROWCOUNT => <number>".into())),
        }
    }
    let rows = rows.ok_or_else(|| WarehouseError::Syntax("GENERATOR takes ROWCOUNT => <number>".into()))?;
    Ok(format!("(SELECT NULL AS \"__G\" FROM range(CAST(({rows}) AS BIGINT)))"))
}

/// `FROM name [alias]` as a tree node.
fn table_factor(name: SqName, alias: Option<sqlparser::ast::TableAlias>) -> TableFactor {
    let mut st = super::front::parse_statement("SELECT * FROM X").expect("a fixed statement parses");
    let Statement::Query(q) = &mut st else { unreachable!("a query") };
    let SetExpr::Select(s) = q.body.as_mut() else { unreachable!("a select") };
    let mut f = s.from.remove(0).relation;
    if let TableFactor::Table { name: n, alias: a, .. } = &mut f {
        *n = name;
        *a = alias;
    }
    f
}

/// `SELECT * FROM (VALUES …) AS _V(COLUMN1, …)`: Snowflake's names for the columns of `VALUES`.
fn named_values(values: sqlparser::ast::Values) -> SetExpr {
    let n = values.rows.first().map_or(1, |r| r.content.len()).max(1);
    let cols: Vec<String> = (1..=n).map(|i| format!("COLUMN{i}")).collect();
    let mut st = super::front::parse_statement(&format!("SELECT * FROM (VALUES (1)) AS _V({})", cols.join(", "))).expect("a fixed statement parses");
    let Statement::Query(q) = &mut st else { unreachable!("a query") };
    if let SetExpr::Select(s) = q.body.as_mut() {
        if let TableFactor::Derived { subquery, .. } = &mut s.from[0].relation {
            *subquery.body = SetExpr::Values(values);
        }
    }
    std::mem::replace(q.body.as_mut(), SetExpr::Values(sqlparser::ast::Values { explicit_row: false, value_keyword: false, rows: Vec::new() }))
}

/// The sequence `seq.NEXTVAL` (a compound name ending in an unquoted `NEXTVAL`) draws from.
pub fn sequence_of(parts: &[SqIdent]) -> Option<ObjectName> {
    let (last, seq) = parts.split_last()?;
    if last.quote_style.is_some() || !last.value.eq_ignore_ascii_case("NEXTVAL") || seq.is_empty() || seq.len() > 3 {
        return None;
    }
    name_of(&SqName::from(seq.to_vec()))
}

/// `SET t.a = …` → `SET a = …`: DuckDB takes the column's name alone.
fn unqualify(a: &mut sqlparser::ast::Assignment) {
    if let sqlparser::ast::AssignmentTarget::ColumnName(n) = &mut a.target {
        if n.0.len() > 1 {
            let last = n.0.pop().expect("a part");
            n.0 = vec![last];
        }
    }
}

/// `SELECT TOP n …` → `SELECT … LIMIT n`.
fn top_to_limit(q: &mut Query) {
    let SetExpr::Select(s) = q.body.as_mut() else { return };
    let Some(top) = s.top.take() else { return };
    let n = match top.quantity {
        Some(sqlparser::ast::TopQuantity::Expr(e)) => e,
        Some(sqlparser::ast::TopQuantity::Constant(n)) => Expr::Value(Value::Number(n.to_string(), false).into()),
        None => return,
    };
    q.limit_clause = Some(sqlparser::ast::LimitClause::LimitOffset { limit: Some(n), offset: None, limit_by: Vec::new() });
}

fn minus_to_except(body: &mut SetExpr) {
    if let SetExpr::SetOperation { left, op, right, .. } = body {
        if *op == SetOperator::Minus {
            *op = SetOperator::Except;
        }
        minus_to_except(left);
        minus_to_except(right);
    }
}

/// The DuckDB type for a Snowflake one, when they differ.
fn translate_type(t: &mut DataType) {
    let s = t.to_string();
    let (word, args): (String, Vec<String>) = match s.split_once('(') {
        Some((w, rest)) => (w.trim().to_uppercase(), rest.trim_end_matches(')').split(',').map(|a| a.trim().to_string()).collect()),
        None => (s.trim().to_uppercase(), Vec::new()),
    };
    if let Some(d) = duck_type(&word, &args) {
        *t = DataType::Custom(SqName::from(vec![SqIdent::new(d)]), Vec::new());
    }
}

fn is_scalar_type(t: &DataType) -> bool {
    let s = t.to_string().to_uppercase();
    let base = s.split('(').next().unwrap_or("").trim();
    !matches!(base, "VARIANT" | "OBJECT" | "ARRAY" | "JSON")
}

/// Snowflake's path (`:a.b[0]`, `['k']`) as a JSON path (`$.a.b[0]`, `$."k"`).
fn json_path(p: &JsonPath) -> Result<String, WarehouseError> {
    let mut out = String::from("$");
    let key = |k: &str| format!(".\"{}\"", k.replace('"', "\\\""));
    for el in &p.path {
        match el {
            JsonPathElem::Dot { key: k, quoted: false } => {
                out.push('.');
                out.push_str(k);
            }
            JsonPathElem::Dot { key: k, quoted: true } => out.push_str(&key(k)),
            JsonPathElem::Bracket { key: Expr::Value(v) } => match &v.value {
                Value::Number(n, _) => out.push_str(&format!("[{n}]")),
                Value::SingleQuotedString(k) => out.push_str(&key(k)),
                _ => return Err(WarehouseError::Unsupported("non-constant key in a VARIANT path".into())),
            },
            _ => return Err(WarehouseError::Unsupported("non-constant index in a VARIANT path".into())),
        }
    }
    Ok(out)
}

impl VisitorMut for Translator<'_> {
    type Break = WarehouseError;

    fn pre_visit_statement(&mut self, st: &mut Statement) -> ControlFlow<WarehouseError> {
        match st {
            Statement::Insert(i) => {
                self.insert_source = i.source.as_deref().map(|q| q as *const Query);
                // `INSERT OVERWRITE`: the table's rows are replaced, in one transaction.
                if i.overwrite {
                    i.overwrite = false;
                    self.before.push(format!("DELETE FROM {}", i.table));
                }
            }
            Statement::CreateTable(c) => {
                c.columns.iter_mut().for_each(|c| translate_type(&mut c.data_type));
                if let Err(e) = self.identity_columns(c) {
                    return ControlFlow::Break(e);
                }
                self.table_comment(c);
            }
            Statement::Update(u) => u.assignments.iter_mut().for_each(unqualify),
            Statement::Merge(m) => {
                for c in &mut m.clauses {
                    if let sqlparser::ast::MergeAction::Update(u) = &mut c.action {
                        if let sqlparser::ast::MergeUpdateKind::Set(a) = &mut u.kind {
                            a.iter_mut().for_each(unqualify);
                        }
                    }
                }
            }
            Statement::AlterTable(a) => {
                for op in &mut a.operations {
                    if let sqlparser::ast::AlterTableOperation::AddColumn { column_def, .. } = op {
                        translate_type(&mut column_def.data_type);
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<WarehouseError> {
        let r = (|| -> Result<Option<String>, WarehouseError> {
            match t {
                TableFactor::Table { name, args: None, .. } => match name_of(name) {
                    Some(n) if n.0.len() >= 2 => self.ctx.catalog_view(&n),
                    Some(_) => Ok(None),
                    None => Err(WarehouseError::Unsupported(format!("table reference {name}"))),
                },
                TableFactor::Table { name, args: Some(a), .. } => self.table_function(name, &mut a.args),
                TableFactor::Function { name, args, .. } => self.table_function(name, args),
                TableFactor::TableFunction { expr: Expr::Function(f), .. } => match &mut f.args {
                    FunctionArguments::List(l) => self.table_function(&f.name, &mut l.args),
                    _ => Ok(None),
                },
                _ => Ok(None),
            }
        })();
        match r {
            Ok(Some(sql)) => {
                // FLATTEN's input names columns of the rows before it: a lateral join.
                let flatten = matches!(t, TableFactor::Function { name, .. } | TableFactor::Table { name, .. } if name_of(name).is_some_and(|n| n.last().as_str() == "FLATTEN"))
                    || matches!(t, TableFactor::TableFunction { expr: Expr::Function(f), .. } if name_of(&f.name).is_some_and(|n| n.last().as_str() == "FLATTEN"));
                let sql = if flatten { format!("LATERAL {sql}") } else { sql };
                self.replace_factor(t, sql);
                ControlFlow::Continue(())
            }
            Ok(None) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    /// Snowflake sorts NULLs last ascending and first descending; DuckDB last both ways.
    fn pre_visit_order_by_expr(&mut self, o: &mut sqlparser::ast::OrderByExpr) -> ControlFlow<WarehouseError> {
        if o.options.nulls_first.is_none() {
            o.options.nulls_first = Some(matches!(o.options.sort, Some(sqlparser::ast::OrderBySort::Desc)));
        }
        ControlFlow::Continue(())
    }

    /// `t SAMPLE (p)`, `t SAMPLE (n ROWS)`: a subquery with DuckDB's `USING SAMPLE`.
    fn post_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<WarehouseError> {
        let (sample, alias) = match t {
            TableFactor::Table { sample, alias, .. } | TableFactor::Derived { sample, alias, .. } if sample.is_some() => (sample.take(), alias.take()),
            _ => return ControlFlow::Continue(()),
        };
        let (sqlparser::ast::TableSampleKind::BeforeTableAlias(s) | sqlparser::ast::TableSampleKind::AfterTableAlias(s)) = sample.expect("matched a sample");
        let Some(q) = &s.quantity else {
            return ControlFlow::Break(WarehouseError::Unsupported("SAMPLE without a quantity".into()));
        };
        if s.seed.is_some() || s.bucket.is_some() {
            return ControlFlow::Break(WarehouseError::Unsupported("SAMPLE with SEED or BUCKET".into()));
        }
        let spec = match (&q.unit, &s.name) {
            (Some(sqlparser::ast::TableSampleUnit::Rows), _) => format!("{} ROWS", q.value),
            (_, Some(sqlparser::ast::TableSampleMethod::System | sqlparser::ast::TableSampleMethod::Block)) => format!("{} PERCENT (system)", q.value),
            _ => format!("{} PERCENT (bernoulli)", q.value),
        };
        let sql = format!("(SELECT * FROM {t} USING SAMPLE {spec})");
        let name = SqName::from(vec![self.raw(sql)]);
        *t = table_factor(name, alias);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, q: &mut Query) -> ControlFlow<WarehouseError> {
        if let SetExpr::Select(s) = q.body.as_mut() {
            if !s.connect_by.is_empty() {
                if let Err(e) = self.connect_by(s) {
                    return ControlFlow::Break(e);
                }
            }
        }
        minus_to_except(&mut q.body);
        top_to_limit(q);
        let is_insert_source = self.insert_source == Some(q as *const Query);
        if !is_insert_source {
            if let SetExpr::Values(v) = q.body.as_mut() {
                let v = std::mem::replace(v, sqlparser::ast::Values { explicit_row: false, value_keyword: false, rows: Vec::new() });
                *q.body = named_values(v);
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<WarehouseError> {
        let r = (|| -> Result<(), WarehouseError> {
            match e {
                Expr::JsonAccess { value, path } => {
                    let p = json_path(path)?;
                    let v = std::mem::replace(value.as_mut(), Expr::Value(Value::Null.into()));
                    *e = Expr::Nested(Box::new(Expr::BinaryOp { left: Box::new(v), op: BinaryOperator::Arrow, right: Box::new(string(&p)) }));
                }
                Expr::Cast { expr, data_type, kind, .. } => {
                    if is_scalar_type(data_type) {
                        if let Expr::Nested(inner) = expr.as_mut() {
                            if let Expr::BinaryOp { op: op @ BinaryOperator::Arrow, .. } = inner.as_mut() {
                                *op = BinaryOperator::LongArrow;
                            }
                        }
                    }
                    translate_type(data_type);
                    let _: &CastKind = kind;
                }
                Expr::Function(f) => {
                    if let Some(new) = self.function(f)? {
                        *e = new;
                    }
                }
                Expr::RLike { negated, expr, pattern, .. } => {
                    let not = if *negated { "NOT " } else { "" };
                    *e = Expr::Identifier(self.raw(format!("({not}regexp_full_match({expr}, {pattern}))")));
                }
                // `x LIKE ANY ('a%', 'b%')`: any of the patterns.
                Expr::Like { any: true, escape_char: None, .. } | Expr::ILike { any: true, escape_char: None, .. } => {
                    let op = if matches!(e, Expr::ILike { .. }) { "ILIKE" } else { "LIKE" };
                    let (Expr::Like { negated, expr, pattern, .. } | Expr::ILike { negated, expr, pattern, .. }) = &*e else { unreachable!("matched above") };
                    let patterns: Vec<String> = match pattern.as_ref() {
                        Expr::Tuple(items) => items.iter().map(|p| p.to_string()).collect(),
                        Expr::Nested(p) => vec![p.to_string()],
                        other => vec![other.to_string()],
                    };
                    let any: Vec<String> = patterns.iter().map(|p| format!("({expr}) {op} ({p})")).collect();
                    let not = if *negated { "NOT " } else { "" };
                    *e = Expr::Identifier(self.raw(format!("({not}({}))", any.join(" OR "))));
                }
                // `EXTRACT('month', d)`: Snowflake's comma form.
                Expr::Extract { field, syntax: sqlparser::ast::ExtractSyntax::Comma, expr } => {
                    let part = field.to_string().trim_matches('\'').to_lowercase();
                    *e = Expr::Identifier(self.raw(format!("date_part({}, {expr})", super::ident::literal(&part))));
                }
                // `CEIL(x, 1)`: to a scale.
                Expr::Ceil { field: sqlparser::ast::CeilFloorKind::Scale(_), .. } | Expr::Floor { field: sqlparser::ast::CeilFloorKind::Scale(_), .. } => {
                    let f = if matches!(e, Expr::Ceil { .. }) { "ceil" } else { "floor" };
                    let sql = match &*e {
                        Expr::Ceil { expr, field: sqlparser::ast::CeilFloorKind::Scale(n) } | Expr::Floor { expr, field: sqlparser::ast::CeilFloorKind::Scale(n) } => {
                            format!("({f}(({expr}) * power(10, {n})) / power(10, {n}))")
                        }
                        _ => unreachable!("matched above"),
                    };
                    *e = Expr::Identifier(self.raw(sql));
                }
                // Snowflake refuses to divide by zero; DuckDB answers NULL or infinity.
                Expr::BinaryOp { op: BinaryOperator::Divide, right, .. } => {
                    let r = std::mem::replace(right.as_mut(), Expr::Value(Value::Null.into()));
                    let guarded = format!("(CASE WHEN ({r}) = 0 THEN error({}) ELSE ({r}) END)", super::ident::literal(crate::error::DIVISION_BY_ZERO));
                    **right = Expr::Identifier(self.raw(guarded));
                }
                // `COLLATE 'en-ci'`: case-insensitive comparison; other specifications are not read.
                Expr::Collate { expr, collation } => {
                    let ci = collation.to_string().to_lowercase().contains("ci");
                    let inner = std::mem::replace(expr.as_mut(), Expr::Value(Value::Null.into()));
                    *e = if ci { Expr::Identifier(self.raw(format!("({inner} COLLATE NOCASE)"))) } else { Expr::Nested(Box::new(inner)) };
                }
                // `seq.NEXTVAL`: the sequence's next value.
                Expr::CompoundIdentifier(parts) if sequence_of(parts).is_some() => {
                    let seq = sequence_of(parts).expect("matched above");
                    let name = seq.0.iter().map(Ident::sql).collect::<Vec<_>>().join(".");
                    *e = Expr::Identifier(self.raw(format!("nextval({})", super::ident::literal(&name))));
                }
                // `$1`: the first column of the rows selected from (DuckDB's `#1`).
                Expr::Value(v) if matches!(&v.value, Value::Placeholder(p) if p.len() > 1 && p.starts_with('$') && p[1..].bytes().all(|b| b.is_ascii_digit())) => {
                    let Value::Placeholder(p) = &v.value else { unreachable!("matched above") };
                    *e = Expr::Identifier(self.raw(format!("#{}", &p[1..])));
                }
                _ => {}
            }
            Ok(())
        })();
        match r {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => ControlFlow::Break(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ctx;

    impl TranslateContext for Ctx {
        fn external_call(&self, name: &ObjectName, argc: usize) -> Result<Option<String>, WarehouseError> {
            Ok((name.last().as_str() == "EF").then(|| format!("CAST(\"__EF_1\"('q', {argc}, CAST(JSON_ARRAY(")))
        }
        fn context_value(&self, func: &str) -> Option<String> {
            (func == "CURRENT_ROLE").then(|| "SYSADMIN".to_string())
        }
        fn known_function(&self, name: &ObjectName) -> Result<bool, WarehouseError> {
            Ok(name.last().as_str() == "EF")
        }
        fn table_function(&self, name: &ObjectName, args: &[TableArg]) -> Result<Option<String>, WarehouseError> {
            Ok((name.last().as_str() == "TASK_HISTORY").then(|| format!("(SELECT {} AS N)", args.len())))
        }
    }

    fn try_duck(sql: &str) -> Result<String, WarehouseError> {
        let mut st = super::super::front::parse_statement(sql)?;
        fold_identifiers(&mut st);
        to_duck(st, &Ctx).map(|d| d.script())
    }

    fn duck(sql: &str) -> String {
        try_duck(sql).unwrap()
    }

    #[test]
    fn values_columns_are_named_everywhere() {
        let named = "(SELECT * FROM (VALUES ('x', 'y'), ('z', 'w')) AS _V (COLUMN1, COLUMN2))";
        assert_eq!(duck("select upper(column1) as a from (values ('x','y'), ('z','w'))"), format!("SELECT UPPER(COLUMN1) AS A FROM {named}"));
        assert_eq!(duck("select * from (values ('x','y'), ('z','w')) v join t on v.column1 = t.a"), format!("SELECT * FROM {named} V JOIN T ON V.COLUMN1 = T.A"));
        assert!(duck("with v as (values (1)) select column1 from v").contains("AS _V (COLUMN1)"));
        assert!(duck("values (1, 2)").contains("AS _V (COLUMN1, COLUMN2)"));
        assert_eq!(duck("insert into t values (1, 2)"), "INSERT INTO T VALUES (1, 2)");
        assert_eq!(
            duck("insert into t select column1, parse_json(column2) from values (1, '{}'), (2, '[]')"),
            "INSERT INTO T SELECT COLUMN1, JSON(COLUMN2) FROM (SELECT * FROM (VALUES (1, '{}'), (2, '[]')) AS _V (COLUMN1, COLUMN2))"
        );
    }

    #[test]
    fn names_fold_and_types_translate() {
        assert_eq!(
            duck("create or replace table user_movie_recommendations (userid int, top_10_recommendations variant)"),
            "CREATE OR REPLACE TABLE USER_MOVIE_RECOMMENDATIONS (USERID BIGINT, TOP_10_RECOMMENDATIONS JSON)"
        );
        assert_eq!(duck("create table t (a number(10,2), \"b\" float, c timestamp_ntz, d string)"), "CREATE TABLE T (A DECIMAL(10,2), \"b\" DOUBLE, C TIMESTAMP, D VARCHAR)");
        assert_eq!(duck("select cast(x as variant), y::number, \"My t\".a$b from \"My t\""), "SELECT CAST(X AS JSON), Y::BIGINT, \"My t\".\"A$B\" FROM \"My t\"");
        assert_eq!(duck("select 'it''s a \"x\"'"), "SELECT 'it''s a \"x\"'");
        assert_eq!(duck("create or replace table a like movielens.public.b"), "CREATE OR REPLACE TABLE A AS SELECT * FROM MOVIELENS.PUBLIC.B LIMIT 0");
        assert_eq!(duck("select 1 minus select 2"), "SELECT 1 EXCEPT SELECT 2");
        assert_eq!(duck("select id from identifier('d.s.My_t')"), "SELECT ID FROM \"D\".\"S\".\"MY_T\"");
    }

    #[test]
    fn variant_paths_and_functions() {
        assert_eq!(duck("select v:a.b[0]::int from t"), "SELECT (V ->> '$.a.b[0]')::BIGINT FROM T");
        assert_eq!(duck("select v:a::varchar, v:a::variant, v['k'] from t"), "SELECT (V ->> '$.a')::VARCHAR, (V -> '$.a')::JSON, (V -> '$.\"k\"') FROM T");
        assert_eq!(duck("select t.v:Key from t"), "SELECT (T.V -> '$.Key') FROM T");
        assert_eq!(duck("select parse_json('[1]'), to_variant(1), current_role(), iff(a, 1, 2)"), "SELECT JSON('[1]'), TO_JSON(1), 'SYSADMIN', IF(A, 1, 2)");
        assert_eq!(duck("select nvl2(a, 1, 2), zeroifnull(b)"), "SELECT (CASE WHEN (A) IS NOT NULL THEN (1) ELSE (2) END), COALESCE((B), 0)");
        assert!(duck("select f.value from t, lateral flatten(input => t.v:items) f").contains("LATERAL (SELECT"));
        assert!(duck("select f.value from t, table(flatten(t.v)) f").contains("LATERAL (SELECT"));
    }

    #[test]
    fn external_calls_are_routed_with_their_argument_count() {
        assert_eq!(duck("select ef(a, upper(b)) from t"), "SELECT CAST(\"__EF_1\"('q', 2, CAST(JSON_ARRAY(A, UPPER(B)) AS VARCHAR)) AS JSON) FROM T");
        assert_eq!(duck("select db.s.ef() x"), "SELECT CAST(\"__EF_1\"('q', 0, CAST(JSON_ARRAY() AS VARCHAR)) AS JSON) AS X");
        assert_eq!(duck("select ef(ef(1))"), "SELECT CAST(\"__EF_1\"('q', 1, CAST(JSON_ARRAY(CAST(\"__EF_1\"('q', 1, CAST(JSON_ARRAY(1) AS VARCHAR)) AS JSON)) AS VARCHAR)) AS JSON)");
        // Its arguments are checked like any other expression.
        let e = try_duck("select ef((select count(*) from query('select 1')))").unwrap_err();
        assert!(matches!(&e, WarehouseError::UnknownFunction(n) if n == "QUERY"), "{e}");
    }

    #[test]
    fn refused_functions_are_refused_wherever_they_are_called() {
        for (sql, named) in [
            ("select * from read_csv('/etc/passwd')", "READ_CSV"),
            ("select * from t, lateral read_csv('x') r", "READ_CSV"),
            ("select * from table(glob('*'))", "GLOB"),
            ("select * from \"query\"('x')", "query"),
            ("select * from main.query_table('t')", "MAIN.QUERY_TABLE"),
            ("select 'select 1'.query()", "QUERY"),
            ("select * from t where a in (select current_setting('x'))", "CURRENT_SETTING"),
            ("select pg_catalog.upper('a')", "PG_CATALOG.UPPER"),
        ] {
            match try_duck(sql) {
                Err(WarehouseError::UnknownFunction(n)) => assert_eq!(n, named, "{sql}"),
                other => panic!("{sql}: {other:?}"),
            }
        }
        let e = try_duck("select * from table(flatten(input => v, recursive => true))").unwrap_err().to_string();
        assert!(e.contains("FLATTEN with RECURSIVE => TRUE"), "{e}");
        assert!(matches!(try_duck("select * from '/etc/passwd'"), Err(WarehouseError::Unsupported(_))));
    }

    #[test]
    fn table_functions_replace_the_call_and_its_table_wrapper() {
        assert_eq!(duck("select * from table(information_schema.task_history(task_name => 'T')) h where h.n > 0"), "SELECT * FROM (SELECT 1 AS N) H WHERE H.N > 0");
        assert_eq!(duck("select count(*) from table(task_history()) order by 1"), "SELECT COUNT(*) FROM (SELECT 0 AS N) ORDER BY 1 NULLS LAST");
        assert_eq!(duck("select * from table(range(x))"), "SELECT * FROM TABLE(RANGE(X))");
    }
}
