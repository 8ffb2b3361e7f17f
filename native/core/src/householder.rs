//! The Householder reflector, one copy for the factor updates (`tsqr`) and
//! the rank-revealing re-triangularisation of `solve`.

use crate::scalar::Scalar;

/// A Householder reflection H = I − factor·[1; u][1; u]ᵀ that maps
/// [x0; v] to [beta; 0].
pub(crate) struct Reflector<T> {
    pub beta: T,
    pub factor: T,
}

/// The reflector for [x0; v] with `sigma` = ‖v‖² > 0; overwrites v with u.
/// LAPACK's form: u = v / (x0 − beta) and factor = (beta − x0) / beta, so no
/// product of small or large quantities can underflow or overflow (a tail
/// of rounding noise near 1e-100 stays a tail of noise, not a NaN).
#[inline(always)]
pub(crate) fn reflector<T: Scalar>(x0: T, sigma: T, v: &mut [T]) -> Reflector<T> {
    let norm = x0.mul_add(x0, sigma).sqrt();
    // beta takes the sign opposite to x0 so that x0 - beta never cancels.
    let beta = if x0.is_negative() { norm } else { -norm };
    let v0 = x0 - beta;
    // One reciprocal and a multiply per entry (LAPACK's dlarfg), dividing only
    // where the reciprocal of a subnormal v0 would overflow.
    let inverse = T::from_f64(1.0) / v0;
    if inverse.to_f64().is_finite() {
        for x in v.iter_mut() {
            *x = *x * inverse;
        }
    } else {
        for x in v.iter_mut() {
            *x = *x / v0;
        }
    }
    Reflector { beta, factor: (beta - x0) / beta }
}
