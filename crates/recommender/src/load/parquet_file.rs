//! Parquet rating files, read column-wise with the parquet crate's column readers (no Arrow).
//!
//! Warehouse unloads vary in how they type the columns: ids as INT32/INT64, as DECIMAL with scale
//! 0, or as DOUBLE; ratings as DOUBLE, FLOAT, integers or DECIMAL(…, 1). All of those are taken;
//! float or decimal ids must be whole numbers. Row groups are read in parallel, each into its own
//! chunk, and merged in file order like the chunks of a text file.

use std::fs::File;

use ::parquet::basic::{ConvertedType, LogicalType, Type as Physical};
use ::parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use ::parquet::data_type::DataType;
use ::parquet::errors::{ParquetError, Result as PqResult};
use ::parquet::file::reader::{ChunkReader, FileReader, RowGroupReader, SerializedFileReader};
use ::parquet::schema::types::ColumnDescriptor;
use rayon::prelude::*;

use super::error::{Field, LineProblem, LoadError};
use super::ids::{merge, Chunk};
use super::{ITEM_NAMES, RATING_NAMES, USER_NAMES};
use crate::data::Ratings;

/// The values of one column chunk: integers with their decimal scale, or floats.
enum Values {
    Int { values: Vec<i64>, scale: u32 },
    Float(Vec<f64>),
}

/// Where a needed column is and how to read it.
struct Column {
    index: usize,
    name: String,
    field: Field,
    nullable: bool,
    scale: u32,
}

/// Parses a Parquet file held in memory.
pub(crate) fn parse_parquet(bytes: Vec<u8>, file: &str) -> Result<Ratings, LoadError> {
    // The parquet crate reads from memory through `bytes::Bytes`, a crate recommender does not
    // depend on directly. `File::get_bytes` returns that type, so passing it as a witness lets
    // the compiler pick it without naming it; `Bytes::from(Vec<u8>)` takes the buffer without a
    // copy.
    let reader = open(bytes, <File as ChunkReader>::get_bytes)
        .map_err(|source| LoadError::Parquet { file: file.to_string(), source })?;
    parse_reader(&reader, file)
}

fn open<B>(
    bytes: Vec<u8>,
    _witness: fn(&File, u64, usize) -> PqResult<B>,
) -> PqResult<SerializedFileReader<B>>
where
    B: From<Vec<u8>> + ChunkReader + 'static,
{
    SerializedFileReader::new(B::from(bytes))
}

fn parse_reader<R: ChunkReader + 'static>(
    reader: &SerializedFileReader<R>,
    file: &str,
) -> Result<Ratings, LoadError> {
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    let columns = [
        find_column(schema.columns(), USER_NAMES, Field::User, file)?,
        find_column(schema.columns(), ITEM_NAMES, Field::Item, file)?,
        find_column(schema.columns(), RATING_NAMES, Field::Rating, file)?,
    ];

    let groups = meta.num_row_groups();
    let mut first_rows = Vec::with_capacity(groups);
    let mut rows = 0u64;
    for g in 0..groups {
        first_rows.push(rows);
        rows += meta.row_group(g).num_rows().max(0) as u64;
    }
    if rows == 0 {
        return Err(LoadError::Empty { file: file.to_string() });
    }
    if rows > u64::from(u32::MAX) {
        return Err(LoadError::TooLarge { file: file.to_string(), rows });
    }

    let chunks = (0..groups)
        .into_par_iter()
        .map(|g| read_group(reader, g, first_rows[g], &columns, file))
        .collect::<Result<Vec<Chunk>, LoadError>>()?;
    Ok(merge(chunks))
}

fn find_column(
    columns: &[std::sync::Arc<ColumnDescriptor>],
    accepted: &[&str],
    field: Field,
    file: &str,
) -> Result<Column, LoadError> {
    let top_level = |c: &ColumnDescriptor| c.path().parts().len() == 1 && c.max_rep_level() == 0;
    let found = columns.iter().enumerate().find(|(_, c)| {
        top_level(c) && accepted.contains(&c.name().to_ascii_lowercase().as_str())
    });
    let Some((index, c)) = found else {
        return Err(LoadError::MissingParquetColumn {
            file: file.to_string(),
            field,
            found: columns.iter().map(|c| c.path().string()).collect::<Vec<_>>().join(", "),
            accepted: accepted.join(", "),
        });
    };
    let decimal = c.converted_type() == ConvertedType::DECIMAL
        || matches!(c.logical_type(), Some(LogicalType::Decimal { .. }));
    let supported = matches!(c.physical_type(), Physical::INT32 | Physical::INT64)
        || (!decimal && matches!(c.physical_type(), Physical::FLOAT | Physical::DOUBLE));
    if !supported {
        let mut ty = c.physical_type().to_string();
        if let Some(logical) = c.logical_type() {
            ty.push_str(&format!(" ({logical:?})"));
        }
        return Err(LoadError::UnsupportedParquetType { file: file.to_string(), column: c.name().to_string(), field, ty });
    }
    Ok(Column {
        index,
        name: c.name().to_string(),
        field,
        nullable: c.max_def_level() > 0,
        scale: if decimal { c.type_scale().max(0) as u32 } else { 0 },
    })
}

