//! Internal stages: named stages (`create [temporary] stage`), the user's stage `@~` and table
//! stages `@%t`; file formats; `LIST`, `REMOVE`, `COPY INTO <table>` (CSV and Parquet, with
//! `ON_ERROR`), `COPY INTO @stage` (unloading), `INFER_SCHEMA`, queries over staged files
//! ([`query`]) and privileges on stages and file formats ([`grants`]); and the server side of
//! `PUT` and `GET`, whose bytes the drivers move themselves over HTTP ([`transfer`]).
//!
//! Statements are recognised here from their tokens, apart from the SQL front end, and reach
//! DuckDB only as SQL this module writes: names quoted, file paths recpipe made. A stage's files
//! stay under `<data>/warehouse/stages/` ([`files`]); no path a user writes is joined as text.

mod copy;
mod files;
mod grants;
mod objects;
mod plain_csv;
mod query;
mod syntax;
pub mod transfer;

use crate::result::{Column, QueryResult};
use crate::session::Session;
use crate::sql::lexer::{Tok, Token};
use crate::sql::{ObjectName, SourceStatement};
use crate::WarehouseError;

pub use files::{StageDir, StageFile};
pub(crate) use objects::TempObjects;
use objects::{Access, FILE_FORMAT, STAGE};
#[cfg(test)]
pub(crate) use syntax::render;
pub(crate) use syntax::resolve_identifier_calls;
use syntax::{options, opt, OptValue, StageRef};

