//! The CloudFormation template of the workshop's Serverless app on real AWS: the REST API
//! (`AWS_IAM` on every method, a resource policy admitting only `snf_ef_role_principal`), the
//! four Lambda functions and their execution role, the SageMaker execution role (unless the
//! configuration names one), the artifacts bucket and a deployment bucket for the code, with each
//! function's URL in the Outputs.

use gateway::{DeployConfig, Function};
use serde_json::{json, Map, Value};

/// The functions in template order, each with its resource-name prefix.
pub fn functions() -> [(Function, &'static str); 4] {
    [(Function::Train, "Train"), (Function::Deploy, "Deploy"), (Function::Invoke, "Invoke"), (Function::Describe, "Describe")]
}

/// Whether the configuration leaves the SageMaker role for the stack to create (empty or `create`).
pub fn creates_sagemaker_role(c: &DeployConfig) -> bool {
    c.sagemaker_role_arn.is_empty() || c.sagemaker_role_arn.eq_ignore_ascii_case("create")
}

/// The first-phase template: the deployment bucket alone, so the code can be uploaded before the
/// functions that need it exist (as `sls deploy` does).
pub fn bootstrap_template() -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "recpipe: the deployment bucket (the full stack follows once the code is uploaded)",
        "Resources": {"DeploymentBucket": deployment_bucket()},
        "Outputs": {"DeploymentBucketName": {"Value": {"Ref": "DeploymentBucket"}}},
    })
}

fn encryption() -> Value {
    json!({"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
}

fn private() -> Value {
    json!({"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true})
}

fn deployment_bucket() -> Value {
    json!({"Type": "AWS::S3::Bucket", "Properties": {"BucketEncryption": encryption(), "PublicAccessBlockConfiguration": private()}})
}

/// The API's resource policy: `execute-api:Invoke` for `snf_ef_role_principal` only, and an
/// explicit Deny for everyone else, so an identity policy of the same account cannot open it
/// either. `execute-api:/` is API Gateway's shorthand for this API's ARN.
pub fn resource_policy(c: &DeployConfig) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "SnowflakeOnly", "Effect": "Allow", "Principal": {"AWS": c.snf_ef_role_principal}, "Action": "execute-api:Invoke", "Resource": "execute-api:/*/*/*"},
            {"Sid": "NobodyElse", "Effect": "Deny", "NotPrincipal": {"AWS": [c.snf_ef_role_principal, c.snf_ef_role_arn]}, "Action": "execute-api:Invoke", "Resource": "execute-api:/*/*/*"},
        ]
    })
}

fn sub(s: &str) -> Value {
    json!({"Fn::Sub": s})
}

/// The SageMaker role's ARN as the functions see it.
fn sagemaker_role(c: &DeployConfig) -> Value {
    if creates_sagemaker_role(c) {
        json!({"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]})
    } else {
        Value::from(c.sagemaker_role_arn.clone())
    }
}

/// `<service>-<stage>-<function>`, the name `sls deploy` gives a function.
pub fn function_name(c: &DeployConfig, stage: &str, f: Function) -> String {
    format!("{}-{stage}-{}", c.service_name(), f.name())
}

fn environment(c: &DeployConfig, f: Function) -> Value {
    let mut vars = Map::new();
    let values = [
        ("unique_id", Value::from(c.unique_id.clone())),
        ("region", Value::from(c.region.clone())),
        ("sagemaker_role_arn", sagemaker_role(c)),
        ("training_image_ecr_path", Value::from(c.training_image_ecr_path.clone())),
        ("snf_ef_role_arn", Value::from(c.snf_ef_role_arn.clone())),
        ("snf_ef_role_principal", Value::from(c.snf_ef_role_principal.clone())),
    ];
    for (key, v) in values {
        vars.insert(lambda::handle::env_name(key), v);
    }
    vars.insert("RECPIPE_FUNCTION".into(), Value::from(f.name()));
    json!({"Variables": vars})
}

fn function_role(c: &DeployConfig) -> Value {
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")],
            "Policies": [{
                "PolicyName": "recpipe-sagemaker",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": [
                        "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:CreateModel",
                        "sagemaker:CreateEndpointConfig", "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint",
                        "sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"
                    ], "Resource": sub("arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:*")},
                    {"Effect": "Allow", "Action": "iam:PassRole", "Resource": sagemaker_role(c), "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
                ]},
            }],
        }
    })
}

