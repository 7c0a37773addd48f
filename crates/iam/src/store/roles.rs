//! Roles: trust policy, inline policies, attached managed policies.

use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;

use super::holders::Holder;
use super::{from_unix, managed_policy, validate_name, Iam};
use crate::policy::{PolicyDocument, PolicyKind};
use crate::{random, IamError};

/// A role as `GetRole` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub role_name: String,
    /// `AROA...`
    pub role_id: String,
    pub arn: String,
    pub path: String,
    pub create_date: OffsetDateTime,
    /// The trust policy as it was given (JSON text).
    pub assume_role_policy_document: String,
    pub description: Option<String>,
}

fn no_such_role(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
}

impl Iam {
    pub fn role_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", self.account_id())
    }

    fn row_to_role(
        &self,
        name: String,
        role_id: String,
        trust: String,
        description: Option<String>,
        created: i64,
    ) -> Role {
        Role {
            arn: self.role_arn(&name),
            role_name: name,
            role_id,
            path: "/".to_string(),
            create_date: from_unix(created),
            assume_role_policy_document: trust,
            description,
        }
    }

    pub(crate) fn load_role(
        &self,
        conn: &Connection,
        name: &str,
    ) -> Result<Option<Role>, IamError> {
        Ok(conn
            .query_row(
                "SELECT name, role_id, trust_policy, description, created FROM iam_roles WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?
            .map(|(n, id, t, d, c)| self.row_to_role(n, id, t, d, c)))
    }

    /// `CreateRole`: the trust policy is validated as one.
    pub fn create_role(
        &self,
        role_name: &str,
        assume_role_policy_document: &str,
        description: Option<&str>,
    ) -> Result<Role, IamError> {
        validate_name("roleName", role_name, 64)?;
        PolicyDocument::parse(assume_role_policy_document, PolicyKind::Trust)?;
        let role_id = format!("AROA{}", random::string_from(random::UPPER_ALNUM, 17));
        let created = self.now().unix_timestamp();
        self.tx(|tx| {
            if self.load_role(tx, role_name)?.is_some() {
                return Err(IamError::EntityAlreadyExists(format!("Role with name {role_name} already exists.")));
            }
            tx.execute(
                "INSERT INTO iam_roles (name, role_id, trust_policy, description, created) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![role_name, role_id, assume_role_policy_document, description, created],
            )?;
            Ok(())
        })?;
        Ok(self.row_to_role(
            role_name.into(),
            role_id,
            assume_role_policy_document.into(),
            description.map(str::to_string),
            created,
        ))
    }

    /// `GetRole`.
    pub fn get_role(&self, role_name: &str) -> Result<Role, IamError> {
        self.read(|c| self.load_role(c, role_name))?
            .ok_or_else(|| no_such_role(role_name))
    }

    /// `ListRoles`, by name.
    pub fn list_roles(&self) -> Result<Vec<Role>, IamError> {
        self.read(|c| {
            let mut st = c.prepare("SELECT name, role_id, trust_policy, description, created FROM iam_roles ORDER BY name")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (n, id, t, d, cr) = row?;
                out.push(self.row_to_role(n, id, t, d, cr));
            }
            Ok(out)
        })
    }

    /// `UpdateAssumeRolePolicy`. Existing sessions stay valid (as in AWS).
    pub fn update_assume_role_policy(
        &self,
        role_name: &str,
        policy_document: &str,
    ) -> Result<(), IamError> {
        PolicyDocument::parse(policy_document, PolicyKind::Trust)?;
        self.tx(|tx| {
            let n = tx.execute(
                "UPDATE iam_roles SET trust_policy = ?2 WHERE name = ?1",
                params![role_name, policy_document],
            )?;
            if n == 0 {
                return Err(no_such_role(role_name));
            }
            Ok(())
        })
    }

    /// `PutRolePolicy`: adds or replaces an inline permission policy.
    pub fn put_role_policy(&self, role_name: &str, policy_name: &str, policy_document: &str) -> Result<(), IamError> {
        self.put_policy(Holder::Role, role_name, policy_name, policy_document)
    }

    /// `AttachRolePolicy` with one of the built-in managed policies.
    pub fn attach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), IamError> {
        self.attach_policy(Holder::Role, role_name, policy_arn)
    }

    /// `ListRolePolicies`: inline policy names.
    pub fn list_role_policies(&self, role_name: &str) -> Result<Vec<String>, IamError> {
        self.get_role(role_name)?;
        self.read(|c| {
            names(
                c,
                "SELECT policy_name FROM iam_role_policies WHERE role_name = ?1 ORDER BY 1",
                role_name,
            )
        })
    }

    /// `ListAttachedRolePolicies`: managed policy ARNs.
    pub fn list_attached_role_policies(&self, role_name: &str) -> Result<Vec<String>, IamError> {
        self.get_role(role_name)?;
        self.read(|c| {
            names(
                c,
                "SELECT policy_arn FROM iam_role_attached WHERE role_name = ?1 ORDER BY 1",
                role_name,
            )
        })
    }

    /// `DetachRolePolicy`.
    pub fn detach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), IamError> {
        self.detach_policy(Holder::Role, role_name, policy_arn)
    }

    /// `DeleteRolePolicy`: removes an inline permission policy.
    pub fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> Result<(), IamError> {
        self.delete_policy(Holder::Role, role_name, policy_name)
    }

    /// `DeleteRole`. As in AWS, a role with inline or attached policies is refused
    /// (`DeleteConflict`) until they are deleted or detached. The role's sessions are revoked:
    /// their rows stay (so a caller is told "revoked", not "unknown") but no longer match a
    /// role id.
    pub fn delete_role(&self, role_name: &str) -> Result<(), IamError> {
        self.tx(|tx| {
            self.load_role(tx, role_name)?
                .ok_or_else(|| no_such_role(role_name))?;
            let count = |table: &str| -> Result<i64, IamError> {
                Ok(tx.query_row(&format!("SELECT count(*) FROM {table} WHERE role_name = ?1"), params![role_name], |r| r.get(0))?)
            };
            if count("iam_role_policies")? > 0 {
                return Err(IamError::DeleteConflict("Cannot delete entity, must delete policies first.".into()));
            }
            if count("iam_role_attached")? > 0 {
                return Err(IamError::DeleteConflict("Cannot delete entity, must detach all policies first.".into()));
            }
            tx.execute("DELETE FROM iam_roles WHERE name = ?1", params![role_name])?;
            Ok(())
        })
    }

    /// Inline and attached permission policies of a role, as (name, JSON) pairs.
    pub(crate) fn role_permission_policies(
        &self,
        conn: &Connection,
        role_name: &str,
    ) -> Result<Vec<(String, String)>, IamError> {
        policies_of(
            conn,
            "iam_role_policies",
            "iam_role_attached",
            "role_name",
            role_name,
        )
    }
}

