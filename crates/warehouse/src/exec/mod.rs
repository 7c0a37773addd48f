//! Executes one statement: recpipe's own statements here and in the sibling modules, the rest
//! checked and translated on its syntax tree and run by DuckDB.

mod access;
pub(crate) mod caller_tables;
mod catalog_views;
mod declared;
mod external;
mod names;
mod objects;
mod quoted;
pub(crate) mod results;
pub(crate) mod reuse;
mod security;
mod show;
mod show_objects;
mod tasks;
mod users;

pub(crate) use access::Remembered;
pub(crate) use show::{like as like_matches, ts as show_ts};

use crate::result::{render_batch, Column, QueryResult};
use crate::session::Session;
use crate::sql::ast::Statement;
use crate::sql::types::sf_type_of_duck;
use crate::sql::own::{classify, Classified};
use crate::sql::translate::DuckSql;
use crate::sql::{Ident, SourceStatement};
use crate::{random, WarehouseError};

impl Session {
    pub fn execute_statement(&mut self, st: &SourceStatement) -> Result<QueryResult, WarehouseError> {
        self.execute_statement_as(st, random::uuid())
    }

    /// [`Session::execute_statement`] under the query id the caller reports to its client (the
    /// connector's `sfqid`, the SQL API's statement handle), so that `LAST_QUERY_ID()` and
    /// `RESULT_SCAN(id)` know the statement by that id.
    pub fn execute_statement_as(&mut self, st: &SourceStatement, query_id: String) -> Result<QueryResult, WarehouseError> {
        self.execute_in(st, query_id, Engine::Runs)?.ok_or_else(|| WarehouseError::Internal("a statement was not run".into()))
    }

    /// Answers `st` from the result the session kept for it (see [`reuse`]) without running it:
    /// `None` when the statement would have to run (then run it with
    /// [`Session::execute_statement_as`]). Cheap enough for a thread that should not block: the
    /// parse, privilege check and translation are the only work (the check's name lookups were
    /// remembered when the kept result was made, in the same generation), and they start only
    /// when a result of the current generation is kept for this very text.
    pub fn execute_reused(&mut self, st: &SourceStatement, query_id: String) -> Option<Result<QueryResult, WarehouseError>> {
        if !self.keeps_results_for(Some(&st.text)) {
            return None;
        }
        self.execute_in(st, query_id, Engine::KeptOnly).transpose()
    }

    /// Whether [`Session::execute_reused`] could answer statement text `text` (any text when
    /// `None`) now: a caller that has not split its request yet asks with `None` first.
    pub fn keeps_results_for(&self, text: Option<&str>) -> bool {
        self.use_cached_result && !self.in_transaction && self.reusable.holds(text, self.wh.catalog_generation())
    }

    fn execute_in(&mut self, st: &SourceStatement, query_id: String, engine: Engine) -> Result<Option<QueryResult>, WarehouseError> {
        self.current_statement = st.text.clone();
        self.current_query_id = query_id.clone();
        let (normalized, show_limit) = crate::client_sql::normalize(st)?;
        let st = normalized.as_ref().unwrap_or(st);
        let query = st.toks.first().is_some_and(|t| t.tok.is_kw("SELECT") || t.tok.is_kw("WITH"));
        if !query && engine == Engine::KeptOnly {
            return Ok(None);
        }
        // Names looked up before this statement are looked up afresh after it (and by other
        // sessions meanwhile) unless it is a query. `passthrough` also marks a tree that turns
        // out not to be a query.
        let wh = self.wh.clone();
        let change = (!query).then(|| wh.catalog_change());
        let outcome = self.dispatch(st, &query_id, engine);
        drop(change);
        let Some(mut result) = outcome? else { return Ok(None) };
        if let Some(limit) = show_limit {
            limit.apply(&mut result);
        }
        result.query_id = query_id;
        self.recent.keep(&result);
        Ok(Some(result))
    }

