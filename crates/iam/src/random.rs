//! Randomness for ids and secrets, from the operating system's generator (the `getrandom`
//! crate), never from a seeded one. Every part of the server draws from here.
//!
//! The functions do not return errors: without an OS generator no secret can be made safely,
//! so they panic with the reason (as at startup on a system that has none).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Fills `buf` from the OS generator.
pub fn fill(buf: &mut [u8]) {
    getrandom::getrandom(buf).expect("the operating system's random generator is available");
}

/// `n` random bytes.
pub fn bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    fill(&mut b);
    b
}

/// `n` random bytes as lowercase hex.
pub fn hex_id(n: usize) -> String {
    hex::encode(bytes(n))
}

/// `n` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
pub fn string_from(alphabet: &[u8], n: usize) -> String {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in bytes(n * 2) {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

pub const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
pub const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const PASSWORD_CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
pub const DIGITS: &[u8] = b"0123456789";

/// A UUID (version 4) in its usual text form.
pub fn uuid() -> String {
    let mut b = bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    dashed(&hex::encode(b))
}

/// `8-4-4-4-12` of 32 hex digits.
fn dashed(h: &str) -> String {
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A request id shaped like AWS's (`8-4-4-4-12` lowercase hex), unique within the process: a
/// per-process random seed and a counter, so the request path makes no system call. Not a
/// secret.
pub fn request_id() -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let mut b = [0u8; 8];
        fill(&mut b);
        u64::from_le_bytes(b)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let (a, b) = (splitmix(seed ^ n), splitmix(seed.rotate_left(17) ^ n));
    dashed(&format!("{a:016x}{b:016x}"))
}

/// `n` random lowercase letters and digits (for name suffixes).
pub fn short_id(n: usize) -> String {
    string_from(LOWER_ALNUM, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_strings_are_shaped_and_differ() {
        let a = string_from(UPPER_ALNUM, 16);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| UPPER_ALNUM.contains(&c)));
        assert_ne!(a, string_from(UPPER_ALNUM, 16));
        let (r1, r2) = (request_id(), request_id());
        assert_ne!(r1, r2);
        assert_eq!((r1.len(), r1.matches('-').count()), (36, 4));
        let u = uuid();
        assert_eq!((u.len(), &u[14..15]), (36, "4"));
        assert_ne!(u, uuid());
        let s = short_id(8);
        assert!(s.len() == 8 && s.bytes().all(|c| LOWER_ALNUM.contains(&c)));
        assert_eq!(hex_id(4).len(), 8);
    }
}
