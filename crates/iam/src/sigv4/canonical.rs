//! The canonical request: encoded and normalised path, sorted query, canonical headers.

use super::{AuthError, HttpRequest};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// RFC 3986 encoding as SigV4 wants it: unreserved characters (`A-Z a-z 0-9 - _ . ~`) stay,
/// every other byte becomes `%XX` (uppercase); `/` stays only when `keep_slash`.
pub fn uri_encode(input: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len() * 3);
    uri_encode_into(&mut out, input, keep_slash);
    out
}

/// [`uri_encode`] appending to `out`.
fn uri_encode_into(out: &mut String, input: &[u8], keep_slash: bool) {
    for &b in input {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept as it is.
pub(crate) fn percent_decode(input: &str) -> Vec<u8> {
    let b = input.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hi = (b[i + 1] as char).to_digit(16);
            let lo = (b[i + 2] as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Removes `.` and `..` segments and empty segments (`//`), keeping a trailing slash.
pub fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// Whether [`normalize_path`] would return `path` unchanged: it starts with `/` and has no empty
/// (but possibly a last), `.` or `..` segment.
fn is_normalized(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let mut segments = rest.split('/').peekable();
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        if (seg.is_empty() && !last) || seg == "." || seg == ".." {
            return false;
        }
    }
    true
}

/// The canonical URI of a wire path: normalised, then encoded again (non-S3 services).
pub fn canonical_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 16);
    push_canonical_uri(&mut out, path);
    out
}

fn push_canonical_uri(out: &mut String, path: &str) {
    if is_normalized(path) {
        uri_encode_into(out, path.as_bytes(), true);
    } else {
        uri_encode_into(out, normalize_path(path).as_bytes(), true);
    }
}

/// S3's canonical URI: the path decoded and encoded once (no normalisation: `a//b` and `..` are
/// parts of a key).
pub fn s3_canonical_uri(path: &str) -> String {
    let decoded = percent_decode(path);
    let mut out = String::with_capacity(path.len() + 8);
    if !decoded.starts_with(b"/") {
        out.push('/');
    }
    uri_encode_into(&mut out, &decoded, true);
    out
}

/// The canonical query string: each name and value decoded then re-encoded, sorted by name then
/// value, a missing `=` giving an empty value.
pub fn canonical_query(query: &str) -> String {
    canonical_query_without(query, None)
}

/// [`canonical_query`] leaving out parameter `skip` (a presigned URL's `X-Amz-Signature`).
pub(crate) fn canonical_query_without(query: &str, skip: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| skip.is_none_or(|s| p.split_once('=').map_or(*p, |(k, _)| k) != s))
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Trims a header value and collapses each run of spaces or tabs into one space.
#[cfg(test)]
fn canonical_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_canonical_value(&mut out, value);
    out
}

/// [`canonical_value`] appending to `out`.
fn push_canonical_value(out: &mut String, value: &str) {
    if !value.bytes().any(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
        out.push_str(value);
        return;
    }
    let mut first = true;
    for word in value
        .split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty())
    {
        if !first {
            out.push(' ');
        }
        out.push_str(word);
        first = false;
    }
}

/// The canonical request over the headers named in `signed_headers` (lowercase, in the order
/// given, `;`-joined in the result) and the hex payload hash.
pub fn canonical_request(
    req: &HttpRequest,
    signed_headers: &[String],
    payload_hash: &str,
) -> Result<String, AuthError> {
    canonical_request_with(req, Uri::Normalized, None, signed_headers, payload_hash)
}

/// How the path enters a canonical request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uri<'a> {
    /// Normalised and encoded again (every service but S3).
    Normalized,
    /// S3's: decoded and encoded once ([`s3_canonical_uri`]).
    S3,
    /// Exactly this text (a client that signed the path as it sent it).
    Verbatim(&'a str),
}

/// [`canonical_request`] with the path taken as `uri` says and the query without `skip`.
pub(crate) fn canonical_request_with(
    req: &HttpRequest,
    uri: Uri<'_>,
    skip: Option<&str>,
    signed_headers: &[String],
    payload_hash: &str,
) -> Result<String, AuthError> {
    let mut out = String::with_capacity(
        256 + req.path.len() + req.query.len() + req.headers.iter().map(|(k, v)| k.len() + v.len() + 2).sum::<usize>(),
    );
    out.extend(req.method.chars().map(|c| c.to_ascii_uppercase()));
    out.push('\n');
    match uri {
        Uri::Normalized => push_canonical_uri(&mut out, &req.path),
        Uri::S3 => out.push_str(&s3_canonical_uri(&req.path)),
        Uri::Verbatim(text) => out.push_str(text),
    }
    out.push('\n');
    if !req.query.is_empty() {
        out.push_str(&canonical_query_without(&req.query, skip));
    }
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        let mut values = req.header_values(name);
        let Some(first) = values.next() else {
            return Err(AuthError::SignedHeaderAbsent { name: name.clone() });
        };
        push_canonical_value(&mut out, first);
        for v in values {
            out.push(',');
            push_canonical_value(&mut out, v);
        }
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_and_double_encoded() {
        let cases = [
            ("", "/"),
            ("/", "/"),
            ("//example//", "/example/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("/a/b/../c/", "/a/c/"),
            ("/example space/", "/example%20space/"),
            ("/dev/train%20job", "/dev/train%2520job"),
            ("/\u{1234}", "/%E1%88%B4"),
            ("/a/./b", "/a/b"),
            ("/a/.", "/a"),
            ("/a/..", "/"),
            ("a/b", "/a/b"),
            ("/a//", "/a/"),
            ("/abc123/dev/invoke", "/abc123/dev/invoke"),
        ];
        for (path, want) in cases {
            assert_eq!(canonical_uri(path), want, "{path}");
            assert_eq!(
                canonical_uri(path),
                uri_encode(normalize_path(path).as_bytes(), true),
                "{path}"
            );
        }
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(canonical_query("x&y="), "x=&y=");
        assert_eq!(canonical_query("k=a%20b&s=a/b+c"), "k=a%20b&s=a%2Fb%2Bc");
        assert_eq!(canonical_query("p=%zz%4"), "p=%25zz%254");
        assert_eq!(canonical_query(""), "");
    }

    #[test]
    fn s3_paths_are_encoded_once_and_never_normalised() {
        assert_eq!(s3_canonical_uri("/bucket/a%20b/c"), "/bucket/a%20b/c");
        assert_eq!(s3_canonical_uri("/bucket/a b/./../c//d"), "/bucket/a%20b/./../c//d");
        assert_eq!(s3_canonical_uri("/b/k%21(x)"), "/b/k%21%28x%29");
        assert_eq!(s3_canonical_uri(""), "/");
        assert_eq!(canonical_query_without("b=2&X-Amz-Signature=ab&a=1", Some("X-Amz-Signature")), "a=1&b=2");
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        assert_eq!(canonical_value("  a   b \t c  "), "a b c");
        assert_eq!(canonical_value("\"a   b   c\""), "\"a b c\"");
    }
}
