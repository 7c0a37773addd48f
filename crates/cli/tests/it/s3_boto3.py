"""boto3 against recpipe's S3 API, STS and IAM on the server's one port.

Env: RECPIPE_URL; ADMIN_KEY / ADMIN_SECRET (the account's admin, AdministratorAccess);
NOBODY_KEY / NOBODY_SECRET (a user with no policies); WORK (a scratch directory).
Prints "boto3 s3 passed" at the end.
"""
import hashlib
import json
import os
import urllib.error
import urllib.request

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

url, work = os.environ["RECPIPE_URL"], os.environ["WORK"]
config = Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}, signature_version="s3v4")


def session(name=None, key=None, secret=None, token=None):
    key = key or os.environ[name + "_KEY"]
    secret = secret or os.environ[name + "_SECRET"]
    return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token, region_name="us-east-1")


def client(s, service):
    return s.client(service, endpoint_url=url, config=config)


def refused(call, action, resource):
    try:
        call()
    except ClientError as e:
        code, msg = e.response["Error"]["Code"], e.response["Error"].get("Message", "")
        # HEAD answers carry no body: only the status says no.
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 403 and code == "403":
            return
        assert code == "AccessDenied", (action, code, msg)
        assert "is not authorized to perform: " + action + " on resource: " + resource in msg, (action, msg)
        return
    raise AssertionError(action + " was not refused")


admin = session("ADMIN")
s3 = client(admin, "s3")
bucket = "sagemaker-clients"
s3.create_bucket(Bucket=bucket)
assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
s3.put_object(Bucket=bucket, Key="data/ratings.csv", Body=b"userId,movieId,rating\n1,10,4.0\n")
s3.put_object(Bucket=bucket, Key="data/deep/more.csv", Body=b"x")
s3.put_object(Bucket=bucket, Key="top.txt", Body=b"0123456789")

listed = s3.list_objects_v2(Bucket=bucket, Prefix="data/", Delimiter="/")
assert [o["Key"] for o in listed["Contents"]] == ["data/ratings.csv"], listed
assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["data/deep/"], listed
pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1}))
assert [o["Key"] for p in pages for o in p.get("Contents", [])] == ["data/deep/more.csv", "data/ratings.csv", "top.txt"], pages

head = s3.head_object(Bucket=bucket, Key="top.txt")
assert head["ContentLength"] == 10, head
assert s3.get_object(Bucket=bucket, Key="top.txt", Range="bytes=3-5")["Body"].read() == b"345"
assert s3.get_object(Bucket=bucket, Key="data/ratings.csv")["Body"].read().startswith(b"userId")

# Multipart: upload_file splits anything over the threshold into 5 MiB parts.
big = os.path.join(work, "big.bin")
with open(big, "wb") as f:
    f.write(os.urandom(12 * 1024 * 1024 + 123))
small_parts = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
s3.upload_file(big, bucket, "models/big.bin", Config=small_parts)
back = os.path.join(work, "back.bin")
s3.download_file(bucket, "models/big.bin", back, Config=small_parts)
digest = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
assert digest(back) == digest(big)

# A presigned GET URL works without any SDK.
presigned = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "top.txt"}, ExpiresIn=300)
assert "X-Amz-Signature=" in presigned, presigned
with urllib.request.urlopen(presigned) as r:
    assert r.read() == b"0123456789"
try:
    urllib.request.urlopen(presigned.replace("top.txt", "data/ratings.csv"))
    raise AssertionError("a URL signed for another key was accepted")
except urllib.error.HTTPError as e:
    assert e.code == 403 and b"SignatureDoesNotMatch" in e.read(), e.code

s3.delete_object(Bucket=bucket, Key="data/deep/more.csv")
assert "data/deep/more.csv" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]

