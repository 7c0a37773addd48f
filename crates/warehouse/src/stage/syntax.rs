//! The pieces of stage statements: stage references (`@~/p`, `@%t`, `@db.s.st/p`, also inside a
//! string), `KEY = value` option lists with nested `( ... )` groups, and tokens rendered back
//! into SQL text (names quoted, strings escaped: nothing is spliced as the user wrote it).

use crate::sql::lexer::{Tok, Token};
use crate::sql::{literal, quote, Ident, ObjectName};
use crate::WarehouseError;

/// Which stage a reference names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StageKind {
    /// `@~`: the user's own stage.
    User,
    /// `@%t` (or `@db.s.%t`): the table's stage.
    Table(ObjectName),
    /// `@[db.][schema.]name`.
    Named(ObjectName),
}

/// A stage and a path inside it (`""` for the whole stage; segments never `.` or `..`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StageRef {
    pub kind: StageKind,
    pub path: String,
}

fn bad_ref(text: &str, why: &str) -> WarehouseError {
    WarehouseError::Syntax(format!("invalid stage location '{text}': {why}"))
}

impl StageRef {
    /// Parses `@...` as written (the text of a string literal, or the source of contiguous tokens).
    pub fn parse(text: &str) -> Result<StageRef, WarehouseError> {
        let rest = text.trim().strip_prefix('@').ok_or_else(|| bad_ref(text, "a stage location starts with '@'"))?;
        if let Some(path) = rest.strip_prefix('~') {
            return Ok(StageRef { kind: StageKind::User, path: normalize_path(text, path)? });
        }
        // The name: identifiers (quoted ones may hold '/' and '.') separated by dots, then a path.
        let b = rest.as_bytes();
        let mut i = 0;
        let mut parts = Vec::new();
        let mut table = false;
        loop {
            if b.get(i) == Some(&b'%') {
                table = true;
                i += 1;
            }
            if b.get(i) == Some(&b'"') {
                let mut s = String::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(bad_ref(text, "unterminated quoted name")),
                        Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                            s.push('"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => {
                            let ch = rest[i..].chars().next().unwrap_or('"');
                            s.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                parts.push(Ident::quoted(&s));
            } else {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
                    i += 1;
                }
                if i == start {
                    return Err(bad_ref(text, "a stage name is expected after '@'"));
                }
                parts.push(Ident::unquoted(&rest[start..i]));
            }
            if table || b.get(i) != Some(&b'.') {
                break;
            }
            i += 1;
        }
        if parts.len() > 3 {
            return Err(bad_ref(text, "a stage name has at most three parts"));
        }
        let rest_path = &rest[i..];
        if !rest_path.is_empty() && !rest_path.starts_with('/') {
            return Err(bad_ref(text, "unexpected text after the stage name"));
        }
        let name = ObjectName(parts);
        let kind = if table { StageKind::Table(name) } else { StageKind::Named(name) };
        Ok(StageRef { kind, path: normalize_path(text, rest_path)? })
    }
}

/// `/a//b/c/` → `a/b/c/` (a trailing slash kept: it is part of a prefix); refuses `.` and `..`
/// segments, backslashes and control characters.
pub(crate) fn normalize_path(whole: &str, path: &str) -> Result<String, WarehouseError> {
    let trailing = path.ends_with('/') && path.trim_matches('/').len() > 0;
    let mut segs = Vec::new();
    for seg in path.split('/') {
        if seg.is_empty() {
            continue;
        }
        if seg == "." || seg == ".." {
            return Err(bad_ref(whole, "'.' and '..' are not allowed in a stage path"));
        }
        if seg.chars().any(|c| c == '\\' || c.is_control()) || seg.len() > 255 {
            return Err(bad_ref(whole, "a stage path holds no backslash or control character, and no part is longer than 255 bytes"));
        }
        segs.push(seg);
    }
    let mut out = segs.join("/");
    if trailing {
        out.push('/');
    }
    Ok(out)
}

/// One option value: a word or literal, or a parenthesised group of further options or values.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum OptValue {
    Text(String),
    Group(Vec<(String, OptValue)>),
    List(Vec<String>),
}

