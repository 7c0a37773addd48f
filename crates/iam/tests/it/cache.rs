//! The request path keeps keys, derived signing keys and parsed policies in memory. A change made
//! through the store takes effect on the very next request; a change committed by another
//! connection to the same file within a quarter of a second.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use iam::sigv4::sign_request;
use iam::{AuthError, ContextKeys, Decision, HttpRequest, Iam, IamConfig, Payload, SecretKey, SessionToken};
use time::OffsetDateTime;

const ACCT: &str = "111122223333";
const START: i64 = 1_700_000_000;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/sf"},"Action":"sts:AssumeRole"}]}"#;

struct Fixture {
    dir: tempfile::TempDir,
    clock: Arc<AtomicI64>,
    iam: Iam,
}

fn open(db: &std::path::Path, clock: &Arc<AtomicI64>) -> Iam {
    let c = clock.clone();
    Iam::open_with(db, IamConfig { account_id: Some(ACCT.into()), region: None })
        .unwrap()
        .with_clock(Arc::new(move || OffsetDateTime::from_unix_timestamp(c.load(Ordering::SeqCst)).unwrap()))
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(START));
    let iam = open(&dir.path().join("state.db"), &clock);
    iam.create_user("sf").unwrap();
    iam.create_role("ef", TRUST, None).unwrap();
    Fixture { dir, clock, iam }
}

fn signed(iam: &Iam, akid: &str, secret: &SecretKey, token: Option<&SessionToken>, service: &str) -> HttpRequest {
    let mut req = HttpRequest {
        method: "POST".into(),
        path: "/dev/invoke".into(),
        query: String::new(),
        headers: vec![("Host".into(), "127.0.0.1:4747".into())],
        payload: Payload::Bytes(b"{}".to_vec()),
    };
    sign_request(&mut req, akid, secret, token, "us-east-1", service, iam.now()).unwrap();
    req
}

fn auth(iam: &Iam, req: &HttpRequest, service: &str) -> Result<String, AuthError> {
    iam.authenticate(req, service, "us-east-1", iam.now()).map(|who| who.arn().to_string())
}

#[test]
fn cached_sessions_expire_and_die_with_their_role_at_once() {
    let f = fixture();
    let caller = f.iam.lookup_secret(&f.iam.create_access_key("sf").unwrap().access_key_id, f.iam.now()).unwrap().0;
    let s = f.iam.assume_role(&caller, &f.iam.role_arn("ef"), "snowflake", None, Some(900)).unwrap().credentials;
    let req = signed(&f.iam, &s.access_key_id, &s.secret_access_key, Some(&s.session_token), "execute-api");
    for _ in 0..3 {
        assert_eq!(auth(&f.iam, &req, "execute-api").unwrap(), format!("arn:aws:sts::{ACCT}:assumed-role/ef/snowflake"));
    }
    // A wrong token or secret is refused although the key is cached.
    let wrong_token = signed(&f.iam, &s.access_key_id, &s.secret_access_key, Some(&SessionToken::new("forged")), "execute-api");
    assert!(matches!(auth(&f.iam, &wrong_token, "execute-api"), Err(AuthError::TokenMismatch { .. })));
    let wrong_secret = signed(&f.iam, &s.access_key_id, &SecretKey::new("not-the-secret"), Some(&s.session_token), "execute-api");
    assert_eq!(auth(&f.iam, &wrong_secret, "execute-api"), Err(AuthError::SignatureMismatch));

    // Expiry is checked against the clock on every use.
    f.clock.store(START + 900, Ordering::SeqCst);
    let late = signed(&f.iam, &s.access_key_id, &s.secret_access_key, Some(&s.session_token), "execute-api");
    assert!(matches!(auth(&f.iam, &late, "execute-api"), Err(AuthError::CredentialsExpired { .. })));

    // Deleting (and re-creating) the role revokes a cached session on the next request.
    let s = f.iam.assume_role(&caller, &f.iam.role_arn("ef"), "snowflake2", None, None).unwrap().credentials;
    let req = signed(&f.iam, &s.access_key_id, &s.secret_access_key, Some(&s.session_token), "execute-api");
    assert!(auth(&f.iam, &req, "execute-api").is_ok());
    f.iam.delete_role("ef").unwrap();
    f.iam.create_role("ef", TRUST, None).unwrap();
    assert!(matches!(auth(&f.iam, &req, "execute-api"), Err(AuthError::CredentialsRevoked { .. })));
}

