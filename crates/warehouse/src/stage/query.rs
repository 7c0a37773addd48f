//! Querying staged files: `SELECT $1, $2, METADATA$FILENAME FROM @stage[/path]
//! [(FILE_FORMAT => 'ff', PATTERN => '...')] [alias] ...`. Each staged source becomes a temporary
//! table recpipe fills from the files (CSV fields as text columns `$1`, `$2`, ...; Parquet columns
//! by name, with `$1` the whole row as an object), plus `METADATA$FILENAME` and
//! `METADATA$FILE_ROW_NUMBER`. The statement, with each source replaced by its table and each
//! `$n` / `$1:name` by a column, then runs as a user's query: the same translation and checks.

use std::ops::Range;

use crate::result::QueryResult;
use crate::session::Session;
use crate::sql::lexer::{Tok, Token};
use crate::sql::{literal, quote, split};
use crate::WarehouseError;

use super::copy::{close_of, temp_name, transform_items, LINE};
use super::objects::Access;
use super::syntax::{opt, options, render, stage_ref_at, OptValue, StageRef};

const FILENAME: &str = "METADATA$FILENAME";
const ROW_NUMBER: &str = "METADATA$FILE_ROW_NUMBER";

/// A query with staged sources.
pub(crate) struct StagedQuery {
    toks: Vec<Token>,
    sources: Vec<Source>,
}

/// One `@stage[/path] [(options)]` in a FROM clause.
struct Source {
    /// The tokens it spans.
    range: Range<usize>,
    location: String,
    options: Vec<(String, OptValue)>,
}

/// `toks` as a query over staged files, when it is one: a `SELECT` (or `WITH`) naming a stage
/// after `FROM`, `JOIN` or a comma of a FROM list.
pub(crate) fn staged_query(toks: &[Token]) -> Result<Option<StagedQuery>, WarehouseError> {
    if !toks.first().is_some_and(|t| t.tok.is_kw("SELECT") || t.tok.is_kw("WITH")) {
        return Ok(None);
    }
    let mut sources = Vec::new();
    let mut in_from = false;
    let mut i = 1;
    while i < toks.len() {
        let prev = &toks[i - 1].tok;
        if prev.is_kw("FROM") {
            in_from = true;
        } else if prev.is_kw("SELECT") || prev.is_kw("WHERE") {
            in_from = false;
        }
        let after_from = prev.is_kw("FROM") || prev.is_kw("JOIN") || (in_from && prev.is_op(","));
        if !(after_from && toks[i].tok.is_op("@")) {
            i += 1;
            continue;
        }
        let start = i;
        let location = stage_ref_at(toks, &mut i).ok_or_else(|| WarehouseError::Syntax("a stage name is expected after '@'".into()))?;
        let mut opts = Vec::new();
        // `(FILE_FORMAT => ..., PATTERN => ...)`: a parenthesis whose first word is followed by `=>`.
        if toks.get(i).is_some_and(|t| t.tok.is_op("(")) && toks.get(i + 2).is_some_and(|t| t.tok.is_op("=>")) {
            let end = close_of(toks, i)?;
            opts = options(&toks[i + 1..end - 1])?;
            for (k, _) in &opts {
                if !["FILE_FORMAT", "PATTERN"].contains(&k.as_str()) {
                    return Err(WarehouseError::Syntax(format!("invalid option {k} for a staged file source: FILE_FORMAT and PATTERN are")));
                }
            }
            i = end;
        }
        sources.push(Source { range: start..i, location, options: opts });
    }
    Ok((!sources.is_empty()).then(|| StagedQuery { toks: toks.to_vec(), sources }))
}

/// Whether `toks` queries staged files (its `$n` are file fields, not bind markers).
pub(crate) fn reads_stage(toks: &[Token]) -> bool {
    staged_query(toks).is_ok_and(|q| q.is_some())
}

/// `METADATA$FILENAME` and `METADATA$FILE_ROW_NUMBER` become the staged table's columns; another
/// `METADATA$` column is refused by name.
fn metadata_columns(toks: Vec<Token>) -> Result<Vec<Token>, WarehouseError> {
    let mut out = Vec::with_capacity(toks.len());
    for mut t in toks {
        let named = match &t.tok {
            Tok::Word(w) if w.len() > 9 && w.get(..9).is_some_and(|p| p.eq_ignore_ascii_case("METADATA$")) => Some(w.to_uppercase()),
            _ => None,
        };
        if let Some(up) = named {
            if up != FILENAME && up != ROW_NUMBER {
                return Err(WarehouseError::Invalid(format!("invalid identifier '{up}': recpipe's staged files carry METADATA$FILENAME and METADATA$FILE_ROW_NUMBER")));
            }
            t.tok = Tok::Quoted(up);
        }
        out.push(t);
    }
    Ok(out)
}

impl Session {
    /// Runs a query over staged files (see the module docs).
    pub(crate) fn query_staged(&mut self, q: StagedQuery) -> Result<QueryResult, WarehouseError> {
        let mut temps = Vec::new();
        let out = self.query_staged_in(&q, &mut temps);
        for t in temps {
            let _ = self.conn.execute_batch(&format!("DROP TABLE IF EXISTS temp.main.{}", quote(&t)));
        }
        out
    }

