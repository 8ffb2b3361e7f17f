//! The elastic net, min over b of (1/(2n))‖z − Rb‖² + Σ l1_j |b_j| + ½ Σ l2_j b_j²,
//! by cyclic coordinate descent on G = RᵀR/n and c = Rᵀz/n, finished exactly:
//! once a sweep leaves the signs of b unchanged, the KKT conditions on that
//! support are a linear system, solved from the triangle (a QR of
//! [R_A; diag(√(n·l2_A))], so the conditioning is R's, not G's square of it)
//! and refined with a compensated residual. Descent alone would need about
//! κ(G) sweeps on collinear columns; the finishing step needs the right
//! support only, which descent finds long before its coefficients settle.

use super::{Problem, DEPENDENT};
use crate::triangular::{back_substitute, forward_substitute_transposed};
use crate::CoreError;

/// The largest KKT residual accepted, relative to max_j |c_j|.
const TOLERANCE: f64 = 1e-12;

/// Full coordinate-descent sweeps before giving up (glmnet's default).
const MAX_SWEEPS: usize = 100_000;

/// After a finishing step that made no progress, the sweeps before the next
/// one double up to this many, so a support that keeps changing by a little
/// does not pay for a factorisation every sweep.
const MAX_GAP: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct ElasticNetSolution {
    /// Exactly 0.0 where the l1 penalty holds a coefficient at zero.
    pub coefficients: Vec<f64>,
    /// Full coordinate-descent sweeps.
    pub iterations: usize,
    /// The KKT residual of `coefficients`: with g = c − Gb (evaluated as
    /// Rᵀ(z − Rb)/n with a compensated residual, equal in exact arithmetic),
    /// the largest over j of |g_j − l2_j b_j − l1_j sign(b_j)| where b_j ≠ 0 and
    /// max(0, |g_j| − l1_j) where b_j = 0, divided by max(max_j |c_j|, the
    /// smallest normal f64). At most 1e-12, unless collinear columns with
    /// large coefficients put the floor above it: then each coordinate's
    /// violation is at most the change rounding b to f64 can make in g_j,
    /// ε·(|R|ᵀ|R||b|)_j/n (least squares on columns with κ ≈ 1e6 and
    /// coefficients near 3e4 lands at 1.3e-12).
    pub kkt_residual: f64,
}

/// Minimises (1/(2n))‖z − Rb‖² + Σ l1_j |b_j| + ½ Σ l2_j b_j² (l1_j, l2_j ≥ 0).
/// l1 = 0 is ridge regression, l1 = l2 = 0 least squares (with collinear
/// columns, one of its minimisers). `warm_start` is where descent begins
/// (zeros otherwise); the answer does not depend on it beyond the choice
/// among equal minimisers.
pub fn elastic_net(problem: &Problem, l1: &[f64], l2: &[f64], warm_start: Option<&[f64]>) -> Result<ElasticNetSolution, CoreError> {
    let p = problem.size()?;
    check_penalty("l1", l1, p)?;
    check_penalty("l2", l2, p)?;
    let mut b = match warm_start {
        Some(start) if start.len() != p => {
            return Err(CoreError::InvalidArgument(format!("the warm start has {} coefficients, not {p}", start.len())));
        }
        Some(start) if start.iter().any(|v| !v.is_finite()) => {
            return Err(CoreError::InvalidArgument("the warm start's coefficients must be finite".into()));
        }
        Some(start) => start.to_vec(),
        None => vec![0.0; p],
    };
    let c = correlation_at_zero(problem);
    let scale = c.iter().fold(f64::MIN_POSITIVE, |m, v| m.max(v.abs()));
    let gram = gram(problem);
    let mut g = gradient(&c, &gram, &b);
    let mut signs = signs_of(&b, l1);
    let (mut gap, mut since) = (1, 0);
    let mut residual = f64::INFINITY;
    for sweep in 1..=MAX_SWEEPS {
        for j in 0..p {
            let column = &gram[j * p..(j + 1) * p];
            let curvature = column[j] + l2[j];
            // A zero column (with no ridge) has c_j = 0 and any b_j is as good: 0 is the sparse one.
            let updated = if curvature > 0.0 { soft_threshold(g[j] + column[j] * b[j], l1[j]) / curvature } else { 0.0 };
            let delta = updated - b[j];
            if delta != 0.0 {
                b[j] = updated;
                for (gk, &gkj) in g.iter_mut().zip(column) {
                    *gk -= delta * gkj;
                }
            }
        }
        since += 1;
        let now = signs_of(&b, l1);
        let settled = now == signs;
        signs = now;
        if !settled || since < gap {
            continue;
        }
        since = 0;
        let proposal = match finish(problem, &b, l1, l2) {
            Finish::Solved(candidate) => {
                let within;
                (residual, within) = kkt(problem, &candidate, l1, l2, scale);
                if within {
                    let coefficients = candidate.into_iter().map(|v| v + 0.0).collect();
                    return Ok(ElasticNetSolution { coefficients, iterations: sweep, kkt_residual: residual });
                }
                candidate
            }
            Finish::Crossed(step) => step,
        };
        // Descent never raises the objective; a finishing step is taken only where it does not either.
        if objective(problem, &proposal, l1, l2) <= objective(problem, &b, l1, l2) {
            b = proposal;
            g = gradient(&c, &gram, &b);
            signs = signs_of(&b, l1);
            gap = 1;
        } else {
            gap = (2 * gap).min(MAX_GAP);
        }
    }
    Err(CoreError::InvalidArgument(format!(
        "the elastic net did not converge in {MAX_SWEEPS} sweeps (KKT residual {residual:.1e} relative, {TOLERANCE:.0e} needed); \
         the features are too collinear for these penalties: raise l2 or drop collinear features"
    )))
}

