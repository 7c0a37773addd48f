//! The parser front end: a statement's text parsed by `sqlparser` with its `SnowflakeDialect`
//! into a syntax tree. A text that does not parse is Snowflake's syntax error (`001003`) with
//! the line and position where the parser stopped.

use sqlparser::ast::Statement;
use sqlparser::dialect::SnowflakeDialect;
use sqlparser::parser::{Parser, ParserError};

use crate::WarehouseError;

/// Parses one statement (a script is split before). Empty text, or text holding more than one
/// statement, is a syntax error.
pub fn parse_statement(text: &str) -> Result<Statement, WarehouseError> {
    let sequence = sequence_text(text);
    let text = sequence.as_deref().unwrap_or(text);
    let mut parsed = Parser::new(&SnowflakeDialect {}).try_with_sql(text).and_then(|mut p| p.parse_statements()).map_err(|e| {
        let words: Vec<String> = text.split_whitespace().take(6).map(str::to_uppercase).collect();
        let created = words.iter().skip(1).find(|w| !["OR", "REPLACE", "TEMPORARY", "TEMP", "TRANSIENT", "VOLATILE", "LOCAL", "GLOBAL", "SECURE"].contains(&w.as_str()));
        if let Some(nested) = nested_statement(text) {
            return WarehouseError::Unsupported(format!("{nested} inside a statement"));
        }
        match (words.first(), created) {
            (Some(w), _) if NOT_RUN.contains(&w.as_str()) => WarehouseError::Unsupported(words[..2.min(words.len())].join(" ")),
            (Some(w), Some(kind)) if w == "CREATE" && NOT_CREATED.contains(&kind.as_str()) => WarehouseError::Unsupported(format!("CREATE {kind}")),
            _ => syntax(text, e),
        }
    })?;
    match parsed.len() {
        1 => Ok(parsed.remove(0)),
        0 => Err(WarehouseError::Syntax("line 1 at position 0 unexpected '<EOF>'.".into())),
        _ => Err(WarehouseError::Syntax("a statement was expected, found several".into())),
    }
}

/// Statements Snowflake (or the engine) has that recpipe does not run: where the parser does not
/// take them either, they are "unsupported", not a syntax error.
const NOT_RUN: &[&str] = &[
    "CALL", "COMMENT", "COPY", "EXECUTE", "GET", "LIST", "LS", "PUT", "REMOVE", "RM", "SET", "UNDROP", "UNSET",
    // The engine's.
    "ANALYZE", "ATTACH", "CHECKPOINT", "DETACH", "EXPORT", "IMPORT", "INSTALL", "LOAD", "PIVOT", "PRAGMA", "SUMMARIZE",
    "UNPIVOT", "VACUUM",
];

/// Statements the engine would run nested in parentheses (`FROM (SUMMARIZE t)`, `FROM (SHOW
/// TABLES)`): they read what no privilege check sees.
pub const NESTED: &[&str] = &[
    "ATTACH", "CALL", "COPY", "DESC", "DESCRIBE", "EXPLAIN", "PIVOT", "PIVOT_LONGER", "PIVOT_WIDER", "PRAGMA", "SHOW", "SUMMARIZE",
    "UNPIVOT", "USE",
];

/// The first word of [`NESTED`] written right after a `(`, if any.
fn nested_statement(text: &str) -> Option<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let toks = Tokenizer::new(&SnowflakeDialect {}, text).tokenize().ok()?;
    let mut words = toks.iter().filter(|t| !matches!(t, Token::Whitespace(_)));
    let mut prev_open = false;
    for t in words.by_ref() {
        if let Token::Word(w) = t {
            let up = w.value.to_uppercase();
            if prev_open && w.quote_style.is_none() && NESTED.contains(&up.as_str()) {
                return Some(up);
            }
        }
        prev_open = matches!(t, Token::LParen);
    }
    None
}

