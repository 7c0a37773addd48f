//! STS's Query API for `AssumeRole`, transport-free: form parameters in, AWS's XML out.

use crate::sigv4::format_iso8601;
use crate::{random, Iam, IamError, Identity};

const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const VERSION: &str = "2011-06-15";

/// An STS answer ready to send: status, content type and XML body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// Decodes `application/x-www-form-urlencoded` (`+` is a space, `%XX` a byte).
fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(
    params: &'a [(String, String)],
    name: &str,
    member: &str,
) -> Result<&'a str, IamError> {
    param(params, name).ok_or_else(|| {
        IamError::ValidationError(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// The XML error document for `err`.
pub fn error_response(err: &IamError, request_id: &str) -> StsResponse {
    let kind = if err.http_status() >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    let body = format!(
        "<ErrorResponse xmlns=\"{XMLNS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        err.code(),
        xml_escape(&err.wire_message())
    );
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
        let params: Vec<(String, String)> = form_body
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (form_decode(k), form_decode(v))
            })
            .collect();
        let action = required(&params, "Action", "action")?;
        let version = param(&params, "Version").unwrap_or(VERSION);
        if action != "AssumeRole" || version != VERSION {
            return Err(IamError::InvalidAction(format!(
                "Could not find operation {action} for version {version}"
            )));
        }
        let role_arn = required(&params, "RoleArn", "roleArn")?;
        let session = required(&params, "RoleSessionName", "roleSessionName")?;
        let duration = match param(&params, "DurationSeconds") {
            None => None,
            Some(d) => Some(d.parse::<u32>().map_err(|_| {
                IamError::ValidationError(format!("1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer"))
            })?),
        };
        let out = self.assume_role(
            caller,
            role_arn,
            session,
            param(&params, "ExternalId"),
            duration,
        )?;
        let c = &out.credentials;
        let u = &out.assumed_role_user;
        Ok(format!(
            "<AssumeRoleResponse xmlns=\"{XMLNS}\">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n",
            xml_escape(&u.assumed_role_id),
            xml_escape(&u.arn),
            c.access_key_id,
            xml_escape(c.secret_access_key.expose()),
            xml_escape(c.session_token.expose()),
            format_iso8601(c.expiration),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_and_escaping() {
        assert_eq!(form_decode("a+b%2Fc%3A%zz"), "a b/c:%zz");
        assert_eq!(
            form_decode("arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fx"),
            "arn:aws:iam::111122223333:role/x"
        );
        assert_eq!(xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }

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