/// The smallest common l1 at which every coefficient is 0, for penalties
/// l1_j = l1·w_j: max_j |c_j| / w_j with c = Rᵀz/n, raised by an ulp or two
/// where needed so that l1·w_j ≥ |c_j| holds as the products round.
/// A coordinate with w_j = 0 and c_j ≠ 0 makes it infinite.
///
/// Panics unless `weights` has one entry ≥ 0 per coefficient and the problem
/// is well formed (see [`elastic_net`], which reports those as errors).
pub fn l1_max(problem: &Problem, weights: &[f64]) -> f64 {
    let p = problem.size().unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(weights.len(), p, "one weight per coefficient");
    assert!(weights.iter().all(|w| *w >= 0.0 && w.is_finite()), "weights must be finite and >= 0");
    let c = correlation_at_zero(problem);
    let mut max = 0.0_f64;
    for (cj, w) in c.iter().zip(weights) {
        if *cj != 0.0 {
            max = max.max(cj.abs() / w);
        }
    }
    while max.is_finite() && c.iter().zip(weights).any(|(cj, w)| max * w < cj.abs()) {
        max = f64::from_bits(max.to_bits() + 1);
    }
    max
}

fn check_penalty(name: &str, penalty: &[f64], p: usize) -> Result<(), CoreError> {
    if penalty.len() != p {
        return Err(CoreError::InvalidArgument(format!("{name} has {} entries, not one per coefficient ({p})", penalty.len())));
    }
    match penalty.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        Some(j) => Err(CoreError::InvalidArgument(format!("{name}[{j}] must be a finite number >= 0, got {}", penalty[j]))),
        None => Ok(()),
    }
}

/// c = Rᵀz/n; [`l1_max`] and the descent use these same bits, so l1 = l1_max
/// holds every coefficient at exactly zero.
fn correlation_at_zero(problem: &Problem) -> Vec<f64> {
    problem.transpose_times(problem.target).into_iter().map(|v| v / problem.rows).collect()
}

/// G = RᵀR/n, p x p row-major, in O(p³/6) from the triangle.
fn gram(problem: &Problem) -> Vec<f64> {
    let p = problem.target.len();
    let mut gram = vec![0.0; p * p];
    for k in 0..p {
        for i in k..p {
            let rki = problem.r(k, i);
            if rki != 0.0 {
                for j in i..p {
                    gram[i * p + j] += rki * problem.r(k, j);
                }
            }
        }
    }
    for i in 0..p {
        for j in i..p {
            let v = gram[i * p + j] / problem.rows;
            gram[i * p + j] = v;
            gram[j * p + i] = v;
        }
    }
    gram
}

