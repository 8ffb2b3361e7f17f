//! The update of a wide factor, a panel of [`PANEL`] columns at a time
//! (compact WY, Schreiber & Van Loan): the panel's reflectors are found as
//! the narrow update finds them, then applied together, as I − V·T·Vᵀ, to
//! each column after the panel. That column is read twice per panel instead
//! of twice per reflector, which keeps a wide update in cache.
//!
//! Every column after a panel takes the same operations in the same order
//! whichever thread updates it, so threads share those columns and the bits
//! do not depend on how many there are.

use super::{dot, reflect_column};
use crate::disjoint::Disjoint;
use crate::scalar::Scalar;

/// Columns per panel. Part of the arithmetic (it fixes which sums are
/// formed), so it is a constant, never tuned at run time.
pub const PANEL: usize = 32;

/// Fewer trailing columns than this are updated on the calling thread: a
/// thread's start costs more than their update.
const THREADED_COLUMNS: usize = 64;

/// One panel's reflectors, as the columns after it need them.
pub struct Panel<T> {
    rows: usize,
    /// u_l of reflector l (l < PANEL), column-major `rows × PANEL`; columns
    /// past the panel's width are zero.
    reflectors: Vec<T>,
    /// The same, row-major: row i holds u_0[i]..u_{PANEL-1}[i].
    packed: Vec<T>,
    /// T of I − V·T·Vᵀ, row-major PANEL × PANEL, upper triangular.
    t: Vec<T>,
}

impl<T: Scalar> Panel<T> {
    fn new(rows: usize) -> Self {
        Panel { rows, reflectors: vec![T::default(); rows * PANEL], packed: vec![T::default(); rows * PANEL], t: vec![T::default(); PANEL * PANEL] }
    }

    /// Applies the panel's reflectors to one later column: `top` holds the
    /// column's entries in the panel's rows of R, `column` its block rows.
    #[inline(always)]
    pub(crate) fn apply(&self, top: &mut [T; PANEL], column: &mut [T]) {
        // s = Vᵀc: the R rows (V's unit part), then the block rows in order.
        let mut s = *top;
        for (row, &b) in self.packed.chunks_exact(PANEL).zip(column.iter()) {
            for l in 0..PANEL {
                s[l] = s[l] + row[l] * b;
            }
        }
        // w = Tᵀs, then c −= V·w.
        let mut w = [T::default(); PANEL];
        for (l, wl) in w.iter_mut().enumerate() {
            let mut acc = T::default();
            for (a, &sa) in s.iter().enumerate().take(l + 1) {
                acc = acc + self.t[a * PANEL + l] * sa;
            }
            *wl = acc;
        }
        for l in 0..PANEL {
            top[l] = top[l] - w[l];
        }
        for (u, &wl) in self.reflectors.chunks_exact(self.rows).zip(&w) {
            for (b, &x) in column.iter_mut().zip(u) {
                *b = *b - x * wl;
            }
        }
    }
}

/// Folds `rows` rows (`block`, column-major, overwritten) into the row-major
/// k × k triangle `r`, on up to `threads` threads.
pub(crate) fn absorb<T: Scalar>(r: &mut [T], k: usize, block: &mut [T], rows: usize, threads: usize) {
    if rows == 0 {
        return;
    }
    let mut panel = Panel::new(rows);
    for first in (0..k).step_by(PANEL) {
        // A merge of wide factors takes seconds: a stopped job leaves it (solve refuses the result).
        if crate::cancel::requested() {
            return;
        }
        let end = (first + PANEL).min(k);
        factor_panel(r, k, block, rows, first, end, &mut panel);
        update_trailing(r, k, block, rows, first, end, &panel, threads);
    }
}

