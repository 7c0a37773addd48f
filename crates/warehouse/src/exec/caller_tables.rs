//! Tables named by text outside SQL (an external function's argument, passed on to a training
//! job), resolved as a statement of the caller would resolve them: against the caller's current
//! database and schema, and checked for what the caller's role may do with them, before anything
//! is started on the caller's behalf.

use crate::catalog::SYSADMIN;
use crate::engine::Warehouse;
use crate::sql::{Ident, ObjectName};
use crate::WarehouseError;

/// What will be done with a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableUse {
    /// Its rows are read (`SELECT`).
    Read,
    /// Its rows are replaced (`DELETE` then `INSERT`).
    Replace,
}

impl Warehouse {
    /// The fully qualified, quoted name (`"DB"."SCHEMA"."TABLE"`, as the catalog spells it) that
    /// `name` resolves to for a caller whose current role, database and schema are given, if the
    /// table exists and the role may `what` it. Without a role the check is made for SYSADMIN,
    /// the role training jobs read and write tables as. Refusals are the errors the same
    /// statement would get: not found (also when the role may not see the table), insufficient
    /// privileges, no current database or schema.
    pub fn table_for_caller(&self, role: Option<&str>, database: Option<&str>, schema: Option<&str>, name: &str, what: TableUse) -> Result<String, WarehouseError> {
        let role = role.unwrap_or(SYSADMIN);
        if !self.catalog().role_exists(role)? {
            return Err(WarehouseError::not_found("Role", role));
        }
        let mut s = self.system_session(role)?;
        s.database = database.map(Ident::quoted);
        s.schema = schema.map(Ident::quoted);
        let (d, sc, n) = ObjectName::parse(name)?.qualify(s.database.as_ref(), s.schema.as_ref())?;
        let (db, schema, table) = s.resolve_table(&d, &sc, &n)?.ok_or_else(|| WarehouseError::not_found("Table", format!("{d}.{sc}.{n}")))?;
        let qualified = ObjectName(vec![Ident::quoted(&db), Ident::quoted(&schema), Ident::quoted(&table)]).sql();
        let statements = match what {
            TableUse::Read => vec![format!("select * from {qualified}")],
            TableUse::Replace => vec![format!("delete from {qualified}"), format!("insert into {qualified} select * from {qualified}")],
        };
        for st in statements {
            let mut ast = crate::sql::front::parse_statement(&st)?;
            crate::sql::translate::fold_identifiers(&mut ast);
            s.check_table_access(&ast)?;
        }
        Ok(qualified)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn warehouse() -> (tempfile::TempDir, Warehouse) {
        let dir = tempfile::tempdir().unwrap();
        let iam = Arc::new(iam::Iam::open(dir.path().join("state.db")).unwrap());
        let wh = Warehouse::open(dir.path(), iam).unwrap().warehouse;
        let mut admin = wh.session("ADMIN", Some("ACCOUNTADMIN")).unwrap();
        admin
            .execute(
                "create database lab; create schema lab.work; create table lab.work.ratings (userid int, movieid int, rating float); \
                 create table lab.work.\"Mixed\" (a int); create table lab.work.secret (a int); \
                 create role reader; grant select on table lab.work.ratings to role reader; grant insert on table lab.work.ratings to role reader",
            )
            .unwrap();
        (dir, wh)
    }

    /// (role, database, schema)
    type Caller<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

    fn table(wh: &Warehouse, c: &Caller, name: &str, what: TableUse) -> Result<String, WarehouseError> {
        wh.table_for_caller(c.0, c.1, c.2, name, what)
    }

    #[test]
    fn unqualified_names_resolve_in_the_callers_schema() {
        let (_d, wh) = warehouse();
        let c = (Some("READER"), Some("LAB"), Some("WORK"));
        assert_eq!(table(&wh, &c, "ratings", TableUse::Read).unwrap(), "\"LAB\".\"WORK\".\"RATINGS\"");
        assert_eq!(table(&wh, &c, "work.Ratings", TableUse::Read).unwrap(), "\"LAB\".\"WORK\".\"RATINGS\"");
        let admin = (None, Some("LAB"), Some("WORK"));
        assert_eq!(table(&wh, &admin, "\"Mixed\"", TableUse::Replace).unwrap(), "\"LAB\".\"WORK\".\"Mixed\"");
    }

    #[test]
    fn missing_unreadable_and_unplaced_tables_are_refused() {
        let (_d, wh) = warehouse();
        let c = (Some("READER"), Some("LAB"), Some("WORK"));
        let e = table(&wh, &c, "nothing_here", TableUse::Read).unwrap_err().to_string();
        assert!(e.contains("LAB.WORK.NOTHING_HERE") && e.contains("does not exist"), "{e}");
        let e = table(&wh, &c, "secret", TableUse::Read).unwrap_err().to_string();
        assert!(e.contains("LAB.WORK.SECRET") && e.contains("not authorized"), "{e}");
        let e = table(&wh, &c, "ratings", TableUse::Replace).unwrap_err().to_string();
        assert!(e.contains("LAB.WORK.RATINGS"), "reader may not delete: {e}");
        let e = table(&wh, &(Some("READER"), None, None), "ratings", TableUse::Read).unwrap_err().to_string();
        assert!(e.contains("current database"), "{e}");
        let e = table(&wh, &(Some("NO_SUCH_ROLE"), Some("LAB"), Some("WORK")), "ratings", TableUse::Read).unwrap_err().to_string();
        assert!(e.contains("NO_SUCH_ROLE"), "{e}");
    }
}
