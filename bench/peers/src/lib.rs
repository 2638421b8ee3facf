//! chainrule against its peers (hand-written ndarray, candle, burn on two backends, dfdx)
//! on the nets of `chainrule_tests::nets`, with the same weights, batches and losses.
//! `check` proves they compute the same thing; `src/bin/peers.rs` times them.
#![forbid(unsafe_code)]

pub mod burn_peer;
pub mod candle_peer;
pub mod chainrule_peer;
pub mod check;
pub mod dfdx_peer;
pub mod ndarray_peer;
pub mod peak;
pub mod spec;

use chainrule_tests::nets::{Gen4_16_16_3, Gen64Cols, Gen64Rows, Gen281, Gen784};

use crate::chainrule_peer::Chain;
use crate::spec::{Act, Batch, Layout, Loss, Spec};

/// The seed every net's parameters are drawn from.
pub const SEED: u64 = 1;

/// The batch sizes timed and checked.
pub const BATCHES: [usize; 2] = [1, 64];

/// One implementation of one net, prepared for one batch: the batch and the parameters
/// already live in the implementation's own tensors, so only the passes are timed.
pub trait Contender {
    /// Runs the forward pass over the batch `iters` times, recording nothing for backward.
    fn forward(&mut self, iters: usize);
    /// Computes the mean loss over the batch and its gradient `iters` times.
    fn train(&mut self, iters: usize);
    /// The outputs of one forward pass, `[n, outputs]` row-major.
    fn outputs(&mut self) -> Vec<f32>;
    /// The mean loss and its gradient, flat in the chainrule net's `LAYOUT` order.
    fn gradient(&mut self) -> (f32, Vec<f32>);
}

/// The implementations compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    Chainrule,
    Ndarray,
    Candle,
    BurnNdarray,
    BurnFlex,
    Dfdx,
}

impl Peer {
    pub const ALL: [Peer; 6] = [
        Peer::Chainrule,
        Peer::Ndarray,
        Peer::Candle,
        Peer::BurnNdarray,
        Peer::BurnFlex,
        Peer::Dfdx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Peer::Chainrule => "chainrule",
            Peer::Ndarray => "ndarray",
            Peer::Candle => "candle",
            Peer::BurnNdarray => "burn-ndarray",
            Peer::BurnFlex => "burn-flex",
            Peer::Dfdx => "dfdx",
        }
    }
}

/// The nets of `chainrule_tests::nets`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    N281,
    N4_16_16_3,
    N64Rows,
    N64Cols,
    N784,
}

impl Net {
    pub const ALL: [Net; 5] = [
        Net::N281,
        Net::N4_16_16_3,
        Net::N64Rows,
        Net::N64Cols,
        Net::N784,
    ];

    /// A short name for filters and tables.
    pub fn key(self) -> &'static str {
        match self {
            Net::N281 => "2-8-1",
            Net::N4_16_16_3 => "4-16-16-3",
            Net::N64Rows => "64-rows",
            Net::N64Cols => "64-cols",
            Net::N784 => "784-128-10",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Net::N281 => "2-8-1 sigmoid, mse",
            Net::N4_16_16_3 => "4-16-16-3 tanh, softmax CE",
            Net::N64Rows => "64-64-64-10 relu, softmax CE, `w @ x`",
            Net::N64Cols => "64-64-64-10 relu, softmax CE, `x @ w`",
            Net::N784 => "784-128-10 relu, softmax CE",
        }
    }

    /// The layers, activations and loss of the net, with the parameters drawn from
    /// [`SEED`]: what every peer is built from.
    pub fn spec(self) -> Spec {
        use Act::{Identity, Relu, Sigmoid, Tanh};
        use Layout::{InOut, OutIn};
        use Loss::{Mse, SoftmaxCe};
        fn read<N>(layout: Layout, acts: &[Act], loss: Loss) -> Spec
        where
            N: chainrule::Network<Scalar = f32> + bytemuck::Zeroable,
        {
            Spec::from_net(&*chainrule::boxed_new::<N>(SEED), layout, acts, loss)
        }
        match self {
            Net::N281 => read::<Gen281>(OutIn, &[Sigmoid, Sigmoid], Mse),
            Net::N4_16_16_3 => read::<Gen4_16_16_3>(OutIn, &[Tanh, Tanh, Identity], SoftmaxCe),
            Net::N64Rows => read::<Gen64Rows>(OutIn, &[Relu, Relu, Identity], SoftmaxCe),
            Net::N64Cols => read::<Gen64Cols>(InOut, &[Relu, Relu, Identity], SoftmaxCe),
            Net::N784 => read::<Gen784>(OutIn, &[Relu, Identity], SoftmaxCe),
        }
    }

    /// The generated net, with the parameters drawn from [`SEED`], prepared for `batch`.
    fn chainrule(self, batch: &Batch) -> Box<dyn Contender> {
        match self {
            Net::N281 => Box::new(Chain::<Gen281, 2, 1>::new(SEED, batch)),
            Net::N4_16_16_3 => Box::new(Chain::<Gen4_16_16_3, 4, 3>::new(SEED, batch)),
            Net::N64Rows => Box::new(Chain::<Gen64Rows, 64, 10>::new(SEED, batch)),
            Net::N64Cols => Box::new(Chain::<Gen64Cols, 64, 10>::new(SEED, batch)),
            Net::N784 => Box::new(Chain::<Gen784, 784, 10>::new(SEED, batch)),
        }
    }
}

impl Peer {
    /// This peer's implementation of `net`, whose layers and weights are `spec`, prepared
    /// for `batch`.
    pub fn prepare(self, net: Net, spec: &Spec, batch: &Batch) -> Box<dyn Contender> {
        match self {
            Peer::Chainrule => net.chainrule(batch),
            Peer::Ndarray => Box::new(ndarray_peer::NdMlp::new(spec, batch)),
            Peer::Candle => Box::new(candle_peer::CandleMlp::new(spec, batch)),
            Peer::BurnNdarray => Box::new(burn_peer::BurnMlp::new(
                burn_peer::Backend::Ndarray,
                spec,
                batch,
            )),
            Peer::BurnFlex => Box::new(burn_peer::BurnMlp::new(
                burn_peer::Backend::Flex,
                spec,
                batch,
            )),
            Peer::Dfdx => Box::new(dfdx_peer::DfdxMlp::new(spec, batch)),
        }
    }
}
