//! What generated code calls. Not a public API: names and signatures change freely.

pub mod gemm;
pub mod kernels;
pub mod matvec;
pub mod prelude;

pub use crate::Float;
pub use crate::init::{Init, fill as init_fill};
pub use crate::network::{Network, ParamInfo};
pub use bytemuck;
pub use gemm::{Lanes, gemm_nn_acc, gemm_nt_acc, gemm_tn_acc};
pub use kernels::*;

/// All of a net's parameters as one slice; the layout is checked by `bytemuck::Pod`'s
/// derive on the generated struct (`#[repr(C)]`, only `T` arrays, no padding).
#[inline(always)]
pub fn flat<N: bytemuck::Pod, T: bytemuck::Pod>(net: &N) -> &[T] {
    bytemuck::cast_slice(core::slice::from_ref(net))
}

/// Mutable form of [`flat`].
#[inline(always)]
pub fn flat_mut<N: bytemuck::Pod, T: bytemuck::Pod>(net: &mut N) -> &mut [T] {
    bytemuck::cast_slice_mut(core::slice::from_mut(net))
}

/// `relu'(x)`, with `relu'(0) = 0` as in PyTorch.
#[inline(always)]
pub fn step<T: Float>(x: T) -> T {
    if x > T::ZERO { T::ONE } else { T::ZERO }
}

/// `leaky_relu(x, a)`.
#[inline(always)]
pub fn leaky_relu<T: Float>(x: T, slope: T) -> T {
    if x > T::ZERO { x } else { x * slope }
}

/// `leaky_relu'(x, a)`, with the derivative at 0 equal to `a` as in PyTorch.
#[inline(always)]
pub fn leaky_step<T: Float>(x: T, slope: T) -> T {
    if x > T::ZERO { T::ONE } else { slope }
}

/// `abs'(x)`: the sign of `x`, with `abs'(0) = 0` as in PyTorch.
#[inline(always)]
pub fn sign<T: Float>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else {
        T::ZERO
    }
}

/// `∂max(a, b)/∂a`: 1 where `a` wins, ½ at a tie, 0 where `b` wins (PyTorch's even split).
#[inline(always)]
pub fn max_grad<T: Float>(a: T, b: T) -> T {
    if a > b {
        T::ONE
    } else if a == b {
        T::ONE / (T::ONE + T::ONE)
    } else {
        T::ZERO
    }
}
