//! What roles and users share: inline and attached permission policies, kept in tables that
//! differ only in their names.

use rusqlite::{params, Connection};

use super::{managed_policy, validate_name, Iam};
use crate::policy::{PolicyDocument, PolicyKind};
use crate::IamError;

/// Whose policies.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Holder {
    Role,
    User,
}

impl Holder {
    fn inline_table(self) -> &'static str {
        match self {
            Holder::Role => "iam_role_policies",
            Holder::User => "iam_user_policies",
        }
    }

    fn attached_table(self) -> &'static str {
        match self {
            Holder::Role => "iam_role_attached",
            Holder::User => "iam_user_attached",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Holder::Role => "role_name",
            Holder::User => "user_name",
        }
    }
}

impl Iam {
    /// `NoSuchEntity` unless the role or user exists.
    fn require_holder(&self, conn: &Connection, holder: Holder, name: &str) -> Result<(), IamError> {
        let (exists, kind) = match holder {
            Holder::Role => (self.load_role(conn, name)?.is_some(), "role"),
            Holder::User => (self.load_user(conn, name)?.is_some(), "user"),
        };
        if exists {
            Ok(())
        } else {
            Err(IamError::NoSuchEntity(format!("The {kind} with name {name} cannot be found.")))
        }
    }

    /// `Put{Role,User}Policy`: adds or replaces an inline permission policy.
    pub(crate) fn put_policy(&self, holder: Holder, name: &str, policy_name: &str, policy_document: &str) -> Result<(), IamError> {
        validate_name("policyName", policy_name, 128)?;
        PolicyDocument::parse(policy_document, PolicyKind::Identity)?;
        self.tx(|tx| {
            self.require_holder(tx, holder, name)?;
            tx.execute(
                &format!(
                    "INSERT INTO {t} ({c}, policy_name, document) VALUES (?1, ?2, ?3)
                     ON CONFLICT ({c}, policy_name) DO UPDATE SET document = excluded.document",
                    t = holder.inline_table(),
                    c = holder.column()
                ),
                params![name, policy_name, policy_document],
            )?;
            Ok(())
        })
    }

    /// `Attach{Role,User}Policy` with one of the built-in managed policies.
    pub(crate) fn attach_policy(&self, holder: Holder, name: &str, policy_arn: &str) -> Result<(), IamError> {
        if managed_policy(policy_arn).is_none() {
            return Err(IamError::NoSuchEntity(format!("Policy {policy_arn} does not exist or is not attachable.")));
        }
        self.tx(|tx| {
            self.require_holder(tx, holder, name)?;
            tx.execute(
                &format!("INSERT OR IGNORE INTO {} ({}, policy_arn) VALUES (?1, ?2)", holder.attached_table(), holder.column()),
                params![name, policy_arn],
            )?;
            Ok(())
        })
    }

    /// `Detach{Role,User}Policy`.
    pub(crate) fn detach_policy(&self, holder: Holder, name: &str, policy_arn: &str) -> Result<(), IamError> {
        let sql = format!("DELETE FROM {} WHERE {} = ?1 AND policy_arn = ?2", holder.attached_table(), holder.column());
        self.delete_held(holder, name, &sql, policy_arn, || format!("Policy {policy_arn} was not found."))
    }

    /// `Delete{Role,User}Policy`: removes an inline permission policy.
    pub(crate) fn delete_policy(&self, holder: Holder, name: &str, policy_name: &str) -> Result<(), IamError> {
        let kind = match holder {
            Holder::Role => "role",
            Holder::User => "user",
        };
        let sql = format!("DELETE FROM {} WHERE {} = ?1 AND policy_name = ?2", holder.inline_table(), holder.column());
        self.delete_held(holder, name, &sql, policy_name, || format!("The {kind} policy with name {policy_name} cannot be found."))
    }

    /// Runs `sql` (a delete of one of `name`'s policies, keyed by `key`) in a transaction:
    /// `NoSuchEntity` when the holder does not exist, `missing()` when nothing was deleted.
    fn delete_held(&self, holder: Holder, name: &str, sql: &str, key: &str, missing: impl FnOnce() -> String) -> Result<(), IamError> {
        self.tx(|tx| {
            self.require_holder(tx, holder, name)?;
            if tx.execute(sql, params![name, key])? == 0 {
                return Err(IamError::NoSuchEntity(missing()));
            }
            Ok(())
        })
    }
}