    fn dispatch(&mut self, st: &SourceStatement, query_id: &str, engine: Engine) -> Result<Option<QueryResult>, WarehouseError> {
        // Stages, file formats, PUT/GET, LIST/REMOVE and COPY INTO live in their own module.
        Ok(Some(match (crate::client_sql::answer(st), crate::stage::recognise(&st.toks)?) {
            (Some(answered), _) => answered,
            (None, Some(_)) if engine == Engine::KeptOnly => return Ok(None),
            (None, Some(stage)) => self.run_stage(stage)?,
            (None, None) => match classify(st)? {
                Classified::Duck(tree) => match self.passthrough(*tree, st, query_id, engine) {
                    Ok(None) => return Ok(None),
                    out => crate::client_sql::settle(st, out.map(|r| r.unwrap_or_default()))?,
                },
                Classified::Own(_) if engine == Engine::KeptOnly => return Ok(None),
                Classified::Own(own) => self.run_own(own)?,
            },
        }))
    }

    fn run_own(&mut self, st: Statement) -> Result<QueryResult, WarehouseError> {
        use Statement::*;
        match st {
            CreateDatabase { name, opts } => self.create_database(name, opts),
            CreateSchema { name, opts } => self.create_schema(name, opts),
            CreateWarehouse { name, opts, props } => self.create_warehouse(name, opts, props),
            DropDatabase { name, if_exists } => self.drop_database(name, if_exists),
            DropWarehouse { name, if_exists } => self.drop_warehouse(name, if_exists),
            Use { kind, name } => self.use_(kind, name),
            Show { kind, like, scope } => self.show(kind, like, scope),
            ShowGrants(of) => self.show_grants(of),
            ShowColumns { like, table, scope } => self.show_columns(like, table, scope),
            ShowParameters { like } => Ok(self.show_parameters(&like)),
            DescribeTable(name) => self.describe_table(name),
            DescribeIntegration(name) => self.describe_integration(name),
            DescribeFunction { name, arg_types } => self.describe_function(name, arg_types),
            CreateIntegration { def, opts } => self.create_integration(def, opts),
            AlterIntegration { name, set } => self.alter_integration(name, set),
            DropIntegration { name, if_exists } => self.drop_integration(name, if_exists),
            CreateFunction { def, opts } => self.create_function(def, opts),
            DropFunction { name, arg_types, if_exists } => self.drop_function(name, arg_types, if_exists),
            CreateRole { name, opts } => self.create_role(name, opts),
            DropRole { name, if_exists } => self.drop_role(name, if_exists),
            GrantRole { role, to_role, to_user } => self.grant_role(role, to_role, to_user),
            Grant { target, role } => self.grant(target, role, false),
            Revoke { target, role } => self.grant(target, role, true),
            CreateUser { name, opts, props } => self.create_user(name, opts, props),
            AlterUser { name, if_exists, action } => self.alter_user(name, if_exists, action),
            DescribeUser(name) => self.describe_user(name),
            CreateTask { def, opts } => self.create_task(def, opts),
            AlterTask { name, if_exists, action } => self.alter_task(name, if_exists, action),
            ExecuteTask(name) => self.execute_task(name),
            DescribeTask(name) => self.describe_task(name),
            DropTask { name, if_exists } => self.drop_task(name, if_exists),
            ShowTasks { like, scope } => self.show_tasks(like, scope),
            Passthrough => unreachable!("handled by the caller"),
        }
    }

    /// Refuses unless the current role may insert into table `name` (as an `INSERT` would be).
    pub(crate) fn require_insert(&self, name: &crate::sql::ObjectName) -> Result<(), WarehouseError> {
        let mut tree = crate::sql::front::parse_statement(&format!("INSERT INTO {} SELECT 1", name.sql()))?;
        crate::sql::translate::fold_identifiers(&mut tree);
        self.check_table_access(&tree).map(|_| ())
    }

    pub(crate) fn apply_use_for_load(&mut self) -> Result<(), WarehouseError> {
        self.apply_use()
    }

    pub(crate) fn connection(&self) -> &duckdb::Connection {
        &self.conn
    }

    /// Points this session's DuckDB connection at its current database and schema.
    fn apply_use(&mut self) -> Result<(), WarehouseError> {
        let want = match (&self.database, &self.schema) {
            (Some(d), Some(s)) => Some((d.clone(), s.clone())),
            _ => None,
        };
        if want != self.applied {
            self.conn.flush_prepared_statement_cache();
            if let Some((d, s)) = &want {
                self.conn.execute_batch(&format!("USE {}.{}", d.sql(), s.sql()))?;
            }
            self.applied = want;
        }
        Ok(())
    }

