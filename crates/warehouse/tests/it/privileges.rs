//! Privileges by the kind of reference a statement makes to a table: read through a CTE, a
//! subquery, a join, `INSERT … SELECT`, `MERGE` (source and target), `CREATE TABLE … AS`,
//! `UPDATE … FROM`, `DELETE … USING`, a lateral `FLATTEN` or a `TABLE(GENERATOR(…))` beside it,
//! a view, an external function. A role without the grant is refused as Snowflake refuses what
//! a role cannot see (`002003`, nothing about the object shown); with the grant the same
//! statement runs. A reference the check cannot classify is refused, never passed on.

use warehouse::Session;

use crate::support::*;

/// As SYSADMIN in `d.public`: table `t (a int, v variant)` with one row, table `w (a int)` that
/// role ANALYST may read and write and create tables beside, view `tv` over `t`, and user `bob`
/// whose only role is ANALYST (no grant on `t` or `tv`).
fn setup(f: &Fixture) -> (Session, Session) {
    let mut s = f.admin();
    run(&mut s, "create role analyst; create user bob password = 'passw0rd!' default_role = analyst; grant role analyst to user bob");
    run(&mut s, "use role sysadmin; create database d; use schema d.public");
    run(&mut s, "create table t (a int, v variant); insert into t select 1, parse_json('[10, 20]')");
    run(&mut s, "create table w (a int); insert into w values (1)");
    run(&mut s, "create view tv as select a from t");
    for p in ["select", "insert", "update", "delete"] {
        run(&mut s, &format!("grant {p} on table w to role analyst"));
    }
    run(&mut s, "use role accountadmin; grant create table on schema d.public to role analyst; use role sysadmin");
    let mut bob = f.wh.session("bob", None).unwrap();
    run(&mut bob, "use schema d.public");
    (s, bob)
}

/// Refused as a name of no object or not authorized (`002003`), naming nothing it guards.
fn no_object(s: &mut Session, sql: &str) {
    let e = fails(s, sql);
    assert_eq!(e.wire().code, "002003", "{sql}: {e}");
    assert!(!e.to_string().contains("[10"), "{sql}: the refusal shows the data: {e}");
}

#[test]
fn every_kind_of_read_needs_select_on_the_table() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    let reads = [
        ("cte", "with c as (select a from t) select count(*) from c"),
        ("subquery", "select count(*) from w where a in (select a from t)"),
        ("derived table", "select count(*) from (select * from t) x"),
        ("join", "select count(*) from w join t on w.a = t.a"),
        ("insert select", "insert into w select a from t"),
        ("merge source", "merge into w using t on w.a = t.a when matched then update set a = t.a"),
        ("create table as", "create table copy_of_t as select * from t"),
        ("update from", "update w set a = t.a from t where w.a = t.a"),
        ("delete using", "delete from w using t where w.a = t.a + 100"),
        ("lateral flatten", "select f.value from t, lateral flatten(input => t.v) f"),
        ("table flatten", "select f.value from t, table(flatten(t.v)) f"),
        ("beside a generator", "select count(*) from t, table(generator(rowcount => 2))"),
        ("exists", "select exists (select 1 from t)"),
        ("scalar subquery in a projection", "select (select max(a) from t)"),
    ];
    for (_, sql) in reads {
        no_object(&mut bob, sql);
    }
    run(&mut admin, "grant select on table t to role analyst");
    for (kind, sql) in reads {
        if let Err(e) = bob.execute(sql) {
            panic!("{kind}: {sql}\n  refused with the grant: {e}");
        }
        if kind == "create table as" {
            run(&mut admin, "drop table copy_of_t");
        }
    }
    run(&mut admin, "revoke select on table t from role analyst");
    for (_, sql) in reads {
        no_object(&mut bob, sql);
    }
}

