//! `recpipe load movielens DIR`: MovieLens `movies.csv`/`ratings.csv` (or ml-1m's `movies.dat`/
//! `ratings.dat` with `::` separators) into `MOVIELENS.PUBLIC.MOVIES` and `RATINGS`, through
//! DuckDB's appender, all in one transaction: the new tables replace the old ones when it commits,
//! and a load that fails or is killed part-way leaves nothing behind (uncommitted rows are not in
//! the write-ahead log, so a restart finds the old tables as they were).
//!
//! Server-side loads (the SQL API's loader endpoint) read only inside the directories the operator
//! allows ([`confine`]), and parse errors name the file, line and field, never the file's content.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use duckdb::params;
use duckdb::types::{TimeUnit, Value};

use crate::engine::{Warehouse, ADMIN_USER};
use crate::sql::quote;
use crate::WarehouseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSummary {
    pub movies: u64,
    pub ratings: u64,
    pub movies_file: PathBuf,
    pub ratings_file: PathBuf,
}

/// Called with (file, bytes read, file size).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

enum Format {
    Csv,
    DoubleColon,
}

fn bad(file: &Path, line: u64, what: impl std::fmt::Display) -> WarehouseError {
    WarehouseError::Invalid(format!("{}:{line}: {what}", file.display()))
}

/// Splits one CSV record (RFC 4180 quoting) or one `::` record.
fn fields(line: &str, format: &Format) -> Result<Vec<String>, String> {
    match format {
        Format::DoubleColon => Ok(line.split("::").map(str::to_string).collect()),
        Format::Csv => {
            let mut out = Vec::new();
            let mut cur = String::new();
            let mut chars = line.chars().peekable();
            let mut quoted = false;
            let mut was_quoted = false;
            while let Some(c) = chars.next() {
                match (quoted, c) {
                    (true, '"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        cur.push('"');
                    }
                    (true, '"') => quoted = false,
                    (true, c) => cur.push(c),
                    (false, '"') if cur.is_empty() && !was_quoted => {
                        quoted = true;
                        was_quoted = true;
                    }
                    (false, ',') => {
                        out.push(std::mem::take(&mut cur));
                        was_quoted = false;
                    }
                    (false, c) => cur.push(c),
                }
            }
            if quoted {
                return Err("unterminated quoted field".into());
            }
            out.push(cur);
            Ok(out)
        }
    }
}

struct Source {
    path: PathBuf,
    format: Format,
}

fn find(dir: &Path, stem: &str) -> Result<Source, WarehouseError> {
    let readable = |p: &Path| p.exists() && !p.is_dir();
    let csv = dir.join(format!("{stem}.csv"));
    if readable(&csv) {
        return Ok(Source { path: csv, format: Format::Csv });
    }
    let dat = dir.join(format!("{stem}.dat"));
    if readable(&dat) {
        return Ok(Source { path: dat, format: Format::DoubleColon });
    }
    Err(WarehouseError::Invalid(format!("{}: no such file (nor {})", csv.display(), dat.display())))
}

