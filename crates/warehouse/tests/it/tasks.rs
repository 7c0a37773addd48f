//! Tasks: statements, privileges, runs recorded in TASK_HISTORY, the scheduler and restarts.

use std::sync::Arc;
use std::time::Duration;

use warehouse::catalog::tasks::{Claim, RunOrigin};
use warehouse::{QueryResult, Session, Warehouse, WarehouseConfig};

use crate::support::*;

const HISTORY: &str = "select name, state, error_message, scheduled_from, query_id, query_start_time, completed_time, error_code, run_id \
                       from table(information_schema.task_history(task_name => '{T}'))";

fn history(s: &mut Session, task: &str) -> QueryResult {
    run(s, &HISTORY.replace("{T}", task))
}

/// Waits until the newest run of `task` is in `state`; returns the history.
fn wait_state(s: &mut Session, task: &str, state: &str) -> QueryResult {
    wait_for(20, &format!("a {state} run of {task}"), || {
        let h = history(s, task);
        (h.get(0, "state") == Some(state)).then_some(h)
    })
}

/// `d.public` with a warehouse and a table `log (n int, who varchar, role varchar)`, as SYSADMIN.
fn setup(f: &Fixture) -> Session {
    let mut s = f.admin();
    run(&mut s, "create database d; create warehouse wh");
    run(&mut s, "use role sysadmin; use schema d.public; use warehouse wh");
    run(&mut s, "create table log (n int, who varchar, role varchar)");
    s
}

fn count(s: &mut Session, sql: &str) -> i64 {
    run(s, sql).rows[0][0].as_deref().unwrap().parse().unwrap()
}

#[test]
fn create_show_resume_execute_and_history() {
    let f = fixture();
    let mut s = setup(&f);
    let mut bare = f.wh.session("admin", Some("SYSADMIN")).unwrap();
    let e = fails(&mut bare, "create task t schedule = '1 minute' as select 1");
    assert!(e.to_string().contains("Cannot perform CREATE TASK. This session does not have a current database."), "{e}");

    let r = run(&mut s, "create task ins warehouse = wh schedule = '5 minutes' comment = 'adds a row' as insert into log select 1, current_user(), current_role()");
    assert_eq!(r.rows[0][0].as_deref(), Some("Task INS successfully created."));
    let e = fails(&mut s, "create task ins as select 1");
    assert!(e.to_string().contains("'INS' already exists"), "{e}");
    run(&mut s, "create task if not exists ins as select 1");

    let r = run(&mut s, "show tasks");
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.get(0, "name"), Some("INS"));
    assert_eq!(r.get(0, "database_name"), Some("D"));
    assert_eq!(r.get(0, "schema_name"), Some("PUBLIC"));
    assert_eq!(r.get(0, "owner"), Some("SYSADMIN"));
    assert_eq!(r.get(0, "warehouse"), Some("WH"));
    assert_eq!(r.get(0, "schedule"), Some("5 minutes"));
    assert_eq!(r.get(0, "state"), Some("suspended"), "tasks are created suspended");
    assert_eq!(r.get(0, "comment"), Some("adds a row"));
    assert_eq!(r.get(0, "definition"), Some("insert into log select 1, current_user(), current_role()"));
    assert_eq!(r.get(0, "next_scheduled_time"), None);
    assert_eq!(run(&mut s, "show tasks like 'x%'").rows.len(), 0);
    assert_eq!(run(&mut s, "show tasks in schema d.public").rows.len(), 1);
    assert_eq!(run(&mut s, "show tasks in account").rows.len(), 1);

    run(&mut s, "alter task ins resume");
    let r = run(&mut s, "describe task d.public.ins");
    assert_eq!(r.get(0, "state"), Some("started"));
    assert!(r.get(0, "next_scheduled_time").is_some());
    // A started task shows its next run as SCHEDULED.
    let h = history(&mut s, "ins");
    assert_eq!(h.rows.len(), 1);
    assert_eq!(h.get(0, "state"), Some("SCHEDULED"));
    assert_eq!(h.get(0, "scheduled_from"), Some("SCHEDULE"));
    run(&mut s, "alter task ins suspend");
    assert_eq!(history(&mut s, "ins").rows.len(), 0);

    // EXECUTE TASK runs a suspended task once, in the background.
    let r = run(&mut s, "execute task ins");
    assert_eq!(r.rows[0][0].as_deref(), Some("Statement executed successfully."));
    let h = wait_state(&mut s, "ins", "SUCCEEDED");
    assert_eq!(h.rows.len(), 1);
    assert_eq!(h.get(0, "name"), Some("INS"));
    assert_eq!(h.get(0, "scheduled_from"), Some("EXECUTE TASK"));
    assert!(h.get(0, "query_id").is_some() && h.get(0, "query_start_time").is_some() && h.get(0, "completed_time").is_some());
    assert_eq!(h.get(0, "error_message"), None);
    let r = run(&mut s, "select n, who, role from log");
    assert_eq!(r.rows, vec![vec![Some("1".into()), Some("SYSTEM".into()), Some("SYSADMIN".into())]], "run as SYSTEM in the owner's role");

    // The full column set, Snowflake's names and types.
    let r = run(&mut s, "select * from table(information_schema.task_history())");
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    for c in ["QUERY_ID", "NAME", "DATABASE_NAME", "SCHEMA_NAME", "QUERY_TEXT", "STATE", "ERROR_CODE", "ERROR_MESSAGE", "SCHEDULED_TIME", "QUERY_START_TIME", "COMPLETED_TIME", "RUN_ID"] {
        assert!(names.contains(&c), "{c} in {names:?}");
    }
    assert_eq!(r.columns.iter().find(|c| c.name == "SCHEDULED_TIME").unwrap().sf_type, "timestamp_ntz");
    assert_eq!(r.columns.iter().find(|c| c.name == "RUN_ID").unwrap().sf_type, "fixed");
    assert_eq!(r.get(0, "QUERY_TEXT"), Some("insert into log select 1, current_user(), current_role()"));
}

