//! Rating files as users have them: each MovieLens layout, warehouse quirks (float ids, CRLF,
//! Parquet column types), and the errors a user must be able to act on.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use recommender::load::{read_ratings, read_ratings_from, Format, LoadError};
use recommender::Ratings;

fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

fn triples(r: &Ratings) -> Vec<(i64, i64, f32)> {
    (0..r.len()).map(|k| (r.users.raw(r.user[k]), r.items.raw(r.item[k]), r.value[k])).collect()
}

fn err_text(path: &Path) -> String {
    read_ratings(path).unwrap_err().to_string()
}

#[test]
fn each_movielens_layout_reads_the_same_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let expected = vec![(1, 31, 2.5), (1, 1029, 3.0), (7, 31, 5.0)];
    let files = [
        ("ratings.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n7,31,5.0,1\n"),
        ("lower.csv", "userid,movieid,rating\n1,31,2.5\n1,1029,3\n7,31,5\n"),
        ("u.data", "1\t31\t2.5\t881250949\n1\t1029\t3\t881250949\n7\t31\t5\t881250949\n"),
        ("ratings.dat", "1::31::2.5::978300760\n1::1029::3::978300760\n7::31::5::978300760\n"),
    ];
    for (name, text) in files {
        let r = read_ratings(&write(dir.path(), name, text.as_bytes())).unwrap();
        assert_eq!(triples(&r), expected, "{name}");
        assert_eq!((r.n_users(), r.n_items()), (2, 2), "{name}");
    }
}

#[test]
fn float_ids_crlf_and_missing_final_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "export.csv", b"USERID,MOVIEID,RATING\r\n1.0,10.0,4.5\r\n2.0,10,3.0");
    let r = read_ratings(&path).unwrap();
    assert_eq!(triples(&r), vec![(1, 10, 4.5), (2, 10, 3.0)]);

    let path = write(dir.path(), "half.csv", b"userId,movieId,rating\n1,10,4\n1.5,10,4\n");
    assert!(err_text(&path).ends_with("half.csv:3: user id \"1.5\" is not a whole number"));
}

#[test]
fn bad_values_name_file_line_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("userId,movieId,rating,timestamp\n");
    for k in 2..17 {
        text.push_str(&format!("1,{k},4.0,0\n"));
    }
    text.push_str("1,99,abc,0\n");
    let path = write(dir.path(), "ratings.csv", text.as_bytes());
    assert!(err_text(&path).ends_with("ratings.csv:17: rating \"abc\" is not a number"));

    let path = write(dir.path(), "count.csv", b"userId,movieId,rating,timestamp\n1,2,3,4\n1,2,3\n");
    assert!(err_text(&path).ends_with("count.csv:3: expected 4 fields separated by \",\", found 3"));

    let path = write(dir.path(), "nan.dat", b"1::2::3::4\n1::2::NaN::4\n");
    assert!(err_text(&path).ends_with("nan.dat:2: rating \"NaN\" is not a number"));
}

/// A file big enough to be cut into many chunks: the bad line must still be reported at its line
/// in the whole file, and the good file must give exactly the sequential result.
#[test]
fn chunked_parsing_keeps_global_lines_and_first_appearance_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("userId,movieId,rating,timestamp\n");
    let mut rows = Vec::new();
    for k in 0..400_000i64 {
        let (u, i, r) = ((k * 7) / 1000 * 31 % 5003, (k * 2_654_435_761) % 70_001, (k % 10) as f32 / 2.0 + 0.5);
        text.push_str(&format!("{u},{i},{r:.1},1260759144\n"));
        rows.push((u, i, r));
    }
    assert!(text.len() > 8 << 20, "input must span several chunks");
    let good = read_ratings(&write(dir.path(), "big.csv", text.as_bytes())).unwrap();
    let expected = Ratings::from_rows(rows.iter().copied());
    assert_eq!(good.users, expected.users);
    assert_eq!(good.items, expected.items);
    assert_eq!(good.user, expected.user);
    assert_eq!(good.item, expected.item);
    assert_eq!(good.value, expected.value);

    // Line 1 is the header, so row k is on line k + 2.
    let bad_row = 345_678;
    let mut lines: Vec<&str> = text.lines().collect();
    lines[bad_row + 1] = "12,34,4.0";
    let path = write(dir.path(), "big_bad.csv", lines.join("\n").as_bytes());
    assert!(err_text(&path).ends_with(&format!("big_bad.csv:{}: expected 4 fields separated by \",\", found 3", bad_row + 2)));
}

