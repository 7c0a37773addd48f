"""Stages, PUT/GET, COPY INTO, write_pandas and SQLAlchemy against recpipe, through the real
clients from PyPI (snowflake-connector-python, snowflake-sqlalchemy, pandas): one named check
per run (see stages.rs).

Environment: RECPIPE_PORT, RECPIPE_USER, RECPIPE_PASSWORD. Prints `ok <check>` when it passed.
"""

import os
import re
import sys
import tempfile

from snowflake.connector.errors import ProgrammingError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connector_client import PASSWORD, PORT, USER, connect, eq  # noqa: E402


def write(dir, name, text):
    path = os.path.join(dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def check_put_copy():
    conn = connect()
    cur = conn.cursor()
    cur.execute("create or replace table people (id int, name varchar, score float)")
    cur.execute("create or replace stage people_stage file_format = (type = csv field_optionally_enclosed_by = '\"' skip_header = 1)")
    with tempfile.TemporaryDirectory() as d:
        a = write(d, "a.csv", 'id,name,score\n1,Ada,1.5\n2,"Lovelace, A.",2.5\n')
        b = write(d, "b.csv", "id,name,score\n3,Grace,\n")
        # Unquoted, as Snowflake's docs write it; the driver gzips the file on the way.
        rows = cur.execute(f"put file://{a} @people_stage/in/").fetchall()
        eq([(r[0], r[1], r[6]) for r in rows], [("a.csv", "a.csv.gz", "UPLOADED")], "put result")
        cur.execute(f"put 'file://{b}' @people_stage/in/ auto_compress = false")
        listed = cur.execute("list @people_stage").fetchall()
        eq([r[0] for r in listed], ["people_stage/in/a.csv.gz", "people_stage/in/b.csv"], "list names")
        assert all(r[1] > 0 and re.fullmatch(r"[0-9a-f]{32}", r[2]) and r[3].endswith("GMT") for r in listed), listed
        eq([r[0] for r in cur.execute("list @people_stage pattern = '.*b[.]csv'").fetchall()], ["people_stage/in/b.csv"], "list pattern")
        # A second PUT of the same file without OVERWRITE is skipped by the driver.
        rows = cur.execute(f"put file://{a} @people_stage/in/").fetchall()
        eq(rows[0][6], "SKIPPED", "second put")
    copied = cur.execute("copy into people from @people_stage/in/").fetchall()
    eq(sorted((r[0], r[1], r[2], r[3]) for r in copied),
       [("people_stage/in/a.csv.gz", "LOADED", 2, 2), ("people_stage/in/b.csv", "LOADED", 1, 1)], "copy result")
    eq([d[0] for d in cur.description][:4], ["file", "status", "rows_parsed", "rows_loaded"], "copy columns")
    # Load metadata: the same files are not loaded twice, unless forced.
    eq(cur.execute("copy into people from @people_stage/in/").fetchall(), [("Copy executed with 0 files processed.",)], "second copy")
    eq(cur.execute("select id, name, score from people order by id").fetchall(),
       [(1, "Ada", 1.5), (2, "Lovelace, A.", 2.5), (3, "Grace", None)], "copied rows")
    eq(cur.execute("remove @people_stage/in/b.csv").fetchall(), [("people_stage/in/b.csv", "removed")], "remove")
    eq([r[0] for r in cur.execute("list @people_stage").fetchall()], ["people_stage/in/a.csv.gz"], "list after remove")
    # The user's stage and the table's stage.
    with tempfile.TemporaryDirectory() as d:
        c = write(d, "c.csv", "4,Edsger,4.0\n")
        cur.execute(f"put file://{c} @~/loads/")
        eq([r[0] for r in cur.execute("list @~/loads/").fetchall()], ["loads/c.csv.gz"], "user stage")
        cur.execute(f"put file://{c} @%people")
        copied = cur.execute("copy into people from @%people file_format = (type = csv) purge = true").fetchall()
        eq([(r[1], r[3]) for r in copied], [("LOADED", 1)], "table stage copy")
        eq(cur.execute("list @%people").fetchall(), [], "purged")
    eq(cur.execute("select count(*) from people").fetchone()[0], 4, "rows after table stage")
    # Stage paths are parsed: nothing climbs out of the stage.
    for bad in ["list @people_stage/../x", "list @~/a/../../b"]:
        try:
            cur.execute(bad)
            raise AssertionError(f"{bad} was accepted")
        except ProgrammingError as e:
            assert "not allowed" in e.msg, e.msg
    try:
        cur.execute("list @no_such_stage")
        raise AssertionError("a missing stage was listed")
    except ProgrammingError as e:
        eq(e.errno, 2003, "missing stage errno")
    shown = cur.execute("show stages like 'PEOPLE%'").fetchall()
    eq([(r[1], r[10]) for r in shown], [("PEOPLE_STAGE", "INTERNAL")], "show stages")
    cur.execute("drop stage people_stage")
    try:
        cur.execute("list @people_stage")
        raise AssertionError("a dropped stage was listed")
    except ProgrammingError as e:
        eq(e.errno, 2003, "dropped stage errno")
    conn.close()


def check_on_error():
    conn = connect()
    cur = conn.cursor()
    cur.execute("create or replace table scores (id int, score number(5, 1))")
    cur.execute("create or replace temporary stage err_stage")
    with tempfile.TemporaryDirectory() as d:
        bad = write(d, "bad.csv", "1,1.5\n2,abc\n3,3.5\n")
        good = write(d, "good.csv", "4,4.5\n")
        cur.execute(f"put file://{bad} @err_stage auto_compress = false")
        cur.execute(f"put file://{good} @err_stage auto_compress = false")
    try:
        cur.execute("copy into scores from @err_stage")
        raise AssertionError("a bad row did not abort the COPY")
    except ProgrammingError as e:
        eq(e.errno, 100038, "abort errno")
        assert "Numeric value 'abc' is not recognized" in e.msg and "line 2" in e.msg, e.msg
    eq(cur.execute("select count(*) from scores").fetchone()[0], 0, "nothing loaded after abort")
    rows = cur.execute("copy into scores from @err_stage on_error = skip_file").fetchall()
    eq(sorted((r[0], r[1], r[3], r[5]) for r in rows), [("err_stage/bad.csv", "LOAD_FAILED", 0, 1), ("err_stage/good.csv", "LOADED", 1, 0)], "skip_file")
    cur.execute("delete from scores")
    rows = cur.execute("copy into scores from @err_stage files = ('bad.csv') on_error = 'continue'").fetchall()
    eq(len(rows), 1, "files option")
    r = rows[0]
    eq((r[0], r[1], r[2], r[3], r[5], r[7]), ("err_stage/bad.csv", "PARTIALLY_LOADED", 3, 2, 1, 2), "continue")
    assert "abc" in r[6], r
    eq(r[9], '"SCORES"["SCORE":2]', "first error column")
    eq(cur.execute("select id, score from scores order by id").fetchall(), [(1, 1.5), (3, 3.5)], "rows after continue")
    conn.close()


def check_unload_get():
    conn = connect()
    cur = conn.cursor()
    cur.execute("create or replace temporary stage out_stage")
    rows = cur.execute("copy into @out_stage/csv/ from (select movieid, title from movies order by movieid limit 3) "
                       "file_format = (type = csv compression = none) header = true").fetchall()
    eq(rows[0][0], 3, "rows unloaded")
    eq([r[0] for r in cur.execute("list @out_stage/csv/").fetchall()], ["out_stage/csv/data_0_0_0.csv"], "unloaded file")
    want = cur.execute("select movieid, title from movies order by movieid limit 3").fetchall()
    with tempfile.TemporaryDirectory() as d:
        got = cur.execute(f"get @out_stage/csv/ file://{d}/").fetchall()
        eq([(r[0], r[2]) for r in got], [("data_0_0_0.csv", "DOWNLOADED")], "get result")
        text = open(os.path.join(d, "data_0_0_0.csv")).read().splitlines()
    eq(text[0].upper(), "MOVIEID,TITLE", "header")
    eq(len(text), 4, "unloaded lines")
    assert text[1].startswith(f"{want[0][0]},"), text
    # Parquet out and back in.
    cur.execute("copy into @out_stage/pq/ from movies file_format = (type = parquet)")
    cur.execute("create or replace table movies_copy (movieid bigint, title varchar, genres varchar)")
    rows = cur.execute("copy into movies_copy from @out_stage/pq/ file_format = (type = parquet) match_by_column_name = case_insensitive").fetchall()
    eq(rows[0][1], "LOADED", "parquet status")
    eq(cur.execute("select count(*) from movies_copy").fetchone()[0], cur.execute("select count(*) from movies").fetchone()[0], "parquet round trip")
    try:
        cur.execute("copy into @out_stage/pq/ from movies file_format = (type = parquet)")
        raise AssertionError("an unload overwrote files without OVERWRITE")
    except ProgrammingError as e:
        assert "already existing" in e.msg, e.msg
    conn.close()


def check_write_pandas():
    import numpy as np
    import pandas as pd
    from snowflake.connector.pandas_tools import write_pandas

    n = 100_000
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "ID": np.arange(n, dtype="int64"),
        "SCORE": rng.normal(size=n),
        "NAME": [f"name-{i % 977}-é" for i in range(n)],
        "FLAG": rng.integers(0, 2, size=n).astype(bool),
        "SEEN": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**9, size=n), unit="s"),
    })
    conn = connect()
    success, nchunks, nrows, output = write_pandas(conn, df, "WP_ROUNDTRIP", auto_create_table=True, overwrite=False)
    assert success, output
    eq(nrows, n, "rows written")
    back = conn.cursor().execute("select id, score, name, flag, seen from wp_roundtrip order by id").fetch_pandas_all()
    eq(len(back), n, "rows read back")
    eq(list(back.columns), ["ID", "SCORE", "NAME", "FLAG", "SEEN"], "columns")
    assert (back["ID"].astype("int64").to_numpy() == df["ID"].to_numpy()).all(), "ids differ"
    assert (back["SCORE"].astype("float64").to_numpy() == df["SCORE"].to_numpy()).all(), "scores differ"
    assert (back["NAME"].to_numpy() == df["NAME"].to_numpy()).all(), "names differ"
    assert (back["FLAG"].astype(bool).to_numpy() == df["FLAG"].to_numpy()).all(), "flags differ"
    seen = pd.to_datetime(back["SEEN"]).dt.tz_localize(None).astype("datetime64[ns]")
    assert (seen.to_numpy() == df["SEEN"].astype("datetime64[ns]").to_numpy()).all(), "timestamps differ"
    # A second write appends to the table it created.
    success, _, nrows, _ = write_pandas(conn, df.head(10), "WP_ROUNDTRIP")
    assert success
    eq(conn.cursor().execute("select count(*) from wp_roundtrip").fetchone()[0], n + 10, "rows after append")
    conn.close()
    print(f"write_pandas: {n} rows round-tripped value by value", flush=True)


