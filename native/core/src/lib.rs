//! linear_core: exact, streaming least squares without any N-API types.
//!
//! Flow: [`decode`] turns bytes (CSV, libsvm, RecordIO-protobuf, Parquet) into f64 rows, [`accumulate`] folds rows into a
//! [`tsqr`] factor (in f64, or in [`dd`] double-double when f64 cannot certify
//! the answer), [`solve`] turns the factor into coefficients and statistics,
//! [`score`] applies a fitted model to new rows. [`estimator`] chooses how a
//! factor is solved: least squares and ridge by [`solve`], the elastic net and
//! non-negative least squares by the solvers of [`estimate`]; [`folds`] and
//! [`cv`] cross-validate penalties from per-fold factors, [`robust`] adds
//! sandwich standard errors from a second pass. [`segments`] makes each source
//! a unit of reduction merged in a fixed order, so several hosts (or a resumed
//! job) give the bits of one.

pub mod accumulate;
pub mod cancel;
pub mod checkpoint;
pub mod cv;
pub mod dd;
pub mod decode;
pub mod diagnostics;
mod disjoint;
pub mod distributions;
pub mod error;
pub mod estimate;
pub mod estimator;
pub mod fit;
pub mod folds;
mod householder;
mod lanczos;
pub mod model;
pub mod predict;
pub mod robust;
pub mod scalar;
pub mod score;
pub mod segments;
pub mod solve;
pub mod svd;
mod triangular;
pub mod tsqr;

#[cfg(test)]
pub(crate) mod testing;

pub use error::CoreError;
