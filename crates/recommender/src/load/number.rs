//! Numbers straight from bytes, without building a `String` per field.
//!
//! The common shapes (`123`, `4.5`) take a hand-written fast path; anything else (exponents,
//! long digit strings, `inf`) falls back to the standard library's parser on the same bytes, so
//! the fast path never changes what is accepted, only how quickly.

use super::error::{shown, Field, LineProblem};

/// Why a field is not a valid number; turned into a [`LineProblem`] by [`NumError::at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    NotANumber,
    NotWhole,
    OutOfRange,
}

impl NumError {
    pub(crate) fn at(self, field: Field, bytes: &[u8]) -> LineProblem {
        let text = shown(bytes);
        match self {
            NumError::NotANumber => LineProblem::NotANumber { field, text },
            NumError::NotWhole => LineProblem::NotWhole { field, text },
            NumError::OutOfRange => LineProblem::OutOfRange { field, text },
        }
    }
}

/// Exact powers of ten as f64 (all below 2^53, so `mantissa / POW10[k]` is correctly rounded).
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Splits an optional leading sign off.
fn sign(s: &[u8]) -> (bool, &[u8]) {
    match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// Reads leading ASCII digits as a u64 (at most 18 of them, which cannot overflow); returns the
/// value and how many digits were used.
fn digits(s: &[u8]) -> (u64, usize) {
    let mut v = 0u64;
    let mut n = 0;
    while n < s.len() && n < 18 && s[n].is_ascii_digit() {
        v = v * 10 + u64::from(s[n] - b'0');
        n += 1;
    }
    (v, n)
}

/// A raw id. Integers are taken as they are; a float spelling of a whole number (`1.0`, `1.`,
/// `1e3`) is accepted because warehouse exports write integer columns that way; `1.5` is not.
pub(crate) fn parse_id(s: &[u8]) -> Result<i64, NumError> {
    let (neg, body) = sign(s);
    let (v, n) = digits(body);
    if n > 0 {
        let rest = &body[n..];
        let whole = rest.is_empty()
            || (rest[0] == b'.' && rest[1..].iter().all(|&b| b == b'0'));
        if whole && n < 18 {
            let v = v as i64;
            return Ok(if neg { -v } else { v });
        }
    }
    parse_id_slow(s)
}

#[cold]
fn parse_id_slow(s: &[u8]) -> Result<i64, NumError> {
    let text = std::str::from_utf8(s).map_err(|_| NumError::NotANumber)?;
    // Long integers (with an optional `.000` tail) must stay exact, so try i64 before f64.
    let int_part = match text.find('.') {
        Some(dot) if text[dot + 1..].bytes().all(|b| b == b'0') => &text[..dot],
        _ => text,
    };
    let (_, body) = sign(int_part.as_bytes());
    if !body.is_empty() && body.iter().all(u8::is_ascii_digit) {
        return int_part.parse::<i64>().map_err(|_| NumError::OutOfRange);
    }
    let x: f64 = text.parse().map_err(|_| NumError::NotANumber)?;
    if !x.is_finite() {
        return Err(NumError::NotANumber);
    }
    if x.fract() != 0.0 {
        return Err(NumError::NotWhole);
    }
    // 2^63 is exactly representable; anything at or past it does not fit in an i64.
    if x.abs() >= 9_223_372_036_854_775_808.0 {
        return Err(NumError::OutOfRange);
    }
    Ok(x as i64)
}

/// A rating: any finite number that fits an f32.
pub(crate) fn parse_rating(s: &[u8]) -> Result<f32, NumError> {
    let (neg, body) = sign(s);
    let (int, n) = digits(body);
    let rest = &body[n..];
    if n > 0 && n <= 15 {
        if rest.is_empty() {
            let v = int as f64;
            return Ok((if neg { -v } else { v }) as f32);
        }
        if rest[0] == b'.' {
            let frac = &rest[1..];
            let (f, m) = digits(frac);
            if m == frac.len() && n + m <= 15 {
                let v = (int * 10u64.pow(m as u32) + f) as f64 / POW10[m];
                return Ok((if neg { -v } else { v }) as f32);
            }
        }
    }
    parse_rating_slow(s)
}

#[cold]
fn parse_rating_slow(s: &[u8]) -> Result<f32, NumError> {
    let text = std::str::from_utf8(s).map_err(|_| NumError::NotANumber)?;
    let x: f64 = text.parse().map_err(|_| NumError::NotANumber)?;
    if !x.is_finite() {
        return Err(NumError::NotANumber);
    }
    let v = x as f32;
    if !v.is_finite() {
        return Err(NumError::OutOfRange);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(parse_id(b"17"), Ok(17));
        assert_eq!(parse_id(b"-3"), Ok(-3));
        assert_eq!(parse_id(b"+3"), Ok(3));
        assert_eq!(parse_id(b"1.0"), Ok(1));
        assert_eq!(parse_id(b"1."), Ok(1));
        assert_eq!(parse_id(b"2.000"), Ok(2));
        assert_eq!(parse_id(b"1e3"), Ok(1000));
        assert_eq!(parse_id(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_id(b"123456789012345678901.0"), Err(NumError::OutOfRange));
        assert_eq!(parse_id(b"1.5"), Err(NumError::NotWhole));
        assert_eq!(parse_id(b"abc"), Err(NumError::NotANumber));
        assert_eq!(parse_id(b""), Err(NumError::NotANumber));
        assert_eq!(parse_id(b"-"), Err(NumError::NotANumber));
        assert_eq!(parse_id(b"nan"), Err(NumError::NotANumber));
        assert_eq!(parse_id(b"1 2"), Err(NumError::NotANumber));
    }

    #[test]
    fn ratings() {
        assert_eq!(parse_rating(b"4"), Ok(4.0));
        assert_eq!(parse_rating(b"3.5"), Ok(3.5));
        assert_eq!(parse_rating(b"0.1"), Ok(0.1));
        assert_eq!(parse_rating(b"-2.25"), Ok(-2.25));
        assert_eq!(parse_rating(b"4."), Ok(4.0));
        assert_eq!(parse_rating(b".5"), Ok(0.5));
        assert_eq!(parse_rating(b"5e-1"), Ok(0.5));
        assert_eq!(parse_rating(b"abc"), Err(NumError::NotANumber));
        assert_eq!(parse_rating(b"NaN"), Err(NumError::NotANumber));
        assert_eq!(parse_rating(b"inf"), Err(NumError::NotANumber));
        assert_eq!(parse_rating(b"1e300"), Err(NumError::OutOfRange));
        assert_eq!(parse_rating(b""), Err(NumError::NotANumber));
    }

    #[test]
    fn fast_path_matches_std() {
        for text in ["0.5", "1.25", "3.3333333", "4.999999999", "0.30000000000000004", "12345"] {
            let std: f64 = text.parse().unwrap();
            assert_eq!(parse_rating(text.as_bytes()), Ok(std as f32), "{text}");
        }
    }
}
