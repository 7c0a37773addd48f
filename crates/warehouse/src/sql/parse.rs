//! The named fallbacks of [`super::own`]: recpipe's own statements that `sqlparser` does not
//! parse, read from their tokens; anything else is `Passthrough`.

use super::ast::*;
use super::cursor::Cursor;
use super::ident::Ident;
use super::lexer::{Tok, Token};
use super::{split, SourceStatement};
use crate::WarehouseError;

pub fn parse(toks: &[Token]) -> Result<Statement, WarehouseError> {
    let mut c = Cursor::new(toks);
    let st = match c.peek() {
        Some(t) if t.is_kw("CREATE") => create(&mut c)?,
        Some(t) if t.is_kw("DROP") => drop(&mut c)?,
        Some(t) if t.is_kw("SHOW") => show(&mut c)?,
        Some(t) if t.is_kw("DESCRIBE") || t.is_kw("DESC") => describe(&mut c)?,
        Some(t) if t.is_kw("ALTER") => alter(&mut c)?,
        Some(t) if t.is_kw("GRANT") => grant(&mut c, false)?,
        Some(t) if t.is_kw("REVOKE") => grant(&mut c, true)?,
        Some(t) if t.is_kw("EXECUTE") && c.peek_at(1).is_some_and(|t| t.is_kw("TASK")) => {
            c.pos += 2;
            let name = c.object_name()?;
            if c.eat_seq(&["RETRY", "LAST"]) {
                return Err(WarehouseError::Unsupported("EXECUTE TASK ... RETRY LAST".into()));
            }
            Statement::ExecuteTask(name)
        }
        _ => return Ok(Statement::Passthrough),
    };
    if !matches!(st, Statement::Passthrough) {
        c.expect_end()?;
    }
    Ok(st)
}

/// Parses one statement of a script like [`parse`], and fills a task's `AS` statement with its
/// text, verbatim, after checking it is one statement without bind variables (recpipe's own
/// statements are parsed now, the rest when the task runs).
pub fn parse_source(st: &SourceStatement) -> Result<Statement, WarehouseError> {
    let mut out = parse(&st.toks)?;
    let body = match &mut out {
        Statement::CreateTask { def, .. } => Some(&mut def.body),
        Statement::AlterTask { action: TaskAction::ModifyAs(b), .. } => Some(b),
        _ => None,
    };
    if let Some(b) = body {
        let base = st.toks.first().map_or(0, |t| t.start);
        b.text = st.text.get(b.start.saturating_sub(base)..).unwrap_or_default().trim().to_string();
        let inner = split(&b.text)?;
        let [one] = inner.as_slice() else {
            return Err(WarehouseError::Syntax("a task runs exactly one SQL statement after AS".into()));
        };
        if one.toks.iter().any(|t| matches!(t.tok, Tok::Bind(_))) {
            return Err(WarehouseError::Unsupported("bind variables in a task's statement".into()));
        }
        if parse(&one.toks)? == Statement::Passthrough {
            super::front::parse_statement(&one.text)?;
        }
    }
    Ok(out)
}

fn if_not_exists(c: &mut Cursor) -> bool {
    c.eat_seq(&["IF", "NOT", "EXISTS"])
}