/// A statement this module runs.
pub(crate) enum StageStatement {
    Create { kind: &'static str, name: ObjectName, replace: bool, if_not_exists: bool, temporary: bool, options: Vec<(String, OptValue)> },
    Drop { kind: &'static str, name: ObjectName, if_exists: bool },
    Show { kind: &'static str, like: Option<String> },
    List { at: StageRef, pattern: Option<String> },
    Remove { at: StageRef, pattern: Option<String> },
    Load(copy::Load),
    Unload(copy::Unload),
    InferSchema { location: String, format: Option<String> },
    Grant(grants::StageGrant),
    ShowGrantsOn { kind: &'static str, name: ObjectName },
    Query(query::StagedQuery),
    /// `PUT`/`GET`: only the drivers can move the files.
    Transfer,
}

fn word(toks: &[Token], i: usize) -> String {
    match toks.get(i).map(|t| &t.tok) {
        Some(Tok::Word(w)) => w.to_uppercase(),
        _ => String::new(),
    }
}

/// `[IF [NOT] EXISTS] name` at `toks[*i]`.
fn name_at(toks: &[Token], i: &mut usize) -> Result<(ObjectName, bool), WarehouseError> {
    let mut guarded = false;
    if word(toks, *i) == "IF" {
        *i += if word(toks, *i + 1) == "NOT" { 3 } else { 2 };
        guarded = true;
    }
    let mut parts = Vec::new();
    while let Some(id) = toks.get(*i).and_then(|t| crate::sql::Ident::from_tok(&t.tok)) {
        parts.push(id);
        *i += 1;
        if !toks.get(*i).is_some_and(|t| t.tok.is_op(".")) {
            break;
        }
        *i += 1;
    }
    if parts.is_empty() || parts.len() > 3 {
        return Err(WarehouseError::Syntax("a name is expected".into()));
    }
    Ok((ObjectName(parts), guarded))
}

fn like_at(toks: &[Token], i: usize) -> Option<String> {
    (word(toks, i) == "LIKE").then(|| match toks.get(i + 1).map(|t| &t.tok) {
        Some(Tok::Str(s)) => Some(s.clone()),
        _ => None,
    })?
}

/// `PATTERN = '...'` (also `=>`) anywhere after `from`.
fn pattern_at(toks: &[Token], from: usize) -> Result<Option<String>, WarehouseError> {
    let o = options(&toks[from.min(toks.len())..])?;
    Ok(opt(&o, "PATTERN").and_then(|v| v.text()).map(str::to_string))
}

/// The stage statement `toks` is, if it is one.
pub(crate) fn recognise(toks: &[Token]) -> Result<Option<StageStatement>, WarehouseError> {
    let first = word(toks, 0);
    Ok(Some(match first.as_str() {
        "PUT" | "GET" => StageStatement::Transfer,
        "CREATE" => {
            let mut i = 1;
            let mut replace = false;
            if word(toks, 1) == "OR" && word(toks, 2) == "REPLACE" {
                replace = true;
                i = 3;
            }
            let mut temporary = false;
            while ["TEMPORARY", "TEMP", "TRANSIENT", "VOLATILE", "LOCAL", "GLOBAL"].contains(&word(toks, i).as_str()) {
                temporary |= matches!(word(toks, i).as_str(), "TEMPORARY" | "TEMP" | "VOLATILE");
                i += 1;
            }
            let kind = match (word(toks, i).as_str(), word(toks, i + 1).as_str()) {
                ("STAGE", _) => {
                    i += 1;
                    STAGE
                }
                ("FILE", "FORMAT") => {
                    i += 2;
                    FILE_FORMAT
                }
                _ => return Ok(None),
            };
            let (name, if_not_exists) = name_at(toks, &mut i)?;
            let options = options(&toks[i..])?;
            if kind == STAGE && (opt(&options, "URL").is_some() || opt(&options, "STORAGE_INTEGRATION").is_some()) {
                return Err(WarehouseError::Unsupported("external stages (URL = ...): recpipe keeps internal stages only".into()));
            }
            StageStatement::Create { kind, name, replace, if_not_exists, temporary, options }
        }
        "DROP" => {
            let (kind, mut i) = match (word(toks, 1).as_str(), word(toks, 2).as_str()) {
                ("STAGE", _) => (STAGE, 2),
                ("FILE", "FORMAT") => (FILE_FORMAT, 3),
                _ => return Ok(None),
            };
            let (name, if_exists) = name_at(toks, &mut i)?;
            StageStatement::Drop { kind, name, if_exists }
        }
        "GRANT" | "REVOKE" => match grants::grant(toks)? {
            Some(g) => StageStatement::Grant(g),
            None => return Ok(None),
        },
        "SHOW" if word(toks, 1) == "GRANTS" => match grants::show_grants_on(toks)? {
            Some((kind, name)) => StageStatement::ShowGrantsOn { kind, name },
            None => return Ok(None),
        },
        "SHOW" => match (word(toks, 1).as_str(), word(toks, 2).as_str(), word(toks, 3).as_str()) {
            ("STAGES", ..) => StageStatement::Show { kind: STAGE, like: like_at(toks, 2) },
            ("FILE", "FORMATS", _) => StageStatement::Show { kind: FILE_FORMAT, like: like_at(toks, 3) },
            _ => return Ok(None),
        },
        "LIST" | "LS" | "REMOVE" | "RM" => {
            let mut i = 1;
            let Some(text) = syntax::stage_ref_at(toks, &mut i) else { return Ok(None) };
            let at = StageRef::parse(&text)?;
            let pattern = pattern_at(toks, i)?;
            if matches!(first.as_str(), "LIST" | "LS") {
                StageStatement::List { at, pattern }
            } else {
                StageStatement::Remove { at, pattern }
            }
        }
        "COPY" if word(toks, 1) == "INTO" => match copy::parse(toks)? {
            copy::Copy::Load(l) => StageStatement::Load(l),
            copy::Copy::Unload(u) => StageStatement::Unload(u),
        },
        "SELECT" | "WITH" => match (copy::infer_schema_call(toks), query::staged_query(toks)?) {
            (Some((location, format)), _) => StageStatement::InferSchema { location, format },
            (None, Some(q)) => StageStatement::Query(q),
            (None, None) => return Ok(None),
        },
        _ => return Ok(None),
    }))
}

/// In `COPY INTO` and a query over staged files, `$1` names a field of the staged file, not a
/// bound value: such markers are kept out of binding (the drivers bind `COPY INTO
/// IDENTIFIER(?) ... ON_ERROR = ?`).
pub(crate) fn protect_file_fields(sts: &mut [SourceStatement]) {
    let reads_files = |st: &SourceStatement| (word(&st.toks, 0) == "COPY" && word(&st.toks, 1) == "INTO") || query::reads_stage(&st.toks);
    for st in sts.iter_mut().filter(|st| reads_files(st)) {
        for t in &mut st.toks {
            if let Tok::Bind(b) = &t.tok {
                if b.starts_with('$') {
                    t.tok = Tok::Word(b.clone());
                }
            }
        }
    }
}

pub(crate) fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}

fn http_date(unix: i64) -> String {
    let fmt = time::macros::format_description!("[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    time::OffsetDateTime::from_unix_timestamp(unix).ok().and_then(|t| t.format(&fmt).ok()).unwrap_or_default()
}

impl Session {
    /// Runs a statement of this module.
    pub(crate) fn run_stage(&mut self, st: StageStatement) -> Result<QueryResult, WarehouseError> {
        match st {
            StageStatement::Create { kind, name, replace, if_not_exists, temporary, options } => {
                Ok(QueryResult::status(self.create_object(kind, &name, replace, if_not_exists, temporary, options)?))
            }
            StageStatement::Drop { kind, name, if_exists } => Ok(QueryResult::status(self.drop_object(kind, &name, if_exists)?)),
            StageStatement::Show { kind, like } => self.show_objects(kind, like),
            StageStatement::List { at, pattern } => self.list_stage(&at, pattern.as_deref()),
            StageStatement::Remove { at, pattern } => self.remove_from_stage(&at, pattern.as_deref()),
            StageStatement::Load(l) => self.copy_into_table(l),
            StageStatement::Unload(u) => self.copy_into_stage(u),
            StageStatement::InferSchema { location, format } => self.infer_schema(&location, format.as_deref()),
            StageStatement::Grant(g) => self.grant_on_stage(g),
            StageStatement::ShowGrantsOn { kind, name } => self.show_grants_on_stage(kind, &name),
            StageStatement::Query(q) => self.query_staged(q),
            StageStatement::Transfer => Err(WarehouseError::Unsupported(
                "PUT and GET move files between the client and a stage: run them through a Snowflake driver (the Python connector, JDBC, the Snowflake CLI)".into(),
            )),
        }
    }

    /// The stage's files under the reference's path that match `pattern` (a regular expression
    /// over the whole path inside the stage).
    pub(crate) fn matching_files(&self, r: &objects::Resolved, pattern: Option<&str>) -> Result<Vec<StageFile>, WarehouseError> {
        let mut files = r.dir.list(&r.path)?;
        if let Some(p) = pattern {
            let mut st = self.conn.prepare("SELECT regexp_full_match(?1, ?2)")?;
            let mut keep = Vec::new();
            for f in files {
                let shown = format!("{}{}", r.shown_prefix, f.path);
                let m: bool = st.query_row([f.path.as_str(), p], |row| row.get(0))?;
                let m2: bool = st.query_row([shown.as_str(), p], |row| row.get(0))?;
                if m || m2 {
                    keep.push(f);
                }
            }
            files = keep;
        }
        Ok(files)
    }

    fn list_stage(&mut self, at: &StageRef, pattern: Option<&str>) -> Result<QueryResult, WarehouseError> {
        let r = self.resolve_stage(at, Access::Read)?;
        let mut rows = Vec::new();
        for f in self.matching_files(&r, pattern)? {
            let bytes = r.dir.read(&f.path)?.unwrap_or_default();
            rows.push(vec![
                Some(format!("{}{}", r.shown_prefix, f.path)),
                Some(f.size.to_string()),
                Some(md5_hex(&bytes)),
                Some(http_date(f.modified)),
            ]);
        }
        let mut out = QueryResult::table(&["name", "size", "md5", "last_modified"], rows);
        out.columns[1] = Column::typed("size", "fixed");
        Ok(out)
    }

    fn remove_from_stage(&mut self, at: &StageRef, pattern: Option<&str>) -> Result<QueryResult, WarehouseError> {
        let r = self.resolve_stage(at, Access::Write)?;
        let mut rows = Vec::new();
        for f in self.matching_files(&r, pattern)? {
            r.dir.remove(&f.path)?;
            rows.push(vec![Some(format!("{}{}", r.shown_prefix, f.path)), Some("removed".into())]);
        }
        Ok(QueryResult::table(&["name", "result"], rows))
    }

    fn show_objects(&mut self, kind: &str, like: Option<String>) -> Result<QueryResult, WarehouseError> {
        let mut rows = Vec::new();
        for o in self.list_objects(kind)? {
            if !crate::exec::like_matches(&like, &o.name) {
                continue;
            }
            let created = Some(crate::exec::show_ts(o.created));
            let comment = Some(o.comment.clone().unwrap_or_default());
            if kind == STAGE {
                let ty = if o.temporary { "INTERNAL TEMPORARY" } else { "INTERNAL" };
                rows.push(vec![
                    created,
                    Some(o.name.clone()),
                    Some(o.db.clone()),
                    Some(o.schema.clone()),
                    Some(String::new()),
                    Some("N".into()),
                    Some("N".into()),
                    Some(o.owner.clone()),
                    comment,
                    None,
                    Some(ty.into()),
                    None,
                    None,
                    None,
                    None,
                    Some("ROLE".into()),
                    Some("N".into()),
                ]);
            } else {
                let ty = opt(&o.options, "TYPE").and_then(|v| v.text()).unwrap_or("CSV").to_uppercase();
                let opts: serde_json::Map<String, serde_json::Value> =
                    o.options.iter().filter(|(k, _)| k != "TYPE" && k != "COMMENT").map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default())).collect();
                rows.push(vec![
                    created,
                    Some(o.name.clone()),
                    Some(o.db.clone()),
                    Some(o.schema.clone()),
                    Some(ty),
                    Some(o.owner.clone()),
                    comment,
                    Some(serde_json::Value::Object(opts).to_string()),
                ]);
            }
        }
        Ok(if kind == STAGE {
            QueryResult::table(
                &[
                    "created_on", "name", "database_name", "schema_name", "url", "has_credentials", "has_encryption_key", "owner", "comment", "region", "type",
                    "cloud", "notification_channel", "storage_integration", "endpoint", "owner_role_type", "directory_enabled",
                ],
                rows,
            )
        } else {
            QueryResult::table(&["created_on", "name", "database_name", "schema_name", "type", "owner", "comment", "format_options"], rows)
        })
    }
}
