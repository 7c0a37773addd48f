//! Integration tests of the `recpipe` binary: real processes, real loopback HTTP.

mod container_serve;
mod container_train;
mod support;
