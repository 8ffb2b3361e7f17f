//! Factor -> model: rank-revealing solve, then the statistics users read.
//!
//! `rank` re-triangularises the factor and leaves aliased columns out,
//! [`solve`] back-substitutes the kept triangle, `conditioning` estimates
//! how far f64 can be trusted, and `inference` adds standard errors and
//! tests. The factor is of columns scaled by powers of two (see
//! `accumulate`); every result is mapped back to the data's units exactly,
//! so a column's units change its coefficient and nothing else.

mod conditioning;
mod inference;
mod rank;

use crate::accumulate::{Design, Factor};
use crate::cv::Selection;
use crate::dd::Dd;
use crate::diagnostics::ResidualDiagnostics;
use crate::distributions::student_t_two_sided;
use crate::error::CoreError;
use crate::estimator::Estimator;
use crate::robust::CovarianceType;
use crate::scalar::Scalar;
use crate::triangular;
use crate::tsqr::Triangle;
use conditioning::Conditioning;

/// Relative size below which a column counts as aliased. Loose enough for
/// NIST's Filip (its weakest column keeps 5e-8 of its norm), tight enough to
/// catch columns that are sums of others up to rounding (~1e-16).
pub const ALIAS_TOLERANCE: f64 = 1e-10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// One pass in f64.
    Double,
    /// Double-double factorisation (about 32 digits), then rounded.
    Extended,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Double => "double",
            Precision::Extended => "extended",
        }
    }
}

/// What serving needs for standard errors and intervals of predictions, in
/// the shifted basis of [`Fit::center`].
#[derive(Clone, Debug, PartialEq)]
pub struct Inference {
    /// Design indices (0 = intercept when fitted) of the estimated parameters.
    pub parameters: Vec<usize>,
    /// R⁻¹ of the estimated parameters, row-major upper triangle; the
    /// covariance of the estimates is sigma2 · R⁻¹ R⁻ᵀ.
    pub covariance_factor: Vec<f64>,
    pub sigma2: f64,
    pub df_resid: f64,
}

/// NaN stands for "not defined here" (e.g. no residual degrees of freedom).
#[derive(Clone, Debug, PartialEq)]
pub struct Statistics {
    pub n: u64,
    pub rank: usize,
    pub df_model: f64,
    pub df_resid: f64,
    pub rss: f64,
    pub tss: f64,
    pub r_squared: f64,
    pub adj_r_squared: f64,
    pub mse: f64,
    pub rmse: f64,
    pub residual_std_error: f64,
    pub f_statistic: f64,
    pub f_p_value: f64,
    pub intercept_std_error: f64,
    pub intercept_t_value: f64,
    pub intercept_p_value: f64,
    pub std_errors: Vec<f64>,
    pub t_values: Vec<f64>,
    pub p_values: Vec<f64>,
    /// 2-norm condition number of the design as given (intercept column included).
    pub condition_number: f64,
    /// statsmodels' llf, aic and bic: least-squares fits only (see [`crate::diagnostics::add_likelihood`]).
    pub log_likelihood: f64,
    pub aic: f64,
    pub bic: f64,
    /// Variance inflation factor of each feature (statsmodels'
    /// `variance_inflation_factor` of the design with its constant column):
    /// 1/(1 − R²_j) of the feature regressed on the other columns, from the
    /// factor (of the whitened design when weighted, i.e. the WLS auxiliary
    /// regression). NaN for aliased features and fits without inference.
    pub vif: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub design: Design,
    /// The estimator and its penalties.
    pub estimator: Estimator,
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    pub aliased: Vec<bool>,
    /// Predictions are evaluated in the shifted basis of the fit (see
    /// `accumulate`): y = c0 + b0' + Σ b_j (x_j - c_j), so offset features
    /// cancel no digits. `center` holds c1..cp.
    pub center: Vec<f64>,
    pub center_label: f64,
    pub centered_intercept: f64,
    pub precision: Precision,
    /// Bound-style estimate of the relative error an f64 factorisation leaves
    /// in the coefficients: u·√r·(κ + κ²·ρ) with κ the column-scaled condition
    /// number and ρ the relative residual (Golub & Van Loan, LS sensitivity).
    pub estimated_error: f64,
    /// How much one refinement step shrinks the error of an f64 solution:
    /// u·√r·κ² (the seminormal equations square the condition number).
    pub refinement_contraction: f64,
    pub statistics: Statistics,
    /// Absent for penalised and constrained fits and fits with no residual degrees of freedom.
    pub inference: Option<Inference>,
    /// What the standard errors, t, p and F of `statistics` come from.
    pub covariance: CovarianceType,
    /// The cross-validation that chose a penalty given as `auto`.
    pub cv: Option<Selection>,
    /// Skew, kurtosis and normality tests of the residuals, when computed.
    pub residuals: Option<ResidualDiagnostics>,
}

