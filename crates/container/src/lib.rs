//! recpipe's container: the training and serving process that SageMaker would run from an image,
//! following its `/opt/ml` contract. `train` reads `input/` and writes `model/` and `output/`
//! (with `output/failure` and exit code 255 when anything goes wrong); `serve` loads `model/` and
//! answers `GET /ping` and `POST /invocations` over HTTP.
//!
//! It must never reach into the control plane's state: everything it knows arrives through the
//! ml root, its environment and its command line, exactly as in a real container.

pub mod auth;
pub mod layout;
pub mod serve;
pub mod sqlapi;
pub mod tables;
pub mod train;

mod invocations;
mod tarball;

pub use layout::MlRoot;
pub use tarball::{pack_dir, unpack};
