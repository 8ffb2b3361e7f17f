//! k-fold cross-validation without a second pass: row i (0-based, in the
//! order rows arrive) belongs to fold i mod k, and each fold keeps its own
//! TSQR factor, so memory is k·O(p²) whatever the row count. The fit without
//! fold f is the merge of the other factors; fold f's held-out error comes
//! from its own factor, since ‖R_f·[β; −1]‖² is the residual sum of squares
//! of its rows for any parameters β.
//!
//! Every fold uses one shift, taken from the first block of the data as a
//! whole (as a plain [`Accumulator`] takes it), so the factors are of one
//! basis and merge, and [`Folds::all`] is the factor of all the data.

use crate::accumulate::{on_threads, Accumulator, Design, Factor, Shift, BLOCK_ROWS};
use crate::dd::Dd;
use crate::error::CoreError;
use crate::solve::Fit;

/// Values a fold collects before its accumulator folds them: enough whole
/// blocks that threads start seldom, few enough that k batches stay small
/// beside the factors.
const BATCH_VALUES: usize = 1 << 16;

/// Rows -> one factor per fold. The folds fill their batches together (rows
/// are dealt in turn) and fold them in parallel, threads over folds. Each
/// fold's [`Accumulator`] is bit-identical however its rows were chunked and
/// however many threads did the work, so the folds are too.
pub struct FoldAccumulator {
    design: Design,
    folds: usize,
    threads: usize,
    /// The first block of rows of positive weight, held until the shift is known.
    first: Vec<f64>,
    /// Their weights (weighted folds only).
    first_weights: Vec<f64>,
    /// One per fold, once the shift is known.
    accumulators: Vec<Accumulator<f64>>,
    /// Rows dealt to each fold and not yet folded, and their weights (weighted folds only).
    dealt: Vec<Vec<f64>>,
    dealt_weights: Vec<Vec<f64>>,
    weighted: bool,
    batch_len: usize,
    /// The fold of the next row.
    next: usize,
    /// Rows dealt so far (the first block counts once it is dealt).
    rows: u64,
}

impl FoldAccumulator {
    pub fn new(design: Design, folds: usize, threads: usize) -> Result<Self, CoreError> {
        if folds < 2 {
            return Err(CoreError::InvalidArgument(format!("cross-validation needs at least 2 folds, got {folds}")));
        }
        if design.parameters() == 0 {
            return Err(CoreError::InvalidArgument("no features and no intercept: there is nothing to fit".into()));
        }
        let width = design.width();
        let block = BLOCK_ROWS * width;
        Ok(FoldAccumulator {
            design,
            folds,
            threads,
            first: Vec::with_capacity(BLOCK_ROWS * width),
            first_weights: Vec::new(),
            accumulators: Vec::new(),
            dealt: vec![Vec::new(); folds],
            dealt_weights: vec![Vec::new(); folds],
            weighted: false,
            batch_len: block * (BATCH_VALUES / block).max(1),
            next: 0,
            rows: 0,
        })
    }

    /// Deals raw rows (row-major, `design.width()` values each) to their folds.
    #[track_caller]
    pub fn push_rows(&mut self, raw: &[f64]) {
        self.push(raw, None);
    }

    /// [`Self::push_rows`] of weighted rows (weights finite and >= 0). A row of
    /// weight 0 still takes its turn (row i is in fold i mod k whatever the
    /// weights) but is folded nowhere. Call one of the two throughout.
    #[track_caller]
    pub fn push_weighted_rows(&mut self, raw: &[f64], weights: &[f64]) {
        assert_eq!(raw.len(), weights.len() * self.design.width(), "one weight per whole raw row");
        self.weighted = true;
        self.push(raw, Some(weights));
    }

    fn push(&mut self, mut raw: &[f64], mut weights: Option<&[f64]>) {
        let width = self.design.width();
        assert_eq!(raw.len() % width, 0, "raw rows must be whole");
        if self.accumulators.is_empty() {
            // Rows are dealt (and take their turns) only once the shift is
            // known, so the first block waits here whole, zero weights too.
            let take = (BLOCK_ROWS * width - self.first.len()).min(raw.len());
            self.first.extend_from_slice(&raw[..take]);
            if let Some(w) = weights {
                self.first_weights.extend_from_slice(&w[..take / width]);
                weights = Some(&w[take / width..]);
            }
            raw = &raw[take..];
            if self.first.len() < BLOCK_ROWS * width {
                return;
            }
            self.start();
        }
        self.deal(raw, weights);
    }