impl Fit {
    /// After the coefficients and the intercept changed (refinement): the t
    /// statistics and p-values that use them.
    pub fn refresh_tests(&mut self) {
        let s = &mut self.statistics;
        if s.df_resid > 0.0 {
            for f in 0..self.coefficients.len() {
                s.t_values[f] = self.coefficients[f] / s.std_errors[f];
                s.p_values[f] = student_t_two_sided(s.t_values[f], s.df_resid);
            }
            if self.design.fit_intercept {
                s.intercept_t_value = self.intercept / s.intercept_std_error;
                s.intercept_p_value = student_t_two_sided(s.intercept_t_value, s.df_resid);
            }
        }
    }
}

/// Solves a factor with ridge penalty `l2` (0 for ordinary least squares).
pub fn solve<T: Scalar>(factor: &Factor<T>, l2: f64, precision: Precision) -> Result<Fit, CoreError> {
    check(factor)?;
    let kept = if l2 > 0.0 { rank::retriangularise(&penalised(factor, l2))? } else { rank::retriangularise(&factor.triangle)? };
    let solution = triangular::back_substitute(&kept.triangle, kept.rank(), &kept.target);
    let fitted_rss = kept.residual.to_f64();
    let conditioning = conditioning::estimate(&kept, &solution, fitted_rss)?;
    // A ridge factor's residual includes the penalty: rss is recomputed.
    let least_squares_rss = if l2 > 0.0 { None } else { Some(fitted_rss) };
    let Assembled { mut fit, scaled_rss, scaled_tss } =
        assemble(factor, Estimator::ridge(l2), precision, &kept.columns, &solution, least_squares_rss, conditioning)?;
    if l2 == 0.0 && fit.statistics.df_resid > 0.0 {
        inference::infer(&mut fit, factor, &kept, scaled_rss, scaled_tss)?;
    }
    Ok(fit)
}

/// The problem left for the slopes once the (unpenalised) intercept is eliminated,
/// in the factor's scaled units: minimising ‖target − triangle·b‖² over b equals the
/// least-squares problem of the centred (when an intercept is fitted) scaled design.
/// Penalised estimators (elastic net, non-negative least squares) solve it on their own,
/// then hand their slopes to [`from_slopes`].
#[derive(Clone, Debug, PartialEq)]
pub struct Reduced {
    /// p × p upper triangle, row-major.
    pub triangle: Vec<f64>,
    /// p entries.
    pub target: Vec<f64>,
    /// The part of ‖y‖² no b can reach: the least-squares residual sum of squares.
    pub residual: f64,
    pub rows: u64,
    /// Σw of the rows (`rows` unweighted): the n of the elastic net's mean loss.
    pub weight: f64,
    /// s_j of each feature: scaled x'_j = (x_j − c_j)·s_j.
    pub slope_scale: Vec<f64>,
    /// s_y: scaled y' = (y − c_0)·s_y.
    pub label_scale: f64,
}

