//! The few S3 calls a deploy needs, path-style: put an object (the functions' zip), list a
//! prefix and delete what it lists (emptying the deployment bucket before the stack goes).

use bytes::Bytes;
use iam::sigv4::{sha256_hex, uri_encode};

use crate::client::Service;
use crate::config::{AwsConfig, ServiceId};
use crate::error::AwsError;

#[derive(Clone)]
pub struct S3 {
    svc: Service,
}

/// `/bucket/key` with each key segment percent-encoded once (S3 does not double-encode; keys
/// recpipe writes are plain, so the signer's second pass leaves them unchanged).
fn object_path(bucket: &str, key: &str) -> String {
    let key: Vec<String> = key.split('/').map(|s| uri_encode(s.as_bytes(), false)).collect();
    format!("/{bucket}/{}", key.join("/"))
}

/// The text of every `<tag>…</tag>` in `xml`, entities undone.
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let Some(j) = rest.find(&close) else { break };
        out.push(rest[..j].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&"));
        rest = &rest[j + close.len()..];
    }
    out
}

impl S3 {
    pub fn new(config: &AwsConfig) -> Result<S3, AwsError> {
        Ok(S3 { svc: Service::new(config, ServiceId::S3)? })
    }

    async fn exchange(&self, operation: &str, method: &str, path: &str, query: &str, extra: Vec<(String, String)>, body: Bytes) -> Result<Bytes, AwsError> {
        let mut headers = vec![("x-amz-content-sha256".to_string(), sha256_hex(&body))];
        headers.extend(extra);
        let a = self.svc.send(operation, method, path, query, headers, body).await?;
        if !(200..300).contains(&a.status) {
            let text = String::from_utf8_lossy(&a.body);
            let code = texts(&text, "Code").into_iter().next().unwrap_or_else(|| format!("HTTP{}", a.status));
            let message = texts(&text, "Message").into_iter().next().unwrap_or_default();
            return Err(AwsError::Service { operation: operation.to_string(), status: a.status, code, message });
        }
        Ok(a.body)
    }

    pub async fn put_object(&self, bucket: &str, key: &str, content_type: &str, body: Bytes) -> Result<(), AwsError> {
        self.exchange("PutObject", "PUT", &object_path(bucket, key), "", vec![("Content-Type".into(), content_type.into())], body).await.map(drop)
    }

    /// Every key under `prefix` (all pages).
    pub async fn list_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, AwsError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = format!("list-type=2&prefix={}", uri_encode(prefix.as_bytes(), false));
            if let Some(t) = &token {
                query = format!("continuation-token={}&{query}", uri_encode(t.as_bytes(), false));
            }
            let body = self.exchange("ListObjectsV2", "GET", &format!("/{bucket}"), &query, Vec::new(), Bytes::new()).await?;
            let text = String::from_utf8_lossy(&body);
            keys.extend(texts(&text, "Key"));
            token = texts(&text, "NextContinuationToken").into_iter().next();
            if token.is_none() {
                return Ok(keys);
            }
        }
    }

    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), AwsError> {
        self.exchange("DeleteObject", "DELETE", &object_path(bucket, key), "", Vec::new(), Bytes::new()).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_keys_are_read_from_the_xml() {
        let xml = "<ListBucketResult><Contents><Key>a/b.zip</Key></Contents><Contents><Key>c&amp;d</Key></Contents><NextContinuationToken>t1</NextContinuationToken></ListBucketResult>";
        assert_eq!(texts(xml, "Key"), ["a/b.zip", "c&d"]);
        assert_eq!(texts(xml, "NextContinuationToken"), ["t1"]);
        assert_eq!(object_path("b", "recpipe/x y/bootstrap.zip"), "/b/recpipe/x%20y/bootstrap.zip");
    }
}
