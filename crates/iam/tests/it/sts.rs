//! AssumeRole, session credentials over restarts, authentication against the store, and the STS
//! Query API, with an injected clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use iam::policy::{PolicyDocument, PolicyKind};
use iam::sigv4::{format_iso8601, sign_request};
use iam::{AuthError, ContextKeys, Decision, HttpRequest, Iam, IamConfig, Identity, Payload};
use time::OffsetDateTime;

const ACCT: &str = "111122223333";
const START: i64 = 1_700_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    clock: Arc<AtomicI64>,
    iam: Iam,
}

fn open(db: &std::path::Path, clock: &Arc<AtomicI64>) -> Iam {
    let c = clock.clone();
    Iam::open_with(
        db,
        IamConfig {
            account_id: Some(ACCT.into()),
            region: None,
        },
    )
    .unwrap()
    .with_clock(Arc::new(move || {
        OffsetDateTime::from_unix_timestamp(c.load(Ordering::SeqCst)).unwrap()
    }))
}

fn trust(principal: &str, external_id: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"{external_id}"}}}}}}]}}"#
    )
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let clock = Arc::new(AtomicI64::new(START));
    let iam = open(&db, &clock);
    iam.create_user("sf-integration").unwrap();
    iam.create_user("mallory").unwrap();
    iam.create_role(
        "snowflake-ef",
        &trust(&iam.user_arn("sf-integration"), "SF_EXT_ID_1"),
        None,
    )
    .unwrap();
    Fixture {
        _dir: dir,
        db,
        clock,
        iam,
    }
}

fn user(iam: &Iam, name: &str) -> Identity {
    let u = iam.get_user(name).unwrap();
    Identity::User {
        account: ACCT.into(),
        name: name.into(),
        user_id: u.user_id,
        arn: u.arn,
    }
}

const ROLE: &str = "arn:aws:iam::111122223333:role/snowflake-ef";
const DENIED: &str = "User: arn:aws:iam::111122223333:user/sf-integration is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/snowflake-ef";

#[test]
fn assume_role_follows_the_trust_policy() {
    let f = fixture();
    let caller = user(&f.iam, "sf-integration");
    let out = f
        .iam
        .assume_role(&caller, ROLE, "snowflake", Some("SF_EXT_ID_1"), None)
        .unwrap();
    let role = f.iam.get_role("snowflake-ef").unwrap();
    assert!(
        out.credentials.access_key_id.starts_with("ASIA")
            && out.credentials.access_key_id.len() == 20
    );
    assert_eq!(out.credentials.secret_access_key.expose().len(), 40);
    assert_eq!(out.credentials.expiration.unix_timestamp(), START + 3600);
    assert_eq!(
        out.assumed_role_user.arn,
        "arn:aws:sts::111122223333:assumed-role/snowflake-ef/snowflake"
    );
    assert_eq!(
        out.assumed_role_user.assumed_role_id,
        format!("{}:snowflake", role.role_id)
    );
    let shown = format!("{out:?}");
    assert!(
        !shown.contains(out.credentials.secret_access_key.expose())
            && !shown.contains(out.credentials.session_token.expose())
    );

    for ext in [Some("SF_EXT_ID_2"), None] {
        let err = f
            .iam
            .assume_role(&caller, ROLE, "snowflake", ext, None)
            .unwrap_err();
        assert_eq!((err.code(), err.http_status()), ("AccessDenied", 403));
        assert_eq!(err.to_string(), DENIED);
    }
    let mallory = user(&f.iam, "mallory");
    let err = f
        .iam
        .assume_role(&mallory, ROLE, "snowflake", Some("SF_EXT_ID_1"), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        DENIED.replace("user/sf-integration", "user/mallory")
    );

    // The account root as principal delegates to the account: an identity of it gets in only
    // when its own policies allow sts:AssumeRole (AWS's rule for same-account trust).
    f.iam
        .update_assume_role_policy(
            "snowflake-ef",
            &trust("arn:aws:iam::111122223333:root", "SF_EXT_ID_1"),
        )
        .unwrap();
    let err = f
        .iam
        .assume_role(&mallory, ROLE, "m1", Some("SF_EXT_ID_1"), None)
        .unwrap_err();
    assert_eq!(err.code(), "AccessDenied");
    f.iam
        .put_user_policy(
            "mallory",
            "assume",
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}}"#,
        )
        .unwrap();
    f.iam
        .assume_role(&mallory, ROLE, "m1", Some("SF_EXT_ID_1"), None)
        .unwrap();

    let missing = f
        .iam
        .assume_role(
            &caller,
            "arn:aws:iam::111122223333:role/nope",
            "s1",
            None,
            None,
        )
        .unwrap_err();
    assert_eq!(missing.code(), "AccessDenied");
    let other_account = f
        .iam
        .assume_role(
            &caller,
            "arn:aws:iam::999988887777:role/snowflake-ef",
            "s1",
            Some("SF_EXT_ID_1"),
            None,
        )
        .unwrap_err();
    assert_eq!(other_account.code(), "AccessDenied");
    assert_eq!(
        f.iam
            .assume_role(&caller, "not-an-arn", "s1", None, None)
            .unwrap_err()
            .code(),
        "ValidationError"
    );
    assert_eq!(
        f.iam
            .assume_role(&caller, ROLE, "bad session", Some("SF_EXT_ID_1"), None)
            .unwrap_err()
            .code(),
        "ValidationError"
    );
}

