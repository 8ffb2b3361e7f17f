//! Once a stop is requested every computation ends with TERMINATED (its own
//! test binary: the request holds for the whole process).

use linear_core::fit::{fit_arrays, FitOptions};

#[test]
fn a_requested_stop_ends_fits_with_terminated() {
    let x: Vec<f64> = (0..200).map(|i| (i as f64).sin()).collect();
    let y: Vec<f64> = (0..100).map(|i| i as f64).collect();
    assert!(fit_arrays(&x, &y, 2, FitOptions::default(), 1).is_ok());
    linear_core::cancel::request();
    let err = fit_arrays(&x, &y, 2, FitOptions::default(), 1).unwrap_err();
    assert_eq!(err.code(), "TERMINATED");
}