#[test]
fn empty_missing_and_unknown_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ratings.csv", b"");
    assert_eq!(err_text(&path), format!("{}: no ratings found", path.display()));
    let path = write(dir.path(), "header.csv", b"userId,movieId,rating,timestamp\r\n");
    assert_eq!(err_text(&path), format!("{}: no ratings found", path.display()));

    let missing = dir.path().join("nope.csv");
    assert!(matches!(read_ratings(&missing), Err(LoadError::NotFound { .. })));
    assert_eq!(err_text(&missing), format!("{}: file not found", missing.display()));

    let path = write(dir.path(), "notes.txt", b"hello\n");
    assert!(err_text(&path).contains("cannot tell the rating file format"));
}

#[test]
fn reader_input_with_explicit_format() {
    let text = "5 | 6 | 2.5\n".replace(" | ", "\t");
    let r = read_ratings_from(text.as_bytes(), Some(Format::Tsv), "stdin").unwrap();
    assert_eq!(triples(&r), vec![(5, 6, 2.5)]);
    let err = read_ratings_from("1,2\n".as_bytes(), Some(Format::Csv), "stdin").unwrap_err();
    assert_eq!(err.to_string(), "stdin:1: expected 3 or 4 fields separated by \",\", found 2");
}

/// One Parquet column for the writer below.
enum Col {
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    OptI64(Vec<Option<i64>>),
    Str(Vec<&'static str>),
}

/// Writes a Parquet file with the given schema, in row groups of `group` rows.
fn write_parquet(path: &Path, schema: &str, cols: &[Col], group: usize) {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(fs::File::create(path).unwrap(), schema, props).unwrap();
    let rows = match &cols[0] {
        Col::I32(v) => v.len(),
        Col::I64(v) => v.len(),
        Col::F32(v) => v.len(),
        Col::F64(v) => v.len(),
        Col::OptI64(v) => v.len(),
        Col::Str(v) => v.len(),
    };
    for start in (0..rows).step_by(group) {
        let end = (start + group).min(rows);
        let mut rg = writer.next_row_group().unwrap();
        for col in cols {
            let mut w = rg.next_column().unwrap().unwrap();
            match col {
                Col::I32(v) => w.typed::<Int32Type>().write_batch(&v[start..end], None, None),
                Col::I64(v) => w.typed::<Int64Type>().write_batch(&v[start..end], None, None),
                Col::F32(v) => w.typed::<FloatType>().write_batch(&v[start..end], None, None),
                Col::F64(v) => w.typed::<DoubleType>().write_batch(&v[start..end], None, None),
                Col::OptI64(v) => {
                    let part = &v[start..end];
                    let defs: Vec<i16> = part.iter().map(|x| i16::from(x.is_some())).collect();
                    let vals: Vec<i64> = part.iter().flatten().copied().collect();
                    w.typed::<Int64Type>().write_batch(&vals, Some(&defs), None)
                }
                Col::Str(v) => {
                    let vals: Vec<ByteArray> = v[start..end].iter().map(|s| ByteArray::from(*s)).collect();
                    w.typed::<ByteArrayType>().write_batch(&vals, None, None)
                }
            }
            .unwrap();
            w.close().unwrap();
        }
        rg.close().unwrap();
    }
    writer.close().unwrap();
}

#[test]
fn parquet_round_trip_across_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10_000;
    let users: Vec<i64> = (0..n).map(|k| 1 + k / 37).collect();
    let items: Vec<f64> = (0..n).map(|k| ((k * 7919) % 1013) as f64).collect();
    let ratings: Vec<f32> = (0..n).map(|k| 0.5 + (k % 10) as f32 / 2.0).collect();
    let path = dir.path().join("ratings.parquet");
    write_parquet(
        &path,
        "message m { REQUIRED INT64 user_id; REQUIRED DOUBLE MOVIEID; REQUIRED FLOAT Rating; }",
        &[Col::I64(users.clone()), Col::F64(items.clone()), Col::F32(ratings.clone())],
        3_000,
    );
    let r = read_ratings(&path).unwrap();
    let expected = Ratings::from_rows((0..n as usize).map(|k| (users[k], items[k] as i64, ratings[k])));
    assert_eq!(triples(&r), triples(&expected));
    assert_eq!(r.users, expected.users);
    assert_eq!(r.items, expected.items);

