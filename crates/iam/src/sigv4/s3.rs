//! S3's dialect of SigV4: the path is encoded once and never normalised, `x-amz-content-sha256`
//! is required and may say the body is unsigned or streamed in signed chunks, and a request may
//! be signed in its query string instead (a presigned URL, `X-Amz-Signature=...`).
//!
//! S3 bodies can be large, so verification never needs the body: the signature covers the
//! declared payload hash, and the caller gets an [`S3Payload`] to hold the body to as it streams
//! (a SHA-256 to compare at the end, or a [`ChunkVerifier`] for each chunk of an `aws-chunked`
//! body).

use time::{Duration, OffsetDateTime};

use super::canonical::{canonical_request_with, percent_decode, s3_canonical_uri, Uri};
use super::sign::{sign_with, string_to_sign, Signed};
use super::time_fmt::format_amz_date;
use super::verify::{
    check_session_token, header_authorization, is_sha256_hex, not_in_the_future, parse_parts,
    parse_signing_date, signature_hex, signatures_match, SigningSecret,
};
use super::{sha256_hex, AuthError, HttpRequest, Payload, ALGORITHM};
use crate::{SecretKey, SessionToken};

/// `x-amz-content-sha256` of a body that is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `x-amz-content-sha256` of an `aws-chunked` body whose chunks are each signed.
pub const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// `x-amz-content-sha256` of an `aws-chunked` body of unsigned chunks and a trailing checksum.
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// The longest a presigned URL may be valid (seven days), as in S3.
pub const MAX_PRESIGN_SECONDS: i64 = 604_800;

/// The service name S3 requests are signed for.
const S3: &str = "s3";

/// What a verified signature says about the body, which the caller checks while reading it.
#[derive(Debug)]
pub enum S3Payload {
    /// The body's SHA-256 (lowercase hex) must be this.
    Sha256(String),
    /// The body is not covered by the signature.
    Unsigned,
    /// `aws-chunked`, each chunk signed: check each with the verifier, in order.
    SignedChunks(ChunkVerifier),
    /// `aws-chunked` with unsigned chunks (and a trailing checksum).
    UnsignedChunks,
}

/// Checks the signatures of an `aws-chunked` body's chunks: each signs its data and the
/// previous chunk's signature, starting from the request's own (the seed).
pub struct ChunkVerifier {
    key: [u8; 32],
    amz_date: String,
    scope: String,
    previous: String,
    chunks: usize,
}

impl std::fmt::Debug for ChunkVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkVerifier").field("scope", &self.scope).field("chunks", &self.chunks).finish_non_exhaustive()
    }
}

/// The signature of one chunk: it signs the chunk's data and the previous signature.
fn chunk_signature(key: &[u8; 32], amz_date: &str, scope: &str, previous: &str, data: &[u8]) -> [u8; 64] {
    let sts = format!("{ALGORITHM}-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{}\n{}", sha256_hex(b""), sha256_hex(data));
    signature_hex(key, &sts)
}

/// The client side of [`ChunkVerifier`]: signs each chunk of an `aws-chunked` body in turn,
/// starting from the request's own signature (the seed).
pub struct ChunkSigner {
    key: [u8; 32],
    amz_date: String,
    scope: String,
    previous: String,
}

impl ChunkSigner {
    /// For a request signed with `seed` (the hex signature of its Authorization header) at
    /// `amz_date` for S3 in `region`.
    pub fn new(secret: &SecretKey, region: &str, amz_date: &str, seed: &str) -> ChunkSigner {
        let date = amz_date.get(..8).unwrap_or_default();
        ChunkSigner {
            key: super::sign::signing_key(secret, date, region, S3),
            amz_date: amz_date.to_string(),
            scope: format!("{date}/{region}/{S3}/{}", super::TERMINATOR),
            previous: seed.to_string(),
        }
    }

