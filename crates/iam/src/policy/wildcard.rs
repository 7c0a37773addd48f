//! `*` and `?` wildcard matching, as IAM uses it for actions, resources and `...Like` conditions.

/// Does `text` match `pattern`, where `*` is any run of characters (possibly empty) and `?` is
/// exactly one character? Matching is by `char`; `ignore_case` folds ASCII case (actions).
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        // One byte is one char: match the bytes in place (every request evaluates policies).
        return match_slices(pattern.as_bytes(), text.as_bytes(), b'*', b'?', |a, b| {
            if ignore_case {
                a.eq_ignore_ascii_case(&b)
            } else {
                a == b
            }
        });
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    match_slices(&p, &t, '*', '?', |a, b| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    })
}

fn match_slices<T: Copy + PartialEq>(p: &[T], t: &[T], star: T, any: T, eq: impl Fn(T, T) -> bool) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None; // (pattern index after '*', text index)
    while ti < t.len() {
        if pi < p.len() && p[pi] == star {
            backtrack = Some((pi + 1, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == any || eq(p[pi], t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some((bp, bt)) = backtrack {
            pi = bp;
            ti = bt + 1;
            backtrack = Some((bp, bt + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == star)
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn table() {
        let cases = [
            ("*", "", false, true),
            ("*", "anything", false, true),
            ("s3:Get*", "s3:GetObject", false, true),
            ("s3:get*", "S3:GetObject", true, true),
            ("s3:get*", "s3:GetObject", false, false),
            (
                "arn:aws:s3:::bucket/*",
                "arn:aws:s3:::bucket/a/b",
                false,
                true,
            ),
            ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false, false),
            ("a?c", "abc", false, true),
            ("a?c", "ac", false, false),
            ("a*b*c", "aXXbYYc", false, true),
            ("a*b*c", "aXXbYY", false, false),
            ("*.txt", "x.txt.bak", false, false),
            ("\u{1234}?", "\u{1234}\u{5678}", false, true),
            ("a?", "a\u{e9}", false, true),
            ("a??", "a\u{e9}", false, false),
            ("*\u{e9}", "x\u{e9}", false, true),
            ("EXECUTE-API:*", "execute-api:Invoke", true, true),
            ("", "", false, true),
            ("", "x", false, false),
            ("**", "", false, true),
        ];
        for (p, t, ci, want) in cases {
            assert_eq!(wildcard_match(p, t, ci), want, "{p} ~ {t}");
        }
    }
}
