//! A session: who is connected, their current role, database, schema and warehouse, and their own
//! DuckDB connection (so `USE` and transactions are per session).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::catalog::{ACCOUNTADMIN, PUBLIC};
use crate::engine::Warehouse;
use crate::sql::{split, Ident};
use crate::{QueryResult, WarehouseError};

/// What `CURRENT_VERSION()` answers: the Snowflake release whose SQL surface recpipe follows.
pub const SNOWFLAKE_VERSION: &str = "9.0.0";

pub struct Session {
    pub(crate) wh: Warehouse,
    pub user: String,
    pub role: String,
    pub database: Option<Ident>,
    pub schema: Option<Ident>,
    pub warehouse: Option<Ident>,
    pub(crate) conn: duckdb::Connection,
    /// The `USE` last applied to `conn`.
    pub(crate) applied: Option<(Ident, Ident)>,
    /// Text of the statement being executed (CURRENT_STATEMENT).
    pub(crate) current_statement: String,
    /// Query id of the statement being executed (its external-function calls carry it).
    pub(crate) current_query_id: String,
    /// Inside a transaction the session began (`BEGIN` ran, no `COMMIT` or `ROLLBACK` yet): its
    /// statements see its own uncommitted changes. (The engine's binding offers no such test.)
    pub(crate) in_transaction: bool,
    /// Queries keep their rows as Arrow batches instead of rendering them as strings.
    pub(crate) arrow_results: bool,
    /// Set when the session's statement is canceled; its external-function calls stop.
    pub(crate) cancel: Arc<crate::extfn::Cancel>,
    /// Temporary stages and file formats (their files go when the session ends).
    pub(crate) stage_objects: crate::stage::TempObjects,
    /// The engine's built-in views its search path reaches by bare name, lower-cased: fixed for
    /// the engine's build (extensions cannot be loaded), so read once per session.
    pub(crate) internal_views: std::cell::OnceCell<std::collections::HashSet<String>>,
    /// The ids of the session's latest statements and their results (`LAST_QUERY_ID`,
    /// `RESULT_SCAN`).
    pub(crate) recent: crate::exec::results::Recent,
    /// Results a repeated query may get again (`USE_CACHED_RESULT`, see `exec::reuse`).
    pub(crate) reusable: crate::exec::reuse::Reusable,
    pub(crate) use_cached_result: bool,
}

impl Warehouse {
    /// A session for `user` (who must exist and not be disabled) in `role`, or else the user's
    /// default role when it is still granted to them, or else PUBLIC. It starts in the user's
    /// default namespace and warehouse; one that no longer exists (or that the role may not
    /// use) leaves that part of the context unset, as in Snowflake.
    pub fn session(&self, user: &str, role: Option<&str>) -> Result<Session, WarehouseError> {
        let name = user.to_uppercase();
        let rec = self.catalog().user_record(&name)?.ok_or_else(|| WarehouseError::not_found("User", &name))?;
        if rec.disabled() {
            return Err(WarehouseError::BadCredentials);
        }
        let mut s = self.bare_session(name, PUBLIC.into())?;
        match role {
            Some(r) => s.set_role(&r.to_uppercase())?,
            None => {
                if let Some(r) = &rec.default_role {
                    if s.available_roles()?.contains(r) {
                        s.set_role(r)?;
                    }
                }
            }
        }
        if let Some(ns) = rec.prop("DEFAULT_NAMESPACE") {
            let two_parts = crate::sql::ObjectName::parse(ns).is_ok_and(|n| n.0.len() == 2);
            let r = if two_parts { s.use_context(None, Some(ns), None) } else { s.use_context(Some(ns), None, None) };
            gone_is_unset(r)?;
        }
        if let Some(w) = rec.prop("DEFAULT_WAREHOUSE") {
            gone_is_unset(s.use_context(None, None, Some(w)))?;
        }
        Ok(s)
    }

    /// A session of the user tasks run as (`SYSTEM`, as in Snowflake's query history) acting as
    /// `role`, the task's owner. `SYSTEM` is no catalog user: nobody can log in as it.
    pub(crate) fn system_session(&self, role: &str) -> Result<Session, WarehouseError> {
        self.bare_session(crate::tasks::TASK_USER.into(), role.to_string())
    }

    /// A session with its own connection and no context; `role` is taken as given.
    fn bare_session(&self, user: String, role: String) -> Result<Session, WarehouseError> {
        Ok(Session {
            wh: self.clone(),
            user,
            role,
            database: None,
            schema: None,
            warehouse: None,
            conn: self.new_connection()?,
            applied: None,
            current_statement: String::new(),
            current_query_id: String::new(),
            in_transaction: false,
            arrow_results: false,
            cancel: Arc::default(),
            stage_objects: Default::default(),
            internal_views: Default::default(),
            recent: Default::default(),
            reusable: Default::default(),
            use_cached_result: true,
        })
    }