    /// A statement DuckDB runs: parsed, its privileges checked, translated. Returns the DuckDB
    /// SQL and the tables whose grants its run ends; `keys` collects the external-function
    /// calls it activated (the caller forgets them when the statement ends).
    fn duck_sql(&self, ast: sqlparser::ast::Statement, query_id: &str, keys: &mut Vec<String>) -> Result<(DuckSql, Vec<(String, String, String)>), WarehouseError> {
        let replaced = self.check_table_access(&ast)?;
        let ctx = external::CallContext { session: self, query_id, keys: std::cell::RefCell::new(keys) };
        Ok((crate::sql::translate::to_duck(ast, &ctx)?, replaced))
    }

    /// Ends the external-function calls a statement activated (see [`Session::duck_sql`]).
    fn forget_calls(&self, keys: Vec<String>) {
        for k in keys {
            self.wh.0.ext.forget(&k);
        }
    }

    /// Fills temporary table `temp.main.<temp>` from a query of the current statement's (an
    /// unload's): the query's reads are checked and it is translated like any query, but the
    /// table, the session's own scratch, takes no `CREATE TABLE` grant.
    pub(crate) fn fill_temp_from_query(&mut self, temp: &str, query: &str) -> Result<(), WarehouseError> {
        let st = crate::sql::split(query)?.into_iter().next().ok_or_else(|| WarehouseError::Syntax("COPY INTO a location needs a query".into()))?;
        let is_query = st.toks.first().is_some_and(|t| t.tok.is_kw("SELECT") || t.tok.is_kw("WITH"));
        let tree = match classify(&st)? {
            Classified::Duck(tree) if is_query && matches!(*tree, sqlparser::ast::Statement::Query(_)) => tree,
            _ => return Err(WarehouseError::Syntax(format!("COPY INTO a location unloads a query, not: {}", st.text))),
        };
        let mut keys = Vec::new();
        let query_id = self.current_query_id.clone();
        let out = self.duck_sql(*tree, &query_id, &mut keys).and_then(|(sql, _)| {
            // Steps around the main statement come from sequences, comments and
            // `INSERT OVERWRITE`, never from a query.
            if !sql.before.is_empty() || !sql.after.is_empty() {
                return Err(WarehouseError::Internal("a query translated with steps around it".into()));
            }
            self.apply_use()?;
            self.conn.execute_batch(&format!("CREATE TEMPORARY TABLE temp.main.{} AS {}", crate::sql::quote(temp), sql.main))?;
            Ok(())
        });
        self.forget_calls(keys);
        out
    }

    /// The DuckDB SQL of each statement of `sql` that DuckDB would run (parse, privilege check,
    /// translation; nothing runs), `None` for the statements recpipe answers itself. What
    /// `recpipe bench sql` measures.
    pub fn translate(&mut self, sql: &str) -> Result<Vec<Option<String>>, WarehouseError> {
        let mut out = Vec::new();
        for st in crate::sql::split(sql)? {
            let Classified::Duck(tree) = classify(&st)? else {
                out.push(None);
                continue;
            };
            let mut keys = Vec::new();
            let r = self.duck_sql(*tree, "translate", &mut keys);
            self.forget_calls(keys);
            out.push(Some(r?.0.script()));
        }
        Ok(out)
    }

