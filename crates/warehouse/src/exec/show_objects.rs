//! `SHOW VIEWS`, `SHOW COLUMNS` and `SHOW FUNCTIONS` in Snowflake's column layouts, from the
//! engine's catalog, listing only what the current role may see.

use std::collections::{BTreeMap, HashMap};

use super::show::{like, s, ts};
use crate::result::QueryResult;
use crate::session::Session;
use crate::sql::ast::ShowScope;
use crate::sql::types::sf_type_of_duck;
use crate::sql::{literal, Ident, ObjectName};
use crate::WarehouseError;

const VIEW_COLUMNS: [&str; 12] = [
    "created_on", "name", "reserved", "database_name", "schema_name", "owner", "comment", "text", "is_secure", "is_materialized", "owner_role_type", "change_tracking",
];

const COLUMN_COLUMNS: [&str; 12] = [
    "table_name", "schema_name", "column_name", "data_type", "null?", "default", "kind", "expression", "comment", "database_name", "autoincrement", "schema_evolution_record",
];

/// One column as the engine's catalog describes it.
struct EngineColumn {
    db: String,
    schema: String,
    table: String,
    name: String,
    duck_type: String,
    nullable: bool,
    default: Option<String>,
    precision: Option<i64>,
    scale: Option<i64>,
}

impl Session {
    pub(super) fn show_views(&self, pat: &Option<String>, scope: ShowScope) -> Result<QueryResult, WarehouseError> {
        let filter = self.scope_filter(scope)?;
        let sql = format!("SELECT database_name, schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal AND {filter} ORDER BY 1, 2, 3");
        let mut st = self.conn.prepare(&sql)?;
        let views: Vec<(String, String, String, Option<String>)> = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
        let views: Vec<_> = views.into_iter().filter(|(d, sc, v, _)| like(pat, v) && self.may_see_table(d, sc, v)).collect();
        let keys: Vec<String> = views.iter().map(|(d, sc, v, _)| format!("{d}.{sc}.{v}")).collect();
        let created = self.wh.catalog().created_times(&keys)?;
        let rows = views
            .into_iter()
            .zip(&keys)
            .map(|((d, sc, v, text), key)| {
                let when = created.get(key).map(|c| ts(*c)).unwrap_or_default();
                vec![s(when), s(v), s(""), s(d), s(sc), s(""), s(""), text, s("false"), s("false"), s("ROLE"), s("OFF")]
            })
            .collect();
        Ok(QueryResult::table(&VIEW_COLUMNS, rows))
    }