/// c − Gb.
fn gradient(c: &[f64], gram: &[f64], b: &[f64]) -> Vec<f64> {
    let p = c.len();
    (0..p).map(|i| c[i] - gram[i * p..(i + 1) * p].iter().zip(b).map(|(g, b)| g * b).sum::<f64>()).collect()
}

fn soft_threshold(u: f64, t: f64) -> f64 {
    if u > t {
        u - t
    } else if u < -t {
        u + t
    } else {
        0.0
    }
}

/// The signs that the finishing step assumes: those of the coefficients with l1_j > 0.
fn signs_of(b: &[f64], l1: &[f64]) -> Vec<i8> {
    b.iter()
        .zip(l1)
        .map(|(&v, &l1)| {
            if l1 == 0.0 || v == 0.0 {
                0
            } else if v > 0.0 {
                1
            } else {
                -1
            }
        })
        .collect()
}

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The objective, from the compensated residual.
fn objective(problem: &Problem, b: &[f64], l1: &[f64], l2: &[f64]) -> f64 {
    let r = problem.residual(b);
    let loss = r.iter().map(|v| v * v).sum::<f64>() / (2.0 * problem.rows);
    let penalty: f64 = b.iter().zip(l1.iter().zip(l2)).map(|(b, (l1, l2))| l1 * b.abs() + 0.5 * l2 * b * b).sum();
    loss + penalty
}

/// The KKT residual of b (see [`ElasticNetSolution::kkt_residual`]), and
/// whether every coordinate's violation is within the tolerance: 1e-12 of
/// max_j |c_j|, or where more, the change in g_j that rounding b to f64 can
/// make, ε·(|R|ᵀ|R||b|)_j/n (the floor when collinear columns make Gb a sum
/// of terms far larger than c).
fn kkt(problem: &Problem, b: &[f64], l1: &[f64], l2: &[f64], scale: f64) -> (f64, bool) {
    let g = problem.transpose_times(&problem.residual(b));
    let magnitude: Vec<f64> = (0..b.len()).map(|i| (i..b.len()).map(|k| (problem.r(i, k) * b[k]).abs()).sum()).collect();
    let floor = problem.transpose_times_abs(&magnitude);
    let (mut worst, mut within) = (0.0_f64, true);
    for j in 0..b.len() {
        let gj = g[j] / problem.rows;
        let violation = if b[j] != 0.0 { (gj - l2[j] * b[j] - l1[j] * sign(b[j])).abs() } else { (gj.abs() - l1[j]).max(0.0) };
        worst = worst.max(violation);
        within &= violation <= TOLERANCE * scale + f64::EPSILON * floor[j] / problem.rows;
    }
    (worst / scale, within)
}

enum Finish {
    /// The solution of the KKT system on the support, signs as assumed.
    Solved(Vec<f64>),
    /// That solution changes a sign: the point where the segment to it first
    /// reaches zero, the coordinate(s) reaching it set to exactly 0.
    Crossed(Vec<f64>),
}

/// Solves (G_AA + diag(l2_A)) b_A = c_A − l1_A∘sign(b_A) on A, the nonzero
/// coefficients and every coefficient with l1_j = 0.
fn finish(problem: &Problem, b: &[f64], l1: &[f64], l2: &[f64]) -> Finish {
    let p = b.len();
    let mut active: Vec<usize> = (0..p).filter(|&j| b[j] != 0.0 || l1[j] == 0.0).collect();
    // Of exact duplicates the factor keeps the first: the one with the smaller l1, which is the one the optimum uses.
    active.sort_by(|&i, &j| l1[i].total_cmp(&l1[j]).then(i.cmp(&j)));
    let shift: Vec<f64> = (0..p).map(|j| problem.rows * l1[j] * sign(b[j])).collect();
    let factor = ActiveFactor::new(problem, &active, l2);
    let candidate = factor.solve(problem, l2, &shift);
    let mut step = 1.0_f64;
    let mut crossing = vec![f64::INFINITY; p];
    // A column left out of the factor stays at 0 (its duplicate carries it), which is not a change of sign.
    for &j in &factor.kept {
        if l1[j] > 0.0 && candidate[j] * sign(b[j]) <= 0.0 {
            crossing[j] = b[j] / (b[j] - candidate[j]);
            step = step.min(crossing[j]);
        }
    }
    if crossing.iter().all(|t| t.is_infinite()) {
        return Finish::Solved(candidate);
    }
    Finish::Crossed((0..p).map(|j| if crossing[j] <= step { 0.0 } else { b[j] + step * (candidate[j] - b[j]) }).collect())
}

