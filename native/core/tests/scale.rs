//! Units never change the answer: multiplying a column by 10^k scales its
//! coefficient (and standard error) by 10^-k to full accuracy and leaves
//! everything else as it was, for every k whose data and coefficients are
//! finite doubles; beyond that range the fit is refused, never NaN.

use linear_core::estimator::Penalties;
use linear_core::fit::{fit_arrays, FitOptions, StreamingFit};
use linear_core::solve::Fit;

/// 40 rows of three well-conditioned features and a noisy label.
fn data() -> (Vec<f64>, Vec<f64>) {
    let mut state = 7u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..40 {
        let row = [1.0 + i as f64 / 10.0 + next(), 2.0 * next(), 5.0 + next()];
        y.push(3.0 + 2.0 * row[0] - 1.5 * row[1] + 0.25 * row[2] + 0.1 * next());
        x.extend(row);
    }
    (x, y)
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * a.abs().max(b.abs())
}

/// Column j multiplied by 10^k[j] (k[j] = 0: left alone).
fn scaled(x: &[f64], k: [i32; 3]) -> Vec<f64> {
    x.iter().enumerate().map(|(e, &v)| if k[e % 3] == 0 { v } else { v * 10f64.powi(k[e % 3]) }).collect()
}

fn check_same_model(reference: &Fit, fit: &Fit, k: [i32; 3]) {
    // Each column's data was rounded once when scaled: a few ulps, times a small κ.
    let tolerance = 1e-13;
    for j in 0..3 {
        let unit = 10f64.powi(k[j]);
        assert!(
            close(fit.coefficients[j] * unit, reference.coefficients[j], tolerance),
            "k={k:?} b{j}: {} vs {}",
            fit.coefficients[j] * unit,
            reference.coefficients[j]
        );
        let se = fit.statistics.std_errors[j] * unit;
        assert!(close(se, reference.statistics.std_errors[j], tolerance), "k={k:?} se{j}");
        assert!(close(fit.statistics.t_values[j], reference.statistics.t_values[j], tolerance), "k={k:?} t{j}");
    }
    assert!(!fit.aliased.iter().any(|&a| a), "k={k:?}: a column was declared aliased");
    assert!(close(fit.intercept, reference.intercept, tolerance), "k={k:?} intercept");
    assert!(close(fit.statistics.r_squared, reference.statistics.r_squared, 1e-14), "k={k:?} r2");
    assert!(close(fit.statistics.rmse, reference.statistics.rmse, tolerance), "k={k:?} rmse");
    assert!(close(fit.statistics.f_statistic, reference.statistics.f_statistic, tolerance), "k={k:?} F");
}

#[test]
fn every_power_of_ten_on_several_columns_at_once_gives_the_same_model() {
    let (x, y) = data();
    let reference = fit_arrays(&x, &y, 3, FitOptions::default(), 1).unwrap();
    for k in (-300..=300).step_by(3) {
        // Three columns in three different units at once; the coefficients stay finite.
        let ks = [k, -k / 2, (k * 7) % 290];
        let fit = fit_arrays(&scaled(&x, ks), &y, 3, FitOptions::default(), 2).unwrap();
        check_same_model(&reference, &fit, ks);
    }
}

#[test]
fn the_streaming_path_is_as_scale_proof_as_the_in_memory_one() {
    let (x, y) = data();
    let reference = fit_arrays(&x, &y, 3, FitOptions::default(), 1).unwrap();
    for ks in [[200, 0, -200], [-250, 150, 0], [0, 0, 300]] {
        let xs = scaled(&x, ks);
        let mut csv = String::new();
        for (i, label) in y.iter().enumerate() {
            csv.push_str(&format!("{label:e},{:e},{:e},{:e}\n", xs[3 * i], xs[3 * i + 1], xs[3 * i + 2]));
        }
        let mut fit = StreamingFit::new(FitOptions::default(), None, 2).unwrap();
        fit.begin_source("d.csv");
        fit.push(csv.as_bytes()).unwrap();
        fit.end_source().unwrap();
        let model = fit.finish().unwrap().expect("small data is fitted in one go");
        check_same_model(&reference, &model, ks);
    }
}

#[test]
fn ridge_in_other_units_is_the_same_penalised_problem() {
    // Every feature times 2^-200 and the penalty times 2^-400 state the same
    // problem, whose slopes are 2^200 times the reference's.
    let (x, y) = data();
    let reference =
        fit_arrays(&x, &y, 3, FitOptions { penalties: Penalties { l2: 0.5, ..Penalties::default() }, ..FitOptions::default() }, 1).unwrap();
    let tiny = 2f64.powi(-200);
    let x_small: Vec<f64> = x.iter().map(|v| v * tiny).collect();
    let fit = fit_arrays(
        &x_small,
        &y,
        3,
        FitOptions { penalties: Penalties { l2: 0.5 * tiny * tiny, ..Penalties::default() }, ..FitOptions::default() },
        1,
    )
    .unwrap();
    for j in 0..3 {
        assert!(
            close(fit.coefficients[j] * tiny, reference.coefficients[j], 1e-13),
            "b{j}: {} vs {}",
            fit.coefficients[j] * tiny,
            reference.coefficients[j]
        );
    }
    assert!(close(fit.intercept, reference.intercept, 1e-13));
}

#[test]
fn a_coefficient_beyond_float64_is_refused_not_returned_as_nan() {
    let (x, y) = data();
    // Column 1 at 1e-308: its coefficient would be about 2e308.
    let err = fit_arrays(&scaled(&x, [-308, 0, 0]), &y, 3, FitOptions::default(), 1).unwrap_err();
    assert_eq!(err.code(), "NON_FINITE_RESULT", "{err}");
    assert!(err.to_string().contains("feature 1"), "{err}");
}
