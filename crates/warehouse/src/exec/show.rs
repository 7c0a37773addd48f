//! `SHOW ...` in Snowflake's column layouts (the columns users and scripts look at).

use crate::catalog::security::GrantRow;
use crate::result::QueryResult;
use crate::session::Session;
use crate::sql::ast::{GrantsOf, ShowKind, ShowScope};
use crate::sql::{literal, Ident, ObjectName};
use crate::WarehouseError;

pub(crate) fn ts(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.000 +0000",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default()
}

/// Snowflake's `LIKE` for SHOW: case-insensitive, `%` and `_`.
pub(crate) fn like(pattern: &Option<String>, name: &str) -> bool {
    fn m(p: &[char], s: &[char]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some('%'), _) => m(&p[1..], s) || (!s.is_empty() && m(p, &s[1..])),
            (Some('_'), Some(_)) => m(&p[1..], &s[1..]),
            (Some(a), Some(b)) => a == b && m(&p[1..], &s[1..]),
            _ => false,
        }
    }
    match pattern {
        None => true,
        Some(p) => {
            let p: Vec<char> = p.to_uppercase().chars().collect();
            let s: Vec<char> = name.to_uppercase().chars().collect();
            m(&p, &s)
        }
    }
}

pub(super) fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

/// A warehouse size as SHOW WAREHOUSES writes it (`X-Small`, `2X-Large`) from the value given
/// to `WAREHOUSE_SIZE` (`XSMALL`, `'X-SMALL'`, `XXLARGE`, `X2LARGE`); X-Small when none was.
pub(super) fn warehouse_size(given: Option<&str>) -> String {
    let key: String = given.unwrap_or("XSMALL").chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase();
    let shown = match key.as_str() {
        "XSMALL" => "X-Small",
        "SMALL" => "Small",
        "MEDIUM" => "Medium",
        "LARGE" => "Large",
        "XLARGE" => "X-Large",
        "XXLARGE" | "X2LARGE" | "2XLARGE" => "2X-Large",
        "XXXLARGE" | "X3LARGE" | "3XLARGE" => "3X-Large",
        "X4LARGE" | "4XLARGE" => "4X-Large",
        "X5LARGE" | "5XLARGE" => "5X-Large",
        "X6LARGE" | "6XLARGE" => "6X-Large",
        // Stored as given: CREATE WAREHOUSE does not check sizes.
        _ => return given.unwrap_or_default().to_string(),
    };
    shown.to_string()
}

