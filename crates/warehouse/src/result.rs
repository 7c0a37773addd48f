//! Statement results as the SQL API carries them: typed columns and rows of strings, rendered
//! the way Snowflake's JSON result format does (timestamps as epoch seconds, dates as days).

use duckdb::arrow::array::{Array, AsArray};
use duckdb::arrow::datatypes::{DataType, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::{Deserialize, Serialize};

use crate::WarehouseError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// Snowflake's `rowType.type`: `fixed`, `real`, `text`, `boolean`, `date`, `timestamp_ntz`,
    /// `variant`, ...
    #[serde(rename = "type")]
    pub sf_type: String,
    pub nullable: bool,
    pub scale: Option<u32>,
    pub precision: Option<u32>,
}

impl Column {
    pub fn text(name: &str) -> Column {
        Column { name: name.into(), sf_type: "text".into(), nullable: true, scale: None, precision: None }
    }

    pub fn typed(name: &str, sf_type: &str) -> Column {
        let (scale, precision) = if sf_type == "fixed" { (Some(0), Some(38)) } else { (None, None) };
        Column { name: name.into(), sf_type: sf_type.into(), nullable: true, scale, precision }
    }
}

/// One statement's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    pub query_id: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Option<String>>>,
    /// A query's rows as DuckDB produced them (Arrow), when the session asked for Arrow results
    /// ([`crate::Session::set_arrow_results`]); `rows` is then empty. The SQL API sends them as
    /// Arrow IPC partitions instead of JSON strings.
    #[serde(skip)]
    pub arrow: Option<crate::ArrowRows>,
}

impl QueryResult {
    /// A one-cell `status` result, as Snowflake answers DDL.
    pub fn status(msg: impl Into<String>) -> QueryResult {
        QueryResult {
            query_id: String::new(),
            columns: vec![Column::text("status")],
            rows: vec![vec![Some(msg.into())]],
            arrow: None,
        }
    }

    pub fn table(columns: &[&str], rows: Vec<Vec<Option<String>>>) -> QueryResult {
        QueryResult {
            query_id: String::new(),
            columns: columns.iter().map(|c| Column::text(c)).collect(),
            rows,
            arrow: None,
        }
    }

    /// Rows in the result, in whichever form it holds them.
    pub fn num_rows(&self) -> usize {
        match &self.arrow {
            Some(a) => a.num_rows(),
            None => self.rows.len(),
        }
    }

    /// The value of column `name` in row `row` (tests, CLI).
    pub fn get(&self, row: usize, name: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))?;
        self.rows.get(row)?.get(i)?.as_deref()
    }
}

/// Appends a batch's rows, rendered as strings.
pub fn render_batch(batch: &RecordBatch, out: &mut Vec<Vec<Option<String>>>) -> Result<(), WarehouseError> {
    let n = batch.num_rows();
    let mut cols: Vec<Vec<Option<String>>> = Vec::with_capacity(batch.num_columns());
    let opts = FormatOptions::default();
    for array in batch.columns() {
        let mut col = Vec::with_capacity(n);
        match array.data_type() {
            DataType::Timestamp(unit, _) => {
                let ints = duckdb::arrow::compute::cast(array, &DataType::Int64)
                    .map_err(|e| WarehouseError::Execution(format!("rendering a timestamp: {e}")))?;
                let a = ints.as_primitive::<duckdb::arrow::datatypes::Int64Type>();
                let per_sec: i64 = match unit {
                    TimeUnit::Second => 1,
                    TimeUnit::Millisecond => 1_000,
                    TimeUnit::Microsecond => 1_000_000,
                    TimeUnit::Nanosecond => 1_000_000_000,
                };
                for i in 0..n {
                    col.push((!a.is_null(i)).then(|| {
                        let v = a.value(i);
                        let (s, frac) = (v.div_euclid(per_sec), v.rem_euclid(per_sec));
                        format!("{s}.{:09}", frac * (1_000_000_000 / per_sec))
                    }));
                }
            }
            DataType::Date32 => {
                let a = array.as_primitive::<duckdb::arrow::datatypes::Date32Type>();
                for i in 0..n {
                    col.push((!a.is_null(i)).then(|| a.value(i).to_string()));
                }
            }
            _ => {
                let f = ArrayFormatter::try_new(array.as_ref(), &opts)
                    .map_err(|e| WarehouseError::Execution(format!("rendering a result column: {e}")))?;
                // Logical nulls: a NULL-typed column has no null buffer but is all nulls.
                let nulls = array.logical_nulls();
                for i in 0..n {
                    let null = nulls.as_ref().is_some_and(|b| b.is_null(i));
                    col.push((!null).then(|| f.value(i).to_string()));
                }
            }
        }
        cols.push(col);
    }
    for i in 0..n {
        out.push(cols.iter_mut().map(|c| c[i].take()).collect());
    }
    Ok(())
}
