//! Test fixtures: deterministic random numbers (no dependency, same stream
//! everywhere) and hand-made models.

use crate::model::{Inference, Model, PerParameter, Prediction, Statistics, FORMAT, VERSION};

/// Decimal spellings that stress a number parser (signs, no digits before or
/// after the point, 17+ digits, the ends of the range, subnormals, overflow
/// and underflow), then `random` random values in three spellings each.
pub fn number_spellings(seed: u64, random: usize) -> Vec<String> {
    let mut cells: Vec<String> = [
        "0",
        "-0",
        "+1.5",
        "1.",
        ".5",
        "123456789012345678",
        "9007199254740993",
        "1e22",
        "1e23",
        "4.9e-324",
        "1.7976931348623157e308",
        "0.1",
        "-2.5E-3",
        "3e+4",
        "00012.50",
        "12345678901234567890123",
        "2.2250738585072014e-308",
        "0.30000000000000004",
        "1e-400",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rng = Lcg::new(seed);
    for _ in 0..random {
        let x = (rng.uniform() - 0.5) * 10f64.powi((rng.uniform() * 40.0) as i32 - 20);
        cells.push(format!("{x}"));
        cells.push(format!("{x:e}"));
        cells.push(format!("{x:.7}"));
    }
    cells
}

/// Pushes 1 MiB chunks of digits (a line that never ends) until the reader
/// refuses one, up to a little past `limit` bytes; the refusal.
pub fn push_endless_line(limit: usize, mut push: impl FnMut(&[u8]) -> Result<(), crate::CoreError>) -> crate::CoreError {
    let chunk = vec![b'7'; 1 << 20];
    for _ in 0..=(limit >> 20) {
        if let Err(err) = push(&chunk) {
            return err;
        }
    }
    panic!("a line of more than {limit} bytes was accepted");
}

pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407))
    }

    pub fn next_u64(&mut self) -> u64 {
        // SplitMix64: full-period, well mixed.
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// A model predicting `center_label + Σ b_j (x_j − c_j)` (no other fit behind
/// it), with standard errors from an identity covariance factor when `inference`.
pub fn example_model(coefficients: &[f64], center: &[f64], center_label: f64, names: &[&str], inference: bool) -> Model {
    let p = coefficients.len();
    let per_parameter = |v: f64| PerParameter { intercept: Some(v), coefficients: vec![Some(v); p] };
    Model {
        format: FORMAT.into(),
        version: VERSION,
        fit_intercept: true,
        l2: 0.0,
        l1: 0.0,
        wd: 0.0,
        non_negative: false,
        at_bound: Vec::new(),
        weight_column: None,
        label_name: "y".into(),
        feature_names: names.iter().map(|n| n.to_string()).collect(),
        feature_names_from_header: true,
        intercept: center_label - coefficients.iter().zip(center).map(|(b, c)| b * c).sum::<f64>(),
        coefficients: coefficients.to_vec(),
        aliased: vec![false; p],
        statistics: Statistics {
            n: 10 + p as u64,
            rank: p + 1,
            df_model: p as f64,
            df_resid: 9.0,
            r_squared: Some(0.5),
            adj_r_squared: Some(0.5),
            mse: 1.0,
            rmse: 1.0,
            residual_std_error: Some(1.0),
            f_statistic: Some(1.0),
            f_p_value: Some(0.5),
            std_errors: per_parameter(1.0),
            t_values: per_parameter(1.0),
            p_values: per_parameter(0.5),
            condition_number: Some(1.0),
            precision: "extended".into(),
            covariance_type: "nonrobust".into(),
            log_likelihood: None,
            aic: None,
            bic: None,
            conf_int: None,
            vif: Vec::new(),
            residuals: None,
        },
        prediction: Prediction { center: center.to_vec(), center_label, centered_intercept: 0.0 },
        inference: inference.then(|| Inference {
            parameters: (0..=p).collect(),
            covariance_factor: (0..(p + 1) * (p + 1)).map(|k| if k % (p + 2) == 0 { 1.0 } else { 0.0 }).collect(),
            sigma2: 1.0,
            df_resid: 9.0,
        }),
        cv: None,
        training: None,
    }
}

/// A = Q·diag(σ)·Pᵀ from random orthogonal Q and P (products of reflectors).
pub fn matrix_with_singular_values(sigma: &[f64], seed: u64) -> Vec<f64> {
    let n = sigma.len();
    let mut rng = Lcg::new(seed);
    let mut a = vec![0.0; n * n];
    for (i, s) in sigma.iter().enumerate() {
        a[i * n + i] = *s;
    }
    for side in 0..2 {
        for _ in 0..3 {
            let v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let vv: f64 = v.iter().map(|x| x * x).sum();
            for k in 0..n {
                // Reflect row k (side 0: columns) or column k (side 1: rows).
                let dot: f64 = (0..n).map(|m| v[m] * if side == 0 { a[k * n + m] } else { a[m * n + k] }).sum();
                for m in 0..n {
                    let cell = if side == 0 { &mut a[k * n + m] } else { &mut a[m * n + k] };
                    *cell -= 2.0 * dot / vv * v[m];
                }
            }
        }
    }
    a
}
