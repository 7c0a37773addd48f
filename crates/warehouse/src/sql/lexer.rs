//! Snowflake SQL tokens: words, quoted identifiers, strings (`'..'` with `''` and backslash
//! escapes, `$$..$$`), numbers, operators, bind markers, comments (`--`, `//`, `/* */`).

use crate::WarehouseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An unquoted identifier or keyword, as written.
    Word(String),
    /// A `"quoted"` identifier, unescaped.
    Quoted(String),
    /// A string literal, unescaped.
    Str(String),
    Number(String),
    /// `?`, `:1`, `$1` or `:name`.
    Bind(String),
    /// Punctuation and operators: `( ) , . ; : :: = <> != <= >= || -> ->> => + - * / % [ ] { }`.
    Op(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Byte range in the source.
    pub start: usize,
    pub end: usize,
}

impl Tok {
    /// True for an unquoted word equal (ignoring case) to `kw`.
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    pub fn is_op(&self, op: &str) -> bool {
        matches!(self, Tok::Op(o) if o == op)
    }
}

const OPS3: [&str; 1] = ["->>"];
const OPS2: [&str; 9] = ["::", "<>", "!=", "<=", ">=", "||", "->", "=>", "=="];

/// Splits `src` into tokens, dropping whitespace and comments.
pub fn lex(src: &str) -> Result<Vec<Token>, WarehouseError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if (c == b'-' && b.get(i + 1) == Some(&b'-')) || (c == b'/' && b.get(i + 1) == Some(&b'/')) {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = src[i + 2..]
                .find("*/")
                .ok_or_else(|| WarehouseError::Syntax("unterminated comment '/*'".into()))?;
            i = i + 2 + end + 2;
            continue;
        }
        let tok = if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
                i += 1;
            }
            Tok::Word(src[start..i].to_string())
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                let mut j = i + 1;
                if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    i = j;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            Tok::Number(src[start..i].to_string())
        } else if c == b'"' {
            let (s, next) = quoted(src, i, b'"')?;
            i = next;
            Tok::Quoted(s)
        } else if c == b'\'' {
            let (s, next) = string_literal(src, i)?;
            i = next;
            Tok::Str(s)
        } else if c == b'$' && b.get(i + 1) == Some(&b'$') {
            let end = src[i + 2..]
                .find("$$")
                .ok_or_else(|| WarehouseError::Syntax("unterminated string '$$'".into()))?;
            let s = src[i + 2..i + 2 + end].to_string();
            i = i + 2 + end + 2;
            Tok::Str(s)
        } else if c == b'$' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            Tok::Bind(src[start..i].to_string())
        } else if c == b'?' {
            i += 1;
            Tok::Bind("?".into())
        } else {
            let rest = &src[i..];
            let op = OPS3
                .iter()
                .chain(OPS2.iter())
                .find(|op| rest.starts_with(**op))
                .map(|s| s.to_string());
            let op = match op {
                Some(op) => op,
                None if "(),.;:=<>+-*/%[]{}!|&^~@".contains(c as char) => (c as char).to_string(),
                None => {
                    let ch = src[i..].chars().next().unwrap_or('?');
                    return Err(WarehouseError::Syntax(format!(
                        "line {} at position {} unexpected '{ch}'",
                        line_of(src, i),
                        col_of(src, i)
                    )));
                }
            };
            i += op.len();
            Tok::Op(op)
        };
        out.push(Token { tok, start, end: i });
    }
    Ok(out)
}

fn line_of(src: &str, pos: usize) -> usize {
    src[..pos].matches('\n').count() + 1
}

fn col_of(src: &str, pos: usize) -> usize {
    pos - src[..pos].rfind('\n').map(|p| p + 1).unwrap_or(0)
}

/// `"..."` with `""` for a quote.
fn quoted(src: &str, start: usize, q: u8) -> Result<(String, usize), WarehouseError> {
    let b = src.as_bytes();
    let mut i = start + 1;
    let mut s = String::new();
    let mut seg = i;
    loop {
        if i >= b.len() {
            return Err(WarehouseError::Syntax(format!(
                "unterminated quoted identifier starting at line {}",
                line_of(src, start)
            )));
        }
        if b[i] == q {
            s.push_str(&src[seg..i]);
            if b.get(i + 1) == Some(&q) {
                s.push(q as char);
                i += 2;
                seg = i;
                continue;
            }
            return Ok((s, i + 1));
        }
        i += 1;
    }
}

/// `'...'` with `''` and Snowflake's backslash escapes.
fn string_literal(src: &str, start: usize) -> Result<(String, usize), WarehouseError> {
    let mut s = String::new();
    let mut chars = src[start + 1..].char_indices().peekable();
    while let Some((off, c)) = chars.next() {
        match c {
            '\'' => {
                if let Some((_, '\'')) = chars.peek() {
                    chars.next();
                    s.push('\'');
                } else {
                    return Ok((s, start + 1 + off + 1));
                }
            }
            '\\' => match chars.next() {
                Some((_, 'n')) => s.push('\n'),
                Some((_, 't')) => s.push('\t'),
                Some((_, 'r')) => s.push('\r'),
                Some((_, '0')) => s.push('\0'),
                Some((_, 'b')) => s.push('\u{8}'),
                Some((_, 'f')) => s.push('\u{c}'),
                Some((_, other)) => s.push(other),
                None => break,
            },
            other => s.push(other),
        }
    }
    Err(WarehouseError::Syntax(format!(
        "unterminated string literal starting at line {}",
        line_of(src, start)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn strings_identifiers_and_comments() {
        assert_eq!(
            toks("select 'it''s', \"My \"\"T\"\"\" -- c\n/* x */ from t // y"),
            vec![
                Tok::Word("select".into()),
                Tok::Str("it's".into()),
                Tok::Op(",".into()),
                Tok::Quoted("My \"T\"".into()),
                Tok::Word("from".into()),
                Tok::Word("t".into()),
            ]
        );
        assert_eq!(toks(r"'a\'b\n'"), vec![Tok::Str("a'b\n".into())]);
        assert_eq!(toks("$$x;y$$"), vec![Tok::Str("x;y".into())]);
    }

    #[test]
    fn operators_and_numbers() {
        assert_eq!(
            toks("v:a::int >= 1.5e3"),
            vec![
                Tok::Word("v".into()),
                Tok::Op(":".into()),
                Tok::Word("a".into()),
                Tok::Op("::".into()),
                Tok::Word("int".into()),
                Tok::Op(">=".into()),
                Tok::Number("1.5e3".into()),
            ]
        );
    }

    #[test]
    fn unterminated_string_is_an_error() {
        assert!(matches!(lex("select 'abc"), Err(WarehouseError::Syntax(_))));
    }
}
