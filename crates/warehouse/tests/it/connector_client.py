"""Snowflake's Python connector against recpipe: one named check per run (see connector.rs).

Environment: RECPIPE_PORT, RECPIPE_USER, RECPIPE_PASSWORD, RECPIPE_RATINGS_CSV.
Prints `ok <check>` when the check passed; any failure raises.
"""

import base64
import datetime
import decimal
import hashlib
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
import uuid

import snowflake.connector
from snowflake.connector import DictCursor
from snowflake.connector.errors import DatabaseError, ProgrammingError

PORT = int(os.environ["RECPIPE_PORT"])
USER = os.environ["RECPIPE_USER"]
PASSWORD = os.environ["RECPIPE_PASSWORD"]


def connect(**kw):
    args = dict(account="recpipe", user=USER, password=PASSWORD, host="127.0.0.1", port=PORT, protocol="http",
                database="MOVIELENS", schema="PUBLIC")
    args.update(kw)
    return snowflake.connector.connect(**{k: v for k, v in args.items() if v is not None})


def eq(got, want, what):
    assert got == want, f"{what}: got {got!r}, want {want!r}"


def ratings_count():
    with open(os.environ["RECPIPE_RATINGS_CSV"]) as f:
        return sum(1 for _ in f) - 1


def check_cursor():
    conn = connect()
    cur = conn.cursor()
    cur.execute("select count(*) from ratings")
    eq(cur.fetchone()[0], ratings_count(), "count(*)")
    uuid.UUID(cur.sfqid)
    cur.execute("create or replace database scratch")
    cur.execute("create table kinds (i int, s varchar, f float, b boolean, d date, ts timestamp_ntz, n number(10,2))")
    cur.execute("insert into kinds values (1, 'one', 1.5, true, '2024-02-29', '2024-02-29 12:34:56.789', 12.34), "
                "(2, 'two', -2.25, false, '1969-07-20', '1969-07-20 20:17:40', -0.5), (3, null, null, null, null, null, null)")
    eq(cur.rowcount, 3, "rowcount of an insert")
    cur.execute("select i, s, f, b, d, ts, n from kinds order by i")
    eq(cur.rowcount, 3, "rowcount of a select")
    names = [d.name for d in cur.description]
    eq(names, ["I", "S", "F", "B", "D", "TS", "N"], "column names")
    # FIELD_TYPES: 0 FIXED, 1 REAL, 2 TEXT, 3 DATE, 8 TIMESTAMP_NTZ, 13 BOOLEAN.
    eq([d.type_code for d in cur.description], [0, 2, 1, 13, 3, 8, 0], "type codes")
    eq((cur.description[6].precision, cur.description[6].scale), (10, 2), "NUMBER(10,2) precision and scale")
    first = cur.fetchone()
    eq(first, (1, "one", 1.5, True, datetime.date(2024, 2, 29), datetime.datetime(2024, 2, 29, 12, 34, 56, 789000),
               decimal.Decimal("12.34")), "first row")
    eq(len(cur.fetchmany(1)), 1, "fetchmany(1)")
    rest = cur.fetchall()
    eq(rest, [(3, None, None, None, None, None, None)], "fetchall after fetchmany")
    d = conn.cursor(DictCursor).execute("select 7 as seven, 'x' as ex").fetchone()
    eq(d, {"SEVEN": 7, "EX": "x"}, "DictCursor row")
    # RESULT_SCAN reads back a result the connector fetched in Arrow form.
    cur.execute("select i, s, n from kinds where i < 3 order by i")
    qid = cur.sfqid
    cur.execute("select count(*) from kinds")
    eq(cur.execute(f"select i, s, n from table(result_scan('{qid}')) order by i desc").fetchall(),
       [(2, "two", decimal.Decimal("-0.50")), (1, "one", decimal.Decimal("12.34"))], "result_scan of an earlier query")
    eq(cur.execute("select * from table(result_scan(last_query_id(-2)))").fetchone()[0], 3, "result_scan(last_query_id(-2))")
    cur.execute("use schema movielens.public")
    eq(cur.execute("select current_database(), current_schema()").fetchone(), ("MOVIELENS", "PUBLIC"), "context after use")