# A user with no policies: every S3 call refused, naming caller, action and resource.
nobody = client(session("NOBODY"), "s3")
arn_obj = "arn:aws:s3:::" + bucket
refused(lambda: nobody.list_buckets(), "s3:ListAllMyBuckets", "arn:aws:s3:::*")
refused(lambda: nobody.list_objects_v2(Bucket=bucket), "s3:ListBucket", arn_obj)
refused(lambda: nobody.get_object(Bucket=bucket, Key="top.txt"), "s3:GetObject", arn_obj + "/top.txt")
refused(lambda: nobody.head_object(Bucket=bucket, Key="top.txt"), "s3:GetObject", arn_obj + "/top.txt")
refused(lambda: nobody.put_object(Bucket=bucket, Key="top.txt", Body=b"mine"), "s3:PutObject", arn_obj + "/top.txt")
refused(lambda: nobody.delete_object(Bucket=bucket, Key="top.txt"), "s3:DeleteObject", arn_obj + "/top.txt")
try:
    nobody.upload_file(big, bucket, "models/nobody.bin", Config=small_parts)
    raise AssertionError("nobody's multipart upload was accepted")
except S3UploadFailedError as e:
    assert "AccessDenied" in str(e) and "s3:PutObject" in str(e), str(e)
nobody_url = nobody.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "top.txt"}, ExpiresIn=300)
try:
    urllib.request.urlopen(nobody_url)
    raise AssertionError("nobody's presigned URL was honoured")
except urllib.error.HTTPError as e:
    body = e.read().decode()
    assert e.code == 403 and "AccessDenied" in body and "s3:GetObject" in body, body
assert s3.get_object(Bucket=bucket, Key="top.txt")["Body"].read() == b"0123456789"

# STS and IAM as the AWS CLI's configuration checks call them.
sts = client(admin, "sts")
me = sts.get_caller_identity()
assert me["Arn"].endswith(":user/recpipe-admin") and me["UserId"].startswith("AIDA") and len(me["Account"]) == 12, me
assert sts.get_access_key_info(AccessKeyId=os.environ["NOBODY_KEY"])["Account"] == me["Account"]
iam = client(admin, "iam")
assert iam.get_user()["User"]["UserName"] == "recpipe-admin"
assert iam.get_user(UserName="nobody")["User"]["Arn"].endswith(":user/nobody")
keys = iam.list_access_keys(UserName="nobody")["AccessKeyMetadata"]
assert [k["AccessKeyId"] for k in keys] == [os.environ["NOBODY_KEY"]] and keys[0]["Status"] == "Active", keys
assert "SecretAccessKey" not in json.dumps(keys, default=str)

nobody_sts = client(session("NOBODY"), "sts")
who = nobody_sts.get_caller_identity()
assert who["Arn"] == "arn:aws:iam::%s:user/nobody" % me["Account"], who
refused(lambda: client(session("NOBODY"), "iam").get_user(), "iam:GetUser", who["Arn"])
refused(lambda: client(session("NOBODY"), "iam").list_access_keys(), "iam:ListAccessKeys", who["Arn"])
refused(lambda: nobody_sts.get_access_key_info(AccessKeyId=os.environ["ADMIN_KEY"]), "sts:GetAccessKeyInfo", "*")

# An assumed-role session: GetCallerIdentity names the session; a role with the SageMaker
# managed policy reaches SageMaker's buckets and no other.
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % me["Account"]}, "Action": "sts:AssumeRole"}]}
role = iam.create_role(RoleName="s3-clients-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
iam.attach_role_policy(RoleName="s3-clients-role", PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="clients")["Credentials"]
as_role = session(key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"])
who = client(as_role, "sts").get_caller_identity()
assert who["Arn"] == "arn:aws:sts::%s:assumed-role/s3-clients-role/clients" % me["Account"], who
assert who["UserId"] == role["RoleId"] + ":clients", who
role_s3 = client(as_role, "s3")
assert role_s3.get_object(Bucket=bucket, Key="top.txt")["Body"].read() == b"0123456789"
role_s3.put_object(Bucket=bucket, Key="from-role.txt", Body=b"r")
s3.create_bucket(Bucket="other-data")
refused(lambda: role_s3.list_objects_v2(Bucket="other-data"), "s3:ListBucket", "arn:aws:s3:::other-data")
role_url = role_s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "top.txt"}, ExpiresIn=60)
with urllib.request.urlopen(role_url) as r:
    assert r.read() == b"0123456789"

print("boto3 s3 passed")
