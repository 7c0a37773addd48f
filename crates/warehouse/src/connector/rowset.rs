//! A result as the drivers read it: `rowtype` and either JSON `rowset` (strings) or
//! `rowsetBase64`, an Arrow IPC stream whose fields carry Snowflake's logical type, scale and
//! precision in their metadata (the drivers' Arrow readers pick a converter from `logicalType`
//! and need `scale`/`precision` for numbers, `scale` for times and timestamps). Timestamps and
//! times travel as integers in units of 10^-scale seconds, as Snowflake sends them.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use duckdb::arrow::array::{new_null_array, Array, ArrayRef};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::arrow::compute::cast;
use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use duckdb::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{json, Value};

use crate::result::Column;
use crate::{QueryResult, WarehouseError};

/// Snowflake's description of one result column.
#[derive(Debug, Clone, PartialEq)]
pub struct SfType {
    /// Upper case, as in Arrow metadata (`FIXED`, `TEXT`, `TIMESTAMP_NTZ`...).
    pub logical: &'static str,
    pub scale: Option<i32>,
    pub precision: Option<i32>,
}

const TEXT_LENGTH: i64 = 16_777_216;

impl SfType {
    fn new(logical: &'static str, scale: Option<i32>, precision: Option<i32>) -> SfType {
        SfType { logical, scale, precision }
    }

    fn metadata(&self) -> HashMap<String, String> {
        let mut m = HashMap::from([("logicalType".to_string(), self.logical.to_string())]);
        let mut put = |k: &str, v: Option<i64>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v.to_string());
            }
        };
        put("scale", self.scale.map(i64::from));
        put("precision", self.precision.map(i64::from));
        if matches!(self.logical, "TEXT" | "VARIANT" | "OBJECT" | "ARRAY") {
            put("charLength", Some(TEXT_LENGTH));
            put("byteLength", Some(TEXT_LENGTH));
        }
        m
    }

    fn row_type(&self, name: &str, nullable: bool) -> Value {
        let text = matches!(self.logical, "TEXT" | "VARIANT" | "OBJECT" | "ARRAY");
        let binary = self.logical == "BINARY";
        json!({
            "name": name, "database": "", "schema": "", "table": "", "collation": null, "nullable": nullable,
            "type": self.logical.to_lowercase(), "scale": self.scale, "precision": self.precision,
            "length": if text { Some(TEXT_LENGTH) } else if binary { Some(8_388_608) } else { None },
            "byteLength": if text { Some(TEXT_LENGTH) } else if binary { Some(8_388_608) } else { None },
        })
    }
}

