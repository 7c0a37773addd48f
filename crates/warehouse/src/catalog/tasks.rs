//! Tasks and their runs. A task is a row keyed by database, schema and name (its id is new on
//! every creation); a run is a row that moves SCHEDULED → EXECUTING → SUCCEEDED | FAILED (or is
//! born SKIPPED), one transaction per state change. Times of runs and `next_time` are in
//! milliseconds since the epoch; `created`/`last_suspended` in seconds like the other objects.

use rusqlite::{params, OptionalExtension, Row};

use super::Catalog;
use crate::WarehouseError;

/// `SHOW TASKS` states, as Snowflake spells them.
pub const STARTED: &str = "started";
pub const SUSPENDED: &str = "suspended";

/// Run states, as `TASK_HISTORY` spells them.
pub const SCHEDULED: &str = "SCHEDULED";
pub const EXECUTING: &str = "EXECUTING";
pub const SUCCEEDED: &str = "SUCCEEDED";
pub const FAILED: &str = "FAILED";
pub const SKIPPED: &str = "SKIPPED";

/// `TASK_HISTORY` keeps a week, like Snowflake's information schema.
const HISTORY_MS: i64 = 7 * 24 * 3_600_000;

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    /// New on every creation (`CREATE OR REPLACE` makes a new task).
    pub id: String,
    pub db: String,
    pub schema: String,
    pub name: String,
    pub warehouse: Option<String>,
    /// As written, e.g. `5 MINUTE` or `USING CRON 0 3 * * * UTC`; `None`: only `EXECUTE TASK`.
    pub schedule: Option<String>,
    /// The statement after `AS`, verbatim; parsed again for every run.
    pub definition: String,
    pub comment: Option<String>,
    pub allow_overlapping: bool,
    pub owner: String,
    /// [`STARTED`] or [`SUSPENDED`].
    pub state: String,
    /// When a started task next runs (ms); `None` while suspended.
    pub next_time: Option<i64>,
    pub created: i64,
    pub last_suspended: Option<i64>,
}

