//! Heteroskedasticity-robust (sandwich) standard errors, HC0 to HC3 as
//! statsmodels defines them: V = (XᵀX)⁻¹ (Σ ω_i x_i x_iᵀ) (XᵀX)⁻¹ with
//! ω_i = e_i² (HC0), e_i²·n/(n−k) (HC1), e_i²/(1−h_i) (HC2), e_i²/(1−h_i)²
//! (HC3), h_i the leverage of row i; weighted fits use the whitened problem.
//!
//! Leverages and residuals need the fitted model, so this is a second pass
//! over the training rows. It works in the fit's shifted basis with the
//! stored R⁻¹: z = R⁻ᵀx̃ gives h = ‖z‖² and V = R⁻¹ (Σ ω z zᵀ) R⁻ᵀ, so
//! (XᵀX)⁻¹ is never formed and offset features cost no digits.

use crate::dd::Dd;
use crate::distributions::{f_upper_tail, student_t_two_sided};
use crate::error::CoreError;
use crate::solve::Fit;

/// A row whose leverage is this close to 1 makes HC2 and HC3 undefined: its
/// residual is 0 up to rounding, and so is 1 − h, so their ratio is noise.
pub const LEVERAGE_TOLERANCE: f64 = 1e-10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CovarianceType {
    /// σ²(XᵀX)⁻¹: what the fit already reports.
    Classical,
    Hc0,
    Hc1,
    Hc2,
    Hc3,
}

