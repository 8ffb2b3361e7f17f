//! Orchestration: one fast f64 pass, and a double-double pass where f64
//! cannot certify the answer. Small data (up to [`RETAIN_VALUES`] values) is
//! kept in memory and always gets the extended pass, which costs little
//! there; larger data gets it only when the estimated error of the f64
//! solution exceeds [`ERROR_TARGET`], and then the caller streams it again.
//! Large arrays in memory are refined instead (residuals in double-double)
//! while the condition number lets refinement converge.

use crate::accumulate::{Accumulator, Design, Shift, LANES};
use crate::dd::Dd;
use crate::decode::{ChannelReader, Declared, Decoder, SourceSummary, Width};
use crate::error::CoreError;
use crate::model::{Model, Names};
use crate::solve::{solve, Fit, Precision};

/// Raw values kept in memory for an extended pass without re-reading.
pub const RETAIN_VALUES: usize = 1 << 20;
/// Largest relative coefficient error accepted from the f64 pass.
pub const ERROR_TARGET: f64 = 1e-12;
/// In memory, an f64 solution is refined instead of refactored when each
/// step surely shrinks its error (contraction at most this) and a few steps
/// take the estimated error well below the target.
const REFINE_CONTRACTION: f64 = 1e-2;
const REFINE_MAX_STEPS: usize = 4;

/// Refinement steps that bring `fit` from its estimated error to a thousandth
/// of the target, one more for safety, or `None` when refactoring is the
/// better road (no R⁻¹ stored, or refinement would converge too slowly).
fn refinement_steps(fit: &Fit) -> Option<usize> {
    let contraction = fit.refinement_contraction;
    // Written so that NaN contraction or an infinite error estimate also refactor.
    let converges = contraction <= REFINE_CONTRACTION && fit.estimated_error.is_finite();
    if fit.inference.is_none() || !converges {
        return None;
    }
    let mut error = fit.estimated_error;
    (1..=REFINE_MAX_STEPS).find(|_| {
        let done = error <= ERROR_TARGET * 1e-3;
        error *= contraction;
        done
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    pub fit_intercept: bool,
    /// Ridge penalty alpha >= 0 on the slopes.
    pub l2: f64,
    /// Always factor in double-double, whatever the f64 error estimate says.
    pub extended: bool,
    /// Bytes the solver may hold; a design that needs more is refused before
    /// anything of its size is allocated (see [`solver_memory`]).
    pub memory_limit: Option<u64>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { fit_intercept: true, l2: 0.0, extended: false, memory_limit: None }
    }
}

impl FitOptions {
    pub fn validate(&self) -> Result<(), CoreError> {
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return Err(CoreError::InvalidArgument(format!("l2 must be a finite number >= 0, got {}", self.l2)));
        }
        Ok(())
    }

    /// Refuses a design whose solver would not fit in `memory_limit`.
    fn check_memory(&self, design: Design) -> Result<(), CoreError> {
        let needed = solver_memory(design);
        match self.memory_limit {
            Some(available) if needed > available => Err(CoreError::NotEnoughMemory { features: design.features, needed, available }),
            _ => Ok(()),
        }
    }
}

/// Peak bytes of the solver for a design of k = parameters + 1 columns, all
/// O(k²) whatever the row count: the double-double lanes of the extended pass
/// (the f64 lanes of the first pass are smaller), the solve's working copies
/// and the condition number's f64 matrices.
pub fn solver_memory(design: Design) -> u64 {
    let k = design.columns() as u64;
    let lanes = LANES as u64 * 16;
    let solve = 3 * 16 + 3 * 8;
    k * k * (lanes + solve)
}

fn accepts_double(fit: &Fit) -> bool {
    fit.estimated_error <= ERROR_TARGET
}

fn fit_extended(design: Design, l2: f64, shift: Shift, raw: &[f64], threads: usize) -> Result<Fit, CoreError> {
    let mut acc = Accumulator::<Dd>::with_shift(design, threads, shift);
    acc.push_rows(raw);
    solve(&acc.finish(), l2, Precision::Extended)
}

