//! The session's recent results: `LAST_QUERY_ID()` names the statements it ran, and
//! `RESULT_SCAN(id)` reads one's result back as a table. Only this session's results are kept
//! (a session never reads another's), the newest [`KEPT_RESULTS`] of them, each of at most
//! [`MAX_KEPT_ROWS`] rows; older ones keep their id alone.

use std::collections::VecDeque;

use crate::result::QueryResult;
use crate::session::Session;
use crate::sql::translate::TableArg;
use crate::sql::{literal, quote};
use crate::WarehouseError;

/// How many statement ids `LAST_QUERY_ID` can reach back.
const KEPT_IDS: usize = 100;
/// How many of the newest results `RESULT_SCAN` can read.
const KEPT_RESULTS: usize = 20;
/// A result larger than this is not kept (`RESULT_SCAN` says so; nor is it kept for reuse).
pub(crate) const MAX_KEPT_ROWS: usize = 10_000;

/// Whether a result is small enough to keep in memory: not spilled to a file, at most
/// [`MAX_KEPT_ROWS`] rows.
pub(crate) fn small_enough(r: &QueryResult) -> bool {
    match &r.arrow {
        None => r.rows.len() <= MAX_KEPT_ROWS,
        Some(a) => !a.is_spilled() && a.num_rows() <= MAX_KEPT_ROWS,
    }
}

/// Ids of the session's statements, oldest first, the newest with their results.
#[derive(Default)]
pub(crate) struct Recent {
    entries: VecDeque<(String, Option<QueryResult>)>,
    /// Statements run before the oldest entry.
    dropped: usize,
}

impl Recent {
    /// Keeps a statement's id and, when small enough, its result.
    pub(crate) fn keep(&mut self, r: &QueryResult) {
        // A result in Arrow form (the connector's and the SQL API's bulk reads) is shared, not
        // copied, and rendered only if `RESULT_SCAN` reads it.
        let rows = small_enough(r).then(|| r.clone());
        self.entries.push_back((r.query_id.clone(), rows));
        if self.entries.len() > KEPT_IDS {
            self.entries.pop_front();
            self.dropped += 1;
        }
        let n = self.entries.len();
        if n > KEPT_RESULTS {
            self.entries[n - KEPT_RESULTS - 1].1 = None;
        }
    }

    /// `LAST_QUERY_ID(n)`: `-1` the latest statement, `-2` the one before; `1` the session's
    /// first, `2` its second. `None` past what is kept (or for `0`).
    pub(crate) fn id(&self, n: i64) -> Option<&str> {
        let len = self.entries.len() as i64;
        let at = match n {
            n if n < 0 => len + n,
            n if n > 0 => n - 1 - self.dropped as i64,
            _ => return None,
        };
        (0..len).contains(&at).then(|| self.entries[at as usize].0.as_str())
    }

    fn result(&self, id: &str) -> Result<&QueryResult, WarehouseError> {
        match self.entries.iter().rev().find(|(i, _)| i.eq_ignore_ascii_case(id)) {
            Some((_, Some(r))) => Ok(r),
            Some((_, None)) => Err(WarehouseError::Invalid(format!(
                "Result for query {id} is no longer kept: this session keeps its {KEPT_RESULTS} latest results of at most {MAX_KEPT_ROWS} rows"
            ))),
            None => Err(WarehouseError::Invalid(format!("Statement {id} not found in this session"))),
        }
    }
}

impl Session {
    /// `RESULT_SCAN(<query id>)`: the kept result as a parenthesised subquery of typed rows.
    pub(super) fn result_scan_sql(&self, args: &[TableArg]) -> Result<String, WarehouseError> {
        let [arg] = args else {
            return Err(WarehouseError::Invalid(format!("RESULT_SCAN takes one argument (a query id), got {}", args.len())));
        };
        if arg.name.is_some() {
            return Err(WarehouseError::Invalid("RESULT_SCAN takes a query id, not a named argument".into()));
        }
        let id: Option<String> = self.conn.query_row(&format!("SELECT CAST(({}) AS VARCHAR)", arg.sql), [], |r| r.get(0))?;
        let id = id.ok_or_else(|| WarehouseError::Invalid("RESULT_SCAN of a NULL query id".into()))?;
        let kept = self.recent.result(&id)?;
        match &kept.arrow {
            None => Ok(rows_sql(kept)),
            Some(arrow) => {
                let mut rows = Vec::with_capacity(arrow.num_rows());
                for b in arrow.batches(0..arrow.batch_rows().len())? {
                    crate::result::render_batch(&b, &mut rows)?;
                }
                Ok(rows_sql(&QueryResult { rows, arrow: None, ..kept.clone() }))
            }
        }
    }
}