#[test]
fn derived_keys_are_kept_per_date_region_and_service() {
    let f = fixture();
    let key = f.iam.create_access_key("sf").unwrap();
    // Around midnight the scope date changes; both days' signatures verify, alternately.
    let midnight = 1_700_006_400; // 2023-11-15T00:00:00Z
    for (t, service) in [(midnight - 1, "execute-api"), (midnight + 1, "execute-api"), (midnight - 1, "sagemaker"), (midnight + 1, "sagemaker"), (midnight - 1, "execute-api")] {
        f.clock.store(t, Ordering::SeqCst);
        let req = signed(&f.iam, &key.access_key_id, &key.secret_access_key, None, service);
        assert_eq!(auth(&f.iam, &req, service).unwrap(), format!("arn:aws:iam::{ACCT}:user/sf"), "{t} {service}");
        assert!(matches!(auth(&f.iam, &req, "s3"), Err(AuthError::WrongService { .. })));
    }
}

#[test]
fn cached_policies_follow_every_change() {
    let f = fixture();
    let caller = f.iam.lookup_secret(&f.iam.create_access_key("sf").unwrap().access_key_id, f.iam.now()).unwrap().0;
    let who = f.iam.lookup_secret(&f.iam.assume_role(&caller, &f.iam.role_arn("ef"), "snowflake", None, None).unwrap().credentials.access_key_id, f.iam.now()).unwrap().0;
    let decide = || f.iam.evaluate_identity_policies(&who, "execute-api:Invoke", "arn:aws:execute-api:us-east-1:111122223333:abc/dev/POST/invoke", &ContextKeys::new()).unwrap().decision;
    assert_eq!(decide(), Decision::ImplicitDeny);
    assert_eq!(decide(), Decision::ImplicitDeny);
    f.iam.put_role_policy("ef", "invoke", r#"{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}"#).unwrap();
    assert_eq!(decide(), Decision::Allow);
    f.iam.put_role_policy("ef", "invoke", r#"{"Statement":{"Effect":"Deny","Action":"execute-api:*","Resource":"*"}}"#).unwrap();
    assert_eq!(decide(), Decision::ExplicitDeny);
    // Users' policies too, attached ones included.
    let user = |action: &str| f.iam.evaluate_identity_policies(&caller, action, "*", &ContextKeys::new()).unwrap().decision;
    assert_eq!(user("sagemaker:ListModels"), Decision::ImplicitDeny);
    f.iam.attach_user_policy("sf", iam::SAGEMAKER_FULL_ACCESS_ARN).unwrap();
    assert_eq!(user("sagemaker:ListModels"), Decision::Allow);
}

#[test]
fn commits_by_another_connection_are_seen() {
    let f = fixture();
    let key = f.iam.create_access_key("sf").unwrap();
    let req = signed(&f.iam, &key.access_key_id, &key.secret_access_key, None, "execute-api");
    assert!(auth(&f.iam, &req, "execute-api").is_ok());
    let caller = f.iam.lookup_secret(&key.access_key_id, f.iam.now()).unwrap().0;
    let decide = || f.iam.evaluate_identity_policies(&caller, "s3:GetObject", "*", &ContextKeys::new()).unwrap().decision;
    assert_eq!(decide(), Decision::ImplicitDeny);

    // Another handle on the same file changes a policy; another connection deletes the key.
    let other = open(&f.dir.path().join("state.db"), &f.clock);
    other.put_user_policy("sf", "read", r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#).unwrap();
    let conn = rusqlite::Connection::open(f.dir.path().join("state.db")).unwrap();
    conn.execute("DELETE FROM iam_access_keys WHERE access_key_id = ?1", [&key.access_key_id]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(decide(), Decision::Allow);
    assert!(matches!(auth(&f.iam, &req, "execute-api"), Err(AuthError::UnknownAccessKey { .. })));
}
