//! Databases (one DuckDB file each), schemas, warehouses, `USE` and `DESCRIBE TABLE`.

use crate::catalog::{ACCOUNTADMIN, SYSADMIN};
use crate::engine::attach;
use crate::result::QueryResult;
use crate::session::Session;
use crate::sql::ast::{CreateOpts, UseKind};
use crate::sql::{literal, Ident, ObjectName};
use crate::WarehouseError;

impl Session {
    fn require_sysadmin(&self, what: &str) -> Result<(), WarehouseError> {
        let roles = self.effective_roles()?;
        if roles.contains(SYSADMIN) || roles.contains(ACCOUNTADMIN) {
            Ok(())
        } else {
            Err(WarehouseError::Insufficient { kind: "account", name: format!("{} ({what})", self.wh.0.account_locator) })
        }
    }

    pub(crate) fn database_exists(&self, name: &Ident) -> Result<bool, WarehouseError> {
        Ok(self.wh.catalog().databases()?.iter().any(|d| d.0 == name.as_str()))
    }

    pub(crate) fn schema_exists(&self, db: &Ident, schema: &Ident) -> Result<bool, WarehouseError> {
        let mut st = self.conn.prepare("SELECT count(*) FROM duckdb_schemas() WHERE database_name = ? AND schema_name = ?")?;
        let n: i64 = st.query_row([db.as_str(), schema.as_str()], |r| r.get(0))?;
        Ok(n > 0)
    }

    pub(crate) fn require_schema(&self, db: &Ident, schema: &Ident) -> Result<(), WarehouseError> {
        if !self.database_exists(db)? {
            return Err(WarehouseError::not_found("Database", db.as_str()));
        }
        if !self.schema_exists(db, schema)? {
            return Err(WarehouseError::not_found("Schema", format!("{db}.{schema}")));
        }
        Ok(())
    }

    pub(super) fn create_database(&mut self, name: Ident, opts: CreateOpts) -> Result<QueryResult, WarehouseError> {
        self.require_sysadmin("CREATE DATABASE")?;
        let exists = self.database_exists(&name)?;
        if exists && !opts.or_replace {
            if opts.if_not_exists {
                return Ok(QueryResult::status(format!("{name} already exists, statement succeeded.")));
            }
            return Err(WarehouseError::AlreadyExists(name.to_string()));
        }
        let (file, path) = self.wh.database_file(&name);
        {
            let root = self.wh.0.root.lock().unwrap_or_else(|p| p.into_inner());
            if exists {
                root.execute_batch(&format!("DETACH {}", name.sql()))?;
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(path.with_extension("duckdb.wal"));
            }
            attach(&root, &name, &path)?;
        }
        self.applied = None;
        if exists {
            self.wh.catalog().drop_tasks_in(name.as_str())?;
        }
        self.wh.catalog().put_database(name.as_str(), &file, &self.role)?;
        self.database = Some(name.clone());
        self.schema = Some(Ident::unquoted("PUBLIC"));
        Ok(QueryResult::status(format!("Database {name} successfully created.")))
    }

    pub(super) fn drop_database(&mut self, name: Ident, if_exists: bool) -> Result<QueryResult, WarehouseError> {
        self.require_sysadmin("DROP DATABASE")?;
        if !self.database_exists(&name)? {
            if if_exists {
                return Ok(QueryResult::status("Drop statement executed successfully."));
            }
            return Err(WarehouseError::not_found("Database", name.as_str()));
        }
        let (_, path) = self.wh.database_file(&name);
        if self.database.as_ref() == Some(&name) {
            self.conn.execute_batch("USE memory.main")?;
            self.database = None;
            self.schema = None;
        }
        self.applied = None;
        self.wh.0.root.lock().unwrap_or_else(|p| p.into_inner()).execute_batch(&format!("DETACH {}", name.sql()))?;
        self.wh.catalog().drop_database(name.as_str())?;
        self.wh.catalog().drop_tasks_in(name.as_str())?;
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(path.with_extension("duckdb.wal"));
        Ok(QueryResult::status(format!("{name} successfully dropped.")))
    }

