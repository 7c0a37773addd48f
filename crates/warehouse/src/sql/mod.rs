//! Snowflake SQL: tokens, statement splitting, the statements recpipe runs itself, and the
//! rewriter for the rest.

pub mod allowlist;
pub mod ast;
mod calls;
mod cursor;
mod flatten;
mod function;
pub mod ident;
pub mod lexer;
mod parse;
pub mod rewrite;
mod task;
pub mod types;

#[cfg(test)]
mod tests;

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

/// Replaces bind markers (`?` in order, `$n` by number) with literals from the SQL API's
/// `bindings` (`{"1": {"type": "FIXED", "value": "123"}}`): values become tokens, never text.
pub fn bind(sts: &mut [SourceStatement], b: &serde_json::Map<String, serde_json::Value>) -> Result<(), WarehouseError> {
    use lexer::Tok;
    let mut next = 1;
    for st in sts {
        for t in &mut st.toks {
            let Tok::Bind(name) = &t.tok else { continue };
            let key = if name == "?" {
                next += 1;
                (next - 1).to_string()
            } else {
                name.trim_start_matches('$').to_string()
            };
            let v = b
                .get(&key)
                .ok_or_else(|| WarehouseError::Invalid(format!("Bind variable {key} not set.")))?;
            let ty = v.get("type").and_then(|t| t.as_str()).unwrap_or("TEXT").to_uppercase();
            t.tok = match v.get("value") {
                None | Some(serde_json::Value::Null) => Tok::Word("NULL".into()),
                Some(val) => {
                    let s = match val {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    match ty.as_str() {
                        "FIXED" | "REAL" => {
                            if s.parse::<f64>().is_err() || !s.chars().all(|c| c.is_ascii_digit() || ".eE+-".contains(c)) {
                                return Err(WarehouseError::Invalid(format!("Bind variable {key}: '{s}' is not a number")));
                            }
                            Tok::Number(s)
                        }
                        "BOOLEAN" => match s.to_lowercase().as_str() {
                            "true" => Tok::Word("TRUE".into()),
                            "false" => Tok::Word("FALSE".into()),
                            _ => return Err(WarehouseError::Invalid(format!("Bind variable {key}: '{s}' is not a boolean"))),
                        },
                        _ => Tok::Str(s),
                    }
                }
            };
        }
    }
    Ok(())
}
