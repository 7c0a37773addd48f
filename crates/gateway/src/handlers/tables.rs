//! The tables a training call names, resolved in the caller's context before any job starts.
//!
//! Snowflake tells the remote service about the calling session only through the
//! `sf-context-<function>` headers a function declares (`CONTEXT_HEADERS = (CURRENT_ROLE,
//! CURRENT_DATABASE, CURRENT_SCHEMA)`); [`CallerContext`] reads them. The warehouse that owns the
//! tables answers through [`TableResolver`], which the server plugs in (the gateway knows no
//! warehouse).

use std::sync::Arc;

use axum::http::HeaderMap;
use base64::Engine;

use crate::batch::Row;
use crate::error::GatewayError;

/// The calling session's context, from the call's `sf-context-*` headers (the `-base64` form
/// preferred, so names outside ASCII arrive intact).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerContext {
    pub role: Option<String>,
    pub database: Option<String>,
    pub schema: Option<String>,
}

impl CallerContext {
    pub fn from_headers(h: &HeaderMap) -> CallerContext {
        let get = |name: &str| {
            let text = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
            let decoded = text(&format!("sf-context-{name}-base64"))
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
                .and_then(|b| String::from_utf8(b).ok());
            decoded.or_else(|| text(&format!("sf-context-{name}"))).filter(|v| !v.is_empty())
        };
        CallerContext { role: get("current-role"), database: get("current-database"), schema: get("current-schema") }
    }
}

/// What the job will do with a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableUse {
    Read,
    /// Its rows are replaced.
    Replace,
}

/// Resolves a table name for a caller: the fully qualified name the job is to use, or why the
/// caller may not have the job use it. Blocking (it may consult a database).
pub trait TableResolver: Send + Sync {
    fn resolve(&self, caller: &CallerContext, name: &str, what: TableUse) -> Result<String, String>;
}

impl std::fmt::Debug for dyn TableResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TableResolver")
    }
}

/// How many dot-separated parts `name` has (dots inside double quotes do not count).
fn parts(name: &str) -> usize {
    let mut quoted = false;
    1 + name.chars().filter(|c| {
        if *c == '"' {
            quoted = !quoted;
        }
        *c == '.' && !quoted
    }).count()
}

/// The qualified name of argument `arg` of `row`, or the refusal naming the row, argument and
/// table. Without a resolver the name is passed on as given.
pub async fn resolve(resolver: Option<&Arc<dyn TableResolver>>, caller: &CallerContext, row: &Row, arg: &'static str, name: &str, what: TableUse) -> Result<String, GatewayError> {
    let Some(r) = resolver else { return Ok(name.to_string()) };
    let refused = |reason: String| GatewayError::TableRefused { row: row.number, arg, name: name.to_string(), reason };
    let n = parts(name);
    if (n < 3 && caller.database.is_none()) || (n < 2 && caller.schema.is_none()) {
        return Err(refused(
            "the name is not fully qualified and the call carried no current database and schema: declare the function with CONTEXT_HEADERS = (CURRENT_ROLE, CURRENT_DATABASE, CURRENT_SCHEMA), or name the table DATABASE.SCHEMA.TABLE".into(),
        ));
    }
    let (r, caller, given) = (r.clone(), caller.clone(), name.to_string());
    tokio::task::spawn_blocking(move || r.resolve(&caller, &given, what))
        .await
        .map_err(|e| GatewayError::Internal(format!("resolving table {name}: {e}")))?
        .map_err(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_comes_from_the_declared_headers() {
        let mut h = HeaderMap::new();
        h.insert("sf-context-current-role", "SYSADMIN".parse().unwrap());
        h.insert("sf-context-current-database", "IGNORED".parse().unwrap());
        h.insert("sf-context-current-database-base64", base64::engine::general_purpose::STANDARD.encode("Lab Ü").parse().unwrap());
        h.insert("sf-context-current-schema", "".parse().unwrap());
        let c = CallerContext::from_headers(&h);
        assert_eq!(c, CallerContext { role: Some("SYSADMIN".into()), database: Some("Lab Ü".into()), schema: None });
        assert_eq!(CallerContext::from_headers(&HeaderMap::new()), CallerContext::default());
    }

    #[test]
    fn parts_ignore_dots_in_quotes() {
        assert_eq!((parts("t"), parts("s.t"), parts("d.s.t"), parts("\"a.b\".t")), (1, 2, 3, 2));
    }
}
