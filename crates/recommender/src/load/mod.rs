//! Rating files: MovieLens `ratings.csv`, ml-100k `u.data`, ml-1m/10m `ratings.dat`, and Parquet
//! (what a warehouse unload writes), all read into [`Ratings`].
//!
//! Text files are streamed in large blocks and parsed in parallel while the next block is read;
//! dense ids are still assigned in order of first appearance in the file, exactly as a sequential
//! read would, so a model trained on the result is the same whatever the number of threads.
//! Parquet files are read whole and their row groups decoded in parallel. Every error names the file
//! and, for a bad value, its line (or Parquet row) and the offending text.

mod error;
pub(crate) mod ids;
mod number;
mod parquet_file;
mod text;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

pub use error::{Field, LineProblem, LoadError};

/// Builds [`Ratings`] row by row from another source (a warehouse result, say) with the file
/// loaders' id interning: small non-negative ids through a flat table, the rest through a fast
/// hash, and the previous id remembered. The dense ids are those [`Ratings::push`] would give.
pub struct RatingsBuilder(ids::Chunk);

impl RatingsBuilder {
    pub fn with_capacity(n: usize) -> Self {
        RatingsBuilder(ids::Chunk::with_capacity(n))
    }

    #[inline]
    pub fn push(&mut self, raw_user: i64, raw_item: i64, rating: f32) {
        self.0.push(raw_user, raw_item, rating);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    pub fn finish(self) -> Ratings {
        ids::merge(vec![self.0.seal()])
    }
}

use crate::data::Ratings;

/// Column names accepted for each value, in a CSV header or a Parquet schema, compared
/// case-insensitively (Snowflake unloads upper-case names).
const USER_NAMES: &[&str] = &["userid", "user_id", "user"];
const ITEM_NAMES: &[&str] = &["movieid", "movie_id", "itemid", "item_id", "movie", "item"];
const RATING_NAMES: &[&str] = &["rating", "ratings", "score"];

/// The layout of a rating file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated, as MovieLens `ratings.csv` (`userId,movieId,rating,timestamp`); the header
    /// is optional and its columns may come in any order.
    Csv,
    /// Tab-separated `user item rating [timestamp]`, as ml-100k `u.data`.
    Tsv,
    /// `user::item::rating[::timestamp]`, as ml-1m/ml-10m `ratings.dat`.
    Dat,
    /// Apache Parquet with user, movie and rating columns.
    Parquet,
}

impl Format {
    /// The format a file name implies, if any (`.csv`, `.data`/`.tsv`, `.dat`, `.parquet`).
    pub fn from_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        let ext = lower.rsplit_once('.').map(|(_, e)| e)?;
        match ext {
            "csv" => Some(Format::Csv),
            "data" | "tsv" | "tab" => Some(Format::Tsv),
            "dat" => Some(Format::Dat),
            "parquet" | "parq" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The format the first bytes of a file show, if they show one: the Parquet magic, or the
    /// separator found in the first non-blank line (`::`, then tab, then comma).
    pub fn sniff(head: &[u8]) -> Option<Format> {
        if head.starts_with(b"PAR1") {
            return Some(Format::Parquet);
        }
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let line = head
            .split(|&b| b == b'\n')
            .find(|l| !l.iter().all(u8::is_ascii_whitespace))?;
        if line.windows(2).any(|w| w == b"::") {
            Some(Format::Dat)
        } else if line.contains(&b'\t') {
            Some(Format::Tsv)
        } else if line.contains(&b',') {
            Some(Format::Csv)
        } else {
            None
        }
    }

    /// The content decides when it can (a `.csv` that is really tab-separated is read as such);
    /// the name decides otherwise.
    pub fn detect(name: &str, head: &[u8]) -> Option<Format> {
        match (Format::sniff(head), Format::from_name(name)) {
            (_, Some(Format::Parquet)) => Some(Format::Parquet),
            (Some(f), _) => Some(f),
            (None, f) => f,
        }
    }
}

/// Reads a rating file, detecting its format from its content and name.
pub fn read_ratings(path: &Path) -> Result<Ratings, LoadError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => LoadError::NotFound { path: name.clone() },
        _ => LoadError::Io { path: name.clone(), source },
    })?;
    read_ratings_from(file, None, &name)
}

