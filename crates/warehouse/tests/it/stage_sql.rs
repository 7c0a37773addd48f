//! Stage statements through a session (as the SQL API and worksheets run them): queries over
//! staged CSV and Parquet files, `INFER_SCHEMA` over CSV, and READ / WRITE grants on a stage
//! enforced on every statement that reads or writes its files.

use warehouse::{Session, WarehouseError};

use crate::support::*;

/// As ACCOUNTADMIN in `d.public`: table `movies (id, title)` with three rows, stage `s` holding
/// `csv/data_0_0_0.csv` (with a header line) and `pq/data_0_0_0.snappy.parquet`, and file
/// formats `csv_skip` (skips the header), `csv_parse` (parses it) and `pq`.
fn staged(f: &Fixture) -> Session {
    let mut s = f.admin();
    run(&mut s, "create database d; use schema d.public");
    run(&mut s, "create table movies (id int, title varchar); insert into movies values (1, 'Heat'), (2, 'Up, again'), (3, 'Jaws')");
    run(&mut s, "create stage s");
    run(&mut s, "create file format csv_skip type = csv skip_header = 1 field_optionally_enclosed_by = '\"'");
    run(&mut s, "create file format csv_parse type = csv parse_header = true field_optionally_enclosed_by = '\"'");
    run(&mut s, "create file format pq type = parquet");
    run(&mut s, "copy into @s/csv/ from (select id, title from movies order by id) file_format = (type = csv compression = none field_optionally_enclosed_by = '\"') header = true");
    run(&mut s, "copy into @s/pq/ from (select id, title from movies) file_format = (type = parquet)");
    s
}

fn rows(r: &warehouse::QueryResult) -> Vec<Vec<Option<String>>> {
    r.rows.clone()
}

fn v(cells: &[&str]) -> Vec<Option<String>> {
    cells.iter().map(|c| if *c == "NULL" { None } else { Some(c.to_string()) }).collect()
}

#[test]
fn select_from_a_stage_reads_fields_metadata_and_named_formats() {
    let f = fixture();
    let mut s = staged(&f);
    let r = run(&mut s, "select $1, $2 from @s/csv/ (file_format => 'csv_skip') order by $1");
    assert_eq!(r.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["$1", "$2"]);
    assert_eq!(rows(&r), [v(&["1", "Heat"]), v(&["2", "Up, again"]), v(&["3", "Jaws"])]);
    // Without a format: CSV, the header line is a row like any other; a missing field is NULL.
    let r = run(&mut s, "select $1, $3 from @s/csv/ order by metadata$file_row_number limit 1");
    assert_eq!(rows(&r)[0][0].as_deref().map(str::to_uppercase).as_deref(), Some("ID"));
    assert_eq!(rows(&r)[0][1], None);
    let r = run(&mut s, "select metadata$filename, metadata$file_row_number, t.$2 from @s (file_format => 'csv_skip', pattern => '.*[.]csv') t where t.$1 = '2'");
    assert_eq!(rows(&r), [v(&["csv/data_0_0_0.csv", "2", "Up, again"])]);
    // Joined with a table, cast on the way.
    let r = run(&mut s, "select m.title, f.$2 from movies m join @s/csv/ (file_format => 'csv_skip') f on m.id = f.$1::int where m.id > 1 order by m.id");
    assert_eq!(rows(&r), [v(&["Up, again", "Up, again"]), v(&["Jaws", "Jaws"])]);
    // Parquet: `$1:name` is a column, `$1` the whole row.
    let r = run(&mut s, "select $1:ID::int as id, $1:TITLE::varchar as title from @s/pq/ (file_format => 'pq') order by 1");
    assert_eq!(rows(&r), [v(&["1", "Heat"]), v(&["2", "Up, again"]), v(&["3", "Jaws"])]);
    let r = run(&mut s, "select $1 from @s/pq/ (file_format => 'pq') where $1:ID = 3");
    let row: serde_json::Value = serde_json::from_str(r.rows[0][0].as_deref().unwrap()).unwrap();
    assert_eq!(row["TITLE"], "Jaws", "{row}");
    // Nothing at the path: no rows; a stage that is not there: Snowflake's 002003.
    assert!(run(&mut s, "select $1 from @s/nothing/").rows.is_empty());
    assert_eq!(fails(&mut s, "select $1 from @nope").wire().code, "002003");
    let e = fails(&mut s, "select $1 from @s (file_format => 'no_such_format')");
    assert_eq!(e.wire().code, "002003", "{e}");
    let e = fails(&mut s, "select metadata$file_content_key from @s");
    assert!(e.to_string().contains("METADATA$FILE_CONTENT_KEY"), "{e}");
}

#[test]
fn infer_schema_reads_a_csv_header_and_parquet_columns() {
    let f = fixture();
    let mut s = staged(&f);
    let r = run(&mut s, "select * from table(infer_schema(location => '@s/csv/', file_format => 'csv_parse'))");
    assert_eq!(r.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["COLUMN_NAME", "TYPE", "NULLABLE", "EXPRESSION", "FILENAMES", "ORDER_ID"]);
    let got: Vec<Vec<Option<String>>> = r.rows.iter().map(|row| vec![row[0].clone().map(|n| n.to_uppercase()), row[1].clone(), row[3].clone(), row[5].clone()]).collect();
    assert_eq!(got, [v(&["ID", "NUMBER(38, 0)", "$1::NUMBER(38, 0)", "0"]), v(&["TITLE", "TEXT", "$2::TEXT", "1"])]);
    assert_eq!(r.rows[0][4].as_deref(), Some("s/csv/data_0_0_0.csv"));
    // Without PARSE_HEADER the columns are c1, c2, ... and the header is data (so ID is text).
    // Without an enclosing character, `"Up, again"` is two fields: a third column.
    run(&mut s, "create file format csv_plain type = csv");
    let r = run(&mut s, "select * from table(infer_schema(location => '@s/csv/', file_format => 'csv_plain'))");
    assert_eq!(col(&r, 0), [Some("c1".into()), Some("c2".into()), Some("c3".into())]);
    assert_eq!(col(&r, 1), [Some("TEXT".into()), Some("TEXT".into()), Some("TEXT".into())]);
    let r = run(&mut s, "select * from table(infer_schema(location => '@s/pq/', file_format => 'pq'))");
    assert_eq!(col(&r, 1), [Some("NUMBER(38, 0)".into()), Some("TEXT".into())]);
    run(&mut s, "create file format js type = json");
    let e = fails(&mut s, "select * from table(infer_schema(location => '@s/csv/', file_format => 'js'))");
    assert_eq!(e.wire().code, "002040", "{e}");
}

