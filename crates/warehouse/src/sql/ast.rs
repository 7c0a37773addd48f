//! The statements recpipe executes itself (everything else is rewritten and passed to DuckDB).

use super::ident::{Ident, ObjectName};

#[derive(Debug, Clone, PartialEq)]
pub struct CreateOpts {
    pub or_replace: bool,
    pub if_not_exists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseKind {
    Database,
    Schema,
    Role,
    Warehouse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowKind {
    Databases,
    Schemas,
    Tables,
    Views,
    Warehouses,
    Integrations,
    /// `SHOW FUNCTIONS`: the built-in functions and the external functions the role may use.
    Functions,
    /// `SHOW EXTERNAL | USER FUNCTIONS`.
    ExternalFunctions,
    Roles,
    Users,
}

/// `SHOW GRANTS` variants.
#[derive(Debug, Clone, PartialEq)]
pub enum GrantsOf {
    /// Plain `SHOW GRANTS`: the current role's.
    Current,
    ToRole(Ident),
    ToUser(Ident),
    On { kind: String, name: ObjectName },
}

/// The value of an object property as written (`KEY = value`); the statement's executor knows
/// which form each key takes.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    Text(String),
    /// A name, possibly dotted (`DEFAULT_NAMESPACE = movielens.public`).
    Name(ObjectName),
    Bool(bool),
    Number(String),
}

/// `ALTER USER name SET ... | UNSET ...`.
#[derive(Debug, Clone, PartialEq)]
pub enum UserAction {
    Set(Vec<(String, PropValue)>),
    /// Property names, upper case.
    Unset(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationDef {
    pub name: Ident,
    pub provider: String,
    pub role_arn: String,
    pub api_key: Option<String>,
    pub enabled: bool,
    pub allowed: Vec<String>,
    pub blocked: Vec<String>,
    pub comment: Option<String>,
    /// `API_CALL_TIMEOUT = <seconds>`.
    pub call_timeout_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Compression {
    None,
    Gzip,
    Deflate,
    Auto,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FunctionDef {
    pub name: ObjectName,
    pub secure: bool,
    pub args: Vec<(String, String)>,
    pub returns: String,
    pub not_null: bool,
    pub strict: bool,
    pub immutable: bool,
    pub integration: String,
    pub headers: Vec<(String, String)>,
    pub context_headers: Vec<String>,
    pub max_batch_rows: Option<u32>,
    pub compression: Compression,
    pub url: String,
    pub comment: Option<String>,
}

/// Privileges recpipe records: `USAGE` (functions, integrations, warehouses, databases,
/// schemas), `SELECT`/`INSERT`/... (tables), `OWNERSHIP`.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantTarget {
    pub privileges: Vec<String>,
    /// `FUNCTION`, `TABLE`, `INTEGRATION`, `WAREHOUSE`, `DATABASE`, `SCHEMA`.
    pub kind: String,
    pub name: ObjectName,
    /// For functions: the argument types, upper-cased.
    pub arg_types: Vec<String>,
    /// `GRANT OWNERSHIP ... REVOKE CURRENT GRANTS` (`true`) or `COPY CURRENT GRANTS`.
    pub revoke_current_grants: bool,
}

/// `CREATE TASK`'s properties (also what `ALTER TASK ... SET` changes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskProps {
    pub warehouse: Option<Ident>,
    /// As written, checked by `tasks::Schedule::parse`.
    pub schedule: Option<String>,
    pub comment: Option<String>,
    pub allow_overlapping: Option<bool>,
}

/// The statement after a task's `AS`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskBody {
    /// Byte offset of its first token in the script.
    pub start: usize,
    /// Its text, verbatim (filled by `sql::parse_source`).
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskDef {
    pub name: ObjectName,
    pub props: TaskProps,
    pub body: TaskBody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskAction {
    Resume,
    Suspend,
    Set(TaskProps),
    /// Property names, upper-cased.
    Unset(Vec<String>),
    ModifyAs(TaskBody),
}

/// `SHOW ... IN ...`.
#[derive(Debug, Clone, PartialEq)]
pub enum ShowScope {
    /// No `IN`: the current database if there is one, else the account.
    Default,
    Account,
    Database(Ident),
    Schema(ObjectName),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    CreateDatabase { name: Ident, opts: CreateOpts },
    CreateSchema { name: ObjectName, opts: CreateOpts },
    CreateWarehouse { name: Ident, opts: CreateOpts, props: Vec<(String, String)> },
    DropDatabase { name: Ident, if_exists: bool },
    DropWarehouse { name: Ident, if_exists: bool },
    Use { kind: UseKind, name: ObjectName },
    Show { kind: ShowKind, like: Option<String>, scope: ShowScope },
    ShowGrants(GrantsOf),
    /// `SHOW COLUMNS [LIKE ..] [IN TABLE t | IN scope]`: `table` when the scope is one table.
    ShowColumns { like: Option<String>, table: Option<ObjectName>, scope: ShowScope },
    /// `SHOW PARAMETERS [LIKE ..] [IN SESSION | IN ACCOUNT]`.
    ShowParameters { like: Option<String> },
    DescribeTable(ObjectName),
    DescribeIntegration(Ident),
    DescribeFunction { name: ObjectName, arg_types: Vec<String> },
    CreateIntegration { def: IntegrationDef, opts: CreateOpts },
    AlterIntegration { name: Ident, set: Vec<(String, String)> },
    DropIntegration { name: Ident, if_exists: bool },
    CreateFunction { def: FunctionDef, opts: CreateOpts },
    DropFunction { name: ObjectName, arg_types: Vec<String>, if_exists: bool },
    CreateRole { name: Ident, opts: CreateOpts },
    DropRole { name: Ident, if_exists: bool },
    GrantRole { role: Ident, to_role: Option<Ident>, to_user: Option<Ident> },
    Grant { target: GrantTarget, role: Ident },
    Revoke { target: GrantTarget, role: Ident },
    CreateUser { name: Ident, opts: CreateOpts, props: Vec<(String, PropValue)> },
    AlterUser { name: Ident, if_exists: bool, action: UserAction },
    DescribeUser(Ident),
    CreateTask { def: TaskDef, opts: CreateOpts },
    AlterTask { name: ObjectName, if_exists: bool, action: TaskAction },
    ExecuteTask(ObjectName),
    DescribeTask(ObjectName),
    DropTask { name: ObjectName, if_exists: bool },
    ShowTasks { like: Option<String>, scope: ShowScope },
    /// Anything else: rewritten for DuckDB.
    Passthrough,
}
