//! AWS's Query API, transport-free, as IAM and STS speak it: form parameters in
//! (`Action=...&Version=...`, `application/x-www-form-urlencoded`), XML documents out. One form
//! decoder, one XML escaper and one error document for both services.

pub const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Decodes one form component (`+` is a space, `%XX` a byte; a malformed escape stays as is).
fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes an `application/x-www-form-urlencoded` body into (name, value) pairs, in order.
pub fn parse_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// The first value of parameter `name`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The first value of parameter `name`, or the ValidationError AWS answers for a missing member
/// (its name with a lowercase first letter: `RoleName` -> `roleName`).
pub fn required<'a>(params: &'a [(String, String)], name: &str) -> Result<&'a str, crate::IamError> {
    param(params, name).ok_or_else(|| {
        let mut member = name.to_string();
        if let Some(first) = member.get_mut(..1) {
            first.make_ascii_lowercase();
        }
        crate::IamError::ValidationError(format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"))
    })
}

/// Escapes text for an XML element or attribute.
pub fn xml_escape(s: &str) -> String {
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

/// The `<ErrorResponse>` document in namespace `ns` (`Sender` below 500, `Receiver` from 500).
pub fn error_document(ns: &str, code: &str, message: &str, status: u16, request_id: &str) -> String {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{ns}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        xml_escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_and_text_escapes() {
        let p = parse_form("Action=CreateRole&RoleName=a+b&Doc=%7B%22x%22%3A1%7D&Bad=%zz&End=%4&Flag");
        assert_eq!(p[0], ("Action".into(), "CreateRole".into()));
        assert_eq!(param(&p, "RoleName"), Some("a b"));
        assert_eq!(p[2].1, "{\"x\":1}");
        assert_eq!((p[3].1.as_str(), p[4].1.as_str(), p[5].1.as_str()), ("%zz", "%4", ""));
        assert_eq!(required(&p, "RoleName").unwrap(), "a b");
        let missing = required(&p, "RoleSessionName").unwrap_err().to_string();
        assert!(missing.contains("Value null at 'roleSessionName'"), "{missing}");
        assert_eq!(xml_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
        let e = error_document(STS_NS, "AccessDenied", "no <way>", 403, "r-1");
        assert!(e.contains("<Type>Sender</Type>") && e.contains("<Message>no &lt;way&gt;</Message>") && e.contains(STS_NS), "{e}");
    }
}