#[test]
fn failed_runs_and_history_queries() {
    let f = fixture();
    let mut s = setup(&f);
    run(&mut s, "create task bad as insert into no_such_table values (1)");
    run(&mut s, "create task good as insert into log (n) values (2)");
    run(&mut s, "execute task bad");
    let h = wait_state(&mut s, "BAD", "FAILED");
    let msg = h.get(0, "error_message").unwrap();
    assert!(msg.to_uppercase().contains("NO_SUCH_TABLE"), "{msg}");
    assert!(h.get(0, "error_code").is_some());
    run(&mut s, "execute task good");
    wait_state(&mut s, "good", "SUCCEEDED");
    run(&mut s, "execute task good");
    wait_for(20, "two runs of GOOD", || (count(&mut s, "select count(*) from task_history() where name = 'GOOD' and state = 'SUCCEEDED'") == 2).then_some(()));
    assert_eq!(count(&mut s, "select count(*) from log"), 2);

    // Arguments, and the call inside arbitrary queries.
    let r = run(&mut s, "select name, state from table(task_history(error_only => true))");
    assert_eq!(r.rows, vec![vec![Some("BAD".into()), Some("FAILED".into())]]);
    assert_eq!(run(&mut s, "select * from table(information_schema.task_history(result_limit => 2))").rows.len(), 2);
    assert_eq!(run(&mut s, "select * from table(d.information_schema.task_history())").rows.len(), 3);
    let r = run(&mut s, "select h.name, count(*) as n from table(information_schema.task_history()) h group by h.name order by n desc limit 1");
    assert_eq!(r.rows[0], vec![Some("GOOD".into()), Some("2".into())]);
    let r = run(&mut s, "select count(*) from table(task_history(scheduled_time_range_start => '2000-01-01'::timestamp_ntz, scheduled_time_range_end => '2100-01-01'::timestamp_ntz))");
    assert_eq!(r.rows[0][0].as_deref(), Some("3"));
    let r = run(&mut s, "select count(*) from table(task_history(scheduled_time_range_start => '2100-01-01'::timestamp_ntz))");
    assert_eq!(r.rows[0][0].as_deref(), Some("0"));
    let r = run(&mut s, "select count(*) from table(task_history(task_name => 'nothing'))");
    assert_eq!(r.rows[0][0].as_deref(), Some("0"), "an empty history is an empty table");
    let r = run(&mut s, "select state from table(task_history()) order by scheduled_time desc limit 1");
    assert_eq!(r.rows.len(), 1);
    let e = fails(&mut s, "select * from table(task_history(result_limit => 0))");
    assert!(e.to_string().contains("RESULT_LIMIT"), "{e}");
    let e = fails(&mut s, "select * from table(task_history('bad'))");
    assert!(e.to_string().contains("named arguments"), "{e}");
    // Another database's history is not this one's.
    run(&mut s, "use role accountadmin; create database other; use role sysadmin");
    assert_eq!(run(&mut s, "select * from table(information_schema.task_history())").rows.len(), 0);
}