    pub(super) fn create_schema(&mut self, name: ObjectName, opts: CreateOpts) -> Result<QueryResult, WarehouseError> {
        self.require_sysadmin("CREATE SCHEMA")?;
        let (db, schema) = match name.0.as_slice() {
            [s] => (self.database.clone().ok_or_else(|| WarehouseError::Invalid("This session does not have a current database. Call 'USE DATABASE', or use a qualified name.".into()))?, s.clone()),
            [d, s] => (d.clone(), s.clone()),
            _ => return Err(WarehouseError::Syntax(format!("invalid schema name '{name}'"))),
        };
        if !self.database_exists(&db)? {
            return Err(WarehouseError::not_found("Database", db.as_str()));
        }
        let exists = self.schema_exists(&db, &schema)?;
        if exists && !opts.or_replace {
            if opts.if_not_exists {
                return Ok(QueryResult::status(format!("{schema} already exists, statement succeeded.")));
            }
            return Err(WarehouseError::AlreadyExists(schema.to_string()));
        }
        if exists {
            self.conn.execute_batch(&format!("USE memory.main; DROP SCHEMA {}.{} CASCADE", db.sql(), schema.sql()))?;
            self.applied = None;
        }
        self.conn.execute_batch(&format!("CREATE SCHEMA {}.{}", db.sql(), schema.sql()))?;
        self.database = Some(db);
        self.schema = Some(schema.clone());
        Ok(QueryResult::status(format!("Schema {schema} successfully created.")))
    }