impl OptValue {
    pub fn text(&self) -> Option<&str> {
        match self {
            OptValue::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn truthy(&self) -> bool {
        self.text().is_some_and(|t| t.eq_ignore_ascii_case("TRUE"))
    }
}

/// `KEY = value KEY2 = (A = 1 B = 'x') FILES = ('a', 'b')` from `toks`; keys upper-cased.
pub(crate) fn options(toks: &[Token]) -> Result<Vec<(String, OptValue)>, WarehouseError> {
    let mut i = 0;
    let out = options_at(toks, &mut i)?;
    if let Some(t) = toks.get(i) {
        return Err(WarehouseError::Syntax(format!("unexpected '{}'", render(std::slice::from_ref(t)))));
    }
    Ok(out)
}

fn options_at(toks: &[Token], i: &mut usize) -> Result<Vec<(String, OptValue)>, WarehouseError> {
    let mut out = Vec::new();
    while let Some(t) = toks.get(*i) {
        let key = match &t.tok {
            Tok::Word(w) => w.to_uppercase(),
            Tok::Op(o) if o == ")" => break,
            Tok::Op(o) if o == "," => {
                *i += 1;
                continue;
            }
            _ => return Err(WarehouseError::Syntax(format!("an option name is expected, not '{}'", render(std::slice::from_ref(t))))),
        };
        *i += 1;
        if !toks.get(*i).is_some_and(|t| t.tok.is_op("=") || t.tok.is_op("=>")) {
            return Err(WarehouseError::Syntax(format!("'=' is expected after {key}")));
        }
        *i += 1;
        let value = match toks.get(*i).map(|t| &t.tok) {
            Some(Tok::Op(o)) if o == "(" => {
                *i += 1;
                // A list of literals (`FILES = ('a', 'b')`, `NULL_IF = ('')`) or nested options.
                let is_list = matches!(toks.get(*i).map(|t| &t.tok), Some(Tok::Str(_) | Tok::Number(_)) | Some(Tok::Op(_)));
                let v = if is_list {
                    let mut items = Vec::new();
                    while let Some(t) = toks.get(*i) {
                        match &t.tok {
                            Tok::Op(o) if o == ")" => break,
                            Tok::Op(o) if o == "," => {}
                            Tok::Str(s) | Tok::Number(s) | Tok::Word(s) => items.push(s.clone()),
                            _ => return Err(WarehouseError::Syntax(format!("unexpected '{}' in a list", render(std::slice::from_ref(t))))),
                        }
                        *i += 1;
                    }
                    OptValue::List(items)
                } else {
                    OptValue::Group(options_at(toks, i)?)
                };
                if !toks.get(*i).is_some_and(|t| t.tok.is_op(")")) {
                    return Err(WarehouseError::Syntax(format!("')' is expected to close {key}")));
                }
                *i += 1;
                v
            }
            Some(Tok::Str(s) | Tok::Number(s) | Tok::Word(s) | Tok::Quoted(s)) => {
                *i += 1;
                // A qualified name (`FORMAT_NAME = db.s.ff`).
                let mut s = s.clone();
                while toks.get(*i).is_some_and(|t| t.tok.is_op(".")) {
                    if let Some(t) = toks.get(*i + 1) {
                        s.push('.');
                        s.push_str(&render(std::slice::from_ref(t)));
                        *i += 2;
                    } else {
                        break;
                    }
                }
                OptValue::Text(s)
            }
            _ => return Err(WarehouseError::Syntax(format!("a value is expected after {key} =",))),
        };
        out.push((key, value));
    }
    Ok(out)
}

/// Looks an option up by name.
pub(crate) fn opt<'a>(opts: &'a [(String, OptValue)], key: &str) -> Option<&'a OptValue> {
    opts.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// SQL text of tokens: words as written, names quoted, strings as literals.
pub(crate) fn render(toks: &[Token]) -> String {
    let mut out = String::new();
    for t in toks {
        if !out.is_empty() {
            out.push(' ');
        }
        match &t.tok {
            Tok::Word(w) | Tok::Number(w) | Tok::Bind(w) | Tok::Op(w) => out.push_str(w),
            Tok::Quoted(q) => out.push_str(&quote(q)),
            Tok::Str(s) => out.push_str(&literal(s)),
        }
    }
    out
}

/// The source text of the stage reference starting at `toks[*i]` (an `@` followed by tokens
/// written without spaces between them, or a string literal starting with `@`); advances `i`.
pub(crate) fn stage_ref_at(toks: &[Token], i: &mut usize) -> Option<String> {
    let first = toks.get(*i)?;
    if let Tok::Str(s) = &first.tok {
        if s.starts_with('@') {
            *i += 1;
            return Some(s.clone());
        }
        return None;
    }
    if !first.tok.is_op("@") {
        return None;
    }
    let mut text = String::from("@");
    let mut end = first.end;
    *i += 1;
    while let Some(t) = toks.get(*i) {
        if t.start != end || t.tok.is_op("(") || t.tok.is_op(")") || t.tok.is_op(",") || matches!(t.tok, Tok::Str(_)) {
            break;
        }
        match &t.tok {
            Tok::Quoted(q) => text.push_str(&quote(q)),
            Tok::Word(w) | Tok::Number(w) | Tok::Op(w) | Tok::Bind(w) => text.push_str(w),
            Tok::Str(_) => unreachable!("stopped above"),
        }
        end = t.end;
        *i += 1;
    }
    Some(text)
}

/// `IDENTIFIER('db.s.name')` (the connectors bind names this way) becomes the name's tokens.
pub(crate) fn resolve_identifier_calls(toks: &[Token]) -> Result<Option<Vec<Token>>, WarehouseError> {
    let at = |i: usize| toks.get(i).map(|t| &t.tok);
    if !toks.iter().any(|t| t.tok.is_kw("IDENTIFIER")) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        if let (Some(Tok::Word(w)), Some(Tok::Op(open)), Some(Tok::Str(s)), Some(Tok::Op(close))) = (at(i), at(i + 1), at(i + 2), at(i + 3)) {
            if w.eq_ignore_ascii_case("IDENTIFIER") && open == "(" && close == ")" {
                let name = ObjectName::parse(s)?;
                let (start, end) = (toks[i].start, toks[i + 3].end);
                for (n, part) in name.0.iter().enumerate() {
                    if n > 0 {
                        out.push(Token { tok: Tok::Op(".".into()), start, end });
                    }
                    out.push(Token { tok: Tok::Quoted(part.as_str().to_string()), start, end });
                }
                i += 4;
                continue;
            }
        }
        out.push(toks[i].clone());
        i += 1;
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::lexer::lex;

    fn named(parts: &[&str], path: &str) -> StageRef {
        StageRef { kind: StageKind::Named(ObjectName(parts.iter().map(|p| Ident::quoted(p)).collect())), path: path.into() }
    }

    #[test]
    fn stage_references_parse_names_and_paths() {
        assert_eq!(StageRef::parse("@~").unwrap(), StageRef { kind: StageKind::User, path: String::new() });
        assert_eq!(StageRef::parse("@~/a//b/").unwrap(), StageRef { kind: StageKind::User, path: "a/b/".into() });
        assert_eq!(StageRef::parse("@my_stage/data/x.csv").unwrap(), named(&["MY_STAGE"], "data/x.csv"));
        assert_eq!(StageRef::parse("@db.s.st").unwrap(), named(&["DB", "S", "ST"], ""));
        assert_eq!(StageRef::parse("@\"DB\".\"S\".\"a/b.c\"/p").unwrap(), named(&["DB", "S", "a/b.c"], "p"));
        let t = StageRef::parse("@%ratings/x").unwrap();
        assert_eq!(t.kind, StageKind::Table(ObjectName(vec![Ident::quoted("RATINGS")])));
        let t = StageRef::parse("@db.s.%t").unwrap();
        assert_eq!(t.kind, StageKind::Table(ObjectName(vec![Ident::quoted("DB"), Ident::quoted("S"), Ident::quoted("T")])));
    }

    #[test]
    fn stage_paths_never_climb_out() {
        for bad in ["@s/../x", "@s/./x", "@~/a/../../etc", "@s/a\\b", "@s/a\u{0}b", "@s x", "@", "@a.b.c.d"] {
            assert!(StageRef::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn references_are_read_from_tokens_written_together() {
        let toks = lex("list @db.s.st/some/path.csv pattern = '.*'").unwrap();
        let mut i = 1;
        assert_eq!(stage_ref_at(&toks, &mut i).unwrap(), "@db.s.st/some/path.csv");
        assert!(toks[i].tok.is_kw("pattern"));
        let toks = lex("copy into t from '@\"X\".y'").unwrap();
        let mut i = 4;
        assert_eq!(stage_ref_at(&toks, &mut i).unwrap(), "@\"X\".y");
    }

    #[test]
    fn options_nest_and_list() {
        let toks = lex("file_format = (type = csv skip_header = 1 null_if = ('', 'NA')) on_error = 'continue' files = ('a.csv', 'b.csv') purge=true").unwrap();
        let o = options(&toks).unwrap();
        let OptValue::Group(ff) = opt(&o, "FILE_FORMAT").unwrap() else { panic!() };
        assert_eq!(opt(ff, "TYPE").unwrap().text(), Some("csv"));
        assert_eq!(opt(ff, "NULL_IF"), Some(&OptValue::List(vec!["".into(), "NA".into()])));
        assert_eq!(opt(&o, "ON_ERROR").unwrap().text(), Some("continue"));
        assert_eq!(opt(&o, "FILES"), Some(&OptValue::List(vec!["a.csv".into(), "b.csv".into()])));
        assert!(opt(&o, "PURGE").unwrap().truthy());
    }

    #[test]
    fn identifier_calls_become_names() {
        let toks = lex("create table if not exists identifier('\"DB\".\"S\".\"t\"') (a int)").unwrap();
        let out = resolve_identifier_calls(&toks).unwrap().unwrap();
        assert_eq!(render(&out), "create table if not exists \"DB\" . \"S\" . \"t\" ( a int )");
    }
}
