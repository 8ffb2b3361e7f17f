//! Non-negative least squares, min ‖z − Rb‖² subject to b ≥ 0, by Lawson and
//! Hanson's active-set method (Solving Least Squares Problems, 1974, ch. 23).
//!
//! The passive set P (the coefficients free to move) grows by the column
//! whose dual w = Rᵀ(z − Rb) is largest and shrinks where the least-squares
//! solution on P leaves the feasible set. Its factor is kept up to date with
//! Givens rotations of the whole working copy of R (so Qᵀ[R z] is held, never
//! Q): adding or dropping a column costs O(p²), not a new factorisation.

use super::{Problem, DEPENDENT};
use crate::CoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct NonNegativeSolution {
    /// Exactly 0.0 where the bound holds.
    pub coefficients: Vec<f64>,
    /// Whether the constraint b_j ≥ 0 is active: b_j = 0 and the column is
    /// out of the passive set.
    pub at_bound: Vec<bool>,
    /// Columns tried for the passive set plus steps back to feasibility; 0
    /// when the unconstrained solution was already feasible.
    pub iterations: usize,
}

/// Minimises ‖z − Rb‖² subject to b ≥ 0. When the unconstrained least-squares
/// solution is already ≥ 0 (and R is not near singular) it is the answer, as
/// back substitution computes it.
pub fn non_negative(problem: &Problem) -> Result<NonNegativeSolution, CoreError> {
    let p = problem.size()?;
    let norms = problem.column_norms();
    if (0..p).all(|j| problem.r(j, j).abs() > DEPENDENT * norms[j]) {
        let mut b = problem.target.to_vec();
        for i in (0..p).rev() {
            let s: f64 = (i + 1..p).map(|k| problem.r(i, k) * b[k]).sum();
            b[i] = (b[i] - s) / problem.r(i, i);
        }
        if b.iter().all(|&v| v >= 0.0) {
            let coefficients: Vec<f64> = b.into_iter().map(|v| v + 0.0).collect();
            let at_bound = coefficients.iter().map(|&v| v == 0.0).collect();
            return Ok(NonNegativeSolution { coefficients, at_bound, iterations: 0 });
        }
    }
    // The dual of an optimum is ≤ 0 off P; this is its rounding error, |R_jᵀ r| with ‖r‖ ≤ ‖z‖ summed over p terms.
    let z_norm = problem.target.iter().map(|v| v * v).sum::<f64>().sqrt();
    let tolerance = 10.0 * p as f64 * f64::EPSILON * norms.iter().fold(0.0_f64, |m, &v| m.max(v)) * z_norm;
    let cap = 10 * p + 10;
    let mut work = Working::new(problem);
    let mut b = vec![0.0; p];
    let mut iterations = 0;
    // Lawson and Hanson's guard: a column whose trial coefficient is ≤ 0 (rounding, since its dual is > 0) waits for P to change.
    let mut refused = vec![false; p];
    loop {
        let dual = problem.transpose_times(&problem.residual(&b));
        let candidates = (0..p).filter(|&j| !work.passive[j] && !refused[j] && dual[j] > tolerance);
        let Some(t) = candidates.max_by(|&i, &j| dual[i].total_cmp(&dual[j]).then(j.cmp(&i))) else {
            break;
        };
        iterations += 1;
        if iterations > cap {
            return Err(not_converged(cap));
        }
        if !work.add(t, norms[t]) {
            refused[t] = true;
            continue;
        }
        let mut s = work.solve();
        if *s.last().expect("t was just added") <= 0.0 {
            work.remove(work.order.len() - 1);
            refused[t] = true;
            continue;
        }
        refused.fill(false);
        while s.iter().any(|&v| v <= 0.0) {
            iterations += 1;
            if iterations > cap {
                return Err(not_converged(cap));
            }
            // Back along the segment from b to s until the first coefficient reaches 0.
            let ratios: Vec<f64> = (0..s.len())
                .map(|i| {
                    let bj = b[work.order[i]];
                    if s[i] <= 0.0 {
                        bj / (bj - s[i])
                    } else {
                        f64::INFINITY
                    }
                })
                .collect();
            let alpha = ratios.iter().fold(1.0_f64, |m, &r| m.min(r));
            for (i, &j) in work.order.iter().enumerate() {
                b[j] += alpha * (s[i] - b[j]);
            }
            for i in (0..s.len()).rev() {
                let j = work.order[i];
                if ratios[i] <= alpha || b[j] <= 0.0 {
                    b[j] = 0.0;
                    work.remove(i);
                }
            }
            s = work.solve();
        }
        b.fill(0.0);
        for (&j, &v) in work.order.iter().zip(&s) {
            b[j] = v;
        }
    }
    work.refine(problem, &mut b);
    let at_bound = (0..p).map(|j| !work.passive[j]).collect();
    Ok(NonNegativeSolution { coefficients: b.into_iter().map(|v| v + 0.0).collect(), at_bound, iterations })
}

