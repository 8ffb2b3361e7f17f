//! Cross-validation curves over a grid of penalties, fitted and scored from
//! per-fold factors (see [`crate::folds`]): a grid value costs k solves of
//! a (p+2)-column triangle and no pass over the rows.

use crate::accumulate::Factor;
use crate::error::CoreError;
use crate::estimate::{l1_max, Problem};
use crate::estimator::{fit_factor, Penalties};
use crate::folds::Folds;
use crate::solve::{reduce, solve, Fit, Precision};

/// Penalties per decade of [`ridge_grid`].
pub const RIDGE_GRID_PER_DECADE: f64 = 5.0;
/// The top of [`ridge_grid`] over the largest eigenvalue of XcᵀXc.
pub const RIDGE_GRID_TOP: f64 = 1e3;
/// The bottom of [`ridge_grid`] over the smallest eigenvalue of XcᵀXc.
pub const RIDGE_GRID_BOTTOM: f64 = 1e-3;
/// The lowest the bottom of [`ridge_grid`] goes, over the largest eigenvalue.
pub const RIDGE_GRID_FLOOR: f64 = 1e-12;
/// Decades of the l1 grid below the smallest l1 that zeroes every slope.
pub const L1_GRID_DECADES: f64 = 4.0;

/// The penalty a cross-validation chooses (the one given as `auto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tuned {
    L2,
    L1,
    Wd,
}

impl Tuned {
    pub fn name(self) -> &'static str {
        match self {
            Tuned::L2 => "l2",
            Tuned::L1 => "l1",
            Tuned::Wd => "wd",
        }
    }

    pub fn from_name(name: &str) -> Result<Self, CoreError> {
        match name {
            "l2" => Ok(Tuned::L2),
            "l1" => Ok(Tuned::L1),
            "wd" => Ok(Tuned::Wd),
            _ => Err(CoreError::InvalidArgument(format!("only l2, l1 or wd can be chosen by cross-validation, not '{name}'"))),
        }
    }

    /// `penalties` with this penalty set to `value`.
    pub fn set(self, penalties: Penalties, value: f64) -> Penalties {
        match self {
            Tuned::L2 => Penalties { l2: value, ..penalties },
            Tuned::L1 => Penalties { l1: value, ..penalties },
            Tuned::Wd => Penalties { wd: value, ..penalties },
        }
    }
}

/// Which penalty to cross-validate, over how many folds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    pub penalty: Tuned,
    pub folds: usize,
}

/// The outcome of a tuning: the curve, and the penalty it was of.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    pub penalty: Tuned,
    pub curve: CvCurve,
}

impl Selection {
    /// The grid value of least CV mse, which the model is refitted with.
    pub fn chosen(&self) -> f64 {
        self.curve.grid[self.curve.best]
    }
}

/// Chooses `tuning.penalty` by cross-validation over its grid, the other
/// penalties as given, and returns the penalties to refit all the data with.
pub fn tune(folds: &Folds, tuning: Tuning, penalties: Penalties) -> Result<(Penalties, Selection), CoreError> {
    let all = folds.all();
    let grid = match tuning.penalty {
        Tuned::L2 => ridge_grid(&all),
        // l2 = n·wd: the ridge grid on the elastic net's scale.
        Tuned::Wd => ridge_grid(&all).iter().map(|l2| l2 / all.weight).collect(),
        Tuned::L1 => l1_grid(&all),
    };
    let curve = cross_validate(folds, &grid, |factor, value| fit_factor(factor, tuning.penalty.set(penalties, value), Precision::Double))?;
    let selection = Selection { penalty: tuning.penalty, curve };
    Ok((tuning.penalty.set(penalties, selection.chosen()), selection))
}

