"""Calls a running `recpipe up` the way real AWS clients do, for the gateway integration test.

Reads JSON from stdin (secrets travel on stdin, never on the command line):
  {"url", "body", "region", "good": creds, "intruder": creds, "admin": creds,
   "sts": {"role_arn", "external_id", "endpoint_url"}}
where creds = {"access_key_id", "secret", "token"?}. Signs each variant with botocore's SigV4Auth,
sends it with urllib, and prints {variant: [status, body]} as JSON; the Rust test judges them.
"""
import datetime
import json
import sys
import urllib.error
import urllib.request

import boto3
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

spec = json.load(sys.stdin)


def creds(c, **override):
    c = dict(c, **override)
    return Credentials(c["access_key_id"], c["secret"], c.get("token"))


def signed(c, body, headers=None):
    h = {"Content-Type": "application/json", "sf-external-function-format": "json",
         "sf-external-function-query-batch-id": "it-batch-1"}
    h.update(headers or {})
    req = AWSRequest(method="POST", url=spec["url"], data=body.encode(), headers=h)
    SigV4Auth(c, "execute-api", spec["region"]).add_auth(req)
    return req.prepare()


def send(prepared, body=None):
    data = (body if body is not None else prepared.body)
    if isinstance(data, str):
        data = data.encode()
    r = urllib.request.Request(prepared.url, data=data, method="POST", headers=dict(prepared.headers.items()))
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return [resp.status, resp.read().decode()]
    except urllib.error.HTTPError as e:
        return [e.code, e.read().decode()]


body = spec["body"]
out = {}
out["good"] = send(signed(creds(spec["good"]), body))
out["bad_secret"] = send(signed(creds(spec["good"], secret="x" * 40), body))
out["bad_token"] = send(signed(creds(spec["good"], token=spec["good"]["token"][:-4] + "AAAA"), body))
out["wrong_body"] = send(signed(creds(spec["good"]), body), body.replace("nothing", "nothinG"))
out["intruder"] = send(signed(creds(spec["intruder"]), body))

real_now = botocore.auth.get_current_datetime
botocore.auth.get_current_datetime = lambda: real_now() - datetime.timedelta(minutes=10)
out["expired"] = send(signed(creds(spec["good"]), body))
botocore.auth.get_current_datetime = real_now

sts = boto3.client(
    "sts", endpoint_url=spec["sts"]["endpoint_url"], region_name=spec["region"],
    aws_access_key_id=spec["admin"]["access_key_id"], aws_secret_access_key=spec["admin"]["secret"])
r = sts.assume_role(RoleArn=spec["sts"]["role_arn"], RoleSessionName="boto3",
                    ExternalId=spec["sts"]["external_id"], DurationSeconds=900)
out["boto3_assume_role"] = [200, json.dumps({"Arn": r["AssumedRoleUser"]["Arn"],
                                             "AccessKeyId": r["Credentials"]["AccessKeyId"]})]
try:
    sts.assume_role(RoleArn=spec["sts"]["role_arn"], RoleSessionName="boto3", ExternalId="wrong")
    out["boto3_wrong_external_id"] = [200, ""]
except sts.exceptions.ClientError as e:
    out["boto3_wrong_external_id"] = [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]]
print(json.dumps(out))
