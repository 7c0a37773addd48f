//! AWS's SigV4 test suite (tests/sigv4-suite, see its README): our canonical request, string to
//! sign and Authorization header must equal the published ones byte for byte, and the verifier
//! must accept every signed request at the suite's time.

use std::fs;
use std::path::{Path, PathBuf};

use iam::sigv4::{self, parse_amz_date};
use iam::{AuthError, HttpRequest, KeyMaterial, Payload, SecretKey, SessionToken};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const WHEN: &str = "20150830T123600Z";

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4-suite")
}

/// Parses the suite's request format: `METHOD PATH HTTP/1.1`, header lines (a line starting with
/// whitespace continues the previous header and becomes one more value of it), a blank line, the
/// body.
fn parse_request(text: &str) -> HttpRequest {
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b),
        None => (text, ""),
    };
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    let (target, _version) = rest.rsplit_once(' ').expect("HTTP version");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let name = headers
                .last()
                .expect("continuation after a header")
                .0
                .clone();
            headers.push((name, line.trim().to_string()));
        } else {
            let (n, v) = line.split_once(':').expect("header line");
            headers.push((n.to_string(), v.to_string()));
        }
    }
    HttpRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        payload: Payload::Bytes(body.as_bytes().to_vec()),
    }
}

struct Case {
    name: String,
    dir: PathBuf,
}

impl Case {
    fn file(&self, ext: &str) -> Option<String> {
        fs::read_to_string(self.dir.join(format!("{}.{ext}", self.name))).ok()
    }
}

fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = fs::read_dir(suite_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|dir| Case {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn authorization_of(req: &HttpRequest) -> Option<String> {
    req.header("authorization").map(|v| v.trim().to_string())
}

#[test]
fn suite_is_present_and_large_enough() {
    let names: Vec<String> = cases().into_iter().map(|c| c.name).collect();
    assert!(names.len() >= 25, "{names:?}");
    for must in [
        "get-vanilla",
        "get-utf8",
        "get-space",
        "post-x-www-form-urlencoded",
        "post-sts-header-before",
        "post-sts-header-after",
        "get-slashes",
    ] {
        assert!(names.iter().any(|n| n == must), "missing case {must}");
    }
}

#[test]
fn signing_reproduces_every_vector() {
    let secret = SecretKey::new(SECRET);
    let (mut creqs, mut stss, mut authzs) = (0, 0, 0);
    for case in cases() {
        let signed_req = case.file("sreq").map(|t| parse_request(&t));
        let expected_authz = case
            .file("authz")
            .or_else(|| signed_req.as_ref().and_then(authorization_of))
            .unwrap_or_else(|| panic!("{}: no .authz or .sreq", case.name));
        let mut req = match case.file("req") {
            Some(t) => parse_request(&t),
            None => {
                let mut r = signed_req.clone().expect("a case has .req or .sreq");
                r.headers
                    .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
                r
            }
        };
        // post-sts-header-after: the token was added after signing, so it is not signed.
        if !expected_authz.contains("x-amz-security-token") {
            req.headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-security-token"));
        }
        let signed = sigv4::sign(&req, "AKIDEXAMPLE", &secret, "us-east-1", "service")
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        if let Some(creq) = case.file("creq") {
            assert_eq!(
                signed.canonical_request, creq,
                "{}: canonical request",
                case.name
            );
            creqs += 1;
        }
        if let Some(sts) = case.file("sts") {
            assert_eq!(signed.string_to_sign, sts, "{}: string to sign", case.name);
            stss += 1;
        }
        assert_eq!(
            signed.authorization, expected_authz,
            "{}: Authorization\ncanonical request:\n{}",
            case.name, signed.canonical_request
        );
        authzs += 1;
    }
    assert!(
        creqs >= 5 && stss >= 5 && authzs >= 25,
        "{creqs} {stss} {authzs}"
    );
}

#[test]
fn verifier_accepts_every_signed_request() {
    let now = parse_amz_date(WHEN).unwrap();
    let mut checked = 0;
    for case in cases() {
        let Some(text) = case.file("sreq") else {
            continue;
        };
        let req = parse_request(&text);
        let token = req.header("x-amz-security-token").map(SessionToken::new);
        let out = sigv4::verify_request(&req, "us-east-1", "service", now, |akid| {
            assert_eq!(akid, "AKIDEXAMPLE");
            Ok((
                case.name.clone(),
                KeyMaterial {
                    secret: SecretKey::new(SECRET),
                    session_token: token.clone(),
                },
            ))
        });
        assert_eq!(out, Ok(case.name.clone()), "{}", case.name);
        checked += 1;
    }
    assert!(checked >= 25, "{checked}");
}

fn vanilla() -> HttpRequest {
    parse_request(
        &fs::read_to_string(
            suite_dir()
                .join("get-vanilla-query-order-key-case/get-vanilla-query-order-key-case.sreq"),
        )
        .unwrap(),
    )
}

fn verify_at(req: &HttpRequest, region: &str, service: &str, now: &str) -> Result<(), AuthError> {
    sigv4::verify_request(req, region, service, parse_amz_date(now).unwrap(), |_| {
        Ok((
            (),
            KeyMaterial {
                secret: SecretKey::new(SECRET),
                session_token: None,
            },
        ))
    })
}

fn with_authz(req: &HttpRequest, from: &str, to: &str) -> HttpRequest {
    let mut r = req.clone();
    for (n, v) in &mut r.headers {
        if n.eq_ignore_ascii_case("authorization") {
            *v = v.replace(from, to);
        }
    }
    r
}

#[test]
fn verifier_refusals_name_what_is_wrong() {
    let req = vanilla();
    assert_eq!(verify_at(&req, "us-east-1", "service", WHEN), Ok(()));

    let expired = verify_at(&req, "us-east-1", "service", "20150830T124200Z").unwrap_err();
    assert_eq!(expired.to_string(), "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T124200Z - 5 min.)");
    assert_eq!(
        verify_at(&req, "us-east-1", "service", "20150830T124100Z"),
        Ok(()),
        "exactly 5 minutes is still accepted"
    );
    let early = verify_at(&req, "us-east-1", "service", "20150830T123000Z").unwrap_err();
    assert_eq!(early.to_string(), "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z (20150830T123000Z + 5 min.)");

    assert_eq!(
        verify_at(&req, "eu-west-1", "service", WHEN),
        Err(AuthError::WrongRegion {
            found: "us-east-1".into(),
            expected: "eu-west-1".into()
        })
    );
    assert_eq!(
        verify_at(&req, "us-east-1", "execute-api", WHEN),
        Err(AuthError::WrongService {
            found: "service".into(),
            expected: "execute-api".into()
        })
    );
    assert_eq!(
        verify_at(
            &with_authz(&req, "aws4_request", "aws5_request"),
            "us-east-1",
            "service",
            WHEN
        ),
        Err(AuthError::WrongTerminator {
            found: "aws5_request".into()
        })
    );
    let scope_day = verify_at(
        &with_authz(&req, "/20150830/", "/20150831/"),
        "us-east-1",
        "service",
        WHEN,
    )
    .unwrap_err();
    assert!(
        matches!(scope_day, AuthError::ScopeDateMismatch { .. }),
        "{scope_day:?}"
    );
    assert!(
        scope_day.to_string().contains("'20150831' != '20150830'"),
        "{scope_day}"
    );
    assert_eq!(
        verify_at(
            &with_authz(
                &req,
                "SignedHeaders=host;x-amz-date",
                "SignedHeaders=x-amz-date"
            ),
            "us-east-1",
            "service",
            WHEN
        ),
        Err(AuthError::HeaderNotSigned { name: "host" })
    );
    assert_eq!(
        verify_at(
            &with_authz(&req, "SignedHeaders=host;x-amz-date", "SignedHeaders=host"),
            "us-east-1",
            "service",
            WHEN
        ),
        Err(AuthError::HeaderNotSigned { name: "x-amz-date" })
    );
    assert_eq!(
        verify_at(
            &with_authz(
                &req,
                "SignedHeaders=host;x-amz-date",
                "SignedHeaders=host;my-header;x-amz-date"
            ),
            "us-east-1",
            "service",
            WHEN
        ),
        Err(AuthError::SignedHeaderAbsent {
            name: "my-header".into()
        })
    );
    assert_eq!(
        verify_at(
            &with_authz(&req, "Credential=AKIDEXAMPLE/", "Credential="),
            "us-east-1",
            "service",
            WHEN
        ),
        Err(AuthError::CredentialParts {
            credential: "20150830/us-east-1/service/aws4_request".into()
        })
    );

    let mut no_date = req.clone();
    no_date.headers.retain(|(n, _)| n != "X-Amz-Date");
    assert_eq!(
        verify_at(&no_date, "us-east-1", "service", WHEN),
        Err(AuthError::MissingHeader { name: "X-Amz-Date" })
    );
    let mut no_auth = req.clone();
    no_auth.headers.retain(|(n, _)| n != "Authorization");
    assert_eq!(
        verify_at(&no_auth, "us-east-1", "service", WHEN),
        Err(AuthError::MissingAuthorization)
    );

    let mut tampered = req.clone();
    tampered.query = "Param2=value2&Param1=value0".into();
    assert_eq!(
        verify_at(&tampered, "us-east-1", "service", WHEN),
        Err(AuthError::SignatureMismatch)
    );

    let mut declared = req.clone();
    declared.headers.push((
        "x-amz-content-sha256".into(),
        sigv4::sha256_hex(b"other body"),
    ));
    assert!(matches!(
        verify_at(&declared, "us-east-1", "service", WHEN),
        Err(AuthError::PayloadHashMismatch { .. })
    ));

    let wrong_key = sigv4::verify_request(
        &req,
        "us-east-1",
        "service",
        parse_amz_date(WHEN).unwrap(),
        |_| {
            Ok((
                (),
                KeyMaterial {
                    secret: SecretKey::new("not the secret"),
                    session_token: None,
                },
            ))
        },
    );
    assert_eq!(wrong_key, Err(AuthError::SignatureMismatch));
    for err in [expired, early, scope_day] {
        assert_eq!(err.http_status(), 403);
        assert!(!err.to_string().contains(SECRET));
    }
}
