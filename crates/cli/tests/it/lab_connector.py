"""The acceptance lab (../shared/acceptance/lab_flow.sql) through Snowflake's own Python connector,
statement by statement, with the steps outside SQL done through boto3 against the same server:
the trust policy with IAM's UpdateAssumeRolePolicy, the waits with SageMaker's DescribeTrainingJob
and DescribeEndpoint. Driven by lab_connector.rs, which starts `recpipe up`, loads MovieLens and
deploys the stage first.

Environment: RECPIPE_URL, RECPIPE_USER, RECPIPE_PASSWORD, LAB_FLOW (the .sql file), LAB_VARS (JSON
of the ${...} placeholders known before the run), AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE (the
server's admin key), AWS_REGION. Prints `lab through the connector passed` at the end.
"""

import json
import os
import re
import time
import urllib.parse

import boto3
import snowflake.connector
from botocore.config import Config

URL = os.environ["RECPIPE_URL"]
u = urllib.parse.urlparse(URL)
VARS = json.loads(os.environ["LAB_VARS"])
aws = dict(endpoint_url=URL, region_name=os.environ["AWS_REGION"], config=Config(retries={"max_attempts": 1}))
iam, sm = boto3.client("iam", **aws), boto3.client("sagemaker", **aws)


def steps(path):
    """{step name: [statement, ...]} in file order; `${NAME}` placeholders kept."""
    out, name, buf = {}, None, []
    for line in open(path):
        m = re.match(r"--\s*step:\s*(\w+)", line)
        if m:
            name = m.group(1)
            out[name] = []
            continue
        if line.strip().startswith("--") or name is None:
            continue
        buf.append(line)
        if line.rstrip().endswith(";"):
            out[name].append("".join(buf).strip().rstrip(";"))
            buf = []
    return out


def fill(sql):
    def one(m):
        assert m.group(1) in VARS, f"no value for ${{{m.group(1)}}} in: {sql}"
        return VARS[m.group(1)]
    return re.sub(r"\$\{(\w+)\}", one, sql)


conn = snowflake.connector.connect(account="recpipe", user=os.environ["RECPIPE_USER"], password=os.environ["RECPIPE_PASSWORD"],
                                   host=u.hostname, port=u.port, protocol="http")
cur = conn.cursor()
flow = steps(os.environ["LAB_FLOW"])
ran = 0


def run_step(name):
    global ran
    results = []
    for sql in flow[name]:
        cur.execute(fill(sql))
        results.append((sql, cur.fetchall() if cur.description else []))
        ran += 1
    print(f"step {name}: {len(flow[name])} statement(s)", flush=True)
    return results


# load: the tables the story starts from
out = run_step("load")
counts = [rows for sql, rows in out if sql.startswith("select count(*)")]
assert counts and counts[0][0][0] > 1000, counts

# integration, and its two properties as `describe integration` shows them
out = run_step("integration")
props = {row[0]: row[2] for row in out[-1][1]}
user_arn, external_id = props["API_AWS_IAM_USER_ARN"], props["API_AWS_EXTERNAL_ID"]
assert user_arn.startswith("arn:aws:iam::"), user_arn

# Before the trust step, calling through the integration fails with the access check named.
cur.execute(f"create or replace external function probe_before_trust(x varchar) returns variant "
            f"api_integration = snf_recommender_api_integration as '{VARS['API_PREFIX']}describe'")
try:
    cur.execute("select probe_before_trust('nothing')")
    raise AssertionError("an external function ran before the trust policy admitted the integration")
except snowflake.connector.errors.ProgrammingError as e:
    assert "trust policy" in e.msg, e.msg

# trust, through boto3's IAM client on the same port
role_name = VARS["EF_ROLE_ARN"].rsplit("/", 1)[1]
policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole",
                                                  "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]}
iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(policy))
got = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
got = json.loads(urllib.parse.unquote(got)) if isinstance(got, str) else got
assert got["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] == external_id, got

run_step("functions")
out = run_step("train")
arn = str(out[-1][1][0][0]).strip('"')
assert ":training-job/" in arn, arn
job = arn.rsplit("/", 1)[1]
sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=job, WaiterConfig={"Delay": 1, "MaxAttempts": 600})
d = sm.describe_training_job(TrainingJobName=job)
assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
VARS["MODEL_URL"] = d["ModelArtifacts"]["S3ModelArtifacts"]

# results: every user of the input table has 10 distinct movies they did not rate
run_step("results")
rated = {}
for user, movie in cur.execute("select userid, movieid from ratings_train_data").fetchall():
    rated.setdefault(user, set()).add(movie)
recs = cur.execute("select userid, top_10_recommendations from user_movie_recommendations").fetchall()
assert len(recs) == len(rated), (len(recs), len(rated))
for user, top in recs:
    top = json.loads(top)
    assert len(top) == 10 and len(set(top)) == 10, (user, top)
    assert not set(top) & rated[user], (user, top)

run_step("deploy")
deadline = time.time() + 300
while (status := sm.describe_endpoint(EndpointName="movielens-model-v1")["EndpointStatus"]) != "InService":
    assert status != "Failed" and time.time() < deadline, status
    time.sleep(0.2)

out = run_step("invoke")
predictions = out[-1][1]
with_movie = cur.execute("select count(*) from no_ratings nr, movies m where nr.movieid = m.movieid").fetchone()[0]
assert with_movie > 0 and len(predictions) == with_movie, (predictions, with_movie)
for row in predictions:
    assert 0.0 <= float(row[3]) <= 6.0, row
print(f"{ran} statements ran", flush=True)
conn.close()
print("lab through the connector passed", flush=True)
