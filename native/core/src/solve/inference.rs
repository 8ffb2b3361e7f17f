//! Inference for a least-squares fit with residual degrees of freedom: σ²,
//! the F test, and standard errors, t and p of every estimated parameter.
//! They come from R⁻¹, so they need no (XᵀX)⁻¹ and lose no digits to
//! squaring the condition number.

use super::rank::Kept;
use super::{Fit, Inference, Units};
use crate::accumulate::Factor;
use crate::distributions::{f_upper_tail, student_t_two_sided};
use crate::error::CoreError;
use crate::scalar::Scalar;
use crate::triangular;

/// Fills in `fit`'s inference from the kept triangle; `scaled_rss` and
/// `scaled_tss` are in the scaled label's units.
pub(super) fn infer<T: Scalar>(fit: &mut Fit, factor: &Factor<T>, kept: &Kept<T>, scaled_rss: f64, scaled_tss: f64) -> Result<(), CoreError> {
    let lead = usize::from(factor.design.fit_intercept);
    let (units, center) = (Units::of(factor), &factor.shift.center);
    let (rank, columns) = (kept.rank(), &kept.columns);
    let stats = &mut fit.statistics;
    let (df_resid, df_model) = (stats.df_resid, stats.df_model);
    // σ in the scaled label's units; mapped back where it is reported.
    let sigma2 = scaled_rss / df_resid;
    let sigma = sigma2.sqrt();
    stats.residual_std_error = units.label(sigma);
    if df_model > 0.0 {
        stats.f_statistic = ((scaled_tss - scaled_rss) / df_model) / sigma2;
        stats.f_p_value = f_upper_tail(stats.f_statistic, df_model, df_resid);
    }
    let inverse = triangular::inverse(&kept.triangle, rank)?;
    for (a, &j) in columns.iter().enumerate() {
        let mut s = T::default();
        for c in a..rank {
            s = inverse[a * rank + c].mul_add(inverse[a * rank + c], s);
        }
        let se = units.label(sigma * s.sqrt().to_f64() * units.column(j));
        if j >= lead {
            let f = j - lead;
            // VIF_j = [(XᵀX)⁻¹]_jj · ‖x_j − x̄_j‖² (uncentred without an
            // intercept): R's column j below the intercept's row is the
            // centred column, and the column scales cancel.
            let mut spread = T::default();
            for i in lead.min(a)..=a {
                spread = kept.triangle[i * rank + a].mul_add(kept.triangle[i * rank + a], spread);
            }
            stats.vif[f] = (spread * s).to_f64();
            stats.std_errors[f] = se;
            stats.t_values[f] = fit.coefficients[f] / se;
            stats.p_values[f] = student_t_two_sided(stats.t_values[f], df_resid);
        }
    }
    if lead == 1 {
        // Var(b0) = σ²·‖R⁻ᵀ v‖² with v mapping the shifted parameters to b0.
        let v: Vec<T> = columns.iter().map(|&j| T::from_f64(if j == 0 { 1.0 } else { -center[j - lead + 1] * units.column(j) })).collect();
        let mut s2 = T::default();
        for w in triangular::forward_substitute_transposed(&kept.triangle, rank, &v) {
            s2 = w.mul_add(w, s2);
        }
        stats.intercept_std_error = units.label(sigma * s2.sqrt().to_f64());
        stats.intercept_t_value = fit.intercept / stats.intercept_std_error;
        stats.intercept_p_value = student_t_two_sided(stats.intercept_t_value, df_resid);
    }
    // R⁻¹ of the unscaled design: row a of the scaled one times s_a.
    let covariance_factor = (0..rank * rank).map(|e| inverse[e].to_f64() * units.column(columns[e / rank])).collect();
    fit.inference = Some(Inference { parameters: columns.clone(), covariance_factor, sigma2: units.label_squared(sigma2), df_resid });
    Ok(())
}
