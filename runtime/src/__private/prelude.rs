//! Names generated method bodies import with one glob: scalar math as free functions (so
//! the code reads `sigmoid(z)` in `no_std` as with `std`) and the kernels.

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