impl TaskRecord {
    /// `DB.SCHEMA.NAME`: the name grants and messages use.
    pub fn qualified(&self) -> String {
        format!("{}.{}.{}", self.db, self.schema, self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRun {
    pub id: i64,
    pub task_id: String,
    pub db: String,
    pub schema: String,
    pub name: String,
    pub owner: String,
    pub query_text: String,
    pub state: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub query_id: Option<String>,
    pub scheduled: i64,
    pub started: Option<i64>,
    pub completed: Option<i64>,
    /// Snowflake's RUN_ID: the time the run was originally scheduled (ms).
    pub run_id: i64,
    /// `SCHEDULE` or `EXECUTE TASK`.
    pub scheduled_from: String,
}

/// Why a run is claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOrigin {
    /// The scheduler found the task due at `due`; the task's next time becomes `next`. Claimed
    /// only if the task is still started and still due at `due` (else [`Claim::Gone`]).
    Schedule { due: i64, next: Option<i64> },
    /// `EXECUTE TASK`, now.
    Execute,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// A SCHEDULED run was recorded: run it.
    Run(i64),
    /// The previous run is still going: a SKIPPED run was recorded.
    Skipped(i64),
    /// The task was suspended, changed or dropped meanwhile: nothing recorded.
    Gone,
}

const TASK_COLUMNS: &str = "id, db, schema, name, warehouse, schedule, definition, comment, allow_overlapping, owner, state, next_time, created, last_suspended";

fn task_row(r: &Row) -> rusqlite::Result<TaskRecord> {
    Ok(TaskRecord {
        id: r.get(0)?,
        db: r.get(1)?,
        schema: r.get(2)?,
        name: r.get(3)?,
        warehouse: r.get(4)?,
        schedule: r.get(5)?,
        definition: r.get(6)?,
        comment: r.get(7)?,
        allow_overlapping: r.get(8)?,
        owner: r.get(9)?,
        state: r.get(10)?,
        next_time: r.get(11)?,
        created: r.get(12)?,
        last_suspended: r.get(13)?,
    })
}

const RUN_COLUMNS: &str = "id, task_id, db, schema, name, owner, query_text, state, error_code, error_message, query_id, scheduled, started, completed, run_id, scheduled_from";

fn run_row(r: &Row) -> rusqlite::Result<TaskRun> {
    Ok(TaskRun {
        id: r.get(0)?,
        task_id: r.get(1)?,
        db: r.get(2)?,
        schema: r.get(3)?,
        name: r.get(4)?,
        owner: r.get(5)?,
        query_text: r.get(6)?,
        state: r.get(7)?,
        error_code: r.get(8)?,
        error_message: r.get(9)?,
        query_id: r.get(10)?,
        scheduled: r.get(11)?,
        started: r.get(12)?,
        completed: r.get(13)?,
        run_id: r.get(14)?,
        scheduled_from: r.get(15)?,
    })
}

impl Catalog {
    pub fn task(&self, db: &str, schema: &str, name: &str) -> Result<Option<TaskRecord>, WarehouseError> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE db = ?1 AND schema = ?2 AND name = ?3"),
                params![db, schema, name],
                task_row,
            )
            .optional()?)
        })
    }

    pub fn tasks(&self) -> Result<Vec<TaskRecord>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks ORDER BY db, schema, name"))?;
            let rows = st.query_map([], task_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Started tasks whose next time is at or before `now_ms`.
    pub fn due_tasks(&self, now_ms: i64) -> Result<Vec<TaskRecord>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE state = ?1 AND next_time IS NOT NULL AND next_time <= ?2 ORDER BY next_time"
            ))?;
            let rows = st.query_map(params![STARTED, now_ms], task_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Inserts a task, replacing any task of the same name.
    pub fn put_task(&self, t: &TaskRecord) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM tasks WHERE db = ?1 AND schema = ?2 AND name = ?3", params![t.db, t.schema, t.name])?;
            tx.execute(
                &format!("INSERT INTO tasks ({TASK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
                params![
                    t.id, t.db, t.schema, t.name, t.warehouse, t.schedule, t.definition, t.comment, t.allow_overlapping, t.owner, t.state,
                    t.next_time, t.created, t.last_suspended
                ],
            )?;
            Ok(())
        })
    }

    /// Writes a task's changeable fields (by id). False if it no longer exists.
    pub fn update_task(&self, t: &TaskRecord) -> Result<bool, WarehouseError> {
        self.tx(|tx| {
            Ok(tx.execute(
                "UPDATE tasks SET warehouse = ?2, schedule = ?3, definition = ?4, comment = ?5, allow_overlapping = ?6, state = ?7,
                 next_time = ?8, last_suspended = ?9 WHERE id = ?1",
                params![t.id, t.warehouse, t.schedule, t.definition, t.comment, t.allow_overlapping, t.state, t.next_time, t.last_suspended],
            )? > 0)
        })
    }

    pub fn set_task_next_time(&self, id: &str, next_ms: Option<i64>) -> Result<bool, WarehouseError> {
        self.tx(|tx| Ok(tx.execute("UPDATE tasks SET next_time = ?2 WHERE id = ?1", params![id, next_ms])? > 0))
    }

    /// Drops a task; its history stays (as in Snowflake) and a run already claimed finishes.
    pub fn drop_task(&self, id: &str) -> Result<bool, WarehouseError> {
        self.tx(|tx| Ok(tx.execute("DELETE FROM tasks WHERE id = ?1", params![id])? > 0))
    }

    /// Drops the tasks of a dropped (or replaced) database; their history stays.
    pub fn drop_tasks_in(&self, db: &str) -> Result<usize, WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM grants WHERE kind = 'TASK' AND object IN (SELECT db || '.' || schema || '.' || name FROM tasks WHERE db = ?1)", params![db])?;
            Ok(tx.execute("DELETE FROM tasks WHERE db = ?1", params![db])?)
        })
    }

    /// Records a run of `t` (see [`RunOrigin`] and [`Claim`]), in one transaction.
    pub fn claim_task_run(&self, t: &TaskRecord, origin: RunOrigin, now_ms: i64) -> Result<Claim, WarehouseError> {
        self.tx(|tx| {
            let (scheduled, from) = match origin {
                RunOrigin::Schedule { due, next } => {
                    let still_due = tx.execute(
                        "UPDATE tasks SET next_time = ?3 WHERE id = ?1 AND state = ?2 AND next_time = ?4",
                        params![t.id, STARTED, next, due],
                    )?;
                    if still_due == 0 {
                        return Ok(Claim::Gone);
                    }
                    (due, "SCHEDULE")
                }
                RunOrigin::Execute => {
                    let exists = tx.query_row("SELECT 1 FROM tasks WHERE id = ?1", params![t.id], |_| Ok(())).optional()?;
                    if exists.is_none() {
                        return Ok(Claim::Gone);
                    }
                    (now_ms, "EXECUTE TASK")
                }
            };
            tx.execute(
                "DELETE FROM task_runs WHERE scheduled < ?1 AND state NOT IN (?2, ?3)",
                params![now_ms - HISTORY_MS, SCHEDULED, EXECUTING],
            )?;
            let running: i64 = tx.query_row(
                "SELECT count(*) FROM task_runs WHERE task_id = ?1 AND state IN (?2, ?3)",
                params![t.id, SCHEDULED, EXECUTING],
                |r| r.get(0),
            )?;
            let skip = running > 0 && !t.allow_overlapping;
            let (state, message, completed) = if skip {
                (SKIPPED, Some("Skipped because the previous run of the task was still executing."), Some(now_ms))
            } else {
                (SCHEDULED, None, None)
            };
            tx.execute(
                "INSERT INTO task_runs (task_id, db, schema, name, owner, query_text, state, error_message, scheduled, completed, run_id, scheduled_from)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9, ?11)",
                params![t.id, t.db, t.schema, t.name, t.owner, t.definition, state, message, scheduled, completed, from],
            )?;
            let id = tx.last_insert_rowid();
            Ok(if skip { Claim::Skipped(id) } else { Claim::Run(id) })
        })
    }

    /// SCHEDULED → EXECUTING. False if the run is not SCHEDULED (recovered meanwhile).
    pub fn task_run_started(&self, run: i64, now_ms: i64) -> Result<bool, WarehouseError> {
        self.tx(|tx| {
            Ok(tx.execute(
                "UPDATE task_runs SET state = ?2, started = ?3 WHERE id = ?1 AND state = ?4",
                params![run, EXECUTING, now_ms, SCHEDULED],
            )? > 0)
        })
    }

    /// EXECUTING (or SCHEDULED) → SUCCEEDED | FAILED.
    pub fn task_run_finished(
        &self,
        run: i64,
        state: &str,
        error: Option<(&str, &str)>,
        query_id: Option<&str>,
        now_ms: i64,
    ) -> Result<(), WarehouseError> {
        let (code, message) = error.unzip();
        self.tx(|tx| {
            tx.execute(
                "UPDATE task_runs SET state = ?2, error_code = ?3, error_message = ?4, query_id = ?5, completed = ?6,
                 started = coalesce(started, ?6) WHERE id = ?1 AND state IN (?7, ?8)",
                params![run, state, code, message, query_id, now_ms, SCHEDULED, EXECUTING],
            )?;
            Ok(())
        })
    }

    /// At start: runs the previous process left SCHEDULED or EXECUTING failed with it.
    pub fn recover_task_runs(&self, now_ms: i64) -> Result<usize, WarehouseError> {
        self.tx(|tx| {
            let a = tx.execute(
                "UPDATE task_runs SET state = ?1, error_message = ?2, completed = ?3 WHERE state = ?4",
                params![FAILED, "the server stopped while the task ran", now_ms, EXECUTING],
            )?;
            let b = tx.execute(
                "UPDATE task_runs SET state = ?1, error_message = ?2, completed = ?3 WHERE state = ?4",
                params![FAILED, "the server stopped before the task ran", now_ms, SCHEDULED],
            )?;
            Ok(a + b)
        })
    }

    /// Runs, newest first (scheduled time, then creation), optionally of one database and of
    /// tasks named `name` (any case).
    pub fn task_runs(&self, db: Option<&str>, name: Option<&str>) -> Result<Vec<TaskRun>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM task_runs WHERE (?1 IS NULL OR db = ?1) AND (?2 IS NULL OR upper(name) = upper(?2))
                 ORDER BY scheduled DESC, id DESC"
            ))?;
            let rows = st.query_map(params![db, name], run_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// One run (tests, tools).
    pub fn task_run(&self, id: i64) -> Result<Option<TaskRun>, WarehouseError> {
        self.read(|c| Ok(c.query_row(&format!("SELECT {RUN_COLUMNS} FROM task_runs WHERE id = ?1"), params![id], run_row).optional()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(cat: &Catalog, overlap: bool) -> TaskRecord {
        let t = TaskRecord {
            id: "t1".into(),
            db: "D".into(),
            schema: "PUBLIC".into(),
            name: "T".into(),
            warehouse: None,
            schedule: Some("1 MINUTE".into()),
            definition: "select 1".into(),
            comment: None,
            allow_overlapping: overlap,
            owner: "SYSADMIN".into(),
            state: STARTED.into(),
            next_time: Some(1_000),
            created: 0,
            last_suspended: None,
        };
        cat.put_task(&t).unwrap();
        t
    }

    #[test]
    fn one_run_at_a_time_and_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(&dir.path().join("catalog.db")).unwrap();
        let t = task(&cat, false);
        assert_eq!(cat.due_tasks(999).unwrap().len(), 0);
        assert_eq!(cat.due_tasks(1_000).unwrap().len(), 1);
        let Claim::Run(r1) = cat.claim_task_run(&t, RunOrigin::Schedule { due: 1_000, next: Some(61_000) }, 1_001).unwrap() else {
            panic!("first claim runs")
        };
        // A second claim of the same due time finds the task moved on.
        assert_eq!(cat.claim_task_run(&t, RunOrigin::Schedule { due: 1_000, next: Some(61_000) }, 1_002).unwrap(), Claim::Gone);
        assert_eq!(cat.task("D", "PUBLIC", "T").unwrap().unwrap().next_time, Some(61_000));
        assert!(cat.task_run_started(r1, 1_005).unwrap());
        // Still executing at the next time: skipped.
        let Claim::Skipped(s) = cat.claim_task_run(&t, RunOrigin::Schedule { due: 61_000, next: Some(121_000) }, 61_001).unwrap() else {
            panic!("overlap is skipped")
        };
        assert_eq!(cat.task_run(s).unwrap().unwrap().state, SKIPPED);
        let Claim::Skipped(_) = cat.claim_task_run(&t, RunOrigin::Execute, 61_002).unwrap() else { panic!("execute skips too") };
        assert_eq!(cat.recover_task_runs(70_000).unwrap(), 1);
        let r = cat.task_run(r1).unwrap().unwrap();
        assert_eq!((r.state.as_str(), r.error_message.as_deref()), (FAILED, Some("the server stopped while the task ran")));
        // Finishing a recovered run changes nothing.
        cat.task_run_finished(r1, SUCCEEDED, None, None, 71_000).unwrap();
        assert_eq!(cat.task_run(r1).unwrap().unwrap().state, FAILED);
        let runs = cat.task_runs(Some("D"), Some("t")).unwrap();
        assert_eq!(runs.len(), 3);
        assert!(runs[0].scheduled >= runs[1].scheduled, "newest first");
        assert_eq!(cat.task_runs(Some("OTHER"), None).unwrap().len(), 0);
    }

    #[test]
    fn overlapping_allowed_runs_twice() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(&dir.path().join("catalog.db")).unwrap();
        let t = task(&cat, true);
        let Claim::Run(a) = cat.claim_task_run(&t, RunOrigin::Execute, 5).unwrap() else { panic!() };
        let Claim::Run(b) = cat.claim_task_run(&t, RunOrigin::Execute, 6).unwrap() else { panic!() };
        assert_ne!(a, b);
        assert!(cat.drop_task(&t.id).unwrap());
        assert_eq!(cat.claim_task_run(&t, RunOrigin::Execute, 7).unwrap(), Claim::Gone);
    }
}
