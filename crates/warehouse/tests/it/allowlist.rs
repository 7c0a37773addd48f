//! A role reads a table only by its name and through its grants: the engine's functions that run
//! SQL, read the catalog or read files, its catalog views and its replacement scans are refused
//! on every path into the engine, however they are spelled or nested.

use serde_json::json;
use warehouse::api::{router, ApiConfig, ApiState};
use warehouse::sql::allowlist;
use warehouse::{Session, WarehouseError};

use crate::support::*;

/// As SYSADMIN: database `d` with table `t (a int, secret varchar)` holding one row, an empty
/// table `sink (n int)` role ANALYST may insert into, and user `bob` whose only role is ANALYST
/// (no grant on `t`). Returns the admin's session (SYSADMIN, in `d.public`) and bob's.
fn setup(f: &Fixture) -> (Session, Session) {
    let mut s = f.admin();
    run(&mut s, "create role analyst; create user bob password = 'passw0rd!' default_role = analyst; grant role analyst to user bob");
    run(&mut s, "use role sysadmin; create database d; use schema d.public");
    run(&mut s, "create table t (a int, secret varchar); insert into t values (1, 'hidden')");
    run(&mut s, "create table sink (n int); grant insert on table sink to role analyst");
    let mut bob = f.wh.session("bob", None).unwrap();
    run(&mut bob, "use schema d.public");
    (s, bob)
}

fn refused(s: &mut Session, sql: &str) -> WarehouseError {
    let e = fails(s, sql);
    let text = e.to_string();
    assert!(!text.contains("hidden") && !text.contains("CREATE TABLE"), "{sql}: the refusal shows what it guards: {text}");
    e
}

/// Refused as a call of an unknown function (`002140`) naming `name`.
fn unknown(s: &mut Session, sql: &str, name: &str) {
    let e = refused(s, sql);
    assert_eq!(e.wire().code, "002140", "{sql}: {e}");
    assert!(e.to_string().contains(&format!("Unknown function {name}")), "{sql}: {e}");
}

/// Refused as a name of no object (`002003`), as Snowflake answers for what a role cannot see.
fn no_object(s: &mut Session, sql: &str) {
    let e = refused(s, sql);
    assert_eq!(e.wire().code, "002003", "{sql}: {e}");
}