    /// An interrupt handle for a session's running statement (cancel, timeout).
    pub fn interrupt_handle(session: &Session) -> Arc<duckdb::InterruptHandle> {
        session.conn.interrupt_handle()
    }

    /// The session's cancellation: setting it stops the external-function calls of its statement
    /// (retries, backoff and polls included); pair it with [`Warehouse::interrupt_handle`].
    pub fn cancel_handle(session: &Session) -> Arc<crate::extfn::Cancel> {
        Arc::clone(&session.cancel)
    }
}

/// A default object that is gone or out of the role's reach leaves the context unset.
fn gone_is_unset(r: Result<(), WarehouseError>) -> Result<(), WarehouseError> {
    match r {
        Err(WarehouseError::NotFound { .. } | WarehouseError::Insufficient { .. }) => Ok(()),
        other => other,
    }
}

impl Session {
    /// How many of the session's statements got a kept result instead of running
    /// (`USE_CACHED_RESULT`).
    pub fn reused_results(&self) -> u64 {
        self.reusable.hits
    }

    /// Whether queries (statements DuckDB answers with rows) keep their results as Arrow
    /// batches ([`crate::QueryResult::arrow`]) rather than strings: the SQL API's bulk form.
    pub fn set_arrow_results(&mut self, on: bool) {
        self.arrow_results = on;
    }

    pub fn warehouse_handle(&self) -> &Warehouse {
        &self.wh
    }

    /// Roles the user may `USE`: those granted to them and every role those inherit.
    pub fn available_roles(&self) -> Result<BTreeSet<String>, WarehouseError> {
        let mut out = BTreeSet::from([PUBLIC.to_string()]);
        for r in self.wh.catalog().user_roles(&self.user)? {
            out.extend(self.wh.catalog().effective_roles(&r)?);
        }
        Ok(out)
    }

    pub fn set_role(&mut self, role: &str) -> Result<(), WarehouseError> {
        if !self.available_roles()?.contains(role) {
            return Err(WarehouseError::Invalid(format!(
                "Requested role '{role}' is not assigned to the executing user. Specified role: '{role}', user: '{}'",
                self.user
            )));
        }
        self.role = role.to_string();
        Ok(())
    }

    /// The current role and every role it inherits (PUBLIC included).
    pub fn effective_roles(&self) -> Result<BTreeSet<String>, WarehouseError> {
        self.wh.catalog().effective_roles(&self.role)
    }

    pub fn is_accountadmin(&self) -> Result<bool, WarehouseError> {
        Ok(self.effective_roles()?.contains(ACCOUNTADMIN))
    }

    /// Runs every statement of `sql` in order; stops at the first failure.
    pub fn execute(&mut self, sql: &str) -> Result<Vec<QueryResult>, WarehouseError> {
        let mut out = Vec::new();
        for st in split(sql)? {
            out.push(self.execute_statement(&st)?);
        }
        Ok(out)
    }

    /// Runs exactly one statement (the SQL API without MULTI_STATEMENT_COUNT).
    pub fn execute_one(&mut self, sql: &str) -> Result<QueryResult, WarehouseError> {
        let mut sts = split(sql)?;
        match sts.len() {
            0 => Err(WarehouseError::Syntax("Empty SQL statement.".into())),
            1 => self.execute_statement(&sts.remove(0)),
            n => Err(WarehouseError::Invalid(format!(
                "Actual statement count {n} did not match the desired statement count 1."
            ))),
        }
    }

    /// The value of a context function in this session.
    pub fn context_value(&self, func: &str) -> Option<String> {
        Some(match func {
            "CURRENT_ROLE" => self.role.clone(),
            "CURRENT_USER" => self.user.clone(),
            "CURRENT_DATABASE" => self.database.as_ref()?.to_string(),
            "CURRENT_SCHEMA" => self.schema.as_ref()?.to_string(),
            "CURRENT_WAREHOUSE" => self.warehouse.as_ref()?.to_string(),
            "CURRENT_ACCOUNT" => self.wh.0.account_locator.clone(),
            "CURRENT_REGION" => format!("AWS_{}", self.wh.0.iam.region().to_uppercase().replace('-', "_")),
            "CURRENT_CLIENT" => "recpipe".into(),
            // A Snowflake release number: clients parse it as one (SQLAlchemy's dialect does).
            "CURRENT_VERSION" => SNOWFLAKE_VERSION.into(),
            "CURRENT_STATEMENT" => self.current_statement.clone(),
            _ => return None,
        })
    }
}