impl Session {
    pub(super) fn show(&mut self, kind: ShowKind, pat: Option<String>, scope: ShowScope) -> Result<QueryResult, WarehouseError> {
        let cat = self.wh.catalog();
        Ok(match kind {
            ShowKind::Databases => {
                let mut rows = Vec::new();
                for (name, _, owner, created) in cat.databases()? {
                    // Like Snowflake, a role sees only the databases holding something it may see.
                    if !like(&pat, &name) || self.visible_schemas(&Ident::quoted(&name))?.is_empty() {
                        continue;
                    }
                    let current = self.database.as_ref().is_some_and(|c| c.as_str() == name);
                    rows.push(vec![s(ts(created)), s(name), s("N"), s(if current { "Y" } else { "N" }), s(""), s(owner), s(""), s(""), s("1")]);
                }
                QueryResult::table(&["created_on", "name", "is_default", "is_current", "origin", "owner", "comment", "options", "retention_time"], rows)
            }
            ShowKind::Schemas | ShowKind::Tables => self.show_duck(kind, &pat, scope)?,
            ShowKind::Views => self.show_views(&pat, scope)?,
            ShowKind::Functions => self.show_functions(&pat)?,
            ShowKind::Warehouses => {
                let rows = cat
                    .warehouses()?
                    .into_iter()
                    .filter(|w| like(&pat, &w.0))
                    .map(|(name, props, owner, created)| {
                        let p: serde_json::Value = serde_json::from_str(&props).unwrap_or_default();
                        let get = |k: &str| p.get(k).and_then(|v| v.as_str()).map(str::to_string);
                        let current = self.warehouse.as_ref().is_some_and(|c| c.as_str() == name);
                        vec![
                            s(name),
                            s("STARTED"),
                            s("STANDARD"),
                            s(warehouse_size(get("WAREHOUSE_SIZE").as_deref())),
                            s(if current { "Y" } else { "N" }),
                            get("AUTO_SUSPEND").or(s("600")),
                            get("AUTO_RESUME").map(|v| v.to_lowercase()).or(s("true")),
                            s(ts(created)),
                            s(owner),
                        ]
                    })
                    .collect();
                QueryResult::table(&["name", "state", "type", "size", "is_current", "auto_suspend", "auto_resume", "created_on", "owner"], rows)
            }
            ShowKind::Integrations => {
                let rows = cat
                    .integrations()?
                    .into_iter()
                    .filter(|i| like(&pat, &i.name))
                    .map(|i| vec![s(i.name), s(format!("EXTERNAL_API - {}", i.provider)), s("API"), s(i.enabled.to_string()), i.comment, s(ts(i.created))])
                    .collect();
                QueryResult::table(&["name", "type", "category", "enabled", "comment", "created_on"], rows)
            }
            ShowKind::ExternalFunctions => {
                let roles = self.effective_roles()?;
                let mut rows = Vec::new();
                for f in cat.functions()? {
                    if !like(&pat, &f.name) {
                        continue;
                    }
                    if !roles.contains(&f.owner) && !cat.has_privilege(&roles, "USAGE", "FUNCTION", &f.object_key())? {
                        continue;
                    }
                    let n = f.def.args.len().to_string();
                    let args = format!("{}({}) RETURN {}", f.name, f.arg_types().join(", "), f.def.returns);
                    rows.push(vec![
                        s(ts(f.created)),
                        s(f.name.clone()),
                        s(f.schema.clone()),
                        s("N"),
                        s("N"),
                        s("N"),
                        s(n.clone()),
                        s(n),
                        s(args),
                        s(f.def.comment.clone().unwrap_or_else(|| "user-defined function".into())),
                        s(f.db.clone()),
                        s("N"),
                        s("N"),
                        s(if f.def.secure { "Y" } else { "N" }),
                        s("Y"),
                        s("EXTERNAL"),
                    ]);
                }
                QueryResult::table(
                    &["created_on", "name", "schema_name", "is_builtin", "is_aggregate", "is_ansi", "min_num_arguments", "max_num_arguments", "arguments", "description", "catalog_name", "is_table_function", "valid_for_clustering", "is_secure", "is_external_function", "language"],
                    rows,
                )
            }
            ShowKind::Roles => {
                let rows = cat
                    .roles()?
                    .into_iter()
                    .filter(|r| like(&pat, &r.0))
                    .map(|(name, owner, created)| {
                        let current = name == self.role;
                        vec![s(ts(created)), s(name), s("N"), s(if current { "Y" } else { "N" }), s(owner)]
                    })
                    .collect();
                QueryResult::table(&["created_on", "name", "is_default", "is_current", "owner"], rows)
            }
            ShowKind::Users => {
                let mut rows = Vec::new();
                for (name, _, _) in cat.users()?.into_iter().filter(|u| like(&pat, &u.0)) {
                    let Some(u) = cat.user_record(&name)? else { continue };
                    let has_key = u.prop("RSA_PUBLIC_KEY").is_some() || u.prop("RSA_PUBLIC_KEY_2").is_some();
                    let prop = |k: &str| u.prop(k).map(str::to_string);
                    rows.push(vec![
                        s(u.name.clone()), s(ts(u.created)), s(u.name.clone()), s(u.name.clone()), prop("COMMENT"), s(u.disabled().to_string()),
                        prop("DEFAULT_WAREHOUSE"), prop("DEFAULT_NAMESPACE"), u.default_role.clone(),
                        s((!u.password_hash.is_empty()).to_string()), s(has_key.to_string()),
                    ]);
                }
                let cols = ["name", "created_on", "login_name", "display_name", "comment", "disabled", "default_warehouse", "default_namespace", "default_role", "has_password", "has_rsa_public_key"];
                QueryResult::table(&cols, rows)
            }
        })
    }