/// An l1 grid for `all`: from the smallest l1 at which every slope is 0
/// (the data's own scale, whatever wd is), down [`L1_GRID_DECADES`] decades,
/// [`RIDGE_GRID_PER_DECADE`] values to a decade, descending (as scikit-learn's
/// path, which stops 3 decades down).
pub fn l1_grid(all: &Factor<f64>) -> Vec<f64> {
    let reduced = reduce(all);
    let weights: Vec<f64> = reduced.slope_scale.iter().map(|s| s * reduced.label_scale).collect();
    let top = l1_max(&Problem { triangle: &reduced.triangle, target: &reduced.target, rows: reduced.weight }, &weights);
    let top = if top > 0.0 && top.is_finite() { top } else { 1.0 };
    let steps = (L1_GRID_DECADES * RIDGE_GRID_PER_DECADE) as usize;
    (0..=steps).map(|i| top * 10f64.powf(-L1_GRID_DECADES * i as f64 / steps as f64)).collect()
}

#[derive(Clone, Debug, PartialEq)]
pub struct CvCurve {
    pub folds: usize,
    /// Penalties, in the order given; larger means more regularised.
    pub grid: Vec<f64>,
    /// Per penalty: the mean over the folds of each fold's held-out mse.
    pub mse: Vec<f64>,
    /// Per penalty: the folds' mses' sample standard deviation over √k.
    pub standard_error: Vec<f64>,
    /// Index of the least mse (the first in grid order on ties).
    pub best: usize,
    /// Index of the largest penalty whose mse is within one standard error
    /// of the best's, `mse[best] + standard_error[best]` (the one-standard-
    /// error rule: the most regularised fit the data cannot tell from the best).
    pub one_standard_error: usize,
}

/// Cross-validates `fit` (a factor and a penalty -> a fit) over `grid`: for
/// each fold, the fit of the other folds' merged factor is scored on the
/// fold's own factor. Penalties are finite and >= 0, in any order (the
/// order only breaks ties of `best`; [`ridge_grid`] gives them descending,
/// so ties go to the more regularised). Folds weigh alike in the mean, as
/// their sizes differ by one row at most; the standard error is glmnet's
/// (the sample standard deviation, k − 1 degrees of freedom, over √k).
pub fn cross_validate(folds: &Folds, grid: &[f64], fit: impl Fn(&Factor<f64>, f64) -> Result<Fit, CoreError>) -> Result<CvCurve, CoreError> {
    if grid.is_empty() {
        return Err(CoreError::InvalidArgument("the grid of penalties is empty".into()));
    }
    if let Some(bad) = grid.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(CoreError::InvalidArgument(format!("penalties must be finite numbers >= 0, got {bad}")));
    }
    let k = folds.count();
    // errors[g * k + f]: fold f's mse at grid value g.
    let mut errors = vec![0.0; grid.len() * k];
    for f in 0..k {
        crate::cancel::check()?;
        let training = folds.without(f);
        for (g, &penalty) in grid.iter().enumerate() {
            errors[g * k + f] = folds.held_out_mse(f, &fit(&training, penalty)?);
        }
    }
    let kf = k as f64;
    let mse: Vec<f64> = errors.chunks_exact(k).map(|e| e.iter().sum::<f64>() / kf).collect();
    let standard_error: Vec<f64> =
        errors.chunks_exact(k).zip(&mse).map(|(e, m)| (e.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (kf - 1.0) / kf).sqrt()).collect();
    let best = (1..grid.len()).fold(0, |b, g| if mse[g] < mse[b] || mse[b].is_nan() { g } else { b });
    let within = mse[best] + standard_error[best];
    let one_standard_error = (0..grid.len()).filter(|&g| mse[g] <= within).fold(best, |c, g| if grid[g] > grid[c] { g } else { c });
    Ok(CvCurve { folds: k, grid: grid.to_vec(), mse, standard_error, best, one_standard_error })
}

