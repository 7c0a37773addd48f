//! The acceptance script's statement forms, identifier rules, grants, integrations.

use crate::support::*;
use warehouse::WarehouseError;

#[test]
fn lab_flow_objects_and_dialect() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "create database movielens");
    run(&mut s, "use role sysadmin");
    run(&mut s, "use schema movielens.public");
    run(&mut s, "create or replace warehouse compute_wh with warehouse_size = 'XSMALL' auto_suspend = 60 auto_resume = true");
    run(&mut s, "use warehouse compute_wh");
    run(&mut s, "create table ratings (userid int, movieid int, rating float, timestamp timestamp_ntz)");
    let r = run(&mut s, "insert into ratings (userid, movieid, rating, timestamp) values (1, 10, '4.5', '2020-01-01 00:00:00'), (2, 10, 3, null)");
    assert_eq!(r.rows[0][0].as_deref(), Some("2"));
    let r = run(&mut s, "select count(*) from ratings");
    assert_eq!(r.rows[0][0].as_deref(), Some("2"));
    run(&mut s, "create or replace table ratings_train_data as (select userid, movieid, rating from ratings)");
    run(&mut s, "create or replace table user_movie_recommendations (userid int, top_10_recommendations variant)");
    run(&mut s, "insert into user_movie_recommendations select column1, parse_json(column2) from values (1, '[1,2,3]'), (2, '{\"a\": {\"b\": 7}}')");
    let r = run(&mut s, "select userid, top_10_recommendations from user_movie_recommendations order by userid limit 10");
    assert_eq!(r.columns[0].name, "USERID");
    assert_eq!(r.columns[1].sf_type, "variant");
    assert_eq!(r.rows[0][1].as_deref(), Some("[1,2,3]"));
    let r = run(&mut s, "select top_10_recommendations:a.b::int from movielens.public.user_movie_recommendations where userid = 2");
    assert_eq!(r.rows[0][0].as_deref(), Some("7"));
    // A scalar cast of a VARIANT path reads the value: a string without its JSON quotes.
    let r = run(&mut s, "select v:s::varchar, v:s, v:n::number, v:f::float, v:missing::varchar, v:o::variant from (select parse_json('{\"s\": \"s3://b/k\", \"n\": 7, \"f\": 1.5, \"o\": {\"k\": \"v\"}}') as v)");
    let row: Vec<Option<&str>> = r.rows[0].iter().map(|c| c.as_deref()).collect();
    assert_eq!(row, [Some("s3://b/k"), Some("\"s3://b/k\""), Some("7"), Some("1.5"), None, Some("{\"k\":\"v\"}")]);
    // '1' into FLOAT, comma joins, three-part names, quoted case kept.
    run(&mut s, "create or replace table no_ratings (userid float, movieid float)");
    run(&mut s, "insert into no_ratings (userid, movieid) values ('1', '10'), ('2', '11')");
    let r = run(&mut s, "select nr.userid, r.rating from no_ratings nr, movielens.public.ratings r where nr.movieid = r.movieid order by 1");
    assert_eq!(r.rows.len(), 2);
    assert_eq!(col(&r, 0), vec![Some("1.0".to_string()), Some("1.0".to_string())]);
    run(&mut s, "create table \"MixedCase\" (\"lower\" int)");
    let r = run(&mut s, "show tables like 'Mixed%'");
    assert_eq!(r.get(0, "name"), Some("MixedCase"));
    let r = run(&mut s, "describe table user_movie_recommendations");
    assert_eq!(col(&r, 1), vec![Some("NUMBER(38,0)".into()), Some("VARIANT".into())]);
    let r = run(&mut s, "show warehouses");
    assert_eq!(r.get(0, "name"), Some("COMPUTE_WH"));
    assert_eq!(r.get(0, "size"), Some("X-Small"));
    let r = run(&mut s, "show databases");
    assert_eq!(r.get(0, "name"), Some("MOVIELENS"));
    let e = fails(&mut s, "select * from no_such_table");
    assert!(e.to_string().contains("NO_SUCH_TABLE"), "{e}");
    let e = fails(&mut s, "create stage my_stage url = 's3://bucket/path'");
    assert!(matches!(e, WarehouseError::Unsupported(_)), "{e}");
}

