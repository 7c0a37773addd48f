//! recpipe's warehouse: the Snowflake box. It owns the databases (one embedded DuckDB file each
//! under `<data>/warehouse/`), Snowflake's SQL surface on top of DuckDB (identifier folding,
//! types, VARIANT, the statements DuckDB lacks), roles, grants and users, API integrations, the
//! calling side of external functions (batched, signed with assumed-role credentials, retried,
//! polled), scheduled tasks, the SQL API v2 over HTTP and the MovieLens loader.
//!
//! It must never splice a name into SQL as text (names are parsed and quoted), never pass
//! through a statement that reads or writes the server's files, and never store or log a
//! password or token in clear.

pub mod api;
mod arrow_rows;
mod client_sql;
pub mod catalog;
pub mod connector;
mod engine;
mod error;
mod exec;
pub mod extfn;
pub mod keypair;
pub mod load;
mod parameters;
use iam::random;
mod result;
mod session;
mod stage;
pub mod sql;
pub mod tasks;
mod timezone;
mod users;

pub use arrow_rows::ArrowRows;
pub use engine::{Opened, Warehouse, WarehouseConfig, ADMIN_PASSWORD_ENV, ADMIN_USER};
pub use error::{WarehouseError, WireCode};
pub use exec::caller_tables::TableUse;
pub use result::{Column, QueryResult};
pub use session::Session;
pub use users::{Principal, Token};
