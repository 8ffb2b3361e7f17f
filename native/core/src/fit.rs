//! Orchestration: one fast f64 pass, and a double-double pass where f64
//! cannot certify the answer. Small data (up to [`RETAIN_VALUES`] values) is
//! kept in memory and always gets the extended pass, which costs little
//! there; larger data gets it only when the estimated error of the f64
//! solution exceeds [`ERROR_TARGET`], and then the caller streams it again.
//! Large arrays in memory, and wide designs' rows kept in memory (up to
//! [`retain_limit`]), are refined instead (residuals in double-double) while
//! the condition number lets refinement converge: refactoring them in
//! double-double would take minutes.

use crate::accumulate::{lanes, Accumulator, Design, Factor, Shift};
use crate::checkpoint::{Checkpoint, Pass};
use crate::cv::{tune, Selection, Tuning};
use crate::dd::Dd;
use crate::decode::{ChannelReader, Declared, Decoder, SourceSummary, Width};
use crate::diagnostics::{add_likelihood, LogWeights, Reservoir, ResidualPass, Sample, SampleState};
use crate::error::{CoreError, Location};
use crate::estimator::{fit_factor, Penalties};
use crate::folds::FoldAccumulator;
use crate::model::{Model, Names, WeightColumn};
use crate::robust::{CovarianceType, RobustPass};
use crate::scalar::Scalar;
use crate::segments::{HostState, Reduction, Segment, WireScalar};
use crate::solve::{Fit, Precision};
use crate::tsqr::WIDE_COLUMNS;

/// Raw values kept in memory for an extended pass without re-reading (more
/// for wide designs: see [`retain_limit`]).
pub const RETAIN_VALUES: usize = 1 << 20;
/// A wide design keeps up to this many rows per column of its factor in
/// memory, so that data of a few times more rows than features is refined
/// from memory instead of read again.
const RETAIN_ROWS_PER_COLUMN: usize = 4;

/// Raw values (weights included) a fit of `design` keeps in memory.
pub fn retain_limit(design: Design) -> usize {
    RETAIN_VALUES.max(RETAIN_ROWS_PER_COLUMN * design.columns() * design.columns())
}

/// Whether rows of `design` kept in memory are refactored in double-double
/// outright, rather than solved in f64 and refined as their conditioning
/// asks: below [`WIDE_COLUMNS`] columns, where that costs a fraction of a
/// second and several hosts do the same (a shared extended pass), so any
/// host count gives the same bits. A wide design's refactoring would take
/// minutes; refinement costs a light pass per step and reaches the same
/// accuracy.
fn refactor_outright(design: Design) -> bool {
    design.columns() < WIDE_COLUMNS
}

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
    /// Ridge, elastic net or non-negative: which estimator, with its penalties.
    pub penalties: Penalties,
    /// Robust standard errors cost a second pass over the rows (leverages and residuals).
    pub covariance: CovarianceType,
    /// A penalty chosen by k-fold cross-validation (given as `auto`): one
    /// factor per fold instead of one in all, in the same pass.
    pub tuning: Option<Tuning>,
    /// Always factor in double-double, whatever the f64 error estimate says.
    pub extended: bool,
    /// Bytes the solver may hold; a design that needs more is refused before
    /// anything of its size is allocated (see [`solver_memory`]).
    pub memory_limit: Option<u64>,
    /// Streamed rows carry a sample weight at this index of the raw layout
    /// `[label, x1..xp]` (so >= 1): weighted least squares, the column is no
    /// feature. In-memory fits take weights as an array instead.
    pub weight_column: Option<usize>,
    /// Where the residual diagnostics come from when the rows are not in memory.
    pub residual_diagnostics: DiagnosticsSource,
}

/// The `residual_diagnostics` hyperparameter. Rows kept in memory, or read
/// again anyway for robust standard errors, always give exact diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiagnosticsSource {
    /// Otherwise estimated from the row sample (no Durbin–Watson).
    #[default]
    Auto,
    /// Otherwise a pass over the rows computes them (one host only).
    Exact,
}

impl DiagnosticsSource {
    pub fn from_name(name: &str) -> Result<Self, CoreError> {
        match name {
            "auto" => Ok(DiagnosticsSource::Auto),
            "exact" => Ok(DiagnosticsSource::Exact),
            _ => Err(CoreError::InvalidArgument(format!("residual_diagnostics is '{name}'; use auto or exact"))),
        }
    }
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            fit_intercept: true,
            penalties: Penalties::default(),
            covariance: CovarianceType::Classical,
            tuning: None,
            extended: false,
            memory_limit: None,
            weight_column: None,
            residual_diagnostics: DiagnosticsSource::Auto,
        }
    }
}

impl FitOptions {
    pub fn validate(&self) -> Result<(), CoreError> {
        self.penalties.validate()?;
        if self.covariance != CovarianceType::Classical && (self.penalties != Penalties::default() || self.tuning.is_some()) {
            return Err(CoreError::InvalidArgument(format!(
                "{} standard errors are for ordinary and weighted least squares; penalised and non-negative fits have none",
                self.covariance.name()
            )));
        }
        if self.weight_column == Some(0) {
            return Err(CoreError::InvalidArgument(
                "weight_column is column 1, which holds the label; name the column of the weights, after the label".into(),
            ));
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
/// (the f64 lanes of the first pass are smaller; one lane from
/// [`crate::tsqr::WIDE_COLUMNS`] columns), the solve's working copies (three
/// in double-double, three in f64: the kept triangle, R⁻¹, the condition
/// number's matrices), and the rows kept in memory ([`retain_limit`]):
/// 16·L·k² + 72·k² + 8·max(2²⁰, 4·k²) bytes.
pub fn solver_memory(design: Design) -> u64 {
    let k = design.columns() as u64;
    let lanes = lanes(design) as u64 * 16;
    let solve = 3 * 16 + 3 * 8;
    k * k * (lanes + solve) + retain_limit(design) as u64 * 8
}

fn accepts_double(fit: &Fit) -> bool {
    fit.estimated_error <= ERROR_TARGET
}

/// Raw rows into `acc`, with their sample weights when weighted.
fn feed<T: Scalar>(acc: &mut Accumulator<T>, raw: &[f64], weights: Option<&[f64]>) {
    match weights {
        Some(weights) => acc.push_weighted_rows(raw, weights),
        None => acc.push_rows(raw),
    }
}

/// The extended pass over rows kept in memory, segment by segment as they were read.
fn fit_extended(design: Design, penalties: Penalties, shift: Shift, kept: &Retained, weighted: bool, threads: usize) -> Result<Fit, CoreError> {
    let mut acc = Accumulator::<Dd>::with_shift(design, threads, shift);
    let width = design.width();
    let mut start = 0;
    let ends = kept.segments.iter().map(|(name, end)| (name.as_str(), *end)).chain([("", kept.raw.len() / width)]);
    for (name, end) in ends {
        let weights = weighted.then(|| &kept.weights[start..end]);
        feed(&mut acc, &kept.raw[start * width..end * width], weights);
        acc.end_segment(name);
        start = end;
    }
    fit_factor(&acc.finish(), penalties, Precision::Extended)
}

/// The fit of a wide design's rows kept in memory (see
/// [`refactor_outright`]): the f64 fit of the first pass
/// [`refined`] from the rows, else the extended pass. It depends on the
/// factor and the rows alone, so a resumed job that reads its rows again
/// gets the same bits.
fn fit_retained(factor: &Factor<f64>, penalties: Penalties, kept: &Retained, weighted: bool, threads: usize) -> Result<Fit, CoreError> {
    let fit = fit_factor(factor, penalties, Precision::Double)?;
    let rows = RawRows { raw: &kept.raw, width: factor.design.width(), weights: weighted.then_some(&kept.weights[..]) };
    match refined(fit, &rows, threads) {
        Some(fit) => Ok(fit),
        None => fit_extended(factor.design, penalties, factor.shift.clone(), kept, weighted, threads),
    }
}

/// Robust standard errors for `fit` from its rows (raw `[y, x]`, optional weights).
fn robust_pass(fit: &mut Fit, kind: CovarianceType, each: impl FnOnce(&mut RobustPass)) -> Result<(), CoreError> {
    if kind == CovarianceType::Classical {
        return Ok(());
    }
    let mut pass = RobustPass::new(fit, kind)?;
    each(&mut pass);
    pass.finish(fit).map(drop)
}

/// Takes raw rows `[y, x]` of in-memory data a slab at a time, with their weights.
type SlabVisitor<'a> = dyn FnMut(&[f64], Option<&[f64]>) + 'a;

/// Fits in-memory data: `x` row-major `rows x features`, `y` one per row.
pub fn fit_arrays(x: &[f64], y: &[f64], features: usize, options: FitOptions, threads: usize) -> Result<Fit, CoreError> {
    fit_weighted_arrays(x, y, None, features, options, threads)
}

/// [`fit_arrays`] minimising Σ w·r² when `weights` (one per row, finite and
/// >= 0; a row of weight 0 is left out and not counted) are given.
pub fn fit_weighted_arrays(
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    features: usize,
    options: FitOptions,
    threads: usize,
) -> Result<Fit, CoreError> {
    options.validate()?;
    if options.weight_column.is_some() {
        return Err(CoreError::InvalidArgument("weight_column names a column of streamed rows; in-memory data takes its weights as an array".into()));
    }
    if x.len() != y.len() * features {
        return Err(CoreError::InvalidArgument(format!("x has {} values, which is not {} rows x {features} features", x.len(), y.len())));
    }
    if let Some(weights) = weights {
        if weights.len() != y.len() {
            return Err(CoreError::InvalidArgument(format!("there are {} weights for {} rows; give one weight per row", weights.len(), y.len())));
        }
        if let Some(i) = weights.iter().position(|w| !(*w >= 0.0 && w.is_finite())) {
            return Err(CoreError::InvalidWeight { at: Location::index("weights", i as u64), column: None, value: weights[i] });
        }
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
    let each_slab = |visit: &mut SlabVisitor| {
        let mut raw = Vec::with_capacity(SLAB_ROWS.min(y.len()) * width);
        for start in (0..y.len()).step_by(SLAB_ROWS) {
            let end = (start + SLAB_ROWS).min(y.len());
            raw.clear();
            for i in start..end {
                raw.push(y[i]);
                raw.extend_from_slice(&x[i * features..(i + 1) * features]);
            }
            visit(&raw, weights.map(|w| &w[start..end]));
        }
    };
    let mut options = options;
    let selection = match options.tuning {
        Some(tuning) => {
            let mut folds = FoldAccumulator::new(design, tuning.folds, threads)?;
            each_slab(&mut |slab, w| match w {
                Some(w) => folds.push_weighted_rows(slab, w),
                None => folds.push_rows(slab),
            });
            let (chosen, selection) = tune(&folds.finish()?, tuning, options.penalties)?;
            options.penalties = chosen;
            Some(selection)
        }
        None => None,
    };
    let mut fit = fit_slabs(Arrays { x, y, weights, features }, design, options, threads, &each_slab)?;
    fit.cv = selection;
    robust_pass(&mut fit, options.covariance, |pass| each_slab(&mut |slab, w| pass.push_rows(slab, w)))?;
    let mut pass = ResidualPass::default();
    each_slab(&mut |slab, w| pass.push_rows(&fit, slab, w));
    fit.residuals = Some(pass.diagnostics());
    add_likelihood(&mut fit, weights.is_some(), Some(pass.sum_log_weights()));
    Ok(fit)
}

/// The fit of in-memory data, refined or refactored in double-double as its conditioning asks.
fn fit_slabs(data: Arrays<'_>, design: Design, options: FitOptions, threads: usize, each_slab: &dyn Fn(&mut SlabVisitor)) -> Result<Fit, CoreError> {
    let outright = options.extended || (data.y.len() * design.width() <= RETAIN_VALUES && refactor_outright(design));
    if !outright {
        let mut double = Accumulator::<f64>::new(design, threads);
        each_slab(&mut |slab, w| feed(&mut double, slab, w));
        let fit = fit_factor(&double.finish(), options.penalties, Precision::Double)?;
        if let Some(fit) = refined(fit, &data, threads) {
            return Ok(fit);
        }
    }
    let mut extended = Accumulator::<Dd>::new(design, threads);
    each_slab(&mut |slab, w| feed(&mut extended, slab, w));
    fit_factor(&extended.finish(), options.penalties, Precision::Extended)
}

/// An f64 fit of rows in memory, polished by one step of refinement when it
/// is certified already, else refined while refinement converges; `None`
/// when only refactoring in double-double will do.
fn refined(mut fit: Fit, rows: &impl Rows, threads: usize) -> Option<Fit> {
    if accepts_double(&fit) {
        refine(&mut fit, rows, threads, Gradient::Double);
        return Some(fit);
    }
    let steps = refinement_steps(&fit)?;
    for _ in 0..steps {
        refine(&mut fit, rows, threads, Gradient::Extended);
    }
    Some(fit)
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

/// The in-memory data of [`fit_weighted_arrays`].
#[derive(Clone, Copy)]
struct Arrays<'a> {
    x: &'a [f64],
    y: &'a [f64],
    weights: Option<&'a [f64]>,
    features: usize,
}

/// Rows as refinement reads them.
trait Rows: Sync {
    fn count(&self) -> usize;
    fn label(&self, row: usize) -> f64;
    /// Feature `feature` (from 0) of row `row`.
    fn feature(&self, row: usize, feature: usize) -> f64;
    fn weight(&self, row: usize) -> Option<f64>;
}

impl Rows for Arrays<'_> {
    fn count(&self) -> usize {
        self.y.len()
    }
    fn label(&self, row: usize) -> f64 {
        self.y[row]
    }
    fn feature(&self, row: usize, feature: usize) -> f64 {
        self.x[row * self.features + feature]
    }
    fn weight(&self, row: usize) -> Option<f64> {
        self.weights.map(|w| w[row])
    }
}

/// Raw rows `[y, x]` kept from a stream, with their weights when weighted.
struct RawRows<'a> {
    raw: &'a [f64],
    width: usize,
    weights: Option<&'a [f64]>,
}

impl Rows for RawRows<'_> {
    fn count(&self) -> usize {
        self.raw.len() / self.width
    }
    fn label(&self, row: usize) -> f64 {
        self.raw[row * self.width]
    }
    fn feature(&self, row: usize, feature: usize) -> f64 {
        self.raw[row * self.width + 1 + feature]
    }
    fn weight(&self, row: usize) -> Option<f64> {
        self.weights.map(|w| w[row])
    }
}

/// Xᵀ·W·r for the residuals r = y − Xb of a fit's solution b (in the shifted
/// basis of the fit), each residual in double-double, summed row by row in
/// the order the rows are pushed: what one refinement step corrects by.
struct GradientSum {
    /// Design indices of the estimated parameters, and their values.
    parameters: Vec<usize>,
    solution: Vec<f64>,
    center: Vec<f64>,
    center_label: f64,
    lead: usize,
    summation: Gradient,
    extended: Vec<Dd>,
    double: Vec<f64>,
    z: Vec<Dd>,
    rows: u64,
    /// Σ w·y, Σ w·x of each estimated slope's feature, and Σ w, for the centroid.
    centroid: Centroid,
}

/// Weighted sums of the label and of the estimated features, and of the
/// weights: the rows' centroid, which the least-squares plane goes through.
#[derive(Clone)]
struct Centroid {
    label: Dd,
    features: Vec<Dd>,
    weight: Dd,
}

impl Centroid {
    fn zeros(parameters: usize) -> Self {
        Centroid { label: Dd::ZERO, features: vec![Dd::ZERO; parameters], weight: Dd::ZERO }
    }

