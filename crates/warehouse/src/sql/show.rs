//! `SHOW` and `DESCRIBE` statements read from the syntax tree: `SHOW TABLES | VIEWS | COLUMNS |
//! DATABASES | SCHEMAS` with `LIKE` and `IN` scopes, `DESCRIBE [TABLE] t`. The other `SHOW`s
//! are named fallbacks (see [`super::own`]).

use sqlparser::ast::{self as sq, ShowStatementFilter as Filter, ShowStatementFilterPosition as At, ShowStatementInParentType as Parent};

use super::ast::{ShowKind, ShowScope, Statement};
use super::translate::name_of;
use super::ObjectName;
use crate::WarehouseError;

/// recpipe's statement for a `SHOW` or `DESCRIBE` tree, `None` for any other tree.
pub(super) fn from_tree(t: &sq::Statement) -> Option<Result<Statement, WarehouseError>> {
    let show = |kind: ShowKind, o: &sq::ShowStatementOptions| -> Result<Statement, WarehouseError> {
        let (like, scope, table) = options(o, &format!("{kind:?}"))?;
        if table.is_some() {
            return Err(WarehouseError::Unsupported(format!("SHOW {} IN TABLE", format!("{kind:?}").to_uppercase())));
        }
        Ok(Statement::Show { kind, like, scope })
    };
    Some(match t {
        sq::Statement::ShowTables { history: false, extended: false, full: false, external: false, show_options, .. } => show(ShowKind::Tables, show_options),
        sq::Statement::ShowViews { materialized: false, show_options, .. } => show(ShowKind::Views, show_options),
        sq::Statement::ShowDatabases { history: false, show_options, .. } => show(ShowKind::Databases, show_options),
        sq::Statement::ShowSchemas { history: false, show_options, .. } => show(ShowKind::Schemas, show_options),
        sq::Statement::ShowColumns { extended: false, full: false, show_options } => {
            options(show_options, "COLUMNS").map(|(like, scope, table)| Statement::ShowColumns { like, table, scope })
        }
        sq::Statement::ShowTables { .. } | sq::Statement::ShowDatabases { .. } | sq::Statement::ShowSchemas { .. } => {
            Err(WarehouseError::Unsupported("SHOW ... HISTORY".into()))
        }
        sq::Statement::ShowViews { .. } => Err(WarehouseError::Unsupported("SHOW MATERIALIZED VIEWS".into())),
        sq::Statement::ShowObjects(_) => Err(WarehouseError::Unsupported("SHOW OBJECTS".into())),
        sq::Statement::ExplainTable { describe_alias: sq::DescribeAlias::Describe | sq::DescribeAlias::Desc, hive_format: None, table_name, .. } => {
            name(table_name).map(Statement::DescribeTable)
        }
        _ => return None,
    })
}

fn name(n: &sq::ObjectName) -> Result<ObjectName, WarehouseError> {
    name_of(n).ok_or_else(|| WarehouseError::Syntax(format!("invalid name '{n}'")))
}

