//! String to sign, derived signing key, signature and Authorization header.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use super::canonical::{canonical_request_with, Uri};
use super::time_fmt::{format_amz_date, parse_amz_date};
use super::{sha256_hex, AuthError, HttpRequest, Payload, ALGORITHM, TERMINATOR};
use crate::{SecretKey, SessionToken};

type HmacSha256 = Hmac<Sha256>;

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &SecretKey, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(
        format!("AWS4{}", secret.expose()).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

/// `AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of canonical request>`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let mut out = String::with_capacity(ALGORITHM.len() + amz_date.len() + scope.len() + 67);
    out.push_str(ALGORITHM);
    out.push('\n');
    out.push_str(amz_date);
    out.push('\n');
    out.push_str(scope);
    out.push('\n');
    out.push_str(&sha256_hex(canonical_request.as_bytes()));
    out
}

/// Everything signing produced, each step kept so tests can compare it with AWS's vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub canonical_request: String,
    pub string_to_sign: String,
    /// Lowercase hex.
    pub signature: String,
    /// The full `Authorization` header value.
    pub authorization: String,
}

/// The payload hash a signer uses: `x-amz-content-sha256` if the request has it, else the hash of
/// the body (or the precomputed hash).
pub(crate) fn payload_hash_for_signing(req: &HttpRequest) -> String {
    if let Some(h) = req.header("x-amz-content-sha256") {
        return h.trim().to_string();
    }
    match &req.payload {
        Payload::Bytes(b) => sha256_hex(b),
        Payload::Hash(h) => h.clone(),
    }
}

/// Signs `req` as it is, over all of its headers but `Authorization`. The request must already
/// carry `Host` and `X-Amz-Date`; nothing is added to it (see [`sign_request`] for that).
pub fn sign(
    req: &HttpRequest,
    access_key_id: &str,
    secret: &SecretKey,
    region: &str,
    service: &str,
) -> Result<Signed, AuthError> {
    sign_with(req, Uri::Normalized, access_key_id, secret, region, service)
}

/// [`sign`] with the path entering the canonical request as `uri` says.
pub(crate) fn sign_with(
    req: &HttpRequest,
    uri: Uri<'_>,
    access_key_id: &str,
    secret: &SecretKey,
    region: &str,
    service: &str,
) -> Result<Signed, AuthError> {
    if req.header("host").is_none() {
        return Err(AuthError::MissingHeader { name: "Host" });
    }
    let amz_date = req
        .header("x-amz-date")
        .ok_or(AuthError::MissingHeader { name: "X-Amz-Date" })?;
    if parse_amz_date(amz_date).is_none() {
        return Err(AuthError::BadAmzDate {
            value: amz_date.to_string(),
        });
    }
    let mut names: Vec<String> = req
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| n != "authorization")
        .collect();
    names.sort();
    names.dedup();
    let creq = canonical_request_with(req, uri, None, &names, &payload_hash_for_signing(req))?;
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/{service}/{TERMINATOR}");
    let sts = string_to_sign(amz_date, &scope, &creq);
    let signature = super::hex32(&hmac_sha256(
        &signing_key(secret, date, region, service),
        sts.as_bytes(),
    ));
    let authorization = format!(
        "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={signature}",
        names.join(";")
    );
    Ok(Signed {
        canonical_request: creq,
        string_to_sign: sts,
        signature,
        authorization,
    })
}

/// Signs `req` at time `now` the way an SDK does: adds `X-Amz-Date` (if absent) and the session
/// token (if any, signed), then appends the `Authorization` header.
pub fn sign_request(
    req: &mut HttpRequest,
    access_key_id: &str,
    secret: &SecretKey,
    session_token: Option<&SessionToken>,
    region: &str,
    service: &str,
    now: OffsetDateTime,
) -> Result<Signed, AuthError> {
    if req.header("x-amz-date").is_none() {
        req.headers
            .push(("X-Amz-Date".to_string(), format_amz_date(now)));
    }
    if let Some(token) = session_token {
        if req.header("x-amz-security-token").is_none() {
            req.headers.push((
                "X-Amz-Security-Token".to_string(),
                token.expose().to_string(),
            ));
        }
    }
    let signed = sign(req, access_key_id, secret, region, service)?;
    req.headers
        .push(("Authorization".to_string(), signed.authorization.clone()));
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example of a derived key (IAM, us-east-1, 20150830).
    #[test]
    fn derived_key_matches_aws_example() {
        let key = signing_key(
            &SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn signing_without_host_or_date_names_the_header() {
        let mut req = HttpRequest {
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![("X-Amz-Date".into(), "20150830T123600Z".into())],
            payload: Payload::Bytes(vec![]),
        };
        let secret = SecretKey::new("s");
        assert_eq!(
            sign(&req, "AK", &secret, "r", "s"),
            Err(AuthError::MissingHeader { name: "Host" })
        );
        req.headers = vec![("Host".into(), "h".into())];
        assert_eq!(
            sign(&req, "AK", &secret, "r", "s"),
            Err(AuthError::MissingHeader { name: "X-Amz-Date" })
        );
    }
}