#[test]
fn duration_bounds() {
    let f = fixture();
    let caller = user(&f.iam, "sf-integration");
    for (secs, ok) in [
        (899, false),
        (900, true),
        (3600, true),
        (43_200, true),
        (43_201, false),
    ] {
        let got = f
            .iam
            .assume_role(&caller, ROLE, "s1", Some("SF_EXT_ID_1"), Some(secs));
        match (got, ok) {
            (Ok(out), true) => assert_eq!(
                out.credentials.expiration.unix_timestamp(),
                START + i64::from(secs)
            ),
            (Err(e), false) => {
                assert_eq!(e.code(), "ValidationError");
                assert!(
                    e.to_string()
                        .contains(&format!("'{secs}' at 'durationSeconds'")),
                    "{e}"
                );
            }
            (got, _) => panic!("{secs}: {got:?}"),
        }
    }
}

#[test]
fn sessions_expire_survive_restarts_and_die_with_their_role() {
    let f = fixture();
    let caller = user(&f.iam, "sf-integration");
    let key = f.iam.create_access_key("sf-integration").unwrap();
    let out = f
        .iam
        .assume_role(&caller, ROLE, "snowflake", Some("SF_EXT_ID_1"), Some(900))
        .unwrap();
    let akid = out.credentials.access_key_id.clone();
    let now = |s: i64| OffsetDateTime::from_unix_timestamp(s).unwrap();

    let (who, secret, token) = f.iam.lookup_secret(&akid, now(START + 10)).unwrap();
    assert_eq!(
        who.arn(),
        "arn:aws:sts::111122223333:assumed-role/snowflake-ef/snowflake"
    );
    assert_eq!(who.principal_arn(), Some(ROLE));
    assert_eq!(secret, out.credentials.secret_access_key);
    assert_eq!(token, Some(out.credentials.session_token.clone()));
    assert_eq!(
        f.iam.lookup_secret(&akid, now(START + 900)).unwrap_err(),
        AuthError::CredentialsExpired {
            access_key_id: akid.clone()
        }
    );

    // Restart: roles, users, keys and sessions are all still there.
    drop(f.iam);
    let iam = open(&f.db, &f.clock);
    assert_eq!(iam.get_role("snowflake-ef").unwrap().arn, ROLE);
    let (who, secret, token) = iam.lookup_secret(&key.access_key_id, now(START)).unwrap();
    assert_eq!(
        (who.arn(), secret, token),
        (
            "arn:aws:iam::111122223333:user/sf-integration",
            key.secret_access_key.clone(),
            None
        )
    );
    assert!(iam.lookup_secret(&akid, now(START + 10)).is_ok());
    assert_eq!(
        iam.lookup_secret("AKIANOTAKEY000000000", now(START))
            .unwrap_err()
            .code(),
        "InvalidClientTokenId"
    );

    // A trust-policy change does not revoke; deleting the role does, even if it is re-created.
    iam.update_assume_role_policy("snowflake-ef", &trust(&iam.user_arn("mallory"), "x1"))
        .unwrap();
    assert!(iam.lookup_secret(&akid, now(START + 10)).is_ok());
    let trust_text = iam
        .get_role("snowflake-ef")
        .unwrap()
        .assume_role_policy_document;
    iam.delete_role("snowflake-ef").unwrap();
    iam.create_role("snowflake-ef", &trust_text, None).unwrap();
    let revoked = iam.lookup_secret(&akid, now(START + 10)).unwrap_err();
    assert!(
        matches!(revoked, AuthError::CredentialsRevoked { .. }),
        "{revoked:?}"
    );
}

