//! Singular values of small dense matrices by one-sided Jacobi rotations
//! (Hestenes), which computes even tiny singular values to high relative
//! accuracy; used for condition numbers of the k x k factor, never on data.

/// Singular values of the `rows x cols` row-major matrix `a`, largest first.
pub fn singular_values(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    assert_eq!(a.len(), rows * cols, "matrix must be rows x cols");
    // Work on columns: u[j] is column j.
    let mut u: Vec<Vec<f64>> = (0..cols).map(|j| (0..rows).map(|i| a[i * cols + j]).collect()).collect();
    for _sweep in 0..60 {
        // A stopped job does not wait for the sweeps (its caller checks and refuses the result).
        if crate::cancel::requested() {
            break;
        }
        let mut rotated = false;
        for p in 0..cols {
            for q in (p + 1)..cols {
                let (alpha, beta, gamma) = u[p].iter().zip(&u[q]).fold((0.0, 0.0, 0.0), |(a, b, g), (x, y)| (a + x * x, b + y * y, g + x * y));
                if gamma == 0.0 || gamma.abs() <= f64::EPSILON * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                let (left, right) = u.split_at_mut(q);
                for (x, y) in left[p].iter_mut().zip(right[0].iter_mut()) {
                    let (xp, yq) = (*x, *y);
                    *x = c * xp - s * yq;
                    *y = s * xp + c * yq;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let mut values: Vec<f64> = u.iter().map(|col| col.iter().map(|x| x * x).sum::<f64>().sqrt()).collect();
    values.sort_by(|a, b| b.total_cmp(a));
    values
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
    let values = singular_values(a, rows, cols);
    match (values.first(), values.last()) {
        (Some(&max), Some(&min)) if min > 0.0 => max / min,
        (Some(_), Some(_)) => f64::INFINITY,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_singular_values() {
        // diag(3, 2) rotated by 45 degrees on the left keeps its singular values.
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let a = [3.0 * h, -2.0 * h, 3.0 * h, 2.0 * h];
        let s = singular_values(&a, 2, 2);
        assert!((s[0] - 3.0).abs() < 1e-14 && (s[1] - 2.0).abs() < 1e-14, "{s:?}");
        assert!((condition_number(&a, 2, 2) - 1.5).abs() < 1e-14);
        assert_eq!(condition_number(&[1.0, 2.0, 2.0, 4.0], 2, 2), f64::INFINITY);
    }

    #[test]
    fn tiny_singular_values_keep_relative_accuracy() {
        // Upper triangular with singular values spread over 12 orders.
        let a = [1.0, 1.0, 0.0, 0.0, 1e-6, 1e-6, 0.0, 0.0, 1e-12];
        let s = singular_values(&a, 3, 3);
        let product: f64 = s.iter().product();
        assert!((product / 1e-18 - 1.0).abs() < 1e-12, "det = {product}");
    }
}
