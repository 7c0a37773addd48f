//! The warehouse's error kinds and their one mapping to Snowflake's wire codes.

use thiserror::Error;

/// A statement or API call failed. Messages follow Snowflake's wording where it has one and name
/// the offending object, token or header.
#[derive(Debug, Error)]
pub enum WarehouseError {
    /// The SQL text does not parse.
    #[error("SQL compilation error:\nsyntax error {0}")]
    Syntax(String),
    /// Valid Snowflake syntax recpipe does not implement.
    #[error("SQL compilation error:\nunsupported feature '{0}'")]
    Unsupported(String),
    #[error("SQL compilation error:\n{kind} '{name}' does not exist or not authorized.")]
    NotFound { kind: &'static str, name: String },
    /// A call of a function recpipe does not know: neither a Snowflake function it translates
    /// nor an engine function on its reviewed list (see `sql::allowlist`).
    #[error("SQL compilation error:\nUnknown function {0}")]
    UnknownFunction(String),
    /// A NULL for a column declared NOT NULL.
    #[error("NULL result in a non-nullable column: {0}")]
    NullInNotNull(String),
    /// Text that is not JSON given where JSON is read (`PARSE_JSON`).
    #[error("Error parsing JSON: {0}")]
    BadJson(String),
    #[error("Division by zero")]
    DivisionByZero,
    /// A column name that names no column where it is used.
    #[error("SQL compilation error:\ninvalid identifier '{0}'")]
    InvalidIdentifier(String),
    #[error("SQL compilation error:\nObject '{0}' already exists.")]
    AlreadyExists(String),
    /// Snowflake's wording: `Insufficient privileges to operate on <kind> '<name>'`.
    #[error("SQL access control error:\nInsufficient privileges to operate on {kind} '{name}'")]
    Insufficient { kind: &'static str, name: String },
    /// A statement's argument is wrong (bad prefix, bad option value...).
    #[error("SQL compilation error:\n{0}")]
    Invalid(String),
    /// The engine refused or failed the statement; DuckDB's message, lightly edited.
    #[error("SQL execution error:\n{0}")]
    Execution(String),
    /// An external function call failed (remote status, bad response, credentials).
    #[error("{0}")]
    ExternalFunction(String),
    /// Login failed: unknown user or wrong password (one message for both).
    #[error("Incorrect username or password was specified.")]
    BadCredentials,
    /// Missing, unknown or malformed bearer token.
    #[error("Invalid OAuth access token.")]
    BadToken,
    #[error("Authentication token has expired.  The user must authenticate again.")]
    TokenExpired,
    /// A key-pair JWT was refused, for whatever reason (the log has it under this id).
    #[error("JWT token is invalid. [{0}]")]
    JwtInvalid(String),
    #[error("Statement {0} not found.")]
    NoSuchStatement(String),
    #[error("Statement reached its statement or warehouse timeout of {0} second(s) and was canceled.")]
    Timeout(u64),
    #[error("SQL execution canceled")]
    Canceled,
    /// A request body above the API's cap, refused before it is parsed.
    #[error("request body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// A request body that is not the JSON the route takes.
    #[error("request body is not valid: {0}")]
    BadBody(String),
    /// A storage or I/O failure; the detail is for the log, see [`WarehouseError::wire_message`].
    #[error("warehouse internal error: {0}")]
    Internal(String),
}

/// One row of the wire table: HTTP status, Snowflake error code, SQLSTATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireCode {
    pub http_status: u16,
    pub code: &'static str,
    pub sql_state: &'static str,
}

impl WarehouseError {
    /// The single mapping from kind to wire codes.
    pub fn wire(&self) -> WireCode {
        let (http_status, code, sql_state) = match self {
            WarehouseError::Syntax(_) => (422, "001003", "42000"),
            WarehouseError::Unsupported(_) => (422, "002040", "0A000"),
            WarehouseError::NotFound { .. } => (422, "002003", "02000"),
            WarehouseError::UnknownFunction(_) => (422, "002140", "42601"),
            WarehouseError::AlreadyExists(_) => (422, "002002", "42710"),
            WarehouseError::InvalidIdentifier(_) => (422, "000904", "42000"),
            WarehouseError::NullInNotNull(_) => (422, "100072", "22000"),
            WarehouseError::BadJson(_) => (422, "100069", "22P02"),
            WarehouseError::DivisionByZero => (422, "100051", "22012"),
            WarehouseError::Insufficient { .. } => (422, "003001", "42501"),
            WarehouseError::Invalid(_) => (422, "002023", "22023"),
            WarehouseError::Execution(_) => (422, "100038", "22000"),
            WarehouseError::ExternalFunction(_) => (422, "100351", "P0001"),
            WarehouseError::BadCredentials => (401, "390100", "08004"),
            WarehouseError::BadToken => (401, "390303", "08004"),
            WarehouseError::TokenExpired => (401, "390318", "08004"),
            WarehouseError::JwtInvalid(_) => (401, "390144", "08001"),
            WarehouseError::NoSuchStatement(_) => (404, "333333", "02000"),
            WarehouseError::Timeout(_) => (408, "000630", "57014"),
            WarehouseError::Canceled => (422, "000604", "57014"),
            WarehouseError::BodyTooLarge { .. } => (413, "390413", "54000"),
            WarehouseError::BadBody(_) => (400, "390400", "22000"),
            WarehouseError::Internal(_) => (500, "000603", "XX000"),
        };
        WireCode {
            http_status,
            code,
            sql_state,
        }
    }

