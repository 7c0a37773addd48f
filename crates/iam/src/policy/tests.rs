//! Table-driven tests of parsing and evaluation.

use super::*;
use crate::Identity;

const ACCT: &str = "111122223333";

fn user(name: &str) -> Identity {
    Identity::User {
        account: ACCT.into(),
        name: name.into(),
        user_id: "AIDAEXAMPLE".into(),
        arn: format!("arn:aws:iam::{ACCT}:user/{name}"),
    }
}

fn session(role: &str, session: &str) -> Identity {
    Identity::AssumedRole {
        account: ACCT.into(),
        role_name: role.into(),
        role_id: "AROAEXAMPLE".into(),
        role_arn: format!("arn:aws:iam::{ACCT}:role/{role}"),
        session_name: session.into(),
        session_arn: format!("arn:aws:sts::{ACCT}:assumed-role/{role}/{session}"),
    }
}

fn decide(
    doc: &str,
    kind: PolicyKind,
    who: &Identity,
    action: &str,
    resource: &str,
    extra: &ContextKeys,
) -> Decision {
    let document = PolicyDocument::parse(doc, kind).unwrap_or_else(|e| panic!("{e}: {doc}"));
    let ctx = RequestContext::new(Some(who), action, resource, extra);
    evaluate(
        &[NamedPolicy {
            name: "p",
            document: &document,
        }],
        &ctx,
    )
    .decision
}

const API: &str = "arn:aws:execute-api:us-east-1:111122223333:abc123/dev/POST/train";

