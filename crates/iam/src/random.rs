//! Randomness for ids and secrets, read from the operating system (`/dev/urandom`), never from a
//! seeded generator.

use std::fs::File;
use std::io::Read;

use crate::IamError;

/// Fills a buffer of `n` bytes from `/dev/urandom`.
pub(crate) fn bytes(n: usize) -> Result<Vec<u8>, IamError> {
    let mut buf = vec![0u8; n];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| IamError::Internal(format!("reading /dev/urandom: {e}")))?;
    Ok(buf)
}

/// `n` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
pub(crate) fn string_from(alphabet: &[u8], n: usize) -> Result<String, IamError> {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in bytes(n * 2)? {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

pub(crate) const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub(crate) const SECRET_CHARS: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub(crate) const DIGITS: &[u8] = b"0123456789";

/// A request id shaped like AWS's (`8-4-4-4-12` lowercase hex).
pub(crate) fn request_id() -> Result<String, IamError> {
    let h = hex::encode(bytes(16)?);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_use_only_the_alphabet_and_differ() {
        let a = string_from(UPPER_ALNUM, 16).unwrap();
        let b = string_from(UPPER_ALNUM, 16).unwrap();
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| UPPER_ALNUM.contains(&c)));
        assert_ne!(a, b);
        assert_eq!(request_id().unwrap().len(), 36);
    }
}
