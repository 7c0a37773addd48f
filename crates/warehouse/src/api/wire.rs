//! The SQL API's JSON shapes: ResultSet, QueryStatus, partitions.

use serde_json::{json, Value};

use super::store::Entry;
use crate::{QueryResult, WarehouseError};

/// The media type of an Arrow result partition (Arrow's IPC streaming format).
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

pub const ASYNC_MESSAGE: &str =
    "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.";

pub fn status_url(handle: &str) -> String {
    format!("/api/v2/statements/{handle}")
}

pub fn query_status(handle: &str, created_ms: i64) -> Value {
    json!({
        "code": "333334",
        "message": ASYNC_MESSAGE,
        "statementHandle": handle,
        "statementStatusUrl": status_url(handle),
        "createdOn": created_ms,
    })
}

fn rows_of(r: &QueryResult, range: std::ops::Range<usize>, nullable: bool) -> Value {
    Value::Array(
        r.rows[range]
            .iter()
            .map(|row| {
                Value::Array(
                    row.iter()
                        .map(|c| match c {
                            Some(s) => Value::String(s.clone()),
                            None if nullable => Value::Null,
                            None => Value::String("null".into()),
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}

fn partitions(n: usize, per: usize) -> Vec<std::ops::Range<usize>> {
    if n == 0 {
        return vec![0..0];
    }
    (0..n).step_by(per.max(1)).map(|s| s..(s + per.max(1)).min(n)).collect()
}

/// Arrow partitions: runs of whole batches, and one empty partition for an empty result.
fn arrow_partitions(a: &crate::ArrowRows, per: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = crate::arrow_rows::batch_runs(a.batch_rows(), per);
    if out.is_empty() {
        out.push(0..0);
    }
    out
}

/// Partition `n` of an Arrow result as an Arrow IPC stream, or `None` if there is no such
/// partition.
pub fn arrow_partition(r: &QueryResult, n: usize, per: usize) -> Result<Option<Vec<u8>>, WarehouseError> {
    let Some(a) = r.arrow.as_ref() else { return Ok(None) };
    let Some(range) = arrow_partitions(a, per).get(n).cloned() else { return Ok(None) };
    let schema = a.schema().cloned().unwrap_or_else(|| std::sync::Arc::new(duckdb::arrow::datatypes::Schema::empty()));
    let fail = |e: duckdb::arrow::error::ArrowError| WarehouseError::Internal(format!("encoding result partition {n} as Arrow: {e}"));
    let size = a.bytes(range.clone());
    let mut w = arrow_ipc::writer::StreamWriter::try_new(Vec::with_capacity(size + 1024), &schema).map_err(fail)?;
    for b in a.batches(range)? {
        w.write(&b).map_err(fail)?;
    }
    w.into_inner().map(Some).map_err(fail)
}

pub fn result_set(handle: &str, e: &Entry, r: &QueryResult, per: usize, nullable: bool) -> Value {
    if let Some(a) = &r.arrow {
        let info: Vec<Value> = arrow_partitions(a, per)
            .into_iter()
            .map(|p| {
                let rows: usize = a.batch_rows()[p.clone()].iter().sum();
                json!({ "rowCount": rows, "uncompressedSize": a.bytes(p) })
            })
            .collect();
        let mut v = json_result_set(handle, e, r, info, Value::Array(Vec::new()));
        v["resultSetMetaData"]["format"] = json!("arrow");
        return v;
    }
    let parts = partitions(r.rows.len(), per);
    let info: Vec<Value> = parts
        .iter()
        .map(|p| {
            let size: usize = r.rows[p.clone()].iter().flatten().map(|c| c.as_ref().map_or(4, |s| s.len() + 3)).sum();
            json!({ "rowCount": p.len(), "uncompressedSize": size })
        })
        .collect();
    json_result_set(handle, e, r, info, rows_of(r, parts[0].clone(), nullable))
}

fn json_result_set(handle: &str, e: &Entry, r: &QueryResult, info: Vec<Value>, data: Value) -> Value {
    let row_type: Vec<Value> = r
        .columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "type": c.sf_type, "nullable": c.nullable, "scale": c.scale,
                "precision": c.precision, "length": (if c.sf_type == "text" { Some(16777216) } else { None }),
                "byteLength": (if c.sf_type == "text" { Some(16777216) } else { None }),
                "database": "", "schema": "", "table": "", "collation": null,
            })
        })
        .collect();
    json!({
        "resultSetMetaData": {
            "numRows": r.num_rows(),
            "format": "jsonv2",
            "partitionInfo": info,
            "rowType": row_type,
        },
        "data": data,
        "code": "090001",
        "sqlState": "00000",
        "statementStatusUrl": status_url(handle),
        "requestId": e.request_id,
        "statementHandle": handle,
        "message": "Statement executed successfully.",
        "createdOn": e.created_ms,
        "recpipeContext": e.context,
    })
}

/// `{"data": [...]}` of partition `n`, or `None` if there is no such partition.
pub fn partition(r: &QueryResult, n: usize, per: usize, nullable: bool) -> Option<Value> {
    let p = partitions(r.rows.len(), per).get(n)?.clone();
    Some(json!({ "data": rows_of(r, p, nullable) }))
}

pub fn multi(handle: &str, e: &Entry, handles: &[String]) -> Value {
    json!({
        "resultSetMetaData": {
            "numRows": 1, "format": "jsonv2", "partitionInfo": [{"rowCount": 1, "uncompressedSize": 45}],
            "rowType": [{"name": "multiple statement execution", "type": "text", "nullable": false}],
        },
        "data": [["Multiple statements executed successfully."]],
        "code": "090001",
        "sqlState": "00000",
        "statementHandle": handle,
        "statementHandles": handles,
        "statementStatusUrl": status_url(handle),
        "message": "Statement executed successfully.",
        "createdOn": e.created_ms,
        "recpipeContext": e.context,
    })
}
