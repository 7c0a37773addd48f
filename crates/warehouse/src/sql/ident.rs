//! Snowflake identifiers: unquoted names fold to upper case, quoted ones keep theirs; names are
//! always emitted quoted into DuckDB SQL, never spliced as written.

use std::fmt;

use super::lexer::{lex, Tok};
use crate::WarehouseError;

/// A resolved identifier: the name exactly as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Ident(String);

impl Ident {
    /// An unquoted name as written: folded to upper case.
    pub fn unquoted(s: &str) -> Ident {
        Ident(s.to_uppercase())
    }

    /// A quoted name: case kept.
    pub fn quoted(s: &str) -> Ident {
        Ident(s.to_string())
    }

    /// From a token, if it is a name.
    pub fn from_tok(t: &Tok) -> Option<Ident> {
        match t {
            Tok::Word(w) => Some(Ident::unquoted(w)),
            Tok::Quoted(q) => Some(Ident::quoted(q)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// DuckDB SQL for this name: always double-quoted, quotes doubled.
    pub fn sql(&self) -> String {
        quote(&self.0)
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `"name"` with embedded quotes doubled.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal for DuckDB: `'...'` with quotes doubled.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A one-, two- or three-part name `[db.][schema.]name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ObjectName(pub Vec<Ident>);

impl ObjectName {
    /// Parses a name given as text (a table name in a function argument, a CLI flag).
    pub fn parse(text: &str) -> Result<ObjectName, WarehouseError> {
        let toks = lex(text)?;
        let mut parts = Vec::new();
        let mut expect_name = true;
        for t in &toks {
            if expect_name {
                parts.push(Ident::from_tok(&t.tok).ok_or_else(|| bad_name(text))?);
            } else if !t.tok.is_op(".") {
                return Err(bad_name(text));
            }
            expect_name = !expect_name;
        }
        if expect_name || parts.is_empty() || parts.len() > 3 {
            return Err(bad_name(text));
        }
        Ok(ObjectName(parts))
    }

    pub fn last(&self) -> &Ident {
        self.0.last().expect("an object name has at least one part")
    }

    /// Completes a name with the session's database and schema.
    pub fn qualify(
        &self,
        db: Option<&Ident>,
        schema: Option<&Ident>,
    ) -> Result<(Ident, Ident, Ident), WarehouseError> {
        let missing = |what: &str| {
            WarehouseError::Invalid(format!(
                "Cannot perform operation. This session does not have a current {what}. Call 'USE {}' to set one.",
                what.to_uppercase()
            ))
        };
        match self.0.as_slice() {
            [n] => Ok((
                db.cloned().ok_or_else(|| missing("database"))?,
                schema.cloned().ok_or_else(|| missing("schema"))?,
                n.clone(),
            )),
            [s, n] => Ok((db.cloned().ok_or_else(|| missing("database"))?, s.clone(), n.clone())),
            [d, s, n] => Ok((d.clone(), s.clone(), n.clone())),
            _ => Err(bad_name(&self.to_string())),
        }
    }

    pub fn sql(&self) -> String {
        self.0.iter().map(Ident::sql).collect::<Vec<_>>().join(".")
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self.0.iter().map(Ident::as_str).collect();
        f.write_str(&parts.join("."))
    }
}

fn bad_name(text: &str) -> WarehouseError {
    WarehouseError::Invalid(format!("invalid object name '{text}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_folds_quoted_keeps_case() {
        let n = ObjectName::parse("movielens.public.\"MixedCase\"").unwrap();
        assert_eq!(n.to_string(), "MOVIELENS.PUBLIC.MixedCase");
        assert_eq!(n.sql(), "\"MOVIELENS\".\"PUBLIC\".\"MixedCase\"");
    }

    #[test]
    fn quotes_are_doubled_never_spliced() {
        let n = ObjectName::parse("\"a\"\"; drop table x; --\"").unwrap();
        assert_eq!(n.sql(), "\"a\"\"; drop table x; --\"");
        assert!(ObjectName::parse("t; drop table x").is_err());
        assert!(ObjectName::parse("a.b.c.d").is_err());
        assert!(ObjectName::parse("").is_err());
    }

    #[test]
    fn qualify_uses_session_context() {
        let db = Ident::unquoted("db");
        let sc = Ident::unquoted("public");
        let (d, s, n) = ObjectName::parse("t").unwrap().qualify(Some(&db), Some(&sc)).unwrap();
        assert_eq!((d.as_str(), s.as_str(), n.as_str()), ("DB", "PUBLIC", "T"));
        assert!(ObjectName::parse("t").unwrap().qualify(None, None).is_err());
    }
}
