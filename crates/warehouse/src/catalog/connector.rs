//! The connector protocol's sessions as far as they outlive the process: the master token's
//! digest, who it belongs to, its context and expiry. A restarted server renews such a session
//! into a fresh one (same user, role and context; temp tables and transactions are gone).

use rusqlite::{params, OptionalExtension};

use super::{now, Catalog};
use crate::WarehouseError;

/// A connector session's durable part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSession {
    pub user: String,
    pub role: String,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub warehouse: Option<String>,
    /// Unix seconds.
    pub expires: i64,
}

impl Catalog {
    pub fn put_connector_session(&self, master_hash: &str, s: &SavedSession) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM connector_sessions WHERE expires < ?1", params![now()])?;
            tx.execute(
                "INSERT OR REPLACE INTO connector_sessions (master_hash, user, role, database, schema, warehouse, expires) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![master_hash, s.user, s.role, s.database, s.schema, s.warehouse, s.expires],
            )?;
            Ok(())
        })
    }

    /// The session of a master-token digest, if it has not expired.
    pub fn connector_session(&self, master_hash: &str) -> Result<Option<SavedSession>, WarehouseError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT user, role, database, schema, warehouse, expires FROM connector_sessions WHERE master_hash = ?1 AND expires > ?2",
                params![master_hash, now()],
                |r| Ok(SavedSession { user: r.get(0)?, role: r.get(1)?, database: r.get(2)?, schema: r.get(3)?, warehouse: r.get(4)?, expires: r.get(5)? }),
            )
            .optional()?)
        })
    }

    /// Records a session's context after a statement changed it.
    pub fn update_connector_context(&self, master_hash: &str, s: &SavedSession) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute(
                "UPDATE connector_sessions SET role = ?2, database = ?3, schema = ?4, warehouse = ?5 WHERE master_hash = ?1",
                params![master_hash, s.role, s.database, s.schema, s.warehouse],
            )?;
            Ok(())
        })
    }

    pub fn delete_connector_session(&self, master_hash: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM connector_sessions WHERE master_hash = ?1", params![master_hash])?;
            Ok(())
        })
    }
}