    fn add(&mut self, other: &Centroid) {
        self.label += other.label;
        self.weight += other.weight;
        for (a, b) in self.features.iter_mut().zip(&other.features) {
            *a += *b;
        }
    }
}

/// What a refinement step adds up over rows: Xᵀr and the centroid.
struct Partial {
    gradient: Vec<Dd>,
    centroid: Centroid,
}

impl Partial {
    fn add(&mut self, other: &Partial) {
        for (a, b) in self.gradient.iter_mut().zip(&other.gradient) {
            *a += *b;
        }
        self.centroid.add(&other.centroid);
    }
}

impl GradientSum {
    /// `None` for fits without R⁻¹ (ridge), which are not refined.
    fn new(fit: &Fit, summation: Gradient) -> Option<Self> {
        let inference = fit.inference.as_ref()?;
        let lead = usize::from(fit.design.fit_intercept);
        let parameters = inference.parameters.clone();
        let solution = parameters.iter().map(|&j| if j < lead { fit.centered_intercept } else { fit.coefficients[j - lead] }).collect();
        let r = parameters.len();
        Some(GradientSum {
            parameters,
            solution,
            center: fit.center.clone(),
            center_label: fit.center_label,
            lead,
            summation,
            extended: vec![Dd::ZERO; r],
            double: vec![0.0; r],
            z: vec![Dd::ZERO; r],
            rows: 0,
            centroid: Centroid::zeros(r),
        })
    }

    /// One row: its label, feature `f` from `feature(f)`, and its weight.
    #[inline]
    fn push(&mut self, label: f64, feature: impl Fn(usize) -> f64, weight: Option<f64>) {
        // The factor holds rows times fl(√w): the same weights here, so
        // refinement converges to the extended pass's answer.
        let root = weight.map_or(1.0, f64::sqrt);
        if root == 0.0 {
            return;
        }
        self.rows += 1;
        let weight = if root == 1.0 { Dd::from(1.0) } else { Dd::from(root) * Dd::from(root) };
        let centroid = &mut self.centroid;
        centroid.weight += weight;
        centroid.label += Dd::from(label) * weight;
        let mut residual = Dd::difference(label, self.center_label);
        for (a, &j) in self.parameters.iter().enumerate() {
            self.z[a] = if j < self.lead {
                Dd::from(1.0)
            } else {
                let x = feature(j - self.lead);
                centroid.features[a] += Dd::from(x) * weight;
                Dd::difference(x, self.center[j - self.lead])
            };
            residual = residual - self.z[a] * Dd::from(self.solution[a]);
        }
        if root != 1.0 {
            residual = residual * Dd::from(root) * Dd::from(root);
        }
        match self.summation {
            Gradient::Double => {
                let residual = residual.to_f64();
                for (ga, za) in self.double.iter_mut().zip(&self.z) {
                    *ga += za.to_f64() * residual;
                }
            }
            Gradient::Extended => {
                for (ga, za) in self.extended.iter_mut().zip(&self.z) {
                    *ga += *za * residual;
                }
            }
        }
    }

    /// Raw rows `[y, x]` (`width` values each) with their weights.
    fn push_raw(&mut self, raw: &[f64], width: usize, weights: Option<&[f64]>) {
        for (i, row) in raw.chunks_exact(width).enumerate() {
            self.push(row[0], |f| row[1 + f], weights.map(|w| w[i]));
        }
    }

    /// The sums so far, and a fresh start for the next rows.
    fn take(&mut self) -> Partial {
        let gradient = match self.summation {
            Gradient::Double => self.double.iter().map(|&g| Dd::from(g)).collect(),
            Gradient::Extended => self.extended.clone(),
        };
        self.extended.fill(Dd::ZERO);
        self.double.fill(0.0);
        let centroid = std::mem::replace(&mut self.centroid, Centroid::zeros(self.parameters.len()));
        Partial { gradient, centroid }
    }
}

/// b += R⁻¹R⁻ᵀ·g (corrected seminormal equations, Björck), then the
/// intercept and the tests that depend on b. The intercept is the one of
/// the plane through the rows' centroid with the corrected f64 slopes: the
/// shifted basis's origin (the first row) may lie far from the data, and the
/// slopes' rounding, times its distance, would move the intercept by more
/// than its own rounding.
fn correct(fit: &mut Fit, partial: &Partial) {
    let gradient = &partial.gradient;
    let Some(inference) = fit.inference.as_ref() else {
        return;
    };
    let lead = usize::from(fit.design.fit_intercept);
    let parameters = &inference.parameters;
    let r = parameters.len();
    let g: Vec<f64> = gradient.iter().map(|g| g.to_f64()).collect();
    let factor = &inference.covariance_factor;
    // w = R⁻ᵀg, δ = R⁻¹w (R⁻¹ upper triangular, row-major).
    let w: Vec<f64> = (0..r).map(|a| (0..=a).map(|c| factor[c * r + a] * g[c]).sum()).collect();
    for (a, &j) in parameters.iter().enumerate() {
        let delta: f64 = (a..r).map(|c| factor[a * r + c] * w[c]).sum();
        let value = if j < lead { &mut fit.centered_intercept } else { &mut fit.coefficients[j - lead] };
        *value += delta;
    }
    let centroid = &partial.centroid;
    if lead == 1 && centroid.weight.to_f64() > 0.0 {
        let mut through = centroid.label;
        for (a, &j) in parameters.iter().enumerate().filter(|(_, &j)| j >= lead) {
            through = through - Dd::from(fit.coefficients[j - lead]) * centroid.features[a];
        }
        let intercept = through / centroid.weight;
        fit.intercept = intercept.to_f64();
        // Predictions are evaluated in the shifted basis: its intercept is moved to match.
        let mut shifted = intercept - Dd::from(fit.center_label);
        for (b, c) in fit.coefficients.iter().zip(&fit.center) {
            shifted += Dd::product(*b, *c);
        }
        fit.centered_intercept = shifted.to_f64();
    }
    fit.refresh_tests();
}

/// One step of iterative refinement, for data in memory: the residual
/// r = y - Xb in double-double, then b += R⁻¹R⁻ᵀ(XᵀWr). It costs one light
/// pass over the data and takes the f64 answer to within an ulp or two of
/// the exact one. Ridge fits (no R⁻¹ stored) are left as they are.
fn refine(fit: &mut Fit, data: &impl Rows, threads: usize, summation: Gradient) {
    // Xᵀr over a range of rows; the two halves are fixed, so the sum does not
    // depend on the thread count.
    let gradient = |rows: std::ops::Range<usize>| -> Option<Partial> {
        let mut sum = GradientSum::new(fit, summation)?;
        for i in rows {
            sum.push(data.label(i), |f| data.feature(i, f), data.weight(i));
        }
        Some(sum.take())
    };
    let rows = data.count();
    let half = rows / 2;
    let (first, second) = if threads > 1 {
        std::thread::scope(|scope| {
            let other = scope.spawn(|| gradient(half..rows));
            (gradient(0..half), other.join().expect("refinement thread panicked"))
        })
    } else {
        (gradient(0..half), gradient(half..rows))
    };
    if let (Some(mut first), Some(second)) = (first, second) {
        first.add(&second);
        correct(fit, &first);
    }
}

/// A refinement step over streamed rows (a wide design whose rows are not
/// in memory): Xᵀr of each source, the sources' sums added in the order of
/// their names, so the step does not depend on how the bytes were chunked.
struct StreamedRefinement {
    fit: Fit,
    /// Steps after this one.
    left: usize,
    sum: GradientSum,
    sources: Vec<(String, Partial)>,
}

impl StreamedRefinement {
    fn new(fit: Fit, steps: usize) -> Option<Self> {
        let sum = GradientSum::new(&fit, Gradient::Extended)?;
        Some(StreamedRefinement { fit, left: steps - 1, sum, sources: Vec::new() })
    }

    fn end_source(&mut self, name: &str) {
        self.sources.push((name.to_string(), self.sum.take()));
    }

    /// The fit after this step, and the next step when one is left.
    fn finish(mut self) -> Result<(Fit, Option<StreamedRefinement>), CoreError> {
        if self.sum.rows != self.fit.statistics.n {
            return Err(CoreError::InvalidArgument(format!(
                "the refinement pass read {} rows of positive weight but the fit was of {}; stream exactly the rows the model was fitted on",
                self.sum.rows, self.fit.statistics.n
            )));
        }
        let mut total = self.sum.take();
        self.sources.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, source) in &self.sources {
            total.add(source);
        }
        let mut fit = self.fit;
        correct(&mut fit, &total);
        let next = if self.left > 0 { StreamedRefinement::new(fit.clone(), self.left) } else { None };
        Ok((fit, next))
    }
}