/// A QR factor, Qᵀ[R_K; diag(√(n·l2_K))] = [T; 0], of the columns K of an
/// active set that are not (numerically) combinations of the ones before them.
struct ActiveFactor {
    /// K in pivot order.
    kept: Vec<usize>,
    /// T, m x m row-major upper-triangular, m = |K|.
    t: Vec<f64>,
    /// The first m entries of Qᵀ[z; 0].
    q: Vec<f64>,
}

impl ActiveFactor {
    fn new(problem: &Problem, active: &[usize], l2: &[f64]) -> ActiveFactor {
        let p = problem.target.len();
        // Ridge rows in the order of their columns, so that those of the columns factored so far are p..p + ridge.
        let mut ridge_row = Vec::with_capacity(active.len());
        let mut rows = p;
        for &j in active {
            ridge_row.push(if l2[j] > 0.0 { Some(rows) } else { None });
            rows += usize::from(l2[j] > 0.0);
        }
        let mut columns: Vec<Vec<f64>> = active
            .iter()
            .zip(&ridge_row)
            .map(|(&j, ridge)| {
                let mut column = vec![0.0; rows];
                for (i, v) in column.iter_mut().enumerate().take(j + 1) {
                    *v = problem.r(i, j);
                }
                if let Some(row) = *ridge {
                    column[row] = (problem.rows * l2[j]).sqrt();
                }
                column
            })
            .collect();
        let norms: Vec<f64> = columns.iter().map(|v| v.iter().map(|x| x * x).sum::<f64>().sqrt()).collect();
        let mut rhs = problem.target.to_vec();
        rhs.resize(rows, 0.0);
        let mut kept = Vec::new();
        let mut pivots: Vec<usize> = Vec::new();
        // Column k is zero outside rows ..top of R (its triangle and the fill of the reflections before it) and the
        // ridge rows p..ridge_end of the columns up to it, so each reflection acts on those rows only.
        let (mut top, mut ridge_end) = (0, p);
        for k in 0..columns.len() {
            let rank = kept.len();
            top = top.max(active[k] + 1);
            if let Some(row) = ridge_row[k] {
                ridge_end = row + 1;
            }
            let support = Support { pivot: rank, head: rank + 1..top, tail: p..ridge_end };
            let (done, rest) = columns.split_at_mut(k + 1);
            let v = &mut done[k];
            let sigma: f64 = support.rows().map(|i| v[i] * v[i]).sum();
            let x0 = v[rank];
            let remaining = (x0 * x0 + sigma).sqrt();
            if remaining <= DEPENDENT * norms[k] {
                continue;
            }
            if sigma > 0.0 {
                let beta = if x0 < 0.0 { remaining } else { -remaining };
                let v0 = x0 - beta;
                for i in support.rows() {
                    v[i] /= v0;
                }
                let factor = (beta - x0) / beta;
                for column in rest.iter_mut() {
                    support.reflect(v, factor, column);
                }
                support.reflect(v, factor, &mut rhs);
                v[rank] = beta;
            }
            kept.push(active[k]);
            pivots.push(k);
        }
        let m = kept.len();
        let mut t = vec![0.0; m * m];
        for (col, &k) in pivots.iter().enumerate() {
            for row in 0..=col {
                t[row * m + col] = columns[k][row];
            }
        }
        rhs.truncate(m);
        ActiveFactor { kept, t, q: rhs }
    }

