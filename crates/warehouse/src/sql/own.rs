//! Which statements recpipe answers itself, decided on the syntax tree.
//!
//! [`classify`] parses a statement with `sqlparser` ([`super::front`]) and matches recpipe's own
//! statements on the tree: `USE` (role, warehouse, database, schema, `db[.schema]`),
//! `CREATE [OR REPLACE] DATABASE`, `CREATE SCHEMA`, `DROP DATABASE | WAREHOUSE | ROLE`,
//! `CREATE ROLE`, `GRANT ROLE … TO ROLE | USER`, in [`super::grant`] `GRANT | REVOKE
//! <privileges> ON <table | view | database | schema | warehouse | integration | function>`, in [`super::show`] `SHOW TABLES | VIEWS |
//! COLUMNS | DATABASES | SCHEMAS` and `DESCRIBE [TABLE] t`. A statement of a kind DuckDB runs
//! (queries, DML, table and view DDL, transactions) goes on to [`super::translate`] with its tree.
//!
//! Named fallbacks, read by [`super::parse`] (a cursor over the statement's tokens), one
//! function per statement, each because `sqlparser` 0.64 does not parse it or loses what recpipe
//! needs:
//! - `CREATE | ALTER | DROP | DESCRIBE [API] INTEGRATION`: parsed for other dialects' storage
//!   integrations only, not `API_PROVIDER`, `API_ALLOWED_PREFIXES`, ….
//! - `CREATE [SECURE] EXTERNAL FUNCTION`, `DROP | DESCRIBE [EXTERNAL] FUNCTION f(types)`: no
//!   external functions; a `DROP FUNCTION` tree would lose `EXTERNAL`.
//! - `CREATE | ALTER | DROP | DESCRIBE | EXECUTE TASK`: no tasks (the `AS` statement is kept
//!   verbatim).
//! - `CREATE | ALTER | DESCRIBE USER`: the tree keeps options as generic key/values and has no
//!   `ALTER USER … SET RSA_PUBLIC_KEY` / `UNSET` forms recpipe answers.
//! - `CREATE WAREHOUSE … WITH`: not parsed.
//! - `SHOW WAREHOUSES | ROLES | USERS | INTEGRATIONS | TASKS | GRANTS | PARAMETERS`: parsed as
//!   `SHOW <identifiers>`, losing `LIKE` and `IN`; `SHOW [EXTERNAL | USER] FUNCTIONS`: the tree
//!   loses `EXTERNAL` / `USER`.
//! - `DESCRIBE VIEW v`: not parsed (only `DESCRIBE [TABLE] t`).
//! - `GRANT | REVOKE <privileges> ON …` where the tree has no such object (`TASK`, `API
//!   INTEGRATION`, `EXTERNAL FUNCTION`) or privilege (`CREATE TASK`, `EXECUTE TASK`).
//!
//! A statement neither matches is parsed by `sqlparser` alone: its syntax error is Snowflake's.

use sqlparser::ast::{self as sq, GranteeName, GranteesType, ObjectType, Privileges, SchemaName};

use super::ast::{CreateOpts, Statement, UseKind};
use super::translate::{fold_identifiers, name_of};
use super::{parse_source, ObjectName, SourceStatement};
use crate::WarehouseError;

/// A statement of a script, classified.
#[derive(Debug)]
pub enum Classified {
    /// One recpipe answers itself.
    Own(Statement),
    /// One DuckDB runs after translation: its tree, identifiers folded.
    Duck(Box<sq::Statement>),
}

/// Parses and classifies one statement (see the module docs).
pub fn classify(st: &SourceStatement) -> Result<Classified, WarehouseError> {
    let parsed = super::front::parse_statement(&st.text).map(|mut a| {
        fold_identifiers(&mut a);
        a
    });
    if let Ok(tree) = &parsed {
        if let Some(own) = from_tree(tree) {
            return own.map(Classified::Own);
        }
    }
    match parse_source(st)? {
        Statement::Passthrough => parsed.map(|t| Classified::Duck(Box::new(t))),
        other => Ok(Classified::Own(other)),
    }
}

fn name(n: &sq::ObjectName) -> Result<ObjectName, WarehouseError> {
    name_of(n).ok_or_else(|| WarehouseError::Syntax(format!("invalid name '{n}'")))
}

/// A one-part name (a database, warehouse, role).
fn one(n: &sq::ObjectName) -> Result<super::Ident, WarehouseError> {
    match name(n)?.0.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(WarehouseError::Syntax(format!("invalid name '{n}': one identifier expected"))),
    }
}