/// Fits in-memory data: `x` row-major `rows x features`, `y` one per row.
pub fn fit_arrays(x: &[f64], y: &[f64], features: usize, options: FitOptions, threads: usize) -> Result<Fit, CoreError> {
    options.validate()?;
    if x.len() != y.len() * features {
        return Err(CoreError::InvalidArgument(format!("x has {} values, which is not {} rows x {features} features", x.len(), y.len())));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::NonFiniteInput { array: "y", row: i, column: 0, value: y[i] });
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::NonFiniteInput { array: "x", row: i / features.max(1), column: i % features.max(1), value: x[i] });
    }
    let design = Design { features, fit_intercept: options.fit_intercept };
    if design.parameters() == 0 {
        return Err(CoreError::InvalidArgument("no features and no intercept: there is nothing to fit".into()));
    }
    options.check_memory(design)?;
    // Interleave [y, x] a slab at a time so memory stays bounded.
    const SLAB_ROWS: usize = 1 << 14;
    let width = design.width();
    let each_slab = |visit: &mut dyn FnMut(&[f64])| {
        let mut raw = Vec::with_capacity(SLAB_ROWS.min(y.len()) * width);
        for start in (0..y.len()).step_by(SLAB_ROWS) {
            raw.clear();
            for i in start..(start + SLAB_ROWS).min(y.len()) {
                raw.push(y[i]);
                raw.extend_from_slice(&x[i * features..(i + 1) * features]);
            }
            visit(&raw);
        }
    };
    let small = y.len() * width <= RETAIN_VALUES;
    if !small && !options.extended {
        let mut double = Accumulator::<f64>::new(design, threads);
        each_slab(&mut |slab| double.push_rows(slab));
        let mut fit = solve(&double.finish(), options.l2, Precision::Double)?;
        if accepts_double(&fit) {
            refine(&mut fit, x, y, threads, Gradient::Double);
            return Ok(fit);
        }
        if let Some(steps) = refinement_steps(&fit) {
            for _ in 0..steps {
                refine(&mut fit, x, y, threads, Gradient::Extended);
            }
            return Ok(fit);
        }
    }
    let mut extended = Accumulator::<Dd>::new(design, threads);
    each_slab(&mut |slab| extended.push_rows(slab));
    solve(&extended.finish(), options.l2, Precision::Extended)
}

/// How Xᵀr is summed during refinement.
#[derive(Clone, Copy, PartialEq)]
enum Gradient {
    /// In f64: enough to polish an answer already certified to 1e-12.
    Double,
    /// In double-double: needed when residuals are large and κ is, since
    /// rounding Xᵀr would bring back the κ²·ρ error refinement removes.
    Extended,
}

/// One step of iterative refinement, for data in memory: the residual
/// r = y - Xb in double-double, then b += R⁻¹R⁻ᵀ(Xᵀr) (corrected seminormal
/// equations, Björck). It costs one light pass over the data and takes the
/// f64 answer to within an ulp or two of the exact one. Ridge fits (no R⁻¹
/// stored) are left as they are.
fn refine(fit: &mut Fit, x: &[f64], y: &[f64], threads: usize, summation: Gradient) {
    let Some(inference) = fit.inference.as_ref() else {
        return;
    };
    let p = fit.coefficients.len();
    let lead = usize::from(fit.design.fit_intercept);
    let parameters = &inference.parameters;
    let r = parameters.len();
    let solution: Vec<f64> = parameters.iter().map(|&j| if j < lead { fit.centered_intercept } else { fit.coefficients[j - lead] }).collect();
    let (center, center_label) = (&fit.center, fit.center_label);
    // Xᵀr over a range of rows; the two halves are fixed, so the sum does not
    // depend on the thread count.
    let gradient = |rows: std::ops::Range<usize>| -> Vec<Dd> {
        let mut g = vec![Dd::ZERO; r];
        let mut fast = vec![0.0; r];
        let mut z = vec![Dd::ZERO; r];
        for i in rows {
            let mut residual = Dd::difference(y[i], center_label);
            for (a, &j) in parameters.iter().enumerate() {
                z[a] = if j < lead { Dd::from(1.0) } else { Dd::difference(x[i * p + j - lead], center[j - lead]) };
                residual = residual - z[a] * Dd::from(solution[a]);
            }
            match summation {
                Gradient::Double => {
                    let residual = residual.to_f64();
                    for (ga, za) in fast.iter_mut().zip(&z) {
                        *ga += za.to_f64() * residual;
                    }
                }
                Gradient::Extended => {
                    for (ga, za) in g.iter_mut().zip(&z) {
                        *ga += *za * residual;
                    }
                }
            }
        }
        if summation == Gradient::Double {
            g = fast.into_iter().map(Dd::from).collect();
        }
        g
    };
    let half = y.len() / 2;
    let (first, second) = if threads > 1 {
        std::thread::scope(|scope| {
            let other = scope.spawn(|| gradient(half..y.len()));
            (gradient(0..half), other.join().expect("refinement thread panicked"))
        })
    } else {
        (gradient(0..half), gradient(half..y.len()))
    };
    let g: Vec<f64> = first.iter().zip(&second).map(|(a, b)| (*a + *b).to_f64()).collect();
    let factor = &inference.covariance_factor;
    // w = R⁻ᵀg, δ = R⁻¹w (R⁻¹ upper triangular, row-major).
    let w: Vec<f64> = (0..r).map(|a| (0..=a).map(|c| factor[c * r + a] * g[c]).sum()).collect();
    for (a, &j) in parameters.iter().enumerate() {
        let delta: f64 = (a..r).map(|c| factor[a * r + c] * w[c]).sum();
        let value = solution[a] + delta;
        if j < lead {
            fit.centered_intercept = value;
        } else {
            fit.coefficients[j - lead] = value;
        }
    }
    fit.refresh_intercept_and_tests();
}

