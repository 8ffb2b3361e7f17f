//! What a training report shows beyond the coefficients, as statsmodels'
//! OLS/WLS summary computes it: the log-likelihood and information criteria,
//! residual diagnostics (skew, kurtosis, omnibus, Jarque–Bera,
//! Durbin–Watson), and a deterministic sample of the training rows for plots.
//!
//! Residuals are those of the whitened problem (√w·e, statsmodels' `wresid`)
//! of the rows that count (weight > 0), in reading order. Their sums are
//! double-double and taken row by row in that order, so the diagnostics are
//! the same bits for any chunk size and thread count.

use crate::dd::Dd;
use crate::error::CoreError;
use crate::solve::Fit;

/// Most rows kept by the sample.
pub const SAMPLE_ROWS: usize = 5_000;
/// Most values (label, features and weight of its rows) the sample holds.
pub const SAMPLE_VALUES: usize = 1 << 22;
/// The sample's seed: every job draws the same rows from the same data (below
/// 2^53, so JavaScript holds it exactly).
pub const SAMPLE_SEED: u64 = 0x5eed_1ea5_75a9;

/// SplitMix64's output function: a well mixed 64-bit value of `z`.
fn splitmix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Where the residual diagnostics come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Every training row (of weight > 0).
    Exact,
    /// The rows of the sample: estimates, no Durbin–Watson.
    Sample,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Exact => "exact",
            Source::Sample => "sample",
        }
    }
}

/// NaN where a statistic is not defined (too few rows, residuals all 0).
#[derive(Clone, Debug, PartialEq)]
pub struct ResidualDiagnostics {
    pub source: Source,
    /// The rows the residuals come from.
    pub rows: u64,
    /// scipy.stats.skew (biased).
    pub skew: f64,
    /// scipy.stats.kurtosis(fisher=False) (biased, Pearson: 3 for a normal).
    pub kurtosis: f64,
    /// scipy.stats.normaltest's K² (D'Agostino–Pearson); NaN below 8 rows.
    pub omnibus: f64,
    pub omnibus_p_value: f64,
    pub jarque_bera: f64,
    pub jarque_bera_p_value: f64,
    /// Σ(e_t − e_{t−1})² / Σe_t² in reading order; NaN for a sample.
    pub durbin_watson: f64,
}

/// The residual of one raw row `[y, x1..xp]` under `fit`, in double-double
/// in the fit's shifted basis (as predictions are evaluated).
fn residual(fit: &Fit, row: &[f64]) -> Dd {
    let mut r = Dd::difference(row[0], fit.center_label).add_f64(-fit.centered_intercept);
    for ((&x, &c), &b) in row[1..].iter().zip(&fit.center).zip(&fit.coefficients) {
        if b != 0.0 {
            r = r - Dd::difference(x, c) * Dd::from(b);
        }
    }
    r
}

/// The prediction of `fit` for one row of features.
pub fn predict(fit: &Fit, features: &[f64]) -> f64 {
    let mut acc = Dd::from(fit.center_label).add_f64(fit.centered_intercept);
    for ((&x, &c), &b) in features.iter().zip(&fit.center).zip(&fit.coefficients) {
        acc += Dd::difference(x, c) * Dd::from(b);
    }
    acc.to_f64()
}

/// Power sums of whitened residuals and their successive differences.
#[derive(Clone, Debug, Default)]
pub struct Moments {
    count: u64,
    /// Σe, Σe², Σe³, Σe⁴.
    sums: [Dd; 4],
    /// Σ(e_t − e_{t−1})².
    steps: Dd,
    previous: Option<f64>,
}

impl Moments {
    /// One whitened residual, the next in reading order.
    pub fn push(&mut self, e: f64) {
        let e2 = Dd::product(e, e);
        let e3 = e2 * Dd::from(e);
        let e4 = e2 * e2;
        self.sums[0] = self.sums[0].add_f64(e);
        self.sums[1] += e2;
        self.sums[2] += e3;
        self.sums[3] += e4;
        if let Some(previous) = self.previous {
            let d = Dd::difference(e, previous);
            self.steps += d * d;
        }
        self.previous = Some(e);
        self.count += 1;
    }

