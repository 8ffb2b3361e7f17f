//! Solves with an upper triangle R and its inverse, in the scalar of the
//! factor. Triangles are row-major n × n slices whose entries below the
//! diagonal are never read. Each sum runs in one fixed order (written out in
//! each function), so a result does not depend on who asked for it.

use crate::disjoint::Disjoint;
use crate::error::CoreError;
use crate::scalar::Scalar;
use crate::tsqr::WIDE_COLUMNS;

/// x_a of R x = b once x_{a+1..} are known: (b_a − Σ R[a,c]·x_c) / R[a,a],
/// the sum in increasing c. `row` is R[a, a..], `later` is x_{a+1..}.
#[inline]
pub(crate) fn back_substitute_row<T: Scalar>(row: &[T], later: &[T], b: T) -> T {
    let mut s = b;
    for (&r, &x) in row[1..].iter().zip(later) {
        s = s - r * x;
    }
    s / row[0]
}

/// x with R x = b, for R the leading b.len() × b.len() block of the n × n
/// triangle `r`.
pub(crate) fn back_substitute<T: Scalar>(r: &[T], n: usize, b: &[T]) -> Vec<T> {
    let m = b.len();
    let mut x = vec![T::default(); m];
    for a in (0..m).rev() {
        x[a] = back_substitute_row(&r[a * n + a..a * n + m], &x[a + 1..], b[a]);
    }
    x
}

/// w with Rᵀ w = v: w_a = (v_a − Σ_{c<a} R[c,a]·w_c) / R[a,a], the sum in
/// increasing c. Each solved w_c is swept down row c of R at once, so R is
/// read along its rows (a wide triangle does not fit in cache column-wise);
/// every w_a takes the same operations in the same order.
pub(crate) fn forward_substitute_transposed<T: Scalar>(r: &[T], n: usize, v: &[T]) -> Vec<T> {
    let mut w = v.to_vec();
    for c in 0..n {
        w[c] = w[c] / r[c * n + c];
        let solved = w[c];
        for (wa, &rca) in w[c + 1..].iter_mut().zip(&r[c * n + c + 1..(c + 1) * n]) {
            *wa = *wa - rca * solved;
        }
    }
    w
}