fn read_group<R: ChunkReader + 'static>(
    reader: &SerializedFileReader<R>,
    g: usize,
    first_row: u64,
    columns: &[Column; 3],
    file: &str,
) -> Result<Chunk, LoadError> {
    let parquet_err = |source| LoadError::Parquet { file: file.to_string(), source };
    let group = reader.get_row_group(g).map_err(parquet_err)?;
    let rows = group.metadata().num_rows().max(0) as usize;
    let read = |c: &Column| read_values(group.as_ref(), c, rows, first_row, file);
    let (users, items, ratings) = (read(&columns[0])?, read(&columns[1])?, read(&columns[2])?);

    let bad = |c: &Column, k: usize, problem: LineProblem| LoadError::ParquetValue {
        file: file.to_string(),
        column: c.name.clone(),
        row: first_row + k as u64 + 1,
        problem,
    };
    let mut chunk = Chunk::with_capacity(rows);
    for k in 0..rows {
        let u = id_at(&users, k, Field::User).map_err(|p| bad(&columns[0], k, p))?;
        let i = id_at(&items, k, Field::Item).map_err(|p| bad(&columns[1], k, p))?;
        let r = rating_at(&ratings, k).map_err(|p| bad(&columns[2], k, p))?;
        chunk.push(u, i, r);
    }
    Ok(chunk)
}

/// Reads all `rows` values of one column of a row group, failing on the first null.
fn read_values(
    group: &dyn RowGroupReader,
    c: &Column,
    rows: usize,
    first_row: u64,
    file: &str,
) -> Result<Values, LoadError> {
    let parquet_err = |source| LoadError::Parquet { file: file.to_string(), source };
    let mut defs = Vec::new();
    let defs_arg = if c.nullable { Some(&mut defs) } else { None };
    let column = group.get_column_reader(c.index).map_err(parquet_err)?;
    let values = match column {
        ColumnReader::Int32ColumnReader(mut r) => {
            let v = read_all(&mut r, rows, defs_arg).map_err(parquet_err)?;
            Values::Int { values: v.into_iter().map(i64::from).collect(), scale: c.scale }
        }
        ColumnReader::Int64ColumnReader(mut r) => {
            Values::Int { values: read_all(&mut r, rows, defs_arg).map_err(parquet_err)?, scale: c.scale }
        }
        ColumnReader::FloatColumnReader(mut r) => {
            let v = read_all(&mut r, rows, defs_arg).map_err(parquet_err)?;
            Values::Float(v.into_iter().map(f64::from).collect())
        }
        ColumnReader::DoubleColumnReader(mut r) => Values::Float(read_all(&mut r, rows, defs_arg).map_err(parquet_err)?),
        _ => unreachable!("column types are checked by find_column"),
    };
    if let Some(k) = defs.iter().position(|&d| d == 0) {
        return Err(LoadError::ParquetValue {
            file: file.to_string(),
            column: c.name.clone(),
            row: first_row + k as u64 + 1,
            problem: LineProblem::Null { field: c.field },
        });
    }
    let got = match &values {
        Values::Int { values, .. } => values.len(),
        Values::Float(values) => values.len(),
    };
    if got != rows {
        return Err(parquet_err(ParquetError::General(format!(
            "column {:?} has {got} values in row group {}, expected {rows}",
            c.name, first_row
        ))));
    }
    Ok(values)
}

fn read_all<T: DataType>(
    r: &mut ColumnReaderImpl<T>,
    rows: usize,
    mut defs: Option<&mut Vec<i16>>,
) -> PqResult<Vec<T::T>> {
    let mut out = Vec::with_capacity(rows);
    let mut done = 0;
    while done < rows {
        let (records, _, _) = r.read_records(rows - done, defs.as_deref_mut(), None, &mut out)?;
        if records == 0 {
            break;
        }
        done += records;
    }
    Ok(out)
}

fn id_at(values: &Values, k: usize, field: Field) -> Result<i64, LineProblem> {
    match values {
        Values::Int { values, scale: 0 } => Ok(values[k]),
        Values::Int { values, scale } => {
            let unit = 10i64.checked_pow(*scale).unwrap_or(i64::MAX);
            let v = values[k];
            if v % unit == 0 {
                Ok(v / unit)
            } else {
                Err(LineProblem::NotWhole { field, text: decimal_text(v, *scale) })
            }
        }
        Values::Float(values) => {
            let x = values[k];
            let text = x.to_string();
            if !x.is_finite() {
                Err(LineProblem::NotANumber { field, text })
            } else if x.fract() != 0.0 {
                Err(LineProblem::NotWhole { field, text })
            } else if x.abs() >= 9_223_372_036_854_775_808.0 {
                Err(LineProblem::OutOfRange { field, text })
            } else {
                Ok(x as i64)
            }
        }
    }
}

fn rating_at(values: &Values, k: usize) -> Result<f32, LineProblem> {
    let x = match values {
        Values::Int { values, scale } => values[k] as f64 / 10f64.powi(*scale as i32),
        Values::Float(values) => values[k],
    };
    let v = x as f32;
    if v.is_finite() {
        Ok(v)
    } else {
        let field = Field::Rating;
        let text = x.to_string();
        Err(if x.is_finite() { LineProblem::OutOfRange { field, text } } else { LineProblem::NotANumber { field, text } })
    }
}

/// An unscaled decimal as written, e.g. `(15, 1)` → `1.5`.
fn decimal_text(v: i64, scale: u32) -> String {
    let digits = v.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if v < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_print_as_written() {
        assert_eq!(decimal_text(15, 1), "1.5");
        assert_eq!(decimal_text(-5, 2), "-0.05");
    }
}