/// The DuckDB type a result column of this Snowflake type is read back as, and the expression
/// that turns its rendered value (see [`crate::result`]) back into that type.
fn typed(sf_type: &str, scale: Option<u32>, value: Option<&str>) -> String {
    let v = value.map_or("NULL".to_string(), literal);
    match sf_type {
        "fixed" => format!("CAST({v} AS DECIMAL(38, {}))", scale.unwrap_or(0)),
        "real" => format!("CAST({v} AS DOUBLE)"),
        "boolean" => format!("CAST({v} AS BOOLEAN)"),
        "date" => format!("CAST(DATE '1970-01-01' + CAST({v} AS INTEGER) AS DATE)"),
        "timestamp_ntz" => format!("make_timestamp(CAST(CAST({v} AS DECIMAL(38, 9)) * 1000000 AS BIGINT))"),
        "variant" | "object" | "array" => format!("CAST({v} AS JSON)"),
        _ => format!("CAST({v} AS VARCHAR)"),
    }
}

fn rows_sql(r: &QueryResult) -> String {
    let names: Vec<String> = r.columns.iter().map(|c| quote(&c.name)).collect();
    if r.rows.is_empty() {
        let cols: Vec<String> = r.columns.iter().zip(&names).map(|(c, n)| format!("{} AS {n}", typed(&c.sf_type, c.scale, None))).collect();
        return format!("(SELECT {} WHERE FALSE)", cols.join(", "));
    }
    let rows: Vec<String> = r
        .rows
        .iter()
        .map(|row| {
            let cells: Vec<String> = r.columns.iter().zip(row).map(|(c, v)| typed(&c.sf_type, c.scale, v.as_deref())).collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    format!("(SELECT * FROM (VALUES {}) AS _R({}))", rows.join(", "), names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::Column;

    fn result(id: &str) -> QueryResult {
        QueryResult { query_id: id.into(), columns: vec![Column::typed("N", "fixed")], rows: vec![vec![Some("7".into())]], arrow: None }
    }

    #[test]
    fn ids_count_back_from_the_latest_and_forward_from_the_first() {
        let mut r = Recent::default();
        for i in 1..=(KEPT_IDS + 5) {
            r.keep(&result(&format!("q{i}")));
        }
        assert_eq!(r.id(-1), Some(format!("q{}", KEPT_IDS + 5).as_str()));
        assert_eq!(r.id(-2), Some(format!("q{}", KEPT_IDS + 4).as_str()));
        assert_eq!(r.id(6), Some("q6"));
        assert_eq!(r.id(5), None, "dropped");
        assert_eq!(r.id(0), None);
        assert!(r.result(&format!("q{}", KEPT_IDS + 5)).is_ok());
        let old = r.result("q6").unwrap_err().to_string();
        assert!(old.contains("no longer kept"), "{old}");
        assert!(r.result("nope").unwrap_err().to_string().contains("not found"));
    }

    #[test]
    fn rows_come_back_typed_and_named() {
        let mut q = result("q");
        q.columns.push(Column::typed("it's", "date"));
        q.rows[0].push(None);
        assert_eq!(rows_sql(&q), "(SELECT * FROM (VALUES (CAST('7' AS DECIMAL(38, 0)), CAST(DATE '1970-01-01' + CAST(NULL AS INTEGER) AS DATE))) AS _R(\"N\", \"it's\"))");
        q.rows.clear();
        assert!(rows_sql(&q).ends_with("WHERE FALSE)"));
    }
}