#[test]
fn databases_persist_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let iam = std::sync::Arc::new(iam::Iam::open(dir.path().join("state.db")).unwrap());
    {
        let wh = warehouse::Warehouse::open(dir.path(), iam.clone()).unwrap();
        assert!(wh.admin_password.is_some());
        let mut s = wh.warehouse.session("ADMIN", None).unwrap();
        run(&mut s, "create database d1; create table t (a int); insert into t values (42)");
    }
    let wh = warehouse::Warehouse::open(dir.path(), iam).unwrap();
    assert!(wh.admin_password.is_none(), "the admin password is printed once only");
    let mut s = wh.warehouse.session("ADMIN", None).unwrap();
    let r = run(&mut s, "select a from d1.public.t");
    assert_eq!(r.rows[0][0].as_deref(), Some("42"));
    assert!(dir.path().join("warehouse/D1.duckdb").is_file());
}

#[test]
fn integrations_need_accountadmin_and_change_external_id() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "use role sysadmin");
    let e = fails(&mut s, "create api integration i api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::123456789012:role/r' enabled = true api_allowed_prefixes = ('http://x/')");
    assert!(e.to_string().contains("Insufficient privileges to operate on account"), "{e}");
    run(&mut s, "use role accountadmin");
    let create = "create or replace api integration i api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::123456789012:role/r' api_key = 'k3y' enabled = true api_allowed_prefixes = ('http://x/dev/') api_blocked_prefixes = ('http://x/dev/admin')";
    run(&mut s, create);
    let d = run(&mut s, "describe integration i");
    assert_eq!(d.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["property", "property_type", "property_value", "property_default"]);
    let prop = |d: &warehouse::QueryResult, p: &str| d.rows.iter().find(|r| r[0].as_deref() == Some(p)).and_then(|r| r[2].clone()).unwrap();
    assert_eq!(prop(&d, "API_KEY"), "********");
    assert_eq!(prop(&d, "API_AWS_IAM_USER_ARN"), f.wh.integration_user_arn());
    assert!(f.iam.get_user(f.wh.integration_user_arn().rsplit('/').next().unwrap()).is_ok());
    let ext1 = prop(&d, "API_AWS_EXTERNAL_ID");
    assert!(ext1.contains("_SFCRole=2_"), "{ext1}");
    run(&mut s, create);
    let ext2 = prop(&run(&mut s, "describe integration i"), "API_AWS_EXTERNAL_ID");
    assert_ne!(ext1, ext2, "re-creating an integration gives a new external id");
    run(&mut s, "create database d");
    let e = fails(&mut s, "create external function f(x varchar) returns variant api_integration = i as 'http://x/prod/f'");
    assert!(e.to_string().contains("not allowed by API integration"), "{e}");
    let e = fails(&mut s, "create external function f(x varchar) returns variant api_integration = i as 'http://x/dev/admin/f'");
    assert!(e.to_string().contains("not allowed by API integration"), "{e}");
    run(&mut s, "create external function f(x varchar) returns variant api_integration = i as 'http://x/dev/f'");
    run(&mut s, "alter api integration i set enabled = false");
    let r = run(&mut s, "show integrations");
    assert_eq!(r.get(0, "enabled"), Some("false"));
    run(&mut s, "drop integration i");
    assert!(fails(&mut s, "describe integration i").to_string().contains("does not exist"));
}