    /// The database and schema a `SHOW ... IN ...` lists (`None`: every one). Without `IN`,
    /// Snowflake lists the current database, or the account when there is none.
    fn show_scope(&self, scope: ShowScope) -> Result<(Option<Ident>, Option<Ident>), WarehouseError> {
        Ok(match scope {
            ShowScope::Default => (self.database.clone(), None),
            ShowScope::Account => (None, None),
            ShowScope::Database(d) => (Some(d), None),
            ShowScope::Schema(n) => match n.0.as_slice() {
                [sc] => (
                    Some(self.database.clone().ok_or_else(|| {
                        WarehouseError::Invalid(format!("Cannot perform SHOW. This session does not have a current database. Call 'USE DATABASE', or use a qualified name such as <database>.{sc}."))
                    })?),
                    Some(sc.clone()),
                ),
                [d, sc] => (Some(d.clone()), Some(sc.clone())),
                _ => return Err(WarehouseError::Invalid(format!("invalid schema name '{n}'"))),
            },
        })
    }

    /// A condition on the engine catalog's `database_name` and `schema_name` selecting a SHOW's
    /// scope (recpipe's databases only).
    pub(super) fn scope_filter(&self, scope: ShowScope) -> Result<String, WarehouseError> {
        let (db, schema) = self.show_scope(scope)?;
        if let Some(d) = &db {
            if !self.wh.catalog().databases()?.iter().any(|(name, ..)| name == d.as_str()) {
                return Err(WarehouseError::not_found("Database", d.as_str()));
            }
        }
        let mut filter = String::from("database_name IN (SELECT database_name FROM duckdb_databases() WHERE NOT internal AND database_name NOT IN ('memory', 'temp', 'system'))");
        if let Some(d) = &db {
            filter.push_str(&format!(" AND database_name = {}", literal(d.as_str())));
        }
        if let Some(sc) = &schema {
            filter.push_str(&format!(" AND schema_name = {}", literal(sc.as_str())));
        }
        Ok(filter)
    }

