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
     $sin:ident, $cos:ident, $tanh:ident, $pow:ident) => {
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
    f32, "f32", expf, logf, log1pf, sqrtf, fabsf, sinf, cosf, tanhf, powf
);
impl_float!(f64, "f64", exp, log, log1p, sqrt, fabs, sin, cos, tanh, pow);
