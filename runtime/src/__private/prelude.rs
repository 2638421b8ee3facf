//! Names generated method bodies import with one glob: scalar math as free functions (so
//! the code reads `sigmoid(z)` in `no_std` as with `std`) and the kernels.

pub use super::gemm::{gemm_nn_acc, gemm_nt_acc, gemm_tn_acc};
pub use super::kernels::{
    log_softmax, matmat_acc, matmat_nt_acc, matmat_tn_acc, matmat_tt_acc, matvec_acc, outer_acc,
    softmax, vecmat_acc,
};
pub use super::{leaky_relu, leaky_step, max_grad, sign, step};
use crate::Float;

/// `eˣ`.
#[inline(always)]
pub fn exp<T: Float>(x: T) -> T {
    x.exp()
}
/// `ln x`.
#[inline(always)]
pub fn ln<T: Float>(x: T) -> T {
    x.ln()
}
/// `√x`.
#[inline(always)]
pub fn sqrt<T: Float>(x: T) -> T {
    x.sqrt()
}
/// `|x|`.
#[inline(always)]
pub fn abs<T: Float>(x: T) -> T {
    x.abs()
}
/// `sin x`.
#[inline(always)]
pub fn sin<T: Float>(x: T) -> T {
    x.sin()
}
/// `cos x`.
#[inline(always)]
pub fn cos<T: Float>(x: T) -> T {
    x.cos()
}
/// `tanh x`.
#[inline(always)]
pub fn tanh<T: Float>(x: T) -> T {
    x.tanh()
}
/// `1 / (1 + e⁻ˣ)`.
#[inline(always)]
pub fn sigmoid<T: Float>(x: T) -> T {
    x.sigmoid()
}
/// `max(x, 0)`.
#[inline(always)]
pub fn relu<T: Float>(x: T) -> T {
    x.relu()
}
/// `ln(1 + eˣ)`.
#[inline(always)]
pub fn softplus<T: Float>(x: T) -> T {
    x.softplus()
}
/// `x²`.
#[inline(always)]
pub fn square<T: Float>(x: T) -> T {
    x * x
}
/// `xᵉ`.
#[inline(always)]
pub fn powf<T: Float>(x: T, e: T) -> T {
    x.powf(e)
}
/// The larger of two values.
#[inline(always)]
pub fn max<T: Float>(a: T, b: T) -> T {
    a.max(b)
}
/// The smaller of two values.
#[inline(always)]
pub fn min<T: Float>(a: T, b: T) -> T {
    a.min(b)
}

// The activations PyTorch and JAX users expect, as PyTorch's CPU kernels compute them
// (README, "Elementwise functions", is the contract).

/// A constant of the scalar type.
#[inline(always)]
fn c<T: Float>(v: f64) -> T {
    T::from_f64(v)
}

/// `√(2/π)`.
const SQRT_2_OVER_PI: f64 = 0.7978845608028654;
/// SELU's `λ` and `λα`.
const SELU_SCALE: f64 = 1.0507009873554805;
const SELU_SCALE_ALPHA: f64 = 1.7580993408473766;

/// `x Φ(x) = x · ½(1 + erf(x/√2))`: PyTorch's `gelu` with `approximate='none'`.
#[inline(always)]
pub fn gelu<T: Float>(x: T) -> T {
    x * c(0.5) * (T::ONE + (x * c(core::f64::consts::FRAC_1_SQRT_2)).erf())
}
/// `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`: PyTorch's `gelu` with `approximate='tanh'`.
#[inline(always)]
pub fn gelu_tanh<T: Float>(x: T) -> T {
    let inner = c::<T>(SQRT_2_OVER_PI) * (x + c::<T>(0.044715) * (x * x * x));
    c::<T>(0.5) * x * (T::ONE + inner.tanh())
}
/// `x` for `x > 0`, else `α(eˣ − 1)`.
#[inline(always)]
pub fn elu<T: Float>(x: T, alpha: T) -> T {
    if x > T::ZERO { x } else { alpha * x.exp_m1() }
}
/// `λx` for `x > 0`, else `λα(eˣ − 1)`, with PyTorch's `λ ≈ 1.0507`, `α ≈ 1.6733`.
#[inline(always)]
pub fn selu<T: Float>(x: T) -> T {
    if x > T::ZERO {
        c::<T>(SELU_SCALE) * x
    } else {
        c::<T>(SELU_SCALE_ALPHA) * x.exp_m1()
    }
}
/// `x σ(x) = x / (1 + e⁻ˣ)` (swish).
#[inline(always)]
pub fn silu<T: Float>(x: T) -> T {
    x / (T::ONE + (-x).exp())
}
/// `x tanh(softplus(x))`.
#[inline(always)]
pub fn mish<T: Float>(x: T) -> T {
    x * x.softplus().tanh()
}
/// `x / (1 + |x|)`.
#[inline(always)]
pub fn softsign<T: Float>(x: T) -> T {
    x / (x.abs() + T::ONE)
}
/// `clamp(x, min_val, max_val) = min(max(x, min_val), max_val)`.
#[inline(always)]
pub fn hardtanh<T: Float>(x: T, min_val: T, max_val: T) -> T {
    x.max(min_val).min(max_val)
}
/// `min(max(x + 3, 0), 6) / 6`.
#[inline(always)]
pub fn hardsigmoid<T: Float>(x: T) -> T {
    (x + c(3.0)).max(T::ZERO).min(c(6.0)) / c(6.0)
}
/// `x · min(max(x + 3, 0), 6) / 6`.
#[inline(always)]
pub fn hardswish<T: Float>(x: T) -> T {
    x * (x + c(3.0)).max(T::ZERO).min(c(6.0)) / c(6.0)
}
/// `ln(1 + x)`, accurate near zero.
#[inline(always)]
pub fn log1p<T: Float>(x: T) -> T {
    x.ln_1p()
}
/// `eˣ − 1`, accurate near zero.
#[inline(always)]
pub fn expm1<T: Float>(x: T) -> T {
    x.exp_m1()
}
/// `tan x`.
#[inline(always)]
pub fn tan<T: Float>(x: T) -> T {
    x.tan()
}
/// `atan x`.
#[inline(always)]
pub fn atan<T: Float>(x: T) -> T {
    x.atan()
}
/// `asinh x`.
#[inline(always)]
pub fn asinh<T: Float>(x: T) -> T {
    x.asinh()
}
/// `erf x`.
#[inline(always)]
pub fn erf<T: Float>(x: T) -> T {
    x.erf()
}
/// `ln σ(x)`, as `min(x, 0) − ln(1 + e^−|x|)`: no overflow for any `x`.
#[inline(always)]
pub fn log_sigmoid<T: Float>(x: T) -> T {
    x.min(T::ZERO) - (-x.abs()).exp().ln_1p()
}