    fn show_duck(&self, kind: ShowKind, pat: &Option<String>, scope: ShowScope) -> Result<QueryResult, WarehouseError> {
        let filter = self.scope_filter(scope)?;
        if kind == ShowKind::Schemas {
            let sql = format!("SELECT database_name, schema_name FROM duckdb_schemas() WHERE {filter} AND schema_name <> 'main' ORDER BY 1, 2");
            let mut st = self.conn.prepare(&sql)?;
            let names: Vec<(String, String)> = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            // Like Snowflake, a role sees only the schemas it holds a privilege in.
            let mut visible: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
            for (d, _) in &names {
                if !visible.contains_key(d) {
                    visible.insert(d.clone(), self.visible_schemas(&Ident::quoted(d))?);
                }
            }
            let rows = names
                .into_iter()
                .filter(|(d, n)| like(pat, n) && visible.get(d).is_some_and(|v| v.contains(n)))
                .map(|(d, n)| {
                    let current = self.database.as_ref().is_some_and(|c| c.as_str() == d) && self.schema.as_ref().is_some_and(|c| c.as_str() == n);
                    vec![s(""), s(n), s("N"), s(if current { "Y" } else { "N" }), s(d)]
                })
                .collect();
            return Ok(QueryResult::table(&["created_on", "name", "is_default", "is_current", "database_name"], rows));
        }
        let sql = format!("SELECT database_name, schema_name, table_name, estimated_size FROM duckdb_tables() WHERE {filter} ORDER BY 1, 2, 3");
        let mut st = self.conn.prepare(&sql)?;
        let tables: Vec<(String, String, String, i64)> = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
        // Like Snowflake, a role sees only the tables it holds some privilege on.
        let visible = |d: &str, sc: &str, t: &str| self.require_table_visible(&ObjectName(vec![Ident::quoted(d), Ident::quoted(sc), Ident::quoted(t)])).is_ok();
        let tables: Vec<_> = tables.into_iter().filter(|(d, sc, t, _)| like(pat, t) && visible(d, sc, t)).collect();
        let keys: Vec<String> = tables.iter().map(|(d, sc, t, _)| format!("{d}.{sc}.{t}")).collect();
        let created = self.wh.catalog().created_times(&keys)?;
        let mut rows = Vec::with_capacity(tables.len());
        for ((d, sc, n, count), key) in tables.into_iter().zip(&keys) {
            let when = created.get(key).map(|c| ts(*c)).unwrap_or_default();
            let owner = self.wh.catalog().table_owner(key)?.unwrap_or_default();
            rows.push(vec![s(when), s(n), s(d), s(sc), s("TABLE"), s(""), s(""), s(count.to_string()), s(""), s(owner)]);
        }
        Ok(QueryResult::table(&["created_on", "name", "database_name", "schema_name", "kind", "comment", "cluster_by", "rows", "bytes", "owner"], rows))
    }

    pub(super) fn show_grants(&mut self, of: GrantsOf) -> Result<QueryResult, WarehouseError> {
        let cat = self.wh.catalog();
        let mut rows: Vec<GrantRow> = match &of {
            GrantsOf::Current => cat.grants(Some(&self.role), None)?,
            GrantsOf::ToRole(r) => cat.grants(Some(r.as_str()), None)?,
            GrantsOf::ToUser(_) => Vec::new(),
            GrantsOf::On { kind, name } => {
                let key = match kind.as_str() {
                    "FUNCTION" => cat
                        .functions()?
                        .into_iter()
                        .find(|f| f.name == name.last().as_str())
                        .map(|f| f.object_key())
                        .unwrap_or_default(),
                    "TABLE" | "VIEW" => {
                        let (d, sc, t) = name.qualify(self.database.as_ref(), self.schema.as_ref())?;
                        format!("{d}.{sc}.{t}")
                    }
                    _ => name.to_string(),
                };
                cat.grants(None, Some((kind.as_str(), &key)))?
            }
        };
        let role_rows: Vec<GrantRow> = match &of {
            GrantsOf::Current | GrantsOf::ToRole(_) => {
                let grantee = match &of {
                    GrantsOf::ToRole(r) => r.as_str().to_string(),
                    _ => self.role.clone(),
                };
                cat.role_grants_to(&grantee)?
                    .into_iter()
                    .map(|(role, created)| GrantRow { created, privilege: "USAGE".into(), kind: "ROLE".into(), object: role, grantee: grantee.clone(), granted_by: "".into() })
                    .collect()
            }
            GrantsOf::ToUser(u) => cat
                .user_roles(u.as_str())?
                .into_iter()
                .map(|role| GrantRow { created: 0, privilege: "".into(), kind: "USER".into(), object: role, grantee: u.to_string(), granted_by: "".into() })
                .collect(),
            GrantsOf::On { .. } => Vec::new(),
        };
        rows.extend(role_rows);
        let rows = rows
            .into_iter()
            .map(|g| vec![s(ts(g.created)), s(g.privilege), s(g.kind), s(g.object), s("ROLE"), s(g.grantee), s("false"), s(g.granted_by)])
            .collect();
        Ok(QueryResult::table(&["created_on", "privilege", "granted_on", "name", "granted_to", "grantee_name", "grant_option", "granted_by"], rows))
    }
}
