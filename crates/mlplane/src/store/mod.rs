//! The control plane's metadata in SQLite: the `ml_*` tables of `state.db` (WAL), beside IAM's
//! `iam_*` and the gateway's `gw_*`. Every state change of a job or an endpoint is one
//! transaction, so a SIGKILL leaves each row either before or after a change.

mod endpoints;
mod jobs;

pub use endpoints::{ConfigRow, EndpointRow, ModelRow};
pub use jobs::JobRow;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{MlplaneError, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ml_jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE, arn TEXT NOT NULL,
    status TEXT NOT NULL, secondary TEXT NOT NULL, failure_reason TEXT,
    request TEXT NOT NULL,
    creation_time REAL NOT NULL, start_time REAL, end_time REAL, last_modified REAL NOT NULL,
    transitions TEXT NOT NULL, metrics TEXT NOT NULL, model_artifacts TEXT,
    stop_requested INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS ml_jobs_status ON ml_jobs (status, seq);
CREATE TABLE IF NOT EXISTS ml_models (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, request TEXT NOT NULL, creation_time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS ml_endpoint_configs (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, request TEXT NOT NULL, creation_time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS ml_endpoints (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, config_name TEXT NOT NULL, pending_config TEXT,
    status TEXT NOT NULL, failure_reason TEXT,
    creation_time REAL NOT NULL, last_modified REAL NOT NULL);
";

/// The `ml_*` tables over one connection.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a transaction rolls it back on drop, so a poisoned lock is still sound.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one transaction, committed only if it succeeds.
    pub fn tx<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock())
    }

    /// `PRAGMA integrity_check` (the SIGKILL tests ask it).
    pub fn integrity_check(&self) -> Result<String> {
        self.read(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?))
    }
}

/// A unit enum as the string SageMaker uses (`InProgress`, ...).
pub(crate) fn enum_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("not a unit enum: {other:?}"),
    }
}

pub(crate) fn enum_parse<T: DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|e| MlplaneError::Internal(format!("state store holds unknown value {s:?}: {e}")))
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("state serialises")
}

pub(crate) fn from_json<T: DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| MlplaneError::Internal(format!("state store holds bad JSON: {e}")))
}
