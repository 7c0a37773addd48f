//! AWS managed policies recpipe ships as built-in documents.

pub const ADMINISTRATOR_ACCESS_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
pub const SAGEMAKER_FULL_ACCESS_ARN: &str = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess";
pub const SSM_READ_ONLY_ACCESS_ARN: &str = "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess";

const ADMINISTRATOR_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

const SAGEMAKER_FULL_ACCESS: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Sid":"SageMaker","Effect":"Allow","Action":["sagemaker:*"],"Resource":"*"},
 {"Sid":"ListBuckets","Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":"*"},
 {"Sid":"ModelBuckets","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:AbortMultipartUpload","s3:ListBucket","s3:CreateBucket","s3:GetBucketLocation"],
  "Resource":["arn:aws:s3:::*SageMaker*","arn:aws:s3:::*Sagemaker*","arn:aws:s3:::*sagemaker*","arn:aws:s3:::*SageMaker*/*","arn:aws:s3:::*Sagemaker*/*","arn:aws:s3:::*sagemaker*/*"]},
 {"Sid":"Images","Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"],"Resource":"*"},
 {"Sid":"Logs","Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents","logs:DescribeLogStreams","logs:GetLogEvents","cloudwatch:PutMetricData"],"Resource":"*"},
 {"Sid":"PassRoleToSageMaker","Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::*:role/*",
  "Condition":{"StringEquals":{"iam:PassedToService":"sagemaker.amazonaws.com"}}}
]}"#;

const SSM_READ_ONLY_ACCESS: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["ssm:Describe*","ssm:Get*","ssm:List*"],"Resource":"*"}
]}"#;

/// The document of a built-in managed policy, or `None` if recpipe does not know the ARN.
pub(crate) fn managed_policy(arn: &str) -> Option<&'static str> {
    match arn {
        ADMINISTRATOR_ACCESS_ARN => Some(ADMINISTRATOR_ACCESS),
        SAGEMAKER_FULL_ACCESS_ARN => Some(SAGEMAKER_FULL_ACCESS),
        SSM_READ_ONLY_ACCESS_ARN => Some(SSM_READ_ONLY_ACCESS),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicyDocument, PolicyKind};

    #[test]
    fn built_in_documents_parse() {
        for arn in [
            ADMINISTRATOR_ACCESS_ARN,
            SAGEMAKER_FULL_ACCESS_ARN,
            SSM_READ_ONLY_ACCESS_ARN,
        ] {
            let doc = managed_policy(arn).unwrap();
            PolicyDocument::parse(doc, PolicyKind::Identity)
                .unwrap_or_else(|e| panic!("{arn}: {e}"));
        }
        assert!(managed_policy("arn:aws:iam::aws:policy/Nope").is_none());
    }
}