#[test]
fn function_usage_needs_a_grant() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "create database d");
    run(&mut s, "create api integration i api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::123456789012:role/r' enabled = true api_allowed_prefixes = ('http://127.0.0.1:9/')");
    run(&mut s, "create external function f(a varchar, b varchar) returns variant api_integration = i as 'http://127.0.0.1:9/f'");
    run(&mut s, "use role sysadmin");
    let e = fails(&mut s, "select f('a', 'b')");
    assert_eq!(e.wire().code, "002003", "{e}");
    assert!(e.to_string().contains("Function 'F' does not exist or not authorized."), "{e}");
    assert_eq!(run(&mut s, "show external functions").rows.len(), 0);
    run(&mut s, "use role accountadmin");
    run(&mut s, "grant usage on function f(varchar, varchar) to role sysadmin");
    run(&mut s, "use role sysadmin");
    let r = run(&mut s, "show external functions");
    assert_eq!(r.get(0, "arguments"), Some("F(VARCHAR, VARCHAR) RETURN VARIANT"));
    // Now the call gets past the privilege check and fails at the network (nothing on port 9)
    // or at AssumeRole (the role does not exist): either way, not a privilege error.
    let e = fails(&mut s, "select f('a', 'b')");
    assert!(!e.to_string().contains("Insufficient") && e.wire().code != "002003", "{e}");
    let r = run(&mut s, "show grants to role sysadmin");
    assert!(r.rows.iter().any(|row| row[1].as_deref() == Some("USAGE") && row[3].as_deref() == Some("D.PUBLIC.F(VARCHAR, VARCHAR)")));
}

#[test]
fn roles_users_and_login() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "create role analyst; grant role analyst to role sysadmin; create user ann password = 'passw0rd!' default_role = analyst");
    let t = f.wh.login("ann", "passw0rd!").unwrap();
    assert_eq!(f.wh.authenticate(&t.token).unwrap().role, "ANALYST");
    assert!(matches!(f.wh.login("ann", "wrong"), Err(WarehouseError::BadCredentials)));
    assert!(matches!(f.wh.authenticate("nope"), Err(WarehouseError::BadToken)));
    let mut ann = f.wh.session("ann", None).unwrap();
    let e = fails(&mut ann, "use role accountadmin");
    assert!(e.to_string().contains("not assigned"), "{e}");
    assert!(s.effective_roles().unwrap().contains("ANALYST"), "ACCOUNTADMIN inherits SYSADMIN inherits ANALYST");
}

#[test]
fn sql_reaches_no_file_outside_the_warehouse_and_loads_no_extension() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "create database d");
    // File readers are not on the function allowlist (the engine's own settings would stop
    // them too).
    for sql in ["select * from parquet_kv_metadata('/etc/hostname')", "select * from read_json_objects_auto('/etc/hostname')", "select * from read_ndjson_objects('/etc/hostname')"] {
        let e = fails(&mut s, sql);
        assert!(matches!(e, WarehouseError::UnknownFunction(_)), "{sql}: {e}");
    }
    // A function of an extension that is not linked in is unknown: nothing is downloaded.
    let e = fails(&mut s, "select * from sqlite_scan('state.db', 'iam_users')").to_string();
    assert!(!e.contains("download") && !e.contains("http"), "{e}");
    // The warehouse's own files still work (a restart is `databases_persist_across_restart`).
    run(&mut s, "create database e");
    run(&mut s, "create table e.public.t (v variant)");
    run(&mut s, "insert into e.public.t select parse_json('{\"a\": [1, 2]}')");
    assert_eq!(run(&mut s, "select v:a[1]::int from e.public.t").rows[0][0].as_deref(), Some("2"));
}