    /// Takes the shift from the rows held so far (those of positive weight) and deals them.
    fn start(&mut self) {
        let width = self.design.width();
        let counted: Vec<f64> = if self.weighted {
            self.first.chunks_exact(width).zip(&self.first_weights).filter(|(_, &w)| w > 0.0).flat_map(|(row, _)| row.iter().copied()).collect()
        } else {
            self.first.clone()
        };
        let shift = if counted.is_empty() { Shift::from_first_rows(self.design, &self.first) } else { Shift::from_first_rows(self.design, &counted) };
        // Threads go to folds first; a fold gets more only when they outnumber the folds.
        let each = (self.threads / self.folds).max(1);
        self.accumulators = (0..self.folds).map(|_| Accumulator::with_shift(self.design, each, shift.clone())).collect();
        let first = std::mem::take(&mut self.first);
        let first_weights = std::mem::take(&mut self.first_weights);
        self.deal(&first, self.weighted.then_some(&first_weights[..]));
    }

    fn deal(&mut self, raw: &[f64], weights: Option<&[f64]>) {
        let width = self.design.width();
        for (i, row) in raw.chunks_exact(width).enumerate() {
            self.dealt[self.next].extend_from_slice(row);
            if let Some(w) = weights {
                self.dealt_weights[self.next].push(w[i]);
            }
            self.next += 1;
            // After a whole turn every fold holds as many rows as fold 0.
            if self.next == self.folds {
                self.next = 0;
                if self.dealt[0].len() >= self.batch_len {
                    self.fold_dealt();
                }
            }
        }
        self.rows += (raw.len() / width) as u64;
    }

    /// Folds every fold's dealt rows into its accumulator, folds spread over the threads.
    fn fold_dealt(&mut self) {
        let threads = self.threads.clamp(1, self.folds);
        type Work<'a> = (&'a mut Accumulator<f64>, (&'a mut Vec<f64>, &'a mut Vec<f64>));
        let mut groups: Vec<Vec<Work>> = (0..threads).map(|_| Vec::new()).collect();
        for (f, pair) in self.accumulators.iter_mut().zip(self.dealt.iter_mut().zip(self.dealt_weights.iter_mut())).enumerate() {
            groups[f % threads].push(pair);
        }
        let weighted = self.weighted;
        let work = |group: Vec<Work>| {
            for (acc, (rows, weights)) in group {
                if weighted {
                    acc.push_weighted_rows(rows, weights);
                } else {
                    acc.push_rows(rows);
                }
                rows.clear();
                weights.clear();
            }
        };
        on_threads(groups, work);
    }

    /// The folds' factors; refused when a fold is empty or a training set
    /// (all rows but one fold's) has fewer rows than parameters.
    pub fn finish(mut self) -> Result<Folds, CoreError> {
        let (k, parameters) = (self.folds, self.design.parameters());
        let rows = self.rows + (self.first.len() / self.design.width()) as u64;
        if rows < k as u64 {
            return Err(CoreError::InvalidArgument(format!(
                "{k}-fold cross-validation needs at least {k} rows (row i is held out in fold i mod {k}), got {rows}; use fewer folds"
            )));
        }
        // Fold 0 is the largest, so its training set is the smallest.
        let smallest_training = rows - rows.div_ceil(k as u64);
        if smallest_training < parameters as u64 {
            return Err(CoreError::TooFewRows { rows: smallest_training, parameters });
        }
        if self.accumulators.is_empty() {
            self.start();
        }
        self.fold_dealt();
        let factors: Vec<Factor<f64>> = self.accumulators.into_iter().map(Accumulator::finish).collect();
        if let Some(f) = factors.iter().position(|factor| factor.weight <= 0.0) {
            return Err(CoreError::InvalidArgument(format!(
                "fold {f} of the {k}-fold cross-validation holds only rows of weight 0 (row i is in fold i mod {k}), so it cannot be scored; \
                 use another cv_folds or drop the rows of weight 0"
            )));
        }
        Ok(Folds { factors })
    }
}

