//! Delimited text rating files (`ratings.csv`, `u.data`, `ratings.dat`), streamed and parsed in
//! parallel.
//!
//! The input is read in large blocks; while the pool parses block n the calling thread reads
//! block n + 1, so the file is never held whole in memory and reading overlaps parsing. Each
//! block is cut at its last newline (the partial line moves to the next block) and then into
//! line-aligned pieces, each parsed on its own by a byte-level scanner and number parser (no
//! per-line allocation). Pieces keep their line counts, so an error deep inside the file is
//! reported at its line in the whole file; [`super::ids::merge`] joins the pieces in file order.

use std::io::{self, Read};

use rayon::prelude::*;

use super::error::{shown, Field, LineProblem, LoadError};
use super::ids::{merge, Chunk};
use super::number::{parse_id, parse_rating};
use super::{Format, ITEM_NAMES, RATING_NAMES, USER_NAMES};
use crate::data::Ratings;

/// Block and piece sizes. Tests shrink them to exercise the boundaries on small inputs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    /// Bytes read per block.
    pub(crate) block: usize,
    /// Smallest piece parsed as one task.
    pub(crate) min_piece: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning { block: 64 << 20, min_piece: 1 << 20 }
    }
}

/// Pieces per pool thread in each block, so that uneven pieces still balance.
const PIECES_PER_THREAD: usize = 2;

/// Reads into `buf` until it holds `want` more bytes or the input ends; true at end of input.
pub(crate) fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    buf.reserve(want);
    let got = reader.by_ref().take(want as u64).read_to_end(buf)?;
    Ok(got < want)
}

/// How the fields of a line are separated and which of them hold the rating.
#[derive(Debug, Clone, Copy)]
struct Layout {
    sep: &'static [u8],
    sep_name: &'static str,
    user: usize,
    item: usize,
    rating: usize,
    /// Exact field count from a header, or `None` for headerless files (3 or 4 fields).
    fields: Option<usize>,
}

impl Layout {
    fn headerless(format: Format) -> Self {
        let (sep, sep_name): (&'static [u8], _) = match format {
            Format::Tsv => (b"\t", "tabs"),
            Format::Dat => (b"::", "\"::\""),
            Format::Csv | Format::Parquet => (b",", "\",\""),
        };
        Layout { sep, sep_name, user: 0, item: 1, rating: 2, fields: None }
    }

    fn expected(&self) -> &'static str {
        match self.fields {
            None => "3 or 4",
            Some(3) => "3",
            Some(4) => "4",
            Some(5) => "5",
            Some(6) => "6",
            Some(_) => "the header's number of",
        }
    }
}