fn sagemaker_execution_role(c: &DeployConfig) -> Value {
    let bucket = c.bucket_name();
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/AmazonSageMakerFullAccess")],
            "Policies": [{
                "PolicyName": "recpipe-artifacts",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": [
                        sub(&format!("arn:${{AWS::Partition}}:s3:::{bucket}")), sub(&format!("arn:${{AWS::Partition}}:s3:::{bucket}/*"))
                    ]},
                ]},
            }],
        }
    })
}

/// The whole stack for `stage`; the code is the zip at `CodeBucket`/`CodeKey` (parameters).
pub fn template(c: &DeployConfig, stage: &str) -> Value {
    let mut resources = Map::new();
    let mut outputs = Map::new();
    resources.insert("DeploymentBucket".into(), deployment_bucket());
    resources.insert(
        "ArtifactsBucket".into(),
        json!({
            "Type": "AWS::S3::Bucket",
            // Trained models outlive the stack: `recpipe remove` keeps the bucket and its objects.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": c.bucket_name(),
                "VersioningConfiguration": {"Status": "Enabled"},
                "BucketEncryption": encryption(),
                "PublicAccessBlockConfiguration": private(),
            }
        }),
    );
    if creates_sagemaker_role(c) {
        resources.insert("SageMakerExecutionRole".into(), sagemaker_execution_role(c));
    }
    resources.insert("FunctionRole".into(), function_role(c));
    resources.insert(
        "RestApi".into(),
        json!({
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {"Name": format!("{stage}-{}", c.service_name()), "EndpointConfiguration": {"Types": ["REGIONAL"]}, "Policy": resource_policy(c)}
        }),
    );
    let mut methods = Vec::new();
    for (f, id) in functions() {
        let name = f.name();
        resources.insert(
            format!("{id}Function"),
            json!({
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": function_name(c, stage, f),
                    "Runtime": "provided.al2023",
                    "Handler": "bootstrap",
                    "Architectures": ["x86_64"],
                    "MemorySize": 256,
                    // API Gateway gives up on an integration after 29 seconds.
                    "Timeout": 29,
                    "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                    "Code": {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}},
                    "Environment": environment(c, f),
                }
            }),
        );
        resources.insert(
            format!("{id}Resource"),
            json!({"Type": "AWS::ApiGateway::Resource", "Properties": {"RestApiId": {"Ref": "RestApi"}, "ParentId": {"Fn::GetAtt": ["RestApi", "RootResourceId"]}, "PathPart": name}}),
        );
        resources.insert(
            format!("{id}Method"),
            json!({
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": {"Ref": "RestApi"},
                    "ResourceId": {"Ref": format!("{id}Resource")},
                    "HttpMethod": "POST",
                    "AuthorizationType": "AWS_IAM",
                    "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": sub(&format!("arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{id}Function.Arn}}/invocations"))},
                }
            }),
        );
        resources.insert(
            format!("{id}Permission"),
            json!({
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Fn::GetAtt": [format!("{id}Function"), "Arn"]},
                    "Principal": "apigateway.amazonaws.com",
                    "SourceArn": sub(&format!("arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{RestApi}}/*/POST/{name}")),
                }
            }),
        );
        methods.push(Value::from(format!("{id}Method")));
        outputs.insert(format!("{id}Url"), json!({"Description": format!("POST URL of {name}"), "Value": sub(&format!("https://${{RestApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage}/{name}"))}));
    }
    // Named to sort after the methods: moto creates a stack's resources in name order.
    resources.insert("WebApiDeployment".into(), json!({"Type": "AWS::ApiGateway::Deployment", "DependsOn": methods, "Properties": {"RestApiId": {"Ref": "RestApi"}, "StageName": stage}}));
    outputs.insert("ServiceEndpoint".into(), json!({"Description": "the api_allowed_prefixes of the Snowflake API integration", "Value": sub(&format!("https://${{RestApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage}/"))}));
    outputs.insert("RestApiId".into(), json!({"Value": {"Ref": "RestApi"}}));
    outputs.insert("ArtifactsBucketName".into(), json!({"Value": {"Ref": "ArtifactsBucket"}}));
    outputs.insert("DeploymentBucketName".into(), json!({"Value": {"Ref": "DeploymentBucket"}}));
    outputs.insert("SageMakerRoleArn".into(), json!({"Value": sagemaker_role(c)}));
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("recpipe {}: the external-function API, its Lambda functions and the SageMaker artifacts bucket (stage {stage})", c.service_name()),
        "Parameters": {
            "CodeBucket": {"Type": "String", "Description": "the bucket holding the functions' zip"},
            "CodeKey": {"Type": "String", "Description": "the key of the functions' zip (bootstrap for provided.al2023)"},
        },
        "Resources": resources,
        "Outputs": outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use iam::policy::{evaluate, evaluate_api_gateway, NamedPolicy, PolicyDocument, PolicyKind, RequestContext};
    use iam::{ContextKeys, Identity};

    pub fn config() -> DeployConfig {
        DeployConfig {
            unique_id: "abc123".into(),
            region: "us-east-1".into(),
            sagemaker_role_arn: String::new(),
            training_image_ecr_path: "123456789012.dkr.ecr.us-east-1.amazonaws.com/recpipe:latest".into(),
            snf_ef_role_arn: "arn:aws:iam::123456789012:role/recpipe-snowflake".into(),
            snf_ef_role_principal: "arn:aws:sts::123456789012:assumed-role/recpipe-snowflake/snowflake".into(),
        }
    }

    fn session(account: &str, role: &str, session: &str) -> Identity {
        Identity::AssumedRole {
            account: account.into(),
            role_name: role.into(),
            role_id: "AROAEXAMPLE".into(),
            role_arn: format!("arn:aws:iam::{account}:role/{role}"),
            session_name: session.into(),
            session_arn: format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
        }
    }

    /// The template's resource policy as API Gateway evaluates it, through recpipe's evaluator:
    /// only the configured principal gets in, even when another caller's own identity policy
    /// (same account, so it would suffice without the Deny) allows `execute-api:Invoke`.
    #[test]
    fn the_resource_policy_admits_only_snf_ef_role_principal() {
        let c = config();
        let api = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5";
        let text = resource_policy(&c).to_string().replace("execute-api:/", &format!("{api}/"));
        let policy = PolicyDocument::parse(&text, PolicyKind::Resource).unwrap();
        let open = PolicyDocument::parse(r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:*", "Resource": "*"}]}"#, PolicyKind::Identity).unwrap();
        let resource = format!("{api}/dev/POST/train");
        let decide = |who: &Identity| {
            let ctx = RequestContext::new(Some(who), "execute-api:Invoke", &resource, &ContextKeys::new());
            let id = evaluate(&[NamedPolicy { name: "AdministratorAccess", document: &open }], &ctx);
            let res = evaluate(&[NamedPolicy { name: "resource policy", document: &policy }], &ctx);
            evaluate_api_gateway(&id, &res, who.account() == Some("123456789012"))
        };
        assert!(decide(&session("123456789012", "recpipe-snowflake", "snowflake")).is_allowed());
        let others = [
            session("123456789012", "admin", "alice"),
            session("123456789012", "recpipe-snowflake-2", "snowflake"),
            session("999999999999", "recpipe-snowflake", "snowflake"),
            Identity::User { account: "123456789012".into(), name: "bob".into(), user_id: "AIDAB".into(), arn: "arn:aws:iam::123456789012:user/bob".into() },
        ];
        for who in &others {
            let e = decide(who);
            assert!(!e.is_allowed(), "{} was admitted: {}", who.arn(), e.reason);
        }
    }

    #[test]
    fn every_method_is_iam_authorised_and_every_function_has_a_url() {
        let t = template(&config(), "dev");
        let r = &t["Resources"];
        for (f, id) in functions() {
            assert_eq!(r[format!("{id}Method")]["Properties"]["AuthorizationType"], "AWS_IAM");
            assert_eq!(r[format!("{id}Function")]["Properties"]["FunctionName"], format!("recpipe-abc123-dev-{}", f.name()));
            assert_eq!(r[format!("{id}Function")]["Properties"]["Environment"]["Variables"]["RECPIPE_FUNCTION"], f.name());
            assert!(t["Outputs"][format!("{id}Url")]["Value"]["Fn::Sub"].as_str().unwrap().ends_with(&format!("/dev/{}", f.name())));
        }
        let b = &r["ArtifactsBucket"]["Properties"];
        assert_eq!(b["BucketName"], "sagemaker-recpipe-abc123");
        assert_eq!(b["VersioningConfiguration"]["Status"], "Enabled");
        assert_eq!(b["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"], true);
        assert!(r.get("SageMakerExecutionRole").is_some());
        let mut given = config();
        given.sagemaker_role_arn = "arn:aws:iam::123456789012:role/mine".into();
        let t = template(&given, "dev");
        assert!(t["Resources"].get("SageMakerExecutionRole").is_none());
        assert_eq!(t["Resources"]["TrainFunction"]["Properties"]["Environment"]["Variables"]["RECPIPE_SAGEMAKER_ROLE_ARN"], "arn:aws:iam::123456789012:role/mine");
    }
}
