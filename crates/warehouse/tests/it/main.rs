//! Integration tests of the warehouse crate: SQL surface, grants, integrations, the calling
//! side of external functions against a loopback test service, the SQL API, tasks.

mod allowlist;
mod api;
mod connector;
mod extfn;
mod load;
mod sql_surface;
mod support;
mod tasks;
