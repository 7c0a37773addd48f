//! IAM's Query actions and their XML answers (namespace `https://iam.amazonaws.com/doc/2010-05-08/`).

use awsapi::Caller;
use iam::query::{param, required, xml_escape as esc, IAM_NS};
use iam::sigv4::format_iso8601;
use iam::{Iam, IamError, Identity, Role, User};

/// RFC 3986 percent-encoding, as IAM returns policy documents.
fn url_encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn envelope(action: &str, result: Option<String>, request_id: &str) -> String {
    let result = result.map(|r| format!("  <{action}Result>\n{r}  </{action}Result>\n")).unwrap_or_default();
    format!("<{action}Response xmlns=\"{IAM_NS}\">\n{result}  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n")
}

fn role_xml(tag: &str, r: &Role, indent: &str) -> String {
    let desc = r.description.as_ref().map(|d| format!("{indent}  <Description>{}</Description>\n", esc(d))).unwrap_or_default();
    format!(
        "{indent}<{tag}>\n{indent}  <Path>{}</Path>\n{indent}  <RoleName>{}</RoleName>\n{indent}  <RoleId>{}</RoleId>\n{indent}  <Arn>{}</Arn>\n{indent}  <CreateDate>{}</CreateDate>\n{indent}  <AssumeRolePolicyDocument>{}</AssumeRolePolicyDocument>\n{desc}{indent}</{tag}>\n",
        esc(&r.path), esc(&r.role_name), r.role_id, esc(&r.arn), format_iso8601(r.create_date), url_encode(&r.assume_role_policy_document)
    )
}

fn user_xml(u: &User) -> String {
    format!(
        "    <User>\n      <Path>/</Path>\n      <UserName>{}</UserName>\n      <UserId>{}</UserId>\n      <Arn>{}</Arn>\n      <CreateDate>{}</CreateDate>\n    </User>\n",
        esc(&u.user_name), u.user_id, esc(&u.arn), format_iso8601(u.create_date)
    )
}

/// `UserName`, or (as AWS does when it is left out) the calling user; a role session must name one.
fn user_or_caller(p: &[(String, String)], who: &Caller) -> Result<String, IamError> {
    match (param(p, "UserName"), who.identity()) {
        (Some(n), _) => Ok(n.to_string()),
        (None, Identity::User { name, .. }) => Ok(name.clone()),
        (None, _) => Err(IamError::ValidationError("Must specify userName when calling with non-User credentials".into())),
    }
}

/// Checks the caller's identity policies allow `iam:<action>` on `resource`.
fn authorize(who: &Caller, action: &str, resource: &str) -> Result<(), IamError> {
    awsapi::authorize(who, &format!("iam:{action}"), resource)
}

