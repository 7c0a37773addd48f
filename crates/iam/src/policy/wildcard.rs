//! `*` and `?` wildcard matching, as IAM uses it for actions, resources and `...Like` conditions.

/// Does `text` match `pattern`, where `*` is any run of characters (possibly empty) and `?` is
/// exactly one character? Matching is by `char`; `ignore_case` folds ASCII case (actions).
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None; // (pattern index after '*', text index)
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi + 1, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || eq(p[pi], t[ti])) {
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
    p[pi..].iter().all(|&c| c == '*')
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
        ];
        for (p, t, ci, want) in cases {
            assert_eq!(wildcard_match(p, t, ci), want, "{p} ~ {t}");
        }
    }
}
