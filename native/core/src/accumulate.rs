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
//! Rows are cut into fixed blocks numbered from the first row; block b goes
//! to lane b mod LANES and lanes merge in a fixed order at the end. So the
//! result is bit-identical however the bytes were chunked and however many
//! threads did the work.

use crate::scalar::Scalar;
use crate::tsqr::Triangle;

pub const BLOCK_ROWS: usize = 256;
pub const LANES: usize = 4;

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
    pub shift: Shift,
}

pub struct Accumulator<T> {
    design: Design,
    shift: Option<Shift>,
    lanes: Vec<Triangle<T>>,
    pending: Vec<f64>,
    blocks: u64,
    rows: u64,
    threads: usize,
}

impl<T: Scalar> Accumulator<T> {
    pub fn new(design: Design, threads: usize) -> Self {
        Accumulator {
            design,
            shift: None,
            lanes: (0..LANES).map(|_| Triangle::zeros(design.columns())).collect(),
            pending: Vec::with_capacity(BLOCK_ROWS * design.width()),
            blocks: 0,
            rows: 0,
            threads: threads.clamp(1, LANES),
        }
    }

    /// Starts from a known shift (a second pass must use the first one's).
    pub fn with_shift(design: Design, threads: usize, shift: Shift) -> Self {
        let mut acc = Self::new(design, threads);
        acc.shift = Some(shift);
        acc
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Folds raw rows (row-major, `design.width()` values each) into the factor.
    #[track_caller]
    pub fn push_rows(&mut self, mut raw: &[f64]) {
        let width = self.design.width();
        assert_eq!(raw.len() % width, 0, "raw rows must be whole");
        if raw.is_empty() {
            return;
        }
        self.rows += (raw.len() / width) as u64;
        let block_len = BLOCK_ROWS * width;
        // The shift comes from the first block, so the first block waits in `pending`.
        if !self.pending.is_empty() || self.shift.is_none() {
            let take = (block_len - self.pending.len()).min(raw.len());
            self.pending.extend_from_slice(&raw[..take]);
            raw = &raw[take..];
            if self.pending.len() < block_len {
                return;
            }
            let block = std::mem::take(&mut self.pending);
            self.shift.get_or_insert_with(|| Shift::from_first_rows(self.design, &block));
            self.fold_blocks(&block);
            self.pending = block;
            self.pending.clear();
        }
        let whole = raw.len() / block_len * block_len;
        self.fold_blocks(&raw[..whole]);
        self.pending.extend_from_slice(&raw[whole..]);
    }

    /// Folds whole blocks, each into its lane, lanes spread over the threads.
    fn fold_blocks(&mut self, raw: &[f64]) {
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
        let threads = self.threads.min(count);
        let work = |lane_ids: Vec<(usize, &mut Triangle<T>)>| {
            let mut scratch = vec![T::default(); BLOCK_ROWS * design.columns()];
            for (lane, triangle) in lane_ids {
                let offset = (LANES + lane - (first % LANES as u64) as usize) % LANES;
                for b in (offset..count).step_by(LANES) {
                    // A stopped job's factor is never solved (solve checks too): stop folding.
                    if crate::cancel::requested() {
                        return;
                    }
                    let block = &raw[b * block_len..(b + 1) * block_len];
                    fill_block(design, shift, block, &mut scratch);
                    triangle.absorb_in_place(&mut scratch, BLOCK_ROWS);
                }
            }
        };
        let mut groups: Vec<Vec<(usize, &mut Triangle<T>)>> = (0..threads).map(|_| Vec::new()).collect();
        for (lane, triangle) in self.lanes.iter_mut().enumerate() {
            groups[lane % threads].push((lane, triangle));
        }
        if threads == 1 {
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

    pub fn finish(mut self) -> Factor<T> {
        let width = self.design.width();
        let rest = self.pending.len() / width;
        if rest > 0 {
            let lane = (self.blocks % LANES as u64) as usize;
            let mut scratch = vec![T::default(); rest * self.design.columns()];
            let shift = self.shift.get_or_insert_with(|| Shift::from_first_rows(self.design, &self.pending));
            fill_block(self.design, shift, &self.pending, &mut scratch);
            self.lanes[lane].absorb_in_place(&mut scratch, rest);
        }
        let mut lanes = self.lanes.into_iter();
        let mut triangle = lanes.next().expect("at least one lane");
        for other in lanes {
            triangle.merge(&other);
        }
        Factor {
            design: self.design,
            triangle,
            rows: self.rows,
            shift: self.shift.unwrap_or_else(|| Shift { center: vec![0.0; width], scale: vec![1.0; width] }),
        }
    }
}

/// Raw rows -> column-major design block `[1?, (x - c)·s, (y - c0)·s0]`.
fn fill_block<T: Scalar>(design: Design, shift: &Shift, raw: &[f64], block: &mut [T]) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