    /// The diagnostics of the residuals pushed; `durbin_watson` only when
    /// they were every row in reading order.
    pub fn diagnostics(&self, source: Source) -> ResidualDiagnostics {
        self.diagnostics_of(source, self.count)
    }

    /// As [`Self::diagnostics`], the residuals pushed being a sample of
    /// `population` rows: Omnibus and Jarque–Bera grow with the rows tested,
    /// so theirs are taken at `population` from the sample's skew and kurtosis.
    pub fn diagnostics_of(&self, source: Source, population: u64) -> ResidualDiagnostics {
        let n = self.count;
        let mut d = shape(n, &self.sums, population);
        d.source = source;
        if source == Source::Exact && n >= 2 && self.sums[1].hi > 0.0 {
            d.durbin_watson = (self.steps / self.sums[1]).to_f64();
        }
        d
    }
}

/// Skew and kurtosis from power sums of `n` values, and the normality tests
/// of `population` values with that skew and kurtosis (`n` for every row).
fn shape(n: u64, sums: &[Dd; 4], population: u64) -> ResidualDiagnostics {
    let nan = f64::NAN;
    let mut d = ResidualDiagnostics {
        source: Source::Exact,
        rows: n,
        skew: nan,
        kurtosis: nan,
        omnibus: nan,
        omnibus_p_value: nan,
        jarque_bera: nan,
        jarque_bera_p_value: nan,
        durbin_watson: nan,
    };
    if n < 2 {
        return d;
    }
    let count = Dd::from(n as f64);
    let [s1, s2, s3, s4] = sums.map(|s| s / count);
    let mean = s1;
    let mean2 = mean * mean;
    // Central moments from raw ones, in double-double.
    let m2 = s2 - mean2;
    let m3 = s3 - Dd::from(3.0) * mean * s2 + Dd::from(2.0) * mean2 * mean;
    let m4 = s4 - Dd::from(4.0) * mean * s3 + Dd::from(6.0) * mean2 * s2 - Dd::from(3.0) * mean2 * mean2;
    if m2.hi.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return d;
    }
    let skew = (m3 / (m2 * m2.sqrt())).to_f64();
    let kurtosis = (m4 / (m2 * m2)).to_f64();
    let nf = population as f64;
    d.skew = skew;
    d.kurtosis = kurtosis;
    d.jarque_bera = nf / 6.0 * (skew * skew + (kurtosis - 3.0) * (kurtosis - 3.0) / 4.0);
    d.jarque_bera_p_value = (-d.jarque_bera / 2.0).exp();
    if population >= 8 {
        let k2 = skew_z(skew, nf).powi(2) + kurtosis_z(kurtosis, nf).powi(2);
        d.omnibus = k2;
        d.omnibus_p_value = (-k2 / 2.0).exp();
    }
    d
}

/// scipy.stats.skewtest's z (D'Agostino), for n >= 8.
fn skew_z(b2: f64, n: f64) -> f64 {
    let y = b2 * ((n + 1.0) * (n + 3.0) / (6.0 * (n - 2.0))).sqrt();
    let beta2 = 3.0 * (n * n + 27.0 * n - 70.0) * (n + 1.0) * (n + 3.0) / ((n - 2.0) * (n + 5.0) * (n + 7.0) * (n + 9.0));
    let w2 = -1.0 + (2.0 * (beta2 - 1.0)).sqrt();
    let delta = 1.0 / (0.5 * w2.ln()).sqrt();
    let alpha = (2.0 / (w2 - 1.0)).sqrt();
    let y = if y == 0.0 { 1.0 } else { y };
    let r = y / alpha;
    delta * (r + (r * r + 1.0).sqrt()).ln()
}