/// The `LIKE` pattern, the scope, and the table of `IN TABLE t` (or `IN VIEW v`; for `SHOW
/// COLUMNS` a bare `IN t` names a table too).
fn options(o: &sq::ShowStatementOptions, what: &str) -> Result<(Option<String>, ShowScope, Option<ObjectName>), WarehouseError> {
    let what = what.to_uppercase();
    if o.starts_with.is_some() || o.limit.is_some() || o.limit_from.is_some() {
        return Err(WarehouseError::Unsupported(format!("SHOW {what} ... STARTS WITH | LIMIT")));
    }
    let like = match &o.filter_position {
        None => None,
        Some(At::Infix(f) | At::Suffix(f)) => match f {
            // SHOW's LIKE ignores case already.
            Filter::Like(p) | Filter::ILike(p) => Some(p.clone()),
            Filter::Where(_) | Filter::NoKeyword(_) => return Err(WarehouseError::Syntax(format!("SHOW {what} takes LIKE '<pattern>', not '{f}'"))),
        },
    };
    let Some(inn) = &o.show_in else { return Ok((like, ShowScope::Default, None)) };
    let n = inn.parent_name.as_ref().map(name).transpose()?;
    let scope = match (&inn.parent_type, n) {
        (Some(Parent::Account), None) => ShowScope::Account,
        (Some(Parent::Database), None) => ShowScope::Default,
        (Some(Parent::Database), Some(n)) => match <[_; 1]>::try_from(n.0) {
            Ok([d]) => ShowScope::Database(d),
            Err(_) => return Err(WarehouseError::Syntax(format!("SHOW {what} IN DATABASE takes a database name"))),
        },
        (Some(Parent::Schema), None) => return Err(WarehouseError::Unsupported(format!("SHOW {what} IN SCHEMA without a name"))),
        (Some(Parent::Schema), Some(n)) if n.0.len() <= 2 => ShowScope::Schema(n),
        (Some(Parent::Table | Parent::View), Some(n)) => return Ok((like, ShowScope::Default, Some(n))),
        (None, Some(n)) if what == "COLUMNS" => return Ok((like, ShowScope::Default, Some(n))),
        (None, Some(n)) if n.0.len() == 1 => ShowScope::Database(n.0[0].clone()),
        (None, Some(n)) if n.0.len() == 2 => ShowScope::Schema(n),
        (parent, n) => {
            let n = n.map(|n| n.to_string()).unwrap_or_default();
            return Err(WarehouseError::Syntax(format!("SHOW {what} IN {} {n}: expected ACCOUNT, DATABASE <db>, SCHEMA <db.schema> or TABLE <t>", parent.as_ref().map(|p| p.to_string()).unwrap_or_default())));
        }
    };
    Ok((like, scope, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::own::own_statement as own;

    fn n(s: &str) -> ObjectName {
        ObjectName::parse(s).unwrap()
    }

    #[test]
    fn show_kinds_likes_and_scopes() {
        assert_eq!(own("show tables").unwrap(), Statement::Show { kind: ShowKind::Tables, like: None, scope: ShowScope::Default });
        assert_eq!(own("show terse tables like 'C_%' in schema d.s").unwrap(), Statement::Show { kind: ShowKind::Tables, like: Some("C_%".into()), scope: ShowScope::Schema(n("d.s")) });
        assert_eq!(own("show views in account").unwrap(), Statement::Show { kind: ShowKind::Views, like: None, scope: ShowScope::Account });
        assert_eq!(own("show schemas in database movielens").unwrap(), Statement::Show { kind: ShowKind::Schemas, like: None, scope: ShowScope::Database(n("movielens").0[0].clone()) });
        assert_eq!(own("show databases like 'M%'").unwrap(), Statement::Show { kind: ShowKind::Databases, like: Some("M%".into()), scope: ShowScope::Default });
        assert_eq!(own("show tables in \"Db\".s").unwrap(), Statement::Show { kind: ShowKind::Tables, like: None, scope: ShowScope::Schema(n("\"Db\".s")) });
        assert_eq!(own("show columns in table c_cols").unwrap(), Statement::ShowColumns { like: None, table: Some(n("c_cols")), scope: ShowScope::Default });
        assert_eq!(own("show columns in d.s.t").unwrap(), Statement::ShowColumns { like: None, table: Some(n("d.s.t")), scope: ShowScope::Default });
        assert_eq!(own("show columns like 'ID' in schema s").unwrap(), Statement::ShowColumns { like: Some("ID".into()), table: None, scope: ShowScope::Schema(n("s")) });
    }

    #[test]
    fn show_forms_recpipe_does_not_answer_are_named() {
        for (sql, code) in [("show tables history", "002040"), ("show materialized views", "002040"), ("show tables limit 3", "002040"), ("show tables in schema", "002040"), ("show tables in table t", "002040")] {
            assert_eq!(own(sql).unwrap_err().wire().code, code, "{sql}");
        }
    }

    #[test]
    fn describe_is_read_from_the_tree() {
        assert_eq!(own("describe table d.s.t").unwrap(), Statement::DescribeTable(n("d.s.t")));
        assert_eq!(own("desc t").unwrap(), Statement::DescribeTable(n("t")));
    }
}
