//! The extreme singular values of a wide upper triangle R without reducing
//! it: Lanczos on RᵀR for σ_max and on R⁻¹R⁻ᵀ for 1/σ_min² (Golub & Van Loan,
//! ch. 10), each step one pass over R (products, or triangular solves), with
//! full reorthogonalisation. Bidiagonalising R costs 8/3·k³ flops; this
//! costs O(k²) per step and a few dozen to a few hundred steps.
//!
//! A Ritz value θ of the tridiagonal T_m is accepted when its residual
//! ‖M·x − θ·x‖ = β_m·|y_m| (y the eigenvector of T_m, β_m the next
//! off-diagonal) is at most [`TOLERANCE`]·θ: θ is then within that relative
//! distance of an eigenvalue of M. Starting vectors are fixed, so the result
//! is the same on every run. When the steps run out first, the answer is
//! `None` and the caller reduces R instead.

use crate::triangular::{back_substitute, forward_substitute_transposed};

/// Relative residual at which a Ritz value is accepted.
const TOLERANCE: f64 = 1e-12;
/// Steps before giving up (then R is bidiagonalised).
const MAX_STEPS: usize = 600;
/// Steps between convergence checks (each costs O(m²) on T_m).
const CHECK_EVERY: usize = 4;

/// (σ_max, σ_min) of the row-major n × n upper triangle `r` (entries below
/// the diagonal are not read), or `None` when Lanczos did not converge.
pub fn triangle_extremes(r: &[f64], n: usize) -> Option<(f64, f64)> {
    if n == 0 {
        return Some((0.0, 0.0));
    }
    let largest = largest_eigenvalue(n, |x, y| {
        let mut t = vec![0.0; n];
        times(r, n, x, &mut t);
        transposed_times(r, n, &t, y);
    })?
    .sqrt();
    if (0..n).any(|i| r[i * n + i] == 0.0 || !r[i * n + i].is_finite()) {
        return Some((largest, 0.0));
    }
    let inverse_square = largest_eigenvalue(n, |x, y| {
        y.copy_from_slice(&back_substitute(r, n, &forward_substitute_transposed(r, n, x)));
    })?;
    let smallest = if inverse_square.is_finite() && inverse_square > 0.0 { 1.0 / inverse_square.sqrt() } else { 0.0 };
    Some((largest, smallest))
}

/// y = R·x, row by row.
fn times(r: &[f64], n: usize, x: &[f64], y: &mut [f64]) {
    for (i, yi) in y.iter_mut().enumerate() {
        *yi = r[i * n + i..(i + 1) * n].iter().zip(&x[i..]).map(|(a, b)| a * b).sum();
    }
}