#[test]
fn schedules_are_checked() {
    let f = fixture();
    let mut s = setup(&f);
    let e = fails(&mut s, "create task t schedule = 'USING CRON 0 3 * * * America/New_York' as select 1");
    assert!(e.to_string().contains("'America/New_York'") && e.to_string().contains("only in UTC"), "{e}");
    assert!(fails(&mut s, "create task t schedule = '0 minutes' as select 1").to_string().contains("SCHEDULE"));
    assert!(fails(&mut s, "create task t schedule = 'USING CRON 0 0 30 2 * UTC' as select 1").to_string().contains("never fires"));
    assert!(fails(&mut s, "create task t warehouse = nope as select 1").to_string().contains("Warehouse 'NOPE' does not exist"));
    run(&mut s, "create task t schedule = 'USING CRON */15 * * * * UTC' as select 1");
    run(&mut s, "create task n as select 1");
    let e = fails(&mut s, "alter task n resume");
    assert!(e.to_string().contains("no SCHEDULE"), "{e}");
    run(&mut s, "alter task n set schedule = '2 minutes' comment = 'now scheduled'");
    run(&mut s, "alter task n resume");
    let r = run(&mut s, "show tasks like 'N'");
    assert_eq!(r.get(0, "schedule"), Some("2 minutes"));
    assert_eq!(r.get(0, "state"), Some("started"));
    assert!(fails(&mut s, "alter task n unset schedule").to_string().contains("suspend it first"));
    run(&mut s, "alter task n suspend; alter task n unset schedule, comment; alter task n modify as select 2");
    let r = run(&mut s, "show tasks like 'N'");
    assert_eq!((r.get(0, "schedule"), r.get(0, "comment"), r.get(0, "definition")), (None, None, Some("select 2")));
    // OR REPLACE makes a new, suspended task.
    run(&mut s, "alter task t resume");
    let id = run(&mut s, "show tasks like 'T'").get(0, "id").unwrap().to_string();
    run(&mut s, "create or replace task t schedule = '1 minute' as select 3");
    let r = run(&mut s, "show tasks like 'T'");
    assert_ne!(r.get(0, "id"), Some(id.as_str()));
    assert_eq!(r.get(0, "state"), Some("suspended"));
}

