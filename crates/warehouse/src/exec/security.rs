//! Roles, role grants and privilege grants.

use crate::catalog::{ACCOUNTADMIN, SECURITYADMIN};
use crate::result::QueryResult;
use crate::session::Session;
use crate::sql::ast::{CreateOpts, GrantTarget};
use crate::sql::Ident;
use crate::WarehouseError;

impl Session {
    fn require_securityadmin(&self) -> Result<(), WarehouseError> {
        if self.effective_roles()?.contains(SECURITYADMIN) {
            Ok(())
        } else {
            Err(WarehouseError::Insufficient { kind: "account", name: self.wh.0.account_locator.clone() })
        }
    }

    pub(super) fn create_role(&mut self, name: Ident, opts: CreateOpts) -> Result<QueryResult, WarehouseError> {
        self.require_securityadmin()?;
        if ["ACCOUNTADMIN", "SYSADMIN", "SECURITYADMIN", "PUBLIC"].contains(&name.as_str()) {
            return Err(WarehouseError::Invalid(format!("Role '{name}' is a system role and cannot be replaced.")));
        }
        let exists = self.wh.catalog().role_exists(name.as_str())?;
        if exists && !opts.or_replace {
            if opts.if_not_exists {
                return Ok(QueryResult::status(format!("{name} already exists, statement succeeded.")));
            }
            return Err(WarehouseError::AlreadyExists(name.to_string()));
        }
        self.wh.catalog().create_role(name.as_str(), &self.role, opts.or_replace)?;
        Ok(QueryResult::status(format!("Role {name} successfully created.")))
    }

    pub(super) fn drop_role(&mut self, name: Ident, if_exists: bool) -> Result<QueryResult, WarehouseError> {
        self.require_securityadmin()?;
        if ["ACCOUNTADMIN", "SYSADMIN", "SECURITYADMIN", "PUBLIC"].contains(&name.as_str()) {
            return Err(WarehouseError::Invalid(format!("Role '{name}' is a system role and cannot be dropped.")));
        }
        if !self.wh.catalog().drop_role(name.as_str())? && !if_exists {
            return Err(WarehouseError::not_found("Role", name.as_str()));
        }
        Ok(QueryResult::status(format!("{name} successfully dropped.")))
    }

    pub(super) fn grant_role(&mut self, role: Ident, to_role: Option<Ident>, to_user: Option<Ident>) -> Result<QueryResult, WarehouseError> {
        self.require_securityadmin()?;
        let cat = self.wh.catalog();
        if !cat.role_exists(role.as_str())? {
            return Err(WarehouseError::not_found("Role", role.as_str()));
        }
        if let Some(r) = to_role {
            if !cat.role_exists(r.as_str())? {
                return Err(WarehouseError::not_found("Role", r.as_str()));
            }
            cat.grant_role(role.as_str(), r.as_str())?;
        }
        if let Some(u) = to_user {
            if cat.user(u.as_str())?.is_none() {
                return Err(WarehouseError::not_found("User", u.as_str()));
            }
            cat.grant_role_to_user(role.as_str(), u.as_str())?;
        }
        Ok(QueryResult::status("Statement executed successfully."))
    }