/// Why `finish` asked for the sources once more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextPass {
    /// The first pass only learnt the width (libsvm without `feature_dim`): now the rows.
    Rows,
    /// The f64 pass could not certify the answer: a double-double factorisation.
    Extended,
}

/// Fits rows streamed source by source (files, pipes) in any format the
/// channel is declared or sniffed as. `finish` answers `None` when another
/// pass over the same sources is needed (see [`NextPass`]): call
/// `start_next_pass` and stream them again.
pub struct StreamingFit {
    options: FitOptions,
    expected_features: Option<usize>,
    threads: usize,
    declared: Declared,
    wrapped: bool,
    reader: ChannelReader,
    rows: Vec<f64>,
    double: Option<Accumulator<f64>>,
    extended: Option<Accumulator<Dd>>,
    retained: Option<Vec<f64>>,
    design: Option<Design>,
    shift: Option<Shift>,
    rows_seen: u64,
    next_pass: Option<NextPass>,
    fitted: Option<Fit>,
}

impl StreamingFit {
    pub fn new(options: FitOptions, expected_features: Option<usize>, threads: usize) -> Result<Self, CoreError> {
        Self::with_format(options, expected_features, threads, Declared::default())
    }

    /// A fit of a channel declared as `declared` (content type and its parameters).
    pub fn with_format(options: FitOptions, expected_features: Option<usize>, threads: usize, declared: Declared) -> Result<Self, CoreError> {
        options.validate()?;
        Ok(StreamingFit {
            options,
            expected_features,
            threads,
            reader: Self::reader(expected_features, threads, declared.clone(), false),
            declared,
            wrapped: false,
            rows: Vec::new(),
            double: None,
            extended: None,
            retained: Some(Vec::new()),
            design: None,
            shift: None,
            rows_seen: 0,
            next_pass: None,
            fitted: None,
        })
    }

    fn reader(expected_features: Option<usize>, threads: usize, declared: Declared, wrapped: bool) -> ChannelReader {
        let mut reader = ChannelReader::new(expected_features.map_or(Width::Any, |p| Width::Exactly(p + 1)), threads, declared);
        if wrapped {
            reader.unwrap_records();
        }
        reader
    }

    /// Every source is a stream of RecordIO frames, one object each (Pipe
    /// mode with RecordWrapperType=RecordIO); call before the first source.
    pub fn unwrap_records(&mut self) {
        self.wrapped = true;
        self.reader.unwrap_records();
    }

    pub fn begin_source(&mut self, name: &str) {
        self.reader.begin_source(name);
    }

    pub fn push(&mut self, bytes: &[u8]) -> Result<(), CoreError> {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        let result = self.reader.push(bytes, &mut rows).and_then(|()| self.consume(&rows, self.reader.width()));
        self.rows = rows;
        result
    }

    pub fn end_source(&mut self) -> Result<SourceSummary, CoreError> {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        let result = self.reader.end_source(&mut rows).and_then(|summary| self.consume(&rows, self.reader.width()).map(|()| summary));
        self.rows = rows;
        result
    }