#[test]
fn privileges_and_drop() {
    let f = fixture();
    let mut s = setup(&f);
    run(&mut s, "create task ins schedule = '1 minute' as insert into log (n) values (1)");
    run(&mut s, "use role accountadmin; create role analyst; grant role analyst to user admin; use role analyst");
    let e = fails(&mut s, "create task mine as select 1");
    assert!(e.to_string().contains("Insufficient privileges to operate on schema 'PUBLIC'"), "{e}");
    for sql in ["alter task ins resume", "alter task ins suspend", "execute task ins", "drop task ins", "alter task ins set comment = 'x'", "describe task ins"] {
        let e = fails(&mut s, sql);
        assert!(e.to_string().contains("Insufficient privileges to operate on task 'INS'"), "{sql}: {e}");
    }
    assert_eq!(run(&mut s, "show tasks").rows.len(), 0, "tasks of other roles are not shown");
    let e = fails(&mut s, "alter task nope resume");
    assert!(e.to_string().contains("Task 'D.PUBLIC.NOPE' does not exist or not authorized."), "{e}");

    // OPERATE: resume, suspend and execute, but not change or drop.
    run(&mut s, "use role accountadmin; grant operate on task d.public.ins to role analyst; grant create task on schema d.public to role analyst; use role analyst");
    run(&mut s, "alter task ins resume; alter task ins suspend; execute task ins");
    wait_state(&mut s, "INS", "SUCCEEDED");
    assert_eq!(run(&mut s, "show tasks").rows.len(), 1);
    assert!(fails(&mut s, "drop task ins").to_string().contains("Insufficient privileges to operate on task 'INS'"));
    assert!(fails(&mut s, "alter task ins modify as select 1").to_string().contains("Insufficient privileges"));
    // CREATE TASK on the schema: the task belongs to the creating role, and runs with its
    // privileges (an INSERT grant on the table it writes).
    run(&mut s, "create task mine as insert into log (n) values (5)");
    assert_eq!(run(&mut s, "show tasks like 'MINE'").get(0, "owner"), Some("ANALYST"));
    run(&mut s, "execute task mine");
    let failed = wait_state(&mut s, "MINE", "FAILED");
    assert!(failed.get(0, "error_message").is_some_and(|m| m.contains("'D.PUBLIC.LOG' does not exist or not authorized")), "{failed:?}");
    run(&mut s, "use role accountadmin; grant insert on table d.public.log to role analyst; use role analyst");
    run(&mut s, "execute task mine");
    wait_state(&mut s, "MINE", "SUCCEEDED");
    run(&mut s, "drop task mine");

    // The owner drops; the history stays, the name is free.
    run(&mut s, "use role sysadmin");
    let r = run(&mut s, "drop task ins");
    assert_eq!(r.rows[0][0].as_deref(), Some("INS successfully dropped."));
    assert_eq!(run(&mut s, "show tasks").rows.len(), 0);
    assert!(fails(&mut s, "drop task ins").to_string().contains("Task 'D.PUBLIC.INS' does not exist or not authorized."));
    run(&mut s, "drop task if exists ins");
    assert_eq!(history(&mut s, "INS").get(0, "state"), Some("SUCCEEDED"));
    assert!(fails(&mut s, "execute task ins").to_string().contains("does not exist"));
}

/// A sync test with a Tokio runtime for the scheduler only.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn quick() -> WarehouseConfig {
    WarehouseConfig { call: fast_calls(), task_tick: Duration::from_millis(50), ..WarehouseConfig::default() }
}

#[test]
fn the_scheduler_runs_due_tasks_once_at_a_time() {
    let rt = runtime();
    let _in_rt = rt.enter();
    let f = fixture_with(quick());
    let scheduler = f.wh.start_scheduler();
    let mut s = setup(&f);
    run(&mut s, "create task tick schedule = '1 minute' as insert into log (n) values (7)");
    // Suspended: making it due does nothing.
    assert!(!f.wh.make_task_due("D", "PUBLIC", "TICK").unwrap());
    run(&mut s, "alter task tick resume");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&mut s, "select count(*) from log"), 0, "not due for a minute");

    assert!(f.wh.make_task_due("D", "PUBLIC", "TICK").unwrap());
    wait_for(20, "the scheduled run", || {
        let r = run(&mut s, "select state, scheduled_from from table(task_history()) where state <> 'SCHEDULED'");
        (r.get(0, "state") == Some("SUCCEEDED")).then_some(())
    });
    assert_eq!(run(&mut s, "select scheduled_from from table(task_history()) where state = 'SUCCEEDED'").rows[0][0].as_deref(), Some("SCHEDULE"));
    assert_eq!(count(&mut s, "select count(*) from log where n = 7"), 1);
    // Its next time moved about a minute on, and shows as SCHEDULED.
    let r = run(&mut s, "select count(*) from table(task_history()) where state = 'SCHEDULED' and scheduled_time > (select max(completed_time) from table(task_history())) + interval '30 seconds'");
    assert_eq!(r.rows[0][0].as_deref(), Some("1"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&mut s, "select count(*) from log"), 1, "ran once");

    // A run still executing when the next time comes: that time is skipped.
    let cat = f.wh.catalog();
    let t = cat.task("D", "PUBLIC", "TICK").unwrap().unwrap();
    let Claim::Run(stuck) = cat.claim_task_run(&t, RunOrigin::Execute, 0).unwrap() else { panic!("claim") };
    assert!(cat.task_run_started(stuck, 0).unwrap());
    assert!(f.wh.make_task_due("D", "PUBLIC", "TICK").unwrap());
    wait_for(20, "a skipped run", || {
        let r = run(&mut s, "select error_message from table(task_history()) where state = 'SKIPPED'");
        r.rows.first().cloned()
    });
    assert_eq!(count(&mut s, "select count(*) from log"), 1, "skipped runs do not run");
    scheduler.abort();
}