    /// The catalog key of a grant's object and its owner role (for the grantor check).
    fn grant_object(&self, t: &GrantTarget) -> Result<(String, Option<String>), WarehouseError> {
        let cat = self.wh.catalog();
        Ok(match t.kind.as_str() {
            "FUNCTION" => {
                let f = self.find_function(&t.name, &t.arg_types)?.ok_or_else(|| {
                    WarehouseError::not_found("Function", format!("{}({})", t.name, t.arg_types.join(", ")))
                })?;
                (f.object_key(), Some(f.owner))
            }
            "TABLE" | "VIEW" => {
                // Resolved as the engine and the privilege check resolve it (case-insensitively),
                // so a grant lands on the table a statement naming it the same way would read.
                let (d, s, n) = t.name.qualify(self.database.as_ref(), self.schema.as_ref())?;
                let (db, schema, table) = self.resolve_table(&d, &s, &n)?.ok_or_else(|| WarehouseError::not_found("Table", format!("{d}.{s}.{n}")))?;
                let key = format!("{db}.{schema}.{table}");
                // The role that created it, else (made before owners were recorded, or by the
                // loader) the database's owner.
                let owner = match cat.table_owner(&key)? {
                    Some(o) => Some(o),
                    None => cat.databases()?.into_iter().find(|x| x.0 == db).map(|x| x.2),
                };
                (key, owner)
            }
            "INTEGRATION" => {
                let i = cat.integration(t.name.last().as_str())?.ok_or_else(|| WarehouseError::not_found("Integration", t.name.last().as_str()))?;
                (i.name, Some(i.owner))
            }
            "WAREHOUSE" => {
                let w = cat.warehouses()?.into_iter().find(|w| w.0 == t.name.last().as_str()).ok_or_else(|| WarehouseError::not_found("Warehouse", t.name.last().as_str()))?;
                (w.0, Some(w.2))
            }
            "TASK" => {
                let task = self.find_task(&t.name, "GRANT")?.ok_or_else(|| WarehouseError::not_found("Task", t.name.to_string()))?;
                (task.qualified(), Some(task.owner))
            }
            "SCHEMA" => match (t.name.0.as_slice(), &self.database) {
                ([s], Some(d)) => (format!("{d}.{s}"), None),
                _ => (t.name.to_string(), None),
            },
            "DATABASE" => {
                let d = cat.databases()?.into_iter().find(|d| d.0 == t.name.last().as_str()).ok_or_else(|| WarehouseError::not_found("Database", t.name.last().as_str()))?;
                (d.0, Some(d.2))
            }
            _ => (t.name.to_string(), None),
        })
    }

    /// `GRANT OWNERSHIP ON TABLE|VIEW x TO ROLE r [REVOKE | COPY CURRENT GRANTS]`: `r` becomes
    /// the only owner; the grants others hold stay (`COPY`, and when neither is said) or go
    /// (`REVOKE`). Ownership is never revoked, only transferred.
    fn transfer_ownership(&self, t: &GrantTarget, key: &str, role: &str, revoke: bool) -> Result<QueryResult, WarehouseError> {
        if revoke {
            return Err(WarehouseError::Unsupported("REVOKE OWNERSHIP (ownership moves to another role with GRANT OWNERSHIP)".into()));
        }
        if t.privileges.len() > 1 {
            return Err(WarehouseError::Syntax("OWNERSHIP is granted on its own".into()));
        }
        if t.kind != "TABLE" && t.kind != "VIEW" {
            return Err(WarehouseError::Unsupported(format!("transferring the ownership of a {} (recpipe transfers that of tables and views)", t.kind.to_lowercase())));
        }
        self.wh.catalog().transfer_table(key, role, &self.role, t.revoke_current_grants)?;
        Ok(QueryResult::status("Statement executed successfully."))
    }

    pub(super) fn grant(&mut self, t: GrantTarget, role: Ident, revoke: bool) -> Result<QueryResult, WarehouseError> {
        let cat = self.wh.catalog();
        if !cat.role_exists(role.as_str())? {
            return Err(WarehouseError::not_found("Role", role.as_str()));
        }
        let (key, owner) = self.grant_object(&t)?;
        let roles = self.effective_roles()?;
        let may = roles.contains(ACCOUNTADMIN) || roles.contains(SECURITYADMIN) || owner.is_some_and(|o| roles.contains(&o));
        if !may {
            return Err(WarehouseError::Insufficient { kind: "object", name: t.name.to_string() });
        }
        if t.privileges.iter().any(|p| p == "OWNERSHIP") {
            return self.transfer_ownership(&t, &key, role.as_str(), revoke);
        }
        for p in &t.privileges {
            if revoke {
                cat.revoke(p, &t.kind, &key, role.as_str())?;
            } else {
                cat.grant(p, &t.kind, &key, role.as_str(), &self.role)?;
            }
        }
        Ok(QueryResult::status("Statement executed successfully."))
    }
}
