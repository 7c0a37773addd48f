//! Named stages and file formats: permanent ones in the catalog (`stage_objects`), temporary ones
//! in the session that made them (gone, with their files, when it ends). A stage belongs to a
//! schema and is owned by the role that created it; the user's stage (`@~`) is the user's alone,
//! a table's stage (`@%t`) follows the table's privileges.

use std::collections::HashMap;
use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::files::StageDir;
use super::syntax::{OptValue, StageKind, StageRef};
use crate::catalog::{now, ACCOUNTADMIN, SYSADMIN};
use crate::session::Session;
use crate::sql::{Ident, ObjectName};
use crate::WarehouseError;

pub(crate) const STAGE: &str = "STAGE";
pub(crate) const FILE_FORMAT: &str = "FILE FORMAT";

/// A stage or a file format.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StageObject {
    pub kind: String,
    pub db: String,
    pub schema: String,
    pub name: String,
    /// Where a stage's files live (see [`StageDir`]); empty for a file format.
    pub id: String,
    pub owner: String,
    pub options: Vec<(String, OptValue)>,
    pub created: i64,
    pub temporary: bool,
    pub comment: Option<String>,
}

impl StageObject {
    pub fn key(&self) -> String {
        format!("{}.{}.{}", self.db, self.schema, self.name)
    }

    /// An external stage's `URL = '...'`.
    pub fn external(&self) -> Option<&str> {
        super::syntax::opt(&self.options, "URL").and_then(|v| v.text())
    }
}

/// A session's temporary stages and file formats; dropping it removes their files.
#[derive(Default)]
pub(crate) struct TempObjects {
    objects: HashMap<(String, String), StageObject>,
    dirs: HashMap<String, PathBuf>,
}

