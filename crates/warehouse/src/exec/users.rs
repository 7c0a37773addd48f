//! Users: `create user`, `alter user ... set | unset`, `describe user`. A user's properties are
//! its password, `DEFAULT_ROLE`, `DEFAULT_NAMESPACE` and `DEFAULT_WAREHOUSE` (a new session
//! starts with them), its RSA public keys for key-pair authentication, `DISABLED` (no login, and
//! its tokens end at once) and `COMMENT`.

use crate::catalog::{UserChange, UserRecord, SECURITYADMIN};
use crate::keypair;
use crate::result::QueryResult;
use crate::session::Session;
use crate::sql::ast::{CreateOpts, PropValue, UserAction};
use crate::sql::{Ident, ObjectName};
use crate::{users, WarehouseError};

/// Properties a user may set on themselves; the rest need SECURITYADMIN.
const SELF_SERVICE: &[&str] = &["DEFAULT_ROLE", "DEFAULT_NAMESPACE", "DEFAULT_WAREHOUSE"];

/// A name as Snowflake shows it: bare when it reads back the same unquoted, else quoted.
pub(crate) fn display_ident(i: &Ident) -> String {
    let s = i.as_str();
    let bare = s.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if bare {
        s.to_string()
    } else {
        crate::sql::quote(s)
    }
}

fn name_of(key: &str, v: PropValue, max_parts: usize) -> Result<ObjectName, WarehouseError> {
    let name = match v {
        PropValue::Name(n) => n,
        PropValue::Text(t) => ObjectName::parse(&t)?,
        other => return Err(WarehouseError::Invalid(format!("invalid value {other:?} for property '{key}': expected a name"))),
    };
    if name.0.len() > max_parts {
        return Err(WarehouseError::Invalid(format!("invalid value '{name}' for property '{key}': at most {max_parts} part(s)")));
    }
    Ok(name)
}

fn name_value(key: &str, v: PropValue, max_parts: usize) -> Result<String, WarehouseError> {
    Ok(name_of(key, v, max_parts)?.0.iter().map(display_ident).collect::<Vec<_>>().join("."))
}

fn text_value(key: &str, v: PropValue) -> Result<String, WarehouseError> {
    match v {
        PropValue::Text(t) => Ok(t),
        other => Err(WarehouseError::Invalid(format!("invalid value {other:?} for property '{key}': expected a string"))),
    }
}

/// Adds one `KEY = value` to `change`, checked and in its stored form.
fn set_one(change: &mut UserChange, key: &str, v: PropValue) -> Result<(), WarehouseError> {
    let prop = |change: &mut UserChange, value: String| change.props.push((key.to_string(), Some(value)));
    match key {
        "PASSWORD" => {
            let pw = text_value(key, v)?;
            if pw.len() < 8 {
                return Err(WarehouseError::Invalid("Password must be at least 8 characters long.".into()));
            }
            change.password_hash = Some(users::hash_password(&pw)?);
        }
        "DEFAULT_ROLE" => change.default_role = Some(Some(name_of(key, v, 1)?.last().as_str().to_string())),
        "DEFAULT_WAREHOUSE" => prop(change, name_value(key, v, 1)?),
        "DEFAULT_NAMESPACE" => prop(change, name_value(key, v, 2)?),
        "RSA_PUBLIC_KEY" | "RSA_PUBLIC_KEY_2" => prop(change, keypair::normalize_public_key(&text_value(key, v)?)?),
        "DISABLED" => match v {
            PropValue::Bool(b) => prop(change, b.to_string()),
            other => return Err(WarehouseError::Invalid(format!("invalid value {other:?} for property 'DISABLED': expected TRUE or FALSE"))),
        },
        "COMMENT" => prop(change, text_value(key, v)?),
        other => return Err(WarehouseError::Unsupported(format!("user property {other}"))),
    }
    Ok(())
}

fn unset_one(change: &mut UserChange, key: &str) -> Result<(), WarehouseError> {
    match key {
        "PASSWORD" => change.password_hash = Some(String::new()),
        "DEFAULT_ROLE" => change.default_role = Some(None),
        "DEFAULT_WAREHOUSE" | "DEFAULT_NAMESPACE" | "RSA_PUBLIC_KEY" | "RSA_PUBLIC_KEY_2" | "DISABLED" | "COMMENT" => change.props.push((key.to_string(), None)),
        other => return Err(WarehouseError::Unsupported(format!("user property {other}"))),
    }
    Ok(())
}

impl Session {
    fn is_securityadmin(&self) -> Result<bool, WarehouseError> {
        Ok(self.effective_roles()?.contains(SECURITYADMIN))
    }