/// The reflectors of columns `first..end` (as the narrow update finds them,
/// each applied to the panel's later columns at once), and T.
fn factor_panel<T: Scalar>(r: &mut [T], k: usize, block: &mut [T], rows: usize, first: usize, end: usize, panel: &mut Panel<T>) {
    let mut tau = [T::default(); PANEL];
    for j in first..end {
        match reflect_column(r, k, block, rows, j, end) {
            Some(factor) => tau[j - first] = factor,
            // No reflection (τ = 0); what is left is below underflow and is dropped.
            None => block[j * rows..(j + 1) * rows].fill(T::default()),
        }
    }
    let width = end - first;
    panel.reflectors.fill(T::default());
    panel.reflectors[..width * rows].copy_from_slice(&block[first * rows..end * rows]);
    for (i, row) in panel.packed.chunks_exact_mut(PANEL).enumerate() {
        for (l, x) in row.iter_mut().enumerate() {
            *x = panel.reflectors[l * rows + i];
        }
    }
    // T (LAPACK's larft, forward): T[l][l] = τ_l and T[0..l, l] = −τ_l·T[0..l, 0..l]·(Vᵀv_l)[0..l];
    // the unit parts of V are in distinct rows of R, so Vᵀv_l is UᵀU's column l.
    panel.t.fill(T::default());
    for (l, &tau_l) in tau.iter().enumerate().take(width) {
        panel.t[l * PANEL + l] = tau_l;
        if tau_l.is_zero() {
            continue;
        }
        let ul = &panel.reflectors[l * rows..(l + 1) * rows];
        let gram: Vec<T> = (0..l).map(|b| dot(&panel.reflectors[b * rows..(b + 1) * rows], ul)).collect();
        for a in 0..l {
            let mut acc = T::default();
            for (b, &g) in gram.iter().enumerate().skip(a) {
                acc = acc + panel.t[a * PANEL + b] * g;
            }
            panel.t[a * PANEL + l] = -(tau_l * acc);
        }
    }
}

