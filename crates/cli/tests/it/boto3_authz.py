"""boto3 callers with different identity policies against recpipe's SageMaker API and Runtime.

Env: RECPIPE_URL; ROLE_ARN (an execution role); for each of NOBODY, LISTER and SCOPED an access
key as <NAME>_KEY / <NAME>_SECRET. NOBODY has no policies; LISTER may only
sagemaker:ListTrainingJobs; SCOPED may sagemaker:CreateTrainingJob (but not iam:PassRole) and
sagemaker:InvokeEndpoint on endpoint/movielens-*. Endpoints movielens-ep and other-ep are InService.
"""
import os

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

url, role = os.environ["RECPIPE_URL"], os.environ["ROLE_ARN"]


def clients(name):
    kw = dict(
        endpoint_url=url, region_name="us-east-1", config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        aws_access_key_id=os.environ[name + "_KEY"], aws_secret_access_key=os.environ[name + "_SECRET"],
    )
    return boto3.client("sagemaker", **kw), boto3.client("sagemaker-runtime", **kw)


def refused(call, action, resource_part):
    try:
        call()
    except ClientError as e:
        code, msg = e.response["Error"]["Code"], e.response["Error"]["Message"]
        assert code.startswith("AccessDenied"), (action, code, msg)
        assert "is not authorized to perform: " + action in msg, (action, msg)
        assert resource_part in msg, (action, resource_part, msg)
        return msg
    raise AssertionError(action + " was not refused")


job = dict(
    TrainingJobName="authz-job-2",
    AlgorithmSpecification={"TrainingImage": "recpipe:latest", "TrainingInputMode": "File"},
    RoleArn=role,
    InputDataConfig=[{"ChannelName": "training", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/in/"}}}],
    OutputDataConfig={"S3OutputPath": "s3://models/authz"},
    ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
    StoppingCondition={"MaxRuntimeInSeconds": 600},
)
variant = {"VariantName": "AllTraffic", "ModelName": "authz-m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
model = dict(ModelName="authz-m2", PrimaryContainer={"Image": "recpipe:latest", "ModelDataUrl": "s3://models/x/model.tar.gz"}, ExecutionRoleArn=role)

# Every call the CLI offers (jobs, models, endpoints, invoke) and the rest of the API, as NOBODY.
sm, rt = clients("NOBODY")
calls = [
    ("sagemaker:CreateTrainingJob", "training-job/authz-job-2", lambda: sm.create_training_job(**job)),
    ("sagemaker:DescribeTrainingJob", "training-job/authz-job", lambda: sm.describe_training_job(TrainingJobName="authz-job")),
    ("sagemaker:ListTrainingJobs", "resource: *", lambda: sm.list_training_jobs()),
    ("sagemaker:StopTrainingJob", "training-job/authz-job", lambda: sm.stop_training_job(TrainingJobName="authz-job")),
    ("sagemaker:CreateModel", "model/authz-m2", lambda: sm.create_model(**model)),
    ("sagemaker:DescribeModel", "model/authz-m", lambda: sm.describe_model(ModelName="authz-m")),
    ("sagemaker:ListModels", "resource: *", lambda: sm.list_models()),
    ("sagemaker:DeleteModel", "model/authz-m", lambda: sm.delete_model(ModelName="authz-m")),
    ("sagemaker:CreateEndpointConfig", "endpoint-config/c2", lambda: sm.create_endpoint_config(EndpointConfigName="c2", ProductionVariants=[variant])),
    ("sagemaker:DescribeEndpointConfig", "endpoint-config/authz-c", lambda: sm.describe_endpoint_config(EndpointConfigName="authz-c")),
    ("sagemaker:ListEndpointConfigs", "resource: *", lambda: sm.list_endpoint_configs()),
    ("sagemaker:DeleteEndpointConfig", "endpoint-config/authz-c", lambda: sm.delete_endpoint_config(EndpointConfigName="authz-c")),
    ("sagemaker:CreateEndpoint", "endpoint/e2", lambda: sm.create_endpoint(EndpointName="e2", EndpointConfigName="authz-c")),
    ("sagemaker:UpdateEndpoint", "endpoint/movielens-ep", lambda: sm.update_endpoint(EndpointName="movielens-ep", EndpointConfigName="authz-c")),
    ("sagemaker:DescribeEndpoint", "endpoint/movielens-ep", lambda: sm.describe_endpoint(EndpointName="movielens-ep")),
    ("sagemaker:ListEndpoints", "resource: *", lambda: sm.list_endpoints()),
    ("sagemaker:DeleteEndpoint", "endpoint/movielens-ep", lambda: sm.delete_endpoint(EndpointName="movielens-ep")),
    ("sagemaker:InvokeEndpoint", "endpoint/movielens-ep", lambda: rt.invoke_endpoint(EndpointName="movielens-ep", ContentType="text/csv", Body=b"1,10\n")),
]
for action, resource, call in calls:
    msg = refused(call, action, resource)
    assert msg.startswith("User: arn:aws:iam::") and ":user/nobody " in msg, msg
    assert "because no identity-based policy allows the " + action + " action" in msg, msg

# LISTER: listing works, nothing else.
sm, rt = clients("LISTER")
names = [j["TrainingJobName"] for j in sm.list_training_jobs()["TrainingJobSummaries"]]
assert "authz-job" in names, names
refused(lambda: sm.create_training_job(**job), "sagemaker:CreateTrainingJob", "training-job/authz-job-2")
refused(lambda: sm.list_models(), "sagemaker:ListModels", "resource: *")

# SCOPED: may create jobs but not pass the role; may invoke movielens-* and no other endpoint.
sm, rt = clients("SCOPED")
refused(lambda: sm.create_training_job(**job), "iam:PassRole", "resource: " + role)
r = rt.invoke_endpoint(EndpointName="movielens-ep", ContentType="text/csv", Body=b"1,10\n2,20\n")
assert len(r["Body"].read().split()) == 2
refused(lambda: rt.invoke_endpoint(EndpointName="other-ep", ContentType="text/csv", Body=b"1,10\n"), "sagemaker:InvokeEndpoint", "endpoint/other-ep")
print("boto3 authorization passed")
