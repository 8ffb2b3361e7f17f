//! Once a stop is requested every computation ends with TERMINATED (its own
//! test binary: the request holds for the whole process).

use linear_core::fit::{fit_arrays, FitOptions, StreamingFit};

fn csv(rows: usize, seed: usize) -> Vec<u8> {
    (0..rows).map(|i| format!("{},{},{}\n", (i * seed) % 17, (i * 7 + seed) % 13, i % 5)).collect::<String>().into_bytes()
}

#[test]
fn a_requested_stop_ends_fits_with_terminated_and_claims_no_cut_source() {
    let x: Vec<f64> = (0..200).map(|i| (i as f64).sin()).collect();
    let y: Vec<f64> = (0..100).map(|i| i as f64).collect();
    assert!(fit_arrays(&x, &y, 2, FitOptions::default(), 1).is_ok());
    let mut streamed = StreamingFit::new(FitOptions::default(), None, 2).unwrap();
    streamed.begin_source("a.csv");
    streamed.push(&csv(1000, 3)).unwrap();
    streamed.end_source().unwrap();
    let before = streamed.checkpoint("job").expect("a checkpoint after a.csv");
    streamed.begin_source("b.csv");
    streamed.push(&csv(1000, 5)).unwrap();

    linear_core::cancel::request();
    let err = fit_arrays(&x, &y, 2, FitOptions::default(), 1).unwrap_err();
    assert_eq!(err.code(), "TERMINATED");
    // b.csv's end is cut short: no checkpoint may say it was read.
    let _ = streamed.end_source();
    assert!(streamed.checkpoint("job").is_none());
    let mut resumed = StreamingFit::new(FitOptions::default(), None, 2).unwrap();
    assert_eq!(resumed.resume(&before, "job", "c").unwrap().1, 1);
}