#[test]
fn engine_functions_that_read_tables_catalog_or_files_are_unknown() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    assert!(fails(&mut bob, "select count(*) from d.public.t").to_string().contains("does not exist or not authorized"));
    for (sql, name) in [
        ("select count(*) from query('select * from d.public.t')", "QUERY"),
        ("select * from query_table('d.public.t')", "QUERY_TABLE"),
        ("select * from query_table(['t'])", "QUERY_TABLE"),
        ("select sql from duckdb_tables() limit 1", "DUCKDB_TABLES"),
        ("select * from duckdb_columns()", "DUCKDB_COLUMNS"),
        ("select * from duckdb_views()", "DUCKDB_VIEWS"),
        ("select * from duckdb_settings()", "DUCKDB_SETTINGS"),
        ("select * from pragma_table_info('d.public.t')", "PRAGMA_TABLE_INFO"),
        ("select * from read_csv('x.csv')", "READ_CSV"),
        ("select * from read_csv_auto('x.csv')", "READ_CSV_AUTO"),
        ("select * from read_parquet('x.parquet')", "READ_PARQUET"),
        ("select * from parquet_scan('x.parquet')", "PARQUET_SCAN"),
        ("select * from read_json('x.json')", "READ_JSON"),
        ("select * from read_json_auto('x.json')", "READ_JSON_AUTO"),
        ("select * from read_ndjson('x.json')", "READ_NDJSON"),
        ("select * from read_text('catalog.db')", "READ_TEXT"),
        ("select * from read_blob('catalog.db')", "READ_BLOB"),
        ("select * from glob('*')", "GLOB"),
        ("select current_setting('allowed_directories')", "CURRENT_SETTING"),
        // Spellings: quoted, qualified, spaced and commented, mixed case, method style.
        ("select * from \"query\"('select * from d.public.t')", "query"),
        ("select * from \"QUERY_TABLE\"('d.public.t')", "QUERY_TABLE"),
        ("select * from main.query_table('d.public.t')", "MAIN.QUERY_TABLE"),
        ("select * from system.main.query('select * from d.public.t')", "SYSTEM.MAIN.QUERY"),
        ("select * from pg_catalog.pg_get_viewdef(1)", "PG_CATALOG.PG_GET_VIEWDEF"),
        ("select * from Query /* x */ (\n'select * from d.public.t') -- y", "QUERY"),
        ("select 'select * from d.public.t'.query()", "QUERY"),
        // Nested: a CTE, a subquery, an expression, a lateral join, TABLE( ), a join.
        ("with x as (select * from query('select * from d.public.t')) select * from x", "QUERY"),
        ("select * from (select * from (select * from query_table('d.public.t')))", "QUERY_TABLE"),
        ("select (select max(secret) from query_table('d.public.t'))", "QUERY_TABLE"),
        ("select 1 where exists (select 1 from duckdb_tables() where sql like '%SECRET%')", "DUCKDB_TABLES"),
        ("select * from range(1) r, lateral (select * from query_table('d.public.t')) q", "QUERY_TABLE"),
        ("select * from range(1) r, lateral query_table('d.public.t')", "QUERY_TABLE"),
        ("select * from table(query_table('d.public.t'))", "QUERY_TABLE"),
        ("select * from range(1) r join duckdb_columns() c on true", "DUCKDB_COLUMNS"),
        ("insert into sink select count(*) from query('select * from d.public.t')", "QUERY"),
    ] {
        unknown(&mut bob, sql, name);
    }
    // No role gets them, the system roles included.
    run(&mut admin, "use role accountadmin");
    unknown(&mut admin, "select * from query('select 1')", "QUERY");
    unknown(&mut admin, "select * from duckdb_functions()", "DUCKDB_FUNCTIONS");
    // A view over one is refused when it is created.
    unknown(&mut admin, "create view leak as select * from query_table('d.public.t')", "QUERY_TABLE");
    run(&mut admin, "grant create table on schema d.public to role analyst");
    unknown(&mut bob, "create view leak as select * from query_table('d.public.t')", "QUERY_TABLE");
    unknown(&mut bob, "create table leak as select * from query_table('d.public.t')", "QUERY_TABLE");
    assert_eq!(run(&mut admin, "select count(*) from sink").rows[0][0].as_deref(), Some("0"));
    assert_eq!(run(&mut admin, "show tables like 'LEAK'").rows.len(), 0);
}

#[test]
fn catalog_views_replacement_scans_and_nested_statements_are_out_of_reach() {
    let f = fixture();
    let (_admin, mut bob) = setup(&f);
    for sql in [
        "select * from duckdb_tables",
        "select * from \"duckdb_views\"",
        "select * from system.main.duckdb_columns",
        "select * from sqlite_master",
        "select * from pragma_database_list",
        "select * from pg_class",
        "select * from pg_catalog.pg_tables",
        "select * from information_schema.key_column_usage",
        "select * from d.information_schema.check_constraints",
        "select * from (select * from sqlite_master) x",
        "with x as (select 1) select * from x, duckdb_tables",
        "with duckdb_tables as (select 1) select * from (select 1), duckdb_tables",
        // A replacement scan by a quoted name.
        "select * from \"x.csv\"",
        "select * from \"/etc/hostname\"",
    ] {
        no_object(&mut bob, sql);
    }
    // DuckDB's GLOB operator is no Snowflake syntax.
    assert_eq!(refused(&mut bob, "select * from range(1) r where 'a' glob ('*')").wire().code, "001003");
    for sql in [
        "select * from 'x.csv'",
        "select * from (summarize t)",
        "select * from (show tables)",
        "select * from (describe t)",
        "select * from (pivot t on a using max(secret))",
        "summarize t",
        "pivot t on a",
        "pragma table_info('t')",
        "call pragma_table_info('t')",
    ] {
        let e = refused(&mut bob, sql);
        assert!(matches!(e, WarehouseError::Unsupported(_)), "{sql}: {e}");
    }
    // A comment is its table's owner's to set.
    no_object(&mut bob, "comment on table t is 'x'");
}