impl CovarianceType {
    /// Case-insensitive; "nonrobust" (statsmodels' name) is Classical.
    pub fn from_name(name: &str) -> Result<Self, CoreError> {
        match name.to_ascii_lowercase().as_str() {
            "classical" | "nonrobust" => Ok(CovarianceType::Classical),
            "hc0" => Ok(CovarianceType::Hc0),
            "hc1" => Ok(CovarianceType::Hc1),
            "hc2" => Ok(CovarianceType::Hc2),
            "hc3" => Ok(CovarianceType::Hc3),
            _ => Err(CoreError::InvalidArgument(format!("unknown covariance type '{name}'; use one of classical, HC0, HC1, HC2, HC3"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CovarianceType::Classical => "nonrobust",
            CovarianceType::Hc0 => "HC0",
            CovarianceType::Hc1 => "HC1",
            CovarianceType::Hc2 => "HC2",
            CovarianceType::Hc3 => "HC3",
        }
    }
}

/// The covariance of the estimated parameters in the data's units.
#[derive(Clone, Debug, PartialEq)]
pub struct RobustCovariance {
    pub kind: CovarianceType,
    /// Design indices (0 = intercept when fitted) of the rows and columns, as `Inference::parameters`.
    pub parameters: Vec<usize>,
    /// Row-major, symmetric, `parameters.len()` square.
    pub matrix: Vec<f64>,
}

/// The second pass: feed it the fit's training rows in any chunks, then `finish`.
pub struct RobustPass {
    kind: CovarianceType,
    features: usize,
    lead: usize,
    parameters: Vec<usize>,
    /// R⁻¹ of the shifted design over `parameters`, row-major upper.
    factor: Vec<f64>,
    /// The shifted-basis solution over `parameters`.
    solution: Vec<f64>,
    center: Vec<f64>,
    center_label: f64,
    sigma2: f64,
    df_resid: f64,
    expected_rows: u64,
    rows: u64,
    weighted_rows: u64,
    /// Σ ω z zᵀ, upper triangle of a row-major square.
    meat: Vec<f64>,
    problem: Option<CoreError>,
    shifted: Vec<Dd>,
    z: Vec<f64>,
}

impl RobustPass {
    pub fn new(fit: &Fit, kind: CovarianceType) -> Result<Self, CoreError> {
        let Some(inference) = fit.inference.as_ref() else {
            return Err(CoreError::InvalidArgument(
                "this fit has no classical inference to make robust: ridge fits (l2 > 0) and fits with as many parameters as rows have \
                 no standard errors; fit with l2 = 0 and more rows than parameters"
                    .into(),
            ));
        };
        let lead = usize::from(fit.design.fit_intercept);
        let parameters = inference.parameters.clone();
        let r = parameters.len();
        if inference.covariance_factor.len() != r * r || (lead == 1 && parameters.first() != Some(&0)) {
            return Err(CoreError::Internal("the fit's covariance factor does not match its parameters".into()));
        }
        let solution = parameters.iter().map(|&j| if j < lead { fit.centered_intercept } else { fit.coefficients[j - lead] }).collect();
        Ok(RobustPass {
            kind,
            features: fit.coefficients.len(),
            lead,
            factor: inference.covariance_factor.clone(),
            solution,
            center: fit.center.clone(),
            center_label: fit.center_label,
            sigma2: inference.sigma2,
            df_resid: inference.df_resid,
            expected_rows: fit.statistics.n,
            rows: 0,
            weighted_rows: 0,
            meat: vec![0.0; r * r],
            problem: None,
            shifted: vec![Dd::ZERO; r],
            z: vec![0.0; r],
            parameters,
        })
    }

    /// Raw rows as the data has them, `[label, x1..xp]` row-major, and
    /// optionally one weight per row (rows of weight 0 count for nothing).
    /// Problems found here are reported by `finish`. Classical needs no rows.
    pub fn push_rows(&mut self, raw: &[f64], weights: Option<&[f64]>) {
        let width = self.features + 1;
        assert_eq!(raw.len() % width, 0, "raw rows must be whole");
        let count = raw.len() / width;
        if let Some(w) = weights {
            assert_eq!(w.len(), count, "one weight per row");
        }
        if self.kind == CovarianceType::Classical || self.problem.is_some() {
            return;
        }
        let r = self.parameters.len();
        for (i, row) in raw.chunks_exact(width).enumerate() {
            let w = weights.map_or(1.0, |w| w[i]);
            self.rows += 1;
            if !(w >= 0.0 && w.is_finite()) {
                self.problem = Some(CoreError::InvalidArgument(format!("row {} has weight {w}; weights must be finite and >= 0", self.rows)));
                return;
            }
            if w == 0.0 {
                continue;
            }
            self.weighted_rows += 1;
            // The residual in double-double, as refinement computes it: the
            // shifted values are exact, so e keeps its digits when y ≫ e.
            let mut residual = Dd::difference(row[0], self.center_label);
            for (a, &j) in self.parameters.iter().enumerate() {
                self.shifted[a] = if j < self.lead { Dd::from(1.0) } else { Dd::difference(row[j - self.lead + 1], self.center[j - self.lead]) };
                residual = residual - self.shifted[a] * Dd::from(self.solution[a]);
            }
            let e = residual.to_f64();
            let mut h = 0.0;
            for a in 0..r {
                let mut s = 0.0;
                for c in 0..=a {
                    s += self.factor[c * r + a] * self.shifted[c].hi;
                }
                self.z[a] = s;
                h += s * s;
            }
            // Whitened: row and residual times √w, so h and ω pick up w, and ω z zᵀ w².
            let h = w * h;
            let omega = w * e * e;
            let omega = match self.kind {
                CovarianceType::Classical | CovarianceType::Hc0 | CovarianceType::Hc1 => omega,
                CovarianceType::Hc2 | CovarianceType::Hc3 => {
                    if h > 1.0 + 1e-6 {
                        self.problem = Some(CoreError::InvalidArgument(format!(
                            "row {} has leverage {h}, above 1, which no row of the fit's data can have; stream exactly the rows \
                             (and weights) the model was fitted on",
                            self.rows
                        )));
                        return;
                    }
                    if 1.0 - h <= LEVERAGE_TOLERANCE {
                        self.problem = Some(CoreError::InvalidArgument(format!(
                            "{} is undefined for these data: row {} has leverage 1 (the fit passes through it exactly, as when it alone \
                             has a dummy feature set); use HC0 or HC1, or drop that row or feature",
                            self.kind.name(),
                            self.rows
                        )));
                        return;
                    }
                    if self.kind == CovarianceType::Hc2 {
                        omega / (1.0 - h)
                    } else {
                        omega / ((1.0 - h) * (1.0 - h))
                    }
                }
            };
            let scale = omega * w;
            for a in 0..r {
                let s = scale * self.z[a];
                for b in a..r {
                    self.meat[a * r + b] += s * self.z[b];
                }
            }
        }
    }

    /// Replaces the fit's standard errors, t and p-values (intercept too) and
    /// its F test (a Wald test of all slopes) with robust ones, and returns the
    /// covariance. Classical leaves the fit as it is.
    pub fn finish(self, fit: &mut Fit) -> Result<RobustCovariance, CoreError> {
        if let Some(problem) = self.problem {
            return Err(problem);
        }
        crate::cancel::check()?;
        fit.covariance = self.kind;
        let classical = self.kind == CovarianceType::Classical;
        if !classical && self.rows != self.expected_rows && self.weighted_rows != self.expected_rows {
            return Err(CoreError::InvalidArgument(format!(
                "the robust pass read {} rows but the fit was of {}; stream exactly the rows the model was fitted on",
                self.rows, self.expected_rows
            )));
        }
        let r = self.parameters.len();
        let lead = self.lead;
        let scale = match self.kind {
            CovarianceType::Hc1 => self.expected_rows as f64 / self.df_resid,
            _ => 1.0,
        };
        let mut meat = vec![0.0; r * r];
        for a in 0..r {
            if classical {
                meat[a * r + a] = self.sigma2;
                continue;
            }
            for b in a..r {
                meat[a * r + b] = scale * self.meat[a * r + b];
                meat[b * r + a] = meat[a * r + b];
            }
        }
        // Rows of the map from the meat to the data's parameters: R⁻¹ for the
        // slopes (the shift leaves them alone), and for b0 = b0' − Σ c_j b_j
        // the row vᵀR⁻¹ with v = [1, −c_j..].
        let mut map = self.factor.clone();
        if lead == 1 {
            for (c, entry) in map[..r].iter_mut().enumerate() {
                *entry = (0..=c)
                    .map(|a| {
                        let v = if a == 0 { 1.0 } else { -self.center[self.parameters[a] - lead] };
                        v * self.factor[a * r + c]
                    })
                    .sum();
            }
        }
        let mut product = vec![0.0; r * r];
        for a in 0..r {
            for d in 0..r {
                product[a * r + d] = (0..r).map(|c| map[a * r + c] * meat[c * r + d]).sum();
            }
        }
        let mut matrix = vec![0.0; r * r];
        for a in 0..r {
            for b in a..r {
                matrix[a * r + b] = (0..r).map(|d| product[a * r + d] * map[b * r + d]).sum();
                matrix[b * r + a] = matrix[a * r + b];
            }
        }
        if (0..r).any(|a| !matrix[a * r + a].is_finite()) {
            return Err(CoreError::NonFiniteResult(
                "the robust covariance is not finite: the rows of the second pass hold values far beyond the fit's; \
                 stream exactly the rows the model was fitted on"
                    .into(),
            ));
        }
        if !classical {
            self.replace_tests(fit, &matrix, &meat);
        }
        Ok(RobustCovariance { kind: self.kind, parameters: self.parameters, matrix })
    }

    fn replace_tests(&self, fit: &mut Fit, matrix: &[f64], meat: &[f64]) {
        let r = self.parameters.len();
        let lead = self.lead;
        let df = self.df_resid;
        let s = &mut fit.statistics;
        for f in 0..self.features {
            s.std_errors[f] = f64::NAN;
            s.t_values[f] = f64::NAN;
            s.p_values[f] = f64::NAN;
        }
        for (a, &j) in self.parameters.iter().enumerate() {
            let se = matrix[a * r + a].sqrt();
            let (estimate, t) = if j < lead {
                s.intercept_std_error = se;
                (fit.intercept, &mut s.intercept_t_value)
            } else {
                s.std_errors[j - lead] = se;
                (fit.coefficients[j - lead], &mut s.t_values[j - lead])
            };
            *t = estimate / se;
            let p = student_t_two_sided(*t, df);
            if j < lead {
                s.intercept_p_value = p;
            } else {
                s.p_values[j - lead] = p;
            }
        }
        // Wald test of the slopes: their block of R⁻¹ is the trailing one
        // (the intercept comes first), so bᵀV⁻¹b = uᵀM⁻¹u with u = R b over
        // the slopes, and R's condition is not squared.
        let q = r - lead;
        s.f_statistic = f64::NAN;
        s.f_p_value = f64::NAN;
        if q == 0 {
            return;
        }
        let at = |a: usize, b: usize| (a + lead) * r + b + lead;
        let mut u = vec![0.0; q];
        for a in (0..q).rev() {
            let known: f64 = (a + 1..q).map(|c| self.factor[at(a, c)] * u[c]).sum();
            u[a] = (fit.coefficients[self.parameters[a + lead] - lead] - known) / self.factor[at(a, a)];
        }
        // Cholesky of the slopes' meat, then ‖L⁻¹u‖²; a meat that is not
        // positive definite leaves no test.
        let mut l = vec![0.0; q * q];
        for a in 0..q {
            for b in 0..=a {
                let sum = meat[at(a, b)] - (0..b).map(|c| l[a * q + c] * l[b * q + c]).sum::<f64>();
                if a == b {
                    if sum.is_nan() || sum <= 0.0 {
                        return;
                    }
                    l[a * q + a] = sum.sqrt();
                } else {
                    l[a * q + b] = sum / l[b * q + b];
                }
            }
        }
        let mut wald = 0.0;
        let mut y = vec![0.0; q];
        for a in 0..q {
            y[a] = (u[a] - (0..a).map(|c| l[a * q + c] * y[c]).sum::<f64>()) / l[a * q + a];
            wald += y[a] * y[a];
        }
        s.f_statistic = wald / q as f64;
        s.f_p_value = f_upper_tail(s.f_statistic, q as f64, df);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimator::Penalties;
    use crate::fit::{fit_arrays, FitOptions};
    use crate::testing::Lcg;
    use CovarianceType::*;

    const ROBUST: [CovarianceType; 4] = [Hc0, Hc1, Hc2, Hc3];

    /// `n` rows of `p` features `offset + u` (u normal, every 13th row five
    /// times wider, for a spread of leverages) and y = 1 + Σ (j+1)·u_j plus
    /// noise growing with |u_0|: heteroskedastic.
    fn data(seed: u64, n: usize, p: usize, offset: f64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Lcg::new(seed);
        let (mut x, mut y) = (Vec::with_capacity(n * p), Vec::with_capacity(n));
        for i in 0..n {
            let spread = if i % 13 == 0 { 5.0 } else { 1.0 };
            let u: Vec<f64> = (0..p).map(|_| spread * rng.normal()).collect();
            y.push(1.0 + u.iter().enumerate().map(|(j, v)| (j as f64 + 1.0) * v).sum::<f64>() + (0.5 + u[0].abs()) * rng.normal());
            x.extend(u.iter().map(|v| offset + v));
        }
        (x, y)
    }

    fn raw_rows(x: &[f64], y: &[f64], p: usize) -> Vec<f64> {
        y.iter().enumerate().flat_map(|(i, &label)| std::iter::once(label).chain(x[i * p..(i + 1) * p].iter().copied())).collect()
    }

    fn invert(m: &[f64], k: usize) -> Vec<f64> {
        let mut a = m.to_vec();
        let mut inv: Vec<f64> = (0..k * k).map(|e| if e % (k + 1) == 0 { 1.0 } else { 0.0 }).collect();
        for c in 0..k {
            let pivot = (c..k).max_by(|&i, &j| a[i * k + c].abs().total_cmp(&a[j * k + c].abs())).unwrap();
            for col in 0..k {
                a.swap(c * k + col, pivot * k + col);
                inv.swap(c * k + col, pivot * k + col);
            }
            let d = a[c * k + c];
            for col in 0..k {
                a[c * k + col] /= d;
                inv[c * k + col] /= d;
            }
            for i in (0..k).filter(|&i| i != c) {
                let f = a[i * k + c];
                for col in 0..k {
                    a[i * k + col] -= f * a[c * k + col];
                    inv[i * k + col] -= f * inv[c * k + col];
                }
            }
        }
        inv
    }

    fn multiply(a: &[f64], b: &[f64], k: usize) -> Vec<f64> {
        (0..k * k).map(|e| (0..k).map(|c| a[e / k * k + c] * b[c * k + e % k]).sum()).collect()
    }

    /// The sandwich formed directly: design [1?, x − offset] (exact for the
    /// test data), (XᵀWX)⁻¹ by Gauss–Jordan, the solution, residuals and hat
    /// diagonal from it; then mapped to the data's intercept. Rows of weight
    /// 0 are left out, and n counts the others.
    fn direct(x: &[f64], y: &[f64], w: Option<&[f64]>, p: usize, intercept: bool, offset: f64, kind: CovarianceType) -> Vec<f64> {
        let lead = usize::from(intercept);
        let k = p + lead;
        let rows: Vec<(Vec<f64>, f64, f64)> = (0..y.len())
            .map(|i| {
                let d: Vec<f64> = (0..lead).map(|_| 1.0).chain(x[i * p..(i + 1) * p].iter().map(|v| v - offset)).collect();
                (d, y[i], w.map_or(1.0, |w| w[i]))
            })
            .filter(|row| row.2 > 0.0)
            .collect();
        let n = rows.len() as f64;
        let mut gram = vec![0.0; k * k];
        let mut moment = vec![0.0; k];
        for (d, label, wi) in &rows {
            for a in 0..k {
                moment[a] += wi * d[a] * label;
                for b in 0..k {
                    gram[a * k + b] += wi * d[a] * d[b];
                }
            }
        }
        let inverse = invert(&gram, k);
        let beta: Vec<f64> = (0..k).map(|a| (0..k).map(|b| inverse[a * k + b] * moment[b]).sum()).collect();
        let mut meat = vec![0.0; k * k];
        for (d, label, wi) in &rows {
            let e = label - (0..k).map(|a| d[a] * beta[a]).sum::<f64>();
            let h = wi * (0..k).map(|a| (0..k).map(|b| d[a] * inverse[a * k + b] * d[b]).sum::<f64>()).sum::<f64>();
            let omega = wi
                * e
                * e
                * match kind {
                    Hc0 => 1.0,
                    Hc1 => n / (n - k as f64),
                    Hc2 => 1.0 / (1.0 - h),
                    Hc3 => 1.0 / ((1.0 - h) * (1.0 - h)),
                    Classical => unreachable!(),
                };
            for a in 0..k {
                for b in 0..k {
                    meat[a * k + b] += omega * wi * d[a] * d[b];
                }
            }
        }
        let shifted = multiply(&multiply(&inverse, &meat, k), &inverse, k);
        let mut map: Vec<f64> = (0..k * k).map(|e| if e % (k + 1) == 0 { 1.0 } else { 0.0 }).collect();
        if intercept {
            map[1..k].fill(-offset);
        }
        let transposed: Vec<f64> = (0..k * k).map(|e| map[e % k * k + e / k]).collect();
        multiply(&multiply(&map, &shifted, k), &transposed, k)
    }

    fn robust(fit: &mut Fit, raw: &[f64], weights: Option<&[f64]>, kind: CovarianceType) -> Result<RobustCovariance, CoreError> {
        let mut pass = RobustPass::new(fit, kind)?;
        pass.push_rows(raw, weights);
        pass.finish(fit)
    }

    /// Worst relative difference of the covariance (off-diagonals relative
    /// to their scale √(V_aa V_bb)), the standard errors, the tests that use
    /// them and the F statistic (against a direct Wald test with `expected`).
    fn discrepancy(fit: &Fit, got: &RobustCovariance, expected: &[f64]) -> f64 {
        let r = got.parameters.len();
        assert_eq!(got.matrix.len(), expected.len());
        let mut worst = 0.0f64;
        let mut note = |a: f64, b: f64, scale: f64| worst = worst.max((a - b).abs() / scale);
        for a in 0..r {
            for b in 0..r {
                note(got.matrix[a * r + b], expected[a * r + b], (expected[a * r + a] * expected[b * r + b]).sqrt());
            }
        }
        let lead = usize::from(fit.design.fit_intercept);
        let s = &fit.statistics;
        for (a, &j) in got.parameters.iter().enumerate() {
            let se = expected[a * r + a].sqrt();
            let (got_se, t, p, estimate) = if j < lead {
                (s.intercept_std_error, s.intercept_t_value, s.intercept_p_value, fit.intercept)
            } else {
                let f = j - lead;
                (s.std_errors[f], s.t_values[f], s.p_values[f], fit.coefficients[f])
            };
            note(got_se, se, se);
            assert_eq!(t, estimate / got_se);
            assert_eq!(p, student_t_two_sided(t, s.df_resid));
        }
        for (f, &aliased) in fit.aliased.iter().enumerate() {
            if aliased {
                assert!(s.std_errors[f].is_nan() && s.t_values[f].is_nan() && s.p_values[f].is_nan());
            }
        }
        let slopes: Vec<usize> = (lead..r).collect();
        let q = slopes.len();
        let block: Vec<f64> = (0..q * q).map(|e| expected[slopes[e / q] * r + slopes[e % q]]).collect();
        let inverse = invert(&block, q);
        let b: Vec<f64> = slopes.iter().map(|&a| fit.coefficients[got.parameters[a] - lead]).collect();
        let wald = (0..q).map(|i| (0..q).map(|j| b[i] * inverse[i * q + j] * b[j]).sum::<f64>()).sum::<f64>() / q as f64;
        note(s.f_statistic, wald, wald);
        assert_eq!(s.f_p_value, f_upper_tail(s.f_statistic, q as f64, s.df_resid));
        worst
    }

    #[test]
    fn robust_errors_match_the_sandwich_formed_directly() {
        let (x, y) = data(1, 300, 3, 0.0);
        let raw = raw_rows(&x, &y, 3);
        for intercept in [true, false] {
            for kind in ROBUST {
                let mut fit = fit_arrays(&x, &y, 3, FitOptions { fit_intercept: intercept, ..FitOptions::default() }, 1).unwrap();
                let classical = fit.statistics.std_errors.clone();
                let got = robust(&mut fit, &raw, None, kind).unwrap();
                assert_eq!(got.parameters, (0..3 + usize::from(intercept)).collect::<Vec<_>>());
                let worst = discrepancy(&fit, &got, &direct(&x, &y, None, 3, intercept, 0.0, kind));
                assert!(worst < 1e-12, "{} intercept={intercept}: {worst:e}", kind.name());
                assert_ne!(fit.statistics.std_errors, classical, "the robust errors replace the classical ones");
            }
        }
    }

    #[test]
    fn robust_weighted_errors_are_those_of_the_whitened_problem() {
        // A weighted fit with integer weights is the unweighted fit of rows
        // repeated that often (same coefficients and R); only its row count
        // and residual degrees of freedom differ, and are set to the weighted fit's.
        let (x, y) = data(2, 200, 2, 0.0);
        let mut rng = Lcg::new(3);
        let weights: Vec<f64> = (0..y.len()).map(|i| if i == 7 { 0.0 } else { (rng.uniform() * 3.0).floor() + 1.0 }).collect();
        let (mut xr, mut yr) = (Vec::new(), Vec::new());
        for (i, &w) in weights.iter().enumerate() {
            for _ in 0..w as usize {
                xr.extend_from_slice(&x[i * 2..i * 2 + 2]);
                yr.push(y[i]);
            }
        }
        let raw = raw_rows(&x, &y, 2);
        for kind in ROBUST {
            let mut fit = fit_arrays(&xr, &yr, 2, FitOptions::default(), 1).unwrap();
            let n = weights.iter().filter(|&&w| w > 0.0).count();
            fit.statistics.n = n as u64;
            fit.statistics.df_resid = (n - 3) as f64;
            fit.inference.as_mut().unwrap().df_resid = (n - 3) as f64;
            let got = robust(&mut fit, &raw, Some(&weights), kind).unwrap();
            let worst = discrepancy(&fit, &got, &direct(&x, &y, Some(&weights), 2, true, 0.0, kind));
            assert!(worst < 1e-12, "{}: {worst:e}", kind.name());
        }
    }

    #[test]
    fn robust_aliased_features_keep_no_standard_error() {
        let (mut x, y) = data(4, 150, 3, 0.0);
        for row in x.chunks_exact_mut(3) {
            row[2] = row[0] + row[1];
        }
        let kept: Vec<f64> = x.chunks_exact(3).flat_map(|row| [row[0], row[1]]).collect();
        let raw = raw_rows(&x, &y, 3);
        for kind in ROBUST {
            let mut fit = fit_arrays(&x, &y, 3, FitOptions::default(), 1).unwrap();
            assert_eq!(fit.aliased, vec![false, false, true]);
            let got = robust(&mut fit, &raw, None, kind).unwrap();
            assert_eq!(got.parameters, vec![0, 1, 2]);
            let worst = discrepancy(&fit, &got, &direct(&kept, &y, None, 2, true, 0.0, kind));
            assert!(worst < 1e-12, "{}: {worst:e}", kind.name());
        }
    }

    #[test]
    fn robust_offset_features_lose_no_digits() {
        // Features near 1e6 with unit spread: (XᵀX)⁻¹ of the raw design would
        // lose twelve digits; the fit's shifted basis loses none. The direct
        // computation shifts by the offset (exactly) and maps back.
        let (x, y) = data(5, 250, 2, 1e6);
        let raw = raw_rows(&x, &y, 2);
        for kind in ROBUST {
            let mut fit = fit_arrays(&x, &y, 2, FitOptions::default(), 1).unwrap();
            let got = robust(&mut fit, &raw, None, kind).unwrap();
            let worst = discrepancy(&fit, &got, &direct(&x, &y, None, 2, true, 1e6, kind));
            assert!(worst < 1e-12, "{}: {worst:e}", kind.name());
        }
    }

    #[test]
    fn robust_results_do_not_depend_on_chunking() {
        let (x, y) = data(6, 120, 3, 10.0);
        let raw = raw_rows(&x, &y, 3);
        // Weights of at most 1 keep every w·h below 1 even for this unweighted
        // fit; they only need to exercise the weighted arithmetic.
        let weights: Vec<f64> = (0..y.len()).map(|i| 0.2 + 0.2 * (i % 5) as f64).collect();
        let fitted = fit_arrays(&x, &y, 3, FitOptions::default(), 1).unwrap();
        for kind in ROBUST {
            let (mut whole, mut pieces) = (fitted.clone(), fitted.clone());
            let at_once = robust(&mut whole, &raw, Some(&weights), kind).unwrap();
            let mut pass = RobustPass::new(&pieces, kind).unwrap();
            for (row, w) in raw.chunks_exact(4).zip(weights.chunks(1)) {
                pass.push_rows(row, Some(w));
            }
            let one_by_one = pass.finish(&mut pieces).unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&at_once.matrix), bits(&one_by_one.matrix));
            assert_eq!(bits(&whole.statistics.std_errors), bits(&pieces.statistics.std_errors));
            assert_eq!(whole.statistics.f_statistic.to_bits(), pieces.statistics.f_statistic.to_bits());
        }
    }

    #[test]
    fn robust_leverage_one_rows_refuse_hc2_and_hc3() {
        // Row 6 alone has the second feature set: the fit passes through it.
        let (mut x, y) = data(7, 60, 2, 0.0);
        for (i, row) in x.chunks_exact_mut(2).enumerate() {
            row[1] = if i == 5 { 1.0 } else { 0.0 };
        }
        let raw = raw_rows(&x, &y, 2);
        let fit = fit_arrays(&x, &y, 2, FitOptions::default(), 1).unwrap();
        for kind in [Hc2, Hc3] {
            let err = robust(&mut fit.clone(), &raw, None, kind).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
            let message = err.to_string();
            assert!(message.contains(kind.name()) && message.contains("row 6 has leverage 1") && message.contains("HC0"), "{message}");
        }
        for kind in [Hc0, Hc1] {
            let got = robust(&mut fit.clone(), &raw, None, kind).unwrap();
            assert!(got.matrix.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn robust_classical_is_the_fits_own_covariance() {
        let (x, y) = data(8, 80, 2, 100.0);
        let mut fit = fit_arrays(&x, &y, 2, FitOptions::default(), 1).unwrap();
        let before = fit.statistics.clone();
        let got = robust(&mut fit, &[], None, Classical).unwrap();
        assert_eq!(fit.statistics, before, "classical replaces nothing");
        let errors = [before.intercept_std_error, before.std_errors[0], before.std_errors[1]];
        for (a, se) in errors.iter().enumerate() {
            assert!((got.matrix[a * 3 + a].sqrt() - se).abs() <= 1e-12 * se, "{a}");
        }
    }

    #[test]
    fn robust_refuses_fits_without_inference_and_other_rows() {
        let (x, y) = data(9, 40, 2, 0.0);
        let ridge =
            fit_arrays(&x, &y, 2, FitOptions { penalties: Penalties { l2: 1.0, ..Penalties::default() }, ..FitOptions::default() }, 1).unwrap();
        let err = RobustPass::new(&ridge, Hc0).err().unwrap();
        assert!(err.to_string().contains("ridge"), "{err}");
        let mut fit = fit_arrays(&x, &y, 2, FitOptions::default(), 1).unwrap();
        let raw = raw_rows(&x, &y, 2);
        let err = robust(&mut fit, &raw[..raw.len() - 3], None, Hc0).unwrap_err();
        assert!(err.to_string().contains("read 39 rows but the fit was of 40"), "{err}");
        let err = robust(&mut fit, &raw, Some(&[-1.0; 40]), Hc0).unwrap_err();
        assert!(err.to_string().contains("row 1 has weight -1"), "{err}");
        let err = robust(&mut fit, &raw, Some(&[1e6; 40]), Hc3).unwrap_err();
        assert!(err.to_string().contains("above 1"), "{err}");
    }

    #[test]
    fn robust_covariance_types_are_named() {
        for kind in [Classical, Hc0, Hc1, Hc2, Hc3] {
            assert_eq!(CovarianceType::from_name(kind.name()).unwrap(), kind);
        }
        assert_eq!(CovarianceType::from_name("hc3").unwrap(), Hc3);
        assert_eq!(CovarianceType::from_name("nonrobust").unwrap(), Classical);
        assert_eq!(CovarianceType::from_name("HC4").unwrap_err().code(), "INVALID_ARGUMENT");
    }
}
