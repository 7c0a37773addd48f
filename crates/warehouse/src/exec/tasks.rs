//! Tasks: `CREATE`/`ALTER`/`EXECUTE`/`DESCRIBE`/`DROP TASK`, `SHOW TASKS`, and `TASK_HISTORY`
//! as a table function.
//!
//! Privileges follow Snowflake: creating needs SYSADMIN or ACCOUNTADMIN, ownership of the
//! database, or `CREATE TASK` on the schema; the task is owned by the creating role. Resuming,
//! suspending and executing need ownership or `OPERATE` on the task; changing and dropping need
//! ownership; seeing it (`SHOW`, `DESCRIBE`, history) needs ownership, `OPERATE` or `MONITOR`.
//! ACCOUNTADMIN may do anything.

use std::collections::HashMap;

use crate::catalog::tasks::{Claim, RunOrigin, TaskRecord, TaskRun, FAILED, SCHEDULED, STARTED, SUSPENDED};
use crate::catalog::{now, ACCOUNTADMIN, SYSADMIN};
use crate::result::QueryResult;
use crate::session::Session;
use crate::sql::ast::{CreateOpts, ShowScope, TaskAction, TaskDef, TaskProps};
use crate::sql::translate::TableArg;
use crate::sql::{literal, quote, Ident, ObjectName};
use crate::tasks::now_ms;
use crate::tasks::schedule::{next_after, to_ms, Schedule};
use crate::{random, WarehouseError};

use super::show::{like, ts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Own,
    Operate,
    Monitor,
}

/// `TASK_HISTORY`'s columns (Snowflake's order) and their DuckDB types.
const HISTORY_COLUMNS: [(&str, &str); 18] = [
    ("QUERY_ID", "VARCHAR"),
    ("NAME", "VARCHAR"),
    ("DATABASE_NAME", "VARCHAR"),
    ("SCHEMA_NAME", "VARCHAR"),
    ("QUERY_TEXT", "VARCHAR"),
    ("CONDITION_TEXT", "VARCHAR"),
    ("STATE", "VARCHAR"),
    ("ERROR_CODE", "VARCHAR"),
    ("ERROR_MESSAGE", "VARCHAR"),
    ("SCHEDULED_TIME", "TIMESTAMP"),
    ("QUERY_START_TIME", "TIMESTAMP"),
    ("NEXT_SCHEDULED_TIME", "TIMESTAMP"),
    ("COMPLETED_TIME", "TIMESTAMP"),
    ("ROOT_TASK_ID", "VARCHAR"),
    ("GRAPH_VERSION", "BIGINT"),
    ("RUN_ID", "BIGINT"),
    ("RETURN_VALUE", "VARCHAR"),
    ("SCHEDULED_FROM", "VARCHAR"),
];

const DEFAULT_RESULT_LIMIT: usize = 100;
const MAX_RESULT_LIMIT: usize = 10_000;

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

fn ts_ms(ms: i64) -> String {
    ts(ms.div_euclid(1000))
}

/// The `SCHEDULE` value checked: it parses and fires at least once more.
fn checked_schedule(text: &str) -> Result<String, WarehouseError> {
    let text = text.trim();
    let sched = Schedule::parse(text)?;
    if next_after(&sched, time::OffsetDateTime::now_utc()).is_none() {
        return Err(WarehouseError::Invalid(format!("invalid value '{text}' for property 'SCHEDULE': it never fires")));
    }
    Ok(text.to_string())
}

/// When a task resumed now first runs.
fn first_time(t: &TaskRecord) -> Result<Option<i64>, WarehouseError> {
    let Some(text) = t.schedule.as_deref() else {
        return Ok(None);
    };
    Ok(next_after(&Schedule::parse(text)?, time::OffsetDateTime::now_utc()).map(to_ms))
}

impl Session {
    /// `name` completed with the session's database and schema, in Snowflake's words if missing.
    fn qualify_task(&self, name: &ObjectName, op: &str) -> Result<(Ident, Ident, Ident), WarehouseError> {
        let missing = |what: &str| {
            WarehouseError::Invalid(format!(
                "Cannot perform {op}. This session does not have a current {what}. Call 'USE {}', or use a qualified name.",
                what.to_uppercase()
            ))
        };
        match name.0.as_slice() {
            [n] => Ok((
                self.database.clone().ok_or_else(|| missing("database"))?,
                self.schema.clone().ok_or_else(|| missing("schema"))?,
                n.clone(),
            )),
            [sc, n] => Ok((self.database.clone().ok_or_else(|| missing("database"))?, sc.clone(), n.clone())),
            [d, sc, n] => Ok((d.clone(), sc.clone(), n.clone())),
            _ => Err(WarehouseError::Invalid(format!("invalid object name '{name}'"))),
        }
    }