/// As ACCOUNTADMIN: role LOADER, user LU whose role it is, table `t` LOADER may insert into.
fn loader(f: &Fixture, s: &mut Session) -> Session {
    run(s, "create role loader; create user lu password = 'Loader-pw-1' default_role = loader; grant role loader to user lu");
    // No CREATE TABLE on the schema: unloading a query takes READ and WRITE on the stage and
    // what the query reads, nothing else.
    run(s, "create table t (id int, title varchar); grant insert on table t to role loader");
    let mut lu = f.wh.session("lu", None).unwrap();
    run(&mut lu, "use schema d.public");
    lu
}

fn code(s: &mut Session, sql: &str) -> &'static str {
    fails(s, sql).wire().code
}

fn transfer_code(s: &mut Session, sql: &str) -> Option<&'static str> {
    s.prepare_transfer(sql).err().map(|e: WarehouseError| e.wire().code)
}

#[test]
fn stage_grants_admit_readers_and_writers_and_refuse_the_rest() {
    let f = fixture();
    let mut s = staged(&f);
    let mut lu = loader(&f, &mut s);
    let local = tempfile::tempdir().unwrap();
    let put = format!("PUT file://{}/x.csv @s/in/", local.path().display());
    let get = format!("GET @s/csv/ file://{}/", local.path().display());
    let reads = ["list @s", "select $1 from @s/csv/", "copy into t from @s/csv/ file_format = (type = csv skip_header = 1 field_optionally_enclosed_by = '\"')"];
    let writes = ["remove @s/pq/", "copy into @s/out/ from (select 1)"];
    // No privilege: the stage does not exist for LOADER.
    for sql in reads.iter().chain(&writes) {
        assert_eq!(code(&mut lu, sql), "002003", "{sql}");
    }
    assert_eq!(transfer_code(&mut lu, &put), Some("002003"));
    assert_eq!(transfer_code(&mut lu, &get), Some("002003"));
    // READ: everything that reads; writing is refused as insufficient privileges.
    run(&mut s, "grant read on stage s to role loader");
    for sql in reads {
        run(&mut lu, sql);
    }
    assert_eq!(run(&mut s, "select count(*) from t").rows, [v(&["3"])]);
    assert_eq!(code(&mut lu, "grant write on stage s to role loader"), "003001", "LOADER grants itself");
    assert_eq!(transfer_code(&mut lu, &get), None);
    for sql in writes {
        assert_eq!(code(&mut lu, sql), "003001", "{sql}");
    }
    assert_eq!(transfer_code(&mut lu, &put), Some("003001"));
    assert_eq!(code(&mut lu, "drop stage s"), "003001", "a reader drops the stage");
    // WRITE as well: writing is admitted.
    run(&mut s, "grant write on stage s to role loader");
    for sql in writes {
        run(&mut lu, sql);
    }
    // The unloaded query's reads are checked like any query's.
    assert_eq!(code(&mut lu, "copy into @s/out/secret/ from (select * from t)"), "003001", "LOADER may insert into t, not read it");
    assert_eq!(code(&mut lu, "copy into @s/out/x/ from (insert into t values (9, 'x'))"), "001003");
    assert_eq!(transfer_code(&mut lu, &put), None);
    let shown = run(&mut s, "show grants on stage s");
    let mut held: Vec<(String, String)> = shown.rows.iter().map(|r| (r[1].clone().unwrap(), r[5].clone().unwrap())).collect();
    held.sort();
    assert_eq!(held, [("OWNERSHIP".into(), "ACCOUNTADMIN".into()), ("READ".into(), "LOADER".into()), ("WRITE".into(), "LOADER".into())]);
    let to_role = run(&mut s, "show grants to role loader");
    assert!(to_role.rows.iter().any(|r| r[1].as_deref() == Some("WRITE") && r[2].as_deref() == Some("STAGE") && r[3].as_deref() == Some("D.PUBLIC.S")), "{:?}", to_role.rows);
    // Revoking READ takes WRITE with it.
    run(&mut s, "revoke read on stage s from role loader");
    assert_eq!(code(&mut lu, "list @s"), "002003");
    assert_eq!(transfer_code(&mut lu, &put), Some("002003"));
    // WRITE needs READ; an internal stage takes no USAGE.
    assert!(fails(&mut s, "grant write on stage s to role loader").to_string().contains("READ"));
    assert!(fails(&mut s, "grant usage on stage s to role loader").to_string().contains("Invalid privilege USAGE"));
    run(&mut s, "grant all on stage s to role loader");
    run(&mut lu, "list @s");
    // Dropping the stage ends its grants: a new stage of the name is not LOADER's.
    run(&mut s, "drop stage s; create stage s");
    assert_eq!(code(&mut lu, "list @s"), "002003");
}