    pub(super) fn create_warehouse(&mut self, name: Ident, opts: CreateOpts, props: Vec<(String, String)>) -> Result<QueryResult, WarehouseError> {
        self.require_sysadmin("CREATE WAREHOUSE")?;
        const KNOWN: [&str; 9] = [
            "WAREHOUSE_SIZE", "AUTO_SUSPEND", "AUTO_RESUME", "INITIALLY_SUSPENDED", "WAREHOUSE_TYPE",
            "MIN_CLUSTER_COUNT", "MAX_CLUSTER_COUNT", "SCALING_POLICY", "COMMENT",
        ];
        if let Some((k, _)) = props.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
            return Err(WarehouseError::Syntax(format!("invalid property '{k}' for warehouse")));
        }
        let exists = self.wh.catalog().warehouses()?.iter().any(|w| w.0 == name.as_str());
        if exists && !opts.or_replace {
            if opts.if_not_exists {
                return Ok(QueryResult::status(format!("{name} already exists, statement succeeded.")));
            }
            return Err(WarehouseError::AlreadyExists(name.to_string()));
        }
        let json: serde_json::Map<String, serde_json::Value> = props.into_iter().map(|(k, v)| (k, v.into())).collect();
        self.wh.catalog().put_warehouse(name.as_str(), &serde_json::Value::Object(json).to_string(), &self.role)?;
        self.warehouse = Some(name.clone());
        Ok(QueryResult::status(format!("Warehouse {name} successfully created.")))
    }

    pub(super) fn drop_warehouse(&mut self, name: Ident, if_exists: bool) -> Result<QueryResult, WarehouseError> {
        self.require_sysadmin("DROP WAREHOUSE")?;
        if !self.wh.catalog().drop_warehouse(name.as_str())? && !if_exists {
            return Err(WarehouseError::not_found("Warehouse", name.as_str()));
        }
        if self.warehouse.as_ref() == Some(&name) {
            self.warehouse = None;
        }
        Ok(QueryResult::status(format!("{name} successfully dropped.")))
    }

    pub(crate) fn use_(&mut self, kind: UseKind, name: ObjectName) -> Result<QueryResult, WarehouseError> {
        match kind {
            UseKind::Role => self.set_role(name.last().as_str())?,
            UseKind::Warehouse => {
                if !self.wh.catalog().warehouses()?.iter().any(|w| w.0 == name.last().as_str()) {
                    return Err(WarehouseError::not_found("Warehouse", name.last().as_str()));
                }
                self.warehouse = Some(name.last().clone());
            }
            UseKind::Database => {
                let db = name.last().clone();
                if !self.database_exists(&db)? {
                    return Err(WarehouseError::not_found("Database", db.as_str()));
                }
                self.database = Some(db);
                self.schema = Some(Ident::unquoted("PUBLIC"));
            }
            UseKind::Schema => {
                let (db, schema) = match name.0.as_slice() {
                    [s] => (self.database.clone().ok_or_else(|| WarehouseError::not_found("Schema", s.as_str()))?, s.clone()),
                    [d, s] => (d.clone(), s.clone()),
                    _ => return Err(WarehouseError::Syntax(format!("invalid schema name '{name}'"))),
                };
                self.require_schema(&db, &schema)?;
                self.database = Some(db);
                self.schema = Some(schema);
            }
        }
        Ok(QueryResult::status("Statement executed successfully."))
    }

    /// Applies the SQL API's `database`, `schema` and `warehouse` fields.
    pub fn use_context(&mut self, database: Option<&str>, schema: Option<&str>, warehouse: Option<&str>) -> Result<(), WarehouseError> {
        if let Some(d) = database.filter(|d| !d.is_empty()) {
            self.use_(UseKind::Database, ObjectName::parse(d)?)?;
        }
        if let Some(s) = schema.filter(|s| !s.is_empty()) {
            self.use_(UseKind::Schema, ObjectName::parse(s)?)?;
        }
        if let Some(w) = warehouse.filter(|w| !w.is_empty()) {
            self.use_(UseKind::Warehouse, ObjectName::parse(w)?)?;
        }
        Ok(())
    }

    pub(super) fn describe_table(&mut self, name: ObjectName) -> Result<QueryResult, WarehouseError> {
        self.require_table_visible(&name)?;
        let (db, schema, table) = name.qualify(self.database.as_ref(), self.schema.as_ref())?;
        let sql = format!(
            "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE database_name = {} AND schema_name = {} AND table_name = {} ORDER BY column_index",
            literal(db.as_str()),
            literal(schema.as_str()),
            literal(table.as_str())
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows: Vec<(String, String, bool)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        if rows.is_empty() {
            return Err(WarehouseError::not_found("Table", format!("{db}.{schema}.{table}")));
        }
        let declared = self.wh.catalog().declared_types(&format!("{db}.{schema}.{table}"))?;
        let rows = rows
            .into_iter()
            .map(|(n, t, null)| {
                let shown = declared.get(&n).filter(|d| super::declared::still_holds(d, &t)).cloned().unwrap_or_else(|| snowflake_type(&t));
                let mut row = vec![Some(n), Some(shown), Some("COLUMN".into()), Some(if null { "Y" } else { "N" }.into()), None, Some("N".into()), Some("N".into())];
                row.extend([None, None, None, None, None]);
                row
            })
            .collect();
        // Snowflake's twelve columns: clients read `comment` by position (SQLAlchemy's reflection).
        Ok(QueryResult::table(
            &["name", "type", "kind", "null?", "default", "primary key", "unique key", "check", "expression", "comment", "policy name", "privacy domain"],
            rows,
        ))
    }
}

/// DuckDB's type name as Snowflake shows it.
pub(crate) fn snowflake_type(duck: &str) -> String {
    match duck {
        "BIGINT" | "INTEGER" | "SMALLINT" | "TINYINT" | "HUGEINT" => "NUMBER(38,0)".into(),
        "DOUBLE" | "FLOAT" => "FLOAT".into(),
        "VARCHAR" => "VARCHAR(16777216)".into(),
        "JSON" => "VARIANT".into(),
        "TIMESTAMP" => "TIMESTAMP_NTZ(9)".into(),
        "TIMESTAMP WITH TIME ZONE" => "TIMESTAMP_TZ(9)".into(),
        "BLOB" => "BINARY".into(),
        d if d.starts_with("DECIMAL") => d.replace("DECIMAL", "NUMBER"),
        other => other.into(),
    }
}