#[test]
fn a_merge_needs_its_target_privileges_and_its_source_select() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    run(&mut admin, "grant select on table t to role analyst");
    // A target the role holds nothing on: it does not exist for the role.
    run(&mut admin, "create table target (a int)");
    let merge = "merge into target g using w on g.a = w.a when not matched then insert (a) values (w.a)";
    no_object(&mut bob, merge);
    // Some privilege but not the ones a merge needs: not authorized, said as such.
    run(&mut admin, "grant select on table target to role analyst");
    assert_eq!(fails(&mut bob, merge).wire().code, "003001");
    for p in ["insert", "update", "delete"] {
        run(&mut admin, &format!("grant {p} on table target to role analyst"));
    }
    let r = run(&mut bob, merge);
    assert_eq!(r.columns[0].name, "number of rows inserted");
    assert_eq!(r.rows[0][0].as_deref(), Some("1"));
}

#[test]
fn a_view_reads_its_tables_with_its_owners_rights() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    no_object(&mut bob, "select a from tv");
    // Snowflake's views run with their owner's rights: a grant on the view alone reads it, the
    // table under it stays out of reach by its own name.
    run(&mut admin, "grant select on view tv to role analyst");
    assert_eq!(run(&mut bob, "select a from tv").rows[0][0].as_deref(), Some("1"));
    no_object(&mut bob, "select a from t");
    no_object(&mut bob, "select tv.a from tv join t on tv.a = t.a");
}

#[test]
fn an_external_function_needs_usage() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    run(&mut admin, "use role accountadmin");
    run(&mut admin, "create api integration i api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::123456789012:role/r' enabled = true api_allowed_prefixes = ('http://127.0.0.1:9/')");
    run(&mut admin, "create external function ef(v varchar) returns variant api_integration = i as 'http://127.0.0.1:9/ef'");
    no_object(&mut bob, "select ef('x')");
    no_object(&mut bob, "select a from w where ef('x') is not null");
    run(&mut admin, "grant usage on function ef(varchar) to role analyst");
    // Past the privilege check the call fails at the network (nothing listens on port 9).
    let e = fails(&mut bob, "select ef('x')");
    assert!(!["002003", "003001"].contains(&e.wire().code), "{e}");
    // Its arguments are reads like any other.
    no_object(&mut bob, "select ef((select max(a) from t)::varchar)");
}

#[test]
fn sequences_are_for_the_roles_that_see_the_whole_database() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    run(&mut admin, "create sequence seq start = 1 increment = 1");
    no_object(&mut bob, "select seq.nextval");
    no_object(&mut bob, "create or replace sequence seq start = 5 increment = 1");
    no_object(&mut bob, "drop sequence seq");
    assert_eq!(run(&mut admin, "select seq.nextval").rows[0][0].as_deref(), Some("1"));
}

#[test]
fn unclassifiable_references_are_refused() {
    let f = fixture();
    let (_admin, mut bob) = setup(&f);
    for sql in ["select * from d.public.t.a", "insert into a.b.c.d values (1)", "select * from w, lateral (select * from a.b.c.d) x"] {
        let e = fails(&mut bob, sql);
        assert_eq!(e.wire().code, "002040", "{sql}: {e}");
    }
}

/// A session remembers the tables its checks found; a table another session drops and creates
/// again under the same name starts without grants, and the remembered name admits nothing.
#[test]
fn a_table_replaced_by_another_session_is_checked_afresh() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    run(&mut admin, "grant select on table t to role analyst");
    assert_eq!(col(&run(&mut bob, "select count(*) from t"), 0), [Some("1".into())]);
    run(&mut admin, "create or replace table t (a int, v variant); insert into t select 2, null");
    no_object(&mut bob, "select count(*) from t");
    run(&mut admin, "grant select on table t to role analyst");
    assert_eq!(col(&run(&mut bob, "select count(*) from t where a = 2"), 0), [Some("1".into())]);
    // Dropped by its owner's session: bob's next statement does not find it, whatever he
    // found before.
    run(&mut admin, "drop table t");
    no_object(&mut bob, "select count(*) from t");
}