/// Reads ratings from any reader. `format` `None` detects it; `source` names the data in error
/// messages and its extension helps detection.
pub fn read_ratings_from<R: Read>(
    mut reader: R,
    format: Option<Format>,
    source: &str,
) -> Result<Ratings, LoadError> {
    let io_err = |e| LoadError::Io { path: source.to_string(), source: e };
    let tuning = text::Tuning::default();
    let mut head = Vec::new();
    let eof = text::fill(&mut reader, &mut head, tuning.block).map_err(io_err)?;
    if eof && head.iter().all(u8::is_ascii_whitespace) {
        return Err(LoadError::Empty { file: source.to_string() });
    }
    let format = format
        .or_else(|| Format::detect(source, &head[..head.len().min(64 * 1024)]))
        .ok_or_else(|| LoadError::UnknownFormat { file: source.to_string() })?;
    match format {
        Format::Parquet => {
            reader.read_to_end(&mut head).map_err(io_err)?;
            parquet_file::parse_parquet(head, source)
        }
        text_format => text::parse_text(&mut reader, head, eof, text_format, source, tuning),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_builder_numbers_ids_as_ratings_push_does() {
        let rows = [(10, 7, 4.0), (10, 3, 3.5), (-5, 7, 1.0), (1 << 40, 9, 2.0), (10, 9, 5.0)];
        let mut b = super::RatingsBuilder::with_capacity(2);
        for &(u, i, v) in &rows {
            b.push(u, i, v);
        }
        assert_eq!(b.len(), 5);
        let (got, want) = (b.finish(), crate::data::Ratings::from_rows(rows));
        assert_eq!((got.users, got.items), (want.users, want.items));
        assert_eq!((got.user, got.item, got.value), (want.user, want.item, want.value));
    }

    use super::*;

    #[test]
    fn detection() {
        assert_eq!(Format::detect("ratings.csv", b"userId,movieId,rating,timestamp\n"), Some(Format::Csv));
        assert_eq!(Format::detect("u.data", b"196\t242\t3\t881250949\n"), Some(Format::Tsv));
        assert_eq!(Format::detect("ratings.dat", b"1::1193::5::978300760\n"), Some(Format::Dat));
        assert_eq!(Format::detect("x", b"PAR1...."), Some(Format::Parquet));
        assert_eq!(Format::detect("ratings.parquet", b"garbage"), Some(Format::Parquet));
        assert_eq!(Format::detect("export.csv", b"1\t2\t3\n"), Some(Format::Tsv));
        assert_eq!(Format::detect("RATINGS.DAT", b"\n"), Some(Format::Dat));
        assert_eq!(Format::detect("notes", b"hello\n"), None);
    }

    #[test]
    fn formats_parse_the_same() {
        let csv = "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n2,31,4,1\n";
        let dat = "1::31::2.5::1260759144\n1::1029::3.0::1260759179\n2::31::4::1\n";
        let tsv = "1\t31\t2.5\t1260759144\n1\t1029\t3.0\t1260759179\n2\t31\t4\t1\n";
        for (text, name) in [(csv, "ratings.csv"), (dat, "ratings.dat"), (tsv, "u.data")] {
            let r = read_ratings_from(text.as_bytes(), None, name).unwrap();
            assert_eq!(r.users.raw_ids(), &[1, 2], "{name}");
            assert_eq!(r.items.raw_ids(), &[31, 1029], "{name}");
            assert_eq!(r.user, vec![0, 0, 1]);
            assert_eq!(r.item, vec![0, 1, 0]);
            assert_eq!(r.value, vec![2.5, 3.0, 4.0]);
        }
    }

    #[test]
    fn float_ids_and_crlf() {
        let r = read_ratings_from(&b"userid,movieid,rating\r\n1.0,2.0,3.5\r\n3,2,1"[..], None, "x.csv").unwrap();
        assert_eq!(r.users.raw_ids(), &[1, 3]);
        assert_eq!(r.value, vec![3.5, 1.0]);
        let err = read_ratings_from(&b"userid,movieid,rating\n1.5,2,3\n"[..], None, "x.csv").unwrap_err();
        assert_eq!(err.to_string(), "x.csv:2: user id \"1.5\" is not a whole number");
    }

    #[test]
    fn empty_and_header_only() {
        for text in ["", "\n\n", "userId,movieId,rating,timestamp\n"] {
            let err = read_ratings_from(text.as_bytes(), None, "ratings.csv").unwrap_err();
            assert_eq!(err.to_string(), "ratings.csv: no ratings found");
        }
    }
}
