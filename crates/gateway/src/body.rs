//! Request bodies: capped before anything hashes or parses them, `Content-Encoding` undone under
//! a second cap, `Content-MD5` checked, and answers gzipped when the caller accepts it.

use std::io::{Read, Write};

use axum::body::Body;
use axum::http::HeaderMap;
use base64::Engine;
use bytes::Bytes;
use md5::{Digest, Md5};

use crate::error::GatewayError;

/// API Gateway's payload limit.
pub const MAX_BODY: usize = 10 * 1024 * 1024;
/// The most a compressed body may expand to.
pub const MAX_DECODED: usize = 64 * 1024 * 1024;

/// Reads at most `limit` bytes of `body`: a `Content-Length` above it is refused before reading,
/// and a body that turns out longer is cut off at `limit + 1`.
pub async fn read_capped(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    let declared = headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| GatewayError::PayloadTooLarge { limit })
}

fn read_limited(mut r: impl Read, encoding: &'static str, limit: usize) -> Result<Vec<u8>, GatewayError> {
    let mut out = Vec::new();
    (&mut r).take(limit as u64 + 1).read_to_end(&mut out).map_err(|e| GatewayError::BadCompressedBody { encoding, detail: e.to_string() })?;
    if out.len() > limit {
        return Err(GatewayError::DecodedTooLarge { encoding, limit });
    }
    Ok(out)
}

/// Undoes `Content-Encoding` (gzip, deflate as zlib or raw, identity), at most `limit` bytes out.
pub fn decode(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, GatewayError> {
    let encoding = headers.get("content-encoding").map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase()).unwrap_or_default();
    match encoding.as_str() {
        "" | "identity" => Ok(body),
        "gzip" | "x-gzip" => read_limited(flate2::read::MultiGzDecoder::new(&body[..]), "gzip", limit).map(Bytes::from),
        "deflate" => match read_limited(flate2::read::ZlibDecoder::new(&body[..]), "deflate", limit) {
            Err(GatewayError::BadCompressedBody { .. }) => read_limited(flate2::read::DeflateDecoder::new(&body[..]), "deflate", limit).map(Bytes::from),
            other => other.map(Bytes::from),
        },
        _ => Err(GatewayError::UnsupportedEncoding { encoding: encoding.clone() }),
    }
}

/// Checks an optional `Content-MD5` (base64 MD5 of the body as sent).
pub fn check_md5(headers: &HeaderMap, wire_body: &[u8]) -> Result<(), GatewayError> {
    let Some(declared) = headers.get("content-md5") else { return Ok(()) };
    let declared = declared.to_str().unwrap_or("").trim().to_string();
    let computed = base64::engine::general_purpose::STANDARD.encode(Md5::digest(wire_body));
    if declared != computed {
        return Err(GatewayError::ContentMd5Mismatch { declared, computed });
    }
    Ok(())
}

/// Whether `Accept-Encoding` allows gzip (`gzip` or `*` with a non-zero q).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all("accept-encoding").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts.find_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>().unwrap_or(0.0))).unwrap_or(1.0);
        (coding == "gzip" || coding == "x-gzip" || coding == "*") && q > 0.0
    })
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4 + 64), flate2::Compression::fast());
    enc.write_all(data).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn encodings_round_trip_and_bombs_are_capped() {
        let data = b"{\"data\": [[0, 1]]}".repeat(100);
        let gz = Bytes::from(gzip(&data));
        assert_eq!(decode(&headers(&[("content-encoding", "gzip")]), gz.clone(), MAX_DECODED).unwrap(), &data[..]);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&data).unwrap();
        assert_eq!(decode(&headers(&[("content-encoding", "deflate")]), z.finish().unwrap().into(), MAX_DECODED).unwrap(), &data[..]);
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(&data).unwrap();
        assert_eq!(decode(&headers(&[("content-encoding", "deflate")]), raw.finish().unwrap().into(), MAX_DECODED).unwrap(), &data[..]);
        let bomb = Bytes::from(gzip(&vec![b' '; 2_000_000]));
        assert!(matches!(decode(&headers(&[("content-encoding", "gzip")]), bomb, 1_000_000), Err(GatewayError::DecodedTooLarge { limit: 1_000_000, .. })));
        assert!(matches!(decode(&headers(&[("content-encoding", "gzip")]), Bytes::from_static(b"not gzip"), 100), Err(GatewayError::BadCompressedBody { .. })));
        assert!(matches!(decode(&headers(&[("content-encoding", "br")]), Bytes::new(), 100), Err(GatewayError::UnsupportedEncoding { .. })));
    }

    #[test]
    fn accept_encoding_is_read_with_q_values() {
        assert!(accepts_gzip(&headers(&[("accept-encoding", "gzip")])));
        assert!(accepts_gzip(&headers(&[("accept-encoding", "deflate, gzip;q=0.5")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "identity")])));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn content_md5_must_match_when_present() {
        // RFC 1864's example value for an empty body is MD5("") = 1B2M2Y8AsgTpgAmY7PhCfg==.
        assert!(check_md5(&headers(&[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")]), b"").is_ok());
        assert!(check_md5(&headers(&[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")]), b"x").is_err());
        assert!(check_md5(&HeaderMap::new(), b"x").is_ok());
    }
}