#[test]
fn tables_need_grants_for_roles_that_do_not_own_their_database() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "create role analyst");
    run(&mut s, "grant role analyst to user admin");
    run(&mut s, "use role sysadmin");
    run(&mut s, "create database d");
    run(&mut s, "create table t (a int, b varchar)");
    run(&mut s, "insert into t values (1, 'x')");
    run(&mut s, "use role analyst");
    run(&mut s, "use database d");
    assert_eq!(run(&mut s, "show tables").rows.len(), 0, "tables without a grant are not listed");
    // Not granted: not even visible, however the name is written or wherever it appears.
    for sql in [
        "select * from t",
        "select * from d.public.t",
        "select * from \"d\".\"public\".\"t\"",
        "select 1 from (select a from t) x",
        "with x as (select 1 as a) select * from x join t using (a)",
        "select count(*) from range(3) r, d.public.t",
        "describe table t",
    ] {
        let e = fails(&mut s, sql).to_string();
        assert!(e.contains("Object 'D.PUBLIC.T' does not exist or not authorized."), "{sql}: {e}");
    }
    for sql in ["create table d.public.mine (a int)", "create table mine as select * from t"] {
        let e = fails(&mut s, sql).to_string();
        assert!(e.contains("Insufficient privileges to operate on schema 'D.PUBLIC'"), "{sql}: {e}");
    }

    run(&mut s, "use role sysadmin");
    run(&mut s, "grant select on table d.public.t to role analyst");
    run(&mut s, "use role analyst");
    assert_eq!(run(&mut s, "select b from t where a = 1").rows[0][0].as_deref(), Some("x"));
    assert_eq!(run(&mut s, "describe table t").rows.len(), 2);
    assert_eq!(run(&mut s, "show tables").rows.len(), 1);
    for sql in ["insert into t values (2, 'y')", "delete from t", "update t set b = 'z'", "drop table t", "alter table t add column c int"] {
        let e = fails(&mut s, sql).to_string();
        assert!(e.contains("Insufficient privileges to operate on table 'D.PUBLIC.T'"), "{sql}: {e}");
    }
    run(&mut s, "use role sysadmin");
    run(&mut s, "grant insert on table d.public.t to role analyst");
    run(&mut s, "use role analyst");
    run(&mut s, "insert into t values (2, 'y')");
    // The system roles need no grant.
    run(&mut s, "use role sysadmin");
    assert_eq!(run(&mut s, "select count(*) from t").rows[0][0].as_deref(), Some("2"));
    run(&mut s, "use role accountadmin");
    run(&mut s, "delete from d.public.t where a = 2");

    // A table dropped or replaced takes its grants with it: a new one of the same name starts
    // without them, as does a re-created database.
    run(&mut s, "use role sysadmin");
    run(&mut s, "create or replace table t (a int, b varchar)");
    run(&mut s, "use role analyst");
    assert!(fails(&mut s, "select * from t").to_string().contains("does not exist or not authorized"));
    run(&mut s, "use role sysadmin");
    run(&mut s, "grant select on table d.public.t to role analyst");
    run(&mut s, "drop database d");
    run(&mut s, "create database d");
    run(&mut s, "create table d.public.t (a int, b varchar)");
    run(&mut s, "use role analyst");
    assert!(fails(&mut s, "select * from d.public.t").to_string().contains("does not exist or not authorized"));

    // A grant finds its table the way a statement does: quoted lower case names D.PUBLIC.T too.
    run(&mut s, "use role sysadmin");
    run(&mut s, "grant select on table \"d\".\"public\".\"t\" to role analyst");
    run(&mut s, "use role analyst");
    assert_eq!(run(&mut s, "select count(*) from t").rows[0][0].as_deref(), Some("0"));
    run(&mut s, "use role sysadmin");
    run(&mut s, "revoke select on table \"t\" from role analyst");
    run(&mut s, "use role analyst");
    assert!(fails(&mut s, "select * from t").to_string().contains("does not exist or not authorized"));
    run(&mut s, "use role sysadmin");
    let e = fails(&mut s, "grant select on table d.public.nosuch to role analyst").to_string();
    assert!(e.contains("D.PUBLIC.NOSUCH") && e.contains("does not exist"), "{e}");
}

#[test]
fn flatten_turns_arrays_and_objects_into_rows() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "create database d");
    run(&mut s, "create table recs (userid int, top_10_recommendations variant)");
    run(&mut s, "insert into recs select 1, parse_json('[10, 20, 30]')");
    run(&mut s, "insert into recs select 2, parse_json('{\"a\": [5], \"b\": \"x\"}')");
    let r = run(&mut s, "select r.userid, f.index, f.value::int as movieid from recs r, lateral flatten(input => r.top_10_recommendations) f where r.userid = 1 order by f.index");
    let rows: Vec<Vec<Option<&str>>> = r.rows.iter().map(|row| row.iter().map(|c| c.as_deref()).collect()).collect();
    assert_eq!(rows, vec![vec![Some("1"), Some("0"), Some("10")], vec![Some("1"), Some("1"), Some("20")], vec![Some("1"), Some("2"), Some("30")]]);
    assert_eq!(r.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["USERID", "INDEX", "MOVIEID"]);
    let r = run(&mut s, "select f.key, f.path, f.index, f.value from recs, table(flatten(input => top_10_recommendations)) f where userid = 2 order by f.key");
    assert_eq!(r.rows[0], vec![Some("a".into()), Some("a".into()), None, Some("[5]".into())]);
    assert_eq!(r.rows[1], vec![Some("b".into()), Some("b".into()), None, Some("\"x\"".into())]);
    let r = run(&mut s, "select f.path, f.value::int, f.this from recs, lateral flatten(input => top_10_recommendations, path => 'a') f where userid = 2");
    assert_eq!(r.rows, vec![vec![Some("a[0]".into()), Some("5".into()), Some("[5]".into())]]);
    assert_eq!(run(&mut s, "select count(*) from recs, lateral flatten(top_10_recommendations) f").rows[0][0].as_deref(), Some("5"));
    for (sql, named) in [
        ("select * from recs, lateral flatten(input => top_10_recommendations, recursive => true) f", "RECURSIVE => TRUE"),
        ("select * from recs, lateral flatten(input => top_10_recommendations, path => 'a''; x') f", "invalid FLATTEN path"),
        ("select * from recs, lateral flatten(nonsense => 1) f", "FLATTEN takes INPUT"),
    ] {
        let e = fails(&mut s, sql).to_string();
        assert!(e.contains(named), "{sql}: {e}");
    }
}

