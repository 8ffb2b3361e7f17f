//! Penalised and constrained estimators over the reduced least-squares
//! problem that a QR factor leaves: an upper-triangular p x p matrix R and a
//! vector z with ‖y − Xb‖² = ‖z − Rb‖² + (a constant), so nothing here needs
//! the rows again. [`elastic_net`] solves the lasso / ridge / elastic-net
//! problem, [`non_negative`] least squares with b ≥ 0.
//!
//! Both evaluate their optimality conditions from R and z with a compensated
//! residual z − Rb, so an ill-conditioned R costs accuracy only through the
//! coefficients themselves, never through the cancellation in forming it.

mod elastic_net;
mod nnls;

pub use elastic_net::{elastic_net, l1_max, ElasticNetSolution};
pub use nnls::{non_negative, NonNegativeSolution};

use crate::dd::{two_prod, two_sum};
use crate::CoreError;

/// The reduced problem: ‖z − Rb‖² over b, for data of `rows` rows.
#[derive(Clone, Copy, Debug)]
pub struct Problem<'a> {
    /// R, p x p row-major; only the entries on and above the diagonal are read.
    /// Zero or tiny diagonal entries (collinear columns) are allowed.
    pub triangle: &'a [f64],
    /// z, length p.
    pub target: &'a [f64],
    /// n, the data's row count: the penalties are per row, (1/(2n))‖z − Rb‖².
    pub rows: f64,
}

impl Problem<'_> {
    /// p, once the shapes agree and every value read is finite.
    fn size(&self) -> Result<usize, CoreError> {
        let p = self.target.len();
        if p.checked_mul(p) != Some(self.triangle.len()) {
            return Err(CoreError::InvalidArgument(format!(
                "the triangle has {} entries but the target has {p}, so it must have {p} x {p}",
                self.triangle.len()
            )));
        }
        if !(self.rows.is_finite() && self.rows > 0.0) {
            return Err(CoreError::InvalidArgument(format!("the row count must be a finite number > 0, got {}", self.rows)));
        }
        for i in 0..p {
            for j in i..p {
                if !self.triangle[i * p + j].is_finite() {
                    return Err(CoreError::InvalidArgument(format!("the triangle's entry ({i}, {j}) is {}", self.triangle[i * p + j])));
                }
            }
        }
        if let Some(i) = self.target.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::InvalidArgument(format!("the target's entry {i} is {}", self.target[i])));
        }
        Ok(p)
    }

    #[inline(always)]
    fn r(&self, i: usize, j: usize) -> f64 {
        self.triangle[i * self.target.len() + j]
    }

    /// z − Rb, each entry as a compensated sum (Ogita, Rump & Oishi's Dot2):
    /// as accurate as if computed in twice the precision, then rounded once.
    fn residual(&self, b: &[f64]) -> Vec<f64> {
        let p = self.target.len();
        (0..p)
            .map(|i| {
                let row = &self.triangle[i * p..(i + 1) * p];
                let (mut sum, mut error) = (self.target[i], 0.0);
                for j in i..p {
                    if b[j] != 0.0 {
                        let (product, product_error) = two_prod(row[j], b[j]);
                        let (s, e) = two_sum(sum, -product);
                        sum = s;
                        error += e - product_error;
                    }
                }
                sum + error
            })
            .collect()
    }

    /// Row i of R from the diagonal on.
    #[inline(always)]
    fn row_from_diagonal(&self, i: usize) -> &[f64] {
        let p = self.target.len();
        &self.triangle[i * p + i..(i + 1) * p]
    }

    /// Rᵀv.
    fn transpose_times(&self, v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; v.len()];
        for (i, &vi) in v.iter().enumerate() {
            if vi != 0.0 {
                for (o, r) in out[i..].iter_mut().zip(self.row_from_diagonal(i)) {
                    *o += r * vi;
                }
            }
        }
        out
    }

    /// |R|ᵀv.
    fn transpose_times_abs(&self, v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; v.len()];
        for (i, &vi) in v.iter().enumerate() {
            for (o, r) in out[i..].iter_mut().zip(self.row_from_diagonal(i)) {
                *o += r.abs() * vi;
            }
        }
        out
    }

    /// ‖R column j‖ for every j.
    fn column_norms(&self) -> Vec<f64> {
        let p = self.target.len();
        let mut squares = vec![0.0; p];
        for i in 0..p {
            for (s, r) in squares[i..].iter_mut().zip(self.row_from_diagonal(i)) {
                *s += r * r;
            }
        }
        squares.into_iter().map(f64::sqrt).collect()
    }
}

/// The dependency test both solvers' QR factors share: a column whose part
/// orthogonal to the columns before it is at most this fraction of its norm
/// is left out. Leaving it out moves its gradient by at most this fraction of
/// ‖column‖·‖residual‖, below the elastic net's tolerance of 1e-12.
const DEPENDENT: f64 = 1e-13;

