//! A real client: botocore's `SigV4Auth` signs, our verifier (through `Iam::authenticate`)
//! accepts, then refuses each kind of tampering with the right error. Skipped, with the reason
//! printed, only when python3 or botocore is not installed.

use std::io::Write;
use std::process::{Command, Stdio};

use iam::sigv4::{parse_amz_date, sha256_hex};
use iam::{AuthError, HttpRequest, Iam, IamConfig, Identity, Payload};
use serde_json::{json, Value};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/botocore_sign.py");
const URL: &str =
    "https://abc123.execute-api.us-east-1.amazonaws.com/dev/train%20job?b=2&a=hello%20world";
const BODY: &str = r#"{"data":[[0,"MOVIELENS.PUBLIC.ratings_train_data","MOVIELENS.PUBLIC.user_movie_recommendations"]]}"#;

/// Runs the signing script, or says why it cannot and returns `None`.
fn botocore_sign(spec: &Value) -> Option<Value> {
    match Command::new("python3")
        .args(["-c", "import botocore"])
        .output()
    {
        Err(e) => {
            eprintln!("SKIPPED botocore test: python3 cannot be run: {e}");
            return None;
        }
        Ok(o) if !o.status.success() => {
            eprintln!(
                "SKIPPED botocore test: botocore is not importable: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            return None;
        }
        Ok(_) => {}
    }
    let mut child = Command::new("python3")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "botocore_sign.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("script prints JSON"))
}

/// What the gateway would see: the path and query from the URL, botocore's headers plus the
/// `Host` header the HTTP client adds.
fn to_request(signed: &Value) -> HttpRequest {
    let url = signed["url"].as_str().unwrap();
    let rest = url.strip_prefix("https://").unwrap();
    let (host, target) = rest.split_at(rest.find('/').unwrap());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = vec![("Host".to_string(), host.to_string())];
    for h in signed["headers"].as_array().unwrap() {
        headers.push((
            h[0].as_str().unwrap().to_string(),
            h[1].as_str().unwrap().to_string(),
        ));
    }
    HttpRequest {
        method: signed["method"].as_str().unwrap().to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        payload: Payload::Bytes(signed["body"].as_str().unwrap().as_bytes().to_vec()),
    }
}

fn set_header(req: &mut HttpRequest, name: &str, value: &str) {
    for (n, v) in &mut req.headers {
        if n.eq_ignore_ascii_case(name) {
            *v = value.to_string();
        }
    }
}

#[test]
fn botocore_signed_requests_verify_and_tampering_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let iam = Iam::open_with(
        dir.path().join("state.db"),
        IamConfig {
            account_id: Some("111122223333".into()),
            region: None,
        },
    )
    .unwrap();
    iam.create_user("sf-integration").unwrap();
    let key = iam.create_access_key("sf-integration").unwrap();
    let trust = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"sts:AssumeRole"}}]}}"#,
        iam.user_arn("sf-integration")
    );
    iam.create_role("snowflake-ef", &trust, None).unwrap();
    let (caller, _, _) = iam.lookup_secret(&key.access_key_id, iam.now()).unwrap();
    let session = iam
        .assume_role(
            &caller,
            &iam.role_arn("snowflake-ef"),
            "snowflake",
            None,
            None,
        )
        .unwrap();
    let s = &session.credentials;

    let spec = json!({
        "url": URL, "body": BODY, "service": "execute-api", "region": "us-east-1",
        "creds": {
            "permanent": {"access_key_id": key.access_key_id, "secret": key.secret_access_key.expose()},
            "temporary": {"access_key_id": s.access_key_id, "secret": s.secret_access_key.expose(), "token": s.session_token.expose()},
            "declared_hash": {"access_key_id": s.access_key_id, "secret": s.secret_access_key.expose(), "token": s.session_token.expose(),
                              "extra_headers": {"X-Amz-Content-SHA256": sha256_hex(BODY.as_bytes())}},
            "wrong_secret": {"access_key_id": key.access_key_id, "secret": "0".repeat(40)},
        }
    });
    let Some(signed) = botocore_sign(&spec) else {
        return;
    };

    let check = |req: &HttpRequest, shift_minutes: i64| {
        let when =
            parse_amz_date(req.header("x-amz-date").expect("botocore sets X-Amz-Date")).unwrap();
        iam.authenticate(
            req,
            "execute-api",
            "us-east-1",
            when + time::Duration::minutes(shift_minutes),
        )
    };

    let permanent = to_request(&signed["permanent"]);
    assert!(permanent.header("x-amz-security-token").is_none());
    assert_eq!(check(&permanent, 0), Ok(caller.clone()));
    let temporary = to_request(&signed["temporary"]);
    match check(&temporary, 0) {
        Ok(Identity::AssumedRole { session_arn, .. }) => {
            assert_eq!(session_arn, session.assumed_role_user.arn)
        }
        other => panic!("temporary credentials: {other:?}"),
    }
    let declared = to_request(&signed["declared_hash"]);
    assert!(check(&declared, 0).is_ok());

    // Each kind of tampering, with its own refusal.
    assert_eq!(
        check(&to_request(&signed["wrong_secret"]), 0),
        Err(AuthError::SignatureMismatch)
    );

    let mut body = temporary.clone();
    body.payload = Payload::Bytes(BODY.replace("ratings", "ratingz").into_bytes());
    assert_eq!(check(&body, 0), Err(AuthError::SignatureMismatch));
    let mut declared_body = declared.clone();
    declared_body.payload = Payload::Bytes(b"{}".to_vec());
    assert!(matches!(
        check(&declared_body, 0),
        Err(AuthError::PayloadHashMismatch { .. })
    ));

    let mut header = temporary.clone();
    set_header(&mut header, "X-Custom", "two");
    assert_eq!(check(&header, 0), Err(AuthError::SignatureMismatch));
    let mut no_host = temporary.clone();
    no_host.headers.retain(|(n, _)| n != "Host");
    assert_eq!(
        check(&no_host, 0),
        Err(AuthError::SignedHeaderAbsent {
            name: "host".into()
        })
    );

    assert!(matches!(
        check(&temporary, 6),
        Err(AuthError::SignatureExpired { .. })
    ));
    assert!(matches!(
        check(&temporary, -6),
        Err(AuthError::SignatureNotYetCurrent { .. })
    ));
    assert!(check(&temporary, 4).is_ok() && check(&temporary, -4).is_ok());

    let mut token = temporary.clone();
    set_header(&mut token, "X-Amz-Security-Token", "forged-token");
    assert_eq!(
        check(&token, 0),
        Err(AuthError::TokenMismatch {
            access_key_id: s.access_key_id.clone()
        })
    );
    let mut no_token = temporary.clone();
    no_token
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("X-Amz-Security-Token"));
    assert_eq!(
        check(&no_token, 0),
        Err(AuthError::MissingSecurityToken {
            access_key_id: s.access_key_id.clone()
        })
    );

    // Deleting the role revokes its session.
    iam.delete_role("snowflake-ef").unwrap();
    assert!(matches!(
        check(&temporary, 0),
        Err(AuthError::CredentialsRevoked { .. })
    ));
}
