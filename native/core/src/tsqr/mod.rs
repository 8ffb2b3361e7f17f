//! Tall-skinny QR: the upper-triangular factor R of a matrix A (here the
//! design matrix with the label as its last column, [X | y]) is updated block
//! by block, so its size is k x k whatever the number of rows. Since
//! AᵀA = RᵀR, R carries everything least squares needs, and two factors of
//! disjoint row sets merge by factoring the two R's stacked on each other.
//!
//! Each update is a Householder QR of [R; B] that exploits R's triangle: the
//! reflector for column j touches row j of R and every row of the block.
//! Factors of [`WIDE_COLUMNS`] columns or more are updated a panel of
//! columns at a time, on threads ([`blocked`]).

pub mod blocked;

use crate::householder::reflector;
use crate::scalar::Scalar;

/// From this many columns, a factor is updated by [`blocked`]: its columns
/// no longer fit in cache one reflector at a time, and its work is enough to
/// share out within one block of rows.
pub const WIDE_COLUMNS: usize = 512;

/// Σ aᵢbᵢ over eight interleaved partial sums: a fixed order that vector
/// units can follow, so every machine gets the same bits.
#[inline(always)]
pub(crate) fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::default(); 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (a8.remainder(), b8.remainder());
    for (x, y) in a8.zip(b8) {
        for l in 0..8 {
            acc[l] = x[l].mul_add(y[l], acc[l]);
        }
    }
    for (l, (x, y)) in ra.iter().zip(rb).enumerate() {
        acc[l] = x.mul_add(*y, acc[l]);
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// Column j of [R; B] (R row-major k × k, B column-major `rows` × k) reduced
/// to R[j, j] by one reflector, which is also applied to columns j+1..end.
/// Answers its factor τ, or `None` when B's column is zero to within
/// underflow (no reflection; the column is left as it is).
#[inline(always)]
pub(crate) fn reflect_column<T: Scalar>(r: &mut [T], k: usize, block: &mut [T], rows: usize, j: usize, end: usize) -> Option<T> {
    let (head, tail) = block.split_at_mut((j + 1) * rows);
    let v = &mut head[j * rows..];
    let sigma = dot(v, v);
    if sigma.is_zero() {
        return None;
    }
    let h = reflector(r[j * k + j], sigma, v);
    for c in (j + 1)..end {
        let bc = &mut tail[(c - j - 1) * rows..(c - j) * rows];
        let rjc = r[j * k + c];
        let w = (rjc + dot(v, bc)) * h.factor;
        r[j * k + c] = rjc - w;
        for (b, &x) in bc.iter_mut().zip(v.iter()) {
            *b = *b - w * x;
        }
    }
    r[j * k + j] = h.beta;
    Some(h.factor)
}

#[derive(Clone, Debug)]
pub struct Triangle<T> {
    k: usize,
    /// Row-major k x k; entries below the diagonal stay zero.
    r: Vec<T>,
}

impl<T: Scalar> Triangle<T> {
    pub fn zeros(k: usize) -> Self {
        Triangle { k, r: vec![T::default(); k * k] }
    }

    /// The triangle whose upper entries, row by row, are `upper`.
    #[track_caller]
    pub fn from_upper(k: usize, upper: &[T]) -> Self {
        assert_eq!(upper.len(), k * (k + 1) / 2, "a k x k triangle has k(k+1)/2 upper entries");
        let mut triangle = Self::zeros(k);
        let mut values = upper.iter();
        for i in 0..k {
            for j in i..k {
                triangle.r[i * k + j] = *values.next().expect("counted above");
            }
        }
        triangle
    }

    pub fn size(&self) -> usize {
        self.k
    }

    #[inline(always)]
    pub fn get(&self, i: usize, j: usize) -> T {
        self.r[i * self.k + j]
    }

    pub fn entries(&self) -> &[T] {
        &self.r
    }

    /// Folds `rows` more rows of A into R. `block` is column-major
    /// (`block[c * rows + i]` is row i, column c) and is overwritten.
    #[track_caller]
    pub fn absorb_in_place(&mut self, block: &mut [T], rows: usize) {
        self.absorb_on_threads(block, rows, 1);
    }

    /// [`Self::absorb_in_place`] with a wide factor's work shared by up to
    /// `threads` threads; the bits are the same for any count.
    #[track_caller]
    pub fn absorb_on_threads(&mut self, block: &mut [T], rows: usize, threads: usize) {
        assert_eq!(block.len(), rows * self.k, "block must be rows x k, column-major");
        if self.k >= WIDE_COLUMNS {
            blocked::absorb(&mut self.r, self.k, block, rows, threads);
        } else {
            T::absorb(self, block, rows);
        }
    }

    /// The update itself; `inline(always)` so that callers compiled with
    /// wider vector units get their own copy.
    #[inline(always)]
    pub(crate) fn absorb_kernel(&mut self, block: &mut [T], rows: usize) {
        let k = self.k;
        if rows == 0 {
            return;
        }
        for j in 0..k {
            // A merge of wide factors takes seconds: a stopped job leaves it (solve refuses the result).
            if crate::cancel::requested() {
                return;
            }
            reflect_column(&mut self.r, k, block, rows, j, k);
        }
    }

    /// Merges the factor of another, disjoint set of rows into this one.
    #[track_caller]
    pub fn merge(&mut self, other: &Triangle<T>) {
        self.merge_on_threads(other, 1);
    }

    /// [`Self::merge`] on up to `threads` threads (wide factors only; same bits).
    #[track_caller]
    pub fn merge_on_threads(&mut self, other: &Triangle<T>, threads: usize) {
        assert_eq!(self.k, other.k, "factors of different widths cannot merge");
        let k = self.k;
        let mut block = vec![T::default(); k * k];
        for i in 0..k {
            for j in i..k {
                block[j * k + i] = other.r[i * k + j];
            }
        }
        self.absorb_on_threads(&mut block, k, threads);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Lcg;

    fn gram_of_rows(rows: &[Vec<f64>], k: usize) -> Vec<f64> {
        let mut g = vec![0.0; k * k];
        for row in rows {
            for a in 0..k {
                for b in 0..k {
                    g[a * k + b] += row[a] * row[b];
                }
            }
        }
        g
    }

    fn gram_of_factor(t: &Triangle<f64>) -> Vec<f64> {
        let k = t.size();
        let mut g = vec![0.0; k * k];
        for a in 0..k {
            for b in 0..k {
                g[a * k + b] = (0..k).map(|i| t.get(i, a) * t.get(i, b)).sum();
            }
        }
        g
    }

    fn absorb_rows(t: &mut Triangle<f64>, rows: &[Vec<f64>]) {
        let k = t.size();
        let mut block = vec![0.0; rows.len() * k];
        for (i, row) in rows.iter().enumerate() {
            for c in 0..k {
                block[c * rows.len() + i] = row[c];
            }
        }
        t.absorb_in_place(&mut block, rows.len());
    }

    #[test]
    fn factor_reproduces_the_gram_matrix() {
        let mut rng = Lcg::new(7);
        for &(n, k) in &[(1, 3), (5, 5), (127, 4), (128, 12), (257, 7)] {
            let rows: Vec<Vec<f64>> = (0..n).map(|_| (0..k).map(|_| rng.normal()).collect()).collect();
            let mut t = Triangle::zeros(k);
            absorb_rows(&mut t, &rows);
            let (g1, g2) = (gram_of_rows(&rows, k), gram_of_factor(&t));
            let scale = g1.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            for (a, b) in g1.iter().zip(&g2) {
                assert!((a - b).abs() <= 1e-12 * scale, "{a} vs {b} (n={n}, k={k})");
            }
            for i in 0..k {
                for j in 0..i {
                    assert_eq!(t.get(i, j), 0.0);
                }
            }
        }
    }

    #[test]
    fn merging_equals_factoring_everything_at_once() {
        let mut rng = Lcg::new(11);
        let k = 6;
        let rows: Vec<Vec<f64>> = (0..300).map(|_| (0..k).map(|_| rng.normal()).collect()).collect();
        let mut whole = Triangle::zeros(k);
        absorb_rows(&mut whole, &rows);
        let mut left = Triangle::zeros(k);
        let mut right = Triangle::zeros(k);
        absorb_rows(&mut left, &rows[..120]);
        absorb_rows(&mut right, &rows[120..]);
        left.merge(&right);
        // R is unique up to the signs of its rows.
        for i in 0..k {
            let sign = (whole.get(i, i) * left.get(i, i)).signum();
            for j in i..k {
                let (a, b) = (whole.get(i, j), sign * left.get(i, j));
                assert!((a - b).abs() <= 1e-11 * whole.get(i, i).abs().max(1.0), "R[{i},{j}]: {a} vs {b}");
            }
        }
    }
}
