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

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub use chainrule_macros::network;

#[cfg(feature = "alloc")]
mod boxed;
pub mod data;
mod float;
pub mod gradcheck;
pub mod init;
pub mod io;
mod network;
pub mod optim;
#[cfg(feature = "rayon")]
pub mod par;
mod stream;
#[cfg(feature = "std")]
pub mod train;

#[cfg(feature = "alloc")]
pub use boxed::{boxed_new, boxed_zeros};
pub use data::{accuracy, argmax, argmax_accuracy, binary_accuracy, mean_loss, one_hot, shuffle};
pub use float::Float;
pub use gradcheck::{GradcheckEntry, GradcheckOptions, GradcheckReport, gradcheck, gradcheck_with};
pub use io::{IoError, safetensors_len, write_safetensors};
#[cfg(feature = "alloc")]
pub use io::{from_safetensors, to_safetensors};
#[cfg(feature = "std")]
pub use io::{load_safetensors, save_safetensors};
pub use network::{Network, ParamInfo};
#[cfg(feature = "alloc")]
pub use optim::{Adam, Momentum};
pub use optim::{Optimizer, Schedule, Sgd};
#[cfg(feature = "rayon")]
pub use par::{ParBackward, par_backward_batch};
pub use stream::Streaming;
#[cfg(feature = "std")]
pub use train::{EpochRecord, History, Phase, Progress, TrainError, Trainer};

#[doc(hidden)]
pub mod __private;

// Lets the documentation example below expand `network!` inside this crate.
#[cfg(doc)]
extern crate self as chainrule;

/// What `network!` generates, shown on the lecture's XOR net: see `Xor::backward` for the
/// equations the macro derived. Only built by `cargo doc`.
#[cfg(doc)]
pub mod example {
    crate::network! {
        /// Two sigmoid hidden units, one sigmoid output (the backpropagation lecture's
        /// XOR network).
        pub net Xor {
            input  x: [2];
            target t: [1];

            param w1: [2, 2] = xavier;
            param b1: [2];
            param w2: [1, 2] = xavier;
            param b2: [1];

            let h = sigmoid(w1 @ x + b1);
            let y = sigmoid(w2 @ h + b2);

            output y;
            loss bce(y, t);
        }
    }
}

/// The README's Rust snippets, compiled and run as doctests so they never rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The runtime: everything around generated nets, also re-exported at the crate root.
///
/// The modules are here too ([`runtime::optim`], [`runtime::init`], …), so
/// `chainrule::runtime::optim::Adam` and `chainrule::Adam` name the same type.
pub mod runtime {
    pub use crate::data::{
        accuracy, argmax, argmax_accuracy, binary_accuracy, mean_loss, one_hot, shuffle,
    };
    pub use crate::float::Float;
    // `crate::gradcheck` below brings both the module and the function.
    pub use crate::gradcheck::{GradcheckEntry, GradcheckOptions, GradcheckReport, gradcheck_with};
    pub use crate::io::{IoError, safetensors_len, write_safetensors};
    #[cfg(feature = "alloc")]
    pub use crate::io::{from_safetensors, to_safetensors};
    #[cfg(feature = "std")]
    pub use crate::io::{load_safetensors, save_safetensors};
    pub use crate::network::{Network, ParamInfo};
    #[cfg(feature = "alloc")]
    pub use crate::optim::{Adam, Momentum};
    pub use crate::optim::{Optimizer, Schedule, Sgd};
    #[cfg(feature = "rayon")]
    pub use crate::par;
    #[cfg(feature = "rayon")]
    pub use crate::par::{ParBackward, par_backward_batch};
    #[cfg(feature = "std")]
    pub use crate::train;
    #[cfg(feature = "std")]
    pub use crate::train::{EpochRecord, History, Phase, Progress, TrainError, Trainer};
    pub use crate::{data, gradcheck, init, io, optim};
}