/// The named fallback for `CREATE [OR REPLACE] SEQUENCE`, whose Snowflake form sqlparser 0.64
/// does not take: the text in the parser's form (`START [WITH] = n` → `START WITH n`,
/// `INCREMENT [BY] = n` → `INCREMENT BY n`, the optional `WITH` before them, `ORDER` and
/// `NOORDER` dropped). `OR REPLACE` is dropped too, the tree having no place for it: the
/// statement's own words keep it ([`replaces_sequence`]). `None` for any other statement.
fn sequence_text(text: &str) -> Option<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let toks = Tokenizer::new(&SnowflakeDialect {}, text).tokenize().ok()?;
    let toks: Vec<Token> = toks.into_iter().filter(|t| !matches!(t, Token::Whitespace(_))).collect();
    let word = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let mut at = 1;
    if !toks.first().is_some_and(|t| word(t, "CREATE")) {
        return None;
    }
    if toks.get(1).is_some_and(|t| word(t, "OR")) && toks.get(2).is_some_and(|t| word(t, "REPLACE")) {
        at = 3;
    }
    let seq = toks.iter().skip(at).position(|t| !word(t, "TEMP") && !word(t, "TEMPORARY"))? + at;
    if !word(&toks[seq], "SEQUENCE") {
        return None;
    }
    let mut out: Vec<String> = toks[..at].iter().filter(|t| !word(t, "OR") && !word(t, "REPLACE")).map(|t| t.to_string()).collect();
    out.extend(toks[at..=seq].iter().map(|t| t.to_string()));
    let mut prev_option = "";
    for t in &toks[seq + 1..] {
        if word(t, "START") || word(t, "INCREMENT") {
            prev_option = if word(t, "START") { "START" } else { "INCREMENT" };
            out.push(if prev_option == "START" { "START WITH" } else { "INCREMENT BY" }.to_string());
            continue;
        }
        let after_option = !prev_option.is_empty();
        if (after_option && (word(t, "WITH") || word(t, "BY") || matches!(t, Token::Eq))) || word(t, "ORDER") || word(t, "NOORDER") {
            continue;
        }
        // `CREATE SEQUENCE s WITH START = 1`: that `WITH` is only a word.
        if word(t, "WITH") {
            continue;
        }
        prev_option = "";
        out.push(t.to_string());
    }
    Some(out.join(" "))
}

/// Whether a `CREATE SEQUENCE` statement's text says `OR REPLACE` (see [`sequence_text`]).
pub fn replaces_sequence(text: &str) -> bool {
    let words: Vec<String> = text.split_whitespace().take(3).map(str::to_uppercase).collect();
    words.len() == 3 && words[0] == "CREATE" && words[1] == "OR" && words[2] == "REPLACE"
}

/// Objects recpipe does not create (where the parser does not take the statement either).
const NOT_CREATED: &[&str] = &["FILE", "MACRO", "NETWORK", "PIPE", "PROCEDURE", "SECRET", "SHARE", "STAGE", "STREAM", "TAG"];

/// Snowflake's wording: `line 1 at position 9 unexpected 'fromm'.` (position counts from 0).
fn syntax(text: &str, e: ParserError) -> WarehouseError {
    let msg = match &e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s.clone(),
        ParserError::RecursionLimitExceeded => return WarehouseError::Syntax("statement nested too deeply".into()),
    };
    let Some((what, at)) = msg.rsplit_once(" at Line: ") else {
        return WarehouseError::Syntax(format!("line 1 at position 0 {msg}"));
    };
    let (line, col) = at.split_once(", Column: ").unwrap_or((at, "1"));
    let (line, col): (usize, usize) = (line.trim().parse().unwrap_or(1), col.trim().parse().unwrap_or(1));
    let found = what.rsplit_once("found: ").map(|(_, f)| f.trim()).unwrap_or("");
    let found = if found.is_empty() { text.lines().nth(line.saturating_sub(1)).and_then(|l| l.get(col.saturating_sub(1)..)).and_then(|r| r.split_whitespace().next()).unwrap_or("").to_string() } else { found.to_string() };
    let found = if found == "EOF" { "<EOF>".to_string() } else { found };
    WarehouseError::Syntax(format!("line {line} at position {} unexpected '{found}'.", col.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_line_and_position() {
        let e = parse_statement("select *\nfromm t").unwrap_err();
        assert_eq!(e.wire().code, "001003");
        assert!(e.to_string().contains("line 2 at position 0 unexpected 'fromm'."), "{e}");
        assert!(parse_statement("select 1").is_ok());
        assert!(parse_statement("select 1; select 2").is_err());
    }

    #[test]
    fn snowflake_sequences_take_the_parser_form() {
        assert_eq!(sequence_text("create or replace sequence s start = 1 increment = 2").as_deref(), Some("create sequence s START WITH 1 INCREMENT BY 2"));
        assert_eq!(sequence_text("CREATE SEQUENCE IF NOT EXISTS d.s.q WITH START WITH = 5 INCREMENT BY 1 NOORDER").as_deref(), Some("CREATE SEQUENCE IF NOT EXISTS d . s . q START WITH 5 INCREMENT BY 1"));
        assert_eq!(sequence_text("create table t (a int)"), None);
        assert!(parse_statement("create or replace sequence s start = 1 increment = 1").is_ok());
        assert!(replaces_sequence("create  or replace sequence s"));
        assert!(!replaces_sequence("create sequence s"));
    }
}
