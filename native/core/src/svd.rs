//! The largest and smallest singular values of a small dense matrix (the
//! k x k factor, never the data), for condition numbers: Householder
//! bidiagonalisation (Golub & Kahan; 8/3·k³ flops, once), then bisection on
//! the Golub–Kahan form of the bidiagonal, whose Sturm counts find each
//! singular value of the bidiagonal to full relative accuracy (Demmel &
//! Kahan) in O(k) per step. Only the two extremes are computed: that is all
//! a condition number needs, and it keeps wide fits from spending minutes here.

use crate::tsqr::WIDE_COLUMNS;

/// (σ_max, σ_min) of the `rows x cols` row-major matrix `a` (rows >= cols).
/// A wide upper triangle (a factor's) is left unreduced: see [`crate::lanczos`].
pub fn extreme_singular_values(a: &[f64], rows: usize, cols: usize) -> (f64, f64) {
    assert!(a.len() == rows * cols && rows >= cols, "matrix must be rows x cols with rows >= cols");
    if cols == 0 {
        return (0.0, 0.0);
    }
    let triangle = rows == cols && (1..rows).all(|i| a[i * cols..i * cols + i].iter().all(|&v| v == 0.0));
    if triangle && cols >= WIDE_COLUMNS {
        if let Some(extremes) = crate::lanczos::triangle_extremes(a, cols) {
            return extremes;
        }
    }
    let (d, e) = bidiagonalise(a.to_vec(), rows, cols);
    // The Golub–Kahan matrix: zero diagonal, off-diagonal d0, e0, d1, e1, .., d(n-1);
    // its eigenvalues are ±σ.
    let mut off = Vec::with_capacity(2 * cols - 1);
    for j in 0..cols {
        off.push(d[j]);
        if j + 1 < cols {
            off.push(e[j]);
        }
    }
    let squares: Vec<f64> = off.iter().map(|b| b * b).collect();
    let largest_square = squares.iter().fold(0.0f64, |m, &s| m.max(s));
    if largest_square == 0.0 {
        return (0.0, 0.0);
    }
    // Pivots below this are treated as this (LAPACK's pivmin): no division by zero.
    let pivmin = f64::MIN_POSITIVE * largest_square.max(1.0);
    // Eigenvalues of the Golub–Kahan matrix below x (x > 0): n + #{σ < x}.
    let below = |x: f64| -> usize {
        let mut count = 0;
        let mut q = -x;
        for (i, &b2) in std::iter::once(&0.0).chain(&squares).enumerate() {
            if i > 0 {
                q = -x - b2 / q;
            }
            if q.abs() < pivmin {
                q = -pivmin;
            }
            if q < 0.0 {
                count += 1;
            }
        }
        count
    };
    let n = cols;
    // Gershgorin: every |λ| is at most the largest sum of neighbouring |b|.
    let bound = (0..off.len()).map(|i| off[i].abs() + if i + 1 < off.len() { off[i + 1].abs() } else { 0.0 }).fold(0.0, f64::max);
    let bound = bound.max(off.last().map_or(0.0, |b| b.abs())) * (1.0 + 4.0 * f64::EPSILON) + pivmin;
    let largest = bisect(|x| below(x) >= 2 * n, bound);
    let smallest = bisect(|x| below(x) > n, bound);
    (largest, smallest)
}

