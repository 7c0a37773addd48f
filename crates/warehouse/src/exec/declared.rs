//! The column types a `CREATE TABLE` declared where the engine keeps less: a `VARCHAR(10)` is
//! the engine's `VARCHAR`, a `NUMBER(10,0)` its `BIGINT`. They are recorded when the statement
//! succeeds and shown by `DESCRIBE TABLE` as Snowflake shows them, while the engine's column
//! still has the type they map to.

use sqlparser::ast as sq;

use super::objects::snowflake_type;
use crate::session::Session;
use crate::sql::translate::name_of;
use crate::sql::ObjectName;
use crate::WarehouseError;

/// What a `CREATE TABLE` declared: its name, the columns whose declared type says more than
/// the engine's, and whether an existing record is kept (`IF NOT EXISTS`).
pub(super) struct Declared {
    name: ObjectName,
    columns: Vec<(String, String)>,
    keep: bool,
}

/// The declared types of a `CREATE TABLE` tree (identifiers folded); none for `CREATE TABLE
/// AS` (which clears an earlier table's record) or a temporary table.
pub(super) fn declared(tree: &sq::Statement) -> Option<Declared> {
    let sq::Statement::CreateTable(ct) = tree else { return None };
    if ct.temporary {
        return None;
    }
    let columns = ct.columns.iter().filter_map(|c| Some((c.name.value.clone(), shown_type(&c.data_type.to_string())?))).collect();
    Some(Declared { name: name_of(&ct.name)?, columns, keep: ct.if_not_exists && !ct.or_replace })
}

/// Snowflake's name of a declared type when it says more than the engine keeps:
/// `VARCHAR(10)`, `STRING(5)`, `CHAR` (length 1) → `VARCHAR(n)`; `NUMBER(10)`, `DECIMAL(12, 0)`
/// → `NUMBER(p,0)`. `None` for the rest (the engine's type says it all).
pub(super) fn shown_type(declared: &str) -> Option<String> {
    let up = declared.to_uppercase();
    let (base, args) = match up.split_once('(') {
        Some((b, rest)) => (b.trim(), rest.trim_end().trim_end_matches(')').split(',').map(|a| a.trim().to_string()).collect::<Vec<_>>()),
        None => (up.trim(), Vec::new()),
    };
    let number = |a: &String| a.parse::<u32>().ok();
    match (base, args.as_slice()) {
        ("VARCHAR" | "STRING" | "TEXT" | "NVARCHAR" | "NVARCHAR2" | "CHAR VARYING" | "CHARACTER VARYING", [n]) => number(n).map(|n| format!("VARCHAR({n})")),
        ("CHAR" | "CHARACTER" | "NCHAR", []) => Some("VARCHAR(1)".into()),
        ("CHAR" | "CHARACTER" | "NCHAR", [n]) => number(n).map(|n| format!("VARCHAR({n})")),
        ("NUMBER" | "NUMERIC" | "DECIMAL", [p]) => number(p).filter(|p| (1..=38).contains(p)).map(|p| format!("NUMBER({p},0)")),
        ("NUMBER" | "NUMERIC" | "DECIMAL", [p, s]) if s == "0" => number(p).filter(|p| (1..=38).contains(p)).map(|p| format!("NUMBER({p},0)")),
        _ => None,
    }
}

/// Whether a declared type (as [`shown_type`] writes it) still describes an engine column type.
pub(super) fn still_holds(shown: &str, duck: &str) -> bool {
    let base = |t: &str| t.split('(').next().unwrap_or(t).to_string();
    base(shown) == base(&snowflake_type(duck))
}

impl Session {
    /// Records what a `CREATE TABLE` that succeeded declared.
    pub(super) fn record_declared(&self, d: Declared) -> Result<(), WarehouseError> {
        let Ok((db, schema, table)) = d.name.qualify(self.database.as_ref(), self.schema.as_ref()) else { return Ok(()) };
        self.wh.catalog().record_declared_types(&format!("{db}.{schema}.{table}"), &d.columns, d.keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_that_say_more_than_the_engine() {
        assert_eq!(shown_type("VARCHAR(10)").as_deref(), Some("VARCHAR(10)"));
        assert_eq!(shown_type("string(5)").as_deref(), Some("VARCHAR(5)"));
        assert_eq!(shown_type("CHAR").as_deref(), Some("VARCHAR(1)"));
        assert_eq!(shown_type("NUMBER(10)").as_deref(), Some("NUMBER(10,0)"));
        assert_eq!(shown_type("DECIMAL(12, 0)").as_deref(), Some("NUMBER(12,0)"));
        for said_by_engine in ["VARCHAR", "NUMBER(10,2)", "INT", "FLOAT", "VARIANT", "NUMBER(99)"] {
            assert_eq!(shown_type(said_by_engine), None, "{said_by_engine}");
        }
    }

    #[test]
    fn a_record_holds_while_the_engine_type_matches() {
        assert!(still_holds("VARCHAR(10)", "VARCHAR"));
        assert!(still_holds("NUMBER(10,0)", "BIGINT"));
        assert!(!still_holds("VARCHAR(10)", "BIGINT"));
    }

    #[test]
    fn create_table_trees_give_their_declared_columns() {
        let mut t = crate::sql::front::parse_statement("create table if not exists d.s.t (a varchar(10), b int, \"c\" number(5))").unwrap();
        crate::sql::translate::fold_identifiers(&mut t);
        let d = declared(&t).unwrap();
        assert_eq!(d.columns, vec![("A".to_string(), "VARCHAR(10)".to_string()), ("c".to_string(), "NUMBER(5,0)".to_string())]);
        assert!(d.keep);
        assert_eq!(d.name, ObjectName::parse("d.s.t").unwrap());
        let t = crate::sql::front::parse_statement("create temporary table t (a varchar(3))").unwrap();
        assert!(declared(&t).is_none());
        let t = crate::sql::front::parse_statement("create or replace table t as select 'x' as a").unwrap();
        assert!(declared(&t).is_some_and(|d| d.columns.is_empty() && !d.keep));
    }
}
