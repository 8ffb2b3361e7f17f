//! Rows -> factor. Raw rows are laid out as CSV has them, `[label, x1..xp]`;
//! the factor is of the design `[1, x1 - c1, .., xp - cp, y - c0]` (intercept
//! column only when fitted), where `c` is the first row. With an intercept
//! the shift changes no slope, and it keeps offset features (timestamps near
//! 1e9) as well conditioned as centred ones. The extended pass holds each
//! shifted value exactly (a double-double difference), so it solves the data
//! as given, not a rounded copy.
//!
//! Each shifted column is also multiplied by a power of two (exact) chosen
//! from the first block of rows, so its values are near 1 whatever its units:
//! squares of values near 1e200 do not overflow, values near 1e-200 do not
//! underflow, and a column is never judged aliased for being small. `solve`
//! maps the results back to the units of the data.
//!
//! Weighted least squares (minimise Σ w·r²) whitens each row, intercept
//! included, by √w: rows of weight 0 are dropped before blocking (they are not
//! counted), and the center is the first row of positive weight. √w is rounded
//! to f64 once per row, the same in both passes, so the problem solved is that
//! of weights fl(√w)²: a relative change of at most 2⁻⁵², none for weights
//! whose roots are doubles (1, 4, 0.25, ...).
//!
//! Rows are cut into fixed blocks numbered from the first row of their
//! segment (a source: see [`crate::segments`]); block b goes to lane
//! b mod L, lanes merge in a fixed order at the segment's end, and
//! segments merge in the order of their names. L depends on the width of
//! the design alone (see [`lanes`]), never on the threads, so the result is
//! bit-identical however the bytes were chunked, however many threads did
//! the work and however the sources were spread over hosts, while up to L
//! threads share the work.

use crate::scalar::Scalar;
use crate::segments::{Reduction, Segment};
use crate::tsqr::{Triangle, WIDE_COLUMNS};

pub const BLOCK_ROWS: usize = 256;

/// Enough lanes for the cores of the largest training instances.
const MAX_LANES: usize = 64;
/// What one accumulator's lanes may take before a wider design gets fewer.
const LANE_BYTES: u64 = 32 << 20;

/// The lanes of an accumulator for `design`: as many as fit [`LANE_BYTES`]
/// in double-double triangles (the larger of the two passes' kinds, so both
/// passes deal blocks alike), at most [`MAX_LANES`]: 64 up to about 180
/// features, 8 just below [`WIDE_COLUMNS`] columns. A wider design has one:
/// merging two of its lanes costs about as much as folding k rows, more than
/// data a few times k rows long is worth, and its threads share each block's
/// update instead (see [`crate::tsqr::blocked`]).
pub fn lanes(design: Design) -> usize {
    let k = design.columns() as u64;
    if design.columns() >= WIDE_COLUMNS {
        return 1;
    }
    let triangle = k * k * 16;
    (LANE_BYTES / triangle).min(MAX_LANES as u64) as usize
}

/// The shape of the problem: `features` columns after the label.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Design {
    pub features: usize,
    pub fit_intercept: bool,
}

impl Design {
    /// Raw values per row: label plus features.
    pub fn width(&self) -> usize {
        self.features + 1
    }

    /// Parameters: features plus the intercept when fitted.
    pub fn parameters(&self) -> usize {
        self.features + usize::from(self.fit_intercept)
    }

    /// Columns of the factored matrix: parameters plus the label.
    pub fn columns(&self) -> usize {
        self.parameters() + 1
    }
}

/// How raw values become design values: `(v - center) * scale`, both in the
/// raw layout `[label, x1..xp]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Shift {
    /// The first row with an intercept (exact for offset features); zeros without.
    pub center: Vec<f64>,
    /// Powers of two, one per raw column, that bring its shifted values near 1.
    pub scale: Vec<f64>,
}

impl Shift {
    /// From the first rows of the data (at most one block): the first row as
    /// the center, and for each column the power of two nearest below the
    /// reciprocal of its largest shifted magnitude (of its center when the
    /// column is constant there; 1 for a column of zeros).
    pub fn from_first_rows(design: Design, raw: &[f64]) -> Shift {
        let width = design.width();
        let center = if design.fit_intercept { raw[..width].to_vec() } else { vec![0.0; width] };
        let scale = (0..width)
            .map(|c| {
                let largest = raw.iter().skip(c).step_by(width).fold(0.0f64, |m, &v| m.max((v - center[c]).abs()));
                let magnitude = if largest > 0.0 { largest } else { center[c].abs() };
                if magnitude > 0.0 && magnitude.is_finite() {
                    power_of_two_at_most(1.0 / magnitude)
                } else {
                    1.0
                }
            })
            .collect();
        Shift { center, scale }
    }
}