    /// Runs a statement the engine answers; with [`Engine::KeptOnly`], answers a query from a
    /// kept result or else `None`, having run nothing.
    fn passthrough(&mut self, tree: sqlparser::ast::Statement, st: &SourceStatement, query_id: &str, engine: Engine) -> Result<Option<QueryResult>, WarehouseError> {
        let is_query = matches!(tree, sqlparser::ast::Statement::Query(_));
        if engine == Engine::KeptOnly && !is_query {
            return Ok(None);
        }
        if let sqlparser::ast::Statement::AlterSession { set, session_params } = &tree {
            return self.alter_session(*set, &session_params.to_string()).map(Some);
        }
        let wh = self.wh.clone();
        let _change = (!is_query).then(|| wh.catalog_change());
        let ends_transaction = matches!(tree, sqlparser::ast::Statement::Commit { .. } | sqlparser::ast::Statement::Rollback { .. });
        let starts_transaction = matches!(tree, sqlparser::ast::Statement::StartTransaction { .. });
        let renamed_to = renamed_to(&tree);
        let declared = declared::declared(&tree);
        let replaces_sequence = matches!(tree, sqlparser::ast::Statement::CreateSequence { .. }) && crate::sql::front::replaces_sequence(&st.text);
        let mut keys = Vec::new();
        let prepared = self.duck_sql(tree, query_id, &mut keys).map(|(mut sql, r)| {
            // The tree has no place for a sequence's `OR REPLACE` (see `front::sequence_text`).
            if replaces_sequence {
                sql.main = sql.main.replacen("CREATE ", "CREATE OR REPLACE ", 1);
            }
            (sql, r)
        });
        let mut replaced = Vec::new();
        let sql = prepared.map(|(sql, r)| {
            replaced = r;
            sql
        });
        let out = sql.and_then(|sql| {
            // A repeated query may get its earlier result (see `reuse`); external functions
            // always run.
            let reuse = if is_query && keys.is_empty() { self.reuse_key(&st.text, &sql) } else { None };
            let generation = self.wh.catalog_generation();
            if let Some(r) = reuse.as_ref().and_then(|k| self.reusable.find(k, generation)) {
                return Ok(Some(r));
            }
            if engine == Engine::KeptOnly {
                return Ok(None);
            }
            self.apply_use()?;
            let out = self.run_steps(&sql, st);
            if let (Some(key), Ok(r)) = (reuse, &out) {
                self.reusable.keep(key, generation, r);
            }
            match out {
                // Snowflake ends no transaction quietly; DuckDB calls it an error.
                Err(WarehouseError::Execution(m)) if ends_transaction && m.contains("no transaction is active") => Ok(Some(QueryResult::status("Statement executed successfully."))),
                other => other.map(Some),
            }
        });
        if ends_transaction {
            self.in_transaction = false;
        } else if starts_transaction && out.is_ok() {
            self.in_transaction = true;
        }
        self.forget_calls(keys);
        if out.is_ok() {
            for (db, schema, table) in replaced {
                let key = format!("{db}.{schema}.{table}");
                // A renamed table keeps its grants (the engine keeps it in its schema).
                let moved = match &renamed_to {
                    Some(to) => self.resolve_table_now(&Ident::quoted(&db), &Ident::quoted(&schema), to)?.map(|(d, s, n)| format!("{d}.{s}.{n}")),
                    None => None,
                };
                match moved {
                    Some(new_key) => self.wh.catalog().rename_object(&key, &new_key)?,
                    None => self.wh.catalog().forget_table(&key)?,
                }
            }
            self.record_creation(st)?;
            if let Some(d) = declared {
                self.record_declared(d)?;
            }
        }
        out
    }

    /// `ALTER SESSION SET|UNSET …`: `USE_CACHED_RESULT` turns result reuse off and on; the query
    /// tag is accepted and labels nothing (recpipe keeps no query history to label).
    fn alter_session(&mut self, set: bool, params: &str) -> Result<QueryResult, WarehouseError> {
        let text = params.to_uppercase();
        let mut parts = text.split(|c: char| c == '=' || c.is_whitespace()).filter(|p| !p.is_empty());
        let name = parts.next().unwrap_or("");
        let value = parts.next();
        match (name, set, value) {
            ("QUERY_TAG", _, _) => {}
            ("USE_CACHED_RESULT", false, _) => self.use_cached_result = true,
            ("USE_CACHED_RESULT", true, Some(v)) => {
                self.use_cached_result = match v.trim_matches('\'') {
                    "TRUE" | "ON" | "YES" | "1" => true,
                    "FALSE" | "OFF" | "NO" | "0" => false,
                    other => return Err(WarehouseError::Invalid(format!("invalid value [{other}] for parameter 'USE_CACHED_RESULT'"))),
                };
                if !self.use_cached_result {
                    self.reusable.clear();
                }
            }
            _ => return Err(WarehouseError::Unsupported(format!("ALTER SESSION {} {name}", if set { "SET" } else { "UNSET" }))),
        }
        Ok(QueryResult::status("Statement executed successfully."))
    }

