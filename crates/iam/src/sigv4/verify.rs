//! Verification of a header-signed request: Authorization parsing, scope and clock checks,
//! payload hash, session token, and a constant-time signature comparison.

use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::canonical::canonical_request;
use super::sign::{hmac_sha256, signing_key, string_to_sign};
use super::time_fmt::{format_amz_date, parse_amz_date};
use super::{sha256_hex, AuthError, HttpRequest, Payload, ALGORITHM, TERMINATOR};
use crate::{SecretKey, SessionToken};

/// How far `X-Amz-Date` may be from the verifier's clock, either way.
pub const MAX_SKEW: Duration = Duration::minutes(5);

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    pub access_key_id: String,
    /// `YYYYMMDD` from the credential scope.
    pub scope_date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
    /// Lowercase names, in the order given.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// What the key store knows of an access key: its secret and, for temporary credentials, the
/// session token that must come with it.
#[derive(Debug, Clone)]
pub struct KeyMaterial {
    pub secret: SecretKey,
    pub session_token: Option<SessionToken>,
}

/// Parses an Authorization header value. Checks shape only (5-part credential, known algorithm,
/// all three parameters present, 64-hex signature); scope values are checked by [`verify_request`].
pub fn parse_authorization(value: &str) -> Result<ParsedAuthorization, AuthError> {
    let value = value.trim();
    let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm {
            found: algorithm.to_string(),
        });
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| AuthError::MalformedAuthorization {
                what: format!("'{part}' is not of the form key=value"),
            })?;
        let slot = match k.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            other => {
                return Err(AuthError::MalformedAuthorization {
                    what: format!("unknown parameter '{other}'"),
                })
            }
        };
        if slot.replace(v.trim()).is_some() {
            return Err(AuthError::MalformedAuthorization {
                what: format!("'{k}' appears twice"),
            });
        }
    }
    let credential = credential.ok_or(AuthError::MissingAuthParam {
        param: "Credential",
    })?;
    let signed = signed.ok_or(AuthError::MissingAuthParam {
        param: "SignedHeaders",
    })?;
    let signature = signature.ok_or(AuthError::MissingAuthParam { param: "Signature" })?;

    parse_parts(credential, signed, signature)
}

/// A credential (`key/date/region/service/aws4_request`), a `;`-list of signed headers and a
/// signature, from an Authorization header or a presigned URL's parameters, checked for shape.
pub(super) fn parse_parts(credential: &str, signed: &str, signature: &str) -> Result<ParsedAuthorization, AuthError> {
    let parts: Vec<&str> = credential.splitn(6, '/').collect();
    if parts.len() != 5 || parts.iter().any(|p| p.is_empty()) {
        return Err(AuthError::CredentialParts {
            credential: credential.to_string(),
        });
    }
    if parts[1].len() != 8 || !parts[1].bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::MalformedAuthorization {
            what: format!("credential scope date '{}' is not YYYYMMDD", parts[1]),
        });
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_string).collect();
    if let Some(bad) = signed_headers
        .iter()
        .find(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err(AuthError::MalformedAuthorization {
            what: format!("SignedHeaders entry '{bad}' must be a non-empty lowercase header name"),
        });
    }
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(AuthError::MalformedAuthorization {
            what: format!("Signature '{signature}' is not 64 lowercase hex digits"),
        });
    }
    Ok(ParsedAuthorization {
        access_key_id: parts[0].to_string(),
        scope_date: parts[1].to_string(),
        region: parts[2].to_string(),
        service: parts[3].to_string(),
        terminator: parts[4].to_string(),
        signed_headers,
        signature: signature.to_string(),
    })
}

impl ParsedAuthorization {
    /// `date/region/service/aws4_request`.
    pub(super) fn scope(&self) -> String {
        let mut scope = String::with_capacity(
            self.scope_date.len() + self.region.len() + self.service.len() + self.terminator.len() + 3,
        );
        for (i, part) in [&self.scope_date, &self.region, &self.service, &self.terminator]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                scope.push('/');
            }
            scope.push_str(part);
        }
        scope
    }

    /// The scope's terminator, region and service are the expected ones.
    pub(super) fn check_scope(&self, region: &str, service: &str) -> Result<(), AuthError> {
        if self.terminator != TERMINATOR {
            return Err(AuthError::WrongTerminator {
                found: self.terminator.clone(),
            });
        }
        if self.region != region {
            return Err(AuthError::WrongRegion {
                found: self.region.clone(),
                expected: region.to_string(),
            });
        }
        if self.service != service {
            return Err(AuthError::WrongService {
                found: self.service.clone(),
                expected: service.to_string(),
            });
        }
        Ok(())
    }
}