/// The largest power of two not above `x` (a positive normal number, or
/// infinity when 1/magnitude overflowed: then the largest finite power).
fn power_of_two_at_most(x: f64) -> f64 {
    if !x.is_finite() {
        return f64::from_bits(0x7FE0_0000_0000_0000);
    }
    if x < f64::MIN_POSITIVE {
        return f64::MIN_POSITIVE;
    }
    f64::from_bits(x.to_bits() & 0x7FF0_0000_0000_0000)
}

/// What accumulation leaves: enough to solve, whatever the row count.
#[derive(Clone, Debug)]
pub struct Factor<T> {
    pub design: Design,
    pub triangle: Triangle<T>,
    pub rows: u64,
    /// Σ w of the rows, each weight as folded (fl(√w)²); `rows` when unweighted.
    /// Penalties on a mean loss (the elastic net's) and weighted mses divide by it.
    pub weight: f64,
    pub shift: Shift,
}

pub struct Accumulator<T> {
    design: Design,
    shift: Option<Shift>,
    lanes: Vec<Triangle<T>>,
    pending: Vec<f64>,
    /// √w of each pending row (1 for rows pushed without weights).
    pending_roots: Vec<f64>,
    /// A weighted push's rows of positive weight, and their √w.
    positive: Vec<f64>,
    roots: Vec<f64>,
    /// Blocks of the current segment so far.
    blocks: u64,
    /// Rows folded in, all segments.
    rows: u64,
    /// Rows and Σ w of the current segment.
    segment_rows: u64,
    segment_weight: f64,
    /// The segments ended so far, merged in order...
    reduction: Reduction<T>,
    /// ...or kept apart, to be sent to the host that merges them.
    kept: Option<Vec<Segment<T>>>,
    threads: usize,
}

impl<T: Scalar> Accumulator<T> {
    pub fn new(design: Design, threads: usize) -> Self {
        Accumulator {
            design,
            shift: None,
            lanes: Self::fresh_lanes(design, lanes(design)),
            pending: Vec::with_capacity(BLOCK_ROWS * design.width()),
            pending_roots: Vec::with_capacity(BLOCK_ROWS),
            positive: Vec::new(),
            roots: Vec::new(),
            blocks: 0,
            rows: 0,
            segment_rows: 0,
            segment_weight: 0.0,
            reduction: Reduction::default(),
            kept: None,
            threads: threads.max(1),
        }
    }

    fn fresh_lanes(design: Design, count: usize) -> Vec<Triangle<T>> {
        (0..count).map(|_| Triangle::zeros(design.columns())).collect()
    }

    /// Starts from a known shift (a second pass must use the first one's).
    pub fn with_shift(design: Design, threads: usize, shift: Shift) -> Self {
        let mut acc = Self::new(design, threads);
        acc.shift = Some(shift);
        acc
    }

    /// Ended segments are kept apart (see [`Self::take_segments`]) instead of merged.
    pub fn keep_segments(&mut self) {
        self.kept = Some(Vec::new());
    }

    /// The segments with rows ended since [`Self::keep_segments`], in the order they ended.
    pub fn segments(&self) -> &[Segment<T>] {
        self.kept.as_deref().unwrap_or_default()
    }

    /// The segments ended so far, as a checkpoint keeps them: those kept
    /// apart, or their merge as one.
    pub fn ended(&self) -> Vec<Segment<T>> {
        match &self.kept {
            Some(kept) => kept.clone(),
            None => {
                let merged = self.reduction.triangle.clone();
                merged
                    .map(|triangle| Segment { name: String::new(), rows: self.reduction.rows, weight: self.reduction.weight, triangle })
                    .into_iter()
                    .collect()
            }
        }
    }