#[test]
fn restart_fails_unfinished_runs_and_reschedules() {
    let dir = tempfile::tempdir().unwrap();
    let iam = Arc::new(iam::Iam::open(dir.path().join("state.db")).unwrap());
    {
        let wh = Warehouse::open_with(dir.path(), Arc::clone(&iam), quick()).unwrap().warehouse;
        let mut s = wh.session("ADMIN", Some("SYSADMIN")).unwrap();
        run(&mut s, "use role accountadmin; create database d; use role sysadmin");
        run(&mut s, "create task t schedule = '10 minutes' as select 1; alter task t resume");
        // The server stops while a run is executing.
        let t = wh.catalog().task("D", "PUBLIC", "T").unwrap().unwrap();
        let Claim::Run(run_id) = wh.catalog().claim_task_run(&t, RunOrigin::Execute, 1).unwrap() else { panic!("claim") };
        assert!(wh.catalog().task_run_started(run_id, 2).unwrap());
        // And its next time is long past.
        wh.catalog().set_task_next_time(&t.id, Some(1_000)).unwrap();
    }
    let rt = runtime();
    let _in_rt = rt.enter();
    let wh = Warehouse::open_with(dir.path(), iam, quick()).unwrap().warehouse;
    let scheduler = wh.start_scheduler();
    let mut s = wh.session("ADMIN", Some("SYSADMIN")).unwrap();
    run(&mut s, "use schema d.public");
    let h = wait_for(20, "the recovered run", || {
        let h = history(&mut s, "T");
        (h.get(1, "state") == Some("FAILED")).then_some(h)
    });
    assert_eq!(h.rows.len(), 2, "{h:?}");
    assert_eq!(h.get(0, "state"), Some("SCHEDULED"));
    assert_eq!(h.get(1, "state"), Some("FAILED"));
    assert_eq!(h.get(1, "error_message"), Some("the server stopped while the task ran"));
    // The missed time was not replayed: the next run is about ten minutes away.
    std::thread::sleep(Duration::from_millis(300));
    let next = wh.catalog().task("D", "PUBLIC", "T").unwrap().unwrap().next_time.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    assert!(next > now + 9 * 60_000 && next <= now + 10 * 60_000 + 1_000, "next {next}, now {now}");
    assert_eq!(count(&mut s, "select count(*) from table(task_history()) where state = 'SUCCEEDED'"), 0);
    scheduler.abort();
}

#[test]
fn dropping_a_database_drops_its_tasks() {
    let f = fixture();
    let mut s = setup(&f);
    run(&mut s, "create task t schedule = '1 minute' as select 1; alter task t resume");
    run(&mut s, "use role accountadmin; create database e; create task u as select 1");
    assert_eq!(run(&mut s, "show tasks in account").rows.len(), 2);
    run(&mut s, "drop database d");
    let r = run(&mut s, "show tasks in account");
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.get(0, "database_name"), Some("E"));
    run(&mut s, "create or replace database e");
    assert_eq!(run(&mut s, "show tasks in account").rows.len(), 0);
}