/// The panel applied to every column from `end` on, the columns shared
/// out in contiguous runs.
#[allow(clippy::too_many_arguments)]
fn update_trailing<T: Scalar>(r: &mut [T], k: usize, block: &mut [T], rows: usize, first: usize, end: usize, panel: &Panel<T>, threads: usize) {
    let trailing = k - end;
    if trailing == 0 {
        return;
    }
    // Each thread writes R's entries of its own columns only.
    let shared = Disjoint::new(r);
    let rows_of_panel = end - first;
    let run = |from: usize, columns: &mut [T]| {
        let mut top = [T::default(); PANEL];
        for (offset, column) in columns.chunks_exact_mut(rows).enumerate() {
            let c = from + offset;
            // SAFETY: R has k × k entries and (first + l, c) with l < end − first
            // and c < k is inside; this column is this thread's alone.
            unsafe {
                for (l, x) in top.iter_mut().enumerate().take(rows_of_panel) {
                    *x = *shared.entry((first + l) * k + c);
                }
            }
            T::apply_panel(panel, &mut top, column);
            unsafe {
                for (l, x) in top.iter().enumerate().take(rows_of_panel) {
                    *shared.entry((first + l) * k + c) = *x;
                }
            }
        }
    };
    let tail = &mut block[end * rows..k * rows];
    let threads = threads.clamp(1, trailing.div_ceil(THREADED_COLUMNS));
    if threads == 1 {
        run(end, tail);
        return;
    }
    let per_thread = trailing.div_ceil(threads);
    std::thread::scope(|scope| {
        let mut rest = tail;
        let mut from = end;
        while !rest.is_empty() {
            let take = (per_thread * rows).min(rest.len());
            let (mine, others) = rest.split_at_mut(take);
            let run = &run;
            scope.spawn(move || run(from, mine));
            from += take / rows;
            rest = others;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::Triangle;
    use crate::dd::Dd;
    use crate::testing::Lcg;

    fn random_block(rng: &mut Lcg, rows: usize, k: usize) -> Vec<f64> {
        (0..rows * k).map(|_| rng.normal()).collect()
    }

    /// Two updates of a factor `k` wide, the first through `absorb_on_threads`.
    fn factor(k: usize, blocks: &[Vec<f64>], rows: usize, threads: usize) -> Triangle<f64> {
        let mut t = Triangle::zeros(k);
        for block in blocks {
            t.absorb_on_threads(&mut block.clone(), rows, threads);
        }
        t
    }

    #[test]
    fn a_wide_factor_matches_the_narrow_update_and_keeps_its_triangle() {
        // Not a multiple of the panel, with an exactly zero column (no reflection) and a block shorter than the panel.
        let (k, rows) = (super::super::WIDE_COLUMNS + 45, 300);
        let mut rng = Lcg::new(5);
        let mut blocks = vec![random_block(&mut rng, rows, k), random_block(&mut rng, rows, k)];
        for block in &mut blocks {
            block[7 * rows..8 * rows].fill(0.0);
        }
        let wide = factor(k, &blocks, rows, 1);
        let mut narrow = Triangle::zeros(k);
        for block in &blocks {
            narrow.absorb_kernel(&mut block.clone(), rows);
        }
        let mut short = blocks[0][..].chunks(rows).flat_map(|c| c[..20].to_vec()).collect::<Vec<_>>();
        let mut wide_short = Triangle::zeros(k);
        wide_short.absorb_on_threads(&mut short, 20, 2);
        for i in 0..k {
            let sign = (wide.get(i, i) * narrow.get(i, i)).signum();
            let scale = narrow.get(i, i).abs().max(1.0);
            for j in 0..k {
                if j < i {
                    assert_eq!(wide.get(i, j), 0.0, "below the diagonal at ({i}, {j})");
                    assert_eq!(wide_short.get(i, j), 0.0);
                } else {
                    let (a, b) = (narrow.get(i, j), sign * wide.get(i, j));
                    assert!((a - b).abs() <= 1e-10 * scale, "R[{i},{j}]: {a} vs {b}");
                }
            }
        }
        // A column of zeros stays aliased: nothing below or on its diagonal beyond rounding.
        assert!(wide.get(7, 7).abs() <= 1e-12, "R[7,7] = {}", wide.get(7, 7));
    }

    #[test]
    fn any_number_of_threads_gives_the_same_bits() {
        let (k, rows) = (super::super::WIDE_COLUMNS + 3, 256);
        let mut rng = Lcg::new(9);
        let blocks = vec![random_block(&mut rng, rows, k), random_block(&mut rng, rows, k)];
        let reference = factor(k, &blocks, rows, 1);
        for threads in [2, 3, 7, 64] {
            assert_eq!(reference.entries(), factor(k, &blocks, rows, threads).entries(), "{threads} threads");
        }
        let mut merged = reference.clone();
        merged.merge_on_threads(&factor(k, &blocks[..1], rows, 1), 1);
        let mut merged_on_three = reference.clone();
        merged_on_three.merge_on_threads(&factor(k, &blocks[..1], rows, 1), 3);
        assert_eq!(merged.entries(), merged_on_three.entries());
    }

    #[test]
    fn the_double_double_update_takes_the_same_road() {
        let (k, rows) = (super::super::WIDE_COLUMNS, 40);
        let mut rng = Lcg::new(13);
        let block = random_block(&mut rng, rows, k);
        let mut extended = Triangle::<Dd>::zeros(k);
        extended.absorb_on_threads(&mut block.iter().map(|&x| Dd::from(x)).collect::<Vec<_>>(), rows, 2);
        let double = factor(k, &[block], rows, 2);
        for i in 0..rows.min(k) {
            for j in i..k {
                let (a, b) = (extended.get(i, j).to_f64(), double.get(i, j));
                assert!((a - b).abs() <= 1e-11 * double.get(i, i).abs().max(1.0), "R[{i},{j}]: {a} vs {b}");
            }
        }
    }
}