    /// The key a query's result is kept and found under, or `None` when it may not be reused.
    fn reuse_key(&self, text: &str, sql: &DuckSql) -> Option<reuse::Key> {
        if !self.use_cached_result || self.in_transaction || !sql.before.is_empty() || !sql.after.is_empty() || !sql.merge_actions.is_empty() {
            return None;
        }
        let changing = self.wh.0.changing_functions.get_or_init(|| reuse::changing_functions(&self.conn).ok()).as_ref()?;
        reuse::stable(&sql.main, changing).then(|| reuse::Key::new(text, &sql.main, self.database.as_ref(), self.schema.as_ref(), self.arrow_results))
    }

    /// Runs a translated statement with the steps before and after it, all in one transaction
    /// (the session's own when one is open).
    fn run_steps(&mut self, sql: &DuckSql, st: &SourceStatement) -> Result<QueryResult, WarehouseError> {
        if sql.before.is_empty() && sql.after.is_empty() && sql.merge_actions.is_empty() {
            return self.run_duck(&sql.main, st);
        }
        let own = !self.in_transaction;
        if own {
            self.conn.execute_batch("BEGIN TRANSACTION")?;
        }
        let r = (|| -> Result<QueryResult, WarehouseError> {
            for step in &sql.before {
                self.conn.execute_batch(step)?;
            }
            let mut r = self.run_duck(&sql.main, st)?;
            for step in &sql.after {
                self.conn.execute_batch(step)?;
            }
            if !sql.merge_actions.is_empty() {
                r = merge_counts(&r, &sql.merge_actions);
            }
            Ok(r)
        })();
        if own {
            match &r {
                Ok(_) => self.conn.execute_batch("COMMIT")?,
                Err(_) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
            }
        }
        r
    }

    fn run_duck(&mut self, sql: &str, st: &SourceStatement) -> Result<QueryResult, WarehouseError> {
        let first = st
            .toks
            .first()
            .and_then(|t| match &t.tok {
                crate::sql::lexer::Tok::Word(w) => Some(w.to_uppercase()),
                _ => None,
            })
            .unwrap_or_default();
        let query = !matches!(
            first.as_str(),
            "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "CREATE" | "DROP" | "ALTER" | "TRUNCATE" | "BEGIN" | "COMMIT" | "ROLLBACK" | "COMMENT"
        );
        // Queries reuse their prepared plan (DuckDB rebinds one whose tables changed since); the
        // cache is flushed when the session's database or schema changes, since names resolve
        // against them. Statements with effects are prepared afresh.
        let mut stmt = if query && matches!(first.as_str(), "SELECT" | "WITH") {
            Prepared::Cached(self.conn.prepare_cached(sql)?)
        } else {
            Prepared::Fresh(self.conn.prepare(sql)?)
        };
        let mut batches = Vec::new();
        let mut spill = (query && self.arrow_results).then(|| crate::arrow_rows::Collector::new(&self.wh.results_dir(), self.wh.0.result_spill_bytes));
        for b in stmt.query_arrow([])? {
            match spill.as_mut() {
                Some(c) => c.push(b)?,
                None => batches.push(b),
            }
        }
        let ncol = stmt.column_count();
        let mut columns = Vec::with_capacity(ncol);
        for i in 0..ncol {
            let lt = stmt.column_logical_type(i);
            let duck = match lt.get_alias() {
                Some(alias) => alias,
                None => format!("{:?}", lt.id()),
            };
            let name = stmt.column_name(i).map(|s| s.to_string()).unwrap_or_default();
            let mut c = Column::typed(&name, sf_type_of_duck(&duck));
            if c.sf_type == "fixed" && duck.to_uppercase().starts_with("DECIMAL") {
                c.scale = Some(lt.decimal_scale() as u32);
                c.precision = Some(lt.decimal_width() as u32);
            }
            columns.push(c);
        }
        if first == "SELECT" {
            if let Some(names) = names::select_item_names(st, columns.len()) {
                for (c, name) in columns.iter_mut().zip(names) {
                    if let Some(name) = name {
                        c.name = name;
                    }
                }
            }
        }
        if let Some(c) = spill {
            drop(stmt);
            return Ok(QueryResult { query_id: String::new(), columns, rows: Vec::new(), arrow: Some(c.finish()?) });
        }
        let mut rows = Vec::new();
        for b in &batches {
            render_batch(b, &mut rows)?;
        }
        drop(stmt);
        let count = |what: &str| -> QueryResult {
            let n = rows.first().and_then(|r| r.first().cloned()).flatten().unwrap_or_else(|| "0".into());
            QueryResult { query_id: String::new(), columns: vec![Column::typed(what, "fixed")], rows: vec![vec![Some(n)]], arrow: None }
        };
        Ok(match first.as_str() {
            "INSERT" => count("number of rows inserted"),
            "UPDATE" => {
                // Snowflake also counts the rows a join matched more than once (none here).
                let mut r = count("number of rows updated");
                r.columns.push(Column::typed("number of multi-joined rows updated", "fixed"));
                r.rows[0].push(Some("0".into()));
                r
            }
            "DELETE" => count("number of rows deleted"),
            "CREATE" | "DROP" | "ALTER" | "TRUNCATE" | "BEGIN" | "COMMIT" | "ROLLBACK" | "COMMENT" => {
                QueryResult::status(status_message(&first, st))
            }
            _ => QueryResult { query_id: String::new(), columns, rows, arrow: None },
        })
    }
}