/// Why `finish` asked for the sources once more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextPass {
    /// The first pass only learnt the width (libsvm without `feature_dim`): now the rows.
    Rows,
    /// The f64 pass could not certify the answer: a double-double factorisation.
    Extended,
    /// The f64 pass of a wide design could not certify the answer, and
    /// refinement converges: a step of it (residuals in double-double).
    Refinement,
    /// The residuals of the fitted model: robust standard errors (with the
    /// leverages) and/or exact residual diagnostics.
    Residuals,
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
    /// Rows without the weight column, and their weights (weighted fits).
    stripped: Vec<f64>,
    weights: Vec<f64>,
    double: Option<Accumulator<f64>>,
    /// Instead of `double` when a penalty is cross-validated.
    folds: Option<FoldAccumulator>,
    /// The cross-validation's choice, for the fit of the passes after it.
    selection: Option<Selection>,
    extended: Option<Accumulator<Dd>>,
    retained: Option<Retained>,
    /// A resumed job's first-pass factor, waiting for its rows to be read
    /// into memory again (see [`fit_retained`]).
    refining: Option<Factor<f64>>,
    /// The refinement step under way (or asked for) over streamed rows.
    refinement: Option<StreamedRefinement>,
    design: Option<Design>,
    shift: Option<Shift>,
    rows_seen: u64,
    /// The current source and its data rows so far, to say where a bad weight is.
    source: String,
    source_rows: u64,
    next_pass: Option<NextPass>,
    /// The fit waiting for its residuals pass.
    residuals: Option<Residuals>,
    /// The row sample, and Σ ln w, gathered while `collect` (a pass read
    /// from the first row); `collected` once such a pass ended.
    sample: Option<Reservoir>,
    log_weights: LogWeights,
    /// Σ ln w as of the last source boundary (for checkpoints).
    log_weights_at_boundary: LogWeights,
    collect: bool,
    collected: bool,
    /// A weight column named by its header name, until the header is read.
    weight_column_name: Option<String>,
    /// Multi-host: the job's basis and header, from the first source with
    /// rows on whichever host read it (see [`Self::join`]).
    joined: Option<Shift>,
    header: Option<Vec<String>>,
    /// The weight column is resolved and the accumulators exist.
    started: bool,
    /// `feature_dim` as the user gave it.
    declared_features: Option<usize>,
    /// The source whose first rows gave the basis (several hosts compare theirs).
    basis_source: Option<String>,
    /// Sources of the pass under way finished, and the data rows read by then (for checkpoints).
    sources_done: u64,
    /// A stop cut a source's end short: the state is no checkpoint's.
    torn: bool,
    rows_at_boundary: u64,
    fitted: Option<Fit>,
}

/// A fit and what its residuals pass computes.
struct Residuals {
    fit: Fit,
    robust: Option<RobustPass>,
    diagnostics: ResidualPass,
}

/// The first pass's rows, kept for the extended pass while they are few.
#[derive(Default)]
struct Retained {
    raw: Vec<f64>,
    /// One per row of `raw` in a weighted fit, else empty.
    weights: Vec<f64>,
    /// Each ended source, and the rows of `raw` up to its end.
    segments: Vec<(String, usize)>,
}

