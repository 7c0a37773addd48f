//! `recpipe load movielens DIR`: MovieLens `movies.csv`/`ratings.csv` (or ml-1m's `movies.dat`/
//! `ratings.dat` with `::` separators) into `MOVIELENS.PUBLIC.MOVIES` and `RATINGS`, through
//! DuckDB's appender into fresh tables that replace the old ones in one transaction.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use duckdb::params;
use duckdb::types::{TimeUnit, Value};

use crate::engine::{Warehouse, ADMIN_USER};
use crate::sql::quote;
use crate::{random, WarehouseError};

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
    let csv = dir.join(format!("{stem}.csv"));
    if csv.is_file() {
        return Ok(Source { path: csv, format: Format::Csv });
    }
    let dat = dir.join(format!("{stem}.dat"));
    if dat.is_file() {
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
    v.trim().parse().map_err(|_| bad(file, line, format!("{col} '{v}' is not an integer")))
}

pub fn load_movielens(wh: &Warehouse, dir: &Path, progress: Progress) -> Result<LoadSummary, WarehouseError> {
    let movies_src = find(dir, "movies")?;
    let ratings_src = find(dir, "ratings")?;
    let mut s = wh.session(ADMIN_USER, Some("SYSADMIN"))?;
    s.execute("create database if not exists movielens; use schema movielens.public")?;
    s.apply_use_for_load()?;
    let suffix = random::hex_id(4).to_uppercase();
    let tmp_movies = format!("__LOAD_MOVIES_{suffix}");
    let tmp_ratings = format!("__LOAD_RATINGS_{suffix}");
    let conn = s.connection();
    conn.execute_batch(&format!(
        "CREATE TABLE \"MOVIELENS\".\"PUBLIC\".{} (MOVIEID BIGINT, TITLE VARCHAR, GENRES VARCHAR);
         CREATE TABLE \"MOVIELENS\".\"PUBLIC\".{} (USERID BIGINT, MOVIEID BIGINT, RATING DOUBLE, TIMESTAMP TIMESTAMP);",
        quote(&tmp_movies),
        quote(&tmp_ratings)
    ))?;
    let cleanup = |conn: &duckdb::Connection| {
        let _ = conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS \"MOVIELENS\".\"PUBLIC\".{}; DROP TABLE IF EXISTS \"MOVIELENS\".\"PUBLIC\".{};",
            quote(&tmp_movies),
            quote(&tmp_ratings)
        ));
    };
    let filled = (|| -> Result<(u64, u64), WarehouseError> {
        let mut movies = 0u64;
        {
            let mut app = conn.appender_to_catalog_and_db(&tmp_movies, "MOVIELENS", "PUBLIC")?;
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
            let mut app = conn.appender_to_catalog_and_db(&tmp_ratings, "MOVIELENS", "PUBLIC")?;
            let path = ratings_src.path.clone();
            for_each_record(&ratings_src, progress, |line, r| {
                if r.len() != 4 {
                    return Err(bad(&path, line, format!("expected 4 fields (userId, movieId, rating, timestamp), found {}", r.len())));
                }
                let rating: f64 = r[2].trim().parse().map_err(|_| bad(&path, line, format!("rating '{}' is not a number", r[2])))?;
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
        Ok((movies, ratings))
    })();
    let (movies, ratings) = match filled {
        Ok(n) => n,
        Err(e) => {
            cleanup(conn);
            return Err(e);
        }
    };
    let swap = conn.execute_batch(&format!(
        "BEGIN TRANSACTION;
         DROP TABLE IF EXISTS \"MOVIELENS\".\"PUBLIC\".\"MOVIES\";
         DROP TABLE IF EXISTS \"MOVIELENS\".\"PUBLIC\".\"RATINGS\";
         ALTER TABLE \"MOVIELENS\".\"PUBLIC\".{} RENAME TO \"MOVIES\";
         ALTER TABLE \"MOVIELENS\".\"PUBLIC\".{} RENAME TO \"RATINGS\";
         COMMIT;",
        quote(&tmp_movies),
        quote(&tmp_ratings)
    ));
    if let Err(e) = swap {
        let _ = conn.execute_batch("ROLLBACK");
        cleanup(conn);
        return Err(e.into());
    }
    Ok(LoadSummary { movies, ratings, movies_file: movies_src.path, ratings_file: ratings_src.path })
}

#[cfg(test)]
mod tests {
    use super::*;

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