/// A name looked up and not found is looked up again once any session has changed the catalog:
/// a table another session creates (at once, at the `COMMIT` of its transaction, or by the
/// MovieLens loader) is checked like any other, never reached through a remembered "no such
/// table" that would leave the engine to answer.
#[test]
fn a_table_created_after_a_lookup_that_missed_is_checked() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    no_object(&mut bob, "select count(*) from later");
    run(&mut admin, "create table later (a int); insert into later values (7)");
    no_object(&mut bob, "select count(*) from later");
    run(&mut admin, "grant select on table later to role analyst");
    assert_eq!(col(&run(&mut bob, "select a from later"), 0), [Some("7".into())]);

    no_object(&mut bob, "select count(*) from in_transaction");
    run(&mut admin, "begin; create table in_transaction (a int); insert into in_transaction values (1)");
    no_object(&mut bob, "select count(*) from in_transaction");
    run(&mut admin, "commit");
    no_object(&mut bob, "select count(*) from in_transaction");

    no_object(&mut bob, "select count(*) from movielens.public.ratings");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("movies.csv"), "movieId,title,genres\n1,Toy Story (1995),Animation\n").unwrap();
    std::fs::write(dir.path().join("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n").unwrap();
    warehouse::load::load_movielens(&f.wh, dir.path(), &|_, _, _| {}).unwrap();
    no_object(&mut bob, "select count(*) from movielens.public.ratings");
    // The same holds for a schema a `CREATE TABLE` needs: created after bob's first try, the
    // grant on it decides.
    let e = fails(&mut bob, "create table d.later_schema.t (a int)");
    assert_eq!(e.wire().code, "002003", "{e}");
    run(&mut admin, "create schema d.later_schema");
    let e = fails(&mut bob, "create table d.later_schema.t (a int)");
    assert_eq!(e.wire().code, "003001", "{e}");
}

/// What a session sees inside its own transaction is not what the others see: a table it
/// dropped and has not committed is still there for everyone else, and their checks find it.
#[test]
fn a_lookup_inside_a_transaction_is_not_shared() {
    let f = fixture();
    let (mut admin, _bob) = setup(&f);
    run(&mut admin, "use role accountadmin; create role other; create user carol password = 'passw0rd!' default_role = other; grant role other to user carol");
    run(&mut admin, "use role sysadmin");
    let mut carol = f.wh.session("carol", None).unwrap();
    run(&mut carol, "use schema d.public");
    no_object(&mut carol, "select count(*) from t");
    run(&mut admin, "begin; drop table t");
    // A query naming a quoted column looks its table up (not there, inside the transaction).
    let e = fails(&mut admin, "select \"a\" from t");
    assert_eq!(e.wire().code, "002003", "{e}");
    no_object(&mut carol, "select count(*) from t");
    run(&mut admin, "rollback");
    assert_eq!(col(&run(&mut admin, "select count(*) from t"), 0), [Some("1".into())]);
    no_object(&mut carol, "select count(*) from t");
}

/// The role that creates a table owns it, as in Snowflake: it reads, writes, grants and drops
/// it without a grant of its own; another role needs the owner's grant, and may not drop it.
#[test]
fn the_creating_role_owns_its_table() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    run(&mut admin, "use role accountadmin; create role other; create user carol password = 'passw0rd!' default_role = other; grant role other to user carol");
    let mut carol = f.wh.session("carol", None).unwrap();
    run(&mut carol, "use schema d.public");
    run(&mut bob, "create table mine (a int); insert into mine values (1); update mine set a = 2; create view mine_v as select a from mine");
    assert_eq!(col(&run(&mut bob, "select a from mine_v"), 0), [Some("2".into())]);
    let shown = run(&mut admin, "show grants on table d.public.mine");
    assert!(shown.rows.iter().any(|r| r[1].as_deref() == Some("OWNERSHIP") && r[5].as_deref() == Some("ANALYST")), "{:?}", shown.rows);
    no_object(&mut carol, "select a from mine");
    run(&mut bob, "grant select on table mine to role other");
    assert_eq!(col(&run(&mut carol, "select a from mine"), 0), [Some("2".into())]);
    let e = fails(&mut carol, "drop table mine");
    assert_eq!(e.wire().code, "003001", "{e}");
    let e = fails(&mut carol, "grant select on table mine to role other");
    assert_eq!(e.wire().code, "003001", "{e}");
    // Renamed, the table keeps its owner and its grants.
    run(&mut bob, "drop view mine_v; alter table mine rename to mine2");
    assert_eq!(col(&run(&mut carol, "select a from mine2"), 0), [Some("2".into())]);
    no_object(&mut carol, "select a from mine");
    run(&mut bob, "insert into mine2 values (3); alter table mine2 rename to mine");
    assert_eq!(col(&run(&mut carol, "select count(*) from mine"), 0), [Some("2".into())]);
    run(&mut bob, "drop table mine");
    // A table of the name made again starts with its creator's ownership alone.
    run(&mut admin, "use role sysadmin; create table mine (a int)");
    no_object(&mut carol, "select a from mine");
    no_object(&mut bob, "drop table mine");
    // A creation its transaction rolled back leaves no owner behind.
    run(&mut bob, "begin; create table brief (a int); rollback");
    run(&mut admin, "create table brief (a int)");
    no_object(&mut bob, "drop table brief");
}

