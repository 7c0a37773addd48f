//! Creation times of tables and views (`SHOW TABLES`' `created_on`), which DuckDB does not keep.

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
}