def check_bindings():
    conn = connect(paramstyle="qmark")
    cur = conn.cursor()
    cur.execute("create or replace database scratch_b")
    cur.execute("create table t (i int, f float, s varchar, b boolean, d date, ts timestamp_ntz, tm time, bin binary, n number(12,3))")
    row = (42, 2.5, "it's", True, datetime.date(2023, 11, 15), datetime.datetime(2023, 11, 14, 22, 13, 20, 123456),
           datetime.time(1, 2, 3, 4000), b"\x00\xffrecpipe", decimal.Decimal("-123.456"))
    cur.execute("insert into t values (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    eq(cur.rowcount, 1, "rowcount of a bound insert")
    cur.execute("insert into t values (?, ?, ?, ?, ?, ?, ?, ?, ?)", (None,) * 9)
    got = cur.execute("select i, f, s, b, d, ts, tm, bin, n from t where i = ?", (42,)).fetchone()
    eq(got, row, "bound values read back")
    got = cur.execute("select count(*) from t where i is null and s is null and d is null").fetchone()
    eq(got, (1,), "bound NULLs")
    eq(cur.execute("select ? || ?", ("a", "b")).fetchone(), ("ab",), "bound text in an expression")
    eq(cur.execute("select ?::date", (datetime.date(2000, 1, 2),)).fetchone(), (datetime.date(2000, 1, 2),), "a bound date keeps its type")
    numeric = connect(paramstyle="numeric").cursor()
    eq(numeric.execute("select :2, :1, :2", (1, "two")).fetchone(), ("two", 1, "two"), "numeric style")
    # The client-side default (pyformat) interpolates itself.
    plain = connect().cursor()
    eq(plain.execute("select %s, %s", (5, "it's")).fetchone(), (5, "it's"), "pyformat")


def check_executemany():
    conn = connect(paramstyle="qmark")
    cur = conn.cursor()
    cur.execute("create or replace database scratch_m")
    cur.execute("create table m (i int, s varchar, d date)")
    rows = [(i, f"s{i}", datetime.date(2020, 1, 1) + datetime.timedelta(days=i)) for i in range(250)]
    cur.executemany("insert into m values (?, ?, ?)", rows)
    eq(cur.rowcount, 250, "executemany rowcount")
    eq(cur.execute("select count(*), sum(i), max(d) from m").fetchone(), (250, sum(range(250)), datetime.date(2020, 9, 6)), "rows inserted")


def check_async():
    conn = connect()
    cur = conn.cursor()
    cur.execute_async("select count(*) from ratings")
    qid = cur.sfqid
    uuid.UUID(qid)
    other = conn.cursor()
    other.get_results_from_sfqid(qid)
    eq(other.fetchone()[0], ratings_count(), "async result")
    status = conn.get_query_status(qid)
    eq(status.name, "SUCCESS", "status of a finished query")
    cur.execute_async("select * from nowhere_at_all")
    bad = cur.sfqid
    try:
        failed = conn.cursor()
        failed.get_results_from_sfqid(bad)
        failed.fetchall()
        raise AssertionError("a failed async query gave results")
    except ProgrammingError as e:
        eq(e.errno, 2003, "errno of the failed async query")


def check_multi():
    conn = connect()
    cursors = conn.execute_string(
        "create or replace database scratch_s; create table x (a int); insert into x values (1), (2); select count(*) from x")
    eq(len(cursors), 4, "cursors from execute_string")
    eq(cursors[-1].fetchone(), (2,), "last statement's result")
    cur = conn.cursor()
    cur.execute("select 1; select 'two'", num_statements=2)
    eq(cur.fetchone(), (1,), "first of a multi-statement")
    assert cur.nextset(), "a second result set"
    eq(cur.fetchone(), ("two",), "second of a multi-statement")
    try:
        cur.execute("select 1; select 2")
        raise AssertionError("two statements ran where one was expected")
    except ProgrammingError as e:
        assert "statement count" in e.msg, e.msg


def check_errors():
    cur = connect().cursor()
    for sql, errno, sqlstate in [("select * from nowhere", 2003, "02000"), ("selec 1", 1003, "42000")]:
        try:
            cur.execute(sql)
            raise AssertionError(f"{sql} succeeded")
        except ProgrammingError as e:
            eq((e.errno, e.sqlstate), (errno, sqlstate), f"errno and sqlstate of {sql}")
            assert e.sfqid, "the failed query's id"


def check_logins():
    messages = []
    for kw in [dict(password="wrong"), dict(user="nobody_here")]:
        try:
            connect(**kw)
            raise AssertionError(f"login with {kw} succeeded")
        except DatabaseError as e:
            eq(e.errno, 390100, f"errno of a refused login {kw}")
            messages.append(e.msg)
    eq(messages[0], messages[1], "the same message for a wrong password and an unknown user")


def check_isolation():
    a, b = connect(), connect(database=None, schema=None)
    a.cursor().execute("create temporary table only_here (x int)")
    a.cursor().execute("insert into only_here values (1)")
    eq(a.cursor().execute("select count(*) from only_here").fetchone(), (1,), "own temp table")
    eq(b.cursor().execute("select current_database()").fetchone(), (None,), "another session's context")
    try:
        b.cursor().execute("select * from movielens.public.only_here")
        raise AssertionError("a temporary table leaked into another session")
    except ProgrammingError:
        pass


def check_reuse():
    """A repeated query answers with its earlier result (USE_CACHED_RESULT) until a write
    anywhere; each answer has its own query id, in both result forms."""
    a, b = connect(), connect()
    ca, cb = a.cursor(), b.cursor()
    cb.execute("create or replace table reuse_t (x int)")
    cb.execute("insert into reuse_t values (1), (2)")
    q = "select count(*), sum(x) from reuse_t"
    first = ca.execute(q).fetchall()
    id1 = ca.sfqid
    eq(ca.execute(q).fetchall(), first, "repeated")
    assert ca.sfqid != id1, "a reused result answers under a new query id"
    eq(ca.execute(f"select * from table(result_scan('{ca.sfqid}'))").fetchall(), first, "result_scan of the reused answer")
    eq(ca.execute("select x from reuse_t order by x").fetch_pandas_all()["X"].tolist(), [1, 2], "arrow, first")
    eq(ca.execute("select x from reuse_t order by x").fetch_pandas_all()["X"].tolist(), [1, 2], "arrow, reused")
    cb.execute("insert into reuse_t values (3)")
    eq(ca.execute(q).fetchall(), [(3, 6)], "after another session's insert")
    r1, r2 = ca.execute("select random()").fetchone(), ca.execute("select random()").fetchone()
    assert r1 != r2, "random() runs every time"
    ca.execute("alter session set use_cached_result = false")
    eq(ca.execute("show parameters like 'USE_CACHED_RESULT'").fetchone()[1], "false", "parameter")
    eq(ca.execute(q).fetchall(), [(3, 6)], "with reuse off")
    cb.execute("drop table reuse_t")
    try:
        ca.execute(q)
        raise AssertionError("a dropped table's result was reused")
    except ProgrammingError as e:
        eq(e.errno, 2003, "dropped")
    a.close()
    b.close()


def check_pandas():
    import pandas as pd
    cur = connect().cursor()
    cur.execute("select userid, movieid, rating, timestamp from ratings order by userid, movieid")
    df = cur.fetch_pandas_all()
    want = pd.read_csv(os.environ["RECPIPE_RATINGS_CSV"]).sort_values(["userId", "movieId"]).reset_index(drop=True)
    eq(list(df.columns), ["USERID", "MOVIEID", "RATING", "TIMESTAMP"], "frame columns")
    eq(len(df), len(want), "frame rows")
    assert (df["USERID"].to_numpy() == want["userId"].to_numpy()).all(), "userId values"
    assert (df["MOVIEID"].to_numpy() == want["movieId"].to_numpy()).all(), "movieId values"
    assert (df["RATING"].to_numpy() == want["rating"].to_numpy()).all(), "rating values"
    seconds = pd.to_datetime(df["TIMESTAMP"]).astype("datetime64[s]").astype("int64")
    assert (seconds.to_numpy() == want["timestamp"].to_numpy()).all(), "timestamp values"
    table = cur.execute("select rating from ratings").fetch_arrow_all()
    eq(table.num_rows, len(want), "arrow rows")


def new_key():
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def der_public(key):
    from cryptography.hazmat.primitives import serialization
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def der_private(key):
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def fingerprint(key):
    return "SHA256:" + base64.b64encode(hashlib.sha256(der_public(key)).digest()).decode()


def jwt(key, user, iat, exp, account="RECPIPE", fp_key=None):
    """A key-pair JWT as Snowflake documents it, signed RS256 with `key`."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    sub = f"{account}.{user.upper()}"
    claims = {"iss": f"{sub}.{fingerprint(fp_key or key)}", "sub": sub, "iat": iat, "exp": exp}
    signed = enc(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + "." + enc(json.dumps(claims).encode())
    return signed + "." + enc(key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256()))


def sql_api(token, statement, kind="KEYPAIR_JWT"):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    if kind:
        headers["X-Snowflake-Authorization-Token-Type"] = kind
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/api/v2/statements", data=json.dumps({"statement": statement}).encode(),
                                 headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def key_login(user, key, **kw):
    return connect(user=user, password=None, authenticator="SNOWFLAKE_JWT", private_key=der_private(key), **kw)


JWT_REFUSALS = set()


def refused_jwt(what, f):
    try:
        f()
    except DatabaseError as e:
        eq(e.errno, 390144, f"errno of {what}")
        # The one refusal, whatever was wrong; only its id (for the server's log) differs.
        shape = re.sub(r"\[[0-9a-f-]{36}\]", "[id]", e.msg)
        assert "JWT token is invalid. [id]" in shape, f"{what}: {e.msg!r}"
        JWT_REFUSALS.add(shape)
        assert len(JWT_REFUSALS) == 1, f"refusals differ: {JWT_REFUSALS}"
        return
    raise AssertionError(f"{what} logged in")


def check_keypair():
    key, other = new_key(), new_key()
    admin = connect().cursor()
    # A service user without a password: it logs in by key pair only.
    admin.execute("create or replace user svc_key default_role = sysadmin default_namespace = movielens.public")
    admin.execute("grant role sysadmin to user svc_key")
    admin.execute(f"alter user svc_key set rsa_public_key = '{base64.b64encode(der_public(key)).decode()}'")
    desc = {row[0]: row[1] for row in admin.execute("describe user svc_key").fetchall()}
    eq(desc["RSA_PUBLIC_KEY_FP"], fingerprint(key), "the fingerprint describe user shows")
    eq(desc["RSA_PUBLIC_KEY_2_FP"], "null", "no second key yet")

    conn = key_login("svc_key", key)
    eq(conn.cursor().execute("select current_user(), current_role(), current_database()").fetchone(), ("SVC_KEY", "SYSADMIN", "MOVIELENS"), "a key-pair session")
    eq(conn.cursor().execute("select count(*) from ratings").fetchone(), (ratings_count(),), "a key-pair session reads")

    # Refused, each with the same code and message (only the id differs).
    refused_jwt("another key", lambda: key_login("svc_key", other))
    refused_jwt("an unknown user", lambda: key_login("nobody_at_all", key))
    refused_jwt("a user without a key", lambda: key_login(USER, key))

    # The SQL API takes the same JWT.
    now = int(time.time())
    status, body = sql_api(jwt(key, "svc_key", now, now + 600), "select current_user()")
    eq((status, body.get("data")), (200, [["SVC_KEY"]]), "the SQL API with a key-pair JWT")
    for what, token in [("expired", jwt(key, "svc_key", now - 7200, now - 3700)),
                        ("signed by another key", jwt(other, "svc_key", now, now + 600, fp_key=key)),
                        ("for another user", jwt(key, USER, now, now + 600)),
                        ("living over an hour", jwt(key, "svc_key", now, now + 7200))]:
        status, body = sql_api(token, "select 1")
        eq((status, body.get("code")), (401, "390144"), f"the SQL API with a JWT {what}")
        assert body["message"].startswith("JWT token is invalid. ["), body
    eq(sql_api(jwt(key, "svc_key", now, now + 600), "select 1", kind=None)[0], 200, "a JWT without the token-type header")

    # Rotation: the second key works beside the first, and the first can go.
    admin.execute(f"alter user svc_key set rsa_public_key_2 = '{base64.b64encode(der_public(other)).decode()}'")
    key_login("svc_key", other).close()
    admin.execute("alter user svc_key unset rsa_public_key")
    refused_jwt("a removed key", lambda: key_login("svc_key", key))

    # Disabling ends the user's sessions and refuses its logins; enabling lets it back.
    conn = key_login("svc_key", other)
    admin.execute("alter user svc_key set disabled = true")
    try:
        conn.cursor().execute("select 1")
        raise AssertionError("a disabled user's session ran a statement")
    except DatabaseError:
        pass
    refused_jwt("a disabled user", lambda: key_login("svc_key", other))
    admin.execute("alter user svc_key set disabled = false")
    key_login("svc_key", other).close()


def check_defaults():
    admin = connect().cursor()
    admin.execute("create or replace warehouse compute_wh")
    admin.execute("create or replace database scratch_d")
    admin.execute(f"create or replace user dflt password = '{PASSWORD}' default_role = sysadmin "
                  "default_namespace = movielens.public default_warehouse = compute_wh")
    admin.execute("grant role sysadmin to user dflt")
    rows = admin.execute("describe user dflt").fetchall()
    eq([d.name for d in admin.description], ["property", "value", "default", "description"], "describe user's columns")
    desc = {r[0]: r[1:] for r in rows}
    eq(desc["DEFAULT_NAMESPACE"][:2], ("MOVIELENS.PUBLIC", "null"), "DEFAULT_NAMESPACE")
    eq(desc["DEFAULT_ROLE"][0], "SYSADMIN", "DEFAULT_ROLE")
    eq(desc["DEFAULT_WAREHOUSE"][0], "COMPUTE_WH", "DEFAULT_WAREHOUSE")
    eq(desc["DISABLED"][:2], ("false", "false"), "DISABLED")
    plain = connect(user="dflt", database=None, schema=None)
    cur = plain.cursor()
    ctx = "select current_role(), current_database(), current_schema(), current_warehouse()"
    eq(cur.execute(ctx).fetchone(), ("SYSADMIN", "MOVIELENS", "PUBLIC", "COMPUTE_WH"), "a session starts in the user's defaults")
    eq(cur.execute("select count(*) from ratings").fetchone(), (ratings_count(),), "unqualified names in the default namespace")
    cur.execute("use database scratch_d")
    eq(cur.execute("select current_database()").fetchone(), ("SCRATCH_D",), "use overrides the default")
    eq(plain.database, "SCRATCH_D", "the connector follows the session's database")
    asked = connect(user="dflt", database="SCRATCH_D", schema="PUBLIC", role="PUBLIC")
    eq(asked.cursor().execute(ctx).fetchone(), ("PUBLIC", "SCRATCH_D", "PUBLIC", "COMPUTE_WH"), "the login's own context wins")
    # A user may change their own defaults, not another user's properties.
    cur.execute("alter user dflt set default_namespace = scratch_d.public")
    eq(connect(user="dflt", database=None, schema=None).cursor().execute("select current_database()").fetchone(), ("SCRATCH_D",), "changed default")
    for sql in ["alter user dflt set disabled = true", f"alter user {USER} set default_role = public"]:
        try:
            cur.execute(sql)
            raise AssertionError(f"{sql} ran without SECURITYADMIN")
        except ProgrammingError as e:
            assert e.errno in (3001, 2003), (sql, e.errno, e.msg)
    # A default object that is gone leaves that part of the context unset.
    admin.execute("drop database scratch_d")
    eq(connect(user="dflt", database=None, schema=None).cursor().execute("select current_database()").fetchone(), (None,), "a dropped default")


def check_million():
    cur = connect().cursor()
    cur.execute("select i, (i % 1000) / 4 as r, 'row ' || i as s from range(1000000) t(i) order by i")
    n, total = 0, 0
    for row in cur:
        eq(row[2], f"row {row[0]}", "a row's text") if n % 99991 == 0 else None
        n += 1
        total += row[0]
    eq(n, 1_000_000, "rows fetched")
    eq(total, sum(range(1_000_000)), "sum of the first column")
    print(f"rows {n}", flush=True)


def check_restart():
    conn = connect()
    cur = conn.cursor()
    cur.execute("use schema movielens.public")
    cur.execute("create temporary table gone_after_restart (x int)")
    eq(cur.execute("select count(*) from gone_after_restart").fetchone(), (0,), "before the restart")
    print("connected", flush=True)
    sys.stdin.readline()
    # The session token is unknown now: the connector renews with its master token and goes on.
    eq(cur.execute("select count(*) from ratings").fetchone(), (ratings_count(),), "after the restart")
    eq(cur.execute("select current_database(), current_schema()").fetchone(), ("MOVIELENS", "PUBLIC"), "context after the restart")
    try:
        cur.execute("select * from gone_after_restart")
        raise AssertionError("a temporary table outlived the restart")
    except ProgrammingError:
        pass
    conn.close()


if __name__ == "__main__":
    name = sys.argv[1]
    globals()[f"check_{name}"]()
    print(f"ok {name}", flush=True)
