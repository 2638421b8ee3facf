//! Compile-time backpropagation for small neural networks.
//!
//! Write a network in a math-like language inside [`network!`]; at compile time the macro
//! applies the chain rule symbolically and emits plain Rust over fixed-size arrays: a
//! forward pass, a backward pass, and everything in [`Network`]. No tape, no graph, no heap
//! allocation, no `unsafe`, and it builds in `no_std`.
//!
//! This crate holds the macro and the runtime around the generated code: the [`Network`]
//! trait, initialisers, optimizers, a gradient checker, a training loop and safetensors I/O.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub use chainrule_macros::network;

mod float;
pub mod init;
mod network;

pub use float::Float;
pub use network::{Network, ParamInfo};

#[doc(hidden)]
pub mod __private;

/// The runtime: everything around generated nets, also re-exported at the crate root.
pub mod runtime {
    pub use crate::float::Float;
    pub use crate::network::{Network, ParamInfo};
}