fn create(c: &mut Cursor) -> Result<Statement, WarehouseError> {
    c.expect("CREATE")?;
    let or_replace = c.eat_seq(&["OR", "REPLACE"]);
    let secure = c.eat("SECURE");
    let kind_pos = c.pos;
    let st = if c.eat("DATABASE") {
        let opts = CreateOpts { or_replace, if_not_exists: if_not_exists(c) };
        Statement::CreateDatabase { name: c.ident()?, opts }
    } else if c.eat("SCHEMA") {
        let opts = CreateOpts { or_replace, if_not_exists: if_not_exists(c) };
        Statement::CreateSchema { name: c.object_name()?, opts }
    } else if c.eat("WAREHOUSE") {
        let opts = CreateOpts { or_replace, if_not_exists: if_not_exists(c) };
        let name = c.ident()?;
        c.eat("WITH");
        Statement::CreateWarehouse { name, opts, props: props(c)? }
    } else if c.eat_seq(&["API", "INTEGRATION"]) {
        let opts = CreateOpts { or_replace, if_not_exists: if_not_exists(c) };
        Statement::CreateIntegration { def: integration(c)?, opts }
    } else if c.eat_seq(&["EXTERNAL", "FUNCTION"]) {
        let opts = CreateOpts { or_replace, if_not_exists: if_not_exists(c) };
        Statement::CreateFunction { def: super::function::external_function(c, secure)?, opts }
    } else if c.eat("ROLE") {
        let opts = CreateOpts { or_replace, if_not_exists: if_not_exists(c) };
        let name = c.ident()?;
        if c.eat("COMMENT") {
            c.expect_op("=")?;
            c.string()?;
        }
        Statement::CreateRole { name, opts }
    } else if c.eat("TASK") {
        super::task::create_task(c, or_replace)?
    } else if c.eat("USER") {
        super::user::create_user(c, or_replace)?
    } else if c.peek().is_some_and(|t| t.is_kw("INTEGRATION") || t.is_kw("FUNCTION")) {
        let what = match c.peek() {
            Some(Tok::Word(w)) => w.to_uppercase(),
            _ => String::new(),
        };
        return Err(WarehouseError::Unsupported(format!("CREATE {what} (only API integrations and external functions)")));
    } else {
        c.pos = kind_pos;
        if secure {
            return Err(WarehouseError::Unsupported("CREATE SECURE (other than external functions)".into()));
        }
        return Ok(Statement::Passthrough);
    };
    Ok(st)
}

/// `key = value key = value ...` until the end.
fn props(c: &mut Cursor) -> Result<Vec<(String, String)>, WarehouseError> {
    let mut out = Vec::new();
    while !c.at_end() {
        let k = c.ident()?.as_str().to_string();
        c.expect_op("=")?;
        out.push((k, c.value()?));
    }
    Ok(out)
}

fn integration(c: &mut Cursor) -> Result<IntegrationDef, WarehouseError> {
    let name = c.ident()?;
    let mut def = IntegrationDef {
        name,
        provider: String::new(),
        role_arn: String::new(),
        api_key: None,
        enabled: true,
        allowed: Vec::new(),
        blocked: Vec::new(),
        comment: None,
        call_timeout_secs: None,
    };
    let mut enabled_seen = false;
    while !c.at_end() {
        let key = c.ident()?;
        c.expect_op("=")?;
        match key.as_str() {
            "API_PROVIDER" => def.provider = c.value()?.to_uppercase(),
            "API_AWS_ROLE_ARN" => def.role_arn = c.string()?,
            "API_KEY" => def.api_key = Some(c.string()?),
            "ENABLED" => {
                def.enabled = c.boolean()?;
                enabled_seen = true;
            }
            "API_ALLOWED_PREFIXES" => def.allowed = c.string_list()?,
            "API_BLOCKED_PREFIXES" => def.blocked = c.string_list()?,
            "COMMENT" => def.comment = Some(c.string()?),
            "API_CALL_TIMEOUT" => def.call_timeout_secs = Some(crate::catalog::call_timeout(&c.value()?)?),
            "AZURE_TENANT_ID" | "AZURE_AD_APPLICATION_ID" | "GOOGLE_AUDIENCE" => {
                return Err(WarehouseError::Unsupported(format!("API integration property {key}")))
            }
            other => return Err(WarehouseError::Syntax(format!("invalid property '{other}' for API integration"))),
        }
    }
    let _ = enabled_seen;
    Ok(def)
}

fn drop(c: &mut Cursor) -> Result<Statement, WarehouseError> {
    c.expect("DROP")?;
    let start = c.pos;
    let kind = if c.eat_seq(&["API", "INTEGRATION"]) || c.eat("INTEGRATION") {
        "INTEGRATION"
    } else if c.eat_seq(&["EXTERNAL", "FUNCTION"]) || c.eat("FUNCTION") {
        "FUNCTION"
    } else if c.eat("TASK") {
        "TASK"
    } else {
        c.pos = start;
        return Ok(Statement::Passthrough);
    };
    let if_exists = c.eat_seq(&["IF", "EXISTS"]);
    Ok(match kind {
        "INTEGRATION" => Statement::DropIntegration { name: c.ident()?, if_exists },
        "TASK" => Statement::DropTask { name: c.object_name()?, if_exists },
        _ => {
            let name = c.object_name()?;
            let arg_types = type_list(c)?;
            Statement::DropFunction { name, arg_types, if_exists }
        }
    })
}

