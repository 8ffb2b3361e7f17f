//! How far the digits of a solve can be trusted: the error estimate that
//! decides between the one-pass, refined and extended paths, and the
//! condition number of the design as the user gave it.

use super::rank::Kept;
use super::Units;
use crate::accumulate::Factor;
use crate::error::CoreError;
use crate::scalar::Scalar;
use crate::svd;

/// See [`super::Fit::estimated_error`] and [`super::Fit::refinement_contraction`].
pub(super) struct Conditioning {
    pub estimated_error: f64,
    pub refinement_contraction: f64,
}

/// From the column-scaled kept triangle, the least-squares `solution` it
/// gives and the residual sum of squares `fitted_rss` it leaves.
pub(super) fn estimate<T: Scalar>(kept: &Kept<T>, solution: &[T], fitted_rss: f64) -> Result<Conditioning, CoreError> {
    let (rank, columns, norms) = (kept.rank(), &kept.columns, &kept.norms);
    let scaled: Vec<f64> = (0..rank * rank)
        .map(|e| {
            let (a, b) = (e / rank, e % rank);
            if b < a {
                0.0
            } else {
                kept.triangle[e].to_f64() / norms[columns[b]]
            }
        })
        .collect();
    let (largest, smallest) = svd::extreme_singular_values(&scaled, rank, rank);
    crate::cancel::check()?;
    let kappa = if smallest > 0.0 { largest / smallest } else { f64::INFINITY };
    let scaled_solution = columns.iter().enumerate().map(|(a, &j)| (norms[j] * solution[a].to_f64()).powi(2)).sum::<f64>().sqrt();
    let rho = if fitted_rss == 0.0 { 0.0 } else { fitted_rss.sqrt() / (largest * scaled_solution) };
    // √r rather than the worst-case r: rounding errors of r reflections add
    // like a random walk (Higham, ch. 19), and the bound is otherwise far too
    // pessimistic to keep well-conditioned data on the one-pass path.
    let estimated_error = (rank as f64).sqrt() * f64::EPSILON * (kappa + kappa * kappa * rho);
    Ok(Conditioning { estimated_error, refinement_contraction: (rank as f64).sqrt() * f64::EPSILON * kappa * kappa })
}

/// 2-norm condition number of the design as given (intercept column
/// included): the scaling and the shift undone, X = X_s·T.
pub(super) fn condition_number<T: Scalar>(factor: &Factor<T>) -> Result<f64, CoreError> {
    let design = factor.design;
    let (lead, q) = (usize::from(design.fit_intercept), design.parameters());
    let (base, center, units) = (&factor.triangle, &factor.shift.center, Units::of(factor));
    let mut original = vec![0.0; q * q];
    for i in 0..q {
        for j in i..q {
            original[i * q + j] = base.get(i, j).to_f64() / units.column(j);
        }
        if design.fit_intercept {
            for f in 0..design.features {
                original[i * q + lead + f] += center[f + 1] * base.get(i, 0).to_f64();
            }
        }
    }
    let condition_number = svd::condition_number(&original, q, q);
    crate::cancel::check()?;
    Ok(condition_number)
}