#[test]
fn ddl_status_names_the_object_and_show_tables_has_times_and_scopes() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "create database movielens");
    run(&mut s, "create database other");
    let r = run(&mut s, "create or replace table movielens.public.big as select 1 as a");
    assert_eq!(r.rows[0][0].as_deref(), Some("Table BIG successfully created."));
    run(&mut s, "create table other.public.elsewhere (a int)");

    // A new session has no current database: a qualified schema scope works; without IN, the
    // whole account.
    let mut s = f.admin();
    let r = run(&mut s, "show tables in schema movielens.public");
    assert_eq!(col(&r, 1), vec![Some("BIG".to_string())]);
    assert_eq!(r.get(0, "database_name"), Some("MOVIELENS"));
    let created = r.get(0, "created_on").unwrap().to_string();
    assert!(time::PrimitiveDateTime::parse(&created[..19], time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")).is_ok(), "created_on '{created}'");
    let r = run(&mut s, "show tables");
    assert_eq!(col(&r, 1), vec![Some("BIG".to_string()), Some("ELSEWHERE".to_string())]);
    let r = run(&mut s, "show tables in database other");
    assert_eq!(col(&r, 1), vec![Some("ELSEWHERE".to_string())]);
    let e = fails(&mut s, "show tables in schema public").to_string();
    assert!(e.contains("does not have a current database"), "{e}");
    assert!(matches!(fails(&mut s, "show tables in database nowhere"), WarehouseError::NotFound { .. }));

    // The time is kept: a later `show` gives the same one; with a current database, its tables.
    run(&mut s, "use database movielens");
    let r = run(&mut s, "show tables");
    assert_eq!(col(&r, 1), vec![Some("BIG".to_string())]);
    assert_eq!(r.get(0, "created_on"), Some(created.as_str()));
    let r = run(&mut s, "show schemas in database other");
    assert_eq!(col(&r, 1), vec![Some("PUBLIC".to_string())]);
}

/// Statements the engine runs in several steps (`INSERT OVERWRITE`: delete, then insert) join
/// the session's open transaction instead of starting their own, and go with its rollback.
#[test]
fn multi_step_statements_join_an_open_transaction() {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, "create database tx; create table t (a int); insert into t values (1), (2)");
    run(&mut s, "begin; insert overwrite into t select 5; select 1");
    assert_eq!(col(&run(&mut s, "select a from t"), 0), [Some("5".into())]);
    run(&mut s, "rollback");
    assert_eq!(col(&run(&mut s, "select a from t order by a"), 0), [Some("1".into()), Some("2".into())]);
    run(&mut s, "begin transaction; insert overwrite into t select 7; commit");
    assert_eq!(col(&run(&mut s, "select a from t"), 0), [Some("7".into())]);
    // Outside a transaction the statement is one transaction of its own, as before.
    run(&mut s, "insert overwrite into t values (8), (9)");
    assert_eq!(col(&run(&mut s, "select count(*) from t"), 0), [Some("2".into())]);
}
