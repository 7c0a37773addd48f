//! The task scheduler: it finds started tasks whose time has come and runs each one's statement
//! in a new session of the `SYSTEM` user acting as the task's owner role, with the task's
//! database, schema and warehouse as context — an ordinary session, so external functions work.
//!
//! Every run is a catalog row moving SCHEDULED → EXECUTING → SUCCEEDED | FAILED, one transaction
//! per change. A task runs at most once at a time (unless `ALLOW_OVERLAPPING_EXECUTION = TRUE`):
//! when its time comes while a run is still SCHEDULED or EXECUTING, a SKIPPED run is recorded.
//! At start, runs a previous process left unfinished are marked FAILED and the next times of
//! started tasks are computed from now: missed runs are not replayed (as in Snowflake).

pub mod schedule;

use std::panic::AssertUnwindSafe;

use crate::catalog::tasks::{Claim, RunOrigin, TaskRecord, FAILED, STARTED, SUCCEEDED};
use crate::engine::Warehouse;
use crate::sql::ast::UseKind;
use crate::sql::{Ident, ObjectName};
use crate::WarehouseError;

use schedule::{advance, next_after, to_ms, Schedule};

/// The user task runs belong to.
pub const TASK_USER: &str = "SYSTEM";

pub(crate) fn now_ms() -> i64 {
    to_ms(time::OffsetDateTime::now_utc())
}

impl Warehouse {
    /// Starts the scheduler on the current Tokio runtime (panics outside one): it recovers runs
    /// left unfinished by a previous process, then every `task_tick` (1 s by default) claims the
    /// runs of due tasks and runs each in `spawn_blocking`. The loop keeps the warehouse alive
    /// until the returned handle is aborted (runs already started finish on their own).
    pub fn start_scheduler(&self) -> tokio::task::JoinHandle<()> {
        let wh = self.clone();
        tokio::spawn(async move {
            let w = wh.clone();
            match tokio::task::spawn_blocking(move || w.recover_tasks()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("task scheduler: recovering runs: {e}"),
                Err(e) => eprintln!("task scheduler: recovering runs: {e}"),
            }
            let mut tick = tokio::time::interval(wh.0.task_tick);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let w = wh.clone();
                let claims = match tokio::task::spawn_blocking(move || w.dispatch_due_tasks(now_ms())).await {
                    Ok(claims) => claims,
                    Err(e) => {
                        eprintln!("task scheduler: {e}");
                        continue;
                    }
                };
                for (task, run) in claims {
                    let w = wh.clone();
                    tokio::task::spawn_blocking(move || w.run_task(&task, run));
                }
            }
        })
    }

    /// At start: unfinished runs fail, started tasks get their next time from now.
    fn recover_tasks(&self) -> Result<(), WarehouseError> {
        let now = now_ms();
        let cat = self.catalog();
        let n = cat.recover_task_runs(now)?;
        if n > 0 {
            eprintln!("task scheduler: {n} task run(s) left unfinished by the previous server marked FAILED");
        }
        for t in cat.tasks()?.into_iter().filter(|t| t.state == STARTED) {
            let next = match t.schedule.as_deref().map(Schedule::parse) {
                Some(Ok(s)) => next_after(&s, schedule::from_ms(now)).map(to_ms),
                _ => None,
            };
            cat.set_task_next_time(&t.id, next)?;
        }
        Ok(())
    }

    /// Claims a run of every task due at `now_ms` (moving its next time on) and returns the
    /// runs to start; overlapping times become SKIPPED runs.
    pub(crate) fn dispatch_due_tasks(&self, now_ms: i64) -> Vec<(TaskRecord, i64)> {
        let cat = self.catalog();
        let due = match cat.due_tasks(now_ms) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("task scheduler: {e}");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for t in due {
            let Some(due_at) = t.next_time else { continue };
            let next = match t.schedule.as_deref().map(Schedule::parse) {
                Some(Ok(s)) => advance(&s, due_at, now_ms),
                _ => None,
            };
            match cat.claim_task_run(&t, RunOrigin::Schedule { due: due_at, next }, now_ms) {
                Ok(Claim::Run(run)) => out.push((t, run)),
                Ok(Claim::Skipped(_) | Claim::Gone) => {}
                Err(e) => eprintln!("task scheduler: task {}: {e}", t.qualified()),
            }
        }
        out
    }

    /// `EXECUTE TASK`'s run: on its own thread, so it needs no runtime.
    pub(crate) fn spawn_task_run(&self, task: TaskRecord, run: i64) {
        let wh = self.clone();
        let spawned = std::thread::Builder::new().name("recpipe-task".into()).spawn(move || wh.run_task(&task, run));
        if let Err(e) = spawned {
            let msg = format!("could not start the run: {e}");
            if let Err(e) = self.catalog().task_run_finished(run, FAILED, Some(("000603", msg.as_str())), None, now_ms()) {
                eprintln!("task scheduler: {e}");
            }
        }
    }

    /// Runs a claimed run to its end and records each state (blocking).
    pub(crate) fn run_task(&self, task: &TaskRecord, run: i64) {
        let cat = self.catalog();
        match cat.task_run_started(run, now_ms()) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                eprintln!("task scheduler: task {}: {e}", task.qualified());
                return;
            }
        }
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| self.run_task_statement(task)))
            .unwrap_or_else(|_| Err(WarehouseError::Internal(format!("the run of task {} panicked", task.qualified()))));
        let recorded = match &outcome {
            Ok(query_id) => cat.task_run_finished(run, SUCCEEDED, None, Some(query_id), now_ms()),
            Err(e) => {
                if let WarehouseError::Internal(detail) = e {
                    eprintln!("task scheduler: task {}: {detail}", task.qualified());
                }
                let message = e.wire_message();
                cat.task_run_finished(run, FAILED, Some((e.wire().code, message.as_str())), None, now_ms())
            }
        };
        if let Err(e) = recorded {
            eprintln!("task scheduler: task {}: recording the run: {e}", task.qualified());
        }
    }

    /// The task's statement in a session of its owner with its context; the query id.
    fn run_task_statement(&self, task: &TaskRecord) -> Result<String, WarehouseError> {
        if !self.catalog().role_exists(&task.owner)? {
            return Err(WarehouseError::not_found("Role", &task.owner));
        }
        let mut s = self.system_session(&task.owner)?;
        s.use_(UseKind::Schema, ObjectName(vec![Ident::quoted(&task.db), Ident::quoted(&task.schema)]))?;
        if let Some(w) = &task.warehouse {
            s.use_(UseKind::Warehouse, ObjectName(vec![Ident::quoted(w)]))?;
        }
        Ok(s.execute_one(&task.definition)?.query_id)
    }

    /// Makes the started task `db.schema.name` due now, as if its next scheduled time had come:
    /// the scheduler runs it at its next tick. False if there is no such started task. For
    /// tests and operators; schedules are otherwise untouched.
    #[doc(hidden)]
    pub fn make_task_due(&self, db: &str, schema: &str, name: &str) -> Result<bool, WarehouseError> {
        match self.catalog().task(db, schema, name)? {
            Some(t) if t.state == STARTED => self.catalog().set_task_next_time(&t.id, Some(now_ms())),
            _ => Ok(false),
        }
    }
}
