//! `GRANT | REVOKE <privileges> ON <object> TO | FROM [ROLE] r` read from the syntax tree, for
//! the objects the tree names: tables, views, databases, schemas, warehouses, integrations and
//! functions with their argument types. (`ON TASK`, `ON API INTEGRATION`, `ON EXTERNAL
//! FUNCTION` and the privileges `CREATE TASK` / `EXECUTE TASK`, which the parser does not
//! take, are the named fallback in [`super::parse`].)

use sqlparser::ast::{self as sq, GrantObjects, GranteeName, GranteesType, Privileges};

use super::ast::{GrantTarget, Statement};
use super::translate::name_of;
use super::{Ident, ObjectName};
use crate::WarehouseError;

/// recpipe's statement for a privilege grant or revoke on the tree; `None` for other trees
/// (a `GRANT ROLE` is read in [`super::own`]).
pub(super) fn from_tree(t: &sq::Statement) -> Option<Result<Statement, WarehouseError>> {
    match t {
        sq::Statement::Grant(g) if g.objects.is_some() => {
            let extra = g.as_grantor.is_some() || g.granted_by.is_some();
            let read = read(&g.privileges, g.objects.as_ref(), &g.grantees, extra).and_then(|(mut target, role)| {
                // `{REVOKE | COPY} CURRENT GRANTS` belongs to an ownership transfer alone.
                if let Some(kind) = &g.current_grants {
                    if target.privileges != ["OWNERSHIP"] {
                        return Err(WarehouseError::Syntax(format!("{kind} is said of GRANT OWNERSHIP only")));
                    }
                    target.revoke_current_grants = matches!(kind, sq::CurrentGrantsKind::RevokeCurrentGrants);
                }
                Ok(Statement::Grant { target, role })
            });
            Some(read)
        }
        sq::Statement::Revoke(r) if r.objects.is_some() => {
            let extra = r.grant_option_for || r.granted_by.is_some();
            Some(read(&r.privileges, r.objects.as_ref(), &r.grantees, extra).map(|(target, role)| Statement::Revoke { target, role }))
        }
        _ => None,
    }
}

fn unsupported(what: &str) -> WarehouseError {
    WarehouseError::Unsupported(what.to_string())
}

fn name(n: &sq::ObjectName) -> Result<ObjectName, WarehouseError> {
    name_of(n).ok_or_else(|| WarehouseError::Syntax(format!("invalid name '{n}'")))
}