impl StreamingFit {
    /// `expected_features` is `feature_dim`: the features, not counting the
    /// label or the weight column.
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
            reader: Self::reader(expected_features.map(|p| p + 1 + usize::from(options.weight_column.is_some())), threads, declared.clone(), false),
            declared,
            wrapped: false,
            rows: Vec::new(),
            stripped: Vec::new(),
            weights: Vec::new(),
            double: None,
            folds: None,
            selection: None,
            extended: None,
            retained: Some(Retained::default()),
            refining: None,
            refinement: None,
            design: None,
            shift: None,
            rows_seen: 0,
            source: String::new(),
            source_rows: 0,
            next_pass: None,
            residuals: None,
            sample: None,
            log_weights: LogWeights::default(),
            log_weights_at_boundary: LogWeights::default(),
            collect: true,
            collected: false,
            weight_column_name: None,
            joined: None,
            header: None,
            started: false,
            declared_features: expected_features,
            basis_source: None,
            sources_done: 0,
            torn: false,
            rows_at_boundary: 0,
            fitted: None,
        })
    }

    /// Columns of a row besides the features: the label, and the weight.
    fn extra_columns(&self) -> usize {
        1 + usize::from(self.options.weight_column.is_some() || self.weight_column_name.is_some())
    }

    /// The weights are the column of this header name (resolved when the
    /// header is read); call before the first source.
    pub fn weigh_by(&mut self, name: &str) {
        self.weight_column_name = Some(name.to_string());
        let width = self.expected_features.map(|p| p + self.extra_columns());
        self.reader = Self::reader(width, self.threads, self.declared.clone(), self.wrapped);
    }

    /// The index of the named weight column in the rows, from the header.
    fn resolve_weight_column(&self, name: &str) -> Result<usize, CoreError> {
        let Some(header) = self.header() else {
            return Err(CoreError::HeaderMismatch {
                source: self.source.clone(),
                detail: format!("weight_column names '{name}' but the data has no header row; give the column's 1-based number instead"),
            });
        };
        match header.iter().skip(1).position(|h| h == name) {
            Some(j) => Ok(j + 1),
            None => Err(CoreError::HeaderMismatch {
                source: self.source.clone(),
                detail: format!(
                    "weight_column '{name}' is not a column after the label in the header ({}); name one of those columns",
                    header.join(",")
                ),
            }),
        }
    }

    fn reader(width: Option<usize>, threads: usize, declared: Declared, wrapped: bool) -> ChannelReader {
        let mut reader = ChannelReader::new(width.map_or(Width::Any, Width::Exactly), threads, declared);
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
        self.source = name.to_string();
        self.source_rows = 0;
    }

    pub fn push(&mut self, bytes: &[u8]) -> Result<(), CoreError> {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        let result = self.reader.push(bytes, &mut rows).map_err(|e| self.reader_error(e)).and_then(|()| self.consume(&rows, self.reader.width()));
        self.rows = rows;
        result
    }

    pub fn end_source(&mut self) -> Result<SourceSummary, CoreError> {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        let result = self
            .reader
            .end_source(&mut rows)
            .map_err(|e| self.reader_error(e))
            .and_then(|summary| self.consume(&rows, self.reader.width()).map(|()| summary));
        self.rows = rows;
        let summary = result?;
        self.end_segment()?;
        Ok(summary)
    }

    /// The source just read whole is a segment of its own (see [`crate::segments`]).
    fn end_segment(&mut self) -> Result<(), CoreError> {
        self.check_job_header()?;
        let name = &self.source;
        if let Some(refinement) = self.refinement.as_mut() {
            refinement.end_source(name);
        }
        let ended = match (self.extended.as_mut(), self.double.as_mut()) {
            (Some(extended), _) => extended.end_segment(name),
            (None, Some(double)) => double.end_segment(name),
            (None, None) => true,
        };
        if !ended {
            // Cut short by a stop: no checkpoint may claim this source.
            self.torn = true;
            return Ok(());
        }
        if let Some(sample) = self.sample.as_mut() {
            sample.mark_boundary();
        }
        self.log_weights_at_boundary.clone_from(&self.log_weights);
        if self.extended.is_none() {
            if let (Some(kept), Some(design)) = (self.retained.as_mut(), self.design) {
                kept.segments.push((name.clone(), kept.raw.len() / design.width()));
            }
            self.note_basis();
            self.rows_at_boundary = self.rows_seen;
        }
        self.sources_done += 1;
        Ok(())
    }

    /// On several hosts each host's reader knows only its own files: their
    /// header must be the job's, as one host reading every file would insist.
    fn check_job_header(&self) -> Result<(), CoreError> {
        let (Some(_), Some(mine)) = (&self.joined, self.reader.header()) else {
            return Ok(());
        };
        match self.header.as_deref() {
            Some(job) if job == mine => Ok(()),
            job => Err(CoreError::HeaderMismatch {
                source: self.source.clone(),
                detail: format!(
                    "its header ({}) is not that of the job's first file with rows ({}); every file, on every host, needs the same columns in the same order",
                    mine.join(","),
                    job.map_or_else(|| "no header".to_string(), |names| names.join(","))
                ),
            }),
        }
    }

    /// Reads a whole file by path: formats that need random access (Parquet).
    pub fn read_file(&mut self, path: &std::path::Path, name: &str) -> Result<SourceSummary, CoreError> {
        self.source = name.to_string();
        self.source_rows = 0;
        let mut reader = std::mem::replace(&mut self.reader, ChannelReader::new(Width::Any, 1, Declared::default()));
        let result = reader.read_file(path, name, &mut |batch| self.consume(batch.values, Some(batch.width)));
        self.reader = reader;
        let summary = result.map_err(|e| self.reader_error(e))?;
        self.end_segment()?;
        Ok(summary)
    }

    /// The decoders count the weight column as a feature, and on several
    /// hosts the width comes from the job's first file: their width errors say so.
    fn reader_error(&self, error: CoreError) -> CoreError {
        match error {
            CoreError::DeclaredFeatureMismatch { at, features, got } if self.joined.is_some() && self.declared_features.is_none() => {
                CoreError::JobWidthMismatch { at, expected: features + 1, got }
            }
            error if self.options.weight_column.is_some() => error.with_weight_column(),
            error => error,
        }
    }

    /// Data rows of the first pass, rows of weight 0 included (the fit's n counts only the others).
    pub fn rows(&self) -> u64 {
        self.rows_seen
    }

    /// Names of the features (label and weight column excluded) from a header or schema, or x1..xp.
    pub fn feature_names(&self) -> Vec<String> {
        let features = self.design.map_or(0, |d| d.features);
        let weight = self.options.weight_column;
        match self.header() {
            Some(names) if names.len() == features + self.extra_columns() => {
                names.iter().enumerate().filter(|&(j, _)| j > 0 && Some(j) != weight).map(|(_, name)| name.clone()).collect()
            }
            _ => (1..=features).map(|i| format!("x{i}")).collect(),
        }
    }

    pub fn label_name(&self) -> String {
        self.header().and_then(|names| names.first().cloned()).unwrap_or_else(|| "y".into())
    }

    /// The weight column's name from a header or schema, else "column N" (1-based); `None` unweighted.
    pub fn weight_name(&self) -> Option<String> {
        let column = self.options.weight_column?;
        Some(self.header().and_then(|names| names.get(column).cloned()).unwrap_or_else(|| format!("column {}", column + 1)))
    }

    /// The header row or schema's names: the job's first source's on several hosts, else this reader's.
    fn header(&self) -> Option<&[String]> {
        self.header.as_deref().or_else(|| self.reader.header())
    }

    /// Whether the feature names came from the data (a header row or a schema).
    pub fn has_header(&self) -> bool {
        self.header().is_some()
    }

    /// The design, from the width of the first rows.
    fn start(&mut self, width: usize) -> Result<(), CoreError> {
        if let Some(name) = self.weight_column_name.take() {
            self.options.weight_column = Some(self.resolve_weight_column(&name)?);
        }
        if let Some(column) = self.options.weight_column {
            if column >= width {
                return Err(CoreError::InvalidArgument(format!(
                    "weight_column is column {} but the rows of {} have {width} columns; name a column after the label that holds the weights",
                    column + 1,
                    self.source
                )));
            }
        }
        self.started = true;
        if self.design.is_some() {
            // Joined: the design came with the job's basis.
            return Ok(());
        }
        let design = Design { features: width - self.extra_columns(), fit_intercept: self.options.fit_intercept };
        if design.features == 0 {
            let only = if self.options.weight_column.is_some() { "a label and a weight column" } else { "a label column" };
            return Err(CoreError::InvalidArgument(format!("rows have only {only}: there is nothing to fit; add feature columns after the label")));
        }
        self.options.check_memory(design)?;
        self.design = Some(design);
        match self.options.tuning {
            Some(tuning) => self.folds = Some(FoldAccumulator::new(design, tuning.folds, self.threads)?),
            None => self.double = Some(Accumulator::new(design, self.threads)),
        }
        Ok(())
    }

    fn consume(&mut self, rows: &[f64], width: Option<usize>) -> Result<(), CoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let width = width.ok_or_else(|| CoreError::Internal("rows arrived before their width".into()))?;
        if !self.started {
            self.start(width)?;
        }
        let first = self.source_rows;
        self.source_rows += (rows.len() / width) as u64;
        let Some(column) = self.options.weight_column else {
            self.accumulate(rows, None);
            self.note_basis();
            return Ok(());
        };
        let (mut stripped, mut weights) = (std::mem::take(&mut self.stripped), std::mem::take(&mut self.weights));
        stripped.clear();
        weights.clear();
        for (i, row) in rows.chunks_exact(width).enumerate() {
            let weight = row[column];
            if !(weight >= 0.0 && weight.is_finite()) {
                let at = Location::data_row(&self.source, first + i as u64 + 1);
                return Err(CoreError::InvalidWeight { at, column: Some(column + 1), value: weight });
            }
            stripped.extend_from_slice(&row[..column]);
            stripped.extend_from_slice(&row[column + 1..]);
            weights.push(weight);
        }
        self.accumulate(&stripped, Some(&weights));
        (self.stripped, self.weights) = (stripped, weights);
        self.note_basis();
        Ok(())
    }

    /// Rows without the weight column into the pass under way.
    fn accumulate(&mut self, raw: &[f64], weights: Option<&[f64]>) {
        if let Some(kept) = self.retained.as_mut() {
            let weights = weights.unwrap_or_default();
            let limit = retain_limit(self.design.expect("set with the accumulator"));
            if kept.raw.len() + kept.weights.len() + raw.len() + weights.len() <= limit {
                kept.raw.extend_from_slice(raw);
                kept.weights.extend_from_slice(weights);
            } else {
                self.retained = None;
            }
        }
        if self.collect {
            let width = self.design.expect("set with the accumulator").width();
            self.sample.get_or_insert_with(|| Reservoir::new(width)).push_rows(raw, weights);
            if let Some(weights) = weights {
                self.log_weights.push(weights);
            }
        }
        if let Some(residuals) = self.residuals.as_mut() {
            if let Some(robust) = residuals.robust.as_mut() {
                robust.push_rows(raw, weights);
            }
            residuals.diagnostics.push_rows(&residuals.fit, raw, weights);
            return;
        }
        if let Some(extended) = self.extended.as_mut() {
            feed(extended, raw, weights);
            return;
        }
        if let Some(refinement) = self.refinement.as_mut() {
            let width = self.design.expect("set with the accumulator").width();
            refinement.sum.push_raw(raw, width, weights);
            return;
        }
        if self.refining.is_some() {
            return;
        }
        match (self.folds.as_mut(), weights) {
            (Some(folds), Some(weights)) => folds.push_weighted_rows(raw, weights),
            (Some(folds), None) => folds.push_rows(raw),
            (None, _) => feed(self.double.as_mut().expect("design implies an accumulator"), raw, weights),
        }
        self.rows_seen += (raw.len() / self.design.expect("set with the accumulator").width()) as u64;
    }

    /// The fit, or `None` when the sources must be streamed once more (see [`Self::next_pass`]).
    pub fn finish(&mut self) -> Result<Option<Fit>, CoreError> {
        if self.collect && self.sample.is_some() {
            self.collected = true;
        }
        self.collect = false;
        let fit = match self.residuals.take() {
            Some(Residuals { mut fit, robust, diagnostics }) => {
                if let Some(robust) = robust {
                    robust.finish(&mut fit)?;
                }
                if diagnostics.rows() != fit.statistics.n {
                    return Err(CoreError::InvalidArgument(format!(
                        "the residuals pass read {} rows of positive weight but the fit was of {}; stream exactly the rows the model was fitted on",
                        diagnostics.rows(),
                        fit.statistics.n
                    )));
                }
                self.describe_residuals(&mut fit, Some(&diagnostics));
                Some(fit)
            }
            None => self.solve()?.map(|fit| self.with_covariance(fit)).transpose()?.flatten(),
        };
        let fit = fit.map(|mut fit| {
            fit.cv.clone_from(&self.selection);
            fit
        });
        if fit.is_some() {
            self.retained = None;
        }
        self.fitted.clone_from(&fit);
        Ok(fit)
    }

    /// The fit with robust standard errors from the rows kept in memory, or
    /// `None` with a pass over the sources asked for.
    fn with_covariance(&mut self, mut fit: Fit) -> Result<Option<Fit>, CoreError> {
        let kind = self.options.covariance;
        if let Some(kept) = self.retained.take() {
            let weights = self.options.weight_column.map(|_| &kept.weights[..]);
            robust_pass(&mut fit, kind, |pass| pass.push_rows(&kept.raw, weights))?;
            let mut diagnostics = ResidualPass::default();
            diagnostics.push_rows(&fit, &kept.raw, weights);
            self.describe_residuals(&mut fit, Some(&diagnostics));
            return Ok(Some(fit));
        }
        if kind == CovarianceType::Classical && self.options.residual_diagnostics == DiagnosticsSource::Auto {
            self.describe_residuals(&mut fit, None);
            return Ok(Some(fit));
        }
        let robust = if kind == CovarianceType::Classical { None } else { Some(RobustPass::new(&fit, kind)?) };
        self.residuals = Some(Residuals { fit, robust, diagnostics: ResidualPass::default() });
        self.next_pass = Some(NextPass::Residuals);
        Ok(None)
    }

    /// The residual diagnostics and log-likelihood of `fit`: exact from a
    /// visit of every row, else estimated from the sample (when it holds
    /// rows of every source this host read; on several hosts the leader's
    /// sample is of its own rows, and WLS has no Σ ln w for its likelihood).
    fn describe_residuals(&self, fit: &mut Fit, exact: Option<&ResidualPass>) {
        let weighted = self.options.weight_column.is_some();
        let (diagnostics, sum_log_weights) = match exact {
            Some(pass) => (Some(pass.diagnostics()), Some(pass.sum_log_weights())),
            None => {
                let sample = self.sample.as_ref().filter(|_| self.collected);
                let whole = self.collected && self.joined.is_none();
                (sample.map(|sample| sample.diagnostics(fit, whole)), whole.then(|| self.log_weights.sum()))
            }
        };
        // No residual degrees of freedom: the residuals are rounding noise, with no shape to test.
        fit.residuals = diagnostics.filter(|_| fit.statistics.df_resid > 0.0);
        add_likelihood(fit, weighted, sum_log_weights);
    }

    /// The row sample with the finished fit's predictions: `None` before the
    /// fit. On several hosts, the leader's sample is of the rows it read.
    pub fn sample(&self) -> Option<Sample> {
        let fit = self.fitted.as_ref()?;
        self.sample.as_ref().filter(|_| self.collected).map(|sample| sample.sample(fit))
    }

    /// Why the last `finish` answered `None`.
    pub fn next_pass(&self) -> Option<NextPass> {
        self.next_pass
    }

    /// The model artifact of the finished fit, named as the data named its columns.
    pub fn model(&self) -> Result<Model, CoreError> {
        let fit = self.fitted.as_ref().ok_or_else(|| CoreError::Internal("the model was asked for before the fit finished".into()))?;
        let weight_column = self.weight_name().zip(self.options.weight_column).map(|(name, index)| WeightColumn { name, column: index + 1 });
        let names = Names { label: self.label_name(), features: self.feature_names(), from_header: self.has_header(), weight_column };
        Model::from_fit(fit, names)
    }

    fn solve(&mut self) -> Result<Option<Fit>, CoreError> {
        if let Some(extended) = self.extended.take() {
            return fit_factor(&extended.finish(), self.options.penalties, Precision::Extended).map(Some);
        }
        if let Some(refinement) = self.refinement.take() {
            let (fit, next) = refinement.finish()?;
            if next.is_none() {
                return Ok(Some(fit));
            }
            self.refinement = next;
            self.next_pass = Some(NextPass::Refinement);
            return Ok(None);
        }
        if let Some(factor) = self.refining.take() {
            let kept = self.retained.as_ref().ok_or_else(|| CoreError::Internal("the rows read again for refinement were not kept".into()))?;
            return fit_retained(&factor, self.options.penalties, kept, self.options.weight_column.is_some(), self.threads).map(Some);
        }
        if self.double.is_none() && self.folds.is_none() && self.next_pass.is_none() {
            if let Some(width) = self.reader.surveyed_width() {
                self.expected_features = Some(width.saturating_sub(self.extra_columns()));
                self.next_pass = Some(NextPass::Rows);
                return Ok(None);
            }
        }
        let factor = if let Some(folds) = self.folds.take() {
            let folds = folds.finish()?;
            let (chosen, selection) = tune(&folds, self.options.tuning.expect("folds are kept when tuning"), self.options.penalties)?;
            self.options.penalties = chosen;
            self.selection = Some(selection);
            folds.all()
        } else if let Some(double) = self.double.take() {
            double.finish()
        } else {
            return Err(CoreError::TooFewRows { rows: 0, parameters: 1 + self.expected_features.unwrap_or(0) });
        };
        // After the cross-validation: the penalties it chose.
        let penalties = self.options.penalties;
        let design = factor.design;
        let weighted = self.options.weight_column.is_some();
        let outright = refactor_outright(design) || self.options.extended;
        // Data kept in memory is refactored outright below the wide threshold (no f64 solve to throw away), else refined from memory.
        if let Some(kept) = self.retained.as_ref() {
            return match outright {
                true => fit_extended(design, penalties, factor.shift, kept, weighted, self.threads),
                false => fit_retained(&factor, penalties, kept, weighted, self.threads),
            }
            .map(Some);
        }
        // Data kept in memory once but not all in memory now (a resumed job) is read again, for the same bits.
        if self.retainable(self.rows_seen) {
            self.shift = Some(factor.shift.clone());
            if !outright {
                self.refining = Some(factor);
            }
            self.next_pass = Some(NextPass::Extended);
            return Ok(None);
        }
        self.conclude(factor, penalties)
    }

    /// Whether `rows` data rows are few enough to be kept in memory.
    fn retainable(&self, rows: u64) -> bool {
        let Some(design) = self.design else {
            return true;
        };
        let width = design.width() + usize::from(self.options.weight_column.is_some());
        rows.saturating_mul(width as u64) <= retain_limit(design) as u64
    }

    /// Whether several hosts' `rows` rows are refactored in double-double
    /// outright, as one host would have refactored them from memory (a
    /// design refactored outright keeps [`RETAIN_VALUES`]: see [`retain_limit`]).
    fn refactored_outright(&self, rows: u64) -> bool {
        self.design.is_none_or(refactor_outright) && self.retainable(rows)
    }

    /// The f64 fit when it is certified, else `None` with a pass asked for:
    /// a wide design on one host is refined while refinement converges (its
    /// double-double refactoring would take minutes), anything else gets the
    /// extended pass.
    fn conclude(&mut self, factor: Factor<f64>, penalties: Penalties) -> Result<Option<Fit>, CoreError> {
        let fit = fit_factor(&factor, penalties, Precision::Double)?;
        if accepts_double(&fit) && !self.options.extended {
            return Ok(Some(fit));
        }
        let one_host = self.joined.is_none();
        if one_host && !self.options.extended && !refactor_outright(factor.design) {
            if let Some(refinement) = refinement_steps(&fit).and_then(|steps| StreamedRefinement::new(fit, steps)) {
                self.refinement = Some(refinement);
                self.next_pass = Some(NextPass::Refinement);
                return Ok(None);
            }
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
                // Refinement needs the rows alone; the extended pass, its own factor.
                if self.refining.is_none() {
                    let mut extended = Accumulator::with_shift(design, self.threads, shift);
                    if self.joined.is_some() {
                        extended.keep_segments();
                    }
                    self.extended = Some(extended);
                }
                // Small data read again (a resumed job): its rows are kept, as
                // an uninterrupted job kept them, for exact residual diagnostics.
                if self.joined.is_none() && self.retainable(self.rows_seen) {
                    self.retained = Some(Retained::default());
                }
                Some(design.features)
            }
            (Some(NextPass::Residuals), Some(design), _) if self.residuals.is_some() => Some(design.features),
            (Some(NextPass::Refinement), Some(design), _) if self.refinement.is_some() => Some(design.features),
            _ => return Err(CoreError::InvalidArgument("a next pass starts only after finish() answered that one is needed".into())),
        };
        self.sources_done = 0;
        // A pass that reads every row from the first gathers the sample, if none did yet.
        if !self.collected {
            (self.collect, self.sample, self.log_weights) = (true, None, LogWeights::default());
        }
        // Names and the format are learnt again with the rows, but the first pass's header
        // names the model (and goes into checkpoints) even if the next pass starts with an empty file.
        if self.header.is_none() {
            self.header = self.reader.header().map(<[String]>::to_vec);
        }
        // The survey's width is now the rule.
        let width = features.map(|p| p + self.extra_columns());
        self.reader = Self::reader(width, self.threads, self.declared.clone(), self.wrapped);
        Ok(())
    }
}

/// A checkpoint's state, decoded before the fit takes it.
enum Resumed {
    First(HostState<f64>),
    Extended(HostState<Dd>),
}

impl Resumed {
    /// The design, basis and data rows read of the state.
    fn basis(&self) -> (Design, &Shift, u64) {
        match self {
            Resumed::First(state) => (state.design, &state.shift, state.rows_read),
            Resumed::Extended(state) => (state.design, &state.shift, state.rows_read),
        }
    }
}

/// Checkpoints ([`crate::checkpoint`]): the state after the last source
/// finished, and resuming from it.
impl StreamingFit {
    /// Where the pass under way stands after its last finished source, for a
    /// job made of `fingerprint`; `None` when there is nothing to keep yet or
    /// the pass cannot resume (cross-validation folds, robust standard errors).
    pub fn checkpoint(&self, fingerprint: &str) -> Option<Vec<u8>> {
        if self.sources_done == 0 || self.torn || self.folds.is_some() || self.residuals.is_some() || self.next_pass.is_some() {
            return None;
        }
        let design = self.design?;
        let (pass, state) = match (&self.extended, &self.double) {
            (Some(extended), _) => {
                let shift = extended.shift()?.clone();
                (Pass::Extended, HostState { design, shift, rows_read: self.rows_seen, segments: extended.ended() }.encode())
            }
            (None, Some(double)) => {
                let shift = double.shift()?.clone();
                (Pass::First, HostState { design, shift, rows_read: self.rows_at_boundary, segments: double.ended() }.encode())
            }
            (None, None) => return None,
        };
        let header = self.header_row();
        let sample = SampleState {
            collect: self.collect,
            collected: self.collected,
            sample: self.sample.clone(),
            log_weights: self.log_weights_at_boundary.clone(),
        }
        .encode();
        Some(Checkpoint { fingerprint: fingerprint.to_string(), pass, sources_done: self.sources_done, header, state, sample }.encode())
    }

