//! Snowflake SQL: tokens, statement splitting, the statements recpipe runs itself, and the
//! rest parsed by `sqlparser` ([`front`]) and translated to DuckDB on the tree ([`translate`]).

pub mod allowlist;
pub mod ast;
mod bind;
pub mod context;
mod cursor;
mod flatten;
pub mod front;
mod function;
pub mod functions;
mod grant;
pub mod ident;
pub mod lexer;
pub mod own;
mod parse;
mod show;
mod task;
pub mod translate;
pub mod types;
mod user;

#[cfg(test)]
mod tests;

pub use bind::bind;
pub use function::CONTEXT_FUNCTIONS;
pub use ident::{literal, quote, Ident, ObjectName};
pub use parse::{parse, parse_source};

use lexer::{lex, Token};

use crate::WarehouseError;

/// One statement of a script: its text (for messages) and its tokens.
#[derive(Debug, Clone)]
pub struct SourceStatement {
    pub text: String,
    pub toks: Vec<Token>,
}

/// Splits a script at top-level `;` (comments and strings respected); empty statements vanish.
pub fn split(src: &str) -> Result<Vec<SourceStatement>, WarehouseError> {
    let toks = lex(src)?;
    let mut out = Vec::new();
    let mut cur: Vec<Token> = Vec::new();
    let flush = |cur: &mut Vec<Token>, out: &mut Vec<SourceStatement>| {
        if let (Some(f), Some(l)) = (cur.first(), cur.last()) {
            out.push(SourceStatement {
                text: src[f.start..l.end].to_string(),
                toks: std::mem::take(cur),
            });
        }
    };
    for t in toks {
        if t.tok.is_op(";") {
            flush(&mut cur, &mut out);
        } else {
            cur.push(t);
        }
    }
    flush(&mut cur, &mut out);
    Ok(out)
}

/// Rebuilds a statement's text from its tokens, each token's offsets moved into the new text:
/// after bind values have replaced markers, the text is what runs.
pub(crate) fn render(st: &mut SourceStatement) {
    let mut text = String::new();
    for t in &mut st.toks {
        if !text.is_empty() {
            text.push(' ');
        }
        let s = match &t.tok {
            lexer::Tok::Word(w) | lexer::Tok::Number(w) | lexer::Tok::Bind(w) | lexer::Tok::Op(w) => w.clone(),
            lexer::Tok::Quoted(q) => quote(q),
            lexer::Tok::Str(v) => format!("'{}'", v.replace('\\', "\\\\").replace('\'', "''")),
        };
        t.start = text.len();
        text.push_str(&s);
        t.end = text.len();
    }
    st.text = text;
}