    /// b on K (0 elsewhere) with TᵀT b_K = Rᵀz − `shift` (the n·l1∘sign term):
    /// T b_K = q − T⁻ᵀ shift_K, then two steps of refinement against the
    /// compensated residual, which make b_K the correctly rounded solution
    /// unless T is near singular.
    fn solve(&self, problem: &Problem, l2: &[f64], shift: &[f64]) -> Vec<f64> {
        let p = problem.target.len();
        let m = self.kept.len();
        let shifted: Vec<f64> = self.kept.iter().map(|&j| shift[j]).collect();
        let w = forward_substitute_transposed(&self.t, m, &shifted);
        let target: Vec<f64> = self.q.iter().zip(&w).map(|(q, w)| q - w).collect();
        let y = back_substitute(&self.t, m, &target);
        let mut b = vec![0.0; p];
        for (&j, &v) in self.kept.iter().zip(&y) {
            b[j] = v;
        }
        for _ in 0..2 {
            let g = problem.transpose_times(&problem.residual(&b));
            let h: Vec<f64> = self.kept.iter().map(|&j| g[j] - problem.rows * l2[j] * b[j] - shift[j]).collect();
            let step = back_substitute(&self.t, m, &forward_substitute_transposed(&self.t, m, &h));
            for (&j, &d) in self.kept.iter().zip(&step) {
                b[j] += d;
            }
        }
        b
    }
}

/// The rows a Householder reflection acts on: the pivot row, then the rows
/// below it in R that can be nonzero, then the ridge rows in use.
struct Support {
    pivot: usize,
    head: std::ops::Range<usize>,
    tail: std::ops::Range<usize>,
}

impl Support {
    /// The rows after the pivot.
    fn rows(&self) -> impl Iterator<Item = usize> {
        self.head.clone().chain(self.tail.clone())
    }

