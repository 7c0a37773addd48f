//! `PUT file://... @stage` and `GET @stage 'file://dir/'`: the server checks the stage and says
//! where the bytes go; the driver moves them itself (see `connector::stage_files`). This module
//! reads the statement (its file URI is not SQL the lexer could read: `file:///` holds `//`) and
//! returns a [`Transfer`]; the connector renders it as the drivers' `UPLOAD`/`DOWNLOAD` answer.

use crate::session::Session;
use crate::sql::lexer::{lex, Tok};
use crate::WarehouseError;

use super::objects::Access;
use super::syntax::{opt, options, StageRef};

/// What a driver is told to do for a `PUT` or `GET`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub upload: bool,
    /// The stage's storage id (the "bucket" of the upload URL).
    pub storage: String,
    /// Key prefix inside the storage the driver may write (`PUT`) or read (`GET`) under.
    pub prefix: String,
    /// `PUT`: the local file pattern; `GET`: the stage files, relative to `prefix`.
    pub files: Vec<String>,
    /// `GET`: the local folder.
    pub local: Option<String>,
    pub auto_compress: bool,
    pub source_compression: String,
    pub overwrite: bool,
    pub parallel: u32,
}

/// Whether `sql` is a `PUT` or `GET` (the first word), read before the SQL lexer sees it.
pub fn is_transfer(sql: &str) -> bool {
    let w: String = sql.trim_start().chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    (w.eq_ignore_ascii_case("PUT") || w.eq_ignore_ascii_case("GET")) && sql.trim_start()[w.len()..].starts_with(char::is_whitespace)
}

/// The next whitespace-separated argument: a `'quoted'` literal (with `''` and backslash
/// escapes) or a bare word; and the rest.
fn argument(s: &str) -> Result<(String, &str), WarehouseError> {
    let s = s.trim_start();
    if s.starts_with('\'') {
        // The literal's end: a quote not doubled and not escaped by a backslash.
        let b = s.as_bytes();
        let mut i = 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
                b'\'' => break,
                _ => i += 1,
            }
        }
        let toks = lex(&s[..(i + 1).min(s.len())]).ok();
        let first = toks.as_ref().and_then(|t| t.first()).ok_or_else(|| WarehouseError::Syntax("unterminated string in PUT/GET".into()))?;
        let Tok::Str(v) = &first.tok else { return Err(WarehouseError::Syntax("a quoted path is expected".into())) };
        return Ok((v.clone(), &s[first.end..]));
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    if end == 0 {
        return Err(WarehouseError::Syntax("PUT and GET take a file URI and a stage".into()));
    }
    Ok((s[..end].to_string(), &s[end..]))
}

fn local_path(uri: &str) -> Result<String, WarehouseError> {
    let lower = uri.to_ascii_lowercase();
    if !lower.starts_with("file://") {
        return Err(WarehouseError::Syntax(format!("'{uri}': a local file is given as file://<path>")));
    }
    Ok(uri[7..].to_string())
}

impl Session {
    /// Checks a `PUT`/`GET` (the stage exists and the role may use it) and says what moves where.
    pub fn prepare_transfer(&mut self, sql: &str) -> Result<Transfer, WarehouseError> {
        let sql = sql.trim().trim_end_matches(';');
        let (verb, rest) = argument(sql)?;
        let upload = verb.eq_ignore_ascii_case("PUT");
        let (first, rest) = argument(rest)?;
        let (second, rest) = argument(rest)?;
        let (uri, at) = if upload { (first, second) } else { (second, first) };
        let local = local_path(&uri)?;
        let r = StageRef::parse(&at)?;
        let stage = self.resolve_stage(&r, if upload { Access::Write } else { Access::Read })?;
        let opts = options(&lex(rest)?)?;
        let flag = |k: &str, default: bool| opt(&opts, k).and_then(|v| v.text()).map_or(default, |v| v.eq_ignore_ascii_case("TRUE"));
        let parallel = opt(&opts, "PARALLEL").and_then(|v| v.text()).and_then(|v| v.parse().ok()).unwrap_or(4);
        if upload {
            let prefix = if stage.path.is_empty() || stage.path.ends_with('/') { stage.path.clone() } else { format!("{}/", stage.path) };
            return Ok(Transfer {
                upload,
                storage: stage.storage,
                prefix,
                files: vec![local],
                local: None,
                auto_compress: flag("AUTO_COMPRESS", true),
                source_compression: opt(&opts, "SOURCE_COMPRESSION").and_then(|v| v.text()).unwrap_or("AUTO_DETECT").to_uppercase(),
                overwrite: flag("OVERWRITE", false),
                parallel,
            });
        }
        let pattern = opt(&opts, "PATTERN").and_then(|v| v.text()).map(str::to_string);
        let files = self.matching_files(&stage, pattern.as_deref())?.into_iter().map(|f| f.path).collect();
        Ok(Transfer {
            upload,
            storage: stage.storage,
            prefix: String::new(),
            files,
            local: Some(local),
            auto_compress: false,
            source_compression: "NONE".into(),
            overwrite: true,
            parallel,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_and_get_are_told_apart_from_other_statements() {
        assert!(is_transfer("PUT 'file:///tmp/a.csv' @s"));
        assert!(is_transfer("  get @s file:///tmp/"));
        assert!(!is_transfer("putter"));
        assert!(!is_transfer("select 1"));
    }

    #[test]
    fn arguments_quoted_or_bare() {
        let (a, rest) = argument("PUT 'file:///tmp/it''s \\'x\\'.csv' @\"DB\".\"S\".st/p PARALLEL=4").unwrap();
        assert_eq!(a, "PUT");
        let (b, rest) = argument(rest).unwrap();
        assert_eq!(b, "file:///tmp/it's 'x'.csv");
        let (c, rest) = argument(rest).unwrap();
        assert_eq!(c, "@\"DB\".\"S\".st/p");
        assert_eq!(rest.trim(), "PARALLEL=4");
        assert_eq!(local_path("file:///tmp/x.csv").unwrap(), "/tmp/x.csv");
        assert!(local_path("/tmp/x.csv").is_err());
    }
}
