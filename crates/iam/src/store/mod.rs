//! The IAM state in SQLite (`iam_*` tables of `state.db`, WAL mode): the account, roles, users,
//! access keys and session credentials. Every mutation is one transaction.

mod credentials_file;
mod holders;
mod managed;
mod roles;
mod users;

pub use credentials_file::write_credentials_file;
pub(crate) use managed::managed_policy;
pub use managed::{ADMINISTRATOR_ACCESS_ARN, SAGEMAKER_FULL_ACCESS_ARN, SSM_READ_ONLY_ACCESS_ARN};
pub use roles::Role;
pub use users::{AccessKey, AccessKeyMetadata, User};

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use time::OffsetDateTime;

use crate::cache::Caches;
use crate::{random, IamError};

/// The time source; tests inject a fixed or moving clock.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// Settings for a fresh data directory; ignored where the store already has a value, except
/// that a different account id is refused.
#[derive(Debug, Clone, Default)]
pub struct IamConfig {
    /// 12 digits; generated once if not given.
    pub account_id: Option<String>,
    /// Default `us-east-1`.
    pub region: Option<String>,
}

/// The IAM and STS service over one SQLite file.
pub struct Iam {
    conn: Mutex<Connection>,
    account_id: String,
    region: String,
    clock: Clock,
    pub(crate) cache: Caches,
}

impl std::fmt::Debug for Iam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iam")
            .field("account_id", &self.account_id)
            .field("region", &self.region)
            .finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS iam_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS iam_roles (
    name TEXT PRIMARY KEY, role_id TEXT NOT NULL UNIQUE, trust_policy TEXT NOT NULL,
    description TEXT, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS iam_role_policies (
    role_name TEXT NOT NULL REFERENCES iam_roles(name) ON DELETE CASCADE,
    policy_name TEXT NOT NULL, document TEXT NOT NULL, PRIMARY KEY (role_name, policy_name));
CREATE TABLE IF NOT EXISTS iam_role_attached (
    role_name TEXT NOT NULL REFERENCES iam_roles(name) ON DELETE CASCADE,
    policy_arn TEXT NOT NULL, PRIMARY KEY (role_name, policy_arn));
CREATE TABLE IF NOT EXISTS iam_users (
    name TEXT PRIMARY KEY, user_id TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS iam_user_policies (
    user_name TEXT NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,
    policy_name TEXT NOT NULL, document TEXT NOT NULL, PRIMARY KEY (user_name, policy_name));
CREATE TABLE IF NOT EXISTS iam_user_attached (
    user_name TEXT NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,
    policy_arn TEXT NOT NULL, PRIMARY KEY (user_name, policy_arn));
CREATE TABLE IF NOT EXISTS iam_access_keys (
    access_key_id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,
    secret TEXT NOT NULL, status TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS iam_sessions (
    access_key_id TEXT PRIMARY KEY, secret TEXT NOT NULL, token TEXT NOT NULL,
    role_name TEXT NOT NULL, role_id TEXT NOT NULL, session_name TEXT NOT NULL,
    expires INTEGER NOT NULL, created INTEGER NOT NULL);
";

impl Iam {
    /// Opens (creating if needed) the IAM tables in the SQLite file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Iam, IamError> {
        Iam::open_with(path, IamConfig::default())
    }

    pub fn open_with(path: impl AsRef<Path>, config: IamConfig) -> Result<Iam, IamError> {
        let path = path.as_ref();
        let mut conn = Connection::open(path)
            .map_err(|e| IamError::Internal(format!("opening {}: {e}", path.display())))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA)?;
        let account_id = match (meta(&tx, "account_id")?, config.account_id) {
            (Some(stored), Some(given)) if stored != given => {
                return Err(IamError::ValidationError(format!(
                    "account id {given} was asked for, but {} already belongs to account {stored}",
                    path.display()
                )))
            }
            (Some(stored), _) => stored,
            (None, given) => {
                let id = match given {
                    Some(g) => g,
                    None => format!(
                        "{}{}",
                        random::string_from(b"123456789", 1),
                        random::string_from(random::DIGITS, 11)
                    ),
                };
                if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(IamError::ValidationError(format!(
                        "account id '{id}' is not 12 digits"
                    )));
                }
                tx.execute(
                    "INSERT INTO iam_meta (key, value) VALUES ('account_id', ?1)",
                    params![id],
                )?;
                id
            }
        };
        let region = match meta(&tx, "region")? {
            Some(r) => r,
            None => {
                let r = config.region.unwrap_or_else(|| "us-east-1".to_string());
                tx.execute(
                    "INSERT INTO iam_meta (key, value) VALUES ('region', ?1)",
                    params![r],
                )?;
                r
            }
        };
        tx.commit()?;
        Ok(Iam {
            conn: Mutex::new(conn),
            account_id,
            region,
            clock: Arc::new(OffsetDateTime::now_utc),
            cache: Caches::new(),
        })
    }

    /// Replaces the clock (tests; the server keeps the system clock).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction behind (it rolls
        // back on drop), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one transaction, committed only if it succeeds.
    pub(crate) fn tx<T>(
        &self,
        f: impl FnOnce(&Transaction) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        // Still locked: no reader can see the new rows under the old generation.
        self.cache.bump();
        Ok(out)
    }

    /// The cache generation on the request path: current for this handle's own writes, and for
    /// other connections' commits as of at most [`crate::cache::FOREIGN_CHECK`] ago.
    pub(crate) fn generation(&self) -> Result<u64, IamError> {
        if self.cache.foreign_check_due() {
            return self.read(|c| self.generation_locked(c));
        }
        Ok(self.cache.generation())
    }

    /// The cache generation, after looking for commits by other connections; call with the
    /// connection locked (inside [`Iam::read`]) and read the rows to cache in the same call.
    pub(crate) fn generation_locked(&self, conn: &Connection) -> Result<u64, IamError> {
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        Ok(self.cache.observe_data_version(version))
    }

    /// Runs a read-only `f`.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        f(&self.lock())
    }
}

