//! Integration tests of the `recpipe` binary: real processes, real loopback HTTP.

mod aws_deploy;
mod bench_machine;
mod container_image;
mod container_keypair;
mod broken_pipe;
mod console_browser;
mod container_serve;
mod container_train;
mod gateway_up;
mod lab_connector;
mod lab_defaults;
mod lab_flow;
mod mlplane_authz;
mod load_crash;
mod mlplane_bench;
mod mlplane_boto3;
mod mlplane_endpoints;
mod mlplane_jobs;
mod mlplane_recovery;
mod plane;
mod quickstart_restart;
mod readme_lab;
mod s3_clients;
mod server_discovery;
mod support;
mod warehouse_sql;