    /// The task `name` (any role may look it up; callers check privileges).
    pub(super) fn find_task(&self, name: &ObjectName, op: &str) -> Result<Option<TaskRecord>, WarehouseError> {
        let (d, sc, n) = self.qualify_task(name, op)?;
        self.wh.catalog().task(d.as_str(), sc.as_str(), n.as_str())
    }

    fn may(&self, t: &TaskRecord, need: Need) -> Result<bool, WarehouseError> {
        let roles = self.effective_roles()?;
        if roles.contains(&t.owner) || roles.contains(ACCOUNTADMIN) {
            return Ok(true);
        }
        let cat = self.wh.catalog();
        let key = t.qualified();
        Ok(match need {
            Need::Own => false,
            Need::Operate => cat.has_privilege(&roles, "OPERATE", "TASK", &key)?,
            Need::Monitor => cat.has_privilege(&roles, "MONITOR", "TASK", &key)? || cat.has_privilege(&roles, "OPERATE", "TASK", &key)?,
        })
    }

    /// The task `name` if the current role may `need` it.
    fn task_for(&self, name: &ObjectName, op: &str, need: Need) -> Result<TaskRecord, WarehouseError> {
        let t = match self.find_task(name, op)? {
            Some(t) => t,
            None => {
                let (d, sc, n) = self.qualify_task(name, op)?;
                return Err(WarehouseError::not_found("Task", format!("{d}.{sc}.{n}")));
            }
        };
        if !self.may(&t, need)? {
            return Err(WarehouseError::Insufficient { kind: "task", name: t.name });
        }
        Ok(t)
    }

    fn check_warehouse(&self, w: &Ident) -> Result<(), WarehouseError> {
        if self.wh.catalog().warehouses()?.iter().any(|x| x.0 == w.as_str()) {
            Ok(())
        } else {
            Err(WarehouseError::not_found("Warehouse", w.as_str()))
        }
    }

    pub(super) fn create_task(&mut self, def: TaskDef, opts: CreateOpts) -> Result<QueryResult, WarehouseError> {
        let (db, schema, name) = self.qualify_task(&def.name, "CREATE TASK")?;
        self.require_schema(&db, &schema)?;
        let cat = self.wh.catalog();
        let roles = self.effective_roles()?;
        let db_owner = cat.databases()?.into_iter().find(|d| d.0 == db.as_str()).map(|d| d.2);
        let may = roles.contains(SYSADMIN)
            || roles.contains(ACCOUNTADMIN)
            || db_owner.is_some_and(|o| roles.contains(&o))
            || cat.has_privilege(&roles, "CREATE TASK", "SCHEMA", &format!("{db}.{schema}"))?;
        if !may {
            return Err(WarehouseError::Insufficient { kind: "schema", name: schema.to_string() });
        }
        let schedule = def.props.schedule.as_deref().map(checked_schedule).transpose()?;
        if let Some(w) = &def.props.warehouse {
            self.check_warehouse(w)?;
        }
        if let Some(old) = cat.task(db.as_str(), schema.as_str(), name.as_str())? {
            if !opts.or_replace {
                if opts.if_not_exists {
                    return Ok(QueryResult::status(format!("{name} already exists, statement succeeded.")));
                }
                return Err(WarehouseError::AlreadyExists(name.to_string()));
            }
            if !self.may(&old, Need::Own)? {
                return Err(WarehouseError::Insufficient { kind: "task", name: old.name });
            }
            cat.forget_object("TASK", &old.qualified())?;
        }
        let rec = TaskRecord {
            id: random::uuid(),
            db: db.as_str().into(),
            schema: schema.as_str().into(),
            name: name.as_str().into(),
            warehouse: def.props.warehouse.map(|w| w.as_str().to_string()),
            schedule,
            definition: def.body.text,
            comment: def.props.comment,
            allow_overlapping: def.props.allow_overlapping.unwrap_or(false),
            owner: self.role.clone(),
            // Snowflake creates tasks suspended.
            state: SUSPENDED.into(),
            next_time: None,
            created: now(),
            last_suspended: None,
        };
        cat.put_task(&rec)?;
        Ok(QueryResult::status(format!("Task {name} successfully created.")))
    }

