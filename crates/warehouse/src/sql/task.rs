//! `CREATE TASK`, `ALTER TASK`, `EXECUTE TASK`, `SHOW TASKS`: their clauses. The statement after
//! `AS` is kept as text (see `parse_source`) and parsed again whenever the task runs.

use super::ast::*;
use super::cursor::Cursor;
use crate::WarehouseError;

/// After `CREATE [OR REPLACE] TASK`.
pub fn create_task(c: &mut Cursor, or_replace: bool) -> Result<Statement, WarehouseError> {
    let opts = CreateOpts { or_replace, if_not_exists: c.eat_seq(&["IF", "NOT", "EXISTS"]) };
    let name = c.object_name()?;
    let props = props(c, true)?;
    c.expect("AS")?;
    Ok(Statement::CreateTask { def: TaskDef { name, props, body: body(c)? }, opts })
}

/// The statement after `AS`: everything to the end.
fn body(c: &mut Cursor) -> Result<TaskBody, WarehouseError> {
    let start = c.offset().ok_or_else(|| c.unexpected("the task's SQL statement after AS"))?;
    c.skip_to_end();
    Ok(TaskBody { start, text: String::new() })
}

/// `key = value ...` until the end, or until `AS` when `until_as`.
fn props(c: &mut Cursor, until_as: bool) -> Result<TaskProps, WarehouseError> {
    let mut p = TaskProps::default();
    while !c.at_end() && !(until_as && c.peek().is_some_and(|t| t.is_kw("AS"))) {
        let key = c.ident()?;
        match key.as_str() {
            "AFTER" => return Err(WarehouseError::Unsupported("task graphs (AFTER)".into())),
            "WHEN" => return Err(WarehouseError::Unsupported("task conditions (WHEN)".into())),
            _ => {}
        }
        c.expect_op("=")?;
        match key.as_str() {
            "WAREHOUSE" => p.warehouse = Some(c.ident()?),
            "SCHEDULE" => p.schedule = Some(c.string()?),
            "COMMENT" => p.comment = Some(c.string()?),
            "ALLOW_OVERLAPPING_EXECUTION" => p.allow_overlapping = Some(c.boolean()?),
            "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE" | "USER_TASK_TIMEOUT_MS" | "SUSPEND_TASK_AFTER_NUM_FAILURES" | "ERROR_INTEGRATION"
            | "CONFIG" | "TASK_AUTO_RETRY_ATTEMPTS" | "USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS" | "TARGET_COMPLETION_INTERVAL"
            | "SERVERLESS_TASK_MIN_STATEMENT_SIZE" | "SERVERLESS_TASK_MAX_STATEMENT_SIZE" | "SUCCESS_INTEGRATION" | "LOG_LEVEL" => {
                return Err(WarehouseError::Unsupported(format!("task property {key}")))
            }
            other => return Err(WarehouseError::Syntax(format!("invalid property '{other}' for task"))),
        }
    }
    Ok(p)
}

/// After `ALTER TASK`.
pub fn alter_task(c: &mut Cursor) -> Result<Statement, WarehouseError> {
    let if_exists = c.eat_seq(&["IF", "EXISTS"]);
    let name = c.object_name()?;
    let action = if c.eat("RESUME") {
        TaskAction::Resume
    } else if c.eat("SUSPEND") {
        TaskAction::Suspend
    } else if c.eat("SET") {
        let p = props(c, false)?;
        if p == TaskProps::default() {
            return Err(c.unexpected("a task property"));
        }
        TaskAction::Set(p)
    } else if c.eat("UNSET") {
        let mut keys = Vec::new();
        loop {
            let k = c.ident()?.as_str().to_string();
            if !["WAREHOUSE", "SCHEDULE", "COMMENT", "ALLOW_OVERLAPPING_EXECUTION"].contains(&k.as_str()) {
                return Err(WarehouseError::Syntax(format!("invalid property '{k}' for task")));
            }
            keys.push(k);
            if !c.eat_op(",") {
                break;
            }
        }
        TaskAction::Unset(keys)
    } else if c.eat_seq(&["MODIFY", "AS"]) {
        TaskAction::ModifyAs(body(c)?)
    } else if c.eat_seq(&["MODIFY", "WHEN"]) || c.eat_seq(&["REMOVE", "WHEN"]) {
        return Err(WarehouseError::Unsupported("task conditions (WHEN)".into()));
    } else if c.eat_seq(&["ADD", "AFTER"]) || c.eat_seq(&["REMOVE", "AFTER"]) {
        return Err(WarehouseError::Unsupported("task graphs (AFTER)".into()));
    } else {
        return Err(c.unexpected("RESUME, SUSPEND, SET, UNSET or MODIFY AS"));
    };
    Ok(Statement::AlterTask { name, if_exists, action })
}

/// After `SHOW [TERSE] TASKS`.
pub fn show_tasks(c: &mut Cursor) -> Result<Statement, WarehouseError> {
    let like = if c.eat("LIKE") { Some(c.string()?) } else { None };
    let scope = show_scope(c, "TASKS")?;
    Ok(Statement::ShowTasks { like, scope })
}

/// `[IN ACCOUNT | DATABASE [db] | SCHEMA schema | name]` after `SHOW <what> [LIKE ...]`.
pub fn show_scope(c: &mut Cursor, what: &str) -> Result<ShowScope, WarehouseError> {
    if !c.eat("IN") {
        return Ok(ShowScope::Default);
    }
    Ok(if c.eat("ACCOUNT") {
        ShowScope::Account
    } else if c.eat("DATABASE") {
        if c.at_end() {
            ShowScope::Default
        } else {
            ShowScope::Database(c.ident()?)
        }
    } else if c.eat("SCHEMA") {
        if c.at_end() {
            return Err(WarehouseError::Unsupported(format!("SHOW {what} IN SCHEMA without a name")));
        }
        ShowScope::Schema(c.object_name()?)
    } else {
        let n = c.object_name()?;
        match n.0.len() {
            1 => ShowScope::Database(n.0[0].clone()),
            _ => ShowScope::Schema(n),
        }
    })
}
