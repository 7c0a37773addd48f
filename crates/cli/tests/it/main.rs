//! Integration tests of the `recpipe` binary: real processes, real loopback HTTP.

mod broken_pipe;
mod container_serve;
mod container_train;
mod gateway_up;
mod lab_flow;
mod load_crash;
mod mlplane_bench;
mod mlplane_boto3;
mod mlplane_endpoints;
mod mlplane_jobs;
mod mlplane_recovery;
mod plane;
mod support;
mod warehouse_sql;
