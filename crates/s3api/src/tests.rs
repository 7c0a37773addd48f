//! The S3 API through a real router, IAM store and local object store, with requests signed as
//! the SDKs sign them (the boto3 and AWS CLI tests are the CLI crate's).

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::Request;
use axum::Router;
use iam::sigv4::s3::{sign_s3_request, ChunkSigner, STREAMING_SIGNED, UNSIGNED_PAYLOAD};
use iam::{AccessKey, HttpRequest, Iam, Payload};
use mlplane::Objects;
use tower::ServiceExt;

use crate::S3Api;

struct Fixture {
    dir: tempfile::TempDir,
    iam: Arc<Iam>,
    app: Router,
    admin: AccessKey,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let iam = Arc::new(Iam::open(dir.path().join("state.db")).unwrap());
    let admin = iam.ensure_admin_user().unwrap();
    let objects = Arc::new(Objects::local(&dir.path().join("buckets")).unwrap());
    let api = S3Api::new(iam.clone(), objects);
    let others = Router::new().fallback(|| async { "not S3" });
    let app = Router::new().fallback_service(others).layer(axum::middleware::from_fn_with_state(api, crate::route));
    Fixture { dir, iam, app, admin }
}

impl Fixture {
    fn request(&self, key: &AccessKey, method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Request<Body> {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let mut req = HttpRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: std::iter::once(("host".to_string(), "127.0.0.1:4747".to_string())).chain(headers.iter().map(|(k, v)| (k.to_string(), v.to_string()))).collect(),
            payload: Payload::Bytes(body.to_vec()),
        };
        sign_s3_request(&mut req, &key.access_key_id, &key.secret_access_key, None, self.iam.region(), self.iam.now()).unwrap();
        let mut b = Request::builder().method(method).uri(uri).header("content-length", body.len());
        for (k, v) in &req.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Body::from(body.to_vec())).unwrap()
    }

    async fn send(&self, req: Request<Body>) -> (u16, String) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        (status, String::from_utf8_lossy(&to_bytes(resp.into_body(), 1 << 24).await.unwrap()).into_owned())
    }

    async fn call(&self, key: &AccessKey, method: &str, uri: &str, body: &[u8]) -> (u16, String) {
        self.send(self.request(key, method, uri, &[], body)).await
    }

    fn user(&self, name: &str, policy: Option<&str>) -> AccessKey {
        self.iam.create_user(name).unwrap();
        if let Some(p) = policy {
            self.iam.put_user_policy(name, "p", p).unwrap();
        }
        self.iam.create_access_key(name).unwrap()
    }
}

#[tokio::test]
async fn objects_go_in_list_and_come_back_whole_or_by_range() {
    let f = fixture();
    let a = &f.admin;
    assert_eq!(f.call(a, "PUT", "/models", b"").await.0, 200);
    assert_eq!(f.call(a, "PUT", "/models", b"").await.0, 409, "creating it twice");
    for key in ["out/a.csv", "out/deep/b.csv", "top.txt", "with%20space.txt"] {
        let (status, body) = f.call(a, "PUT", &format!("/models/{key}"), b"0123456789").await;
        assert_eq!(status, 200, "{key}: {body}");
    }
    assert_eq!(std::fs::read(f.dir.path().join("buckets/models/with space.txt")).unwrap(), b"0123456789");
    let (status, body) = f.call(a, "GET", "/", b"").await;
    assert!(status == 200 && body.contains("<Name>models</Name>"), "{body}");
    let (_, body) = f.call(a, "GET", "/models?list-type=2&prefix=out%2F&delimiter=%2F", b"").await;
    assert!(body.contains("<Key>out/a.csv</Key>") && body.contains("<Prefix>out/deep/</Prefix>") && !body.contains("<Key>out/deep/b.csv</Key>"), "{body}");
    // Pages of one key, each pointing at the next.
    let (_, page1) = f.call(a, "GET", "/models?list-type=2&max-keys=1", b"").await;
    assert!(page1.contains("<IsTruncated>true</IsTruncated>") && page1.contains("<Key>out/a.csv</Key>"), "{page1}");
    let token = page1.split("<NextContinuationToken>").nth(1).unwrap().split('<').next().unwrap().to_string();
    let (_, page2) = f.call(a, "GET", &format!("/models?list-type=2&max-keys=1&continuation-token={token}"), b"").await;
    assert!(page2.contains("<Key>out/deep/b.csv</Key>") && !page2.contains("out/a.csv"), "{page2}");

    let (status, body) = f.send(f.request(a, "GET", "/models/top.txt", &[("range", "bytes=2-4")], b"")).await;
    assert_eq!((status, body.as_str()), (206, "234"));
    let (status, body) = f.call(a, "GET", "/models/top.txt", b"").await;
    assert_eq!((status, body.as_str()), (200, "0123456789"));
    assert_eq!(f.call(a, "HEAD", "/models/top.txt", b"").await.0, 200);
    assert_eq!(f.call(a, "DELETE", "/models/top.txt", b"").await.0, 204);
    let (status, body) = f.call(a, "GET", "/models/top.txt", b"").await;
    assert!(status == 404 && body.contains("NoSuchKey"), "{body}");
    let (status, body) = f.call(a, "GET", "/nobucket/x", b"").await;
    assert!(status == 404 && body.contains("NoSuchBucket"), "{body}");
}

