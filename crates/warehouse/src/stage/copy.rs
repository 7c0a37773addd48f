//! `COPY INTO <table> FROM @stage` (CSV and Parquet files, optionally through a `SELECT $1:col`
//! transform, with `ON_ERROR`, `FILES`, `PATTERN`, `PURGE`, `MATCH_BY_COLUMN_NAME`), `COPY INTO
//! @stage FROM (query)` (unloading) and `INFER_SCHEMA` over staged Parquet.
//!
//! Each file is read by DuckDB into a temporary table (its `read_csv`/`read_parquet` over a path
//! recpipe made), checked row by row against the target's column types, and inserted by an
//! `INSERT ... SELECT` that runs like a user's statement: the same privilege checks and rewrite.

use crate::result::{Column, QueryResult};
use crate::session::Session;
use crate::sql::lexer::{Tok, Token};
use crate::sql::{literal, quote, split, ObjectName};
use crate::WarehouseError;

use super::objects::{Access, FILE_FORMAT};
use super::syntax::{opt, options, render, stage_ref_at, OptValue, StageRef};
use super::word;

/// `COPY INTO <table>`.
pub(crate) struct Load {
    target: Vec<Token>,
    columns: Option<Vec<Token>>,
    source: String,
    /// The select items of `FROM (SELECT ... FROM @stage)`.
    transform: Option<Vec<Token>>,
    options: Vec<(String, OptValue)>,
}

/// `COPY INTO @stage`.
pub(crate) struct Unload {
    location: String,
    /// The query (or `SELECT * FROM <table>`).
    query: Vec<Token>,
    options: Vec<(String, OptValue)>,
}

pub(crate) enum Copy {
    Load(Load),
    Unload(Unload),
}

fn syntax(msg: &str) -> WarehouseError {
    WarehouseError::Syntax(msg.to_string())
}

/// The index just past the `)` matching the `(` at `open`.
pub(super) fn close_of(toks: &[Token], open: usize) -> Result<usize, WarehouseError> {
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate().skip(open) {
        if t.tok.is_op("(") {
            depth += 1;
        } else if t.tok.is_op(")") {
            depth -= 1;
            if depth == 0 {
                return Ok(i + 1);
            }
        }
    }
    Err(syntax("unbalanced parentheses"))
}

/// The first top-level `FROM` at or after `from`.
fn top_level_from(toks: &[Token], from: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate().skip(from) {
        if t.tok.is_op("(") {
            depth += 1;
        } else if t.tok.is_op(")") {
            depth -= 1;
        } else if depth == 0 && t.tok.is_kw("FROM") {
            return Some(i);
        }
    }
    None
}

pub(crate) fn parse(toks: &[Token]) -> Result<Copy, WarehouseError> {
    let mut i = 2;
    if let Some(location) = stage_ref_at(toks, &mut i) {
        if !toks.get(i).is_some_and(|t| t.tok.is_kw("FROM")) {
            return Err(syntax("COPY INTO @stage needs FROM (query) or FROM table"));
        }
        i += 1;
        let query = if toks.get(i).is_some_and(|t| t.tok.is_op("(")) {
            let end = close_of(toks, i)?;
            let q = toks[i + 1..end - 1].to_vec();
            i = end;
            q
        } else {
            let start = i;
            while toks.get(i).is_some_and(|t| matches!(t.tok, Tok::Word(_) | Tok::Quoted(_)) || t.tok.is_op(".")) && !(word(toks, i).len() > 0 && toks.get(i + 1).is_some_and(|n| n.tok.is_op("=") || n.tok.is_op("=>"))) {
                i += 1;
            }
            let mut q = crate::sql::lexer::lex("SELECT * FROM")?;
            q.extend(toks[start..i].iter().cloned());
            q
        };
        return Ok(Copy::Unload(Unload { location, query, options: options(&toks[i..])? }));
    }
    let start = i;
    while toks.get(i).is_some_and(|t| !t.tok.is_op("(") && !t.tok.is_kw("FROM")) {
        i += 1;
    }
    let target = toks[start..i].to_vec();
    if target.is_empty() {
        return Err(syntax("COPY INTO needs a table or a stage"));
    }
    let mut columns = None;
    if toks.get(i).is_some_and(|t| t.tok.is_op("(")) {
        let end = close_of(toks, i)?;
        columns = Some(toks[i + 1..end - 1].to_vec());
        i = end;
    }
    if !toks.get(i).is_some_and(|t| t.tok.is_kw("FROM")) {
        return Err(syntax("COPY INTO <table> needs FROM @stage"));
    }
    i += 1;
    let (source, transform) = if toks.get(i).is_some_and(|t| t.tok.is_op("(")) {
        let end = close_of(toks, i)?;
        let inner = &toks[i + 1..end - 1];
        if !inner.first().is_some_and(|t| t.tok.is_kw("SELECT")) {
            return Err(syntax("COPY INTO <table> FROM (...) takes a SELECT from a stage"));
        }
        let from = top_level_from(inner, 1).ok_or_else(|| syntax("the SELECT of a COPY names its stage after FROM"))?;
        let mut j = from + 1;
        let source = stage_ref_at(inner, &mut j).ok_or_else(|| syntax("the SELECT of a COPY reads from a stage (@...)"))?;
        i = end;
        (source, Some(inner[1..from].to_vec()))
    } else {
        (stage_ref_at(toks, &mut i).ok_or_else(|| syntax("COPY INTO <table> reads FROM a stage (@...)"))?, None)
    };
    Ok(Copy::Load(Load { target, columns, source, transform, options: options(&toks[i..])? }))
}

