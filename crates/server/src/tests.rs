//! The composed router driven with `oneshot`: no socket, the real parts behind it.

use axum::body::{to_bytes, Body};
use axum::http::Request;
use iam::{AccessKey, HttpRequest, Payload};
use tower::ServiceExt;

use crate::{app, open_with, Server};

pub(crate) async fn server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), "http://127.0.0.1:1", gateway::AccessLog::custom(|_| {})).await.unwrap();
    (dir, s)
}

/// `POST /` with `headers` and `body`, SigV4-signed for `service` with `key` when given.
pub(crate) fn post_root(s: &Server, key: Option<&AccessKey>, service: &str, headers: &[(&str, &str)], body: &str) -> Request<Body> {
    let mut req = HttpRequest {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: std::iter::once(("host".to_string(), "127.0.0.1:1".to_string())).chain(headers.iter().map(|(k, v)| (k.to_string(), v.to_string()))).collect(),
        payload: Payload::Bytes(body.as_bytes().to_vec()),
    };
    if let Some(k) = key {
        iam::sigv4::sign_request(&mut req, &k.access_key_id, &k.secret_access_key, None, s.iam.region(), service, s.iam.now()).unwrap();
    }
    let mut b = Request::post("/");
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(body.to_string())).unwrap()
}

pub(crate) async fn send(s: &Server, req: Request<Body>) -> (u16, String) {
    let resp = app(s).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    (status, String::from_utf8_lossy(&to_bytes(resp.into_body(), 1 << 20).await.unwrap()).into_owned())
}

const JSON11: (&str, &str) = ("content-type", "application/x-amz-json-1.1");

#[tokio::test]
async fn root_post_dispatches_by_target_and_form() {
    let (_dir, s) = server().await;
    let admin = s.iam.ensure_admin_user().unwrap();

    let list = post_root(&s, Some(&admin), "sagemaker", &[JSON11, ("x-amz-target", "SageMaker.ListTrainingJobs")], "{}");
    let (status, body) = send(&s, list).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"TrainingJobSummaries\":[]"), "{body}");

    let unsigned = post_root(&s, None, "sagemaker", &[JSON11, ("x-amz-target", "SageMaker.ListTrainingJobs")], "{}");
    let (status, body) = send(&s, unsigned).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("\"__type\""), "{body}");

    let other = post_root(&s, Some(&admin), "dynamodb", &[JSON11, ("x-amz-target", "DynamoDB_20120810.ListTables")], "{}");
    let (status, body) = send(&s, other).await;
    assert_eq!(status, 400);
    assert!(body.contains("UnknownOperationException") && body.contains("DynamoDB_20120810.ListTables"), "{body}");

    let form = [("content-type", "application/x-www-form-urlencoded")];
    let roles = post_root(&s, Some(&admin), "iam", &form, "Action=ListRoles&Version=2010-05-08");
    let (status, body) = send(&s, roles).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<ListRolesResponse"), "{body}");

    let (status, body) = send(&s, post_root(&s, Some(&admin), "iam", &[], "hello")).await;
    assert_eq!(status, 400);
    assert!(body.contains("Action="), "{body}");
    s.mlplane.shutdown().await;
}

/// A signed request to `path` for `service` by `key`.
fn signed(s: &Server, key: &AccessKey, service: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Request<Body> {
    awsapi::signed_request("POST", path, headers, body.as_bytes(), key, s.iam.region(), service, s.iam.now()).unwrap()
}

#[tokio::test]
async fn a_caller_without_policies_is_refused_by_every_aws_api() {
    let (_dir, s) = server().await;
    s.iam.create_user("nobody").unwrap();
    let nobody = s.iam.create_access_key("nobody").unwrap();
    let me = format!("User: arn:aws:iam::{}:user/nobody is not authorized to perform: ", s.iam.account_id());

    let list = signed(&s, &nobody, "sagemaker", "/", &[JSON11, ("x-amz-target", "SageMaker.ListTrainingJobs")], "{}");
    let (status, body) = send(&s, list).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("AccessDeniedException") && body.contains(&format!("{me}sagemaker:ListTrainingJobs on resource: *")), "{body}");

    let invoke = signed(&s, &nobody, "sagemaker", "/endpoints/movielens-ep/invocations", &[("content-type", "text/csv")], "1,10\n");
    let (_, body) = send(&s, invoke).await;
    assert!(body.contains(&format!("{me}sagemaker:InvokeEndpoint on resource: arn:aws:sagemaker:us-east-1:{}:endpoint/movielens-ep", s.iam.account_id())), "{body}");

    let deploy = signed(&s, &nobody, "apigateway", "/_recpipe/deploy", &[("content-type", "application/json")], r#"{"config_yaml": "", "stage": "dev"}"#);
    let (status, body) = send(&s, deploy).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains(&format!("{me}apigateway:POST on resource: arn:aws:apigateway:us-east-1::/restapis/*")), "{body}");

    let roles = signed(&s, &nobody, "iam", "/", &[("content-type", "application/x-www-form-urlencoded")], "Action=ListRoles&Version=2010-05-08");
    let (status, body) = send(&s, roles).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>") && body.contains(&format!("{me}iam:ListRoles")), "{body}");

    // The same calls signed for the wrong service never reach authorisation.
    let wrong = signed(&s, &nobody, "iam", "/endpoints/movielens-ep/invocations", &[("content-type", "text/csv")], "1,10\n");
    let (status, body) = send(&s, wrong).await;
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("not authorized"), "{body}");
    s.mlplane.shutdown().await;
}

/// An S3-signed request for `method path`.
fn s3_request(s: &Server, key: &AccessKey, method: &str, path: &str, body: &[u8]) -> Request<Body> {
    let mut req = HttpRequest { method: method.into(), path: path.into(), query: String::new(), headers: vec![("host".into(), "127.0.0.1:1".into())], payload: Payload::Bytes(body.to_vec()) };
    iam::sigv4::s3::sign_s3_request(&mut req, &key.access_key_id, &key.secret_access_key, None, s.iam.region(), s.iam.now()).unwrap();
    let mut b = Request::builder().method(method).uri(path).header("content-length", body.len());
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(body.to_vec())).unwrap()
}

#[tokio::test]
async fn requests_signed_for_s3_reach_the_s3_api_on_any_path_and_nothing_else_does() {
    let (dir, s) = server().await;
    let admin = s.iam.ensure_admin_user().unwrap();
    // Paths the other parts also serve: a gateway stage route, the SQL API, the console.
    for (path, stored) in [("/abc123/dev/train", "buckets/abc123/dev/train"), ("/api/v2/statements", "buckets/api/v2/statements")] {
        std::fs::create_dir_all(dir.path().join(stored).parent().unwrap().parent().unwrap()).unwrap();
        let (status, body) = send(&s, s3_request(&s, &admin, "PUT", path, b"object")).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(std::fs::read(dir.path().join(stored)).unwrap(), b"object");
    }
    let (status, body) = send(&s, s3_request(&s, &admin, "GET", "/", b"")).await;
    assert!(status == 200 && body.contains("<Name>abc123</Name>") && body.contains("<Name>api</Name>"), "{body}");
    // The same paths signed for other services, or not at all, are not S3's.
    let (status, body) = send(&s, signed(&s, &admin, "execute-api", "/abc123/dev/train", &[], "{\"data\": []}")).await;
    assert!(status != 200 && !body.contains("<Error>"), "{status} {body}");
    let (status, body) = send(&s, Request::get("/console/").body(Body::empty()).unwrap()).await;
    assert!(status < 500 && !body.contains("<Error><Code>"), "{status} {body}");
    s.mlplane.shutdown().await;
}