    pub(super) fn alter_task(&mut self, name: ObjectName, if_exists: bool, action: TaskAction) -> Result<QueryResult, WarehouseError> {
        if if_exists && self.find_task(&name, "ALTER TASK")?.is_none() {
            return Ok(QueryResult::status("Statement executed successfully."));
        }
        let need = match action {
            TaskAction::Resume | TaskAction::Suspend => Need::Operate,
            _ => Need::Own,
        };
        let mut t = self.task_for(&name, "ALTER TASK", need)?;
        match action {
            TaskAction::Resume => {
                if t.schedule.is_none() {
                    return Err(WarehouseError::Invalid(format!(
                        "Unable to resume task '{}': it has no SCHEDULE. Set one with ALTER TASK ... SET SCHEDULE, or run it with EXECUTE TASK.",
                        t.name
                    )));
                }
                if let Some(w) = &t.warehouse {
                    self.check_warehouse(&Ident::quoted(w))?;
                }
                if t.state != STARTED {
                    t.state = STARTED.into();
                    t.next_time = first_time(&t)?;
                }
            }
            TaskAction::Suspend => {
                if t.state != SUSPENDED {
                    t.state = SUSPENDED.into();
                    t.next_time = None;
                    t.last_suspended = Some(now());
                }
            }
            TaskAction::Set(TaskProps { warehouse, schedule, comment, allow_overlapping }) => {
                if let Some(w) = warehouse {
                    self.check_warehouse(&w)?;
                    t.warehouse = Some(w.as_str().to_string());
                }
                if let Some(text) = schedule {
                    t.schedule = Some(checked_schedule(&text)?);
                    if t.state == STARTED {
                        t.next_time = first_time(&t)?;
                    }
                }
                if let Some(c) = comment {
                    t.comment = Some(c);
                }
                if let Some(a) = allow_overlapping {
                    t.allow_overlapping = a;
                }
            }
            TaskAction::Unset(keys) => {
                for k in keys {
                    match k.as_str() {
                        "WAREHOUSE" => t.warehouse = None,
                        "SCHEDULE" if t.state == STARTED => {
                            return Err(WarehouseError::Invalid(format!(
                                "Unable to unset the SCHEDULE of task '{}' while it is started; suspend it first.",
                                t.name
                            )))
                        }
                        "SCHEDULE" => t.schedule = None,
                        "COMMENT" => t.comment = None,
                        _ => t.allow_overlapping = false,
                    }
                }
            }
            TaskAction::ModifyAs(body) => t.definition = body.text,
        }
        if !self.wh.catalog().update_task(&t)? {
            return Err(WarehouseError::not_found("Task", t.qualified()));
        }
        Ok(QueryResult::status("Statement executed successfully."))
    }

    /// Runs the task once now, in the background, recorded like a scheduled run (skipped if a
    /// run is still going); works on suspended tasks too.
    pub(super) fn execute_task(&mut self, name: ObjectName) -> Result<QueryResult, WarehouseError> {
        let t = self.task_for(&name, "EXECUTE TASK", Need::Operate)?;
        match self.wh.catalog().claim_task_run(&t, RunOrigin::Execute, now_ms())? {
            Claim::Run(run) => self.wh.spawn_task_run(t, run),
            Claim::Skipped(_) => {}
            Claim::Gone => return Err(WarehouseError::not_found("Task", t.qualified())),
        }
        Ok(QueryResult::status("Statement executed successfully."))
    }

    pub(super) fn drop_task(&mut self, name: ObjectName, if_exists: bool) -> Result<QueryResult, WarehouseError> {
        if if_exists && self.find_task(&name, "DROP TASK")?.is_none() {
            return Ok(QueryResult::status(format!("Drop statement executed successfully ({} already dropped).", name.last())));
        }
        let t = self.task_for(&name, "DROP TASK", Need::Own)?;
        self.wh.catalog().drop_task(&t.id)?;
        self.wh.catalog().forget_object("TASK", &t.qualified())?;
        Ok(QueryResult::status(format!("{} successfully dropped.", t.name)))
    }