/// `SELECT * FROM TABLE(INFER_SCHEMA(LOCATION => '@s', FILE_FORMAT => 'ff'))`: its arguments.
pub(crate) fn infer_schema_call(toks: &[Token]) -> Option<(String, Option<String>)> {
    let at = toks.iter().position(|t| t.tok.is_kw("INFER_SCHEMA"))?;
    if !toks.get(at + 1)?.tok.is_op("(") {
        return None;
    }
    let end = close_of(toks, at + 1).ok()?;
    let o = options(&toks[at + 2..end - 1]).ok()?;
    let location = opt(&o, "LOCATION")?.text()?.to_string();
    Some((location, opt(&o, "FILE_FORMAT").and_then(|v| v.text()).map(str::to_string)))
}

/// How the files of a COPY are read.
#[derive(Debug, Clone)]
pub(super) struct Format {
    pub(super) parquet: bool,
    delimiter: String,
    pub(super) skip_header: u64,
    quote: Option<String>,
    null_if: Vec<String>,
}

impl Format {
    /// The reader's NULL spellings as SQL: `NULL_IF`'s, and the empty field
    /// (`EMPTY_FIELD_AS_NULL`, Snowflake's default).
    fn nullstr(&self) -> String {
        self.null_if.iter().map(|n| literal(n)).chain(["''".to_string()]).collect::<Vec<_>>().join(", ")
    }
}

/// What `ON_ERROR` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum OnError {
    Abort,
    Continue,
    /// Skip a file once this many rows failed (`SKIP_FILE` is 1).
    SkipFile(u64),
    /// Skip a file once this percentage of its rows failed.
    SkipFilePercent(f64),
}

fn on_error(opts: &[(String, OptValue)]) -> Result<OnError, WarehouseError> {
    let Some(v) = opt(opts, "ON_ERROR").and_then(|v| v.text()) else { return Ok(OnError::Abort) };
    let v = v.to_uppercase();
    Ok(match v.as_str() {
        "ABORT_STATEMENT" => OnError::Abort,
        "CONTINUE" => OnError::Continue,
        "SKIP_FILE" => OnError::SkipFile(1),
        _ => match v.strip_prefix("SKIP_FILE_") {
            Some(n) if n.ends_with('%') => OnError::SkipFilePercent(n.trim_end_matches('%').parse().map_err(|_| bad_on_error(&v))?),
            Some(n) => OnError::SkipFile(n.parse().map_err(|_| bad_on_error(&v))?),
            None => return Err(bad_on_error(&v)),
        },
    })
}

fn bad_on_error(v: &str) -> WarehouseError {
    WarehouseError::Invalid(format!("invalid value '{v}' for ON_ERROR: ABORT_STATEMENT, CONTINUE, SKIP_FILE, SKIP_FILE_<n> or SKIP_FILE_<n>%"))
}

/// One file's outcome, in COPY's result columns.
struct FileResult {
    file: String,
    status: &'static str,
    parsed: u64,
    loaded: u64,
    errors: u64,
    first_error: Option<String>,
    first_line: Option<u64>,
    first_character: Option<u64>,
    first_column: Option<String>,
}

/// What every file of one COPY is loaded into, and how.
#[derive(Clone, Copy)]
struct LoadPlan<'a> {
    format: &'a Format,
    on_error: OnError,
    target: &'a ObjectName,
    table: &'a str,
    /// The target's columns the files fill, with their engine types.
    columns: &'a [(String, String)],
    transform: Option<&'a [Token]>,
    by_name: bool,
}

pub(super) const LINE: &str = "__RECPIPE_LINE";

/// Nothing in a COPY is stored by name from the user: temporary tables are named here.
pub(super) fn temp_name(what: &str) -> String {
    format!("__RECPIPE_{what}_{}", crate::random::hex_id(8).to_uppercase())
}

fn snowflake_type_of(duck: &str) -> String {
    let d = duck.to_uppercase();
    match d.as_str() {
        "TINYINT" | "SMALLINT" | "INTEGER" | "BIGINT" | "HUGEINT" | "UTINYINT" | "USMALLINT" | "UINTEGER" | "UBIGINT" => "NUMBER(38, 0)".into(),
        "FLOAT" | "DOUBLE" | "REAL" => "REAL".into(),
        "VARCHAR" => "TEXT".into(),
        "BOOLEAN" => "BOOLEAN".into(),
        "DATE" => "DATE".into(),
        "BLOB" => "BINARY".into(),
        "TIME" => "TIME(9)".into(),
        "TIMESTAMP WITH TIME ZONE" => "TIMESTAMP_TZ(9)".into(),
        _ if d.starts_with("TIMESTAMP") => "TIMESTAMP_NTZ(9)".into(),
        _ if d.starts_with("DECIMAL") => d.replace("DECIMAL", "NUMBER").replace(',', ", "),
        _ => "VARIANT".into(),
    }
}