/// scipy.stats.kurtosistest's z (Anscombe & Glynn), for n >= 5.
fn kurtosis_z(b2: f64, n: f64) -> f64 {
    let e = 3.0 * (n - 1.0) / (n + 1.0);
    let varb2 = 24.0 * n * (n - 2.0) * (n - 3.0) / ((n + 1.0) * (n + 1.0) * (n + 3.0) * (n + 5.0));
    let x = (b2 - e) / varb2.sqrt();
    let sqrtbeta1 = 6.0 * (n * n - 5.0 * n + 2.0) / ((n + 7.0) * (n + 9.0)) * (6.0 * (n + 3.0) * (n + 5.0) / (n * (n - 2.0) * (n - 3.0))).sqrt();
    let a = 6.0 + 8.0 / sqrtbeta1 * (2.0 / sqrtbeta1 + (1.0 + 4.0 / (sqrtbeta1 * sqrtbeta1)).sqrt());
    let term1 = 1.0 - 2.0 / (9.0 * a);
    let denom = 1.0 + x * (2.0 / (a - 4.0)).sqrt();
    if denom == 0.0 {
        return f64::NAN;
    }
    let term2 = denom.signum() * ((1.0 - 2.0 / a) / denom.abs()).powf(1.0 / 3.0);
    (term1 - term2) / (2.0 / (9.0 * a)).sqrt()
}

/// Visits rows of a fitted model in reading order: the exact diagnostics of
/// its whitened residuals and Σ ln w of its weighted rows.
#[derive(Clone, Debug, Default)]
pub struct ResidualPass {
    moments: Moments,
    log_weights: Dd,
}

impl ResidualPass {
    /// Raw rows `[y, x1..xp]` row-major, with one weight per row when weighted.
    pub fn push_rows(&mut self, fit: &Fit, raw: &[f64], weights: Option<&[f64]>) {
        let width = fit.coefficients.len() + 1;
        for (i, row) in raw.chunks_exact(width).enumerate() {
            let w = weights.map_or(1.0, |w| w[i]);
            if w == 0.0 {
                continue;
            }
            let e = residual(fit, row);
            let e = if w == 1.0 { e.to_f64() } else { (e * Dd::from(w.sqrt())).to_f64() };
            self.moments.push(e);
            if weights.is_some() {
                self.log_weights = self.log_weights.add_f64(w.ln());
            }
        }
    }

    pub fn rows(&self) -> u64 {
        self.moments.count
    }

    pub fn diagnostics(&self) -> ResidualDiagnostics {
        self.moments.diagnostics(Source::Exact)
    }

    pub fn sum_log_weights(&self) -> f64 {
        self.log_weights.to_f64()
    }
}

/// Σ ln w over the rows of positive weight, summed in reading order.
#[derive(Clone, Debug, Default)]
pub struct LogWeights(Dd);

impl LogWeights {
    pub fn push(&mut self, weights: &[f64]) {
        for &w in weights {
            if w > 0.0 {
                self.0 = self.0.add_f64(w.ln());
            }
        }
    }

    pub fn sum(&self) -> f64 {
        self.0.to_f64()
    }

    pub fn encode(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.0.hi.to_le_bytes());
        out[8..].copy_from_slice(&self.0.lo.to_le_bytes());
        out
    }

    pub fn decode(input: &mut crate::segments::Reader<'_>) -> Result<LogWeights, CoreError> {
        Ok(LogWeights(Dd { hi: input.f64()?, lo: input.f64()? }))
    }
}

