//! API integrations and external functions: their statements, and resolving a call inside a
//! query (privileges, integration state, URL prefixes) into a registered scalar.

use std::cell::RefCell;

use base64::Engine;

use crate::catalog::{now, FunctionRecord, IntegrationRecord, ACCOUNTADMIN};
use crate::extfn::CallSpec;
use crate::result::QueryResult;
use crate::session::Session;
use crate::sql::ast::{CreateOpts, FunctionDef, IntegrationDef};
use crate::sql::context::TranslateContext;
use crate::sql::translate::TableArg;
use crate::sql::{literal, quote, Ident, ObjectName};
use crate::{random, WarehouseError};

const PROVIDERS: [&str; 4] = ["AWS_API_GATEWAY", "AWS_PRIVATE_API_GATEWAY", "AWS_GOV_API_GATEWAY", "AWS_GOV_PRIVATE_API_GATEWAY"];

/// The rewriter's view of a session while one statement is rewritten.
pub(super) struct CallContext<'a, 'k> {
    pub session: &'a Session,
    pub query_id: &'a str,
    /// Call keys activated for this statement, forgotten when it ends.
    pub keys: RefCell<&'k mut Vec<String>>,
}

impl TranslateContext for CallContext<'_, '_> {
    fn external_call(&self, name: &ObjectName, argc: usize) -> Result<Option<String>, WarehouseError> {
        let s = self.session;
        let candidates = s.external_functions(name)?;
        let Some(fname) = candidates.first().map(|f| f.name.clone()) else {
            return Ok(None);
        };
        let f = candidates.into_iter().find(|f| f.def.args.len() == argc).ok_or_else(|| {
            WarehouseError::Invalid(format!("Invalid number of arguments ({argc}) for external function '{fname}'"))
        })?;
        let roles = s.effective_roles()?;
        // A function the role may not use does not exist for it, as a table it holds nothing on.
        if !roles.contains(&f.owner) && !s.wh.catalog().has_privilege(&roles, "USAGE", "FUNCTION", &f.object_key())? {
            return Err(WarehouseError::not_found("Function", f.name.clone()));
        }
        let integration = s
            .wh
            .catalog()
            .integration(&f.def.integration)?
            .ok_or_else(|| WarehouseError::not_found("Integration", &f.def.integration))?;
        if !integration.enabled {
            return Err(WarehouseError::ExternalFunction(format!(
                "Request failed for external function {}: API integration {} is disabled",
                f.name, integration.name
            )));
        }
        if !integration.admits(&f.def.url) {
            return Err(prefix_error(&f.def.url, &integration));
        }
        let context = f
            .def
            .context_headers
            .iter()
            .map(|c| {
                let v = match c.as_str() {
                    "CURRENT_DATE" => time::OffsetDateTime::now_utc().date().to_string(),
                    "CURRENT_TIMESTAMP" => time::OffsetDateTime::now_utc().to_string(),
                    other => s.context_value(other).unwrap_or_default(),
                };
                (c.clone(), v)
            })
            .collect();
        let reg = s.wh.0.ext.ensure_registered(&s.conn, &f)?;
        let spec = CallSpec {
            region: s.wh.0.iam.region().to_string(),
            function: f,
            integration,
            query_id: self.query_id.to_string(),
            context,
            cancel: std::sync::Arc::clone(&s.cancel),
        };
        let key = s.wh.0.ext.activate(spec);
        let open = format!("CAST({}({}, CAST(JSON_ARRAY(", quote(&reg), literal(&key));
        self.keys.borrow_mut().push(key);
        Ok(Some(open))
    }

    fn context_value(&self, func: &str) -> Option<String> {
        self.session.context_value(func)
    }

    fn known_function(&self, name: &ObjectName) -> Result<bool, WarehouseError> {
        Ok(!self.session.external_functions(name)?.is_empty())
    }

    fn catalog_view(&self, name: &ObjectName) -> Result<Option<String>, WarehouseError> {
        self.session.catalog_view_sql(name)
    }

    fn table_function(&self, name: &ObjectName, args: &[TableArg]) -> Result<Option<String>, WarehouseError> {
        if name.0.len() == 1 && name.last().as_str() == "RESULT_SCAN" {
            return self.session.result_scan_sql(args).map(Some);
        }
        self.session.task_history_sql(name, args)
    }

