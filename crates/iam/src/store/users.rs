//! Users and their long-term access keys.

use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;

use super::holders::Holder;
use super::roles::policies_of;
use super::{from_unix, validate_name, Iam, ADMINISTRATOR_ACCESS_ARN};
use crate::{random, IamError, SecretKey};

/// The user recpipe creates on its first start to administer the local cloud.
pub const ADMIN_USER: &str = "recpipe-admin";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user_name: String,
    /// `AIDA...`
    pub user_id: String,
    pub arn: String,
    pub create_date: OffsetDateTime,
}

/// A long-term access key; `Debug` redacts the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub user_name: String,
    /// `AKIA...`
    pub access_key_id: String,
    pub secret_access_key: SecretKey,
    /// `Active`.
    pub status: String,
    pub create_date: OffsetDateTime,
}

/// What `ListAccessKeys` shows of a key: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyMetadata {
    pub user_name: String,
    pub access_key_id: String,
    pub status: String,
    pub create_date: OffsetDateTime,
}

fn no_such_user(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
}

impl Iam {
    pub fn user_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:user/{name}", self.account_id())
    }

    pub(crate) fn load_user(
        &self,
        conn: &Connection,
        name: &str,
    ) -> Result<Option<User>, IamError> {
        Ok(conn
            .query_row(
                "SELECT user_id, created FROM iam_users WHERE name = ?1",
                params![name],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()?
            .map(|(user_id, created)| User {
                user_name: name.to_string(),
                user_id,
                arn: self.user_arn(name),
                create_date: from_unix(created),
            }))
    }

    /// `CreateUser`.
    pub fn create_user(&self, user_name: &str) -> Result<User, IamError> {
        validate_name("userName", user_name, 64)?;
        let user_id = format!("AIDA{}", random::string_from(random::UPPER_ALNUM, 17));
        let created = self.now().unix_timestamp();
        self.tx(|tx| {
            if self.load_user(tx, user_name)?.is_some() {
                return Err(IamError::EntityAlreadyExists(format!(
                    "User with name {user_name} already exists."
                )));
            }
            tx.execute(
                "INSERT INTO iam_users (name, user_id, created) VALUES (?1, ?2, ?3)",
                params![user_name, user_id, created],
            )?;
            Ok(())
        })?;
        Ok(User {
            user_name: user_name.into(),
            user_id,
            arn: self.user_arn(user_name),
            create_date: from_unix(created),
        })
    }

    /// `GetUser`.
    pub fn get_user(&self, user_name: &str) -> Result<User, IamError> {
        self.read(|c| self.load_user(c, user_name))?
            .ok_or_else(|| no_such_user(user_name))
    }

    /// `ListAccessKeys`: the user's keys, oldest first.
    pub fn list_access_keys(&self, user_name: &str) -> Result<Vec<AccessKeyMetadata>, IamError> {
        self.read(|c| {
            if self.load_user(c, user_name)?.is_none() {
                return Err(no_such_user(user_name));
            }
            let mut stmt = c.prepare("SELECT access_key_id, status, created FROM iam_access_keys WHERE user_name = ?1 ORDER BY created, access_key_id")?;
            let rows = stmt.query_map(params![user_name], |r| {
                Ok(AccessKeyMetadata { user_name: user_name.to_string(), access_key_id: r.get(0)?, status: r.get(1)?, create_date: from_unix(r.get(2)?) })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// `PutUserPolicy`.
    pub fn put_user_policy(&self, user_name: &str, policy_name: &str, policy_document: &str) -> Result<(), IamError> {
        self.put_policy(Holder::User, user_name, policy_name, policy_document)
    }

    /// `AttachUserPolicy` with a built-in managed policy.
    pub fn attach_user_policy(&self, user_name: &str, policy_arn: &str) -> Result<(), IamError> {
        self.attach_policy(Holder::User, user_name, policy_arn)
    }

    /// `CreateAccessKey`: a new `AKIA...` id and 40-character secret, returned once here and
    /// kept in the store so signatures can be verified.
    pub fn create_access_key(&self, user_name: &str) -> Result<AccessKey, IamError> {
        let access_key_id = format!("AKIA{}", random::string_from(random::UPPER_ALNUM, 16));
        let secret = random::string_from(random::SECRET_CHARS, 40);
        let created = self.now().unix_timestamp();
        self.tx(|tx| {
            if self.load_user(tx, user_name)?.is_none() {
                return Err(no_such_user(user_name));
            }
            tx.execute(
                "INSERT INTO iam_access_keys (access_key_id, user_name, secret, status, created) VALUES (?1, ?2, ?3, 'Active', ?4)",
                params![access_key_id, user_name, secret, created],
            )?;
            Ok(())
        })?;
        Ok(AccessKey {
            user_name: user_name.into(),
            access_key_id,
            secret_access_key: SecretKey::new(secret),
            status: "Active".into(),
            create_date: from_unix(created),
        })
    }

    fn first_access_key(
        &self,
        conn: &Connection,
        user_name: &str,
    ) -> Result<Option<AccessKey>, IamError> {
        Ok(conn
            .query_row(
                "SELECT access_key_id, secret, status, created FROM iam_access_keys
                 WHERE user_name = ?1 AND status = 'Active' ORDER BY created, access_key_id LIMIT 1",
                params![user_name],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?)),
            )
            .optional()?
            .map(|(id, secret, status, created)| AccessKey {
                user_name: user_name.into(),
                access_key_id: id,
                secret_access_key: SecretKey::new(secret),
                status,
                create_date: from_unix(created),
            }))
    }

    /// For the server's first start: the `recpipe-admin` user with AdministratorAccess and one
    /// access key, created once; later calls return the same key.
    pub fn ensure_admin_user(&self) -> Result<AccessKey, IamError> {
        if self.read(|c| self.load_user(c, ADMIN_USER))?.is_none() {
            match self.create_user(ADMIN_USER) {
                Ok(_) | Err(IamError::EntityAlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.attach_user_policy(ADMIN_USER, ADMINISTRATOR_ACCESS_ARN)?;
        if let Some(key) = self.read(|c| self.first_access_key(c, ADMIN_USER))? {
            return Ok(key);
        }
        self.create_access_key(ADMIN_USER)
    }

    /// Inline and attached permission policies of a user, as (name, JSON) pairs.
    pub(crate) fn user_permission_policies(
        &self,
        conn: &Connection,
        user_name: &str,
    ) -> Result<Vec<(String, String)>, IamError> {
        policies_of(
            conn,
            "iam_user_policies",
            "iam_user_attached",
            "user_name",
            user_name,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_keys() {
        let dir = tempfile::tempdir().unwrap();
        let iam = Iam::open(dir.path().join("state.db")).unwrap();
        let u = iam.create_user("snowflake-integration").unwrap();
        assert!(u.user_id.starts_with("AIDA"));
        assert_eq!(
            u.arn,
            format!(
                "arn:aws:iam::{}:user/snowflake-integration",
                iam.account_id()
            )
        );
        assert_eq!(
            iam.create_user("snowflake-integration").unwrap_err().code(),
            "EntityAlreadyExists"
        );
        let k = iam.create_access_key("snowflake-integration").unwrap();
        assert!(k.access_key_id.starts_with("AKIA") && k.access_key_id.len() == 20);
        assert_eq!(k.secret_access_key.expose().len(), 40);
        assert!(!format!("{k:?}").contains(k.secret_access_key.expose()));
        assert_eq!(
            iam.create_access_key("nobody").unwrap_err().code(),
            "NoSuchEntity"
        );
    }

    #[test]
    fn admin_user_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let iam = Iam::open(dir.path().join("state.db")).unwrap();
        let first = iam.ensure_admin_user().unwrap();
        let again = iam.ensure_admin_user().unwrap();
        assert_eq!(first, again);
        drop(iam);
        let reopened = Iam::open(dir.path().join("state.db")).unwrap();
        assert_eq!(reopened.ensure_admin_user().unwrap(), first);
    }
}