fn not_converged(cap: usize) -> CoreError {
    CoreError::InvalidArgument(format!(
        "non-negative least squares did not converge in {cap} changes of its active set; the features are too collinear: drop collinear features"
    ))
}

/// Qᵀ[R z] for the rotations so far: the columns `order` (P, in pivot order)
/// are upper-triangular in its first |P| rows and zero below them.
struct Working {
    p: usize,
    /// p x p row-major.
    w: Vec<f64>,
    qz: Vec<f64>,
    order: Vec<usize>,
    passive: Vec<bool>,
}

impl Working {
    fn new(problem: &Problem) -> Working {
        let p = problem.target.len();
        let mut w = vec![0.0; p * p];
        for i in 0..p {
            for j in i..p {
                w[i * p + j] = problem.r(i, j);
            }
        }
        Working { p, w, qz: problem.target.to_vec(), order: Vec::new(), passive: vec![false; p] }
    }

    /// Rotates rows i and i + 1 so that entry (i + 1, column) becomes 0.
    fn rotate(&mut self, i: usize, column: usize) {
        let p = self.p;
        let (a, b) = (self.w[i * p + column], self.w[(i + 1) * p + column]);
        if b == 0.0 {
            return;
        }
        let r = (a * a + b * b).sqrt();
        let (c, s) = (a / r, b / r);
        let (upper, lower) = self.w.split_at_mut((i + 1) * p);
        for (x, y) in upper[i * p..].iter_mut().zip(&mut lower[..p]) {
            let (u, v) = (*x, *y);
            *x = c * u + s * v;
            *y = c * v - s * u;
        }
        let (u, v) = (self.qz[i], self.qz[i + 1]);
        self.qz[i] = c * u + s * v;
        self.qz[i + 1] = c * v - s * u;
        self.w[i * p + column] = r;
        self.w[(i + 1) * p + column] = 0.0;
    }

    /// Moves column t into P unless it is (numerically) a combination of P's
    /// columns. Rotations below P's rows leave P's columns alone, so a refusal
    /// needs no undoing.
    fn add(&mut self, t: usize, norm: f64) -> bool {
        let k = self.order.len();
        for i in (k..self.p - 1).rev() {
            self.rotate(i, t);
        }
        if self.w[k * self.p + t].abs() <= DEPENDENT * norm {
            return false;
        }
        self.order.push(t);
        self.passive[t] = true;
        true
    }

    /// Drops the column at position `at` of P; the columns after it, now one
    /// row below the diagonal, are rotated back up.
    fn remove(&mut self, at: usize) {
        let j = self.order.remove(at);
        self.passive[j] = false;
        for i in at..self.order.len() {
            self.rotate(i, self.order[i]);
        }
    }

    /// The least-squares coefficients on P, in P's order.
    fn solve(&self) -> Vec<f64> {
        let mut s = self.qz[..self.order.len()].to_vec();
        self.upper(&mut s);
        s
    }