/// R⁻¹ (upper triangular, row-major, zeros below the diagonal). Column c is
/// the back substitution of e_c through R's leading (c+1) × (c+1) block,
/// each sum in increasing order as [`back_substitute_row`] takes it; the
/// columns advance together, a row at a time, so the inner loop runs along
/// rows of R⁻¹ (cache lines, vector lanes) with the same operations. Columns
/// are independent: a wide inverse is shared out in runs of columns of about
/// equal work, on every core, with the same bits. The one O(n³) step of a
/// solve, so it stops between rows when asked to.
pub(crate) fn inverse<T: Scalar>(r: &[T], n: usize) -> Result<Vec<T>, CoreError> {
    let mut inverse = vec![T::default(); n * n];
    let threads = if n >= WIDE_COLUMNS { std::thread::available_parallelism().map_or(1, |t| t.get()) } else { 1 };
    // Column c costs about c²/2: run i ends where the cumulative c³/6 reaches i/threads of the total.
    let ends: Vec<usize> = (1..=threads).map(|i| ((i as f64 / threads as f64).cbrt() * n as f64).round() as usize).collect();
    // Each run writes its own columns only.
    let shared = Disjoint::new(&mut inverse);
    let run = |first: usize, end: usize| -> Result<(), CoreError> {
        let mut sums = vec![T::default(); end - first];
        for a in (0..end).rev() {
            crate::cancel::check()?;
            // Sums of columns max(a, first)..end, as back substitution of each e_c forms them.
            let from = a.max(first);
            let sums = &mut sums[from - first..];
            sums.fill(T::default());
            if a >= first {
                sums[0] = T::from_f64(1.0);
            }
            for j in a + 1..end {
                let coefficient = r[a * n + j];
                let start = j.max(from);
                // SAFETY: row j of R⁻¹, columns start..end, is inside the n × n matrix and
                // only this run writes those columns (it wrote row j before row a < j).
                let row = unsafe { std::slice::from_raw_parts(shared.entry(j * n + start), end - start) };
                for (s, &x) in sums[start - from..].iter_mut().zip(row) {
                    *s = *s - coefficient * x;
                }
            }
            let diagonal = r[a * n + a];
            // SAFETY: as above, for row a.
            let row = unsafe { std::slice::from_raw_parts_mut(shared.entry(a * n + from), end - from) };
            for (x, &s) in row.iter_mut().zip(sums.iter()) {
                *x = s / diagonal;
            }
        }
        Ok(())
    };
    if threads == 1 {
        run(0, n)?;
    } else {
        std::thread::scope(|scope| {
            let runs: Vec<_> = ends
                .iter()
                .enumerate()
                .map(|(i, &end)| (if i == 0 { 0 } else { ends[i - 1] }, end))
                .filter(|(first, end)| first < end)
                .map(|(first, end)| scope.spawn(move || run(first, end)))
                .collect();
            runs.into_iter().try_for_each(|handle| handle.join().expect("an inverse thread panicked"))
        })?;
    }
    Ok(inverse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dd::Dd;
    use crate::testing::Lcg;

    fn random_triangle(rng: &mut Lcg, n: usize) -> Vec<f64> {
        let mut r = vec![0.0; n * n];
        for a in 0..n {
            for c in a..n {
                r[a * n + c] = if a == c { 1.0 + rng.uniform() } else { rng.normal() };
            }
        }
        r
    }

    fn times(r: &[f64], n: usize, x: &[f64]) -> Vec<f64> {
        (0..n).map(|a| (a..n).map(|c| r[a * n + c] * x[c]).sum()).collect()
    }

    #[test]
    fn solves_and_inverse_agree_with_products() {
        let mut rng = Lcg::new(3);
        let n = 7;
        let r = random_triangle(&mut rng, n);
        let b: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let x = back_substitute(&r, n, &b);
        for (got, want) in times(&r, n, &x).iter().zip(&b) {
            assert!((got - want).abs() <= 1e-12, "{got} vs {want}");
        }
        let w = forward_substitute_transposed(&r, n, &b);
        for a in 0..n {
            let got: f64 = (0..=a).map(|c| r[c * n + a] * w[c]).sum();
            assert!((got - b[a]).abs() <= 1e-12, "{got} vs {}", b[a]);
            // Swept along rows, each w_a still takes v_a − R[0,a]·w_0 − R[1,a]·w_1 − …, then / R[a,a].
            let mut s = b[a];
            for c in 0..a {
                s -= r[c * n + a] * w[c];
            }
            assert_eq!((s / r[a * n + a]).to_bits(), w[a].to_bits(), "w[{a}]");
        }
        let inv = inverse(&r, n).unwrap();
        for a in 0..n {
            for c in 0..n {
                let got: f64 = (0..n).map(|m| r[a * n + m] * inv[m * n + c]).sum();
                assert!((got - f64::from(u8::from(a == c))).abs() <= 1e-12, "(R R⁻¹)[{a},{c}] = {got}");
                if c < a {
                    assert_eq!(inv[a * n + c], 0.0);
                }
            }
        }
        // The leading block alone: the first 3 unknowns of a 3 × 3 system.
        let lead = back_substitute(&r, n, &b[..3]);
        let mut small = vec![0.0; 9];
        for a in 0..3 {
            small[a * 3..a * 3 + 3].copy_from_slice(&r[a * n..a * n + 3]);
        }
        assert_eq!(lead, back_substitute(&small, 3, &b[..3]));
    }

    /// Columns `columns` of R⁻¹ against the back substitution of each e_c, bit for bit.
    fn inverse_is_back_substitution(n: usize, seed: u64, columns: &[usize]) {
        let r = random_triangle(&mut Lcg::new(seed), n);
        let inv = inverse(&r, n).unwrap();
        for &c in columns {
            let mut unit = vec![0.0; c + 1];
            unit[c] = 1.0;
            let column = back_substitute(&r, n, &unit);
            for a in 0..n {
                let want = if a <= c { column[a] } else { 0.0 };
                assert_eq!(inv[a * n + c].to_bits(), want.to_bits(), "R⁻¹[{a},{c}] of {n} × {n}");
            }
        }
    }

    #[test]
    fn the_inverse_is_the_back_substitution_of_each_unit_vector_bit_for_bit() {
        inverse_is_back_substitution(37, 8, &(0..37).collect::<Vec<_>>());
        // A wide one, shared out over the cores in runs of columns.
        let n = WIDE_COLUMNS + 9;
        inverse_is_back_substitution(n, 12, &[0, 1, n / 2, n - 2, n - 1]);
    }

    #[test]
    fn double_double_solves_to_its_own_precision() {
        // x0 = 1 + 2^-60 is beyond f64: the solve must carry it.
        let tiny = Dd::from(2f64.powi(-60));
        let r = [Dd::from(1.0), Dd::from(1.0), Dd::ZERO, Dd::from(1.0)];
        let x = back_substitute(&r, 2, &[Dd::from(2.0) + tiny, Dd::from(1.0)]);
        assert_eq!(x[1].to_f64(), 1.0);
        assert_eq!((x[0] - Dd::from(1.0)).to_f64(), tiny.to_f64());
    }
}
