//! The warehouse's own catalog: databases, warehouses, roles, grants, users, API integrations,
//! external functions, tasks and their runs, and login tokens, in SQLite (`warehouse/catalog.db`, WAL).
//!
//! SQLite rather than DuckDB: these are small, transactional, row-at-a-time records read on every
//! statement (privilege checks, function lookups); a separate file keeps them out of DuckDB's
//! single-writer lock, so a long analytical query never blocks a login or a `describe`, and the
//! data directory already uses SQLite for IAM state.

mod connector;
mod created;
mod functions;

pub use connector::SavedSession;
mod integrations;
pub mod security;
mod users;
pub mod tasks;

pub use functions::FunctionRecord;
pub use integrations::{call_timeout, IntegrationRecord};
pub use users::{UserChange, UserRecord};
pub use tasks::{TaskRecord, TaskRun};

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::WarehouseError;

pub const ACCOUNTADMIN: &str = "ACCOUNTADMIN";
pub const SYSADMIN: &str = "SYSADMIN";
pub const SECURITYADMIN: &str = "SECURITYADMIN";
pub const PUBLIC: &str = "PUBLIC";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS databases (name TEXT PRIMARY KEY, file TEXT NOT NULL, owner TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS warehouses (name TEXT PRIMARY KEY, props TEXT NOT NULL, owner TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS roles (name TEXT PRIMARY KEY, owner TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS role_grants (role TEXT NOT NULL, grantee TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (role, grantee));
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, default_role TEXT, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS user_roles (user TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (user, role));
CREATE TABLE IF NOT EXISTS grants (privilege TEXT NOT NULL, kind TEXT NOT NULL, object TEXT NOT NULL, grantee TEXT NOT NULL,
    granted_by TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (privilege, kind, object, grantee));
CREATE TABLE IF NOT EXISTS integrations (name TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS functions (id TEXT PRIMARY KEY, db TEXT NOT NULL, schema TEXT NOT NULL, name TEXT NOT NULL,
    arg_types TEXT NOT NULL, record TEXT NOT NULL, UNIQUE (db, schema, name, arg_types));
CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, user TEXT NOT NULL, role TEXT NOT NULL, expires INTEGER NOT NULL);
-- Tasks (added later: `IF NOT EXISTS` creates them in older catalogs and touches nothing else).
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, db TEXT NOT NULL, schema TEXT NOT NULL, name TEXT NOT NULL,
    warehouse TEXT, schedule TEXT, definition TEXT NOT NULL, comment TEXT, allow_overlapping INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL, state TEXT NOT NULL, next_time INTEGER, created INTEGER NOT NULL, last_suspended INTEGER,
    UNIQUE (db, schema, name));
CREATE TABLE IF NOT EXISTS task_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, db TEXT NOT NULL,
    schema TEXT NOT NULL, name TEXT NOT NULL, owner TEXT NOT NULL, query_text TEXT NOT NULL, state TEXT NOT NULL,
    error_code TEXT, error_message TEXT, query_id TEXT, scheduled INTEGER NOT NULL, started INTEGER, completed INTEGER,
    run_id INTEGER NOT NULL, scheduled_from TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS task_runs_by_task ON task_runs (task_id, state);
CREATE INDEX IF NOT EXISTS task_runs_by_time ON task_runs (scheduled);
CREATE TABLE IF NOT EXISTS connector_sessions (master_hash TEXT PRIMARY KEY, user TEXT NOT NULL, role TEXT NOT NULL,
    database TEXT, schema TEXT, warehouse TEXT, expires INTEGER NOT NULL);
-- When tables and views were created (DuckDB keeps no such time), by `DB.SCHEMA.NAME`.
CREATE TABLE IF NOT EXISTS created (object TEXT PRIMARY KEY, created INTEGER NOT NULL);
-- Column types as a table's CREATE declared them where DuckDB keeps less (`VARCHAR(10)`,
-- `NUMBER(10,0)`), by `DB.SCHEMA.NAME` and column: what DESCRIBE TABLE shows.
CREATE TABLE IF NOT EXISTS declared_types (object TEXT NOT NULL, col TEXT NOT NULL, type TEXT NOT NULL, PRIMARY KEY (object, col));
-- Users' properties beyond name, password and default role (`alter user ... set`), by name.
-- Named stages and file formats (`kind` STAGE or FILE FORMAT), each a JSON record (stage/objects.rs).
CREATE TABLE IF NOT EXISTS stage_objects (kind TEXT NOT NULL, db TEXT NOT NULL, schema TEXT NOT NULL, name TEXT NOT NULL,
    record TEXT NOT NULL, PRIMARY KEY (kind, db, schema, name));
-- Files `COPY INTO` loaded into a table (`DB.SCHEMA.TABLE`), by stage folder, path and MD5:
-- the same file is not loaded twice unless `FORCE = TRUE`.
CREATE TABLE IF NOT EXISTS stage_loads (tbl TEXT NOT NULL, storage TEXT NOT NULL, path TEXT NOT NULL, md5 TEXT NOT NULL,
    loaded INTEGER NOT NULL, PRIMARY KEY (tbl, storage, path, md5));
CREATE TABLE IF NOT EXISTS user_props (user TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (user, name));
";

pub struct Catalog {
    conn: Mutex<Connection>,
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Catalog {
    pub fn open(path: &Path) -> Result<Catalog, WarehouseError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        // Reads on every request (tokens, grants, roles) reuse their compiled statements.
        conn.set_prepared_statement_cache_capacity(64);
        let cat = Catalog { conn: Mutex::new(conn) };
        cat.tx(|tx| {
            for role in [ACCOUNTADMIN, SECURITYADMIN, SYSADMIN, PUBLIC] {
                tx.execute(
                    "INSERT OR IGNORE INTO roles (name, owner, created) VALUES (?1, ?2, ?3)",
                    params![role, ACCOUNTADMIN, now()],
                )?;
            }
            // Snowflake's system hierarchy: ACCOUNTADMIN inherits SYSADMIN and SECURITYADMIN.
            for role in [SYSADMIN, SECURITYADMIN] {
                tx.execute(
                    "INSERT OR IGNORE INTO role_grants (role, grantee, created) VALUES (?1, ?2, ?3)",
                    params![role, ACCOUNTADMIN, now()],
                )?;
            }
            Ok(())
        })?;
        Ok(cat)
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, WarehouseError>) -> Result<T, WarehouseError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    pub(crate) fn tx<T>(&self, f: impl FnOnce(&Transaction) -> Result<T, WarehouseError>) -> Result<T, WarehouseError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, WarehouseError> {
        self.read(|c| {
            Ok(c.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| r.get(0))
                .optional()?)
        })
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", params![key, value])?;
            Ok(())
        })
    }

    /// Databases as (name, file, owner, created).
    pub fn databases(&self) -> Result<Vec<(String, String, String, i64)>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT name, file, owner, created FROM databases ORDER BY name")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    pub fn put_database(&self, name: &str, file: &str, owner: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO databases (name, file, owner, created) VALUES (?1, ?2, ?3, ?4)",
                params![name, file, owner, now()],
            )?;
            Ok(())
        })
    }

    /// Removes a database and every grant on it and on the objects in it.
    pub fn drop_database(&self, name: &str) -> Result<bool, WarehouseError> {
        self.tx(|tx| {
            tx.execute(
                "DELETE FROM grants WHERE (kind = 'DATABASE' AND object = ?1) OR (kind IN ('SCHEMA', 'TABLE', 'VIEW') AND substr(object, 1, length(?1) + 1) = ?1 || '.')",
                params![name],
            )?;
            Ok(tx.execute("DELETE FROM databases WHERE name = ?1", params![name])? > 0)
        })
    }

    /// Warehouses as (name, props JSON, owner, created).
    pub fn warehouses(&self) -> Result<Vec<(String, String, String, i64)>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT name, props, owner, created FROM warehouses ORDER BY name")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    pub fn put_warehouse(&self, name: &str, props: &str, owner: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO warehouses (name, props, owner, created) VALUES (?1, ?2, ?3, ?4)",
                params![name, props, owner, now()],
            )?;
            Ok(())
        })
    }

    pub fn drop_warehouse(&self, name: &str) -> Result<bool, WarehouseError> {
        self.tx(|tx| Ok(tx.execute("DELETE FROM warehouses WHERE name = ?1", params![name])? > 0))
    }
}
