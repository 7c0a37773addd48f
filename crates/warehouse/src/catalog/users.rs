//! Users as `create user`, `alter user` and `describe user` see them: the row of `users` (name,
//! password hash, default role) and the properties beside it in `user_props` (default namespace
//! and warehouse, RSA public keys, disabled, comment), changed together in one transaction.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Transaction};

use super::{now, Catalog};
use crate::WarehouseError;

/// One user and every property recorded for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    /// An Argon2 PHC string; empty for a user without a password (key pair only).
    pub password_hash: String,
    pub default_role: Option<String>,
    pub created: i64,
    /// Upper-case property name → value (`DEFAULT_NAMESPACE`, `RSA_PUBLIC_KEY`, `DISABLED`...).
    pub props: BTreeMap<String, String>,
}

impl UserRecord {
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props.get(name).map(String::as_str)
    }

    pub fn disabled(&self) -> bool {
        self.prop("DISABLED") == Some("true")
    }
}

/// What an `alter user` changes; `None` leaves a part as it is.
#[derive(Debug, Default)]
pub struct UserChange {
    pub password_hash: Option<String>,
    /// `Some(None)` unsets the default role.
    pub default_role: Option<Option<String>>,
    /// Property name → new value, or `None` to unset it.
    pub props: Vec<(String, Option<String>)>,
}

fn set_props(tx: &Transaction, user: &str, props: &[(String, Option<String>)]) -> Result<(), WarehouseError> {
    for (name, value) in props {
        match value {
            Some(v) => tx.execute("INSERT OR REPLACE INTO user_props (user, name, value) VALUES (?1, ?2, ?3)", params![user, name, v])?,
            None => tx.execute("DELETE FROM user_props WHERE user = ?1 AND name = ?2", params![user, name])?,
        };
    }
    Ok(())
}

impl Catalog {
    /// Creates (or, with `replace`, re-creates: old properties go) a user with its properties;
    /// false when it exists and `replace` is not set.
    pub fn create_user(&self, name: &str, hash: &str, default_role: Option<&str>, props: &[(String, Option<String>)], replace: bool) -> Result<bool, WarehouseError> {
        self.tx(|tx| {
            if replace {
                tx.execute("DELETE FROM user_props WHERE user = ?1", params![name])?;
                tx.execute("DELETE FROM users WHERE name = ?1", params![name])?;
            }
            let created = tx.execute(
                "INSERT OR IGNORE INTO users (name, password_hash, default_role, created) VALUES (?1, ?2, ?3, ?4)",
                params![name, hash, default_role, now()],
            )? > 0;
            if created {
                set_props(tx, name, props)?;
            }
            Ok(created)
        })
    }

    pub fn user_record(&self, name: &str) -> Result<Option<UserRecord>, WarehouseError> {
        self.read(|c| {
            let row = c
                .query_row("SELECT password_hash, default_role, created FROM users WHERE name = ?1", params![name], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, i64>(2)?))
                })
                .optional()?;
            let Some((password_hash, default_role, created)) = row else { return Ok(None) };
            let mut st = c.prepare_cached("SELECT name, value FROM user_props WHERE user = ?1")?;
            let props = st.query_map(params![name], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            Ok(Some(UserRecord { name: name.to_string(), password_hash, default_role, created, props }))
        })
    }

    /// Applies `change` to an existing user in one transaction; false when there is no such user.
    pub fn alter_user(&self, name: &str, change: &UserChange) -> Result<bool, WarehouseError> {
        self.tx(|tx| {
            let exists = tx.query_row("SELECT 1 FROM users WHERE name = ?1", params![name], |_| Ok(())).optional()?.is_some();
            if !exists {
                return Ok(false);
            }
            if let Some(h) = &change.password_hash {
                tx.execute("UPDATE users SET password_hash = ?2 WHERE name = ?1", params![name, h])?;
            }
            if let Some(r) = &change.default_role {
                tx.execute("UPDATE users SET default_role = ?2 WHERE name = ?1", params![name, r])?;
            }
            set_props(tx, name, &change.props)?;
            Ok(true)
        })
    }

    /// Ends every login of a user: its bearer tokens and the connector sessions a restart would
    /// renew (a disabled user keeps none).
    pub fn end_logins(&self, user: &str) -> Result<(), WarehouseError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM tokens WHERE user = ?1", params![user])?;
            tx.execute("DELETE FROM connector_sessions WHERE user = ?1", params![user])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_change_together_and_go_with_a_replaced_user() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(&dir.path().join("c.db")).unwrap();
        let key = ("RSA_PUBLIC_KEY".to_string(), Some("MIIB".to_string()));
        assert!(cat.create_user("U", "h", Some("PUBLIC"), std::slice::from_ref(&key), false).unwrap());
        assert!(!cat.create_user("U", "h2", None, &[], false).unwrap(), "an existing user is kept");
        let change = UserChange {
            default_role: Some(Some("SYSADMIN".into())),
            props: vec![("DISABLED".into(), Some("true".into())), ("RSA_PUBLIC_KEY".into(), None)],
            ..UserChange::default()
        };
        assert!(cat.alter_user("U", &change).unwrap());
        let u = cat.user_record("U").unwrap().unwrap();
        assert_eq!((u.password_hash.as_str(), u.default_role.as_deref()), ("h", Some("SYSADMIN")));
        assert!(u.disabled());
        assert_eq!(u.prop("RSA_PUBLIC_KEY"), None);
        assert!(!cat.alter_user("NOBODY", &change).unwrap());
        assert!(cat.create_user("U", "h3", None, &[], true).unwrap());
        let u = cat.user_record("U").unwrap().unwrap();
        assert!(u.props.is_empty() && u.default_role.is_none() && !u.disabled());
    }
}