    /// The `chunk-signature` of the next chunk (the last one is empty).
    pub fn sign(&mut self, data: &[u8]) -> String {
        let sig = chunk_signature(&self.key, &self.amz_date, &self.scope, &self.previous, data);
        self.previous = String::from_utf8(sig.to_vec()).expect("hex digits are ASCII");
        self.previous.clone()
    }
}

impl ChunkVerifier {
    /// Verifies the next chunk (`data` may be empty: the final chunk), in constant time.
    pub fn verify_chunk(&mut self, signature: &str, data: &[u8]) -> Result<(), AuthError> {
        let expected = chunk_signature(&self.key, &self.amz_date, &self.scope, &self.previous, data);
        self.chunks += 1;
        if !signatures_match(&expected, signature) {
            return Err(AuthError::ChunkSignatureMismatch { chunk: self.chunks });
        }
        self.previous = signature.to_string();
        Ok(())
    }
}

/// Signs `req` for S3 at `now` as an SDK does: `X-Amz-Date`, the session token if any, and
/// `x-amz-content-sha256` (the body's hash, unless the request already declares one such as
/// [`UNSIGNED_PAYLOAD`]) are added and signed, then the `Authorization` header is appended.
pub fn sign_s3_request(
    req: &mut HttpRequest,
    access_key_id: &str,
    secret: &SecretKey,
    session_token: Option<&SessionToken>,
    region: &str,
    now: OffsetDateTime,
) -> Result<Signed, AuthError> {
    if req.header("x-amz-content-sha256").is_none() {
        let hash = match &req.payload {
            Payload::Bytes(b) => sha256_hex(b),
            Payload::Hash(h) => h.clone(),
        };
        req.headers.push(("x-amz-content-sha256".into(), hash));
    }
    if req.header("x-amz-date").is_none() {
        req.headers.push(("X-Amz-Date".into(), format_amz_date(now)));
    }
    if let (Some(token), None) = (session_token, req.header("x-amz-security-token")) {
        req.headers.push(("X-Amz-Security-Token".into(), token.expose().to_string()));
    }
    let signed = sign_with(req, Uri::S3, access_key_id, secret, region, S3)?;
    req.headers.push(("Authorization".into(), signed.authorization.clone()));
    Ok(signed)
}

/// The first value of query parameter `name`, decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (k == name).then(|| String::from_utf8_lossy(&percent_decode(v)).into_owned())
    })
}

/// Whether the request is signed in its query string.
pub fn is_presigned(query: &str) -> bool {
    query.split('&').any(|p| {
        let k = p.split_once('=').map_or(p, |(k, _)| k);
        k == "X-Amz-Signature" || k == "X-Amz-Credential" || k == "X-Amz-Algorithm"
    })
}