/// One factor per fold, all of one shift.
#[derive(Clone, Debug)]
pub struct Folds {
    factors: Vec<Factor<f64>>,
}

impl Folds {
    pub fn count(&self) -> usize {
        self.factors.len()
    }

    pub fn design(&self) -> Design {
        self.factors[0].design
    }

    /// The factor of fold f's rows alone.
    pub fn fold(&self, f: usize) -> &Factor<f64> {
        &self.factors[f]
    }

    /// The factor of all the rows: every fold merged in ascending order.
    pub fn all(&self) -> Factor<f64> {
        self.merge(None)
    }

    /// The training factor of fold f: every other fold merged in ascending order.
    #[track_caller]
    pub fn without(&self, f: usize) -> Factor<f64> {
        assert!(f < self.count(), "fold {f} of {}", self.count());
        self.merge(Some(f))
    }

    fn merge(&self, skip: Option<usize>) -> Factor<f64> {
        let mut kept = self.factors.iter().enumerate().filter(|&(g, _)| Some(g) != skip).map(|(_, factor)| factor);
        let mut merged = kept.next().expect("at least two folds").clone();
        for factor in kept {
            merged.triangle.merge(&factor.triangle);
            merged.rows += factor.rows;
            merged.weight += factor.weight;
        }
        merged
    }