def check_sqlalchemy():
    import pandas as pd
    import sqlalchemy as sa
    from sqlalchemy import inspect

    engine = sa.create_engine(
        f"snowflake://{USER}:{PASSWORD}@recpipe/MOVIELENS/PUBLIC",
        connect_args={"host": "127.0.0.1", "port": PORT, "protocol": "http"},
    )
    with engine.connect() as c:
        eq(c.execute(sa.text("select current_database()")).scalar(), "MOVIELENS", "current database")
    top = pd.read_sql("select movieid, title from movies order by movieid limit 5", engine)
    eq(list(top.columns), ["movieid", "title"], "read_sql columns")
    eq(len(top), 5, "read_sql rows")
    df = pd.DataFrame({"id": [1, 2, 3], "label": ["a", "b", None], "weight": [0.5, 1.5, 2.5]})
    df.to_sql("sa_written", engine, index=False, if_exists="replace")
    back = pd.read_sql("select id, label, weight from sa_written order by id", engine)
    eq(back["id"].tolist(), [1, 2, 3], "to_sql ids")
    eq(back["label"].tolist()[:2], ["a", "b"], "to_sql labels")
    assert back["label"].isna().tolist()[2], back
    eq(back["weight"].tolist(), [0.5, 1.5, 2.5], "to_sql weights")
    insp = inspect(engine)
    cols = insp.get_columns("ratings")
    eq([c["name"] for c in cols], ["userid", "movieid", "rating", "timestamp"], "reflected columns")
    assert insp.has_table("sa_written") and not insp.has_table("no_such_table")
    assert "sa_written" in insp.get_table_names(), insp.get_table_names()
    table = sa.Table("sa_written", sa.MetaData(), autoload_with=engine)  # columns, keys, comment
    eq([c.name for c in table.columns], ["id", "label", "weight"], "autoload")
    df.head(1).to_sql("sa_written", engine, index=False, if_exists="append")
    eq(pd.read_sql("select count(*) as n from sa_written", engine)["n"][0], 4, "append")
    # The table exists now: pandas asks whether it does, drops it and creates it afresh.
    df.tail(2).to_sql("sa_written", engine, index=False, if_exists="replace")
    eq(pd.read_sql("select id from sa_written order by id", engine)["id"].tolist(), [2, 3], "replace")