/// statsmodels' llf, aic and bic of a least-squares fit (OLS when
/// `weighted` is false; WLS needs Σ ln w, else they stay NaN). k, the
/// parameters counted, is the rank (df_model + the constant). Penalised and
/// constrained fits are left with NaN.
pub fn add_likelihood(fit: &mut Fit, weighted: bool, sum_log_weights: Option<f64>) {
    let s = &mut fit.statistics;
    (s.log_likelihood, s.aic, s.bic) = (f64::NAN, f64::NAN, f64::NAN);
    if !fit.estimator.is_least_squares() {
        return;
    }
    let n = s.n as f64;
    let half = n / 2.0;
    // WLS: −n/2·ln(SSR_w) − n/2·(1 + ln(π/(n/2))) + ½Σ ln w, which is the
    // OLS formula plus ½Σ ln w (so unit weights give OLS's bits).
    let sum_log_weights = match (weighted, sum_log_weights) {
        (false, _) => 0.0,
        (true, Some(sum)) => sum,
        (true, None) => return,
    };
    let llf = -half * ((2.0 * std::f64::consts::PI).ln() + (s.rss / n).ln() + 1.0) + 0.5 * sum_log_weights;
    let k = s.rank as f64;
    s.log_likelihood = llf;
    s.aic = -2.0 * llf + 2.0 * k;
    s.bic = -2.0 * llf + n.ln() * k;
}

/// A deterministic uniform sample of rows (Algorithm R): row i (0-based, in
/// reading order) replaces a kept row with probability capacity/(i+1), the
/// slot chosen by a hash of i and [`SAMPLE_SEED`] alone, so the sample is the
/// same for any chunking of the same rows.
#[derive(Clone, Debug)]
pub struct Reservoir {
    capacity: usize,
    width: usize,
    seen: u64,
    /// Row index of each kept row.
    index: Vec<u64>,
    raw: Vec<f64>,
    weights: Vec<f64>,
    /// Rows kept and seen at the last source boundary: what a checkpoint
    /// taken mid-source holds (see [`Self::encode`]).
    boundary_kept: usize,
    boundary_seen: u64,
}

impl Reservoir {
    /// A sample of rows of `width` raw values (label and features).
    pub fn new(width: usize) -> Self {
        let capacity = SAMPLE_ROWS.min(SAMPLE_VALUES / (width + 1));
        Reservoir { capacity, width, seen: 0, index: Vec::new(), raw: Vec::new(), weights: Vec::new(), boundary_kept: 0, boundary_seen: 0 }
    }

    /// A source ended: what a checkpoint holds from now on.
    pub fn mark_boundary(&mut self) {
        (self.boundary_kept, self.boundary_seen) = (self.index.len(), self.seen);
    }

    /// The sample as of the last source boundary, for a checkpoint: the rows
    /// kept then, some of them since replaced by rows read after it. Those
    /// rows are read again on resume and take the same slots again (a slot
    /// depends on the row index alone), so the resumed sample ends as the
    /// uninterrupted one does.
    pub fn encode(&self) -> Vec<u8> {
        let kept = self.boundary_kept;
        let weights = if self.weights.is_empty() { &[][..] } else { &self.weights[..kept] };
        let mut out = Vec::with_capacity(32 + 8 * (kept * (self.width + 2)));
        for value in [self.width as u64, self.boundary_seen, kept as u64, u64::from(!weights.is_empty())] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        self.index[..kept].iter().for_each(|i| out.extend_from_slice(&i.to_le_bytes()));
        self.raw[..kept * self.width].iter().chain(weights).for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        out
    }

    /// What [`Self::encode`] wrote, for a design of raw rows `width` wide.
    pub fn decode(input: &mut crate::segments::Reader<'_>, width: usize, from: &str) -> Result<Reservoir, CoreError> {
        let bad = |what: &str| CoreError::InvalidArgument(format!("{from} holds a row sample {what}"));
        let mut at = Reservoir::new(width);
        if input.u64()? != width as u64 {
            return Err(bad("of another width than the data"));
        }
        let seen = input.u64()?;
        let kept = input.u64()?;
        let weighted = input.u64()? == 1;
        if kept > at.capacity as u64
            || kept > seen
            || (kept as usize).saturating_mul(width + 1 + usize::from(weighted)).saturating_mul(8) > input.rest()
        {
            return Err(bad("that does not fit its own sizes"));
        }
        let kept = kept as usize;
        for _ in 0..kept {
            at.index.push(input.u64()?);
        }
        for _ in 0..kept * width {
            at.raw.push(input.f64()?);
        }
        for _ in 0..if weighted { kept } else { 0 } {
            at.weights.push(input.f64()?);
        }
        (at.seen, at.boundary_kept, at.boundary_seen) = (seen, kept, seen);
        Ok(at)
    }

