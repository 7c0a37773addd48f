//! Snowflake SQL tokens for the code that reads a statement token by token (script splitting,
//! bind markers, the named fallbacks, stage statements). The scanning is `sqlparser`'s tokenizer
//! with its `SnowflakeDialect`, the same one [`super::front`] parses with; this module maps its
//! tokens onto [`Tok`] with byte offsets into the source, dropping whitespace and comments
//! (`--`, `//`, `/* */`).

use sqlparser::dialect::SnowflakeDialect;
use sqlparser::tokenizer::{Location, Token as SqlToken, Tokenizer};

use crate::WarehouseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An unquoted identifier or keyword, as written.
    Word(String),
    /// A `"quoted"` identifier, unescaped.
    Quoted(String),
    /// A string literal (`'..'` with `''` and backslash escapes, `$$..$$`), unescaped.
    Str(String),
    Number(String),
    /// `?`, `$1` or `$name`. (`:1` stays `:` and a number: whether it is a marker or a
    /// VARIANT path depends on what stands before it, see `connector::binds`.)
    Bind(String),
    /// Punctuation and operators: `( ) , . ; : :: = <> <= >= || -> ->> => + - * / % [ ] { }`.
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

/// Splits `src` into tokens, dropping whitespace and comments.
pub fn lex(src: &str) -> Result<Vec<Token>, WarehouseError> {
    let spanned = Tokenizer::new(&SnowflakeDialect {}, src).tokenize_with_location().map_err(|e| {
        WarehouseError::Syntax(format!("line {} at position {} {}", e.location.line, e.location.column.saturating_sub(1), e.message))
    })?;
    let mut at = Offsets::new(src);
    let mut out = Vec::with_capacity(spanned.len());
    for t in spanned {
        let start = at.byte(t.span.start);
        let end = at.byte(t.span.end);
        let tok = match t.token {
            SqlToken::Whitespace(_) | SqlToken::EOF => continue,
            SqlToken::Word(w) if w.quote_style == Some('"') => Tok::Quoted(w.value),
            SqlToken::Word(w) if w.quote_style.is_none() => Tok::Word(w.value),
            SqlToken::Number(n, _) => Tok::Number(n),
            SqlToken::SingleQuotedString(s) => Tok::Str(s),
            SqlToken::DollarQuotedString(d) if d.tag.is_none() => Tok::Str(d.value),
            // A binary literal `X'0A'` has no token of its own here: it stays one word as written.
            SqlToken::HexStringLiteral(_) => Tok::Word(src[start..end].to_string()),
            SqlToken::Placeholder(p) => Tok::Bind(p),
            SqlToken::Char(_) | SqlToken::Backslash => return Err(unexpected(src, start, at.line_of(start))),
            op if is_operator(&op) => Tok::Op(op.to_string()),
            // Quoted forms Snowflake does not have (`N'..'`, `E'..'`, tagged `$t$..$t$`, ...).
            _ => return Err(unexpected(src, start, at.line_of(start))),
        };
        out.push(Token { tok, start, end });
    }
    Ok(out)
}

/// The tokens that are punctuation or operators (everything but words, literals and markers).
fn is_operator(t: &SqlToken) -> bool {
    !matches!(
        t,
        SqlToken::Word(_)
            | SqlToken::Number(..)
            | SqlToken::Char(_)
            | SqlToken::SingleQuotedString(_)
            | SqlToken::DoubleQuotedString(_)
            | SqlToken::TripleSingleQuotedString(_)
            | SqlToken::TripleDoubleQuotedString(_)
            | SqlToken::DollarQuotedString(_)
            | SqlToken::SingleQuotedByteStringLiteral(_)
            | SqlToken::DoubleQuotedByteStringLiteral(_)
            | SqlToken::TripleSingleQuotedByteStringLiteral(_)
            | SqlToken::TripleDoubleQuotedByteStringLiteral(_)
            | SqlToken::SingleQuotedRawStringLiteral(_)
            | SqlToken::DoubleQuotedRawStringLiteral(_)
            | SqlToken::TripleSingleQuotedRawStringLiteral(_)
            | SqlToken::TripleDoubleQuotedRawStringLiteral(_)
            | SqlToken::NationalStringLiteral(_)
            | SqlToken::QuoteDelimitedStringLiteral(_)
            | SqlToken::NationalQuoteDelimitedStringLiteral(_)
            | SqlToken::EscapedStringLiteral(_)
            | SqlToken::UnicodeStringLiteral(_)
            | SqlToken::HexStringLiteral(_)
            | SqlToken::Whitespace(_)
            | SqlToken::CopyData { .. }
            | SqlToken::Placeholder(_)
            | SqlToken::EOF
    )
}