    /// Continues from a checkpoint made for `fingerprint` (a fresh fit, or
    /// one that joined several hosts): answers which pass it is in and how
    /// many of its sources to skip. A checkpoint of anything else is refused.
    pub fn resume(&mut self, bytes: &[u8], fingerprint: &str, from: &str) -> Result<(Pass, u64), CoreError> {
        let checkpoint = Checkpoint::decode(bytes, from)?;
        if checkpoint.fingerprint != fingerprint {
            return Err(CoreError::InvalidArgument(format!("{from} was made for other data, hyperparameters or hosts")));
        }
        if self.options.tuning.is_some() || self.options.covariance != CovarianceType::Classical || self.rows_seen > 0 {
            return Err(CoreError::InvalidArgument(format!("{from} cannot be resumed by this fit")));
        }
        // Every check before anything changes: a refused checkpoint leaves this fit as it was.
        let keep = self.joined.is_some();
        let resumed = match checkpoint.pass {
            Pass::First => Resumed::First(HostState::decode(&checkpoint.state, from)?),
            Pass::Extended => Resumed::Extended(HostState::decode(&checkpoint.state, from)?),
        };
        let (design, shift, rows_read) = resumed.basis();
        let sampled = SampleState::decode(&checkpoint.sample, design.width(), from)?;
        if self.joined.as_ref().is_some_and(|joined| joined != shift) || design.fit_intercept != self.options.fit_intercept {
            return Err(CoreError::InvalidArgument(format!("{from} was made in another basis than this job's")));
        }
        let header = checkpoint.header.or_else(|| self.header.clone());
        let weight_column = match &self.weight_column_name {
            Some(name) => {
                let saved = std::mem::replace(&mut self.header, header.clone());
                let resolved = self.resolve_weight_column(name);
                self.header = saved;
                Some(resolved?)
            }
            None => self.options.weight_column,
        };
        match resumed {
            Resumed::First(state) => self.double = Some(Accumulator::resumed(design, self.threads, state.shift, state.segments, keep)),
            Resumed::Extended(state) => {
                (self.extended, self.double) = (Some(Accumulator::resumed(design, self.threads, state.shift, state.segments, keep)), None);
            }
        }
        // The rows of the skipped sources are not in memory: small data is read again for its extended pass.
        (self.retained, self.rows_seen, self.header) = (None, rows_read, header);
        // The sample and Σ ln w continue from where they stood after the last source read.
        (self.collect, self.collected, self.sample) = (sampled.collect, sampled.collected, sampled.sample);
        (self.log_weights, self.log_weights_at_boundary) = (sampled.log_weights.clone(), sampled.log_weights);
        (self.expected_features, self.design) = (Some(design.features), Some(design));
        if weight_column.is_some() {
            (self.options.weight_column, self.weight_column_name) = (weight_column, None);
        }
        self.reader = Self::reader(Some(design.features + self.extra_columns()), self.threads, self.declared.clone(), self.wrapped);
        (self.sources_done, self.rows_at_boundary) = (checkpoint.sources_done, self.rows_seen);
        Ok((checkpoint.pass, checkpoint.sources_done))
    }
}

/// Several hosts: each reads its share of the channel and sends the states of
/// its sources to the leader, which merges them in the order one host would
/// have read them ([`crate::segments`]) and solves. The extended pass, when
/// asked for, is shared out the same way.
impl StreamingFit {
    /// The basis of the factor and the source that gave it, once this host's
    /// first source with rows has (at most a block of rows is needed): the
    /// leader takes the basis of the job's first source with rows and every
    /// host [`Self::join`]s it.
    pub fn shift(&self) -> Result<Option<(&Shift, &str)>, CoreError> {
        if self.design.is_none() && self.reader.surveyed_width().is_some() {
            return Err(CoreError::InvalidArgument(
                "libsvm or sparse rows without feature_dim: on several hosts every host must read rows of one width; set the feature_dim hyperparameter to the number of features".into(),
            ));
        }
        Ok(self.double.as_ref().and_then(Accumulator::shift).zip(self.basis_source.as_deref()))
    }

    fn note_basis(&mut self) {
        if self.basis_source.is_none() && self.double.as_ref().is_some_and(|d| d.shift().is_some()) {
            self.basis_source = Some(self.source.clone());
        }
    }

    /// The header row (or schema's names) of the data read, label first.
    pub fn header_row(&self) -> Option<Vec<String>> {
        self.header().map(<[String]>::to_vec)
    }

    /// Reads this host's share in the job's basis (and names the columns by
    /// the job's header, if any), keeping each source's state for the leader.
    /// Call before the first source.
    pub fn join(&mut self, shift: Shift, header: Option<Vec<String>>) -> Result<(), CoreError> {
        if self.options.tuning.is_some() || self.options.covariance != CovarianceType::Classical {
            return Err(CoreError::InvalidArgument("cross-validated penalties and robust standard errors are fitted on one host only".into()));
        }
        if self.options.residual_diagnostics == DiagnosticsSource::Exact {
            return Err(CoreError::InvalidArgument(
                "exact residual diagnostics are computed on one host only; set residual_diagnostics to auto (estimated from a sample of rows)".into(),
            ));
        }
        let features = shift
            .center
            .len()
            .checked_sub(1)
            .filter(|&p| p > 0)
            .ok_or_else(|| CoreError::Internal("the job's basis has no feature columns".into()))?;
        let design = Design { features, fit_intercept: self.options.fit_intercept };
        self.options.check_memory(design)?;
        self.expected_features = Some(features);
        self.reader = Self::reader(Some(features + self.extra_columns()), self.threads, self.declared.clone(), self.wrapped);
        let mut double = Accumulator::with_shift(design, self.threads, shift.clone());
        double.keep_segments();
        (self.design, self.double, self.joined, self.header) = (Some(design), Some(double), Some(shift), header);
        // A host with no rows names the weight column in the model all the same.
        if let Some(name) = self.weight_column_name.take() {
            self.options.weight_column = Some(self.resolve_weight_column(&name)?);
        }
        Ok(())
    }

    /// This host's state for the pass under way, to send to the leader.
    pub fn state(&self) -> Result<Vec<u8>, CoreError> {
        let (design, shift) = self.joined_design()?;
        let rows_read = self.rows_seen;
        Ok(match (self.extended.as_ref(), self.double.as_ref()) {
            (Some(extended), _) => HostState { design, shift, rows_read, segments: extended.segments().to_vec() }.encode(),
            (None, Some(double)) => HostState { design, shift, rows_read, segments: double.segments().to_vec() }.encode(),
            (None, None) => return Err(CoreError::Internal("a state was asked for outside a pass".into())),
        })
    }

    fn joined_design(&self) -> Result<(Design, Shift), CoreError> {
        match (self.design, self.joined.clone()) {
            (Some(design), Some(shift)) => Ok((design, shift)),
            _ => Err(CoreError::Internal("only a host that joined the job's basis has a state to send".into())),
        }
    }

    /// The leader's [`Self::finish`]: its own state and the other hosts'
    /// (`(host, state)`), merged in the order of the sources' names. `None`
    /// asks every host for an extended pass (see [`Self::follow`]).
    pub fn finish_with(&mut self, others: &[(String, Vec<u8>)]) -> Result<Option<Fit>, CoreError> {
        let (_, shift) = self.joined_design()?;
        let penalties = self.options.penalties;
        let fit = if let Some(mut extended) = self.extended.take() {
            let (factor, _) = self.merge(extended.take_segments(), others)?;
            Some(fit_factor(&factor, penalties, Precision::Extended)?)
        } else {
            let own = self.double.take().map(|mut double| double.take_segments()).unwrap_or_default();
            let (factor, rows_read) = self.merge(own, others)?;
            if self.refactored_outright(rows_read) {
                self.shift = Some(shift);
                self.next_pass = Some(NextPass::Extended);
                None
            } else {
                self.conclude(factor, penalties)?
            }
        };
        if self.collect && self.sample.is_some() {
            self.collected = true;
        }
        self.collect = false;
        let fit = fit.map(|mut fit| {
            self.describe_residuals(&mut fit, None);
            fit
        });
        self.fitted.clone_from(&fit);
        Ok(fit)
    }

    /// The factor of every host's segments, and the data rows they read.
    fn merge<T: WireScalar>(&self, mut segments: Vec<Segment<T>>, others: &[(String, Vec<u8>)]) -> Result<(Factor<T>, u64), CoreError> {
        let (design, shift) = self.joined_design()?;
        let mut rows_read = self.rows_seen;
        for (host, bytes) in others {
            let state = HostState::<T>::decode(bytes, host)?;
            if state.design != design || state.shift != shift {
                return Err(CoreError::Internal(format!(
                    "{host} factored its rows in another basis or design than this host; run one image and one configuration on every host"
                )));
            }
            segments.extend(state.segments);
            rows_read += state.rows_read;
        }
        Ok((Factor::of(design, shift, Reduction::of(segments)?), rows_read))
    }