    /// Raw rows, with their weights when weighted; rows of weight 0 are not the fit's and are skipped.
    pub fn push_rows(&mut self, raw: &[f64], weights: Option<&[f64]>) {
        for (i, row) in raw.chunks_exact(self.width).enumerate() {
            let w = weights.map(|w| w[i]);
            if w == Some(0.0) {
                continue;
            }
            let at = self.seen;
            self.seen += 1;
            let slot = if self.index.len() < self.capacity {
                self.index.push(at);
                self.raw.extend_from_slice(row);
                if let Some(w) = w {
                    self.weights.push(w);
                }
                continue;
            } else {
                let draw = splitmix64(SAMPLE_SEED ^ splitmix64(at));
                ((u128::from(draw) * u128::from(at + 1)) >> 64) as usize
            };
            if slot < self.capacity {
                self.index[slot] = at;
                self.raw[slot * self.width..(slot + 1) * self.width].copy_from_slice(row);
                if let Some(w) = w {
                    self.weights[slot] = w;
                }
            }
        }
    }

    /// The rows the sample was drawn from.
    pub fn rows(&self) -> u64 {
        self.seen
    }

    /// The kept rows in reading order, with `fit`'s predictions.
    pub fn sample(&self, fit: &Fit) -> Sample {
        let mut order: Vec<usize> = (0..self.index.len()).collect();
        order.sort_by_key(|&s| self.index[s]);
        let row = |s: usize| &self.raw[s * self.width..(s + 1) * self.width];
        Sample {
            seed: SAMPLE_SEED,
            rows: self.seen,
            index: order.iter().map(|&s| self.index[s]).collect(),
            actual: order.iter().map(|&s| row(s)[0]).collect(),
            fitted: order.iter().map(|&s| predict(fit, &row(s)[1..])).collect(),
            weights: (!self.weights.is_empty()).then(|| order.iter().map(|&s| self.weights[s]).collect()),
        }
    }

    /// Diagnostics estimated from the sample's whitened residuals under
    /// `fit`; exact when the sample holds every row and they are all the
    /// fit's rows (`whole`: one host).
    pub fn diagnostics(&self, fit: &Fit, whole: bool) -> ResidualDiagnostics {
        let mut order: Vec<usize> = (0..self.index.len()).collect();
        order.sort_by_key(|&s| self.index[s]);
        let mut moments = Moments::default();
        for s in order {
            let e = residual(fit, &self.raw[s * self.width..(s + 1) * self.width]);
            let w = self.weights.get(s).copied().unwrap_or(1.0);
            moments.push(if w == 1.0 { e.to_f64() } else { (e * Dd::from(w.sqrt())).to_f64() });
        }
        let every_row = whole && self.seen == self.index.len() as u64;
        if every_row {
            return moments.diagnostics(Source::Exact);
        }
        // The tests speak for the fit's rows (every host's, on several).
        moments.diagnostics_of(Source::Sample, fit.statistics.n)
    }
}

/// What a checkpoint keeps of the row sample and Σ ln w, as of the last
/// source boundary: a resumed job draws the same sample and sums as an
/// uninterrupted one.
#[derive(Clone, Debug, Default)]
pub struct SampleState {
    /// The pass under way gathers them.
    pub collect: bool,
    /// A finished pass gathered them.
    pub collected: bool,
    pub sample: Option<Reservoir>,
    pub log_weights: LogWeights,
}

