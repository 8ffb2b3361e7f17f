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
use crate::dd::Dd;
use crate::distributions::student_t_two_sided;
use crate::error::CoreError;
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
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub design: Design,
    pub l2: f64,
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
    /// Absent for ridge fits (l2 > 0) and fits with no residual degrees of freedom.
    pub inference: Option<Inference>,
}

impl Fit {
    /// After the coefficients changed (refinement): the intercept in the
    /// original basis, and the t statistics and p-values that use them.
    pub fn refresh_intercept_and_tests(&mut self) {
        if self.design.fit_intercept {
            let mut acc = Dd::from(self.center_label).add_f64(self.centered_intercept);
            for (b, c) in self.coefficients.iter().zip(&self.center) {
                acc = acc - Dd::product(*b, *c);
            }
            self.intercept = acc.to_f64();
        }
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
    let Assembled { mut fit, scaled_rss, scaled_tss } = assemble(factor, l2, precision, &kept.columns, &solution, least_squares_rss, conditioning)?;
    if l2 == 0.0 && fit.statistics.df_resid > 0.0 {
        inference::infer(&mut fit, factor, &kept, scaled_rss, scaled_tss)?;
    }
    Ok(fit)
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
    l2: f64,
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
    let mse = rss / nf;
    // The label's units squared can leave float64 below as well as above: a
    // positive mse (or σ²) that rounds to 0 would give zero-width intervals.
    let scaled_mse = scaled_rss / nf;
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
        rmse: units.label((scaled_rss / nf).sqrt()),
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
    };
    let fit = Fit {
        design,
        l2,
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
    };
    Ok(Assembled { fit, scaled_rss, scaled_tss })
}
