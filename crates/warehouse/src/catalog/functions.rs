//! External functions, keyed by database, schema, name and argument types.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::Catalog;
use crate::sql::ast::FunctionDef;
use crate::WarehouseError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionRecord {
    /// Unique per creation: names the DuckDB registration.
    pub id: String,
    pub db: String,
    pub schema: String,
    pub name: String,
    pub def: FunctionDef,
    pub owner: String,
    pub created: i64,
}

impl FunctionRecord {
    /// Argument types, e.g. `["VARCHAR", "VARCHAR"]`.
    pub fn arg_types(&self) -> Vec<String> {
        self.def.args.iter().map(|(_, t)| t.clone()).collect()
    }

    /// `DB.SCHEMA.NAME(VARCHAR, VARCHAR)`: the object name grants refer to.
    pub fn object_key(&self) -> String {
        format!("{}.{}.{}({})", self.db, self.schema, self.name, self.arg_types().join(", "))
    }

    /// `(INPUT_TABLE_NAME VARCHAR, ...)` as in `sf-external-function-signature`.
    pub fn signature(&self) -> String {
        let args: Vec<String> = self.def.args.iter().map(|(n, t)| format!("{n} {t}")).collect();
        format!("({})", args.join(", "))
    }
}

impl Catalog {
    pub fn functions_named(&self, db: &str, schema: &str, name: &str) -> Result<Vec<FunctionRecord>, WarehouseError> {
        self.load_functions("db = ?1 AND schema = ?2 AND name = ?3", &[db, schema, name])
    }

    pub fn functions(&self) -> Result<Vec<FunctionRecord>, WarehouseError> {
        self.load_functions("1 = 1", &[])
    }

    /// Every function's name (upper case as stored), for the rewriter's quick check.
    pub fn function_names(&self) -> Result<Vec<String>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT DISTINCT name FROM functions")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn load_functions(&self, filter: &str, args: &[&str]) -> Result<Vec<FunctionRecord>, WarehouseError> {
        let texts: Vec<String> = self.read(|c| {
            let mut st = c.prepare_cached(&format!("SELECT record FROM functions WHERE {filter} ORDER BY db, schema, name"))?;
            let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(|e| WarehouseError::Internal(format!("function record: {e}"))))
            .collect()
    }

    /// Inserts or replaces (same name and argument types) a function.
    pub fn put_function(&self, rec: &FunctionRecord) -> Result<(), WarehouseError> {
        let text = serde_json::to_string(rec).map_err(|e| WarehouseError::Internal(e.to_string()))?;
        let types = rec.arg_types().join(",");
        self.tx(|tx| {
            tx.execute(
                "DELETE FROM functions WHERE db = ?1 AND schema = ?2 AND name = ?3 AND arg_types = ?4",
                params![rec.db, rec.schema, rec.name, types],
            )?;
            tx.execute(
                "INSERT INTO functions (id, db, schema, name, arg_types, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![rec.id, rec.db, rec.schema, rec.name, types, text],
            )?;
            Ok(())
        })
    }

    pub fn drop_function(&self, id: &str) -> Result<bool, WarehouseError> {
        self.tx(|tx| Ok(tx.execute("DELETE FROM functions WHERE id = ?1", params![id])? > 0))
    }
}
