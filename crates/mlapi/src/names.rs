//! SageMaker's name and ARN rules.

use crate::error::ApiError;

/// `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`: 1–63 characters, alphanumerics and hyphens, starting and
/// ending with an alphanumeric. `what` names the field in the error.
pub fn validate_name(what: &str, name: &str) -> Result<(), ApiError> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}"
        )))
    }
}

/// `^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`
pub fn validate_role_arn(what: &str, arn: &str) -> Result<(), ApiError> {
    let fail = || {
        Err(ApiError::validation(format!(
            "1 validation error detected: Value '{arn}' at '{what}' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^arn:aws[a-z\\-]*:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$"
        )))
    };
    let Some(rest) = arn.strip_prefix("arn:aws") else { return fail() };
    let Some((partition_tail, rest)) = rest.split_once(":iam::") else { return fail() };
    if !partition_tail.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
        return fail();
    }
    let Some((account, rest)) = rest.split_once(':') else { return fail() };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return fail();
    }
    let Some(path) = rest.strip_prefix("role") else { return fail() };
    let path = path.strip_prefix('/').unwrap_or(path);
    let ok = !path.is_empty()
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-/".contains(&b));
    if ok {
        Ok(())
    } else {
        fail()
    }
}

/// `arn:aws:sagemaker:<region>:<account>:<kind>/<name>` (SageMaker lower-cases names in ARNs).
pub fn arn(region: &str, account: &str, kind: &str, name: &str) -> String {
    format!("arn:aws:sagemaker:{region}:{account}:{kind}/{}", name.to_ascii_lowercase())
}

/// The resource name at the end of an ARN, or the input when it is not an ARN.
pub fn name_of(name_or_arn: &str) -> &str {
    if name_or_arn.starts_with("arn:") {
        name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
    } else {
        name_or_arn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "job-1", "A1--b2", &"x".repeat(63)] {
            assert!(validate_name("TrainingJobName", ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a_b", "a b", &"x".repeat(64), "ünï"] {
            let e = validate_name("TrainingJobName", bad).unwrap_err();
            assert!(e.message.contains("TrainingJobName"), "{bad}: {e}");
        }
    }

    #[test]
    fn role_arns() {
        assert!(validate_role_arn("RoleArn", "arn:aws:iam::123456789012:role/sm-exec").is_ok());
        assert!(validate_role_arn("RoleArn", "arn:aws-cn:iam::123456789012:role/path/x").is_ok());
        for bad in ["arn:aws:iam::12345:role/x", "arn:aws:iam::123456789012:user/x", "role/x", "arn:aws:iam::123456789012:role/"] {
            assert!(validate_role_arn("RoleArn", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arns() {
        assert_eq!(arn("us-east-1", "123456789012", "training-job", "Job-1"), "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1");
        assert_eq!(name_of("arn:aws:sagemaker:us-east-1:1:endpoint/e"), "e");
        assert_eq!(name_of("e"), "e");
    }
}
