//! Integration tests of the iam crate (one binary).

mod botocore;
mod cache;
mod sigv4_suite;
mod sts;
