//! The DuckDB side: one `VScalar` type for every external function, its state the shared runtime.

use std::sync::Arc;

use duckdb::core::{DataChunkHandle, Inserter, LogicalTypeId};
use duckdb::ffi::duckdb_string_t;
use duckdb::types::DuckString;
use duckdb::vscalar::{ScalarFunctionSignature, VScalar};
use duckdb::vtab::arrow::WritableVector;

use super::{coerce, Runtime, ERROR_MARK};

pub struct ExternalScalar;

/// Column `col` of a chunk of VARCHAR arguments as strings (`None` for SQL NULL).
pub(crate) fn read_strings(input: &DataChunkHandle, col: usize) -> Vec<Option<String>> {
    let n = input.len();
    let v = input.flat_vector(col);
    let raw = unsafe { v.as_slice_with_len::<duckdb_string_t>(n) };
    (0..n)
        .map(|i| {
            if v.row_is_null(i as u64) {
                None
            } else {
                let mut s = raw[i];
                Some(DuckString::new(&mut s).as_str().to_string())
            }
        })
        .collect()
}

impl VScalar for ExternalScalar {
    type State = Arc<Runtime>;

    fn invoke(
        state: &Self::State,
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let n = input.len();
        if n == 0 {
            return Ok(());
        }
        let keys = read_strings(input, 0);
        let args = read_strings(input, 1);
        let key = keys.iter().flatten().next().ok_or_else(|| format!("{ERROR_MARK}missing call key"))?;
        let spec = state
            .spec(key)
            .ok_or_else(|| format!("{ERROR_MARK}external function call outlived its statement"))?;
        let types: Vec<String> = spec.function.arg_types();
        let mut rows = Vec::with_capacity(n);
        for a in &args {
            let values = coerce::arguments(a.as_deref(), &types).map_err(|e| format!("{ERROR_MARK}{e}"))?;
            let skip = spec.function.def.strict && values.iter().any(|v| v.is_null());
            rows.push(if skip { None } else { Some(values) });
        }
        let skipped: Vec<bool> = rows.iter().map(Option::is_none).collect();
        let results = state
            .call_rows(Arc::clone(&spec), rows)
            .map_err(|e| format!("{ERROR_MARK}{e}"))?;
        let mut out = output.flat_vector();
        for (i, v) in results.iter().enumerate() {
            if skipped[i] || v.is_null() {
                out.set_null(i);
            } else {
                out.insert(i, v.to_string().as_str());
            }
        }
        Ok(())
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(
            vec![LogicalTypeId::Varchar.into(), LogicalTypeId::Varchar.into()],
            LogicalTypeId::Varchar.into(),
        )]
    }

    fn volatile() -> bool {
        true
    }
}