    pub(super) fn show_tasks(&mut self, pat: Option<String>, scope: ShowScope) -> Result<QueryResult, WarehouseError> {
        let (db, schema): (Option<Ident>, Option<Ident>) = match scope {
            ShowScope::Default => (self.database.clone(), None),
            ShowScope::Account => (None, None),
            ShowScope::Database(d) => (Some(d), None),
            ShowScope::Schema(n) => match n.0.as_slice() {
                [sc] => (Some(self.database.clone().ok_or_else(|| {
                    WarehouseError::Invalid("Cannot perform SHOW TASKS. This session does not have a current database. Call 'USE DATABASE', or use a qualified name.".into())
                })?), Some(sc.clone())),
                [d, sc] => (Some(d.clone()), Some(sc.clone())),
                _ => return Err(WarehouseError::Invalid(format!("invalid schema name '{n}'"))),
            },
        };
        let mut rows = Vec::new();
        for t in self.wh.catalog().tasks()? {
            if db.as_ref().is_some_and(|d| d.as_str() != t.db)
                || schema.as_ref().is_some_and(|sc| sc.as_str() != t.schema)
                || !like(&pat, &t.name)
                || !self.may(&t, Need::Monitor)?
            {
                continue;
            }
            rows.push(task_row(&t));
        }
        Ok(QueryResult::table(&TASK_COLUMNS, rows))
    }

    pub(super) fn describe_task(&mut self, name: ObjectName) -> Result<QueryResult, WarehouseError> {
        let t = self.task_for(&name, "DESCRIBE TASK", Need::Monitor)?;
        Ok(QueryResult::table(&TASK_COLUMNS, vec![task_row(&t)]))
    }