impl SampleState {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![u8::from(self.collect), u8::from(self.collected), u8::from(self.sample.is_some())];
        if let Some(sample) = &self.sample {
            out.extend_from_slice(&sample.encode());
        }
        out.extend_from_slice(&self.log_weights.encode());
        out
    }

    /// What [`Self::encode`] wrote, for raw rows `width` wide.
    pub fn decode(bytes: &[u8], width: usize, from: &str) -> Result<SampleState, CoreError> {
        let mut input = crate::segments::Reader::new(bytes, from);
        let flags = input.take(3)?.to_vec();
        let sample = if flags[2] == 1 { Some(Reservoir::decode(&mut input, width, from)?) } else { None };
        let log_weights = LogWeights::decode(&mut input)?;
        if input.rest() != 0 {
            return Err(CoreError::InvalidArgument(format!("{from} has bytes after its row sample")));
        }
        Ok(SampleState { collect: flags[0] == 1, collected: flags[1] == 1, sample, log_weights })
    }
}

/// The sampled rows in reading order.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub seed: u64,
    /// Training rows (of weight > 0) the sample was drawn from.
    pub rows: u64,
    /// 0-based index of each kept row among those rows.
    pub index: Vec<u64>,
    pub actual: Vec<f64>,
    pub fitted: Vec<f64>,
    /// Null when unweighted.
    pub weights: Option<Vec<f64>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{fit_arrays, fit_weighted_arrays, FitOptions};
    use crate::testing::Lcg;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    /// Rows of 3 correlated features and skewed, autocorrelated noise.
    fn data(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut rng = Lcg::new(seed);
        let (mut x, mut y, mut w) = (Vec::new(), Vec::new(), Vec::new());
        let mut previous = 0.0;
        for _ in 0..n {
            let a = rng.normal();
            let row = [a, 5.0 + 0.6 * a + rng.normal(), -2.0 + rng.normal() - 0.3 * a];
            let noise = 0.5 * previous + (rng.uniform() * 3.0).exp() * 0.2;
            previous = noise;
            y.push(1.0 + row[0] - 2.0 * row[1] + 0.5 * row[2] + noise);
            x.extend(row);
            w.push(0.5 + rng.uniform() * 2.0);
        }
        (x, y, w)
    }

    /// The diagnostics as written in statsmodels/scipy, two passes in f64.
    fn textbook(e: &[f64]) -> (f64, f64, f64, f64) {
        let n = e.len() as f64;
        let mean = e.iter().sum::<f64>() / n;
        let m = |k: i32| e.iter().map(|v| (v - mean).powi(k)).sum::<f64>() / n;
        let (skew, kurtosis) = (m(3) / m(2).powf(1.5), m(4) / (m(2) * m(2)));
        let jb = n / 6.0 * (skew * skew + (kurtosis - 3.0).powi(2) / 4.0);
        let dw = e.windows(2).map(|p| (p[1] - p[0]).powi(2)).sum::<f64>() / e.iter().map(|v| v * v).sum::<f64>();
        (skew, kurtosis, jb, dw)
    }

    #[test]
    fn residual_diagnostics_and_likelihood_are_the_textbook_formulas() {
        let (x, y, w) = data(57, 3);
        for weighted in [false, true] {
            for intercept in [true, false] {
                let options = FitOptions { fit_intercept: intercept, ..FitOptions::default() };
                let fit = fit_weighted_arrays(&x, &y, weighted.then_some(&w[..]), 3, options, 1).unwrap();
                let e: Vec<f64> = (0..y.len())
                    .map(|i| {
                        let fitted = fit.intercept + (0..3).map(|j| fit.coefficients[j] * x[i * 3 + j]).sum::<f64>();
                        (y[i] - fitted) * if weighted { w[i].sqrt() } else { 1.0 }
                    })
                    .collect();
                let (skew, kurtosis, jb, dw) = textbook(&e);
                let d = fit.residuals.as_ref().unwrap();
                let case = format!("weighted {weighted}, intercept {intercept}");
                assert_eq!((d.source, d.rows), (Source::Exact, 57), "{case}");
                assert!(close(d.skew, skew, 1e-9), "{case}: skew {} vs {skew}", d.skew);
                assert!(close(d.kurtosis, kurtosis, 1e-11), "{case}: kurtosis {} vs {kurtosis}", d.kurtosis);
                assert!(close(d.jarque_bera, jb, 1e-9), "{case}: JB {} vs {jb}", d.jarque_bera);
                assert!(close(d.jarque_bera_p_value, (-jb / 2.0).exp(), 1e-9), "{case}");
                assert!(close(d.durbin_watson, dw, 1e-11), "{case}: DW {} vs {dw}", d.durbin_watson);
                let k2 = skew_z(skew, 57.0).powi(2) + kurtosis_z(kurtosis, 57.0).powi(2);
                assert!(close(d.omnibus, k2, 1e-8) && close(d.omnibus_p_value, (-k2 / 2.0).exp(), 1e-8), "{case}");
                // statsmodels' OLS.loglike and WLS.loglike, as written there.
                let (n, s) = (57.0f64, &fit.statistics);
                let ssr = e.iter().map(|v| v * v).sum::<f64>();
                let llf = if weighted {
                    let pi = std::f64::consts::PI;
                    -n / 2.0 * ssr.ln() - n / 2.0 * (1.0 + (pi / (n / 2.0)).ln()) + 0.5 * w.iter().map(|v| v.ln()).sum::<f64>()
                } else {
                    -n / 2.0 * (2.0 * std::f64::consts::PI).ln() - n / 2.0 * (ssr / n).ln() - n / 2.0
                };
                let k = 3.0 + f64::from(u8::from(intercept));
                assert!(close(s.log_likelihood, llf, 1e-12), "{case}: llf {} vs {llf}", s.log_likelihood);
                assert!(close(s.aic, -2.0 * llf + 2.0 * k, 1e-12) && close(s.bic, -2.0 * llf + n.ln() * k, 1e-12), "{case}");
            }
        }
    }

    #[test]
    fn the_normality_tests_match_scipy() {
        // scipy.stats.skewtest([1, .., 8]).statistic (skew 0) and
        // scipy.stats.kurtosistest(range(20)).statistic.
        assert!(close(skew_z(0.0, 8.0), 1.010_804_860_917_778_7, 1e-12), "{}", skew_z(0.0, 8.0));
        let mut moments = Moments::default();
        (0..20).for_each(|v| moments.push(f64::from(v)));
        let d = moments.diagnostics(Source::Sample);
        assert!(close(kurtosis_z(d.kurtosis, 20.0), -1.705_810_415_212_206_2, 1e-12), "{}", kurtosis_z(d.kurtosis, 20.0));
        assert!(d.durbin_watson.is_nan(), "no Durbin–Watson for a sample");
        // Fewer than 8 rows: no omnibus test, the rest is defined.
        let mut few = Moments::default();
        [1.0, 2.0, 4.0, 8.0].iter().for_each(|&v| few.push(v));
        let d = few.diagnostics(Source::Exact);
        assert!(d.omnibus.is_nan() && d.skew.is_finite() && d.durbin_watson.is_finite());
    }

    /// VIF_j = 1/(1 − R²_j) of the auxiliary regression of x_j on the other columns.
    fn auxiliary_vif(x: &[f64], weights: Option<&[f64]>, j: usize, intercept: bool) -> f64 {
        let n = x.len() / 3;
        let target: Vec<f64> = (0..n).map(|i| x[i * 3 + j]).collect();
        let others: Vec<f64> = (0..n).flat_map(|i| (0..3).filter(move |&c| c != j).map(move |c| x[i * 3 + c])).collect();
        let options = FitOptions { fit_intercept: intercept, ..FitOptions::default() };
        let aux = fit_weighted_arrays(&others, &target, weights, 2, options, 1).unwrap();
        1.0 / (1.0 - aux.statistics.r_squared)
    }

    #[test]
    fn vif_is_one_over_one_minus_the_auxiliary_r_squared() {
        let (x, y, w) = data(200, 5);
        for weights in [None, Some(&w[..])] {
            for intercept in [true, false] {
                let options = FitOptions { fit_intercept: intercept, ..FitOptions::default() };
                let fit = fit_weighted_arrays(&x, &y, weights, 3, options, 1).unwrap();
                for j in 0..3 {
                    let reference = auxiliary_vif(&x, weights, j, intercept);
                    let vif = fit.statistics.vif[j];
                    assert!(close(vif, reference, 1e-10), "feature {j}, weighted {}, intercept {intercept}: {vif} vs {reference}", weights.is_some());
                }
            }
        }
        // Units and offsets change nothing; an aliased feature has none.
        let shifted: Vec<f64> = x.iter().enumerate().map(|(k, v)| if k % 3 == 1 { 1e6 + 1e3 * v } else { *v }).collect();
        let (a, b) = (fit_arrays(&x, &y, 3, FitOptions::default(), 1).unwrap(), fit_arrays(&shifted, &y, 3, FitOptions::default(), 1).unwrap());
        for j in 0..3 {
            assert!(close(a.statistics.vif[j], b.statistics.vif[j], 1e-9));
        }
        let aliased: Vec<f64> = x.chunks(3).flat_map(|r| [r[0], r[1], r[0] + r[1]]).collect();
        let fit = fit_arrays(&aliased, &y, 3, FitOptions::default(), 1).unwrap();
        assert!(fit.statistics.vif[2].is_nan() && fit.statistics.vif[0].is_finite());
    }

    #[test]
    fn the_sample_is_uniform_sorted_and_chunking_free() {
        let width = 3;
        let rows: Vec<f64> = (0..30_000).flat_map(|i| [i as f64, 2.0 * i as f64, 1.0]).collect();
        let mut whole = Reservoir::new(width);
        whole.push_rows(&rows, None);
        let mut pieces = Reservoir::new(width);
        for piece in rows.chunks(width * 7) {
            pieces.push_rows(piece, None);
        }
        assert_eq!((whole.index.clone(), whole.raw.clone()), (pieces.index.clone(), pieces.raw.clone()));
        let fit = fit_arrays(&[0.0, 1.0, 2.0, 3.0], &[0.0, 1.0, 2.0, 3.0], 1, FitOptions::default(), 1).unwrap();
        let mut two = Reservoir::new(2);
        let raw: Vec<f64> = (0..30_000).flat_map(|i| [i as f64, i as f64]).collect();
        two.push_rows(&raw, None);
        let sample = two.sample(&fit);
        assert_eq!((sample.rows, sample.actual.len(), sample.seed), (30_000, SAMPLE_ROWS, SAMPLE_SEED));
        assert!(sample.index.windows(2).all(|p| p[0] < p[1]), "in reading order");
        assert!(sample.actual.iter().zip(&sample.fitted).all(|(a, f)| (a - f).abs() < 1e-9));
        // Uniform: each sixth of the rows holds about a sixth of the sample.
        for sixth in 0..6 {
            let count = sample.index.iter().filter(|&&i| i / 5_000 == sixth).count();
            assert!((700..=967).contains(&count), "sixth {sixth} holds {count}");
        }
        // Wide rows: at most 2^22 values.
        assert_eq!(Reservoir::new(9_999).capacity, SAMPLE_VALUES / 10_000);
        // Rows of weight 0 are not drawn.
        let mut weighted = Reservoir::new(2);
        weighted.push_rows(&[1.0, 1.0, 2.0, 2.0, 3.0, 3.0], Some(&[1.0, 0.0, 4.0]));
        let sample = weighted.sample(&fit);
        assert_eq!((sample.rows, sample.actual, sample.weights), (2, vec![1.0, 3.0], Some(vec![1.0, 4.0])));
    }
}