/// A ridge grid for `all` (the factor of all the data, [`Folds::all`]):
/// penalties log-spaced [`RIDGE_GRID_PER_DECADE`] to a decade (at least
/// 31), descending, between the limits of ridge on this design. Ridge
/// scales the fit along an eigenvector of XcᵀXc (the design in the data's
/// units, centred when an intercept is fitted) of eigenvalue λ by
/// λ/(λ + penalty), so the grid runs from [`RIDGE_GRID_TOP`]·λmax, where
/// every slope is shrunk at least a thousandfold (the intercept-only
/// model), to [`RIDGE_GRID_BOTTOM`]·λmin, where none loses more than 0.1%
/// (least squares); but not below [`RIDGE_GRID_FLOOR`]·λmax, so aliased or
/// nearly aliased columns leave at most 15 decades. The ends are in the
/// data's units, as the penalty is: features of very different spreads
/// widen the grid rather than leave least squares off it. A design without
/// spread (or whose squares overflow) gets the grid about 1.
pub fn ridge_grid(all: &Factor<f64>) -> Vec<f64> {
    let design = all.design;
    let (p, lead) = (design.features, usize::from(design.fit_intercept));
    // T, the slope block of R below the intercept's row, in the data's
    // units: with an intercept its rows hold the columns' parts orthogonal
    // to the ones, so TᵀT = XcᵀXc with no cancellation.
    let block: Vec<f64> = (0..p * p)
        .map(|e| {
            let (i, j) = (e / p, e % p);
            if i > j {
                0.0
            } else {
                all.triangle.get(lead + i, lead + j) / all.shift.scale[j + 1]
            }
        })
        .collect();
    let (largest, smallest) = if block.iter().all(|v| v.is_finite()) { crate::svd::extreme_singular_values(&block, p, p) } else { (0.0, 0.0) };
    let (top, bottom) = match largest * largest {
        most if most > 0.0 && most.is_finite() => (RIDGE_GRID_TOP * most, (RIDGE_GRID_BOTTOM * smallest * smallest).max(RIDGE_GRID_FLOOR * most)),
        _ => (RIDGE_GRID_TOP, RIDGE_GRID_BOTTOM),
    };
    let decades = (top / bottom).log10();
    let steps = (decades * RIDGE_GRID_PER_DECADE).ceil().max(1.0);
    (0..=steps as usize).map(|i| top * 10f64.powf(-decades * i as f64 / steps)).collect()
}