fn meta(conn: &Connection, key: &str) -> Result<Option<String>, IamError> {
    Ok(conn
        .query_row(
            "SELECT value FROM iam_meta WHERE key = ?1",
            params![key],
            |r| r.get(0),
        )
        .optional()?)
}

/// IAM names (roles, users): `[\w+=,.@-]{1,64}`; policy names allow 128.
pub(crate) fn validate_name(what: &str, name: &str, max: usize) -> Result<(), IamError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if name.is_empty() || name.chars().count() > max || !ok_chars {
        return Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]{{1,{max}}}"
        )));
    }
    Ok(())
}

pub(crate) fn from_unix(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let first = Iam::open(&db).unwrap();
        let id = first.account_id().to_string();
        assert_eq!(id.len(), 12);
        assert_eq!(first.region(), "us-east-1");
        drop(first);
        assert_eq!(Iam::open(&db).unwrap().account_id(), id);
        let err = Iam::open_with(
            &db,
            IamConfig {
                account_id: Some("000000000001".into()),
                region: None,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("000000000001"), "{err}");
        let given = Iam::open_with(
            dir.path().join("other.db"),
            IamConfig {
                account_id: Some("111122223333".into()),
                region: Some("eu-west-1".into()),
            },
        )
        .unwrap();
        assert_eq!(
            (given.account_id(), given.region()),
            ("111122223333", "eu-west-1")
        );
        let mode: String = given
            .read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn names_follow_the_iam_pattern() {
        assert!(validate_name("roleName", "snowflake_ef-role.v1@x=y,z+", 64).is_ok());
        for bad in ["", "has space", "slash/no", &"x".repeat(65)] {
            let err = validate_name("roleName", bad, 64).unwrap_err();
            assert_eq!(err.code(), "ValidationError");
        }
    }
}