    /// x ← T⁻¹x, T = P's columns in the first |P| rows.
    fn upper(&self, x: &mut [f64]) {
        let (p, m) = (self.p, x.len());
        for i in (0..m).rev() {
            let s: f64 = (i + 1..m).map(|k| self.w[i * p + self.order[k]] * x[k]).sum();
            x[i] = (x[i] - s) / self.w[i * p + self.order[i]];
        }
    }

    /// x ← T⁻ᵀx.
    fn transposed(&self, x: &mut [f64]) {
        let (p, m) = (self.p, x.len());
        for i in 0..m {
            let s: f64 = (0..i).map(|k| self.w[k * p + self.order[i]] * x[k]).sum();
            x[i] = (x[i] - s) / self.w[i * p + self.order[i]];
        }
    }

    /// Two steps of refinement on P against the compensated residual of the
    /// original R, undoing the rounding that the rotations accumulated; a step
    /// that would leave the feasible set (a coefficient at rounding level) is
    /// not taken.
    fn refine(&self, problem: &Problem, b: &mut [f64]) {
        for _ in 0..2 {
            let g = problem.transpose_times(&problem.residual(b));
            let mut d: Vec<f64> = self.order.iter().map(|&j| g[j]).collect();
            self.transposed(&mut d);
            self.upper(&mut d);
            if self.order.iter().zip(&d).any(|(&j, &d)| b[j] + d <= 0.0) {
                return;
            }
            for (&j, &d) in self.order.iter().zip(&d) {
                b[j] += d;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::fixtures::Data;
    use crate::testing::Lcg;

    /// The minimum over every subset S whose least-squares solution on S is ≥ 0.
    fn brute_force(data: &Data) -> Vec<f64> {
        let p = data.p;
        let mut best = (f64::INFINITY, vec![0.0; p]);
        for mask in 0..1u32 << p {
            let subset: Vec<usize> = (0..p).filter(|&j| mask >> j & 1 == 1).collect();
            let b = data.least_squares_on(&subset, &vec![0.0; p]);
            if b.iter().all(|&v| v >= 0.0) {
                let loss = data.loss(&b);
                if loss < best.0 {
                    best = (loss, b);
                }
            }
        }
        best.1
    }

    #[test]
    fn matches_brute_force_over_every_active_set() {
        for p in 1..=8 {
            for seed in 0..6 {
                let n = 30 + 5 * p;
                let mut rng = Lcg::new(1000 * p as u64 + seed);
                let x: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
                // A mix of signs in the truth, so that some bounds hold and some do not.
                let beta: Vec<f64> = (0..p).map(|_| rng.normal()).collect();
                let y = (0..n).map(|i| (0..p).map(|j| x[i * p + j] * beta[j]).sum::<f64>() + rng.normal()).collect();
                let data = Data::new(n, p, x, y);
                let expected = brute_force(&data);
                let solution = non_negative(&data.problem()).unwrap();
                for j in 0..p {
                    assert!((solution.coefficients[j] - expected[j]).abs() <= 1e-10, "p {p} seed {seed}: {solution:?} vs {expected:?}");
                    assert_eq!(solution.at_bound[j], expected[j] == 0.0, "p {p} seed {seed}: {solution:?}");
                    assert_eq!(solution.at_bound[j], solution.coefficients[j].to_bits() == 0);
                }
            }
        }
    }

    #[test]
    fn a_nonnegative_least_squares_solution_is_the_answer() {
        let (n, p) = (60, 10);
        let mut rng = Lcg::new(4);
        let x: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
        let y = (0..n).map(|i| (0..p).map(|j| x[i * p + j] * (1.0 + j as f64)).sum::<f64>() + 0.1 * rng.normal()).collect();
        let data = Data::new(n, p, x, y);
        let all: Vec<usize> = (0..p).collect();
        let expected = data.least_squares_on(&all, &[0.0; 10]);
        let solution = non_negative(&data.problem()).unwrap();
        assert_eq!(solution.iterations, 0);
        assert!(solution.at_bound.iter().all(|&a| !a));
        for (got, want) in solution.coefficients.iter().zip(&expected) {
            assert!((got - want).abs() <= 1e-12 * want.abs(), "{got} vs {want}");
        }
    }

    #[test]
    fn one_coefficient() {
        let solve = |r: f64, z: f64| non_negative(&Problem { triangle: &[r], target: &[z], rows: 5.0 }).unwrap();
        assert_eq!(solve(2.0, 3.0).coefficients, vec![1.5]);
        assert_eq!(solve(-2.0, -3.0).coefficients, vec![1.5]);
        for (r, z) in [(-2.0, 3.0), (2.0, -3.0), (0.0, 3.0), (2.0, 0.0), (0.0, 0.0)] {
            let solution = solve(r, z);
            assert_eq!(solution.coefficients[0].to_bits(), 0, "{r} {z}: {solution:?}");
            assert!(solution.at_bound[0]);
        }
        assert!(!solve(2.0, 3.0).at_bound[0]);
        let empty = non_negative(&Problem { triangle: &[], target: &[], rows: 1.0 }).unwrap();
        assert!(empty.coefficients.is_empty() && empty.at_bound.is_empty());
    }

    #[test]
    fn a_response_against_every_column_gives_zeros() {
        let (n, p) = (40, 6);
        let mut rng = Lcg::new(8);
        let x: Vec<f64> = (0..n * p).map(|_| 0.1 + rng.uniform()).collect();
        let y = (0..n).map(|i| -(0..p).map(|j| x[i * p + j] * rng.uniform()).sum::<f64>()).collect();
        let data = Data::new(n, p, x, y);
        let solution = non_negative(&data.problem()).unwrap();
        assert!(solution.coefficients.iter().all(|v| v.to_bits() == 0), "{solution:?}");
        assert!(solution.at_bound.iter().all(|&a| a));
        assert_eq!(solution.iterations, 0);
    }

    /// Duplicated and nearly collinear columns: the optimality conditions hold
    /// (the dual is ≤ 0 at the bound and 0 off it) though the answer is not unique.
    #[test]
    fn collinear_columns_satisfy_the_optimality_conditions() {
        for seed in 0..8 {
            let (n, p) = (50, 9);
            let mut rng = Lcg::new(50 + seed);
            let mut x: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
            for i in 0..n {
                x[i * p + 4] = x[i * p + 1];
                x[i * p + 7] = x[i * p + 2] + 1e-7 * rng.normal();
            }
            let data = Data::with_response(&mut rng, n, p, x);
            let solution = non_negative(&data.problem()).unwrap();
            let dual = data.gradient(&solution.coefficients);
            let scale = data.gradient(&vec![0.0; p]).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            for j in 0..p {
                assert!(solution.coefficients[j] >= 0.0);
                if solution.at_bound[j] {
                    assert!(dual[j] <= 1e-9 * scale, "seed {seed}, {j}: {solution:?} {dual:?}");
                } else {
                    assert!(dual[j].abs() <= 1e-9 * scale, "seed {seed}, {j}: {solution:?} {dual:?}");
                }
            }
            assert_eq!(non_negative(&data.problem()).unwrap(), solution);
        }
    }

    #[test]
    fn bad_problems_are_refused() {
        let bad = Problem { triangle: &[1.0, f64::NAN, 0.0, 1.0], target: &[1.0, 2.0], rows: 2.0 };
        assert!(matches!(non_negative(&bad), Err(CoreError::InvalidArgument(m)) if m.contains("(0, 1)")));
        let ragged = Problem { triangle: &[1.0, 2.0, 3.0], target: &[1.0, 2.0], rows: 2.0 };
        assert!(matches!(non_negative(&ragged), Err(CoreError::InvalidArgument(_))));
    }

    /// `cargo test --release -p linear_core estimate::nnls::tests::timings -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timings() {
        for p in [10, 100, 500] {
            let data = Data::random(p as u64, 2 * p + 50, p);
            let start = std::time::Instant::now();
            let solution = non_negative(&data.problem()).unwrap();
            let free = solution.at_bound.iter().filter(|&&a| !a).count();
            println!("p {p:4}: {:5} iterations, {free:4} free, {:?}", solution.iterations, start.elapsed());
        }
    }
}