    fn last_query_id(&self, n: i64) -> Option<String> {
        self.session.recent.id(n).map(str::to_string)
    }
}

fn prefix_error(url: &str, i: &IntegrationRecord) -> WarehouseError {
    WarehouseError::Invalid(format!(
        "External function URL '{url}' is not allowed by API integration '{}': it must start with one of API_ALLOWED_PREFIXES {:?} and with none of API_BLOCKED_PREFIXES {:?}",
        i.name, i.allowed, i.blocked
    ))
}

/// Snowflake's shape: `<ACCOUNT LOCATOR>_SFCRole=2_<28 base64 characters>`, new on every creation.
pub fn new_external_id(locator: &str) -> String {
    let tail = base64::engine::general_purpose::STANDARD.encode(random::bytes(20));
    format!("{locator}_SFCRole=2_{tail}")
}

impl Session {
    /// The external functions `name` may call in this session's scope (any argument count).
    fn external_functions(&self, name: &ObjectName) -> Result<Vec<FunctionRecord>, WarehouseError> {
        let known = self.wh.0.fn_names.read().unwrap_or_else(|p| p.into_inner()).contains(name.last().as_str());
        if !known {
            return Ok(Vec::new());
        }
        let Ok((db, schema, fname)) = name.qualify(self.database.as_ref(), self.schema.as_ref()) else {
            return Ok(Vec::new());
        };
        self.wh.catalog().functions_named(db.as_str(), schema.as_str(), fname.as_str())
    }

    pub(super) fn create_integration(&mut self, def: IntegrationDef, opts: CreateOpts) -> Result<QueryResult, WarehouseError> {
        if self.role != ACCOUNTADMIN {
            return Err(WarehouseError::Insufficient { kind: "account", name: self.wh.0.account_locator.clone() });
        }
        if !PROVIDERS.contains(&def.provider.as_str()) {
            return Err(WarehouseError::Invalid(format!(
                "invalid value '{}' for property 'API_PROVIDER': expected one of {}",
                def.provider,
                PROVIDERS.join(", ")
            )));
        }
        if def.role_arn.is_empty() {
            return Err(WarehouseError::Invalid("missing required property 'API_AWS_ROLE_ARN'".into()));
        }
        if def.allowed.is_empty() {
            return Err(WarehouseError::Invalid("missing required property 'API_ALLOWED_PREFIXES'".into()));
        }
        let name = def.name.as_str().to_string();
        if self.wh.catalog().integration(&name)?.is_some() && !opts.or_replace {
            if opts.if_not_exists {
                return Ok(QueryResult::status(format!("{name} already exists, statement succeeded.")));
            }
            return Err(WarehouseError::AlreadyExists(name));
        }
        let rec = IntegrationRecord {
            name: name.clone(),
            provider: def.provider,
            role_arn: def.role_arn,
            api_key: def.api_key,
            enabled: def.enabled,
            allowed: def.allowed,
            blocked: def.blocked,
            comment: def.comment,
            external_id: new_external_id(&self.wh.0.account_locator),
            call_timeout_secs: def.call_timeout_secs,
            owner: self.role.clone(),
            created: now(),
        };
        self.wh.catalog().put_integration(&rec)?;
        Ok(QueryResult::status(format!("Integration {name} successfully created.")))
    }

    fn integration_for_change(&self, name: &Ident) -> Result<IntegrationRecord, WarehouseError> {
        let rec = self
            .wh
            .catalog()
            .integration(name.as_str())?
            .ok_or_else(|| WarehouseError::not_found("Integration", name.as_str()))?;
        if !self.effective_roles()?.contains(&rec.owner) {
            return Err(WarehouseError::Insufficient { kind: "integration", name: rec.name });
        }
        Ok(rec)
    }

