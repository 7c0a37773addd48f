//! What can go wrong reading a rating file, worded so that a user can find and fix the bad spot:
//! every message starts with the file, and with the 1-based line (or Parquet row) when there is one.

use std::fmt;

/// A rating file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: file not found")]
    NotFound { path: String },

    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{file}: no ratings found")]
    Empty { file: String },

    #[error(
        "{file}: cannot tell the rating file format (expected a MovieLens ratings.csv, \
         u.data, ratings.dat or a .parquet file)"
    )]
    UnknownFormat { file: String },

    #[error("{file}:{line}: {problem}")]
    Line { file: String, line: u64, problem: LineProblem },

    #[error("{file}:{line}: header has no {field} column (found {header:?}; accepted names: {accepted})")]
    MissingHeaderColumn { file: String, line: u64, field: Field, header: String, accepted: String },

    #[error("{file}: parquet file has no {field} column (found {found}; accepted names: {accepted})")]
    MissingParquetColumn { file: String, field: Field, found: String, accepted: String },

    #[error("{file}: parquet column {column:?} ({field}) has unsupported type {ty}; expected an integer or floating-point column")]
    UnsupportedParquetType { file: String, column: String, field: Field, ty: String },

    #[error("{file}: parquet column {column:?}, row {row}: {problem}")]
    ParquetValue { file: String, column: String, row: u64, problem: LineProblem },

    #[error("{file}: not a readable parquet file: {source}")]
    Parquet {
        file: String,
        #[source]
        source: parquet::errors::ParquetError,
    },

    #[error("{file}: {rows} ratings is more than fits in memory with 32-bit ids (at most {max})", max = u32::MAX)]
    TooLarge { file: String, rows: u64 },
}

/// Which value of a rating a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    User,
    Item,
    Rating,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::User => "user id",
            Field::Item => "movie id",
            Field::Rating => "rating",
        })
    }
}

/// What is wrong with one line (or Parquet row).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LineProblem {
    #[error("expected {expected} fields separated by {sep}, found {found}")]
    FieldCount { expected: &'static str, sep: &'static str, found: usize },

    #[error("{field} {text:?} is not a number")]
    NotANumber { field: Field, text: String },

    #[error("{field} {text:?} is not a whole number")]
    NotWhole { field: Field, text: String },

    #[error("{field} {text:?} is out of range")]
    OutOfRange { field: Field, text: String },

    #[error("{field} is missing (null)")]
    Null { field: Field },
}

/// The text of a bad value as shown in messages: lossy UTF-8, cut short so that a binary file
/// read as CSV does not produce a megabyte-long message.
pub(crate) fn shown(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() <= MAX {
        text.into_owned()
    } else {
        let mut cut: String = text.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}