/// Ridge cross-validation: each fold's training factor solved in f64 at each
/// penalty (scikit-learn's scale, ‖r‖² + penalty·‖b‖², intercept free).
pub fn ridge_cv(folds: &Folds, grid: &[f64]) -> Result<CvCurve, CoreError> {
    cross_validate(folds, grid, |factor, l2| solve(factor, l2, Precision::Double))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accumulate::Design;
    use crate::folds::tests::{cholesky, direct_mse, direct_ridge, rows};
    use crate::folds::FoldAccumulator;

    fn folds_of(raw: &[f64], design: Design, k: usize) -> Folds {
        let mut acc = FoldAccumulator::new(design, k, 2).unwrap();
        acc.push_rows(raw);
        acc.finish().unwrap()
    }

    #[test]
    fn ridge_cv_matches_direct_cross_validation() {
        for (k, fit_intercept) in [(2, true), (10, true), (5, false)] {
            let design = Design { features: 4, fit_intercept };
            let raw = rows(1000, 4, 21, fit_intercept);
            let folds = folds_of(&raw, design, k);
            let grid = ridge_grid(&folds.all());
            let curve = ridge_cv(&folds, &grid).unwrap();
            assert_eq!((curve.folds, &curve.grid), (k, &grid));
            for (g, &l2) in grid.iter().enumerate() {
                let errors: Vec<f64> =
                    (0..k).map(|f| direct_mse(&raw, design, |i| i % k == f, &direct_ridge(&raw, design, |i| i % k != f, l2))).collect();
                let mse = errors.iter().sum::<f64>() / k as f64;
                let sd = (errors.iter().map(|e| (e - mse).powi(2)).sum::<f64>() / (k - 1) as f64).sqrt();
                assert!((curve.mse[g] - mse).abs() <= 1e-9 * mse, "k {k}, l2 {l2}: {} vs {mse}", curve.mse[g]);
                assert!((curve.standard_error[g] - sd / (k as f64).sqrt()).abs() <= 1e-6 * mse, "k {k}, l2 {l2}");
            }
            let argmin = (0..grid.len()).min_by(|&a, &b| curve.mse[a].total_cmp(&curve.mse[b])).unwrap();
            assert_eq!(curve.best, argmin);
            let within = curve.mse[argmin] + curve.standard_error[argmin];
            // Descending: the largest penalty within one standard error is the first.
            assert_eq!(Some(curve.one_standard_error), (0..grid.len()).find(|&g| curve.mse[g] <= within));
            // Noise of unit variance: the best is near it, the most regularised far above.
            assert!(curve.mse[argmin] < 1.2 && curve.mse[0] > 2.0, "{:?}", curve.mse);
        }
    }

    #[test]
    fn the_grid_spans_the_eigenvalues_of_the_design() {
        for (fit_intercept, spreads) in [(true, 1.0), (false, 1.0), (true, 0.0)] {
            let design = Design { features: 4, fit_intercept };
            let mut raw = rows(700, 4, 23, true);
            raw.chunks_exact_mut(5).for_each(|row| row[1..].iter_mut().for_each(|x| *x = 7.0 + spreads * (*x - 7.0)));
            let grid = ridge_grid(&folds_of(&raw, design, 3).all());
            // XcᵀXc from the rows themselves; its eigenvalues are the squared singular values of its Cholesky factor.
            let columns: Vec<Vec<f64>> = (1..5)
                .map(|c| {
                    let column: Vec<f64> = raw.chunks_exact(5).map(|row| row[c]).collect();
                    let mean = if fit_intercept { column.iter().sum::<f64>() / 700.0 } else { 0.0 };
                    column.iter().map(|v| v - mean).collect()
                })
                .collect();
            let gram: Vec<f64> = (0..16).map(|e| columns[e / 4].iter().zip(&columns[e % 4]).map(|(a, b)| a * b).sum()).collect();
            let (top, bottom) = if spreads > 0.0 {
                let (largest, smallest) = crate::svd::extreme_singular_values(&cholesky(&gram, 4), 4, 4);
                (1e3 * largest * largest, (1e-3 * smallest * smallest).max(1e-12 * largest * largest))
            } else {
                (1e3, 1e-3)
            };
            let last = grid.len() - 1;
            assert!((grid[0] / top - 1.0).abs() < 1e-9, "{} vs {top}", grid[0]);
            assert!((grid[last] / bottom - 1.0).abs() < 1e-6, "{} vs {bottom}", grid[last]);
            assert!(grid.len() > 30 && (last as f64) >= 5.0 * (top / bottom).log10());
            assert!(grid.windows(2).all(|w| w[0] > w[1]));
        }
    }

    #[test]
    fn grid_order_changes_no_choice() {
        let design = Design { features: 4, fit_intercept: true };
        let raw = rows(600, 4, 25, true);
        let folds = folds_of(&raw, design, 4);
        let grid = ridge_grid(&folds.all());
        let ascending: Vec<f64> = grid.iter().rev().copied().collect();
        let (down, up) = (ridge_cv(&folds, &grid).unwrap(), ridge_cv(&folds, &ascending).unwrap());
        let last = grid.len() - 1;
        assert_eq!(down.mse.iter().rev().collect::<Vec<_>>(), up.mse.iter().collect::<Vec<_>>());
        assert_eq!((last - down.best, last - down.one_standard_error), (up.best, up.one_standard_error));
    }

    #[test]
    fn bad_grids_are_refused() {
        let design = Design { features: 2, fit_intercept: true };
        let folds = folds_of(&rows(50, 2, 27, true), design, 5);
        for grid in [vec![], vec![1.0, -1.0], vec![f64::NAN], vec![f64::INFINITY]] {
            assert!(matches!(ridge_cv(&folds, &grid), Err(CoreError::InvalidArgument(_))), "{grid:?}");
        }
    }
}