    /// `[[db.]INFORMATION_SCHEMA.]TASK_HISTORY(named args)` as a parenthesised subquery, or
    /// `None` for any other function.
    ///
    /// The history lives in the catalog (SQLite), not in DuckDB, so the call is answered by
    /// materialising the visible rows as an inline `VALUES` list inside the rewritten statement:
    /// `(SELECT CAST(C1 AS VARCHAR) AS "QUERY_ID", ... FROM (VALUES ...) AS _TH(...) ORDER BY _N)`.
    /// That keeps the statement one DuckDB query (so `WHERE`, `ORDER BY`, `LIMIT`, joins,
    /// aggregates and subqueries around it all work, with no temporary object to name or clean
    /// up) and bounds its size by `RESULT_LIMIT` (at most 10 000 rows).
    ///
    /// Scope: the database named before `INFORMATION_SCHEMA`, else the current database, else
    /// every database. Rows: the runs of the last 7 days of tasks the role may see, plus one
    /// SCHEDULED row per started task for its next run, newest first. Arguments: `TASK_NAME`,
    /// `RESULT_LIMIT` (default 100), `ERROR_ONLY`, `SCHEDULED_TIME_RANGE_START`/`_END`
    /// (any expression DuckDB can cast to a timestamp; naive timestamps are UTC).
    pub(super) fn task_history_sql(&self, name: &ObjectName, args: &[TableArg]) -> Result<Option<String>, WarehouseError> {
        if name.last().as_str() != "TASK_HISTORY" {
            return Ok(None);
        }
        let info = |i: &Ident| i.as_str() == "INFORMATION_SCHEMA";
        let db: Option<String> = match name.0.as_slice() {
            [_] => self.database.as_ref().map(|d| d.to_string()),
            [i, _] if info(i) => self.database.as_ref().map(|d| d.to_string()),
            [d, i, _] if info(i) => {
                if !self.database_exists(d)? {
                    return Err(WarehouseError::not_found("Database", d.as_str()));
                }
                Some(d.to_string())
            }
            _ => return Ok(None),
        };
        let mut task_name = None;
        let mut limit = DEFAULT_RESULT_LIMIT;
        let mut error_only = false;
        let (mut from, mut to) = (None, None);
        for arg in args {
            use sqlparser::ast::Value;
            let Some(key) = arg.name.as_deref() else { return Err(history_syntax()) };
            let constant = match &arg.value {
                sqlparser::ast::Expr::Value(v) => Some(&v.value),
                _ => None,
            };
            match (key, constant) {
                ("TASK_NAME", Some(Value::SingleQuotedString(n))) => task_name = Some(n.clone()),
                ("TASK_NAME", Some(_)) => return Err(bad_argument(key, "a string")),
                ("RESULT_LIMIT", Some(v)) => {
                    limit = match v {
                        Value::Number(n, _) => n.parse().ok().filter(|n| (1..=MAX_RESULT_LIMIT).contains(n)),
                        _ => None,
                    }
                    .ok_or_else(|| bad_argument(key, &format!("a whole number from 1 to {MAX_RESULT_LIMIT}")))?;
                }
                ("ERROR_ONLY", Some(Value::Boolean(b))) => error_only = *b,
                ("SCHEDULED_TIME_RANGE_START", _) => from = Some(self.eval_time(&arg.sql)?),
                ("SCHEDULED_TIME_RANGE_END", _) => to = Some(self.eval_time(&arg.sql)?),
                ("TASK_NAME" | "RESULT_LIMIT" | "ERROR_ONLY", _) => return Err(bad_argument(key, "a constant")),
                ("ROOT_TASK_ID", _) => return Err(WarehouseError::Unsupported("TASK_HISTORY argument ROOT_TASK_ID".into())),
                _ => return Err(WarehouseError::Syntax(format!("invalid argument '{key}' for function TASK_HISTORY"))),
            }
        }
        let cat = self.wh.catalog();
        let tasks: Vec<TaskRecord> = cat
            .tasks()?
            .into_iter()
            .filter(|t| db.as_ref().is_none_or(|d| *d == t.db) && task_name.as_ref().is_none_or(|n| n.eq_ignore_ascii_case(&t.name)))
            .collect();
        let live: HashMap<&str, &TaskRecord> = tasks.iter().map(|t| (t.id.as_str(), t)).collect();
        let mut visible: HashMap<(String, String), bool> = HashMap::new();
        let mut rows: Vec<TaskRun> = Vec::new();
        // The upcoming run of each started task.
        for t in &tasks {
            if let (true, Some(next)) = (t.state == STARTED, t.next_time) {
                rows.push(TaskRun {
                    id: i64::MAX,
                    task_id: t.id.clone(),
                    db: t.db.clone(),
                    schema: t.schema.clone(),
                    name: t.name.clone(),
                    owner: t.owner.clone(),
                    query_text: t.definition.clone(),
                    state: SCHEDULED.into(),
                    error_code: None,
                    error_message: None,
                    query_id: None,
                    scheduled: next,
                    started: None,
                    completed: None,
                    run_id: next,
                    scheduled_from: "SCHEDULE".into(),
                });
            }
        }
        rows.extend(cat.task_runs(db.as_deref(), task_name.as_deref())?);
        rows.sort_by(|a, b| b.scheduled.cmp(&a.scheduled).then(b.id.cmp(&a.id)));
        let mut kept = Vec::new();
        for r in rows {
            if kept.len() >= limit {
                break;
            }
            if (error_only && r.state != FAILED) || from.is_some_and(|f| r.scheduled < f) || to.is_some_and(|t| r.scheduled > t) {
                continue;
            }
            let key = (r.owner.clone(), format!("{}.{}.{}", r.db, r.schema, r.name));
            let ok = match visible.get(&key) {
                Some(v) => *v,
                None => {
                    let roles = self.effective_roles()?;
                    let v = roles.contains(&r.owner)
                        || roles.contains(ACCOUNTADMIN)
                        || cat.has_privilege(&roles, "MONITOR", "TASK", &key.1)?
                        || cat.has_privilege(&roles, "OPERATE", "TASK", &key.1)?;
                    visible.insert(key, v);
                    v
                }
            };
            if ok {
                kept.push(r);
            }
        }
        Ok(Some(history_subquery(&kept, &live)))
    }

    /// Evaluates a `TASK_HISTORY` time argument: epoch milliseconds.
    fn eval_time(&self, sql: &str) -> Result<i64, WarehouseError> {
        let q = format!("SELECT epoch_ms(CAST(({sql}) AS TIMESTAMP))");
        Ok(self.conn.query_row(&q, [], |r| r.get::<_, i64>(0))?)
    }
}

fn history_syntax() -> WarehouseError {
    WarehouseError::Syntax("TASK_HISTORY takes named arguments, e.g. TASK_HISTORY(TASK_NAME => 'MY_TASK', RESULT_LIMIT => 10)".into())
}

fn bad_argument(key: &str, wanted: &str) -> WarehouseError {
    WarehouseError::Invalid(format!("invalid value for argument {key} of function TASK_HISTORY: expected {wanted}"))
}


