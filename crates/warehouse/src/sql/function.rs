//! `CREATE [SECURE] EXTERNAL FUNCTION`'s clauses, in any order before `AS '<url>'`.

use super::ast::{Compression, FunctionDef};
use super::cursor::Cursor;
use super::lexer::Tok;
use super::types::canonical;
use crate::WarehouseError;

/// Characters Snowflake refuses in a custom header name.
const BAD_HEADER_CHARS: &str = " ()<>@,;:\\\"/[]?={}_";
const MAX_HEADERS_BYTES: usize = 8 * 1024;

pub fn external_function(c: &mut Cursor, secure: bool) -> Result<FunctionDef, WarehouseError> {
    let name = c.object_name()?;
    c.expect_op("(")?;
    let mut args = Vec::new();
    if !c.eat_op(")") {
        loop {
            let arg = c.ident()?.as_str().to_string();
            args.push((arg, canonical(&c.type_name()?)));
            if c.eat_op(")") {
                break;
            }
            c.expect_op(",")?;
        }
    }
    c.expect("RETURNS")?;
    if c.eat("TABLE") {
        return Err(WarehouseError::Unsupported("external table functions (RETURNS TABLE)".into()));
    }
    let returns = canonical(&c.type_name()?);
    let mut def = FunctionDef {
        name,
        secure,
        args,
        returns,
        not_null: false,
        strict: false,
        immutable: false,
        integration: String::new(),
        headers: Vec::new(),
        context_headers: Vec::new(),
        max_batch_rows: None,
        compression: Compression::Auto,
        url: String::new(),
        comment: None,
    };
    loop {
        if c.eat("AS") {
            def.url = c.string()?;
            break;
        }
        if c.eat_seq(&["NOT", "NULL"]) {
            def.not_null = true;
        } else if c.eat("NULL") || c.eat_seq(&["CALLED", "ON", "NULL", "INPUT"]) || c.eat("VOLATILE") {
        } else if c.eat_seq(&["RETURNS", "NULL", "ON", "NULL", "INPUT"]) || c.eat("STRICT") {
            def.strict = true;
        } else if c.eat("IMMUTABLE") {
            def.immutable = true;
        } else if c.at_end() {
            return Err(WarehouseError::Syntax("external function needs AS '<url>'".into()));
        } else {
            let key = c.ident()?;
            c.expect_op("=")?;
            match key.as_str() {
                "API_INTEGRATION" => def.integration = c.ident()?.as_str().to_string(),
                "COMMENT" => def.comment = Some(c.string()?),
                "HEADERS" => def.headers = headers(c)?,
                "CONTEXT_HEADERS" => def.context_headers = context_headers(c)?,
                "MAX_BATCH_ROWS" => def.max_batch_rows = Some(positive(c)?),
                "COMPRESSION" => {
                    def.compression = match c.value()?.to_uppercase().as_str() {
                        "NONE" => Compression::None,
                        "GZIP" => Compression::Gzip,
                        "DEFLATE" => Compression::Deflate,
                        "AUTO" => Compression::Auto,
                        other => return Err(WarehouseError::Invalid(format!("invalid value '{other}' for COMPRESSION"))),
                    }
                }
                "REQUEST_TRANSLATOR" | "RESPONSE_TRANSLATOR" => {
                    return Err(WarehouseError::Unsupported(format!("external function {key}")))
                }
                other => return Err(WarehouseError::Syntax(format!("invalid option '{other}' for external function"))),
            }
        }
    }
    if def.integration.is_empty() {
        return Err(WarehouseError::Syntax("external function needs API_INTEGRATION = <name>".into()));
    }
    Ok(def)
}

fn positive(c: &mut Cursor) -> Result<u32, WarehouseError> {
    match c.next() {
        Some(Tok::Number(n)) => n
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| WarehouseError::Invalid(format!("invalid value '{n}' for MAX_BATCH_ROWS"))),
        _ => Err(WarehouseError::Syntax("MAX_BATCH_ROWS needs a positive integer".into())),
    }
}

fn headers(c: &mut Cursor) -> Result<Vec<(String, String)>, WarehouseError> {
    c.expect_op("(")?;
    let mut out: Vec<(String, String)> = Vec::new();
    if c.eat_op(")") {
        return Ok(out);
    }
    loop {
        let k = c.string()?;
        c.expect_op("=")?;
        let v = c.string()?;
        if k.is_empty() || k.chars().any(|ch| !ch.is_ascii_graphic() || BAD_HEADER_CHARS.contains(ch)) {
            return Err(WarehouseError::Invalid(format!("invalid header name '{k}'")));
        }
        if v.contains("  ") || v.chars().any(|ch| ch.is_control()) {
            return Err(WarehouseError::Invalid(format!("invalid value for header '{k}'")));
        }
        out.push((k.to_lowercase(), v));
        if c.eat_op(")") {
            break;
        }
        c.expect_op(",")?;
    }
    let total: usize = out.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > MAX_HEADERS_BYTES {
        return Err(WarehouseError::Invalid(format!("HEADERS total {total} bytes, more than 8 KB")));
    }
    Ok(out)
}

/// The context functions Snowflake allows in `CONTEXT_HEADERS`.
pub const CONTEXT_FUNCTIONS: [&str; 9] = [
    "CURRENT_ACCOUNT",
    "CURRENT_CLIENT",
    "CURRENT_DATABASE",
    "CURRENT_DATE",
    "CURRENT_ROLE",
    "CURRENT_SCHEMA",
    "CURRENT_STATEMENT",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
];

fn context_headers(c: &mut Cursor) -> Result<Vec<String>, WarehouseError> {
    c.expect_op("(")?;
    let mut out = Vec::new();
    if c.eat_op(")") {
        return Ok(out);
    }
    loop {
        let f = c.ident()?.as_str().to_string();
        if !CONTEXT_FUNCTIONS.contains(&f.as_str()) {
            return Err(WarehouseError::Unsupported(format!("context function {f} in CONTEXT_HEADERS")));
        }
        out.push(f);
        if c.eat_op(")") {
            return Ok(out);
        }
        c.expect_op(",")?;
    }
}
