//! External functions, calling side. Each external function is one DuckDB scalar function
//! (`"__EF_<id>"(call_key VARCHAR, args VARCHAR) -> VARCHAR`, registered through the `vscalar`
//! API); the rewriter turns `f(a, b)` into `CAST("__EF_<id>"('<call key>', CAST(JSON_ARRAY(a, b)
//! AS VARCHAR)) AS JSON)`. The call key names a [`CallSpec`] — the function's definition, its
//! integration, the query id and the session's context values — resolved when the statement was
//! checked, so a registration needs no per-query state and the signature can be static.
//!
//! DuckDB hands each invocation one data chunk (≤ 2,048 rows); the chunk is cut into batches of
//! at most `MAX_BATCH_ROWS` that go out concurrently on the runtime's HTTP client, and several
//! DuckDB threads may run chunks at once.

mod call;
mod cancel;
mod coerce;
mod creds;
mod scalar;
pub(crate) use scalar::read_strings;

pub use call::{CallConfig, DEFAULT_CALL_TIMEOUT_SECS};
pub use cancel::Cancel;
pub use creds::IntegrationUser;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::catalog::{FunctionRecord, IntegrationRecord};
use crate::WarehouseError;

/// Prefix of an external-function failure inside DuckDB's error text (see `From<duckdb::Error>`).
pub const ERROR_MARK: &str = "[recpipe external function] ";

/// Snowflake's batch size bound when the function sets none.
pub const DEFAULT_MAX_BATCH_ROWS: usize = 500;

/// Everything one statement's calls of one function need.
#[derive(Debug, Clone)]
pub struct CallSpec {
    pub function: FunctionRecord,
    pub integration: IntegrationRecord,
    pub query_id: String,
    /// `sf-context-<name>` header values, in order.
    pub context: Vec<(String, String)>,
    pub region: String,
    /// The statement's cancellation: its calls stop when it is set.
    pub cancel: Arc<Cancel>,
}

/// Shared by every registration: the HTTP runtime, credential cache and active call specs.
pub struct Runtime {
    rt: Option<tokio::runtime::Runtime>,
    pub(crate) client: call::Client,
    pub(crate) creds: creds::CredentialCache,
    pub(crate) config: CallConfig,
    specs: Mutex<HashMap<String, Arc<CallSpec>>>,
    registered: Mutex<HashSet<String>>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Runtime {
    pub fn new(user: IntegrationUser, config: CallConfig) -> Result<Arc<Runtime>, WarehouseError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("recpipe-extfn")
            .enable_all()
            .build()
            .map_err(|e| WarehouseError::Internal(format!("external-function runtime: {e}")))?;
        let client = call::client(&config.extra_roots).map_err(WarehouseError::Internal)?;
        Ok(Arc::new(Runtime {
            rt: Some(rt),
            client,
            creds: creds::CredentialCache::new(user),
            config,
            specs: Mutex::new(HashMap::new()),
            registered: Mutex::new(HashSet::new()),
        }))
    }

    pub(crate) fn handle(&self) -> tokio::runtime::Handle {
        self.rt.as_ref().expect("runtime lives until drop").handle().clone()
    }

    /// Registers the function's scalar on `conn` once per process; returns its SQL name.
    pub fn ensure_registered(self: &Arc<Self>, conn: &duckdb::Connection, f: &FunctionRecord) -> Result<String, WarehouseError> {
        let name = format!("__EF_{}", f.id);
        let mut reg = self.registered.lock().unwrap_or_else(|p| p.into_inner());
        if !reg.contains(&name) {
            conn.register_scalar_function_with_state::<scalar::ExternalScalar>(&name, &Arc::clone(self))
                .map_err(|e| WarehouseError::Internal(format!("registering {name}: {e}")))?;
            reg.insert(name.clone());
        }
        Ok(name)
    }

    /// Makes `spec` reachable by its key until [`Runtime::forget`].
    pub fn activate(&self, spec: CallSpec) -> String {
        let key = crate::random::hex_id(16);
        self.specs.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone(), Arc::new(spec));
        key
    }

    pub fn forget(&self, key: &str) {
        self.specs.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    pub(crate) fn spec(&self, key: &str) -> Option<Arc<CallSpec>> {
        self.specs.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    /// Calls the remote service for `rows` (argument arrays, `None` = skipped null row) and
    /// returns one JSON result per row. Blocks the calling (DuckDB) thread, not the runtime.
    pub fn call_rows(self: &Arc<Self>, spec: Arc<CallSpec>, rows: Vec<Option<Vec<serde_json::Value>>>) -> Result<Vec<serde_json::Value>, String> {
        let max = spec
            .function
            .def
            .max_batch_rows
            .map(|m| m as usize)
            .unwrap_or(self.config.default_batch_rows)
            .max(1);
        let live: Vec<usize> = (0..rows.len()).filter(|i| rows[*i].is_some()).collect();
        let mut out = vec![serde_json::Value::Null; rows.len()];
        let (tx, rx) = std::sync::mpsc::channel();
        // The first failed batch ends its siblings: the statement fails anyway.
        let siblings = Arc::new(Cancel::default());
        let mut batches = 0;
        for chunk in live.chunks(max) {
            let batch: Vec<Vec<serde_json::Value>> = chunk.iter().map(|i| rows[*i].clone().unwrap_or_default()).collect();
            let idx = chunk.to_vec();
            let tx = tx.clone();
            let me = Arc::clone(self);
            let spec = Arc::clone(&spec);
            let siblings = Arc::clone(&siblings);
            self.handle().spawn(async move {
                let stopped = |why: &str| Err(format!("Request for external function {} stopped: {why}", spec.function.name));
                let res = tokio::select! {
                    r = call::call_batch(&me, &spec, batch) => r,
                    _ = spec.cancel.cancelled() => stopped("the statement was canceled"),
                    _ = siblings.cancelled() => stopped("another batch of the statement failed"),
                };
                let _ = tx.send((idx, res));
            });
            batches += 1;
        }
        drop(tx);
        for _ in 0..batches {
            let (idx, res) = rx.recv().map_err(|_| "external function call was abandoned".to_string())?;
            let values = res.inspect_err(|_| siblings.cancel())?;
            for (i, v) in idx.into_iter().zip(values) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}