/// y = Rᵀ·x, row by row (each row of R scaled into y).
fn transposed_times(r: &[f64], n: usize, x: &[f64], y: &mut [f64]) {
    y.fill(0.0);
    for (i, &xi) in x.iter().enumerate() {
        for (yj, &a) in y[i..].iter_mut().zip(&r[i * n + i..(i + 1) * n]) {
            *yj += a * xi;
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The largest eigenvalue of the symmetric positive semidefinite operator
/// `apply` (y = M·x) on n-vectors, or `None` when it did not converge.
fn largest_eigenvalue(n: usize, mut apply: impl FnMut(&[f64], &mut [f64])) -> Option<f64> {
    // A fixed start with a component along every direction (no zero entries, no pattern).
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut q: Vec<f64> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            0.5 + (state >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect();
    let norm = dot(&q, &q).sqrt();
    q.iter_mut().for_each(|v| *v /= norm);
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let (mut alpha, mut beta) = (Vec::new(), Vec::new());
    let mut w = vec![0.0; n];
    for step in 1..=MAX_STEPS.min(n) {
        if crate::cancel::requested() {
            return None;
        }
        apply(&q, &mut w);
        let a = dot(&q, &w);
        basis.push(q);
        // Gram–Schmidt twice against every earlier vector: T_m stays the true projection.
        for _ in 0..2 {
            for b in &basis {
                let c = dot(b, &w);
                w.iter_mut().zip(b).for_each(|(wi, bi)| *wi -= c * bi);
            }
        }
        let b = dot(&w, &w).sqrt();
        alpha.push(a);
        beta.push(b);
        let exhausted = b <= f64::EPSILON * a.abs() || step == n;
        if exhausted || step % CHECK_EVERY == 0 {
            let theta = tridiagonal_largest(&alpha, &beta[..step - 1]);
            let last = last_eigenvector_component(&alpha, &beta[..step - 1], theta);
            if !theta.is_finite() {
                return None;
            }
            if exhausted || b * last.abs() <= TOLERANCE * theta {
                return Some(theta);
            }
        }
        q = w.iter().map(|v| v / b).collect();
    }
    None
}

/// Eigenvalues below x of the symmetric tridiagonal (diagonal `a`, off-diagonal `b`): Sturm count.
fn count_below(a: &[f64], b: &[f64], x: f64, pivmin: f64) -> usize {
    let mut count = 0;
    let mut d = 1.0;
    for i in 0..a.len() {
        let off = if i > 0 { b[i - 1] * b[i - 1] / d } else { 0.0 };
        d = a[i] - x - off;
        if d.abs() < pivmin {
            d = -pivmin;
        }
        if d < 0.0 {
            count += 1;
        }
    }
    count
}

/// The largest eigenvalue of the tridiagonal, by bisection to full precision.
fn tridiagonal_largest(a: &[f64], b: &[f64]) -> f64 {
    let m = a.len();
    let bound = (0..m).map(|i| a[i].abs() + if i > 0 { b[i - 1].abs() } else { 0.0 } + if i + 1 < m { b[i].abs() } else { 0.0 }).fold(0.0, f64::max);
    let pivmin = f64::MIN_POSITIVE * bound.max(1.0);
    let (mut lo, mut hi) = (-bound - pivmin, bound + pivmin);
    for _ in 0..128 {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        if count_below(a, b, mid, pivmin) == m {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    lo + (hi - lo) / 2.0
}

/// The last entry of the unit eigenvector of the tridiagonal for the
/// eigenvalue `theta`: inverse iteration, solving (T − θ·I)·x = x with
/// Gaussian elimination with partial pivoting (a tridiagonal stays banded).
fn last_eigenvector_component(a: &[f64], b: &[f64], theta: f64) -> f64 {
    let m = a.len();
    if m == 1 {
        return 1.0;
    }
    let scale = a.iter().chain(b).fold(0.0f64, |s, v| s.max(v.abs())).max(f64::MIN_POSITIVE);
    let mut x = vec![1.0; m];
    for _ in 0..3 {
        // Rows of the upper triangle after elimination: diagonal, first and second superdiagonal.
        let (mut d, mut u1, mut u2) = (vec![0.0; m], vec![0.0; m], vec![0.0; m]);
        let mut rhs = x.clone();
        let (mut cur_d, mut cur_u1) = (a[0] - theta, b[0]);
        for i in 0..m - 1 {
            let (low, next_d, next_u1) = (b[i], a[i + 1] - theta, if i + 2 < m { b[i + 1] } else { 0.0 });
            if cur_d.abs() >= low.abs() {
                let pivot = if cur_d == 0.0 { f64::EPSILON * scale } else { cur_d };
                let l = low / pivot;
                (d[i], u1[i], u2[i]) = (pivot, cur_u1, 0.0);
                rhs[i + 1] -= l * rhs[i];
                (cur_d, cur_u1) = (next_d - l * cur_u1, next_u1);
            } else {
                let l = cur_d / low;
                (d[i], u1[i], u2[i]) = (low, next_d, next_u1);
                let (ri, rn) = (rhs[i], rhs[i + 1]);
                (rhs[i], rhs[i + 1]) = (rn, ri - l * rn);
                (cur_d, cur_u1) = (cur_u1 - l * next_d, -l * next_u1);
            }
        }
        d[m - 1] = if cur_d == 0.0 { f64::EPSILON * scale } else { cur_d };
        for i in (0..m).rev() {
            let mut s = rhs[i];
            if i + 1 < m {
                s -= u1[i] * x[i + 1];
            }
            if i + 2 < m {
                s -= u2[i] * x[i + 2];
            }
            x[i] = s / d[i];
        }
        let norm = dot(&x, &x).sqrt();
        if !norm.is_finite() || norm == 0.0 {
            return f64::INFINITY;
        }
        x.iter_mut().for_each(|v| *v /= norm);
    }
    x[m - 1]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::matrix_with_singular_values;

    /// The R factor of a matrix with singular values `sigma` (they are R's too).
    pub(crate) fn triangle_with(sigma: &[f64], seed: u64) -> Vec<f64> {
        let n = sigma.len();
        let a = matrix_with_singular_values(sigma, seed);
        let mut block = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                block[j * n + i] = a[i * n + j];
            }
        }
        let mut t = crate::tsqr::Triangle::<f64>::zeros(n);
        t.absorb_in_place(&mut block, n);
        t.entries().to_vec()
    }

    #[test]
    fn finds_known_extremes_to_their_tolerance() {
        for (seed, n, spread) in [(1, 40, 1e3f64), (2, 120, 1e8), (3, 200, 10.0)] {
            // Clustered near both ends, as the spectra of random designs are.
            let sigma: Vec<f64> = (0..n).map(|i| spread.powf(-(i as f64) / (n - 1) as f64) * (1.0 + 0.01 * (i % 3) as f64)).collect();
            let (max, min) = (sigma.iter().cloned().fold(0.0, f64::max), sigma.iter().cloned().fold(f64::INFINITY, f64::min));
            let r = triangle_with(&sigma, seed);
            let (largest, smallest) = triangle_extremes(&r, n).expect("converges");
            assert!((largest / max - 1.0).abs() < 1e-9, "n={n}: σ_max {largest} vs {max}");
            assert!((smallest / min - 1.0).abs() < 1e-9 * spread.sqrt(), "n={n}: σ_min {smallest} vs {min}");
        }
    }

    #[test]
    fn a_zero_on_the_diagonal_is_singular() {
        let r = vec![1.0, 2.0, 0.0, 0.0];
        assert_eq!(triangle_extremes(&r, 2).map(|(_, min)| min), Some(0.0));
    }
}
