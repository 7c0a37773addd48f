//! Ids: request ids (a per-process random seed and a counter, so the hot path makes no system
//! call) and short random suffixes for job names (from the operating system).

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

fn os_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).is_err() {
        // No /dev/urandom: fall back to the clock and pid, still unique enough for names.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let mix = t ^ ((std::process::id() as u128) << 64);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (mix >> ((i % 16) * 8)) as u8;
        }
    }
    buf
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A request id shaped like AWS's (`8-4-4-4-12` lowercase hex), unique within the process.
pub fn request_id() -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| u64::from_le_bytes(os_bytes::<8>()));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let (a, b) = (splitmix(seed ^ n), splitmix(seed.rotate_left(17) ^ n));
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        let word = if i < 16 { a } else { b };
        let nibble = (word >> (60 - 4 * (i % 16))) & 15;
        out.push(HEX[nibble as usize] as char);
    }
    out
}

/// `n` (≤ 32) random lowercase letters and digits.
pub fn short_id(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    os_bytes::<32>().iter().take(n).map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_shaped() {
        let (a, b) = (super::request_id(), super::request_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        let s = super::short_id(8);
        assert_eq!(s.len(), 8);
        assert!(s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }
}
