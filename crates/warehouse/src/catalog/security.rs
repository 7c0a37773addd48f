//! Roles, the role hierarchy, privileges, users and login tokens.

use std::collections::BTreeSet;

use rusqlite::{params, OptionalExtension};

use super::{now, Catalog, PUBLIC};
use crate::WarehouseError;

/// One row of `SHOW GRANTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    pub created: i64,
    pub privilege: String,
    pub kind: String,
    pub object: String,
    pub grantee: String,
    pub granted_by: String,
}

impl Catalog {
    pub fn role_exists(&self, name: &str) -> Result<bool, WarehouseError> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT 1 FROM roles WHERE name = ?1")?.query_row(params![name], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }

    pub fn create_role(&self, name: &str, owner: &str, replace: bool) -> Result<bool, WarehouseError> {
        self.tx(|tx| {
            if replace {
                tx.execute("DELETE FROM roles WHERE name = ?1", params![name])?;
            }
            Ok(tx.execute(
                "INSERT OR IGNORE INTO roles (name, owner, created) VALUES (?1, ?2, ?3)",
                params![name, owner, now()],
            )? > 0)
        })
    }

    pub fn drop_role(&self, name: &str) -> Result<bool, WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM role_grants WHERE role = ?1 OR grantee = ?1", params![name])?;
            tx.execute("DELETE FROM grants WHERE grantee = ?1", params![name])?;
            Ok(tx.execute("DELETE FROM roles WHERE name = ?1", params![name])? > 0)
        })
    }

    pub fn roles(&self) -> Result<Vec<(String, String, i64)>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT name, owner, created FROM roles ORDER BY name")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// `GRANT ROLE role TO ROLE grantee`: `grantee` inherits `role`'s privileges.
    pub fn grant_role(&self, role: &str, grantee: &str) -> Result<(), WarehouseError> {
        if self.effective_roles(role)?.contains(grantee) {
            return Err(WarehouseError::Invalid(format!(
                "Granting role '{role}' to role '{grantee}' would create a cycle"
            )));
        }
        self.tx(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO role_grants (role, grantee, created) VALUES (?1, ?2, ?3)",
                params![role, grantee, now()],
            )?;
            Ok(())
        })
    }

    /// `role` and every role it inherits, plus PUBLIC.
    pub fn effective_roles(&self, role: &str) -> Result<BTreeSet<String>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT role FROM role_grants WHERE grantee = ?1")?;
            let mut seen = BTreeSet::from([role.to_string(), PUBLIC.to_string()]);
            let mut todo = vec![role.to_string()];
            while let Some(r) = todo.pop() {
                let inherited: Vec<String> = st.query_map(params![r], |row| row.get(0))?.collect::<Result<_, _>>()?;
                for i in inherited {
                    if seen.insert(i.clone()) {
                        todo.push(i);
                    }
                }
            }
            Ok(seen)
        })
    }

    pub fn grant(&self, privilege: &str, kind: &str, object: &str, grantee: &str, by: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO grants (privilege, kind, object, grantee, granted_by, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![privilege, kind, object, grantee, by, now()],
            )?;
            Ok(())
        })
    }

    pub fn revoke(&self, privilege: &str, kind: &str, object: &str, grantee: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute(
                "DELETE FROM grants WHERE privilege = ?1 AND kind = ?2 AND object = ?3 AND grantee = ?4",
                params![privilege, kind, object, grantee],
            )?;
            Ok(())
        })
    }

    /// Removes every grant on an object (it was dropped or replaced).
    pub fn forget_object(&self, kind: &str, object: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM grants WHERE kind = ?1 AND object = ?2", params![kind, object])?;
            Ok(())
        })
    }

    /// Removes every grant on a table or view (`D.S.N`): it was dropped or replaced, or a new
    /// one of the name starts afresh.
    pub fn forget_table(&self, object: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM grants WHERE kind IN ('TABLE', 'VIEW') AND object = ?1", params![object])?;
            Ok(())
        })
    }

    /// The role holding OWNERSHIP of a table or view (`D.S.N`), if one was recorded (the role
    /// that created it).
    pub fn table_owner(&self, object: &str) -> Result<Option<String>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT grantee FROM grants WHERE kind IN ('TABLE', 'VIEW') AND object = ?1 AND privilege = 'OWNERSHIP' ORDER BY created LIMIT 1")?;
            let mut rows = st.query(params![object])?;
            Ok(match rows.next()? {
                Some(r) => Some(r.get(0)?),
                None => None,
            })
        })
    }

    /// Makes `owner` the only role holding OWNERSHIP of table or view `object` (`D.S.N`); with
    /// `revoke_others`, the other grants on it go too.
    pub fn transfer_table(&self, object: &str, owner: &str, by: &str, revoke_others: bool) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            let kind: String = tx
                .query_row("SELECT kind FROM grants WHERE kind IN ('TABLE', 'VIEW') AND object = ?1 AND privilege = 'OWNERSHIP' ORDER BY created LIMIT 1", params![object], |r| r.get(0))
                .optional()?
                .unwrap_or_else(|| "TABLE".into());
            let which = if revoke_others { "" } else { " AND privilege = 'OWNERSHIP'" };
            tx.execute(&format!("DELETE FROM grants WHERE kind IN ('TABLE', 'VIEW') AND object = ?1{which}"), params![object])?;
            tx.execute(
                "INSERT OR IGNORE INTO grants (privilege, kind, object, grantee, granted_by, created) VALUES ('OWNERSHIP', ?1, ?2, ?3, ?4, ?5)",
                params![kind, object, owner, by, now()],
            )?;
            Ok(())
        })
    }

    /// Moves the grants on a table or view and its creation time to its new name (`D.S.N`).
    pub fn rename_object(&self, from: &str, to: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM grants WHERE kind IN ('TABLE', 'VIEW') AND object = ?1", params![to])?;
            tx.execute("UPDATE grants SET object = ?2 WHERE kind IN ('TABLE', 'VIEW') AND object = ?1", params![from, to])?;
            tx.execute("DELETE FROM created WHERE object = ?1", params![to])?;
            tx.execute("UPDATE created SET object = ?2 WHERE object = ?1", params![from, to])?;
            Ok(())
        })
    }

    /// Whether any of `roles` holds `privilege` (or ALL / OWNERSHIP) on the object.
    pub fn has_privilege(&self, roles: &BTreeSet<String>, privilege: &str, kind: &str, object: &str) -> Result<bool, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT grantee FROM grants WHERE kind = ?1 AND object = ?2 AND privilege IN (?3, 'ALL', 'OWNERSHIP')",
            )?;
            let holders: Vec<String> = st.query_map(params![kind, object, privilege], |r| r.get(0))?.collect::<Result<_, _>>()?;
            Ok(holders.iter().any(|h| roles.contains(h)))
        })
    }

    pub fn grants(&self, grantee: Option<&str>, object: Option<(&str, &str)>) -> Result<Vec<GrantRow>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT created, privilege, kind, object, grantee, granted_by FROM grants
                 WHERE (?1 IS NULL OR grantee = ?1) AND (?2 IS NULL OR (kind = ?2 AND object = ?3))
                 ORDER BY created, privilege",
            )?;
            let (k, o) = object.unzip();
            let rows = st.query_map(params![grantee, k, o], |r| {
                Ok(GrantRow {
                    created: r.get(0)?,
                    privilege: r.get(1)?,
                    kind: r.get(2)?,
                    object: r.get(3)?,
                    grantee: r.get(4)?,
                    granted_by: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Role grants (role → grantee) shown by `SHOW GRANTS TO ROLE`.
    pub fn role_grants_to(&self, grantee: &str) -> Result<Vec<(String, i64)>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT role, created FROM role_grants WHERE grantee = ?1 ORDER BY role")?;
            let rows = st.query_map(params![grantee], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    // ---- users ----

    pub fn put_user(&self, name: &str, hash: &str, default_role: Option<&str>, replace: bool) -> Result<bool, WarehouseError> {
        self.tx(|tx| {
            let sql = if replace {
                "INSERT OR REPLACE INTO users (name, password_hash, default_role, created) VALUES (?1, ?2, ?3, ?4)"
            } else {
                "INSERT OR IGNORE INTO users (name, password_hash, default_role, created) VALUES (?1, ?2, ?3, ?4)"
            };
            Ok(tx.execute(sql, params![name, hash, default_role, now()])? > 0)
        })
    }

    /// (password hash, default role).
    pub fn user(&self, name: &str) -> Result<Option<(String, Option<String>)>, WarehouseError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT password_hash, default_role FROM users WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
    }

    pub fn users(&self) -> Result<Vec<(String, Option<String>, i64)>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT name, default_role, created FROM users ORDER BY name")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    pub fn grant_role_to_user(&self, role: &str, user: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("INSERT OR IGNORE INTO user_roles (user, role) VALUES (?1, ?2)", params![user, role])?;
            Ok(())
        })
    }

    pub fn user_roles(&self, user: &str) -> Result<BTreeSet<String>, WarehouseError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT role FROM user_roles WHERE user = ?1")?;
            let rows = st.query_map(params![user], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    // ---- tokens ----

    pub fn put_token(&self, hash: &str, user: &str, role: &str, expires: i64) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM tokens WHERE expires < ?1", params![now() - 86_400])?;
            tx.execute(
                "INSERT INTO tokens (hash, user, role, expires) VALUES (?1, ?2, ?3, ?4)",
                params![hash, user, role, expires],
            )?;
            Ok(())
        })
    }

    pub fn delete_token(&self, hash: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM tokens WHERE hash = ?1", params![hash])?;
            Ok(())
        })
    }

    /// (user, role, expires) for a token hash.
    pub fn token(&self, hash: &str) -> Result<Option<(String, String, i64)>, WarehouseError> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT user, role, expires FROM tokens WHERE hash = ?1")?.query_row(params![hash], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?)
        })
    }
}