/// Runs one IAM action for `who` and renders its XML answer.
pub fn iam_action(iam: &Iam, who: &Caller, action: &str, p: &[(String, String)], request_id: &str) -> Result<String, IamError> {
    let role_arn = |name: &str| iam.role_arn(name);
    match action {
        "CreateRole" => {
            let name = required(p, "RoleName")?;
            authorize(who, action, &role_arn(name))?;
            let role = iam.create_role(name, required(p, "AssumeRolePolicyDocument")?, param(p, "Description"))?;
            Ok(envelope(action, Some(role_xml("Role", &role, "    ")), request_id))
        }
        "GetRole" => {
            let name = required(p, "RoleName")?;
            authorize(who, action, &role_arn(name))?;
            let role = iam.get_role(name)?;
            Ok(envelope(action, Some(role_xml("Role", &role, "    ")), request_id))
        }
        "ListRoles" => {
            authorize(who, action, &role_arn("*"))?;
            let members: String = iam.list_roles()?.iter().map(|r| role_xml("member", r, "      ")).collect();
            Ok(envelope(action, Some(format!("    <IsTruncated>false</IsTruncated>\n    <Roles>\n{members}    </Roles>\n")), request_id))
        }
        "UpdateAssumeRolePolicy" => {
            let name = required(p, "RoleName")?;
            authorize(who, action, &role_arn(name))?;
            iam.update_assume_role_policy(name, required(p, "PolicyDocument")?)?;
            Ok(envelope(action, None, request_id))
        }
        "PutRolePolicy" => {
            let name = required(p, "RoleName")?;
            authorize(who, action, &role_arn(name))?;
            iam.put_role_policy(name, required(p, "PolicyName")?, required(p, "PolicyDocument")?)?;
            Ok(envelope(action, None, request_id))
        }
        "AttachRolePolicy" => {
            let name = required(p, "RoleName")?;
            authorize(who, action, &role_arn(name))?;
            iam.attach_role_policy(name, required(p, "PolicyArn")?)?;
            Ok(envelope(action, None, request_id))
        }
        "DetachRolePolicy" => {
            let name = required(p, "RoleName")?;
            authorize(who, action, &role_arn(name))?;
            iam.detach_role_policy(name, required(p, "PolicyArn")?)?;
            Ok(envelope(action, None, request_id))
        }
        "DeleteRolePolicy" => {
            let name = required(p, "RoleName")?;
            authorize(who, action, &role_arn(name))?;
            iam.delete_role_policy(name, required(p, "PolicyName")?)?;
            Ok(envelope(action, None, request_id))
        }
        "DeleteRole" => {
            let name = required(p, "RoleName")?;
            authorize(who, action, &role_arn(name))?;
            iam.delete_role(name)?;
            Ok(envelope(action, None, request_id))
        }
        "CreateUser" => {
            let name = required(p, "UserName")?;
            authorize(who, action, &iam.user_arn(name))?;
            let u = iam.create_user(name)?;
            Ok(envelope(action, Some(user_xml(&u)), request_id))
        }
        "PutUserPolicy" => {
            let name = required(p, "UserName")?;
            authorize(who, action, &iam.user_arn(name))?;
            iam.put_user_policy(name, required(p, "PolicyName")?, required(p, "PolicyDocument")?)?;
            Ok(envelope(action, None, request_id))
        }
        "AttachUserPolicy" => {
            let name = required(p, "UserName")?;
            authorize(who, action, &iam.user_arn(name))?;
            iam.attach_user_policy(name, required(p, "PolicyArn")?)?;
            Ok(envelope(action, None, request_id))
        }
        "GetUser" => {
            let name = user_or_caller(p, who)?;
            authorize(who, action, &iam.user_arn(&name))?;
            let u = iam.get_user(&name)?;
            Ok(envelope(action, Some(user_xml(&u)), request_id))
        }
        "ListAccessKeys" => {
            let name = user_or_caller(p, who)?;
            authorize(who, action, &iam.user_arn(&name))?;
            let members: String = iam
                .list_access_keys(&name)?
                .iter()
                .map(|k| {
                    format!(
                        "      <member>\n        <UserName>{}</UserName>\n        <AccessKeyId>{}</AccessKeyId>\n        <Status>{}</Status>\n        <CreateDate>{}</CreateDate>\n      </member>\n",
                        esc(&k.user_name), k.access_key_id, k.status, format_iso8601(k.create_date)
                    )
                })
                .collect();
            Ok(envelope(
                action,
                Some(format!("    <UserName>{}</UserName>\n    <AccessKeyMetadata>\n{members}    </AccessKeyMetadata>\n    <IsTruncated>false</IsTruncated>\n", esc(&name))),
                request_id,
            ))
        }
        "CreateAccessKey" => {
            let name = user_or_caller(p, who)?;
            authorize(who, action, &iam.user_arn(&name))?;
            let k = iam.create_access_key(&name)?;
            Ok(envelope(
                action,
                Some(format!(
                    "    <AccessKey>\n      <UserName>{}</UserName>\n      <AccessKeyId>{}</AccessKeyId>\n      <Status>{}</Status>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <CreateDate>{}</CreateDate>\n    </AccessKey>\n",
                    esc(&k.user_name), k.access_key_id, k.status, esc(k.secret_access_key.expose()), format_iso8601(k.create_date)
                )),
                request_id,
            ))
        }
        other => Err(IamError::InvalidAction(format!("Could not find operation {other} for version 2010-05-08"))),
    }
}