/// Snowflake's words for a value that does not convert to `duck` type.
fn not_recognized(duck: &str, value: &str) -> String {
    let d = duck.to_uppercase();
    let what = if ["INT", "DECIMAL", "DOUBLE", "FLOAT", "REAL", "NUMERIC"].iter().any(|n| d.contains(n)) {
        "Numeric value"
    } else if d.starts_with("TIMESTAMP") {
        "Timestamp"
    } else if d == "DATE" {
        "Date"
    } else if d == "BOOLEAN" {
        "Boolean value"
    } else if d.starts_with("TIME") {
        "Time"
    } else {
        "Value"
    };
    format!("{what} '{value}' is not recognized")
}

impl Session {
    /// The format a COPY reads with: its own `FILE_FORMAT = (...)` or `FORMAT_NAME`, else the
    /// stage's, else CSV.
    pub(super) fn copy_format(&self, opts: &[(String, OptValue)], stage_format: &[(String, OptValue)]) -> Result<Format, WarehouseError> {
        let own = match opt(opts, "FILE_FORMAT") {
            Some(OptValue::Group(g)) => g.clone(),
            Some(OptValue::Text(name)) => self.named_format(name)?,
            _ => stage_format.to_vec(),
        };
        let own = match opt(&own, "FORMAT_NAME").and_then(|v| v.text()) {
            Some(name) => self.named_format(name)?,
            None => own,
        };
        let text = |k: &str| opt(&own, k).and_then(|v| v.text()).map(str::to_string);
        let ty = text("TYPE").unwrap_or_else(|| "CSV".into()).to_uppercase();
        if !["CSV", "PARQUET"].contains(&ty.as_str()) {
            return Err(WarehouseError::Unsupported(format!("file format TYPE = {ty} (recpipe loads CSV and PARQUET)")));
        }
        let null_if = match opt(&own, "NULL_IF") {
            Some(OptValue::List(l)) => l.clone(),
            Some(OptValue::Text(t)) => vec![t.clone()],
            _ => vec!["\\N".into()],
        };
        let quote = text("FIELD_OPTIONALLY_ENCLOSED_BY").filter(|q| !q.eq_ignore_ascii_case("NONE") && !q.is_empty());
        Ok(Format {
            parquet: ty == "PARQUET",
            delimiter: text("FIELD_DELIMITER").unwrap_or_else(|| ",".into()),
            skip_header: text("SKIP_HEADER").and_then(|s| s.parse().ok()).unwrap_or(0),
            quote,
            null_if,
        })
    }

    pub(super) fn named_format(&self, name: &str) -> Result<Vec<(String, OptValue)>, WarehouseError> {
        let name = ObjectName::parse(name)?;
        Ok(self.usable_object(FILE_FORMAT, &name)?.options)
    }

    /// `INSERT` privilege on the table named by `toks`, checked the way an `INSERT` is.
    fn target_of(&mut self, toks: &[Token]) -> Result<(ObjectName, String, String, String), WarehouseError> {
        let text = render(toks);
        let name = ObjectName::parse(&text)?;
        let (d, s, n) = name.qualify(self.database.as_ref(), self.schema.as_ref())?;
        let Some((db, schema, table)) = self.table_spelling(&d, &s, &n)? else {
            return Err(WarehouseError::not_found("Table", format!("{d}.{s}.{n}")));
        };
        self.require_insert(&name)?;
        Ok((name, db, schema, table))
    }