    /// A worker starts the pass the leader asked for; stream every source again.
    pub fn follow(&mut self, pass: NextPass) -> Result<(), CoreError> {
        let (_, shift) = self.joined_design()?;
        if pass != NextPass::Extended {
            return Err(CoreError::Internal(format!("hosts share extended passes only, not {pass:?}")));
        }
        (self.double, self.retained) = (None, None);
        self.shift = Some(shift);
        self.next_pass = Some(pass);
        self.start_next_pass()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cv::Tuned;
    use crate::estimator::Estimator;
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
        assert_eq!(solver_memory(design), 1001 * 1001 * (16 + 72 + 4 * 8));
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

    /// y = 1 + Σ (j+1)·x_j + noise/√w on normal x, weights in [0.2, 3.2)
    /// with one in ten 0 (those rows' labels are wild: they must not count).
    fn weighted(seed: u64, n: usize, p: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut rng = Lcg::new(seed);
        let (mut x, mut y, mut w) = (Vec::with_capacity(n * p), Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let weight = if i > 0 && rng.uniform() < 0.1 { 0.0 } else { 0.2 + 3.0 * rng.uniform() };
            let row: Vec<f64> = (0..p).map(|_| rng.normal()).collect();
            let noise = if weight > 0.0 { rng.normal() / weight.sqrt() } else { 1e3 * rng.normal() };
            y.push(1.0 + row.iter().enumerate().map(|(j, v)| (j as f64 + 1.0) * v).sum::<f64>() + noise);
            x.extend(row);
            w.push(weight);
        }
        (x, y, w)
    }

    /// Weighted least squares from the normal equations in double-double (for
    /// well-conditioned data): [intercept, slopes], their standard errors, rss
    /// and the weighted centred tss, as statsmodels' WLS defines them.
    fn wls_reference(x: &[f64], y: &[f64], w: &[f64], p: usize) -> (Vec<f64>, Vec<f64>, f64, f64) {
        let q = p + 1;
        let cols = 2 * q + 1;
        // [XᵀWX | XᵀWy | I], reduced by Gauss-Jordan (no pivoting: XᵀWX is positive definite).
        let mut m = vec![Dd::ZERO; q * cols];
        let rows = || (0..y.len()).filter(|&i| w[i] > 0.0);
        for i in rows() {
            let design: Vec<f64> = std::iter::once(1.0).chain(x[i * p..(i + 1) * p].iter().copied()).collect();
            for j in 0..q {
                let wj = Dd::product(w[i], design[j]);
                for k in 0..q {
                    m[j * cols + k] += wj * Dd::from(design[k]);
                }
                m[j * cols + q] += wj * Dd::from(y[i]);
            }
        }
        for j in 0..q {
            m[j * cols + q + 1 + j] = Dd::from(1.0);
        }
        for c in 0..q {
            let pivot = m[c * cols + c];
            for k in 0..cols {
                m[c * cols + k] = m[c * cols + k] / pivot;
            }
            for r in (0..q).filter(|&r| r != c) {
                let f = m[r * cols + c];
                for k in 0..cols {
                    m[r * cols + k] = m[r * cols + k] - f * m[c * cols + k];
                }
            }
        }
        let beta: Vec<Dd> = (0..q).map(|j| m[j * cols + q]).collect();
        let (mut rss, mut total_weight, mut weighted_label) = (Dd::ZERO, Dd::ZERO, Dd::ZERO);
        for i in rows() {
            let mut r = Dd::from(y[i]) - beta[0];
            for f in 0..p {
                r = r - beta[1 + f] * Dd::from(x[i * p + f]);
            }
            rss += Dd::from(w[i]) * r * r;
            total_weight += Dd::from(w[i]);
            weighted_label += Dd::product(w[i], y[i]);
        }
        let mean = weighted_label / total_weight;
        let tss = rows().fold(Dd::ZERO, |t, i| t + Dd::from(w[i]) * (Dd::from(y[i]) - mean) * (Dd::from(y[i]) - mean)).to_f64();
        let sigma2 = rss.to_f64() / (rows().count() - q) as f64;
        let se = (0..q).map(|j| (sigma2 * m[j * cols + q + 1 + j].to_f64()).sqrt()).collect();
        (beta.iter().map(|b| b.to_f64()).collect(), se, rss.to_f64(), tss)
    }

    fn close(a: f64, b: f64, relative: f64, what: &str) {
        assert!((a - b).abs() <= relative * b.abs(), "{what}: {a} vs {b}");
    }

    #[test]
    fn weighted_fits_are_weighted_least_squares() {
        // In memory (always extended), and beyond it (f64, refined with the weights).
        for (n, precision) in [(500, Precision::Extended), (300_000, Precision::Double)] {
            let (x, y, w) = weighted(41, n, 3);
            let fit = fit_weighted_arrays(&x, &y, Some(&w), 3, FitOptions::default(), 2).unwrap();
            assert_eq!(fit.precision, precision);
            let (beta, se, rss, tss) = wls_reference(&x, &y, &w, 3);
            close(fit.intercept, beta[0], 1e-12, "intercept");
            close(fit.statistics.intercept_std_error, se[0], 1e-10, "intercept SE");
            for f in 0..3 {
                close(fit.coefficients[f], beta[f + 1], 1e-12, "coefficient");
                close(fit.statistics.std_errors[f], se[f + 1], 1e-10, "SE");
            }
            close(fit.statistics.rss, rss, 1e-10, "rss");
            close(fit.statistics.tss, tss, 1e-10, "tss");
            close(fit.statistics.r_squared, 1.0 - rss / tss, 1e-10, "R²");
            assert_eq!(fit.statistics.n, w.iter().filter(|&&v| v > 0.0).count() as u64, "n counts rows of positive weight");
        }
    }

    #[test]
    fn integer_weights_are_replicated_rows() {
        let (x, y, _) = weighted(43, 400, 3);
        let w: Vec<f64> = (0..400).map(|i| ((i * 7) % 4) as f64).collect();
        let (mut xr, mut yr) = (Vec::new(), Vec::new());
        for i in 0..400 {
            for _ in 0..w[i] as usize {
                xr.extend_from_slice(&x[i * 3..(i + 1) * 3]);
                yr.push(y[i]);
            }
        }
        let weighted = fit_weighted_arrays(&x, &y, Some(&w), 3, FitOptions::default(), 1).unwrap();
        let replicated = fit_arrays(&xr, &yr, 3, FitOptions::default(), 1).unwrap();
        let scale = replicated.coefficients.iter().fold(replicated.intercept.abs(), |m, b| m.max(b.abs()));
        for (a, b) in weighted.coefficients.iter().chain([&weighted.intercept]).zip(replicated.coefficients.iter().chain([&replicated.intercept])) {
            assert!((a - b).abs() <= 1e-13 * scale, "{a} vs {b}");
        }
        close(weighted.statistics.rss, replicated.statistics.rss, 1e-13, "rss");
        close(weighted.statistics.tss, replicated.statistics.tss, 1e-13, "tss");
        // n (so the degrees of freedom and the standard errors) counts rows, not copies: WLS, not frequency weights.
        assert_eq!((weighted.statistics.n, replicated.statistics.n), (300, 600));
    }

    #[test]
    fn zero_weights_drop_rows_and_unit_weights_change_nothing() {
        for n in [300, 300_000] {
            let (x, y, w) = weighted(45, n, 2);
            let (mut xk, mut yk, mut wk) = (Vec::new(), Vec::new(), Vec::new());
            for i in (0..n).filter(|&i| w[i] > 0.0) {
                xk.extend_from_slice(&x[i * 2..(i + 1) * 2]);
                yk.push(y[i]);
                wk.push(w[i]);
            }
            let all = fit_weighted_arrays(&x, &y, Some(&w), 2, FitOptions::default(), 2).unwrap();
            let kept = fit_weighted_arrays(&xk, &yk, Some(&wk), 2, FitOptions::default(), 2).unwrap();
            assert_eq!(all, kept, "{n} rows");
            let ones = vec![1.0; n];
            let unit = fit_weighted_arrays(&x, &y, Some(&ones), 2, FitOptions::default(), 2).unwrap();
            assert_eq!(unit, fit_arrays(&x, &y, 2, FitOptions::default(), 2).unwrap(), "{n} rows");
        }
    }

    /// CSV rows `[label, x..]` with the weight inserted at `column`, under `header` when given.
    fn weighted_csv(x: &[f64], y: &[f64], w: &[f64], column: usize, header: Option<&str>) -> Vec<u8> {
        let p = x.len() / y.len();
        let mut csv = header.map_or_else(String::new, |h| format!("{h}\n"));
        for i in 0..y.len() {
            let mut row: Vec<f64> = std::iter::once(y[i]).chain(x[i * p..(i + 1) * p].iter().copied()).collect();
            row.insert(column, w[i]);
            csv.push_str(&row.iter().map(|v| format!("{v:e}")).collect::<Vec<_>>().join(","));
            csv.push('\n');
        }
        csv.into_bytes()
    }

    fn weighted_options(column: usize) -> FitOptions {
        FitOptions { weight_column: Some(column), ..FitOptions::default() }
    }

    fn stream_in(fit: &mut StreamingFit, name: &str, csv: &[u8], chunk: usize) {
        fit.begin_source(name);
        for piece in csv.chunks(chunk) {
            fit.push(piece).unwrap();
        }
        fit.end_source().unwrap();
    }

    #[test]
    fn a_streamed_weight_column_is_left_out_of_the_features_and_named() {
        let (x, y, w) = weighted(47, 700, 2);
        let reference = fit_weighted_arrays(&x, &y, Some(&w), 2, FitOptions::default(), 1).unwrap();
        let csv = weighted_csv(&x, &y, &w, 2, Some("y,a,w,b"));
        for (chunk, threads) in [(1 << 16, 1), (7, 3), (1, 2)] {
            let mut fit = StreamingFit::new(weighted_options(2), None, threads).unwrap();
            stream_in(&mut fit, "data.csv", &csv, chunk);
            let model = fit.finish().unwrap().unwrap();
            assert_eq!((model.intercept, &model.coefficients), (reference.intercept, &reference.coefficients), "chunk {chunk}, threads {threads}");
            assert_eq!(model.statistics, reference.statistics);
            assert_eq!(fit.rows(), 700, "rows read count those of weight 0");
            assert_eq!(fit.feature_names(), ["a", "b"]);
            assert_eq!(fit.weight_name().as_deref(), Some("w"));
            assert_eq!(fit.model().unwrap().feature_names, ["a", "b"]);
        }
        let mut fit = StreamingFit::new(weighted_options(2), None, 1).unwrap();
        stream_in(&mut fit, "data.csv", &weighted_csv(&x, &y, &w, 2, None), 1 << 16);
        fit.finish().unwrap().unwrap();
        assert_eq!((fit.feature_names(), fit.weight_name()), (vec!["x1".to_string(), "x2".into()], Some("column 3".into())));
        assert_eq!(StreamingFit::new(FitOptions::default(), None, 1).unwrap().weight_name(), None);
    }

    #[test]
    fn feature_dim_counts_the_features_not_the_weight_column() {
        let rows = b"1,2,1,3\n2,3,1,5\n4,1,2,2\n5,0,1,1\n";
        let mut fit = StreamingFit::new(weighted_options(2), Some(2), 1).unwrap();
        stream_in(&mut fit, "data.csv", rows, 1 << 16);
        assert_eq!(fit.finish().unwrap().unwrap().coefficients.len(), 2);
        let mut fit = StreamingFit::new(weighted_options(2), Some(3), 1).unwrap();
        fit.begin_source("data.csv");
        let err = fit.push(rows).unwrap_err();
        assert_eq!(err.code(), "FEATURE_DIM_MISMATCH");
        assert!(err.to_string().starts_with("data.csv line 1 has 4 columns but feature_dim=3 with a weight_column needs 5"), "{err}");
    }

    #[test]
    fn bad_weights_are_refused_naming_the_row() {
        let mut fit = StreamingFit::new(weighted_options(2), None, 1).unwrap();
        stream_in(&mut fit, "a.csv", b"y,x,w\n1,2,1\n", 1 << 16);
        fit.begin_source("b.csv");
        let err = fit.push(b"y,x,w\n1,2,1\n\n3,4,0\n3,4,-1\n").unwrap_err();
        assert_eq!(err.code(), "INVALID_WEIGHT");
        assert!(err.to_string().starts_with("b.csv data row 3, column 3: the weight -1 is negative; "), "{err}");
        // NaN and infinity never reach the weights from text: the decoder refuses them with their line.
        let mut fit = StreamingFit::new(weighted_options(2), None, 1).unwrap();
        fit.begin_source("c.csv");
        assert_eq!(fit.push(b"1,2,1\n1,2,nan\n").unwrap_err().code(), "NON_FINITE_VALUE");
        let err = fit_weighted_arrays(&[1.0, 2.0], &[1.0, 2.0], Some(&[1.0, f64::NAN]), 1, FitOptions::default(), 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "weights index 1: the weight NaN is not a finite number; weights must be finite numbers >= 0 (0 leaves the row out)"
        );
        let err = fit_weighted_arrays(&[1.0], &[1.0], Some(&[1.0, 1.0]), 1, FitOptions::default(), 1).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert_eq!(fit_weighted_arrays(&[1.0], &[1.0], None, 1, weighted_options(1), 1).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(StreamingFit::new(weighted_options(0), None, 1).err().unwrap().code(), "INVALID_ARGUMENT");
        let mut fit = StreamingFit::new(weighted_options(3), None, 1).unwrap();
        fit.begin_source("d.csv");
        let err = fit.push(b"1,2,1\n").unwrap_err();
        assert!(err.to_string().starts_with("weight_column is column 4 but the rows of d.csv have 3 columns"), "{err}");
        let mut fit = StreamingFit::new(weighted_options(1), None, 1).unwrap();
        fit.begin_source("e.csv");
        assert!(fit.push(b"1,2\n").unwrap_err().to_string().contains("only a label and a weight column"));
    }

    #[test]
    fn a_weighted_fit_beyond_memory_takes_a_second_extended_pass() {
        // 160k rows x 7 values is beyond what is retained in memory.
        let (_, x, y) = polynomial(160_000, 1e3);
        let w: Vec<f64> = (0..y.len()).map(|i| (i % 5) as f64 * 0.5).collect();
        let csv = weighted_csv(&x, &y, &w, 6, None);
        let mut fit = StreamingFit::new(weighted_options(6), None, 2).unwrap();
        stream_in(&mut fit, "data.csv", &csv, 1 << 16);
        assert!(fit.finish().unwrap().is_none(), "f64 cannot certify a degree-5 polynomial with large residuals");
        assert_eq!(fit.next_pass(), Some(NextPass::Extended));
        fit.start_next_pass().unwrap();
        stream_in(&mut fit, "data.csv", &csv, 1 << 16);
        let model = fit.finish().unwrap().unwrap();
        assert_eq!((model.precision, model.statistics.n), (Precision::Extended, 128_000));
        let reference = fit_weighted_arrays(&x, &y, Some(&w), 5, FitOptions { extended: true, ..FitOptions::default() }, 1).unwrap();
        for (k, (b, r)) in model.coefficients.iter().zip(&reference.coefficients).enumerate() {
            assert!((b - r).abs() <= 1e-13 * r.abs(), "coefficient {k}: {b} vs {r}");
        }
        assert_eq!(model.statistics.n, reference.statistics.n);
    }

    #[test]
    fn rows_of_only_a_label_are_refused() {
        let mut fit = StreamingFit::new(FitOptions::default(), None, 1).unwrap();
        fit.begin_source("labels.csv");
        let err = fit.push(b"1\n2\n3\n").unwrap_err();
        assert!(err.to_string().contains("only a label column"), "{err}");
    }

    /// Streams `csv` in `chunk`-byte pieces, with every further pass `finish` asks for.
    fn fit_streamed(options: FitOptions, csv: &[u8], chunk: usize, threads: usize) -> Fit {
        streamed(options, csv, chunk, threads).0
    }

    /// The fit and its row sample, streamed in `chunk`-byte pieces.
    fn streamed_with_sample(options: FitOptions, csv: &[u8], chunk: usize, threads: usize) -> (Fit, Sample, u32) {
        let (fit, sample, passes) = streamed(options, csv, chunk, threads);
        (fit, sample.expect("a row sample"), passes)
    }

    /// The fit, its row sample (if one was drawn) and the passes it took.
    fn streamed(options: FitOptions, csv: &[u8], chunk: usize, threads: usize) -> (Fit, Option<Sample>, u32) {
        let mut fit = StreamingFit::new(options, None, threads).unwrap();
        let mut passes = 1;
        loop {
            fit.begin_source("data.csv");
            for piece in csv.chunks(chunk) {
                fit.push(piece).unwrap();
            }
            fit.end_source().unwrap();
            match fit.finish().unwrap() {
                Some(done) => return (done, fit.sample(), passes),
                None => {
                    passes += 1;
                    fit.start_next_pass().unwrap();
                }
            }
        }
    }

    #[test]
    fn residual_diagnostics_and_the_sample_ignore_chunks_and_threads() {
        // 300k rows x 4 values: beyond what is kept in memory.
        let (csv, x, y) = noisy_rows(300_000, 41);
        let exact = FitOptions { residual_diagnostics: DiagnosticsSource::Exact, ..FitOptions::default() };
        let reference = fit_arrays(&x, &y, 3, FitOptions::default(), 1).unwrap();
        let expected = reference.residuals.clone().unwrap();
        for options in [FitOptions::default(), exact, FitOptions { covariance: CovarianceType::Hc1, ..FitOptions::default() }] {
            let (first, sample, passes) = streamed_with_sample(options, &csv, 1 << 16, 2);
            let d = first.residuals.clone().unwrap();
            let from_sample = options == FitOptions::default();
            assert_eq!(passes, if from_sample { 1 } else { 2 }, "{options:?}");
            assert_eq!((sample.rows, sample.actual.len()), (300_000, crate::diagnostics::SAMPLE_ROWS));
            if from_sample {
                assert_eq!((d.source, d.rows), (crate::diagnostics::Source::Sample, 5_000));
                assert!(d.durbin_watson.is_nan() && (d.skew - expected.skew).abs() < 0.2, "{d:?} vs {expected:?}");
            } else {
                assert_eq!((d.source, d.rows), (crate::diagnostics::Source::Exact, 300_000));
                for (a, b) in [
                    (d.skew, expected.skew),
                    (d.kurtosis, expected.kurtosis),
                    (d.omnibus, expected.omnibus),
                    (d.durbin_watson, expected.durbin_watson),
                ] {
                    assert!((a - b).abs() <= 1e-10 * b.abs(), "{a} vs {b}");
                }
            }
            assert!(
                (first.statistics.log_likelihood - reference.statistics.log_likelihood).abs() <= 1e-12 * reference.statistics.log_likelihood.abs()
            );
            for (chunk, threads) in [(4093, 1), (1 << 20, 2)] {
                let (again, resampled, _) = streamed_with_sample(options, &csv, chunk, threads);
                // Debug, since NaN (no Durbin–Watson for a sample) is not equal to itself.
                assert_eq!(format!("{again:?}"), format!("{first:?}"), "chunk {chunk}, {threads} threads");
                assert_eq!(resampled, sample, "chunk {chunk}, {threads} threads");
            }
        }
    }

    #[test]
    fn small_data_gets_exact_diagnostics_from_memory_in_one_pass() {
        let (csv, x, y) = noisy_rows(2_000, 43);
        let exact = FitOptions { residual_diagnostics: DiagnosticsSource::Exact, ..FitOptions::default() };
        let (fit, sample, passes) = streamed_with_sample(exact, &csv, 1 << 16, 2);
        assert_eq!(passes, 1, "the rows are in memory");
        let reference = fit_arrays(&x, &y, 3, FitOptions::default(), 1).unwrap();
        let (d, e) = (fit.residuals.unwrap(), reference.residuals.unwrap());
        assert_eq!((d.source, d.rows, sample.rows, sample.actual.len()), (crate::diagnostics::Source::Exact, 2_000, 2_000, 2_000));
        assert!((d.durbin_watson - e.durbin_watson).abs() <= 1e-12 && (d.kurtosis - e.kurtosis).abs() <= 1e-12 * e.kurtosis);
        assert_eq!(sample.actual, y, "the sample holds every row, in order");
    }

    fn noisy_rows(n: usize, seed: u64) -> (Vec<u8>, Vec<f64>, Vec<f64>) {
        let mut rng = Lcg::new(seed);
        let (mut csv, mut x, mut y) = (String::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let row = [rng.normal(), 100.0 + rng.normal(), rng.normal()];
            let label = 1.0 + 2.0 * row[0] - 0.01 * row[1] + (1.0 + row[0].abs()) * rng.normal();
            csv.push_str(&format!("{label},{},{},{}\n", row[0], row[1], row[2]));
            x.extend(row);
            y.push(label);
        }
        (csv.into_bytes(), x, y)
    }

    #[test]
    fn every_estimator_streams_to_the_same_bits_for_any_chunking_and_thread_count() {
        // 150k rows x 4 values is beyond what is kept in memory: the streamed paths proper.
        let (csv, _, _) = noisy_rows(150_000, 31);
        let tuned = |penalty| Some(Tuning { penalty, folds: 5 });
        let cases = [
            FitOptions { tuning: tuned(Tuned::L2), ..FitOptions::default() },
            FitOptions { tuning: tuned(Tuned::L1), penalties: Penalties { wd: 0.01, ..Penalties::default() }, ..FitOptions::default() },
            FitOptions { penalties: Penalties { l1: 0.05, wd: 0.1, ..Penalties::default() }, ..FitOptions::default() },
            FitOptions { penalties: Penalties { non_negative: true, ..Penalties::default() }, ..FitOptions::default() },
            FitOptions { covariance: CovarianceType::Hc3, ..FitOptions::default() },
        ];
        for options in cases {
            let reference = fit_streamed(options, &csv, 1 << 16, 1);
            for (chunk, threads) in [(997, 2), (1 << 20, 3)] {
                let other = fit_streamed(options, &csv, chunk, threads);
                assert_eq!(other.coefficients, reference.coefficients, "{options:?}, chunk {chunk}, threads {threads}");
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&other.statistics.std_errors), bits(&reference.statistics.std_errors), "NaN where not estimated");
                assert_eq!(other.cv, reference.cv);
            }
        }
    }