/// The slopes' block of the factor. With an intercept, R of [1, X', y'] has
/// the intercept as column 0, and its rows and columns 1..k are the R factor
/// of the centred data (exactly, in exact arithmetic); without, it is R's
/// feature block itself. Rounded to f64 when the factor is double-double.
pub fn reduce<T: Scalar>(factor: &Factor<T>) -> Reduced {
    let design = factor.design;
    let (lead, p) = (usize::from(design.fit_intercept), design.features);
    let (r, y) = (&factor.triangle, lead + p);
    let mut triangle = vec![0.0; p * p];
    for a in 0..p {
        for b in a..p {
            triangle[a * p + b] = r.get(lead + a, lead + b).to_f64();
        }
    }
    let target = (0..p).map(|a| r.get(lead + a, y).to_f64()).collect();
    let last = r.get(y, y);
    let scale = &factor.shift.scale;
    Reduced {
        triangle,
        target,
        residual: (last * last).to_f64(),
        rows: factor.rows,
        weight: factor.weight,
        slope_scale: scale[1..].to_vec(),
        label_scale: scale[0],
    }
}

/// A fit from slopes solved elsewhere, in the scaled units of [`reduce`]
/// (b'_j; the data's b_j = b'_j·s_j/s_y). The intercept (when fitted) is the
/// least-squares intercept given those slopes, from the factor's first row;
/// statistics as for ridge fits: rss, tss, R², adjusted R², mse, rmse and the
/// condition number, no standard errors or tests, inference `None`. Every
/// parameter counts as estimated (rank p + intercept, nothing aliased), and
/// the estimator is least squares: the caller records its own.
pub fn from_slopes<T: Scalar>(factor: &Factor<T>, scaled_slopes: &[f64], precision: Precision) -> Result<Fit, CoreError> {
    let design = factor.design;
    if scaled_slopes.len() != design.features {
        return Err(CoreError::InvalidArgument(format!("{} slopes for {} features", scaled_slopes.len(), design.features)));
    }
    check(factor)?;
    // Conditioning of the unpenalised kept triangle, not of the estimator's
    // own problem: the slopes come from the same rounded factor, so
    // ill-conditioned data still gets the extended pass.
    let kept = rank::retriangularise(&factor.triangle)?;
    let least_squares = triangular::back_substitute(&kept.triangle, kept.rank(), &kept.target);
    let conditioning = conditioning::estimate(&kept, &least_squares, kept.residual.to_f64())?;
    let q = design.parameters();
    let slopes: Vec<T> = scaled_slopes.iter().map(|&b| T::from_f64(b)).collect();
    let solution = if design.fit_intercept {
        // Row 0 of R·[b0'; b'] = R[.., y]: R[0,0]·b0' + Σ R[0,j]·b'_j = R[0,y].
        let base = &factor.triangle;
        let intercept = triangular::back_substitute_row(&base.entries()[..q], &slopes, base.get(0, q));
        [vec![intercept], slopes].concat()
    } else {
        slopes
    };
    let parameters: Vec<usize> = (0..q).collect();
    Ok(assemble(factor, Estimator::LeastSquares, precision, &parameters, &solution, None, conditioning)?.fit)
}

/// How the factor's columns relate to the data's: design column j holds its
/// data times `column(j)`, the label times 1 / `unscale_label`.
#[derive(Clone, Copy)]
struct Units<'a> {
    lead: usize,
    scale: &'a [f64],
    unscale_label: f64,
}

impl<'a> Units<'a> {
    fn of<T>(factor: &'a Factor<T>) -> Self {
        let scale = &factor.shift.scale;
        Units { lead: usize::from(factor.design.fit_intercept), scale, unscale_label: 1.0 / scale[0] }
    }

    fn column(&self, j: usize) -> f64 {
        if j < self.lead {
            1.0
        } else {
            self.scale[j - self.lead + 1]
        }
    }

    fn label(&self, scaled: f64) -> f64 {
        scaled * self.unscale_label
    }

    fn label_squared(&self, scaled: f64) -> f64 {
        scaled * self.unscale_label * self.unscale_label
    }
}