/// Reads `src` record by record; ml-1m files are Latin-1, so bytes that are not UTF-8 are
/// decoded as Latin-1.
fn for_each_record(src: &Source, progress: Progress, mut f: impl FnMut(u64, Vec<String>) -> Result<(), WarehouseError>) -> Result<(), WarehouseError> {
    let io = |e: std::io::Error| WarehouseError::Invalid(format!("{}: {e}", src.path.display()));
    let file = std::fs::File::open(&src.path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let name = src.path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    let (mut line_no, mut read) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = reader.by_ref().read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        read += n as u64;
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        let line = match std::str::from_utf8(&buf) {
            Ok(s) => s.to_string(),
            Err(_) => buf.iter().map(|b| *b as char).collect(),
        };
        if matches!(src.format, Format::Csv) && line_no == 1 {
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let rec = fields(&line, &src.format).map_err(|e| bad(&src.path, line_no, e))?;
        f(line_no, rec)?;
        if line_no % 200_000 == 0 {
            progress(&name, read, size);
        }
    }
    progress(&name, size, size);
    Ok(())
}

fn int(file: &Path, line: u64, col: &str, v: &str) -> Result<i64, WarehouseError> {
    v.trim().parse().map_err(|_| bad(file, line, format!("{col} is not an integer")))
}

/// The staging tables earlier versions loaded into (`__LOAD_MOVIES_<id>`, `__LOAD_RATINGS_<id>`),
/// which a crash could leave behind; dropped when the warehouse opens.
pub(crate) fn sweep_staging(conn: &duckdb::Connection) -> Result<(), WarehouseError> {
    let mut st = conn.prepare(
        "SELECT database_name, schema_name, table_name FROM duckdb_tables() \
         WHERE starts_with(table_name, '__LOAD_MOVIES_') OR starts_with(table_name, '__LOAD_RATINGS_')",
    )?;
    let stale: Vec<(String, String, String)> = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    for (d, s, t) in stale {
        conn.execute_batch(&format!("DROP TABLE IF EXISTS {}.{}.{}", quote(&d), quote(&s), quote(&t)))?;
    }
    Ok(())
}

/// Where a server-side load may read `requested`: a relative path is taken inside `roots[0]`
/// (the data directory's `imports/`), and the folder and its two files, with links resolved, must
/// lie inside one of `roots`. The refusal names the allowed directories and does not say whether
/// the path exists.
pub fn confine(requested: &Path, roots: &[PathBuf]) -> Result<PathBuf, WarehouseError> {
    let allowed: Vec<PathBuf> = roots.iter().filter_map(|r| r.canonicalize().ok()).collect();
    let inside = |p: &Path| p.canonicalize().ok().filter(|real| allowed.iter().any(|a| real.starts_with(a)));
    let refused = || {
        let names: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        WarehouseError::Invalid(format!(
            "'{}' is not a folder inside the directories server-side loads may read ({}; `recpipe up --load-dir DIR` adds one)",
            requested.display(),
            names.join(", ")
        ))
    };
    let joined = match (requested.is_relative(), roots.first()) {
        (true, Some(first)) => first.join(requested),
        _ => requested.to_path_buf(),
    };
    let dir = inside(&joined).filter(|d| d.is_dir()).ok_or_else(refused)?;
    // A link inside an allowed folder may not lead out of it.
    for stem in ["movies", "ratings"] {
        if let Ok(src) = find(&dir, stem) {
            inside(&src.path).ok_or_else(refused)?;
        }
    }
    Ok(dir)
}

/// [`load_movielens`] from a folder the server was asked to read, [`confine`]d to `roots`.
pub fn load_movielens_confined(wh: &Warehouse, requested: &Path, roots: &[PathBuf], progress: Progress) -> Result<LoadSummary, WarehouseError> {
    let dir = confine(requested, roots)?;
    load_movielens(wh, &dir, progress)
}

pub fn load_movielens(wh: &Warehouse, dir: &Path, progress: Progress) -> Result<LoadSummary, WarehouseError> {
    let movies_src = find(dir, "movies")?;
    let ratings_src = find(dir, "ratings")?;
    let mut s = wh.session(ADMIN_USER, Some("SYSADMIN"))?;
    // The tables are replaced below without a statement of a session's.
    let _change = wh.catalog_change();
    s.execute("create database if not exists movielens; use schema movielens.public")?;
    s.apply_use_for_load()?;
    let conn = s.connection();
    conn.execute_batch(
        "BEGIN TRANSACTION;
         CREATE OR REPLACE TABLE \"MOVIELENS\".\"PUBLIC\".\"MOVIES\" (MOVIEID BIGINT, TITLE VARCHAR, GENRES VARCHAR);
         CREATE OR REPLACE TABLE \"MOVIELENS\".\"PUBLIC\".\"RATINGS\" (USERID BIGINT, MOVIEID BIGINT, RATING DOUBLE, TIMESTAMP TIMESTAMP);",
    )?;
    let filled = (|| -> Result<(u64, u64), WarehouseError> {
        let mut movies = 0u64;
        {
            let mut app = conn.appender_to_catalog_and_db("MOVIES", "MOVIELENS", "PUBLIC")?;
            let path = movies_src.path.clone();
            for_each_record(&movies_src, progress, |line, r| {
                if r.len() != 3 {
                    return Err(bad(&path, line, format!("expected 3 fields (movieId, title, genres), found {}", r.len())));
                }
                app.append_row(params![int(&path, line, "movieId", &r[0])?, r[1], r[2]])?;
                movies += 1;
                Ok(())
            })?;
            app.flush()?;
        }
        let mut ratings = 0u64;
        {
            let mut app = conn.appender_to_catalog_and_db("RATINGS", "MOVIELENS", "PUBLIC")?;
            let path = ratings_src.path.clone();
            for_each_record(&ratings_src, progress, |line, r| {
                if r.len() != 4 {
                    return Err(bad(&path, line, format!("expected 4 fields (userId, movieId, rating, timestamp), found {}", r.len())));
                }
                let rating: f64 = r[2].trim().parse().map_err(|_| bad(&path, line, "rating is not a number"))?;
                let ts = int(&path, line, "timestamp", &r[3])?;
                app.append_row(params![
                    int(&path, line, "userId", &r[0])?,
                    int(&path, line, "movieId", &r[1])?,
                    rating,
                    Value::Timestamp(TimeUnit::Second, ts)
                ])?;
                ratings += 1;
                Ok(())
            })?;
            app.flush()?;
        }
        conn.execute_batch("COMMIT")?;
        Ok((movies, ratings))
    })();
    let (movies, ratings) = match filled {
        Ok(n) => n,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    };
    for table in ["MOVIES", "RATINGS"] {
        wh.catalog().record_created(&format!("MOVIELENS.PUBLIC.{table}"), false)?;
    }
    Ok(LoadSummary { movies, ratings, movies_file: movies_src.path, ratings_file: ratings_src.path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_side_loads_stay_inside_the_allowed_directories() {
        let base = tempfile::tempdir().unwrap();
        let (imports, extra, outside) = (base.path().join("imports"), base.path().join("extra"), base.path().join("outside"));
        for d in [imports.join("ml"), extra.join("ml2"), outside.clone()] {
            std::fs::create_dir_all(&d).unwrap();
        }
        std::fs::write(outside.join("movies.csv"), "x").unwrap();
        let roots = vec![imports.clone(), extra.clone()];
        assert_eq!(confine(Path::new("ml"), &roots).unwrap(), imports.join("ml").canonicalize().unwrap());
        assert_eq!(confine(&extra.join("ml2"), &roots).unwrap(), extra.join("ml2").canonicalize().unwrap());
        for bad in [outside.clone(), imports.join("../outside"), PathBuf::from("/etc"), PathBuf::from("../outside"), imports.join("absent")] {
            let e = confine(&bad, &roots).unwrap_err().to_string();
            assert!(e.contains("is not a folder inside the directories server-side loads may read") && e.contains(&imports.display().to_string()), "{bad:?}: {e}");
        }
        // A link to a file outside, placed inside an allowed folder, is refused too.
        std::os::unix::fs::symlink(outside.join("movies.csv"), imports.join("ml/movies.csv")).unwrap();
        assert!(confine(Path::new("ml"), &roots).is_err());
        std::os::unix::fs::symlink(&outside, imports.join("link")).unwrap();
        assert!(confine(Path::new("link"), &roots).is_err());
    }

    #[test]
    fn csv_fields_with_quotes_and_commas() {
        assert_eq!(
            fields(r#"11,"American President, The (1995)",Comedy|Drama|Romance"#, &Format::Csv).unwrap(),
            vec!["11", "American President, The (1995)", "Comedy|Drama|Romance"]
        );
        assert_eq!(fields(r#"1,"say ""hi""",x"#, &Format::Csv).unwrap(), vec!["1", "say \"hi\"", "x"]);
        assert!(fields(r#"1,"open"#, &Format::Csv).is_err());
        assert_eq!(fields("1::Toy Story (1995)::Animation", &Format::DoubleColon).unwrap().len(), 3);
    }
}