/// The point where `reached` turns true on (0, upper] (`reached(upper)` holds),
/// to full relative accuracy: halvings find its binade, bisection the rest.
/// 0 when it is below the smallest positive double.
fn bisect(reached: impl Fn(f64) -> bool, upper: f64) -> f64 {
    let mut hi = upper;
    let mut lo = hi / 2.0;
    while reached(lo) {
        if lo == 0.0 {
            return 0.0;
        }
        hi = lo;
        lo /= 2.0;
    }
    for _ in 0..64 {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    lo + (hi - lo) / 2.0
}

/// Householder reflector for `x`: overwrites x with v (v[0] = 1) and returns
/// (alpha, tau) with (I − tau·v·vᵀ)·x = (alpha, 0, .., 0). Norms are taken
/// of x scaled by its largest entry, so no square under- or overflows.
fn householder(x: &mut [f64]) -> (f64, f64) {
    let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if scale == 0.0 || x.len() == 1 {
        let alpha = x[0];
        x[0] = 1.0;
        return (alpha, 0.0);
    }
    let tail: f64 = x[1..].iter().map(|v| (v / scale).powi(2)).sum();
    let head = x[0] / scale;
    if tail == 0.0 {
        let alpha = x[0];
        x[0] = 1.0;
        x[1..].fill(0.0);
        return (alpha, 0.0);
    }
    let norm = (head * head + tail).sqrt() * scale;
    let alpha = if x[0] > 0.0 { -norm } else { norm };
    let v0 = x[0] - alpha;
    for v in x[1..].iter_mut() {
        *v /= v0;
    }
    x[0] = 1.0;
    (alpha, -v0 / alpha)
}

/// Golub–Kahan bidiagonalisation of row-major `a` (rows >= cols): the
/// diagonal d and superdiagonal e of U ᵀ·A·V.
fn bidiagonalise(mut a: Vec<f64>, rows: usize, cols: usize) -> (Vec<f64>, Vec<f64>) {
    let mut d = vec![0.0; cols];
    let mut e = vec![0.0; cols.saturating_sub(1)];
    let mut v = vec![0.0; rows];
    let mut w = vec![0.0; cols];
    for j in 0..cols {
        // A stopped job does not wait (its caller checks and refuses the result).
        if crate::cancel::requested() {
            break;
        }
        // Left: zero column j below the diagonal.
        let len = rows - j;
        for (i, vi) in v[..len].iter_mut().enumerate() {
            *vi = a[(j + i) * cols + j];
        }
        let (alpha, tau) = householder(&mut v[..len]);
        d[j] = alpha;
        if tau != 0.0 {
            w[j + 1..].fill(0.0);
            for (i, &vi) in v[..len].iter().enumerate() {
                let row = &a[(j + i) * cols..(j + i + 1) * cols];
                for (wc, &x) in w[j + 1..].iter_mut().zip(&row[j + 1..]) {
                    *wc += vi * x;
                }
            }
            for (i, &vi) in v[..len].iter().enumerate() {
                let row = &mut a[(j + i) * cols..(j + i + 1) * cols];
                for (x, &wc) in row[j + 1..].iter_mut().zip(&w[j + 1..]) {
                    *x -= tau * vi * wc;
                }
            }
        }
        if j + 1 >= cols {
            continue;
        }
        // Right: zero row j beyond the superdiagonal.
        let mut u: Vec<f64> = a[j * cols + j + 1..(j + 1) * cols].to_vec();
        let (alpha, tau) = householder(&mut u);
        e[j] = alpha;
        if tau != 0.0 {
            for i in (j + 1)..rows {
                let row = &mut a[i * cols + j + 1..(i + 1) * cols];
                let dot: f64 = row.iter().zip(&u).map(|(x, ui)| x * ui).sum();
                let factor = tau * dot;
                for (x, &ui) in row.iter_mut().zip(&u) {
                    *x -= factor * ui;
                }
            }
        }
    }
    (d, e)
}

/// 2-norm condition number; infinite when the matrix is singular (or its
/// singular values span more than float64's range).
pub fn condition_number(a: &[f64], rows: usize, cols: usize) -> f64 {
    // A power-of-two scaling changes no ratio and keeps the squares in range.
    let largest = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if !largest.is_finite() {
        return f64::INFINITY;
    }
    let scaled: Vec<f64>;
    let a = if largest > 0.0 {
        let factor = 2f64.powi(-largest.log2().floor() as i32);
        scaled = a.iter().map(|v| v * factor).collect();
        &scaled
    } else {
        a
    };
    match extreme_singular_values(a, rows, cols) {
        (max, min) if min > 0.0 => max / min,
        (max, _) if max > 0.0 => f64::INFINITY,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::matrix_with_singular_values;

    #[test]
    fn known_singular_values() {
        // diag(3, 2) rotated by 45 degrees on the left keeps its singular values.
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let a = [3.0 * h, -2.0 * h, 3.0 * h, 2.0 * h];
        let (max, min) = extreme_singular_values(&a, 2, 2);
        assert!((max - 3.0).abs() < 1e-14 && (min - 2.0).abs() < 1e-14, "{max} {min}");
        assert!((condition_number(&a, 2, 2) - 1.5).abs() < 1e-14);
        // Singular up to rounding: a condition number beyond 1/ε.
        assert!(condition_number(&[1.0, 2.0, 2.0, 4.0], 2, 2) > 1e15);
        assert_eq!(condition_number(&[0.0; 4], 2, 2), 1.0);
    }

    #[test]
    fn tiny_singular_values_keep_relative_accuracy() {
        // Upper triangular with singular values spread over 12 orders.
        let a = [1.0, 1.0, 0.0, 0.0, 1e-6, 1e-6, 0.0, 0.0, 1e-12];
        let (max, min) = extreme_singular_values(&a, 3, 3);
        assert!((max - 2f64.sqrt()).abs() < 1e-6, "{max}");
        // 1/σ_min = ‖A⁻¹‖, dominated by A⁻¹'s last column (1, −1, 1)·1e12 up to (1e-6)² relative.
        assert!((min / (1e-12 / 3f64.sqrt()) - 1.0).abs() < 1e-11, "{min}");
    }

    #[test]
    fn a_wide_triangle_takes_the_lanczos_road_to_the_same_extremes() {
        let n = WIDE_COLUMNS + 8;
        let sigma: Vec<f64> = (0..n).map(|i| 1e-3 + (i as f64 / n as f64).powi(2)).collect();
        let r = crate::lanczos::tests::triangle_with(&sigma, 5);
        let (max, min) = extreme_singular_values(&r, n, n);
        let (true_max, true_min) = (sigma.iter().fold(0.0f64, |m, &s| m.max(s)), 1e-3);
        assert!((max / true_max - 1.0).abs() < 1e-10, "{max} vs {true_max}");
        assert!((min / true_min - 1.0).abs() < 1e-10, "{min} vs {true_min}");
    }

    #[test]
    fn extremes_of_random_matrices_with_known_spectra() {
        for (n, low, seed) in [(5, 1e-3, 1), (40, 1e-8, 2), (120, 0.5, 3)] {
            let sigma: Vec<f64> = (0..n).map(|i| 1.0 + i as f64 * (1.0 / n as f64) - if i == 0 { 1.0 - low } else { 0.0 }).collect();
            let a = matrix_with_singular_values(&sigma, seed);
            let (max, min) = extreme_singular_values(&a, n, n);
            let (true_max, true_min) = (sigma.iter().fold(0.0f64, |m, &s| m.max(s)), low);
            assert!((max / true_max - 1.0).abs() < 1e-12, "n={n}: {max} vs {true_max}");
            // Normwise backward stable: σ_min to within ε·σ_max.
            assert!((min - true_min).abs() < 1e-13 * true_max, "n={n}: {min} vs {true_min}");
        }
    }
}