    /// Reads a whole file by path: formats that need random access (Parquet).
    pub fn read_file(&mut self, path: &std::path::Path, name: &str) -> Result<SourceSummary, CoreError> {
        let mut reader = std::mem::replace(&mut self.reader, ChannelReader::new(Width::Any, 1, Declared::default()));
        let result = reader.read_file(path, name, &mut |batch| self.consume(batch.values, Some(batch.width)));
        self.reader = reader;
        result
    }

    /// Data rows of the first pass.
    pub fn rows(&self) -> u64 {
        self.rows_seen
    }

    /// Names of the features (label excluded) from a header or schema, or x1..xp.
    pub fn feature_names(&self) -> Vec<String> {
        let features = self.design.map_or(0, |d| d.features);
        match self.reader.header() {
            Some(names) if names.len() == features + 1 => names[1..].to_vec(),
            _ => (1..=features).map(|i| format!("x{i}")).collect(),
        }
    }

    pub fn label_name(&self) -> String {
        self.reader.header().and_then(|names| names.first().cloned()).unwrap_or_else(|| "y".into())
    }

    /// Whether the feature names came from the data (a header row or a schema).
    pub fn has_header(&self) -> bool {
        self.reader.header().is_some()
    }

    fn consume(&mut self, rows: &[f64], width: Option<usize>) -> Result<(), CoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        if self.design.is_none() {
            let width = width.ok_or_else(|| CoreError::Internal("rows arrived before their width".into()))?;
            let design = Design { features: width - 1, fit_intercept: self.options.fit_intercept };
            if design.features == 0 {
                return Err(CoreError::InvalidArgument(
                    "rows have only a label column: there is nothing to fit; add feature columns after the label".into(),
                ));
            }
            self.options.check_memory(design)?;
            self.design = Some(design);
            self.double = Some(Accumulator::new(design, self.threads));
        }
        if let Some(extended) = self.extended.as_mut() {
            extended.push_rows(rows);
            return Ok(());
        }
        self.double.as_mut().expect("design implies an accumulator").push_rows(rows);
        self.rows_seen += (rows.len() / self.design.expect("set above").width()) as u64;
        if let Some(kept) = self.retained.as_mut() {
            if kept.len() + rows.len() <= RETAIN_VALUES {
                kept.extend_from_slice(rows);
            } else {
                self.retained = None;
            }
        }
        Ok(())
    }

    /// The fit, or `None` when the sources must be streamed once more (see [`Self::next_pass`]).
    pub fn finish(&mut self) -> Result<Option<Fit>, CoreError> {
        let fit = self.solve()?;
        self.fitted.clone_from(&fit);
        Ok(fit)
    }

    /// Why the last `finish` answered `None`.
    pub fn next_pass(&self) -> Option<NextPass> {
        self.next_pass
    }

    /// The model artifact of the finished fit, named as the data named its columns.
    pub fn model(&self) -> Result<Model, CoreError> {
        let fit = self.fitted.as_ref().ok_or_else(|| CoreError::Internal("the model was asked for before the fit finished".into()))?;
        let names = Names { label: self.label_name(), features: self.feature_names(), from_header: self.has_header() };
        Model::from_fit(fit, names)
    }

    fn solve(&mut self) -> Result<Option<Fit>, CoreError> {
        let l2 = self.options.l2;
        if let Some(extended) = self.extended.take() {
            return solve(&extended.finish(), l2, Precision::Extended).map(Some);
        }
        if self.double.is_none() && self.next_pass.is_none() {
            if let Some(width) = self.reader.surveyed_width() {
                self.expected_features = Some(width - 1);
                self.next_pass = Some(NextPass::Rows);
                return Ok(None);
            }
        }
        let Some(double) = self.double.take() else {
            return Err(CoreError::TooFewRows { rows: 0, parameters: 1 + self.expected_features.unwrap_or(0) });
        };
        let factor = double.finish();
        let design = factor.design;
        // Data kept in memory always gets the extended pass: no f64 solve to throw away.
        if let Some(raw) = self.retained.take() {
            return fit_extended(design, l2, factor.shift, &raw, self.threads).map(Some);
        }
        let fit = solve(&factor, l2, Precision::Double)?;
        if accepts_double(&fit) && !self.options.extended {
            return Ok(Some(fit));
        }
        self.shift = Some(factor.shift);
        self.next_pass = Some(NextPass::Extended);
        Ok(None)
    }

    /// Starts the pass `finish` asked for by answering `None`.
    pub fn start_next_pass(&mut self) -> Result<(), CoreError> {
        let features = match (self.next_pass.take(), self.design, self.shift.take()) {
            (Some(NextPass::Rows), _, _) => self.expected_features,
            (Some(NextPass::Extended), Some(design), Some(shift)) => {
                self.extended = Some(Accumulator::with_shift(design, self.threads, shift));
                Some(design.features)
            }
            _ => return Err(CoreError::InvalidArgument("a next pass starts only after finish() answered that one is needed".into())),
        };
        // Names and the format are learnt again with the rows; the survey's width is now the rule.
        self.reader = Self::reader(features, self.threads, self.declared.clone(), self.wrapped);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Lcg;

    fn stream(fit: &mut StreamingFit, csv: &[u8]) {
        fit.begin_source("data.csv");
        for chunk in csv.chunks(1 << 16) {
            fit.push(chunk).unwrap();
        }
        fit.end_source().unwrap();
    }

    /// Degree-5 polynomial rows on x in [0, 20) (κ ~ 1e7 after scaling), as
    /// CSV (shortest round-trip digits) and as arrays.
    fn polynomial(rows: usize, noise: f64) -> (Vec<u8>, Vec<f64>, Vec<f64>) {
        let mut rng = Lcg::new(5);
        let (mut csv, mut x, mut y) = (String::new(), Vec::new(), Vec::new());
        for i in 0..rows {
            let t = (i % 2000) as f64 / 100.0;
            let powers: Vec<f64> = (1..=5).map(|k| t.powi(k)).collect();
            let label = 1.0 + powers.iter().sum::<f64>() + noise * rng.normal();
            csv.push_str(&format!("{label:e}"));
            for p in &powers {
                csv.push_str(&format!(",{p:e}"));
            }
            csv.push('\n');
            x.extend(&powers);
            y.push(label);
        }
        (csv.into_bytes(), x, y)
    }

    #[test]
    fn small_data_always_gets_the_extended_pass() {
        let mut fit = StreamingFit::new(FitOptions::default(), None, 2).unwrap();
        stream(&mut fit, b"1,0\n4,1\n7,2\n10,3\n");
        let model = fit.finish().unwrap().unwrap();
        assert_eq!(model.precision, Precision::Extended);
        assert_eq!((model.intercept, model.coefficients[0]), (1.0, 3.0));
    }

    #[test]
    fn large_ill_conditioned_data_asks_for_a_second_pass() {
        // 200k rows x 6 values is beyond what is retained in memory.
        let (csv, x, y) = polynomial(200_000, 1e3);
        let mut fit = StreamingFit::new(FitOptions::default(), None, 2).unwrap();
        stream(&mut fit, &csv);
        assert!(fit.finish().unwrap().is_none(), "f64 cannot certify a degree-5 polynomial with large residuals");
        fit.start_next_pass().unwrap();
        stream(&mut fit, &csv);
        let model = fit.finish().unwrap().unwrap();
        assert_eq!(model.precision, Precision::Extended);
        assert_eq!(model.statistics.n, 200_000);
        let reference = fit_arrays(&x, &y, 5, FitOptions { extended: true, ..FitOptions::default() }, 1).unwrap();
        for (k, (b, r)) in model.coefficients.iter().zip(&reference.coefficients).enumerate() {
            assert!((b - r).abs() <= 1e-13 * r.abs(), "coefficient {k}: {b} vs {r}");
        }
    }

    /// Columns sharing one factor plus `own` of their own noise (κ grows as
    /// `own` shrinks); y = 1 + Σ (j+1)·x_j + unit noise.
    fn correlated(seed: u64, n: usize, p: usize, own: f64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Lcg::new(seed);
        let (mut x, mut y) = (Vec::with_capacity(n * p), Vec::with_capacity(n));
        for _ in 0..n {
            let shared = rng.normal();
            let row: Vec<f64> = (0..p).map(|_| shared + own * rng.normal()).collect();
            y.push(1.0 + row.iter().enumerate().map(|(j, v)| (j as f64 + 1.0) * v).sum::<f64>() + rng.normal());
            x.extend(row);
        }
        (x, y)
    }

    /// Fits with the default path and with `extended`, checks they agree to
    /// `ulps` units of the largest coefficient, and returns the default fit.
    fn agrees_with_extended(x: &[f64], y: &[f64], p: usize, ulps: f64) -> Fit {
        let fast = fit_arrays(x, y, p, FitOptions::default(), 2).unwrap();
        assert_eq!(fast.precision, Precision::Double);
        let exact = fit_arrays(x, y, p, FitOptions { extended: true, ..FitOptions::default() }, 2).unwrap();
        let scale = exact.coefficients.iter().fold(0.0f64, |m, b| m.max(b.abs()));
        let pairs = fast.coefficients.iter().zip(&exact.coefficients).chain([(&fast.intercept, &exact.intercept)]);
        for (a, b) in pairs {
            assert!((a - b).abs() <= ulps * f64::EPSILON * scale, "{a} vs {b}");
        }
        fast
    }

    #[test]
    fn refinement_brings_the_one_pass_answer_to_the_extended_one() {
        // Correlated columns, still certified by the one-pass path: one
        // refinement step lands within a few ulps of the double-double answer.
        let (x, y) = correlated(21, 300_000, 4, 0.2);
        let fast = agrees_with_extended(&x, &y, 4, 4.0);
        let single = fit_arrays(&x, &y, 4, FitOptions::default(), 1).unwrap();
        assert_eq!(single.coefficients, fast.coefficients, "the thread count must not change the bits");
    }

    #[test]
    fn moderately_ill_conditioned_arrays_are_refined_not_refactored() {
        // κ ~ 1e4 with large residuals: the f64 pass cannot certify 1e-12, but
        // refinement converges to the double-double answer.
        let (x, y) = correlated(23, 200_000, 6, 1e-3);
        let fast = agrees_with_extended(&x, &y, 6, 64.0);
        assert!(fast.estimated_error > ERROR_TARGET, "the case must need more than one pass");
    }

    #[test]
    fn large_well_conditioned_data_takes_one_pass() {
        let mut rng = Lcg::new(9);
        let mut csv = String::new();
        for _ in 0..400_000 {
            let (a, b) = (rng.normal(), rng.normal());
            csv.push_str(&format!("{},{a},{b}\n", 2.0 + 3.0 * a - b + 0.1 * rng.normal()));
        }
        let mut fit = StreamingFit::new(FitOptions::default(), None, 2).unwrap();
        stream(&mut fit, csv.as_bytes());
        let model = fit.finish().unwrap().expect("one pass suffices");
        assert_eq!(model.precision, Precision::Double);
        assert!(model.estimated_error <= ERROR_TARGET);
        assert!((model.coefficients[0] - 3.0).abs() < 1e-2 && (model.coefficients[1] + 1.0).abs() < 1e-2);
    }

    #[test]
    fn a_design_beyond_the_memory_limit_is_refused_before_allocation() {
        let design = Design { features: 999, fit_intercept: true };
        assert_eq!(solver_memory(design), 1001 * 1001 * 136);
        let options = FitOptions { memory_limit: Some(solver_memory(design) - 1), ..FitOptions::default() };
        let mut fit = StreamingFit::new(options, None, 1).unwrap();
        fit.begin_source("wide.csv");
        let row = vec!["1"; 1000].join(",");
        let err = fit.push(format!("{row}\n").as_bytes()).unwrap_err();
        assert_eq!(err.code(), "NOT_ENOUGH_MEMORY", "{err}");
        let roomy = FitOptions { memory_limit: Some(solver_memory(design)), ..FitOptions::default() };
        let mut fit = StreamingFit::new(roomy, None, 1).unwrap();
        fit.begin_source("wide.csv");
        fit.push(format!("{row}\n").as_bytes()).unwrap();
    }

    #[test]
    fn a_zero_solution_with_residuals_is_fitted_not_looped_on() {
        // No intercept, x alternating ±1, y all ones: the solution is exactly 0
        // and the error estimate infinite; beyond what is kept in memory.
        let n = 600_000;
        let x: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let y = vec![1.0; n];
        let fit = fit_arrays(&x, &y, 1, FitOptions { fit_intercept: false, ..FitOptions::default() }, 2).unwrap();
        assert_eq!(fit.coefficients, vec![0.0]);
    }

    #[test]
    fn rows_of_only_a_label_are_refused() {
        let mut fit = StreamingFit::new(FitOptions::default(), None, 1).unwrap();
        fit.begin_source("labels.csv");
        let err = fit.push(b"1\n2\n3\n").unwrap_err();
        assert!(err.to_string().contains("only a label column"), "{err}");
    }
}