    /// y ← (I − factor·uuᵀ) y, u = 1 at the pivot and `u` on the other rows.
    fn reflect(&self, u: &[f64], factor: f64, y: &mut [f64]) {
        let w = factor * (y[self.pivot] + self.rows().map(|i| u[i] * y[i]).sum::<f64>());
        y[self.pivot] -= w;
        for i in self.rows() {
            y[i] -= w * u[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::fixtures::Data;
    use crate::testing::Lcg;

    /// The KKT residual recomputed from X and y, relative to max_j |Xᵀy/n|.
    fn kkt_from_data(data: &Data, b: &[f64], l1: &[f64], l2: &[f64]) -> f64 {
        let g = data.gradient(b);
        let scale = data.gradient(&vec![0.0; data.p]).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let mut worst = 0.0_f64;
        for j in 0..data.p {
            let v = if b[j] != 0.0 { (g[j] - l2[j] * b[j] - l1[j] * b[j].signum()).abs() } else { (g[j].abs() - l1[j]).max(0.0) };
            worst = worst.max(v);
        }
        worst / scale
    }

    /// The change in the gradient that rounding b to f64 can make, relative to
    /// max_j |c_j|: ε·max_j (|X|ᵀ|X||b|)_j / (n·max_j |c_j|).
    fn rounding_floor(data: &Data, b: &[f64]) -> f64 {
        let (n, p) = (data.n, data.p);
        let mut worst = vec![0.0; p];
        for i in 0..n {
            let row = &data.x[i * p..(i + 1) * p];
            let magnitude: f64 = row.iter().zip(b).map(|(x, b)| (x * b).abs()).sum();
            for (w, x) in worst.iter_mut().zip(row) {
                *w += x.abs() * magnitude;
            }
        }
        let scale = data.gradient(&vec![0.0; p]).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        f64::EPSILON * worst.iter().fold(0.0_f64, |m, &v| m.max(v)) / (n as f64 * scale)
    }

    /// Solves at every (l1 fraction of l1_max, l2) and checks the KKT conditions both ways.
    fn check_grid(data: &Data, weights: &[f64], fractions: &[f64], ridges: &[f64]) {
        let problem = data.problem();
        let top = l1_max(&problem, weights);
        for &fraction in fractions {
            for &ridge in ridges {
                let l1: Vec<f64> = weights.iter().map(|w| fraction * top * w).collect();
                let l2: Vec<f64> = weights.iter().map(|w| ridge * w).collect();
                let solution = elastic_net(&problem, &l1, &l2, None).unwrap_or_else(|e| panic!("l1 {fraction} l2 {ridge}: {e}"));
                let floor = rounding_floor(data, &solution.coefficients);
                assert!(solution.kkt_residual <= TOLERANCE.max(floor), "l1 {fraction} l2 {ridge}: {solution:?}, floor {floor:e}");
                let from_data = kkt_from_data(data, &solution.coefficients, &l1, &l2);
                assert!(from_data <= 1e-10_f64.max(100.0 * floor), "l1 {fraction} l2 {ridge}: {from_data:e} from the data");
            }
        }
    }

    #[test]
    fn kkt_holds_on_random_problems() {
        for seed in 1..=4 {
            let p = 5 + 7 * seed as usize;
            let data = Data::random(seed, 3 * p + 20, p);
            let mut rng = Lcg::new(100 + seed);
            let weights: Vec<f64> = (0..p).map(|_| 0.5 + rng.uniform()).collect();
            check_grid(&data, &weights, &[0.0, 0.01, 0.1, 0.5, 0.9], &[0.0, 0.01, 1.0]);
        }
    }

    #[test]
    fn kkt_holds_with_ill_conditioned_columns() {
        // Pairs of columns that differ by 1e-6 of noise: κ(X) ≈ 1e6, κ(G) ≈ 1e12.
        let (n, p) = (200, 12);
        let mut rng = Lcg::new(7);
        let mut x: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
        for i in 0..n {
            for j in [1, 5, 9] {
                x[i * p + j] = x[i * p + j - 1] + 1e-6 * rng.normal();
            }
        }
        let data = Data::with_response(&mut rng, n, p, x);
        check_grid(&data, &vec![1.0; p], &[0.0, 1e-4, 0.01, 0.1, 0.5], &[0.0, 1e-6, 0.1]);
    }

    #[test]
    fn kkt_holds_with_a_duplicated_column() {
        let (n, p) = (80, 8);
        let mut rng = Lcg::new(11);
        let mut x: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
        for i in 0..n {
            x[i * p + 6] = x[i * p + 2];
        }
        let data = Data::with_response(&mut rng, n, p, x);
        check_grid(&data, &vec![1.0; p], &[0.0, 0.01, 0.2], &[0.0, 0.5]);
        let mut weights = vec![1.0; p];
        weights[2] = 2.0;
        check_grid(&data, &weights, &[0.01, 0.2], &[0.0]);
        // The cheaper of the duplicates carries the weight.
        let problem = data.problem();
        let l1: Vec<f64> = weights.iter().map(|w| 0.01 * w).collect();
        let solution = elastic_net(&problem, &l1, &vec![0.0; p], None).unwrap();
        assert_eq!(solution.coefficients[2], 0.0);
        assert!(solution.coefficients[6] != 0.0);
    }

    /// Columns of a 16 x 16 Sylvester-Hadamard matrix, scaled: orthogonal, so
    /// the lasso is a soft threshold per coordinate.
    #[test]
    fn lasso_on_an_orthogonal_design_is_soft_thresholding() {
        let (n, p) = (16_usize, 9_usize);
        let mut rng = Lcg::new(3);
        let scales: Vec<f64> = (0..p).map(|_| 0.5 + 2.0 * rng.uniform()).collect();
        let x: Vec<f64> = (0..n * p).map(|e| (if ((e / p) & (e % p + 1)).count_ones() % 2 == 0 { 1.0 } else { -1.0 }) * scales[e % p]).collect();
        let data = Data::with_response(&mut rng, n, p, x);
        let c = data.gradient(&vec![0.0; p]);
        for (l1_common, l2_common) in [(0.05, 0.0), (0.3, 0.0), (0.3, 0.7), (0.0, 0.2)] {
            let l1: Vec<f64> = (0..p).map(|j| l1_common * (1.0 + j as f64 / p as f64)).collect();
            let l2 = vec![l2_common; p];
            let solution = elastic_net(&data.problem(), &l1, &l2, None).unwrap();
            for j in 0..p {
                let expected = soft_threshold(c[j], l1[j]) / (scales[j] * scales[j] + l2[j]);
                assert!((solution.coefficients[j] - expected).abs() <= 1e-13 * (1.0 + expected.abs()), "{j}: {solution:?} vs {expected}");
                assert_eq!(solution.coefficients[j] == 0.0, expected == 0.0);
            }
        }
    }

    #[test]
    fn no_l1_is_ridge_regression() {
        let data = Data::random(5, 60, 15);
        let mut rng = Lcg::new(9);
        for ridge in [1e-3, 0.1, 10.0] {
            let l2: Vec<f64> = (0..15).map(|_| ridge * (0.5 + rng.uniform())).collect();
            let all: Vec<usize> = (0..15).collect();
            let expected = data.least_squares_on(&all, &l2);
            let solution = elastic_net(&data.problem(), &[0.0; 15], &l2, None).unwrap();
            for (got, want) in solution.coefficients.iter().zip(&expected) {
                assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "{got} vs {want}");
            }
        }
        // And without l2 as well: least squares.
        let all: Vec<usize> = (0..15).collect();
        let expected = data.least_squares_on(&all, &[0.0; 15]);
        let solution = elastic_net(&data.problem(), &[0.0; 15], &[0.0; 15], None).unwrap();
        assert_eq!(solution.iterations, 1);
        for (got, want) in solution.coefficients.iter().zip(&expected) {
            assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "{got} vs {want}");
        }
    }

    #[test]
    fn at_l1_max_every_coefficient_is_zero_and_just_below_one_is_not() {
        for seed in 20..26 {
            let p = 10;
            let data = Data::random(seed, 50, p);
            let problem = data.problem();
            let mut rng = Lcg::new(seed);
            let weights: Vec<f64> = (0..p).map(|_| 0.3 + rng.uniform()).collect();
            let ridge = if seed % 2 == 0 { 0.0 } else { 0.3 };
            let top = l1_max(&problem, &weights);
            let c = data.gradient(&vec![0.0; p]);
            let leader = (0..p).max_by(|&i, &j| (c[i].abs() / weights[i]).total_cmp(&(c[j].abs() / weights[j]))).unwrap();
            assert!((top - c[leader].abs() / weights[leader]).abs() <= 1e-13 * top);
            let at = |fraction: f64| {
                let l1: Vec<f64> = weights.iter().map(|w| fraction * top * w).collect();
                elastic_net(&problem, &l1, &vec![ridge; p], None).unwrap()
            };
            let zero = at(1.0);
            assert!(zero.coefficients.iter().all(|&v| v.to_bits() == 0), "{zero:?}");
            assert_eq!(zero.iterations, 1);
            let one = at(1.0 - 1e-6);
            let nonzero: Vec<usize> = (0..p).filter(|&j| one.coefficients[j] != 0.0).collect();
            assert_eq!(nonzero, vec![leader]);
            assert!(one.coefficients[leader] * c[leader] > 0.0);
        }
    }

    #[test]
    fn a_warm_start_gives_the_same_answer() {
        let p = 25;
        let data = Data::random(31, 90, p);
        let problem = data.problem();
        let top = l1_max(&problem, &vec![1.0; p]);
        let l2 = vec![0.05; p];
        let mut previous: Option<Vec<f64>> = None;
        for fraction in [0.5, 0.2, 0.05, 0.01] {
            let l1 = vec![fraction * top; p];
            let cold = elastic_net(&problem, &l1, &l2, None).unwrap();
            let warm = elastic_net(&problem, &l1, &l2, previous.as_deref()).unwrap();
            for (a, b) in cold.coefficients.iter().zip(&warm.coefficients) {
                assert!((a - b).abs() <= 1e-14 * a.abs().max(1.0), "{a} vs {b}");
                assert_eq!(*a == 0.0, *b == 0.0);
            }
            // From the answer itself: one sweep, the same bits.
            let again = elastic_net(&problem, &l1, &l2, Some(&cold.coefficients)).unwrap();
            assert_eq!(again.iterations, 1);
            assert_eq!(again.coefficients, elastic_net(&problem, &l1, &l2, Some(&cold.coefficients)).unwrap().coefficients);
            previous = Some(warm.coefficients);
        }
    }

    #[test]
    fn a_zero_column_and_no_coefficients_are_handled() {
        let data = Data::random(2, 30, 4);
        let mut r = data.r.clone();
        for i in 0..4 {
            r[i * 4 + 1] = 0.0;
        }
        let problem = Problem { triangle: &r, target: &data.z, rows: 30.0 };
        let solution = elastic_net(&problem, &[0.0; 4], &[0.0; 4], None).unwrap();
        assert_eq!(solution.coefficients[1].to_bits(), 0);
        assert!(solution.kkt_residual <= TOLERANCE);
        let empty = Problem { triangle: &[], target: &[], rows: 3.0 };
        assert_eq!(elastic_net(&empty, &[], &[], None).unwrap().coefficients, Vec::<f64>::new());
        assert_eq!(l1_max(&empty, &[]), 0.0);
    }

    #[test]
    fn bad_arguments_are_refused() {
        let data = Data::random(2, 30, 3);
        let problem = data.problem();
        let refuse = |l1: &[f64], l2: &[f64], start: Option<&[f64]>| match elastic_net(&problem, l1, l2, start) {
            Err(CoreError::InvalidArgument(message)) => message,
            other => panic!("{other:?}"),
        };
        assert!(refuse(&[0.0; 2], &[0.0; 3], None).contains("l1 has 2 entries"));
        assert!(refuse(&[0.0; 3], &[0.0, -1.0, 0.0], None).contains("l2[1]"));
        assert!(refuse(&[f64::NAN, 0.0, 0.0], &[0.0; 3], None).contains("l1[0]"));
        assert!(refuse(&[0.0; 3], &[0.0; 3], Some(&[0.0; 4])).contains("warm start"));
        let short = Problem { triangle: &data.r[..8], target: &data.z, rows: 30.0 };
        assert!(matches!(elastic_net(&short, &[0.0; 3], &[0.0; 3], None), Err(CoreError::InvalidArgument(_))));
        let no_rows = Problem { rows: 0.0, ..problem };
        assert!(matches!(elastic_net(&no_rows, &[0.0; 3], &[0.0; 3], None), Err(CoreError::InvalidArgument(_))));
    }

    /// Iterations and time at a few sizes, on independent columns and on
    /// strongly correlated ones (neighbours correlated 0.99):
    /// `cargo test --release -p linear_core estimate::elastic_net::tests::timings -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timings() {
        for p in [10, 100, 500] {
            for rho in [0.0, 0.99] {
                let n = 2 * p + 50;
                let mut rng = Lcg::new(p as u64);
                let mut x: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
                for i in 0..n {
                    for j in 1..p {
                        x[i * p + j] = rho * x[i * p + j - 1] + (1.0 - rho * rho).sqrt() * x[i * p + j];
                    }
                }
                let data = Data::with_response(&mut rng, n, p, x);
                let problem = data.problem();
                let top = l1_max(&problem, &vec![1.0; p]);
                for (fraction, ridge) in [(0.1, 0.0), (0.01, 0.0), (0.001, 0.0), (0.01, 0.01), (0.0, 0.0)] {
                    let l1 = vec![fraction * top; p];
                    let start = std::time::Instant::now();
                    let solution = elastic_net(&problem, &l1, &vec![ridge; p], None).unwrap();
                    let nonzero = solution.coefficients.iter().filter(|&&v| v != 0.0).count();
                    println!(
                        "p {p:4} rho {rho:4} l1 {fraction:5} l2 {ridge:4}: {:6} sweeps, {nonzero:4} nonzero, KKT {:.1e}, {:?}",
                        solution.iterations,
                        solution.kkt_residual,
                        start.elapsed()
                    );
                }
            }
        }
    }
}
