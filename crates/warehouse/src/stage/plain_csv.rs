//! CSV files whose format names no enclosing character (`FIELD_OPTIONALLY_ENCLOSED_BY = NONE`,
//! Snowflake's default). There a `"` is data like any other byte: `1,"a,b"` is three fields,
//! `1`, `"a` and `b"`. DuckDB's reader cannot be told that reliably (with quoting off, a file
//! whose rows differ in width defeats its dialect detection), so such a file is first split
//! here, line by line and field by field at the delimiter, and written again with every
//! non-empty field enclosed in `"` (inner `"` doubled) into a scratch file. DuckDB then reads
//! the scratch file with an explicit dialect and column list: nothing is guessed.
//!
//! Lines end at `\n` (a `\r` before it is dropped); gzipped files (all `PUT` uploads unless
//! `AUTO_COMPRESS = FALSE`) are inflated on the way.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::WarehouseError;

/// A rewritten file in the scratch folder, removed when dropped.
pub(super) struct Requoted {
    pub(super) path: PathBuf,
    /// The most fields on any line after the skipped header lines (at least 1).
    pub(super) width: usize,
}

impl Drop for Requoted {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> WarehouseError {
    WarehouseError::Execution(format!("{what} {}: {e}", path.display()))
}

/// How the rewritten lines are shaped.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// Each line keeps its own number of fields (the reader is given the columns).
    AsIs,
    /// Every line is padded with empty fields to the widest (the reader detects types, and
    /// its detection needs lines of one width). Reads the file twice.
    Padded,
}

/// Rewrites `src` (fields split at `delimiter`, no quoting) into `scratch` as a CSV with `,`
/// between fields and `"` around every non-empty one. The first `skip` lines are rewritten
/// too but do not count in the width. An empty field stays empty (it reads as NULL).
pub(super) fn requote(src: &Path, delimiter: &str, skip: u64, scratch: &Path, shape: Shape) -> Result<Requoted, WarehouseError> {
    if delimiter.is_empty() {
        return Err(WarehouseError::Invalid("FIELD_DELIMITER must not be empty".into()));
    }
    let delimiter = delimiter.as_bytes();
    std::fs::create_dir_all(scratch).map_err(|e| io("creating", scratch, e))?;
    let pad_to = match shape {
        Shape::AsIs => 0,
        Shape::Padded => {
            let mut width = 1;
            each_line(src, |n, body| {
                if n > skip {
                    width = width.max(fields(body, delimiter).count());
                }
                Ok(())
            })?;
            width
        }
    };
    let mut out = Requoted { path: scratch.join(format!("plain-{}.csv", crate::random::uuid())), width: 1 };
    let file = File::create(&out.path).map_err(|e| io("creating", &out.path, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let path = out.path.clone();
    let mut width = 1;
    each_line(src, |n, body| {
        let written = write_line(&mut w, body, delimiter, pad_to).map_err(|e| io("writing", &path, e))?;
        if n > skip {
            width = width.max(written);
        }
        Ok(())
    })?;
    w.flush().map_err(|e| io("writing", &out.path, e))?;
    out.width = width;
    Ok(out)
}

/// Calls `f` with each line's number (from 1) and its bytes without the line end.
fn each_line(src: &Path, mut f: impl FnMut(u64, &[u8]) -> Result<(), WarehouseError>) -> Result<(), WarehouseError> {
    let mut raw = BufReader::with_capacity(1 << 20, File::open(src).map_err(|e| io("opening", src, e))?);
    // gzip's magic bytes, looked at in the reader's buffer.
    let gzipped = raw.fill_buf().map_err(|e| io("reading", src, e))?.starts_with(&[0x1f, 0x8b]);
    let mut r: Box<dyn BufRead> = if gzipped { Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(raw))) } else { Box::new(raw) };
    let mut line = Vec::new();
    let mut n: u64 = 0;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).map_err(|e| io("reading", src, e))? == 0 {
            return Ok(());
        }
        n += 1;
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        f(n, body.strip_suffix(b"\r").unwrap_or(body))?;
    }
}

