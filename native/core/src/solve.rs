//! Factor -> model: rank-revealing solve, then the statistics users read.
//!
//! The factor R of [X | y] is re-triangularised column by column; a column
//! whose part orthogonal to the columns before it is below
//! [`ALIAS_TOLERANCE`] of its norm is aliased (a linear combination of
//! earlier ones): its coefficient is 0 and flagged, and the rest is solved
//! without it, as R's `lm` does. Standard errors come from R⁻¹, so they need
//! no (XᵀX)⁻¹ and lose no digits to squaring the condition number. The
//! factor is of columns scaled by powers of two (see `accumulate`); every
//! result is mapped back to the data's units exactly, so a column's units
//! change its coefficient and nothing else.

use crate::accumulate::{Design, Factor};
use crate::dd::Dd;
use crate::distributions::{f_upper_tail, student_t_two_sided};
use crate::error::CoreError;
use crate::scalar::Scalar;
use crate::svd;
use crate::tsqr::reflector;

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
    let design = factor.design;
    let lead = usize::from(design.fit_intercept);
    let q = design.parameters();
    let k = q + 1;
    let y = k - 1;
    let n = factor.rows;
    if n < q as u64 || n == 0 {
        return Err(CoreError::TooFewRows { rows: n, parameters: q });
    }
    crate::cancel::check()?;
    let base = &factor.triangle;
    if base.entries().iter().any(|v| !v.to_f64().is_finite()) {
        return Err(CoreError::NonFiniteResult(
            "a column's values span too wide a range for float64 (beyond about 1e150 times its first rows' magnitude); \
             rescale that column or check it for corrupt values"
                .into(),
        ));
    }
    let shift = &factor.shift;
    let center = &shift.center;
    // Design column j holds its data times `scale_of(j)`; the label times `label_scale`.
    let scale_of = |j: usize| if j < lead { 1.0 } else { shift.scale[j - lead + 1] };
    let unscale_label = 1.0 / shift.scale[0];
    let mut work = base.clone();
    if l2 > 0.0 {
        // Ridge: append sqrt(l2)·I for the slopes (in the scaled columns'
        // units: sqrt(l2)·s_j) and refactor.
        let rows = design.features;
        let mut block = vec![T::default(); rows * k];
        for s in 0..rows {
            block[(lead + s) * rows + s] = T::from_f64(l2.sqrt() * scale_of(lead + s));
        }
        work.absorb_in_place(&mut block, rows);
    }
    let column_norm = |t: &crate::tsqr::Triangle<T>, j: usize| -> f64 {
        let mut s = T::default();
        for i in 0..=j {
            s = t.get(i, j).mul_add(t.get(i, j), s);
        }
        s.sqrt().to_f64()
    };
    let norms: Vec<f64> = (0..q).map(|j| column_norm(&work, j)).collect();

    let mut m: Vec<T> = work.entries().to_vec();
    let at = |i: usize, j: usize| i * k + j;
    let mut kept: Vec<usize> = Vec::with_capacity(q);
    for j in 0..q {
        crate::cancel::check()?;
        let r = kept.len();
        let mut sigma = T::default();
        for i in (r + 1)..k {
            sigma = m[at(i, j)].mul_add(m[at(i, j)], sigma);
        }
        let x0 = m[at(r, j)];
        let norm = x0.mul_add(x0, sigma).sqrt();
        // Written so that a NaN norm also counts as aliased.
        let independent = norm.to_f64() > ALIAS_TOLERANCE * norms[j];
        if !independent {
            continue;
        }
        if !sigma.is_zero() {
            let mut u: Vec<T> = ((r + 1)..k).map(|i| m[at(i, j)]).collect();
            let h = reflector(x0, sigma, &mut u);
            for c in (j + 1)..k {
                let mut dot = m[at(r, c)];
                for (i, &ui) in ((r + 1)..k).zip(&u) {
                    dot = ui.mul_add(m[at(i, c)], dot);
                }
                let w = dot * h.factor;
                m[at(r, c)] = m[at(r, c)] - w;
                for (i, &ui) in ((r + 1)..k).zip(&u) {
                    m[at(i, c)] = m[at(i, c)] - w * ui;
                }
            }
            m[at(r, j)] = h.beta;
            for i in (r + 1)..k {
                m[at(i, j)] = T::default();
            }
        }
        kept.push(j);
    }
    let rank = kept.len();
    let rk = |a: usize, b: usize| m[at(a, kept[b])];

    let mut solution = vec![T::default(); rank];
    for a in (0..rank).rev() {
        let mut s = m[at(a, y)];
        for (c, &known) in solution.iter().enumerate().skip(a + 1) {
            s = s - rk(a, c) * known;
        }
        solution[a] = s / rk(a, a);
    }
    // In the data's units: b_j = b'_j · s_j / s_label (powers of two: exact).
    let mut beta = vec![T::default(); q];
    for (a, &j) in kept.iter().enumerate() {
        beta[j] = solution[a] * T::from_f64(scale_of(j)) * T::from_f64(unscale_label);
    }
    if let Some(j) = beta.iter().position(|b| !b.to_f64().is_finite()) {
        let which = if j < lead { "the intercept".to_string() } else { format!("the coefficient of feature {}", j - lead + 1) };
        return Err(CoreError::NonFiniteResult(format!(
            "{which} is beyond the range of float64 numbers: the label is too large, or that column too small, in its units; rescale them"
        )));
    }
    let label_units = |scaled: f64| scaled * unscale_label;
    let label_units_squared = |scaled: f64| scaled * unscale_label * unscale_label;
    let mut rss_t = T::default();
    for i in rank..k {
        rss_t = m[at(i, y)].mul_add(m[at(i, y)], rss_t);
    }
    let fitted_rss = rss_t.to_f64();
    let scaled_rss = if l2 > 0.0 {
        // The factor's residual includes the penalty: recompute ||[X y][b; -1]||.
        let mut total = T::default();
        for i in 0..k {
            let mut s = -base.get(i, y);
            for (a, &j) in kept.iter().enumerate() {
                if j >= i {
                    s = base.get(i, j).mul_add(solution[a], s);
                }
            }
            total = s.mul_add(s, total);
        }
        total.to_f64()
    } else {
        fitted_rss
    };
    let mut tss_t = T::default();
    for i in lead..k {
        tss_t = base.get(i, y).mul_add(base.get(i, y), tss_t);
    }
    let scaled_tss = tss_t.to_f64();
    let (rss, tss) = (label_units_squared(scaled_rss), label_units_squared(scaled_tss));

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
    let aliased: Vec<bool> = (0..design.features).map(|f| !kept.contains(&(lead + f))).collect();

    // Precision estimate on the column-scaled kept triangle.
    let scaled: Vec<f64> = (0..rank * rank)
        .map(|e| {
            let (a, b) = (e / rank, e % rank);
            if b < a {
                0.0
            } else {
                rk(a, b).to_f64() / norms[kept[b]]
            }
        })
        .collect();
    let (largest, smallest) = svd::extreme_singular_values(&scaled, rank, rank);
    crate::cancel::check()?;
    let kappa = if smallest > 0.0 { largest / smallest } else { f64::INFINITY };
    let scaled_solution = kept.iter().enumerate().map(|(a, &j)| (norms[j] * solution[a].to_f64()).powi(2)).sum::<f64>().sqrt();
    let rho = if fitted_rss == 0.0 { 0.0 } else { fitted_rss.sqrt() / (largest * scaled_solution) };
    // √r rather than the worst-case r: rounding errors of r reflections add
    // like a random walk (Higham, ch. 19), and the bound is otherwise far too
    // pessimistic to keep well-conditioned data on the one-pass path.
    let estimated_error = (rank as f64).sqrt() * f64::EPSILON * (kappa + kappa * kappa * rho);

    // Condition number of the design as given: undo the scaling and the shift, X = X_s·T.
    let mut original = vec![0.0; q * q];
    for i in 0..q {
        for j in i..q {
            original[i * q + j] = base.get(i, j).to_f64() / scale_of(j);
        }
        if design.fit_intercept {
            for f in 0..design.features {
                original[i * q + lead + f] += center[f + 1] * base.get(i, 0).to_f64();
            }
        }
    }
    let condition_number = svd::condition_number(&original, q, q);
    crate::cancel::check()?;

    let nf = n as f64;
    let df_resid = nf - rank as f64;
    let df_model = (rank - lead) as f64;
    let mse = rss / nf;
    // The label's units squared can leave float64 below as well as above: a
    // positive mse (or σ²) that rounds to 0 would give zero-width intervals.
    let scaled_mse = scaled_rss / nf;
    if scaled_mse > 0.0 && (mse == 0.0 || label_units_squared(scaled_mse / df_resid.max(1.0)) == 0.0) {
        return Err(CoreError::NonFiniteResult(
            "the fit's mse is below the range of float64 numbers (the label's units squared underflow); rescale the label toward units near 1".into(),
        ));
    }
    let r_squared = if scaled_tss > 0.0 { 1.0 - scaled_rss / scaled_tss } else { f64::NAN };
    let adj_r_squared = if df_resid > 0.0 { 1.0 - (1.0 - r_squared) * (nf - lead as f64) / df_resid } else { f64::NAN };
    let features = design.features;
    let mut stats = Statistics {
        n,
        rank,
        df_model,
        df_resid,
        rss,
        tss,
        r_squared,
        adj_r_squared,
        mse,
        rmse: label_units((scaled_rss / nf).sqrt()),
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
    let mut inference = None;
    if l2 == 0.0 && df_resid > 0.0 {
        // σ in the scaled label's units; mapped back where it is reported.
        let sigma2 = scaled_rss / df_resid;
        let sigma = sigma2.sqrt();
        stats.residual_std_error = label_units(sigma);
        if df_model > 0.0 {
            stats.f_statistic = ((scaled_tss - scaled_rss) / df_model) / sigma2;
            stats.f_p_value = f_upper_tail(stats.f_statistic, df_model, df_resid);
        }
        // R⁻¹ column by column (upper triangular).
        let mut inverse = vec![T::default(); rank * rank];
        for c in 0..rank {
            crate::cancel::check()?;
            for a in (0..=c).rev() {
                let mut s = if a == c { T::from_f64(1.0) } else { T::default() };
                for b in (a + 1)..=c {
                    s = s - rk(a, b) * inverse[b * rank + c];
                }
                inverse[a * rank + c] = s / rk(a, a);
            }
        }
        for (a, &j) in kept.iter().enumerate() {
            let mut s = T::default();
            for c in a..rank {
                s = inverse[a * rank + c].mul_add(inverse[a * rank + c], s);
            }
            let se = label_units(sigma * s.sqrt().to_f64() * scale_of(j));
            if j >= lead {
                let f = j - lead;
                stats.std_errors[f] = se;
                stats.t_values[f] = coefficients[f] / se;
                stats.p_values[f] = student_t_two_sided(stats.t_values[f], df_resid);
            }
        }
        if design.fit_intercept {
            // Var(b0) = σ²·||R⁻ᵀ v|| with v mapping the shifted parameters to b0.
            let mut w = vec![T::default(); rank];
            let mut s2 = T::default();
            for a in 0..rank {
                let v = if kept[a] == 0 { 1.0 } else { -center[kept[a] - lead + 1] * scale_of(kept[a]) };
                let mut s = T::from_f64(v);
                for (c, &known) in w.iter().enumerate().take(a) {
                    s = s - rk(c, a) * known;
                }
                w[a] = s / rk(a, a);
                s2 = w[a].mul_add(w[a], s2);
            }
            stats.intercept_std_error = label_units(sigma * s2.sqrt().to_f64());
            stats.intercept_t_value = intercept / stats.intercept_std_error;
            stats.intercept_p_value = student_t_two_sided(stats.intercept_t_value, df_resid);
        }
        // R⁻¹ of the unscaled design: row a of the scaled one times s_a.
        let covariance_factor = (0..rank * rank).map(|e| inverse[e].to_f64() * scale_of(kept[e / rank])).collect();
        inference = Some(Inference { parameters: kept.clone(), covariance_factor, sigma2: label_units_squared(sigma2), df_resid });
    }
    Ok(Fit {
        design,
        l2,
        intercept,
        coefficients,
        aliased,
        center: center[1..].to_vec(),
        center_label: center[0],
        centered_intercept: if design.fit_intercept { beta[0].to_f64() } else { 0.0 },
        precision,
        estimated_error,
        refinement_contraction: (rank as f64).sqrt() * f64::EPSILON * kappa * kappa,
        statistics: stats,
        inference,
    })
}
