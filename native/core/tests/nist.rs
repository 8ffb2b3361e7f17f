//! NIST StRD linear least-squares datasets against their certified values,
//! scored by LRE (log relative error, capped at 15) as NIST prescribes.

use linear_core::fit::{fit_arrays, FitOptions};
use linear_core::solve::Fit;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The vendored copy in tests/data/nist (see its README.md), or `LINEAR_NIST_DIR`.
fn nist_dir() -> PathBuf {
    std::env::var_os("LINEAR_NIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("data").join("nist"))
}

/// Reads one data file, or panics naming the path it wanted and why it failed.
fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| {
        panic!("cannot read NIST data file {}: {err} (set LINEAR_NIST_DIR to a directory holding NAME.csv and NAME.json)", path.display())
    })
}

fn lre(estimate: f64, certified: f64) -> f64 {
    let err = (estimate - certified).abs();
    let value = if certified == 0.0 { -err.log10() } else { -(err / certified.abs()).log10() };
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 15.0)
    }
}

fn floats(v: &Value, what: &str, file: &Path) -> Vec<f64> {
    let numbers = v.as_array().and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>());
    numbers.unwrap_or_else(|| panic!("{}: {what} is not an array of numbers: {v}", file.display()))
}

fn number(v: &Value, what: &str, file: &Path) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{}: {what} is not a number: {v}", file.display()))
}

struct Scores {
    coefficients: f64,
    std_errors: f64,
    residual_sd: f64,
    r_squared: f64,
}

fn score(name: &str) -> Scores {
    let dir = nist_dir();
    let (json_path, csv_path) = (dir.join(format!("{name}.json")), dir.join(format!("{name}.csv")));
    let meta: Value = serde_json::from_str(&read(&json_path)).unwrap_or_else(|err| panic!("{} is not valid JSON: {err}", json_path.display()));
    let text = read(&csv_path);
    let degree = meta["degree"].as_u64().map(|d| d as usize);
    let intercept = meta["intercept"].as_bool().unwrap_or_else(|| panic!("{}: \"intercept\" is not a boolean", json_path.display()));
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut features = 0;
    for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let cells: Vec<f64> = line
            .split(',')
            .map(|c| c.trim().parse().unwrap_or_else(|err| panic!("{}:{}: {c:?} is not a number: {err}", csv_path.display(), index + 1)))
            .collect();
        y.push(cells[0]);
        let row: Vec<f64> = match degree {
            Some(d) => (1..=d).map(|k| cells[1].powi(k as i32)).collect(),
            None => cells[1..].to_vec(),
        };
        features = row.len();
        x.extend(row);
    }
    let options = FitOptions { fit_intercept: intercept, ..FitOptions::default() };
    let fit: Fit = fit_arrays(&x, &y, features, options, 2).unwrap_or_else(|err| panic!("{name}: the fit failed: {err}"));
    let certified = &meta["certified"];
    let coef = floats(&certified["coefficients"], "certified.coefficients", &json_path);
    let se = floats(&certified["std_errors"], "certified.std_errors", &json_path);
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
        residual_sd: lre(s.residual_std_error, number(&certified["residual_sd"], "certified.residual_sd", &json_path)),
        r_squared: lre(s.r_squared, number(&certified["r_squared"], "certified.r_squared", &json_path)),
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
