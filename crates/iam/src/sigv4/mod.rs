//! AWS Signature Version 4 for header-signed requests of any service: the canonical request, the
//! string to sign, the derived key, signing ([`sign`]) and verification ([`verify_request`]).
//!
//! Paths are taken as they travel on the wire (already percent-encoded) and are normalised and
//! encoded once more, as every service but S3 does ("double encoding"); S3's dialect (single
//! encoding, unsigned and chunk-signed payloads, presigned URLs) is [`s3`]'s.

mod canonical;
mod error;
pub mod s3;
mod sign;
mod time_fmt;
mod verify;

pub use canonical::{
    canonical_query, canonical_request, canonical_uri, normalize_path, s3_canonical_uri, uri_encode,
};
pub use error::AuthError;
pub use sign::{sign, sign_request, signing_key, string_to_sign, Signed};
pub use time_fmt::{format_amz_date, format_iso8601, parse_amz_date};
pub use verify::{
    parse_authorization, verify_request, verify_request_with, KeyMaterial, ParsedAuthorization,
    SigningSecret, MAX_SKEW,
};

use sha2::{Digest, Sha256};

/// A request as plain data, the unit that is signed and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path as received (percent-encoded as on the wire), without the query.
    pub path: String,
    /// The raw query string, without `?` (empty if none).
    pub query: String,
    /// Header names in any case, in arrival order; a name may repeat.
    pub headers: Vec<(String, String)>,
    pub payload: Payload,
}

/// The request body, or only its SHA-256 when the caller hashed it already.
#[derive(Clone, PartialEq, Eq)]
pub enum Payload {
    Bytes(Vec<u8>),
    /// Lowercase hex SHA-256 of the body.
    Hash(String),
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Payload::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Payload::Hash(h) => write!(f, "Hash({h})"),
        }
    }
}

impl HttpRequest {
    /// All values of header `name` (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex32(&Sha256::digest(data).into())
}

/// Lowercase hex of 32 bytes (`hex::encode` goes through a char iterator; this is on every
/// request's path several times).
pub(crate) fn hex32(bytes: &[u8; 32]) -> String {
    let mut out = [0u8; 64];
    hex::encode_to_slice(bytes, &mut out).expect("32 bytes fill 64 hex digits");
    String::from_utf8(out.to_vec()).expect("hex digits are ASCII")
}

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub(crate) const TERMINATOR: &str = "aws4_request";