/// `(VARCHAR, NUMBER)`: argument types of a function reference.
pub(super) fn type_list(c: &mut Cursor) -> Result<Vec<String>, WarehouseError> {
    c.expect_op("(")?;
    let mut out = Vec::new();
    if c.eat_op(")") {
        return Ok(out);
    }
    loop {
        out.push(super::types::canonical(&c.type_name()?));
        if c.eat_op(")") {
            return Ok(out);
        }
        c.expect_op(",")?;
    }
}

fn show(c: &mut Cursor) -> Result<Statement, WarehouseError> {
    c.expect("SHOW")?;
    c.eat("TERSE");
    if c.eat("GRANTS") {
        let of = if c.eat("TO") {
            if c.eat("ROLE") {
                GrantsOf::ToRole(c.ident()?)
            } else if c.eat("USER") {
                GrantsOf::ToUser(c.ident()?)
            } else {
                return Err(c.unexpected("ROLE or USER"));
            }
        } else if c.eat("ON") {
            let kind = match c.next() {
                Some(Tok::Word(w)) => w.to_uppercase(),
                _ => return Err(WarehouseError::Syntax("expected an object kind after ON".into())),
            };
            let name = c.object_name()?;
            if c.peek().is_some_and(|t| t.is_op("(")) {
                type_list(c)?;
            }
            GrantsOf::On { kind, name }
        } else {
            GrantsOf::Current
        };
        return Ok(Statement::ShowGrants(of));
    }
    if c.eat("TASKS") {
        return super::task::show_tasks(c);
    }
    if c.eat("PARAMETERS") {
        let like = if c.eat("LIKE") { Some(c.string()?) } else { None };
        if (c.eat("IN") || c.eat("FOR")) && !(c.eat("SESSION") || c.eat("ACCOUNT")) {
            return Err(WarehouseError::Unsupported("SHOW PARAMETERS IN <object> (only IN SESSION or IN ACCOUNT)".into()));
        }
        return Ok(Statement::ShowParameters { like });
    }
    let kind = if c.eat("WAREHOUSES") {
        ShowKind::Warehouses
    } else if c.eat("INTEGRATIONS") || c.eat_seq(&["API", "INTEGRATIONS"]) {
        ShowKind::Integrations
    } else if c.eat_seq(&["EXTERNAL", "FUNCTIONS"]) || c.eat_seq(&["USER", "FUNCTIONS"]) {
        ShowKind::ExternalFunctions
    } else if c.eat("FUNCTIONS") {
        ShowKind::Functions
    } else if c.eat("ROLES") {
        ShowKind::Roles
    } else if c.eat("USERS") {
        ShowKind::Users
    } else {
        let what = match c.peek() {
            Some(Tok::Word(w)) => w.to_uppercase(),
            _ => "?".into(),
        };
        // Read from the tree (`super::show`).
        if ["TABLES", "VIEWS", "COLUMNS", "DATABASES", "SCHEMAS", "OBJECTS", "MATERIALIZED"].contains(&what.as_str()) {
            return Ok(Statement::Passthrough);
        }
        return Err(WarehouseError::Unsupported(format!("SHOW {what}")));
    };
    let mut like = None;
    if c.eat("LIKE") {
        like = Some(c.string()?);
    }
    let scope = super::task::show_scope(c, &format!("{kind:?}").to_uppercase())?;
    Ok(Statement::Show { kind, like, scope })
}

fn describe(c: &mut Cursor) -> Result<Statement, WarehouseError> {
    c.next();
    if c.eat("VIEW") {
        return Ok(Statement::DescribeTable(c.object_name()?));
    }
    if c.eat_seq(&["API", "INTEGRATION"]) || c.eat("INTEGRATION") {
        return Ok(Statement::DescribeIntegration(c.ident()?));
    }
    if c.eat_seq(&["EXTERNAL", "FUNCTION"]) || c.eat("FUNCTION") {
        let name = c.object_name()?;
        let arg_types = type_list(c)?;
        return Ok(Statement::DescribeFunction { name, arg_types });
    }
    if c.eat("TASK") {
        return Ok(Statement::DescribeTask(c.object_name()?));
    }
    if c.eat("USER") {
        return Ok(Statement::DescribeUser(c.ident()?));
    }
    Ok(Statement::Passthrough)
}