#[test]
fn identity_policy_table() {
    use Decision::*;
    let none = ContextKeys::new();
    let alice = user("alice");
    let cases: Vec<(&str, &str, &str, Decision)> = vec![
        // allow, implicit deny
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}"#,
            "execute-api:Invoke",
            API,
            Allow,
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            "execute-api:Invoke",
            API,
            ImplicitDeny,
        ),
        // explicit deny wins whatever the order
        (
            r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            "execute-api:Invoke",
            API,
            ExplicitDeny,
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"execute-api:*","Resource":"*"}]}"#,
            "execute-api:Invoke",
            API,
            ExplicitDeny,
        ),
        // wildcards: actions case-insensitive, resources case-sensitive
        (
            r#"{"Statement":{"Effect":"Allow","Action":"EXECUTE-API:inv*","Resource":"arn:aws:execute-api:*:*:abc123/*"}}"#,
            "execute-api:Invoke",
            API,
            Allow,
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:ABC123/*"}}"#,
            "execute-api:Invoke",
            API,
            ImplicitDeny,
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"execute-api:Invok?","Resource":"arn:aws:execute-api:us-east-1:111122223333:abc123/dev/POST/trai?"}}"#,
            "execute-api:Invoke",
            API,
            Allow,
        ),
        // NotAction / NotResource
        (
            r#"{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#,
            "execute-api:Invoke",
            API,
            Allow,
        ),
        (
            r#"{"Statement":{"Effect":"Allow","NotAction":["iam:*","execute-api:*"],"Resource":"*"}}"#,
            "execute-api:Invoke",
            API,
            ImplicitDeny,
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotResource":"arn:aws:execute-api:*:*:other/*"}}"#,
            "execute-api:Invoke",
            API,
            Allow,
        ),
        (
            r#"{"Statement":{"Effect":"Deny","Action":"*","NotResource":"arn:aws:execute-api:*:*:abc123/*"}}"#,
            "execute-api:Invoke",
            API,
            ImplicitDeny,
        ),
        // conditions: keys AND-ed, values OR-ed
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":["bob","alice"]},"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/a*"}}}}"#,
            "execute-api:Invoke",
            API,
            Allow,
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"alice","aws:PrincipalAccount":"999988887777"}}}}"#,
            "execute-api:Invoke",
            API,
            ImplicitDeny,
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":"true"}}}}"#,
            "execute-api:Invoke",
            API,
            Allow,
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}"#,
            "execute-api:Invoke",
            API,
            ImplicitDeny,
        ),
    ];
    for (doc, action, resource, want) in cases {
        assert_eq!(
            decide(doc, PolicyKind::Identity, &alice, action, resource, &none),
            want,
            "{doc}"
        );
    }
}

#[test]
fn resource_and_trust_policy_principals() {
    use Decision::*;
    let none = ContextKeys::new();
    let sf = session("snowflake-ef", "snowflake");
    let other = session("other", "s1");
    let alice = user("alice");
    let res = |principal: &str| {
        format!(
            r#"{{"Statement":{{"Effect":"Allow","Principal":{principal},"Action":"execute-api:Invoke","Resource":"*"}}}}"#
        )
    };
    let cases: Vec<(String, &Identity, Decision)> = vec![
        (res(r#""*""#), &alice, Allow),
        (res(r#"{"AWS":"*"}"#), &alice, Allow),
        (res(r#"{"AWS":"111122223333"}"#), &alice, Allow),
        (res(r#"{"AWS":"arn:aws:iam::111122223333:root"}"#), &sf, Allow),
        (res(r#"{"AWS":"arn:aws:iam::999988887777:root"}"#), &sf, ImplicitDeny),
        (res(r#"{"AWS":"arn:aws:iam::111122223333:role/snowflake-ef"}"#), &sf, Allow),
        (res(r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/snowflake-ef/snowflake"}"#), &sf, Allow),
        // a wildcard in Principal does not stand for every session
        (res(r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/snowflake-ef/*"}"#), &sf, ImplicitDeny),
        (res(r#"{"AWS":["arn:aws:iam::111122223333:user/bob","arn:aws:iam::111122223333:role/snowflake-ef"]}"#), &other, ImplicitDeny),
        (res(r#"{"Service":"sagemaker.amazonaws.com"}"#), &alice, ImplicitDeny),
        // the documented way to name all sessions of a role
        (r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/snowflake-ef"}}}}"#.to_string(), &sf, Allow),
        (r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/snowflake-ef"}}}}"#.to_string(), &other, ImplicitDeny),
        // NotPrincipal with Deny: everyone but the named role is denied
        (r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/snowflake-ef"},"Action":"*","Resource":"*"},{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#.to_string(), &sf, Allow),
        (r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/snowflake-ef"},"Action":"*","Resource":"*"},{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#.to_string(), &other, ExplicitDeny),
    ];
    for (doc, who, want) in cases {
        assert_eq!(
            decide(
                &doc,
                PolicyKind::Resource,
                who,
                "execute-api:Invoke",
                API,
                &none
            ),
            want,
            "{doc} for {}",
            who.arn()
        );
    }

    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/sf-integration"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"EXT_1"}}}]}"#;
    let sf_user = user("sf-integration");
    let role = "arn:aws:iam::111122223333:role/snowflake-ef";
    let ext = |v: &str| ContextKeys::new().with("sts:ExternalId", v);
    assert_eq!(
        decide(
            trust,
            PolicyKind::Trust,
            &sf_user,
            "sts:AssumeRole",
            role,
            &ext("EXT_1")
        ),
        Allow
    );
    assert_eq!(
        decide(
            trust,
            PolicyKind::Trust,
            &sf_user,
            "sts:AssumeRole",
            role,
            &ext("EXT_2")
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            trust,
            PolicyKind::Trust,
            &sf_user,
            "sts:AssumeRole",
            role,
            &none
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            trust,
            PolicyKind::Trust,
            &alice,
            "sts:AssumeRole",
            role,
            &ext("EXT_1")
        ),
        ImplicitDeny
    );
}

#[test]
fn reasons_name_the_deciding_statement() {
    let doc = PolicyDocument::parse(
        r#"{"Statement":[{"Sid":"AllowAll","Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let alice = user("alice");
    let p = [NamedPolicy {
        name: "inline-admin",
        document: &doc,
    }];
    let none = ContextKeys::new();
    let allow = evaluate(
        &p,
        &RequestContext::new(Some(&alice), "s3:GetObject", "arn:aws:s3:::b/k", &none),
    );
    assert_eq!(
        allow.reason,
        "allowed by statement 'AllowAll' of policy 'inline-admin'"
    );
    let deny = evaluate(
        &p,
        &RequestContext::new(Some(&alice), "iam:CreateUser", "*", &none),
    );
    assert_eq!(
        deny.reason,
        "explicitly denied by statement #1 of policy 'inline-admin'"
    );
    let nothing = evaluate(
        &[],
        &RequestContext::new(Some(&alice), "iam:CreateUser", "*", &none),
    );
    assert_eq!(nothing.reason, "no statement allows iam:CreateUser on *");
}

#[test]
fn api_gateway_combination() {
    use Decision::*;
    let e = |d: Decision| Evaluation {
        decision: d,
        reason: format!("{d:?}"),
    };
    let cases = [
        (Allow, ImplicitDeny, true, Allow),
        (ImplicitDeny, Allow, true, Allow),
        (ImplicitDeny, ImplicitDeny, true, ImplicitDeny),
        (Allow, ExplicitDeny, true, ExplicitDeny),
        (ExplicitDeny, Allow, true, ExplicitDeny),
        (Allow, Allow, false, Allow),
        (Allow, ImplicitDeny, false, ImplicitDeny),
        (ImplicitDeny, Allow, false, ImplicitDeny),
        (ExplicitDeny, Allow, false, ExplicitDeny),
    ];
    for (id, res, same, want) in cases {
        assert_eq!(
            evaluate_api_gateway(&e(id), &e(res), same).decision,
            want,
            "{id:?} {res:?} same={same}"
        );
    }
}

#[test]
fn malformed_documents_name_the_field() {
    let cases: Vec<(&str, PolicyKind, &str)> = vec![
        ("not json", PolicyKind::Identity, "not valid JSON"),
        ("[]", PolicyKind::Identity, "must be a JSON object"),
        (
            r#"{"Version":"2012-10-17"}"#,
            PolicyKind::Identity,
            "missing field 'Statement'",
        ),
        (
            r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            PolicyKind::Identity,
            "Version '2020-01-01'",
        ),
        (
            r#"{"Statement":[],"Extra":1}"#,
            PolicyKind::Identity,
            "unknown field 'Extra'",
        ),
        (
            r#"{"Statement":[]}"#,
            PolicyKind::Identity,
            "Statement must not be empty",
        ),
        (
            r#"{"Statement":"x"}"#,
            PolicyKind::Identity,
            "Statement must be an object",
        ),
        (
            r#"{"Statement":{"Action":"*","Resource":"*"}}"#,
            PolicyKind::Identity,
            "Statement[0] is missing field 'Effect'",
        ),
        (
            r#"{"Statement":{"Effect":"Permit","Action":"*","Resource":"*"}}"#,
            PolicyKind::Identity,
            "Statement[0].Effect",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
            PolicyKind::Identity,
            "missing field 'Action'",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}}"#,
            PolicyKind::Identity,
            "both Action and NotAction",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"invoke","Resource":"*"}}"#,
            PolicyKind::Identity,
            "Statement[0].Action 'invoke'",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#,
            PolicyKind::Identity,
            "Statement[0].Action must not be empty",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}"#,
            PolicyKind::Identity,
            "Statement[0].Action must hold only strings",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#,
            PolicyKind::Identity,
            "missing field 'Resource'",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"bucket"}}"#,
            PolicyKind::Identity,
            "Statement[0].Resource 'bucket'",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}}"#,
            PolicyKind::Identity,
            "must not specify Principal",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
            PolicyKind::Trust,
            "missing field 'Principal'",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}"#,
            PolicyKind::Trust,
            "prohibited field Resource",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}}"#,
            PolicyKind::Trust,
            "Statement[0].Principal.AWS: invalid principal 'bob'",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Principal":{"Group":"x"},"Action":"sts:AssumeRole"}}"#,
            PolicyKind::Trust,
            "unknown principal type 'Group'",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Principal":"me","Action":"sts:AssumeRole"}}"#,
            PolicyKind::Trust,
            "Statement[0].Principal must be",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"sts:AssumeRole"}}"#,
            PolicyKind::Trust,
            "both Principal and NotPrincipal",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringSortOf":{"a":"b"}}}}"#,
            PolicyKind::Identity,
            "unknown operator 'StringSortOf'",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":"b"}}}"#,
            PolicyKind::Identity,
            "Condition.StringEquals must be an object",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"k":{"x":1}}}}}"#,
            PolicyKind::Identity,
            "Condition.StringEquals.k values",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Sid":5}}"#,
            PolicyKind::Identity,
            "Statement[0].Sid must be a string",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Actions":"*"}}"#,
            PolicyKind::Identity,
            "unknown field 'Actions'",
        ),
    ];
    for (doc, kind, want) in cases {
        let err = PolicyDocument::parse(doc, kind).expect_err(doc).to_string();
        assert!(err.starts_with("MalformedPolicyDocument: "), "{err}");
        assert!(
            err.contains(want),
            "{doc}: got {err:?}, want it to mention {want:?}"
        );
    }
}