/// recpipe's statement for a tree, when it is one recpipe answers itself and reads here.
fn from_tree(t: &sq::Statement) -> Option<Result<Statement, WarehouseError>> {
    let r = match t {
        sq::Statement::Use(u) => match u {
            sq::Use::Role(n) => name(n).map(|name| Statement::Use { kind: UseKind::Role, name }),
            sq::Use::Warehouse(n) => name(n).map(|name| Statement::Use { kind: UseKind::Warehouse, name }),
            sq::Use::Database(n) => name(n).map(|name| Statement::Use { kind: UseKind::Database, name }),
            sq::Use::Schema(n) => name(n).map(|name| Statement::Use { kind: UseKind::Schema, name }),
            // `USE db` or `USE db.schema`.
            sq::Use::Object(n) => name(n).map(|name| {
                let kind = if name.0.len() == 1 { UseKind::Database } else { UseKind::Schema };
                Statement::Use { kind, name }
            }),
            sq::Use::SecondaryRoles(_) => Err(WarehouseError::Unsupported("USE SECONDARY ROLES".into())),
            _ => return None,
        },
        sq::Statement::CreateDatabase { db_name, if_not_exists, or_replace, clone: None, .. } => {
            one(db_name).map(|name| Statement::CreateDatabase { name, opts: CreateOpts { or_replace: *or_replace, if_not_exists: *if_not_exists } })
        }
        sq::Statement::CreateSchema { schema_name: SchemaName::Simple(n), if_not_exists, or_replace, clone: None, .. } => {
            name(n).map(|name| Statement::CreateSchema { name, opts: CreateOpts { or_replace: *or_replace, if_not_exists: *if_not_exists } })
        }
        sq::Statement::Drop { object_type, if_exists, names, .. } if names.len() == 1 => {
            let n = &names[0];
            let if_exists = *if_exists;
            match object_type {
                ObjectType::Database => one(n).map(|name| Statement::DropDatabase { name, if_exists }),
                ObjectType::Role => one(n).map(|name| Statement::DropRole { name, if_exists }),
                ObjectType::Warehouse => one(n).map(|name| Statement::DropWarehouse { name, if_exists }),
                _ => return None,
            }
        }
        sq::Statement::CreateRole(c) if c.names.len() == 1 && c.password.is_none() && c.in_role.is_empty() => {
            one(&c.names[0]).map(|name| Statement::CreateRole { name, opts: CreateOpts { or_replace: false, if_not_exists: c.if_not_exists } })
        }
        sq::Statement::Grant(g) => {
            let Privileges::Actions(actions) = &g.privileges else { return super::grant::from_tree(t) };
            let ([sq::Action::Role { role }], None, [grantee]) = (actions.as_slice(), &g.objects, g.grantees.as_slice()) else { return super::grant::from_tree(t) };
            let Some(GranteeName::ObjectName(to)) = &grantee.name else { return None };
            let (role, to) = match (one(role), one(to)) {
                (Ok(r), Ok(t)) => (r, t),
                (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
            };
            match grantee.grantee_type {
                GranteesType::Role => Ok(Statement::GrantRole { role, to_role: Some(to), to_user: None }),
                GranteesType::User => Ok(Statement::GrantRole { role, to_role: None, to_user: Some(to) }),
                _ => return None,
            }
        }
        _ => return super::show::from_tree(t).or_else(|| super::grant::from_tree(t)),
    };
    Some(r)
}

/// recpipe's own statement for the first statement of `sql`; panics on one DuckDB runs (for
/// the tests of the modules that read recpipe's statements).
#[cfg(test)]
pub(crate) fn own_statement(sql: &str) -> Result<Statement, WarehouseError> {
    match classify(&super::split(sql)?[0])? {
        Classified::Own(s) => Ok(s),
        Classified::Duck(t) => panic!("{sql}: a DuckDB statement {t}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(sql: &str) -> Statement {
        own_statement(sql).unwrap()
    }

    #[test]
    fn own_statements_are_matched_on_the_tree() {
        let n = |s: &str| ObjectName::parse(s).unwrap();
        assert_eq!(own("use role sysadmin"), Statement::Use { kind: UseKind::Role, name: n("sysadmin") });
        assert_eq!(own("use movielens.public"), Statement::Use { kind: UseKind::Schema, name: n("movielens.public") });
        assert_eq!(own("use \"Db\""), Statement::Use { kind: UseKind::Database, name: ObjectName(vec![super::super::Ident::quoted("Db")]) });
        assert!(matches!(own("create or replace database d"), Statement::CreateDatabase { opts: CreateOpts { or_replace: true, .. }, .. }));
        assert!(matches!(own("create schema if not exists d.s"), Statement::CreateSchema { opts: CreateOpts { if_not_exists: true, .. }, .. }));
        assert!(matches!(own("drop role if exists r"), Statement::DropRole { if_exists: true, .. }));
        assert_eq!(own("drop warehouse if exists \"Wh\""), Statement::DropWarehouse { name: super::super::Ident::quoted("Wh"), if_exists: true });
        assert!(matches!(own("grant role analyst to user bob"), Statement::GrantRole { to_user: Some(_), .. }));
        // Named fallbacks.
        assert!(matches!(own("create or replace api integration i api_provider = aws_api_gateway api_aws_role_arn = 'a' api_allowed_prefixes = ('https://x/')"), Statement::CreateIntegration { .. }));
        assert!(matches!(own("execute task t"), Statement::ExecuteTask(_)));
        assert!(matches!(own("show tables"), Statement::Show { .. }));
    }

    #[test]
    fn the_rest_goes_to_duckdb_or_is_a_syntax_error() {
        let sts = super::super::split("select 1; selec 1").unwrap();
        assert!(matches!(classify(&sts[0]).unwrap(), Classified::Duck(_)));
        assert_eq!(classify(&sts[1]).unwrap_err().wire().code, "001003");
    }
}