fn unit_scale(u: &TimeUnit) -> i32 {
    match u {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

/// The Snowflake type of a column held as `dt` (its `sf_type` names variants, which travel as
/// text).
fn sf_type_of(c: &Column, dt: &DataType) -> SfType {
    use DataType::*;
    match dt {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 => SfType::new("FIXED", Some(0), Some(38)),
        UInt64 => SfType::new("FIXED", Some(0), Some(38)),
        Decimal128(p, s) | Decimal256(p, s) => SfType::new("FIXED", Some(i32::from(*s)), Some(i32::from(*p).min(38))),
        Float16 | Float32 | Float64 => SfType::new("REAL", None, None),
        Boolean => SfType::new("BOOLEAN", None, None),
        Date32 | Date64 => SfType::new("DATE", None, None),
        Time32(u) | Time64(u) => SfType::new("TIME", Some(unit_scale(u)), Some(0)),
        Timestamp(u, None) => SfType::new("TIMESTAMP_NTZ", Some(unit_scale(u)), Some(0)),
        Timestamp(u, Some(_)) => SfType::new("TIMESTAMP_LTZ", Some(unit_scale(u)), Some(0)),
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => SfType::new("BINARY", None, None),
        _ => match c.sf_type.as_str() {
            "variant" => SfType::new("VARIANT", None, None),
            "object" => SfType::new("OBJECT", None, None),
            "array" => SfType::new("ARRAY", None, None),
            _ => SfType::new("TEXT", None, None),
        },
    }
}

/// The Snowflake type of a column of string rows (recpipe's own statements, counts).
fn sf_type_of_text(c: &Column) -> SfType {
    match c.sf_type.as_str() {
        "fixed" => SfType::new("FIXED", Some(c.scale.unwrap_or(0) as i32), Some(c.precision.unwrap_or(38) as i32)),
        "real" => SfType::new("REAL", None, None),
        "boolean" => SfType::new("BOOLEAN", None, None),
        _ => SfType::new("TEXT", None, None),
    }
}

/// The array as the drivers expect a column of type `t`.
fn wire_array(t: &SfType, a: &ArrayRef) -> Result<ArrayRef, WarehouseError> {
    let fail = |e: duckdb::arrow::error::ArrowError| WarehouseError::Internal(format!("converting a result column for the connector: {e}"));
    let to = |dt: DataType| cast(a, &dt).map_err(fail);
    match (t.logical, a.data_type()) {
        ("FIXED", DataType::UInt64) => to(DataType::Decimal128(38, 0)),
        ("FIXED", DataType::UInt8 | DataType::UInt16 | DataType::UInt32) => to(DataType::Int64),
        ("FIXED", DataType::Decimal256(p, s)) => to(DataType::Decimal128((*p).min(38), *s)),
        ("REAL", DataType::Float64) | ("DATE", DataType::Date32) | ("BOOLEAN", _) | ("FIXED", _) => Ok(Arc::clone(a)),
        ("REAL", _) => to(DataType::Float64),
        ("DATE", _) => to(DataType::Date32),
        ("TIME" | "TIMESTAMP_NTZ" | "TIMESTAMP_LTZ", _) => to(DataType::Int64),
        ("BINARY", _) => to(DataType::Binary),
        (_, DataType::Null) => Ok(new_null_array(&DataType::Utf8, a.len())),
        (_, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => to(DataType::Utf8),
        _ => {
            // Nested values: their text form.
            let f = ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default()).map_err(fail)?;
            let nulls = a.logical_nulls();
            let v: duckdb::arrow::array::StringArray =
                (0..a.len()).map(|i| (!nulls.as_ref().is_some_and(|n| n.is_null(i))).then(|| f.value(i).to_string())).collect();
            Ok(Arc::new(v))
        }
    }
}

/// How a result goes on the wire: its row types and, for Arrow results, the schema its batches
/// are converted to ([`Wire::arrow_stream`]).
pub struct Wire {
    pub row_type: Vec<Value>,
    arrow: Option<(Arc<Schema>, Vec<SfType>)>,
}

pub fn wire(r: &QueryResult) -> Result<Wire, WarehouseError> {
    let Some(rows) = &r.arrow else {
        let row_type = r.columns.iter().map(|c| sf_type_of_text(c).row_type(&c.name, c.nullable)).collect();
        return Ok(Wire { row_type, arrow: None });
    };
    // Types come from the batches' schema; a result without batches has its columns' declared types.
    let schema = rows.schema();
    let types: Vec<SfType> = match schema {
        Some(s) => r.columns.iter().zip(s.fields()).map(|(c, f)| sf_type_of(c, f.data_type())).collect(),
        None => r.columns.iter().map(sf_type_of_text).collect(),
    };
    let fields: Vec<Field> = r
        .columns
        .iter()
        .zip(&types)
        .enumerate()
        .map(|(i, (c, t))| {
            let dt = match schema {
                Some(s) => wire_array(t, &new_null_array(s.field(i).data_type(), 0)).map(|a| a.data_type().clone()),
                None => Ok(DataType::Utf8),
            };
            dt.map(|dt| Field::new(&c.name, dt, true).with_metadata(t.metadata()))
        })
        .collect::<Result<_, _>>()?;
    let row_type = r.columns.iter().zip(&types).map(|(c, t)| t.row_type(&c.name, c.nullable)).collect();
    Ok(Wire { row_type, arrow: Some((Arc::new(Schema::new(fields)), types)) })
}

impl Wire {
    pub fn is_arrow(&self) -> bool {
        self.arrow.is_some()
    }

    /// `batches` (of the result this describes) as one Arrow IPC stream in the wire's types.
    pub fn arrow_stream(&self, batches: &[RecordBatch]) -> Result<Vec<u8>, WarehouseError> {
        let Some((schema, types)) = &self.arrow else {
            return Err(WarehouseError::Internal("a JSON result has no Arrow form".into()));
        };
        let fail = |e: duckdb::arrow::error::ArrowError| WarehouseError::Internal(format!("encoding a result as Arrow: {e}"));
        let size: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        let mut w = arrow_ipc::writer::StreamWriter::try_new(Vec::with_capacity(size + 1024), schema).map_err(fail)?;
        for b in batches {
            let cols: Vec<ArrayRef> = types.iter().zip(b.columns()).map(|(t, a)| wire_array(t, a)).collect::<Result<_, _>>()?;
            let b = RecordBatch::try_new(Arc::clone(schema), cols).map_err(fail)?;
            w.write(&b).map_err(fail)?;
        }
        w.into_inner().map_err(fail)
    }

    pub fn arrow_base64(&self, batches: &[RecordBatch]) -> Result<String, WarehouseError> {
        Ok(base64::engine::general_purpose::STANDARD.encode(self.arrow_stream(batches)?))
    }
}

/// Runs of whole batches of at least `per` rows each (the last may be smaller), as the SQL
/// API partitions Arrow results.
pub fn chunks(rows: &crate::ArrowRows, per: usize) -> Vec<std::ops::Range<usize>> {
    crate::arrow_rows::batch_runs(rows.batch_rows(), per)
}

/// `bytes` gzipped, as result chunks travel (`Content-Encoding: gzip`); the fastest level: a
/// chunk is compressed once per fetch.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>, WarehouseError> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 3 + 64), flate2::Compression::fast());
    z.write_all(bytes).and_then(|_| z.finish()).map_err(|e| WarehouseError::Internal(format!("compressing a result chunk: {e}")))
}

/// String rows as JSON `rowset`: booleans as Snowflake writes them (`1`/`0`).
pub fn json_rows(r: &QueryResult) -> Value {
    let boolean: Vec<bool> = r.columns.iter().map(|c| c.sf_type == "boolean").collect();
    Value::Array(
        r.rows
            .iter()
            .map(|row| {
                Value::Array(
                    row.iter()
                        .zip(&boolean)
                        .map(|(v, b)| match v {
                            None => Value::Null,
                            Some(s) if *b => Value::String(if s == "true" { "1".into() } else { "0".into() }),
                            Some(s) => Value::String(s.clone()),
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckdb::arrow::array::{Int64Array, TimestampMicrosecondArray};

    #[test]
    fn chunks_are_runs_of_whole_batches_and_travel_gzipped() {
        let b = |n: i64| {
            let a: ArrayRef = Arc::new(Int64Array::from((0..n).collect::<Vec<_>>()));
            RecordBatch::try_new(Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)])), vec![a]).unwrap()
        };
        let rows = crate::ArrowRows::in_memory(vec![b(3), b(3), b(3), b(1)]);
        assert_eq!(chunks(&rows, 5), vec![0..2, 2..4]);
        assert_eq!(chunks(&rows, 100), vec![0..4]);
        let plain = vec![7u8; 10_000];
        let z = gzip(&plain).unwrap();
        assert!(z.len() < 200 && z[..2] == [0x1f, 0x8b], "{} bytes", z.len());
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&z[..]), &mut back).unwrap();
        assert_eq!(back, plain);
    }

    #[test]
    fn timestamps_travel_as_integers_with_their_scale() {
        let c = vec![Column::typed("T", "timestamp_ntz"), Column::typed("N", "fixed")];
        let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![Some(1_500_000), None]));
        let n: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let schema = Arc::new(Schema::new(vec![Field::new("t", ts.data_type().clone(), true), Field::new("n", DataType::Int64, true)]));
        let b = RecordBatch::try_new(schema, vec![ts, n]).unwrap();
        let r = QueryResult { columns: c, arrow: Some(crate::ArrowRows::in_memory(vec![b.clone()])), ..QueryResult::default() };
        let w = wire(&r).unwrap();
        assert_eq!(w.row_type[0]["type"], "timestamp_ntz");
        let bytes = w.arrow_stream(&[b]).unwrap();
        let mut read = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        let schema = read.schema();
        let f = schema.field(0);
        assert_eq!(f.metadata()["logicalType"], "TIMESTAMP_NTZ");
        assert_eq!(f.metadata()["scale"], "6");
        assert_eq!(f.data_type(), &DataType::Int64);
        assert_eq!(schema.field(1).metadata()["precision"], "38");
        let b = read.next().unwrap().unwrap();
        let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(col.value(0), 1_500_000);
        assert!(col.is_null(1));
    }
}