    /// `SHOW COLUMNS`: of one table or view (`table`), else of every one in the scope.
    pub(super) fn show_columns(&self, pat: Option<String>, table: Option<ObjectName>, scope: ShowScope) -> Result<QueryResult, WarehouseError> {
        let filter = match &table {
            Some(t) => {
                self.require_table_visible(t)?;
                let (d, sc, n) = t.qualify(self.database.as_ref(), self.schema.as_ref())?;
                format!("database_name = {} AND schema_name = {} AND table_name = {}", literal(d.as_str()), literal(sc.as_str()), literal(n.as_str()))
            }
            None => self.scope_filter(scope)?,
        };
        let sql = format!(
            "SELECT database_name, schema_name, table_name, column_name, data_type, is_nullable, column_default, numeric_precision, numeric_scale \
             FROM duckdb_columns() WHERE NOT internal AND {filter} ORDER BY database_name, schema_name, table_name, column_index"
        );
        let mut st = self.conn.prepare(&sql)?;
        let columns: Vec<EngineColumn> = st
            .query_map([], |r| {
                Ok(EngineColumn {
                    db: r.get(0)?,
                    schema: r.get(1)?,
                    table: r.get(2)?,
                    name: r.get(3)?,
                    duck_type: r.get(4)?,
                    nullable: r.get(5)?,
                    default: r.get(6)?,
                    precision: r.get(7)?,
                    scale: r.get(8)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut seen: HashMap<(String, String, String), bool> = HashMap::new();
        let mut rows = Vec::new();
        for c in columns {
            if !like(&pat, &c.name) {
                continue;
            }
            let key = (c.db.clone(), c.schema.clone(), c.table.clone());
            let visible = *seen.entry(key).or_insert_with(|| table.is_some() || self.may_see_table(&c.db, &c.schema, &c.table));
            if !visible {
                continue;
            }
            let data_type = column_type_json(&c).to_string();
            rows.push(vec![
                s(&c.table), s(&c.schema), s(&c.name), s(data_type), s(c.nullable.to_string()), c.default.clone().or(s("")), s("COLUMN"), s(""), s(""), s(&c.db), s(""), None,
            ]);
        }
        Ok(QueryResult::table(&COLUMN_COLUMNS, rows))
    }

    /// `SHOW FUNCTIONS`: the built-in functions a statement may call, then the external
    /// functions the role may use (as `SHOW EXTERNAL FUNCTIONS` lists them).
    pub(super) fn show_functions(&mut self, pat: &Option<String>) -> Result<QueryResult, WarehouseError> {
        let mut kinds: HashMap<String, String> = HashMap::new();
        {
            let mut st = self.conn.prepare("SELECT DISTINCT upper(function_name), function_type FROM duckdb_functions()")?;
            for r in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
                let (name, kind) = r?;
                kinds.entry(name).or_insert(kind);
            }
        }
        let mut builtins: BTreeMap<String, &str> = BTreeMap::new();
        for name in builtin_function_names() {
            if like(pat, &name) {
                let kind = kinds.get(&name).map_or("scalar", String::as_str);
                builtins.insert(name, if kind == "aggregate" { "aggregate" } else if kind == "table" { "table" } else { "scalar" });
            }
        }
        let external = self.show(crate::sql::ast::ShowKind::ExternalFunctions, pat.clone(), ShowScope::Default)?;
        let mut rows: Vec<Vec<Option<String>>> = builtins
            .into_iter()
            .map(|(name, kind)| {
                let yn = |b: bool| s(if b { "Y" } else { "N" });
                vec![
                    s(""), s(&name), s(""), s("Y"), yn(kind == "aggregate"), s("N"), s("0"), s("-1"), s(format!("{name}(...)")), s("built-in function"), s(""),
                    yn(kind == "table"), s("N"), s("N"), s("N"), s("SQL"),
                ]
            })
            .collect();
        rows.extend(external.rows);
        let cols: Vec<&str> = external.columns.iter().map(|c| c.name.as_str()).collect();
        Ok(QueryResult::table(&cols, rows))
    }

    /// `SHOW PARAMETERS [LIKE ..] [IN SESSION | ACCOUNT]`: the session parameters
    /// ([`crate::parameters`]), none set at any level.
    pub(super) fn show_parameters(&self, pat: &Option<String>) -> QueryResult {
        let rows = crate::parameters::SESSION_PARAMETERS
            .iter()
            .filter(|p| like(pat, p.name))
            .map(|p| {
                // The one parameter a session sets shows its value and level.
                let (value, level) = match p.name {
                    "USE_CACHED_RESULT" if !self.use_cached_result => ("false", "SESSION"),
                    _ => (p.value, ""),
                };
                vec![s(p.name), s(value), s(p.default), s(level), s(p.description), s(p.kind_name())]
            })
            .collect();
        QueryResult::table(&["key", "value", "default", "level", "description", "type"], rows)
    }

    /// Whether the current role may see table or view `d.sc.n` (some privilege on it).
    fn may_see_table(&self, d: &str, sc: &str, n: &str) -> bool {
        self.require_table_visible(&ObjectName(vec![Ident::quoted(d), Ident::quoted(sc), Ident::quoted(n)])).is_ok()
    }
}

/// The names of the functions a statement may call that recpipe does not define per account:
/// Snowflake's functions recpipe answers or translates, and the engine functions it allows.
fn builtin_function_names() -> Vec<String> {
    use crate::sql::allowlist::{ENGINE_ALLOWED, RECPIPE_FUNCTIONS, SNOWFLAKE_TRANSLATIONS};
    let mut names: Vec<String> = RECPIPE_FUNCTIONS
        .iter()
        .copied()
        .chain(SNOWFLAKE_TRANSLATIONS.iter().map(|(n, _)| *n))
        .chain(crate::sql::functions::SNOWFLAKE_FUNCTIONS.iter().copied())
        .chain(ENGINE_ALLOWED.iter().copied())
        .filter(|n| n.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|n| n.to_ascii_uppercase())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Snowflake's `data_type` of SHOW COLUMNS: the type as JSON, e.g.
/// `{"type":"FIXED","precision":38,"scale":0,"nullable":true}`.
fn column_type_json(c: &EngineColumn) -> serde_json::Value {
    let kind = sf_type_of_duck(&c.duck_type).to_ascii_uppercase();
    let mut v = serde_json::json!({ "type": kind });
    match kind.as_str() {
        "FIXED" => {
            let integer = !c.duck_type.starts_with("DECIMAL");
            v["precision"] = (if integer { 38 } else { c.precision.unwrap_or(38) }).into();
            v["scale"] = (if integer { 0 } else { c.scale.unwrap_or(0) }).into();
        }
        "TEXT" => {
            v["length"] = 16_777_216.into();
            v["byteLength"] = 16_777_216.into();
            v["fixed"] = false.into();
        }
        "TIMESTAMP_NTZ" | "TIMESTAMP_TZ" | "TIME" => {
            v["precision"] = 0.into();
            v["scale"] = 9.into();
        }
        _ => {}
    }
    v["nullable"] = c.nullable.into();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(duck: &str, precision: Option<i64>, scale: Option<i64>) -> EngineColumn {
        EngineColumn { db: "D".into(), schema: "S".into(), table: "T".into(), name: "C".into(), duck_type: duck.into(), nullable: true, default: None, precision, scale }
    }

    #[test]
    fn column_types_are_snowflakes() {
        let int = column_type_json(&col("BIGINT", Some(64), Some(0)));
        assert_eq!(int, serde_json::json!({ "type": "FIXED", "precision": 38, "scale": 0, "nullable": true }));
        assert_eq!(column_type_json(&col("DECIMAL(10,2)", Some(10), Some(2)))["precision"], 10);
        assert_eq!(column_type_json(&col("VARCHAR", None, None))["length"], 16_777_216);
        assert_eq!(column_type_json(&col("JSON", None, None))["type"], "VARIANT");
    }

    #[test]
    fn built_in_functions_are_snowflakes_and_the_allowed_engine_ones() {
        let names = builtin_function_names();
        for f in ["UPPER", "IFF", "FLATTEN", "CURRENT_ROLE"] {
            assert!(names.contains(&f.to_string()), "{f}");
        }
        assert!(!names.iter().any(|n| n == "READ_CSV"), "a refused engine function is listed");
    }
}
