//! The scalar types a net computes in: `f32` (the default) and `f64`.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point scalar a generated net computes in.
///
/// With the `std` feature the math calls the platform's implementations; without it they
/// come from `libm`, so generated code builds in `no_std`.
pub trait Float:
    Copy
    + Default
    + PartialEq
    + PartialOrd
    + Debug
    + Display
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + bytemuck::Pod
{
    /// `0`.
    const ZERO: Self;
    /// `1`.
    const ONE: Self;
    /// The machine epsilon of the type.
    const EPSILON: Self;
    /// The type's name as written in Rust (`"f32"` or `"f64"`), also its safetensors dtype.
    const NAME: &'static str;

    /// The nearest value of this type.
    fn from_f64(v: f64) -> Self;
    /// The value widened (or kept) as `f64`.
    fn to_f64(self) -> f64;
    /// `eˣ`.
    fn exp(self) -> Self;
    /// The natural logarithm.
    fn ln(self) -> Self;
    /// `ln(1 + x)`, accurate near zero.
    fn ln_1p(self) -> Self;
    /// The square root.
    fn sqrt(self) -> Self;
    /// `|x|`.
    fn abs(self) -> Self;
    /// The sine.
    fn sin(self) -> Self;
    /// The cosine.
    fn cos(self) -> Self;
    /// The hyperbolic tangent.
    fn tanh(self) -> Self;
    /// `selfᵉ`.
    fn powf(self, e: Self) -> Self;
    /// `eˣ − 1`, accurate near zero.
    fn exp_m1(self) -> Self;
    /// The tangent.
    fn tan(self) -> Self;
    /// The arctangent, in `(−π/2, π/2)`.
    fn atan(self) -> Self;
    /// The inverse hyperbolic sine.
    fn asinh(self) -> Self;
    /// The error function `(2/√π) ∫₀ˣ e^(−t²) dt`; from `libm` with and without `std`,
    /// since `std` has none.
    fn erf(self) -> Self;
    /// True unless infinite or NaN.
    fn is_finite(self) -> bool;

    /// `1 / (1 + e⁻ˣ)`, as PyTorch defines it. It cannot overflow: for very negative `x`,
    /// `e⁻ˣ` is infinite and the quotient is 0; without a branch, it vectorizes.
    #[inline]
    fn sigmoid(self) -> Self {
        Self::ONE / (Self::ONE + (-self).exp())
    }

    /// `ln(1 + eˣ)`, computed as `max(x, 0) + ln(1 + e^-|x|)` so it is exact for any `x`.
    #[inline]
    fn softplus(self) -> Self {
        let pos = if self > Self::ZERO { self } else { Self::ZERO };
        pos + (-self.abs()).exp().ln_1p()
    }

    /// `max(x, 0)`.
    #[inline]
    fn relu(self) -> Self {
        if self > Self::ZERO { self } else { Self::ZERO }
    }

    /// The larger of two values (the first one when they are equal or unordered).
    #[inline]
    fn max(self, other: Self) -> Self {
        if other > self { other } else { self }
    }

    /// The smaller of two values (the first one when they are equal or unordered).
    #[inline]
    fn min(self, other: Self) -> Self {
        if other < self { other } else { self }
    }
}