#[test]
fn information_schema_lists_only_what_the_role_may_see() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    run(&mut admin, "create view v as select a from t; create schema d.private; create table d.private.p (x int); use schema d.public");
    let names = |s: &mut Session, sql: &str| col(&run(s, sql), 0).into_iter().map(Option::unwrap).collect::<Vec<_>>();
    let tables = "select table_name from information_schema.tables order by 1";
    let columns = "select table_name || '.' || column_name from d.information_schema.columns order by 1";
    let views = "select table_name, view_definition from information_schema.views";
    let schemata = "select schema_name from information_schema.schemata order by 1";
    assert_eq!(names(&mut admin, tables), ["P", "SINK", "T", "V"]);
    assert_eq!(names(&mut admin, columns), ["P.X", "SINK.N", "T.A", "T.SECRET", "V.A"]);
    assert_eq!(names(&mut admin, schemata), ["PRIVATE", "PUBLIC"]);
    assert_eq!(col(&run(&mut admin, "show schemas"), 1), [Some("PRIVATE".to_string()), Some("PUBLIC".to_string())]);
    assert_eq!(names(&mut bob, tables), ["SINK"]);
    assert_eq!(names(&mut bob, columns), ["SINK.N"]);
    assert_eq!(run(&mut bob, views).rows.len(), 0);
    assert_eq!(names(&mut bob, schemata), ["PUBLIC"]);
    assert_eq!(col(&run(&mut bob, "show schemas"), 1), [Some("PUBLIC".to_string())]);
    assert_eq!(col(&run(&mut bob, "show tables"), 1), [Some("SINK".to_string())]);
    run(&mut admin, "create database other; create table other.public.o (x int); use schema d.public");
    assert!(col(&run(&mut admin, "show databases"), 1).contains(&Some("OTHER".to_string())));
    assert_eq!(col(&run(&mut bob, "show databases"), 1), [Some("D".to_string())]);
    let r = run(&mut bob, "select count(*) from information_schema.tables t join information_schema.columns c on c.table_name = t.table_name where t.table_name = 'T'");
    assert_eq!(r.rows[0][0].as_deref(), Some("0"));

    run(&mut admin, "grant select on view v to role analyst");
    assert_eq!(names(&mut bob, tables), ["SINK", "V"]);
    assert_eq!(names(&mut bob, columns), ["SINK.N", "V.A"]);
    assert_eq!(run(&mut bob, views).rows.len(), 1);
    // With the grant, the table is read by its name, as ever.
    run(&mut admin, "grant select on table t to role analyst");
    assert_eq!(names(&mut bob, tables), ["SINK", "T", "V"]);
    assert_eq!(names(&mut bob, "select table_name from d.information_schema.tables where table_schema = 'PRIVATE'"), Vec::<String>::new());
    assert_eq!(run(&mut bob, "select secret from t").rows[0][0].as_deref(), Some("hidden"));
    assert_eq!(run(&mut bob, "select max(a) from d.public.t").rows[0][0].as_deref(), Some("1"));
    // ... and the engine functions stay refused.
    unknown(&mut bob, "select * from query_table('t')", "QUERY_TABLE");
}

#[test]
fn calls_the_allowlist_keeps_working() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    run(&mut admin, "grant select on table t to role analyst");
    let r = run(
        &mut bob,
        "with s (x) as (select a from t), u as (select 2 as y) \
         select count(*), cast(sum(x) as decimal(10, 2)), max(x)::number(38, 0), extract(year from cast('2020-01-02' as date)), \
                coalesce(null, 1), iff(1 in (1, 2), 'y', 'n'), row_number() over (order by count(*)), upper(trim(' a ')), \
                count_if(x > 0), exists (select 1 from u), parse_json('[1]')::varchar, current_role() \
         from s, range(2) r(i), (values (1, 2)) as v(p, q) group by i, p order by 1 limit 1",
    );
    assert_eq!(r.rows[0].iter().map(|c| c.as_deref()).collect::<Vec<_>>(), vec![
        Some("1"), Some("1.00"), Some("1"), Some("2020"), Some("1"), Some("y"), Some("1"), Some("A"), Some("1"), Some("true"), Some("[1]"), Some("ANALYST"),
    ]);
    run(&mut bob, "insert into sink (n) select a from t where a between 0 and 2");
    run(&mut bob, "insert into sink values (2)");
}

