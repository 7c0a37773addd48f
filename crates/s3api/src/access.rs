//! Authorisation of every S3 operation: the one table from operation to IAM action and resource,
//! asked of recpipe's policy evaluator for the verified caller. Default deny: an operation not in
//! the table is refused before it runs.

use std::sync::Arc;

use awsapi::{authorize, Caller};
use iam::IamError;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::dto::DeleteObjectsInput;
use s3s::path::S3Path;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Result};

/// What an operation needs: the IAM action and whether it acts on the bucket or on the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum On {
    /// `arn:aws:s3:::*` (the account's bucket list).
    Account,
    /// `arn:aws:s3:::<bucket>`.
    Bucket,
    /// `arn:aws:s3:::<bucket>/<key>`.
    Object,
    /// Each object the request names (`DeleteObjects`), checked by [`Authorize::delete_objects`].
    EachObject,
}

/// The operations recpipe's S3 API serves and the permission each needs (as S3 documents them).
pub(crate) fn permission(op: &str) -> Option<(&'static str, On)> {
    Some(match op {
        "ListBuckets" => ("s3:ListAllMyBuckets", On::Account),
        "CreateBucket" => ("s3:CreateBucket", On::Bucket),
        "HeadBucket" | "ListObjects" | "ListObjectsV2" => ("s3:ListBucket", On::Bucket),
        "GetBucketLocation" => ("s3:GetBucketLocation", On::Bucket),
        "HeadObject" | "GetObject" => ("s3:GetObject", On::Object),
        "PutObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" => ("s3:PutObject", On::Object),
        "AbortMultipartUpload" => ("s3:AbortMultipartUpload", On::Object),
        "ListParts" => ("s3:ListMultipartUploadParts", On::Object),
        "DeleteObject" => ("s3:DeleteObject", On::Object),
        "DeleteObjects" => ("s3:DeleteObject", On::EachObject),
        _ => return None,
    })
}

pub(crate) fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

pub(crate) fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// The verified caller `serve` put into the request.
fn caller(ext: &axum::http::Extensions) -> S3Result<Arc<Caller>> {
    ext.get::<Arc<Caller>>().cloned().ok_or_else(|| s3_error!(AccessDenied, "the request carries no verified caller"))
}

/// IAM's refusal as S3's `AccessDenied` (it names the caller, action and resource).
fn denied(e: IamError) -> S3Error {
    match e {
        IamError::AccessDenied(m) => S3Error::with_message(S3ErrorCode::AccessDenied, m),
        other => {
            eprintln!("{}", serde_json::json!({"event": "s3_authorize_failed", "reason": other.to_string()}));
            S3Error::with_message(S3ErrorCode::InternalError, "We encountered an internal error. Please try again.")
        }
    }
}

/// The access check of every operation `s3s` resolves.
pub(crate) struct Authorize;

#[async_trait::async_trait]
impl S3Access for Authorize {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let op = cx.s3_op().name().to_string();
        let Some((action, on)) = permission(&op) else {
            return Err(S3Error::with_message(S3ErrorCode::NotImplemented, format!("recpipe's S3 API does not implement {op}")));
        };
        let resource = match (on, cx.s3_path()) {
            (On::Account, _) => "arn:aws:s3:::*".to_string(),
            (On::Bucket | On::EachObject, S3Path::Bucket { bucket } | S3Path::Object { bucket, .. }) => bucket_arn(bucket),
            (On::Object, S3Path::Object { bucket, key }) => object_arn(bucket, key),
            (_, path) => return Err(s3_error!(InvalidRequest, "{op} does not apply to {path:?}")),
        };
        let who = caller(cx.extensions_mut())?;
        if on == On::EachObject {
            // Each key is checked once the request's list of keys is parsed.
            return Ok(());
        }
        authorize(&who, action, &resource).map_err(denied)
    }

    async fn delete_objects(&self, req: &mut S3Request<DeleteObjectsInput>) -> S3Result<()> {
        let who = caller(&req.extensions)?;
        for o in &req.input.delete.objects {
            authorize(&who, "s3:DeleteObject", &object_arn(&req.input.bucket, &o.key)).map_err(denied)?;
        }
        Ok(())
    }
}

/// The authentication provider `s3s` asks for a secret when a request still carries a signature:
/// none is ever given out (recpipe verified the request and removed its signature).
pub(crate) struct NoSecrets;

#[async_trait::async_trait]
impl S3Auth for NoSecrets {
    async fn get_secret_key(&self, _access_key: &str) -> S3Result<SecretKey> {
        Err(s3_error!(AccessDenied, "the request carries a second signature; sign it once with SigV4"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_operation_names_its_iam_action() {
        assert_eq!(permission("GetObject"), Some(("s3:GetObject", On::Object)));
        assert_eq!(permission("ListObjectsV2"), Some(("s3:ListBucket", On::Bucket)));
        assert_eq!(permission("UploadPart"), Some(("s3:PutObject", On::Object)));
        assert_eq!(permission("ListBuckets"), Some(("s3:ListAllMyBuckets", On::Account)));
        for unserved in ["CopyObject", "PutBucketPolicy", "DeleteBucket", "GetObjectAcl", "SelectObjectContent"] {
            assert_eq!(permission(unserved), None, "{unserved}");
        }
    }
}
