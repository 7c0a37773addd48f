//! Creation times of tables and views (`SHOW TABLES`' `created_on`) and the column types a
//! table was declared with, which DuckDB does not keep.

use std::collections::HashMap;

use rusqlite::params;

use super::{now, Catalog};
use crate::WarehouseError;

impl Catalog {
    /// Records that `object` (`DB.SCHEMA.NAME`) was created now; `keep` leaves an earlier record
    /// (`CREATE ... IF NOT EXISTS` of an existing object).
    pub fn record_created(&self, object: &str, keep: bool) -> Result<(), WarehouseError> {
        let sql = if keep {
            "INSERT OR IGNORE INTO created (object, created) VALUES (?1, ?2)"
        } else {
            "INSERT OR REPLACE INTO created (object, created) VALUES (?1, ?2)"
        };
        self.tx(|tx| {
            tx.execute(sql, params![object, now()])?;
            Ok(())
        })
    }

    /// Creation times of `objects`; one without a record (made before times were kept, or by a
    /// rename) is recorded as created now, so it keeps one time from then on.
    pub fn created_times(&self, objects: &[String]) -> Result<HashMap<String, i64>, WarehouseError> {
        self.tx(|tx| {
            let t = now();
            let mut out = HashMap::new();
            for o in objects {
                tx.execute("INSERT OR IGNORE INTO created (object, created) VALUES (?1, ?2)", params![o, t])?;
                let c: i64 = tx.query_row("SELECT created FROM created WHERE object = ?1", params![o], |r| r.get(0))?;
                out.insert(o.clone(), c);
            }
            Ok(out)
        })
    }

    /// Records the declared types of `object`'s columns (`(column, type)`), replacing any
    /// earlier record; `keep` leaves an earlier record (`CREATE ... IF NOT EXISTS`).
    pub fn record_declared_types(&self, object: &str, columns: &[(String, String)], keep: bool) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            let known: i64 = tx.query_row("SELECT count(*) FROM declared_types WHERE object = ?1", params![object], |r| r.get(0))?;
            if keep && known > 0 {
                return Ok(());
            }
            tx.execute("DELETE FROM declared_types WHERE object = ?1", params![object])?;
            for (col, ty) in columns {
                tx.execute("INSERT OR REPLACE INTO declared_types (object, col, type) VALUES (?1, ?2, ?3)", params![object, col, ty])?;
            }
            Ok(())
        })
    }

    /// The declared column types of `object`, by column.
    pub fn declared_types(&self, object: &str) -> Result<HashMap<String, String>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare("SELECT col, type FROM declared_types WHERE object = ?1")?;
            let rows = st.query_map(params![object], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
