//! linear_core: exact, streaming least squares without any N-API types.
//!
//! Flow: [`decode`] turns bytes (CSV, libsvm, RecordIO-protobuf, Parquet) into f64 rows, [`accumulate`] folds rows into a
//! [`tsqr`] factor (in f64, or in [`dd`] double-double when f64 cannot certify
//! the answer), [`solve`] turns the factor into coefficients and statistics,
//! [`score`] applies a fitted model to new rows. [`estimate`] holds penalised
//! and constrained solvers (elastic net, non-negative least squares) over a
//! factor's triangle.

pub mod accumulate;
pub mod cancel;
pub mod cv;
pub mod dd;
pub mod decode;
pub mod distributions;
pub mod error;
pub mod estimate;
pub mod fit;
pub mod folds;
mod householder;
pub mod model;
pub mod predict;
pub mod robust;
pub mod scalar;
pub mod score;
pub mod solve;
pub mod svd;
mod triangular;
pub mod tsqr;

#[cfg(test)]
pub(crate) mod testing;

pub use error::CoreError;