    #[test]
    fn streamed_robust_errors_and_cross_validation_equal_the_in_memory_ones() {
        let (csv, x, y) = noisy_rows(150_000, 37);
        let robust = FitOptions { covariance: CovarianceType::Hc1, ..FitOptions::default() };
        let streamed = fit_streamed(robust, &csv, 1 << 16, 2);
        let in_memory = fit_arrays(&x, &y, 3, robust, 2).unwrap();
        assert_eq!(streamed.covariance, CovarianceType::Hc1);
        for (a, b) in streamed.statistics.std_errors.iter().zip(&in_memory.statistics.std_errors) {
            assert!((a - b).abs() <= 1e-12 * b, "{a} vs {b}");
        }
        let tuned = FitOptions { tuning: Some(Tuning { penalty: Tuned::L2, folds: 4 }), ..FitOptions::default() };
        let streamed = fit_streamed(tuned, &csv, 1 << 16, 2);
        let in_memory = fit_arrays(&x, &y, 3, tuned, 2).unwrap();
        // The chosen penalty is the one fitted, streamed or not (n = 300: the in-memory streamed path too).
        assert_eq!(streamed.estimator, in_memory.estimator);
        assert!(matches!(streamed.estimator, Estimator::Ridge { .. }), "{:?}", streamed.estimator);
        for (a, b) in streamed.coefficients.iter().zip(&in_memory.coefficients) {
            assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
        }
        let (small_csv, small_x, small_y) = noisy_rows(300, 41);
        for penalty in [Tuned::L2, Tuned::L1, Tuned::Wd] {
            let options = FitOptions { tuning: Some(Tuning { penalty, folds: 5 }), ..FitOptions::default() };
            let streamed = fit_streamed(options, &small_csv, 1 << 16, 1);
            let in_memory = fit_arrays(&small_x, &small_y, 3, options, 1).unwrap();
            assert_eq!(streamed.estimator, in_memory.estimator, "{penalty:?}");
            assert_ne!(streamed.estimator, Estimator::LeastSquares, "{penalty:?}: the chosen penalty is fitted");
        }
        let (a, b) = (streamed.cv.unwrap(), in_memory.cv.unwrap());
        assert_eq!(a.curve.grid, b.curve.grid);
        assert_eq!(a.curve.best, b.curve.best);
        for (m, n) in a.curve.mse.iter().zip(&b.curve.mse) {
            assert!((m - n).abs() <= 1e-12 * n, "{m} vs {n}");
        }
    }

    #[test]
    fn a_cross_validated_penalty_on_ill_conditioned_data_is_refitted_in_extended_precision() {
        // The lasso's f64 fit is judged by the unpenalised conditioning (κ ~ 1e7 here): a second, extended pass.
        let (csv, x, y) = polynomial(200_000, 1e3);
        let tuned = FitOptions { tuning: Some(Tuning { penalty: Tuned::L1, folds: 5 }), ..FitOptions::default() };
        let mut fit = StreamingFit::new(tuned, None, 2).unwrap();
        stream(&mut fit, &csv);
        assert!(fit.finish().unwrap().is_none(), "f64 cannot certify this fit");
        fit.start_next_pass().unwrap();
        stream(&mut fit, &csv);
        let model = fit.finish().unwrap().unwrap();
        assert_eq!(model.precision, Precision::Extended);
        let chosen = model.cv.as_ref().unwrap().chosen();
        assert_eq!(model.estimator, Estimator::ElasticNet { l1: chosen, wd: 0.0 });
        let direct = FitOptions { penalties: Penalties { l1: chosen, ..Penalties::default() }, extended: true, ..FitOptions::default() };
        let reference = fit_arrays(&x, &y, 5, direct, 1).unwrap();
        for (b, r) in model.coefficients.iter().zip(&reference.coefficients) {
            assert!((b - r).abs() <= 1e-9 * r.abs().max(1e-300), "{b} vs {r}");
        }
    }