def check_query_stage():
    conn = connect()
    cur = conn.cursor()
    cur.execute("create or replace file format csv_skip type = csv skip_header = 1 field_optionally_enclosed_by = '\"'")
    cur.execute("create or replace file format csv_parse type = csv parse_header = true field_optionally_enclosed_by = '\"'")
    cur.execute("create or replace file format pq type = parquet")
    cur.execute("create or replace temporary stage q_stage")
    with tempfile.TemporaryDirectory() as d:
        a = write(d, "a.csv", 'id,name,score\n1,Ada,1.5\n2,"Lovelace, A.",2.5\n')
        b = write(d, "b.csv", "id,name,score\n3,Grace,\n")
        cur.execute(f"put file://{a} @q_stage/in/")
        cur.execute(f"put file://{b} @q_stage/in/ auto_compress = false")
    rows = cur.execute("select $1, $2, $3 from @q_stage/in/ (file_format => 'csv_skip') order by $1").fetchall()
    eq(rows, [("1", "Ada", "1.5"), ("2", "Lovelace, A.", "2.5"), ("3", "Grace", None)], "staged csv fields")
    eq([d[0] for d in cur.description], ["$1", "$2", "$3"], "field names")
    rows = cur.execute("select metadata$filename, metadata$file_row_number, $2 from @q_stage "
                       "(file_format => 'csv_skip', pattern => '.*b[.]csv')").fetchall()
    eq(rows, [("in/b.csv", 1, "Grace")], "metadata columns")
    rows = cur.execute("select m.movieid, s.$2 from movies m join @q_stage/in/ (file_format => csv_skip) s "
                       "on m.movieid = s.$1::int order by m.movieid").fetchall()
    eq(rows, [(1, "Ada"), (2, "Lovelace, A."), (3, "Grace")], "joined with a table")
    rows = cur.execute("select * from table(infer_schema(location => '@q_stage/in/a.csv.gz', file_format => 'csv_parse'))").fetchall()
    eq([d[0] for d in cur.description], ["COLUMN_NAME", "TYPE", "NULLABLE", "EXPRESSION", "FILENAMES", "ORDER_ID"], "infer_schema columns")
    eq([(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows],
       [("id", "NUMBER(38, 0)", True, "$1::NUMBER(38, 0)", "q_stage/in/a.csv.gz", 0),
        ("name", "TEXT", True, "$2::TEXT", "q_stage/in/a.csv.gz", 1),
        ("score", "REAL", True, "$3::REAL", "q_stage/in/a.csv.gz", 2)], "infer_schema over csv")
    cur.execute("copy into @q_stage/pq/ from (select movieid, title from movies order by movieid limit 3) file_format = (type = parquet)")
    want = cur.execute("select movieid, title from movies order by movieid limit 3").fetchall()
    rows = cur.execute("select $1:MOVIEID::int, $1:TITLE::varchar from @q_stage/pq/ (file_format => 'pq') order by 1").fetchall()
    eq(rows, want, "staged parquet")
    try:
        cur.execute("select $1 from @no_such_stage")
        raise AssertionError("a missing stage was queried")
    except ProgrammingError as e:
        eq(e.errno, 2003, "missing stage errno")
    conn.close()


def check_stage_grants():
    admin = connect()
    cur = admin.cursor()
    cur.execute("create role stage_reader")
    cur.execute("create user stage_user password = 'Stage-user-pw-1' default_role = stage_reader")
    cur.execute("grant role stage_reader to user stage_user")
    cur.execute("create or replace stage g_stage")
    with tempfile.TemporaryDirectory() as d:
        a = write(d, "a.csv", "1,one\n2,two\n")
        cur.execute(f"put file://{a} @g_stage auto_compress = false")
        user = connect(user="stage_user", password="Stage-user-pw-1")
        ucur = user.cursor()

        def refused(sql, errno):
            try:
                ucur.execute(sql)
                raise AssertionError(f"{sql} was admitted")
            except ProgrammingError as e:
                eq(e.errno, errno, f"{sql} errno")

        put = f"put file://{a} @g_stage/up/ auto_compress = false"
        os.makedirs(os.path.join(d, "got"))
        get = f"get @g_stage file://{d}/got/"
        for sql in ["list @g_stage", "select $1 from @g_stage", get, put, "remove @g_stage"]:
            refused(sql, 2003)
        cur.execute("grant read on stage g_stage to role stage_reader")
        eq([r[0] for r in ucur.execute("list @g_stage").fetchall()], ["g_stage/a.csv"], "list with READ")
        eq(ucur.execute("select $2 from @g_stage order by $1").fetchall(), [("one",), ("two",)], "select with READ")
        eq([r[2] for r in ucur.execute(get).fetchall()], ["DOWNLOADED"], "get with READ")
        for sql in [put, "remove @g_stage"]:
            refused(sql, 3001)
        cur.execute("grant write on stage g_stage to role stage_reader")
        eq([r[6] for r in ucur.execute(put).fetchall()], ["UPLOADED"], "put with WRITE")
        eq(len(ucur.execute("remove @g_stage/up/").fetchall()), 1, "remove with WRITE")
        shown = cur.execute("show grants on stage g_stage").fetchall()
        eq(sorted((r[1], r[5]) for r in shown if r[1] != "OWNERSHIP"), [("READ", "STAGE_READER"), ("WRITE", "STAGE_READER")], "show grants")
        cur.execute("revoke read on stage g_stage from role stage_reader")
        refused("list @g_stage", 2003)
        user.close()
    cur.execute("drop stage g_stage")
    admin.close()


if __name__ == "__main__":
    name = sys.argv[1]
    globals()[f"check_{name}"]()
    print(f"ok {name}", flush=True)