pub(crate) fn names(c: &Connection, sql: &str, key: &str) -> Result<Vec<String>, IamError> {
    let mut st = c.prepare(sql)?;
    let rows = st.query_map(params![key], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<String>, _>>()?)
}

/// Inline (`inline`) and attached (`attached`) policies of the entity `owner` in column `col`.
pub(crate) fn policies_of(
    c: &Connection,
    inline: &str,
    attached: &str,
    col: &str,
    owner: &str,
) -> Result<Vec<(String, String)>, IamError> {
    let mut out = Vec::new();
    let mut st = c.prepare(&format!(
        "SELECT policy_name, document FROM {inline} WHERE {col} = ?1 ORDER BY 1"
    ))?;
    for row in st.query_map(params![owner], |r| Ok((r.get(0)?, r.get(1)?)))? {
        out.push(row?);
    }
    for arn in names(
        c,
        &format!("SELECT policy_arn FROM {attached} WHERE {col} = ?1 ORDER BY 1"),
        owner,
    )? {
        if let Some(doc) = managed_policy(&arn) {
            out.push((arn, doc.to_string()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SAGEMAKER_FULL_ACCESS_ARN;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    #[test]
    fn role_lifecycle() {
        let dir = tempfile::tempdir().unwrap();
        let iam = Iam::open(dir.path().join("state.db")).unwrap();
        let role = iam
            .create_role("sagemaker-exec", TRUST, Some("training"))
            .unwrap();
        assert!(role.role_id.starts_with("AROA") && role.role_id.len() == 21);
        assert_eq!(
            role.arn,
            format!("arn:aws:iam::{}:role/sagemaker-exec", iam.account_id())
        );
        assert_eq!(iam.get_role("sagemaker-exec").unwrap(), role);
        assert_eq!(
            iam.create_role("sagemaker-exec", TRUST, None)
                .unwrap_err()
                .code(),
            "EntityAlreadyExists"
        );
        assert_eq!(
            iam.create_role("bad name", TRUST, None).unwrap_err().code(),
            "ValidationError"
        );
        let bad = iam
            .create_role(
                "r2",
                r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
                None,
            )
            .unwrap_err();
        assert_eq!(
            bad.to_string(),
            "MalformedPolicyDocument: Statement[0] is missing field 'Principal'"
        );

        iam.attach_role_policy("sagemaker-exec", SAGEMAKER_FULL_ACCESS_ARN)
            .unwrap();
        assert_eq!(
            iam.attach_role_policy("sagemaker-exec", "arn:aws:iam::aws:policy/Nope")
                .unwrap_err()
                .code(),
            "NoSuchEntity"
        );
        iam.put_role_policy(
            "sagemaker-exec",
            "bucket",
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        )
        .unwrap();
        assert_eq!(
            iam.put_role_policy(
                "nope",
                "p",
                r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#
            )
            .unwrap_err()
            .code(),
            "NoSuchEntity"
        );
        assert_eq!(
            iam.list_role_policies("sagemaker-exec").unwrap(),
            ["bucket"]
        );
        assert_eq!(
            iam.list_attached_role_policies("sagemaker-exec").unwrap(),
            [SAGEMAKER_FULL_ACCESS_ARN]
        );
        iam.update_assume_role_policy("sagemaker-exec", TRUST)
            .unwrap();
        assert_eq!(iam.list_roles().unwrap().len(), 1);

        // As in AWS: policies first, then the role.
        let conflict = iam.delete_role("sagemaker-exec").unwrap_err();
        assert_eq!((conflict.code(), conflict.http_status()), ("DeleteConflict", 409));
        assert!(conflict.to_string().contains("must delete policies first"));
        iam.delete_role_policy("sagemaker-exec", "bucket").unwrap();
        assert_eq!(iam.delete_role_policy("sagemaker-exec", "bucket").unwrap_err().code(), "NoSuchEntity");
        assert!(iam.delete_role("sagemaker-exec").unwrap_err().to_string().contains("must detach all policies first"));
        iam.detach_role_policy("sagemaker-exec", SAGEMAKER_FULL_ACCESS_ARN).unwrap();
        assert_eq!(iam.detach_role_policy("sagemaker-exec", SAGEMAKER_FULL_ACCESS_ARN).unwrap_err().code(), "NoSuchEntity");
        assert!(iam.list_role_policies("sagemaker-exec").unwrap().is_empty());
        iam.delete_role("sagemaker-exec").unwrap();
        let gone = iam.get_role("sagemaker-exec").unwrap_err();
        assert_eq!((gone.code(), gone.http_status()), ("NoSuchEntity", 404));
        assert!(gone.to_string().contains("sagemaker-exec"));
        assert_eq!(
            iam.delete_role("sagemaker-exec").unwrap_err().code(),
            "NoSuchEntity"
        );
    }
}