/// Refuses a factor nothing sound can be solved from.
fn check<T: Scalar>(factor: &Factor<T>) -> Result<(), CoreError> {
    let (n, q) = (factor.rows, factor.design.parameters());
    if n < q as u64 || n == 0 {
        return Err(CoreError::TooFewRows { rows: n, parameters: q });
    }
    crate::cancel::check()?;
    if factor.triangle.entries().iter().any(|v| !v.to_f64().is_finite()) {
        return Err(CoreError::NonFiniteResult(
            "a column's values span too wide a range for float64 (beyond about 1e150 times its first rows' magnitude); \
             rescale that column or check it for corrupt values"
                .into(),
        ));
    }
    Ok(())
}

/// Ridge: the factor with sqrt(l2)·I appended for the slopes (in the scaled
/// columns' units: sqrt(l2)·s_j), refactored.
fn penalised<T: Scalar>(factor: &Factor<T>, l2: f64) -> Triangle<T> {
    let design = factor.design;
    let (lead, k, units) = (usize::from(design.fit_intercept), design.columns(), Units::of(factor));
    let mut work = factor.triangle.clone();
    let rows = design.features;
    let mut block = vec![T::default(); rows * k];
    for s in 0..rows {
        block[(lead + s) * rows + s] = T::from_f64(l2.sqrt() * units.column(lead + s));
    }
    work.absorb_in_place(&mut block, rows);
    work
}

/// A fit without its inference, and the sums of squares inference needs in
/// the scaled label's units.
struct Assembled {
    fit: Fit,
    scaled_rss: f64,
    scaled_tss: f64,
}