#[cfg(test)]
pub(crate) mod fixtures {
    use crate::testing::Lcg;
    use crate::tsqr::Triangle;

    /// A regression problem kept both ways: `x` (n x p row-major) and `y`,
    /// and the (R, z) of a QR of [X | y].
    pub struct Data {
        pub n: usize,
        pub p: usize,
        pub x: Vec<f64>,
        pub y: Vec<f64>,
        pub r: Vec<f64>,
        pub z: Vec<f64>,
    }

    impl Data {
        pub fn new(n: usize, p: usize, x: Vec<f64>, y: Vec<f64>) -> Data {
            let k = p + 1;
            let mut block = vec![0.0; n * k];
            for i in 0..n {
                for j in 0..p {
                    block[j * n + i] = x[i * p + j];
                }
                block[p * n + i] = y[i];
            }
            let mut triangle = Triangle::<f64>::zeros(k);
            triangle.absorb_in_place(&mut block, n);
            let r = (0..p * p).map(|e| triangle.get(e / p, e % p)).collect();
            let z = (0..p).map(|i| triangle.get(i, p)).collect();
            Data { n, p, x, y, r, z }
        }

        /// Normal x, and y = Xβ + noise with β_j ~ N(0, 1).
        pub fn random(seed: u64, n: usize, p: usize) -> Data {
            let mut rng = Lcg::new(seed);
            let x: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
            Data::with_response(&mut rng, n, p, x)
        }

        pub fn with_response(rng: &mut Lcg, n: usize, p: usize, x: Vec<f64>) -> Data {
            let beta: Vec<f64> = (0..p).map(|_| rng.normal()).collect();
            let y = (0..n).map(|i| (0..p).map(|j| x[i * p + j] * beta[j]).sum::<f64>() + 0.5 * rng.normal()).collect();
            Data::new(n, p, x, y)
        }

        pub fn problem(&self) -> super::Problem<'_> {
            super::Problem { triangle: &self.r, target: &self.z, rows: self.n as f64 }
        }

        /// Xᵀ(y − Xb)/n, straight from the data.
        pub fn gradient(&self, b: &[f64]) -> Vec<f64> {
            let (n, p) = (self.n, self.p);
            let mut g = vec![0.0; p];
            for i in 0..n {
                let row = &self.x[i * p..(i + 1) * p];
                let residual = self.y[i] - row.iter().zip(b).map(|(x, b)| x * b).sum::<f64>();
                for (g, x) in g.iter_mut().zip(row) {
                    *g += x * residual;
                }
            }
            g.iter().map(|v| v / n as f64).collect()
        }

        /// (1/(2n))‖y − Xb‖², straight from the data.
        pub fn loss(&self, b: &[f64]) -> f64 {
            let (n, p) = (self.n, self.p);
            let sum: f64 = (0..n)
                .map(|i| {
                    let e = self.y[i] - (0..p).map(|j| self.x[i * p + j] * b[j]).sum::<f64>();
                    e * e
                })
                .sum();
            sum / (2.0 * n as f64)
        }

        /// The least-squares coefficients on the columns `subset` (others 0),
        /// by the normal equations of X, which are fine for the well-conditioned
        /// designs the tests use them on.
        pub fn least_squares_on(&self, subset: &[usize], ridge: &[f64]) -> Vec<f64> {
            let (n, p, m) = (self.n, self.p, subset.len());
            let mut a = vec![0.0; m * m];
            let mut rhs = vec![0.0; m];
            for (u, &j) in subset.iter().enumerate() {
                for (v, &k) in subset.iter().enumerate() {
                    a[u * m + v] = (0..n).map(|i| self.x[i * p + j] * self.x[i * p + k]).sum::<f64>() / n as f64;
                }
                a[u * m + u] += ridge[j];
                rhs[u] = (0..n).map(|i| self.x[i * p + j] * self.y[i]).sum::<f64>() / n as f64;
            }
            let solution = solve_dense(a, rhs);
            let mut b = vec![0.0; p];
            for (u, &j) in subset.iter().enumerate() {
                b[j] = solution[u];
            }
            b
        }
    }

    /// Gaussian elimination with partial pivoting.
    pub fn solve_dense(mut a: Vec<f64>, mut b: Vec<f64>) -> Vec<f64> {
        let m = b.len();
        for col in 0..m {
            let pivot = (col..m).max_by(|&i, &j| a[i * m + col].abs().total_cmp(&a[j * m + col].abs())).unwrap();
            for k in 0..m {
                a.swap(col * m + k, pivot * m + k);
            }
            b.swap(col, pivot);
            for row in col + 1..m {
                let f = a[row * m + col] / a[col * m + col];
                for k in col..m {
                    a[row * m + k] -= f * a[col * m + k];
                }
                b[row] -= f * b[col];
            }
        }
        for col in (0..m).rev() {
            let s: f64 = (col + 1..m).map(|k| a[col * m + k] * b[k]).sum();
            b[col] = (b[col] - s) / a[col * m + col];
        }
        b
    }
}