/// Snowflake's answer to a `MERGE`: the rows it inserted, updated and deleted, a column for each
/// action its clauses take; `returned` holds DuckDB's `merge_action` of each row changed.
fn merge_counts(returned: &QueryResult, actions: &[&'static str]) -> QueryResult {
    let columns = actions
        .iter()
        .map(|a| match *a {
            "INSERT" => "number of rows inserted",
            "UPDATE" => "number of rows updated",
            _ => "number of rows deleted",
        })
        .map(|name| Column::typed(name, "fixed"))
        .collect();
    let count = |a: &str| returned.rows.iter().filter(|r| r.first().and_then(|v| v.as_deref()) == Some(a)).count();
    let row = actions.iter().map(|a| Some(count(a).to_string())).collect();
    QueryResult { query_id: String::new(), columns, rows: vec![row], arrow: None }
}

/// A statement prepared for one run, or taken from the connection's cache of prepared queries.
enum Prepared<'c> {
    Cached(duckdb::CachedStatement<'c>),
    Fresh(duckdb::Statement<'c>),
}

impl<'c> std::ops::Deref for Prepared<'c> {
    type Target = duckdb::Statement<'c>;
    fn deref(&self) -> &Self::Target {
        match self {
            Prepared::Cached(s) => s,
            Prepared::Fresh(s) => s,
        }
    }
}

impl std::ops::DerefMut for Prepared<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Prepared::Cached(s) => s,
            Prepared::Fresh(s) => s,
        }
    }
}

impl Session {
    /// Keeps the creation time of a table or view a `CREATE` made (for `SHOW TABLES`) and
    /// records the current role as its owner.
    fn record_creation(&self, st: &SourceStatement) -> Result<(), WarehouseError> {
        let words: Vec<&crate::sql::lexer::Token> = st.toks.iter().take_while(|t| !t.tok.is_kw("AS") && !t.tok.is_op("(")).collect();
        if !words.first().is_some_and(|t| t.tok.is_kw("CREATE")) {
            return Ok(());
        }
        let Some(kind) = ["TABLE", "VIEW"].into_iter().find(|k| words.iter().any(|t| t.tok.is_kw(k))) else { return Ok(()) };
        if words.iter().any(|t| t.tok.is_kw("TEMPORARY") || t.tok.is_kw("TEMP")) {
            return Ok(());
        }
        let parts = created_name(&st.toks, kind);
        if parts.is_empty() {
            return Ok(());
        }
        let Ok((d, sc, n)) = crate::sql::ObjectName(parts).qualify(self.database.as_ref(), self.schema.as_ref()) else { return Ok(()) };
        let keep = words.iter().any(|t| t.tok.is_kw("NOT")) && !words.iter().any(|t| t.tok.is_kw("REPLACE"));
        let cat = self.wh.catalog();
        cat.record_created(&format!("{d}.{sc}.{n}"), keep)?;
        // The creating role owns what it made, and nothing else is granted on it yet: grants a
        // name still carries (from a creation its transaction rolled back) go. `IF NOT EXISTS`
        // over an existing object leaves it as it was.
        if let Some((db, schema, name)) = self.resolve_table_now(&d, &sc, &n)? {
            let key = format!("{db}.{schema}.{name}");
            if !keep {
                cat.forget_table(&key)?;
            }
            if !keep || cat.table_owner(&key)?.is_none() {
                cat.grant("OWNERSHIP", kind, &key, &self.role, &self.role)?;
            }
        }
        Ok(())
    }
}