/// Snowflake's wording for a token recpipe cannot read: `line 1 at position 7 unexpected '\'.`
fn unexpected(src: &str, start: usize, (line, col): (u64, u64)) -> WarehouseError {
    let what: String = src[start..].chars().take_while(|c| !c.is_whitespace()).take(20).collect();
    WarehouseError::Syntax(format!("line {line} at position {col} unexpected '{what}'."))
}

/// Turns the tokenizer's locations (line and column from 1, columns counting characters) into
/// byte offsets. The tokens arrive in order, so one forward walk over the source serves them all.
struct Offsets<'a> {
    src: &'a str,
    byte: usize,
    line: u64,
    col: u64,
}

impl<'a> Offsets<'a> {
    fn new(src: &'a str) -> Self {
        Offsets { src, byte: 0, line: 1, col: 1 }
    }

    fn byte(&mut self, to: Location) -> usize {
        if (to.line, to.column) < (self.line, self.col) {
            // Never expected (the spans are in order); start over rather than lose the place.
            *self = Offsets::new(self.src);
        }
        let mut chars = self.src[self.byte..].chars();
        while (self.line, self.col) < (to.line, to.column) {
            let Some(c) = chars.next() else { break };
            self.byte += c.len_utf8();
            if c == '\n' {
                self.line += 1;
                self.col = 1;
            } else {
                self.col += 1;
            }
        }
        self.byte
    }

    /// Line (from 1) and position (from 0) of a byte offset at or before the walk's place.
    fn line_of(&self, byte: usize) -> (u64, u64) {
        let before = &self.src[..byte];
        let line = before.matches('\n').count() as u64 + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64;
        (line, col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn op(o: &str) -> Tok {
        Tok::Op(o.into())
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
        assert_eq!(toks("$$it's $5$$"), vec![Tok::Str("it's $5".into())]);
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
        assert_eq!(
            toks("f(a => 1) -> ->> || <> != ; [0] {}"),
            ["f", "(", "a", "=>", "1", ")", "->", "->>", "||", "<>", "<>", ";", "[", "0", "]", "{", "}"]
                .iter()
                .map(|s| match *s {
                    "f" | "a" => Tok::Word(s.to_string()),
                    "1" | "0" => Tok::Number(s.to_string()),
                    o => op(o),
                })
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn bind_markers() {
        assert_eq!(
            toks("select ?, $1, :2 from t where a = $name"),
            vec![
                Tok::Word("select".into()),
                Tok::Bind("?".into()),
                op(","),
                Tok::Bind("$1".into()),
                op(","),
                op(":"),
                Tok::Number("2".into()),
                Tok::Word("from".into()),
                Tok::Word("t".into()),
                Tok::Word("where".into()),
                Tok::Word("a".into()),
                op("="),
                Tok::Bind("$name".into()),
            ]
        );
    }

    #[test]
    fn stage_references_are_contiguous_tokens() {
        let ts = lex("list @~/a/b.csv; put @%t @db.s.st/p/").unwrap();
        let text: Vec<String> = ts.iter().map(|t| match &t.tok {
            Tok::Word(w) | Tok::Op(w) | Tok::Number(w) | Tok::Bind(w) => w.clone(),
            other => panic!("{other:?}"),
        }).collect();
        assert_eq!(text, ["list", "@", "~", "/", "a", "/", "b", ".", "csv", ";", "put", "@", "%", "t", "@", "db", ".", "s", ".", "st", "/", "p", "/"]);
        // Written without spaces between them: each token ends where the next starts.
        assert!(ts[1..9].windows(2).all(|w| w[0].end == w[1].start));
        assert_ne!(ts[9].end, ts[10].start);
    }

    #[test]
    fn offsets_are_bytes_in_the_source() {
        let src = "select 'é', \"ü\"\n  from\r\n t";
        let ts = lex(src).unwrap();
        let spans: Vec<&str> = ts.iter().map(|t| &src[t.start..t.end]).collect();
        assert_eq!(spans, ["select", "'é'", ",", "\"ü\"", "from", "t"]);
    }

    #[test]
    fn unreadable_input_is_a_syntax_error() {
        for bad in ["select 'abc", "select \"abc", "select 1 /* x", "select $$abc", "select a \\ b", "select N'x'"] {
            let e = lex(bad).unwrap_err();
            assert!(matches!(e, WarehouseError::Syntax(_)), "{bad}: {e}");
            assert!(e.to_string().contains("line 1 at position"), "{bad}: {e}");
        }
        let e = lex("select 1,\n  a \\ b").unwrap_err();
        assert!(e.to_string().contains("line 2 at position 4 unexpected '\\'"), "{e}");
        assert_eq!(toks("select x'0A'"), vec![Tok::Word("select".into()), Tok::Word("x'0A'".into())]);
    }
}