    pub(super) fn create_user(&mut self, name: Ident, opts: CreateOpts, props: Vec<(String, PropValue)>) -> Result<QueryResult, WarehouseError> {
        if !self.is_securityadmin()? {
            return Err(WarehouseError::Insufficient { kind: "account", name: self.wh.0.account_locator.clone() });
        }
        let mut change = UserChange::default();
        for (k, v) in props {
            set_one(&mut change, &k, v)?;
        }
        let cat = self.wh.catalog();
        if cat.user(name.as_str())?.is_some() && !opts.or_replace {
            if opts.if_not_exists {
                return Ok(QueryResult::status(format!("{name} already exists, statement succeeded.")));
            }
            return Err(WarehouseError::AlreadyExists(name.to_string()));
        }
        // A user without a password logs in by key pair only.
        let hash = change.password_hash.unwrap_or_default();
        let role = change.default_role.flatten();
        cat.create_user(name.as_str(), &hash, role.as_deref(), &change.props, opts.or_replace)?;
        if opts.or_replace {
            cat.end_logins(name.as_str())?;
        }
        if let Some(r) = role {
            if cat.role_exists(&r)? {
                cat.grant_role_to_user(&r, name.as_str())?;
            }
        }
        Ok(QueryResult::status(format!("User {name} successfully created.")))
    }

    pub(super) fn alter_user(&mut self, name: Ident, if_exists: bool, action: UserAction) -> Result<QueryResult, WarehouseError> {
        let admin = self.is_securityadmin()?;
        let own = name.as_str() == self.user;
        let keys: Vec<String> = match &action {
            UserAction::Set(p) => p.iter().map(|(k, _)| k.clone()).collect(),
            UserAction::Unset(k) => k.clone(),
        };
        let cat = self.wh.catalog();
        if !admin && !own {
            // Another user's existence is not revealed to a role that may not manage users.
            return Err(WarehouseError::not_found("User", name.as_str()));
        }
        if !admin {
            if let Some(k) = keys.iter().find(|k| !SELF_SERVICE.contains(&k.as_str())) {
                return Err(WarehouseError::Insufficient { kind: "user property", name: format!("{name}.{k}") });
            }
        }
        let mut change = UserChange::default();
        match action {
            UserAction::Set(p) => {
                for (k, v) in p {
                    set_one(&mut change, &k, v)?;
                }
            }
            UserAction::Unset(k) => {
                for k in k {
                    unset_one(&mut change, &k)?;
                }
            }
        }
        if !cat.alter_user(name.as_str(), &change)? {
            if if_exists {
                return Ok(QueryResult::status("Statement executed successfully."));
            }
            return Err(WarehouseError::not_found("User", name.as_str()));
        }
        if change.props.iter().any(|(k, v)| k == "DISABLED" && v.as_deref() == Some("true")) {
            cat.end_logins(name.as_str())?;
        }
        Ok(QueryResult::status("Statement executed successfully."))
    }

    pub(super) fn describe_user(&mut self, name: Ident) -> Result<QueryResult, WarehouseError> {
        let may = self.is_securityadmin()? || name.as_str() == self.user;
        let rec = match may {
            true => self.wh.catalog().user_record(name.as_str())?,
            false => None,
        };
        let rec = rec.ok_or_else(|| WarehouseError::not_found("User", name.as_str()))?;
        Ok(QueryResult::table(&["property", "value", "default", "description"], describe_rows(&rec)))
    }
}

/// `describe user`'s rows: property, value, default, description (`null` where unset, as
/// Snowflake prints it).
fn describe_rows(u: &UserRecord) -> Vec<Vec<Option<String>>> {
    let or_null = |v: Option<&str>| v.unwrap_or("null").to_string();
    let fp = |k: &str| u.prop(k).and_then(keypair::fingerprint);
    let rows: Vec<(&str, String, &str, &str)> = vec![
        ("NAME", u.name.clone(), "null", "Name of the user"),
        ("COMMENT", or_null(u.prop("COMMENT")), "null", "Comment on the user"),
        ("DISPLAY_NAME", u.name.clone(), "null", "Name shown for the user"),
        ("LOGIN_NAME", u.name.clone(), "null", "Name the user logs in with"),
        ("DISABLED", u.disabled().to_string(), "false", "Whether the user is refused every login"),
        ("DEFAULT_WAREHOUSE", or_null(u.prop("DEFAULT_WAREHOUSE")), "null", "Warehouse a new session of the user starts in"),
        ("DEFAULT_NAMESPACE", or_null(u.prop("DEFAULT_NAMESPACE")), "null", "Database, or database and schema, a new session of the user starts in"),
        ("DEFAULT_ROLE", or_null(u.default_role.as_deref()), "null", "Role a new session of the user starts with"),
        ("HAS_PASSWORD", (!u.password_hash.is_empty()).to_string(), "false", "Whether the user may log in with a password"),
        ("RSA_PUBLIC_KEY", or_null(u.prop("RSA_PUBLIC_KEY")), "null", "First RSA public key for key-pair authentication"),
        ("RSA_PUBLIC_KEY_FP", or_null(fp("RSA_PUBLIC_KEY").as_deref()), "null", "SHA-256 fingerprint of the first RSA public key"),
        ("RSA_PUBLIC_KEY_2", or_null(u.prop("RSA_PUBLIC_KEY_2")), "null", "Second RSA public key, for rotating keys"),
        ("RSA_PUBLIC_KEY_2_FP", or_null(fp("RSA_PUBLIC_KEY_2").as_deref()), "null", "SHA-256 fingerprint of the second RSA public key"),
    ];
    rows.into_iter().map(|(p, v, d, desc)| vec![Some(p.to_string()), Some(v), Some(d.to_string()), Some(desc.to_string())]).collect()
}