#[test]
fn tasks_run_as_their_owner_under_the_same_rule() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    run(&mut admin, "use role accountadmin; grant create task on schema d.public to role analyst; use role sysadmin");
    run(&mut bob, "create task leak as insert into sink select count(*) from query('select * from d.public.t')");
    run(&mut bob, "execute task leak");
    let r = wait_for(30, "the task's run", || {
        let r = run(&mut bob, "select state, error_code, error_message from table(information_schema.task_history(task_name => 'LEAK'))");
        (r.get(0, "state") == Some("FAILED")).then_some(r)
    });
    assert_eq!(r.get(0, "error_code"), Some("002140"));
    assert!(r.get(0, "error_message").unwrap().contains("Unknown function QUERY"), "{r:?}");
    assert_eq!(run(&mut admin, "select count(*) from sink").rows[0][0].as_deref(), Some("0"));
}

#[test]
fn external_function_arguments_are_checked_like_any_expression() {
    let f = fixture();
    let (mut admin, mut bob) = setup(&f);
    run(&mut admin, "use role accountadmin");
    run(&mut admin, "create api integration i api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::123456789012:role/r' enabled = true api_allowed_prefixes = ('http://127.0.0.1:9/')");
    run(&mut admin, "create external function ef(v varchar) returns variant api_integration = i as 'http://127.0.0.1:9/ef'");
    run(&mut admin, "grant usage on function ef(varchar) to role analyst");
    unknown(&mut bob, "select ef((select max(secret) from query_table('d.public.t')))", "QUERY_TABLE");
    unknown(&mut bob, "select ef(v) from (select sql as v from duckdb_tables())", "DUCKDB_TABLES");
    no_object(&mut bob, "select ef(secret) from t");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_api_and_job_tokens_follow_the_same_rule() {
    let f = fixture();
    let (_admin, _bob) = setup(&f);
    let app = router(ApiState::new(f.wh.clone(), ApiConfig::default()));
    let bob = f.wh.issue_token("BOB", "ANALYST").unwrap().token;
    let job = f.wh.job_token(60).unwrap().token;
    for token in [bob, job] {
        let body = json!({"statement": "select * from query_table('t')", "database": "d", "schema": "public"});
        let (st, v) = crate::api::call(&app, "POST", "/api/v2/statements", Some(&token), Some(body)).await;
        assert_eq!(st.as_u16(), 422, "{v}");
        assert_eq!(v["code"], "002140", "{v}");
        assert!(v["message"].as_str().unwrap().contains("Unknown function QUERY_TABLE"), "{v}");
    }
}

/// Every function the bundled engine has is on one of the reviewed lists, so a function a new
/// engine release adds is refused until it is reviewed, and the words the scanner takes for
/// keywords or types never name a function that is not allowed.
#[test]
fn every_engine_function_is_reviewed() {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let mut st = conn.prepare("SELECT DISTINCT schema_name, function_name FROM duckdb_functions() ORDER BY 1, 2").unwrap();
    let functions: Vec<(String, String)> = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert!(functions.len() > 500, "the engine lists its functions: {}", functions.len());
    let word = |n: &str| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let mut unreviewed = Vec::new();
    for (schema, name) in &functions {
        if schema == "main" {
            if word(name) && !allowlist::engine_allows(name) && allowlist::engine_refuses(name).is_none() {
                unreviewed.push(name.clone());
            }
        } else {
            assert!(allowlist::SYSTEM_SCHEMAS.iter().any(|s| s.eq_ignore_ascii_case(schema)), "functions in schema {schema}: qualified calls must be refused there");
            let in_main = functions.iter().any(|(s, n)| s == "main" && n == name);
            if word(name) && allowlist::engine_allows(name) && !in_main {
                unreviewed.push(format!("{schema}.{name} (allowed by name but not a main function)"));
            }
        }
        if !word(name) {
            assert!(!allowlist::engine_allows(name), "operator {name} is reached through its syntax only");
        }
    }
    assert!(unreviewed.is_empty(), "engine functions on neither list (review each: allowed only if it reads nothing but its arguments):\n{}", unreviewed.join("\n"));
}
