//! recpipe's recommender engine: ratings, biased matrix factorisation trained by SGD (the model of
//! Surprise's `SVD`), k-fold evaluation, top-N for every user and a versioned model file.
//!
//! It owns the algorithm and its numbers. It must never speak HTTP, open a database or spawn a
//! process: its only I/O is reading rating files and reading/writing model files.

pub mod cv;
pub mod data;
mod kernel;
pub mod load;
pub mod metrics;
pub mod model;
pub mod modelfile;
pub mod mt;
pub mod params;
pub mod pipeline;
pub mod rng;
pub mod sgd;
pub mod synth;
pub mod topn;
#[cfg(target_arch = "x86_64")]
mod topn_avx512;

pub use data::{IdMap, Ratings};
pub use model::{Model, Prediction};
pub use params::Params;
