"""boto3's sagemaker and sagemaker-runtime clients against recpipe's control plane.

Env: RECPIPE_URL (the server), ROLE_ARN (an execution role trusting SageMaker). The ratings are at
s3://data/in/ and a tarball without a model at s3://models/junk/model.tar.gz.
"""
import os

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

url, role = os.environ["RECPIPE_URL"], os.environ["ROLE_ARN"]
kw = dict(endpoint_url=url, region_name="us-east-1", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
sm = boto3.client("sagemaker", **kw)
rt = boto3.client("sagemaker-runtime", **kw)

job = dict(
    TrainingJobName="boto-job",
    AlgorithmSpecification={"TrainingImage": "recpipe:latest", "TrainingInputMode": "File"},
    RoleArn=role,
    InputDataConfig=[{"ChannelName": "training", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/in/"}}}],
    OutputDataConfig={"S3OutputPath": "s3://models/boto"},
    ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
    StoppingCondition={"MaxRuntimeInSeconds": 600},
    HyperParameters={"n_factors": "8", "n_epochs": "5", "cv_folds": "2"},
)
arn = sm.create_training_job(**job)["TrainingJobArn"]
assert arn.endswith(":training-job/boto-job"), arn
sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="boto-job", WaiterConfig={"Delay": 1, "MaxAttempts": 300})
d = sm.describe_training_job(TrainingJobName="boto-job")
assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
artifact = d["ModelArtifacts"]["S3ModelArtifacts"]
assert artifact == "s3://models/boto/boto-job/output/model.tar.gz", artifact
metrics = {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]}
assert "cv:rmse" in metrics, metrics
assert d["TrainingStartTime"] <= d["TrainingEndTime"]

sm.create_model(ModelName="boto-model", PrimaryContainer={"Image": "recpipe:latest", "ModelDataUrl": artifact}, ExecutionRoleArn=role)
variant = {"VariantName": "AllTraffic", "ModelName": "boto-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
sm.create_endpoint_config(EndpointConfigName="boto-config", ProductionVariants=[variant])
sm.create_endpoint(EndpointName="boto-ep", EndpointConfigName="boto-config")
sm.get_waiter("endpoint_in_service").wait(EndpointName="boto-ep", WaiterConfig={"Delay": 1, "MaxAttempts": 300})
r = rt.invoke_endpoint(EndpointName="boto-ep", ContentType="text/csv", Body=b"1,10\n2,20\n")
assert r["InvokedProductionVariant"] == "AllTraffic", r
predictions = [float(x) for x in r["Body"].read().decode().split()]
assert len(predictions) == 2 and all(0.5 <= p <= 5.0 for p in predictions), predictions

sm.create_endpoint_config(EndpointConfigName="boto-config-2", ProductionVariants=[dict(variant, InitialInstanceCount=2)])
sm.update_endpoint(EndpointName="boto-ep", EndpointConfigName="boto-config-2")
sm.get_waiter("endpoint_in_service").wait(EndpointName="boto-ep", WaiterConfig={"Delay": 1, "MaxAttempts": 300})
e = sm.describe_endpoint(EndpointName="boto-ep")
assert e["EndpointConfigName"] == "boto-config-2" and e["ProductionVariants"][0]["CurrentInstanceCount"] == 2, e
assert len(rt.invoke_endpoint(EndpointName="boto-ep", ContentType="text/csv", Body=b"3,30\n")["Body"].read().split()) == 1


def error(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"]
    raise AssertionError("no error")


code, status, msg = error(lambda: sm.create_training_job(**job))
assert (code, status) == ("ResourceInUse", 400), (code, status, msg)
code, status, msg = error(lambda: sm.create_training_job(**dict(job, TrainingJobName="bad_name")))
assert (code, status) == ("ValidationException", 400) and "bad_name" in msg, (code, status, msg)
code, status, msg = error(lambda: sm.describe_training_job(TrainingJobName="no-such-job"))
assert (code, status) == ("ResourceNotFound", 400), (code, status, msg)
code, status, msg = error(lambda: sm.delete_endpoint_config(EndpointConfigName="boto-config-2"))
assert (code, status) == ("ResourceInUse", 400), (code, status, msg)
code, status, msg = error(lambda: rt.invoke_endpoint(EndpointName="no-such-ep", ContentType="text/csv", Body=b"1,1\n"))
assert (code, status) == ("ValidationError", 400), (code, status, msg)
code, status, msg = error(lambda: rt.invoke_endpoint(EndpointName="boto-ep", ContentType="text/csv", Body=b"1,x\n"))
assert (code, status) == ("ModelError", 424) and "is not a number" in msg, (code, status, msg)

sm.create_model(ModelName="junk", PrimaryContainer={"Image": "recpipe:latest", "ModelDataUrl": "s3://models/junk/model.tar.gz"}, ExecutionRoleArn=role)
sm.create_endpoint_config(EndpointConfigName="junk-config", ProductionVariants=[dict(variant, ModelName="junk")])
sm.create_endpoint(EndpointName="junk-ep", EndpointConfigName="junk-config")
try:
    sm.get_waiter("endpoint_in_service").wait(EndpointName="junk-ep", WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    raise AssertionError("a model that cannot load reached InService")
except Exception as e:  # botocore's WaiterError
    assert "Failed" in str(e), e
assert "no model found" in sm.describe_endpoint(EndpointName="junk-ep")["FailureReason"]
code, status, msg = error(lambda: rt.invoke_endpoint(EndpointName="junk-ep", ContentType="text/csv", Body=b"1,1\n"))
assert (code, status) == ("ServiceUnavailable", 503), (code, status, msg)

sm.delete_endpoint(EndpointName="boto-ep")
code, status, msg = error(lambda: sm.describe_endpoint(EndpointName="boto-ep"))
assert (code, status) == ("ValidationException", 400), (code, status, msg)
print("boto3 sequence passed")