/// Whether a statement may run in the engine, or may only be answered from a kept result.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Runs,
    KeptOnly,
}

/// The new name (its last part) an `ALTER TABLE|VIEW … RENAME TO` gives its table or view.
fn renamed_to(tree: &sqlparser::ast::Statement) -> Option<Ident> {
    use sqlparser::ast::{AlterTableOperation, AlterViewOperation, RenameTableNameKind};
    if let sqlparser::ast::Statement::AlterView(v) = tree {
        return match &v.operation {
            AlterViewOperation::RenameTo { new_name } => crate::sql::translate::name_of(new_name).map(|n| n.last().clone()),
            _ => None,
        };
    }
    let sqlparser::ast::Statement::AlterTable(a) = tree else { return None };
    a.operations.iter().find_map(|op| match op {
        AlterTableOperation::RenameTable { table_name: RenameTableNameKind::As(n) | RenameTableNameKind::To(n) } => {
            crate::sql::translate::name_of(n).map(|n| n.last().clone())
        }
        _ => None,
    })
}

/// Snowflake-like status for DDL run by DuckDB, e.g. `Table T successfully created.`
fn status_message(first: &str, st: &SourceStatement) -> String {
    use crate::sql::lexer::Tok;
    let words: Vec<String> = st
        .toks
        .iter()
        .filter_map(|t| match &t.tok {
            Tok::Word(w) => Some(w.to_uppercase()),
            _ => None,
        })
        .collect();
    let kind_at = words.iter().position(|w| ["TABLE", "VIEW", "SEQUENCE"].contains(&w.as_str()));
    match (first, kind_at) {
        ("CREATE", Some(i)) | ("DROP", Some(i)) | ("ALTER", Some(i)) => {
            let name = created_name(&st.toks, &words[i]).last().map(|n| n.to_string()).unwrap_or_default();
            let kind = words[i][..1].to_string() + &words[i][1..].to_lowercase();
            let verb = match first {
                "CREATE" => "successfully created",
                "DROP" => "successfully dropped",
                _ => "successfully altered",
            };
            format!("{kind} {name} {verb}.")
        }
        _ => "Statement executed successfully.".into(),
    }
}

/// The name a DDL statement gives after its `kind` keyword (`IF [NOT] EXISTS` skipped), in parts
/// (`movielens.public.big` → `MOVIELENS`, `PUBLIC`, `BIG`; the status message shows the last).
fn created_name(toks: &[crate::sql::lexer::Token], kind: &str) -> Vec<crate::sql::Ident> {
    let mut rest = toks.iter().skip_while(|t| !t.tok.is_kw(kind)).skip(1).peekable();
    while rest.peek().is_some_and(|t| ["IF", "NOT", "EXISTS"].iter().any(|k| t.tok.is_kw(k))) {
        rest.next();
    }
    let mut parts = Vec::new();
    while let Some(ident) = rest.next().and_then(|t| crate::sql::Ident::from_tok(&t.tok)) {
        parts.push(ident);
        if !rest.peek().is_some_and(|t| t.tok.is_op(".")) {
            break;
        }
        rest.next();
    }
    parts
}

#[cfg(test)]
mod tests {
    use crate::sql::split;

    fn message(sql: &str) -> String {
        let sts = split(sql).unwrap();
        let first = match &sts[0].toks[0].tok {
            crate::sql::lexer::Tok::Word(w) => w.to_uppercase(),
            _ => String::new(),
        };
        super::status_message(&first, &sts[0])
    }

    #[test]
    fn status_messages_name_the_object_not_its_database() {
        assert_eq!(message("create or replace table movielens.public.big as select 1 as a"), "Table BIG successfully created.");
        assert_eq!(message("create table if not exists s.\"Mixed\" (a int)"), "Table Mixed successfully created.");
        assert_eq!(message("drop view if exists d.s.v"), "View V successfully dropped.");
        assert_eq!(message("alter table t rename to u"), "Table T successfully altered.");
    }
}
