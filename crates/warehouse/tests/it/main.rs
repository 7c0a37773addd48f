//! Integration tests of the warehouse crate: SQL surface, grants, integrations, the calling
//! side of external functions against a loopback test service, the SQL API, tasks, and
//! how calls to a failing remote end (deadline, refused connections, cancellation).

mod allowlist;
mod api;
mod conformance;
mod connector;
mod extfn;
mod load;
mod privileges;
mod retries;
mod reuse;
mod snow_cli;
mod sql_surface;
mod stage_sql;
mod stages;
mod support;
mod tasks;
