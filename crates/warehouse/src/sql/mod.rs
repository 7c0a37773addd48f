//! Snowflake SQL: tokens, statement splitting, the statements recpipe runs itself, and the
//! rewriter for the rest.

pub mod allowlist;
pub mod ast;
mod calls;
mod bind;
mod cursor;
mod flatten;
mod function;
pub mod ident;
pub mod lexer;
mod parse;
pub mod rewrite;
mod task;
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
