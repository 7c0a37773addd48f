//! A cursor over one statement's tokens with the small vocabulary the parser needs.

use super::ident::{Ident, ObjectName};
use super::lexer::{Tok, Token};
use crate::WarehouseError;

pub struct Cursor<'a> {
    toks: &'a [Token],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(toks: &'a [Token]) -> Self {
        Cursor { toks, pos: 0 }
    }

    pub fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    pub fn peek_at(&self, n: usize) -> Option<&'a Tok> {
        self.toks.get(self.pos + n).map(|t| &t.tok)
    }

    /// Byte offset in the script of the next token.
    pub fn offset(&self) -> Option<usize> {
        self.toks.get(self.pos).map(|t| t.start)
    }

    /// Consumes every remaining token.
    pub fn skip_to_end(&mut self) {
        self.pos = self.toks.len();
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    pub fn next(&mut self) -> Option<&'a Tok> {
        let t = self.peek();
        self.pos += 1;
        t
    }

    /// Consumes `kw` if it is next.
    pub fn eat(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_kw(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the keywords `kws` if all of them come next.
    pub fn eat_seq(&mut self, kws: &[&str]) -> bool {
        let ok = kws
            .iter()
            .enumerate()
            .all(|(i, k)| self.peek_at(i).is_some_and(|t| t.is_kw(k)));
        if ok {
            self.pos += kws.len();
        }
        ok
    }

    pub fn eat_op(&mut self, op: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_op(op)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, kw: &str) -> Result<(), WarehouseError> {
        if self.eat(kw) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", kw.to_uppercase())))
        }
    }

    pub fn expect_op(&mut self, op: &str) -> Result<(), WarehouseError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{op}'")))
        }
    }

    pub fn unexpected(&self, wanted: &str) -> WarehouseError {
        let got = match self.peek() {
            None => "end of statement".to_string(),
            Some(Tok::Word(w)) | Some(Tok::Number(w)) | Some(Tok::Op(w)) | Some(Tok::Bind(w)) => {
                format!("'{w}'")
            }
            Some(Tok::Quoted(q)) => format!("'\"{q}\"'"),
            Some(Tok::Str(s)) => format!("string '{s}'"),
        };
        WarehouseError::Syntax(format!("unexpected {got}, expected {wanted}"))
    }

    pub fn ident(&mut self) -> Result<Ident, WarehouseError> {
        match self.peek().and_then(Ident::from_tok) {
            Some(i) => {
                self.pos += 1;
                Ok(i)
            }
            None => Err(self.unexpected("an identifier")),
        }
    }

    pub fn object_name(&mut self) -> Result<ObjectName, WarehouseError> {
        let mut parts = vec![self.ident()?];
        while self.peek().is_some_and(|t| t.is_op(".")) {
            self.pos += 1;
            parts.push(self.ident()?);
        }
        if parts.len() > 3 {
            return Err(WarehouseError::Syntax(format!(
                "object name has {} parts, at most 3 allowed",
                parts.len()
            )));
        }
        Ok(ObjectName(parts))
    }

    pub fn string(&mut self) -> Result<String, WarehouseError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(s.clone())
            }
            _ => Err(self.unexpected("a string literal")),
        }
    }

    /// A word or string (option values like `aws_api_gateway` or `'XSMALL'`), upper-cased words.
    pub fn value(&mut self) -> Result<String, WarehouseError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(s.clone())
            }
            Some(Tok::Word(w)) | Some(Tok::Number(w)) => {
                self.pos += 1;
                Ok(w.to_uppercase())
            }
            _ => Err(self.unexpected("a value")),
        }
    }

    pub fn boolean(&mut self) -> Result<bool, WarehouseError> {
        match self.value()?.to_uppercase().as_str() {
            "TRUE" => Ok(true),
            "FALSE" => Ok(false),
            other => Err(WarehouseError::Syntax(format!(
                "unexpected '{other}', expected TRUE or FALSE"
            ))),
        }
    }

    /// `( 'a', 'b' )`
    pub fn string_list(&mut self) -> Result<Vec<String>, WarehouseError> {
        self.expect_op("(")?;
        let mut out = Vec::new();
        if self.eat_op(")") {
            return Ok(out);
        }
        loop {
            out.push(self.string()?);
            if self.eat_op(")") {
                return Ok(out);
            }
            self.expect_op(",")?;
        }
    }

    /// A type name with optional `(p, s)`, returned upper-case as written, e.g. `NUMBER(38,0)`.
    pub fn type_name(&mut self) -> Result<String, WarehouseError> {
        let mut t = match self.next() {
            Some(Tok::Word(w)) => w.to_uppercase(),
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("a type"));
            }
        };
        if t == "DOUBLE" && self.eat("PRECISION") {
            t.push_str(" PRECISION");
        }
        if self.eat_op("(") {
            let mut args = Vec::new();
            loop {
                match self.next() {
                    Some(Tok::Number(n)) => args.push(n.clone()),
                    _ => {
                        self.pos -= 1;
                        return Err(self.unexpected("a number"));
                    }
                }
                if self.eat_op(")") {
                    break;
                }
                self.expect_op(",")?;
            }
            t = format!("{t}({})", args.join(","));
        }
        Ok(t)
    }

    pub fn expect_end(&self) -> Result<(), WarehouseError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.unexpected("end of statement"))
        }
    }
}