/// What every estimator reports for a `solution` in the factor's scaled units
/// (design indices `parameters`; the others are 0): coefficients in the
/// data's units, the intercept in the original basis, rss (`fitted_rss` when
/// the factor left it; else recomputed through the unpenalised factor), tss,
/// R², mse and the design's condition number.
fn assemble<T: Scalar>(
    factor: &Factor<T>,
    estimator: Estimator,
    precision: Precision,
    parameters: &[usize],
    solution: &[T],
    fitted_rss: Option<f64>,
    conditioning: Conditioning,
) -> Result<Assembled, CoreError> {
    let design = factor.design;
    let lead = usize::from(design.fit_intercept);
    let q = design.parameters();
    let k = q + 1;
    let y = k - 1;
    let n = factor.rows;
    let base = &factor.triangle;
    let center = &factor.shift.center;
    let units = Units::of(factor);
    // In the data's units: b_j = b'_j · s_j / s_label (powers of two: exact).
    let mut beta = vec![T::default(); q];
    for (a, &j) in parameters.iter().enumerate() {
        beta[j] = solution[a] * T::from_f64(units.column(j)) * T::from_f64(units.unscale_label);
    }
    if let Some(j) = beta.iter().position(|b| !b.to_f64().is_finite()) {
        let which = if j < lead { "the intercept".to_string() } else { format!("the coefficient of feature {}", j - lead + 1) };
        return Err(CoreError::NonFiniteResult(format!(
            "{which} is beyond the range of float64 numbers: the label is too large, or that column too small, in its units; rescale them"
        )));
    }
    let scaled_rss = fitted_rss.unwrap_or_else(|| {
        // ||[X y][b; -1]|| through the factor of the data alone.
        let mut total = T::default();
        for i in 0..k {
            let mut s = -base.get(i, y);
            for (a, &j) in parameters.iter().enumerate() {
                if j >= i {
                    s = base.get(i, j).mul_add(solution[a], s);
                }
            }
            total = s.mul_add(s, total);
        }
        total.to_f64()
    });
    let mut tss_t = T::default();
    for i in lead..k {
        tss_t = base.get(i, y).mul_add(base.get(i, y), tss_t);
    }
    let scaled_tss = tss_t.to_f64();
    let (rss, tss) = (units.label_squared(scaled_rss), units.label_squared(scaled_tss));

    let intercept = if design.fit_intercept {
        let mut acc = Dd::from(center[0]) + beta[0].to_dd();
        for f in 0..design.features {
            acc = acc - beta[lead + f].to_dd() * Dd::from(center[f + 1]);
        }
        acc.to_f64()
    } else {
        0.0
    };
    let coefficients: Vec<f64> = (0..design.features).map(|f| beta[lead + f].to_f64()).collect();
    let aliased: Vec<bool> = (0..design.features).map(|f| !parameters.contains(&(lead + f))).collect();
    let condition_number = conditioning::condition_number(factor)?;

    let rank = parameters.len();
    let nf = n as f64;
    let df_resid = nf - rank as f64;
    let df_model = (rank - lead) as f64;
    // Σw·r² / Σw: the weighted mean of the squared residuals (the plain one
    // unweighted), as scored channels report it; n stays the row count for inference.
    let mse = rss / factor.weight;
    // The label's units squared can leave float64 below as well as above: a
    // positive mse (or σ²) that rounds to 0 would give zero-width intervals.
    let scaled_mse = scaled_rss / factor.weight;
    if scaled_mse > 0.0 && (mse == 0.0 || units.label_squared(scaled_mse / df_resid.max(1.0)) == 0.0) {
        return Err(CoreError::NonFiniteResult(
            "the fit's mse is below the range of float64 numbers (the label's units squared underflow); rescale the label toward units near 1".into(),
        ));
    }
    let r_squared = if scaled_tss > 0.0 { 1.0 - scaled_rss / scaled_tss } else { f64::NAN };
    let adj_r_squared = if df_resid > 0.0 { 1.0 - (1.0 - r_squared) * (nf - lead as f64) / df_resid } else { f64::NAN };
    let features = design.features;
    let statistics = Statistics {
        n,
        rank,
        df_model,
        df_resid,
        rss,
        tss,
        r_squared,
        adj_r_squared,
        mse,
        rmse: units.label(scaled_mse.sqrt()),
        residual_std_error: f64::NAN,
        f_statistic: f64::NAN,
        f_p_value: f64::NAN,
        intercept_std_error: f64::NAN,
        intercept_t_value: f64::NAN,
        intercept_p_value: f64::NAN,
        std_errors: vec![f64::NAN; features],
        t_values: vec![f64::NAN; features],
        p_values: vec![f64::NAN; features],
        condition_number,
        log_likelihood: f64::NAN,
        aic: f64::NAN,
        bic: f64::NAN,
        vif: vec![f64::NAN; features],
    };
    let fit = Fit {
        design,
        estimator,
        intercept,
        coefficients,
        aliased,
        center: center[1..].to_vec(),
        center_label: center[0],
        centered_intercept: if design.fit_intercept { beta[0].to_f64() } else { 0.0 },
        precision,
        estimated_error: conditioning.estimated_error,
        refinement_contraction: conditioning.refinement_contraction,
        statistics,
        inference: None,
        covariance: CovarianceType::Classical,
        cv: None,
        residuals: None,
    };
    Ok(Assembled { fit, scaled_rss, scaled_tss })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accumulate::Accumulator;
    use crate::testing::Lcg;

    /// Raw rows [y, x1..xp] with features offset from 0, so the shift matters.
    fn rows(seed: u64, n: usize, p: usize) -> Vec<f64> {
        let mut rng = Lcg::new(seed);
        let mut raw = Vec::with_capacity(n * (p + 1));
        for _ in 0..n {
            let x: Vec<f64> = (0..p).map(|j| 3.0 + (j as f64 + 1.0) * rng.normal()).collect();
            raw.push(1.0 + x.iter().enumerate().map(|(j, v)| (j as f64 - 1.5) * v).sum::<f64>() + rng.normal());
            raw.extend(x);
        }
        raw
    }

    fn factor<T: Scalar>(raw: &[f64], design: Design) -> Factor<T> {
        let mut acc = Accumulator::<T>::new(design, 1);
        acc.push_rows(raw);
        acc.finish()
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * a.abs().max(b.abs())
    }

    fn from_least_squares_slopes<T: Scalar>(design: Design, precision: Precision) {
        let factor = factor::<T>(&rows(11, 500, design.features), design);
        let ols = solve(&factor, 0.0, precision).unwrap();
        let reduced = reduce(&factor);
        let slopes = triangular::back_substitute(&reduced.triangle, design.features, &reduced.target);
        let fit = from_slopes(&factor, &slopes, precision).unwrap();
        let (s, o) = (&fit.statistics, &ols.statistics);
        let pairs = [(fit.intercept, ols.intercept), (fit.centered_intercept, ols.centered_intercept), (s.rss, o.rss), (s.r_squared, o.r_squared)];
        for (a, b) in fit.coefficients.iter().zip(&ols.coefficients).map(|(a, b)| (*a, *b)).chain(pairs) {
            assert!(close(a, b, 1e-14), "{a} vs {b} ({design:?})");
        }
        assert_eq!((fit.estimated_error, fit.refinement_contraction), (ols.estimated_error, ols.refinement_contraction));
        assert_eq!((s.condition_number, s.rank, s.df_resid), (o.condition_number, o.rank, o.df_resid));
        assert_eq!(fit.aliased, vec![false; design.features]);
        assert!(fit.inference.is_none() && s.std_errors.iter().chain([&s.f_statistic, &s.intercept_std_error]).all(|v| v.is_nan()));
    }

    #[test]
    fn from_slopes_reproduces_least_squares_given_its_slopes() {
        for fit_intercept in [true, false] {
            let design = Design { features: 4, fit_intercept };
            from_least_squares_slopes::<f64>(design, Precision::Double);
            from_least_squares_slopes::<Dd>(design, Precision::Extended);
        }
        let factor = factor::<f64>(&rows(1, 20, 2), Design { features: 2, fit_intercept: true });
        let err = from_slopes(&factor, &[1.0], Precision::Double).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
    }

    #[test]
    fn the_reduced_triangle_factors_the_centred_scaled_design() {
        let (n, p) = (300, 3);
        let raw = rows(5, n, p);
        let inner = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        for fit_intercept in [true, false] {
            let factor = factor::<Dd>(&raw, Design { features: p, fit_intercept });
            let (reduced, shift) = (reduce(&factor), &factor.shift);
            // Scaled [y', x'_1..x'_p], centred when an intercept is fitted.
            let mut columns: Vec<Vec<f64>> =
                (0..=p).map(|c| raw.iter().skip(c).step_by(p + 1).map(|v| (v - shift.center[c]) * shift.scale[c]).collect()).collect();
            if fit_intercept {
                for column in &mut columns {
                    let mean = column.iter().sum::<f64>() / n as f64;
                    column.iter_mut().for_each(|v| *v -= mean);
                }
            }
            let (r, target) = (&reduced.triangle, &reduced.target);
            let tolerance = 1e-12 * inner(&columns[0], &columns[0]);
            for a in 0..p {
                for b in 0..p {
                    let gram = inner(&columns[a + 1], &columns[b + 1]);
                    let product: f64 = (0..p).map(|i| r[i * p + a] * r[i * p + b]).sum();
                    assert!((gram - product).abs() <= tolerance, "(RᵀR)[{a},{b}] = {product}, centred Gram {gram}");
                }
                let cross = inner(&columns[a + 1], &columns[0]);
                let product: f64 = (0..p).map(|i| r[i * p + a] * target[i]).sum();
                assert!((cross - product).abs() <= tolerance, "(Rᵀt)[{a}] = {product}, X'ᵀy' {cross}");
            }
            let total = inner(target, target) + reduced.residual;
            assert!((total - inner(&columns[0], &columns[0])).abs() <= tolerance, "‖t‖² + residual = {total}");
            assert_eq!((reduced.rows, &reduced.slope_scale[..], reduced.label_scale), (n as u64, &shift.scale[1..], shift.scale[0]));
        }
    }
}