fn alter(c: &mut Cursor) -> Result<Statement, WarehouseError> {
    c.expect("ALTER")?;
    if c.eat("TASK") {
        return super::task::alter_task(c);
    }
    if c.eat("USER") {
        return super::user::alter_user(c);
    }
    if !(c.eat_seq(&["API", "INTEGRATION"]) || c.eat("INTEGRATION")) {
        return Ok(Statement::Passthrough);
    }
    c.eat_seq(&["IF", "EXISTS"]);
    let name = c.ident()?;
    c.expect("SET")?;
    let mut set = Vec::new();
    while !c.at_end() {
        let key = c.ident()?.as_str().to_string();
        c.expect_op("=")?;
        let value = if c.peek().is_some_and(|t| t.is_op("(")) {
            serde_json::to_string(&c.string_list()?).unwrap_or_default()
        } else {
            c.value()?
        };
        set.push((key, value));
    }
    Ok(Statement::AlterIntegration { name, set })
}

fn grant(c: &mut Cursor, revoke: bool) -> Result<Statement, WarehouseError> {
    c.next();
    if c.eat("ROLE") {
        let role = c.ident()?;
        c.expect(if revoke { "FROM" } else { "TO" })?;
        if revoke {
            return Err(WarehouseError::Unsupported("REVOKE ROLE".into()));
        }
        if c.eat("USER") {
            return Ok(Statement::GrantRole { role, to_role: None, to_user: Some(c.ident()?) });
        }
        c.expect("ROLE")?;
        return Ok(Statement::GrantRole { role, to_role: Some(c.ident()?), to_user: None });
    }
    let mut privileges = Vec::new();
    loop {
        let p = match c.next() {
            Some(Tok::Word(w)) => w.to_uppercase(),
            _ => return Err(WarehouseError::Syntax("expected a privilege".into())),
        };
        let two_words = ["CREATE", "EXECUTE", "APPLY", "IMPORT", "MONITOR"].contains(&p.as_str())
            && c.peek().is_some_and(|t| !t.is_kw("ON") && !t.is_op(","));
        let p = if p == "ALL" {
            c.eat("PRIVILEGES");
            p
        } else if two_words {
            // Two-word privileges: `CREATE TASK`, `EXECUTE TASK`, `CREATE TABLE`, ...
            match c.next() {
                Some(Tok::Word(w)) => format!("{p} {}", w.to_uppercase()),
                _ => return Err(WarehouseError::Syntax("expected a privilege".into())),
            }
        } else {
            p
        };
        privileges.push(p);
        if !c.eat_op(",") {
            break;
        }
    }
    c.expect("ON")?;
    if c.eat("FUTURE") || c.peek().is_some_and(|t| t.is_kw("ALL")) {
        return Err(WarehouseError::Unsupported("GRANT ... ON ALL/FUTURE".into()));
    }
    let mut kind = match c.next() {
        Some(Tok::Word(w)) => w.to_uppercase(),
        _ => return Err(WarehouseError::Syntax("expected an object kind after ON".into())),
    };
    if kind == "EXTERNAL" || kind == "API" {
        c.next();
        kind = if kind == "EXTERNAL" { "FUNCTION".into() } else { "INTEGRATION".into() };
    }
    if !["FUNCTION", "TABLE", "VIEW", "INTEGRATION", "WAREHOUSE", "DATABASE", "SCHEMA", "TASK"].contains(&kind.as_str()) {
        return Err(WarehouseError::Unsupported(format!("GRANT ON {kind}")));
    }
    let name = c.object_name()?;
    let arg_types = if kind == "FUNCTION" { type_list(c)? } else { Vec::new() };
    c.expect(if revoke { "FROM" } else { "TO" })?;
    if c.eat("SHARE") || c.eat("USER") {
        return Err(WarehouseError::Unsupported("privileges granted to a share or user".into()));
    }
    c.eat("ROLE");
    let role: Ident = c.ident()?;
    c.eat_seq(&["WITH", "GRANT", "OPTION"]);
    let target = GrantTarget { privileges, kind, name, arg_types, revoke_current_grants: false };
    Ok(if revoke { Statement::Revoke { target, role } } else { Statement::Grant { target, role } })
}
