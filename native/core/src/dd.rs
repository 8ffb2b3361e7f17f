//! Double-double arithmetic: an unevaluated sum `hi + lo` of two f64 with
//! |lo| <= ulp(hi)/2, giving about 106 bits of significand. Used where the
//! plain f64 factorisation cannot certify its answer (ill-conditioned or
//! large-residual problems) and for sums that must not lose digits.
//! Algorithms: Dekker (1971), Knuth's two-sum, as in Hida, Li & Bailey's QD.

use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dd {
    pub hi: f64,
    pub lo: f64,
}

/// a + b = s + e exactly (Knuth).
#[inline(always)]
pub(crate) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

#[inline(always)]
fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

/// Exact product `a * b = p + e` (needs a correctly rounded fma).
#[inline(always)]
pub fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

impl Dd {
    pub const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };

    #[inline(always)]
    pub fn new(hi: f64, lo: f64) -> Dd {
        let (hi, lo) = quick_two_sum(hi, lo);
        Dd { hi, lo }
    }

    /// Exact product of two doubles.
    #[inline(always)]
    pub fn product(a: f64, b: f64) -> Dd {
        let (p, e) = two_prod(a, b);
        Dd { hi: p, lo: e }
    }

    /// Exact difference of two doubles.
    #[inline(always)]
    pub fn difference(a: f64, b: f64) -> Dd {
        let (s, e) = two_sum(a, -b);
        Dd { hi: s, lo: e }
    }

    #[inline(always)]
    pub fn add_f64(self, b: f64) -> Dd {
        let (s1, s2) = two_sum(self.hi, b);
        let (hi, lo) = quick_two_sum(s1, s2 + self.lo);
        Dd { hi, lo }
    }

    pub fn sqrt(self) -> Dd {
        if self.hi <= 0.0 {
            return Dd::ZERO;
        }
        // One Newton step on the f64 root doubles its correct digits.
        let x = self.hi.sqrt();
        let residual = self - Dd::product(x, x);
        Dd::new(x, residual.hi / (2.0 * x))
    }

    pub fn abs(self) -> Dd {
        if self.hi < 0.0 {
            -self
        } else {
            self
        }
    }

    pub fn to_f64(self) -> f64 {
        self.hi + self.lo
    }
}

impl From<f64> for Dd {
    #[inline(always)]
    fn from(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }
}

impl Add for Dd {
    type Output = Dd;
    #[inline(always)]
    fn add(self, b: Dd) -> Dd {
        let (s1, s2) = two_sum(self.hi, b.hi);
        let (t1, t2) = two_sum(self.lo, b.lo);
        let (s1, s2) = quick_two_sum(s1, s2 + t1);
        let (hi, lo) = quick_two_sum(s1, s2 + t2);
        Dd { hi, lo }
    }
}

impl AddAssign for Dd {
    #[inline(always)]
    fn add_assign(&mut self, b: Dd) {
        *self = *self + b;
    }
}

impl Neg for Dd {
    type Output = Dd;
    #[inline(always)]
    fn neg(self) -> Dd {
        Dd { hi: -self.hi, lo: -self.lo }
    }
}

impl Sub for Dd {
    type Output = Dd;
    #[inline(always)]
    fn sub(self, b: Dd) -> Dd {
        self + (-b)
    }
}

impl Mul for Dd {
    type Output = Dd;
    #[inline(always)]
    fn mul(self, b: Dd) -> Dd {
        let (p, e) = two_prod(self.hi, b.hi);
        let e = e + (self.hi * b.lo + self.lo * b.hi);
        let (hi, lo) = quick_two_sum(p, e);
        Dd { hi, lo }
    }
}

impl Div for Dd {
    type Output = Dd;
    fn div(self, b: Dd) -> Dd {
        // Long division with three f64 quotient digits.
        let q1 = self.hi / b.hi;
        let r = self - b * Dd::from(q1);
        let q2 = r.hi / b.hi;
        let r = r - b * Dd::from(q2);
        let q3 = r.hi / b.hi;
        Dd::new(q1, q2).add_f64(q3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_digits_a_double_loses() {
        let a = Dd::from(1.0) + Dd::from(1e-20);
        assert_eq!(a.hi, 1.0);
        assert_eq!(a.lo, 1e-20);
        let back = a - Dd::from(1.0);
        assert_eq!(back.to_f64(), 1e-20);
    }

    #[test]
    fn product_is_exact() {
        let x = 1.0 + f64::EPSILON;
        let p = Dd::product(x, x);
        // (1 + e)^2 = 1 + 2e + e^2: the e^2 term lives in `lo`.
        assert_eq!(p.hi, 1.0 + 2.0 * f64::EPSILON);
        assert_eq!(p.lo, f64::EPSILON * f64::EPSILON);
    }

    #[test]
    fn division_and_sqrt_round_trip() {
        let three = Dd::from(3.0);
        let third = Dd::from(1.0) / three;
        let one = third * three;
        assert!((one - Dd::from(1.0)).abs().hi < 1e-31);
        let two = Dd::from(2.0);
        let r = two.sqrt();
        assert!((r * r - two).abs().hi < 1e-31);
        assert_eq!(Dd::ZERO.sqrt(), Dd::ZERO);
    }
}
