//! Result reuse (`USE_CACHED_RESULT`, Snowflake's persisted query results): a query repeated by
//! a session gets its earlier result while nothing it reads has changed; a change anywhere, a
//! changing function, an open transaction or the parameter turned off makes it run again; the
//! privilege check runs every time.

use crate::support::*;

#[test]
fn a_repeated_query_reuses_its_result_until_something_changes() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "use role sysadmin; create database d; use schema d.public; create table t (a int); insert into t values (1), (2)");
    let mut other = f.admin();
    run(&mut other, "use role sysadmin; use schema d.public");
    let sum = "select sum(a) from t";
    assert_eq!(col(&run(&mut s, sum), 0), [Some("3".into())]);
    assert_eq!(s.reused_results(), 0);
    let again = run(&mut s, sum);
    assert_eq!(col(&again, 0), [Some("3".into())]);
    assert_eq!(s.reused_results(), 1, "the second run reuses the first's result");
    // Another session's write is seen: the kept result is of an older generation.
    run(&mut other, "insert into t values (10)");
    assert_eq!(col(&run(&mut s, sum), 0), [Some("13".into())]);
    assert_eq!(s.reused_results(), 1);
    assert_eq!(col(&run(&mut s, sum), 0), [Some("13".into())]);
    assert_eq!(s.reused_results(), 2);
    // Another text is another query (Snowflake matches the text exactly).
    run(&mut s, "SELECT sum(a) FROM t");
    assert_eq!(s.reused_results(), 2);
}

#[test]
fn changing_functions_transactions_and_the_parameter_prevent_reuse() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "use role sysadmin; create database d; use schema d.public; create table t (a int); insert into t values (1)");
    for sql in ["select random() from t", "select uuid_string() from t", "select current_timestamp() from t", "select a, current_date from t"] {
        run(&mut s, sql);
        run(&mut s, sql);
        assert_eq!(s.reused_results(), 0, "{sql}");
    }
    let r1 = run(&mut s, "select random()");
    let r2 = run(&mut s, "select random()");
    assert_ne!(r1.rows, r2.rows, "random() is drawn again");
    // Inside the session's own transaction, nothing is reused.
    run(&mut s, "begin");
    run(&mut s, "select count(*) from t");
    run(&mut s, "select count(*) from t");
    assert_eq!(s.reused_results(), 0);
    run(&mut s, "commit");
    // Turned off, then back on.
    run(&mut s, "alter session set use_cached_result = false");
    let shown = run(&mut s, "show parameters like 'USE_CACHED_RESULT'");
    assert_eq!(shown.rows[0][1].as_deref(), Some("false"));
    assert_eq!(shown.rows[0][3].as_deref(), Some("SESSION"));
    run(&mut s, "select count(*) from t");
    run(&mut s, "select count(*) from t");
    assert_eq!(s.reused_results(), 0);
    run(&mut s, "alter session unset use_cached_result");
    assert_eq!(run(&mut s, "show parameters like 'USE_CACHED_RESULT'").rows[0][1].as_deref(), Some("true"));
    run(&mut s, "select count(*) from t");
    run(&mut s, "select count(*) from t");
    assert_eq!(s.reused_results(), 1);
    let e = fails(&mut s, "alter session set use_cached_result = maybe");
    assert!(e.to_string().contains("USE_CACHED_RESULT"), "{e}");
}

#[test]
fn a_reused_result_still_needs_the_privilege() {
    let f = fixture();
    let mut admin = f.admin();
    run(&mut admin, "create role analyst; create user bob password = 'passw0rd!' default_role = analyst; grant role analyst to user bob");
    run(&mut admin, "use role sysadmin; create database d; use schema d.public; create table t (a int); insert into t values (7)");
    run(&mut admin, "use role accountadmin; grant usage on database d to role analyst; grant usage on schema d.public to role analyst; grant select on table t to role analyst");
    let mut bob = f.wh.session("bob", None).unwrap();
    run(&mut bob, "use schema d.public");
    run(&mut bob, "select a from t");
    run(&mut bob, "select a from t");
    assert_eq!(bob.reused_results(), 1);
    run(&mut admin, "revoke select on table t from role analyst");
    let e = fails(&mut bob, "select a from t");
    assert_eq!(e.wire().code, "002003", "{e}");
    assert_eq!(bob.reused_results(), 1);
    // The query id is the new statement's, as in Snowflake.
    run(&mut admin, "grant select on table t to role analyst");
    let first = run(&mut bob, "select a from t");
    let second = run(&mut bob, "select a from t");
    assert_eq!(bob.reused_results(), 2);
    assert_ne!(first.query_id, second.query_id);
    assert_eq!(first.rows, second.rows);
}

/// `execute_reused` answers only from a kept result, and otherwise runs nothing: it is what a
/// server may call on a thread that must not wait for the engine.
#[test]
fn answering_from_kept_results_alone_never_runs_the_statement() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "use role sysadmin; create database d; use schema d.public; create table t (a int); insert into t values (1)");
    let one = |sql: &str| warehouse::sql::split(sql).unwrap().remove(0);
    let q = one("select count(*) from t");
    assert!(s.execute_reused(&q, "q1".into()).is_none(), "nothing kept yet");
    run(&mut s, "select count(*) from t");
    let r = s.execute_reused(&q, "q2".into()).expect("kept").unwrap();
    assert_eq!((r.query_id.as_str(), col(&r, 0)), ("q2", vec![Some("1".into())]));
    // Statements that are not queries are never answered (nor run).
    assert!(s.execute_reused(&one("insert into t values (2)"), "q3".into()).is_none());
    assert_eq!(col(&run(&mut s, "select count(*) from t"), 0), [Some("1".into())], "the insert did not run");
    // After a change, the kept result is gone and nothing runs.
    let mut other = f.admin();
    run(&mut other, "use role sysadmin; insert into d.public.t values (5)");
    assert!(s.execute_reused(&q, "q4".into()).is_none());
    assert_eq!(col(&run(&mut s, "select count(*) from t"), 0), [Some("2".into())]);
}