macro_rules! impl_float {
    ($t:ident, $name:literal, $exp:ident, $ln:ident, $ln1p:ident, $sqrt:ident, $abs:ident,
     $sin:ident, $cos:ident, $tanh:ident, $pow:ident, $expm1:ident, $tan:ident, $atan:ident,
     $asinh:ident, $erf:ident) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const EPSILON: Self = $t::EPSILON;
            const NAME: &'static str = $name;

            #[inline]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline]
            fn abs(self) -> Self {
                // Clearing the sign bit is exact and needs no libm.
                $t::from_bits(self.to_bits() & !(1 << ($t::BITS_MINUS_ONE)))
            }

            #[inline]
            fn erf(self) -> Self {
                libm::$erf(self)
            }

            #[cfg(feature = "std")]
            #[inline]
            fn exp(self) -> Self {
                std::primitive::$t::exp(self)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn ln(self) -> Self {
                std::primitive::$t::ln(self)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn ln_1p(self) -> Self {
                std::primitive::$t::ln_1p(self)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn sqrt(self) -> Self {
                std::primitive::$t::sqrt(self)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn sin(self) -> Self {
                std::primitive::$t::sin(self)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn cos(self) -> Self {
                std::primitive::$t::cos(self)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn tanh(self) -> Self {
                std::primitive::$t::tanh(self)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn powf(self, e: Self) -> Self {
                std::primitive::$t::powf(self, e)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn exp_m1(self) -> Self {
                std::primitive::$t::exp_m1(self)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn tan(self) -> Self {
                std::primitive::$t::tan(self)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn atan(self) -> Self {
                std::primitive::$t::atan(self)
            }
            #[cfg(feature = "std")]
            #[inline]
            fn asinh(self) -> Self {
                std::primitive::$t::asinh(self)
            }

            #[cfg(not(feature = "std"))]
            #[inline]
            fn exp(self) -> Self {
                libm::$exp(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn ln(self) -> Self {
                libm::$ln(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn ln_1p(self) -> Self {
                libm::$ln1p(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn sqrt(self) -> Self {
                libm::$sqrt(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn sin(self) -> Self {
                libm::$sin(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn cos(self) -> Self {
                libm::$cos(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn tanh(self) -> Self {
                libm::$tanh(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn powf(self, e: Self) -> Self {
                libm::$pow(self, e)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn exp_m1(self) -> Self {
                libm::$expm1(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn tan(self) -> Self {
                libm::$tan(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn atan(self) -> Self {
                libm::$atan(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn asinh(self) -> Self {
                libm::$asinh(self)
            }
        }
    };
}

trait SignBit {
    const BITS_MINUS_ONE: u32;
}
impl SignBit for f32 {
    const BITS_MINUS_ONE: u32 = 31;
}
impl SignBit for f64 {
    const BITS_MINUS_ONE: u32 = 63;
}

impl_float!(
    f32, "f32", expf, logf, log1pf, sqrtf, fabsf, sinf, cosf, tanhf, powf, expm1f, tanf, atanf,
    asinhf, erff
);
impl_float!(
    f64, "f64", exp, log, log1p, sqrt, fabs, sin, cos, tanh, pow, expm1, tan, atan, asinh, erf
);

#[cfg(test)]
mod tests {
    use super::Float;

    /// `(x, eˣ − 1, tan x, atan x, asinh x, erf x)` from CPython's `math` module.
    const REFERENCE: &[[f64; 6]] = &[
        [
            -3.5,
            -0.9698026165776815,
            -0.3745856401585947,
            -1.2924966677897853,
            -1.9657204716496515,
            -0.9999992569016276,
        ],
        [
            -1.25,
            -0.7134952031398099,
            -3.0095696738628313,
            -0.8960553845713439,
            -1.0475930126492587,
            -0.9229001282564582,
        ],
        [
            -0.001,
            -0.0009995001666250085,
            -0.0010000003333334668,
            -0.0009999996666668668,
            -0.0009999998333334083,
            -0.0011283787909692365,
        ],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [
            0.3,
            0.3498588075760031,
            0.30933624960962325,
            0.2914567944778671,
            0.29567304756342244,
            0.3286267594591274,
        ],
        [
            1.0,
            1.718281828459045,
            1.5574077246549023,
            core::f64::consts::FRAC_PI_4,
            0.881373587019543,
            0.8427007929497149,
        ],
        [
            2.5,
            11.182493960703473,
            -0.7470222972386603,
            1.1902899496825317,
            1.6472311463710958,
            0.999593047982555,
        ],
    ];

    /// The math the activations added, in both types; with `--no-default-features` this
    /// checks the `libm` bodies, otherwise the `std` ones (`erf` is `libm`'s in both).
    fn check<T: Float>(tol: f64) {
        for row in REFERENCE {
            let x = T::from_f64(row[0]);
            let got = [x.exp_m1(), x.tan(), x.atan(), x.asinh(), x.erf()];
            for (k, (g, want)) in got.iter().zip(&row[1..]).enumerate() {
                // Relative near 0, where expm1, tan, atan, asinh and erf are all ~x.
                let err = (g.to_f64() - want).abs() / want.abs().max(f64::MIN_POSITIVE);
                assert!(
                    err <= tol || *want == 0.0 && g.to_f64() == 0.0,
                    "{} function {k} at {}: {g} vs {want}",
                    T::NAME,
                    row[0]
                );
            }
        }
    }

    #[test]
    fn new_math_in_f64_and_f32() {
        check::<f64>(4.0 * f64::EPSILON);
        check::<f32>(4.0 * f32::EPSILON as f64);
    }
}
