//! What translating a statement asks of the session it runs in.

use super::ident::ObjectName;
use super::translate::TableArg;
use crate::WarehouseError;

/// The session's side of [`super::translate`]: external functions, context values, the table
/// functions and catalog views recpipe answers itself.
pub trait TranslateContext {
    /// If `name` is an external function callable with `argc` arguments: the SQL that opens the
    /// call, up to and including `CAST(JSON_ARRAY(` (the translation closes it with
    /// ` AS VARCHAR)) AS JSON)` after the arguments). Checks privileges.
    fn external_call(&self, name: &ObjectName, argc: usize) -> Result<Option<String>, WarehouseError>;
    /// The value of a context function (`CURRENT_ROLE`, ...), if the session knows it.
    fn context_value(&self, func: &str) -> Option<String>;
    /// If `name(args)` is a table function recpipe answers itself (`TASK_HISTORY`): a
    /// parenthesised subquery that replaces the call (and the `TABLE( )` around it).
    fn table_function(&self, name: &ObjectName, args: &[TableArg]) -> Result<Option<String>, WarehouseError> {
        let _ = (name, args);
        Ok(None)
    }
    /// Whether `name` is a function the session resolves itself (an external function): the
    /// function check lets its calls through (the call itself checks privileges).
    fn known_function(&self, name: &ObjectName) -> Result<bool, WarehouseError> {
        let _ = name;
        Ok(false)
    }
    /// `LAST_QUERY_ID(n)`: the id of the session's statement `n` (`-1` the latest before this
    /// one, `1` its first), if the session still knows it.
    fn last_query_id(&self, n: i64) -> Option<String> {
        let _ = n;
        None
    }
    /// If `name` (a table reference) is a catalog view recpipe answers itself
    /// (`INFORMATION_SCHEMA.TABLES`, ...): the parenthesised subquery that replaces it.
    fn catalog_view(&self, name: &ObjectName) -> Result<Option<String>, WarehouseError> {
        let _ = name;
        Ok(None)
    }
}
