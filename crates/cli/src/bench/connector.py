"""`recpipe bench connector`'s client side: Snowflake's Python connector and the SQL API's JSON
form against the server the bench started. Reads its settings from the environment and prints
one JSON object of figures; the Rust side reports them.
"""
import json
import os
import time
import urllib.request

import pandas as pd
import snowflake.connector

env = os.environ
port, rows, json_rows, seconds = int(env["BENCH_PORT"]), int(env["BENCH_ROWS"]), int(env["BENCH_JSON_ROWS"]), float(env["BENCH_SECONDS"])
conn = snowflake.connector.connect(account="recpipe", user=env["BENCH_USER"], password=env["BENCH_PASSWORD"], host="127.0.0.1",
                                   port=port, protocol="http", database="BENCH", schema="PUBLIC")
cur = conn.cursor()
out = {}

# 1. fetch_pandas_all through the connector: Arrow, inline and in result chunks.
t = time.perf_counter()
cur.execute("select userid, movieid, rating from ratings")
df = cur.fetch_pandas_all()
out["pandas_seconds"] = time.perf_counter() - t
assert len(df) == rows, (len(df), rows)
out["pandas_checksum"] = float(df["RATING"].sum())
del df

# 2. The same rows in the SQL API's JSON form (a slice of them), into a frame of the same types.
def api(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {env['BENCH_TOKEN']}", "Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)

t = time.perf_counter()
first = api("POST", "/api/v2/statements", {"statement": f"select userid, movieid, rating from bench.public.ratings limit {json_rows}"})
data = list(first["data"])
handle = first["statementHandle"]
for p in range(1, len(first["resultSetMetaData"]["partitionInfo"])):
    data.extend(api("GET", f"/api/v2/statements/{handle}?partition={p}")["data"])
frame = pd.DataFrame(data, columns=["USERID", "MOVIEID", "RATING"]).astype({"USERID": "int64", "MOVIEID": "int64", "RATING": "float64"})
out["json_seconds"] = time.perf_counter() - t
assert len(frame) == json_rows, (len(frame), json_rows)
del frame, data

# 3. Small-query round trips on one connection: as a session runs by default (a repeated query
# reuses its result, USE_CACHED_RESULT = TRUE), then with every query run by the engine.
def round_trips():
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds:
        assert cur.execute("select 1").fetchone() == (1,)
        n += 1
    return n, time.perf_counter() - t

out["round_trips"], out["round_trip_seconds"] = round_trips()
cur.execute("alter session set use_cached_result = false")
out["round_trips_run"], out["round_trip_run_seconds"] = round_trips()
conn.close()
print(json.dumps(out), flush=True)