    // The same bytes through a reader, named without an extension: detected by the magic.
    let bytes = fs::read(&path).unwrap();
    let again = read_ratings_from(bytes.as_slice(), None, "unload").unwrap();
    assert_eq!(triples(&again), triples(&expected));

    // Integer ratings and 32-bit ids are fine too.
    let path = dir.path().join("ints.parquet");
    write_parquet(
        &path,
        "message m { REQUIRED INT32 userId; REQUIRED INT32 itemId; REQUIRED INT32 rating; }",
        &[Col::I32(vec![3, 4]), Col::I32(vec![5, 5]), Col::I32(vec![4, 2])],
        10,
    );
    assert_eq!(triples(&read_ratings(&path).unwrap()), vec![(3, 5, 4.0), (4, 5, 2.0)]);
}

#[test]
fn parquet_errors_name_column_type_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.parquet");
    write_parquet(
        &path,
        "message m { REQUIRED INT64 userId; REQUIRED INT64 movieId; REQUIRED DOUBLE stars; }",
        &[Col::I64(vec![1]), Col::I64(vec![2]), Col::F64(vec![3.0])],
        10,
    );
    let msg = err_text(&path);
    assert!(msg.contains("parquet file has no rating column (found userId, movieId, stars"), "{msg}");

    let path = dir.path().join("strings.parquet");
    write_parquet(
        &path,
        "message m { REQUIRED INT64 userId; REQUIRED INT64 movieId; REQUIRED BYTE_ARRAY rating (UTF8); }",
        &[Col::I64(vec![1]), Col::I64(vec![2]), Col::Str(vec!["4.0"])],
        10,
    );
    let msg = err_text(&path);
    assert!(msg.contains("parquet column \"rating\" (rating) has unsupported type BYTE_ARRAY"), "{msg}");

    let path = dir.path().join("frac.parquet");
    write_parquet(
        &path,
        "message m { REQUIRED DOUBLE userId; REQUIRED INT64 movieId; REQUIRED DOUBLE rating; }",
        &[Col::F64(vec![1.0, 2.0, 2.5]), Col::I64(vec![2, 2, 2]), Col::F64(vec![3.0; 3])],
        2,
    );
    let msg = err_text(&path);
    assert!(msg.ends_with("parquet column \"userId\", row 3: user id \"2.5\" is not a whole number"), "{msg}");

    let path = dir.path().join("null.parquet");
    write_parquet(
        &path,
        "message m { REQUIRED INT64 userId; OPTIONAL INT64 movieId; REQUIRED DOUBLE rating; }",
        &[Col::I64(vec![1, 1, 1]), Col::OptI64(vec![Some(1), None, Some(3)]), Col::F64(vec![3.0; 3])],
        10,
    );
    let msg = err_text(&path);
    assert!(msg.ends_with("parquet column \"movieId\", row 2: movie id is missing (null)"), "{msg}");

    let path = write(dir.path(), "broken.parquet", b"PAR1 this is not really parquet");
    assert!(err_text(&path).contains("not a readable parquet file"));
}

#[test]
fn real_movielens_small() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/movielens/ml-latest-small");
    let path = dir.join("ratings.csv");
    if !path.exists() {
        println!("skipping: {} not found", path.display());
        return;
    }
    let r = read_ratings(&path).unwrap();
    assert_eq!(r.len(), 100_836);
    assert_eq!(r.n_users(), 610);
    assert_eq!(r.n_items(), 9_724);
    assert_eq!(r.scale(), (0.5, 5.0));
    assert!((r.mean() - 3.5016).abs() < 1e-3, "mean {}", r.mean());
    // First line of the file: 1,1,4.0,964982703.
    assert_eq!((r.users.raw(r.user[0]), r.items.raw(r.item[0]), r.value[0]), (1, 1, 4.0));
}
