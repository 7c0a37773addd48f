//! The catalog as a role sees it. Snowflake's `INFORMATION_SCHEMA.TABLES`, `COLUMNS`, `VIEWS`
//! and `SCHEMATA` of a database list only the objects the current role holds a privilege on
//! (every object for the system roles and the database's owner); the engine's own catalog
//! views (`duckdb_tables`, `sqlite_master`, `pg_catalog.*`, the other `information_schema`
//! views) are not reachable from a statement at all.

use crate::session::Session;
use crate::sql::{literal, Ident, ObjectName};
use crate::WarehouseError;

/// The `INFORMATION_SCHEMA` views recpipe answers.
const ANSWERED: [&str; 4] = ["TABLES", "COLUMNS", "VIEWS", "SCHEMATA"];

fn is(i: &Ident, name: &str) -> bool {
    i.as_str().eq_ignore_ascii_case(name)
}

/// `[db.]INFORMATION_SCHEMA.<view>`: the database part (if written) and the view.
fn information_schema(name: &ObjectName) -> Option<(Option<&Ident>, &Ident)> {
    match name.0.as_slice() {
        [i, v] if is(i, "INFORMATION_SCHEMA") => Some((None, v)),
        [d, i, v] if is(i, "INFORMATION_SCHEMA") => Some((Some(d), v)),
        _ => None,
    }
}

impl Session {
    /// The subquery standing for `[db.]INFORMATION_SCHEMA.<view>` when recpipe answers that view:
    /// the engine's rows of that database, only those of objects the role may see.
    pub(super) fn catalog_view_sql(&self, name: &ObjectName) -> Result<Option<String>, WarehouseError> {
        let Some((db, view)) = information_schema(name) else { return Ok(None) };
        let view = view.as_str().to_ascii_uppercase();
        if !ANSWERED.contains(&view.as_str()) {
            return Ok(None);
        }
        let db = match db.or(self.database.as_ref()) {
            Some(d) => d.clone(),
            None => {
                return Err(WarehouseError::Invalid(format!(
                    "Cannot perform SELECT. This session does not have a current database. Call 'USE DATABASE', or use a qualified name ({name})."
                )))
            }
        };
        let filter = if view == "SCHEMATA" {
            let list: Vec<String> = self.visible_schemas(&db)?.iter().map(|s| literal(s)).collect();
            if list.is_empty() { "FALSE".to_string() } else { format!("schema_name IN ({})", list.join(", ")) }
        } else {
            let each: Vec<String> = self
                .visible_objects(&db)?
                .iter()
                .map(|(s, t)| format!("(table_schema = {} AND table_name = {})", literal(s), literal(t)))
                .collect();
            if each.is_empty() { "FALSE".to_string() } else { each.join(" OR ") }
        };
        let catalog = if view == "SCHEMATA" { "catalog_name" } else { "table_catalog" };
        // Snowflake's names of the types (`NUMBER`, `TEXT`, `VARIANT`), not the engine's.
        let columns = if view == "COLUMNS" {
            " REPLACE (CASE WHEN data_type IN ('BIGINT', 'INTEGER', 'HUGEINT', 'SMALLINT', 'TINYINT') OR data_type LIKE 'DECIMAL%' THEN 'NUMBER' \
             WHEN data_type = 'VARCHAR' THEN 'TEXT' WHEN data_type IN ('DOUBLE', 'FLOAT', 'REAL') THEN 'FLOAT' WHEN data_type = 'JSON' THEN 'VARIANT' \
             WHEN data_type = 'TIMESTAMP' THEN 'TIMESTAMP_NTZ' WHEN data_type = 'TIMESTAMP WITH TIME ZONE' THEN 'TIMESTAMP_TZ' WHEN data_type = 'BLOB' THEN 'BINARY' \
             ELSE data_type END AS data_type)"
        } else {
            ""
        };
        // Snowflake's COLUMNS has columns the engine's lacks; clients select them by name
        // (SQLAlchemy's reflection): they are there, empty.
        let extra = match view.as_str() {
            "COLUMNS" => r#", column_comment AS "COMMENT", CAST(NULL AS VARCHAR) AS "IDENTITY_ORDERED", CAST(NULL AS VARCHAR) AS "DATA_TYPE_ALIAS""#,
            "TABLES" => r#", table_comment AS "COMMENT""#,
            _ => "",
        };
        Ok(Some(format!(
            "(SELECT *{columns}{extra} FROM system.information_schema.{} WHERE lower({catalog}) = lower({}) AND ({filter}))",
            view.to_ascii_lowercase(),
            literal(db.as_str())
        )))
    }

    /// Whether a name that resolves to no table or view of a database would make the engine
    /// read something else, which no statement may: one of its own catalog views (the
    /// `INFORMATION_SCHEMA` views recpipe answers aside), or a file named like a path (the
    /// engine's replacement scans read `"data.csv"` as a file).
    pub(super) fn reaches_engine_internals(&self, name: &ObjectName) -> Result<bool, WarehouseError> {
        if name.0.iter().any(|p| p.as_str().contains(['.', '/', '\\', ':', '~'])) {
            return Ok(true);
        }
        if let Some((_, view)) = information_schema(name) {
            return Ok(!ANSWERED.iter().any(|a| is(view, a)));
        }
        if name.0.iter().rev().skip(1).any(|q| is(q, "PG_CATALOG")) {
            return Ok(true);
        }
        // The engine finds these by their bare name (its search path holds both schemas).
        if self.internal_views.get().is_none() {
            let mut st = self.conn.prepare("SELECT DISTINCT lower(view_name) FROM duckdb_views() WHERE internal AND schema_name IN ('main', 'pg_catalog')")?;
            let names = st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<std::collections::HashSet<_>, _>>()?;
            let _ = self.internal_views.set(names);
        }
        Ok(self.internal_views.get().is_some_and(|v| v.contains(&name.last().as_str().to_lowercase())))
    }

    /// The tables and views of database `db` the current role may see: (schema, name).
    pub(super) fn visible_objects(&self, db: &Ident) -> Result<Vec<(String, String)>, WarehouseError> {
        let all = self.engine_names(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE lower(database_name) = lower(?1) \
             UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal AND lower(database_name) = lower(?1) ORDER BY 1, 2",
            db,
        )?;
        let mut out = Vec::new();
        for (schema, table) in all {
            let name = ObjectName(vec![db.clone(), Ident::quoted(&schema), Ident::quoted(&table)]);
            match self.require_table_visible(&name) {
                Ok(()) => out.push((schema, table)),
                Err(WarehouseError::NotFound { .. } | WarehouseError::Insufficient { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The schemas of database `db` the current role may see: all of them for a role that sees
    /// the whole database, else those holding an object it may see.
    pub(super) fn visible_schemas(&self, db: &Ident) -> Result<Vec<String>, WarehouseError> {
        let mut schemas: Vec<String> = if self.sees_whole_database(db.as_str())? {
            let sql = "SELECT schema_name, '' FROM duckdb_schemas() WHERE NOT internal AND schema_name <> 'main' AND lower(database_name) = lower(?1)";
            self.engine_names(sql, db)?.into_iter().map(|(s, _)| s).collect()
        } else {
            self.visible_objects(db)?.into_iter().map(|(s, _)| s).collect()
        };
        schemas.sort();
        schemas.dedup();
        Ok(schemas)
    }

    /// Pairs of names the engine's catalog answers for database `db` (`?1`).
    fn engine_names(&self, sql: &str, db: &Ident) -> Result<Vec<(String, String)>, WarehouseError> {
        let mut st = self.conn.prepare(sql)?;
        let rows = st.query_map([db.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