    /// CSV files `part-i.csv` with a header naming a weight column, `sizes` rows each.
    fn parts(sizes: &[usize], offset: f64, seed: u64) -> Vec<(String, Vec<u8>)> {
        let mut rng = Lcg::new(seed);
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let mut csv = String::from("y,a,w,b\n");
                for _ in 0..n {
                    let a = rng.normal();
                    // Offset data is also nearly collinear: one pass in f64 cannot certify it.
                    let b = if offset == 0.0 { rng.normal() } else { a + 1e-6 * rng.normal() };
                    let a = a + offset;
                    let w = if rng.uniform() < 0.1 { 0.0 } else { 0.5 + rng.uniform() };
                    csv.push_str(&format!("{},{a},{w},{b}\n", 3.0 + 2.0 * a - b + 0.01 * rng.normal()));
                }
                (format!("input/data/train/part-{i}.csv"), csv.into_bytes())
            })
            .collect()
    }

    fn weighted_by_name() -> StreamingFit {
        let mut fit = StreamingFit::new(FitOptions::default(), None, 2).unwrap();
        fit.weigh_by("w");
        fit
    }

    fn read(fit: &mut StreamingFit, files: &[&(String, Vec<u8>)]) {
        for (name, csv) in files {
            fit.begin_source(name);
            for chunk in csv.chunks(1000) {
                fit.push(chunk).unwrap();
            }
            fit.end_source().unwrap();
        }
    }

    /// The fit of `files` on hosts that read the files `owner` gives them,
    /// with the leader's protocol: basis from the first file with rows, states merged.
    fn on_hosts(files: &[(String, Vec<u8>)], owner: &[usize], hosts: usize) -> (Fit, Model) {
        let share = |h: usize| files.iter().zip(owner).filter(|(_, &o)| o == h).map(|(f, _)| f).collect::<Vec<_>>();
        // Each host's first source with rows gives its basis; the job's is that of the first in listing order.
        let mut bases = Vec::new();
        for h in 0..hosts {
            let mut probe = weighted_by_name();
            read(&mut probe, &share(h));
            if let Some((shift, source)) = probe.shift().unwrap() {
                bases.push((source.to_string(), shift.clone(), probe.header_row()));
            }
        }
        bases.sort_by(|a, b| crate::segments::listing_order(&a.0, &b.0));
        let (_, shift, header) = bases.swap_remove(0);
        let mut trainers: Vec<StreamingFit> = (0..hosts)
            .map(|_| {
                let mut t = weighted_by_name();
                t.join(shift.clone(), header.clone()).unwrap();
                t
            })
            .collect();
        loop {
            for (h, t) in trainers.iter_mut().enumerate() {
                read(t, &share(h));
            }
            let states: Vec<(String, Vec<u8>)> =
                trainers[1..].iter_mut().enumerate().map(|(h, t)| (format!("algo-{}", h + 2), t.state().unwrap())).rev().collect();
            match trainers[0].finish_with(&states).unwrap() {
                Some(fit) => return (fit, trainers[0].model().unwrap()),
                None => {
                    assert_eq!(trainers[0].next_pass(), Some(NextPass::Extended));
                    trainers[0].start_next_pass().unwrap();
                    trainers[1..].iter_mut().for_each(|t| t.follow(NextPass::Extended).unwrap());
                }
            }
        }
    }

    /// The model without what comes from visiting rows (residual
    /// diagnostics, and the WLS log-likelihood that needs Σ ln w): on several
    /// hosts they come from the leader's sample or are null.
    fn without_row_statistics(mut model: Model) -> Model {
        let s = &mut model.statistics;
        (s.residuals, s.log_likelihood, s.aic, s.bic) = (None, None, None, None);
        model
    }

    fn on_one_host(files: &[(String, Vec<u8>)]) -> (Fit, Model) {
        let mut fit = weighted_by_name();
        loop {
            read(&mut fit, &files.iter().collect::<Vec<_>>());
            match fit.finish().unwrap() {
                Some(done) => return (done, fit.model().unwrap()),
                None => fit.start_next_pass().unwrap(),
            }
        }
    }

    #[test]
    fn hosts_sharing_the_files_give_one_hosts_bits() {
        // Small data (always the extended pass), and data past what is kept in
        // memory: ill-conditioned (a second, extended pass by every host) or not.
        let large = vec![100_000, 0, 150_000, 80_001];
        for (sizes, offset, precision) in
            [(vec![0, 40, 700, 0, 5, 300], 1e6, Precision::Extended), (large.clone(), 1e6, Precision::Extended), (large, 0.0, Precision::Double)]
        {
            let files = parts(&sizes, offset, 21);
            let (one, model) = on_one_host(&files);
            assert_eq!(one.precision, precision, "{sizes:?} offset {offset}: error {:e}", one.estimated_error);
            let n = files.len();
            for (hosts, owner) in
                [(1, vec![0; n]), (2, (0..n).map(|i| i % 2).collect()), (3, (0..n).map(|i| (n - 1 - i) % 3).collect()), (3, vec![2; n])]
            {
                let (many, merged) = on_hosts(&files, &owner, hosts);
                let (merged, model) = (without_row_statistics(merged), without_row_statistics(model.clone()));
                assert_eq!(merged.to_json().unwrap(), model.to_json().unwrap(), "{sizes:?} on {hosts} hosts as {owner:?}");
                assert_eq!(
                    many.coefficients.iter().map(|c| c.to_bits()).collect::<Vec<_>>(),
                    one.coefficients.iter().map(|c| c.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn joining_is_for_plain_and_penalised_fits() {
        let shift = Shift { center: vec![0.0; 3], scale: vec![1.0; 3] };
        let mut robust = StreamingFit::new(FitOptions { covariance: CovarianceType::Hc1, ..FitOptions::default() }, None, 1).unwrap();
        assert!(robust.join(shift.clone(), None).unwrap_err().to_string().contains("one host"));
        let mut plain = StreamingFit::new(FitOptions::default(), None, 1).unwrap();
        plain.join(shift, None).unwrap();
        plain.begin_source("a.csv");
        let err = plain.push(b"1,2,3,4\n").and_then(|()| plain.end_source().map(drop)).unwrap_err();
        assert_eq!(err.code(), "RAGGED_ROW", "{err}");
        assert!(err.to_string().contains("a.csv line 1 has 4 columns but the job's first file with rows has 3"), "{err}");
        let shift = Shift { center: vec![0.0; 3], scale: vec![1.0; 3] };
        let mut swapped = StreamingFit::new(FitOptions::default(), None, 1).unwrap();
        swapped.join(shift, Some(vec!["y".into(), "a".into(), "b".into()])).unwrap();
        swapped.begin_source("b.csv");
        let err = swapped.push(b"y,b,a\n1,2,3\n").and_then(|()| swapped.end_source().map(drop)).unwrap_err();
        assert_eq!(err.code(), "HEADER_MISMATCH", "{err}");
        assert!(err.to_string().contains("(y,b,a) is not that of the job's first file with rows (y,a,b)"), "{err}");
    }

    /// A fit of `files` stopped after `stop` sources of pass `stop_pass` (1
    /// or 2), and when `torn` halfway through the next one (a stop while it
    /// reads), and resumed from its checkpoint.
    fn resumed_after(files: &[(String, Vec<u8>)], stop_pass: usize, stop: usize, torn: bool) -> Model {
        let all: Vec<_> = files.iter().collect();
        let mut first = weighted_by_name();
        let mut pass = 1;
        let saved = loop {
            if pass == stop_pass {
                read(&mut first, &all[..stop]);
                if torn {
                    let (name, csv) = all[stop];
                    first.begin_source(name);
                    csv[..csv.len() / 2].chunks(1000).for_each(|chunk| first.push(chunk).unwrap());
                }
                break first.checkpoint("job").expect("a checkpoint after a finished source");
            }
            read(&mut first, &all);
            assert!(first.finish().unwrap().is_none(), "the stop comes before the fit");
            first.start_next_pass().unwrap();
            pass += 1;
        };
        let mut again = weighted_by_name();
        assert!(again.resume(&saved, "another job", "c").is_err());
        let (at, skip) = again.resume(&saved, "job", "c").unwrap();
        assert_eq!((at == Pass::Extended, skip), (stop_pass == 2, stop as u64));
        read(&mut again, &all[stop..]);
        loop {
            match again.finish().unwrap() {
                Some(_) => return again.model().unwrap(),
                None => {
                    again.start_next_pass().unwrap();
                    read(&mut again, &all);
                }
            }
        }
    }

    /// Named CSV sources.
    type Sources = Vec<(String, Vec<u8>)>;

    /// Two CSV sources of `n` rows of `p` correlated features (see [`correlated`]), and the arrays they spell.
    fn wide_sources(n: usize, p: usize, own: f64) -> (Sources, Vec<f64>, Vec<f64>) {
        let (x, y) = correlated(41, n, p, own);
        let csv = |rows: std::ops::Range<usize>| {
            let mut text = String::new();
            for i in rows {
                text.push_str(&y[i].to_string());
                for v in &x[i * p..(i + 1) * p] {
                    text.push(',');
                    text.push_str(&v.to_string());
                }
                text.push('\n');
            }
            text.into_bytes()
        };
        (vec![("a.csv".to_string(), csv(0..n / 3)), ("b.csv".to_string(), csv(n / 3..n))], x, y)
    }

    #[test]
    fn wide_data_in_memory_is_refined_to_the_extended_answer_and_resumes_with_its_bits() {
        // One lane and the blocked update; too wide to refactor in double-double
        // outright, and kept in memory; κ about 10³, so f64 alone is not certified.
        let (n, p) = (1300, 600);
        let design = Design { features: p, fit_intercept: true };
        assert!(!refactor_outright(design) && n * (p + 1) <= retain_limit(design));
        // Every design refactored outright keeps the same rows as before wide designs kept more.
        assert_eq!(retain_limit(Design { features: WIDE_COLUMNS - 3, fit_intercept: true }), RETAIN_VALUES);
        let (files, x, y) = wide_sources(n, p, 0.02);
        let mut fit = StreamingFit::new(FitOptions::default(), None, 2).unwrap();
        read(&mut fit, &files.iter().collect::<Vec<_>>());
        let refined = fit.finish().unwrap().expect("refined from memory, not read again");
        let model = fit.model().unwrap();
        assert_eq!(refined.precision, Precision::Double);
        assert!(refined.estimated_error > ERROR_TARGET, "the f64 fit alone was certified ({:e}): nothing was refined", refined.estimated_error);
        let exact = fit_arrays(&x, &y, p, FitOptions { extended: true, ..FitOptions::default() }, 2).unwrap();
        let scale = exact.coefficients.iter().fold(0.0f64, |m, b| m.max(b.abs()));
        for (j, (b, e)) in refined.coefficients.iter().zip(&exact.coefficients).enumerate() {
            assert!((b - e).abs() <= 4.0 * f64::EPSILON * scale, "coefficient {j}: {b} vs {e}");
        }
        // Through the centroid: the slopes' rounding does not move the intercept by more than its own.
        assert!((refined.intercept - exact.intercept).abs() <= 4.0 * f64::EPSILON * scale, "intercept {} vs {}", refined.intercept, exact.intercept);
        // The in-memory API takes the same road.
        let arrays = fit_arrays(&x, &y, p, FitOptions::default(), 1).unwrap();
        assert_eq!(arrays.precision, Precision::Double);
        for (b, e) in arrays.coefficients.iter().zip(&exact.coefficients) {
            assert!((b - e).abs() <= 4.0 * f64::EPSILON * scale);
        }
        // Stopped after the first source: the rows are read again, and the model has the same bits.
        let mut first = StreamingFit::new(FitOptions::default(), None, 2).unwrap();
        read(&mut first, &[&files[0]]);
        let saved = first.checkpoint("job").expect("a checkpoint after a finished source");
        let mut again = StreamingFit::new(FitOptions::default(), None, 1).unwrap();
        again.resume(&saved, "job", "c").unwrap();
        read(&mut again, &[&files[1]]);
        assert!(again.finish().unwrap().is_none(), "the rows are not in memory: read again");
        again.start_next_pass().unwrap();
        read(&mut again, &files.iter().collect::<Vec<_>>());
        again.finish().unwrap().expect("refined from the rows read again");
        assert_eq!(again.model().unwrap().to_json().unwrap(), model.to_json().unwrap());
    }

    #[test]
    fn wide_data_beyond_memory_is_refined_in_passes_with_the_same_bits_for_any_chunking() {
        // More rows than a 602-column design keeps in memory; κ about 10³, so
        // f64 alone is not certified and refinement converges.
        let (n, p) = (3000, 600);
        let design = Design { features: p, fit_intercept: true };
        assert!(n * (p + 1) > retain_limit(design));
        let (files, x, y) = wide_sources(n, p, 0.02);
        let fitted = |chunk: usize, threads: usize| {
            let mut fit = StreamingFit::new(FitOptions::default(), None, threads).unwrap();
            let mut passes = Vec::new();
            loop {
                for (name, csv) in &files {
                    stream_in(&mut fit, name, csv, chunk);
                }
                match fit.finish().unwrap() {
                    Some(done) => return (done, fit.model().unwrap(), passes),
                    None => {
                        passes.push(fit.next_pass().unwrap());
                        fit.start_next_pass().unwrap();
                    }
                }
            }
        };
        let (refined, model, passes) = fitted(1 << 16, 2);
        assert!(!passes.is_empty() && passes.iter().all(|&pass| pass == NextPass::Refinement), "{passes:?}");
        assert_eq!(refined.precision, Precision::Double);
        assert!(refined.estimated_error > ERROR_TARGET);
        // In memory, the same data is refined from two halves: a different sum, the same answer to an ulp or so.
        let arrays = fit_arrays(&x, &y, p, FitOptions::default(), 2).unwrap();
        let scale = arrays.coefficients.iter().fold(0.0f64, |m, b| m.max(b.abs()));
        for (j, (b, e)) in refined.coefficients.iter().zip(&arrays.coefficients).enumerate() {
            assert!((b - e).abs() <= 4.0 * f64::EPSILON * scale, "coefficient {j}: {b} vs {e}");
        }
        let (_, other, _) = fitted(777, 1);
        assert_eq!(other.to_json().unwrap(), model.to_json().unwrap());
    }

    #[test]
    fn a_resumed_fit_has_the_bits_of_an_uninterrupted_one() {
        let large = vec![100_000, 0, 150_000, 80_001];
        for (sizes, offset, passes) in
            [(vec![0, 40, 700, 0, 5, 300], 1e6, 1), (vec![30_000, 0, 40_000, 20_001], 1e6, 1), (large.clone(), 1e6, 2), (large, 0.0, 1)]
        {
            let files = parts(&sizes, offset, 22);
            let (_, model) = on_one_host(&files);
            assert!(model.statistics.residuals.is_some());
            for pass in 1..=passes {
                for (stop, torn) in [(2, false), (3, false), (2, true)] {
                    // The row sample, and with it the residual diagnostics, resume too.
                    let resumed = resumed_after(&files, pass, stop, torn);
                    let at = format!("{sizes:?} stopped in pass {pass} after {stop} files{}", if torn { " and half the next" } else { "" });
                    assert_eq!(resumed.to_json().unwrap(), model.to_json().unwrap(), "{at}");
                }
            }
        }
    }
}