    pub(super) fn alter_integration(&mut self, name: Ident, set: Vec<(String, String)>) -> Result<QueryResult, WarehouseError> {
        let mut rec = self.integration_for_change(&name)?;
        let list = |v: &str| serde_json::from_str::<Vec<String>>(v).map_err(|_| WarehouseError::Syntax(format!("expected a list of strings, got {v}")));
        for (k, v) in set {
            match k.as_str() {
                "ENABLED" => rec.enabled = match v.to_uppercase().as_str() {
                    "TRUE" => true,
                    "FALSE" => false,
                    other => return Err(WarehouseError::Syntax(format!("unexpected '{other}', expected TRUE or FALSE"))),
                },
                "API_ALLOWED_PREFIXES" => rec.allowed = list(&v)?,
                "API_BLOCKED_PREFIXES" => rec.blocked = list(&v)?,
                "API_AWS_ROLE_ARN" => rec.role_arn = v,
                "API_KEY" => rec.api_key = Some(v),
                "COMMENT" => rec.comment = Some(v),
                "API_CALL_TIMEOUT" => rec.call_timeout_secs = Some(crate::catalog::call_timeout(&v)?),
                other => return Err(WarehouseError::Syntax(format!("invalid property '{other}' for API integration"))),
            }
        }
        self.wh.catalog().put_integration(&rec)?;
        Ok(QueryResult::status("Statement executed successfully."))
    }

    pub(super) fn drop_integration(&mut self, name: Ident, if_exists: bool) -> Result<QueryResult, WarehouseError> {
        if if_exists && self.wh.catalog().integration(name.as_str())?.is_none() {
            return Ok(QueryResult::status(format!("Drop statement executed successfully ({name} already dropped).")));
        }
        let rec = self.integration_for_change(&name)?;
        self.wh.catalog().drop_integration(&rec.name)?;
        Ok(QueryResult::status(format!("{} successfully dropped.", rec.name)))
    }

    pub(super) fn describe_integration(&mut self, name: Ident) -> Result<QueryResult, WarehouseError> {
        let rec = self
            .wh
            .catalog()
            .integration(name.as_str())?
            .ok_or_else(|| WarehouseError::not_found("Integration", name.as_str()))?;
        let roles = self.effective_roles()?;
        if !roles.contains(&rec.owner) && !self.wh.catalog().has_privilege(&roles, "USAGE", "INTEGRATION", &rec.name)? {
            return Err(WarehouseError::Insufficient { kind: "integration", name: rec.name });
        }
        let row = |p: &str, t: &str, v: String, d: &str| vec![Some(p.to_string()), Some(t.to_string()), Some(v), Some(d.to_string())];
        let rows = vec![
            row("ENABLED", "Boolean", rec.enabled.to_string(), "false"),
            row("API_KEY", "String", rec.api_key.as_ref().map(|_| "********".to_string()).unwrap_or_default(), ""),
            row("API_PROVIDER", "String", rec.provider.clone(), ""),
            row("COMMENT", "String", rec.comment.clone().unwrap_or_default(), ""),
            row("API_AWS_ROLE_ARN", "String", rec.role_arn.clone(), ""),
            row("API_AWS_IAM_USER_ARN", "String", self.wh.integration_user_arn().to_string(), ""),
            row("API_AWS_EXTERNAL_ID", "String", rec.external_id.clone(), ""),
            row("API_ALLOWED_PREFIXES", "List", rec.allowed.join(","), "[]"),
            row("API_BLOCKED_PREFIXES", "List", rec.blocked.join(","), "[]"),
            row("API_CALL_TIMEOUT", "Integer", rec.call_timeout_secs.unwrap_or(self.wh.0.ext.config.retry_timeout.as_secs()).to_string(), &self.wh.0.ext.config.retry_timeout.as_secs().to_string()),
        ];
        Ok(QueryResult::table(&["property", "property_type", "property_value", "property_default"], rows))
    }