    /// What a caller may see: internals of an internal error stay in the log.
    pub fn wire_message(&self) -> String {
        match self {
            WarehouseError::Internal(_) => "Processing aborted due to error 300002.".into(),
            other => other.to_string(),
        }
    }

    pub(crate) fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        WarehouseError::NotFound {
            kind,
            name: name.into(),
        }
    }
}

impl From<rusqlite::Error> for WarehouseError {
    fn from(e: rusqlite::Error) -> Self {
        WarehouseError::Internal(format!("catalog: {e}"))
    }
}

/// The engine's message for a division by zero (see `sql::translate`, which raises it).
pub(crate) const DIVISION_BY_ZERO: &str = "recpipe: Division by zero";

impl From<duckdb::Error> for WarehouseError {
    fn from(e: duckdb::Error) -> Self {
        let msg = e.to_string();
        if let Some(rest) = msg.split_once("Parser Error: ").map(|x| x.1) {
            return WarehouseError::Syntax(rest.to_string());
        }
        if let Some(rest) = msg.split_once("Catalog Error: ").map(|x| x.1) {
            // `Table with name nowhere does not exist!`: Snowflake's "does not exist" (002003).
            let missing = rest.split_once(" with name ").and_then(|(_, r)| r.split_once(" does not exist")).map(|(name, _)| name.trim());
            if let Some(name) = missing.filter(|n| !n.is_empty() && !n.contains(char::is_whitespace)) {
                return WarehouseError::NotFound { kind: "Object", name: name.to_uppercase() };
            }
            // `Table with name "T" already exists!`: Snowflake's 002002.
            let existing = rest.split_once(" with name ").and_then(|(_, r)| r.split_once(" already exists")).map(|(name, _)| name.trim().trim_matches('"'));
            if let Some(name) = existing.filter(|n| !n.is_empty()) {
                return WarehouseError::AlreadyExists(name.to_string());
            }
            return WarehouseError::Execution(rest.to_string());
        }
        if let Some(rest) = msg.split_once("NOT NULL constraint failed: ").map(|x| x.1) {
            return WarehouseError::NullInNotNull(rest.trim().to_uppercase());
        }
        if let Some(rest) = msg.split_once("Malformed JSON").map(|x| x.1) {
            return WarehouseError::BadJson(rest.trim_start_matches([':', ' ']).trim().to_string());
        }
        if msg.contains(DIVISION_BY_ZERO) {
            return WarehouseError::DivisionByZero;
        }
        // `Binder Error: Referenced column "NOPE" not found in FROM clause!`: Snowflake's 000904.
        if let Some(rest) = msg.split_once("Binder Error: Referenced column ").map(|x| x.1) {
            if let Some((name, _)) = rest.split_once(" not found") {
                return WarehouseError::InvalidIdentifier(name.trim().trim_matches('"').to_string());
            }
        }
        // An external-function failure travels through DuckDB as the callback's error text.
        if let Some(rest) = msg.split_once(crate::extfn::ERROR_MARK).map(|x| x.1) {
            return WarehouseError::ExternalFunction(rest.to_string());
        }
        WarehouseError::Execution(msg)
    }
}

impl From<iam::IamError> for WarehouseError {
    fn from(e: iam::IamError) -> Self {
        WarehouseError::Internal(format!("iam: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privilege_errors_use_snowflakes_words_and_codes() {
        let e = WarehouseError::Insufficient {
            kind: "function",
            name: "TRAIN".into(),
        };
        assert!(e
            .to_string()
            .contains("Insufficient privileges to operate on function 'TRAIN'"));
        assert_eq!(e.wire().code, "003001");
        assert_eq!(e.wire().sql_state, "42501");
    }

    #[test]
    fn unknown_functions_are_snowflakes_002140() {
        let e = WarehouseError::UnknownFunction("QUERY_TABLE".into());
        assert_eq!(e.to_string(), "SQL compilation error:\nUnknown function QUERY_TABLE");
        assert_eq!((e.wire().code, e.wire().sql_state), ("002140", "42601"));
    }

    #[test]
    fn internal_errors_do_not_leak() {
        let e = WarehouseError::Internal("/secret/path disk full".into());
        assert_eq!(e.wire().http_status, 500);
        assert!(!e.wire_message().contains("secret"));
    }
}