impl Drop for TempObjects {
    fn drop(&mut self) {
        for dir in self.dirs.values() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// What a statement does with a stage's files, and so the privilege it needs: `LIST`, `GET`,
/// `COPY INTO <table>`, `SELECT ... FROM @stage` and `INFER_SCHEMA` read; `PUT`, `REMOVE` and
/// `COPY INTO @stage` write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// A stage reference resolved to its folder and what `LIST` shows before each path.
pub(crate) struct Resolved {
    pub dir: StageDir,
    /// The storage id (the folder's name, and the "bucket" clients upload to).
    pub storage: String,
    /// `my_stage/` for a named stage, empty for `@~` and `@%t` (as Snowflake's LIST shows).
    pub shown_prefix: String,
    pub path: String,
    /// The stage's own `FILE_FORMAT = (...)`.
    pub format: Vec<(String, OptValue)>,
}

fn sql_err(e: rusqlite::Error) -> WarehouseError {
    e.into()
}

impl Session {
    fn temp_objects(&mut self) -> &mut TempObjects {
        &mut self.stage_objects
    }

    /// The catalog spelling of database and schema `d.s`, when both exist.
    pub(crate) fn schema_spelling(&self, d: &Ident, s: &Ident) -> Result<Option<(String, String)>, WarehouseError> {
        let mut st = self.conn.prepare(
            "SELECT database_name, schema_name FROM duckdb_schemas() WHERE lower(database_name) = lower(?1) AND lower(schema_name) = lower(?2) LIMIT 1",
        )?;
        let mut rows = st.query([d.as_str(), s.as_str()])?;
        Ok(match rows.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?)),
            None => None,
        })
    }

    /// `(db, schema, name)` of a stage or file-format name in this session's context; the schema must exist.
    fn object_key(&self, name: &ObjectName, kind: &str) -> Result<(String, String, String), WarehouseError> {
        let (d, s, n) = name.qualify(self.database.as_ref(), self.schema.as_ref())?;
        let Some((db, schema)) = self.schema_spelling(&d, &s)? else {
            return Err(WarehouseError::not_found("Schema", format!("{d}.{s}")));
        };
        let _ = kind;
        Ok((db, schema, n.as_str().to_string()))
    }

    pub(crate) fn find_object(&self, kind: &str, name: &ObjectName) -> Result<Option<StageObject>, WarehouseError> {
        let (db, schema, n) = self.object_key(name, kind)?;
        if let Some(o) = self.stage_objects.objects.get(&(kind.to_string(), format!("{db}.{schema}.{n}"))) {
            return Ok(Some(o.clone()));
        }
        self.wh.catalog().read(|c| {
            let rec: Option<String> = c
                .query_row(
                    "SELECT record FROM stage_objects WHERE kind = ?1 AND db = ?2 AND schema = ?3 AND name = ?4",
                    params![kind, db, schema, n],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            rec.map(|r| serde_json::from_str(&r).map_err(|e| WarehouseError::Internal(format!("stage record: {e}")))).transpose()
        })
    }

    /// Whether the current role owns `o` (or may act as its owner): the owner role, a system
    /// role, or the owner of its database. Only an owner drops or replaces it.
    fn owns(&self, o: &StageObject) -> Result<bool, WarehouseError> {
        let roles = self.effective_roles()?;
        if roles.contains(&o.owner) || roles.contains(ACCOUNTADMIN) || roles.contains(SYSADMIN) {
            return Ok(true);
        }
        Ok(self.wh.catalog().databases()?.into_iter().any(|d| d.0 == o.db && roles.contains(&d.2)))
    }

    /// Whether the current role holds `privilege` on `o` (or owns it).
    fn holds(&self, o: &StageObject, privilege: &str) -> Result<bool, WarehouseError> {
        if self.owns(o)? {
            return Ok(true);
        }
        let kind = if o.kind == STAGE { "STAGE" } else { "FILE_FORMAT" };
        self.wh.catalog().has_privilege(&self.effective_roles()?, privilege, kind, &o.key())
    }

    /// Whether the current role may see `o` at all: it owns it or holds any privilege on it.
    fn may_see(&self, o: &StageObject) -> Result<bool, WarehouseError> {
        let privileges: &[&str] = if o.kind == STAGE { &["USAGE", "READ", "WRITE"] } else { &["USAGE"] };
        for p in privileges {
            if self.holds(o, p)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A stage or file format the current role may see, or "does not exist or not authorized".
    pub(crate) fn usable_object(&self, kind: &str, name: &ObjectName) -> Result<StageObject, WarehouseError> {
        let shown = if kind == STAGE { "Stage" } else { "File format" };
        let missing = || -> Result<WarehouseError, WarehouseError> {
            let (db, schema, n) = self.object_key(name, kind)?;
            Ok(WarehouseError::not_found(shown, format!("{db}.{schema}.{n}")))
        };
        match self.find_object(kind, name)? {
            Some(o) if self.may_see(&o)? => Ok(o),
            _ => Err(missing()?),
        }
    }

    /// A named stage the current role may read or write: a role with no privilege on it is told
    /// it does not exist (002003), one with another privilege that it may not (003001).
    /// Internal stages take READ and WRITE; external ones USAGE for both.
    pub(crate) fn stage_for(&self, name: &ObjectName, access: Access) -> Result<StageObject, WarehouseError> {
        let o = self.usable_object(STAGE, name)?;
        let privilege = match (o.external().is_some(), access) {
            (true, _) => "USAGE",
            (false, Access::Read) => "READ",
            (false, Access::Write) => "WRITE",
        };
        if !self.holds(&o, privilege)? {
            return Err(WarehouseError::Insufficient { kind: "stage", name: o.key() });
        }
        Ok(o)
    }

    /// `CREATE [OR REPLACE] [TEMPORARY] STAGE|FILE FORMAT [IF NOT EXISTS] name options`.
    pub(crate) fn create_object(
        &mut self,
        kind: &str,
        name: &ObjectName,
        replace: bool,
        if_not_exists: bool,
        temporary: bool,
        options: Vec<(String, OptValue)>,
    ) -> Result<String, WarehouseError> {
        let (db, schema, n) = self.object_key(name, kind)?;
        self.require_create_in_schema(kind, &db, &schema)?;
        if let Some(old) = self.find_object(kind, name)? {
            if if_not_exists {
                return Ok(format!("{} already exists, statement succeeded.", n));
            }
            if !replace {
                return Err(WarehouseError::AlreadyExists(n));
            }
            if !self.owns(&old)? {
                return Err(WarehouseError::Insufficient { kind: if kind == STAGE { "stage" } else { "file format" }, name: old.key() });
            }
            self.forget_object(&old)?;
        }
        let comment = super::syntax::opt(&options, "COMMENT").and_then(|v| v.text()).map(str::to_string);
        let id = if kind == STAGE { format!("{}{}", if temporary { "tmp" } else { "st" }, crate::random::hex_id(16)) } else { String::new() };
        let o = StageObject {
            kind: kind.to_string(),
            db,
            schema,
            name: n.clone(),
            id,
            owner: self.role.clone(),
            options,
            created: now(),
            temporary,
            comment,
        };
        if temporary {
            if kind == STAGE {
                let dir = StageDir::open(&self.wh, &o.id)?.root().to_path_buf();
                self.temp_objects().dirs.insert(o.id.clone(), dir);
            }
            self.temp_objects().objects.insert((kind.to_string(), o.key()), o);
        } else {
            let record = serde_json::to_string(&o).map_err(|e| WarehouseError::Internal(format!("stage record: {e}")))?;
            self.wh.catalog().tx(|tx| {
                tx.execute(
                    "INSERT INTO stage_objects (kind, db, schema, name, record) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![kind, o.db, o.schema, o.name, record],
                )?;
                Ok(())
            })?;
        }
        Ok(if kind == STAGE { format!("Stage area {n} successfully created.") } else { format!("File format {n} successfully created.") })
    }

    /// Removes a stage or file format (and a stage's files).
    fn forget_object(&mut self, o: &StageObject) -> Result<(), WarehouseError> {
        if o.temporary {
            self.temp_objects().objects.remove(&(o.kind.clone(), o.key()));
            self.temp_objects().dirs.remove(&o.id);
        } else {
            self.wh.catalog().tx(|tx| {
                tx.execute(
                    "DELETE FROM stage_objects WHERE kind = ?1 AND db = ?2 AND schema = ?3 AND name = ?4",
                    params![o.kind, o.db, o.schema, o.name],
                )?;
                Ok(())
            })?;
        }
        let kind = if o.kind == STAGE { "STAGE" } else { "FILE_FORMAT" };
        self.wh.catalog().forget_object(kind, &o.key())?;
        if !o.id.is_empty() {
            StageDir::open(&self.wh, &o.id)?.remove_all();
        }
        Ok(())
    }

    pub(crate) fn drop_object(&mut self, kind: &str, name: &ObjectName, if_exists: bool) -> Result<String, WarehouseError> {
        let found = self.find_object(kind, name)?;
        let o = match found {
            Some(o) if self.owns(&o)? => o,
            Some(o) if self.may_see(&o)? => return Err(WarehouseError::Insufficient { kind: if kind == STAGE { "stage" } else { "file format" }, name: o.key() }),
            _ if if_exists => return Ok(format!("Drop statement executed successfully ({} already dropped).", name.last())),
            _ => return Err(self.usable_object(kind, name).err().unwrap_or_else(|| WarehouseError::not_found("Stage", name.to_string()))),
        };
        self.forget_object(&o)?;
        Ok(format!("{} successfully dropped.", o.name))
    }

    /// Stages (or file formats) of one schema, or of the current database, that the role may use.
    pub(crate) fn list_objects(&self, kind: &str) -> Result<Vec<StageObject>, WarehouseError> {
        let mut all: Vec<StageObject> = self.wh.catalog().read(|c| {
            let mut st = c.prepare("SELECT record FROM stage_objects WHERE kind = ?1 ORDER BY db, schema, name").map_err(sql_err)?;
            let rows = st.query_map(params![kind], |r| r.get::<_, String>(0)).map_err(sql_err)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(serde_json::from_str(&r.map_err(sql_err)?).map_err(|e| WarehouseError::Internal(format!("stage record: {e}")))?);
            }
            Ok(out)
        })?;
        all.extend(self.stage_objects.objects.values().filter(|o| o.kind == kind).cloned());
        let mut out = Vec::new();
        for o in all {
            if self.may_see(&o)? {
                out.push(o);
            }
        }
        out.sort_by(|a, b| a.key().cmp(&b.key()));
        Ok(out)
    }

    fn require_create_in_schema(&self, kind: &str, db: &str, schema: &str) -> Result<(), WarehouseError> {
        let roles = self.effective_roles()?;
        if roles.contains(ACCOUNTADMIN) || roles.contains(SYSADMIN) {
            return Ok(());
        }
        if self.wh.catalog().databases()?.into_iter().any(|d| d.0 == db && roles.contains(&d.2)) {
            return Ok(());
        }
        let key = format!("{db}.{schema}");
        if self.wh.catalog().has_privilege(&roles, &format!("CREATE {kind}"), "SCHEMA", &key)? {
            return Ok(());
        }
        Err(WarehouseError::Insufficient { kind: "schema", name: key })
    }

    /// Resolves a stage reference to its folder, checking the current role may read or write it.
    pub(crate) fn resolve_stage(&mut self, r: &StageRef, access: Access) -> Result<Resolved, WarehouseError> {
        match &r.kind {
            StageKind::User => {
                let storage = format!("user{}", hex::encode(self.user.as_bytes()));
                Ok(Resolved { dir: StageDir::open(&self.wh, &storage)?, storage, shown_prefix: String::new(), path: r.path.clone(), format: Vec::new() })
            }
            StageKind::Table(name) => {
                let (d, s, n) = name.qualify(self.database.as_ref(), self.schema.as_ref())?;
                let Some((db, schema, table)) = self.table_spelling(&d, &s, &n)? else {
                    return Err(WarehouseError::not_found("Table", format!("{d}.{s}.{n}")));
                };
                self.require_insert(&ObjectName(vec![Ident::quoted(&db), Ident::quoted(&schema), Ident::quoted(&table)]))?;
                let storage = format!("table{}", hex::encode(format!("{db}.{schema}.{table}")));
                Ok(Resolved { dir: StageDir::open(&self.wh, &storage)?, storage, shown_prefix: String::new(), path: r.path.clone(), format: Vec::new() })
            }
            StageKind::Named(name) => {
                let o = self.stage_for(name, access)?;
                let format = match super::syntax::opt(&o.options, "FILE_FORMAT") {
                    Some(OptValue::Group(g)) => g.clone(),
                    _ => Vec::new(),
                };
                Ok(Resolved {
                    dir: StageDir::open(&self.wh, &o.id)?,
                    storage: o.id.clone(),
                    shown_prefix: format!("{}/", o.name.to_lowercase()),
                    path: r.path.clone(),
                    format,
                })
            }
        }
    }

    /// The catalog spelling of table `d.s.n` when it exists.
    pub(crate) fn table_spelling(&self, d: &Ident, s: &Ident, n: &Ident) -> Result<Option<(String, String, String)>, WarehouseError> {
        let mut st = self.conn.prepare(
            "SELECT database_name, schema_name, table_name FROM duckdb_tables() WHERE lower(database_name) = lower(?1) AND lower(schema_name) = lower(?2) AND lower(table_name) = lower(?3) LIMIT 1",
        )?;
        let mut rows = st.query([d.as_str(), s.as_str(), n.as_str()])?;
        Ok(match rows.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
            None => None,
        })
    }
}