#[tokio::test]
async fn keys_cannot_leave_the_bucket_and_unsigned_requests_are_not_s3s() {
    let f = fixture();
    f.call(&f.admin, "PUT", "/models", b"").await;
    std::fs::write(f.dir.path().join("secret.txt"), b"outside").unwrap();
    for key in ["..%2Fsecret.txt", "a%2F..%2F..%2Fsecret.txt", "a%2F%2Fb"] {
        let (status, body) = f.call(&f.admin, "PUT", &format!("/models/{key}"), b"x").await;
        assert!(status == 400, "{key}: {status} {body}");
        let (status, _) = f.call(&f.admin, "GET", &format!("/models/{key}"), b"").await;
        assert!(status == 400, "{key}: {status}");
    }
    assert_eq!(std::fs::read(f.dir.path().join("secret.txt")).unwrap(), b"outside");
    let plain = Request::get("/models/x").header("host", "127.0.0.1").body(Body::empty()).unwrap();
    assert_eq!(f.send(plain).await, (200, "not S3".to_string()));
}

#[tokio::test]
async fn a_caller_without_s3_permissions_is_refused_naming_action_and_resource() {
    let f = fixture();
    f.call(&f.admin, "PUT", "/models", b"").await;
    f.call(&f.admin, "PUT", "/models/k", b"v").await;
    let nobody = f.user("nobody", None);
    let arn = format!("arn:aws:iam::{}:user/nobody", f.iam.account_id());
    for (method, uri, action, resource) in [
        ("GET", "/", "s3:ListAllMyBuckets", "arn:aws:s3:::*"),
        ("GET", "/models?list-type=2", "s3:ListBucket", "arn:aws:s3:::models"),
        ("GET", "/models/k", "s3:GetObject", "arn:aws:s3:::models/k"),
        ("PUT", "/models/k", "s3:PutObject", "arn:aws:s3:::models/k"),
        ("DELETE", "/models/k", "s3:DeleteObject", "arn:aws:s3:::models/k"),
        ("POST", "/models/k?uploads", "s3:PutObject", "arn:aws:s3:::models/k"),
    ] {
        let (status, body) = f.call(&nobody, method, uri, b"w").await;
        assert_eq!(status, 403, "{method} {uri}: {body}");
        assert!(body.contains("<Code>AccessDenied</Code>") && body.contains(&format!("User: {arn} is not authorized to perform: {action} on resource: {resource}")), "{body}");
    }
    assert_eq!(std::fs::read(f.dir.path().join("buckets/models/k")).unwrap(), b"v");
    // A policy scoped to one prefix admits reading there and nowhere else.
    let reader = f.user("reader", Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::models/public/*"}]}"#));
    f.call(&f.admin, "PUT", "/models/public/p", b"open").await;
    assert_eq!(f.call(&reader, "GET", "/models/public/p", b"").await, (200, "open".to_string()));
    assert_eq!(f.call(&reader, "GET", "/models/k", b"").await.0, 403);
}

#[tokio::test]
async fn a_body_that_does_not_match_its_signed_hash_replaces_nothing() {
    let f = fixture();
    f.call(&f.admin, "PUT", "/models", b"").await;
    f.call(&f.admin, "PUT", "/models/k", b"original").await;
    let signed = f.request(&f.admin, "PUT", "/models/k", &[], b"replacement");
    let (parts, _) = signed.into_parts();
    let (status, body) = f.send(Request::from_parts(parts, Body::from("tampered!!!"))).await;
    assert!(status == 400 && body.contains("XAmzContentSHA256Mismatch"), "{status} {body}");
    assert_eq!(f.call(&f.admin, "GET", "/models/k", b"").await.1, "original");
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path().join("buckets/models")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["k"]);
    // Unsigned payloads are accepted as signed.
    let (status, _) = f.send(f.request(&f.admin, "PUT", "/models/u", &[("x-amz-content-sha256", UNSIGNED_PAYLOAD)], b"unsigned")).await;
    assert_eq!(status, 200);
    assert_eq!(f.call(&f.admin, "GET", "/models/u", b"").await.1, "unsigned");
}

#[tokio::test]
async fn chunk_signed_uploads_are_decoded_and_each_chunk_verified() {
    let f = fixture();
    f.call(&f.admin, "PUT", "/models", b"").await;
    let data: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let build = |tamper: bool| {
        let mut req = HttpRequest {
            method: "PUT".into(),
            path: "/models/streamed.bin".into(),
            query: String::new(),
            headers: vec![
                ("host".into(), "127.0.0.1:4747".into()),
                ("x-amz-content-sha256".into(), STREAMING_SIGNED.into()),
                ("content-encoding".into(), "aws-chunked".into()),
                ("x-amz-decoded-content-length".into(), data.len().to_string()),
            ],
            payload: Payload::Hash(String::new()),
        };
        let signed = sign_s3_request(&mut req, &f.admin.access_key_id, &f.admin.secret_access_key, None, f.iam.region(), f.iam.now()).unwrap();
        let amz_date = req.header("x-amz-date").unwrap().to_string();
        let mut signer = ChunkSigner::new(&f.admin.secret_access_key, f.iam.region(), &amz_date, &signed.signature);
        let mut wire = Vec::new();
        for chunk in data.chunks(65_536).chain(std::iter::once(&[][..])) {
            let sig = signer.sign(chunk);
            wire.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", chunk.len()).as_bytes());
            wire.extend_from_slice(if tamper && !chunk.is_empty() { b"x" } else { chunk });
            if tamper && !chunk.is_empty() {
                wire.extend_from_slice(&chunk[1..]);
            }
            wire.extend_from_slice(b"\r\n");
        }
        let mut b = Request::put("/models/streamed.bin").header("content-length", wire.len().to_string());
        for (k, v) in &req.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Body::from(wire)).unwrap()
    };
    let (status, body) = f.send(build(false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(std::fs::read(f.dir.path().join("buckets/models/streamed.bin")).unwrap(), data);
    std::fs::remove_file(f.dir.path().join("buckets/models/streamed.bin")).unwrap();
    let (status, body) = f.send(build(true)).await;
    assert!(status == 403 && body.contains("SignatureDoesNotMatch"), "{status} {body}");
    assert!(!f.dir.path().join("buckets/models/streamed.bin").exists());
}

#[tokio::test]
async fn multipart_uploads_assemble_their_parts_in_order() {
    let f = fixture();
    let a = &f.admin;
    f.call(a, "PUT", "/models", b"").await;
    let (_, created) = f.call(a, "POST", "/models/big.bin?uploads", b"").await;
    let id = created.split("<UploadId>").nth(1).unwrap().split('<').next().unwrap().to_string();
    let part1 = vec![b'a'; 5 << 20];
    let mut etags = Vec::new();
    for (n, data) in [(1, part1.as_slice()), (2, b"tail".as_slice())] {
        let resp = f.app.clone().oneshot(f.request(a, "PUT", &format!("/models/big.bin?partNumber={n}&uploadId={id}"), &[], data)).await.unwrap();
        assert_eq!(resp.status(), 200);
        etags.push(resp.headers()["etag"].to_str().unwrap().to_string());
    }
    let wrong = format!("<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>{}</ETag></Part><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>", etags[1], etags[0]);
    let (_, body) = f.call(a, "POST", &format!("/models/big.bin?uploadId={id}"), wrong.as_bytes()).await;
    assert!(body.contains("InvalidPart"), "{body}");
    let doc = format!("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>", etags[0], etags[1]);
    let (status, body) = f.call(a, "POST", &format!("/models/big.bin?uploadId={id}"), doc.as_bytes()).await;
    assert!(status == 200 && body.contains("<Key>big.bin</Key>"), "{body}");
    let stored = std::fs::read(f.dir.path().join("buckets/models/big.bin")).unwrap();
    assert_eq!((stored.len(), &stored[stored.len() - 4..]), ((5 << 20) + 4, b"tail".as_slice()));
    assert!(!f.dir.path().join(format!("buckets/.multipart/{id}")).exists());
    // The upload is gone; so is an aborted one's.
    let (_, body) = f.call(a, "PUT", &format!("/models/big.bin?partNumber=1&uploadId={id}"), b"x").await;
    assert!(body.contains("NoSuchUpload"), "{body}");
    let (_, created) = f.call(a, "POST", "/models/other.bin?uploads", b"").await;
    let id = created.split("<UploadId>").nth(1).unwrap().split('<').next().unwrap().to_string();
    f.call(a, "PUT", &format!("/models/other.bin?partNumber=1&uploadId={id}"), b"x").await;
    assert_eq!(f.call(a, "DELETE", &format!("/models/other.bin?uploadId={id}"), b"").await.0, 204);
    assert!(!f.dir.path().join("buckets/models/other.bin").exists());
    let (_, listed) = f.call(a, "GET", "/", b"").await;
    assert!(!listed.contains("multipart"), "{listed}");
}
