//! NIST StRD linear least-squares datasets against their certified values,
//! scored by LRE (log relative error, capped at 15) as NIST prescribes.

use linear_core::fit::{fit_arrays, FitOptions};
use linear_core::solve::Fit;
use serde_json::Value;
use std::path::PathBuf;

fn nist_dir() -> PathBuf {
    std::env::var_os("LINEAR_NIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/nist"))
}

fn lre(estimate: f64, certified: f64) -> f64 {
    let err = (estimate - certified).abs();
    let value = if certified == 0.0 { -err.log10() } else { -(err / certified.abs()).log10() };
    if value.is_nan() { 0.0 } else { value.clamp(0.0, 15.0) }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

struct Scores {
    coefficients: f64,
    std_errors: f64,
    residual_sd: f64,
    r_squared: f64,
}

fn score(name: &str) -> Scores {
    let dir = nist_dir();
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap()).unwrap();
    let text = std::fs::read_to_string(dir.join(format!("{name}.csv"))).unwrap();
    let degree = meta["degree"].as_u64().map(|d| d as usize);
    let intercept = meta["intercept"].as_bool().unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut features = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let cells: Vec<f64> = line.split(',').map(|c| c.trim().parse().unwrap()).collect();
        y.push(cells[0]);
        let row: Vec<f64> = match degree {
            Some(d) => (1..=d).map(|k| cells[1].powi(k as i32)).collect(),
            None => cells[1..].to_vec(),
        };
        features = row.len();
        x.extend(row);
    }
    let fit: Fit = fit_arrays(&x, &y, features, FitOptions { fit_intercept: intercept, ..FitOptions::default() }, 2).unwrap();
    let certified = &meta["certified"];
    let (coef, se) = (floats(&certified["coefficients"]), floats(&certified["std_errors"]));
    let s = &fit.statistics;
    let mut ours = Vec::new();
    let mut ours_se = Vec::new();
    if intercept {
        ours.push(fit.intercept);
        ours_se.push(s.intercept_std_error);
    }
    ours.extend(&fit.coefficients);
    ours_se.extend(&s.std_errors);
    let min = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(e, c)| lre(*e, *c)).fold(15.0, f64::min);
    Scores {
        coefficients: min(&ours, &coef),
        std_errors: min(&ours_se, &se),
        residual_sd: lre(s.residual_std_error, certified["residual_sd"].as_f64().unwrap()),
        r_squared: lre(s.r_squared, certified["r_squared"].as_f64().unwrap()),
    }
}

#[test]
fn certified_values_are_reproduced() {
    let sets = ["Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley", "Wampler1", "Wampler2", "Wampler3"];
    println!("| dataset | coefficients | std errors | residual SD | R² |");
    println!("|---|---|---|---|---|");
    let mut failures = Vec::new();
    for name in sets {
        let s = score(name);
        println!("| {name} | {:.1} | {:.1} | {:.1} | {:.1} |", s.coefficients, s.std_errors, s.residual_sd, s.r_squared);
        let bar = if name == "Filip" { 7.0 } else { 9.0 };
        if s.coefficients < bar || s.std_errors < bar || s.residual_sd < bar || s.r_squared < bar {
            failures.push(name);
        }
    }
    assert!(failures.is_empty(), "below the LRE bar: {failures:?}");
}