fn signed_invoke(
    iam: &Iam,
    akid: &str,
    secret: &iam::SecretKey,
    token: Option<&iam::SessionToken>,
    body: &[u8],
) -> HttpRequest {
    let mut req = HttpRequest {
        method: "POST".into(),
        path: "/dev/train".into(),
        query: String::new(),
        headers: vec![
            (
                "Host".into(),
                "abc123.execute-api.us-east-1.amazonaws.com".into(),
            ),
            ("Content-Type".into(), "application/json".into()),
        ],
        payload: Payload::Bytes(body.to_vec()),
    };
    sign_request(
        &mut req,
        akid,
        secret,
        token,
        "us-east-1",
        "execute-api",
        iam.now(),
    )
    .unwrap();
    req
}

#[test]
fn authenticate_and_authorize_an_invocation() {
    let f = fixture();
    let caller = user(&f.iam, "sf-integration");
    f.iam.put_role_policy("snowflake-ef", "invoke", r#"{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:111122223333:abc123/*"}}"#).unwrap();
    let out = f
        .iam
        .assume_role(&caller, ROLE, "snowflake", Some("SF_EXT_ID_1"), None)
        .unwrap();
    let c = &out.credentials;
    let body = br#"{"data":[[0,"a","b"]]}"#;
    let req = signed_invoke(
        &f.iam,
        &c.access_key_id,
        &c.secret_access_key,
        Some(&c.session_token),
        body,
    );
    let who = f
        .iam
        .authenticate(&req, "execute-api", "us-east-1", f.iam.now())
        .unwrap();
    assert_eq!(who.arn(), out.assumed_role_user.arn);

    let resource = "arn:aws:execute-api:us-east-1:111122223333:abc123/dev/POST/train";
    let none = ContextKeys::new();
    assert_eq!(
        f.iam
            .evaluate_identity_policies(&who, "execute-api:Invoke", resource, &none)
            .unwrap()
            .decision,
        Decision::Allow
    );
    assert_eq!(
        f.iam
            .evaluate_identity_policies(&who, "sagemaker:CreateTrainingJob", "*", &none)
            .unwrap()
            .decision,
        Decision::ImplicitDeny
    );

    let resource_policy = PolicyDocument::parse(
        &format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"execute-api:Invoke","Resource":"{resource}"}}]}}"#, out.assumed_role_user.arn),
        PolicyKind::Resource,
    )
    .unwrap();
    let allowed = f
        .iam
        .authorize_with_resource_policy(
            &who,
            "execute-api:Invoke",
            resource,
            &resource_policy,
            ACCT,
            &none,
        )
        .unwrap();
    assert!(allowed.is_allowed(), "{allowed:?}");
    // Cross-account, the identity policy alone is not enough.
    let mallory_res = PolicyDocument::parse(&format!(r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"execute-api:Invoke","Resource":"*"}}]}}"#, f.iam.user_arn("mallory")), PolicyKind::Resource).unwrap();
    let cross = f
        .iam
        .authorize_with_resource_policy(
            &who,
            "execute-api:Invoke",
            resource,
            &mallory_res,
            "999988887777",
            &none,
        )
        .unwrap();
    assert_eq!(cross.decision, Decision::ImplicitDeny);

    // A long-term user key signs too; a stale clock refuses it.
    let key = f.iam.create_access_key("sf-integration").unwrap();
    let req = signed_invoke(
        &f.iam,
        &key.access_key_id,
        &key.secret_access_key,
        None,
        body,
    );
    assert_eq!(
        f.iam
            .authenticate(&req, "execute-api", "us-east-1", f.iam.now())
            .unwrap(),
        caller
    );
    let later = f.iam.now() + time::Duration::minutes(6);
    assert!(matches!(
        f.iam.authenticate(&req, "execute-api", "us-east-1", later),
        Err(AuthError::SignatureExpired { .. })
    ));
}

