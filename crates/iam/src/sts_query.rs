//! STS's Query API (`AssumeRole`, `GetCallerIdentity`, `GetAccessKeyInfo`), transport-free:
//! form parameters in, AWS's XML out (the shared pieces are [`crate::query`]'s).

use crate::query::{error_document, param, parse_form, required, xml_escape, STS_NS as XMLNS};
use crate::sigv4::format_iso8601;
use crate::{random, Iam, IamError, Identity};

const VERSION: &str = "2011-06-15";

/// An STS answer ready to send: status, content type and XML body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// The XML error document for `err`.
pub fn error_response(err: &IamError, request_id: &str) -> StsResponse {
    let body = error_document(XMLNS, err.code(), &err.wire_message(), err.http_status(), request_id);
    StsResponse {
        status: err.http_status(),
        content_type: "text/xml",
        body,
    }
}

impl Iam {
    /// Handles an STS Query API request body (`Action=AssumeRole&Version=2011-06-15&RoleArn=...`)
    /// from the verified `caller`.
    pub fn sts_query(&self, caller: &Identity, form_body: &str) -> StsResponse {
        let request_id = random::request_id();
        match self.sts_query_inner(caller, form_body, &request_id) {
            Ok(body) => StsResponse {
                status: 200,
                content_type: "text/xml",
                body,
            },
            Err(e) => error_response(&e, &request_id),
        }
    }

    fn sts_query_inner(
        &self,
        caller: &Identity,
        form_body: &str,
        request_id: &str,
    ) -> Result<String, IamError> {
        let params = parse_form(form_body);
        let action = required(&params, "Action")?;
        let version = param(&params, "Version").unwrap_or(VERSION);
        let result = match (action, version) {
            ("AssumeRole", VERSION) => self.assume_role_xml(caller, &params)?,
            ("GetCallerIdentity", VERSION) => caller_identity_xml(caller),
            ("GetAccessKeyInfo", VERSION) => {
                // AWS: the permission is `sts:GetAccessKeyInfo` on `*`.
                self.authorize(caller, "sts:GetAccessKeyInfo", "*", &crate::ContextKeys::new())?;
                let account = self.access_key_account(required(&params, "AccessKeyId")?)?;
                format!("    <Account>{}</Account>\n", xml_escape(&account))
            }
            _ => {
                return Err(IamError::InvalidAction(format!(
                    "Could not find operation {action} for version {version}"
                )))
            }
        };
        Ok(format!(
            "<{action}Response xmlns=\"{XMLNS}\">\n  <{action}Result>\n{result}  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
        ))
    }

    /// `AssumeRole`'s result element's content.
    fn assume_role_xml(&self, caller: &Identity, params: &[(String, String)]) -> Result<String, IamError> {
        let role_arn = required(params, "RoleArn")?;
        let session = required(params, "RoleSessionName")?;
        let duration = match param(params, "DurationSeconds") {
            None => None,
            Some(d) => Some(d.parse::<u32>().map_err(|_| {
                IamError::ValidationError(format!("1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer"))
            })?),
        };
        let out = self.assume_role(
            caller,
            role_arn,
            session,
            param(params, "ExternalId"),
            duration,
        )?;
        let c = &out.credentials;
        let u = &out.assumed_role_user;
        Ok(format!(
            "    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n",
            xml_escape(&u.assumed_role_id),
            xml_escape(&u.arn),
            c.access_key_id,
            xml_escape(c.secret_access_key.expose()),
            xml_escape(c.session_token.expose()),
            format_iso8601(c.expiration),
        ))
    }
}

/// `GetCallerIdentity`'s result: the caller's ARN, unique id (a user's `AIDA...`; a role
/// session's `<role id>:<session name>`) and account. AWS asks no permission for it.
fn caller_identity_xml(caller: &Identity) -> String {
    let (user_id, account) = match caller {
        Identity::User { user_id, account, .. } => (user_id.clone(), account.as_str()),
        Identity::AssumedRole { role_id, session_name, account, .. } => (format!("{role_id}:{session_name}"), account.as_str()),
        Identity::Service { name } => (name.clone(), ""),
    };
    format!(
        "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
        xml_escape(caller.arn()),
        xml_escape(&user_id),
        xml_escape(account)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_as_sts_error_xml() {
        let r = error_response(
            &IamError::AccessDenied("User: a is not authorized".into()),
            "req-1",
        );
        assert_eq!(r.status, 403);
        assert!(r.body.contains("<Type>Sender</Type>\n    <Code>AccessDenied</Code>\n    <Message>User: a is not authorized</Message>"), "{}", r.body);
        assert!(r
            .body
            .contains("<RequestId>req-1</RequestId>\n</ErrorResponse>"));
        let r = error_response(&IamError::Internal("disk".into()), "req-2");
        assert_eq!(r.status, 500);
        assert!(r.body.contains("<Type>Receiver</Type>") && !r.body.contains("disk"));
    }
}