/// A renamed view keeps its owner and grants; `GRANT OWNERSHIP` moves ownership to another role
/// (the old owner loses it), keeping the other grants or, with `REVOKE CURRENT GRANTS`,
/// ending them; ownership is never revoked.
#[test]
fn views_keep_grants_when_renamed_and_ownership_is_transferred() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    run(&mut admin, "use role accountadmin; create role other; create user carol password = 'passw0rd!' default_role = other; grant role other to user carol");
    run(&mut admin, "grant usage on database d to role other; grant usage on schema d.public to role other; use role sysadmin");
    let mut carol = f.wh.session("carol", None).unwrap();
    run(&mut carol, "use schema d.public");
    run(&mut bob, "create view wv as select a from w; grant select on view wv to role other");
    assert_eq!(col(&run(&mut carol, "select a from wv"), 0), [Some("1".into())]);
    run(&mut bob, "alter view wv rename to wv2");
    assert_eq!(col(&run(&mut carol, "select a from wv2"), 0), [Some("1".into())]);
    no_object(&mut carol, "select a from wv");
    let e = fails(&mut carol, "alter view wv2 rename to wv3");
    assert_eq!(e.wire().code, "003001", "only the owner renames: {e}");
    // Ownership moves to OTHER: bob's role no longer owns the table it made.
    run(&mut bob, "create table handed (a int); insert into handed values (4); grant select on table handed to role sysadmin");
    let e = fails(&mut carol, "grant ownership on table handed to role other");
    assert_eq!(e.wire().code, "003001", "{e}");
    run(&mut bob, "grant ownership on table handed to role other copy current grants");
    run(&mut carol, "insert into handed values (5); grant select on table handed to role analyst");
    let e = fails(&mut bob, "drop table handed");
    assert_eq!(e.wire().code, "003001", "ANALYST may read it now, not drop it: {e}");
    let shown = run(&mut admin, "show grants on table d.public.handed");
    let owners: Vec<_> = shown.rows.iter().filter(|r| r[1].as_deref() == Some("OWNERSHIP")).map(|r| r[5].clone()).collect();
    assert_eq!(owners, [Some("OTHER".into())], "{:?}", shown.rows);
    assert_eq!(col(&run(&mut admin, "select count(*) from handed"), 0), [Some("2".into())], "SYSADMIN's grant was copied");
    // Back to ANALYST, revoking the grants the table carried.
    run(&mut carol, "grant ownership on table handed to role analyst revoke current grants");
    no_object(&mut carol, "select a from handed");
    let shown = run(&mut admin, "show grants on table d.public.handed");
    assert_eq!(shown.rows.len(), 1, "only the ownership is left: {:?}", shown.rows);
    let e = fails(&mut bob, "revoke ownership on table handed from role analyst");
    assert_eq!(e.wire().code, "002040", "{e}");
    let e = fails(&mut bob, "grant select on table handed to role other copy current grants");
    assert!(e.to_string().contains("GRANT OWNERSHIP"), "{e}");
}