/// Verifies an S3 request signed in its headers or its query string, for `region` at `now`.
/// `lookup` resolves the access key id as in [`super::verify_request_with`]; it runs only after
/// every check that needs no key has passed.
pub fn verify_s3_request<T, K: SigningSecret>(
    req: &HttpRequest,
    region: &str,
    now: OffsetDateTime,
    lookup: impl FnOnce(&str) -> Result<(T, K), AuthError>,
) -> Result<(T, S3Payload), AuthError> {
    if is_presigned(&req.query) {
        if req.header("authorization").is_some() {
            return Err(AuthError::PresignParam {
                name: "X-Amz-Signature",
                what: "a request is signed either in its headers or in its query string, not both".into(),
            });
        }
        return verify_presigned(req, region, now, lookup);
    }
    let auth = header_authorization(req, region, S3, now)?;
    let declared = req.header("x-amz-content-sha256").map(str::trim).ok_or(AuthError::MissingContentSha256)?.to_string();
    if !auth.signed_headers.iter().any(|h| h == "x-amz-content-sha256") {
        return Err(AuthError::HeaderNotSigned { name: "x-amz-content-sha256" });
    }
    let streaming = declared == STREAMING_SIGNED;
    if !(streaming || declared == UNSIGNED_PAYLOAD || declared == STREAMING_UNSIGNED_TRAILER || is_sha256_hex(&declared)) {
        return Err(AuthError::BadPayloadHash { value: declared });
    }
    let (found, key) = lookup(&auth.access_key_id)?;
    check_session_token(&key, req.header("x-amz-security-token").map(str::trim), &auth.access_key_id)?;
    let amz_date = req.header("x-amz-date").unwrap_or_default().trim().to_string();
    let scope = auth.scope();
    let key_bytes = key.signing_key(&auth.scope_date, &auth.region, &auth.service);
    let verified = |uri: Uri<'_>| -> Result<bool, AuthError> {
        let creq = canonical_request_with(req, uri, None, &auth.signed_headers, &declared)?;
        Ok(signatures_match(&signature_hex(&key_bytes, &string_to_sign(&amz_date, &scope, &creq)), &auth.signature))
    };
    // A client may sign the path as it sent it, leaving characters unencoded that the canonical
    // form encodes; that text is tried second.
    if !(verified(Uri::S3)? || (s3_canonical_uri(&req.path) != req.path && verified(Uri::Verbatim(&req.path))?)) {
        return Err(AuthError::SignatureMismatch);
    }
    let payload = match declared.as_str() {
        UNSIGNED_PAYLOAD => S3Payload::Unsigned,
        STREAMING_UNSIGNED_TRAILER => S3Payload::UnsignedChunks,
        STREAMING_SIGNED => S3Payload::SignedChunks(ChunkVerifier { key: key_bytes, amz_date, scope, previous: auth.signature.clone(), chunks: 0 }),
        hash => S3Payload::Sha256(hash.to_string()),
    };
    Ok((found, payload))
}

/// A presigned URL: `X-Amz-Algorithm`, `-Credential`, `-Date`, `-Expires`, `-SignedHeaders`,
/// `-Signature` (and `-Security-Token` for temporary credentials) in the query; the payload is
/// unsigned.
fn verify_presigned<T, K: SigningSecret>(
    req: &HttpRequest,
    region: &str,
    now: OffsetDateTime,
    lookup: impl FnOnce(&str) -> Result<(T, K), AuthError>,
) -> Result<(T, S3Payload), AuthError> {
    let get = |name: &'static str| {
        query_param(&req.query, name).ok_or(AuthError::PresignParam { name, what: "is missing from the query string".into() })
    };
    let algorithm = get("X-Amz-Algorithm")?;
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm { found: algorithm });
    }
    let auth = parse_parts(&get("X-Amz-Credential")?, &get("X-Amz-SignedHeaders")?, &get("X-Amz-Signature")?)?;
    auth.check_scope(region, S3)?;
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(AuthError::HeaderNotSigned { name: "host" });
    }
    let amz_date = get("X-Amz-Date")?;
    let when = parse_signing_date(&amz_date, &auth)?;
    let expires = get("X-Amz-Expires")?;
    let seconds = expires.parse::<i64>().ok().filter(|s| (1..=MAX_PRESIGN_SECONDS).contains(s)).ok_or_else(|| AuthError::PresignParam {
        name: "X-Amz-Expires",
        what: format!("'{expires}' is not a number of seconds from 1 to {MAX_PRESIGN_SECONDS}"),
    })?;
    not_in_the_future(&amz_date, when, now)?;
    if now > when + Duration::seconds(seconds) {
        return Err(AuthError::PresignExpired { amz_date, seconds });
    }
    let (found, key) = lookup(&auth.access_key_id)?;
    check_session_token(&key, query_param(&req.query, "X-Amz-Security-Token").as_deref(), &auth.access_key_id)?;
    let scope = auth.scope();
    let key_bytes = key.signing_key(&auth.scope_date, &auth.region, &auth.service);
    let verified = |uri: Uri<'_>| -> Result<bool, AuthError> {
        let creq = canonical_request_with(req, uri, Some("X-Amz-Signature"), &auth.signed_headers, UNSIGNED_PAYLOAD)?;
        Ok(signatures_match(&signature_hex(&key_bytes, &string_to_sign(&amz_date, &scope, &creq)), &auth.signature))
    };
    if !(verified(Uri::S3)? || (s3_canonical_uri(&req.path) != req.path && verified(Uri::Verbatim(&req.path))?)) {
        return Err(AuthError::SignatureMismatch);
    }
    Ok((found, S3Payload::Unsigned))
}