    /// (Weighted) mean squared error of `fit` on fold f's rows, in the label's units,
    /// from the fold's factor alone: with β the fit's parameters in the
    /// factor's shifted, scaled basis, ‖R_f·[β; −1]‖² / s0² is the sum of
    /// squared residuals. `fit` may be of any factor of the same design: a
    /// centre other than the folds' is re-based exactly.
    #[track_caller]
    pub fn held_out_mse(&self, f: usize, fit: &Fit) -> f64 {
        let factor = &self.factors[f];
        let design = factor.design;
        assert_eq!(fit.design, design, "the fit is of another design than the folds");
        let (center, scale) = (&factor.shift.center, &factor.shift.scale);
        let label_scale = scale[0];
        let mut beta = Vec::with_capacity(design.columns());
        if design.fit_intercept {
            // ŷ − c0 = (c0' − c0) + b0' + Σ b_j ((x_j − c_j) + (c_j − c_j')), with ' the fit's centre.
            let mut intercept = Dd::difference(fit.center_label, center[0]).add_f64(fit.centered_intercept);
            for (j, &b) in fit.coefficients.iter().enumerate() {
                intercept += Dd::from(b) * Dd::difference(center[j + 1], fit.center[j]);
            }
            beta.push(intercept.to_f64() * label_scale);
        }
        // Scales are powers of two: moving a slope to the scaled basis is exact.
        beta.extend(fit.coefficients.iter().enumerate().map(|(j, &b)| b * label_scale / scale[j + 1]));
        beta.push(-1.0);
        let r = &factor.triangle;
        let mut squares = 0.0f64;
        for i in 0..beta.len() {
            let residual = (i..beta.len()).fold(0.0f64, |s, j| r.get(i, j).mul_add(beta[j], s));
            squares = residual.mul_add(residual, squares);
        }
        let unscale = 1.0 / label_scale;
        // Σw·r² / Σw: the weighted mse, the plain one when unweighted.
        squares * unscale * unscale / factor.weight
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fit::{fit_arrays, FitOptions};
    use crate::solve::{solve, Precision};
    use crate::testing::Lcg;

    /// Raw rows `[y, x1..xp]`: features of different spreads (and offsets,
    /// when `offset`: a fit without an intercept would not fit them), a
    /// linear label with unit noise.
    pub(crate) fn rows(n: usize, p: usize, seed: u64, offset: bool) -> Vec<f64> {
        let mut rng = Lcg::new(seed);
        let (offsets, spreads, slopes) = ([0.0, 5.0, -100.0, 1000.0], [1.0, 0.01, 30.0, 2.0], [0.5, 80.0, -0.02, 1.5]);
        let on = if offset { 1.0 } else { 0.0 };
        let mut raw = Vec::with_capacity(n * (p + 1));
        for _ in 0..n {
            let x: Vec<f64> = (0..p).map(|j| on * offsets[j % 4] + spreads[j % 4] * rng.normal()).collect();
            raw.push(3.0 * on + x.iter().enumerate().map(|(j, v)| slopes[j % 4] * v).sum::<f64>() + rng.normal());
            raw.extend_from_slice(&x);
        }
        raw
    }

    fn folds_in_pieces(raw: &[f64], design: Design, k: usize, piece_rows: usize, threads: usize) -> Result<Folds, CoreError> {
        let mut acc = FoldAccumulator::new(design, k, threads)?;
        for piece in raw.chunks(piece_rows * design.width()) {
            acc.push_rows(piece);
        }
        acc.finish()
    }

    fn gram(factor: &Factor<f64>) -> Vec<f64> {
        let (t, k) = (&factor.triangle, factor.design.columns());
        (0..k * k).map(|e| (0..k).map(|i| t.get(i, e / k) * t.get(i, e % k)).sum()).collect()
    }

    /// A linear predictor about a centre: y = c0 + b0 + Σ b_j (x_j − c_j).
    pub(crate) struct Line {
        center_label: f64,
        centered_intercept: f64,
        center: Vec<f64>,
        coefficients: Vec<f64>,
    }

    impl Line {
        fn of(fit: &Fit) -> Line {
            Line {
                center_label: fit.center_label,
                centered_intercept: fit.centered_intercept,
                center: fit.center.clone(),
                coefficients: fit.coefficients.clone(),
            }
        }

        fn intercept(&self) -> f64 {
            self.center_label + self.centered_intercept - self.coefficients.iter().zip(&self.center).map(|(b, c)| b * c).sum::<f64>()
        }
    }

    /// Ridge of the rows `keep` selects, by the normal equations of the
    /// columns centred (with an intercept) and brought to unit norm, so they
    /// are well conditioned; about the rows' means.
    pub(crate) fn direct_ridge(raw: &[f64], design: Design, keep: impl Fn(usize) -> bool, l2: f64) -> Line {
        let (p, width) = (design.features, design.width());
        let kept: Vec<&[f64]> = raw.chunks_exact(width).enumerate().filter(|&(i, _)| keep(i)).map(|(_, row)| row).collect();
        let n = kept.len() as f64;
        let mean = |c: usize| {
            if !design.fit_intercept {
                return 0.0;
            }
            let rough = kept.iter().map(|row| row[c]).sum::<f64>() / n;
            rough + kept.iter().map(|row| row[c] - rough).sum::<f64>() / n
        };
        let means: Vec<f64> = (0..width).map(mean).collect();
        let norms: Vec<f64> = (1..width).map(|c| kept.iter().map(|row| (row[c] - means[c]).powi(2)).sum::<f64>().sqrt()).collect();
        let z = |row: &[f64], j: usize| (row[j + 1] - means[j + 1]) / norms[j];
        let mut a = vec![0.0; p * p];
        let mut rhs = vec![0.0; p];
        for row in &kept {
            for i in 0..p {
                rhs[i] += z(row, i) * (row[0] - means[0]);
                for j in 0..p {
                    a[i * p + j] += z(row, i) * z(row, j);
                }
            }
        }
        // ‖b‖² = Σ (b_z,j / norm_j)².
        for j in 0..p {
            a[j * p + j] += l2 / (norms[j] * norms[j]);
        }
        let coefficients = cholesky_solve(&a, &rhs, p).iter().zip(&norms).map(|(b, norm)| b / norm).collect();
        Line { center_label: means[0], centered_intercept: 0.0, center: means[1..].to_vec(), coefficients }
    }

    /// The lower Cholesky factor of the symmetric positive definite `a` (p x p, row-major).
    pub(crate) fn cholesky(a: &[f64], p: usize) -> Vec<f64> {
        let mut l = vec![0.0; p * p];
        for i in 0..p {
            for j in 0..=i {
                let s = a[i * p + j] - (0..j).map(|c| l[i * p + c] * l[j * p + c]).sum::<f64>();
                l[i * p + j] = if i == j { s.sqrt() } else { s / l[j * p + j] };
            }
        }
        l
    }

    fn cholesky_solve(a: &[f64], b: &[f64], p: usize) -> Vec<f64> {
        let l = cholesky(a, p);
        let mut w = vec![0.0; p];
        for i in 0..p {
            w[i] = (b[i] - (0..i).map(|c| l[i * p + c] * w[c]).sum::<f64>()) / l[i * p + i];
        }
        let mut x = vec![0.0; p];
        for i in (0..p).rev() {
            x[i] = (w[i] - ((i + 1)..p).map(|c| l[c * p + i] * x[c]).sum::<f64>()) / l[i * p + i];
        }
        x
    }

    /// Mean squared residual of the rows `keep` selects, each residual
    /// written about the line's centre so no offset cancels.
    pub(crate) fn direct_mse(raw: &[f64], design: Design, keep: impl Fn(usize) -> bool, fit: &Line) -> f64 {
        let rows: Vec<&[f64]> = raw.chunks_exact(design.width()).enumerate().filter(|&(i, _)| keep(i)).map(|(_, row)| row).collect();
        let squares: f64 = rows
            .iter()
            .map(|row| {
                let fitted = fit.coefficients.iter().enumerate().map(|(j, b)| b * (row[j + 1] - fit.center[j])).sum::<f64>();
                ((row[0] - fit.center_label) - fit.centered_intercept - fitted).powi(2)
            })
            .sum();
        squares / rows.len() as f64
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * a.abs().max(b.abs())
    }

    #[test]
    fn identical_bits_for_any_piece_size_and_thread_count() {
        let design = Design { features: 4, fit_intercept: true };
        // Past k batches, so folds are pushed to their accumulators before the end.
        let raw = rows(40_000, 4, 3, true);
        for k in [2, 3, 10] {
            let reference = folds_in_pieces(&raw, design, k, 40_000, 1).unwrap();
            for &(piece, threads) in &[(1, 1), (7, 2), (255, 2), (256, 3), (1000, 4), (39_999, 2)] {
                let other = folds_in_pieces(&raw, design, k, piece, threads).unwrap();
                for f in 0..k {
                    assert_eq!(other.fold(f).rows, reference.fold(f).rows);
                    assert_eq!(other.fold(f).shift, reference.fold(f).shift);
                    assert_eq!(other.fold(f).triangle.entries(), reference.fold(f).triangle.entries(), "k {k}, piece {piece}, threads {threads}");
                }
            }
        }
    }

    #[test]
    fn all_is_the_factor_of_every_row() {
        for (n, k, fit_intercept) in [(3000, 2, true), (3000, 10, false), (100, 10, true)] {
            let design = Design { features: 4, fit_intercept };
            let raw = rows(n, 4, 5, fit_intercept);
            let folds = folds_in_pieces(&raw, design, k, 333, 2).unwrap();
            let mut plain = Accumulator::<f64>::new(design, 2);
            plain.push_rows(&raw);
            let (plain, all) = (plain.finish(), folds.all());
            assert_eq!((all.rows, &all.shift), (plain.rows, &plain.shift));
            let (g1, g2) = (gram(&plain), gram(&all));
            let largest = g1.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (a, b) in g1.iter().zip(&g2) {
                assert!((a - b).abs() <= 1e-13 * largest, "{a} vs {b} (n {n}, k {k})");
            }
            assert_eq!(folds.fold(k - 1).rows, (n / k) as u64);
        }
    }

    #[test]
    fn without_a_fold_solves_to_the_direct_fit_of_the_other_rows() {
        for (k, fit_intercept) in [(2, true), (10, true), (10, false)] {
            let design = Design { features: 4, fit_intercept };
            let raw = rows(2000, 4, 7, fit_intercept);
            let folds = folds_in_pieces(&raw, design, k, 500, 1).unwrap();
            for f in [0, k - 1] {
                for l2 in [0.0, 3.0, 1e4] {
                    let fit = solve(&folds.without(f), l2, Precision::Double).unwrap();
                    let direct = direct_ridge(&raw, design, |i| i % k != f, l2);
                    assert_eq!(fit.statistics.n, (2000 - 2000 / k) as u64);
                    let intercept = direct.intercept();
                    assert!((fit.intercept - intercept).abs() <= 1e-12 * intercept.abs().max(1.0), "{} vs {intercept}", fit.intercept);
                    for (a, b) in fit.coefficients.iter().zip(&direct.coefficients) {
                        assert!(close(*a, *b, 1e-12), "k {k}, fold {f}, l2 {l2}: {a} vs {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn held_out_mse_is_the_mean_squared_residual_of_the_fold() {
        for (k, fit_intercept) in [(2, true), (10, true), (10, false)] {
            let design = Design { features: 4, fit_intercept };
            let raw = rows(2000, 4, 9, fit_intercept);
            let folds = folds_in_pieces(&raw, design, k, 2000, 1).unwrap();
            for f in 0..k {
                for l2 in [0.0, 50.0] {
                    let fit = solve(&folds.without(f), l2, Precision::Double).unwrap();
                    let (folded, direct) = (folds.held_out_mse(f, &fit), direct_mse(&raw, design, |i| i % k == f, &Line::of(&fit)));
                    assert!(close(folded, direct, 1e-12), "k {k}, fold {f}, l2 {l2}: {folded} vs {direct}");
                }
            }
        }
        // A fit about another centre (its first row is row 1 here, not row 0).
        let design = Design { features: 4, fit_intercept: true };
        let raw = rows(500, 4, 11, true);
        let folds = folds_in_pieces(&raw, design, 5, 500, 1).unwrap();
        let tail = &raw[design.width()..];
        let y: Vec<f64> = tail.chunks_exact(5).map(|row| row[0]).collect();
        let x: Vec<f64> = tail.chunks_exact(5).flat_map(|row| row[1..].to_vec()).collect();
        let fit = fit_arrays(&x, &y, 4, FitOptions::default(), 1).unwrap();
        assert_ne!(fit.center, folds.fold(0).shift.center[1..]);
        let (folded, direct) = (folds.held_out_mse(2, &fit), direct_mse(&raw, design, |i| i % 5 == 2, &Line::of(&fit)));
        assert!(close(folded, direct, 1e-12), "{folded} vs {direct}");
    }

    #[test]
    fn too_few_rows_or_folds_are_refused() {
        let design = Design { features: 4, fit_intercept: true };
        let refusal = |n: usize, k: usize| folds_in_pieces(&rows(n, 4, 1, true), design, k, 3, 1).unwrap_err();
        assert!(matches!(refusal(4, 5), CoreError::InvalidArgument(m) if m.contains("at least 5 rows")));
        assert!(matches!(refusal(0, 2), CoreError::InvalidArgument(_)));
        assert!(matches!(refusal(10, 1), CoreError::InvalidArgument(m) if m.contains("at least 2 folds")));
        // Fold 0 holds 5 of 9 rows: 4 are left to fit 5 parameters.
        assert_eq!(refusal(9, 2), CoreError::TooFewRows { rows: 4, parameters: 5 });
        assert!(folds_in_pieces(&rows(10, 4, 1, true), design, 2, 3, 1).is_ok());
        let nothing = Design { features: 0, fit_intercept: false };
        assert!(matches!(FoldAccumulator::new(nothing, 2, 1), Err(CoreError::InvalidArgument(_))));
    }

    /// `cargo test -p linear_core --release -- --ignored --nocapture fold_accumulation_speed`
    #[test]
    #[ignore]
    fn fold_accumulation_speed() {
        let (n, p, k) = (1_000_000, 10, 5);
        let design = Design { features: p, fit_intercept: true };
        let raw = rows(n, p, 13, true);
        let piece = 1 << 14;
        // Best of three: the machine is shared.
        let best = |work: &mut dyn FnMut()| {
            (0..3)
                .map(|_| {
                    let start = std::time::Instant::now();
                    work();
                    start.elapsed()
                })
                .min()
                .unwrap()
        };
        for threads in [1, 2] {
            let plain_time = best(&mut || {
                let mut plain = Accumulator::<f64>::new(design, threads);
                raw.chunks(piece * design.width()).for_each(|chunk| plain.push_rows(chunk));
                assert_eq!(plain.finish().rows, n as u64);
            });
            let folds_time = best(&mut || assert_eq!(folds_in_pieces(&raw, design, k, piece, threads).unwrap().all().rows, n as u64));
            let folds = folds_in_pieces(&raw, design, k, piece, threads).unwrap();
            let grid = crate::cv::ridge_grid(&folds.all());
            let cv_time = best(&mut || assert!(crate::cv::ridge_cv(&folds, &grid).is_ok()));
            println!(
                "n {n}, p {p}, k {k}, threads {threads}: plain accumulator {plain_time:?}, folds {folds_time:?}, ridge_cv of {} values {cv_time:?}",
                grid.len()
            );
        }
    }
}
