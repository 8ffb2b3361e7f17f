//! The arithmetic the factorisation is generic over: plain `f64` for the fast
//! pass, [`Dd`] (double-double, ~32 significant digits) for the extended pass.

use crate::dd::Dd;
use crate::tsqr::blocked::{Panel, PANEL};
use crate::tsqr::Triangle;
use std::ops::{Add, Div, Mul, Neg, Sub};

pub trait Scalar:
    Copy + Default + Send + Sync + 'static + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> + Neg<Output = Self>
{
    fn from_f64(x: f64) -> Self;
    /// `a - b`, exactly where the representation can hold it.
    fn difference(a: f64, b: f64) -> Self;
    fn to_f64(self) -> f64;
    fn to_dd(self) -> Dd;
    fn sqrt(self) -> Self;
    fn is_zero(self) -> bool;
    fn is_negative(self) -> bool;
    /// `self * a + b`, fused where the representation allows.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Folds a column-major block into a factor (see `Triangle::absorb_in_place`).
    fn absorb(triangle: &mut Triangle<Self>, block: &mut [Self], rows: usize) {
        triangle.absorb_kernel(block, rows);
    }
    /// A wide update's panel applied to one later column (see `tsqr::blocked`).
    #[inline(always)]
    fn apply_panel(panel: &Panel<Self>, top: &mut [Self; PANEL], column: &mut [Self]) {
        panel.apply(top, column);
    }
}

/// The f64 update compiled for AVX2 as well; the same operations in the same
/// order (no fused multiply-add), so the bits do not depend on the CPU.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn absorb_avx2(triangle: &mut Triangle<f64>, block: &mut [f64], rows: usize) {
    triangle.absorb_kernel(block, rows);
}

/// The panel update compiled for AVX2 as well, under the same rule.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn apply_panel_avx2(panel: &Panel<f64>, top: &mut [f64; PANEL], column: &mut [f64]) {
    panel.apply(top, column);
}

impl Scalar for f64 {
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn difference(a: f64, b: f64) -> Self {
        a - b
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn to_dd(self) -> Dd {
        Dd::from(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn is_zero(self) -> bool {
        self == 0.0
    }
    #[inline(always)]
    fn is_negative(self) -> bool {
        self < 0.0
    }
    // A plain multiply-add: a software fma would be far slower where the CPU
    // baseline has no FMA instruction, and the fast pass does not need it.
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        self * a + b
    }
    fn absorb(triangle: &mut Triangle<f64>, block: &mut [f64], rows: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU was just checked to support AVX2.
            return unsafe { absorb_avx2(triangle, block, rows) };
        }
        triangle.absorb_kernel(block, rows);
    }
    fn apply_panel(panel: &Panel<f64>, top: &mut [f64; PANEL], column: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU was just checked to support AVX2.
            return unsafe { apply_panel_avx2(panel, top, column) };
        }
        panel.apply(top, column);
    }
}

impl Scalar for Dd {
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        Dd::from(x)
    }
    #[inline(always)]
    fn difference(a: f64, b: f64) -> Self {
        Dd::difference(a, b)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.hi + self.lo
    }
    #[inline(always)]
    fn to_dd(self) -> Dd {
        self
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Dd::sqrt(self)
    }
    #[inline(always)]
    fn is_zero(self) -> bool {
        self.hi == 0.0
    }
    #[inline(always)]
    fn is_negative(self) -> bool {
        self.hi < 0.0
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        self * a + b
    }
}