#[cfg(test)]
mod tests {
    //! The examples of S3's SigV4 documentation (header-signed GET and PUT, a presigned URL,
    //! a chunked upload), secret `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, 2013-05-24.

    use super::*;
    use crate::sigv4::{parse_amz_date, KeyMaterial};
    use crate::{SecretKey, SessionToken};

    const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn key(token: Option<&str>) -> KeyMaterial {
        KeyMaterial { secret: SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), session_token: token.map(SessionToken::new) }
    }

    fn req(method: &str, path: &str, query: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            payload: crate::Payload::Hash(EMPTY.into()),
        }
    }

    fn at(s: &str) -> OffsetDateTime {
        parse_amz_date(s).unwrap()
    }

    fn verify(r: &HttpRequest, now: &str) -> Result<S3Payload, AuthError> {
        verify_s3_request(r, "us-east-1", at(now), |id| {
            assert_eq!(id, KEY_ID);
            Ok(((), key(None)))
        })
        .map(|(_, p)| p)
    }

    fn auth(signed: &str, sig: &str) -> String {
        format!("AWS4-HMAC-SHA256 Credential={KEY_ID}/20130524/us-east-1/s3/aws4_request,SignedHeaders={signed},Signature={sig}")
    }

    #[test]
    fn documented_get_object_with_a_range_verifies() {
        let a = auth("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        let headers = [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", EMPTY), ("x-amz-date", "20130524T000000Z"), ("Authorization", a.as_str())];
        let r = req("GET", "/test.txt", "", &headers);
        assert!(matches!(verify(&r, "20130524T000100Z"), Ok(S3Payload::Sha256(h)) if h == EMPTY));
        // Another range, another key, another day, or no content hash: refused.
        let mut other = r.clone();
        other.headers[1].1 = "bytes=0-10".into();
        assert_eq!(verify(&other, "20130524T000100Z").unwrap_err(), AuthError::SignatureMismatch);
        let wrong = verify_s3_request(&r, "us-east-1", at("20130524T000100Z"), |_| Ok(((), KeyMaterial { secret: SecretKey::new("other"), session_token: None })));
        assert_eq!(wrong.unwrap_err(), AuthError::SignatureMismatch);
        assert!(matches!(verify(&r, "20130525T000000Z").unwrap_err(), AuthError::SignatureExpired { .. }));
        let mut bare = r.clone();
        bare.headers.retain(|(k, _)| k != "x-amz-content-sha256");
        assert_eq!(verify(&bare, "20130524T000100Z").unwrap_err(), AuthError::MissingContentSha256);
    }

    #[test]
    fn documented_put_object_verifies_and_hands_back_the_body_hash() {
        let body_hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
        let a = auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
        let headers = [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", body_hash),
            ("Authorization", a.as_str()),
        ];
        let r = req("PUT", "/test%24file.text", "", &headers);
        assert!(matches!(verify(&r, "20130524T000000Z"), Ok(S3Payload::Sha256(h)) if h == body_hash));
    }

    #[test]
    fn documented_presigned_url_verifies_until_it_expires() {
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        let r = req("GET", "/test.txt", q, &[("Host", "examplebucket.s3.amazonaws.com")]);
        assert!(matches!(verify(&r, "20130524T230000Z"), Ok(S3Payload::Unsigned)));
        assert!(matches!(verify(&r, "20130525T000001Z").unwrap_err(), AuthError::PresignExpired { seconds: 86400, .. }));
        assert!(matches!(verify(&r, "20130523T230000Z").unwrap_err(), AuthError::SignatureNotYetCurrent { .. }));
        let tampered = req("GET", "/other.txt", q, &[("Host", "examplebucket.s3.amazonaws.com")]);
        assert_eq!(verify(&tampered, "20130524T000100Z").unwrap_err(), AuthError::SignatureMismatch);
        let long = req("GET", "/test.txt", &q.replace("Expires=86400", "Expires=604801"), &[("Host", "examplebucket.s3.amazonaws.com")]);
        assert!(matches!(verify(&long, "20130524T000100Z").unwrap_err(), AuthError::PresignParam { name: "X-Amz-Expires", .. }));
        let bare = req("GET", "/test.txt", &q.replace("&X-Amz-Date=20130524T000000Z", ""), &[("Host", "examplebucket.s3.amazonaws.com")]);
        assert!(matches!(verify(&bare, "20130524T000100Z").unwrap_err(), AuthError::PresignParam { name: "X-Amz-Date", .. }));
        // A temporary key's URL must carry its token.
        let session = verify_s3_request(&r, "us-east-1", at("20130524T000100Z"), |_| Ok(((), key(Some("tok")))));
        assert!(matches!(session.unwrap_err(), AuthError::MissingSecurityToken { .. }));
    }

    #[test]
    fn signing_for_s3_round_trips_through_verification() {
        let mut r = req("PUT", "/models/a%20b/model.tar.gz", "", &[("Host", "127.0.0.1:4747")]);
        r.payload = crate::Payload::Bytes(b"model bytes".to_vec());
        let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        sign_s3_request(&mut r, KEY_ID, &secret, None, "us-east-1", at("20130524T000000Z")).unwrap();
        assert!(matches!(verify(&r, "20130524T000000Z"), Ok(S3Payload::Sha256(h)) if h == sha256_hex(b"model bytes")));
        // The standard (double-encoding) signer's canonical path differs for such a key.
        let mut standard = req("PUT", "/models/a%20b/model.tar.gz", "", &[("Host", "127.0.0.1:4747"), ("x-amz-content-sha256", EMPTY)]);
        crate::sigv4::sign_request(&mut standard, KEY_ID, &secret, None, "us-east-1", "s3", at("20130524T000000Z")).unwrap();
        assert_eq!(verify(&standard, "20130524T000000Z").unwrap_err(), AuthError::SignatureMismatch);
    }

    #[test]
    fn documented_chunked_upload_verifies_chunk_by_chunk() {
        let a = auth(
            "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        );
        let headers = [
            ("Host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", STREAMING_SIGNED),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("Content-Length", "66824"),
            ("Authorization", a.as_str()),
        ];
        let r = req("PUT", "/examplebucket/chunkObject.txt", "", &headers);
        let Ok(S3Payload::SignedChunks(mut chunks)) = verify(&r, "20130524T000000Z") else { panic!("not a chunked payload") };
        let mut replay = ChunkVerifier { key: chunks.key, amz_date: chunks.amz_date.clone(), scope: chunks.scope.clone(), previous: chunks.previous.clone(), chunks: 0 };
        let mut signer = ChunkSigner::new(&SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), "us-east-1", "20130524T000000Z", "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
        assert_eq!(signer.sign(&[b'a'; 65536]), "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
        chunks.verify_chunk("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648", &[b'a'; 65536]).unwrap();
        chunks.verify_chunk("0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497", &[b'a'; 1024]).unwrap();
        chunks.verify_chunk("b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9", b"").unwrap();
        // The chain is ordered: the second chunk's signature does not fit in first place.
        assert_eq!(replay.verify_chunk("0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497", &[b'a'; 1024]), Err(AuthError::ChunkSignatureMismatch { chunk: 1 }));
    }
}