#[test]
fn sts_query_api_renders_aws_xml() {
    let f = fixture();
    let caller = user(&f.iam, "sf-integration");
    let form = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fsnowflake-ef&RoleSessionName=snowflake&ExternalId=SF_EXT_ID_1&DurationSeconds=1800";
    let ok = f.iam.sts_query(&caller, form);
    assert_eq!((ok.status, ok.content_type), (200, "text/xml"));
    let b = &ok.body;
    assert!(
        b.starts_with("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"),
        "{b}"
    );
    assert!(
        b.contains("<Arn>arn:aws:sts::111122223333:assumed-role/snowflake-ef/snowflake</Arn>"),
        "{b}"
    );
    let expiration = format_iso8601(OffsetDateTime::from_unix_timestamp(START + 1800).unwrap());
    assert!(
        b.contains(&format!("<Expiration>{expiration}</Expiration>")),
        "{b}"
    );
    let akid = b
        .split("<AccessKeyId>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert!(akid.starts_with("ASIA"));
    let secret = b
        .split("<SecretAccessKey>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    let (_, stored, _) = f.iam.lookup_secret(akid, f.iam.now()).unwrap();
    assert_eq!(stored.expose(), secret);
    assert!(b.contains("<SessionToken>") && b.contains("<ResponseMetadata>\n    <RequestId>"));

    let denied = f
        .iam
        .sts_query(&caller, &form.replace("SF_EXT_ID_1", "WRONG_ID"));
    assert_eq!(denied.status, 403);
    assert!(
        denied
            .body
            .contains("<Type>Sender</Type>\n    <Code>AccessDenied</Code>"),
        "{}",
        denied.body
    );
    assert!(
        denied
            .body
            .contains(&format!("<Message>{DENIED}</Message>")),
        "{}",
        denied.body
    );

    let bad_action = f
        .iam
        .sts_query(&caller, "Action=GetSessionToken&Version=2011-06-15");
    assert_eq!(bad_action.status, 400);
    assert!(
        bad_action.body.contains("<Code>InvalidAction</Code>"),
        "{}",
        bad_action.body
    );
    let no_arn = f.iam.sts_query(
        &caller,
        "Action=AssumeRole&Version=2011-06-15&RoleSessionName=s1",
    );
    assert_eq!(no_arn.status, 400);
    assert!(
        no_arn.body.contains("<Code>ValidationError</Code>") && no_arn.body.contains("roleArn"),
        "{}",
        no_arn.body
    );
    let bad_duration = f.iam.sts_query(&caller, &form.replace("1800", "60"));
    assert!(
        bad_duration.body.contains("<Code>ValidationError</Code>"),
        "{}",
        bad_duration.body
    );
}