    pub(super) fn create_function(&mut self, def: FunctionDef, opts: CreateOpts) -> Result<QueryResult, WarehouseError> {
        let (db, schema, name) = def.name.qualify(self.database.as_ref(), self.schema.as_ref())?;
        self.require_schema(&db, &schema)?;
        let integration = self
            .wh
            .catalog()
            .integration(&def.integration)?
            .ok_or_else(|| WarehouseError::not_found("Integration", &def.integration))?;
        let roles = self.effective_roles()?;
        if !roles.contains(&integration.owner) && !self.wh.catalog().has_privilege(&roles, "USAGE", "INTEGRATION", &integration.name)? {
            return Err(WarehouseError::Insufficient { kind: "integration", name: integration.name });
        }
        if !integration.admits(&def.url) {
            return Err(prefix_error(&def.url, &integration));
        }
        let types: Vec<String> = def.args.iter().map(|(_, t)| t.clone()).collect();
        let existing = self
            .wh
            .catalog()
            .functions_named(db.as_str(), schema.as_str(), name.as_str())?
            .into_iter()
            .find(|f| f.arg_types() == types);
        if let Some(old) = &existing {
            if !opts.or_replace {
                if opts.if_not_exists {
                    return Ok(QueryResult::status(format!("{name} already exists, statement succeeded.")));
                }
                return Err(WarehouseError::AlreadyExists(old.name.clone()));
            }
            self.wh.catalog().forget_object("FUNCTION", &old.object_key())?;
        }
        let rec = FunctionRecord {
            id: random::hex_id(8),
            db: db.as_str().into(),
            schema: schema.as_str().into(),
            name: name.as_str().into(),
            def,
            owner: self.role.clone(),
            created: now(),
        };
        self.wh.catalog().put_function(&rec)?;
        self.wh.0.fn_names.write().unwrap_or_else(|p| p.into_inner()).insert(rec.name.clone());
        Ok(QueryResult::status(format!("Function {} successfully created.", rec.name)))
    }

    /// The function `name(arg_types)` in the session's scope.
    pub(super) fn find_function(&self, name: &ObjectName, arg_types: &[String]) -> Result<Option<FunctionRecord>, WarehouseError> {
        let (db, schema, fname) = name.qualify(self.database.as_ref(), self.schema.as_ref())?;
        Ok(self
            .wh
            .catalog()
            .functions_named(db.as_str(), schema.as_str(), fname.as_str())?
            .into_iter()
            .find(|f| f.arg_types() == arg_types))
    }

    pub(super) fn drop_function(&mut self, name: ObjectName, arg_types: Vec<String>, if_exists: bool) -> Result<QueryResult, WarehouseError> {
        let Some(f) = self.find_function(&name, &arg_types)? else {
            if if_exists {
                return Ok(QueryResult::status("Drop statement executed successfully."));
            }
            return Err(WarehouseError::not_found("Function", format!("{}({})", name, arg_types.join(", "))));
        };
        if !self.effective_roles()?.contains(&f.owner) {
            return Err(WarehouseError::Insufficient { kind: "function", name: f.name });
        }
        self.wh.catalog().drop_function(&f.id)?;
        self.wh.catalog().forget_object("FUNCTION", &f.object_key())?;
        Ok(QueryResult::status(format!("{} successfully dropped.", f.name)))
    }

    pub(super) fn describe_function(&mut self, name: ObjectName, arg_types: Vec<String>) -> Result<QueryResult, WarehouseError> {
        let f = self
            .find_function(&name, &arg_types)?
            .ok_or_else(|| WarehouseError::not_found("Function", format!("{}({})", name, arg_types.join(", "))))?;
        let roles = self.effective_roles()?;
        let owner = roles.contains(&f.owner);
        if !owner && !self.wh.catalog().has_privilege(&roles, "USAGE", "FUNCTION", &f.object_key())? {
            return Err(WarehouseError::Insufficient { kind: "function", name: f.name });
        }
        let hide = f.def.secure && !owner;
        let d = &f.def;
        let mut rows = vec![
            ("signature", f.signature()),
            ("returns", d.returns.clone()),
            ("language", "EXTERNAL".into()),
            ("null handling", if d.strict { "RETURNS NULL ON NULL INPUT" } else { "CALLED ON NULL INPUT" }.into()),
            ("volatility", if d.immutable { "IMMUTABLE" } else { "VOLATILE" }.into()),
            ("api_integration", d.integration.clone()),
            ("max_batch_rows", d.max_batch_rows.map(|m| m.to_string()).unwrap_or_else(|| "not set".into())),
            ("compression", format!("{:?}", d.compression).to_uppercase()),
        ];
        if !hide {
            let headers: Vec<String> = d.headers.iter().map(|(k, v)| format!("'{k}'='{v}'")).collect();
            rows.push(("headers", format!("({})", headers.join(", "))));
            rows.push(("context_headers", format!("({})", d.context_headers.join(", "))));
            rows.push(("body", d.url.clone()));
        }
        let rows = rows.into_iter().map(|(k, v)| vec![Some(k.to_string()), Some(v)]).collect();
        Ok(QueryResult::table(&["property", "value"], rows))
    }
}
