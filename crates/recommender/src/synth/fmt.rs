//! Hand-rolled number formatting into byte buffers: 25M `format!` calls would cost more than
//! generating the data.

/// Appends the decimal digits of `v`.
#[inline]
pub(super) fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[at..]);
}

/// Appends a rating given in half stars (1 = 0.5 … 10 = 5.0) as MovieLens writes it: `3.5`, `4.0`.
#[inline]
pub(super) fn push_half_stars(buf: &mut Vec<u8>, half: u8) {
    buf.extend_from_slice(&[b'0' + half / 2, b'.', if half % 2 == 1 { b'5' } else { b'0' }]);
}

/// Appends a CSV field, quoted (with inner quotes doubled) only when it needs to be.
pub(super) fn push_csv_field(buf: &mut Vec<u8>, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        buf.push(b'"');
        for b in text.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_std() {
        let mut buf = Vec::new();
        for v in [0u64, 7, 10, 1_574_327_703, u64::MAX] {
            buf.clear();
            push_u64(&mut buf, v);
            assert_eq!(buf, v.to_string().into_bytes());
        }
        for half in 1..=10u8 {
            buf.clear();
            push_half_stars(&mut buf, half);
            assert_eq!(buf, format!("{:.1}", f32::from(half) / 2.0).into_bytes());
        }
        buf.clear();
        push_csv_field(&mut buf, "Say \"Hi\", The (1999)");
        assert_eq!(buf, b"\"Say \"\"Hi\"\", The (1999)\"".to_vec());
    }
}
