use super::ast::*;
use super::*;

fn one(sql: &str) -> Statement {
    let s = split(sql).unwrap();
    assert_eq!(s.len(), 1, "{sql}");
    parse(&s[0].toks).unwrap()
}

#[test]
fn splitter_respects_strings_and_comments() {
    let s = split("select ';' ; -- step: x;\n select 2; ; /* ; */").unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].text, "select ';'");
    assert_eq!(s[1].text, "select 2");
}

#[test]
fn lab_flow_statements_parse() {
    // `USE` is read from the tree (`own`); the fallback leaves it alone.
    assert_eq!(one("use role sysadmin"), Statement::Passthrough);
    match one("create or replace warehouse compute_wh with warehouse_size = 'XSMALL' auto_suspend = 60 auto_resume = true") {
        Statement::CreateWarehouse { name, opts, props } => {
            assert_eq!(name.as_str(), "COMPUTE_WH");
            assert!(opts.or_replace);
            assert_eq!(props[0], ("WAREHOUSE_SIZE".into(), "XSMALL".into()));
            assert_eq!(props[1], ("AUTO_SUSPEND".into(), "60".into()));
        }
        other => panic!("{other:?}"),
    }
    match one("create or replace api integration snf api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::123456789012:role/r' enabled = true api_allowed_prefixes = ('https://a/dev/')") {
        Statement::CreateIntegration { def, .. } => {
            assert_eq!(def.name.as_str(), "SNF");
            assert_eq!(def.provider, "AWS_API_GATEWAY");
            assert_eq!(def.allowed, vec!["https://a/dev/".to_string()]);
            assert!(def.enabled);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(one("describe integration snf"), Statement::DescribeIntegration(_)));
    match one("create or replace external function train(input_table_name varchar, output_table_name varchar) returns variant api_integration = snf as 'https://a/dev/train'") {
        Statement::CreateFunction { def, .. } => {
            assert_eq!(def.args, vec![("INPUT_TABLE_NAME".into(), "VARCHAR".into()), ("OUTPUT_TABLE_NAME".into(), "VARCHAR".into())]);
            assert_eq!(def.returns, "VARIANT");
            assert_eq!(def.integration, "SNF");
            assert_eq!(def.url, "https://a/dev/train");
        }
        other => panic!("{other:?}"),
    }
    let grant = &split("grant usage on function deploy_model(varchar, varchar) to role sysadmin").unwrap()[0];
    match own::classify(grant).unwrap() {
        own::Classified::Own(Statement::Grant { target, role }) => {
            assert_eq!(target.kind, "FUNCTION");
            assert_eq!(target.arg_types, vec!["VARCHAR", "VARCHAR"]);
            assert_eq!(role.as_str(), "SYSADMIN");
        }
        other => panic!("{other:?}"),
    }
    match one("grant usage on external function deploy_model(varchar, varchar) to role sysadmin") {
        Statement::Grant { target, role } => {
            assert_eq!(target.kind, "FUNCTION");
            assert_eq!(target.arg_types, vec!["VARCHAR", "VARCHAR"]);
            assert_eq!(role.as_str(), "SYSADMIN");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(one("show external functions"), Statement::Show { kind: ShowKind::ExternalFunctions, .. }));
    assert_eq!(one("select count(*) from ratings"), Statement::Passthrough);
    assert_eq!(one("create or replace table t (a int)"), Statement::Passthrough);
    assert!(matches!(one("alter api integration snf set enabled = false"), Statement::AlterIntegration { .. }));
}

#[test]
fn function_options_are_read() {
    match one("create secure external function f(n number) returns variant not null returns null on null input immutable api_integration = i headers = ('version' = '2') context_headers = (current_user, current_role) max_batch_rows = 10 compression = none as 'http://x/'") {
        Statement::CreateFunction { def, .. } => {
            assert!(def.secure && def.strict && def.immutable && def.not_null);
            assert_eq!(def.headers, vec![("version".into(), "2".into())]);
            assert_eq!(def.context_headers, vec!["CURRENT_USER", "CURRENT_ROLE"]);
            assert_eq!(def.max_batch_rows, Some(10));
            assert_eq!(def.compression, Compression::None);
        }
        other => panic!("{other:?}"),
    }
    let bad = split("create external function f() returns variant api_integration = i headers = ('a b' = 'x') as 'u'").unwrap();
    assert!(parse(&bad[0].toks).is_err());
}

#[test]
fn unsupported_constructs_are_named() {
    let s = split("show pipes").unwrap();
    let e = parse(&s[0].toks).unwrap_err().to_string();
    assert!(e.contains("SHOW PIPES"), "{e}");
}

fn source(sql: &str) -> Result<Statement, WarehouseError> {
    let s = split(sql).unwrap();
    assert_eq!(s.len(), 1, "{sql}");
    parse_source(&s[0])
}

#[test]
fn create_task_keeps_its_statement_verbatim() {
    let sql = "create or replace task if not exists db.s.\"My Task\" warehouse = compute_wh schedule = 'USING CRON 0 3 * * * UTC'\n  comment = 'nightly' allow_overlapping_execution = true\n  as insert into t (a, b) select 1, 'x''y' from /* c */  other -- trailing\n";
    match source(sql).unwrap() {
        Statement::CreateTask { def, opts } => {
            assert!(opts.or_replace && opts.if_not_exists);
            assert_eq!(def.name.to_string(), "DB.S.My Task");
            assert_eq!(def.props.warehouse, Some(Ident::unquoted("compute_wh")));
            assert_eq!(def.props.schedule.as_deref(), Some("USING CRON 0 3 * * * UTC"));
            assert_eq!(def.props.comment.as_deref(), Some("nightly"));
            assert_eq!(def.props.allow_overlapping, Some(true));
            assert_eq!(def.body.text, "insert into t (a, b) select 1, 'x''y' from /* c */  other");
        }
        other => panic!("{other:?}"),
    }
    // In a script, the body ends at its statement's `;`.
    let s = split("create task t schedule = '1 minute' as select 1; select 2").unwrap();
    match parse_source(&s[0]).unwrap() {
        Statement::CreateTask { def, .. } => assert_eq!(def.body.text, "select 1"),
        other => panic!("{other:?}"),
    }
    // The statement after AS may be one of recpipe's own; it is checked now.
    assert!(matches!(source("create task t as create database d"), Ok(Statement::CreateTask { .. })));
    assert!(source("create task t as create database").is_err());
}

#[test]
fn task_statements_parse() {
    assert!(matches!(source("create task t as"), Err(WarehouseError::Syntax(_))));
    assert!(matches!(source("create task t schedule = 5 as select 1"), Err(WarehouseError::Syntax(_))));
    assert!(matches!(source("create task t bogus = 1 as select 1"), Err(WarehouseError::Syntax(_))));
    assert!(matches!(source("create task t after a as select 1"), Err(WarehouseError::Unsupported(_))));
    assert!(matches!(source("create task t when true as select 1"), Err(WarehouseError::Unsupported(_))));
    assert!(matches!(source("create task t user_task_timeout_ms = 10 as select 1"), Err(WarehouseError::Unsupported(_))));
    assert!(matches!(source("create task t as select ?"), Err(WarehouseError::Unsupported(_))));
    let name = |s: &str| ObjectName::parse(s).unwrap();
    assert_eq!(source("alter task t resume").unwrap(), Statement::AlterTask { name: name("t"), if_exists: false, action: TaskAction::Resume });
    assert_eq!(source("alter task if exists d.s.t suspend").unwrap(), Statement::AlterTask { name: name("d.s.t"), if_exists: true, action: TaskAction::Suspend });
    match source("alter task t set schedule = '5 minutes' comment = 'c'").unwrap() {
        Statement::AlterTask { action: TaskAction::Set(p), .. } => {
            assert_eq!(p.schedule.as_deref(), Some("5 minutes"));
            assert_eq!(p.comment.as_deref(), Some("c"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        source("alter task t unset comment, warehouse").unwrap(),
        Statement::AlterTask { name: name("t"), if_exists: false, action: TaskAction::Unset(vec!["COMMENT".into(), "WAREHOUSE".into()]) }
    );
    match source("alter task t modify as select  2").unwrap() {
        Statement::AlterTask { action: TaskAction::ModifyAs(b), .. } => assert_eq!(b.text, "select  2"),
        other => panic!("{other:?}"),
    }
    assert!(source("alter task t").is_err());
    assert!(source("alter task t resume now").is_err());
    assert_eq!(source("execute task d.s.t").unwrap(), Statement::ExecuteTask(name("d.s.t")));
    assert!(matches!(source("execute task t retry last"), Err(WarehouseError::Unsupported(_))));
    assert_eq!(source("describe task t").unwrap(), Statement::DescribeTask(name("t")));
    assert_eq!(source("desc task t").unwrap(), Statement::DescribeTask(name("t")));
    assert_eq!(source("drop task if exists t").unwrap(), Statement::DropTask { name: name("t"), if_exists: true });
    assert_eq!(source("show tasks").unwrap(), Statement::ShowTasks { like: None, scope: ShowScope::Default });
    assert_eq!(
        source("show terse tasks like 'n%' in account").unwrap(),
        Statement::ShowTasks { like: Some("n%".into()), scope: ShowScope::Account }
    );
    assert_eq!(
        source("show tasks in schema d.s").unwrap(),
        Statement::ShowTasks { like: None, scope: ShowScope::Schema(name("d.s")) }
    );
    assert_eq!(source("show tasks in database d").unwrap(), Statement::ShowTasks { like: None, scope: ShowScope::Database(Ident::unquoted("d")) });
    match source("grant operate, monitor on task t to role r").unwrap() {
        Statement::Grant { target, .. } => {
            assert_eq!(target.kind, "TASK");
            assert_eq!(target.privileges, vec!["OPERATE", "MONITOR"]);
        }
        other => panic!("{other:?}"),
    }
    match source("grant create task, usage on schema d.s to role r").unwrap() {
        Statement::Grant { target, .. } => assert_eq!(target.privileges, vec!["CREATE TASK", "USAGE"]),
        other => panic!("{other:?}"),
    }
    // Other statements starting with EXECUTE are not recpipe's.
    assert_eq!(source("execute immediate 'select 1'").unwrap(), Statement::Passthrough);
}