/// A temporary key must come with its own session token (compared in constant time), and a
/// long-term key with none.
pub(super) fn check_session_token<K: SigningSecret>(key: &K, presented: Option<&str>, access_key_id: &str) -> Result<(), AuthError> {
    match (key.session_token(), presented) {
        (Some(_), None) => Err(AuthError::MissingSecurityToken {
            access_key_id: access_key_id.to_string(),
        }),
        (Some(expected), Some(presented)) if !expected.matches(presented) => Err(AuthError::TokenMismatch {
            access_key_id: access_key_id.to_string(),
        }),
        (None, Some(_)) => Err(AuthError::UnexpectedSecurityToken {
            access_key_id: access_key_id.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The lowercase hex signature of `string_to_sign` under the derived key.
pub(super) fn signature_hex(key: &[u8; 32], string_to_sign: &str) -> [u8; 64] {
    let mut out = [0u8; 64];
    hex::encode_to_slice(hmac_sha256(key, string_to_sign.as_bytes()), &mut out)
        .expect("32 bytes fill 64 hex digits");
    out
}

/// Constant-time comparison of a computed signature with the presented one.
pub(super) fn signatures_match(expected: &[u8; 64], presented: &str) -> bool {
    bool::from(expected[..].ct_eq(presented.as_bytes()))
}

pub(super) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The payload hash to verify with: `x-amz-content-sha256` if present (and then it must match the
/// body when the body is given), else the hash of the body.
fn payload_hash_for_verifying(req: &HttpRequest) -> Result<String, AuthError> {
    let computed = match &req.payload {
        Payload::Bytes(b) => sha256_hex(b),
        Payload::Hash(h) => h.to_ascii_lowercase(),
    };
    let Some(declared) = req.header("x-amz-content-sha256").map(str::trim) else {
        return Ok(computed);
    };
    if !is_sha256_hex(declared) {
        return Err(AuthError::BadPayloadHash {
            value: declared.to_string(),
        });
    }
    if declared != computed {
        return Err(AuthError::PayloadHashMismatch {
            declared: declared.to_string(),
            computed,
        });
    }
    Ok(computed)
}

/// Checks `X-Amz-Date` against the clock and the scope date.
fn check_date(
    req: &HttpRequest,
    auth: &ParsedAuthorization,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    let amz_date = req
        .header("x-amz-date")
        .ok_or(AuthError::MissingHeader { name: "X-Amz-Date" })?
        .trim();
    let when = parse_signing_date(amz_date, auth)?;
    if when < now - MAX_SKEW {
        return Err(AuthError::SignatureExpired {
            amz_date: amz_date.to_string(),
            limit: format_amz_date(now - MAX_SKEW),
            now: format_amz_date(now),
        });
    }
    not_in_the_future(amz_date, when, now)
}

/// Parses the signing date and checks that the credential scope names its day.
pub(super) fn parse_signing_date(amz_date: &str, auth: &ParsedAuthorization) -> Result<OffsetDateTime, AuthError> {
    let when = parse_amz_date(amz_date).ok_or_else(|| AuthError::BadAmzDate {
        value: amz_date.to_string(),
    })?;
    if auth.scope_date != amz_date[..8] {
        return Err(AuthError::ScopeDateMismatch {
            scope_date: auth.scope_date.clone(),
            amz_day: amz_date[..8].to_string(),
            amz_date: amz_date.to_string(),
        });
    }
    Ok(when)
}

/// A signing date more than [`MAX_SKEW`] ahead of the clock is refused.
pub(super) fn not_in_the_future(amz_date: &str, when: OffsetDateTime, now: OffsetDateTime) -> Result<(), AuthError> {
    if when > now + MAX_SKEW {
        return Err(AuthError::SignatureNotYetCurrent {
            amz_date: amz_date.to_string(),
            limit: format_amz_date(now + MAX_SKEW),
            now: format_amz_date(now),
        });
    }
    Ok(())
}

/// What verification needs of a key: the session token that must come with it (temporary
/// credentials) and the derived signing key for a scope. [`KeyMaterial`] derives the key on every
/// call; the key store's cache keeps derived keys per scope.
pub trait SigningSecret {
    fn session_token(&self) -> Option<&SessionToken>;
    /// `kSigning` for `date`/`region`/`service` (see [`signing_key`]).
    fn signing_key(&self, date: &str, region: &str, service: &str) -> [u8; 32];
}

impl SigningSecret for KeyMaterial {
    fn session_token(&self) -> Option<&SessionToken> {
        self.session_token.as_ref()
    }
    fn signing_key(&self, date: &str, region: &str, service: &str) -> [u8; 32] {
        signing_key(&self.secret, date, region, service)
    }
}

/// The one Authorization header of `req`, parsed, its scope checked against `region`/`service`,
/// `host` and `x-amz-date` among the signed headers, and its date current at `now`.
pub(super) fn header_authorization(req: &HttpRequest, region: &str, service: &str, now: OffsetDateTime) -> Result<ParsedAuthorization, AuthError> {
    let mut auth_headers = req.header_values("authorization");
    let auth_value = auth_headers.next().ok_or(AuthError::MissingAuthorization)?;
    let extra = auth_headers.count();
    if extra > 0 {
        return Err(AuthError::RepeatedAuthorization { count: extra + 1 });
    }
    let auth = parse_authorization(auth_value)?;
    auth.check_scope(region, service)?;
    for required in ["host", "x-amz-date"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(AuthError::HeaderNotSigned { name: required });
        }
    }
    check_date(req, &auth, now)?;
    Ok(auth)
}

/// Verifies a header-signed request for `region`/`service` at time `now`. `lookup` resolves the
/// access key id to what the caller wants back (an identity) and the key's material; it runs only
/// after every check that needs no key has passed.
pub fn verify_request<T>(
    req: &HttpRequest,
    region: &str,
    service: &str,
    now: OffsetDateTime,
    lookup: impl FnOnce(&str) -> Result<(T, KeyMaterial), AuthError>,
) -> Result<T, AuthError> {
    verify_request_with(req, region, service, now, lookup)
}

/// [`verify_request`] over any [`SigningSecret`] (e.g. one that caches derived keys).
pub fn verify_request_with<T, K: SigningSecret>(
    req: &HttpRequest,
    region: &str,
    service: &str,
    now: OffsetDateTime,
    lookup: impl FnOnce(&str) -> Result<(T, K), AuthError>,
) -> Result<T, AuthError> {
    let auth = header_authorization(req, region, service, now)?;
    let payload_hash = payload_hash_for_verifying(req)?;

    let (found, key) = lookup(&auth.access_key_id)?;
    check_session_token(&key, req.header("x-amz-security-token").map(str::trim), &auth.access_key_id)?;
    let creq = canonical_request(req, &auth.signed_headers, &payload_hash)?;
    let amz_date = req.header("x-amz-date").unwrap_or_default().trim();
    let sts = string_to_sign(amz_date, &auth.scope(), &creq);
    let key_bytes = key.signing_key(&auth.scope_date, &auth.region, &auth.service);
    if signatures_match(&signature_hex(&key_bytes, &sts), &auth.signature) {
        Ok(found)
    } else {
        Err(AuthError::SignatureMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    #[test]
    fn parses_a_good_header() {
        let p = parse_authorization(GOOD).unwrap();
        assert_eq!(p.access_key_id, "AKIDEXAMPLE");
        assert_eq!(
            (p.scope_date.as_str(), p.region.as_str(), p.service.as_str()),
            ("20150830", "us-east-1", "service")
        );
        assert_eq!(p.signed_headers, ["host", "x-amz-date"]);
    }

    #[test]
    fn malformed_headers_name_what_is_wrong() {
        let cases: Vec<(String, AuthError)> = vec![
            (
                GOOD.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),
                AuthError::UnsupportedAlgorithm {
                    found: "AWS4-HMAC-SHA1".into(),
                },
            ),
            (
                GOOD.replace("Credential=", "Cred="),
                AuthError::MalformedAuthorization {
                    what: "unknown parameter 'Cred'".into(),
                },
            ),
            (
                "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00".into(),
                AuthError::MissingAuthParam {
                    param: "Credential",
                },
            ),
            (
                GOOD.replace(
                    ", Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
                    "",
                ),
                AuthError::MissingAuthParam { param: "Signature" },
            ),
            (
                GOOD.replace("/service/aws4_request", "/aws4_request"),
                AuthError::CredentialParts {
                    credential: "AKIDEXAMPLE/20150830/us-east-1/aws4_request".into(),
                },
            ),
        ];
        for (value, want) in cases {
            assert_eq!(parse_authorization(&value), Err(want), "{value}");
        }
    }
}