    /// The table's columns and their DuckDB types, in order.
    fn table_columns(&self, db: &str, schema: &str, table: &str) -> Result<Vec<(String, String)>, WarehouseError> {
        let mut st = self.conn.prepare(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ?1 AND schema_name = ?2 AND table_name = ?3 ORDER BY column_index",
        )?;
        let rows = st.query_map([db, schema, table], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn temp_columns(&self, temp: &str) -> Result<Vec<(String, String)>, WarehouseError> {
        let mut st = self.conn.prepare("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'temp' AND table_name = ?1 ORDER BY column_index")?;
        let rows = st.query_map([temp], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Reads one staged file into temporary table `temp` (CSV as text, with its line numbers).
    pub(super) fn read_into_temp(&mut self, path: &std::path::Path, format: &Format, temp: &str) -> Result<(), WarehouseError> {
        let p = literal(&path.to_string_lossy());
        if format.parquet {
            self.conn.execute_batch(&format!("CREATE TEMPORARY TABLE {} AS SELECT * FROM read_parquet({p})", quote(temp)))?;
            return Ok(());
        }
        // EMPTY_FIELD_AS_NULL (Snowflake's default): an empty field is NULL too.
        let nulls = format.nullstr();
        // Without an enclosing character every `"` is data: the file is split here first, and
        // the rewritten copy lives until the table is filled.
        let (reader, _requoted) = match &format.quote {
            Some(q) => (
                format!(
                    "read_csv({p}, header = false, skip = {}, delim = {}, quote = {}, escape = {}, all_varchar = true, null_padding = true, auto_detect = true, nullstr = [{nulls}])",
                    format.skip_header,
                    literal(&format.delimiter),
                    literal(q),
                    literal(q),
                ),
                None,
            ),
            None => {
                let r = super::plain_csv::requote(path, &format.delimiter, format.skip_header, &self.wh.scratch_dir(), super::plain_csv::Shape::AsIs)?;
                (super::plain_csv::reader(&r, format.skip_header, &nulls), Some(r))
            }
        };
        self.conn.execute_batch(&format!(
            "CREATE TEMPORARY TABLE {} AS SELECT row_number() OVER () + {} AS {}, * FROM {reader}",
            quote(temp),
            format.skip_header,
            quote(LINE),
        ))?;
        Ok(())
    }

    /// `COPY INTO <table> FROM @stage ...`.
    pub(crate) fn copy_into_table(&mut self, l: Load) -> Result<QueryResult, WarehouseError> {
        let (name, db, schema, table) = self.target_of(&l.target)?;
        let stage = self.resolve_stage(&StageRef::parse(&l.source)?, Access::Read)?;
        let format = self.copy_format(&l.options, &stage.format)?;
        let on_error = on_error(&l.options)?;
        let purge = opt(&l.options, "PURGE").is_some_and(OptValue::truthy);
        let by_name = opt(&l.options, "MATCH_BY_COLUMN_NAME").and_then(|v| v.text()).is_some_and(|v| !v.eq_ignore_ascii_case("NONE"));
        let pattern = opt(&l.options, "PATTERN").and_then(|v| v.text()).map(str::to_string);
        let mut files = self.matching_files(&stage, pattern.as_deref())?;
        if let Some(OptValue::List(wanted)) = opt(&l.options, "FILES") {
            let base = stage.path.trim_end_matches('/');
            files.retain(|f| wanted.iter().any(|w| {
                let full = if base.is_empty() { w.clone() } else { format!("{base}/{w}") };
                f.path == *w || f.path == full
            }));
        }
        // Load metadata: a file already loaded into this table (same path and content) is skipped.
        let force = opt(&l.options, "FORCE").is_some_and(OptValue::truthy);
        let table_key = format!("{db}.{schema}.{table}");
        let mut digests = Vec::with_capacity(files.len());
        for f in &files {
            digests.push(super::md5_hex(&stage.dir.read(&f.path)?.unwrap_or_default()));
        }
        if !force {
            let seen = self.wh.catalog().read(|c| {
                let mut st = c.prepare("SELECT 1 FROM stage_loads WHERE tbl = ?1 AND storage = ?2 AND path = ?3 AND md5 = ?4")?;
                let mut seen = Vec::with_capacity(files.len());
                for (f, d) in files.iter().zip(&digests) {
                    seen.push(st.exists(rusqlite::params![table_key, stage.storage, f.path, d])?);
                }
                Ok(seen)
            })?;
            let mut keep = seen.iter().map(|s| !s);
            files.retain(|_| keep.next().unwrap_or(true));
            let mut keep = seen.iter().map(|s| !s);
            digests.retain(|_| keep.next().unwrap_or(true));
        }
        if files.is_empty() {
            return Ok(QueryResult::status("Copy executed with 0 files processed."));
        }
        let table_cols = self.table_columns(&db, &schema, &table)?;
        let targets: Vec<(String, String)> = match &l.columns {
            Some(toks) => {
                let mut out = Vec::new();
                for t in toks.iter().filter(|t| !t.tok.is_op(",")) {
                    let id = crate::sql::Ident::from_tok(&t.tok).ok_or_else(|| syntax("a column name is expected in COPY's column list"))?;
                    let found = table_cols.iter().find(|(c, _)| c.eq_ignore_ascii_case(id.as_str())).ok_or_else(|| WarehouseError::Invalid(format!("invalid identifier '{id}'")))?;
                    out.push(found.clone());
                }
                out
            }
            None => table_cols.clone(),
        };
        // All files or none (ABORT_STATEMENT); inside a user's transaction, it is theirs.
        let autocommit = self.conn.execute_batch("BEGIN TRANSACTION").is_ok();
        let plan = LoadPlan { format: &format, on_error, target: &name, table: &table, columns: &targets, transform: l.transform.as_deref(), by_name };
        let mut results = Vec::new();
        let mut outcome = Ok(());
        for f in &files {
            let shown = format!("{}{}", stage.shown_prefix, f.path);
            match self.load_file(&stage.dir.file(&f.path)?, &shown, &plan) {
                Ok(r) => results.push(r),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        if let Err(e) = outcome {
            if autocommit {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            return Err(e);
        }
        if autocommit {
            self.conn.execute_batch("COMMIT")?;
        }
        self.wh.catalog().tx(|tx| {
            for ((f, d), r) in files.iter().zip(&digests).zip(&results) {
                if r.loaded > 0 || r.status == "LOADED" {
                    tx.execute(
                        "INSERT OR REPLACE INTO stage_loads (tbl, storage, path, md5, loaded) VALUES (?1, ?2, ?3, ?4, ?5)",
                        rusqlite::params![table_key, stage.storage, f.path, d, crate::catalog::now()],
                    )?;
                }
            }
            Ok(())
        })?;
        if purge {
            for (f, r) in files.iter().zip(&results) {
                if r.loaded > 0 || r.status == "LOADED" {
                    stage.dir.remove(&f.path)?;
                }
            }
        }
        let rows = results
            .into_iter()
            .map(|r| {
                vec![
                    Some(r.file),
                    Some(r.status.into()),
                    Some(r.parsed.to_string()),
                    Some(r.loaded.to_string()),
                    Some(match on_error {
                        OnError::SkipFile(n) => n.to_string(),
                        _ => "1".into(),
                    }),
                    Some(r.errors.to_string()),
                    r.first_error,
                    r.first_line.map(|n| n.to_string()),
                    r.first_character.map(|n| n.to_string()),
                    r.first_column,
                ]
            })
            .collect();
        let mut out = QueryResult::table(
            &["file", "status", "rows_parsed", "rows_loaded", "error_limit", "errors_seen", "first_error", "first_error_line", "first_error_character", "first_error_column_name"],
            rows,
        );
        for i in [2, 3, 4, 5, 7, 8] {
            out.columns[i] = Column::typed(&out.columns[i].name.clone(), "fixed");
        }
        Ok(out)
    }

    fn load_file(&mut self, path: &std::path::Path, shown: &str, plan: &LoadPlan) -> Result<FileResult, WarehouseError> {
        let (format, on_error) = (plan.format, plan.on_error);
        let temp = temp_name("COPY");
        let empty = std::fs::metadata(path).map(|m| m.len() == 0).unwrap_or(false);
        let mut result = FileResult { file: shown.to_string(), status: "LOADED", parsed: 0, loaded: 0, errors: 0, first_error: None, first_line: None, first_character: None, first_column: None };
        if empty {
            return Ok(result);
        }
        let read = self.read_into_temp(path, format, &temp);
        let out = read.and_then(|()| self.load_temp(&temp, shown, plan, &mut result));
        let _ = self.conn.execute_batch(&format!("DROP TABLE IF EXISTS temp.main.{}", quote(&temp)));
        match out {
            Ok(()) => Ok(result),
            // A file DuckDB cannot read at all is one error of that file.
            Err(WarehouseError::Execution(msg)) if on_error != OnError::Abort => {
                result.status = "LOAD_FAILED";
                result.errors = 1;
                result.first_error = Some(msg);
                Ok(result)
            }
            Err(e) => Err(e),
        }
    }

    fn load_temp(&mut self, temp: &str, shown: &str, plan: &LoadPlan, result: &mut FileResult) -> Result<(), WarehouseError> {
        let LoadPlan { format, on_error, target, table, columns: targets, transform, by_name } = *plan;
        let file_cols: Vec<(String, String)> = self.temp_columns(temp)?.into_iter().filter(|(c, _)| c != LINE).collect();
        let qt = quote(temp);
        result.parsed = self.conn.query_row(&format!("SELECT count(*) FROM temp.main.{qt}"), [], |r| r.get::<_, i64>(0))? as u64;
        // What each target column is filled from.
        let items: Vec<String> = match transform {
            Some(items) => vec![render(&transform_items(items, &file_cols)?)],
            None if format.parquet || by_name => {
                let mut out = Vec::new();
                for (i, (c, _)) in targets.iter().enumerate() {
                    let found = file_cols.iter().find(|(f, _)| f.eq_ignore_ascii_case(c)).or_else(|| (!by_name).then(|| file_cols.get(i)).flatten());
                    out.push(found.map_or_else(|| "NULL".to_string(), |(f, _)| quote(f)));
                }
                out
            }
            None => {
                if file_cols.len() != targets.len() {
                    let msg = format!(
                        "Number of columns in file ({}) does not match that of the corresponding table ({}), use file format option error_on_column_count_mismatch=false to ignore this error",
                        file_cols.len(),
                        targets.len()
                    );
                    return self.file_error(result, on_error, shown, msg, Some(1 + format.skip_header), None);
                }
                file_cols.iter().map(|(f, _)| quote(f)).collect()
            }
        };
        // Rows whose text does not convert to the target's types (CSV: every field is text).
        if !format.parquet && transform.is_none() && !by_name {
            let bad: Vec<String> = file_cols
                .iter()
                .zip(targets)
                .map(|((f, _), (_, ty))| format!("({} IS NOT NULL AND TRY_CAST({} AS {ty}) IS NULL)", quote(f), quote(f)))
                .collect();
            if !bad.is_empty() {
                let pred = bad.join(" OR ");
                let errors: i64 = self.conn.query_row(&format!("SELECT count(*) FROM temp.main.{qt} WHERE {pred}"), [], |r| r.get(0))?;
                if errors > 0 {
                    let (line, field, value, char_at) = self.first_bad(temp, &file_cols, targets)?;
                    let ty = &targets[field].1;
                    result.errors = errors as u64;
                    result.first_error = Some(not_recognized(ty, &value));
                    result.first_line = Some(line);
                    result.first_character = Some(char_at);
                    result.first_column = Some(format!("{}[{}:{}]", quote(table), quote(&targets[field].0), field + 1));
                    let skip = match on_error {
                        OnError::Abort => {
                            return Err(WarehouseError::Execution(format!(
                                "{}\n  File '{shown}', line {line}, character {char_at}\n  Row {}, column {}\n  If you would like to continue loading when an error is encountered, use other values such as 'SKIP_FILE' or 'CONTINUE' for the ON_ERROR option. For more information on loading options, please run 'info loading_data' in a SQL client.",
                                not_recognized(ty, &value),
                                line - format.skip_header,
                                result.first_column.clone().unwrap_or_default()
                            )))
                        }
                        OnError::Continue => false,
                        OnError::SkipFile(n) => result.errors >= n,
                        OnError::SkipFilePercent(p) => result.parsed > 0 && (result.errors as f64) * 100.0 / (result.parsed as f64) >= p,
                    };
                    if skip {
                        result.status = "LOAD_FAILED";
                        return Ok(());
                    }
                    self.conn.execute_batch(&format!("DELETE FROM temp.main.{qt} WHERE {pred}"))?;
                }
            }
        }
        let cols: Vec<String> = targets.iter().map(|(c, _)| quote(c)).collect();
        let sql = format!("INSERT INTO {} ({}) SELECT {} FROM {qt}", target.sql(), cols.join(", "), items.join(", "));
        let st = split(&sql)?.remove(0);
        let r = self.execute_statement(&st)?;
        result.loaded = r.rows.first().and_then(|r| r.first()).cloned().flatten().and_then(|v| v.parse().ok()).unwrap_or(0);
        result.status = if result.errors == 0 {
            "LOADED"
        } else if result.loaded == 0 {
            "LOAD_FAILED"
        } else {
            "PARTIALLY_LOADED"
        };
        Ok(())
    }

    /// A whole file failed: an error, or a failed file, as ON_ERROR says.
    fn file_error(&self, result: &mut FileResult, on_error: OnError, shown: &str, msg: String, line: Option<u64>, column: Option<String>) -> Result<(), WarehouseError> {
        if on_error == OnError::Abort {
            return Err(WarehouseError::Execution(format!("{msg}\n  File '{shown}', line {}", line.unwrap_or(1))));
        }
        result.status = "LOAD_FAILED";
        result.errors = result.parsed.max(1);
        result.first_error = Some(msg);
        result.first_line = line;
        result.first_column = column;
        Ok(())
    }

    /// The first row that does not convert: (line, field index, value, character of the field).
    fn first_bad(&self, temp: &str, file_cols: &[(String, String)], targets: &[(String, String)]) -> Result<(u64, usize, String, u64), WarehouseError> {
        let cases: Vec<String> = file_cols
            .iter()
            .zip(targets)
            .enumerate()
            .map(|(i, ((f, _), (_, ty)))| format!("WHEN {} IS NOT NULL AND TRY_CAST({} AS {ty}) IS NULL THEN {i}", quote(f), quote(f)))
            .collect();
        let sql = format!(
            "SELECT {line}, field FROM (SELECT *, CASE {cases} END AS field FROM temp.main.{t}) WHERE field IS NOT NULL ORDER BY {line} LIMIT 1",
            line = quote(LINE),
            cases = cases.join(" "),
            t = quote(temp)
        );
        let (line, field): (i64, i64) = self.conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let field = field as usize;
        let value: String = self.conn.query_row(
            &format!("SELECT {} FROM temp.main.{} WHERE {} = ?1", quote(&file_cols[field].0), quote(temp), quote(LINE)),
            [line],
            |r| r.get(0),
        )?;
        let before: i64 = if field == 0 {
            0
        } else {
            let sums: Vec<String> = file_cols[..field].iter().map(|(f, _)| format!("coalesce(length({}), 0) + 1", quote(f))).collect();
            self.conn.query_row(&format!("SELECT {} FROM temp.main.{} WHERE {} = ?1", sums.join(" + "), quote(temp), quote(LINE)), [line], |r| r.get(0))?
        };
        Ok((line as u64, field, value, before as u64 + 1))
    }

    /// `COPY INTO @stage[/path] FROM (query) [FILE_FORMAT = (TYPE = CSV|PARQUET ...)] [HEADER = TRUE]
    /// [SINGLE = TRUE] [OVERWRITE = TRUE]`.
    pub(crate) fn copy_into_stage(&mut self, u: Unload) -> Result<QueryResult, WarehouseError> {
        let at = StageRef::parse(&u.location)?;
        let stage = self.resolve_stage(&at, Access::Write)?;
        let format = match opt(&u.options, "FILE_FORMAT") {
            Some(OptValue::Group(g)) => g.clone(),
            Some(OptValue::Text(n)) => self.named_format(n)?,
            _ => stage.format.clone(),
        };
        let format = match opt(&format, "FORMAT_NAME").and_then(|v| v.text()) {
            Some(n) => self.named_format(n)?,
            None => format,
        };
        let text = |k: &str| opt(&format, k).and_then(|v| v.text()).map(|s| s.to_uppercase());
        let parquet = text("TYPE").is_some_and(|t| t == "PARQUET");
        if let Some(t) = text("TYPE").filter(|t| t != "CSV" && t != "PARQUET") {
            return Err(WarehouseError::Unsupported(format!("unloading as {t} (recpipe unloads CSV and PARQUET)")));
        }
        let compression = text("COMPRESSION").unwrap_or_else(|| "AUTO".into());
        let header = opt(&u.options, "HEADER").is_some_and(OptValue::truthy) || parquet;
        let single = opt(&u.options, "SINGLE").is_some_and(OptValue::truthy);
        let overwrite = opt(&u.options, "OVERWRITE").is_some_and(OptValue::truthy);
        let (ext, codec) = match (parquet, compression.as_str()) {
            (true, "NONE") => (".parquet", "uncompressed"),
            (true, _) => (".snappy.parquet", "snappy"),
            (false, "NONE") => (".csv", "none"),
            (false, _) => (".csv.gz", "gzip"),
        };
        let file = if single {
            if stage.path.is_empty() || stage.path.ends_with('/') {
                format!("{}data", stage.path)
            } else {
                stage.path.clone()
            }
        } else if stage.path.is_empty() || stage.path.ends_with('/') {
            format!("{}data_0_0_0{ext}", stage.path)
        } else {
            format!("{}_0_0_0{ext}", stage.path)
        };
        if !overwrite && stage.dir.exists(&file)? {
            return Err(WarehouseError::Execution(format!(
                "Files already existing at the unload destination: {}. Use overwrite option to force unloading.",
                u.location
            )));
        }
        let temp = temp_name("UNLOAD");
        self.fill_temp_from_query(&temp, &render(&u.query))?;
        let out = (|| -> Result<QueryResult, WarehouseError> {
            let rows: i64 = self.conn.query_row(&format!("SELECT count(*) FROM temp.main.{}", quote(&temp)), [], |r| r.get(0))?;
            let target = stage.dir.file(&file)?;
            let dir = target.parent().map(|p| p.to_path_buf()).unwrap_or_else(|| stage.dir.root().to_path_buf());
            std::fs::create_dir_all(&dir).map_err(|e| WarehouseError::Internal(format!("creating {}: {e}", dir.display())))?;
            let tmp = dir.join(format!(".upload-{}", crate::random::uuid()));
            let opts = if parquet {
                format!("FORMAT parquet, COMPRESSION {codec}")
            } else {
                format!("FORMAT csv, HEADER {}, DELIMITER ',', COMPRESSION {codec}", if header { "true" } else { "false" })
            };
            let mut output = 0;
            if rows > 0 {
                self.conn.execute_batch(&format!("COPY temp.main.{} TO {} ({opts})", quote(&temp), literal(&tmp.to_string_lossy())))?;
                output = std::fs::metadata(&tmp).map(|m| m.len()).unwrap_or(0);
                std::fs::rename(&tmp, &target).map_err(|e| WarehouseError::Internal(format!("renaming into {}: {e}", target.display())))?;
            }
            let mut r = QueryResult::table(&["rows_unloaded", "input_bytes", "output_bytes"], vec![vec![Some(rows.to_string()), Some(output.to_string()), Some(output.to_string())]]);
            r.columns = r.columns.iter().map(|c| Column::typed(&c.name, "fixed")).collect();
            Ok(r)
        })();
        let _ = self.conn.execute_batch(&format!("DROP TABLE IF EXISTS temp.main.{}", quote(&temp)));
        out
    }

    /// `INFER_SCHEMA` over a stage's Parquet or CSV files (CSV column names from the header
    /// line when the format has `PARSE_HEADER = TRUE`, else `c1`, `c2`, ...): COLUMN_NAME, TYPE,
    /// NULLABLE, EXPRESSION, FILENAMES, ORDER_ID.
    pub(crate) fn infer_schema(&mut self, location: &str, format: Option<&str>) -> Result<QueryResult, WarehouseError> {
        let stage = self.resolve_stage(&StageRef::parse(location)?, Access::Read)?;
        // Without a named format: the stage's own, else Parquet.
        let (opts, default_type) = match format {
            Some(f) => (self.named_format(f)?, "CSV"),
            None => (stage.format.clone(), "PARQUET"),
        };
        let text = |k: &str| opt(&opts, k).and_then(|v| v.text()).map(str::to_string);
        let ty = text("TYPE").unwrap_or_else(|| default_type.into()).to_uppercase();
        if ty != "PARQUET" && ty != "CSV" {
            return Err(WarehouseError::Unsupported(format!("INFER_SCHEMA over {ty} files (recpipe infers Parquet and CSV)")));
        }
        let files = self.matching_files(&stage, None)?;
        if files.is_empty() {
            return Err(WarehouseError::Execution(format!("Cannot infer schema: no files found at {location}")));
        }
        let paths: Vec<String> = files.iter().map(|f| stage.dir.file(&f.path).map(|p| literal(&p.to_string_lossy()))).collect::<Result<_, _>>()?;
        let names = files.iter().map(|f| format!("{}{}", stage.shown_prefix, f.path)).collect::<Vec<_>>().join(", ");
        let csv = ty == "CSV";
        // Files without an enclosing character are split here first (see `plain_csv`); the
        // rewritten copies live until the schema is read.
        let mut requoted = Vec::new();
        let reader = if csv {
            let header = opt(&opts, "PARSE_HEADER").is_some_and(OptValue::truthy);
            let f = self.copy_format(&[], &opts)?;
            let (paths, dialect) = match &f.quote {
                Some(q) => (paths, format!("delim = {}, quote = {}, escape = {}", literal(&f.delimiter), literal(q), literal(q))),
                None => {
                    for file in &files {
                        let file = stage.dir.file(&file.path)?;
                        requoted.push(super::plain_csv::requote(&file, &f.delimiter, f.skip_header, &self.wh.scratch_dir(), super::plain_csv::Shape::Padded)?);
                    }
                    let paths = requoted.iter().map(|r| literal(&r.path.to_string_lossy())).collect();
                    (paths, "delim = ',', quote = '\"', escape = '\"'".to_string())
                }
            };
            format!(
                "read_csv([{}], header = {header}, skip = {}, {dialect}, auto_detect = true, union_by_name = true, nullstr = [{}])",
                paths.join(", "),
                f.skip_header,
                f.nullstr()
            )
        } else {
            format!("read_parquet([{}], union_by_name = true)", paths.join(", "))
        };
        let header = csv && opt(&opts, "PARSE_HEADER").is_some_and(OptValue::truthy);
        let mut st = self.conn.prepare(&format!("DESCRIBE SELECT * FROM {reader}"))?;
        let cols: Vec<(String, String)> = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let rows = cols
            .into_iter()
            .enumerate()
            .map(|(i, (name, duck))| {
                let ty = snowflake_type_of(&duck);
                let (name, expression) = match (csv, header) {
                    (false, _) => (name.clone(), format!("$1:{}::{ty}", quote(&name))),
                    (true, true) => (name, format!("${}::{ty}", i + 1)),
                    (true, false) => (format!("c{}", i + 1), format!("${}::{ty}", i + 1)),
                };
                vec![Some(name), Some(ty), Some("true".into()), Some(expression), Some(names.clone()), Some(i.to_string())]
            })
            .collect();
        let mut out = QueryResult::table(&["COLUMN_NAME", "TYPE", "NULLABLE", "EXPRESSION", "FILENAMES", "ORDER_ID"], rows);
        out.columns[2] = Column::typed("NULLABLE", "boolean");
        out.columns[5] = Column::typed("ORDER_ID", "fixed");
        Ok(out)
    }
}

/// The select items of a COPY transform over the temporary table: `$1:name` (Parquet) becomes
/// the file's column `name`, `$n` (CSV) its n-th field.
pub(super) fn transform_items(items: &[Token], file_cols: &[(String, String)]) -> Result<Vec<Token>, WarehouseError> {
    let mut out = Vec::with_capacity(items.len());
    let mut i = 0;
    while i < items.len() {
        let t = &items[i];
        if let Tok::Bind(b) | Tok::Word(b) = &t.tok {
            if let Some(n) = b.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                let path = items.get(i + 1).filter(|c| c.tok.is_op(":")).and_then(|_| items.get(i + 2)).and_then(|k| match &k.tok {
                    Tok::Word(w) | Tok::Quoted(w) => Some(w.clone()),
                    _ => None,
                });
                let column = match path {
                    Some(key) => {
                        i += 3;
                        file_cols.iter().find(|(c, _)| *c == key).or_else(|| file_cols.iter().find(|(c, _)| c.eq_ignore_ascii_case(&key))).map(|(c, _)| c.clone())
                    }
                    None => {
                        i += 1;
                        file_cols.get(n.wrapping_sub(1)).map(|(c, _)| c.clone())
                    }
                };
                out.push(match column {
                    Some(c) => Token { tok: Tok::Quoted(c), start: t.start, end: t.end },
                    None => Token { tok: Tok::Word("NULL".into()), start: t.start, end: t.end },
                });
                continue;
            }
        }
        out.push(t.clone());
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::lexer::lex;

    #[test]
    fn write_pandas_copy_parses() {
        let toks = lex("COPY INTO \"DB\".\"S\".\"T\" (\"a\", \"b\") FROM (SELECT $1:\"a\"::NUMBER(38, 0) AS \"a\", $1:\"b\" AS \"b\" FROM '@\"DB\".\"S\".\"ST\"') FILE_FORMAT = (TYPE=PARQUET COMPRESSION=auto) PURGE=TRUE ON_ERROR='abort_statement'").unwrap();
        let Copy::Load(l) = parse(&toks).unwrap() else { panic!("not a load") };
        assert_eq!(render(&l.target), "\"DB\" . \"S\" . \"T\"");
        assert_eq!(l.source, "@\"DB\".\"S\".\"ST\"");
        let items = transform_items(l.transform.as_ref().unwrap(), &[("a".into(), "BIGINT".into()), ("b".into(), "VARCHAR".into())]).unwrap();
        assert_eq!(render(&items), "\"a\" :: NUMBER ( 38 , 0 ) AS \"a\" , \"b\" AS \"b\"");
        assert!(opt(&l.options, "PURGE").unwrap().truthy());
        assert_eq!(on_error(&l.options).unwrap(), OnError::Abort);
    }

    #[test]
    fn unload_and_plain_loads_parse() {
        let toks = lex("copy into @~/out/ from (select * from t where a > 1) file_format = (type = parquet) header = true").unwrap();
        let Copy::Unload(u) = parse(&toks).unwrap() else { panic!("not an unload") };
        assert_eq!(u.location, "@~/out/");
        assert_eq!(render(&u.query), "select * from t where a > 1");
        let toks = lex("copy into t from @s/data/ files = ('a.csv') on_error = skip_file_2").unwrap();
        let Copy::Load(l) = parse(&toks).unwrap() else { panic!("not a load") };
        assert_eq!(l.source, "@s/data/");
        assert_eq!(on_error(&l.options).unwrap(), OnError::SkipFile(2));
        let toks = lex("copy into @s from mytable overwrite = true").unwrap();
        let Copy::Unload(u) = parse(&toks).unwrap() else { panic!("not an unload") };
        assert_eq!(render(&u.query), "SELECT * FROM mytable");
    }

    #[test]
    fn infer_schema_arguments() {
        let toks = lex("SELECT * FROM TABLE(INFER_SCHEMA(LOCATION => '@st', FILE_FORMAT => 'ff'))").unwrap();
        assert_eq!(infer_schema_call(&toks), Some(("@st".into(), Some("ff".into()))));
    }
}