    fn query_staged_in(&mut self, q: &StagedQuery, temps: &mut Vec<String>) -> Result<QueryResult, WarehouseError> {
        // Metadata columns first: a column no file carries is refused before any file is read.
        let named = metadata_columns(q.toks.clone())?;
        let mut toks = Vec::with_capacity(named.len());
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut at = 0;
        for src in &q.sources {
            toks.extend(named[at..src.range.start].iter().cloned());
            let (table, cols) = self.staged_table(src, temps)?;
            let here = &q.toks[src.range.start];
            toks.push(Token { tok: Tok::Quoted(table), start: here.start, end: here.end });
            for c in cols {
                if !fields.iter().any(|(f, _)| *f == c.0) {
                    fields.push(c);
                }
            }
            at = src.range.end;
        }
        toks.extend(named[at..].iter().cloned());
        // `$n` is the n-th field: the columns named `$1`, `$2`, ... come first, in order.
        fields.sort_by_key(|(f, _)| f.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()).unwrap_or(usize::MAX));
        let toks = transform_items(&toks, &fields)?;
        let st = split(&render(&toks))?.remove(0);
        self.execute_statement(&st)
    }

    /// Fills a temporary table from one source's files; returns its name and its field columns.
    fn staged_table(&mut self, src: &Source, temps: &mut Vec<String>) -> Result<(String, Vec<(String, String)>), WarehouseError> {
        let stage = self.resolve_stage(&StageRef::parse(&src.location)?, Access::Read)?;
        let format = self.copy_format(&src.options, &stage.format)?;
        let pattern = opt(&src.options, "PATTERN").and_then(|v| v.text()).map(str::to_string);
        let files = self.matching_files(&stage, pattern.as_deref())?;
        let mut selects = Vec::new();
        for f in &files {
            let path = stage.dir.file(&f.path)?;
            if f.size == 0 {
                continue;
            }
            let temp = temp_name("STAGED");
            temps.push(temp.clone());
            self.read_into_temp(&path, &format, &temp)?;
            // The file's path inside the stage, as Snowflake's METADATA$FILENAME shows it.
            let meta = format!("{} AS {}", literal(&f.path), quote(FILENAME));
            selects.push(if format.parquet {
                format!("SELECT {meta}, row_number() OVER () AS {}, to_json(r) AS \"$1\", r.* FROM temp.main.{} AS r", quote(ROW_NUMBER), quote(&temp))
            } else {
                let fields: Vec<String> = self
                    .temp_columns(&temp)?
                    .into_iter()
                    .filter(|(c, _)| c != LINE)
                    .enumerate()
                    .map(|(n, (c, _))| format!("{} AS {}", quote(&c), quote(&format!("${}", n + 1))))
                    .collect();
                format!(
                    "SELECT {meta}, {} - {} AS {}, {} FROM temp.main.{}",
                    quote(LINE),
                    format.skip_header,
                    quote(ROW_NUMBER),
                    fields.join(", "),
                    quote(&temp)
                )
            });
        }
        let table = temp_name("STAGED");
        temps.push(table.clone());
        let sql = if selects.is_empty() {
            format!("CREATE TEMPORARY TABLE {} ({} VARCHAR, {} BIGINT)", quote(&table), quote(FILENAME), quote(ROW_NUMBER))
        } else {
            let parts: Vec<String> = selects.iter().map(|s| format!("({s})")).collect();
            format!("CREATE TEMPORARY TABLE {} AS {}", quote(&table), parts.join(" UNION ALL BY NAME "))
        };
        self.conn.execute_batch(&sql)?;
        let cols = self.temp_columns(&table)?.into_iter().filter(|(c, _)| c != FILENAME && c != ROW_NUMBER).collect();
        Ok((table, cols))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::lexer::lex;

    #[test]
    fn staged_sources_are_found_after_from_join_and_commas() {
        let q = staged_query(&lex("select t.$1, $2 from @my_stage/data/ (file_format => 'csv_ff', pattern => '.*[.]csv') t where $1 = 'x'").unwrap()).unwrap().unwrap();
        assert_eq!(q.sources.len(), 1);
        assert_eq!(q.sources[0].location, "@my_stage/data/");
        assert_eq!(opt(&q.sources[0].options, "FILE_FORMAT").unwrap().text(), Some("csv_ff"));
        assert_eq!(opt(&q.sources[0].options, "PATTERN").unwrap().text(), Some(".*[.]csv"));
        assert!(q.toks[q.sources[0].range.end].tok.is_kw("t"));
        let q = staged_query(&lex("select * from movies m join @~/x.csv s on m.id = s.$1, @%ratings").unwrap()).unwrap().unwrap();
        assert_eq!(q.sources.iter().map(|s| s.location.as_str()).collect::<Vec<_>>(), ["@~/x.csv", "@%ratings"]);
        assert!(staged_query(&lex("select $1 from t").unwrap()).unwrap().is_none());
        assert!(staged_query(&lex("insert into t select 1").unwrap()).unwrap().is_none());
        assert!(staged_query(&lex("select $1 from @s (file_format => 'f', files => ('a'))").unwrap()).is_err());
    }

    #[test]
    fn metadata_columns_are_named_and_others_refused() {
        let toks = metadata_columns(lex("select metadata$filename, METADATA$FILE_ROW_NUMBER").unwrap()).unwrap();
        assert_eq!(render(&toks), "select \"METADATA$FILENAME\" , \"METADATA$FILE_ROW_NUMBER\"");
        assert!(metadata_columns(lex("select metadata$file_content_key").unwrap()).is_err());
    }
}