/// Calls `f` with each field of `line`, and returns the field count. Used for the header; data
/// lines go through the inlined scanner in [`parse_piece`].
fn for_each_field<'a>(line: &'a [u8], sep: &[u8], mut f: impl FnMut(usize, &'a [u8])) -> usize {
    let mut start = 0;
    let mut k = 0;
    let mut i = 0;
    while i + sep.len() <= line.len() {
        if line[i..].starts_with(sep) {
            f(k, &line[start..i]);
            k += 1;
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    f(k, &line[start..]);
    k + 1
}

/// A field without surrounding blanks or double quotes (warehouse exports quote everything).
#[inline]
fn clean(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    if s.len() >= 2 && s[0] == b'"' && s[s.len() - 1] == b'"' {
        s = &s[1..s.len() - 1];
    }
    s
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Parses one line-aligned piece. On error returns the 1-based line within the piece.
fn parse_piece(bytes: &[u8], layout: &Layout) -> Result<Chunk, (u64, LineProblem)> {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
    let mut chunk = Chunk::with_capacity(newlines + 1);
    let (sep, double) = (layout.sep[0], layout.sep.len() == 2);
    let n = bytes.len();
    let mut pos = 0;
    let mut line = 0u64;
    while pos < n {
        line += 1;
        let line_start = pos;
        let mut cols = [(0usize, 0usize); 3];
        let mut field = 0usize;
        let mut field_start = pos;
        let mut record = |field: usize, range: (usize, usize)| {
            if field == layout.user {
                cols[0] = range;
            } else if field == layout.item {
                cols[1] = range;
            } else if field == layout.rating {
                cols[2] = range;
            }
        };
        let mut i = pos;
        while i < n {
            let b = bytes[i];
            if b == b'\n' {
                break;
            }
            if b == sep && (!double || bytes.get(i + 1) == Some(&sep)) {
                record(field, (field_start, i));
                field += 1;
                i += 1 + usize::from(double);
                field_start = i;
            } else {
                i += 1;
            }
        }
        pos = i + 1;
        let line_end = if i > line_start && bytes[i - 1] == b'\r' { i - 1 } else { i };
        record(field, (field_start, line_end.max(field_start)));
        let found = field + 1;
        if is_blank(&bytes[line_start..line_end.max(line_start)]) {
            continue;
        }
        let count_ok = match layout.fields {
            Some(want) => found == want,
            None => found == 3 || found == 4,
        };
        if !count_ok {
            let problem = LineProblem::FieldCount { expected: layout.expected(), sep: layout.sep_name, found };
            return Err((line, problem));
        }
        let [u, it, r] = cols.map(|(a, b)| clean(&bytes[a..b]));
        let user = parse_id(u).map_err(|e| (line, e.at(Field::User, u)))?;
        let item = parse_id(it).map_err(|e| (line, e.at(Field::Item, it)))?;
        let rating = parse_rating(r).map_err(|e| (line, e.at(Field::Rating, r)))?;
        chunk.push(user, item, rating);
    }
    Ok(chunk.seal())
}

/// Cuts `bytes` into pieces of about `target` bytes, each ending just after a newline (the last
/// one at the end of the buffer).
fn line_aligned_pieces(bytes: &[u8], target: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = (start + target.max(1)).min(bytes.len());
        let end = match bytes[end - 1..].iter().position(|&b| b == b'\n') {
            Some(p) => end + p,
            None => bytes.len(),
        };
        out.push(&bytes[start..end]);
        start = end;
    }
    out
}

fn count_lines(piece: &[u8]) -> u64 {
    let n = piece.iter().filter(|&&b| b == b'\n').count() as u64;
    n + u64::from(!piece.is_empty() && !piece.ends_with(b"\n"))
}

/// Finds the column for `field` among the header's names.
fn find_column(
    names: &[String],
    accepted: &[&str],
    field: Field,
    file: &str,
    line: u64,
    header: &[u8],
) -> Result<usize, LoadError> {
    names.iter().position(|n| accepted.contains(&n.as_str())).ok_or_else(|| {
        LoadError::MissingHeaderColumn {
            file: file.to_string(),
            line,
            field,
            header: shown(header),
            accepted: accepted.join(", "),
        }
    })
}

/// Reads the header if the first non-blank line has one (its first field is not a number), and
/// returns the layout, the offset of the data after it and the number of lines before that.
fn layout_and_body(bytes: &[u8], format: Format, file: &str) -> Result<(Layout, usize, u64), LoadError> {
    let base = Layout::headerless(format);
    let mut offset = 0;
    let mut line_no = 0u64;
    while offset < bytes.len() {
        let end = bytes[offset..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| offset + p + 1);
        let raw = &bytes[offset..end];
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if is_blank(line) {
            offset = end;
            line_no += 1;
            continue;
        }
        let mut first: &[u8] = &[];
        for_each_field(line, base.sep, |k, f| {
            if k == 0 {
                first = clean(f);
            }
        });
        if parse_id(first).is_ok() {
            return Ok((base, offset, line_no));
        }
        let line_no = line_no + 1;
        let mut names = Vec::new();
        for_each_field(line, base.sep, |_, f| names.push(String::from_utf8_lossy(clean(f)).to_ascii_lowercase()));
        let layout = Layout {
            user: find_column(&names, USER_NAMES, Field::User, file, line_no, line)?,
            item: find_column(&names, ITEM_NAMES, Field::Item, file, line_no, line)?,
            rating: find_column(&names, RATING_NAMES, Field::Rating, file, line_no, line)?,
            fields: Some(names.len()),
            ..base
        };
        return Ok((layout, end, line_no));
    }
    Ok((base, bytes.len(), line_no))
}

/// Parses a text rating file: `data` holds what was read so far (`eof` if that is all), the rest
/// comes from `reader`.
pub(crate) fn parse_text<R: Read>(
    reader: &mut R,
    mut data: Vec<u8>,
    mut eof: bool,
    format: Format,
    file: &str,
    tuning: Tuning,
) -> Result<Ratings, LoadError> {
    let io_err = |source| LoadError::Io { path: file.to_string(), source };
    while !eof && !data.contains(&b'\n') {
        eof = fill(reader, &mut data, tuning.block).map_err(io_err)?;
    }
    let mut start = if data.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let (layout, body, mut lines_before) = layout_and_body(&data[start..], format, file)?;
    start += body;

    let threads = rayon::current_num_threads();
    let mut chunks = Vec::new();
    let mut next = Vec::new();
    loop {
        let cut = if eof {
            data.len()
        } else {
            match data[start..].iter().rposition(|&b| b == b'\n') {
                Some(p) => start + p + 1,
                None => {
                    // A line longer than a block: read on until it ends.
                    eof = fill(reader, &mut data, tuning.block).map_err(io_err)?;
                    continue;
                }
            }
        };
        next.clear();
        next.extend_from_slice(&data[cut..]);
        let body = &data[start..cut];
        let pieces = line_aligned_pieces(body, (body.len() / (threads * PIECES_PER_THREAD)).max(tuning.min_piece));
        let mut parsed = Vec::new();
        let mut read = Ok(true);
        rayon::in_place_scope(|scope| {
            scope.spawn(|_| {
                parsed = pieces.par_iter().map(|piece| parse_piece(piece, &layout)).collect();
            });
            if !eof {
                read = fill(reader, &mut next, tuning.block);
            }
        });
        for (piece, result) in pieces.iter().zip(parsed) {
            match result {
                Ok(chunk) => chunks.push(chunk),
                Err((line, problem)) => {
                    return Err(LoadError::Line { file: file.to_string(), line: lines_before + line, problem });
                }
            }
            lines_before += count_lines(piece);
        }
        if eof {
            break;
        }
        eof = read.map_err(io_err)?;
        std::mem::swap(&mut data, &mut next);
        start = 0;
    }
    drop((data, next));

    let rows: u64 = chunks.iter().map(|c| c.len() as u64).sum();
    if rows == 0 {
        return Err(LoadError::Empty { file: file.to_string() });
    }
    if rows > u64::from(u32::MAX) {
        return Err(LoadError::TooLarge { file: file.to_string(), rows });
    }
    Ok(merge(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, format: Format) -> Result<Ratings, LoadError> {
        parse_text(&mut io::empty(), text.as_bytes().to_vec(), true, format, "t.csv", Tuning::default())
    }

    /// Streams `text` in blocks of `block` bytes and pieces of at least `piece` bytes.
    fn parse_small_blocks(text: &str, block: usize, piece: usize) -> Result<Ratings, LoadError> {
        let mut reader = text.as_bytes();
        let mut head = Vec::new();
        let eof = fill(&mut reader, &mut head, block).unwrap();
        parse_text(&mut reader, head, eof, Format::Csv, "t.csv", Tuning { block, min_piece: piece })
    }

    #[test]
    fn block_and_piece_boundaries_do_not_change_the_result() {
        let mut text = String::from("\u{feff}userId,movieId,rating,timestamp\r\n");
        let mut rows = Vec::new();
        for k in 0..300i64 {
            let (u, i, r) = (k / 7, (k * 37) % 101, (k % 10) as f32 / 2.0 + 0.5);
            text.push_str(&format!("{u},{i},{r},1\r\n"));
            if k % 50 == 0 {
                text.push_str("\r\n");
            }
            rows.push((u, i, r));
        }
        text.pop();
        text.pop();
        let expected = Ratings::from_rows(rows);
        for (block, piece) in [(1, 1), (7, 1), (64, 16), (1000, 50), (1 << 20, 1 << 20)] {
            let got = parse_small_blocks(&text, block, piece).unwrap();
            assert_eq!(got.users, expected.users, "block {block}");
            assert_eq!(got.items, expected.items, "block {block}");
            assert_eq!((&got.user, &got.item, &got.value), (&expected.user, &expected.item, &expected.value));
        }
        // Line 1 header, 300 data lines, 6 blank lines: the last data line is 307; break line 200.
        let mut lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 307);
        lines[199] = "1,2,3,4,5";
        let bad = lines.join("\r\n");
        for (block, piece) in [(1, 1), (13, 1), (256, 64), (1 << 20, 1 << 20)] {
            let err = parse_small_blocks(&bad, block, piece).unwrap_err();
            assert_eq!(err.to_string(), "t.csv:200: expected 4 fields separated by \",\", found 5", "block {block}");
        }
    }

    #[test]
    fn fields_split_on_single_and_double_separators() {
        let mut seen = Vec::new();
        let n = for_each_field(b"1::2::3.5::99", b"::", |_, f| seen.push(f.to_vec()));
        assert_eq!(n, 4);
        assert_eq!(seen, vec![b"1".to_vec(), b"2".to_vec(), b"3.5".to_vec(), b"99".to_vec()]);
        assert_eq!(for_each_field(b"a,,b,", b",", |_, _| {}), 4);
        assert_eq!(for_each_field(b"1:2:3", b"::", |_, _| {}), 1);
    }

    #[test]
    fn pieces_are_line_aligned_and_cover_everything() {
        let text = b"1,2,3\n10,20,30\n100,200,300\n4,5,6";
        for target in 1..text.len() + 2 {
            let pieces = line_aligned_pieces(text, target);
            assert_eq!(pieces.concat(), text.to_vec());
            for p in &pieces[..pieces.len() - 1] {
                assert!(p.ends_with(b"\n"));
            }
            assert_eq!(pieces.iter().map(|p| count_lines(p)).sum::<u64>(), 4);
        }
    }

    #[test]
    fn header_columns_in_any_order_and_case() {
        let r = parse("Rating,MovieID,USERID\n4.5,10,7\n", Format::Csv).unwrap();
        assert_eq!(r.users.raw_ids(), &[7]);
        assert_eq!(r.items.raw_ids(), &[10]);
        assert_eq!(r.value, vec![4.5]);
    }

    #[test]
    fn quoted_fields_and_blank_lines() {
        let r = parse("\"userId\",\"movieId\",\"rating\"\n\n\"1\",\"2\",\"3.0\"\n  \n", Format::Csv).unwrap();
        assert_eq!(r.len(), 1);
        let err = parse("userId,movieId,rating\n\n1,2,x\n", Format::Csv).unwrap_err();
        assert_eq!(err.to_string(), "t.csv:3: rating \"x\" is not a number");
    }

    #[test]
    fn header_without_rating_names_the_column() {
        let err = parse("userId,movieId,stars\n1,2,3\n", Format::Csv).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("t.csv:1: header has no rating column"), "{msg}");
    }

    #[test]
    fn field_count_mismatch_with_header() {
        let err = parse("userId,movieId,rating,timestamp\n1,2,3,4\n1,2,3\n", Format::Csv).unwrap_err();
        assert_eq!(err.to_string(), "t.csv:3: expected 4 fields separated by \",\", found 3");
    }

    #[test]
    fn headerless_tab_file_accepts_three_or_four_fields() {
        let r = parse("1\t2\t3\n1\t3\t4\t881250949\n", Format::Tsv).unwrap();
        assert_eq!(r.len(), 2);
        let err = parse("1\t2\n", Format::Tsv).unwrap_err();
        assert_eq!(err.to_string(), "t.csv:1: expected 3 or 4 fields separated by tabs, found 2");
    }
}
