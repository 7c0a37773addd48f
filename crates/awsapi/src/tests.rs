//! The extractor and `authorize` against a real IAM store, through a real axum router.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::Request;
use axum::routing::post;
use axum::Router;
use iam::{AccessKey, Iam, IamError};
use tower::ServiceExt;

use crate::{authorize, pass_role, signed_request, Authenticated, SageMaker};

const ALLOW_LIST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:ListTrainingJobs","Resource":"*"}]}"#;
const SCOPED: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:*:*:endpoint/movielens-*"},
 {"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::*:role/sm-*","Condition":{"StringEquals":{"iam:PassedToService":"sagemaker.amazonaws.com"}}}]}"#;

/// Answers `who action resource` when allowed, the refusal otherwise.
async fn act(Authenticated { caller, body, .. }: Authenticated<SageMaker>) -> String {
    let text = String::from_utf8_lossy(&body).into_owned();
    let (action, resource) = text.split_once(' ').unwrap_or((&text, "*"));
    let r = if action == "iam:PassRole" { pass_role(&caller, resource, "sagemaker.amazonaws.com") } else { authorize(&caller, action, resource) };
    match r {
        Ok(()) => format!("allowed {}", caller.arn()),
        Err(IamError::AccessDenied(m)) => m,
        Err(e) => format!("failed: {e}"),
    }
}

fn setup() -> (tempfile::TempDir, Arc<Iam>, Router) {
    let dir = tempfile::tempdir().unwrap();
    let iam = Arc::new(Iam::open(dir.path().join("state.db")).unwrap());
    let app = Router::new().route("/", post(act)).with_state(iam.clone());
    (dir, iam, app)
}

async fn call(iam: &Iam, app: &Router, key: &AccessKey, service: &str, body: &str) -> (u16, String) {
    let req = signed_request("POST", "/", &[("content-type", "application/x-amz-json-1.1")], body.as_bytes(), key, iam.region(), service, iam.now()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    (status, String::from_utf8_lossy(&to_bytes(resp.into_body(), 1 << 20).await.unwrap()).into_owned())
}

#[tokio::test]
async fn nothing_is_allowed_without_a_policy() {
    let (_dir, iam, app) = setup();
    iam.create_user("nobody").unwrap();
    let key = iam.create_access_key("nobody").unwrap();
    let a = iam.account_id().to_string();
    let (status, body) = call(&iam, &app, &key, "sagemaker", "sagemaker:ListTrainingJobs *").await;
    assert_eq!(status, 200);
    assert_eq!(body, format!("User: arn:aws:iam::{a}:user/nobody is not authorized to perform: sagemaker:ListTrainingJobs on resource: * because no identity-based policy allows the sagemaker:ListTrainingJobs action"));

    iam.put_user_policy("nobody", "list", ALLOW_LIST).unwrap();
    let (_, body) = call(&iam, &app, &key, "sagemaker", "sagemaker:ListTrainingJobs *").await;
    assert_eq!(body, format!("allowed arn:aws:iam::{a}:user/nobody"));
    let job = format!("arn:aws:sagemaker:us-east-1:{a}:training-job/j");
    let (_, body) = call(&iam, &app, &key, "sagemaker", &format!("sagemaker:CreateTrainingJob {job}")).await;
    assert!(body.contains("not authorized to perform: sagemaker:CreateTrainingJob on resource: arn:aws:sagemaker:"), "{body}");
}

#[tokio::test]
async fn resource_scoped_allows_name_their_resources() {
    let (_dir, iam, app) = setup();
    iam.create_user("scoped").unwrap();
    let key = iam.create_access_key("scoped").unwrap();
    iam.put_user_policy("scoped", "scoped", SCOPED).unwrap();
    let a = iam.account_id().to_string();
    let ep = |n: &str| format!("sagemaker:InvokeEndpoint arn:aws:sagemaker:us-east-1:{a}:endpoint/{n}");
    assert!(call(&iam, &app, &key, "sagemaker", &ep("movielens-v1")).await.1.starts_with("allowed"));
    assert!(call(&iam, &app, &key, "sagemaker", &ep("other")).await.1.contains("is not authorized to perform: sagemaker:InvokeEndpoint"));
    let pass = |n: &str| format!("iam:PassRole arn:aws:iam::{a}:role/{n}");
    assert!(call(&iam, &app, &key, "sagemaker", &pass("sm-exec")).await.1.starts_with("allowed"));
    let refused = call(&iam, &app, &key, "sagemaker", &pass("admin")).await.1;
    assert!(refused.contains("not authorized to perform: iam:PassRole on resource: arn:aws:iam::"), "{refused}");
}

#[tokio::test]
async fn unsigned_wrongly_signed_and_oversized_requests_never_reach_the_handler() {
    let (_dir, iam, app) = setup();
    let admin = iam.ensure_admin_user().unwrap();
    let unsigned = Request::post("/").header("host", "127.0.0.1").body(Body::from("sagemaker:ListTrainingJobs *")).unwrap();
    let resp = app.clone().oneshot(unsigned).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.1");
    let body = to_bytes(resp.into_body(), 1 << 16).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["__type"], "MissingAuthenticationToken", "{v}");

    let (status, body) = call(&iam, &app, &admin, "s3", "sagemaker:ListTrainingJobs *").await;
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("allowed"), "{body}");

    let big = "x".repeat(<SageMaker as crate::Service>::BODY_LIMIT + 1);
    let (status, body) = call(&iam, &app, &admin, "sagemaker", &big).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("ValidationException"), "{body}");

    let (status, body) = call(&iam, &app, &admin, "sagemaker", "sagemaker:DeleteEndpoint *").await;
    assert_eq!((status, body.starts_with("allowed")), (200, true), "{body}");
}