    /// An accumulator that has ended `segments` (from [`Self::ended`]) in
    /// `shift`'s basis: the next rows start the next segment.
    pub fn resumed(design: Design, threads: usize, shift: Shift, segments: Vec<Segment<T>>, keep: bool) -> Self {
        let mut acc = Self::with_shift(design, threads, shift);
        acc.rows = segments.iter().map(|s| s.rows).sum();
        if keep {
            acc.kept = Some(segments);
        } else {
            for segment in segments {
                acc.reduction.add(segment);
            }
        }
        acc
    }

    /// [`Self::segments`], taken out.
    pub fn take_segments(&mut self) -> Vec<Segment<T>> {
        self.kept.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Rows folded in (those of positive weight).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The basis of the factor, once the first block (or the first segment with rows) has set it.
    pub fn shift(&self) -> Option<&Shift> {
        self.shift.as_ref()
    }

    /// Folds raw rows (row-major, `design.width()` values each) into the factor.
    #[track_caller]
    pub fn push_rows(&mut self, raw: &[f64]) {
        assert_eq!(raw.len() % self.design.width(), 0, "raw rows must be whole");
        self.push(raw, None);
    }

    /// Folds raw rows with one sample weight each (finite, >= 0; checked by
    /// the caller, which knows where the row came from). Rows of weight 0 are
    /// left out entirely.
    #[track_caller]
    pub fn push_weighted_rows(&mut self, raw: &[f64], weights: &[f64]) {
        let width = self.design.width();
        assert_eq!(raw.len(), weights.len() * width, "one weight per whole raw row");
        assert!(weights.iter().all(|w| *w >= 0.0 && w.is_finite()), "weights are checked before they are accumulated");
        let mut roots = std::mem::take(&mut self.roots);
        roots.clear();
        if weights.iter().all(|&w| w > 0.0) {
            roots.extend(weights.iter().map(|w| w.sqrt()));
            self.push(raw, Some(&roots));
        } else {
            let mut positive = std::mem::take(&mut self.positive);
            positive.clear();
            for (row, &w) in raw.chunks_exact(width).zip(weights) {
                if w > 0.0 {
                    positive.extend_from_slice(row);
                    roots.push(w.sqrt());
                }
            }
            self.push(&positive, Some(&roots));
            self.positive = positive;
        }
        self.roots = roots;
    }

    /// Rows (and their √w when weighted) into pending and whole blocks.
    fn push(&mut self, mut raw: &[f64], mut roots: Option<&[f64]>) {
        let width = self.design.width();
        if raw.is_empty() {
            return;
        }
        self.rows += (raw.len() / width) as u64;
        self.segment_rows += (raw.len() / width) as u64;
        // In row order, so the sum is the same however the rows were chunked.
        self.segment_weight = match roots {
            Some(roots) => roots.iter().fold(self.segment_weight, |sum, r| r.mul_add(*r, sum)),
            None => self.segment_weight + (raw.len() / width) as f64,
        };
        let block_len = BLOCK_ROWS * width;
        // The shift comes from the first block, so the first block waits in `pending`.
        if !self.pending.is_empty() || self.shift.is_none() {
            let take = (block_len - self.pending.len()).min(raw.len());
            self.pending.extend_from_slice(&raw[..take]);
            match roots {
                Some(r) => {
                    self.pending_roots.extend_from_slice(&r[..take / width]);
                    roots = Some(&r[take / width..]);
                }
                None => self.pending_roots.resize(self.pending.len() / width, 1.0),
            }
            raw = &raw[take..];
            if self.pending.len() < block_len {
                return;
            }
            let block = std::mem::take(&mut self.pending);
            let block_roots = std::mem::take(&mut self.pending_roots);
            self.shift.get_or_insert_with(|| Shift::from_first_rows(self.design, &block));
            self.fold_blocks(&block, Some(&block_roots));
            self.pending = block;
            self.pending.clear();
            self.pending_roots = block_roots;
            self.pending_roots.clear();
        }
        let whole = raw.len() / block_len * block_len;
        self.fold_blocks(&raw[..whole], roots.map(|r| &r[..whole / width]));
        self.pending.extend_from_slice(&raw[whole..]);
        match roots {
            Some(r) => self.pending_roots.extend_from_slice(&r[whole / width..]),
            None => self.pending_roots.resize(self.pending.len() / width, 1.0),
        }
    }

    /// Folds whole blocks, each into its lane, lanes spread over the threads.
    fn fold_blocks(&mut self, raw: &[f64], roots: Option<&[f64]>) {
        let width = self.design.width();
        let block_len = BLOCK_ROWS * width;
        let count = raw.len() / block_len;
        if count == 0 {
            return;
        }
        let first = self.blocks;
        self.blocks += count as u64;
        let design = self.design;
        let shift = self.shift.as_ref().expect("the shift is set with the first block");
        let lanes = self.lanes.len();
        if lanes == 1 {
            let mut scratch = vec![T::default(); BLOCK_ROWS * design.columns()];
            for b in 0..count {
                if crate::cancel::requested() {
                    return;
                }
                let block_roots = roots.map(|r| &r[b * BLOCK_ROWS..(b + 1) * BLOCK_ROWS]);
                fill_block(design, shift, &raw[b * block_len..(b + 1) * block_len], block_roots, &mut scratch);
                self.lanes[0].absorb_on_threads(&mut scratch, BLOCK_ROWS, self.threads);
            }
            return;
        }
        let threads = self.threads.min(count).min(lanes);
        let work = |lane_ids: Vec<(usize, &mut Triangle<T>)>| {
            let mut scratch = vec![T::default(); BLOCK_ROWS * design.columns()];
            for (lane, triangle) in lane_ids {
                let offset = (lanes + lane - (first % lanes as u64) as usize) % lanes;
                for b in (offset..count).step_by(lanes) {
                    // A stopped job's factor is never solved (solve checks too): stop folding.
                    if crate::cancel::requested() {
                        return;
                    }
                    let block = &raw[b * block_len..(b + 1) * block_len];
                    let block_roots = roots.map(|r| &r[b * BLOCK_ROWS..(b + 1) * BLOCK_ROWS]);
                    fill_block(design, shift, block, block_roots, &mut scratch);
                    triangle.absorb_in_place(&mut scratch, BLOCK_ROWS);
                }
            }
        };
        let mut groups: Vec<Vec<(usize, &mut Triangle<T>)>> = (0..threads).map(|_| Vec::new()).collect();
        for (lane, triangle) in self.lanes.iter_mut().enumerate() {
            groups[lane % threads].push((lane, triangle));
        }
        on_threads(groups, work);
    }

    /// Ends the current segment (source): its last, partial block folds into
    /// the next lane, its lanes merge in order, and it merges into the factor
    /// (or is kept apart). The next rows start a new segment at lane 0.
    /// Answers false when a stop (SIGTERM) cut it short: then it is not
    /// ended, and what was ended before stays whole.
    pub fn end_segment(&mut self, name: &str) -> bool {
        if self.segment_rows == 0 {
            return true;
        }
        if crate::cancel::requested() {
            return false;
        }
        let width = self.design.width();
        let rest = self.pending.len() / width;
        let lanes = self.lanes.len();
        // Lanes no block reached are zero: they are left out of the merge (a
        // rule of the block count alone, so the bits stay the same).
        let touched = (self.blocks + u64::from(rest > 0)).min(lanes as u64) as usize;
        if rest > 0 {
            let lane = (self.blocks % lanes as u64) as usize;
            let mut scratch = vec![T::default(); rest * self.design.columns()];
            let shift = self.shift.get_or_insert_with(|| Shift::from_first_rows(self.design, &self.pending));
            fill_block(self.design, shift, &self.pending, Some(&self.pending_roots), &mut scratch);
            self.lanes[lane].absorb_on_threads(&mut scratch, rest, self.threads);
            self.pending.clear();
            self.pending_roots.clear();
        }
        let mut ended = std::mem::replace(&mut self.lanes, Self::fresh_lanes(self.design, lanes)).into_iter().take(touched);
        let mut triangle = ended.next().expect("a segment with rows reached a lane");
        for other in ended {
            triangle.merge(&other);
        }
        if crate::cancel::requested() {
            return false;
        }
        let segment = Segment { name: name.to_string(), rows: self.segment_rows, weight: self.segment_weight, triangle };
        (self.blocks, self.segment_rows, self.segment_weight) = (0, 0, 0.0);
        match self.kept.as_mut() {
            Some(kept) => {
                kept.push(segment);
                true
            }
            None => self.reduction.add(segment),
        }
    }

    /// The factor of every segment (rows pushed since the last `end_segment` are one more).
    pub fn finish(mut self) -> Factor<T> {
        self.end_segment("");
        let width = self.design.width();
        let shift = self.shift.unwrap_or_else(|| Shift { center: vec![0.0; width], scale: vec![1.0; width] });
        Factor::of(self.design, shift, self.reduction)
    }
}

impl<T: Scalar> Factor<T> {
    /// The factor of segments reduced elsewhere (other hosts), in the basis they share.
    pub fn of(design: Design, shift: Shift, reduction: Reduction<T>) -> Self {
        Factor {
            design,
            triangle: reduction.triangle.unwrap_or_else(|| Triangle::zeros(design.columns())),
            rows: reduction.rows,
            weight: reduction.weight,
            shift,
        }
    }
}

/// Runs `work` on each group, each group on its own thread (the caller's
/// when there is one group): the fixed grouping keeps the results' bits.
pub(crate) fn on_threads<G: Send>(groups: Vec<G>, work: impl Fn(G) + Sync) {
    if groups.len() == 1 {
        groups.into_iter().for_each(work);
    } else {
        let work = &work;
        std::thread::scope(|scope| {
            for group in groups {
                scope.spawn(move || work(group));
            }
        });
    }
}

/// Raw rows -> column-major design block `[1?, (x - c)·s, (y - c0)·s0]`,
/// each row times its √w when `roots` are given.
fn fill_block<T: Scalar>(design: Design, shift: &Shift, raw: &[f64], roots: Option<&[f64]>, block: &mut [T]) {
    let (center, scale) = (&shift.center, &shift.scale);
    let width = design.width();
    let rows = raw.len() / width;
    let lead = usize::from(design.fit_intercept);
    if design.fit_intercept {
        block[..rows].fill(T::from_f64(1.0));
    }
    for f in 1..width {
        let column = &mut block[(lead + f - 1) * rows..(lead + f) * rows];
        for (i, cell) in column.iter_mut().enumerate() {
            *cell = T::difference(raw[i * width + f], center[f]) * T::from_f64(scale[f]);
        }
    }
    let label = &mut block[(lead + width - 1) * rows..(lead + width) * rows];
    for (i, cell) in label.iter_mut().enumerate() {
        *cell = T::difference(raw[i * width], center[0]) * T::from_f64(scale[0]);
    }
    let Some(roots) = roots else {
        return;
    };
    for column in block[..design.columns() * rows].chunks_exact_mut(rows) {
        for (cell, &root) in column.iter_mut().zip(roots) {
            // Unit weights leave the row's bits as an unweighted push has them
            // (a double-double product by 1 may flip the sign of a zero low part).
            if root != 1.0 {
                *cell = *cell * T::from_f64(root);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dd::Dd;
    use crate::testing::Lcg;

    fn rows(n: usize, p: usize, seed: u64) -> Vec<f64> {
        let mut rng = Lcg::new(seed);
        (0..n * (p + 1)).map(|_| rng.normal()).collect()
    }

    fn factor_in_pieces(raw: &[f64], design: Design, piece_rows: usize, threads: usize) -> Factor<f64> {
        let mut acc = Accumulator::<f64>::new(design, threads);
        for piece in raw.chunks(piece_rows * design.width()) {
            acc.push_rows(piece);
        }
        acc.finish()
    }

    #[test]
    fn identical_bits_for_any_piece_size_and_thread_count() {
        let design = Design { features: 5, fit_intercept: true };
        let raw = rows(3000, 5, 3);
        let reference = factor_in_pieces(&raw, design, 3000, 1);
        for &(piece, threads) in &[(1, 1), (7, 2), (255, 2), (256, 3), (1000, 4), (2999, 2)] {
            let other = factor_in_pieces(&raw, design, piece, threads);
            assert_eq!(other.rows, 3000);
            assert_eq!(reference.triangle.entries(), other.triangle.entries(), "piece {piece}, threads {threads}");
        }
    }

    #[test]
    fn the_lanes_depend_on_the_width_alone_and_any_number_of_threads_gives_the_same_bits() {
        let narrow = Design { features: 5, fit_intercept: true };
        assert_eq!(lanes(narrow), MAX_LANES);
        assert_eq!(lanes(Design { features: WIDE_COLUMNS - 3, fit_intercept: true }), 8);
        assert_eq!(lanes(Design { features: 2000, fit_intercept: true }), 1);
        // More blocks than lanes, so every lane takes several and some fewer.
        let n = 3 * MAX_LANES * BLOCK_ROWS + 1000;
        let raw = rows(n, 5, 4);
        let reference = factor_in_pieces(&raw, narrow, n, 1);
        for &(piece, threads) in &[(n, 2), (n, 7), (5000, 16), (BLOCK_ROWS * 3, 64), (n / 3, 200)] {
            let other = factor_in_pieces(&raw, narrow, piece, threads);
            assert_eq!(reference.triangle.entries(), other.triangle.entries(), "piece {piece}, threads {threads}");
        }
    }

    /// Positive weights with a share of zeros (the first row's among them).
    fn weights(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = Lcg::new(seed);
        (0..n).map(|i| if i == 0 || rng.uniform() < 0.2 { 0.0 } else { 0.1 + 3.0 * rng.uniform() }).collect()
    }

    fn weighted_in_pieces<T: Scalar>(raw: &[f64], weights: &[f64], design: Design, piece_rows: usize, threads: usize) -> Factor<T> {
        let mut acc = Accumulator::<T>::new(design, threads);
        for (piece, w) in raw.chunks(piece_rows * design.width()).zip(weights.chunks(piece_rows)) {
            acc.push_weighted_rows(piece, w);
        }
        acc.finish()
    }

    /// The bits of a factor, double-double halves apart.
    fn bits<T: Scalar>(factor: &Factor<T>) -> Vec<(u64, u64)> {
        factor.triangle.entries().iter().map(|v| (v.to_dd().hi.to_bits(), v.to_dd().lo.to_bits())).collect()
    }

    #[test]
    fn unit_weights_give_the_unweighted_bits() {
        let design = Design { features: 4, fit_intercept: true };
        let raw = rows(1500, 4, 11);
        let ones = vec![1.0; 1500];
        let plain = factor_in_pieces(&raw, design, 700, 2);
        let weighted = weighted_in_pieces::<f64>(&raw, &ones, design, 300, 2);
        assert_eq!((bits(&plain), plain.rows, &plain.shift), (bits(&weighted), weighted.rows, &weighted.shift));
        let mut acc = Accumulator::<Dd>::new(design, 2);
        acc.push_rows(&raw);
        let plain = acc.finish();
        let weighted = weighted_in_pieces::<Dd>(&raw, &ones, design, 300, 2);
        assert_eq!((bits(&plain), plain.rows), (bits(&weighted), weighted.rows));
    }

    #[test]
    fn zero_weights_are_the_rows_left_out() {
        let design = Design { features: 3, fit_intercept: true };
        let raw = rows(2000, 3, 12);
        let w = weights(2000, 13);
        let (mut kept, mut kept_w) = (Vec::new(), Vec::new());
        for (row, &wi) in raw.chunks(design.width()).zip(&w) {
            if wi > 0.0 {
                kept.extend_from_slice(row);
                kept_w.push(wi);
            }
        }
        let all = weighted_in_pieces::<f64>(&raw, &w, design, 2000, 1);
        let dropped = weighted_in_pieces::<f64>(&kept, &kept_w, design, kept_w.len(), 1);
        assert_eq!(all.rows, kept_w.len() as u64);
        assert_eq!(all.shift.center, kept[..design.width()], "the center is the first row of positive weight");
        assert_eq!((bits(&all), &all.shift), (bits(&dropped), &dropped.shift));
    }

    #[test]
    fn weighted_bits_for_any_piece_size_and_thread_count() {
        let design = Design { features: 5, fit_intercept: true };
        let raw = rows(3000, 5, 14);
        let w = weights(3000, 15);
        let reference = weighted_in_pieces::<f64>(&raw, &w, design, 3000, 1);
        for &(piece, threads) in &[(1, 1), (7, 2), (255, 2), (256, 3), (1000, 4), (2999, 2)] {
            let other = weighted_in_pieces::<f64>(&raw, &w, design, piece, threads);
            assert_eq!((bits(&reference), reference.rows), (bits(&other), other.rows), "piece {piece}, threads {threads}");
        }
        let reference = weighted_in_pieces::<Dd>(&raw, &w, design, 3000, 1);
        let other = weighted_in_pieces::<Dd>(&raw, &w, design, 333, 3);
        assert_eq!(bits(&reference), bits(&other));
    }
}