fn read(privileges: &Privileges, objects: Option<&GrantObjects>, grantees: &[sq::Grantee], extra: bool) -> Result<(GrantTarget, Ident), WarehouseError> {
    if extra {
        return Err(unsupported("GRANT ... GRANTED BY / REVOKE GRANT OPTION FOR"));
    }
    let privileges = match privileges {
        Privileges::All { .. } => vec!["ALL".to_string()],
        Privileges::Actions(actions) => {
            let mut out = Vec::new();
            for a in actions {
                if matches!(a, sq::Action::Select { columns: Some(_) } | sq::Action::Insert { columns: Some(_) } | sq::Action::Update { columns: Some(_) } | sq::Action::References { columns: Some(_) }) {
                    return Err(unsupported("privileges on columns"));
                }
                if matches!(a, sq::Action::Role { .. } | sq::Action::DatabaseRole { .. }) {
                    return Err(WarehouseError::Syntax("a role is granted on its own: GRANT ROLE r TO ROLE | USER x".into()));
                }
                out.push(a.to_string().to_uppercase());
            }
            out
        }
    };
    let one = |names: &[sq::ObjectName]| match names {
        [n] => name(n),
        _ => Err(unsupported("GRANT on several objects at once")),
    };
    let (kind, object, arg_types) = match objects {
        Some(GrantObjects::Tables(n)) => ("TABLE", one(n)?, Vec::new()),
        Some(GrantObjects::Views(n)) => ("VIEW", one(n)?, Vec::new()),
        Some(GrantObjects::Databases(n)) => ("DATABASE", one(n)?, Vec::new()),
        Some(GrantObjects::Schemas(n)) => ("SCHEMA", one(n)?, Vec::new()),
        Some(GrantObjects::Warehouses(n)) => ("WAREHOUSE", one(n)?, Vec::new()),
        Some(GrantObjects::Integrations(n)) => ("INTEGRATION", one(n)?, Vec::new()),
        Some(GrantObjects::Functions(f)) => {
            let [f] = f.as_slice() else { return Err(unsupported("GRANT on several objects at once")) };
            let types = f.args.iter().flatten().map(|a| super::types::canonical(&a.data_type.to_string())).collect();
            ("FUNCTION", name(&f.name)?, types)
        }
        Some(
            GrantObjects::AllTablesInSchema { .. }
            | GrantObjects::AllViewsInSchema { .. }
            | GrantObjects::AllFunctionsInSchema { .. }
            | GrantObjects::AllSequencesInSchema { .. }
            | GrantObjects::AllMaterializedViewsInSchema { .. }
            | GrantObjects::AllExternalTablesInSchema { .. }
            | GrantObjects::AllProceduresInSchema { .. }
            | GrantObjects::AllRoutinesInSchema { .. }
            | GrantObjects::FutureSchemasInDatabase { .. }
            | GrantObjects::FutureTablesInSchema { .. }
            | GrantObjects::FutureViewsInSchema { .. }
            | GrantObjects::FutureExternalTablesInSchema { .. }
            | GrantObjects::FutureMaterializedViewsInSchema { .. }
            | GrantObjects::FutureSequencesInSchema { .. },
        ) => return Err(unsupported("GRANT ... ON ALL/FUTURE")),
        Some(other) => {
            let kind = other.to_string();
            let kind = kind.split_whitespace().next().unwrap_or_default().to_uppercase();
            return Err(unsupported(&format!("GRANT ON {kind}")));
        }
        None => return Err(WarehouseError::Syntax("GRANT <privileges> ON <object> expected".into())),
    };
    let role = match grantees {
        [sq::Grantee { grantee_type: GranteesType::Role | GranteesType::None, name: Some(GranteeName::ObjectName(n)) }] => match name(n)?.0.as_slice() {
            [r] => r.clone(),
            _ => return Err(WarehouseError::Syntax(format!("invalid role name '{n}'"))),
        },
        [_] => return Err(unsupported("privileges granted to a share or user")),
        _ => return Err(unsupported("privileges granted to several roles at once")),
    };
    Ok((GrantTarget { privileges, kind: kind.to_string(), name: object, arg_types, revoke_current_grants: false }, role))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::own::own_statement as own;

    fn target(sql: &str) -> (GrantTarget, Ident) {
        match own(sql).unwrap() {
            Statement::Grant { target, role } | Statement::Revoke { target, role } => (target, role),
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn privileges_objects_and_roles_from_the_tree() {
        let (t, role) = target("grant select, insert on table movielens.public.ratings to role analyst");
        assert_eq!(t, GrantTarget { privileges: vec!["SELECT".into(), "INSERT".into()], kind: "TABLE".into(), name: ObjectName::parse("movielens.public.ratings").unwrap(), arg_types: vec![], revoke_current_grants: false });
        assert_eq!(role.as_str(), "ANALYST");
        let (t, _) = target("grant usage on function deploy_model(varchar, number) to role sysadmin");
        assert_eq!((t.kind.as_str(), t.arg_types), ("FUNCTION", vec!["VARCHAR".to_string(), "NUMBER".to_string()]));
        let (t, _) = target("grant all privileges on schema d.s to r");
        assert_eq!((t.privileges, t.kind.as_str()), (vec!["ALL".to_string()], "SCHEMA"));
        assert!(matches!(own("revoke usage on warehouse compute_wh from role r").unwrap(), Statement::Revoke { .. }));
        let (t, _) = target("grant create table on schema s to role r");
        assert_eq!(t.privileges, vec!["CREATE TABLE".to_string()]);
    }

    #[test]
    fn grants_recpipe_does_not_keep_are_named() {
        for sql in ["grant select on all tables in schema s to role r", "grant select (a) on table t to role r", "grant select on table t to share sh", "grant usage on database a, b to role r"] {
            assert_eq!(own(sql).unwrap_err().wire().code, "002040", "{sql}");
        }
    }

    #[test]
    fn objects_the_tree_lacks_use_the_named_fallback() {
        let (t, _) = target("grant operate on task t to role r");
        assert_eq!(t.kind, "TASK");
        let (t, _) = target("grant usage on api integration i to role r");
        assert_eq!(t.kind, "INTEGRATION");
        let (t, _) = target("grant create task, usage on schema d.s to role r");
        assert_eq!(t.privileges, vec!["CREATE TASK".to_string(), "USAGE".to_string()]);
    }
}