/// A line's fields: the bytes between delimiters (a line without one is one field).
fn fields<'a>(line: &'a [u8], delimiter: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(line);
    std::iter::from_fn(move || {
        let r = rest?;
        Some(match find(r, delimiter) {
            Some(at) => {
                rest = Some(&r[at + delimiter.len()..]);
                &r[..at]
            }
            None => {
                rest = None;
                r
            }
        })
    })
}

/// Writes one line's fields enclosed, then empty ones up to `pad_to`; returns how many fields
/// the line had.
fn write_line(w: &mut impl Write, line: &[u8], delimiter: &[u8], pad_to: usize) -> std::io::Result<usize> {
    let mut n = 0;
    for field in fields(line, delimiter) {
        if n > 0 {
            w.write_all(b",")?;
        }
        if !field.is_empty() {
            w.write_all(b"\"")?;
            for (i, part) in field.split(|b| *b == b'"').enumerate() {
                if i > 0 {
                    w.write_all(b"\"\"")?;
                }
                w.write_all(part)?;
            }
            w.write_all(b"\"")?;
        }
        n += 1;
    }
    for _ in n..pad_to {
        w.write_all(b",")?;
    }
    w.write_all(b"\n")?;
    Ok(n)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [one] => hay.iter().position(|b| b == one),
        _ => hay.windows(needle.len()).position(|w| w == needle),
    }
}

/// `read_csv` over a rewritten file: its dialect and `width` text columns named `column0`,
/// `column1`, ... (as DuckDB names them itself), short lines padded with NULL; `nullstr` is the
/// reader's list of NULL spellings, already SQL.
pub(super) fn reader(r: &Requoted, skip: u64, nullstr: &str) -> String {
    let columns: Vec<String> = (0..r.width).map(|i| format!("'column{i}': 'VARCHAR'")).collect();
    format!(
        "read_csv({}, header = false, skip = {skip}, delim = ',', quote = '\"', escape = '\"', auto_detect = false, null_padding = true, columns = {{{}}}, nullstr = [{nullstr}])",
        crate::sql::literal(&r.path.to_string_lossy()),
        columns.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requoted(text: &[u8], delimiter: &str, skip: u64) -> (String, usize) {
        requoted_as(text, delimiter, skip, Shape::AsIs)
    }

    fn requoted_as(text: &[u8], delimiter: &str, skip: u64, shape: Shape) -> (String, usize) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in.csv");
        std::fs::write(&src, text).unwrap();
        let r = requote(&src, delimiter, skip, &dir.path().join("scratch"), shape).unwrap();
        let out = std::fs::read_to_string(&r.path).unwrap();
        let path = r.path.clone();
        let width = r.width;
        drop(r);
        assert!(!path.exists(), "the scratch file is removed when dropped");
        (out, width)
    }

    #[test]
    fn quotes_are_data_and_delimiters_always_split() {
        let (out, width) = requoted(b"1,\"a,b\"\r\n2,say \"hi\",,x\n", ",", 0);
        assert_eq!(out, "\"1\",\"\"\"a\",\"b\"\"\"\n\"2\",\"say \"\"hi\"\"\",,\"x\"\n");
        assert_eq!(width, 4);
    }

    #[test]
    fn multi_byte_delimiters_header_lines_and_a_last_line_without_newline() {
        let (out, width) = requoted(b"a||b||c||d\n1||2\n3||||4", "||", 1);
        assert_eq!(out, "\"a\",\"b\",\"c\",\"d\"\n\"1\",\"2\"\n\"3\",,\"4\"\n");
        assert_eq!(width, 3, "the skipped header line does not count");
    }

    #[test]
    fn padded_lines_all_have_the_widest_lines_fields() {
        let (out, width) = requoted_as(b"h\n1,2\n3\n4,5,6\n", ",", 1, Shape::Padded);
        assert_eq!(out, "\"h\",,\n\"1\",\"2\",\n\"3\",,\n\"4\",\"5\",\"6\"\n");
        assert_eq!(width, 3);
    }

    #[test]
    fn gzipped_files_are_inflated() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"x|\"y\"\n").unwrap();
        let (out, width) = requoted(&gz.finish().unwrap(), "|", 0);
        assert_eq!(out, "\"x\",\"\"\"y\"\"\"\n");
        assert_eq!(width, 2);
    }
}
