//! Bucket names and object keys, parsed before anything touches the store: a key is a
//! `/`-separated path of non-empty segments, none `.` or `..`, none reserved for recpipe's own
//! temporary objects, so that `buckets/<bucket>/<key>` never leaves its bucket.

use mlplane::objects::{valid_bucket_name, PARTIAL_MARK};
use mlplane::S3Url;

use crate::error::S3ApiError;

/// `bucket` checked as S3 names buckets.
pub(crate) fn bucket(name: &str) -> Result<&str, S3ApiError> {
    if valid_bucket_name(name) {
        Ok(name)
    } else {
        Err(S3ApiError::InvalidBucketName(name.to_string()))
    }
}

/// The object `key` of `bucket`, as the store's URL.
pub(crate) fn object(bucket_name: &str, key: &str) -> Result<S3Url, S3ApiError> {
    bucket(bucket_name)?;
    let why = if key.is_empty() {
        Some("it is empty")
    } else if key.ends_with('/') || key.starts_with('/') || key.contains("//") {
        Some("it has an empty path segment (a leading, trailing or doubled '/')")
    } else if key.split('/').any(|s| s == "." || s == "..") {
        Some("'.' and '..' segments are not allowed")
    } else if key.contains(PARTIAL_MARK) || key.starts_with(".recpipe-multipart") {
        Some("it uses a name recpipe reserves for unfinished uploads")
    } else if key.contains('\\') || key.chars().any(char::is_control) {
        Some("backslashes and control characters are not allowed")
    } else {
        None
    };
    if let Some(why) = why {
        return Err(S3ApiError::InvalidKey { key: key.to_string(), why });
    }
    Ok(S3Url { bucket: bucket_name.to_string(), key: key.to_string() })
}

/// A key prefix for listing (may be empty and may end with `/`), confined like a key.
pub(crate) fn prefix(bucket_name: &str, prefix: &str) -> Result<S3Url, S3ApiError> {
    bucket(bucket_name)?;
    if prefix.split('/').any(|s| s == "." || s == "..") || prefix.starts_with('/') || prefix.contains('\\') {
        return Err(S3ApiError::InvalidKey { key: prefix.to_string(), why: "a prefix may not leave the bucket" });
    }
    Ok(S3Url { bucket: bucket_name.to_string(), key: prefix.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_their_bucket() {
        assert_eq!(object("models", "a/b/model.tar.gz").unwrap().key, "a/b/model.tar.gz");
        for bad in ["", "../x", "a/../../etc/passwd", "a//b", "a/", "/a", "./a", "a\\b", "x.recpipe-partial-1", "a\nb"] {
            assert!(matches!(object("models", bad), Err(S3ApiError::InvalidKey { .. })), "{bad:?}");
        }
        for bad in ["..", "Models", "a", "-ab", "a..b", ".multipart"] {
            assert!(matches!(object(bad, "k"), Err(S3ApiError::InvalidBucketName(_))), "{bad:?}");
        }
        assert!(prefix("models", "").is_ok() && prefix("models", "out/").is_ok());
        assert!(prefix("models", "../").is_err());
    }
}