/// The history rows as a subquery with Snowflake's column names and types.
fn history_subquery(rows: &[TaskRun], live: &HashMap<&str, &TaskRecord>) -> String {
    let text = |v: Option<&str>| v.map_or_else(|| "NULL".to_string(), literal);
    let int = |v: Option<i64>| v.map_or_else(|| "NULL".to_string(), |n| n.to_string());
    let mut tuples: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let next = live.get(r.task_id.as_str()).filter(|t| t.state == STARTED).and_then(|t| t.next_time);
            let values = [
                i.to_string(),
                text(r.query_id.as_deref()),
                text(Some(r.name.as_str())),
                text(Some(r.db.as_str())),
                text(Some(r.schema.as_str())),
                text(Some(r.query_text.as_str())),
                "NULL".into(),
                text(Some(r.state.as_str())),
                text(r.error_code.as_deref()),
                text(r.error_message.as_deref()),
                int(Some(r.scheduled)),
                int(r.started),
                int(next),
                int(r.completed),
                text(Some(r.task_id.as_str())),
                "1".into(),
                int(Some(r.run_id)),
                "NULL".into(),
                text(Some(r.scheduled_from.as_str())),
            ];
            format!("({})", values.join(", "))
        })
        .collect();
    let empty = tuples.is_empty();
    if empty {
        tuples.push(format!("({})", vec!["NULL"; HISTORY_COLUMNS.len() + 1].join(", ")));
    }
    let projection: Vec<String> = HISTORY_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| {
            let c = format!("C{}", i + 1);
            let value = match *ty {
                "TIMESTAMP" => format!("make_timestamp(CAST({c} AS BIGINT) * 1000)"),
                other => format!("CAST({c} AS {other})"),
            };
            format!("{value} AS {}", quote(name))
        })
        .collect();
    let aliases: Vec<String> = (1..=HISTORY_COLUMNS.len()).map(|i| format!("C{i}")).collect();
    format!(
        "(SELECT {} FROM (VALUES {}) AS _TH(_N, {}){} ORDER BY _N)",
        projection.join(", "),
        tuples.join(", "),
        aliases.join(", "),
        if empty { " WHERE FALSE" } else { "" }
    )
}

const TASK_COLUMNS: [&str; 18] = [
    "created_on",
    "name",
    "id",
    "database_name",
    "schema_name",
    "owner",
    "comment",
    "warehouse",
    "schedule",
    "predecessors",
    "state",
    "definition",
    "condition",
    "allow_overlapping_execution",
    "error_integration",
    "last_committed_on",
    "last_suspended_on",
    "next_scheduled_time",
];

/// One row of `SHOW TASKS` / `DESCRIBE TASK`.
fn task_row(t: &TaskRecord) -> Vec<Option<String>> {
    vec![
        s(ts(t.created)),
        s(t.name.clone()),
        s(t.id.clone()),
        s(t.db.clone()),
        s(t.schema.clone()),
        s(t.owner.clone()),
        t.comment.clone(),
        t.warehouse.clone(),
        t.schedule.clone(),
        s("[]"),
        s(t.state.clone()),
        s(t.definition.clone()),
        None,
        s(t.allow_overlapping.to_string()),
        None,
        None,
        t.last_suspended.map(ts),
        t.next_time.filter(|_| t.state == STARTED).map(ts_ms),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_subquery_shapes() {
        let empty = history_subquery(&[], &HashMap::new());
        assert!(empty.ends_with(" WHERE FALSE ORDER BY _N)"), "{empty}");
        assert!(empty.contains("make_timestamp(CAST(C10 AS BIGINT) * 1000) AS \"SCHEDULED_TIME\""), "{empty}");
        let run = TaskRun {
            id: 1,
            task_id: "x".into(),
            db: "D".into(),
            schema: "PUBLIC".into(),
            name: "T".into(),
            owner: "SYSADMIN".into(),
            query_text: "insert into t values ('it''s')".into(),
            state: FAILED.into(),
            error_code: Some("002003".into()),
            error_message: Some("no 'table'".into()),
            query_id: None,
            scheduled: 1_000,
            started: Some(1_001),
            completed: Some(1_002),
            run_id: 1_000,
            scheduled_from: "EXECUTE TASK".into(),
        };
        let one = history_subquery(&[run], &HashMap::new());
        assert!(one.contains("'insert into t values (''it''''s'')'"), "{one}");
        assert!(one.contains("'no ''table'''"), "{one}");
        assert!(!one.contains("WHERE FALSE"));
    }
}
