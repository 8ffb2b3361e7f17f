//! The rank-revealing re-triangularisation. The factor R of [X | y] is
//! re-triangularised column by column; a column whose part orthogonal to the
//! columns before it is below [`ALIAS_TOLERANCE`] of its norm is aliased (a
//! linear combination of earlier ones): its coefficient is 0 and flagged,
//! and the rest is solved without it, as R's `lm` does.

use super::ALIAS_TOLERANCE;
use crate::error::CoreError;
use crate::householder::reflector;
use crate::scalar::Scalar;
use crate::tsqr::Triangle;

/// What the pass keeps of a k × k factor of [X | y] (q = k − 1 parameters).
pub(super) struct Kept<T> {
    /// Design indices of the independent columns, increasing.
    pub columns: Vec<usize>,
    /// Their r × r upper triangle, row-major, zeros below the diagonal.
    pub triangle: Vec<T>,
    /// The label column's first r entries: `triangle` times the solution.
    pub target: Vec<T>,
    /// Sum of squares of the label column's other entries: the residual sum
    /// of squares of the least-squares solution.
    pub residual: T,
    /// 2-norm of every parameter column of the factor before the pass.
    pub norms: Vec<f64>,
}

impl<T> Kept<T> {
    pub fn rank(&self) -> usize {
        self.columns.len()
    }
}

fn column_norm<T: Scalar>(t: &Triangle<T>, j: usize) -> f64 {
    let mut s = T::default();
    for i in 0..=j {
        s = t.get(i, j).mul_add(t.get(i, j), s);
    }
    s.sqrt().to_f64()
}

pub(super) fn retriangularise<T: Scalar>(factor: &Triangle<T>) -> Result<Kept<T>, CoreError> {
    let k = factor.size();
    let (q, y) = (k - 1, k - 1);
    let norms: Vec<f64> = (0..q).map(|j| column_norm(factor, j)).collect();
    let mut m: Vec<T> = factor.entries().to_vec();
    let at = |i: usize, j: usize| i * k + j;
    let mut columns: Vec<usize> = Vec::with_capacity(q);
    for j in 0..q {
        crate::cancel::check()?;
        let r = columns.len();
        let mut sigma = T::default();
        for i in (r + 1)..k {
            sigma = m[at(i, j)].mul_add(m[at(i, j)], sigma);
        }
        let x0 = m[at(r, j)];
        let norm = x0.mul_add(x0, sigma).sqrt();
        // Written so that a NaN norm also counts as aliased.
        let independent = norm.to_f64() > ALIAS_TOLERANCE * norms[j];
        if !independent {
            continue;
        }
        if !sigma.is_zero() {
            let mut u: Vec<T> = ((r + 1)..k).map(|i| m[at(i, j)]).collect();
            let h = reflector(x0, sigma, &mut u);
            for c in (j + 1)..k {
                let mut dot = m[at(r, c)];
                for (i, &ui) in ((r + 1)..k).zip(&u) {
                    dot = ui.mul_add(m[at(i, c)], dot);
                }
                let w = dot * h.factor;
                m[at(r, c)] = m[at(r, c)] - w;
                for (i, &ui) in ((r + 1)..k).zip(&u) {
                    m[at(i, c)] = m[at(i, c)] - w * ui;
                }
            }
            m[at(r, j)] = h.beta;
            for i in (r + 1)..k {
                m[at(i, j)] = T::default();
            }
        }
        columns.push(j);
    }
    let rank = columns.len();
    let mut triangle = vec![T::default(); rank * rank];
    for a in 0..rank {
        for b in a..rank {
            triangle[a * rank + b] = m[at(a, columns[b])];
        }
    }
    let target = (0..rank).map(|a| m[at(a, y)]).collect();
    let mut residual = T::default();
    for i in rank..k {
        residual = m[at(i, y)].mul_add(m[at(i, y)], residual);
    }
    Ok(Kept { columns, triangle, target, residual, norms })
}
